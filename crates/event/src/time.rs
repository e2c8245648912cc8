//! EVE timestamps. Written here because it is one pure function (days → civil date, the
//! well-known algorithm from H. Hinnant's "chrono-Compatible Low-Level Date Algorithms"),
//! not worth a date-time dependency on every event.

/// Formats nanoseconds since the Unix epoch as EVE does: `2026-01-01T00:00:00.000000+0000`
/// (UTC, microseconds).
pub fn format_timestamp(ts_ns: u64) -> String {
    Timestamp(ts_ns).to_string()
}

/// A timestamp that displays (and serializes) in EVE format without allocating.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// The 31 ASCII bytes of the EVE form, written without the formatting machinery (it is
    /// on every event).
    pub fn to_bytes(self) -> [u8; 31] {
        let secs = self.0 / 1_000_000_000;
        let micros = (self.0 % 1_000_000_000) / 1_000;
        let rem = secs % 86_400;
        let (y, m, d) = civil_from_days((secs / 86_400) as i64);
        let mut out = *b"0000-00-00T00:00:00.000000+0000";
        let mut put = |at: usize, width: usize, mut v: u64| {
            for i in (at..at + width).rev() {
                out[i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(0, 4, y.clamp(0, 9999) as u64);
        put(5, 2, u64::from(m));
        put(8, 2, u64::from(d));
        put(11, 2, rem / 3600);
        put(14, 2, rem / 60 % 60);
        put(17, 2, rem % 60);
        put(20, 6, micros);
        out
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let b = self.to_bytes();
        f.write_str(std::str::from_utf8(&b).unwrap_or("invalid timestamp"))
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Reads an EVE timestamp back (`2026-01-01T00:00:00.000000+0000`, also with `+00:00`, `Z`,
/// any offset, fewer fraction digits or none) as nanoseconds since the Unix epoch; `None` if
/// it is not one (or before 1970).
pub fn parse_timestamp(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(r)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b' ') {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut nanos = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let digits = &s[start..i];
        if digits.is_empty() {
            return None;
        }
        let mut frac: String = digits.chars().take(9).collect();
        while frac.len() < 9 {
            frac.push('0');
        }
        nanos = frac.parse().ok()?;
    }
    let offset = match &s[i..] {
        "" | "Z" | "z" => 0,
        rest => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let digits: String = rest[1..].chars().filter(|c| *c != ':').collect();
            if digits.len() != 4 || !digits.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let oh: i64 = digits[..2].parse().ok()?;
            let om: i64 = digits[2..].parse().ok()?;
            sign * (oh * 3600 + om * 60)
        }
    };
    let days = days_from_civil(y, mo as u32, d as u32);
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset;
    if secs < 0 {
        return None;
    }
    Some(secs as u64 * 1_000_000_000 + nanos as u64)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_round_trips() {
        for ns in [
            0u64,
            1_258_843_635_123_456_000,
            1_709_164_800_000_000_000,
            4_102_444_799_999_999_000,
        ] {
            assert_eq!(parse_timestamp(&format_timestamp(ns)), Some(ns));
        }
        assert_eq!(
            parse_timestamp("2024-02-29T01:00:00+01:00"),
            Some(1_709_164_800_000_000_000)
        );
        assert_eq!(
            parse_timestamp("2024-02-29T00:00:00Z"),
            Some(1_709_164_800_000_000_000)
        );
        assert_eq!(
            parse_timestamp("2024-02-29 00:00:00.5"),
            Some(1_709_164_800_500_000_000)
        );
        for bad in [
            "",
            "2024-13-01T00:00:00Z",
            "2024-02-29T00:00:00+1",
            "yesterday",
            "2024-02-29T00:00:00.",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn known_dates() {
        assert_eq!(format_timestamp(0), "1970-01-01T00:00:00.000000+0000");
        assert_eq!(
            format_timestamp(1_258_843_635_123_456_789),
            "2009-11-21T22:47:15.123456+0000"
        );
        assert_eq!(
            format_timestamp(1_709_164_800_000_000_000),
            "2024-02-29T00:00:00.000000+0000"
        );
    }
}
