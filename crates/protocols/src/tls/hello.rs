//! ClientHello and ServerHello: what the client offers and the server picks, and the
//! fingerprints computed from them — JA3 and JA3S (Salesforce), JA4 (FoxIO).
//!
//! The messages are parsed with `tls-parser`; the extension list is walked here so that every
//! extension type is kept in order (fingerprints need the unknown ones too). GREASE values
//! (RFC 8701) are dropped as they are read: every fingerprint ignores them.
//!
//! Shared with QUIC, whose Initial packets carry the same ClientHello.

use md5::Md5;
use sha2::{Digest, Sha256};
use tls_parser::{
    parse_tls_client_hello_extension, parse_tls_handshake_client_hello,
    parse_tls_handshake_server_hello, parse_tls_server_hello_extension, TlsExtension,
};

/// Most cipher suites kept. A 64 KiB ClientHello could list 32 767; real clients offer under
/// 100 (old OpenSSL about 80), and a fingerprint needs every one of them.
const MAX_CIPHERS: usize = 512;
/// Most extensions, groups or signature algorithms kept (real clients: under 30 each).
const MAX_LIST: usize = 128;
/// Most EC point formats kept (three are defined).
const MAX_POINT_FORMATS: usize = 16;
/// Most ALPN names kept (each is at most 255 bytes by its 1-byte length).
const MAX_ALPNS: usize = 64;
/// Longest SNI kept (a DNS name is at most 253 characters; room for odd clients).
const MAX_SNI_LEN: usize = 1024;

/// The extension types fingerprints single out.
const EXT_SNI: u16 = 0x0000;
const EXT_ALPN: u16 = 0x0010;

/// ServerHello.random of a HelloRetryRequest (RFC 8446 §4.1.3): SHA-256 of
/// "HelloRetryRequest".
const HELLO_RETRY_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// Whether `v` is a GREASE value (RFC 8701: 0x0a0a, 0x1a1a, … 0xfafa).
pub(crate) fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff
}

/// What a ClientHello offers (GREASE left out).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ClientHello {
    /// `legacy_version` of the message (0x0303 for TLS 1.2 and 1.3 clients).
    pub(crate) version: u16,
    pub(crate) ciphers: Vec<u16>,
    /// Extension types, in the order sent.
    pub(crate) extensions: Vec<u16>,
    /// supported_groups (once called elliptic_curves).
    pub(crate) groups: Vec<u16>,
    pub(crate) point_formats: Vec<u8>,
    pub(crate) sig_algs: Vec<u16>,
    /// supported_versions.
    pub(crate) versions: Vec<u16>,
    /// The first host_name of server_name, truncated to `MAX_SNI_LEN`.
    pub(crate) sni: Option<Vec<u8>>,
    pub(crate) alpns: Vec<Vec<u8>>,
}

/// What a ServerHello picks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ServerHello {
    /// `legacy_version` of the message.
    pub(crate) version: u16,
    pub(crate) cipher: u16,
    /// Extension types, in the order sent.
    pub(crate) extensions: Vec<u16>,
    /// supported_versions: the version TLS 1.3 servers really chose.
    pub(crate) selected_version: Option<u16>,
    pub(crate) alpns: Vec<Vec<u8>>,
    /// A HelloRetryRequest (RFC 8446 §4.1.4): the real ServerHello is still to come.
    pub(crate) retry: bool,
}

/// Walks an extension block: calls `f(type, whole extension)` for each extension, GREASE
/// included; stops at the first one that does not fit.
fn each_extension(mut block: &[u8], mut f: impl FnMut(u16, &[u8])) {
    while let Some((&[t0, t1, l0, l1], rest)) = block.split_first_chunk::<4>() {
        let len = usize::from(u16::from_be_bytes([l0, l1]));
        let Some(whole) = block.get(..4 + len) else {
            return;
        };
        f(u16::from_be_bytes([t0, t1]), whole);
        block = rest.get(len..).unwrap_or_default();
    }
}

fn push_capped<T>(v: &mut Vec<T>, cap: usize, x: T) {
    if v.len() < cap {
        v.push(x);
    }
}

fn alpn_list(names: &[&[u8]]) -> Vec<Vec<u8>> {
    names.iter().take(MAX_ALPNS).map(|n| n.to_vec()).collect()
}

impl ClientHello {
    /// Reads the body of a ClientHello handshake message (after its 4-byte header).
    pub(crate) fn parse(body: &[u8]) -> Option<ClientHello> {
        let (_, ch) = parse_tls_handshake_client_hello(body).ok()?;
        let mut hello = ClientHello {
            version: ch.version.0,
            ciphers: ch
                .ciphers
                .iter()
                .map(|c| c.0)
                .filter(|&c| !is_grease(c))
                .take(MAX_CIPHERS)
                .collect(),
            ..ClientHello::default()
        };
        if let Some(block) = ch.ext {
            each_extension(block, |t, whole| hello.extension(t, whole));
        }
        Some(hello)
    }

    fn extension(&mut self, t: u16, whole: &[u8]) {
        if is_grease(t) {
            return;
        }
        push_capped(&mut self.extensions, MAX_LIST, t);
        let Ok((_, ext)) = parse_tls_client_hello_extension(whole) else {
            return;
        };
        match ext {
            TlsExtension::SNI(names) if self.sni.is_none() => {
                if let Some((_, name)) = names.iter().find(|(kind, _)| kind.0 == 0) {
                    self.sni = Some(name.get(..MAX_SNI_LEN).unwrap_or(name).to_vec());
                }
            }
            TlsExtension::EllipticCurves(groups) => {
                for g in groups.iter().filter(|g| !is_grease(g.0)) {
                    push_capped(&mut self.groups, MAX_LIST, g.0);
                }
            }
            TlsExtension::EcPointFormats(formats) => {
                for &f in formats {
                    push_capped(&mut self.point_formats, MAX_POINT_FORMATS, f);
                }
            }
            TlsExtension::SignatureAlgorithms(algs) => {
                for &a in algs.iter().filter(|&&a| !is_grease(a)) {
                    push_capped(&mut self.sig_algs, MAX_LIST, a);
                }
            }
            TlsExtension::SupportedVersions(versions) => {
                for v in versions.iter().filter(|v| !is_grease(v.0)) {
                    push_capped(&mut self.versions, MAX_LIST, v.0);
                }
            }
            TlsExtension::ALPN(names) if self.alpns.is_empty() => self.alpns = alpn_list(&names),
            _ => {}
        }
    }

    /// The JA3 string: `version,ciphers,extensions,groups,point formats`, decimal values
    /// joined with `-`.
    pub(crate) fn ja3(&self) -> String {
        let mut s = String::with_capacity(256);
        join_decimal(&mut s, std::iter::once(self.version));
        s.push(',');
        join_decimal(&mut s, self.ciphers.iter().copied());
        s.push(',');
        join_decimal(&mut s, self.extensions.iter().copied());
        s.push(',');
        join_decimal(&mut s, self.groups.iter().copied());
        s.push(',');
        join_decimal(&mut s, self.point_formats.iter().map(|&f| u16::from(f)));
        s
    }

    /// The version JA4 reports: the highest of supported_versions, else `legacy_version`.
    pub(crate) fn ja4_version(&self) -> u16 {
        self.versions.iter().copied().max().unwrap_or(self.version)
    }

    /// The JA4 fingerprint; `proto` is `t` (TLS over TCP) or `q` (QUIC).
    pub(crate) fn ja4(&self, proto: char) -> String {
        let mut s = String::with_capacity(36);
        s.push(proto);
        s.push_str(match self.ja4_version() {
            0x0304 => "13",
            0x0303 => "12",
            0x0302 => "11",
            0x0301 => "10",
            0x0300 => "s3",
            0x0002 => "s2",
            0xfeff => "d1",
            0xfefd => "d2",
            0xfefc => "d3",
            _ => "00",
        });
        s.push(if self.extensions.contains(&EXT_SNI) {
            'd'
        } else {
            'i'
        });
        push_count(&mut s, self.ciphers.len());
        push_count(&mut s, self.extensions.len());
        push_alpn_chars(
            &mut s,
            self.alpns.first().map(Vec::as_slice).unwrap_or_default(),
        );
        s.push('_');

        let mut ciphers = self.ciphers.clone();
        ciphers.sort_unstable();
        let mut list = String::new();
        join_hex(&mut list, &ciphers);
        push_truncated_sha256(&mut s, &list, ciphers.is_empty());
        s.push('_');

        let mut exts: Vec<u16> = self
            .extensions
            .iter()
            .copied()
            .filter(|&e| e != EXT_SNI && e != EXT_ALPN)
            .collect();
        exts.sort_unstable();
        list.clear();
        join_hex(&mut list, &exts);
        if !self.sig_algs.is_empty() {
            list.push('_');
            join_hex(&mut list, &self.sig_algs);
        }
        push_truncated_sha256(&mut s, &list, exts.is_empty());
        s
    }
}

impl ServerHello {
    /// Reads the body of a ServerHello handshake message (after its 4-byte header).
    pub(crate) fn parse(body: &[u8]) -> Option<ServerHello> {
        let (_, sh) = parse_tls_handshake_server_hello(body).ok()?;
        let mut hello = ServerHello {
            version: sh.version.0,
            cipher: sh.cipher.0,
            retry: sh.random == HELLO_RETRY_RANDOM,
            ..ServerHello::default()
        };
        if let Some(block) = sh.ext {
            each_extension(block, |t, whole| hello.extension(t, whole));
        }
        Some(hello)
    }

    fn extension(&mut self, t: u16, whole: &[u8]) {
        if is_grease(t) {
            return;
        }
        push_capped(&mut self.extensions, MAX_LIST, t);
        match parse_tls_server_hello_extension(whole) {
            Ok((_, TlsExtension::SupportedVersions(v))) => {
                self.selected_version = v.first().map(|v| v.0);
            }
            Ok((_, TlsExtension::ALPN(names))) => self.alpns = alpn_list(&names),
            _ => {}
        }
    }

    /// The version the server settled on.
    pub(crate) fn negotiated_version(&self) -> u16 {
        self.selected_version.unwrap_or(self.version)
    }

    /// The JA3S string: `version,cipher,extensions`.
    pub(crate) fn ja3s(&self) -> String {
        let mut s = String::with_capacity(64);
        join_decimal(&mut s, std::iter::once(self.version));
        s.push(',');
        join_decimal(&mut s, std::iter::once(self.cipher));
        s.push(',');
        join_decimal(&mut s, self.extensions.iter().copied());
        s
    }
}

/// The name Suricata gives a protocol version (`TLS 1.2`, `TLSv1`, `SSLv3`, …).
pub(crate) fn version_name(v: u16) -> String {
    match v {
        0x0002 => "SSLv2".into(),
        0x0300 => "SSLv3".into(),
        0x0301 => "TLSv1".into(),
        0x0302 => "TLS 1.1".into(),
        0x0303 => "TLS 1.2".into(),
        0x0304 => "TLS 1.3".into(),
        v if v >> 8 == 0x7f => format!("TLS 1.3 draft-{}", v & 0xff),
        v => format!("0x{v:04x}"),
    }
}

/// Lowercase hex MD5 of `s` (JA3 and JA3S hashes).
pub(crate) fn md5_hex(s: &str) -> String {
    hex(&Md5::digest(s.as_bytes()))
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(D[usize::from(b >> 4)]));
        s.push(char::from(D[usize::from(b & 15)]));
    }
    s
}

fn join_decimal(s: &mut String, values: impl Iterator<Item = u16>) {
    let mut digits = itoa::Buffer::new();
    for (i, v) in values.enumerate() {
        if i > 0 {
            s.push('-');
        }
        s.push_str(digits.format(v));
    }
}

fn join_hex(s: &mut String, values: &[u16]) {
    const D: &[u8; 16] = b"0123456789abcdef";
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        for shift in [12, 8, 4, 0] {
            s.push(char::from(D[usize::from((v >> shift) & 15)]));
        }
    }
}

/// Two digits, 99 at most.
fn push_count(s: &mut String, n: usize) {
    let n = n.min(99);
    s.push(char::from(b'0' + (n / 10) as u8));
    s.push(char::from(b'0' + (n % 10) as u8));
}

/// JA4's two ALPN characters: first and last of the first ALPN value when both are ASCII
/// alphanumerics, else first and last of its hex; `00` without one.
fn push_alpn_chars(s: &mut String, alpn: &[u8]) {
    let (Some(&first), Some(&last)) = (alpn.first(), alpn.last()) else {
        s.push_str("00");
        return;
    };
    if first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric() {
        s.push(char::from(first));
        s.push(char::from(last));
    } else {
        let h = hex(&[first, last]);
        s.push_str(h.get(..1).unwrap_or("0"));
        s.push_str(h.get(3..).unwrap_or("0"));
    }
}

/// The first 12 hex digits of SHA-256 of `list`, or twelve zeros when the list is empty.
fn push_truncated_sha256(s: &mut String, list: &str, empty: bool) {
    if empty {
        s.push_str("000000000000");
    } else {
        let digest = Sha256::digest(list.as_bytes());
        s.push_str(&hex(digest.get(..6).unwrap_or_default()));
    }
}
