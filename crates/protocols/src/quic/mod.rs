//! QUIC: the version, and what the client's first flight says in the clear to anyone who
//! reads it — IETF QUIC encrypts Initial packets with keys derived from public values, so the
//! ClientHello inside gives SNI, ALPN, JA3 and JA4 (`q` prefix); Google QUIC up to Q046
//! sends its CHLO unencrypted (SNI, user agent). One `quic` event per flow.

mod initial;
#[cfg(test)]
mod tests;

use crate::parser::{Buffer, Dir, Out, Parser, Probe, ProbeInput, Transport};
use crate::tls::hello::{md5_hex, ClientHello};
use crate::Builtin;

use initial::{crypto_frames, long_packet, CryptoStream, InitialKeys, PacketKind, MAX_CID_LEN};

/// Client Initial packets decrypted (or gQUIC datagrams searched) at most per flow: the
/// ClientHello fits in the first one or two; past that, a flow is not tried further.
const MAX_INITIAL_TRIES: u32 = 8;
/// Long-header packets read per datagram (RFC 9000 §12.2 coalescing: at most one per
/// packet type in practice).
const MAX_PACKETS_PER_DATAGRAM: usize = 8;
/// Longest SNI or user agent kept from a gQUIC CHLO.
const MAX_TAG_VALUE_LEN: usize = 1024;
/// Most tags read from a gQUIC CHLO (real ones have about 20).
const MAX_CHLO_TAGS: usize = 128;
/// Longest ALPN list written.
const MAX_ALPNS: usize = 64;

pub(crate) fn protocol() -> Builtin {
    Builtin {
        info: Builtin::info(
            "quic",
            "QUIC: version, and SNI, ALPN, JA3/JA4 from the client's Initial packets",
            &[Transport::Udp],
            &[443],
            Some("quic"),
        ),
        probe,
        parser: || Box::<QuicParser>::default(),
    }
}

/// Whether `v` is a Google QUIC version: `Q0xx`, or `T0xx` (gQUIC over TLS).
fn is_gquic(v: u32) -> bool {
    let [a, b, c, d] = v.to_be_bytes();
    (a == b'Q' || a == b'T') && b == b'0' && c.is_ascii_digit() && d.is_ascii_digit()
}

/// Google QUIC versions whose CHLO travels unencrypted.
fn gquic_plaintext(v: u32) -> bool {
    let [a, _, c, d] = v.to_be_bytes();
    a == b'Q' && (c, d) <= (b'4', b'6')
}

/// A long header (`11xxxxxx`) of a known version with connection IDs of a valid length.
/// The version of a gQUIC packet with the old public header (Q043 and earlier): flags with the
/// version bit set and the reserved bit clear, an optional 8-byte connection ID, the version
/// tag.
fn public_header_version(d: &[u8]) -> Option<u32> {
    let flags = *d.first()?;
    if flags & 0x81 != 0x01 {
        return None;
    }
    let at = if flags & 0x08 != 0 { 9 } else { 1 };
    let v = u32::from_be_bytes(*d.get(at..)?.first_chunk::<4>()?);
    is_gquic(v).then_some(v)
}

/// Facebook's mvfst versions (0xfaceb0xx), long headers like IETF QUIC's.
fn is_mvfst(v: u32) -> bool {
    v & 0xffff_ff00 == 0xface_b000
}

fn probe(input: &ProbeInput<'_>) -> Probe {
    let d = input.data;
    if public_header_version(d).is_some() {
        return Probe::Match;
    }
    let Some(&[first, v0, v1, v2, v3, dcid_len]) = d.first_chunk::<6>() else {
        return Probe::NoMatch;
    };
    if first & 0xc0 != 0xc0 {
        return Probe::NoMatch;
    }
    let version = u32::from_be_bytes([v0, v1, v2, v3]);
    if is_gquic(version) {
        // Q046 packs both connection ID lengths in this byte; later versions use v1's layout.
        return Probe::Match;
    }
    if !initial::is_ietf(version) && !is_mvfst(version) {
        return Probe::NoMatch;
    }
    let dcid_len = usize::from(dcid_len);
    match d.get(6 + dcid_len) {
        Some(&scid_len) if dcid_len <= MAX_CID_LEN && usize::from(scid_len) <= MAX_CID_LEN => {
            Probe::Match
        }
        _ => Probe::NoMatch,
    }
}

/// The name the event gives a version: `1`, `2`, the draft number (`29`), or the gQUIC tag
/// (`Q046`).
fn version_name(v: u32) -> String {
    match v {
        initial::VERSION_1 => "1".into(),
        initial::VERSION_2 => "2".into(),
        v if v & 0xffff_ff00 == 0xff00_0000 => (v & 0xff).to_string(),
        v if is_gquic(v) => v.to_be_bytes().iter().map(|&b| char::from(b)).collect(),
        v => format!("0x{v:08x}"),
    }
}

/// Follows one QUIC flow until the client's hello is read.
#[derive(Default)]
pub(crate) struct QuicParser {
    /// Version of the first long-header packet.
    version: Option<u32>,
    /// Keys for the last Destination Connection ID seen in a client Initial.
    keys: Option<(Vec<u8>, InitialKeys)>,
    crypto: CryptoStream,
    tries: u32,
    hello: Option<ClientHello>,
    /// From a gQUIC CHLO.
    gquic_sni: Option<Vec<u8>>,
    gquic_ua: Option<Vec<u8>>,
    /// The event is written.
    logged: bool,
}

impl Parser for QuicParser {
    fn parse(&mut self, dir: Dir, data: &[u8], out: &mut Out<'_>) -> usize {
        if self.logged {
            return data.len();
        }
        let Some(&[first, v0, v1, v2, v3]) = data.first_chunk::<5>() else {
            return data.len();
        };
        if first & 0x80 == 0 {
            // gQUIC's old public header (Q043 and earlier): the CHLO is in the clear.
            if let Some(v) = public_header_version(data) {
                let v = *self.version.get_or_insert(v);
                if dir == Dir::ToServer && self.tries < MAX_INITIAL_TRIES && gquic_plaintext(v) {
                    self.tries += 1;
                    self.gquic_chlo(data, out);
                }
            }
            return data.len();
        }
        let version = u32::from_be_bytes([v0, v1, v2, v3]);
        if version == 0 {
            // Version Negotiation: lists versions, speaks none.
            return data.len();
        }
        let version = *self.version.get_or_insert(version);
        if dir == Dir::ToServer && self.tries < MAX_INITIAL_TRIES {
            if gquic_plaintext(version) {
                self.tries += 1;
                self.gquic_chlo(data, out);
            } else {
                self.client_datagram(data, out);
            }
        }
        data.len()
    }

    fn finish(&mut self, out: &mut Out<'_>) {
        if self.version.is_some() {
            self.log(out);
        }
    }

    fn done(&self) -> bool {
        self.logged
    }
}

impl QuicParser {
    /// The long-header packets of a client datagram: decrypts the Initial ones and reads
    /// their CRYPTO frames.
    fn client_datagram(&mut self, mut data: &[u8], out: &mut Out<'_>) {
        for _ in 0..MAX_PACKETS_PER_DATAGRAM {
            if self.tries >= MAX_INITIAL_TRIES {
                return;
            }
            let Some(packet) = long_packet(data) else {
                return;
            };
            data = data.get(packet.bytes.len()..).unwrap_or_default();
            if packet.kind != PacketKind::Initial {
                continue;
            }
            self.tries += 1;
            if self
                .keys
                .as_ref()
                .is_none_or(|(dcid, _)| dcid != packet.dcid)
            {
                // A new DCID (the first Initial, or one after a Retry): new keys.
                self.keys = InitialKeys::client(packet.version, packet.dcid)
                    .map(|k| (packet.dcid.to_vec(), k));
            }
            let Some(payload) = self.keys.as_ref().and_then(|(_, k)| k.open(&packet)) else {
                continue;
            };
            crypto_frames(&payload, |offset, bytes| self.crypto.insert(offset, bytes));
            if self.read_client_hello() {
                self.log(out);
                return;
            }
        }
    }

    /// Reads the ClientHello once the CRYPTO stream holds all of it; true when done with it
    /// (read, or not a ClientHello).
    fn read_client_hello(&mut self) -> bool {
        let stream = self.crypto.contiguous();
        let Some(&[kind, l0, l1, l2]) = stream.first_chunk::<4>() else {
            return false;
        };
        if kind != 1 {
            return true;
        }
        let len = usize::from(l0) << 16 | usize::from(l1) << 8 | usize::from(l2);
        let Some(body) = stream.get(4..4 + len) else {
            return false;
        };
        self.hello = ClientHello::parse(body);
        true
    }

    /// A gQUIC CHLO in the clear: `CHLO`, tag count (u16 LE), 2 bytes of padding, then
    /// (tag, end offset u32 LE) pairs, then the values.
    fn gquic_chlo(&mut self, data: &[u8], out: &mut Out<'_>) {
        let Some(at) = memchr::memmem::find(data, b"CHLO") else {
            return;
        };
        let Some(msg) = data.get(at + 4..) else {
            return;
        };
        let Some(&[n0, n1, _, _]) = msg.first_chunk::<4>() else {
            return;
        };
        let count = usize::from(u16::from_le_bytes([n0, n1])).min(MAX_CHLO_TAGS);
        let Some(values) = msg.get(4 + 8 * count..) else {
            return;
        };
        let mut start = 0usize;
        for i in 0..count {
            let Some(&[t0, t1, t2, t3, e0, e1, e2, e3]) =
                msg.get(4 + 8 * i..).and_then(|e| e.first_chunk::<8>())
            else {
                return;
            };
            let Ok(end) = usize::try_from(u32::from_le_bytes([e0, e1, e2, e3])) else {
                return;
            };
            let Some(value) = values.get(start..end) else {
                return;
            };
            let value = value.get(..MAX_TAG_VALUE_LEN).unwrap_or(value).to_vec();
            match &[t0, t1, t2, t3] {
                b"SNI\0" => self.gquic_sni = Some(value),
                b"UAID" => self.gquic_ua = Some(value),
                _ => {}
            }
            start = end;
        }
        self.log(out);
    }

    /// Writes the flow's `quic` event (once).
    fn log(&mut self, out: &mut Out<'_>) {
        if self.logged {
            return;
        }
        self.logged = true;
        self.crypto = CryptoStream::default();
        self.keys = None;
        let Some(version) = self.version else {
            return;
        };
        let hello = self.hello.take();
        let hello = hello.as_ref();
        let sni = hello
            .and_then(|h| h.sni.as_deref())
            .or(self.gquic_sni.as_deref());
        let ua = self.gquic_ua.as_deref();
        let ja3 = hello.map(|h| {
            let s = h.ja3();
            (md5_hex(&s), s)
        });
        let ja4 = hello.map(|h| h.ja4('q'));
        // Detection sees the ClientHello as in TLS: `tls.sni`, `ja3.hash`, `ja3.string` and
        // `ja4.hash` (with JA4's `q` prefix), sent to the server.
        if let Some(sni) = sni {
            out.buffer(Dir::ToServer, Buffer::TlsSni, sni);
        }
        if let Some((hash, string)) = &ja3 {
            out.buffer(Dir::ToServer, Buffer::Ja3Hash, hash.as_bytes());
            out.buffer(Dir::ToServer, Buffer::Ja3String, string.as_bytes());
        }
        if let Some(ja4) = &ja4 {
            out.buffer(Dir::ToServer, Buffer::Ja4Hash, ja4.as_bytes());
        }
        out.event("quic", true, Some(0), |w| {
            w.object("quic");
            w.plain("version", &version_name(version));
            if let Some(sni) = sni {
                w.bytes("sni", sni);
            }
            if let Some(ua) = ua {
                w.bytes("ua", ua);
            }
            if let (Some(h), Some((hash, string)), Some(ja4)) = (hello, &ja3, &ja4) {
                w.object("ja3");
                w.plain("hash", hash);
                w.plain("string", string);
                w.close();
                w.plain("ja4", ja4);
                if !h.alpns.is_empty() {
                    w.array("alpn");
                    for a in h.alpns.iter().take(MAX_ALPNS) {
                        w.str_element(a);
                    }
                    w.end_array();
                }
            }
            w.close();
        });
    }
}
