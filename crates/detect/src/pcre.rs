//! A pcre compiled for matching bytes with PCRE's meaning.
//!
//! `nta-rules` translates the PCRE syntax ([`Pcre::rust_pattern`]) and says which crate
//! accepts it. Left to this module:
//!
//! * Non-ASCII characters written in the pattern are bytes in PCRE (no UTF mode): each is
//!   rewritten as the `\xHH` escapes of its UTF-8 bytes.
//! * PCRE's `$` (without `m` or `E`) and `\Z` match at the end *or before a final newline*,
//!   without consuming it. When that assertion ends the pattern (`/\.php$/`, the common
//!   case) the `regex` crate runs `X(\n?)\z` and the match ends where the group starts;
//!   anywhere else, `fancy-regex` runs the lookahead `(?=\n?\z)`.
//! * `fancy-regex` only searches `&str`: the subject is the buffer read as Latin-1 (byte
//!   `b` is the character U+00b), so `\xHH` and `.` keep their byte meaning. Its Unicode
//!   rules are then kept out: `\b`/`\B` become ASCII word boundaries (lookarounds), and
//!   under `i` a byte escape of a Latin-1 letter is made case-sensitive (PCRE folds ASCII
//!   only); such an escape inside a class under `i` is [`Unsupported`].
//! * `A` (anchored) keeps a match only if it starts where the search starts.

use nta_rules::{Pcre, RegexEngine, MAX_REGEX_SIZE};

use crate::{Unsupported, MAX_BACKTRACK};

/// ASCII word boundary and non-boundary for `fancy-regex` (its `\b` is Unicode's).
const ASCII_WORD_BOUNDARY: &str =
    r"(?:(?<=[0-9A-Za-z_])(?![0-9A-Za-z_])|(?<![0-9A-Za-z_])(?=[0-9A-Za-z_]))";
const ASCII_NOT_WORD_BOUNDARY: &str =
    r"(?:(?<=[0-9A-Za-z_])(?=[0-9A-Za-z_])|(?<![0-9A-Za-z_])(?![0-9A-Za-z_]))";
/// PCRE's `$`/`\Z` as a lookahead.
const DOLLAR_LOOKAHEAD: &str = r"(?=\n?\z)";
/// How `nta-rules` writes PCRE's `\Z` (consuming the newline).
const NTA_BACKSLASH_Z: &str = r"(?:\n?\z)";

/// A compiled pcre.
pub(crate) struct CompiledPcre {
    engine: Engine,
    anchored: bool,
}

enum Engine {
    /// `regex::bytes`, Unicode off. `end_group`: the index of the `(\n?)` group standing for
    /// a final PCRE `$`, whose start is the real match end.
    Bytes {
        re: regex::bytes::Regex,
        end_group: Option<usize>,
    },
    /// `fancy-regex` over the Latin-1 reading of the buffer.
    Fancy(fancy_regex::Regex),
}

/// The result of one search.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Search {
    /// A match `start..end`, relative to the subject.
    Found(usize, usize),
    /// No match.
    None,
    /// The engine gave up (backtracking limit) or the start was past the subject's end: a
    /// PCRE error, which Suricata counts as no match even for a negated pcre.
    Error,
}

/// The Latin-1 reading of a buffer, built on first use by a `fancy-regex` search.
#[derive(Default)]
pub(crate) struct Latin1 {
    text: Option<String>,
}

impl Latin1 {
    fn get(&mut self, buf: &[u8]) -> &str {
        self.text
            .get_or_insert_with(|| buf.iter().map(|&b| char::from(b)).collect())
    }
}

/// Bytes of `buf[..n]` that take two bytes in the Latin-1 text.
fn wide_before(buf: &[u8], n: usize) -> usize {
    buf.get(..n)
        .unwrap_or(buf)
        .iter()
        .filter(|&&b| b >= 0x80)
        .count()
}

/// Characters in the first `n` bytes of a Latin-1 text (continuation bytes not counted).
fn chars_before(text: &[u8], n: usize) -> usize {
    let head = text.get(..n).unwrap_or(text);
    head.len() - head.iter().filter(|&&b| b & 0xC0 == 0x80).count()
}

impl CompiledPcre {
    /// Compiles a pcre (see the module documentation).
    pub(crate) fn compile(p: &Pcre) -> Result<CompiledPcre, Unsupported> {
        let f = &p.flags;
        let mut inline = String::new();
        for (on, c) in [
            (f.caseless, 'i'),
            (f.dotall, 's'),
            (f.multiline, 'm'),
            (f.extended, 'x'),
            (f.ungreedy, 'U'),
        ] {
            if on {
                inline.push(c);
            }
        }
        let prefix = if inline.is_empty() {
            String::new()
        } else {
            format!("(?{inline})")
        };
        let full = p.rust_pattern();
        let body = full
            .strip_prefix(prefix.as_str())
            .ok_or_else(|| Unsupported::new("pcre", "unexpected translation of the pcre flags"))?;
        let chars: Vec<char> = body.chars().collect();
        let scan = scan(&chars, f.extended);
        let caseless = f.caseless || scan.inline_i;

        // Which PCRE end-of-subject assertions need emulating.
        let mut emulate: Vec<Assertion> = Vec::new();
        for a in &scan.dollars {
            if a.backslash_z {
                emulate.push(*a);
                continue;
            }
            if scan.inline_m {
                return Err(Unsupported::new(
                    "pcre",
                    "`$` with an inline (?m) flag in the pattern",
                ));
            }
            if !f.multiline && !f.dollar_endonly {
                emulate.push(*a);
            }
        }
        let final_only = match emulate.as_slice() {
            [a] => a.end == chars.len() && a.depth == 0 && !scan.top_alternation,
            [] => true,
            _ => false,
        };
        let fancy = p.engine == RegexEngine::Fancy || !final_only;
        let dollar = if emulate.is_empty() {
            DollarMode::Keep
        } else if fancy {
            DollarMode::Lookahead
        } else {
            DollarMode::EndGroup
        };
        let rewritten = rewrite(&chars, f.extended, fancy, caseless, dollar, &emulate)?;
        let pattern = format!("{prefix}{rewritten}");
        let engine = if fancy {
            let re = fancy_regex::RegexBuilder::new(&pattern)
                .delegate_size_limit(MAX_REGEX_SIZE)
                .backtrack_limit(MAX_BACKTRACK)
                .build()
                .map_err(|e| Unsupported::new("pcre", format!("fancy-regex: {e}")))?;
            Engine::Fancy(re)
        } else {
            let re = regex::bytes::RegexBuilder::new(&pattern)
                .unicode(false)
                .size_limit(MAX_REGEX_SIZE)
                .build()
                .map_err(|e| Unsupported::new("pcre", last_line(&e.to_string())))?;
            let end_group =
                (dollar == DollarMode::EndGroup).then(|| re.captures_len().saturating_sub(1));
            Engine::Bytes { re, end_group }
        };
        Ok(CompiledPcre {
            engine,
            anchored: f.anchored,
        })
    }

    /// The regex's source, when it runs on the `regex` crate (built with Unicode off): a
    /// buffer this pcre matches in matches it (what a prefilter may test).
    pub(crate) fn bytes_pattern(&self) -> Option<&str> {
        match &self.engine {
            Engine::Bytes { re, .. } => Some(re.as_str()),
            Engine::Fancy(_) => None,
        }
    }

    /// Whether the regex runs on `fancy-regex` (and so needs the Latin-1 text).
    #[cfg(test)]
    pub(crate) fn is_fancy(&self) -> bool {
        matches!(self.engine, Engine::Fancy(_))
    }

    /// Searches the subject `buf[subject..]` from `start` (relative to the subject), like
    /// `pcre2_match(subject, start_offset)`.
    pub(crate) fn search(
        &self,
        buf: &[u8],
        subject: usize,
        start: usize,
        latin1: &mut Latin1,
    ) -> Search {
        let Some(sub) = buf.get(subject..) else {
            return Search::Error;
        };
        if start > sub.len() {
            return Search::Error;
        }
        let found = match &self.engine {
            Engine::Bytes { re, end_group } => match end_group {
                None => re.find_at(sub, start).map(|m| (m.start(), m.end())),
                Some(g) => {
                    let mut locs = re.capture_locations();
                    re.captures_read_at(&mut locs, sub, start).map(|m| {
                        let end = locs.get(*g).map_or(m.end(), |(s, _)| s);
                        (m.start(), end)
                    })
                }
            },
            Engine::Fancy(re) => {
                let text = latin1.get(buf);
                let t0 = subject + wide_before(buf, subject);
                let Some(tsub) = text.get(t0..) else {
                    return Search::Error;
                };
                let tstart = start + wide_before(sub, start);
                match re.find_from_pos(tsub, tstart) {
                    Ok(Some(m)) => Some((
                        chars_before(tsub.as_bytes(), m.start()),
                        chars_before(tsub.as_bytes(), m.end()),
                    )),
                    Ok(None) => None,
                    Err(_) => return Search::Error,
                }
            }
        };
        match found {
            Some((s, _)) if self.anchored && s != start => Search::None,
            Some((s, e)) => Search::Found(s, e),
            None => Search::None,
        }
    }
}

fn last_line(m: &str) -> String {
    m.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("error")
        .trim()
        .trim_start_matches("error: ")
        .to_string()
}

/// A PCRE end-of-subject assertion in the pattern: `$`, or `\Z` as `nta-rules` wrote it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Assertion {
    /// Char index of its first character.
    start: usize,
    /// Char index after it.
    end: usize,
    /// Group nesting depth.
    depth: usize,
    /// `\Z` (its meaning does not depend on `m` or `E`).
    backslash_z: bool,
}

/// What a scan of the translated pattern found.
#[derive(Default)]
struct Scan {
    dollars: Vec<Assertion>,
    /// A `|` outside any group.
    top_alternation: bool,
    /// An inline flag group turning `m` on or off.
    inline_m: bool,
    /// An inline flag group turning `i` on or off.
    inline_i: bool,
}

/// Index after the escape starting with the backslash at `i`.
fn escape_end(chars: &[char], i: usize) -> usize {
    match chars.get(i + 1) {
        None => i + 1,
        Some('x') if chars.get(i + 2) == Some(&'{') => chars[i + 2..]
            .iter()
            .position(|&c| c == '}')
            .map_or(chars.len(), |p| i + 3 + p),
        Some('x') => {
            let mut j = i + 2;
            while j < chars.len() && j < i + 4 && chars[j].is_ascii_hexdigit() {
                j += 1;
            }
            j
        }
        Some(_) => i + 2,
    }
}

/// Index after a POSIX class `[:name:]` starting at `i`, if one does.
fn posix_class_end(chars: &[char], i: usize) -> Option<usize> {
    if chars.get(i) != Some(&'[') || chars.get(i + 1) != Some(&':') {
        return None;
    }
    let mut j = i + 2;
    while j + 1 < chars.len() {
        if chars[j] == ':' && chars[j + 1] == ']' {
            return Some(j + 2);
        }
        j += 1;
    }
    None
}

/// If an inline flag group `(?flags)` or `(?flags:` starts at `i`, its flag letters.
fn inline_flags(chars: &[char], i: usize) -> Option<String> {
    if chars.get(i + 1) != Some(&'?') {
        return None;
    }
    let mut j = i + 2;
    let mut letters = String::new();
    while let Some(&c) = chars.get(j) {
        match c {
            ')' | ':' => return (!letters.is_empty()).then_some(letters),
            c if c.is_ascii_alphabetic() || c == '-' => letters.push(c),
            _ => return None,
        }
        j += 1;
    }
    None
}

fn starts_with_at(chars: &[char], i: usize, s: &str) -> bool {
    let n = s.chars().count();
    chars
        .get(i..i + n)
        .is_some_and(|w| w.iter().copied().eq(s.chars()))
}

/// Finds the end-of-subject assertions, top-level alternation and inline flags.
fn scan(chars: &[char], extended: bool) -> Scan {
    let mut s = Scan::default();
    let mut i = 0;
    let mut in_class = false;
    let mut depth = 0usize;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            i = escape_end(chars, i);
            continue;
        }
        if in_class {
            if let Some(end) = posix_class_end(chars, i) {
                i = end;
                continue;
            }
            if c == ']' {
                in_class = false;
            }
            i += 1;
            continue;
        }
        match c {
            '[' => {
                in_class = true;
                i += 1;
                if chars.get(i) == Some(&'^') {
                    i += 1;
                }
                continue;
            }
            '#' if extended => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            '(' if starts_with_at(chars, i, NTA_BACKSLASH_Z) => {
                let end = i + NTA_BACKSLASH_Z.chars().count();
                s.dollars.push(Assertion {
                    start: i,
                    end,
                    depth,
                    backslash_z: true,
                });
                i = end;
                continue;
            }
            '(' => {
                if let Some(flags) = inline_flags(chars, i) {
                    s.inline_m |= flags.contains('m');
                    s.inline_i |= flags.contains('i');
                }
                depth += 1;
            }
            ')' => depth = depth.saturating_sub(1),
            '|' if depth == 0 => s.top_alternation = true,
            '$' => s.dollars.push(Assertion {
                start: i,
                end: i + 1,
                depth,
                backslash_z: false,
            }),
            _ => {}
        }
        i += 1;
    }
    s
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum DollarMode {
    /// No assertion to emulate.
    Keep,
    /// The only assertion ends the pattern: `(\n?)\z`, the group start is the match end.
    EndGroup,
    /// `(?=\n?\z)` (fancy-regex).
    Lookahead,
}

/// Whether byte `b` is a Latin-1 letter that Unicode case folding pairs with another Latin-1
/// letter (PCRE without UTF folds ASCII only).
fn latin1_cased(b: u32) -> bool {
    (0xC0..=0xDE).contains(&b) && b != 0xD7 || (0xE0..=0xFE).contains(&b) && b != 0xF7
}

fn push_byte_escape(out: &mut String, b: u8) {
    out.push_str(&format!("\\x{b:02X}"));
}

/// Writes a non-ASCII character as the escapes of its UTF-8 bytes.
fn push_char_bytes(out: &mut String, c: char, caseless_fancy: bool, in_class: bool) {
    let mut buf = [0u8; 4];
    for &b in c.encode_utf8(&mut buf).as_bytes() {
        if caseless_fancy && !in_class && latin1_cased(u32::from(b)) {
            out.push_str("(?-i:");
            push_byte_escape(out, b);
            out.push(')');
        } else {
            push_byte_escape(out, b);
        }
    }
}

/// The value of a `\x` escape spanning `chars[i..end]`.
fn hex_escape_value(chars: &[char], i: usize, end: usize) -> Option<u32> {
    let digits: String = chars
        .get(i + 2..end)?
        .iter()
        .filter(|c| c.is_ascii_hexdigit())
        .collect();
    u32::from_str_radix(&digits, 16).ok()
}

/// Rewrites the translated pattern body (see the module documentation).
fn rewrite(
    chars: &[char],
    extended: bool,
    fancy: bool,
    caseless: bool,
    dollar: DollarMode,
    emulate: &[Assertion],
) -> Result<String, Unsupported> {
    let caseless_fancy = fancy && caseless;
    let high_in_class = |v: u32| {
        Unsupported::new(
            "pcre",
            format!(
                "byte \\x{v:02X} in a character class under `i`: fancy-regex would fold it as a Latin-1 letter, PCRE does not"
            ),
        )
    };
    let mut out = String::with_capacity(chars.len() + 16);
    let mut i = 0;
    let mut in_class = false;
    while i < chars.len() {
        if let Some(a) = emulate.iter().find(|a| a.start == i) {
            match dollar {
                DollarMode::EndGroup => out.push_str(r"(\n?)\z"),
                _ => out.push_str(DOLLAR_LOOKAHEAD),
            }
            i = a.end;
            continue;
        }
        let c = chars[i];
        if c == '\\' {
            let end = escape_end(chars, i);
            match chars.get(i + 1) {
                Some(&n) if !n.is_ascii() => push_char_bytes(&mut out, n, caseless_fancy, in_class),
                Some('b') if fancy && !in_class => out.push_str(ASCII_WORD_BOUNDARY),
                Some('B') if fancy && !in_class => out.push_str(ASCII_NOT_WORD_BOUNDARY),
                Some('x') if caseless_fancy => {
                    let v = hex_escape_value(chars, i, end).unwrap_or(0);
                    if latin1_cased(v) || (in_class && v >= 0x80) {
                        if in_class {
                            return Err(high_in_class(v));
                        }
                        out.push_str("(?-i:");
                        out.extend(&chars[i..end]);
                        out.push(')');
                    } else {
                        out.extend(&chars[i..end]);
                    }
                }
                _ => out.extend(&chars[i..end.min(chars.len())]),
            }
            i = end;
            continue;
        }
        if !c.is_ascii() {
            if caseless_fancy && in_class {
                return Err(high_in_class(u32::from(c)));
            }
            push_char_bytes(&mut out, c, caseless_fancy, in_class);
            i += 1;
            continue;
        }
        if in_class {
            if let Some(end) = posix_class_end(chars, i) {
                out.extend(&chars[i..end]);
                i = end;
                continue;
            }
            if c == ']' {
                in_class = false;
            }
            out.push(c);
            i += 1;
            continue;
        }
        match c {
            '[' => {
                in_class = true;
                out.push('[');
                i += 1;
                if chars.get(i) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                continue;
            }
            '#' if extended => {
                while i < chars.len() && chars[i] != '\n' {
                    // Comment text is ignored by the engines; keep it ASCII.
                    if chars[i].is_ascii() {
                        out.push(chars[i]);
                    }
                    i += 1;
                }
                continue;
            }
            _ => out.push(c),
        }
        i += 1;
    }
    Ok(out)
}
