//! The fast pattern of a rule and the multi-pattern prefilter built from them.
//!
//! The engine looks for every rule's fast pattern in a buffer at once ([`Prefilter`]) and
//! inspects only the rules whose pattern is there. A rule's fast pattern must be a content
//! the rule cannot match without, which a non-negated content is.

use aho_corasick::{AhoCorasick, MatchKind};
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

/// A pattern set failed to build (too many or too long patterns for the automaton).
#[derive(Debug)]
pub struct PrefilterError(aho_corasick::BuildError);

impl std::fmt::Display for PrefilterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "prefilter: {}", self.0)
    }
}

impl std::error::Error for PrefilterError {}

/// Finds which of many patterns occur in a buffer: the rules to inspect.
///
/// One automaton holds every pattern, matching ASCII case-insensitively; a match of a
/// case-sensitive pattern is checked byte for byte where it occurred. So a buffer is scanned
/// once whatever the mix of `nocase`.
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
    ac: AhoCorasick,
    /// Per pattern: the ids of the rules it stands for.
    ids: Vec<Vec<u32>>,
    /// Per pattern: its bytes when it is case-sensitive and has letters (to verify).
    exact: Vec<Option<Box<[u8]>>>,
    patterns: usize,
}

impl std::fmt::Debug for Prefilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prefilter")
            .field("patterns", &self.patterns)
            .finish()
    }
}

/// Reusable memory for [`Prefilter::scan`] (which pattern was seen in the current scan).
#[derive(Debug, Default)]
pub struct Scratch {
    stamp: Vec<u32>,
    scan: u32,
}

impl Prefilter {
    /// Builds the automaton from `(pattern, nocase, id)`; ids need not be distinct.
    pub fn new<I>(patterns: I) -> Result<Prefilter, PrefilterError>
    where
        I: IntoIterator<Item = (Vec<u8>, bool, u32)>,
    {
        // One entry per distinct (pattern as matched, exact bytes): rules sharing a fast
        // pattern share an automaton pattern.
        let mut index: std::collections::HashMap<(Vec<u8>, Option<Vec<u8>>), usize> =
            std::collections::HashMap::new();
        let mut pats: Vec<Vec<u8>> = Vec::new();
        let mut ids: Vec<Vec<u32>> = Vec::new();
        let mut exact: Vec<Option<Box<[u8]>>> = Vec::new();
        let mut count = 0;
        for (p, nocase, id) in patterns {
            count += 1;
            let verify = (!nocase && p.iter().any(u8::is_ascii_alphabetic)).then(|| p.clone());
            let key = (p.to_ascii_lowercase(), verify.clone());
            let i = *index.entry(key).or_insert_with(|| {
                pats.push(p.clone());
                ids.push(Vec::new());
                exact.push(verify.map(Vec::into_boxed_slice));
                pats.len() - 1
            });
            ids[i].push(id);
        }
        let ac = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(Some(aho_corasick::AhoCorasickKind::DFA))
            .build(&pats)
            .or_else(|_| {
                // Too big for a DFA: the contiguous NFA is slower but smaller.
                AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    .build(&pats)
            })
            .map_err(PrefilterError)?;
        Ok(Prefilter {
            ac,
            ids,
            exact,
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
        if scratch.stamp.len() < self.ids.len() {
            scratch.stamp.resize(self.ids.len(), 0);
        }
        scratch.scan = scratch.scan.wrapping_add(1);
        if scratch.scan == 0 {
            scratch.stamp.fill(0);
            scratch.scan = 1;
        }
        let scan = scratch.scan;
        for m in self.ac.find_overlapping_iter(buf) {
            let i = m.pattern().as_usize();
            let Some(st) = scratch.stamp.get_mut(i) else {
                continue;
            };
            if *st == scan {
                continue;
            }
            if let Some(Some(p)) = self.exact.get(i) {
                if buf.get(m.start()..m.end()) != Some(&p[..]) {
                    continue;
                }
            }
            *st = scan;
            if let Some(ids) = self.ids.get(i) {
                out.extend_from_slice(ids);
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
