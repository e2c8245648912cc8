//! Helpers for line-based text protocols (SMTP, FTP): case-insensitive prefix tests, the
//! probes' common parts, and splitting a stream into bounded lines.

use crate::parser::Probe;

/// Bytes of a greeting line a probe looks at.
pub(crate) const PROBE_LINE: usize = 512;

/// Whether the client's first bytes start with one of `verbs` (`EHLO `, `USER `, …), any
/// case.
pub(crate) fn probe_verbs(d: &[u8], verbs: &[&[u8]]) -> Probe {
    let mut need_more = false;
    for verb in verbs {
        match starts_ci(d, verb) {
            Some(true) => return Probe::Match,
            None => need_more = true,
            Some(false) => {}
        }
    }
    if need_more {
        Probe::NeedMore
    } else {
        Probe::NoMatch
    }
}

/// A server's `220` greeting for a protocol that shares it with another (SMTP and FTP both
/// greet with 220): its own words (`mine`) in the first line match, the other's (`theirs`)
/// do not; a greeting naming neither is taken on `ports`, else left to the client's first
/// command.
pub(crate) fn probe_greeting(
    d: &[u8],
    mine: &[&[u8]],
    theirs: &[&[u8]],
    server_port: u16,
    ports: &[u16],
) -> Probe {
    let line = match greeting_220(d) {
        Ok(line) => line,
        Err(answer) => return answer,
    };
    if mine.iter().any(|w| contains_ci(line, w)) {
        Probe::Match
    } else if theirs.iter().any(|w| contains_ci(line, w)) {
        Probe::NoMatch
    } else if ports.contains(&server_port) {
        Probe::Match
    } else {
        Probe::NoMatch
    }
}

/// The first line of a server's `220` greeting (`220 ` or `220-`), at most [`PROBE_LINE`]
/// bytes; `Err` with the probe's answer when it is not one or not whole yet.
fn greeting_220(d: &[u8]) -> Result<&[u8], Probe> {
    let Some(head) = d.get(..4) else {
        return Err(match starts_ci(d, b"220") {
            Some(false) => Probe::NoMatch,
            _ => Probe::NeedMore,
        });
    };
    if &head[..3] != b"220" || !matches!(head[3], b' ' | b'-') {
        return Err(Probe::NoMatch);
    }
    let window = &d[..d.len().min(PROBE_LINE)];
    match memchr::memchr(b'\n', window) {
        Some(i) => Ok(&window[..i]),
        None if d.len() < PROBE_LINE => Err(Probe::NeedMore),
        None => Ok(window),
    }
}

/// Whether `data` starts with `word` (ASCII, any case), or is a prefix of it.
pub(crate) fn starts_ci(data: &[u8], word: &[u8]) -> Option<bool> {
    let n = data.len().min(word.len());
    if !data[..n].eq_ignore_ascii_case(&word[..n]) {
        Some(false)
    } else if n < word.len() {
        None
    } else {
        Some(true)
    }
}

/// Whether `needle` occurs in `hay`, ASCII case ignored.
pub(crate) fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// One step of splitting a stream into lines.
pub(crate) enum Step<'a> {
    /// A line (without its CR LF) and the bytes it used.
    Line(&'a [u8], usize),
    /// Bytes of an over-long line, dropped.
    Skip(usize),
    /// No whole line yet.
    Wait,
}

/// Splits the next line off `data`: lines longer than `max` are skipped whole, `skipping`
/// carrying one across calls.
pub(crate) fn next_line<'a>(data: &'a [u8], skipping: &mut bool, max: usize) -> Step<'a> {
    match memchr::memchr(b'\n', data) {
        Some(i) if *skipping || i > max => {
            *skipping = false;
            Step::Skip(i + 1)
        }
        Some(i) => {
            let line = &data[..i];
            Step::Line(line.strip_suffix(b"\r").unwrap_or(line), i + 1)
        }
        None if *skipping || data.len() > max => {
            *skipping = true;
            Step::Skip(data.len())
        }
        None => Step::Wait,
    }
}
