//! Reading numbers out of the buffer, as Suricata's `util-byte.c` does: binary big or
//! little endian (`ByteExtractUint64`), or text read like C's `strtoull`
//! (`ByteExtractStringUint64`).
//!
//! Every function takes a slice already bounded by the caller and never reads outside it.

/// A binary number of up to 8 bytes (more are ignored: callers pass at most 8); an empty
/// slice reads 0, as Suricata's `byte_jump:0,…` does.
pub(crate) fn read_binary(bytes: &[u8], big_endian: bool) -> u64 {
    let take = bytes.get(..8).unwrap_or(bytes);
    if big_endian {
        take.iter().fold(0u64, |v, &b| (v << 8) | u64::from(b))
    } else {
        take.iter()
            .rev()
            .fold(0u64, |v, &b| (v << 8) | u64::from(b))
    }
}

/// The value of a digit in `base` (8, 10 or 16).
fn digit(b: u8, base: u32) -> Option<u64> {
    let d = char::from(b).to_digit(base)?;
    Some(u64::from(d))
}

/// A number written in text, read like glibc's `strtoull(s, &end, base)` followed by
/// Suricata's checks: leading whitespace and one sign are skipped, `0x` is skipped in base
/// 16 when a hex digit follows, the number ends at the first non-digit. Returns the value
/// (negated modulo 2^64 after `-`, as `strtoull` does) and the characters consumed, or
/// `None` when there is no digit or the value overflows (`ERANGE`): Suricata's "no match".
pub(crate) fn read_text(s: &[u8], base: u32) -> Option<(u64, usize)> {
    let mut i = 0;
    while s
        .get(i)
        .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))
    {
        i += 1;
    }
    let mut negative = false;
    if let Some(&c) = s.get(i) {
        if c == b'+' || c == b'-' {
            negative = c == b'-';
            i += 1;
        }
    }
    if base == 16
        && s.get(i) == Some(&b'0')
        && matches!(s.get(i + 1), Some(b'x' | b'X'))
        && s.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
    {
        // Without a hex digit after it, glibc reads the `0` alone and stops at the `x`,
        // which the digit loop below does by itself.
        i += 2;
    }
    let start = i;
    let mut value: u64 = 0;
    let mut overflow = false;
    while let Some(d) = s.get(i).and_then(|&b| digit(b, base)) {
        match value
            .checked_mul(u64::from(base))
            .and_then(|v| v.checked_add(d))
        {
            Some(v) => value = v,
            None => overflow = true,
        }
        i += 1;
    }
    if i == start || overflow {
        return None;
    }
    let value = if negative {
        value.wrapping_neg()
    } else {
        value
    };
    Some((value, i))
}

/// Where a byte_test/byte_jump/byte_extract reads, as Suricata computes it: `offset` from
/// the buffer start, or from the cursor with `relative`. Returns the start of the read, or
/// `None` when Suricata fails the keyword before reading (no data after the relative base,
/// a start before the buffer, or fewer than `nbytes` bytes left).
///
/// `require_data` is Suricata's "no relative base" check (`len <= 0` after the cursor and
/// offset), which byte_jump only applies when it reads at least one byte.
pub(crate) fn read_start(
    len: u32,
    cursor: u32,
    offset: i32,
    relative: bool,
    nbytes: u8,
    require_data: bool,
) -> Option<u32> {
    if len == 0 {
        return None;
    }
    let mut ptr = i64::from(offset);
    let mut left = i64::from(len) - i64::from(offset);
    if relative {
        ptr += i64::from(cursor);
        left -= i64::from(cursor);
        if require_data && left <= 0 {
            return None;
        }
    }
    if ptr < 0 || i64::from(nbytes) > left {
        return None;
    }
    u32::try_from(ptr).ok()
}

/// Reads the number at `start`: `nbytes` binary bytes, or text in `base` (`nbytes` 0 reads
/// text up to the buffer end). Returns the value and the bytes consumed (for text, the
/// characters `strtoull` consumed, which Suricata uses to place the cursor).
pub(crate) fn read_number(
    buf: &[u8],
    start: u32,
    nbytes: u8,
    text_base: Option<u32>,
    big_endian: bool,
) -> Option<(u64, u32)> {
    let from = usize::try_from(start).ok()?;
    let rest = buf.get(from..)?;
    let window = if nbytes == 0 && text_base.is_some() {
        rest
    } else {
        rest.get(..usize::from(nbytes))?
    };
    match text_base {
        Some(base) => {
            let (v, used) = read_text(window, base)?;
            Some((v, u32::try_from(used).ok()?))
        }
        None => Some((read_binary(window, big_endian), u32::from(nbytes))),
    }
}
