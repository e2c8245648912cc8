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

/// One automaton and the caller's id of each of its patterns.
struct Set {
    ac: AhoCorasick,
    ids: Vec<u32>,
}

impl Set {
    fn build(
        patterns: Vec<Vec<u8>>,
        ids: Vec<u32>,
        caseless: bool,
    ) -> Result<Option<Set>, PrefilterError> {
        if patterns.is_empty() {
            return Ok(None);
        }
        let ac = AhoCorasick::builder()
            .ascii_case_insensitive(caseless)
            .match_kind(MatchKind::Standard)
            .build(&patterns)
            .map_err(PrefilterError)?;
        Ok(Some(Set { ac, ids }))
    }
}

/// Finds which of many patterns occur in a buffer: the rules to inspect.
///
/// ```
/// use nta_detect::Prefilter;
///
/// let p = Prefilter::new([
///     (b"GET".to_vec(), false, 1),
///     (b"host:".to_vec(), true, 2),
///     (b"zzz".to_vec(), false, 3),
///     (b"GET".to_vec(), false, 4),
/// ])
/// .unwrap();
/// let ids: Vec<u32> = p.candidates(b"GET / HTTP/1.1\r\nHost: a\r\nGET").collect();
/// assert_eq!(ids, [1, 2, 4]);
/// ```
pub struct Prefilter {
    exact: Option<Set>,
    caseless: Option<Set>,
    patterns: usize,
}

impl std::fmt::Debug for Prefilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prefilter")
            .field("patterns", &self.patterns)
            .finish()
    }
}

impl Prefilter {
    /// Builds the automata from `(pattern, nocase, id)`; ids need not be distinct.
    pub fn new<I>(patterns: I) -> Result<Prefilter, PrefilterError>
    where
        I: IntoIterator<Item = (Vec<u8>, bool, u32)>,
    {
        let (mut ep, mut ei, mut cp, mut ci) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (p, nocase, id) in patterns {
            if nocase {
                cp.push(p);
                ci.push(id);
            } else {
                ep.push(p);
                ei.push(id);
            }
        }
        let patterns = ep.len() + cp.len();
        Ok(Prefilter {
            exact: Set::build(ep, ei, false)?,
            caseless: Set::build(cp, ci, true)?,
            patterns,
        })
    }

    /// Number of patterns.
    pub fn len(&self) -> usize {
        self.patterns
    }

    /// Whether there is no pattern.
    pub fn is_empty(&self) -> bool {
        self.patterns == 0
    }

    /// The ids whose pattern occurs in `buf`, each once, in increasing order.
    pub fn candidates(&self, buf: &[u8]) -> impl Iterator<Item = u32> {
        let mut out: Vec<u32> = Vec::new();
        for set in [&self.exact, &self.caseless].into_iter().flatten() {
            // Each pattern is reported once even if it occurs many times.
            let mut seen = vec![false; set.ids.len()];
            for m in set.ac.find_overlapping_iter(buf) {
                let i = m.pattern().as_usize();
                if let Some(s) = seen.get_mut(i) {
                    if !*s {
                        *s = true;
                        if let Some(&id) = set.ids.get(i) {
                            out.push(id);
                        }
                    }
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out.into_iter()
    }
}
