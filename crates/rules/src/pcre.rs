//! `pcre:"/regex/flags"`: the value, Suricata's modifier letters, and the translation of the
//! PCRE syntax found in rules to what the Rust regex crates accept.
//!
//! A pcre is kept as written ([`Pcre::pattern`]); [`Pcre::rust_pattern`] gives the same regex
//! for `regex::bytes` (Unicode off, so `\xff` is a byte) or `fancy-regex`, with the flags
//! inline. At load the translation is checked by the `regex` crate's own front end
//! (`regex-syntax`: parsed and translated, Unicode off, which is every compile error but the
//! compiled-size limit the engine configures) and, failing that, compiled by `fancy-regex`
//! (lookaround, backreferences, atomic groups and possessive quantifiers are common in ET
//! rules); a pcre neither accepts skips the rule with "pcre: unsupported regex feature".
//! [`Pcre::engine`] says which one the engine must use.
//!
//! Translated: `\xH`/`\x{…}`/`\0oo` numeric escapes, escaped punctuation (`\/`, `\"`, `\;`),
//! `\h` `\H` `\v` `\V` `\R` `\e` `\a` `\cX` `\Q…\E`, `\Z` (as `\n?\z`), a `{` that does not
//! start a quantifier (a literal in PCRE), `[` `&` `~` and `--` inside classes (literals in
//! PCRE, set operators in `regex`), whitespace inside classes under `x`, `(?#…)` comments.
//! Not translated (the engine must provide them): the `A` (anchored at the search start),
//! `E`, `R` and `O` flags, and PCRE's `$` also matching before a final newline.

use crate::ast::{Buffer, Pcre, PcreFlags, RegexEngine};
use crate::error::{ErrorKind, RuleError};

/// Compiled size limit of the inner regexes when `fancy-regex` compiles a pcre at load (the
/// `regex` crate's default).
pub const MAX_REGEX_SIZE: usize = 10 << 20;

/// Parses a pcre value (`!"/re/flags"`); returns the pcre and the buffer its modifier letters
/// select, if any. `at` is the value's offset in the rule.
pub(crate) fn parse(value: &str, at: usize) -> Result<(Pcre, Option<Buffer>), RuleError> {
    let bad = |off: usize, m: String| RuleError::value("pcre", at + off, m);
    let mut v = value;
    let mut negated = false;
    let mut off = 0;
    if let Some(rest) = v.strip_prefix('!') {
        negated = true;
        off += 1 + (rest.len() - rest.trim_start().len());
        v = rest.trim_start();
    }
    let inner = v
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .ok_or_else(|| {
            bad(
                off,
                "pcre must be quoted: pcre:\"/regex/flags\"".to_string(),
            )
        })?;
    let body_off = off + 1;
    let slash = inner
        .find('/')
        .ok_or_else(|| bad(body_off, "pcre must be written /regex/flags".to_string()))?;
    if !inner[..slash].trim().is_empty() {
        return Err(bad(
            body_off,
            format!("unexpected `{}` before the opening `/`", &inner[..slash]),
        ));
    }
    let last = inner.rfind('/').filter(|&l| l > slash).ok_or_else(|| {
        bad(
            body_off + slash,
            "pcre has no closing `/`: write /regex/flags".to_string(),
        )
    })?;
    let pattern = &inner[slash + 1..last];
    let letters = &inner[last + 1..];
    if pattern.is_empty() {
        return Err(bad(body_off + slash, "empty regex".to_string()));
    }
    let mut flags = PcreFlags::default();
    let mut buffer: Option<(char, Buffer)> = None;
    for (i, c) in letters.char_indices() {
        let here = body_off + last + 1 + i;
        let b = match c {
            'i' => {
                flags.caseless = true;
                None
            }
            's' => {
                flags.dotall = true;
                None
            }
            'm' => {
                flags.multiline = true;
                None
            }
            'x' => {
                flags.extended = true;
                None
            }
            'A' => {
                flags.anchored = true;
                None
            }
            'E' => {
                flags.dollar_endonly = true;
                None
            }
            'G' => {
                flags.ungreedy = true;
                None
            }
            'R' => {
                flags.relative = true;
                None
            }
            'B' => {
                flags.rawbytes = true;
                None
            }
            'O' => {
                flags.match_limit = true;
                None
            }
            'U' => Some(Buffer::HttpUri),
            'I' => Some(Buffer::HttpUriRaw),
            'P' => Some(Buffer::HttpRequestBody),
            'Q' => Some(Buffer::HttpResponseBody),
            'H' => Some(Buffer::HttpHeader),
            'D' => Some(Buffer::HttpHeaderRaw),
            'M' => Some(Buffer::HttpMethod),
            'C' => Some(Buffer::HttpCookie),
            'S' => Some(Buffer::HttpStatCode),
            'Y' => Some(Buffer::HttpStatMsg),
            'V' => Some(Buffer::HttpUserAgent),
            'W' => Some(Buffer::HttpHost),
            'Z' => Some(Buffer::HttpHostRaw),
            c if c.is_whitespace() => None,
            c => return Err(bad(here, format!("unknown pcre modifier `{c}`"))),
        };
        if let Some(b) = b {
            match &buffer {
                Some((prev, pb)) if *pb != b => {
                    return Err(RuleError::conflict(
                        at + here,
                        format!("pcre modifiers `{prev}` and `{c}` select different buffers"),
                    ));
                }
                _ => buffer = Some((c, b)),
            }
        }
    }
    if flags.rawbytes && buffer.is_some() {
        return Err(RuleError::conflict(
            at + body_off + last + 1,
            "pcre modifier `B` (raw bytes) cannot be combined with an HTTP buffer modifier",
        ));
    }
    let mut pcre = Pcre {
        pattern: pattern.to_string(),
        negated,
        flags,
        engine: RegexEngine::Regex,
    };
    pcre.engine = check(&pcre).map_err(|m| {
        RuleError::new(
            ErrorKind::PcreUnsupported,
            at + body_off + slash + 1,
            format!("pcre `/{pattern}/{letters}` does not compile: {m}"),
        )
    })?;
    Ok((pcre, buffer.map(|(_, b)| b)))
}

/// Checks the translation with the `regex` crate's parser, else compiles it with
/// `fancy-regex`; the error of the latter when neither accepts it.
fn check(p: &Pcre) -> Result<RegexEngine, String> {
    let rust = p.rust_pattern();
    if !p.has_possessive() {
        let plain = regex_syntax::ParserBuilder::new()
            .unicode(false)
            .utf8(false)
            .build()
            .parse(&rust);
        if plain.is_ok() {
            return Ok(RegexEngine::Regex);
        }
    }
    match fancy_regex::RegexBuilder::new(&rust)
        .delegate_size_limit(MAX_REGEX_SIZE)
        .build()
    {
        Ok(_) => Ok(RegexEngine::Fancy),
        Err(e) => {
            // Both crates' messages may span lines (pattern, caret, error): keep the last.
            let m = e.to_string();
            Err(m
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("error")
                .trim()
                .trim_start_matches("error: ")
                .to_string())
        }
    }
}

impl Pcre {
    /// The regex in the syntax of the `regex` and `fancy-regex` crates, with the `i`, `s`,
    /// `m`, `x` and `G` flags inline. See the module documentation for what is translated.
    pub fn rust_pattern(&self) -> String {
        let f = &self.flags;
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
        let (body, _) = translate(&self.pattern, f.extended);
        if inline.is_empty() {
            body
        } else {
            format!("(?{inline}){body}")
        }
    }

    /// Whether the pattern has possessive quantifiers (`a++`, `a*+`, `a{2,}+`), which the
    /// `regex` crate would read as nested repetitions: only `fancy-regex` keeps their meaning.
    pub fn has_possessive(&self) -> bool {
        translate(&self.pattern, self.flags.extended).1
    }
}

/// A byte (or, above 0xFF, a code point) as an escape: `\xHH` is a byte for `regex::bytes`
/// with Unicode off, where `\x{HH}` would be a code point.
fn push_byte(out: &mut String, b: u32) {
    if b <= 0xFF {
        out.push_str(&format!("\\x{b:02X}"));
    } else {
        out.push_str(&format!("\\x{{{b:X}}}"));
    }
}

/// Translates PCRE syntax to Rust regex syntax (see the module documentation); also says
/// whether a possessive quantifier was seen.
fn translate(p: &str, extended: bool) -> (String, bool) {
    let chars: Vec<char> = p.chars().collect();
    let mut out = String::with_capacity(p.len() + 16);
    let mut i = 0;
    let mut in_class = false;
    let mut possessive = false;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            i = escape(&chars, i + 1, in_class, &mut out);
            continue;
        }
        if in_class {
            match c {
                ']' => {
                    in_class = false;
                    out.push(']');
                }
                '[' => {
                    if chars.get(i + 1) == Some(&':') {
                        // POSIX class `[:alpha:]`: copy through `:]`.
                        let mut j = i + 2;
                        while j + 1 < chars.len() && !(chars[j] == ':' && chars[j + 1] == ']') {
                            j += 1;
                        }
                        let end = (j + 2).min(chars.len());
                        out.extend(&chars[i..end]);
                        i = end;
                        continue;
                    }
                    out.push_str("\\[");
                }
                '&' | '~' => {
                    out.push('\\');
                    out.push(c);
                }
                '-' if chars.get(i + 1) == Some(&'-') => out.push_str("\\-"),
                c if extended && (c.is_whitespace() || c == '#') => push_byte(&mut out, c as u32),
                c => out.push(c),
            }
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
                // A `]` first in a class is a literal.
                if chars.get(i) == Some(&']') {
                    out.push_str("\\]");
                    i += 1;
                }
                continue;
            }
            '{' => {
                if let Some(len) = quantifier_len(&chars[i..]) {
                    out.extend(&chars[i..i + len]);
                    i += len;
                    possessive |= chars.get(i) == Some(&'+');
                    continue;
                }
                out.push_str("\\{");
            }
            '}' => out.push_str("\\}"),
            '(' if chars.get(i + 1) == Some(&'?') && chars.get(i + 2) == Some(&'#') => {
                // Comment group: dropped.
                while i < chars.len() && chars[i] != ')' {
                    i += 1;
                }
            }
            '(' if chars.get(i + 1) == Some(&'?') => {
                // A group's `?` is not a quantifier.
                out.push_str("(?");
                i += 1;
            }
            '*' | '+' | '?' => {
                out.push(c);
                possessive |= chars.get(i + 1) == Some(&'+');
                if chars.get(i + 1) == Some(&'+') {
                    out.push('+');
                    i += 1;
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    (out, possessive)
}

/// Length of a `{n}`, `{n,}` or `{n,m}` quantifier at the start of `s`.
fn quantifier_len(s: &[char]) -> Option<usize> {
    let mut i = 1;
    let digits = |i: &mut usize| {
        let start = *i;
        while s.get(*i).is_some_and(|c| c.is_ascii_digit()) {
            *i += 1;
        }
        *i > start
    };
    if !digits(&mut i) {
        return None;
    }
    if s.get(i) == Some(&',') {
        i += 1;
        digits(&mut i);
    }
    (s.get(i) == Some(&'}')).then_some(i + 1)
}

/// Translates the escape whose letter is at `chars[i]`; returns the index after it.
fn escape(chars: &[char], i: usize, in_class: bool, out: &mut String) -> usize {
    let Some(&c) = chars.get(i) else {
        // A trailing backslash: left for the regex crates to reject.
        out.push('\\');
        return i;
    };
    let hex_digits = |from: usize, max: usize| {
        let mut j = from;
        while j < chars.len() && j - from < max && chars[j].is_ascii_hexdigit() {
            j += 1;
        }
        j
    };
    match c {
        'x' => {
            if chars.get(i + 1) == Some(&'{') {
                // `\x{…}`: chars[i + 1] is `{`.
                let Some(p) = chars[i + 1..].iter().position(|&c| c == '}') else {
                    // Unterminated: left for the regex crates to reject.
                    out.push('\\');
                    out.extend(&chars[i..]);
                    return chars.len();
                };
                let close = i + 1 + p;
                let digits: String = chars[i + 2..close].iter().collect();
                match u32::from_str_radix(digits.trim(), 16) {
                    Ok(v) => push_byte(out, v),
                    Err(_) => {
                        out.push('\\');
                        out.extend(&chars[i..=close]);
                    }
                }
                return close + 1;
            }
            let end = hex_digits(i + 1, 2);
            let digits: String = chars[i + 1..end].iter().collect();
            push_byte(out, u32::from_str_radix(&digits, 16).unwrap_or(0));
            end
        }
        '0' => {
            let mut j = i + 1;
            while j < chars.len() && j - i < 3 && ('0'..='7').contains(&chars[j]) {
                j += 1;
            }
            let digits: String = chars[i..j].iter().collect();
            push_byte(out, u32::from_str_radix(&digits, 8).unwrap_or(0));
            j
        }
        '1'..='9' if in_class => {
            // Octal inside a class (PCRE); a non-octal digit is itself.
            let mut j = i;
            while j < chars.len() && j - i < 3 && ('0'..='7').contains(&chars[j]) {
                j += 1;
            }
            if j == i {
                out.push(c);
                return i + 1;
            }
            let digits: String = chars[i..j].iter().collect();
            push_byte(out, u32::from_str_radix(&digits, 8).unwrap_or(0));
            j
        }
        // PCRE without UTF: the classes are ASCII (and so the Unicode-aware fancy-regex
        // keeps PCRE's meaning, and small automata).
        'w' | 'd' | 's' => {
            let set = match c {
                'w' => "0-9A-Za-z_",
                'd' => "0-9",
                _ => r"\t\n\x0B\x0C\r\x20",
            };
            if in_class {
                out.push_str(set);
            } else {
                out.push('[');
                out.push_str(set);
                out.push(']');
            }
            i + 1
        }
        'W' | 'D' | 'S' if !in_class => {
            let set = match c {
                'W' => "0-9A-Za-z_",
                'D' => "0-9",
                _ => r"\t\n\x0B\x0C\r\x20",
            };
            out.push_str("[^");
            out.push_str(set);
            out.push(']');
            i + 1
        }
        'g' => {
            // `\g{N}`, `\gN`: backreference by number; `\g{name}`: by name.
            let (name, end) = match chars.get(i + 1) {
                Some('{') => {
                    let close = chars[i + 1..]
                        .iter()
                        .position(|&c| c == '}')
                        .map_or(chars.len(), |p| i + 1 + p);
                    (
                        chars[(i + 2).min(close)..close].iter().collect::<String>(),
                        close + 1,
                    )
                }
                _ => {
                    let mut j = i + 1;
                    while chars.get(j).is_some_and(|c| c.is_ascii_digit()) {
                        j += 1;
                    }
                    (chars[i + 1..j].iter().collect(), j)
                }
            };
            if !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()) {
                out.push('\\');
                out.push_str(&name);
            } else if !name.is_empty() && !name.starts_with('-') {
                out.push_str(&format!("\\k<{name}>"));
            } else {
                out.push_str("\\g");
                return i + 1;
            }
            end.min(chars.len())
        }
        'k' if matches!(chars.get(i + 1), Some('{') | Some('\'')) => {
            // `\k{name}`, `\k'name'` → `\k<name>`.
            let close_char = if chars[i + 1] == '{' { '}' } else { '\'' };
            let close = chars[i + 2..]
                .iter()
                .position(|&c| c == close_char)
                .map_or(chars.len(), |p| i + 2 + p);
            let name: String = chars[i + 2..close].iter().collect();
            out.push_str(&format!("\\k<{name}>"));
            (close + 1).min(chars.len())
        }
        'h' => {
            out.push_str(if in_class {
                r"\t\x20\xA0"
            } else {
                r"[\t\x20\xA0]"
            });
            i + 1
        }
        'H' if !in_class => {
            out.push_str(r"[^\t\x20\xA0]");
            i + 1
        }
        'v' => {
            out.push_str(if in_class {
                r"\n\x0B\x0C\r\x85"
            } else {
                r"[\n\x0B\x0C\r\x85]"
            });
            i + 1
        }
        'V' if !in_class => {
            out.push_str(r"[^\n\x0B\x0C\r\x85]");
            i + 1
        }
        'R' if !in_class => {
            out.push_str(r"(?:\r\n|[\n\x0B\x0C\r\x85])");
            i + 1
        }
        'Z' if !in_class => {
            out.push_str(r"(?:\n?\z)");
            i + 1
        }
        'b' if in_class => {
            push_byte(out, 0x08);
            i + 1
        }
        'e' => {
            push_byte(out, 0x1B);
            i + 1
        }
        'a' => {
            push_byte(out, 0x07);
            i + 1
        }
        'c' => match chars.get(i + 1) {
            Some(&x) if x.is_ascii() => {
                push_byte(out, (x.to_ascii_uppercase() as u32) ^ 0x40);
                i + 2
            }
            _ => {
                out.push_str("\\c");
                i + 1
            }
        },
        'Q' => {
            // Literal until `\E`.
            let mut j = i + 1;
            while j < chars.len() {
                if chars[j] == '\\' && chars.get(j + 1) == Some(&'E') {
                    return j + 2;
                }
                let q = chars[j];
                if q.is_ascii_alphanumeric() || !q.is_ascii() {
                    out.push(q);
                } else {
                    push_byte(out, q as u32);
                }
                j += 1;
            }
            j
        }
        'E' => i + 1,
        c if c.is_ascii() && !c.is_ascii_alphanumeric() => {
            push_byte(out, c as u32);
            i + 1
        }
        c => {
            out.push('\\');
            out.push(c);
            i + 1
        }
    }
}
