//! QUIC tests:
//!
//! * `rfc9001_a2_client_initial.bin`: the protected client Initial of RFC 9001 Appendix A.2
//!   (QUIC v1, DCID 8394c8f03e515708); `rfc9369_a2_client_initial.bin`: the same ClientHello
//!   protected for QUIC v2 (RFC 9369 Appendix A.2). Both were checked to open (AES-GCM tag
//!   included) with an independent Python implementation using the `cryptography` package.
//! * `draft29_{1,2,3,4}.bin`: the first four datagrams of nDPI's quic-29.pcap (client
//!   Initial, server Retry, client Initial with the new DCID, server Initial). nDPI prints
//!   SNI `localhost`, ALPN `h3-29`, JA3 b3e43d74f4b790abca2f5fe7dd06e7cf.
//!
//! Expected JA3/JA4 values come from the Python JA3/JA4 implementation described in the TLS
//! tests, run on the decrypted ClientHellos.

use serde_json::{json, Value};

use super::initial::{crypto_frames, long_packet, InitialKeys, VERSION_1};
use super::*;
use crate::parser::Buffer;
use crate::testing::{hostile, probe_input, Harness};

const RFC9001_CLIENT_INITIAL: &[u8] = include_bytes!("testdata/rfc9001_a2_client_initial.bin");
const RFC9369_CLIENT_INITIAL: &[u8] = include_bytes!("testdata/rfc9369_a2_client_initial.bin");
const DRAFT29_CLIENT_INITIAL: &[u8] = include_bytes!("testdata/draft29_1.bin");
const DRAFT29_RETRY: &[u8] = include_bytes!("testdata/draft29_2.bin");
const DRAFT29_CLIENT_INITIAL_2: &[u8] = include_bytes!("testdata/draft29_3.bin");
const DRAFT29_SERVER_INITIAL: &[u8] = include_bytes!("testdata/draft29_4.bin");

/// The RFC 9001 ClientHello: SNI example.com, ALPN "alpn", TLS 1.3 only.
const RFC_JA4: &str = "q13d0211an_62ed6f6ca7ad_4d634acda6c0";
const RFC_JA3_HASH: &str = "41bc9ae914d6cb3bd0bd0a5453ab7d7f";

/// A gQUIC Q046 client datagram: long header (DCID 8 bytes, 4-byte packet number), the
/// 12-byte message hash, a STREAM frame on stream 1 holding a CHLO with SNI and UAID.
fn gquic_q046_chlo() -> Vec<u8> {
    let mut d = vec![0xc3];
    d.extend_from_slice(b"Q046");
    d.push(0x50);
    d.extend_from_slice(&[0x1a, 0x2b, 0x3c, 0x4d, 0x5e, 0x6f, 0x70, 0x81]);
    d.extend_from_slice(&[0, 0, 0, 1]);
    d.extend_from_slice(&[0x5c; 12]);
    d.extend_from_slice(&[0xa0, 0x01]);
    let sni = b"www.google.com";
    let ua = b"Chrome/75.0.3770.100 Windows NT 10.0; Win64; x64";
    d.extend_from_slice(b"CHLO");
    d.extend_from_slice(&[3, 0, 0, 0]);
    d.extend_from_slice(b"PAD\0");
    d.extend_from_slice(&10u32.to_le_bytes());
    d.extend_from_slice(b"SNI\0");
    d.extend_from_slice(&(10 + sni.len() as u32).to_le_bytes());
    d.extend_from_slice(b"UAID");
    d.extend_from_slice(&(10 + (sni.len() + ua.len()) as u32).to_le_bytes());
    d.extend_from_slice(&[b'-'; 10]);
    d.extend_from_slice(sni);
    d.extend_from_slice(ua);
    d.resize(1350, 0);
    d
}

fn make() -> Box<dyn Parser> {
    Box::<QuicParser>::default()
}

fn run(datagrams: &[(Dir, &[u8])]) -> Vec<Value> {
    let mut h = Harness::udp(make());
    for (d, bytes) in datagrams {
        h.feed(*d, bytes);
    }
    h.finish();
    h.events()
}

/// The CRYPTO stream of the RFC 9001 client Initial (its ClientHello).
fn rfc_client_hello() -> Vec<u8> {
    let packet = long_packet(RFC9001_CLIENT_INITIAL).unwrap();
    let keys = InitialKeys::client(VERSION_1, packet.dcid).unwrap();
    let payload = keys.open(&packet).unwrap();
    let mut hello = Vec::new();
    crypto_frames(&payload, |offset, data| {
        assert_eq!(offset as usize, hello.len());
        hello.extend_from_slice(data);
    });
    hello
}

fn crypto_frame(offset: usize, data: &[u8]) -> Vec<u8> {
    let mut f = vec![0x06, 0x40 | (offset >> 8) as u8, offset as u8];
    f.extend_from_slice(&[0x40 | (data.len() >> 8) as u8, data.len() as u8]);
    f.extend_from_slice(data);
    f
}

/// A protected client Initial of `version` to `dcid`, packet number `pn`, holding `frames`
/// padded to 1200 bytes.
fn client_initial(version: u32, dcid: &[u8], pn: u8, frames: &[u8]) -> Vec<u8> {
    let first = if version == initial::VERSION_2 {
        0xd0
    } else {
        0xc0
    };
    let mut header = vec![first];
    header.extend_from_slice(&version.to_be_bytes());
    header.push(dcid.len() as u8);
    header.extend_from_slice(dcid);
    header.extend_from_slice(&[0, 0]); // no SCID, no token
    let pn_offset = header.len() + 2;
    let payload_len = 1200 - pn_offset - 1 - 16;
    let mut payload = frames.to_vec();
    payload.resize(payload_len, 0);
    let length = 1 + payload_len + 16;
    header.extend_from_slice(&[0x40 | (length >> 8) as u8, length as u8, pn]);
    let keys = InitialKeys::client(version, dcid).unwrap();
    keys.seal(&header, pn_offset, &payload)
}

#[test]
fn probe_matches_long_headers_of_known_versions() {
    let p = |d, data| probe(&probe_input(d, data, Transport::Udp, 443));
    assert_eq!(p(Dir::ToServer, RFC9001_CLIENT_INITIAL), Probe::Match);
    assert_eq!(p(Dir::ToServer, RFC9369_CLIENT_INITIAL), Probe::Match);
    assert_eq!(p(Dir::ToServer, DRAFT29_CLIENT_INITIAL), Probe::Match);
    assert_eq!(p(Dir::ToClient, DRAFT29_RETRY), Probe::Match);
    assert_eq!(p(Dir::ToServer, &gquic_q046_chlo()), Probe::Match);
}

#[test]
fn probe_rejects_other_datagrams() {
    let p = |data: &[u8]| probe(&probe_input(Dir::ToServer, data, Transport::Udp, 443));
    assert_eq!(p(b""), Probe::NoMatch);
    assert_eq!(p(&RFC9001_CLIENT_INITIAL[..5]), Probe::NoMatch);
    // A DNS query for example.com.
    assert_eq!(
        p(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01"),
        Probe::NoMatch
    );
    // A TLS ClientHello record, a short-header QUIC packet, an unknown version.
    assert_eq!(
        p(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"),
        Probe::NoMatch
    );
    assert_eq!(
        p(b"\x41\x83\x94\xc8\xf0\x3e\x51\x57\x08\x00\x01"),
        Probe::NoMatch
    );
    assert_eq!(
        p(b"\xc0\xde\xad\xbe\xef\x08\x83\x94\xc8\xf0\x3e\x51\x57\x08\x00"),
        Probe::NoMatch
    );
    // A connection ID longer than 20 bytes.
    assert_eq!(p(b"\xc0\x00\x00\x00\x01\x15\x83\x94\xc8"), Probe::NoMatch);
    // An SSDP search (text over UDP).
    assert_eq!(
        p(b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n"),
        Probe::NoMatch
    );
}

#[test]
fn rfc9001_client_initial() {
    let events = run(&[(Dir::ToServer, RFC9001_CLIENT_INITIAL)]);
    assert_eq!(events.len(), 1);
    let ev = &events[0];
    assert_eq!(ev["event_type"], "quic");
    assert_eq!(ev["to_server"], true);
    assert_eq!(ev["tx_id"], 0);
    let q = &ev["quic"];
    assert_eq!(q["version"], "1");
    assert_eq!(q["sni"], "example.com");
    assert_eq!(q["alpn"], json!(["alpn"]));
    assert_eq!(q["ja4"], RFC_JA4);
    assert_eq!(q["ja3"]["hash"], RFC_JA3_HASH);
    assert_eq!(
        q["ja3"]["string"],
        "771,4865-4866,0-65281-10-16-5-51-43-13-45-28-57,29-23-24,"
    );
}

#[test]
fn rfc9369_client_initial_v2() {
    let events = run(&[(Dir::ToServer, RFC9369_CLIENT_INITIAL)]);
    assert_eq!(events.len(), 1);
    let q = &events[0]["quic"];
    assert_eq!(q["version"], "2");
    assert_eq!(q["sni"], "example.com");
    assert_eq!(q["ja4"], RFC_JA4);
}

#[test]
fn draft29_flow_with_retry() {
    let mut h = Harness::udp(make());
    h.feed(Dir::ToServer, DRAFT29_CLIENT_INITIAL);
    assert_eq!(
        h.events().len(),
        1,
        "logged as soon as the ClientHello is read"
    );
    h.feed(Dir::ToClient, DRAFT29_RETRY);
    h.feed(Dir::ToServer, DRAFT29_CLIENT_INITIAL_2);
    h.feed(Dir::ToClient, DRAFT29_SERVER_INITIAL);
    h.finish();
    let events = h.events();
    assert_eq!(events.len(), 1);
    let q = &events[0]["quic"];
    assert_eq!(q["version"], "29");
    assert_eq!(q["sni"], "localhost");
    assert_eq!(q["alpn"], json!(["h3-29"]));
    assert_eq!(q["ja3"]["hash"], "b3e43d74f4b790abca2f5fe7dd06e7cf");
    // nDPI prints `h3` for the ALPN characters; the spec takes the first and last: `h9`.
    assert_eq!(q["ja4"], "q13d0512h9_d55e91d5c3b2_cd318bf3b157");
}

#[test]
fn initial_after_retry_uses_its_own_dcid() {
    let events = run(&[(Dir::ToServer, DRAFT29_CLIENT_INITIAL_2)]);
    assert_eq!(events[0]["quic"]["sni"], "localhost");
}

#[test]
fn crypto_frames_out_of_order_over_two_packets() {
    let hello = rfc_client_hello();
    let dcid = [0x8d, 0x11, 0x2e, 0x7f, 0x00, 0x93, 0xa4, 0x5b];
    let first = [
        crypto_frame(150, &hello[150..]),
        crypto_frame(0, &hello[..60]),
    ]
    .concat();
    let second = [vec![0x01], crypto_frame(60, &hello[60..150])].concat();
    let mut h = Harness::udp(make());
    h.feed(Dir::ToServer, &client_initial(VERSION_1, &dcid, 0, &first));
    assert!(h.events().is_empty());
    h.feed(Dir::ToServer, &client_initial(VERSION_1, &dcid, 1, &second));
    let events = h.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["quic"]["sni"], "example.com");
    assert_eq!(events[0]["quic"]["ja4"], RFC_JA4);
}

#[test]
fn coalesced_packets_and_tampering() {
    let hello = rfc_client_hello();
    let dcid = [7u8; 12];
    // A 0-RTT-like packet coalesced after the Initial does not hide it.
    let mut datagram = client_initial(VERSION_1, &dcid, 0, &crypto_frame(0, &hello));
    datagram.extend_from_slice(&[0xd0, 0, 0, 0, 1, 0, 0, 0x05, 1, 2, 3, 4, 5]);
    assert_eq!(
        run(&[(Dir::ToServer, &datagram)])[0]["quic"]["sni"],
        "example.com"
    );

    // One bit changed: the packet does not open, only the version is logged.
    let mut bad = RFC9001_CLIENT_INITIAL.to_vec();
    bad[600] ^= 0x10;
    let events = run(&[(Dir::ToServer, &bad)]);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["quic"], json!({"version": "1"}));
}

#[test]
fn server_packets_alone_give_the_version() {
    let events = run(&[(Dir::ToClient, DRAFT29_SERVER_INITIAL)]);
    assert_eq!(events[0]["quic"], json!({"version": "29"}));
    assert!(run(&[(Dir::ToServer, b"\x41\x00\x01")]).is_empty());
}

#[test]
fn gquic_q046_chlo_in_the_clear() {
    let events = run(&[(Dir::ToServer, &gquic_q046_chlo())]);
    assert_eq!(events.len(), 1);
    let q = &events[0]["quic"];
    assert_eq!(q["version"], "Q046");
    assert_eq!(q["sni"], "www.google.com");
    assert_eq!(q["ua"], "Chrome/75.0.3770.100 Windows NT 10.0; Win64; x64");
}

#[test]
fn client_hello_buffers_go_to_detection() {
    let mut h = Harness::udp(make());
    h.feed(Dir::ToServer, RFC9001_CLIENT_INITIAL);
    h.finish();
    let all = vec![
        ("tls.sni".to_string(), b"example.com".to_vec()),
        ("ja3.hash".to_string(), RFC_JA3_HASH.as_bytes().to_vec()),
        (
            "ja3.string".to_string(),
            b"771,4865-4866,0-65281-10-16-5-51-43-13-45-28-57,29-23-24,".to_vec(),
        ),
        ("ja4.hash".to_string(), RFC_JA4.as_bytes().to_vec()),
    ];
    assert_eq!(h.buffers(), vec![all]);
    assert_eq!(h.buffer(0, Dir::ToServer, &Buffer::TlsSni), ["example.com"]);

    // gQUIC in the clear: the SNI only.
    let mut h = Harness::udp(make());
    h.feed(Dir::ToServer, &gquic_q046_chlo());
    assert_eq!(
        h.buffers(),
        vec![vec![("tls.sni".to_string(), b"www.google.com".to_vec())]]
    );
}

#[test]
fn version_names() {
    assert_eq!(version_name(1), "1");
    assert_eq!(version_name(0x6b33_43cf), "2");
    assert_eq!(version_name(0xff00_001d), "29");
    assert_eq!(version_name(0x5130_3530), "Q050");
    assert_eq!(version_name(0x1a2a_3a4a), "0x1a2a3a4a");
}

#[test]
fn hostile_input() {
    let hello = rfc_client_hello();
    let split = client_initial(
        VERSION_1,
        &[1, 2, 3, 4],
        0,
        &[
            crypto_frame(100, &hello[100..]),
            crypto_frame(0, &hello[..100]),
        ]
        .concat(),
    );
    let seeds: Vec<Vec<(Dir, Vec<u8>)>> = vec![
        vec![(Dir::ToServer, RFC9001_CLIENT_INITIAL.to_vec())],
        vec![(Dir::ToServer, RFC9369_CLIENT_INITIAL.to_vec())],
        vec![
            (Dir::ToServer, DRAFT29_CLIENT_INITIAL.to_vec()),
            (Dir::ToClient, DRAFT29_RETRY.to_vec()),
            (Dir::ToServer, DRAFT29_CLIENT_INITIAL_2.to_vec()),
            (Dir::ToClient, DRAFT29_SERVER_INITIAL.to_vec()),
        ],
        vec![(Dir::ToServer, split)],
        vec![(Dir::ToServer, gquic_q046_chlo())],
    ];
    hostile(make, probe, false, &seeds, 3000);
}

#[test]
fn frame_reader_and_reassembly_survive_garbage() {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let packet = long_packet(RFC9001_CLIENT_INITIAL).unwrap();
    let plain = InitialKeys::client(VERSION_1, packet.dcid)
        .unwrap()
        .open(&packet)
        .unwrap();
    for _ in 0..2000 {
        let mut p = plain.clone();
        for _ in 0..1 + next() % 8 {
            let i = (next() as usize) % p.len();
            p[i] = next() as u8;
        }
        p.truncate((next() as usize) % (p.len() + 1));
        let mut stream = initial::CryptoStream::default();
        crypto_frames(&p, |offset, data| stream.insert(offset, data));
        stream.insert(next() >> (next() % 64), &p[..p.len().min(40)]);
        let _ = ClientHello::parse(stream.contiguous().get(4..).unwrap_or_default());
    }
}

#[test]
fn old_gquic_public_header_and_mvfst_are_quic() {
    // Q043 client packet: flags 0x0d (version, 8-byte connection ID), CID, "Q043", packet
    // number, then a CHLO in the clear.
    let mut q043 = vec![0x0d];
    q043.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
    q043.extend_from_slice(b"Q043");
    q043.push(1);
    q043.extend_from_slice(&[0u8; 12]); // message authentication hash
    q043.extend_from_slice(b"CHLO");
    q043.extend_from_slice(&[1, 0, 0, 0]); // one tag
    q043.extend_from_slice(b"SNI\0");
    q043.extend_from_slice(&11u32.to_le_bytes());
    q043.extend_from_slice(b"example.com");
    let input = probe_input(Dir::ToServer, &q043, Transport::Udp, 443);
    assert_eq!(probe(&input), Probe::Match);
    let mut h = Harness::udp(Box::<QuicParser>::default());
    h.feed(Dir::ToServer, &q043);
    h.finish();
    let ev = h.events();
    assert_eq!(ev[0]["quic"]["version"], "Q043");
    assert_eq!(ev[0]["quic"]["sni"], "example.com");
    // mvfst: an IETF-style long header with Facebook's version.
    let mut fb = vec![0xc3, 0xfa, 0xce, 0xb0, 0x02, 8];
    fb.extend_from_slice(&[9; 8]);
    fb.push(0);
    fb.extend_from_slice(&[0; 40]);
    assert_eq!(
        probe(&probe_input(Dir::ToServer, &fb, Transport::Udp, 443)),
        Probe::Match
    );
    // Neither: a DNS query.
    let dns = [
        0x12u8, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, b'a', 0, 0, 1, 0, 1,
    ];
    assert_eq!(
        probe(&probe_input(Dir::ToServer, &dns, Transport::Udp, 443)),
        Probe::NoMatch
    );
}
