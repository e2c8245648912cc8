//! The application layer end to end through `nta read`: TCP reassembly as a user sees it (in
//! the events and the stats), protocol selection (`--protocols`, `[protocols.*]`), `nta
//! protocols`, and configuration errors.

mod common;

use common::*;
use serde_json::Value;

const C: [u8; 4] = [10, 0, 0, 1];
const S: [u8; 4] = [10, 0, 0, 2];
const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const PSH_ACK: u8 = 0x18;
const FIN_ACK: u8 = 0x11;

/// One Ethernet/IPv4/TCP frame between C:40000 and S:`port`.
fn seg(to_server: bool, port: u16, seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let (src, dst, sp, dp) = if to_server {
        (C, S, 40000, port)
    } else {
        (S, C, port, 40000)
    };
    let ip = Ipv4::new(src, dst, 6).build(&tcp(sp, dp, seq, ack, flags, payload));
    eth([2, 0, 0, 0, 0, 2], [2, 0, 0, 0, 0, 1], 0x0800, &ip)
}

/// A TCP session on `port`: handshake, then `segments` (to_server, offset in its direction's
/// stream, payload) in the given order, then FINs. Client ISN 1000, server ISN 5000.
fn session(port: u16, segments: &[(bool, u32, &[u8])]) -> Pcap {
    let mut p = Pcap::new(1);
    let mut t = 1_000_000u64;
    let mut step = |p: &mut Pcap, frame: Vec<u8>| {
        t += 1000;
        p.packet(t, &frame);
    };
    step(&mut p, seg(true, port, 1000, 0, SYN, b""));
    step(&mut p, seg(false, port, 5000, 1001, SYN | ACK, b""));
    step(&mut p, seg(true, port, 1001, 5001, ACK, b""));
    let (mut cend, mut send) = (0u32, 0u32);
    for &(to_server, off, data) in segments {
        let seq = if to_server { 1001 + off } else { 5001 + off };
        // Acknowledge only what the other side already sent, so that a hole is not declared
        // a gap before its data arrives.
        let ack = if to_server { 5001 + send } else { 1001 + cend };
        step(&mut p, seg(to_server, port, seq, ack, PSH_ACK, data));
        let end = off + data.len() as u32;
        if to_server {
            cend = cend.max(end);
        } else {
            send = send.max(end);
        }
    }
    step(
        &mut p,
        seg(true, port, 1001 + cend, 5001 + send, FIN_ACK, b""),
    );
    step(
        &mut p,
        seg(false, port, 5001 + send, 1002 + cend, FIN_ACK, b""),
    );
    step(&mut p, seg(true, port, 1002 + cend, 5002 + send, ACK, b""));
    p
}

fn read_pcap(p: &Pcap, extra: &[&str]) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("t.pcap");
    p.write(&f);
    read_ok(&[&f], extra)
}

fn of_type<'a>(events: &'a [Value], t: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["event_type"] == t).collect()
}

const REQ: &[u8] = b"GET /first/data/wins HTTP/1.1\r\nHost: example.org\r\nUser-Agent: t\r\n\r\n";
const RESP: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello";

#[test]
fn out_of_order_request_is_reassembled_before_parsing() {
    // The request in three pieces, the last first; HTTP on an unusual port.
    let (a, b) = REQ.split_at(10);
    let (b, c) = b.split_at(20);
    let p = session(
        9999,
        &[(true, 30, c), (true, 10, b), (true, 0, a), (false, 0, RESP)],
    );
    let events = read_pcap(&p, &[]);
    let http = of_type(&events, "http");
    assert_eq!(http.len(), 1, "{events:?}");
    assert_eq!(http[0]["http"]["url"], "/first/data/wins");
    assert_eq!(http[0]["http"]["hostname"], "example.org");
    assert_eq!(http[0]["http"]["status"], 200);
    assert_eq!(http[0]["app_proto"], "http");
    assert_eq!(http[0]["src_ip"], "10.0.0.1");
    assert_eq!(http[0]["dest_port"], 9999);
    let flow = &flows(&events)[0];
    assert_eq!(flow["app_proto"], "http");
    assert_eq!(flow["flow_id"], http[0]["flow_id"]);
    let stats = final_stats(&events);
    assert_eq!(counter(stats, "tcp.ooo_queued"), 2);
    assert_eq!(counter(stats, "tcp.reassembly_gap"), 0);
    assert_eq!(counter(stats, "app_layer.flow.http"), 1);
    assert_eq!(counter(stats, "app_layer.tx.http"), 1);
}

#[test]
fn overlapping_retransmission_keeps_the_first_bytes_and_is_counted() {
    let mut evil = REQ.to_vec();
    evil[5..10].copy_from_slice(b"EVIL!");
    let p = session(
        80,
        &[
            (true, 0, REQ),
            (true, 0, &evil), // same sequence numbers, different bytes
            (false, 0, RESP),
        ],
    );
    let events = read_pcap(&p, &[]);
    let http = of_type(&events, "http");
    assert_eq!(http.len(), 1);
    assert_eq!(http[0]["http"]["url"], "/first/data/wins");
    let stats = final_stats(&events);
    assert_eq!(counter(stats, "tcp.overlap"), 1);
    assert_eq!(counter(stats, "tcp.retransmissions"), 1);
}

#[test]
fn missing_segment_is_a_gap_and_parsing_resumes() {
    // Two requests; the middle of the response body of the first is never captured but is
    // acknowledged by the client.
    let body: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 30\r\n\r\n0123456789";
    let rest: &[u8] = b"0123456789HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
    let two = b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n";
    // The client acknowledges 10 bytes more than it saw, then the rest arrives.
    let off = body.len() as u32 + 10;
    let mut p2 = Pcap::new(1);
    let mut t = 1_000_000u64;
    let mut push = |frame: Vec<u8>| {
        t += 1000;
        p2.packet(t, &frame);
    };
    let c_len = two.len() as u32;
    push(seg(true, 80, 1000, 0, SYN, b""));
    push(seg(false, 80, 5000, 1001, SYN | ACK, b""));
    push(seg(true, 80, 1001, 5001, ACK, b""));
    push(seg(true, 80, 1001, 5001, PSH_ACK, two));
    push(seg(false, 80, 5001, 1001 + c_len, PSH_ACK, body));
    push(seg(true, 80, 1001 + c_len, 5001 + off, ACK, b""));
    push(seg(false, 80, 5001 + off, 1001 + c_len, PSH_ACK, rest));
    let events = read_pcap(&p2, &[]);
    let http = of_type(&events, "http");
    let urls: Vec<_> = http.iter().map(|e| e["http"]["url"].clone()).collect();
    assert_eq!(urls, ["/a", "/b"], "{events:?}");
    assert_eq!(http[0]["http"]["length"], 30);
    assert_eq!(http[1]["http"]["status"], 404);
    let stats = final_stats(&events);
    assert_eq!(counter(stats, "tcp.reassembly_gap"), 1);
}

#[test]
fn reassembly_depth_is_honoured_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("nta.toml");
    std::fs::write(&cfg, "[stream]\ndepth = 16\n").unwrap();
    let p = session(80, &[(true, 0, REQ), (false, 0, RESP)]);
    let events = read_pcap(&p, &["-c", cfg.to_str().unwrap()]);
    let stats = final_stats(&events);
    assert_eq!(counter(stats, "tcp.stream_depth_reached"), 2);
    // The request line never completed within 16 bytes: no transaction.
    assert!(of_type(&events, "http").is_empty());
}

#[test]
fn protocols_flag_selects_what_is_analysed() {
    let p = session(80, &[(true, 0, REQ), (false, 0, RESP)]);
    let only_dns = read_pcap(&p, &["--protocols", "dns"]);
    assert!(of_type(&only_dns, "http").is_empty());
    assert_eq!(flows(&only_dns)[0]["app_proto"], "failed");
    let none = read_pcap(&p, &["--protocols", "none"]);
    assert!(flows(&none)[0].get("app_proto").is_none());
    let http = read_pcap(&p, &["--protocols", "http,dns"]);
    assert_eq!(of_type(&http, "http").len(), 1);
    let bad = nta(&["read", "-q", "--protocols", "htp", "/dev/null"]);
    bad.expect_code(1);
    assert!(
        bad.error_line().contains("no protocol is named `htp`"),
        "{}",
        bad.stderr
    );
}

#[test]
fn config_turns_logging_off_and_moves_ports() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("nta.toml");
    std::fs::write(
        &cfg,
        "[protocols.http]\nlog = false\nports = [9999, \"8000-8010\"]\n",
    )
    .unwrap();
    let p = session(80, &[(true, 0, REQ), (false, 0, RESP)]);
    let events = read_pcap(&p, &["-c", cfg.to_str().unwrap()]);
    assert!(of_type(&events, "http").is_empty());
    assert_eq!(flows(&events)[0]["app_proto"], "http");
    let list = nta(&["protocols", "-c", cfg.to_str().unwrap()]);
    list.expect_code(0);
    let line = list
        .stdout
        .lines()
        .find(|l| l.starts_with("http "))
        .expect("http listed");
    assert!(line.contains("9999,8000-8010"), "{line}");
    assert!(line.contains(" no "), "{line}");
}

#[test]
fn nta_protocols_lists_every_builtin_with_its_state() {
    let run = nta(&["protocols", "--protocols", "http,tls"]);
    run.expect_code(0);
    for name in ["http", "tls", "dns", "ssh", "smtp"] {
        let line = run
            .stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} missing:\n{}", run.stdout));
        let enabled = name == "http" || name == "tls";
        assert_eq!(line.contains(" enabled "), enabled, "{line}");
        assert!(line.contains("built-in"), "{line}");
    }
}

#[test]
fn bad_protocol_settings_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("nta.toml");
    for (text, want) in [
        (
            "[protocols.gopher]\nenabled = true\n",
            "no protocol is named `gopher`",
        ),
        (
            "[protocols.http]\nports = [\"90-80\"]\n",
            "ends before it starts",
        ),
        (
            "[protocols.http]\nports = [70000]\n",
            "not between 0 and 65535",
        ),
        ("[protocols.http]\nenable = true\n", "enable"),
        ("[stream]\ndepht = 5\n", "line 2"),
    ] {
        std::fs::write(&cfg, text).unwrap();
        let run = nta(&["config", "check", cfg.to_str().unwrap()]);
        run.expect_code(1);
        let line = run.error_line();
        assert!(line.contains(want), "{text:?}: {line}");
    }
}

#[test]
fn demo_shows_the_application_protocols_it_found() {
    let dir = tempfile::tempdir().unwrap();
    let run = nta(&["demo", "--dir", dir.path().to_str().unwrap()]);
    run.expect_code(0);
    for want in [
        "TCP/http",
        "TCP/tls",
        "TCP/ssh",
        "TCP/smtp",
        "UDP/dns",
        "application events: dns",
    ] {
        assert!(run.stdout.contains(want), "{want} missing:\n{}", run.stdout);
    }
    let eve = std::fs::read_to_string(dir.path().join("eve.json")).unwrap();
    let events = parse_events(&eve);
    let tls = of_type(&events, "tls");
    assert!(!tls.is_empty());
    // Half the synthetic TLS sessions are TLS 1.2 and show their certificate.
    assert!(tls
        .iter()
        .any(|e| e["tls"]["subject"] == "C=US, O=NTA Synthetic Sites, CN=*.example.com"));
    // The demo's own rules fire, each listed with its count, and nothing else alerts on this
    // ordinary traffic (no behavioural detection).
    let alerts = of_type(&events, "alert");
    for sid in 1_000_001..=1_000_005u64 {
        let n = alerts
            .iter()
            .filter(|a| a["alert"]["signature_id"] == sid)
            .count();
        assert!(n > 0, "sid {sid} never fired");
        assert!(
            run.stdout.contains(&format!("sid {sid:<8}")),
            "sid {sid} not listed:\n{}",
            run.stdout
        );
    }
    assert!(alerts.iter().all(|a| a["alert"]["source"] == "rule"));
    let http_alert = alerts
        .iter()
        .find(|a| a["alert"]["signature_id"] == 1_000_001)
        .unwrap();
    assert!(http_alert["http"]["http_user_agent"]
        .as_str()
        .unwrap()
        .starts_with("curl/"));
    assert!(dir.path().join("demo.rules").is_file());
    // The history store holds the same alerts (deduplicated), and its top talkers are shown.
    let db = dir.path().join("history.sqlite");
    let run2 = nta(&[
        "history",
        "alerts",
        "--store",
        db.to_str().unwrap(),
        "--json",
        "--limit",
        "10000",
    ]);
    run2.expect_code(0);
    let counted: u64 = run2
        .events()
        .iter()
        .map(|a| a["count"].as_u64().unwrap())
        .sum();
    assert_eq!(counted as usize, alerts.len());
    assert!(
        run.stdout
            .contains("top talkers (from the history store): 10."),
        "{}",
        run.stdout
    );
}

#[test]
fn a_session_without_payload_has_no_app_proto() {
    // Handshake and FIN both ways, no data: not `failed`, just nothing to identify.
    let p = session(80, &[]);
    let events = read_pcap(&p, &[]);
    let f = &flows(&events)[0];
    assert_eq!(f["flow"]["state"], "closed");
    assert!(f.get("app_proto").is_none(), "{f}");
    assert_eq!(counter(final_stats(&events), "app_layer.flow.failed"), 0);
}

#[test]
fn user_defined_protocols_are_listed_and_decode_their_capture() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("nta.toml");
    let examples = root.join("examples/protocols");
    std::fs::write(
        &cfg,
        format!(
            "[protocols]\ncustom_dir = {:?}\n",
            examples.display().to_string()
        ),
    )
    .unwrap();
    let cfg = cfg.to_str().unwrap();
    let list = nta(&["protocols", "-c", cfg]);
    list.expect_code(0);
    for name in ["modbus_tcp", "memcached_text"] {
        let line = list.stdout.lines().find(|l| l.starts_with(name)).unwrap();
        assert!(line.contains(".toml"), "the source file is shown: {line}");
    }
    let pcap = examples.join("modbus.pcap");
    let events = read_ok(&[&pcap], &["-c", cfg]);
    assert_eq!(flows(&events)[0]["app_proto"], "modbus_tcp");
    let custom = of_type(&events, "custom");
    let first = &custom[0]["custom"];
    assert_eq!(first["protocol"], "modbus_tcp");
    assert_eq!(first["function"], "read_holding_registers");
    assert_eq!(first["start_address"], 107);
    assert_eq!(first["quantity"], 3);
    // A definition with a mistake stops the run before anything is read, naming the place.
    let bad = dir.path().join("bad");
    std::fs::create_dir(&bad).unwrap();
    std::fs::write(
        bad.join("x.toml"),
        "[protocol]\nname = \"x\"\ntransport = \"tcp\"\nports = [\"9-1\"]\n",
    )
    .unwrap();
    let bad_cfg = dir.path().join("bad.toml");
    std::fs::write(
        &bad_cfg,
        format!(
            "[protocols]\ncustom_dir = {:?}\n",
            bad.display().to_string()
        ),
    )
    .unwrap();
    let run = nta(&[
        "read",
        "-q",
        "-c",
        bad_cfg.to_str().unwrap(),
        pcap.to_str().unwrap(),
    ]);
    run.expect_code(1);
    assert!(run.stdout.is_empty());
    let line = run.error_line();
    assert!(line.contains("x.toml:4:"), "{line}");
}
