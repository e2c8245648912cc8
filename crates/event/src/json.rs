//! A small JSON writer for the hot event types.
//!
//! `flow` events are written for every flow a sensor sees; through serde_json's generic
//! serializer, escaping every key and formatting every number through `fmt` took a fifth of
//! the whole run (measured with callgrind on the benchmark capture). Keys here are static ASCII
//! and values are numbers, addresses and timestamps, none of which need escaping. Event types
//! with free-form text (the app-layer ones to come) should escape it with serde_json.

use std::net::IpAddr;

/// Appends JSON to a byte buffer. The caller opens and closes objects; `key` inserts commas.
pub(crate) struct JsonOut<'a> {
    buf: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> JsonOut<'a> {
    pub(crate) fn new(buf: &'a mut Vec<u8>) -> Self {
        JsonOut { buf, first: true }
    }

    pub(crate) fn open(&mut self) {
        self.buf.push(b'{');
        self.first = true;
    }

    pub(crate) fn close(&mut self) {
        self.buf.push(b'}');
        self.first = false;
    }

    /// Starts a member. `k` must be plain ASCII without quotes or backslashes.
    pub(crate) fn key(&mut self, k: &'static str) {
        debug_assert!(k
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\'));
        if !self.first {
            self.buf.push(b',');
        }
        self.first = false;
        self.buf.push(b'"');
        self.buf.extend_from_slice(k.as_bytes());
        self.buf.extend_from_slice(b"\":");
    }

    pub(crate) fn u64(&mut self, k: &'static str, v: u64) {
        self.key(k);
        self.buf
            .extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
    }

    pub(crate) fn bool(&mut self, k: &'static str, v: bool) {
        self.key(k);
        self.buf
            .extend_from_slice(if v { b"true" } else { b"false" });
    }

    /// A value known to need no escaping (names, hex, timestamps).
    pub(crate) fn plain(&mut self, k: &'static str, v: &str) {
        self.key(k);
        self.buf.push(b'"');
        self.buf.extend_from_slice(v.as_bytes());
        self.buf.push(b'"');
    }

    pub(crate) fn ip(&mut self, k: &'static str, ip: IpAddr) {
        use std::io::Write;
        self.key(k);
        self.buf.push(b'"');
        let _ = write!(self.buf, "{ip}");
        self.buf.push(b'"');
    }

    pub(crate) fn u16_array(&mut self, k: &'static str, v: &[u16]) {
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
    pub(crate) fn object(&mut self, k: &'static str) {
        self.key(k);
        self.open();
    }

    /// Starts an array member; elements are written with `element` + `open`/`close`.
    pub(crate) fn array(&mut self, k: &'static str) {
        self.key(k);
        self.buf.push(b'[');
        self.first = true;
    }

    pub(crate) fn element(&mut self) {
        if !self.first {
            self.buf.push(b',');
        }
        self.first = false;
    }

    pub(crate) fn end_array(&mut self) {
        self.buf.push(b']');
        self.first = false;
    }
}
