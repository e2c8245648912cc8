//! A small JSON writer for the hot event types.
//!
//! `flow` events are written for every flow a sensor sees, and app-layer events for every
//! transaction; through serde_json's generic serializer, escaping every key and formatting every
//! number through `fmt` took a fifth of the whole run (measured with callgrind on the benchmark
//! capture). Keys are plain ASCII; free-form text goes through [`JsonOut::str`] or
//! [`JsonOut::bytes`], which escape it.

use std::net::IpAddr;

/// Appends JSON to a byte buffer. The caller opens and closes objects; `key` inserts commas.
pub struct JsonOut<'a> {
    buf: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> JsonOut<'a> {
    /// A writer appending to `buf`.
    pub fn new(buf: &'a mut Vec<u8>) -> Self {
        JsonOut { buf, first: true }
    }

    /// Starts an object (`{`).
    pub fn open(&mut self) {
        self.buf.push(b'{');
        self.first = true;
    }

    /// Ends an object (`}`).
    pub fn close(&mut self) {
        self.buf.push(b'}');
        self.first = false;
    }

    /// Starts a member named `k` (escaped if it needs to be).
    pub fn key(&mut self, k: &str) {
        if !self.first {
            self.buf.push(b',');
        }
        self.first = false;
        escape_into(self.buf, k.as_bytes());
        self.buf.push(b':');
    }

    /// A member whose value is free-form text, escaped.
    pub fn str(&mut self, k: &str, v: &str) {
        self.key(k);
        escape_into(self.buf, v.as_bytes());
    }

    /// A member whose value is bytes off the wire: written as text, invalid UTF-8 replaced
    /// (U+FFFD), control characters escaped.
    pub fn bytes(&mut self, k: &str, v: &[u8]) {
        self.key(k);
        escape_into(self.buf, v);
    }

    /// A signed integer member.
    pub fn i64(&mut self, k: &str, v: i64) {
        self.key(k);
        self.buf
            .extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
    }

    /// A floating-point member (`null` when not finite).
    pub fn f64(&mut self, k: &str, v: f64) {
        self.key(k);
        if v.is_finite() {
            use std::io::Write;
            let _ = write!(self.buf, "{v}");
        } else {
            self.buf.extend_from_slice(b"null");
        }
    }

    /// A string element of an array.
    pub fn str_element(&mut self, v: &[u8]) {
        self.element();
        escape_into(self.buf, v);
    }

    /// An integer element of an array.
    pub fn u64_element(&mut self, v: u64) {
        self.element();
        self.buf
            .extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
    }

    /// JSON already written elsewhere, as the value of member `k`. The caller vouches that it
    /// is one valid JSON value.
    pub fn raw(&mut self, k: &str, json: &[u8]) {
        self.key(k);
        self.buf.extend_from_slice(json);
    }

    /// Members already written elsewhere (`"a":1,"b":2`, no braces) spliced into the open
    /// object. Nothing is written for an empty slice.
    pub fn raw_members(&mut self, json: &[u8]) {
        if json.is_empty() {
            return;
        }
        if !self.first {
            self.buf.push(b',');
        }
        self.first = false;
        self.buf.extend_from_slice(json);
    }

    /// Starts a fresh list of members (`"a":1,"b":2`, no braces) at the end of `buf`, for
    /// [`JsonOut::raw_members`] later.
    pub fn members(buf: &'a mut Vec<u8>) -> Self {
        JsonOut { buf, first: true }
    }

    /// An unsigned integer member.
    pub fn u64(&mut self, k: &str, v: u64) {
        self.key(k);
        self.buf
            .extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
    }

    /// A boolean member.
    pub fn bool(&mut self, k: &str, v: bool) {
        self.key(k);
        self.buf
            .extend_from_slice(if v { b"true" } else { b"false" });
    }

    /// A value known to need no escaping (names, hex, timestamps).
    pub fn plain(&mut self, k: &str, v: &str) {
        self.key(k);
        self.buf.push(b'"');
        self.buf.extend_from_slice(v.as_bytes());
        self.buf.push(b'"');
    }

    /// An IP address member.
    pub fn ip(&mut self, k: &str, ip: IpAddr) {
        use std::io::Write;
        self.key(k);
        self.buf.push(b'"');
        match ip {
            // Dotted quads by hand: `fmt` was a visible share of writing flow events.
            IpAddr::V4(v4) => {
                for (i, o) in v4.octets().iter().enumerate() {
                    if i > 0 {
                        self.buf.push(b'.');
                    }
                    self.buf
                        .extend_from_slice(itoa::Buffer::new().format(*o).as_bytes());
                }
            }
            IpAddr::V6(_) => {
                let _ = write!(self.buf, "{ip}");
            }
        }
        self.buf.push(b'"');
    }

    /// An array of small integers.
    pub fn u16_array(&mut self, k: &str, v: &[u16]) {
        self.key(k);
        self.buf.push(b'[');
        for (i, x) in v.iter().enumerate() {
            if i > 0 {
                self.buf.push(b',');
            }
            self.buf
                .extend_from_slice(itoa::Buffer::new().format(*x).as_bytes());
        }
        self.buf.push(b']');
    }

    /// Starts a nested object member.
    pub fn object(&mut self, k: &str) {
        self.key(k);
        self.open();
    }

    /// Starts an array member; elements are written with `element` + `open`/`close`.
    pub fn array(&mut self, k: &str) {
        self.key(k);
        self.buf.push(b'[');
        self.first = true;
    }

    /// Before each element of an array.
    pub fn element(&mut self) {
        if !self.first {
            self.buf.push(b',');
        }
        self.first = false;
    }

    /// Ends an array.
    pub fn end_array(&mut self) {
        self.buf.push(b']');
        self.first = false;
    }
}

/// Whether `v` is printable ASCII without `"` or `\` (nothing to escape), eight bytes at a
/// time: long values (JA3 strings, SSH algorithm lists) made the byte-by-byte test a visible
/// share of writing app-layer events.
fn plain_ascii(v: &[u8]) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    // Lanes of `x` that are zero (the classic "has a zero byte" test, exact per lane once
    // lanes with the high bit set are excluded, which the caller does first).
    let zero = |x: u64| x.wrapping_sub(LO) & !x & HI;
    let mut chunks = v.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        let x = u64::from_le_bytes(w);
        if x & HI != 0 {
            return false; // not ASCII
        }
        // Control bytes (< 0x20): adding 0x60 leaves the high bit clear only for them.
        let control = !x.wrapping_add(0x6060_6060_6060_6060) & HI;
        let bad = control
            | zero(x ^ (LO * u64::from(b'"')))
            | zero(x ^ (LO * u64::from(b'\\')))
            | zero(x ^ (LO * 0x7f));
        if bad != 0 {
            return false;
        }
    }
    chunks
        .remainder()
        .iter()
        .all(|&b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
}

/// Writes `v` as a JSON string: UTF-8 kept, invalid sequences replaced with U+FFFD, quotes,
/// backslashes and control characters escaped.
pub fn escape_into(buf: &mut Vec<u8>, v: &[u8]) {
    buf.push(b'"');
    // The common case: printable ASCII with nothing to escape.
    if plain_ascii(v) {
        buf.extend_from_slice(v);
        buf.push(b'"');
        return;
    }
    for chunk in v.utf8_chunks() {
        for &b in chunk.valid().as_bytes() {
            match b {
                b'"' => buf.extend_from_slice(b"\\\""),
                b'\\' => buf.extend_from_slice(b"\\\\"),
                b'\n' => buf.extend_from_slice(b"\\n"),
                b'\r' => buf.extend_from_slice(b"\\r"),
                b'\t' => buf.extend_from_slice(b"\\t"),
                0..=0x1f | 0x7f => {
                    const D: &[u8; 16] = b"0123456789abcdef";
                    buf.extend_from_slice(b"\\u00");
                    buf.push(D[usize::from(b >> 4)]);
                    buf.push(D[usize::from(b & 15)]);
                }
                _ => buf.push(b),
            }
        }
        if !chunk.invalid().is_empty() {
            buf.extend_from_slice("\u{fffd}".as_bytes());
        }
    }
    buf.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_ascii_agrees_with_the_byte_by_byte_test() {
        let slow = |v: &[u8]| {
            v.iter()
                .all(|&b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
        };
        let mut buf = [b'a'; 24];
        for pos in 0..24 {
            for b in 0..=255u8 {
                buf[pos] = b;
                for len in [pos + 1, 24] {
                    let v = &buf[..len];
                    assert_eq!(plain_ascii(v), slow(v), "byte {b:#x} at {pos}, len {len}");
                }
            }
            buf[pos] = b'a';
        }
    }

    #[test]
    fn escaped_text_round_trips_through_serde() {
        let mut buf = Vec::new();
        let mut o = JsonOut::new(&mut buf);
        o.open();
        o.bytes("a\"b", b"q\"\\\n\x01\xff\xfeok\x7f \xc3\xa9");
        o.str("s", "plain");
        o.i64("n", -5);
        o.f64("f", 1.5);
        o.f64("nan", f64::NAN);
        o.close();
        let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
        assert_eq!(v["a\"b"], "q\"\\\n\u{1}\u{fffd}\u{fffd}ok\u{7f} \u{e9}");
        assert_eq!(v["s"], "plain");
        assert_eq!(v["n"], -5);
        assert_eq!(v["f"], 1.5);
        assert!(v["nan"].is_null());
    }
}
