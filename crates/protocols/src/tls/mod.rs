//! TLS (and SSL): the handshake in the clear — ClientHello, ServerHello, the server's
//! certificate — logged once per flow as a `tls` event with Suricata's fields: version, SNI,
//! certificate subject, issuer, serial, fingerprint and validity, JA3, JA3S, JA4, ALPNs.
//!
//! The record layer is read as a stream: a record may be split over any number of segments,
//! a record may hold several handshake messages and a message may span several records
//! (messages are reassembled up to [`MAX_HANDSHAKE_LEN`]). Record bodies are never buffered:
//! once a direction has sent ChangeCipherSpec, and once the event is written, its bytes are
//! consumed and dropped. A SSLv2 (or SSLv2-compatible) hello is recognised too.

mod cert;
pub(crate) mod hello;

use crate::parser::{Buffer, Dir, Out, Parser, Probe, ProbeInput, Transport};
use crate::Builtin;

use cert::CertSummary;
use hello::{md5_hex, version_name, ClientHello, ServerHello};

/// Record content types (RFC 8446 §5.1; heartbeat: RFC 6520).
const CONTENT_CHANGE_CIPHER_SPEC: u8 = 20;
const CONTENT_HANDSHAKE: u8 = 22;
const CONTENT_HEARTBEAT: u8 = 24;

/// Handshake message types (RFC 8446 §4; server_hello_done: RFC 5246 §7.4).
const HS_CLIENT_HELLO: u8 = 1;
const HS_SERVER_HELLO: u8 = 2;
const HS_CERTIFICATE: u8 = 11;
const HS_SERVER_HELLO_DONE: u8 = 14;

/// SSLv2 message types (draft-hickman-netscape-ssl-00).
const SSLV2_CLIENT_HELLO: u8 = 1;
const SSLV2_SERVER_HELLO: u8 = 4;

/// Largest record body: a TLSCiphertext is at most 2^14 + 2048 bytes (RFC 5246 §6.2.3).
const MAX_RECORD_LEN: usize = 16_384 + 2048;
/// Largest handshake message reassembled; longer ones (huge certificate chains) are
/// skipped. Real ClientHellos are under 2 KiB, certificate chains under 16 KiB.
pub(crate) const MAX_HANDSHAKE_LEN: usize = 64 * 1024;

pub(crate) fn protocol() -> Builtin {
    Builtin {
        info: Builtin::info(
            "tls",
            "TLS/SSL handshake: version, SNI, server certificate, JA3/JA3S/JA4, ALPN",
            &[Transport::Tcp],
            &[443, 465, 993, 995, 5061, 8443],
            Some("tls"),
        ),
        probe,
        parser: || Box::<TlsParser>::default(),
    }
}

/// A TLS record header (`16 03 0x LL LL`) holding a ClientHello or ServerHello, or a SSLv2
/// ClientHello (`8x LL 01 VV VV`), whichever the direction.
fn probe(input: &ProbeInput<'_>) -> Probe {
    let d = input.data;
    let Some(&first) = d.first() else {
        return Probe::NeedMore;
    };
    if first == CONTENT_HANDSHAKE {
        if d.get(1).is_some_and(|&major| major != 3) || d.get(2).is_some_and(|&minor| minor > 4) {
            return Probe::NoMatch;
        }
        let Some(&[_, _, _, l0, l1, kind]) = d.first_chunk::<6>() else {
            return Probe::NeedMore;
        };
        let len = usize::from(u16::from_be_bytes([l0, l1]));
        if (4..=MAX_RECORD_LEN).contains(&len)
            && (kind == HS_CLIENT_HELLO || kind == HS_SERVER_HELLO)
        {
            Probe::Match
        } else {
            Probe::NoMatch
        }
    } else if first & 0x80 != 0 {
        if d.get(2).is_some_and(|&kind| kind != SSLV2_CLIENT_HELLO) {
            return Probe::NoMatch;
        }
        let Some(&[_, l1, _, v0, v1, _]) = d.first_chunk::<6>() else {
            return Probe::NeedMore;
        };
        // Record length: 15 bits; a ClientHello body is at least 9 bytes.
        let len = usize::from(u16::from_be_bytes([first & 0x7f, l1]));
        let version = u16::from_be_bytes([v0, v1]);
        if len >= 9 && (version == 0x0002 || (0x0300..=0x0304).contains(&version)) {
            Probe::Match
        } else {
            Probe::NoMatch
        }
    } else {
        Probe::NoMatch
    }
}

/// One direction's record layer.
#[derive(Default)]
struct Side {
    /// Bytes left of the record being read.
    record_left: usize,
    /// Its content type (`SSLV2_RECORD` for SSLv2).
    record_type: u8,
    /// A record header was read.
    started: bool,
    /// The direction speaks SSLv2 records.
    sslv2: bool,
    /// Handshake bytes waiting to form whole messages.
    handshake: Vec<u8>,
    /// Handshake bytes still to drop: the rest of a message longer than
    /// [`MAX_HANDSHAKE_LEN`].
    skip: usize,
    /// ChangeCipherSpec seen: what follows is encrypted.
    encrypted: bool,
    /// Out of step with the records (not TLS, or a gap): the rest is dropped.
    lost: bool,
}

/// Content type standing for "SSLv2 record" (no TLS content type has this value).
const SSLV2_RECORD: u8 = 0x80;

enum Header {
    NeedMore,
    Tls { kind: u8, len: usize },
    Sslv2 { header_len: usize, len: usize },
    Bad,
}

/// Reads a record header: TLS, or SSLv2 where `sslv2` allows (`first`: the direction's first
/// record, where only the 2-byte SSLv2 header may appear).
fn record_header(d: &[u8], first: bool, sslv2: bool) -> Header {
    let Some(&b0) = d.first() else {
        return Header::NeedMore;
    };
    if (CONTENT_CHANGE_CIPHER_SPEC..=CONTENT_HEARTBEAT).contains(&b0) {
        let Some(&[_, major, minor, l0, l1]) = d.first_chunk::<5>() else {
            return Header::NeedMore;
        };
        let len = usize::from(u16::from_be_bytes([l0, l1]));
        if major == 3 && minor <= 4 && len <= MAX_RECORD_LEN {
            return Header::Tls { kind: b0, len };
        }
        if !sslv2 {
            return Header::Bad;
        }
    }
    if !(first || sslv2) {
        return Header::Bad;
    }
    let Some(&b1) = d.get(1) else {
        return Header::NeedMore;
    };
    if b0 & 0x80 != 0 {
        Header::Sslv2 {
            header_len: 2,
            len: usize::from(u16::from_be_bytes([b0 & 0x7f, b1])),
        }
    } else if sslv2 {
        // 3-byte header: two bits of flags, 14 bits of length, then the padding length.
        if d.len() < 3 {
            return Header::NeedMore;
        }
        Header::Sslv2 {
            header_len: 3,
            len: usize::from(u16::from_be_bytes([b0 & 0x3f, b1])),
        }
    } else {
        Header::Bad
    }
}

/// Follows one TLS flow until its handshake has said what it can.
#[derive(Default)]
pub(crate) struct TlsParser {
    sides: [Side; 2],
    client: Option<ClientHello>,
    server: Option<ServerHello>,
    cert: Option<CertSummary>,
    /// Version from a SSLv2 ClientHello, and from a SSLv2 ServerHello.
    sslv2_client: Option<u16>,
    sslv2_server: Option<u16>,
    /// The event is written: nothing more to learn.
    logged: bool,
}

impl Parser for TlsParser {
    fn parse(&mut self, dir: Dir, data: &[u8], out: &mut Out<'_>) -> usize {
        let i = dir.index();
        let mut pos = 0;
        while !self.logged && !self.sides[i].lost {
            let Some(rest) = data.get(pos..).filter(|r| !r.is_empty()) else {
                return pos;
            };
            let side = &mut self.sides[i];
            if side.record_left > 0 {
                let n = side.record_left.min(rest.len());
                side.record_left -= n;
                pos += n;
                if side.record_type == CONTENT_HANDSHAKE && !side.encrypted {
                    self.handshake_bytes(dir, rest.get(..n).unwrap_or_default(), out);
                }
                continue;
            }
            match record_header(rest, !side.started, side.sslv2) {
                Header::NeedMore => return pos,
                Header::Bad => side.lost = true,
                Header::Tls { kind, len } => {
                    side.started = true;
                    side.record_type = kind;
                    side.record_left = len;
                    pos += 5;
                    if kind == CONTENT_CHANGE_CIPHER_SPEC {
                        side.encrypted = true;
                        side.handshake = Vec::new();
                        // A resumed session goes from ServerHello straight to
                        // ChangeCipherSpec: no certificate to wait for.
                        if self.server.is_some() {
                            self.log(out);
                        }
                    }
                }
                Header::Sslv2 { header_len, len } => {
                    if !side.sslv2 {
                        // The direction's first record: its hello says the version.
                        let Some(body) = rest.get(header_len..header_len + len.min(5)) else {
                            return pos;
                        };
                        if !self.sslv2_hello(body, out) {
                            self.sides[i].lost = true;
                            break;
                        }
                    }
                    let side = &mut self.sides[i];
                    side.started = true;
                    side.sslv2 = true;
                    side.record_type = SSLV2_RECORD;
                    side.record_left = len;
                    pos += header_len;
                }
            }
        }
        data.len()
    }

    fn gap(&mut self, dir: Dir, _len: u64, _out: &mut Out<'_>) -> bool {
        // Record boundaries are lost with the missing bytes: that direction is done.
        self.sides[dir.index()].lost = true;
        true
    }

    fn finish(&mut self, out: &mut Out<'_>) {
        if self.client.is_some() || self.server.is_some() || self.sslv2_client.is_some() {
            self.log(out);
        }
    }

    fn done(&self) -> bool {
        self.logged
    }
}

impl TlsParser {
    /// Reads the start of a SSLv2 record body; false when it is no hello.
    fn sslv2_hello(&mut self, body: &[u8], out: &mut Out<'_>) -> bool {
        match body {
            [SSLV2_CLIENT_HELLO, v0, v1, ..] => {
                self.sslv2_client = Some(u16::from_be_bytes([*v0, *v1]));
                true
            }
            [SSLV2_SERVER_HELLO, _session_id_hit, _cert_type, v0, v1, ..] => {
                self.sslv2_server = Some(u16::from_be_bytes([*v0, *v1]));
                self.log(out);
                true
            }
            _ => false,
        }
    }

    /// Handshake-record bytes of `dir`: reassembles messages and reads each whole one.
    fn handshake_bytes(&mut self, dir: Dir, mut chunk: &[u8], out: &mut Out<'_>) {
        let side = &mut self.sides[dir.index()];
        if side.skip > 0 {
            let n = side.skip.min(chunk.len());
            side.skip -= n;
            chunk = chunk.get(n..).unwrap_or_default();
        }
        if chunk.is_empty() {
            return;
        }
        // Bounded: less than one message (≤ MAX_HANDSHAKE_LEN + 4) plus one record.
        let mut buf = std::mem::take(&mut side.handshake);
        buf.extend_from_slice(chunk);
        let mut at = 0;
        while let Some(&[kind, l0, l1, l2]) = buf.get(at..).and_then(|b| b.first_chunk::<4>()) {
            let len = usize::from(l0) << 16 | usize::from(l1) << 8 | usize::from(l2);
            let end = at + 4 + len;
            if len > MAX_HANDSHAKE_LEN {
                self.sides[dir.index()].skip = end.saturating_sub(buf.len());
                at = buf.len().min(end);
                continue;
            }
            let Some(body) = buf.get(at + 4..end) else {
                break;
            };
            self.handshake_message(kind, body, out);
            at = end;
            if self.logged {
                return;
            }
        }
        buf.drain(..at.min(buf.len()));
        self.sides[dir.index()].handshake = buf;
    }

    /// One whole handshake message. Messages are told apart by their type, not their
    /// direction, so a flow picked up the wrong way round is still read.
    fn handshake_message(&mut self, kind: u8, body: &[u8], out: &mut Out<'_>) {
        match kind {
            HS_CLIENT_HELLO if self.client.is_none() => self.client = ClientHello::parse(body),
            HS_SERVER_HELLO if self.server.is_none() => {
                let Some(hello) = ServerHello::parse(body) else {
                    return;
                };
                if hello.retry {
                    // HelloRetryRequest: the ServerHello that counts comes later.
                    return;
                }
                let v = hello.negotiated_version();
                self.server = Some(hello);
                // TLS 1.3 encrypts everything after ServerHello.
                if v == 0x0304 || v >> 8 == 0x7f {
                    self.log(out);
                }
            }
            HS_CERTIFICATE if self.cert.is_none() => {
                self.cert = cert::first_certificate(body);
                if self.server.is_some() {
                    self.log(out);
                }
            }
            HS_SERVER_HELLO_DONE => self.log(out),
            _ => {}
        }
    }

    /// Writes the flow's `tls` event (once).
    fn log(&mut self, out: &mut Out<'_>) {
        if self.logged {
            return;
        }
        self.logged = true;
        // Nothing more will be read: free the reassembly buffers.
        self.sides = Default::default();
        // Taken: once logged, nothing of the handshake is needed any more.
        let (client, server, cert) = (self.client.take(), self.server.take(), self.cert.take());
        let (client, server, cert) = (client.as_ref(), server.as_ref(), cert.as_ref());
        let version = server
            .map(ServerHello::negotiated_version)
            .or(self.sslv2_server);
        let ja3 = client.map(|c| {
            let s = c.ja3();
            (md5_hex(&s), s)
        });
        let ja3s = server.map(|s| {
            let s = s.ja3s();
            (md5_hex(&s), s)
        });
        let ja4 = client.map(|c| c.ja4('t'));
        if out.inspecting() {
            give_buffers(client, cert, &ja3, &ja3s, ja4.as_deref(), out);
        }
        out.event("tls", true, Some(0), |w| {
            w.object("tls");
            if let Some(c) = cert {
                if let Some(s) = &c.subject {
                    w.str("subject", s);
                }
                if let Some(s) = &c.issuer {
                    w.str("issuerdn", s);
                }
                if let Some(s) = &c.serial {
                    w.plain("serial", s);
                }
                w.plain("fingerprint", &c.fingerprint);
            }
            if let Some(sni) = client.and_then(|c| c.sni.as_deref()) {
                w.bytes("sni", sni);
            }
            match version {
                Some(v) => w.plain("version", &version_name(v)),
                None => w.plain("version", "UNDETERMINED"),
            }
            if let Some(c) = cert {
                if let Some(t) = &c.not_before {
                    w.plain("notbefore", t);
                }
                if let Some(t) = &c.not_after {
                    w.plain("notafter", t);
                }
            }
            for (key, fingerprint) in [("ja3", &ja3), ("ja3s", &ja3s)] {
                if let Some((hash, string)) = fingerprint {
                    w.object(key);
                    w.plain("hash", hash);
                    w.plain("string", string);
                    w.close();
                }
            }
            if let Some(ja4) = &ja4 {
                w.plain("ja4", ja4);
            }
            for (key, alpns) in [
                ("client_alpns", client.map(|c| &c.alpns)),
                ("server_alpns", server.map(|s| &s.alpns)),
            ] {
                if let Some(alpns) = alpns.filter(|a| !a.is_empty()) {
                    w.array(key);
                    for a in alpns {
                        w.str_element(a);
                    }
                    w.end_array();
                }
            }
            if let Some(ch) = client {
                w.object("client_handshake");
                w.plain("version", &version_name(ch.version));
                w.u16_array("ciphers", &ch.ciphers);
                w.u16_array("exts", &ch.extensions);
                w.u16_array("sig_algs", &ch.sig_algs);
                w.close();
            }
            if let Some(sh) = server {
                w.object("server_handshake");
                w.plain("version", &version_name(sh.negotiated_version()));
                w.u64("cipher", u64::from(sh.cipher));
                w.u16_array("exts", &sh.extensions);
                w.close();
            }
            w.close();
        });
    }
}

/// Hands detection the handshake's buffers, in the formats of Suricata's (and of the event):
/// from the ClientHello, sent to the server, `tls.sni`, `ja3.hash` (lowercase hex MD5),
/// `ja3.string`, `ja4.hash`; from the server, `ja3s.hash`, `ja3s.string` and the first
/// certificate's `tls.cert_subject` and `tls.cert_issuer` (`C=US, O=Test, CN=example.com`),
/// `tls.cert_serial` (`5C:19:B7:…`, uppercase) and `tls.cert_fingerprint` (SHA-1,
/// `4a:a3:66:…`, lowercase).
fn give_buffers(
    client: Option<&ClientHello>,
    cert: Option<&CertSummary>,
    ja3: &Option<(String, String)>,
    ja3s: &Option<(String, String)>,
    ja4: Option<&str>,
    out: &mut Out<'_>,
) {
    let (c, s) = (Dir::ToServer, Dir::ToClient);
    if let Some(sni) = client.and_then(|c| c.sni.as_deref()) {
        out.buffer(c, Buffer::TlsSni, sni);
    }
    if let Some((hash, string)) = ja3 {
        out.buffer(c, Buffer::Ja3Hash, hash.as_bytes());
        out.buffer(c, Buffer::Ja3String, string.as_bytes());
    }
    if let Some((hash, string)) = ja3s {
        out.buffer(s, Buffer::Ja3sHash, hash.as_bytes());
        out.buffer(s, Buffer::Ja3sString, string.as_bytes());
    }
    if let Some(ja4) = ja4 {
        out.buffer(c, Buffer::Ja4Hash, ja4.as_bytes());
    }
    if let Some(cert) = cert {
        for (buffer, v) in [
            (Buffer::TlsCertSubject, cert.subject.as_deref()),
            (Buffer::TlsCertIssuer, cert.issuer.as_deref()),
            (Buffer::TlsCertSerial, cert.serial.as_deref()),
            (Buffer::TlsCertFingerprint, Some(cert.fingerprint.as_str())),
        ] {
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                out.buffer(s, buffer, v.as_bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests;
