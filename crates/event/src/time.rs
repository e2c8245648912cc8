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

#[cfg(test)]
mod tests {
    use super::*;

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
