//! The server's certificate, as Suricata logs it: subject and issuer as RFC 4514-like strings
//! (`C=US, O=Let's Encrypt, CN=R3`), serial as colon-separated uppercase hex, validity as
//! `YYYY-MM-DDTHH:MM:SS` (UTC), and the SHA-1 of the DER as colon-separated lowercase hex.

use sha1::{Digest, Sha1};
use tls_parser::{parse_tls_handshake_msg_certificate, TlsMessageHandshake};
use x509_parser::parse_x509_certificate;

/// Longest subject or issuer kept (real ones are under 300 bytes).
const MAX_NAME_LEN: usize = 1024;
/// Longest serial kept, in bytes (RFC 5280 §4.1.2.2: at most 20 octets).
const MAX_SERIAL_LEN: usize = 64;

/// The first certificate of a chain, summarised.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct CertSummary {
    pub(crate) subject: Option<String>,
    pub(crate) issuer: Option<String>,
    pub(crate) serial: Option<String>,
    pub(crate) fingerprint: String,
    pub(crate) not_before: Option<String>,
    pub(crate) not_after: Option<String>,
}

/// Summarises the first certificate of a TLS (≤ 1.2) Certificate message body. `None` when
/// the message holds no certificate.
pub(crate) fn first_certificate(body: &[u8]) -> Option<CertSummary> {
    let Ok((_, TlsMessageHandshake::Certificate(chain))) =
        parse_tls_handshake_msg_certificate(body)
    else {
        return None;
    };
    chain.cert_chain.first().map(|c| summarize(c.data))
}

/// Summarises one DER certificate. The fingerprint is always there; the rest only when the
/// certificate parses.
pub(crate) fn summarize(der: &[u8]) -> CertSummary {
    let mut summary = CertSummary {
        fingerprint: colon_hex(&Sha1::digest(der), false),
        ..CertSummary::default()
    };
    if let Ok((_, cert)) = parse_x509_certificate(der) {
        let tbs = &cert.tbs_certificate;
        summary.subject = Some(truncate(tbs.subject.to_string(), MAX_NAME_LEN));
        summary.issuer = Some(truncate(tbs.issuer.to_string(), MAX_NAME_LEN));
        let serial = tbs.raw_serial();
        summary.serial = Some(colon_hex(
            serial.get(..MAX_SERIAL_LEN).unwrap_or(serial),
            true,
        ));
        summary.not_before = iso_time(tbs.validity.not_before.timestamp());
        summary.not_after = iso_time(tbs.validity.not_after.timestamp());
    }
    summary
}

/// `ab:cd:…` (or `AB:CD:…`).
fn colon_hex(bytes: &[u8], upper: bool) -> String {
    let digits: &[u8; 16] = if upper {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, &b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        s.push(char::from(digits[usize::from(b >> 4)]));
        s.push(char::from(digits[usize::from(b & 15)]));
    }
    s
}

fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

/// `YYYY-MM-DDTHH:MM:SS` of a Unix time; `None` outside years 0–9999.
fn iso_time(t: i64) -> Option<String> {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days)?;
    if !(0..=9999).contains(&y) {
        return None;
    }
    Some(format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    ))
}

/// Year, month, day of a count of days since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> Option<(i64, i64, i64)> {
    let z = z.checked_add(719_468)?;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe.checked_add(era.checked_mul(400)?)? + i64::from(m <= 2);
    Some((y, m, d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_time_matches_known_dates() {
        assert_eq!(iso_time(0).as_deref(), Some("1970-01-01T00:00:00"));
        assert_eq!(
            iso_time(1_444_492_547).as_deref(),
            Some("2015-10-10T15:55:47")
        );
        assert_eq!(
            iso_time(951_782_400).as_deref(),
            Some("2000-02-29T00:00:00")
        );
        assert_eq!(iso_time(i64::MAX), None);
        assert_eq!(iso_time(i64::MIN), None);
    }
}
