//! Helpers for line-based text protocols (SMTP, FTP): case-insensitive prefix tests and
//! splitting a stream into bounded lines.

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
