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

/// A comparison: `N`, `=N`, `!N`, `!=N`, `<N`, `<=N`, `>N`, `>=N`, `N<>M`, `!N<>M`, `N-M`.
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
    if let Some((a, b)) = s.split_once("<>") {
        let (neg, a) = match a.trim().strip_prefix('!') {
            Some(r) => (true, r),
            None => (false, a),
        };
        let lo: T = num(keyword, a, at)?;
        let hi: T = num(keyword, b, lead(b))?;
        if lo >= hi {
            return Err(bad(format!(
                "`{keyword}` range `{s}` is empty: the first value must be smaller"
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
    if int(s).is_none() {
        // `N-M`: the `-` after the first character (a leading one is a sign).
        if let Some(p) = s.get(1..).and_then(|t| t.find('-')).map(|p| p + 1) {
            let lo: T = num(keyword, &s[..p], at)?;
            let hi: T = num(keyword, &s[p + 1..], at + p + 1)?;
            if lo > hi {
                return Err(bad(format!("`{keyword}` range `{s}` is reversed")));
            }
            return Ok(IntCmp::Range(lo, hi));
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
