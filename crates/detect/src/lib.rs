//! Buffer inspection: whether the payload keywords of one buffer of a rule match a byte
//! buffer, with Suricata's semantics.
//!
//! A rule's payload keywords ([`nta_rules::Match`]) are grouped by the buffer they inspect
//! (packet payload, `http.uri`, `dns.query`, …). For each buffer, [`compile`] turns the
//! ordered list into a [`BufferProgram`] once (regexes compiled, nocase patterns folded,
//! Suricata's load-time rewrites applied); [`BufferProgram::inspect`] then answers, for one
//! buffer's bytes, whether the list matches. Choosing the buffers, fetching their bytes and
//! combining the answers with the rule's other conditions is the engine's job.
//!
//! ```
//! use nta_detect::{compile, Vars};
//! use nta_rules::{parse_rule, Buffer, Vars as RuleVars};
//!
//! let rule = parse_rule(
//!     r#"alert tcp any any -> any any (content:"a"; content:"b"; within:1; sid:1;)"#,
//!     &RuleVars::default(),
//! )
//! .unwrap();
//! let matches: Vec<_> = rule.matches_in(&Buffer::Packet).collect();
//! let program = compile(&matches).unwrap();
//! // The first "a" is not followed by "b": the engine backtracks to the second one.
//! assert!(program.inspect(b"axxab", &mut Vars::default()));
//! assert!(!program.inspect(b"axxa", &mut Vars::default()));
//! ```
//!
//! # Semantics
//!
//! Evaluation follows Suricata's `detect-engine-content-inspection.c` step by step: the
//! keywords are tried in rule order against a cursor (the end of the previous match,
//! `buffer_offset` in Suricata), and a keyword that fails returns either "no match" (an
//! earlier keyword may try its next occurrence) or "give up" (nothing earlier can help).
//!
//! * **content**: `offset`/`depth` are absolute (depth counts from offset); `distance` and
//!   `within` are relative to the cursor, and `distance` may be negative (the window start
//!   is then clamped to the buffer start). `startswith` is `depth` = the pattern's length;
//!   `endswith` requires the match to end at the buffer end (later occurrences are tried).
//!   `nocase` folds ASCII only. `content:!"x"` succeeds when the pattern is not in its
//!   window, without moving the cursor. `fast_pattern` and `rawbytes` change nothing.
//! * **Backtracking** is Suricata's, not a general search. A content retries its next
//!   occurrence when a later keyword fails only if something after it depends on where it
//!   matched: the next content or pcre has `within`, or a relative isdataat/byte_*/pcre
//!   (`R`)/negated `distance` content refers to it (Suricata's `WITHIN_NEXT` and
//!   `RELATIVE_NEXT` flags). A content followed only by a `distance` content does not
//!   retry (a later occurrence could only shrink the next window). A pcre retries from one
//!   byte after its previous match start when a later keyword is relative to it. So
//!   `content:"a"; content:"b"; within:1;` finds `ab` in `axxab`. An absolute content that
//!   is not found ends the inspection.
//! * Every step of the search is counted; at [`DEFAULT_RECURSION_LIMIT`] (Suricata's
//!   `detect.inspection-recursion-limit`, 3000) the inspection gives up with no match
//!   ([`BufferProgram::set_recursion_limit`]; [`Inspection::limit_hit`] reports it).
//! * **isdataat**: absolute `isdataat:N` needs `N < len`; relative needs
//!   `cursor + N <= len` (Suricata's documented one-byte difference). A relative
//!   `isdataat:!1` right after a content becomes `endswith` on it, as Suricata rewrites it.
//! * **bsize** compares the buffer length. Buffers are taken as complete (Suricata's
//!   end-of-data flag set), so a failing `bsize` ends the inspection.
//! * **byte_test / byte_jump / byte_extract** read 1 to 8 bytes big or little endian, or up
//!   to 23 characters as a number in text (`string`; read like C's `strtoull`: leading
//!   spaces and a sign are accepted, the number ends at the first non-digit). `bitmask`
//!   masks, then shifts right by the mask's trailing zeros. `byte_jump` moves the cursor
//!   to `start + value × multiplier (rounded up to 4 with align) + post_offset`, where
//!   start is after the read bytes, or the buffer start (`from_beginning`) or end
//!   (`from_end`); a jump before the buffer start lands on the start, a jump past the end
//!   fails (Suricata ≥ 7.0.3). `byte_extract` stores the value in [`Vars`] and moves the
//!   cursor past the bytes it read.
//! * **pcre** runs the regex translated by `nta-rules` with the `regex` crate (bytes,
//!   Unicode off) or `fancy-regex`; flags `i s m x` and `G` (lazy by default) are in the
//!   pattern; `R` matches from the cursor (the subject starts there: `^` matches there and
//!   lookbehind cannot see before it); `A` requires the match to start where the search
//!   does; `E` makes `$` match only at the very end; without `m`/`E`, `$` (and `\Z`) also
//!   match before a final newline, as in PCRE. The match end becomes the cursor.
//!   `fancy-regex` only searches text, so its subject is the buffer read as Latin-1 (each
//!   byte one character), with the pattern adjusted so that it still means bytes.
//!
//! # Prefiltering
//!
//! [`fast_pattern`] picks the content the engine prefilters a rule on (Suricata's choice:
//! the `fast_pattern` content, else the longest non-negated one, ties broken by pattern
//! strength); [`Prefilter`] finds which of many such patterns occur in a buffer. Neither
//! changes what [`BufferProgram::inspect`] answers.
//!
//! # Unsupported
//!
//! [`compile`] returns [`Unsupported`] rather than a program that could match wrongly:
//! `base64_decode`/`base64_data`, the `dce` byte order, `byte_jump`'s `bitmask` (documented
//! by Suricata but not implemented: such a rule does not load there), a content whose
//! `offset` and `depth` mix a variable and a number, a pcre the Rust engines cannot run with
//! PCRE's meaning (see [`Unsupported::reason`]), and two cases where Suricata's meaning
//! depends on whether the buffer was chosen by a sticky buffer or a content modifier, which
//! the AST does not record.
//!
//! # Known differences
//!
//! * PCRE's match limits (`pcre.match-limit`) are not reproduced: the `regex` crate runs in
//!   linear time, `fancy-regex` gives up after [`MAX_BACKTRACK`] steps (no match).
//! * `string` without a base is read as decimal; Suricata reads byte_test/byte_jump
//!   numbers without a base like `strtoull` base 0 (`0x` hex, leading `0` octal). The
//!   `nta-rules` AST does not keep the difference.
//! * `string` with 0 bytes reads the digits up to the buffer end (Suricata reads past it).
//! * In multi-line mode, `^` also matches after a newline that ends the buffer (PCRE's
//!   does not without `PCRE2_ALT_CIRCUMFLEX`); only an empty line match such as `/^$/m`
//!   can differ.
//! * A `byte_extract` variable that was not set (defined in another buffer that was not
//!   inspected) fails the keyword that uses it.
//! * Rules that return to an earlier sticky buffer: Suricata attaches a relative keyword to
//!   the latest content of the whole rule; here, to the latest of its buffer.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod bytes;
mod detector;
mod engine;
mod inspect;
mod meta;
mod pcre;
mod prefilter;
mod program;
mod signature;
mod threshold;

#[cfg(test)]
mod tests_bytes;
#[cfg(test)]
mod tests_content;
#[cfg(test)]
mod tests_detector;
#[cfg(test)]
mod tests_pcre;
#[cfg(test)]
mod tests_prefilter;
#[cfg(test)]
mod tests_util;

use std::fmt;

pub use detector::{DetectCounters, Detector, Fired};
pub use engine::Engine;
pub use inspect::Inspection;
pub use meta::{buffer_direction, FlowMeta, IcmpMeta, PacketMeta, TcpMeta, TxBuffers};
pub use nta_rules::Buffer;
pub use prefilter::{fast_pattern, Prefilter, PrefilterError, Scratch};
pub use program::{compile, BufferProgram, MAX_STEPS};
pub use signature::AlertInfo;
pub use threshold::{Thresholds, MAX_THRESHOLD_COUNTERS};

/// Suricata's default `detect.inspection-recursion-limit`: keyword evaluations per
/// inspection of one buffer before giving up.
pub const DEFAULT_RECURSION_LIMIT: u32 = 3000;

/// Backtracking steps `fancy-regex` may take for one search before giving up (its default);
/// a search that gives up is no match, as a PCRE match error is in Suricata.
pub const MAX_BACKTRACK: usize = 1_000_000;

/// A keyword [`compile`] cannot evaluate exactly; the engine skips the rule (with a
/// warning) rather than risk matching wrongly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsupported {
    /// The keyword (`pcre`, `byte_jump`, `base64_decode`, …).
    pub keyword: &'static str,
    /// Why, for the user.
    pub reason: String,
}

impl Unsupported {
    pub(crate) fn new(keyword: &'static str, reason: impl Into<String>) -> Unsupported {
        Unsupported {
            keyword,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.keyword, self.reason)
    }
}

impl std::error::Error for Unsupported {}

/// Values stored by `byte_extract`, by variable name, for the keywords after it (in the same
/// buffer or in later buffers of the same rule).
///
/// Clear it (or use a new one) before inspecting another rule. Names stay allocated across
/// [`Vars::clear`], so a reused `Vars` does not allocate per packet.
#[derive(Clone, Debug, Default)]
pub struct Vars {
    slots: Vec<(Box<str>, Option<u64>)>,
}

impl Vars {
    /// An empty set.
    pub fn new() -> Vars {
        Vars::default()
    }

    /// The value of `name`, if it was set since the last [`Vars::clear`].
    pub fn get(&self, name: &str) -> Option<u64> {
        self.slots
            .iter()
            .find(|(n, _)| &**n == name)
            .and_then(|(_, v)| *v)
    }

    /// Sets `name`.
    pub fn set(&mut self, name: &str, value: u64) {
        match self.slots.iter_mut().find(|(n, _)| &**n == name) {
            Some((_, v)) => *v = Some(value),
            None => self.slots.push((name.into(), Some(value))),
        }
    }

    /// Unsets every variable.
    pub fn clear(&mut self) {
        for (_, v) in &mut self.slots {
            *v = None;
        }
    }
}
