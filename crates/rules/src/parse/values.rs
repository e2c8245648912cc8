//! Numbers and comparisons as written in option values.

use crate::ast::IntCmp;
use crate::error::RuleError;

/// An integer: decimal, or hex with `0x`; optional leading `-`.
pub(crate) fn int(s: &str) -> Option<i128> {
    let s = s.trim();
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d.trim_start()),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let v = if let Some(h) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        if h.is_empty() || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        i128::from_str_radix(h, 16).ok()?
    } else {
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse::<i128>().ok()?
    };
    Some(if neg { -v } else { v })
}

/// An integer of type `T`, or an error naming the keyword and the range.
pub(crate) fn num<T>(keyword: &str, s: &str, at: usize) -> Result<T, RuleError>
where
    T: TryFrom<i128> + Bounded,
{
    let v = int(s).ok_or_else(|| {
        RuleError::value(
            keyword,
            at,
            format!("`{keyword}` expects a number, found `{}`", s.trim()),
        )
    })?;
    T::try_from(v).map_err(|_| {
        RuleError::value(
            keyword,
            at,
            format!(
                "`{keyword}` value {v} is out of range ({} to {})",
                T::LOW,
                T::HIGH
            ),
        )
    })
}

/// The range of an integer type, for messages.
pub(crate) trait Bounded {
    const LOW: i128;
    const HIGH: i128;
}

macro_rules! bounded {
    ($($t:ty),*) => {$(
        impl Bounded for $t {
            const LOW: i128 = <$t>::MIN as i128;
            const HIGH: i128 = <$t>::MAX as i128;
        }
    )*};
}
bounded!(u8, u16, u32, u64, i32, i64);

impl Bounded for i128 {
    const LOW: i128 = i128::MIN;
    const HIGH: i128 = i128::MAX;
}

/// A comparison: `N`, `=N`, `!N`, `!=N`, `<N`, `<=N`, `>N`, `>=N`, `N<>M`, `N-M`, `!N<>M`,
/// `!N-M`.
///
/// As in Suricata (`rust/src/detect/uint.rs`, docs `rules/integer-keywords.rst`), `N-M` and
/// `N<>M` are the same range, exclusive on both ends, and at least one value must lie
/// strictly between: `1-3` matches 2 only, `1-2` is an error.
pub(crate) fn int_cmp<T>(keyword: &str, s: &str, at: usize) -> Result<IntCmp<T>, RuleError>
where
    T: TryFrom<i128> + Bounded + Copy + PartialOrd,
{
    let s = s.trim();
    let lead = |rest: &str| at + (s.len() - rest.len());
    let bad = |m: String| RuleError::value(keyword, at, m);
    if s.is_empty() {
        return Err(bad(format!("`{keyword}` needs a value")));
    }
    // `!` negates a range; `!=N` and `!N` are "not equal" (below).
    let (neg, body) = match s.strip_prefix('!') {
        Some(r) if !r.starts_with('=') => (true, r.trim_start()),
        _ => (false, s),
    };
    let bounds = match body.split_once("<>") {
        Some((a, b)) => Some((a, b)),
        // `N-M`: the `-` after the first character (a leading one is a sign).
        None if int(body).is_none() => body
            .get(1..)
            .and_then(|t| t.find('-'))
            .map(|p| (&body[..=p], &body[p + 2..])),
        None => None,
    };
    if let Some((a, b)) = bounds {
        let lo: T = num(keyword, a, lead(a))?;
        let hi: T = num(keyword, b, lead(b))?;
        // Both parsed, so both are numbers.
        let (l, h) = (int(a).unwrap_or(0), int(b).unwrap_or(0));
        if h.saturating_sub(l) <= 1 {
            return Err(bad(format!(
                "`{keyword}` range `{s}` is empty: ranges exclude both ends, so the second \
                 value must be at least the first plus 2"
            )));
        }
        return Ok(if neg {
            IntCmp::NotBetween(lo, hi)
        } else {
            IntCmp::Between(lo, hi)
        });
    }
    for (prefix, make) in [
        ("<=", IntCmp::Le as fn(T) -> IntCmp<T>),
        (">=", IntCmp::Ge),
        ("!=", IntCmp::Ne),
        ("<", IntCmp::Lt),
        (">", IntCmp::Gt),
        ("=", IntCmp::Eq),
        ("!", IntCmp::Ne),
    ] {
        if let Some(rest) = s.strip_prefix(prefix) {
            return Ok(make(num(keyword, rest, lead(rest))?));
        }
    }
    Ok(IntCmp::Eq(num(keyword, s, at)?))
}

/// Splits on commas, yielding (offset within `s`, trimmed part).
pub(crate) fn comma_parts(s: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = 0;
    for part in s.split(',') {
        let lead = part.len() - part.trim_start().len();
        out.push((start + lead, part.trim()));
        start += part.len() + 1;
    }
    out
}
