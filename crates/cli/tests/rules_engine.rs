//! The rule engine end to end: `nta read CAPTURE -S RULES` over captures this file builds
//! frame by frame, one keyword family at a time. For each family a capture holds traffic the
//! rule must alert on and a near miss it must not, and the test asserts what a user sees: the
//! `alert` events (sid, source and destination, the application-layer object of the
//! transaction) and `flow.alerted` of every flow.
//!
//! Expected behaviour is Suricata's, as its documentation and source describe it. Where NTA
//! differs, the test is written for Suricata's behaviour and marked `#[ignore = "engine bug:
//! …"]`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// Captures.

/// An endpoint: IPv4 address and port.
type Ep = ([u8; 4], u16);

const CLIENT: [u8; 4] = [10, 0, 0, 1];
const SERVER: [u8; 4] = [10, 0, 0, 2];
const SYN: u8 = tcp_flags::SYN;
const ACK: u8 = tcp_flags::ACK;
const FIN: u8 = tcp_flags::FIN;
const RST: u8 = tcp_flags::RST;
const PSH: u8 = tcp_flags::PSH;

/// A capture built packet by packet, 1 ms apart unless told otherwise.
struct Capture {
    pcap: Pcap,
    ts_us: u64,
    ip_id: u16,
}

/// What varies in a session's packets besides the endpoints.
#[derive(Clone, Copy)]
struct SessionOpts {
    ttl: u8,
    handshake: bool,
    close: bool,
}

impl Default for SessionOpts {
    fn default() -> Self {
        SessionOpts {
            ttl: 64,
            handshake: true,
            close: true,
        }
    }
}

impl Capture {
    fn new() -> Capture {
        Capture {
            pcap: Pcap::new(linktype::ETHERNET),
            ts_us: 1_700_000_000_000_000,
            ip_id: 1,
        }
    }

    /// Moves the clock on by `secs` seconds (for threshold windows).
    fn sleep(&mut self, secs: u64) {
        self.ts_us += secs * 1_000_000;
    }

    /// One IPv4 packet over Ethernet.
    fn ip(&mut self, src: [u8; 4], dst: [u8; 4], proto: u8, ttl: u8, l4: &[u8]) {
        let mut ip = Ipv4::new(src, dst, proto);
        ip.ttl = ttl;
        ip.id = self.ip_id;
        self.ip_id = self.ip_id.wrapping_add(1);
        let frame = eth(MAC_B, MAC_A, ETH_IPV4, &ip.build(l4));
        self.ts_us += 1000;
        self.pcap.packet(self.ts_us, &frame);
    }

    #[allow(clippy::too_many_arguments)]
    fn tcp(&mut self, src: Ep, dst: Ep, seq: u32, ack: u32, flags: u8, ttl: u8, data: &[u8]) {
        let seg = tcp(src.1, dst.1, seq, ack, flags, data);
        self.ip(src.0, dst.0, PROTO_TCP, ttl, &seg);
    }

    fn udp(&mut self, src: Ep, dst: Ep, data: &[u8]) {
        self.ip(src.0, dst.0, PROTO_UDP, 64, &udp(src.1, dst.1, data));
    }

    fn icmp(&mut self, src: [u8; 4], dst: [u8; 4], itype: u8, code: u8, data: &[u8]) {
        let mut m = vec![itype, code, 0, 0, 0x12, 0x34, 0, 1];
        m.extend_from_slice(data);
        let c = inet_checksum(&m);
        m[2..4].copy_from_slice(&c.to_be_bytes());
        self.ip(src, dst, 1, 64, &m);
    }

    /// A TCP session: handshake, then `msgs` (`true`: client to server) each in one segment,
    /// then FIN both ways. Client ISN 1000, server ISN 5000.
    fn session(&mut self, c: Ep, s: Ep, msgs: &[(bool, &[u8])]) {
        self.session_with(c, s, msgs, SessionOpts::default());
    }

    fn session_with(&mut self, c: Ep, s: Ep, msgs: &[(bool, &[u8])], o: SessionOpts) {
        let (mut cseq, mut sseq) = (1001u32, 5001u32);
        if o.handshake {
            self.tcp(c, s, 1000, 0, SYN, o.ttl, b"");
            self.tcp(s, c, 5000, 1001, SYN | ACK, o.ttl, b"");
            self.tcp(c, s, 1001, 5001, ACK, o.ttl, b"");
        }
        for &(to_server, data) in msgs {
            if to_server {
                self.tcp(c, s, cseq, sseq, PSH | ACK, o.ttl, data);
                cseq = cseq.wrapping_add(data.len() as u32);
            } else {
                self.tcp(s, c, sseq, cseq, PSH | ACK, o.ttl, data);
                sseq = sseq.wrapping_add(data.len() as u32);
            }
        }
        if o.close {
            self.tcp(c, s, cseq, sseq, FIN | ACK, o.ttl, b"");
            self.tcp(s, c, sseq, cseq + 1, FIN | ACK, o.ttl, b"");
            self.tcp(c, s, cseq + 1, sseq + 1, ACK, o.ttl, b"");
        }
    }
}

fn inet_checksum(data: &[u8]) -> u16 {
    let mut sum = 0u32;
    for c in data.chunks(2) {
        sum += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

// ---------------------------------------------------------------------------------------------
// Running nta.

/// One `nta read` with rules, and what it wrote.
struct Out {
    events: Vec<Value>,
    stderr: String,
    rules: String,
}

fn run(cap: &Capture, rules: &str) -> Out {
    run_with(cap, rules, &[])
}

/// Runs `nta read t.pcap -S t.rules -o eve.json EXTRA` (with `--workers 1` unless `EXTRA`
/// says otherwise) in a temporary directory
/// and asserts that every rule loaded (a skipped rule would make a "must not alert" pass for
/// the wrong reason).
fn run_with(cap: &Capture, rules: &str, extra: &[&str]) -> Out {
    let out = run_raw(cap, rules, extra);
    assert!(
        !out.stderr.contains("rule skipped"),
        "a rule was skipped:\n{}\nrules:\n{rules}",
        out.stderr
    );
    out
}

fn run_raw(cap: &Capture, rules: &str, extra: &[&str]) -> Out {
    let dir = tempfile::tempdir().unwrap();
    cap.pcap.write(&dir.path().join("t.pcap"));
    std::fs::write(dir.path().join("t.rules"), rules).unwrap();
    let mut cmd = Command::new(NTA);
    cmd.current_dir(dir.path())
        .args(["read", "t.pcap", "-S", "t.rules", "-o", "eve.json"]);
    if !extra.contains(&"--workers") {
        cmd.args(["--workers", "1"]);
    }
    cmd.args(extra);
    let o = cmd.output().expect("running nta");
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(
        o.status.success(),
        "nta read failed ({:?}):\n{stderr}\nrules:\n{rules}",
        o.status.code()
    );
    let eve = std::fs::read_to_string(dir.path().join("eve.json")).unwrap();
    let out = Out {
        events: parse_events(&eve),
        stderr,
        rules: rules.to_string(),
    };
    // The stats event counts the alerts that were written.
    let stats = final_stats(&out.events);
    assert_eq!(
        counter(stats, "detect.alert"),
        out.alerts().len() as u64,
        "stats detect.alert\n{}",
        out.dump()
    );
    out
}

impl Out {
    fn alerts(&self) -> Vec<&Value> {
        self.events
            .iter()
            .filter(|e| e["event_type"] == "alert")
            .collect()
    }

    fn alerts_for(&self, sid: u64) -> Vec<&Value> {
        self.alerts()
            .into_iter()
            .filter(|a| a["alert"]["signature_id"] == sid)
            .collect()
    }

    /// The sids of all alerts, in output order.
    fn sids(&self) -> Vec<u64> {
        self.alerts()
            .iter()
            .map(|a| a["alert"]["signature_id"].as_u64().unwrap())
            .collect()
    }

    fn count(&self, sid: u64) -> usize {
        self.alerts_for(sid).len()
    }

    /// The flow event of the flow whose client is `client` (address and port).
    fn flow(&self, client: Ep) -> &Value {
        let ip = ip_str(client.0);
        let found: Vec<&Value> = flows(&self.events)
            .into_iter()
            .filter(|f| f["src_ip"] == ip && f["src_port"] == client.1)
            .collect();
        assert_eq!(
            found.len(),
            1,
            "one flow from {ip}:{}: {:#?}",
            client.1,
            flows(&self.events)
        );
        found[0]
    }

    fn alerted(&self, client: Ep) -> bool {
        self.flow(client)["flow"]["alerted"]
            .as_bool()
            .unwrap_or(false)
    }

    /// Everything, for a failure message.
    fn dump(&self) -> String {
        format!(
            "rules:\n{}\nalerts (sid, src -> dest):\n{}\nstderr:\n{}",
            self.rules,
            self.alerts()
                .iter()
                .map(|a| format!(
                    "  {} {}:{} -> {}:{}",
                    a["alert"]["signature_id"],
                    a["src_ip"].as_str().unwrap_or("?"),
                    a["src_port"],
                    a["dest_ip"].as_str().unwrap_or("?"),
                    a["dest_port"]
                ))
                .collect::<Vec<_>>()
                .join("\n"),
            self.stderr
        )
    }

    /// Asserts the number of alerts of `sid`.
    fn expect_count(&self, sid: u64, n: usize) {
        assert_eq!(self.count(sid), n, "alerts of sid {sid}\n{}", self.dump());
    }
}

fn ip_str(a: [u8; 4]) -> String {
    format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3])
}

/// Asserts what an alert says: the rule, who sent what matched, and that it belongs to the
/// flow of `flow` (its flow event).
fn check_alert(a: &Value, sid: u64, src: Ep, dst: Ep, flow: &Value) {
    assert_eq!(a["event_type"], "alert", "{a}");
    assert_eq!(a["alert"]["signature_id"], sid, "{a}");
    assert_eq!(a["alert"]["gid"], 1, "{a}");
    assert_eq!(a["alert"]["source"], "rule", "{a}");
    assert_eq!(a["alert"]["action"], "allowed", "{a}");
    assert_eq!(a["src_ip"], ip_str(src.0), "alert source: {a}");
    assert_eq!(a["dest_ip"], ip_str(dst.0), "alert destination: {a}");
    if src.1 != 0 || dst.1 != 0 {
        assert_eq!(a["src_port"], src.1, "alert source port: {a}");
        assert_eq!(a["dest_port"], dst.1, "alert destination port: {a}");
    }
    assert_eq!(a["flow_id"], flow["flow_id"], "the alert's flow: {a}");
}

fn sid_of(rule: &str) -> u64 {
    let i = rule.find("sid:").expect("a sid") + 4;
    rule[i..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

/// Sends each payload to the server in a TCP session of its own (client port 41000 + i for
/// the hits, 42000 + i for the misses, server port 7000, where no application protocol is
/// recognised); `rule` must alert exactly once on each hit session, from the client to the
/// server, and never on a miss.
fn probe(rule: &str, hits: &[&[u8]], misses: &[&[u8]]) {
    let server: Ep = (SERVER, 7000);
    let mut cap = Capture::new();
    for (i, p) in hits.iter().enumerate() {
        cap.session((CLIENT, 41000 + i as u16), server, &[(true, p)]);
    }
    for (i, p) in misses.iter().enumerate() {
        cap.session((CLIENT, 42000 + i as u16), server, &[(true, p)]);
    }
    let out = run(&cap, &format!("{rule}\n"));
    let sid = sid_of(rule);
    for (i, p) in hits.iter().enumerate() {
        let c = (CLIENT, 41000 + i as u16);
        let flow = out.flow(c);
        let on: Vec<&Value> = out
            .alerts()
            .into_iter()
            .filter(|a| a["flow_id"] == flow["flow_id"])
            .collect();
        assert_eq!(
            on.len(),
            1,
            "{rule}\nmust alert once on {:?}\n{}",
            String::from_utf8_lossy(p),
            out.dump()
        );
        check_alert(on[0], sid, c, server, flow);
        assert!(out.alerted(c), "flow.alerted on a hit: {flow}");
    }
    for (i, p) in misses.iter().enumerate() {
        let c = (CLIENT, 42000 + i as u16);
        let flow = out.flow(c);
        assert!(
            !out.alerts().iter().any(|a| a["flow_id"] == flow["flow_id"]),
            "{rule}\nmust not alert on {:?}\n{}",
            String::from_utf8_lossy(p),
            out.dump()
        );
        assert!(!out.alerted(c), "flow.alerted on a miss: {flow}");
    }
}

// ---------------------------------------------------------------------------------------------
// Payload keywords.

#[test]
fn content_nocase_and_case() {
    probe(
        r#"alert tcp any any -> any any (msg:"nocase"; content:"secret"; nocase; sid:1;)"#,
        &[b"the SeCrEt word", b"secret"],
        &[b"secre t", b"s3cret"],
    );
    probe(
        r#"alert tcp any any -> any any (msg:"case"; content:"secret"; sid:2;)"#,
        &[b"a secret"],
        &[b"a SECRET", b"a Secret"],
    );
    probe(
        r#"alert tcp any any -> any any (msg:"hex"; content:"|de ad|be|ef|"; sid:3;)"#,
        &[b"\x00\xde\xadbe\xef\x00"],
        &[b"\xde\xadbe\xee", b"deadbeef"],
    );
    probe(
        r#"alert tcp any any -> any any (msg:"two absolute"; content:"alpha"; content:"omega"; sid:4;)"#,
        &[b"omega then alpha", b"alpha then omega"],
        &[b"alpha only", b"omega only"],
    );
}

#[test]
fn content_offset_and_depth() {
    // The window is bytes 2..5: "abc" must start at 2.
    probe(
        r#"alert tcp any any -> any any (content:"abc"; offset:2; depth:3; sid:10;)"#,
        &[b"xxabc", b"xxabcxx"],
        &[b"abcxx", b"xxxabc", b"xxab"],
    );
    probe(
        r#"alert tcp any any -> any any (content:"USER"; depth:4; sid:11;)"#,
        &[b"USER root"],
        &[b" USER root", b"xUSER"],
    );
}

#[test]
fn content_distance_and_within() {
    // After "GET" (cursor 3) "admin" must start at 4 or later; as in Suricata, `within`
    // counts from the distance-adjusted start, so it must end by 3 + 1 + 8 = 12.
    probe(
        r#"alert tcp any any -> any any (content:"GET"; content:"admin"; distance:1; within:8; sid:20;)"#,
        &[b"GET admin", b"GET  admin", b"GET /x/admin"],
        &[b"GETadmin", b"GET /xx/admin", b"admin GET"],
    );
    // Suricata backtracks: the first "a" is not followed by "b", the second is.
    probe(
        r#"alert tcp any any -> any any (content:"a"; content:"b"; within:1; sid:21;)"#,
        &[b"axxab"],
        &[b"axxa b", b"ba"],
    );
    // A negative distance looks back before the previous match.
    probe(
        r#"alert tcp any any -> any any (content:"=evil"; content:"id"; distance:-7; within:2; sid:22;)"#,
        &[b"x id=evil"],
        &[b"x ix=evil", b"id =evil"],
    );
}

#[test]
fn content_startswith_and_endswith() {
    probe(
        r#"alert tcp any any -> any any (content:"HELO"; startswith; sid:30;)"#,
        &[b"HELO mail.example"],
        &[b" HELO mail", b"EHLO HELO"],
    );
    probe(
        r#"alert tcp any any -> any any (content:".exe"; endswith; sid:31;)"#,
        &[b"GET file.exe", b"a.exe.exe"],
        &[b"file.exe.txt", b"file.exe "],
    );
}

#[test]
fn content_negation() {
    // An absolute negated content must be nowhere in the buffer.
    probe(
        r#"alert tcp any any -> any any (content:"user"; content:!"admin"; sid:40;)"#,
        &[b"user bob"],
        &[b"user admin", b"admin user"],
    );
    // A relative one only within its window.
    probe(
        r#"alert tcp any any -> any any (content:"user "; content:!"root"; within:4; sid:41;)"#,
        &[b"user bob root", b"user nobody"],
        &[b"user root", b"user rootkit"],
    );
}

#[test]
fn pcre_plain_relative_and_negated() {
    probe(
        r#"alert tcp any any -> any any (pcre:"/user=[a-z]{3,}\d+/i"; sid:50;)"#,
        &[b"USER=abc12", b"x user=abcd9"],
        &[b"user=ab12", b"user=abc"],
    );
    // R: the regex starts where the previous match ended, so ^ is right after "id=".
    probe(
        r#"alert tcp any any -> any any (content:"id="; pcre:"/^\d{4}/R"; sid:51;)"#,
        &[b"id=1234", b"x id=98765"],
        &[b"id=12x4", b"5678 id=ab", b"id= 1234"],
    );
    probe(
        r#"alert tcp any any -> any any (pcre:"/^GET \//"; sid:52;)"#,
        &[b"GET /index"],
        &[b"xGET /index"],
    );
    probe(
        r#"alert tcp any any -> any any (content:"id="; pcre:!"/id=\d+/"; sid:53;)"#,
        &[b"id=abc"],
        &[b"id=42"],
    );
}

#[test]
fn byte_test_forms() {
    probe(
        r#"alert tcp any any -> any any (content:"LEN"; byte_test:2,>,1000,0,relative; sid:60;)"#,
        &[b"LEN\x04\x00", b"LEN\xff\xff"],
        &[b"LEN\x03\xe8", b"LEN\x00\x10", b"LEN\x04"],
    );
    probe(
        r#"alert tcp any any -> any any (content:"|00|"; depth:1; byte_test:2,=,4660,1,little; sid:61;)"#,
        &[b"\x00\x34\x12"],
        &[b"\x00\x12\x34"],
    );
    probe(
        r#"alert tcp any any -> any any (content:"SIZE "; byte_test:4,>=,1000,0,relative,string,dec; sid:62;)"#,
        &[b"SIZE 1234", b"SIZE 1000"],
        &[b"SIZE 0999", b"SIZE abcd"],
    );
    probe(
        r#"alert tcp any any -> any any (content:"F"; depth:1; byte_test:1,&,0x80,0,relative; sid:63;)"#,
        &[b"F\x80", b"F\xff"],
        &[b"F\x7f", b"F\x00"],
    );
}

#[test]
fn byte_jump_lands_where_the_length_says() {
    // Type 01, a one-byte length, that many bytes, then "END".
    probe(
        r#"alert tcp any any -> any any (content:"|01|"; depth:1; byte_jump:1,0,relative; content:"END"; within:3; sid:70;)"#,
        &[b"\x01\x03abcEND", b"\x01\x00END"],
        &[b"\x01\x05abcEND", b"\x01\x03abcxEND", b"\x01\xffabcEND"],
    );
    // multiplier: the length counts 2-byte units.
    probe(
        r#"alert tcp any any -> any any (content:"|02|"; depth:1; byte_jump:1,0,relative,multiplier 2; content:"Z"; within:1; sid:71;)"#,
        &[b"\x02\x02abcdZ"],
        &[b"\x02\x02abZ", b"\x02\x01abcdZ"],
    );
}

#[test]
fn isdataat_and_dsize() {
    probe(
        r#"alert tcp any any -> any any (content:"CMD "; isdataat:10,relative; sid:80;)"#,
        &[b"CMD 0123456789abcdef"],
        &[b"CMD abc"],
    );
    probe(
        r#"alert tcp any any -> any any (content:"quit"; isdataat:!1,relative; sid:81;)"#,
        &[b"quit", b"please quit"],
        &[b"quit now", b"quit\n"],
    );
    probe(
        r#"alert tcp any any -> any any (content:"x"; isdataat:50; sid:82;)"#,
        &[&[b'x'; 60]],
        &[&[b'x'; 30]],
    );
    probe(
        r#"alert tcp any any -> any any (dsize:>100; sid:83;)"#,
        &[&[b'a'; 150]],
        &[&[b'a'; 50], &[b'a'; 100]],
    );
    probe(
        r#"alert tcp any any -> any any (dsize:5; content:"hello"; sid:84;)"#,
        &[b"hello"],
        &[b"hello!", b"hell"],
    );
    // `<>` is exclusive: 11 to 19.
    probe(
        r#"alert tcp any any -> any any (dsize:10<>20; content:"x"; sid:85;)"#,
        &[&[b'x'; 11], &[b'x'; 19]],
        &[&[b'x'; 10], &[b'x'; 20]],
    );
}

// ---------------------------------------------------------------------------------------------
// Flow keywords and flow state.

#[test]
fn flow_direction_and_established_over_tcp() {
    let server: Ep = (SERVER, 7000);
    let (a, b) = ((CLIENT, 41001), (CLIENT, 41002));
    let mut cap = Capture::new();
    // a: the client sends DATA; b: the server does. The handshake packets themselves are
    // not established yet.
    cap.session(a, server, &[(true, b"DATA one")]);
    cap.session(b, server, &[(true, b"hello"), (false, b"DATA two")]);
    let out = run(
        &cap,
        r#"alert tcp any any -> any any (msg:"to server"; flow:to_server,established; content:"DATA"; sid:1;)
alert tcp any any -> any any (msg:"to client"; flow:to_client; content:"DATA"; sid:2;)
alert tcp any any -> any any (msg:"from_client"; flow:from_client,established; content:"DATA"; sid:4;)
alert tcp any any -> any any (msg:"handshake"; flow:not_established; flags:S; sid:5;)
alert tcp any any -> any any (msg:"established SYN"; flow:established; flags:S; sid:6;)
"#,
    );
    let s1 = out.alerts_for(1);
    assert_eq!(s1.len(), 1, "{}", out.dump());
    check_alert(s1[0], 1, a, server, out.flow(a));
    let s2 = out.alerts_for(2);
    assert_eq!(s2.len(), 1, "{}", out.dump());
    // An alert on a packet from the server names the server as its source.
    check_alert(s2[0], 2, server, b, out.flow(b));
    let s4 = out.alerts_for(4);
    assert_eq!(s4.len(), 1, "{}", out.dump());
    check_alert(s4[0], 4, a, server, out.flow(a));
    out.expect_count(5, 2);
    out.expect_count(6, 0);
    assert!(out.alerted(a) && out.alerted(b));
}

#[test]
fn flow_midstream_segment_is_not_established() {
    let (c, s): (Ep, Ep) = ((CLIENT, 41003), (SERVER, 7000));
    let mut cap = Capture::new();
    cap.session_with(
        c,
        s,
        &[(true, b"DATA three")],
        SessionOpts {
            handshake: false,
            close: false,
            ..SessionOpts::default()
        },
    );
    let out = run(
        &cap,
        r#"alert tcp any any -> any any (flow:to_server,established; content:"DATA"; sid:1;)
alert tcp any any -> any any (flow:not_established; content:"DATA"; sid:3;)
"#,
    );
    out.expect_count(1, 0);
    out.expect_count(3, 1);
}

#[test]
fn flow_established_over_udp_needs_both_directions() {
    // Suricata: a UDP flow is established from the first reply on, that reply included.
    let (c, s): (Ep, Ep) = ((CLIENT, 41010), (SERVER, 7001));
    let mut cap = Capture::new();
    cap.udp(c, s, b"PING 1");
    cap.udp(s, c, b"PONG 1");
    cap.udp(c, s, b"PING 2");
    let quiet: Ep = (CLIENT, 41011);
    cap.udp(quiet, s, b"PING 3");
    let out = run(
        &cap,
        r#"alert udp any any -> any any (flow:established,to_server; content:"PING"; sid:1;)
alert udp any any -> any any (flow:established,to_client; content:"PONG"; sid:2;)
alert udp any any -> any any (flow:not_established; content:"PING"; sid:3;)
"#,
    );
    let s1 = out.alerts_for(1);
    assert_eq!(s1.len(), 1, "{}", out.dump());
    assert!(
        s1[0]["flow"]["pkts_toserver"] == 2,
        "on the second PING: {}",
        s1[0]
    );
    check_alert(s1[0], 1, c, s, out.flow(c));
    let s2 = out.alerts_for(2);
    assert_eq!(s2.len(), 1, "{}", out.dump());
    check_alert(s2[0], 2, s, c, out.flow(c));
    // The first PING of each flow.
    let s3 = out.alerts_for(3);
    assert_eq!(s3.len(), 2, "{}", out.dump());
    assert!(out.alerted(quiet));
}

#[test]
fn flowbits_set_isset_unset_toggle_and_noalert() {
    let server: Ep = (SERVER, 7000);
    let (a, b, c, d) = (
        (CLIENT, 41021),
        (CLIENT, 41022),
        (CLIENT, 41023),
        (CLIENT, 41024),
    );
    let mut cap = Capture::new();
    // a: log in, command, log out, command. b: a command without logging in (bits are per
    // flow: a's login must not count). c: toggle twice. d: only a login (noalert).
    cap.session(
        a,
        server,
        &[
            (true, b"LOGIN bob"),
            (true, b"CMD ls"),
            (true, b"LOGOUT"),
            (true, b"CMD id"),
        ],
    );
    cap.session(b, server, &[(true, b"CMD ls")]);
    cap.session(
        c,
        server,
        &[
            (true, b"FLIP"),
            (true, b"CHECK"),
            (true, b"FLIP"),
            (true, b"CHECK"),
        ],
    );
    cap.session(d, server, &[(true, b"LOGIN eve")]);
    let out = run(
        &cap,
        r#"alert tcp any any -> any any (msg:"login"; content:"LOGIN"; flowbits:set,logged_in; flowbits:noalert; sid:1;)
alert tcp any any -> any any (msg:"command after login"; content:"CMD"; flowbits:isset,logged_in; sid:2;)
alert tcp any any -> any any (msg:"logout"; content:"LOGOUT"; flowbits:unset,logged_in; noalert; sid:3;)
alert tcp any any -> any any (msg:"command without login"; content:"CMD"; flowbits:isnotset,logged_in; sid:4;)
alert tcp any any -> any any (msg:"flip"; content:"FLIP"; flowbits:toggle,flipped; flowbits:noalert; sid:5;)
alert tcp any any -> any any (msg:"flipped"; content:"CHECK"; flowbits:isset,flipped; sid:6;)
"#,
    );
    for sid in [1, 3, 5] {
        out.expect_count(sid, 0);
    }
    let s2 = out.alerts_for(2);
    assert_eq!(s2.len(), 1, "{}", out.dump());
    check_alert(s2[0], 2, a, server, out.flow(a));
    // SYN, ACK, LOGIN, CMD.
    assert_eq!(
        s2[0]["flow"]["pkts_toserver"], 4,
        "the first CMD: {}",
        s2[0]
    );
    let s4 = out.alerts_for(4);
    assert_eq!(s4.len(), 2, "{}", out.dump());
    // a's second CMD (after LOGOUT) and b's.
    let flows_4: Vec<&Value> = s4.iter().map(|x| &x["flow_id"]).collect();
    assert!(flows_4.contains(&&out.flow(a)["flow_id"]));
    assert!(flows_4.contains(&&out.flow(b)["flow_id"]));
    let s6 = out.alerts_for(6);
    assert_eq!(s6.len(), 1, "{}", out.dump());
    assert_eq!(
        s6[0]["flow"]["pkts_toserver"], 4,
        "the first CHECK: {}",
        s6[0]
    );
    assert!(out.alerted(a) && out.alerted(b) && out.alerted(c));
    assert!(!out.alerted(d), "noalert rules do not mark the flow");
}

#[test]
fn flowbits_set_by_one_packet_are_seen_by_the_next_rule_on_the_same_packet() {
    // Suricata orders rules that set a bit before rules that read it, whatever the file
    // order: the reader below is listed first and still sees the bit on the same packet.
    let (c, s): (Ep, Ep) = ((CLIENT, 41031), (SERVER, 7000));
    let mut cap = Capture::new();
    cap.session(c, s, &[(true, b"MAGIC")]);
    let out = run(
        &cap,
        r#"alert tcp any any -> any any (msg:"reader"; content:"MAGIC"; flowbits:isset,seen; sid:2;)
alert tcp any any -> any any (msg:"setter"; content:"MAGIC"; flowbits:set,seen; noalert; sid:1;)
"#,
    );
    assert_eq!(out.sids(), [2], "{}", out.dump());
}

#[test]
fn flowint_counts_across_packets() {
    let server: Ep = (SERVER, 7000);
    let (a, b) = ((CLIENT, 41041), (CLIENT, 41042));
    let mut cap = Capture::new();
    cap.session(
        a,
        server,
        &[
            (true, b"FAIL 1"),
            (true, b"FAIL 2"),
            (true, b"FAIL 3"),
            (true, b"OK"),
            (true, b"FAIL 4"),
        ],
    );
    cap.session(b, server, &[(true, b"FAIL 1"), (true, b"OK")]);
    let out = run(
        &cap,
        r#"alert tcp any any -> any any (msg:"count"; content:"FAIL"; flowint:fails,+,1; noalert; sid:1;)
alert tcp any any -> any any (msg:"third failure"; content:"FAIL"; flowint:fails,==,3; sid:2;)
alert tcp any any -> any any (msg:"many failures"; content:"FAIL"; flowint:fails,>=,2; sid:3;)
alert tcp any any -> any any (msg:"reset"; content:"OK"; flowint:fails,=,0; noalert; sid:4;)
alert tcp any any -> any any (msg:"ok after a reset"; content:"OK"; flowint:fails,isset; flowint:fails,==,0; sid:5;)
alert tcp any any -> any any (msg:"never counted"; content:"OK"; flowint:other,notset; sid:6;)
"#,
    );
    out.expect_count(1, 0);
    out.expect_count(4, 0);
    let s2 = out.alerts_for(2);
    assert_eq!(s2.len(), 1, "{}", out.dump());
    check_alert(s2[0], 2, a, server, out.flow(a));
    // FAIL 2 and FAIL 3 of a; FAIL 4 comes after the reset (fails = 1).
    let s3 = out.alerts_for(3);
    assert_eq!(s3.len(), 2, "{}", out.dump());
    assert!(s3.iter().all(|x| x["flow_id"] == out.flow(a)["flow_id"]));
    // The OK of a and of b: the reset sets the counter (Suricata runs rules that set a
    // flowint before those that read it), so both see 0.
    out.expect_count(5, 2);
    out.expect_count(6, 2);
}

#[test]
fn flowint_setters_run_before_readers_whatever_the_file_order() {
    let (c, s): (Ep, Ep) = ((CLIENT, 41051), (SERVER, 7000));
    let mut cap = Capture::new();
    cap.session(c, s, &[(true, b"FAIL"), (true, b"FAIL"), (true, b"FAIL")]);
    let out = run(
        &cap,
        r#"alert tcp any any -> any any (msg:"reader"; content:"FAIL"; flowint:fails,>=,2; sid:2;)
alert tcp any any -> any any (msg:"counter"; content:"FAIL"; flowint:fails,+,1; noalert; sid:1;)
"#,
    );
    // Suricata: the counter runs first on each packet, so the 2nd and 3rd FAIL alert.
    out.expect_count(2, 2);
}

#[test]
fn flowint_subtract_on_an_unset_variable_leaves_it_unset() {
    let (c, s): (Ep, Ep) = ((CLIENT, 41061), (SERVER, 7000));
    let mut cap = Capture::new();
    cap.session(c, s, &[(true, b"DEC"), (true, b"CHECK")]);
    let out = run(
        &cap,
        r#"alert tcp any any -> any any (content:"DEC"; flowint:n,-,1; noalert; sid:1;)
alert tcp any any -> any any (content:"CHECK"; flowint:n,isset; sid:2;)
"#,
    );
    out.expect_count(2, 0);
}

#[test]
fn flowint_compared_with_an_unset_variable_compares_with_zero() {
    let (c, s): (Ep, Ep) = ((CLIENT, 41071), (SERVER, 7000));
    let mut cap = Capture::new();
    cap.session(c, s, &[(true, b"SET"), (true, b"CHECK")]);
    let out = run(
        &cap,
        r#"alert tcp any any -> any any (content:"SET"; flowint:a,=,5; noalert; sid:1;)
alert tcp any any -> any any (content:"CHECK"; flowint:a,>,b; sid:2;)
"#,
    );
    out.expect_count(2, 1);
}

// ---------------------------------------------------------------------------------------------
// Thresholds.

const HOST_A: [u8; 4] = [10, 0, 1, 1];
const HOST_B: [u8; 4] = [10, 0, 1, 2];

/// `n` UDP datagrams "HIT" from `src` to `dst`, each from its own source port (a flow each),
/// 1 ms apart.
fn datagrams(cap: &mut Capture, src: [u8; 4], dst: [u8; 4], n: u16, first_port: u16) {
    for i in 0..n {
        cap.udp((src, first_port + i), (dst, 9999), b"HIT");
    }
}

/// The number of alerts whose `field` (`src_ip` or `dest_ip`) is `ip`.
fn alerts_by(out: &Out, sid: u64, field: &str, ip: [u8; 4]) -> usize {
    out.alerts_for(sid)
        .iter()
        .filter(|a| a[field] == ip_str(ip))
        .count()
}

#[test]
fn threshold_limit_threshold_and_both() {
    let mut cap = Capture::new();
    datagrams(&mut cap, HOST_A, SERVER, 7, 20000);
    datagrams(&mut cap, HOST_B, SERVER, 2, 21000);
    let out = run(
        &cap,
        r#"alert udp any any -> any any (msg:"limit"; content:"HIT"; threshold:type limit, track by_src, count 2, seconds 60; sid:1;)
alert udp any any -> any any (msg:"threshold"; content:"HIT"; threshold:type threshold, track by_src, count 3, seconds 60; sid:2;)
alert udp any any -> any any (msg:"both"; content:"HIT"; threshold:type both, track by_src, count 3, seconds 60; sid:3;)
alert udp any any -> any any (msg:"none"; content:"HIT"; sid:4;)
"#,
    );
    // limit: the first 2 of each source.
    assert_eq!(alerts_by(&out, 1, "src_ip", HOST_A), 2, "{}", out.dump());
    assert_eq!(alerts_by(&out, 1, "src_ip", HOST_B), 2, "{}", out.dump());
    // threshold: every 3rd (A's 3rd and 6th); B never reaches 3.
    assert_eq!(alerts_by(&out, 2, "src_ip", HOST_A), 2, "{}", out.dump());
    assert_eq!(alerts_by(&out, 2, "src_ip", HOST_B), 0, "{}", out.dump());
    let third: Vec<u64> = out
        .alerts_for(2)
        .iter()
        .map(|a| a["src_port"].as_u64().unwrap())
        .collect();
    assert_eq!(third, [20002, 20005], "{}", out.dump());
    // both: once, at the 3rd.
    assert_eq!(out.count(3), 1, "{}", out.dump());
    assert_eq!(out.alerts_for(3)[0]["src_port"], 20002);
    out.expect_count(4, 9);
}

#[test]
fn threshold_by_dst_and_window_expiry() {
    let mut cap = Capture::new();
    // Five to SERVER, one to HOST_B; then, 61 s later, two more to SERVER.
    datagrams(&mut cap, HOST_A, SERVER, 5, 20000);
    datagrams(&mut cap, HOST_A, HOST_B, 1, 20100);
    cap.sleep(61);
    datagrams(&mut cap, HOST_A, SERVER, 2, 20200);
    let out = run(
        &cap,
        r#"alert udp any any -> any any (msg:"limit by dst"; content:"HIT"; threshold:type limit, track by_dst, count 1, seconds 60; sid:1;)
alert udp any any -> any any (msg:"both by rule"; content:"HIT"; threshold:type both, track by_rule, count 2, seconds 60; sid:2;)
"#,
    );
    // One per destination per window: SERVER twice (two windows), HOST_B once.
    assert_eq!(alerts_by(&out, 1, "dest_ip", SERVER), 2, "{}", out.dump());
    assert_eq!(alerts_by(&out, 1, "dest_ip", HOST_B), 1, "{}", out.dump());
    // by_rule: the 2nd match of each window.
    let ports: Vec<u64> = out
        .alerts_for(2)
        .iter()
        .map(|a| a["src_port"].as_u64().unwrap())
        .collect();
    assert_eq!(ports, [20001, 20201], "{}", out.dump());
}

#[test]
fn detection_filter_by_src_and_by_dst() {
    let mut cap = Capture::new();
    datagrams(&mut cap, HOST_A, SERVER, 5, 20000);
    datagrams(&mut cap, HOST_B, SERVER, 2, 21000);
    let out = run(
        &cap,
        r#"alert udp any any -> any any (msg:"df src"; content:"HIT"; detection_filter:track by_src, count 2, seconds 60; sid:1;)
alert udp any any -> any any (msg:"df dst"; content:"HIT"; detection_filter:track by_dst, count 5, seconds 60; sid:2;)
"#,
    );
    // After the 2nd match from a source: A's 3rd, 4th and 5th; none of B's two.
    assert_eq!(alerts_by(&out, 1, "src_ip", HOST_A), 3, "{}", out.dump());
    assert_eq!(alerts_by(&out, 1, "src_ip", HOST_B), 0, "{}", out.dump());
    // A flow whose match was held back has not alerted.
    assert!(!out.alerted((HOST_A, 20001)));
    assert!(out.alerted((HOST_A, 20002)));
    // By destination, all seven count: the 6th and 7th alert (B's two).
    assert_eq!(alerts_by(&out, 2, "src_ip", HOST_B), 2, "{}", out.dump());
    assert_eq!(out.count(2), 2, "{}", out.dump());
}

#[test]
fn threshold_by_src_counts_across_workers() {
    let mut cap = Capture::new();
    // One source, 16 destinations: different address pairs, so different workers.
    for i in 0..16u8 {
        cap.udp(
            (HOST_A, 20000 + u16::from(i)),
            ([10, 0, 2, i + 1], 9999),
            b"HIT",
        );
    }
    let rules = r#"alert udp any any -> any any (msg:"limit"; content:"HIT"; threshold:type limit, track by_src, count 1, seconds 60; sid:1;)
alert udp any any -> any any (msg:"df"; content:"HIT"; detection_filter:track by_src, count 10, seconds 60; sid:2;)
"#;
    for workers in ["1", "2"] {
        let out = run_with(&cap, rules, &["--workers", workers]);
        assert_eq!(out.count(1), 1, "--workers {workers}\n{}", out.dump());
        assert_eq!(out.count(2), 6, "--workers {workers}\n{}", out.dump());
    }
}

// ---------------------------------------------------------------------------------------------
// Header keywords.

#[test]
fn tcp_flags() {
    let server: Ep = (SERVER, 7000);
    let (a, b) = ((CLIENT, 41101), (CLIENT, 41102));
    let mut cap = Capture::new();
    // a: a full session (SYN, SYN-ACK, ACK, data, FIN-ACK both ways, ACK).
    cap.session(a, server, &[(true, b"x")]);
    // b: a SYN answered by a reset.
    cap.tcp(b, server, 1000, 0, SYN, 64, b"");
    cap.tcp(server, b, 0, 1001, RST | ACK, 64, b"");
    let out = run(
        &cap,
        r#"alert tcp any any -> any any (msg:"SYN only"; flags:S; sid:1;)
alert tcp any any -> any any (msg:"SYN-ACK"; flags:SA; sid:2;)
alert tcp any any -> any any (msg:"SYN and maybe more"; flags:S+; sid:3;)
alert tcp any any -> any any (msg:"FIN or RST"; flags:*FR; sid:4;)
alert tcp any any -> any any (msg:"not ACK"; flags:!A; sid:5;)
alert tcp any any -> any any (msg:"reset, ACK ignored"; flags:R,A; sid:6;)
"#,
    );
    out.expect_count(1, 2);
    let sa = out.alerts_for(2);
    assert_eq!(sa.len(), 1, "{}", out.dump());
    check_alert(sa[0], 2, server, a, out.flow(a));
    out.expect_count(3, 3);
    // Two FIN-ACKs in a, the RST-ACK in b.
    out.expect_count(4, 3);
    // The two SYNs.
    out.expect_count(5, 2);
    let rst = out.alerts_for(6);
    assert_eq!(rst.len(), 1, "{}", out.dump());
    check_alert(rst[0], 6, server, b, out.flow(b));
}

#[test]
fn icmp_type_and_code() {
    let mut cap = Capture::new();
    cap.icmp(CLIENT, SERVER, 8, 0, b"ping"); // echo request
    cap.icmp(SERVER, CLIENT, 0, 0, b"ping"); // echo reply
    cap.icmp(HOST_A, CLIENT, 3, 3, &[0; 28]); // port unreachable
    cap.icmp(HOST_B, CLIENT, 3, 1, &[0; 28]); // host unreachable
    let out = run(
        &cap,
        r#"alert icmp any any -> any any (msg:"echo request"; itype:8; sid:1;)
alert icmp any any -> any any (msg:"port unreachable"; itype:3; icode:3; sid:2;)
alert icmp any any -> any any (msg:"type above 5"; itype:>5; sid:3;)
alert icmp any any -> any any (msg:"code 1 to 3"; icode:0<>4; sid:4;)
alert icmp any any -> any any (msg:"echo either way"; itype:0; sid:5;)
"#,
    );
    let s1 = out.alerts_for(1);
    assert_eq!(s1.len(), 1, "{}", out.dump());
    assert_eq!(s1[0]["src_ip"], "10.0.0.1");
    assert_eq!(s1[0]["proto"], "ICMP");
    let s2 = out.alerts_for(2);
    assert_eq!(s2.len(), 1, "{}", out.dump());
    assert_eq!(s2[0]["src_ip"], ip_str(HOST_A));
    out.expect_count(3, 1);
    out.expect_count(4, 2);
    let s5 = out.alerts_for(5);
    assert_eq!(s5.len(), 1, "{}", out.dump());
    assert_eq!(s5[0]["src_ip"], "10.0.0.2");
}

#[test]
fn integer_ranges_with_a_dash_are_exclusive() {
    let mut cap = Capture::new();
    for code in 1..=3 {
        cap.icmp([10, 0, 3, code], CLIENT, 3, code, &[0; 28]);
    }
    let out = run(
        &cap,
        r#"alert icmp any any -> any any (msg:"dash"; icode:1-3; sid:1;)
alert icmp any any -> any any (msg:"angle brackets"; icode:1<>3; sid:2;)
"#,
    );
    out.expect_count(2, 1);
    out.expect_count(1, 1);
}

#[test]
fn ip_proto_ttl_and_sameip() {
    let mut cap = Capture::new();
    let (c, s): (Ep, Ep) = ((CLIENT, 41111), (SERVER, 53));
    cap.udp(c, s, b"not dns at all");
    cap.session((CLIENT, 41112), (SERVER, 7000), &[(true, b"tcp")]);
    // An ESP packet (protocol 50): no ports.
    cap.ip(
        HOST_A,
        HOST_B,
        50,
        64,
        &[0, 0, 0, 1, 0, 0, 0, 1, 0xaa, 0xbb],
    );
    // TTL 3 and TTL 200, and a packet to itself.
    cap.session_with(
        (CLIENT, 41113),
        (SERVER, 7000),
        &[(true, b"low ttl")],
        SessionOpts {
            ttl: 3,
            ..SessionOpts::default()
        },
    );
    cap.udp((HOST_A, 41114), (HOST_A, 7002), b"loop");
    let out = run(
        &cap,
        r#"alert ip any any -> any any (msg:"udp by number"; ip_proto:17; sid:1;)
alert ip any any -> any any (msg:"esp by name"; ip_proto:esp; sid:2;)
alert ip any any -> any any (msg:"not tcp"; ip_proto:!6; content:"loop"; sid:3;)
alert tcp any any -> any any (msg:"low ttl"; ttl:<10; content:"ttl"; sid:4;)
alert tcp any any -> any any (msg:"ttl 64"; ttl:64; content:"ttl"; sid:5;)
alert ip any any -> any any (msg:"same ip"; sameip; sid:6;)
"#,
    );
    // Two UDP datagrams.
    out.expect_count(1, 2);
    let esp = out.alerts_for(2);
    assert_eq!(esp.len(), 1, "{}", out.dump());
    assert_eq!(esp[0]["src_ip"], ip_str(HOST_A));
    out.expect_count(3, 1);
    let low = out.alerts_for(4);
    assert_eq!(low.len(), 1, "{}", out.dump());
    check_alert(
        low[0],
        4,
        (CLIENT, 41113),
        (SERVER, 7000),
        out.flow((CLIENT, 41113)),
    );
    out.expect_count(5, 0);
    let same = out.alerts_for(6);
    assert_eq!(same.len(), 1, "{}", out.dump());
    assert_eq!(same[0]["dest_ip"], ip_str(HOST_A));
}

#[test]
fn bidirectional_rules_match_either_way() {
    let other: Ep = ([10, 0, 0, 3], 41121);
    let c: Ep = (CLIENT, 41120);
    let mut cap = Capture::new();
    cap.session(
        c,
        (SERVER, 7080),
        &[(true, b"XMARK up"), (false, b"XMARK down")],
    );
    cap.session(other, (SERVER, 7080), &[(true, b"XMARK up")]);
    let out = run(
        &cap,
        r#"alert tcp 10.0.0.1 any <> 10.0.0.2 7080 (msg:"either way"; content:"XMARK"; sid:1;)
alert tcp 10.0.0.1 any -> 10.0.0.2 7080 (msg:"one way"; content:"XMARK"; sid:2;)
"#,
    );
    let s1 = out.alerts_for(1);
    assert_eq!(s1.len(), 2, "{}", out.dump());
    check_alert(s1[0], 1, c, (SERVER, 7080), out.flow(c));
    check_alert(s1[1], 1, (SERVER, 7080), c, out.flow(c));
    let s2 = out.alerts_for(2);
    assert_eq!(s2.len(), 1, "{}", out.dump());
    check_alert(s2[0], 2, c, (SERVER, 7080), out.flow(c));
    assert!(!out.alerted(other));
}

#[test]
fn address_variables_port_groups_and_negation() {
    let outside: [u8; 4] = [203, 0, 113, 5];
    let far: [u8; 4] = [198, 51, 100, 1];
    let mut cap = Capture::new();
    // Inbound from outside, internal to internal, and outside to outside, all to port 80.
    cap.session((outside, 41131), (SERVER, 80), &[(true, b"VAR")]);
    cap.session((CLIENT, 41132), (SERVER, 80), &[(true, b"VAR")]);
    cap.session((outside, 41133), (far, 80), &[(true, b"VAR")]);
    cap.session((CLIENT, 41134), (outside, 80), &[(true, b"VAR")]);
    // Ports.
    for (i, port) in [8080u16, 9005, 81, 22, 443].into_iter().enumerate() {
        cap.session(
            (CLIENT, 41140 + i as u16),
            (SERVER, port),
            &[(true, b"PORT")],
        );
    }
    let rules = r#"alert tcp $EXTERNAL_NET any -> $HOME_NET $HTTP_PORTS (msg:"inbound"; content:"VAR"; sid:1;)
alert tcp $HOME_NET any -> $HOME_NET any (msg:"internal"; content:"VAR"; sid:2;)
alert tcp ![10.0.0.0/8,192.168.0.0/16] any -> !10.0.0.0/8 any (msg:"outside only"; content:"VAR"; sid:3;)
alert tcp any any -> any [80,8080,9000:9010] (msg:"port list"; content:"PORT"; sid:4;)
alert tcp any any -> any ![80,443,8000:9999] (msg:"port negation"; content:"PORT"; sid:5;)
alert tcp any any -> any [1024:,!8080] (msg:"open range minus one"; content:"PORT"; sid:6;)
"#;
    let out = run(&cap, rules);
    let s1 = out.alerts_for(1);
    assert_eq!(s1.len(), 1, "{}", out.dump());
    check_alert(
        s1[0],
        1,
        (outside, 41131),
        (SERVER, 80),
        out.flow((outside, 41131)),
    );
    let s2 = out.alerts_for(2);
    assert_eq!(s2.len(), 1, "{}", out.dump());
    assert_eq!(s2[0]["src_port"], 41132);
    let s3 = out.alerts_for(3);
    assert_eq!(s3.len(), 1, "{}", out.dump());
    assert_eq!(s3[0]["src_port"], 41133);
    let dports = |sid| {
        let mut v: Vec<u64> = out
            .alerts_for(sid)
            .iter()
            .map(|a| a["dest_port"].as_u64().unwrap())
            .collect();
        v.sort();
        v
    };
    assert_eq!(dports(4), [8080, 9005], "{}", out.dump());
    assert_eq!(dports(5), [22, 81], "{}", out.dump());
    assert_eq!(dports(6), [9005], "{}", out.dump());

    // The same rules with HOME_NET redefined in the configuration: 203.0.113.0/24 is home now.
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("nta.toml");
    std::fs::write(
        &cfg,
        "[rules.address-groups]\nHOME_NET = \"[203.0.113.0/24]\"\n",
    )
    .unwrap();
    let out = run_with(&cap, rules, &["-c", cfg.to_str().unwrap()]);
    // 10.0.0.1 -> 203.0.113.5 is inbound now, and 10.0.0.1 -> 10.0.0.2 not internal.
    let s1 = out.alerts_for(1);
    assert_eq!(s1.len(), 1, "{}", out.dump());
    assert_eq!(s1[0]["src_port"], 41134);
    out.expect_count(2, 0);
}

// ---------------------------------------------------------------------------------------------
// Application-layer buffers.

const HIT_REQ: &[u8] = b"POST /admin/login.php?user=x HTTP/1.1\r\n\
Host: WWW.Example.COM\r\n\
User-Agent: EvilBot/1.0\r\n\
Cookie: session=deadbeef\r\n\
Content-Type: application/x-www-form-urlencoded\r\n\
Content-Length: 11\r\n\
\r\n\
pass=secret";
const HIT_RESP: &[u8] = b"HTTP/1.1 403 Forbidden\r\n\
Content-Type: text/html\r\n\
Content-Length: 19\r\n\
\r\n\
<html>denied</html>";
/// The near miss: the same words, but in other parts of the messages.
const MISS_REQ: &[u8] = b"GET /index.html HTTP/1.1\r\n\
Host: www.example.org\r\n\
User-Agent: curl/8.0 (POST 403)\r\n\
Cookie: theme=dark\r\n\
\r\n";
const MISS_BODY: &str = r#"{"path":"/admin/login.php","ua":"EvilBot","cookie":"session=deadbeef","status":403,"m":"POST","pass=secret":1}"#;

fn miss_resp() -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{MISS_BODY}",
        MISS_BODY.len()
    )
    .into_bytes()
}

const HTTP_HIT: Ep = (CLIENT, 41201);
const HTTP_MISS: Ep = (CLIENT, 41202);
const HTTP_SERVER: Ep = (SERVER, 80);

fn http_capture() -> Capture {
    let mut cap = Capture::new();
    cap.session(HTTP_HIT, HTTP_SERVER, &[(true, HIT_REQ), (false, HIT_RESP)]);
    let resp = miss_resp();
    cap.session(HTTP_MISS, HTTP_SERVER, &[(true, MISS_REQ), (false, &resp)]);
    cap
}

/// Each rule (`(sid, request side)`) alerts once, on the hit transaction, from the client for
/// request buffers and from the server for response buffers, with the transaction's `http`
/// object; never on the near miss.
fn check_http_rules(out: &Out, rules: &[(u64, bool)]) {
    let hit = out.flow(HTTP_HIT);
    assert!(out.alerted(HTTP_HIT), "{}", out.dump());
    assert!(!out.alerted(HTTP_MISS), "{}", out.dump());
    for &(sid, request) in rules {
        let a = out.alerts_for(sid);
        assert_eq!(a.len(), 1, "sid {sid}\n{}", out.dump());
        let (src, dst) = if request {
            (HTTP_HIT, HTTP_SERVER)
        } else {
            (HTTP_SERVER, HTTP_HIT)
        };
        check_alert(a[0], sid, src, dst, hit);
        assert_eq!(a[0]["app_proto"], "http", "{}", a[0]);
        assert_eq!(a[0]["tx_id"], 0, "{}", a[0]);
        assert_eq!(
            a[0]["http"]["url"], "/admin/login.php?user=x",
            "the alert carries the transaction: {}",
            a[0]
        );
        assert_eq!(a[0]["http"]["http_method"], "POST", "{}", a[0]);
    }
    let all: Vec<u64> = rules.iter().map(|r| r.0).collect();
    let stray: Vec<u64> = out
        .sids()
        .into_iter()
        .filter(|s| !all.contains(s))
        .collect();
    assert!(
        stray.is_empty(),
        "unexpected sids {stray:?}\n{}",
        out.dump()
    );
}

#[test]
fn http_sticky_buffers_and_content_modifiers() {
    let rules = r#"alert http any any -> any any (msg:"uri"; http.uri; content:"/admin/login.php"; sid:101;)
alert http any any -> any any (msg:"uri modifier"; content:"/admin/"; http_uri; sid:102;)
alert http any any -> any any (msg:"uricontent"; uricontent:"/login.php"; sid:103;)
alert http any any -> any any (msg:"method"; http.method; content:"POST"; sid:104;)
alert http any any -> any any (msg:"method modifier"; content:"POST"; http_method; sid:105;)
alert http any any -> any any (msg:"host is lowercased"; http.host; content:"www.example.com"; sid:106;)
alert http any any -> any any (msg:"host modifier"; content:"www.example.com"; http_host; sid:107;)
alert http any any -> any any (msg:"user agent"; http.user_agent; content:"EvilBot"; startswith; sid:108;)
alert http any any -> any any (msg:"user agent modifier"; content:"EvilBot"; http_user_agent; sid:109;)
alert http any any -> any any (msg:"header"; http.header; content:"User-Agent|3a 20|EvilBot"; sid:110;)
alert http any any -> any any (msg:"header modifier"; content:"EvilBot"; http_header; sid:111;)
alert http any any -> any any (msg:"cookie"; http.cookie; content:"session=deadbeef"; sid:112;)
alert http any any -> any any (msg:"cookie modifier"; content:"deadbeef"; http_cookie; sid:113;)
alert http any any -> any any (msg:"stat code"; http.stat_code; content:"403"; sid:114;)
alert http any any -> any any (msg:"stat code modifier"; content:"403"; http_stat_code; sid:115;)
alert http any any -> any any (msg:"content type"; http.content_type; content:"text/html"; sid:116;)
alert http any any -> any any (msg:"content type, old name"; http_content_type; content:"text/html"; sid:117;)
alert http any any -> any any (msg:"file.data"; file.data; content:"denied"; sid:118;)
alert http any any -> any any (msg:"file_data"; file_data; content:"denied"; sid:119;)
alert http any any -> any any (msg:"response body"; http.response_body; content:"denied"; sid:120;)
alert http any any -> any any (msg:"server body modifier"; content:"denied"; http_server_body; sid:121;)
alert http any any -> any any (msg:"request body"; http.request_body; content:"pass=secret"; sid:122;)
alert http any any -> any any (msg:"client body modifier"; content:"secret"; http_client_body; sid:123;)
alert http any any -> any any (msg:"several buffers"; flow:established,to_server; http.method; content:"POST"; bsize:4; http.uri; content:"/admin"; startswith; http.host; content:".com"; endswith; sid:124;)
alert http $HOME_NET any -> $HOME_NET $HTTP_PORTS (msg:"uri nocase"; http.uri; content:"LOGIN.PHP"; nocase; sid:125;)
alert tcp any any -> any any (msg:"http buffer in a tcp rule"; http.uri; content:"/admin/"; sid:126;)
"#;
    let out = run(&http_capture(), rules);
    let req = [
        101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 122, 123, 124, 125, 126,
    ];
    let resp = [114, 115, 116, 117, 118, 119, 120, 121];
    let mut expect: Vec<(u64, bool)> = req.iter().map(|&s| (s, true)).collect();
    expect.extend(resp.iter().map(|&s| (s, false)));
    check_http_rules(&out, &expect);
}

#[test]
fn pcre_buffer_flags_on_http() {
    let rules = r#"alert http any any -> any any (msg:"U"; pcre:"/\/admin\/login\.php/U"; sid:131;)
alert http any any -> any any (msg:"M"; pcre:"/^POST$/M"; sid:132;)
alert http any any -> any any (msg:"V"; pcre:"/^EvilBot\/\d/V"; sid:133;)
alert http any any -> any any (msg:"S"; pcre:"/^40\d$/S"; sid:134;)
alert http any any -> any any (msg:"C"; pcre:"/session=[a-f]+/C"; sid:135;)
alert http any any -> any any (msg:"Q"; pcre:"/<html>denied/Q"; sid:136;)
alert http any any -> any any (msg:"W"; pcre:"/^www\.example\.com$/W"; sid:137;)
alert http any any -> any any (msg:"P"; pcre:"/^pass=\w+$/P"; sid:138;)
alert http any any -> any any (msg:"R in a sticky buffer"; http.uri; content:"/admin"; pcre:"/^\/login\.php\?/R"; sid:139;)
alert http any any -> any any (msg:"H"; pcre:"/User-Agent: EvilBot/H"; sid:140;)
"#;
    let out = run(&http_capture(), rules);
    check_http_rules(
        &out,
        &[
            (131, true),
            (132, true),
            (133, true),
            (134, false),
            (135, true),
            (136, false),
            (137, true),
            (138, true),
            (139, true),
            (140, true),
        ],
    );
}

/// A DNS message with one question (`response`: with one A answer, 192.0.2.1).
fn dns_message(id: u16, name: &str, response: bool) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(if response {
        &[0x81, 0x80]
    } else {
        &[0x01, 0x00]
    });
    m.extend_from_slice(&[0, 1, 0, u8::from(response), 0, 0, 0, 0]);
    for label in name.split('.') {
        m.push(label.len() as u8);
        m.extend_from_slice(label.as_bytes());
    }
    m.extend_from_slice(&[0, 0, 1, 0, 1]);
    if response {
        m.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);
    }
    m
}

#[test]
fn dns_query_in_both_spellings() {
    let resolver: Ep = (SERVER, 53);
    let (hit, miss) = ((CLIENT, 41301), (CLIENT, 41302));
    let mut cap = Capture::new();
    cap.udp(
        hit,
        resolver,
        &dns_message(0x1111, "malware.Example.net", false),
    );
    cap.udp(
        resolver,
        hit,
        &dns_message(0x1111, "malware.Example.net", true),
    );
    cap.udp(
        miss,
        resolver,
        &dns_message(0x2222, "benign.example.org", false),
    );
    cap.udp(
        resolver,
        miss,
        &dns_message(0x2222, "benign.example.org", true),
    );
    let out = run(
        &cap,
        r#"alert dns any any -> any any (msg:"dns.query"; dns.query; content:"malware"; sid:201;)
alert dns any any -> any any (msg:"dns_query"; dns_query; content:"malware.example.net"; nocase; sid:202;)
alert udp any any -> any 53 (msg:"dns.query in a udp rule"; dns.query; content:".net"; endswith; sid:203;)
alert dns any any -> any any (msg:"case kept"; dns.query; content:"malware.example.net"; sid:204;)
"#,
    );
    for sid in [201, 202, 203] {
        let a = out.alerts_for(sid);
        assert_eq!(a.len(), 1, "sid {sid}\n{}", out.dump());
        check_alert(a[0], sid, hit, resolver, out.flow(hit));
        assert_eq!(a[0]["app_proto"], "dns", "{}", a[0]);
        assert!(
            a[0]["dns"].is_object(),
            "the alert carries the query: {}",
            a[0]
        );
    }
    // The query name is not lowercased.
    out.expect_count(204, 0);
    assert!(!out.alerted(miss));
}

/// A TLS 1.2 ClientHello record naming `sni`.
fn client_hello(sni: &str) -> Vec<u8> {
    let mut ext = Vec::new();
    let name = sni.as_bytes();
    // server_name: a list with one host_name.
    let mut sn = Vec::new();
    sn.extend_from_slice(&(name.len() as u16 + 3).to_be_bytes());
    sn.push(0);
    sn.extend_from_slice(&(name.len() as u16).to_be_bytes());
    sn.extend_from_slice(name);
    ext.extend_from_slice(&0u16.to_be_bytes());
    ext.extend_from_slice(&(sn.len() as u16).to_be_bytes());
    ext.extend_from_slice(&sn);
    // supported_groups (x25519, secp256r1) and ec_point_formats (uncompressed).
    ext.extend_from_slice(&[0, 10, 0, 6, 0, 4, 0, 29, 0, 23]);
    ext.extend_from_slice(&[0, 11, 0, 2, 1, 0]);
    let mut body = vec![3, 3];
    body.extend_from_slice(&[0x11; 32]); // random
    body.push(0); // no session id
    body.extend_from_slice(&[0, 4, 0xc0, 0x2f, 0x00, 0x9c]); // two cipher suites
    body.extend_from_slice(&[1, 0]); // null compression
    body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    body.extend_from_slice(&ext);
    let mut hs = vec![1];
    hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend_from_slice(&body);
    let mut rec = vec![0x16, 3, 1];
    rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    rec.extend_from_slice(&hs);
    rec
}

#[test]
fn tls_sni_in_both_spellings() {
    let server: Ep = (SERVER, 443);
    let (hit, miss) = ((CLIENT, 41401), (CLIENT, 41402));
    let mut cap = Capture::new();
    cap.session(hit, server, &[(true, &client_hello("evil.example.com"))]);
    cap.session(miss, server, &[(true, &client_hello("good.example.org"))]);
    let out = run(
        &cap,
        r#"alert tls any any -> any any (msg:"tls.sni"; tls.sni; content:"evil.example.com"; bsize:16; sid:301;)
alert tls any any -> any any (msg:"tls_sni"; tls_sni; content:"evil"; startswith; sid:302;)
alert tcp any any -> any 443 (msg:"tls.sni in a tcp rule"; flow:to_server; tls.sni; content:".com"; endswith; sid:303;)
"#,
    );
    for sid in [301, 302, 303] {
        let a = out.alerts_for(sid);
        assert_eq!(a.len(), 1, "sid {sid}\n{}", out.dump());
        check_alert(a[0], sid, hit, server, out.flow(hit));
        assert_eq!(a[0]["app_proto"], "tls", "{}", a[0]);
        assert_eq!(a[0]["tls"]["sni"], "evil.example.com", "{}", a[0]);
    }
    assert_eq!(out.alerts().len(), 3, "{}", out.dump());
    assert!(!out.alerted(miss));
}

/// `tests/cases/tls.pcap`: openssl s_client and s_server over loopback, a TLS 1.2 and a TLS 1.3
/// session; the JA3 hashes are tshark's and the subject openssl's (see `protocols.rs`).
fn tls_case() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/cases/tls.pcap")
}

#[test]
fn ja3_hash_and_certificate_subject_on_a_real_capture() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("t.rules");
    std::fs::write(
        &rules,
        r#"alert tls any any -> any any (msg:"ja3 of the TLS 1.2 client"; ja3.hash; content:"22558766122974704364c9c75c5cce0a"; sid:311;)
alert tls any any -> any any (msg:"ja3, old name"; ja3_hash; content:"5a1edc7f170af1014fc65c994878e63c"; sid:312;)
alert tls any any -> any any (msg:"no such ja3"; ja3.hash; content:"00000000000000000000000000000000"; sid:313;)
alert tls any any -> any any (msg:"subject"; flow:established,to_client; tls.cert_subject; content:"CN=test.example"; endswith; sid:314;)
alert tls any any -> any any (msg:"subject, other CN"; tls.cert_subject; content:"CN=other.example"; sid:315;)
"#,
    )
    .unwrap();
    let run = common::nta(&[
        "read",
        "-q",
        tls_case().to_str().unwrap(),
        "-S",
        rules.to_str().unwrap(),
        "--workers",
        "1",
    ]);
    run.expect_code(0);
    let events = run.events();
    let alerts: Vec<&Value> = events
        .iter()
        .filter(|e| e["event_type"] == "alert")
        .collect();
    let of = |sid: u64| -> Vec<&&Value> {
        alerts
            .iter()
            .filter(|a| a["alert"]["signature_id"] == sid)
            .collect()
    };
    let ja3_12 = of(311);
    assert_eq!(ja3_12.len(), 1, "{alerts:#?}");
    assert_eq!(ja3_12[0]["tls"]["version"], "TLS 1.2");
    let fl = flows(&events);
    assert_eq!(fl.len(), 2);
    // The JA3 is the client's: the alert comes from the client.
    let f12 = fl
        .iter()
        .find(|f| f["flow_id"] == ja3_12[0]["flow_id"])
        .expect("the alert's flow");
    assert_eq!(ja3_12[0]["src_port"], f12["src_port"], "{}", ja3_12[0]);
    let ja3_13 = of(312);
    assert_eq!(ja3_13.len(), 1, "{alerts:#?}");
    assert_eq!(ja3_13[0]["tls"]["version"], "TLS 1.3");
    assert!(of(313).is_empty());
    // Only TLS 1.2 shows its certificate; the alert comes from the server.
    let subj = of(314);
    assert_eq!(subj.len(), 1, "{alerts:#?}");
    assert_eq!(
        subj[0]["tls"]["subject"],
        "C=US, O=NTA Test, CN=test.example"
    );
    assert_eq!(subj[0]["flow_id"], ja3_12[0]["flow_id"]);
    assert_eq!(subj[0]["src_port"], f12["dest_port"], "{}", subj[0]);
    assert_eq!(subj[0]["dest_port"], f12["src_port"], "{}", subj[0]);
    assert!(of(315).is_empty());
    assert!(fl.iter().all(|f| f["flow"]["alerted"] == true));
}

#[test]
fn ssh_software_and_proto() {
    let server: Ep = (SERVER, 2222);
    let (hit, miss) = ((CLIENT, 41501), (CLIENT, 41502));
    let mut cap = Capture::new();
    cap.session(
        hit,
        server,
        &[
            (false, b"SSH-1.99-OpenSSH_7.4\r\n"),
            (true, b"SSH-2.0-PuTTY_Release_0.78\r\n"),
        ],
    );
    cap.session(
        miss,
        server,
        &[
            (false, b"SSH-2.0-OpenSSH_9.2p1\r\n"),
            (true, b"SSH-2.0-OpenSSH_9.2p1\r\n"),
        ],
    );
    let out = run(
        &cap,
        r#"alert ssh any any -> any any (msg:"client software"; flow:to_server; ssh.software; content:"PuTTY"; sid:401;)
alert ssh any any -> any any (msg:"old name"; ssh_software; content:"PuTTY_Release"; startswith; sid:402;)
alert ssh any any -> any any (msg:"server proto"; flow:to_client; ssh.proto; content:"1.99"; sid:403;)
alert ssh any any -> any any (msg:"old proto name"; ssh_proto; content:"1.99"; bsize:4; sid:404;)
alert ssh any any -> any any (msg:"server software"; ssh.software; content:"OpenSSH_7"; sid:405;)
"#,
    );
    let hitflow = out.flow(hit);
    for (sid, from_client) in [
        (401, true),
        (402, true),
        (403, false),
        (404, false),
        (405, false),
    ] {
        let a = out.alerts_for(sid);
        assert_eq!(a.len(), 1, "sid {sid}\n{}", out.dump());
        let (src, dst) = if from_client {
            (hit, server)
        } else {
            (server, hit)
        };
        check_alert(a[0], sid, src, dst, hitflow);
        assert_eq!(a[0]["app_proto"], "ssh", "{}", a[0]);
        assert!(a[0]["ssh"].is_object(), "{}", a[0]);
    }
    assert!(!out.alerted(miss));
}

/// A configuration loading the user-defined protocols of `examples/protocols/`
/// (`modbus_tcp`, `memcached_text`).
fn custom_protocols_config(dir: &Path) -> PathBuf {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/protocols");
    let cfg = dir.join("nta.toml");
    std::fs::write(
        &cfg,
        format!(
            "[protocols]\ncustom_dir = {:?}\n",
            examples.display().to_string()
        ),
    )
    .unwrap();
    cfg
}

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn user_defined_protocol_fields() {
    let plc: Ep = (SERVER, 502);
    let (hit, miss) = ((CLIENT, 41601), (CLIENT, 41602));
    let mut cap = Capture::new();
    // Write single register 1 = 3 (echoed), then a read at an address the device lacks:
    // exception 2 (illegal_data_address).
    let write = hex("0002 0000 0006 01 06 0001 0003");
    let read_bad = hex("0005 0000 0006 01 03 ffff 0001");
    let exception = hex("0005 0000 0003 01 83 02");
    cap.session(
        hit,
        plc,
        &[
            (true, &write),
            (false, &write),
            (true, &read_bad),
            (false, &exception),
        ],
    );
    // The near miss: a plain read of 3 holding registers.
    cap.session(
        miss,
        plc,
        &[
            (true, &hex("0001 0000 0006 01 03 006b 0003")),
            (false, &hex("0001 0000 0009 01 03 06 022b 0000 0064")),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = custom_protocols_config(dir.path());
    let out = run_with(
        &cap,
        r#"alert tcp any any -> any 502 (msg:"write request"; custom.modbus_tcp.function; content:"write_"; startswith; sid:501;)
alert tcp any 502 -> any any (msg:"write echoed"; custom.modbus_tcp.function; content:"write_single"; sid:502;)
alert tcp any 502 -> any any (msg:"exception by name"; custom_field:modbus_tcp.exception, "illegal_data_address"; sid:503;)
alert tcp any 502 -> any any (msg:"exception bit"; custom_field:modbus_tcp.is_exception, 1; sid:504;)
alert tcp any any -> any 502 (msg:"high address"; custom_field:modbus_tcp.start_address, >=65000; sid:505;)
alert tcp any any -> any any (msg:"no such write"; custom.modbus_tcp.function; content:"write_multiple"; sid:506;)
alert tcp any any -> any any (msg:"other exception"; custom_field:modbus_tcp.exception, "illegal_function"; sid:507;)
alert tcp any any -> any any (msg:"unit"; custom_field:modbus_tcp.unit_id, 1; custom.modbus_tcp.function; content:"read_holding"; sid:508;)
"#,
        &["-c", cfg.to_str().unwrap()],
    );
    let hitflow = out.flow(hit);
    let missflow = out.flow(miss);
    assert_eq!(hitflow["app_proto"], "modbus_tcp", "{hitflow}");
    for (sid, from_client) in [
        (501, true),
        (502, false),
        (503, false),
        (504, false),
        (505, true),
    ] {
        let a = out.alerts_for(sid);
        assert_eq!(a.len(), 1, "sid {sid}\n{}", out.dump());
        let (src, dst) = if from_client { (hit, plc) } else { (plc, hit) };
        check_alert(a[0], sid, src, dst, hitflow);
        assert_eq!(a[0]["app_proto"], "modbus_tcp", "{}", a[0]);
        assert_eq!(
            a[0]["custom"]["protocol"], "modbus_tcp",
            "the alert carries the message: {}",
            a[0]
        );
    }
    out.expect_count(506, 0);
    out.expect_count(507, 0);
    // Every message with unit 1 and that function: the bad read (its reply is an
    // exception, function 131), and the other flow's read and reply, each from its sender.
    let reads = out.alerts_for(508);
    assert_eq!(reads.len(), 3, "{}", out.dump());
    check_alert(reads[0], 508, hit, plc, hitflow);
    check_alert(reads[1], 508, miss, plc, missflow);
    check_alert(reads[2], 508, plc, miss, missflow);
    assert!(out.alerted(miss));
}

#[test]
fn custom_field_alert_on_a_server_message_comes_from_the_server() {
    let plc: Ep = (SERVER, 502);
    let c: Ep = (CLIENT, 41611);
    let mut cap = Capture::new();
    cap.session(
        c,
        plc,
        &[
            (true, &hex("0005 0000 0006 01 03 ffff 0001")),
            (false, &hex("0005 0000 0003 01 83 02")),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = custom_protocols_config(dir.path());
    let out = run_with(
        &cap,
        r#"alert tcp any any -> any any (msg:"exception"; custom_field:modbus_tcp.exception, "illegal_data_address"; sid:1;)
"#,
        &["-c", cfg.to_str().unwrap()],
    );
    let a = out.alerts_for(1);
    assert_eq!(a.len(), 1, "{}", out.dump());
    check_alert(a[0], 1, plc, c, out.flow(c));
}

// ---------------------------------------------------------------------------------------------
// Loading and actions.

#[test]
fn a_rule_with_an_unsupported_keyword_is_skipped_with_its_place_and_the_others_alert() {
    let (c, s): (Ep, Ep) = ((CLIENT, 41701), (SERVER, 7000));
    let mut cap = Capture::new();
    cap.session(c, s, &[(true, b"MARKER")]);
    let rules = r#"alert tcp any any -> any any (msg:"first"; content:"MARKER"; sid:1;)
alert tcp any any -> any any (msg:"lua"; content:"MARKER"; lua:check.lua; sid:2;)
# a comment
alert tcp any any -> any any (msg:"tos"; content:"MARKER"; tos:8; sid:3;)
alert tcp any any -> any any (msg:"last"; content:"MARKER"; sid:4;)
"#;
    let out = run_raw(&cap, rules, &[]);
    assert_eq!(out.sids(), [1, 4], "{}", out.dump());
    let warnings: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("nta: warning: rule skipped"))
        .collect();
    assert_eq!(warnings.len(), 2, "{}", out.stderr);
    // Skipped by the parser (unknown keyword) and by the engine (a keyword it cannot
    // evaluate yet): both name the file, the line and the keyword.
    assert!(
        warnings[0].contains("t.rules:2") && warnings[0].contains("lua"),
        "{}",
        warnings[0]
    );
    assert!(
        warnings[1].contains("t.rules:4") && warnings[1].contains("tos"),
        "{}",
        warnings[1]
    );
    assert!(
        out.stderr.contains("rules: 2 loaded, 2 skipped"),
        "{}",
        out.stderr
    );
    assert!(out.alerted(c));
}

#[test]
fn alert_object_carries_the_rules_metadata() {
    let (c, s): (Ep, Ep) = ((CLIENT, 41711), (SERVER, 7000));
    let mut cap = Capture::new();
    cap.session(c, s, &[(true, b"MARKER")]);
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("local.rules");
    std::fs::write(
        &rules,
        r#"alert tcp any any -> any any (msg:"classified"; content:"MARKER"; classtype:trojan-activity; metadata:former_category MALWARE, created_at 2020_01_01; sid:1000001; rev:7; gid:3;)
alert tcp any any -> any any (msg:"own priority"; content:"MARKER"; classtype:trojan-activity; priority:4; sid:1000002;)
"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("classification.config"),
        "config classification: trojan-activity,A Network Trojan was detected,1\n",
    )
    .unwrap();
    let pcap = dir.path().join("t.pcap");
    cap.pcap.write(&pcap);
    let run = common::nta(&[
        "read",
        "-q",
        pcap.to_str().unwrap(),
        "-S",
        rules.to_str().unwrap(),
    ]);
    run.expect_code(0);
    let events = run.events();
    let alerts: Vec<&Value> = events
        .iter()
        .filter(|e| e["event_type"] == "alert")
        .collect();
    assert_eq!(alerts.len(), 2, "{alerts:#?}");
    let a = &alerts[0]["alert"];
    assert_eq!(a["signature_id"], 1000001, "{a}");
    assert_eq!(a["gid"], 3);
    assert_eq!(a["rev"], 7);
    assert_eq!(a["signature"], "classified");
    assert_eq!(a["category"], "A Network Trojan was detected");
    assert_eq!(a["severity"], 1);
    assert_eq!(
        a["metadata"],
        serde_json::json!({"former_category": ["MALWARE"], "created_at": ["2020_01_01"]})
    );
    let b = &alerts[1]["alert"];
    assert_eq!(b["signature_id"], 1000002, "{b}");
    assert_eq!(b["severity"], 4, "priority overrides the class: {b}");
    assert!(b.get("metadata").is_none(), "{b}");
}

#[test]
fn pass_rule_suppresses_the_alerts_of_its_packet() {
    let server: Ep = (SERVER, 7000);
    let trusted: Ep = ([10, 0, 0, 9], 41801);
    let other: Ep = (CLIENT, 41802);
    let mut cap = Capture::new();
    cap.session(trusted, server, &[(true, b"ATTACK 1"), (true, b"PROBE 2")]);
    cap.session(other, server, &[(true, b"ATTACK 3")]);
    // The pass rule is last in the file: pass rules are evaluated first all the same.
    let out = run(
        &cap,
        r#"alert tcp any any -> any any (msg:"attack"; content:"ATTACK"; sid:1;)
alert tcp any any -> any any (msg:"probe"; content:"PROBE"; priority:1; sid:2;)
pass tcp 10.0.0.9 any -> any any (msg:"trusted attacks"; content:"ATTACK"; sid:3;)
"#,
    );
    let s1 = out.alerts_for(1);
    assert_eq!(s1.len(), 1, "{}", out.dump());
    check_alert(s1[0], 1, other, server, out.flow(other));
    // Another packet of the trusted flow is inspected as usual.
    let s2 = out.alerts_for(2);
    assert_eq!(s2.len(), 1, "{}", out.dump());
    check_alert(s2[0], 2, trusted, server, out.flow(trusted));
    out.expect_count(3, 0);
}

#[test]
fn pass_rule_on_a_transaction_suppresses_its_alerts() {
    let out = run(
        &http_capture(),
        r#"alert http any any -> any any (msg:"admin uri"; http.uri; content:"/admin/"; sid:1;)
pass http any any -> any any (msg:"trusted host"; http.host; content:"www.example.com"; sid:2;)
"#,
    );
    out.expect_count(1, 0);
    assert!(!out.alerted(HTTP_HIT));
}

#[test]
fn pass_rule_on_addresses_only_passes_the_whole_flow() {
    let server: Ep = (SERVER, 7000);
    let trusted: Ep = ([10, 0, 0, 9], 41811);
    let mut cap = Capture::new();
    cap.session(trusted, server, &[(true, b"hello"), (true, b"ATTACK")]);
    let out = run(
        &cap,
        r#"alert tcp any any -> any any (msg:"attack"; content:"ATTACK"; sid:1;)
pass ip 10.0.0.9 any -> any any (msg:"trusted host"; sid:2;)
"#,
    );
    out.expect_count(1, 0);
}

// ---------------------------------------------------------------------------------------------
// How packets, streams and transactions meet.

#[test]
fn ip_only_rules_alert_once_per_direction() {
    let server: Ep = (SERVER, 7000);
    let c: Ep = (CLIENT, 41901);
    let mut cap = Capture::new();
    cap.session(c, server, &[(true, b"a"), (false, b"b"), (true, b"c")]);
    let out = run(
        &cap,
        r#"alert ip any any -> any any (msg:"any way"; sid:1;)
alert tcp 10.0.0.1 any -> any any (msg:"from the client"; sid:2;)
alert ip 10.0.0.2 any -> 10.0.0.1 any (msg:"from the server"; sid:3;)
"#,
    );
    let s1 = out.alerts_for(1);
    assert_eq!(s1.len(), 2, "{}", out.dump());
    check_alert(s1[0], 1, c, server, out.flow(c));
    check_alert(s1[1], 1, server, c, out.flow(c));
    let s2 = out.alerts_for(2);
    assert_eq!(s2.len(), 1, "{}", out.dump());
    check_alert(s2[0], 2, c, server, out.flow(c));
    let s3 = out.alerts_for(3);
    assert_eq!(s3.len(), 1, "{}", out.dump());
    check_alert(s3[0], 3, server, c, out.flow(c));
}

#[test]
fn byte_extract_feeds_later_positions() {
    probe(
        r#"alert tcp any any -> any any (content:"|05|"; depth:1; byte_extract:1,0,len,relative; content:"END"; distance:len; within:3; sid:90;)"#,
        &[b"\x05\x03abcEND"],
        &[b"\x05\x04abcEND", b"\x05\x02abcEND"],
    );
}

#[test]
fn http_keep_alive_alerts_once_per_transaction() {
    let c: Ep = (CLIENT, 41911);
    let mut cap = Capture::new();
    let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    cap.session(
        c,
        HTTP_SERVER,
        &[
            (true, b"GET /admin/a HTTP/1.1\r\nHost: h\r\n\r\n"),
            (false, ok),
            (true, b"GET /public HTTP/1.1\r\nHost: h\r\n\r\n"),
            (false, ok),
            (true, b"GET /admin/b HTTP/1.1\r\nHost: h\r\n\r\n"),
            (false, ok),
        ],
    );
    let out = run(
        &cap,
        r#"alert http any any -> any any (msg:"admin"; http.uri; content:"/admin/"; sid:1;)
alert http any any -> any any (msg:"long uri"; urilen:>8; sid:2;)
alert http any any -> any any (msg:"short uri"; urilen:<8; sid:3;)
"#,
    );
    let a = out.alerts_for(1);
    assert_eq!(a.len(), 2, "{}", out.dump());
    assert_eq!(
        (a[0]["tx_id"].as_u64(), a[1]["tx_id"].as_u64()),
        (Some(0), Some(2))
    );
    assert_eq!(a[1]["http"]["url"], "/admin/b");
    // "/admin/a" and "/admin/b" are 8 long: neither longer nor shorter than 8; "/public" is 7.
    out.expect_count(2, 0);
    let short = out.alerts_for(3);
    assert_eq!(short.len(), 1, "{}", out.dump());
    assert_eq!(short[0]["tx_id"], 1);
}

#[test]
fn plain_content_in_an_http_rule_inspects_the_packets_of_http_flows() {
    // No buffer: the payload of every packet of an HTTP flow, either way (Suricata's
    // packet/stream inspection), so the near miss's response body matches too.
    let out = run(
        &http_capture(),
        r#"alert http any any -> any any (msg:"raw"; content:"EvilBot"; sid:1;)
alert tcp any any -> any 7000 (msg:"not an http port"; content:"EvilBot"; sid:2;)
"#,
    );
    let a = out.alerts_for(1);
    assert_eq!(a.len(), 2, "{}", out.dump());
    check_alert(a[0], 1, HTTP_HIT, HTTP_SERVER, out.flow(HTTP_HIT));
    check_alert(a[1], 1, HTTP_SERVER, HTTP_MISS, out.flow(HTTP_MISS));
    out.expect_count(2, 0);
}

#[test]
fn content_split_across_segments_matches_the_stream() {
    let (c, s): (Ep, Ep) = ((CLIENT, 41921), (SERVER, 7000));
    let mut cap = Capture::new();
    cap.session(c, s, &[(true, b"GET /ad"), (true, b"min HTTP/1.0")]);
    let out = run(
        &cap,
        r#"alert tcp any any -> any any (msg:"stream"; content:"/admin"; sid:1;)
alert tcp-pkt any any -> any any (msg:"packets only"; content:"/admin"; sid:2;)
"#,
    );
    out.expect_count(1, 1);
    out.expect_count(2, 0);
}

#[test]
fn http_request_rules_alert_on_the_request() {
    let c: Ep = (CLIENT, 41931);
    let mut cap = Capture::new();
    cap.session(c, HTTP_SERVER, &[(true, HIT_REQ), (false, HIT_RESP)]);
    let out = run(
        &cap,
        r#"alert http any any -> any any (msg:"uri"; http.uri; content:"/admin/"; sid:1;)
"#,
    );
    let a = out.alerts_for(1);
    assert_eq!(a.len(), 1, "{}", out.dump());
    // SYN-ACK only from the server so far.
    assert_eq!(a[0]["flow"]["pkts_toclient"], 1, "{}", a[0]);
}

#[test]
fn http_request_without_a_response_still_alerts() {
    let c: Ep = (CLIENT, 41941);
    let mut cap = Capture::new();
    cap.session(c, HTTP_SERVER, &[(true, HIT_REQ)]);
    let out = run(
        &cap,
        r#"alert http any any -> any any (msg:"uri"; http.uri; content:"/admin/"; sid:1;)
"#,
    );
    let a = out.alerts_for(1);
    assert_eq!(a.len(), 1, "{}", out.dump());
    check_alert(a[0], 1, c, HTTP_SERVER, out.flow(c));
}

#[test]
fn flowbits_between_transaction_and_packet_rules() {
    // A transaction rule sets, a packet rule of a later packet reads; and the reverse.
    let (c, s): (Ep, Ep) = ((CLIENT, 41951), HTTP_SERVER);
    let mut cap = Capture::new();
    cap.session(c, s, &[(true, HIT_REQ), (false, HIT_RESP)]);
    let out = run(
        &cap,
        r#"alert http any any -> any any (msg:"admin request"; http.uri; content:"/admin/"; flowbits:set,admin; noalert; sid:1;)
alert tcp any any -> any any (msg:"client FIN after admin"; flow:to_server; flags:FA; flowbits:isset,admin; sid:2;)
alert tcp any any -> any any (msg:"post seen"; content:"POST "; depth:5; flowbits:set,post; noalert; sid:3;)
alert http any any -> any any (msg:"403 to a post"; http.stat_code; content:"403"; flowbits:isset,post; sid:4;)
"#,
    );
    let fin = out.alerts_for(2);
    assert_eq!(fin.len(), 1, "{}", out.dump());
    check_alert(fin[0], 2, c, s, out.flow(c));
    let st = out.alerts_for(4);
    assert_eq!(st.len(), 1, "{}", out.dump());
    check_alert(st[0], 4, s, c, out.flow(c));
}

#[test]
fn flowbit_set_by_a_packet_rule_is_seen_by_a_transaction_rule_on_the_same_packet() {
    let (c, s): (Ep, Ep) = ((CLIENT, 41961), (SERVER, 53));
    let mut cap = Capture::new();
    cap.udp(c, s, &dns_message(0x3333, "malware.example.net", false));
    let out = run(
        &cap,
        r#"alert udp any any -> any 53 (msg:"marker"; content:"malware"; flowbits:set,bad; noalert; sid:1;)
alert dns any any -> any any (msg:"query after marker"; dns.query; content:"malware"; flowbits:isset,bad; sid:2;)
"#,
    );
    out.expect_count(2, 1);
}

#[test]
fn pass_packet_rule_suppresses_transaction_alerts_of_its_packet() {
    let (c, s): (Ep, Ep) = ((CLIENT, 41971), (SERVER, 53));
    let mut cap = Capture::new();
    cap.udp(c, s, &dns_message(0x4444, "malware.example.net", false));
    let out = run(
        &cap,
        r#"alert dns any any -> any any (msg:"bad query"; dns.query; content:"malware"; sid:1;)
pass udp 10.0.0.1 any -> any 53 (msg:"trusted resolver client"; content:"malware"; sid:2;)
"#,
    );
    out.expect_count(1, 0);
}
