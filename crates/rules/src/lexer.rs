//! Cuts rule text into header tokens and `name[:value];` options, keeping byte offsets for
//! error messages.
//!
//! Option values end at the first `;` that is not escaped (`\;`); a backslash escapes the
//! character after it. Quotes do not protect a `;` (as in Suricata: a pcre may hold an
//! unescaped `"`, a msg may not hold an unescaped `;`). The last option may omit its `;`.

use crate::error::RuleError;

/// Longest rule text accepted (Suricata's own line buffer is 64 KiB too).
pub const MAX_RULE_LEN: usize = 64 * 1024;

/// One header token and its offset.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Token<'a> {
    pub text: &'a str,
    pub at: usize,
}

/// One option.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawOption<'a> {
    /// Keyword, trimmed.
    pub name: &'a str,
    pub name_at: usize,
    /// Value after `:`, trimmed; `None` when there is no `:`.
    pub value: Option<&'a str>,
    pub value_at: usize,
}

/// Splits a rule into its header tokens and its options.
pub(crate) fn split(text: &str) -> Result<(Vec<Token<'_>>, Vec<RawOption<'_>>), RuleError> {
    if text.len() > MAX_RULE_LEN {
        return Err(RuleError::syntax(
            0,
            format!("rule is longer than {MAX_RULE_LEN} bytes"),
        ));
    }
    let open = text.find('(').ok_or_else(|| {
        RuleError::syntax(
            text.len(),
            "missing `(`: a rule is `action proto src sport -> dst dport (options)`",
        )
    })?;
    let close = text.rfind(')').filter(|&c| c > open).ok_or_else(|| {
        RuleError::syntax(text.len(), "missing `)` at the end of the rule options")
    })?;
    let after = &text[close + 1..];
    if !after.trim().is_empty() {
        let lead = after.len() - after.trim_start().len();
        return Err(RuleError::syntax(
            close + 1 + lead,
            format!("unexpected text after the options: `{}`", after.trim()),
        ));
    }
    let header = header_tokens(&text[..open])?;
    let options = options(&text[open + 1..close], open + 1)?;
    Ok((header, options))
}

/// Whitespace-separated tokens; whitespace inside `[…]` does not separate.
fn header_tokens(h: &str) -> Result<Vec<Token<'_>>, RuleError> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut start: Option<usize> = None;
    for (i, c) in h.char_indices() {
        match c {
            '[' => {
                depth += 1;
                start.get_or_insert(i);
            }
            ']' => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| RuleError::syntax(i, "`]` without `[` in the header"))?;
                start.get_or_insert(i);
            }
            c if c.is_whitespace() && depth == 0 => {
                if let Some(s) = start.take() {
                    out.push(Token {
                        text: &h[s..i],
                        at: s,
                    });
                }
            }
            _ => {
                start.get_or_insert(i);
            }
        }
    }
    if depth != 0 {
        return Err(RuleError::syntax(h.len(), "unclosed `[` in the header"));
    }
    if let Some(s) = start {
        out.push(Token {
            text: &h[s..],
            at: s,
        });
    }
    Ok(out)
}

fn is_keyword_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// The options between the parentheses; `base` is the body's offset in the rule.
fn options(body: &str, base: usize) -> Result<Vec<RawOption<'_>>, RuleError> {
    let bytes = body.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= bytes.len() {
            break;
        }
        let name_start = i;
        while i < bytes.len() && bytes[i] != b':' && bytes[i] != b';' {
            i += 1;
        }
        let raw_name = &body[name_start..i];
        let name = raw_name.trim_end();
        if name.is_empty() {
            return Err(RuleError::syntax(
                base + name_start,
                "empty option (a stray `;` or `:`)",
            ));
        }
        if let Some((bad, c)) = name.char_indices().find(|&(_, c)| !is_keyword_char(c)) {
            let msg = if c.is_whitespace() {
                format!("missing `;` after `{}`", &name[..bad])
            } else {
                format!("invalid character `{c}` in keyword `{name}`")
            };
            return Err(RuleError::syntax(base + name_start + bad, msg));
        }
        if i >= bytes.len() || bytes[i] == b';' {
            // No value.
            out.push(RawOption {
                name,
                name_at: base + name_start,
                value: None,
                value_at: base + i,
            });
            i += 1;
            continue;
        }
        // bytes[i] == ':'
        i += 1;
        let value_start = i;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 1,
                b';' => break,
                _ => {}
            }
            i += 1;
        }
        let end = i.min(bytes.len());
        let raw = &body[value_start..end];
        let lead = raw.len() - raw.trim_start().len();
        out.push(RawOption {
            name,
            name_at: base + name_start,
            value: Some(raw.trim()),
            value_at: base + value_start + lead,
        });
        i = end + 1;
    }
    Ok(out)
}

/// Index of the closing unescaped `"` of a value starting with `"`.
pub(crate) fn closing_quote(v: &str) -> Option<usize> {
    let b = v.as_bytes();
    let mut i = 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'"' => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

/// A quoted string value (`"…"`, unescaped) or, unquoted, the value itself. `kw` and `at`
/// are for errors.
pub(crate) fn string_value(kw: &str, v: &str, at: usize) -> Result<String, RuleError> {
    if !v.starts_with('"') {
        return Ok(unquote(v));
    }
    let close = closing_quote(v)
        .ok_or_else(|| RuleError::value(kw, at, format!("unterminated quoted `{kw}`")))?;
    let rest = v[close + 1..].trim();
    if !rest.is_empty() {
        return Err(RuleError::value(
            kw,
            at + close + 1,
            format!("unexpected `{rest}` after the closing quote of `{kw}` (a missing `;`?)"),
        ));
    }
    Ok(unquote(&v[..=close]))
}

/// Removes the rule-level escapes of a quoted value (`\"`, `\;`, `\\`, `\:`, and any other
/// `\c` as `c`), dropping the surrounding quotes if both are there.
pub(crate) fn unquote(v: &str) -> String {
    let inner = v
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(v);
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            } else {
                out.push('\\');
            }
        } else {
            out.push(c);
        }
    }
    out
}
