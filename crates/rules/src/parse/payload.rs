//! Payload keywords: content and its modifiers, pcre, isdataat, byte_test, byte_jump,
//! byte_extract, bsize, base64_decode.

use super::values::{comma_parts, int, int_cmp, num, Bounded};
use super::{need_value, no_value, State};
use crate::ast::{
    Base64Decode, Buffer, ByteExtract, ByteJump, ByteOp, ByteTest, Content, Endian, FastPattern,
    IsDataAt, JumpFrom, NumBase, Test, Value,
};
use crate::error::{ErrorKind, RuleError};
use crate::lexer::RawOption;
use crate::pcre;

/// Longest content pattern (Suricata's limit is the 64 KiB rule; patterns this long would
/// only slow the prefilter).
pub const MAX_CONTENT_LEN: usize = 16 * 1024;
/// Most bytes byte_test/byte_jump/byte_extract read as a binary number.
pub const MAX_BYTES_BINARY: u8 = 8;
/// Most bytes they read as a number written in text (`string`): 23 octal digits hold a u64.
pub const MAX_BYTES_STRING: u8 = 23;

/// Handles the payload keywords; `Ok(false)` when `name` is not one.
pub(crate) fn option(st: &mut State, name: &str, o: &RawOption<'_>) -> Result<bool, RuleError> {
    match name {
        "content" => content(st, need_value(o)?, o.value_at, false)?,
        "uricontent" => content(st, need_value(o)?, o.value_at, true)?,
        "nocase" | "rawbytes" | "startswith" | "endswith" => {
            no_value(o)?;
            flag_modifier(st, name, o)?;
        }
        "depth" | "offset" | "distance" | "within" => position_modifier(st, name, o)?,
        "fast_pattern" => fast_pattern(st, o)?,
        "pcre" => {
            let (p, buf) = pcre::parse(need_value(o)?, o.value_at)?;
            let buffer = match (buf, &st.sticky) {
                // `Q` (response body) under `file_data` is the same buffer for HTTP.
                (Some(b), Some(s))
                    if b == *s || (b == Buffer::HttpResponseBody && *s == Buffer::FileData) =>
                {
                    s.clone()
                }
                (Some(b), Some(s)) => {
                    return Err(RuleError::conflict(
                        o.value_at,
                        format!(
                            "pcre selects `{b}` with a modifier letter while the sticky buffer `{s}` is in force"
                        ),
                    ))
                }
                (Some(b), None) => b,
                (None, Some(s)) => s.clone(),
                (None, None) => Buffer::Packet,
            };
            if p.flags.relative && st.sticky.is_none() && st.last_payload.is_none() {
                return Err(RuleError::syntax(
                    o.value_at,
                    "pcre with `R` (relative) needs a content or pcre before it",
                ));
            }
            st.push_match(buffer, Test::Pcre(p));
        }
        "isdataat" => isdataat(st, o)?,
        "byte_test" => byte_test(st, o)?,
        "byte_jump" => byte_jump(st, o)?,
        "byte_extract" => byte_extract(st, o)?,
        "bsize" => {
            let cmp = int_cmp::<u64>(name, need_value(o)?, o.value_at)?;
            let buffer = st.payload_buffer(true);
            if buffer == Buffer::Packet {
                return Err(RuleError::conflict(
                    o.name_at,
                    "`bsize` needs a sticky buffer (or a content in an HTTP buffer) before it",
                ));
            }
            st.push_match(buffer, Test::Bsize(cmp));
        }
        "base64_decode" => base64_decode(st, o)?,
        _ => return Ok(false),
    }
    Ok(true)
}

/// Checks done once every option is read.
pub(crate) fn finish(st: &mut State) -> Result<(), RuleError> {
    let at = st.fast_pattern_at.unwrap_or(0);
    for m in &st.rule.matches {
        let Test::Content(c) = &m.test else { continue };
        let positional =
            c.offset.is_some() || c.depth.is_some() || c.distance.is_some() || c.within.is_some();
        match c.fast_pattern {
            Some(FastPattern::Only) if positional || c.negated => {
                return Err(RuleError::conflict(
                    at,
                    "`fast_pattern:only` cannot be used on a negated content or with offset, depth, distance or within",
                ));
            }
            Some(_) if positional && c.negated => {
                return Err(RuleError::conflict(
                    at,
                    "`fast_pattern` cannot be used on a negated content with offset, depth, distance or within",
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// `content` (and `uricontent`, a content in the normalised URI).
pub(crate) fn content(st: &mut State, value: &str, at: usize, uri: bool) -> Result<(), RuleError> {
    let kw = if uri { "uricontent" } else { "content" };
    let (pattern, negated) = parse_pattern(kw, value, at)?;
    let buffer = if uri {
        if let Some(s) = &st.sticky {
            return Err(RuleError::conflict(
                at,
                format!("`uricontent` cannot be used while the sticky buffer `{s}` is in force"),
            ));
        }
        Buffer::HttpUri
    } else {
        st.sticky.clone().unwrap_or(Buffer::Packet)
    };
    let idx = st.push_match(
        buffer,
        Test::Content(Content {
            pattern,
            negated,
            ..Content::default()
        }),
    );
    st.last_content = Some(idx);
    Ok(())
}

/// The bytes of a content value: `[!]"text|41 42|text"` with `\"`, `\;`, `\:`, `\\`.
pub(crate) fn parse_pattern(
    kw: &str,
    value: &str,
    at: usize,
) -> Result<(Vec<u8>, bool), RuleError> {
    let bad = |off: usize, m: String| RuleError::value(kw, at + off, m);
    let mut v = value;
    let mut off = 0;
    let mut negated = false;
    if let Some(rest) = v.strip_prefix('!') {
        negated = true;
        let t = rest.trim_start();
        off += 1 + rest.len() - t.len();
        v = t;
    }
    let inner = if v.starts_with('"') {
        let close = crate::lexer::closing_quote(v)
            .ok_or_else(|| bad(off, format!("unterminated quoted {kw}")))?;
        let rest = v[close + 1..].trim();
        if !rest.is_empty() {
            return Err(bad(
                off + close + 1,
                format!("unexpected `{rest}` after the closing quote of {kw} (a missing `;`?)"),
            ));
        }
        off += 1;
        &v[1..close]
    } else {
        v
    };
    let bytes = inner.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut hex = false;
    let mut hex_start = 0;
    let mut nibble: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if hex {
            match b {
                b'|' => {
                    if nibble.is_some() {
                        return Err(bad(off + i, format!("odd number of hex digits in {kw}")));
                    }
                    hex = false;
                }
                b' ' | b'\t' => {}
                b if b.is_ascii_hexdigit() => {
                    let d = (b as char).to_digit(16).unwrap_or(0) as u8;
                    match nibble.take() {
                        Some(h) => out.push(h << 4 | d),
                        None => nibble = Some(d),
                    }
                }
                _ => {
                    return Err(bad(
                        off + i,
                        format!(
                            "invalid hex digit `{}` in {kw}",
                            inner[i..].chars().next().unwrap_or('?')
                        ),
                    ))
                }
            }
            i += 1;
            continue;
        }
        match b {
            b'\\' => {
                match bytes.get(i + 1) {
                    Some(&e @ (b'\\' | b'"' | b';' | b':')) => out.push(e),
                    Some(_) => {
                        return Err(bad(
                            off + i,
                            format!(
                                "invalid escape `\\{}` in {kw} (only \\\\ \\\" \\; \\: are escapes; write other bytes as |hex|)",
                                inner[i + 1..].chars().next().unwrap_or('?')
                            ),
                        ))
                    }
                    None => return Err(bad(off + i, format!("{kw} ends with a lone `\\`"))),
                }
                i += 2;
                continue;
            }
            b'"' => {
                return Err(bad(
                    off + i,
                    format!("unescaped `\"` inside {kw} (write \\\" or |22|)"),
                ))
            }
            b'|' => {
                hex = true;
                hex_start = i;
            }
            b => out.push(b),
        }
        i += 1;
    }
    if hex {
        return Err(bad(off + hex_start, format!("unclosed `|` in {kw}")));
    }
    if out.is_empty() {
        return Err(bad(off, format!("empty {kw}")));
    }
    if out.len() > MAX_CONTENT_LEN {
        return Err(bad(
            off,
            format!("{kw} is longer than {MAX_CONTENT_LEN} bytes"),
        ));
    }
    Ok((out, negated))
}

fn last_content<'a>(st: &'a mut State, o: &RawOption<'_>) -> Result<&'a mut Content, RuleError> {
    let idx = st.last_content.ok_or_else(|| {
        RuleError::syntax(
            o.name_at,
            format!(
                "`{}` needs a content before it (in the same buffer)",
                o.name
            ),
        )
    })?;
    match st.rule.matches.get_mut(idx).map(|m| &mut m.test) {
        Some(Test::Content(c)) => Ok(c),
        _ => Err(RuleError::syntax(
            o.name_at,
            format!("`{}` needs a content before it", o.name),
        )),
    }
}

fn twice(o: &RawOption<'_>) -> RuleError {
    RuleError::conflict(
        o.name_at,
        format!("`{}` is given twice for the same content", o.name),
    )
}

fn flag_modifier(st: &mut State, name: &str, o: &RawOption<'_>) -> Result<(), RuleError> {
    let c = last_content(st, o)?;
    let flag = match name {
        "nocase" => &mut c.nocase,
        "rawbytes" => &mut c.rawbytes,
        "startswith" => {
            if c.offset.is_some() || c.depth.is_some() || c.distance.is_some() || c.within.is_some()
            {
                return Err(RuleError::conflict(
                    o.name_at,
                    "`startswith` cannot be combined with offset, depth, distance or within",
                ));
            }
            &mut c.startswith
        }
        _ => &mut c.endswith,
    };
    if *flag && name != "rawbytes" {
        return Err(twice(o));
    }
    *flag = true;
    Ok(())
}

/// A number or a byte_extract variable.
fn byte_value<T>(st: &State, kw: &str, s: &str, at: usize) -> Result<Value<T>, RuleError>
where
    T: TryFrom<i128> + Bounded,
{
    let s = s.trim();
    if int(s).is_some() {
        return Ok(Value::Lit(num(kw, s, at)?));
    }
    if is_identifier(s) {
        if st.byte_vars.iter().any(|v| v == s) {
            return Ok(Value::Var(s.to_string()));
        }
        return Err(RuleError::new(
            ErrorKind::UnknownByteVariable(s.to_string()),
            at,
            format!("`{kw}` uses `{s}`, which no byte_extract before it defines"),
        ));
    }
    Err(RuleError::value(
        kw,
        at,
        format!("`{kw}` expects a number or a byte_extract variable, found `{s}`"),
    ))
}

fn is_identifier(s: &str) -> bool {
    s.bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn position_modifier(st: &mut State, name: &str, o: &RawOption<'_>) -> Result<(), RuleError> {
    let v = need_value(o)?;
    let at = o.value_at;
    let (offset, depth, distance, within) = match name {
        "offset" => (Some(byte_value::<u32>(st, name, v, at)?), None, None, None),
        "depth" => (None, Some(byte_value::<u32>(st, name, v, at)?), None, None),
        "distance" => (None, None, Some(byte_value::<i32>(st, name, v, at)?), None),
        _ => (None, None, None, Some(byte_value::<i32>(st, name, v, at)?)),
    };
    let c = last_content(st, o)?;
    let len = c.pattern.len();
    if c.startswith {
        return Err(RuleError::conflict(
            o.name_at,
            format!("`{name}` cannot be combined with `startswith`"),
        ));
    }
    let absolute = offset.is_some() || depth.is_some();
    if absolute && c.is_relative() || !absolute && (c.offset.is_some() || c.depth.is_some()) {
        return Err(RuleError::conflict(
            o.name_at,
            format!(
                "`{name}` mixes relative (distance, within) and absolute (offset, depth) positions on the same content"
            ),
        ));
    }
    if let Some(Value::Lit(d)) = &depth {
        if (*d as usize) < len {
            return Err(RuleError::value(
                name,
                at,
                format!("depth {d} is smaller than the content's length {len}"),
            ));
        }
    }
    if let Some(Value::Lit(w)) = &within {
        if *w < 0 || (*w as usize) < len {
            return Err(RuleError::value(
                name,
                at,
                format!("within {w} is smaller than the content's length {len}"),
            ));
        }
    }
    let slot_taken = match name {
        "offset" => c.offset.is_some(),
        "depth" => c.depth.is_some(),
        "distance" => c.distance.is_some(),
        _ => c.within.is_some(),
    };
    if slot_taken {
        return Err(twice(o));
    }
    if offset.is_some() {
        c.offset = offset;
    }
    if depth.is_some() {
        c.depth = depth;
    }
    if distance.is_some() {
        c.distance = distance;
    }
    if within.is_some() {
        c.within = within;
    }
    Ok(())
}

fn fast_pattern(st: &mut State, o: &RawOption<'_>) -> Result<(), RuleError> {
    let fp = match o.value.map(str::trim) {
        None | Some("") => FastPattern::Yes,
        Some("only") => FastPattern::Only,
        Some(v) => {
            let parts = comma_parts(v);
            let [(_, a), (boff, b)] = parts.as_slice() else {
                return Err(RuleError::value(
                    "fast_pattern",
                    o.value_at,
                    format!(
                        "`fast_pattern` takes no value, `only`, or `offset,length`; found `{v}`"
                    ),
                ));
            };
            FastPattern::Chop {
                offset: num("fast_pattern", a, o.value_at)?,
                length: num("fast_pattern", b, o.value_at + boff)?,
            }
        }
    };
    if st.fast_pattern_at.is_some() {
        return Err(RuleError::conflict(
            o.name_at,
            "`fast_pattern` is given on more than one content",
        ));
    }
    st.fast_pattern_at = Some(o.name_at);
    let c = last_content(st, o)?;
    if let FastPattern::Chop { offset, length } = fp {
        if length == 0 || usize::from(offset) + usize::from(length) > c.pattern.len() {
            return Err(RuleError::value(
                "fast_pattern",
                o.value_at,
                format!(
                    "fast_pattern {offset},{length} is outside the content's {} bytes",
                    c.pattern.len()
                ),
            ));
        }
    }
    c.fast_pattern = Some(fp);
    Ok(())
}

fn isdataat(st: &mut State, o: &RawOption<'_>) -> Result<(), RuleError> {
    let v = need_value(o)?;
    let parts = comma_parts(v);
    let (first_off, first) = parts[0];
    let (negated, pos, pos_off) = match first.strip_prefix('!') {
        Some(r) => (
            true,
            r.trim_start(),
            first_off + 1 + r.len() - r.trim_start().len(),
        ),
        None => (false, first, first_off),
    };
    let position = byte_value::<u32>(st, "isdataat", pos, o.value_at + pos_off)?;
    let mut d = IsDataAt {
        position,
        negated,
        relative: false,
        rawbytes: false,
    };
    for &(off, p) in &parts[1..] {
        match p {
            "relative" => d.relative = true,
            "rawbytes" => d.rawbytes = true,
            _ => {
                return Err(RuleError::value(
                    "isdataat",
                    o.value_at + off,
                    format!("unknown isdataat option `{p}` (relative, rawbytes)"),
                ))
            }
        }
    }
    let buffer = st.payload_buffer(d.relative);
    st.push_match(buffer, Test::IsDataAt(d));
    Ok(())
}

/// Options shared by byte_test, byte_jump and byte_extract.
#[derive(Default)]
struct ByteOpts {
    relative: bool,
    endian: Option<Endian>,
    string: bool,
    base: Option<NumBase>,
    bitmask: Option<u32>,
    multiplier: Option<u32>,
    align: bool,
    align_n: Option<u8>,
    from: JumpFrom,
    post_offset: Option<i32>,
}

/// Which options a keyword accepts.
struct Allowed {
    jump: bool,
    extract: bool,
}

fn byte_opts(
    kw: &str,
    parts: &[(usize, &str)],
    at: usize,
    allowed: Allowed,
) -> Result<ByteOpts, RuleError> {
    let mut o = ByteOpts::default();
    for &(off, p) in parts {
        let here = at + off;
        let bad = |m: String| RuleError::value(kw, here, m);
        let (word, arg) = match p.split_once(char::is_whitespace) {
            Some((w, a)) => (w, Some(a.trim())),
            None => (p, None),
        };
        let endian = |o: &mut ByteOpts, e: Endian| match o.endian {
            Some(prev) if prev != e => Err(bad(format!("`{kw}` has two byte orders"))),
            _ => {
                o.endian = Some(e);
                Ok(())
            }
        };
        match (word, arg) {
            ("relative", None) => o.relative = true,
            ("big", None) => endian(&mut o, Endian::Big)?,
            ("little", None) => endian(&mut o, Endian::Little)?,
            ("dce", None) => endian(&mut o, Endian::Dce)?,
            ("string", None) => o.string = true,
            ("hex", None) => o.base = Some(NumBase::Hex),
            ("dec", None) => o.base = Some(NumBase::Dec),
            ("oct", None) => o.base = Some(NumBase::Oct),
            ("bitmask", Some(a)) if !allowed.extract => o.bitmask = Some(num(kw, a, here)?),
            ("multiplier", Some(a)) if allowed.jump || allowed.extract => {
                o.multiplier = Some(num(kw, a, here)?)
            }
            ("align", None) if allowed.jump => o.align = true,
            ("align", Some(a)) if allowed.extract => {
                let n: u8 = num(kw, a, here)?;
                if n != 2 && n != 4 {
                    return Err(bad(format!("`{kw}` align must be 2 or 4, found {n}")));
                }
                o.align_n = Some(n);
            }
            ("from_beginning", None) if allowed.jump => o.from = JumpFrom::Beginning,
            ("from_end", None) if allowed.jump => o.from = JumpFrom::End,
            ("post_offset", Some(a)) if allowed.jump => o.post_offset = Some(num(kw, a, here)?),
            _ => return Err(bad(format!("unknown `{kw}` option `{p}`"))),
        }
    }
    if o.base.is_some() && !o.string {
        return Err(RuleError::value(
            kw,
            at,
            format!("`{kw}`: hex, dec and oct need `string`"),
        ));
    }
    if o.string && matches!(o.endian, Some(Endian::Dce)) {
        return Err(RuleError::value(
            kw,
            at,
            format!("`{kw}`: `string` and `dce` cannot be combined"),
        ));
    }
    Ok(o)
}

/// Bytes to read: 1 to 8, or 1 to 23 with `string`; with `string`, 0 means "the digits
/// that are there" (Suricata reads the number up to the first non-digit).
/// A byte count; 0 is allowed for string forms and for byte_jump (`zero_ok`), which then
/// reads nothing and only moves by its offsets (Suricata: `byte_jump:0,0,from_end,…`).
fn byte_count(kw: &str, s: &str, at: usize, string: bool, zero_ok: bool) -> Result<u8, RuleError> {
    let n: u8 = num(kw, s, at)?;
    if n == 0 && (string || zero_ok) {
        return Ok(0);
    }
    let max = if string {
        MAX_BYTES_STRING
    } else {
        MAX_BYTES_BINARY
    };
    if n == 0 || n > max {
        return Err(RuleError::value(
            kw,
            at,
            format!(
                "`{kw}` reads 1 to {max} bytes{}, found {n}",
                if string { " as a string" } else { "" }
            ),
        ));
    }
    Ok(n)
}

fn string_base(o: &ByteOpts) -> Option<NumBase> {
    o.string.then(|| o.base.unwrap_or(NumBase::Dec))
}

fn byte_test(st: &mut State, o: &RawOption<'_>) -> Result<(), RuleError> {
    const KW: &str = "byte_test";
    let v = need_value(o)?;
    let at = o.value_at;
    let parts = comma_parts(v);
    if parts.len() < 4 {
        return Err(RuleError::value(
            KW,
            at,
            "byte_test needs bytes, operator, value and offset",
        ));
    }
    let opts = byte_opts(
        KW,
        &parts[4..],
        at,
        Allowed {
            jump: false,
            extract: false,
        },
    )?;
    let bytes = byte_count(KW, parts[0].1, at + parts[0].0, opts.string, false)?;
    let (op_off, op_text) = parts[1];
    let (negated, op) = match op_text.strip_prefix('!') {
        Some(r) => (true, r.trim()),
        None => (false, op_text),
    };
    let op = match op {
        "<" => ByteOp::Lt,
        ">" => ByteOp::Gt,
        // `!=` is `!` then `=`; a lone `!` means not equal too.
        "=" => ByteOp::Eq,
        "" if negated => ByteOp::Eq,
        "<=" => ByteOp::Le,
        ">=" => ByteOp::Ge,
        "&" => ByteOp::And,
        "^" => ByteOp::Xor,
        _ => {
            return Err(RuleError::value(
                KW,
                at + op_off,
                format!("unknown byte_test operator `{op_text}` (<, >, =, <=, >=, &, ^, optionally negated with !)"),
            ))
        }
    };
    let value = byte_value::<u64>(st, KW, parts[2].1, at + parts[2].0)?;
    let offset = byte_value::<i32>(st, KW, parts[3].1, at + parts[3].0)?;
    let t = ByteTest {
        bytes,
        negated,
        op,
        value,
        offset,
        relative: opts.relative,
        endian: opts.endian.unwrap_or_default(),
        string: string_base(&opts),
        bitmask: opts.bitmask,
    };
    let buffer = st.payload_buffer(t.relative);
    st.push_match(buffer, Test::ByteTest(t));
    Ok(())
}

fn byte_jump(st: &mut State, o: &RawOption<'_>) -> Result<(), RuleError> {
    const KW: &str = "byte_jump";
    let v = need_value(o)?;
    let at = o.value_at;
    let parts = comma_parts(v);
    if parts.len() < 2 {
        return Err(RuleError::value(KW, at, "byte_jump needs bytes and offset"));
    }
    let opts = byte_opts(
        KW,
        &parts[2..],
        at,
        Allowed {
            jump: true,
            extract: false,
        },
    )?;
    let bytes = byte_count(KW, parts[0].1, at + parts[0].0, opts.string, true)?;
    let offset = byte_value::<i32>(st, KW, parts[1].1, at + parts[1].0)?;
    let j = ByteJump {
        bytes,
        offset,
        relative: opts.relative,
        multiplier: opts.multiplier,
        endian: opts.endian.unwrap_or_default(),
        string: string_base(&opts),
        align: opts.align,
        from: opts.from,
        post_offset: opts.post_offset,
        bitmask: opts.bitmask,
    };
    let buffer = st.payload_buffer(j.relative);
    st.push_match(buffer, Test::ByteJump(j));
    Ok(())
}

fn byte_extract(st: &mut State, o: &RawOption<'_>) -> Result<(), RuleError> {
    const KW: &str = "byte_extract";
    let v = need_value(o)?;
    let at = o.value_at;
    let parts = comma_parts(v);
    if parts.len() < 3 {
        return Err(RuleError::value(
            KW,
            at,
            "byte_extract needs bytes, offset and a variable name",
        ));
    }
    let opts = byte_opts(
        KW,
        &parts[3..],
        at,
        Allowed {
            jump: false,
            extract: true,
        },
    )?;
    let bytes = byte_count(KW, parts[0].1, at + parts[0].0, opts.string, false)?;
    let offset: i32 = num(KW, parts[1].1, at + parts[1].0)?;
    let (name_off, name) = parts[2];
    if !is_identifier(name) {
        return Err(RuleError::value(
            KW,
            at + name_off,
            format!("invalid byte_extract variable name `{name}`"),
        ));
    }
    if st.byte_vars.iter().any(|v| v == name) {
        return Err(RuleError::conflict(
            at + name_off,
            format!("byte_extract variable `{name}` is defined twice"),
        ));
    }
    st.byte_vars.push(name.to_string());
    let e = ByteExtract {
        bytes,
        offset,
        name: name.to_string(),
        relative: opts.relative,
        multiplier: opts.multiplier,
        endian: opts.endian.unwrap_or_default(),
        string: string_base(&opts),
        align: opts.align_n,
    };
    let buffer = st.payload_buffer(e.relative);
    st.push_match(buffer, Test::ByteExtract(e));
    Ok(())
}

fn base64_decode(st: &mut State, o: &RawOption<'_>) -> Result<(), RuleError> {
    const KW: &str = "base64_decode";
    let mut d = Base64Decode::default();
    if let Some(v) = o.value.filter(|v| !v.is_empty()) {
        for (off, p) in comma_parts(v) {
            let here = o.value_at + off;
            match p.split_once(char::is_whitespace) {
                Some(("bytes", a)) => d.bytes = Some(num(KW, a, here)?),
                Some(("offset", a)) => d.offset = Some(num(KW, a, here)?),
                None if p == "relative" => d.relative = true,
                _ => {
                    return Err(RuleError::value(
                        KW,
                        here,
                        format!("unknown base64_decode option `{p}` (bytes N, offset N, relative)"),
                    ))
                }
            }
        }
    }
    let buffer = st.payload_buffer(d.relative);
    st.push_match(buffer, Test::Base64Decode(d));
    Ok(())
}
