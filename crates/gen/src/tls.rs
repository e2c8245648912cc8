//! TLS handshake records in the shape a modern browser and server send: TLS 1.3, and TLS 1.2
//! with the server's certificate in the clear.
//!
//! Only the cleartext part is real (ClientHello with SNI and ALPN, ServerHello, for TLS 1.2
//! Certificate and ServerHelloDone, ChangeCipherSpec); everything after is application-data
//! records with random content (see [`crate::content::Fill::TlsRecords`]).

use crate::content::{close_len, open_len};
use crate::rng::SplitMix64;

const CONTENT_HANDSHAKE: u8 = 22;
const HANDSHAKE_CLIENT_HELLO: u8 = 1;
const HANDSHAKE_SERVER_HELLO: u8 = 2;
const TLS_1_2: u16 = 0x0303;
const TLS_1_3: u16 = 0x0304;
const GROUP_X25519: u16 = 0x001d;
const CIPHER_AES_128_GCM_SHA256: u16 = 0x1301;

const CIPHER_SUITES: [u16; 15] = [
    0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c,
    0x009d, 0x002f, 0x0035,
];
const SUPPORTED_GROUPS: [u16; 3] = [GROUP_X25519, 0x0017, 0x0018];
const SIGNATURE_ALGORITHMS: [u16; 8] = [
    0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
];
const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

const EXT_SERVER_NAME: u16 = 0x0000;
const EXT_SUPPORTED_GROUPS: u16 = 0x000a;
const EXT_EC_POINT_FORMATS: u16 = 0x000b;
const EXT_SIGNATURE_ALGORITHMS: u16 = 0x000d;
const EXT_ALPN: u16 = 0x0010;
const EXT_SUPPORTED_VERSIONS: u16 = 0x002b;
const EXT_PSK_KEY_EXCHANGE_MODES: u16 = 0x002d;
const EXT_KEY_SHARE: u16 = 0x0033;

/// ChangeCipherSpec record sent by TLS 1.3 peers for middlebox compatibility.
pub(crate) const CHANGE_CIPHER_SPEC: [u8; 6] = [20, 3, 3, 0, 1, 1];

fn put16(buf: &mut Vec<u8>, v: u16) {
    buf.extend_from_slice(&v.to_be_bytes());
}

/// Extension with a body written by `body`.
fn extension(buf: &mut Vec<u8>, kind: u16, body: impl FnOnce(&mut Vec<u8>)) {
    put16(buf, kind);
    let at = open_len(buf, 2);
    body(buf);
    close_len(buf, at, 2);
}

/// A u16-length-prefixed list of u16 values.
fn list16(buf: &mut Vec<u8>, values: &[u16]) {
    let at = open_len(buf, 2);
    for &v in values {
        put16(buf, v);
    }
    close_len(buf, at, 2);
}

/// A complete ClientHello record for `sni`.
pub(crate) fn client_hello(rng: &mut SplitMix64, sni: &str, session_id: &[u8; 32]) -> Vec<u8> {
    let mut b = Vec::with_capacity(600);
    b.push(CONTENT_HANDSHAKE);
    put16(&mut b, 0x0301);
    let record = open_len(&mut b, 2);
    b.push(HANDSHAKE_CLIENT_HELLO);
    let hello = open_len(&mut b, 3);
    put16(&mut b, TLS_1_2);
    b.extend_from_slice(&rng.bytes::<32>());
    b.push(32);
    b.extend_from_slice(session_id);
    list16(&mut b, &CIPHER_SUITES);
    // One compression method: null.
    b.extend_from_slice(&[1, 0]);
    let extensions = open_len(&mut b, 2);
    extension(&mut b, EXT_SERVER_NAME, |b| {
        let list = open_len(b, 2);
        b.push(0); // host_name
        put16(b, sni.len() as u16);
        b.extend_from_slice(sni.as_bytes());
        close_len(b, list, 2);
    });
    extension(&mut b, EXT_EC_POINT_FORMATS, |b| {
        b.extend_from_slice(&[1, 0])
    });
    extension(&mut b, EXT_SUPPORTED_GROUPS, |b| {
        list16(b, &SUPPORTED_GROUPS)
    });
    extension(&mut b, EXT_ALPN, |b| {
        let list = open_len(b, 2);
        for proto in ALPN {
            b.push(proto.len() as u8);
            b.extend_from_slice(proto);
        }
        close_len(b, list, 2);
    });
    extension(&mut b, EXT_SIGNATURE_ALGORITHMS, |b| {
        list16(b, &SIGNATURE_ALGORITHMS)
    });
    extension(&mut b, EXT_SUPPORTED_VERSIONS, |b| {
        let list = open_len(b, 1);
        put16(b, TLS_1_3);
        put16(b, TLS_1_2);
        close_len(b, list, 1);
    });
    extension(&mut b, EXT_PSK_KEY_EXCHANGE_MODES, |b| {
        b.extend_from_slice(&[1, 1])
    });
    let key = rng.bytes::<32>();
    extension(&mut b, EXT_KEY_SHARE, |b| {
        let shares = open_len(b, 2);
        put16(b, GROUP_X25519);
        put16(b, 32);
        b.extend_from_slice(&key);
        close_len(b, shares, 2);
    });
    close_len(&mut b, extensions, 2);
    close_len(&mut b, hello, 3);
    close_len(&mut b, record, 2);
    b
}

/// ServerHello record followed by the ChangeCipherSpec record.
pub(crate) fn server_hello(rng: &mut SplitMix64, session_id: &[u8; 32]) -> Vec<u8> {
    let mut b = Vec::with_capacity(140);
    b.push(CONTENT_HANDSHAKE);
    put16(&mut b, TLS_1_2);
    let record = open_len(&mut b, 2);
    b.push(HANDSHAKE_SERVER_HELLO);
    let hello = open_len(&mut b, 3);
    put16(&mut b, TLS_1_2);
    b.extend_from_slice(&rng.bytes::<32>());
    b.push(32);
    b.extend_from_slice(session_id);
    put16(&mut b, CIPHER_AES_128_GCM_SHA256);
    b.push(0);
    let extensions = open_len(&mut b, 2);
    extension(&mut b, EXT_SUPPORTED_VERSIONS, |b| put16(b, TLS_1_3));
    let key = rng.bytes::<32>();
    extension(&mut b, EXT_KEY_SHARE, |b| {
        put16(b, GROUP_X25519);
        put16(b, 32);
        b.extend_from_slice(&key);
    });
    close_len(&mut b, extensions, 2);
    close_len(&mut b, hello, 3);
    close_len(&mut b, record, 2);
    b.extend_from_slice(&CHANGE_CIPHER_SPEC);
    b
}

/// A real self-signed certificate (`CN=*.example.com`, RSA 2048) that every synthetic TLS 1.2
/// server presents.
const SITE_CERT: &[u8] = include_bytes!("site-cert.der");
const HANDSHAKE_CERTIFICATE: u8 = 11;
const HANDSHAKE_SERVER_HELLO_DONE: u8 = 14;
const CIPHER_ECDHE_RSA_AES_128_GCM_SHA256: u16 = 0xc02f;

/// A TLS 1.2 server's first flight: ServerHello, Certificate and ServerHelloDone, each in its
/// own handshake record.
pub(crate) fn server_hello_tls12(rng: &mut SplitMix64, session_id: &[u8; 32]) -> Vec<u8> {
    let mut b = Vec::with_capacity(1100);
    let handshake = |b: &mut Vec<u8>, kind: u8, body: &dyn Fn(&mut Vec<u8>)| {
        b.push(CONTENT_HANDSHAKE);
        put16(b, TLS_1_2);
        let record = open_len(b, 2);
        b.push(kind);
        let msg = open_len(b, 3);
        body(b);
        close_len(b, msg, 3);
        close_len(b, record, 2);
    };
    let random = rng.bytes::<32>();
    handshake(&mut b, HANDSHAKE_SERVER_HELLO, &|b| {
        put16(b, TLS_1_2);
        b.extend_from_slice(&random);
        b.push(32);
        b.extend_from_slice(session_id);
        put16(b, CIPHER_ECDHE_RSA_AES_128_GCM_SHA256);
        b.push(0);
        let extensions = open_len(b, 2);
        extension(b, EXT_ALPN, |b| {
            let list = open_len(b, 2);
            b.push(8);
            b.extend_from_slice(b"http/1.1");
            close_len(b, list, 2);
        });
        close_len(b, extensions, 2);
    });
    handshake(&mut b, HANDSHAKE_CERTIFICATE, &|b| {
        let chain = open_len(b, 3);
        let cert = open_len(b, 3);
        b.extend_from_slice(SITE_CERT);
        close_len(b, cert, 3);
        close_len(b, chain, 3);
    });
    handshake(&mut b, HANDSHAKE_SERVER_HELLO_DONE, &|_| {});
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn be(bytes: &[u8]) -> usize {
        bytes.iter().fold(0, |acc, &b| (acc << 8) | usize::from(b))
    }

    #[test]
    fn client_hello_lengths_are_consistent_and_carry_sni() {
        let mut rng = SplitMix64::new(5);
        let ch = client_hello(&mut rng, "www.site7.example.com", &[9; 32]);
        assert_eq!(ch[0], 22);
        assert_eq!(be(&ch[3..5]), ch.len() - 5);
        assert_eq!(ch[5], 1);
        assert_eq!(be(&ch[6..9]), ch.len() - 9);
        // session id at 9 + 2 + 32.
        let mut at = 9 + 2 + 32;
        assert_eq!(ch[at], 32);
        at += 1 + 32;
        at += 2 + be(&ch[at..at + 2]); // cipher suites
        at += 1 + usize::from(ch[at]); // compression
        let ext_end = at + 2 + be(&ch[at..at + 2]);
        assert_eq!(ext_end, ch.len());
        at += 2;
        let mut sni = None;
        while at < ext_end {
            let kind = be(&ch[at..at + 2]);
            let len = be(&ch[at + 2..at + 4]);
            if kind == 0 {
                let name_len = be(&ch[at + 7..at + 9]);
                sni = Some(ch[at + 9..at + 9 + name_len].to_vec());
            }
            at += 4 + len;
        }
        assert_eq!(at, ext_end);
        assert_eq!(sni.as_deref(), Some(&b"www.site7.example.com"[..]));
    }

    #[test]
    fn server_hello_is_followed_by_change_cipher_spec() {
        let mut rng = SplitMix64::new(5);
        let sh = server_hello(&mut rng, &[9; 32]);
        let first = 5 + be(&sh[3..5]);
        assert_eq!(&sh[first..], &CHANGE_CIPHER_SPEC);
        assert_eq!(sh[5], 2);
        assert_eq!(be(&sh[6..9]), first - 9);
    }
}
