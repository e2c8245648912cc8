//! The request URI as Suricata's `http.uri` buffer has it: normalised the way libhtp's `IDS`
//! personality (Suricata's default) does, with Suricata's own settings on top.
//!
//! * Only the path, query and fragment are kept: the scheme, user info, host and port of an
//!   absolute URI are dropped (Suricata's `uri-include-all: no`).
//! * The path: `%XX` and `%uXXXX` are decoded; an invalid escape keeps its `%`
//!   (`preserve_percent`); `\` becomes `/` (`path-convert-backslash-separators`), so do
//!   `%2f` and `%5c` (`path-separators-decode`); runs of `/` become one
//!   (`path-separators-compress`); UTF-8 characters become one byte each by best fit
//!   (`path-utf8-convert-bestfit`); `.` and `..` segments are removed (RFC 3986 §5.2.4).
//!   Case is kept: Suricata turns the personality's lowercasing off.
//! * The query (and fragment): `%XX` decoded once, invalid escapes kept, `+` left alone
//!   (Suricata sets `query-plusspace-decode` off).
//!
//! Example: `/a/./b/../%63%5c%2F/caf%C3%A9?q=%41+b` → `/a/c/caf\xe9?q=A+b`.
//!
//! Best fit covers code points below 256 and the full-width forms of ASCII (U+FF01–U+FF5E);
//! other characters become `?`, where libhtp's table maps a few hundred more (accented
//! Latin letters to their base letter) — a rule about those sees `?` here.

/// Decodes two hex digits at `at`.
fn hex2(s: &[u8], at: usize) -> Option<u8> {
    let h = s.get(at..at.checked_add(2)?)?;
    let d = |b: u8| char::from(b).to_digit(16);
    Some((d(h[0])? * 16 + d(h[1])?) as u8)
}

/// The byte a `%uHHLL` escape stands for: `LL` when `HH` is 0, the ASCII character for a
/// full-width form (`%uff0e` is `.`), else `?`.
fn u_escape(s: &[u8], at: usize) -> Option<u8> {
    let hi = hex2(s, at)?;
    let lo = hex2(s, at + 2)?;
    Some(best_fit(u32::from(hi) << 8 | u32::from(lo)))
}

/// One byte for a Unicode code point (see the module doc).
fn best_fit(cp: u32) -> u8 {
    match cp {
        0..=0xff => cp as u8,
        0xff01..=0xff5e => (cp - 0xfee0) as u8,
        _ => b'?',
    }
}

/// `%XX`-decodes `s` (query and fragment); invalid escapes are kept as they are.
pub(super) fn urldecode(s: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        if c == b'%' {
            if let Some(v) = hex2(s, i + 1) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
}

/// Decodes the path's escapes and separators (the first steps of the module doc).
fn decode_path(path: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(path.len());
    let mut i = 0;
    while let Some(&raw) = path.get(i) {
        let mut c = raw;
        i += 1;
        if raw == b'%' {
            if let Some(v) = hex2(path, i) {
                c = v;
                i += 2;
            } else if matches!(path.get(i), Some(b'u' | b'U')) {
                if let Some(v) = u_escape(path, i + 1) {
                    c = v;
                    i += 5;
                }
            }
        }
        if c == b'\\' {
            c = b'/';
        }
        if c == b'/' && out.last() == Some(&b'/') {
            continue;
        }
        out.push(c);
    }
    out
}

/// Replaces each UTF-8 encoded character of `s` by one byte (best fit); bytes that are not
/// valid UTF-8 stay as they are.
fn utf8_best_fit(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        let len = match b {
            0xc2..=0xdf => 2,
            0xe0..=0xef => 3,
            0xf0..=0xf4 => 4,
            _ => 1,
        };
        let ch = (len > 1)
            .then(|| s.get(i..i + len))
            .flatten()
            .and_then(|seq| std::str::from_utf8(seq).ok())
            .and_then(|st| st.chars().next());
        match ch {
            Some(ch) => {
                out.push(best_fit(u32::from(ch)));
                i += len;
            }
            None => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// RFC 3986 §5.2.4 `remove_dot_segments`, in one pass.
fn remove_dot_segments(input: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::with_capacity(input.len());
    let pop_segment = |out: &mut Vec<u8>| {
        let cut = memchr::memrchr(b'/', out).unwrap_or(0);
        out.truncate(cut);
    };
    let mut i = 0;
    // Where the input ends: moved back when "/." or "/.." at the end becomes "/".
    let mut end = input.len();
    while i < end {
        let rest = &input[i..end];
        if rest.starts_with(b"../") {
            i += 3;
        } else if rest.starts_with(b"./") || rest.starts_with(b"/./") {
            // "./x" → "x"; "/./x" → "/x".
            i += 2;
        } else if rest == b"/." {
            end = i + 1;
        } else if rest.starts_with(b"/../") {
            i += 3;
            pop_segment(&mut out);
        } else if rest == b"/.." {
            end = i + 1;
            pop_segment(&mut out);
        } else if rest == b"." || rest == b".." {
            i = end;
        } else {
            let from = usize::from(rest.first() == Some(&b'/'));
            let seg = rest[from..]
                .iter()
                .position(|&b| b == b'/')
                .map_or(rest.len(), |p| p + from);
            out.extend_from_slice(&rest[..seg]);
            i += seg;
        }
    }
    out
}

/// The part of a request URI after its scheme and authority (`http://h:80/p?q` → `/p?q`);
/// a URI in origin form (`/p?q`) as it is.
pub(super) fn after_authority(uri: &[u8]) -> &[u8] {
    match absolute_authority(uri) {
        Some((_, rest)) => rest,
        None => uri,
    }
}

/// The authority of an absolute URI (`http://user@h:80/p` → `user@h:80`) and what follows it.
pub(super) fn absolute_authority(uri: &[u8]) -> Option<(&[u8], &[u8])> {
    if uri.first() == Some(&b'/') {
        return None;
    }
    let colon = memchr::memchr(b':', uri)?;
    let scheme = &uri[..colon];
    let scheme_ok = scheme.first().is_some_and(u8::is_ascii_alphabetic)
        && scheme
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    let after = uri[colon + 1..].strip_prefix(b"//")?;
    if !scheme_ok {
        return None;
    }
    let end = after
        .iter()
        .position(|&b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(after.len());
    Some((&after[..end], &after[end..]))
}

/// The normalised `http.uri` of a raw request URI (see the module doc).
pub(super) fn normalize(raw: &[u8]) -> Vec<u8> {
    let rest = after_authority(raw);
    let path_end = rest
        .iter()
        .position(|&b| b == b'?' || b == b'#')
        .unwrap_or(rest.len());
    let (path, tail) = rest.split_at(path_end);
    let mut out = remove_dot_segments(&utf8_best_fit(&decode_path(path)));
    let (query, fragment) = match tail.first() {
        Some(b'?') => {
            let q = &tail[1..];
            match memchr::memchr(b'#', q) {
                Some(h) => (Some(&q[..h]), Some(&q[h + 1..])),
                None => (Some(q), None),
            }
        }
        Some(_) => (None, Some(&tail[1..])),
        None => (None, None),
    };
    if let Some(q) = query {
        out.push(b'?');
        urldecode(q, &mut out);
    }
    if let Some(f) = fragment {
        out.push(b'#');
        urldecode(f, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &[u8]) -> Vec<u8> {
        normalize(s)
    }

    #[test]
    fn decodes_path_and_query_once() {
        // Suricata's HTPParserTest11 / HTPParserTest12: double encoding decoded once.
        assert_eq!(n(b"/%2500"), b"/%00");
        assert_eq!(n(b"/?a=%2500"), b"/?a=%00");
        assert_eq!(n(b"/index.html?q=1"), b"/index.html?q=1");
        assert_eq!(n(b"/a%20b?c=d%20e+f"), b"/a b?c=d e+f");
    }

    #[test]
    fn separators_dots_and_backslashes() {
        assert_eq!(n(b"/a//b\\c%2fd%5Ce"), b"/a/b/c/d/e");
        assert_eq!(n(b"/a/./b/../c"), b"/a/c");
        assert_eq!(n(b"/../../etc/passwd"), b"/etc/passwd");
        assert_eq!(n(b"/a/b/.."), b"/a/");
        assert_eq!(n(b"/a/."), b"/a/");
        assert_eq!(n(b"/a/%2e%2e/b"), b"/b");
    }

    #[test]
    fn invalid_escapes_are_kept() {
        assert_eq!(n(b"/%zz%4"), b"/%zz%4");
        assert_eq!(n(b"/%u00"), b"/%u00");
        assert_eq!(n(b"/?x=%g1%"), b"/?x=%g1%");
    }

    #[test]
    fn unicode_to_one_byte() {
        assert_eq!(n(b"/%u0041%uFF0E%u4e2d"), b"/A.?");
        assert_eq!(n(b"/caf%C3%A9"), b"/caf\xe9");
        assert_eq!(n("/\u{ff21}\u{4e2d}".as_bytes()), b"/A?");
        // Not UTF-8: left alone.
        assert_eq!(n(b"/\xc3\x28\xff"), b"/\xc3\x28\xff");
    }

    #[test]
    fn absolute_uri_keeps_path_query_fragment() {
        assert_eq!(n(b"http://user@Example.com:8080/x%41?y#z%41"), b"/xA?y#zA");
        assert_eq!(n(b"http://example.com"), b"");
        assert_eq!(
            absolute_authority(b"http://h:1/p"),
            Some((&b"h:1"[..], &b"/p"[..]))
        );
        assert_eq!(absolute_authority(b"/p"), None);
        assert_eq!(absolute_authority(b"h:1"), None);
    }

    #[test]
    fn keeps_spaces_and_case() {
        assert_eq!(n(b"/uri afterspace"), b"/uri afterspace");
        assert_eq!(n(b"/Index.HTML"), b"/Index.HTML");
    }
}
