//! SIP tests on the Alice-to-Bob call of RFC 3261 §24.2 (with an SDP offer of the size the
//! RFC gives), over UDP and TCP.

use super::*;
use crate::testing::{hostile, probe_input, Harness};

const SDP: &str = "v=0\r\no=alice 2890844526 2890844526 IN IP4 pc33.atlanta.com\r\n\
s=-\r\nc=IN IP4 pc33.atlanta.com\r\nt=0 0\r\nm=audio 49172 RTP/AVP 0\r\n\
a=rtpmap:0 PCMU/8000\r\n";

fn invite() -> Vec<u8> {
    format!(
        "INVITE sip:bob@biloxi.com SIP/2.0\r\n\
Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@biloxi.com>\r\n\
From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:alice@pc33.atlanta.com>\r\n\
User-Agent: Softphone Beta1.5\r\n\
Content-Type: application/sdp\r\n\
Content-Length: {}\r\n\r\n{SDP}",
        SDP.len()
    )
    .into_bytes()
}

const RINGING: &[u8] = b"SIP/2.0 180 Ringing\r\n\
Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds;received=192.0.2.1\r\n\
To: Bob <sip:bob@biloxi.com>;tag=a6c85cf\r\n\
From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n\
Contact: <sip:bob@192.0.2.4>\r\n\
CSeq: 314159 INVITE\r\n\
Content-Length: 0\r\n\r\n";

/// A REGISTER in compact header form (RFC 3261 §7.3.3), answered 401.
const REGISTER: &[u8] = b"REGISTER sips:ss2.biloxi.example.com SIP/2.0\r\n\
v: SIP/2.0/TLS client.biloxi.example.com:5061;branch=z9hG4bKnashds7\r\n\
f: Bob <sips:bob@biloxi.example.com>;tag=a73kszlfl\r\n\
t: Bob <sips:bob@biloxi.example.com>\r\n\
i: 1j9FpLxk3uxtm8tn@biloxi.example.com\r\n\
CSeq: 1 REGISTER\r\n\
l: 0\r\n\r\n";
const UNAUTHORIZED: &[u8] = b"SIP/2.0 401 Unauthorized\r\n\
Server: Asterisk PBX 18.10.0\r\n\
i: 1j9FpLxk3uxtm8tn@biloxi.example.com\r\n\
CSeq: 1 REGISTER\r\n\
Content-Length: 0\r\n\r\n";

fn parser() -> Box<dyn Parser> {
    Box::<SipParser>::default()
}

fn call() -> Vec<(Dir, Vec<u8>)> {
    vec![
        (Dir::ToServer, invite()),
        (Dir::ToClient, RINGING.to_vec()),
        (Dir::ToServer, REGISTER.to_vec()),
        (Dir::ToClient, UNAUTHORIZED.to_vec()),
    ]
}

fn check(ev: &[serde_json::Value]) {
    assert_eq!(ev.len(), 4, "{ev:?}");
    let s: Vec<_> = ev.iter().map(|e| &e["sip"]).collect();
    assert_eq!(s[0]["method"], "INVITE");
    assert_eq!(s[0]["uri"], "sip:bob@biloxi.com");
    assert_eq!(s[0]["version"], "SIP/2.0");
    assert_eq!(s[0]["from"], "Alice <sip:alice@atlanta.com>;tag=1928301774");
    assert_eq!(s[0]["to"], "Bob <sip:bob@biloxi.com>");
    assert_eq!(s[0]["call_id"], "a84b4c76e66710@pc33.atlanta.com");
    assert_eq!(s[0]["cseq"], "314159 INVITE");
    assert_eq!(s[0]["user_agent"], "Softphone Beta1.5");
    assert!(s[0].get("code").is_none());
    assert_eq!(ev[0]["to_server"], true);

    assert_eq!(s[1]["version"], "SIP/2.0");
    assert_eq!(s[1]["code"], "180");
    assert_eq!(s[1]["reason"], "Ringing");
    assert!(s[1].get("method").is_none());
    assert_eq!(ev[1]["to_server"], false);

    assert_eq!(s[2]["method"], "REGISTER");
    assert_eq!(s[2]["uri"], "sips:ss2.biloxi.example.com");
    assert_eq!(s[2]["call_id"], "1j9FpLxk3uxtm8tn@biloxi.example.com");
    assert_eq!(
        s[2]["from"],
        "Bob <sips:bob@biloxi.example.com>;tag=a73kszlfl"
    );
    assert_eq!(s[3]["code"], "401");
    assert_eq!(s[3]["server"], "Asterisk PBX 18.10.0");
    assert!(ev.iter().all(|e| e["event_type"] == "sip"));
}

#[test]
fn over_udp() {
    let mut h = Harness::udp(parser());
    for (d, m) in call() {
        h.feed(d, &m);
    }
    h.finish();
    check(&h.events());
}

#[test]
fn over_tcp() {
    for slow in [false, true] {
        let mut h = Harness::tcp(parser());
        for (d, m) in call() {
            if slow {
                for b in &m {
                    h.feed(d, &[*b]);
                }
            } else {
                h.feed(d, &m);
            }
            // A keep-alive between messages.
            h.feed(d, b"\r\n\r\n");
        }
        h.finish();
        check(&h.events());
    }
}

#[test]
fn udp_body_without_content_length() {
    let mut h = Harness::udp(parser());
    let mut msg = invite();
    let text = String::from_utf8(msg.clone()).unwrap();
    let without = text.replace(&format!("Content-Length: {}\r\n", SDP.len()), "");
    msg.clear();
    msg.extend_from_slice(without.as_bytes());
    h.feed(Dir::ToServer, &msg);
    // A truncated datagram: the skip it leaves does not eat the next message.
    let mut cut = invite();
    cut.truncate(cut.len() - 20);
    h.feed(Dir::ToServer, &cut);
    h.feed(Dir::ToServer, REGISTER);
    let ev = h.events();
    assert_eq!(ev.len(), 3);
    assert_eq!(ev[2]["sip"]["method"], "REGISTER");
}

#[test]
fn not_sip_is_passed_over() {
    let mut h = Harness::tcp(parser());
    h.feed(Dir::ToServer, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    h.feed(Dir::ToServer, REGISTER);
    let ev = h.events();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["sip"]["method"], "REGISTER");
    // Headers that never end stop the direction.
    h.feed(Dir::ToServer, &vec![b'a'; MAX_HEADERS + 10]);
    h.feed(Dir::ToServer, REGISTER);
    assert_eq!(h.events().len(), 1);
}

#[test]
fn probes() {
    let tcp = |d, data: &[u8]| probe(&probe_input(d, data, Transport::Tcp, 5060));
    let udp = |d, data: &[u8]| probe(&probe_input(d, data, Transport::Udp, 5060));
    assert_eq!(udp(Dir::ToServer, &invite()), Probe::Match);
    assert_eq!(udp(Dir::ToClient, RINGING), Probe::Match);
    assert_eq!(tcp(Dir::ToServer, REGISTER), Probe::Match);
    assert_eq!(tcp(Dir::ToServer, b"INVITE sip:bob@bi"), Probe::NeedMore);
    assert_eq!(tcp(Dir::ToServer, b"INV"), Probe::NeedMore);
    assert_eq!(tcp(Dir::ToClient, b"SIP/2.0 1"), Probe::NeedMore);
    assert_eq!(udp(Dir::ToServer, b"INVITE sip:bob@bi"), Probe::NoMatch);
    assert_eq!(
        tcp(Dir::ToServer, b"INVITEX sip:bob@biloxi.com SIP/2.0\r\n"),
        Probe::NoMatch
    );
    assert_eq!(
        tcp(Dir::ToServer, b"INVITE http://bob SIP/2.0\r\n"),
        Probe::NoMatch
    );
    assert_eq!(tcp(Dir::ToClient, b"SIP/2.0 OK\r\n"), Probe::NoMatch);
    // nDPI's http_on_sip_port.pcap: HTTP from port 5060.
    assert_eq!(
        tcp(
            Dir::ToServer,
            b"GET /star-123456/index.m3u8?token=89b1 HTTP/1.1\r\n"
        ),
        Probe::NoMatch
    );
    assert_eq!(
        tcp(Dir::ToClient, b"HTTP/1.1 403 Forbidden\r\n"),
        Probe::NoMatch
    );
    assert_eq!(
        tcp(
            Dir::ToServer,
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"
        ),
        Probe::NoMatch
    );
}

#[test]
fn hostile_input() {
    hostile(parser, probe, true, &[call()], 3000);
    hostile(parser, probe, false, &[call()], 3000);
}
