//! TLS tests on real handshakes:
//!
//! * `selfsigned_*`, `port80_*`, `cipher_lens_*`: TCP payloads of nDPI's test captures
//!   selfsigned.pcap, tls_port_80.pcapng and tls_cipher_lens.pcap (each direction
//!   concatenated). The expected JA3/JA3S/JA4 values are the ones nDPI prints for those flows
//!   (its .out files), JA3 strings as tshark prints them (`tls.handshake.ja3_full`).
//! * `openssl12_*`, `openssl13_*`: `openssl s_client -servername … -alpn h2,http/1.1
//!   -tls1_2` / `-tls1_3` against `openssl s_server -alpn h2,http/1.1` on 127.0.0.1 (OpenSSL
//!   3.0), captured on loopback; the server certificate is `cert.der`, made with
//!   `openssl req -x509 -newkey rsa:2048 -nodes -subj "/C=US/O=Test/CN=example.com"`.
//!   Subject, serial, dates and fingerprint as `openssl x509 -noout -subject -serial -dates
//!   -fingerprint -sha1` prints them. JA3 from tshark; JA4 from an independent Python
//!   implementation of the FoxIO spec (it reproduces nDPI's JA4 on the captures above).

use serde_json::{json, Value};

use super::*;
use crate::parser::Buffer;
use crate::testing::{hostile, probe_input, Harness};

const SELFSIGNED_CLIENT: &[u8] = include_bytes!("testdata/selfsigned_client.bin");
const SELFSIGNED_SERVER: &[u8] = include_bytes!("testdata/selfsigned_server.bin");
const PORT80_CLIENT: &[u8] = include_bytes!("testdata/port80_client.bin");
const PORT80_SERVER: &[u8] = include_bytes!("testdata/port80_server.bin");
const CIPHER_LENS_OK: &[u8] = include_bytes!("testdata/cipher_lens_51587.bin");
const CIPHER_LENS_BAD: &[u8] = include_bytes!("testdata/cipher_lens_51588.bin");
const OPENSSL12_CLIENT: &[u8] = include_bytes!("testdata/openssl12_client.bin");
const OPENSSL12_SERVER: &[u8] = include_bytes!("testdata/openssl12_server.bin");
const OPENSSL13_CLIENT: &[u8] = include_bytes!("testdata/openssl13_client.bin");
const OPENSSL13_SERVER: &[u8] = include_bytes!("testdata/openssl13_server.bin");
const CERT_DER: &[u8] = include_bytes!("testdata/cert.der");
const NOISSUER_CLIENT: &[u8] = include_bytes!("testdata/noissuer_client.bin");
const NOISSUER_SERVER: &[u8] = include_bytes!("testdata/noissuer_server.bin");

/// A SSLv2 ClientHello (version 0x0002, 7 cipher specs, 16-byte challenge), as old clients
/// sent it.
const SSLV2_CLIENT_HELLO: &[u8] = &[
    0x80, 0x2e, 0x01, 0x00, 0x02, 0x00, 0x15, 0x00, 0x00, 0x00, 0x10, // header, lengths
    0x07, 0x00, 0xc0, 0x05, 0x00, 0x80, 0x03, 0x00, 0x80, 0x01, 0x00, 0x80, 0x06, 0x00, 0x40, 0x04,
    0x00, 0x80, 0x02, 0x00, 0x80, // cipher specs
    0x9f, 0x6b, 0x1c, 0x2e, 0x40, 0x11, 0x3d, 0x08, 0x5a, 0x77, 0x21, 0x93, 0xe2, 0x5c, 0x0b,
    0x6e, // challenge
];

/// The start of a SSLv2 ServerHello: no session hit, X.509 certificate, version 0x0002.
const SSLV2_SERVER_HELLO: &[u8] = &[
    0x80, 0x0d, 0x04, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x07, 0x00,
];

fn make() -> Box<dyn Parser> {
    Box::<TlsParser>::default()
}

fn run(flow: &[(Dir, &[u8])]) -> Vec<Value> {
    let mut h = Harness::tcp(make());
    for (d, bytes) in flow {
        h.feed(*d, bytes);
    }
    h.finish();
    h.events()
}

fn only_event(flow: &[(Dir, &[u8])]) -> Value {
    let events = run(flow);
    assert_eq!(events.len(), 1, "{events:#?}");
    events.into_iter().next().unwrap_or_default()
}

/// The handshake messages of a record stream, re-wrapped in records of `size` bytes; other
/// records are kept as they are.
fn reframe(stream: &[u8], size: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut handshake = Vec::new();
    let mut rest = stream;
    while rest.len() >= 5 {
        let len = usize::from(u16::from_be_bytes([rest[3], rest[4]]));
        let (record, tail) = rest.split_at(5 + len);
        if record[0] == CONTENT_HANDSHAKE {
            handshake.extend_from_slice(&record[5..]);
        } else {
            wrap(&mut out, &handshake, size);
            handshake.clear();
            out.extend_from_slice(record);
        }
        rest = tail;
    }
    wrap(&mut out, &handshake, size);
    out
}

fn wrap(out: &mut Vec<u8>, handshake: &[u8], size: usize) {
    for piece in handshake.chunks(size) {
        out.extend_from_slice(&[CONTENT_HANDSHAKE, 3, 3]);
        out.extend_from_slice(&(piece.len() as u16).to_be_bytes());
        out.extend_from_slice(piece);
    }
}

/// One TLS record of `kind` around `body`.
fn record(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut r = vec![kind, 3, 3];
    r.extend_from_slice(&(body.len() as u16).to_be_bytes());
    r.extend_from_slice(body);
    r
}

/// One handshake message.
fn message(kind: u8, body: &[u8]) -> Vec<u8> {
    let len = body.len() as u32;
    let mut m = vec![kind];
    m.extend_from_slice(&len.to_be_bytes()[1..]);
    m.extend_from_slice(body);
    m
}

fn extension(t: u16, data: &[u8]) -> Vec<u8> {
    let mut e = t.to_be_bytes().to_vec();
    e.extend_from_slice(&(data.len() as u16).to_be_bytes());
    e.extend_from_slice(data);
    e
}

fn u16_list(len_bytes: usize, values: &[u16]) -> Vec<u8> {
    let body: Vec<u8> = values.iter().flat_map(|v| v.to_be_bytes()).collect();
    let mut out = if len_bytes == 1 {
        vec![body.len() as u8]
    } else {
        (body.len() as u16).to_be_bytes().to_vec()
    };
    out.extend_from_slice(&body);
    out
}

/// A ClientHello body offering exactly the JA4 spec's example (FoxIO technical_details/JA4.md:
/// 15 ciphers, 16 extensions, ALPN h2, TLS 1.3), with GREASE sprinkled in.
fn ja4_spec_client_hello() -> Vec<u8> {
    let ciphers = [
        0x2a2a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013,
        0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
    ];
    let sig_algs = [
        0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
    ];
    let mut exts = Vec::new();
    exts.extend(extension(0x3a3a, &[]));
    for t in [
        0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005, 0x0023, 0x0012,
        0x002b, 0xff01, 0x000b, 0x000a, 0x0015,
    ] {
        let data = match t {
            0x0000 => {
                let name = b"www.example.com";
                let mut d = ((name.len() + 3) as u16).to_be_bytes().to_vec();
                d.push(0);
                d.extend_from_slice(&(name.len() as u16).to_be_bytes());
                d.extend_from_slice(name);
                d
            }
            0x0010 => b"\x00\x0c\x02h2\x08http/1.1".to_vec(),
            0x000d => u16_list(2, &sig_algs),
            0x002b => u16_list(1, &[0x5a5a, 0x0304, 0x0303]),
            0x000a => u16_list(2, &[0x4a4a, 0x001d, 0x0017, 0x0018]),
            0x000b => vec![1, 0],
            _ => Vec::new(),
        };
        exts.extend(extension(t, &data));
    }
    let mut body = vec![3, 3];
    body.extend_from_slice(&[0x11; 32]); // random
    body.push(0); // session id
    body.extend(u16_list(2, &ciphers));
    body.extend_from_slice(&[1, 0]); // compression: null
    body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
    body.extend(exts);
    body
}

#[test]
fn probe_matches_hellos_of_either_direction() {
    let p = |d, data| probe(&probe_input(d, data, Transport::Tcp, 443));
    assert_eq!(p(Dir::ToServer, SELFSIGNED_CLIENT), Probe::Match);
    assert_eq!(p(Dir::ToClient, SELFSIGNED_SERVER), Probe::Match);
    assert_eq!(p(Dir::ToServer, CIPHER_LENS_OK), Probe::Match);
    assert_eq!(p(Dir::ToServer, CIPHER_LENS_BAD), Probe::Match);
    assert_eq!(p(Dir::ToServer, PORT80_CLIENT), Probe::Match);
    assert_eq!(p(Dir::ToServer, OPENSSL13_CLIENT), Probe::Match);
    assert_eq!(p(Dir::ToServer, SSLV2_CLIENT_HELLO), Probe::Match);
    assert_eq!(p(Dir::ToServer, &SELFSIGNED_CLIENT[..6]), Probe::Match);
}

#[test]
fn probe_needs_six_bytes_and_rejects_other_protocols() {
    let p = |data| probe(&probe_input(Dir::ToServer, data, Transport::Tcp, 443));
    assert_eq!(p(b""), Probe::NeedMore);
    assert_eq!(p(&SELFSIGNED_CLIENT[..5]), Probe::NeedMore);
    assert_eq!(p(&SSLV2_CLIENT_HELLO[..4]), Probe::NeedMore);
    assert_eq!(p(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"), Probe::NoMatch);
    assert_eq!(p(b"SSH-2.0-OpenSSH_9.6\r\n"), Probe::NoMatch);
    assert_eq!(p(b"\x16\x04"), Probe::NoMatch);
    // An alert record, application data, a handshake record holding a Finished.
    assert_eq!(p(b"\x15\x03\x03\x00\x02\x02\x28"), Probe::NoMatch);
    assert_eq!(p(b"\x17\x03\x03\x00\x10abcdef"), Probe::NoMatch);
    assert_eq!(p(b"\x16\x03\x03\x00\x10\x14\x00\x00\x0c"), Probe::NoMatch);
    // A record length no TLS record has.
    assert_eq!(p(b"\x16\x03\x01\xff\xff\x01"), Probe::NoMatch);
    assert_eq!(
        p(&[0x5a, 0x13, 0x99, 0x01, 0xee, 0x42, 0x07, 0x00]),
        Probe::NoMatch
    );
    assert_eq!(p(&[0x80, 0x2e, 0x01, 0x07, 0x07, 0x00]), Probe::NoMatch);
}

#[test]
fn tls12_handshake_with_certificate() {
    // The server's first flight holds ServerHello, Certificate, ServerKeyExchange and
    // ServerHelloDone; the client's second flight and the encrypted records follow.
    let (client_hello, client_rest) = SELFSIGNED_CLIENT.split_at(517);
    let ev = only_event(&[
        (Dir::ToServer, client_hello),
        (Dir::ToClient, SELFSIGNED_SERVER),
        (Dir::ToServer, client_rest),
    ]);
    assert_eq!(ev["event_type"], "tls");
    assert_eq!(ev["to_server"], true);
    assert_eq!(ev["tx_id"], 0);
    let tls = &ev["tls"];
    assert_eq!(tls["version"], "TLS 1.2");
    assert_eq!(tls["sni"], "localhost");
    assert_eq!(tls["subject"], "C=IT, ST=Some-State, O=ntop.org");
    assert_eq!(tls["issuerdn"], "C=IT, ST=Some-State, O=ntop.org");
    // openssl: serial=916A4CD167871602 (the DER INTEGER has a leading zero byte).
    assert_eq!(tls["serial"], "00:91:6A:4C:D1:67:87:16:02");
    assert_eq!(
        tls["fingerprint"],
        "af:cc:98:49:f2:00:0e:05:21:18:6c:77:5f:2a:cf:10:44:6e:d8:8b"
    );
    assert_eq!(tls["notbefore"], "2015-10-10T15:55:47");
    assert_eq!(tls["notafter"], "2016-10-09T15:55:47");
    assert_eq!(tls["ja3"]["hash"], "2a26b1a62e40d25d4de3babc9d532f30");
    assert_eq!(
        tls["ja3"]["string"],
        "771,52244-52243-52245-49200-49196-49192-49188-49172-49162-163-159-107-106-57-56-65413-\
         196-195-136-135-129-49202-49198-49194-49190-49167-49157-157-61-53-192-132-49199-49195-\
         49191-49187-49171-49161-162-158-103-64-51-50-190-189-69-68-49201-49197-49193-49189-\
         49166-49156-156-60-47-186-65-49170-49160-22-19-49165-49155-10-255,\
         0-11-10-13-13172-16-21,\
         14-13-25-28-11-12-27-24-9-10-26-22-23-8-6-7-20-21-4-5-18-19-1-2-3-15-16-17,0-1-2"
    );
    assert_eq!(tls["ja3s"]["hash"], "0debd3853f330c574b05e0b6d882dc27");
    assert_eq!(tls["ja3s"]["string"], "771,49200,65281-11");
    assert_eq!(tls["ja4"], "t12d6707h2_2955a3196ffa_c83f907a73d3");
    assert_eq!(tls["client_alpns"], json!(["h2", "http/1.1"]));
    assert!(tls.get("server_alpns").is_none());
    assert_eq!(tls["client_handshake"]["version"], "TLS 1.2");
    assert_eq!(
        tls["client_handshake"]["ciphers"].as_array().map(Vec::len),
        Some(67)
    );
    assert_eq!(
        tls["client_handshake"]["exts"],
        json!([0, 11, 10, 13, 13172, 16, 21])
    );
    assert_eq!(tls["server_handshake"]["cipher"], 49200);
}

#[test]
fn event_is_written_when_the_server_flight_ends() {
    let mut h = Harness::tcp(make());
    h.feed(Dir::ToServer, &SELFSIGNED_CLIENT[..517]);
    assert!(h.events().is_empty());
    h.feed(Dir::ToClient, SELFSIGNED_SERVER);
    assert_eq!(h.events().len(), 1);
    h.feed(Dir::ToServer, &SELFSIGNED_CLIENT[517..]);
    h.finish();
    assert_eq!(h.events().len(), 1);
}

#[test]
fn records_split_byte_by_byte_give_the_same_event() {
    let whole = only_event(&[
        (Dir::ToServer, SELFSIGNED_CLIENT),
        (Dir::ToClient, SELFSIGNED_SERVER),
    ]);
    let mut h = Harness::tcp(make());
    for b in SELFSIGNED_CLIENT.chunks(1) {
        h.feed(Dir::ToServer, b);
    }
    for b in SELFSIGNED_SERVER.chunks(1) {
        h.feed(Dir::ToClient, b);
    }
    h.finish();
    assert_eq!(h.events(), vec![whole]);
}

#[test]
fn messages_spanning_records_and_records_holding_messages() {
    let whole = only_event(&[
        (Dir::ToServer, OPENSSL12_CLIENT),
        (Dir::ToClient, OPENSSL12_SERVER),
    ]);
    for size in [1, 7, 100, 4000] {
        let client = reframe(OPENSSL12_CLIENT, size);
        let server = reframe(OPENSSL12_SERVER, size);
        let ev = only_event(&[(Dir::ToServer, &client), (Dir::ToClient, &server)]);
        assert_eq!(ev, whole, "records of {size} bytes");
    }
}

#[test]
fn openssl_tls12_certificate_and_server_alpn() {
    let ev = only_event(&[
        (Dir::ToServer, OPENSSL12_CLIENT),
        (Dir::ToClient, OPENSSL12_SERVER),
    ]);
    let tls = &ev["tls"];
    assert_eq!(tls["version"], "TLS 1.2");
    assert_eq!(tls["sni"], "example.com");
    assert_eq!(tls["subject"], "C=US, O=Test, CN=example.com");
    assert_eq!(tls["issuerdn"], "C=US, O=Test, CN=example.com");
    assert_eq!(
        tls["serial"],
        "58:C9:13:01:C2:61:0A:20:46:F3:5A:5F:05:69:3B:05:26:4D:A7:9D"
    );
    assert_eq!(
        tls["fingerprint"],
        "a4:38:84:63:62:41:f4:09:ce:35:58:c9:2f:e1:0c:08:ff:76:7e:6c"
    );
    assert_eq!(tls["notbefore"], "2026-11-25T09:45:20");
    assert_eq!(tls["notafter"], "2026-12-25T09:45:20");
    assert_eq!(tls["ja3"]["hash"], "22558766122974704364c9c75c5cce0a");
    assert_eq!(
        tls["ja3"]["string"],
        "771,49196-49200-159-52393-52392-52394-49195-49199-158-49188-49192-107-49187-49191-103-\
         49162-49172-57-49161-49171-51-157-156-61-60-53-47-255,0-11-10-35-16-22-23-13,\
         29-23-30-25-24,0-1-2"
    );
    assert_eq!(tls["ja3s"]["hash"], "895252f3ce80cebf7a8837be83ec8e16");
    assert_eq!(tls["ja3s"]["string"], "771,49200,65281-11-35-16-23");
    assert_eq!(tls["ja4"], "t12d2808h2_d943125447b4_e7e480e5a997");
    assert_eq!(tls["client_alpns"], json!(["h2", "http/1.1"]));
    assert_eq!(tls["server_alpns"], json!(["h2"]));
}

#[test]
fn handshake_buffers_go_to_detection() {
    let mut h = Harness::tcp(make());
    h.feed(Dir::ToServer, OPENSSL12_CLIENT);
    h.feed(Dir::ToClient, OPENSSL12_SERVER);
    h.finish();
    let b = |dir, buffer: Buffer| h.buffer(0, dir, &buffer);
    let (c, s) = (Dir::ToServer, Dir::ToClient);
    assert_eq!(b(c, Buffer::TlsSni), ["example.com"]);
    assert_eq!(b(c, Buffer::Ja3Hash), ["22558766122974704364c9c75c5cce0a"]);
    assert_eq!(
        b(c, Buffer::Ja3String),
        ["771,49196-49200-159-52393-52392-52394-49195-49199-158-49188-49192-107-49187-49191-103-\
          49162-49172-57-49161-49171-51-157-156-61-60-53-47-255,0-11-10-35-16-22-23-13,\
          29-23-30-25-24,0-1-2"]
    );
    assert_eq!(
        b(c, Buffer::Ja4Hash),
        ["t12d2808h2_d943125447b4_e7e480e5a997"]
    );
    assert_eq!(b(s, Buffer::Ja3sHash), ["895252f3ce80cebf7a8837be83ec8e16"]);
    assert_eq!(b(s, Buffer::Ja3sString), ["771,49200,65281-11-35-16-23"]);
    assert_eq!(
        b(s, Buffer::TlsCertSubject),
        ["C=US, O=Test, CN=example.com"]
    );
    assert_eq!(
        b(s, Buffer::TlsCertIssuer),
        ["C=US, O=Test, CN=example.com"]
    );
    assert_eq!(
        b(s, Buffer::TlsCertSerial),
        ["58:C9:13:01:C2:61:0A:20:46:F3:5A:5F:05:69:3B:05:26:4D:A7:9D"]
    );
    assert_eq!(
        b(s, Buffer::TlsCertFingerprint),
        ["a4:38:84:63:62:41:f4:09:ce:35:58:c9:2f:e1:0c:08:ff:76:7e:6c"]
    );
    // Nothing of the server's the other way round, and the reverse.
    assert!(b(c, Buffer::TlsCertSubject).is_empty());
    assert!(b(s, Buffer::TlsSni).is_empty());
}

/// Suricata verify test `tls-cert-noissuer` (Redmine issue 5439): a server certificate whose
/// issuer is an empty sequence. The handshake is the capture's first segment each way.
#[test]
fn certificate_without_issuer_still_gives_its_subject() {
    let mut h = Harness::tcp(make());
    h.feed(Dir::ToServer, NOISSUER_CLIENT);
    h.feed(Dir::ToClient, NOISSUER_SERVER);
    h.finish();
    let ev = h.events();
    assert_eq!(ev.len(), 1);
    let subject = "C=US, ST=Arizona, L=Scottsdale, streetAddress=, postalCode=6565, CN=localhost";
    assert_eq!(ev[0]["tls"]["subject"], subject);
    assert_eq!(ev[0]["tls"]["issuerdn"], "");
    assert_eq!(
        ev[0]["tls"]["serial"],
        "00:99:EB:86:2A:01:F8:48:DD:B2:A6:39:F2:1A:FC:03:54"
    );
    // The verify test's rule: `tls.cert_subject; content:"localhost";`.
    assert_eq!(
        h.buffer(0, Dir::ToClient, &Buffer::TlsCertSubject),
        [subject]
    );
    assert!(h
        .buffer(0, Dir::ToClient, &Buffer::TlsCertIssuer)
        .is_empty());
}

#[test]
fn certificate_summary_matches_openssl() {
    let c = cert::summarize(CERT_DER);
    assert_eq!(c.subject.as_deref(), Some("C=US, O=Test, CN=example.com"));
    assert_eq!(c.issuer.as_deref(), Some("C=US, O=Test, CN=example.com"));
    assert_eq!(
        c.serial.as_deref(),
        Some("58:C9:13:01:C2:61:0A:20:46:F3:5A:5F:05:69:3B:05:26:4D:A7:9D")
    );
    assert_eq!(
        c.fingerprint,
        "a4:38:84:63:62:41:f4:09:ce:35:58:c9:2f:e1:0c:08:ff:76:7e:6c"
    );
    // Not a certificate: still fingerprinted, nothing else.
    let junk = cert::summarize(b"not DER");
    assert!(junk.subject.is_none() && junk.serial.is_none());
    assert_eq!(junk.fingerprint.len(), 59);
}

#[test]
fn tls13_is_logged_at_server_hello() {
    let mut h = Harness::tcp(make());
    h.feed(Dir::ToServer, OPENSSL13_CLIENT);
    h.feed(Dir::ToClient, &OPENSSL13_SERVER[..127]); // the ServerHello record alone
    let events = h.events();
    assert_eq!(events.len(), 1);
    let tls = &events[0]["tls"];
    assert_eq!(tls["version"], "TLS 1.3");
    assert_eq!(tls["sni"], "www.example.org");
    assert_eq!(tls["ja3"]["hash"], "9dffdb8b608a430b774a2ff7d36c1a0c");
    assert_eq!(tls["ja3s"]["string"], "771,4866,43-51");
    assert_eq!(tls["ja4"], "t13d0411h2_16476d049b0b_78f1d400d464");
    assert_eq!(tls["server_handshake"]["version"], "TLS 1.3");
    // The certificate and the server's ALPN are encrypted in TLS 1.3.
    assert!(tls.get("subject").is_none());
    assert!(tls.get("server_alpns").is_none());
    h.feed(Dir::ToClient, &OPENSSL13_SERVER[127..]);
    h.finish();
    assert_eq!(h.events().len(), 1);
}

#[test]
fn truncated_server_flight_is_logged_at_finish() {
    // The capture ends inside the Certificate message.
    let mut h = Harness::tcp(make());
    h.feed(Dir::ToServer, PORT80_CLIENT);
    h.feed(Dir::ToClient, PORT80_SERVER);
    assert!(h.events().is_empty());
    h.finish();
    let events = h.events();
    assert_eq!(events.len(), 1);
    let tls = &events[0]["tls"];
    assert_eq!(tls["version"], "TLS 1.2");
    assert!(tls.get("sni").is_none());
    assert!(tls.get("subject").is_none());
    assert_eq!(tls["ja3"]["hash"], "3f2fba0262b1a22b739126dfb2fe7a7d");
    assert_eq!(tls["ja3s"]["hash"], "107030a763c7224285717ff1569a17f3");
    // No SNI: `i` (nDPI prints `d` here, against the spec).
    assert_eq!(tls["ja4"], "t12i550500_168bb377f8c8_a1e935682795");
}

#[test]
fn client_hello_alone_tls10() {
    let ev = only_event(&[(Dir::ToServer, CIPHER_LENS_OK)]);
    let tls = &ev["tls"];
    assert_eq!(tls["version"], "UNDETERMINED");
    assert_eq!(tls["sni"], "www.google.it");
    assert_eq!(tls["client_handshake"]["version"], "TLSv1");
    assert_eq!(tls["ja3"]["hash"], "755cdaa3496eb8728247a639dee17aad");
    assert_eq!(tls["ja4"], "t10d360600_77f462745360_6072aad2e91d");
}

#[test]
fn client_hello_with_a_cipher_list_too_long() {
    // Its cipher list swallows the extensions. Read as tshark and nDPI read it: the same JA3,
    // and the same JA4 but for the spec's `i` (no SNI) and zeros (no extensions) where nDPI
    // prints `d` and the SHA-256 of nothing.
    let ev = only_event(&[(Dir::ToServer, CIPHER_LENS_BAD)]);
    let tls = &ev["tls"];
    assert_eq!(tls["ja3"]["hash"], "8eae3e18d36ce24c4ac6b9eeb84ac762");
    assert!(tls["ja3"]["string"]
        .as_str()
        .unwrap()
        .ends_with("-13172-0-5-5-256-0,,,"));
    assert_eq!(tls["ja4"], "t10i660000_1ade43d4e5bc_000000000000");
    assert!(tls.get("sni").is_none());
}

#[test]
fn ja4_matches_the_spec_example_and_ignores_grease() {
    let hello = ClientHello::parse(&ja4_spec_client_hello()).unwrap();
    assert_eq!(hello.ciphers.len(), 15);
    assert_eq!(hello.extensions.len(), 16);
    assert_eq!(hello.versions, vec![0x0304, 0x0303]);
    assert_eq!(hello.groups, vec![0x001d, 0x0017, 0x0018]);
    assert_eq!(hello.ja4('t'), "t13d1516h2_8daaf6152771_e5627efa2ab1");
    assert_eq!(hello.ja4('q'), "q13d1516h2_8daaf6152771_e5627efa2ab1");
    assert_eq!(
        hello.ja3(),
        "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,\
         27-0-51-16-17513-23-45-13-5-35-18-43-65281-11-10-21,29-23-24,0"
    );
}

#[test]
fn ja4_edge_cases() {
    let mut hello = ClientHello {
        version: 0x0301,
        ..ClientHello::default()
    };
    // Nothing offered: zeros rather than hashes of nothing.
    assert_eq!(hello.ja4('t'), "t10i000000_000000000000_000000000000");
    // Only SNI and ALPN: extension list empty once they are left out.
    hello.extensions = vec![0x0000, 0x0010];
    hello.ciphers = vec![0x1301];
    for (alpn, chars) in [
        (&b"h2"[..], "h2"),
        (b"http/1.1", "h1"),
        (b"x", "xx"),
        (b"", "00"),
        (b"\xab", "ab"),
        (b"\xab\xcd", "ad"),
        (b"\x30\xab", "3b"),
        (b"\x30\x31\xab\xcd", "3d"),
        (b"\x30\xab\xcd\x31", "01"),
    ] {
        hello.alpns = vec![alpn.to_vec()];
        let ja4 = hello.ja4('t');
        assert_eq!(&ja4[..10], format!("t10d0102{chars}"), "{alpn:?}");
        assert!(ja4.ends_with("_000000000000"), "{ja4}");
    }
}

#[test]
fn grease_values() {
    assert!(hello::is_grease(0x0a0a));
    assert!(hello::is_grease(0xfafa));
    assert!(!hello::is_grease(0x0a1a));
    assert!(!hello::is_grease(0x1301));
}

#[test]
fn hello_retry_request_waits_for_the_real_server_hello() {
    let mut hrr_body = vec![3, 3];
    hrr_body.extend_from_slice(&[
        0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8,
        0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8,
        0x33, 0x9c,
    ]);
    hrr_body.extend_from_slice(&[0, 0x13, 0x01, 0]); // no session id, cipher, compression
    let exts = [extension(0x002b, &[3, 4]), extension(0x0033, &[0, 0x1d])].concat();
    hrr_body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
    hrr_body.extend(exts);
    let hrr = record(CONTENT_HANDSHAKE, &message(HS_SERVER_HELLO, &hrr_body));

    let mut h = Harness::tcp(make());
    h.feed(Dir::ToServer, OPENSSL13_CLIENT);
    h.feed(Dir::ToClient, &hrr);
    assert!(h.events().is_empty());
    h.feed(Dir::ToClient, OPENSSL13_SERVER);
    let events = h.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["tls"]["ja3s"]["string"], "771,4866,43-51");
}

#[test]
fn oversized_certificate_is_skipped_without_buffering() {
    // ServerHello, a 70 000-byte Certificate message over five records, ServerHelloDone.
    let server_hello = &OPENSSL12_SERVER[..5 + 74];
    let mut cert = message(HS_CERTIFICATE, &vec![0; 70_000]);
    let mut server = server_hello.to_vec();
    for piece in cert.chunks(16_384) {
        server.extend(record(CONTENT_HANDSHAKE, piece));
    }
    cert.clear();
    server.extend(record(
        CONTENT_HANDSHAKE,
        &message(HS_SERVER_HELLO_DONE, &[]),
    ));
    let ev = only_event(&[(Dir::ToServer, OPENSSL12_CLIENT), (Dir::ToClient, &server)]);
    assert_eq!(
        ev["tls"]["ja3s"]["hash"],
        "895252f3ce80cebf7a8837be83ec8e16"
    );
    assert!(ev["tls"].get("fingerprint").is_none());
}

#[test]
fn consumes_everything_once_done() {
    let mut buf = Vec::new();
    let mut written = Vec::new();
    let mut expect = Vec::new();
    let mut upgrade = None;
    let mut inspect = crate::parser::Inspect::default();
    let mut out = Out {
        transport: crate::Transport::Tcp,
        ts_ns: 0,
        log: true,
        client: ("10.0.0.1".parse().unwrap(), 40000),
        server: ("10.0.0.2".parse().unwrap(), 443),
        buf: &mut buf,
        events: &mut written,
        expect: &mut expect,
        upgrade: &mut upgrade,
        inspect: &mut inspect,
    };
    let mut p = TlsParser::default();
    // A record header split: nothing consumed until it is whole.
    assert_eq!(p.parse(Dir::ToServer, &SELFSIGNED_CLIENT[..3], &mut out), 0);
    // Record bodies are consumed as they come, even when incomplete.
    assert_eq!(
        p.parse(Dir::ToServer, &SELFSIGNED_CLIENT[..100], &mut out),
        100
    );
    assert_eq!(
        p.parse(Dir::ToServer, &SELFSIGNED_CLIENT[100..517], &mut out),
        417
    );
    assert_eq!(
        p.parse(Dir::ToClient, SELFSIGNED_SERVER, &mut out),
        SELFSIGNED_SERVER.len()
    );
    assert_eq!(written.len(), 1);
    let mut out = Out {
        transport: crate::Transport::Tcp,
        ts_ns: 0,
        log: true,
        client: ("10.0.0.1".parse().unwrap(), 40000),
        server: ("10.0.0.2".parse().unwrap(), 443),
        buf: &mut buf,
        events: &mut written,
        expect: &mut expect,
        upgrade: &mut upgrade,
        inspect: &mut inspect,
    };
    let garbage = vec![0x17; 100_000];
    assert_eq!(p.parse(Dir::ToServer, &garbage, &mut out), garbage.len());
    assert_eq!(p.parse(Dir::ToClient, &garbage[..2], &mut out), 2);
    assert_eq!(written.len(), 1);
}

#[test]
fn not_tls_is_dropped_and_gaps_stop_a_direction() {
    assert!(run(&[(Dir::ToServer, b"GET / HTTP/1.1\r\n\r\n")]).is_empty());

    let mut h = Harness::tcp(make());
    h.feed(Dir::ToServer, SELFSIGNED_CLIENT);
    h.feed(Dir::ToClient, &SELFSIGNED_SERVER[..50]);
    assert!(h.gap(Dir::ToClient, 1000));
    h.feed(Dir::ToClient, &SELFSIGNED_SERVER[1050..]);
    h.finish();
    let events = h.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["tls"]["sni"], "localhost");
    assert_eq!(events[0]["tls"]["version"], "UNDETERMINED");
}

#[test]
fn sslv2_hellos() {
    let ev = only_event(&[
        (Dir::ToServer, SSLV2_CLIENT_HELLO),
        (Dir::ToClient, SSLV2_SERVER_HELLO),
    ]);
    assert_eq!(ev["tls"]["version"], "SSLv2");
    assert!(ev["tls"].get("ja3").is_none());

    // A SSLv2 hello alone is logged at the end of the flow.
    let ev = only_event(&[(Dir::ToServer, SSLV2_CLIENT_HELLO)]);
    assert_eq!(ev["tls"]["version"], "UNDETERMINED");

    // SSLv2-compatible hello of a TLS client, answered in TLS: the ServerHello counts.
    let mut compat = SSLV2_CLIENT_HELLO.to_vec();
    compat[3..5].copy_from_slice(&[3, 1]);
    let ev = only_event(&[(Dir::ToServer, &compat), (Dir::ToClient, SELFSIGNED_SERVER)]);
    assert_eq!(ev["tls"]["version"], "TLS 1.2");
}

#[test]
fn hostile_input() {
    let spec = record(
        CONTENT_HANDSHAKE,
        &message(HS_CLIENT_HELLO, &ja4_spec_client_hello()),
    );
    let seeds: Vec<Vec<(Dir, Vec<u8>)>> = vec![
        vec![
            (Dir::ToServer, SELFSIGNED_CLIENT.to_vec()),
            (Dir::ToClient, SELFSIGNED_SERVER.to_vec()),
        ],
        vec![
            (Dir::ToServer, reframe(OPENSSL12_CLIENT, 50)),
            (Dir::ToClient, reframe(OPENSSL12_SERVER, 300)),
        ],
        vec![
            (Dir::ToServer, OPENSSL13_CLIENT.to_vec()),
            (Dir::ToClient, OPENSSL13_SERVER.to_vec()),
        ],
        vec![
            (Dir::ToServer, PORT80_CLIENT.to_vec()),
            (Dir::ToClient, PORT80_SERVER.to_vec()),
        ],
        vec![
            (Dir::ToServer, spec),
            (Dir::ToServer, CIPHER_LENS_BAD.to_vec()),
        ],
        vec![
            (Dir::ToServer, SSLV2_CLIENT_HELLO.to_vec()),
            (Dir::ToClient, SSLV2_SERVER_HELLO.to_vec()),
        ],
    ];
    hostile(make, probe, true, &seeds, 3000);
}
