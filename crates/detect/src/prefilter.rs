//! The fast pattern of a rule and the multi-pattern prefilter built from them.
//!
//! The engine looks for every rule's fast pattern in a buffer at once ([`Prefilter`]) and
//! inspects only the rules whose pattern is there. A rule's fast pattern must be a content
//! the rule cannot match without, which a non-negated content is.

use daachorse::{DoubleArrayAhoCorasick, DoubleArrayAhoCorasickBuilder, MatchKind};
use nta_rules::{FastPattern, Match, Test};

/// The pattern to prefilter on, and whether it is case-insensitive.
///
/// Suricata's choice (`RetrieveFPForSig`), within the given matches (normally one
/// buffer's; choosing among buffers is the engine's job):
/// 1. the content with `fast_pattern` (its `offset,length` slice for `fast_pattern:o,l`);
/// 2. else the longest non-negated content; among equally long ones, the strongest by
///    Suricata's `PatternStrength` (distinct letters 3, distinct other printable bytes and
///    `00`/`01`/`FF` 4, other distinct bytes 6, repeated bytes 1); then the first.
///
/// `None` when there is no non-negated content (Suricata would use a negated one, which
/// does not narrow down the rules to inspect: the rule must then always be inspected).
pub fn fast_pattern(matches: &[&Match]) -> Option<(Vec<u8>, bool)> {
    let contents = matches.iter().filter_map(|m| match &m.test {
        Test::Content(c) => Some(c),
        _ => None,
    });
    let mut best: Option<(&nta_rules::Content, u32)> = None;
    for c in contents {
        if let Some(fp) = c.fast_pattern {
            if c.negated {
                // nta-rules forbids positions with it; a negated one cannot prefilter.
                return None;
            }
            return match fp {
                FastPattern::Chop { offset, length } => {
                    let from = usize::from(offset);
                    let to = from.saturating_add(usize::from(length));
                    let part = c.pattern.get(from..to).unwrap_or(&c.pattern);
                    Some((part.to_vec(), c.nocase))
                }
                FastPattern::Yes | FastPattern::Only => Some((c.pattern.clone(), c.nocase)),
            };
        }
        if c.negated {
            continue;
        }
        let strength = pattern_strength(&c.pattern);
        let better = match best {
            None => true,
            Some((b, s)) => {
                c.pattern.len() > b.pattern.len()
                    || c.pattern.len() == b.pattern.len() && strength > s
            }
        };
        if better {
            best = Some((c, strength));
        }
    }
    best.map(|(c, _)| (c.pattern.clone(), c.nocase))
}

/// Suricata's `PatternStrength`: how selective a pattern is.
pub(crate) fn pattern_strength(p: &[u8]) -> u32 {
    let mut seen = [false; 256];
    let mut s: u32 = 0;
    for &b in p {
        let slot = &mut seen[usize::from(b)];
        if *slot {
            s = s.saturating_add(1);
            continue;
        }
        *slot = true;
        let w = if b.is_ascii_alphabetic() {
            3
        } else if (0x20..=0x7e).contains(&b) || b == 0x00 || b == 0x01 || b == 0xff {
            4
        } else {
            6
        };
        s = s.saturating_add(w);
    }
    s
}

/// A pattern set failed to build (too many patterns for the automaton).
#[derive(Debug)]
pub struct PrefilterError(String);

impl std::fmt::Display for PrefilterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "prefilter: {}", self.0)
    }
}

impl std::error::Error for PrefilterError {}

/// Finds which of many patterns occur in a buffer: the rules to inspect.
///
/// One automaton holds every pattern in lowercase, and the buffer is scanned lowercased, so
/// a buffer is scanned once whatever the mix of `nocase`; a match of a case-sensitive
/// pattern is then checked byte for byte where it occurred. The automaton is a double-array
/// Aho-Corasick (`daachorse`): for the thousands of patterns of a real rule set it is some
/// thirty times smaller than a dense DFA, and as fast or faster, since scanning is bound by
/// memory latency (see `docs/benchmarks.md`).
///
/// ```
/// use nta_detect::Prefilter;
///
/// let p = Prefilter::new([
///     (b"GET".to_vec(), false, 1),
///     (b"host:".to_vec(), true, 2),
///     (b"zzz".to_vec(), false, 3),
///     (b"GET".to_vec(), false, 4),
///     (b"get".to_vec(), false, 5),
/// ])
/// .unwrap();
/// let ids: Vec<u32> = p.candidates(b"GET / HTTP/1.1\r\nHost: a\r\nGET").collect();
/// assert_eq!(ids, [1, 2, 4]);
/// ```
pub struct Prefilter {
    ac: Option<DoubleArrayAhoCorasick<u32>>,
    /// Automaton value → its entries: `entries[first[v]..first[v + 1]]`.
    first: Vec<u32>,
    entries: Vec<Entry>,
    /// Ids of empty patterns: they occur in every buffer.
    empty: Vec<u32>,
    patterns: usize,
}

/// The rules wanting one pattern, with its exact bytes when it is case-sensitive and has
/// letters (checked where the lowercase form occurred).
struct Entry {
    ids: Vec<u32>,
    exact: Option<Box<[u8]>>,
}

impl std::fmt::Debug for Prefilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prefilter")
            .field("patterns", &self.patterns)
            .finish()
    }
}

/// Reusable memory for [`Prefilter::scan`]: which entry was found in the current scan, and
/// the lowercased buffer.
#[derive(Debug, Default)]
pub struct Scratch {
    stamp: Vec<u32>,
    scan: u32,
    lower: Vec<u8>,
}

impl Prefilter {
    /// Builds the automaton from `(pattern, nocase, id)`; ids need not be distinct. An empty
    /// pattern occurs in every buffer.
    pub fn new<I>(patterns: I) -> Result<Prefilter, PrefilterError>
    where
        I: IntoIterator<Item = (Vec<u8>, bool, u32)>,
    {
        // (lowercase pattern, exact bytes to verify) → rule ids.
        type Key = (Vec<u8>, Option<Vec<u8>>);
        let mut map: std::collections::BTreeMap<Key, Vec<u32>> = std::collections::BTreeMap::new();
        let mut count = 0;
        let mut empty = Vec::new();
        for (p, nocase, id) in patterns {
            count += 1;
            if p.is_empty() {
                empty.push(id);
                continue;
            }
            let verify = (!nocase && p.iter().any(u8::is_ascii_alphabetic)).then(|| p.clone());
            map.entry((p.to_ascii_lowercase(), verify))
                .or_default()
                .push(id);
        }
        // Sorted by lowercase pattern: entries of one automaton value are contiguous.
        let mut distinct: Vec<Vec<u8>> = Vec::new();
        let mut first = Vec::new();
        let mut entries = Vec::with_capacity(map.len());
        for ((low, exact), ids) in map {
            if distinct.last() != Some(&low) {
                first.push(entries.len() as u32);
                distinct.push(low);
            }
            entries.push(Entry {
                ids,
                exact: exact.map(Vec::into_boxed_slice),
            });
        }
        first.push(entries.len() as u32);
        let ac = if distinct.is_empty() {
            None
        } else {
            let with_values = distinct
                .iter()
                .enumerate()
                .map(|(i, p)| (p.as_slice(), i as u32));
            Some(
                DoubleArrayAhoCorasickBuilder::new()
                    .match_kind(MatchKind::Standard)
                    .build_with_values(with_values)
                    .map_err(|e| PrefilterError(e.to_string()))?,
            )
        };
        Ok(Prefilter {
            ac,
            first,
            entries,
            empty,
            patterns: count,
        })
    }

    /// Number of patterns (as given, with repeats).
    pub fn len(&self) -> usize {
        self.patterns
    }

    /// Whether there is no pattern.
    pub fn is_empty(&self) -> bool {
        self.patterns == 0
    }

    /// Appends to `out` the ids whose pattern occurs in `buf` (each pattern's ids once;
    /// unsorted, and an id given for several patterns may repeat).
    pub fn scan(&self, buf: &[u8], scratch: &mut Scratch, out: &mut Vec<u32>) {
        out.extend_from_slice(&self.empty);
        let Some(ac) = &self.ac else { return };
        if scratch.stamp.len() < self.entries.len() {
            scratch.stamp.resize(self.entries.len(), 0);
        }
        scratch.scan = scratch.scan.wrapping_add(1);
        if scratch.scan == 0 {
            scratch.stamp.fill(0);
            scratch.scan = 1;
        }
        let scan = scratch.scan;
        let Scratch { stamp, lower, .. } = scratch;
        lower.clear();
        lower.extend(buf.iter().map(u8::to_ascii_lowercase));
        for m in ac.find_overlapping_iter(&lower[..]) {
            let v = m.value() as usize;
            let (Some(&a), Some(&b)) = (self.first.get(v), self.first.get(v + 1)) else {
                continue;
            };
            for e in a as usize..b as usize {
                let (Some(st), Some(entry)) = (stamp.get_mut(e), self.entries.get(e)) else {
                    continue;
                };
                if *st == scan {
                    continue;
                }
                if let Some(p) = &entry.exact {
                    if buf.get(m.start()..m.end()) != Some(&p[..]) {
                        continue;
                    }
                }
                *st = scan;
                out.extend_from_slice(&entry.ids);
            }
        }
    }

    /// The ids whose pattern occurs in `buf`, each once, in increasing order.
    pub fn candidates(&self, buf: &[u8]) -> impl Iterator<Item = u32> {
        let mut out = Vec::new();
        self.scan(buf, &mut Scratch::default(), &mut out);
        out.sort_unstable();
        out.dedup();
        out.into_iter()
    }
}
