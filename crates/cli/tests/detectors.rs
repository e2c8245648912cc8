//! The behavioural detectors end to end (`docs/detectors.md`): `nta read CAPTURE -o eve.json`
//! over captures this file builds packet by packet, one detector at a time. Timestamps are
//! packet time, so a ten-second flood or a ten-minute beacon takes no wall time.
//!
//! For each detector a capture holds traffic it must report, and the test asserts what a user
//! sees: exactly the expected `alert` events, with `alert.source: "detector"`, gid 9000, the
//! detector's sid, the acting and targeted hosts and the evidence in `alert.metadata`; the
//! `stats.detectors` counters agree. The scans and floods are read again with two workers:
//! flows are spread over workers by address pair and the detectors' state is shared, so the
//! alerts must be the same. A near-miss capture (just under a threshold, outside the window,
//! or traffic the documentation says stays quiet) and a disabled detector give no alert.
//!
//! Flood thresholds are lowered through `-c nta.toml` (100 packets/s instead of 1000 or
//! 10,000) so the captures stay small. Every address is in 10.0.0.0/8.
//!
//! Where the engine feeds a detector wrongly, the test is written for the documented behaviour
//! and marked `#[ignore = "engine: …"]`.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------
// Captures.

/// An endpoint: IPv4 address and port.
type Ep = ([u8; 4], u16);

const SYN: u8 = tcp_flags::SYN;
const ACK: u8 = tcp_flags::ACK;
const FIN: u8 = tcp_flags::FIN;
const RST: u8 = tcp_flags::RST;
const PSH: u8 = tcp_flags::PSH;
const PROTO_ICMP: u8 = 1;

/// Start of every capture, µs since the epoch: 2023-11-14T22:13:20Z, on a whole second, so
/// that the engine's one-second ticks fall where the tests expect them.
const T0: u64 = 1_700_000_000_000_000;
/// One second and one millisecond, in µs.
const SEC: u64 = 1_000_000;
const MS: u64 = 1_000;

/// A capture built from packets at explicit times (µs after [`T0`]). Scenarios may overlap in
/// time: the packets are written in time order.
struct Capture {
    packets: Vec<(u64, Vec<u8>)>,
    ip_id: u16,
}

impl Capture {
    fn new() -> Capture {
        Capture {
            packets: Vec::new(),
            ip_id: 1,
        }
    }

    /// One IPv4 packet over Ethernet at `t`; returns the frame's length.
    fn ip(&mut self, t: u64, src: [u8; 4], dst: [u8; 4], proto: u8, l4: &[u8]) -> usize {
        let mut ip = Ipv4::new(src, dst, proto);
        ip.id = self.ip_id;
        self.ip_id = self.ip_id.wrapping_add(1);
        let frame = eth(MAC_B, MAC_A, ETH_IPV4, &ip.build(l4));
        let len = frame.len();
        self.packets.push((T0 + t, frame));
        len
    }

    #[allow(clippy::too_many_arguments)]
    fn tcp(&mut self, t: u64, src: Ep, dst: Ep, seq: u32, ack: u32, flags: u8, data: &[u8]) {
        self.ip(
            t,
            src.0,
            dst.0,
            PROTO_TCP,
            &tcp(src.1, dst.1, seq, ack, flags, data),
        );
    }

    fn udp(&mut self, t: u64, src: Ep, dst: Ep, data: &[u8]) -> usize {
        self.ip(t, src.0, dst.0, PROTO_UDP, &udp(src.1, dst.1, data))
    }

    /// An ICMP echo request (`request`) or reply, 32 bytes of data; returns the frame length.
    fn echo(&mut self, t: u64, src: [u8; 4], dst: [u8; 4], request: bool, seq: u16) -> usize {
        let mut m = vec![if request { 8 } else { 0 }, 0, 0, 0, 0x4e, 0x54];
        m.extend_from_slice(&seq.to_be_bytes());
        m.extend_from_slice(&[0x61; 32]);
        let c = inet_checksum(&m);
        m[2..4].copy_from_slice(&c.to_be_bytes());
        self.ip(t, src, dst, PROTO_ICMP, &m)
    }

    /// ICMP port unreachable from `from` about the UDP datagram `quoted` (its IP header and
    /// first 8 bytes), as a host with nothing on the port answers.
    fn port_unreachable(&mut self, t: u64, from: [u8; 4], to: [u8; 4], quoted: &[u8]) {
        let mut m = vec![3, 3, 0, 0, 0, 0, 0, 0];
        m.extend_from_slice(&quoted[..quoted.len().min(28)]);
        let c = inet_checksum(&m);
        m[2..4].copy_from_slice(&c.to_be_bytes());
        self.ip(t, from, to, PROTO_ICMP, &m);
    }

    /// A TCP session from `c` to `s` starting at `t`: handshake, then `msgs` (`true`: client
    /// to server) `step` apart, then FIN both ways. Returns the time of its last packet.
    fn session(&mut self, t: u64, c: Ep, s: Ep, msgs: &[(bool, &[u8])], step: u64) -> u64 {
        let (mut cseq, mut sseq) = (1001u32, 5001u32);
        self.tcp(t, c, s, 1000, 0, SYN, b"");
        self.tcp(t + 100, s, c, 5000, 1001, SYN | ACK, b"");
        self.tcp(t + 200, c, s, 1001, 5001, ACK, b"");
        let mut now = t + 200;
        for &(to_server, data) in msgs {
            now += step;
            if to_server {
                self.tcp(now, c, s, cseq, sseq, PSH | ACK, data);
                cseq = cseq.wrapping_add(data.len() as u32);
            } else {
                self.tcp(now, s, c, sseq, cseq, PSH | ACK, data);
                sseq = sseq.wrapping_add(data.len() as u32);
            }
        }
        now += step;
        self.tcp(now, c, s, cseq, sseq, FIN | ACK, b"");
        self.tcp(now + 100, s, c, sseq, cseq + 1, FIN | ACK, b"");
        self.tcp(now + 200, c, s, cseq + 1, sseq + 1, ACK, b"");
        now + 200
    }

    /// A DNS query for `name` of type `qtype` from `c` to `s`.
    fn dns_query(&mut self, t: u64, c: Ep, s: Ep, id: u16, name: &str, qtype: u16) {
        let q = dns_message(id, 0x0100, name, qtype);
        self.udp(t, c, s, &q);
    }

    fn write(&self, path: &Path) {
        let mut sorted: Vec<&(u64, Vec<u8>)> = self.packets.iter().collect();
        sorted.sort_by_key(|(t, _)| *t);
        let mut pcap = Pcap::new(linktype::ETHERNET);
        for (t, frame) in sorted {
            pcap.packet(*t, frame);
        }
        pcap.write(path);
    }
}

/// A DNS message with one question and no records.
fn dns_message(id: u16, flags: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&flags.to_be_bytes());
    m.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.') {
        m.push(label.len() as u8);
        m.extend_from_slice(label.as_bytes());
    }
    m.push(0);
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&1u16.to_be_bytes());
    m
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

/// The `i`th address of a /16 of spoofed or client addresses: `10.{net}.x.y`, never .0.
fn host(net: u8, i: usize) -> [u8; 4] {
    [10, net, (i / 250) as u8, (i % 250 + 1) as u8]
}

fn ip_str(a: [u8; 4]) -> String {
    format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3])
}

/// Shannon entropy of `s`, bits per character, as `docs/detectors.md` defines it.
fn entropy(s: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in s.bytes() {
        counts[usize::from(b)] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

// ---------------------------------------------------------------------------------------------
// Running nta.

/// Lowered flood thresholds (100 packets/s over the default 10 s window: 1000 packets), so a
/// flood capture holds a few thousand packets rather than 10,000 or 100,000.
const FLOODS_LOWERED: &str = "\
[detectors.syn_flood]
syn_per_sec = 100

[detectors.udp_flood]
packets_per_sec = 100

[detectors.icmp_flood]
packets_per_sec = 100
";

/// What one `nta read` wrote.
struct Out {
    events: Vec<Value>,
    stderr: String,
}

/// Runs `nta read t.pcap -o eve.json --workers N [-c nta.toml]` in a temporary directory,
/// expecting success, and checks that `stats.detectors` counts the alerts that were written.
fn read(cap: &Capture, config: Option<&str>, workers: u32) -> Out {
    let dir = tempfile::tempdir().unwrap();
    cap.write(&dir.path().join("t.pcap"));
    let workers = workers.to_string();
    let mut cmd = Command::new(NTA);
    cmd.current_dir(dir.path()).args([
        "read",
        "t.pcap",
        "-q",
        "-o",
        "eve.json",
        "--workers",
        &workers,
    ]);
    if let Some(text) = config {
        std::fs::write(dir.path().join("nta.toml"), text).unwrap();
        cmd.args(["-c", "nta.toml"]);
    }
    let o = cmd.output().expect("running nta");
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(
        o.status.success(),
        "nta read failed ({:?}):\n{stderr}",
        o.status.code()
    );
    let eve = std::fs::read_to_string(dir.path().join("eve.json")).unwrap();
    let out = Out {
        events: parse_events(&eve),
        stderr,
    };
    for a in out.detector_alerts() {
        check_envelope(a);
    }
    let stats = final_stats(&out.events);
    if let Some(per) = stats["detectors"].as_object() {
        for (name, counters) in per {
            let written = out
                .detector_alerts()
                .iter()
                .filter(|a| a["alert"]["detector"] == name.as_str())
                .count() as u64;
            assert_eq!(
                counters["alerts"].as_u64(),
                Some(written),
                "stats.detectors.{name}.alerts\n{}",
                out.dump()
            );
        }
    }
    out
}

impl Out {
    fn alerts(&self) -> Vec<&Value> {
        self.events
            .iter()
            .filter(|e| e["event_type"] == "alert")
            .collect()
    }

    /// The behavioural alerts (`alert.source == "detector"`).
    fn detector_alerts(&self) -> Vec<&Value> {
        self.alerts()
            .into_iter()
            .filter(|a| a["alert"]["source"] == "detector")
            .collect()
    }

    /// The behavioural alerts of one detector.
    fn of(&self, d: &Det) -> Vec<&Value> {
        self.detector_alerts()
            .into_iter()
            .filter(|a| a["alert"]["signature_id"] == d.sid)
            .collect()
    }

    /// The one flow event whose client is `c` and server `s`.
    fn flow(&self, c: Ep, s: Ep) -> &Value {
        let found: Vec<&Value> = flows(&self.events)
            .into_iter()
            .filter(|f| {
                f["src_ip"] == ip_str(c.0)
                    && f["src_port"] == c.1
                    && f["dest_ip"] == ip_str(s.0)
                    && f["dest_port"] == s.1
            })
            .collect();
        assert_eq!(found.len(), 1, "one flow {c:?} -> {s:?}");
        found[0]
    }

    /// What a user would compare between two runs: per alert, the detector, the hosts and
    /// the port. For floods the source is one of many senders (whichever crossed the
    /// threshold), so it is left out.
    fn alert_keys(&self) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for a in self.detector_alerts() {
            let sid = a["alert"]["signature_id"].as_u64().unwrap_or(0);
            let src = if (3..=5).contains(&sid) {
                "*"
            } else {
                a["src_ip"].as_str().unwrap_or("?")
            };
            let k = format!(
                "sid {sid} {src} -> {}:{}",
                a["dest_ip"].as_str().unwrap_or("-"),
                a["dest_port"]
            );
            *m.entry(k).or_insert(0) += 1;
        }
        m
    }

    /// The detector alerts and stderr, for failure messages.
    fn dump(&self) -> String {
        format!(
            "detector alerts:\n{}\nstderr:\n{}",
            self.detector_alerts()
                .iter()
                .map(|a| format!("  {a}"))
                .collect::<Vec<_>>()
                .join("\n"),
            self.stderr
        )
    }

    fn expect_no_detector_alerts(&self) {
        assert!(
            self.detector_alerts().is_empty(),
            "no detector alert expected\n{}",
            self.dump()
        );
    }

    /// Exactly `n` alerts of `d` and no other detector alert.
    fn expect_only(&self, d: &Det, n: usize) -> Vec<&Value> {
        let all = self.detector_alerts();
        let mine = self.of(d);
        assert_eq!(mine.len(), n, "alerts of {}\n{}", d.name, self.dump());
        assert_eq!(
            all.len(),
            n,
            "only {} alerts expected\n{}",
            d.name,
            self.dump()
        );
        mine
    }
}

/// What `docs/detectors.md` says of a detector's alerts.
struct Det {
    name: &'static str,
    sid: u64,
    category: &'static str,
    severity: u64,
    /// The evidence keys of `alert.metadata`.
    evidence: &'static [&'static str],
}

const RECON: &str = "Attempted Information Leak";
const DOS: &str = "Attempted Denial of Service";

const PORT_SCAN: Det = Det {
    name: "port_scan",
    sid: 1,
    category: RECON,
    severity: 2,
    evidence: &[
        "distinct_ports",
        "threshold",
        "window_secs",
        "span_secs",
        "proto",
        "ports",
    ],
};
const HOST_SWEEP: Det = Det {
    name: "host_sweep",
    sid: 2,
    category: RECON,
    severity: 2,
    // Plus `dport` (TCP/UDP) or `icmp_echo` (pings).
    evidence: &[
        "distinct_hosts",
        "threshold",
        "window_secs",
        "span_secs",
        "proto",
        "hosts",
    ],
};
const SYN_FLOOD: Det = Det {
    name: "syn_flood",
    sid: 3,
    category: DOS,
    severity: 2,
    evidence: &[
        "syns",
        "syn_per_sec",
        "threshold_per_sec",
        "window_secs",
        "syn_acks",
        "ended_flows",
        "failed_handshakes",
        "unanswered_ratio",
        "failed_handshake_ratio",
        "half_open_ratio",
        "ratio_threshold",
    ],
};
const UDP_FLOOD: Det = Det {
    name: "udp_flood",
    sid: 4,
    category: DOS,
    severity: 2,
    evidence: &[
        "packets",
        "bytes",
        "packets_per_sec",
        "threshold_per_sec",
        "window_secs",
        "replies",
        "unanswered_ratio",
        "ratio_threshold",
    ],
};
const ICMP_FLOOD: Det = Det {
    name: "icmp_flood",
    sid: 5,
    category: DOS,
    severity: 2,
    evidence: &[
        "packets",
        "bytes",
        "packets_per_sec",
        "threshold_per_sec",
        "window_secs",
    ],
};
const BRUTE_FORCE: Det = Det {
    name: "brute_force",
    sid: 6,
    category: "Attempted User Privilege Gain",
    severity: 1,
    evidence: &[
        "service",
        "short_sessions",
        "failed_logins",
        "threshold",
        "window_secs",
        "max_session_secs",
    ],
};
const DNS_TUNNEL: Det = Det {
    name: "dns_tunnel",
    sid: 7,
    category: "Potential Corporate Privacy Violation",
    severity: 2,
    evidence: &[
        "domain",
        "suspicious_names",
        "txt_null_names",
        "suspicious_threshold",
        "txt_null_threshold",
        "window_secs",
        "longest_name_len",
        "max_label_entropy",
        "example",
        "qtype",
    ],
};
const BEACONING: Det = Det {
    name: "beaconing",
    sid: 8,
    category: "Misc activity",
    severity: 3,
    evidence: &[
        "connections",
        "mean_interval_secs",
        "cv",
        "max_cv",
        "shortest_interval_secs",
        "longest_interval_secs",
        "proto",
    ],
};

const ALL: [&Det; 8] = [
    &PORT_SCAN,
    &HOST_SWEEP,
    &SYN_FLOOD,
    &UDP_FLOOD,
    &ICMP_FLOOD,
    &BRUTE_FORCE,
    &DNS_TUNNEL,
    &BEACONING,
];

/// What every behavioural alert has, whatever the detector.
fn check_envelope(a: &Value) {
    let al = &a["alert"];
    assert_eq!(al["gid"], 9000, "{a}");
    assert_eq!(al["rev"], 1, "{a}");
    assert_eq!(al["action"], "allowed", "{a}");
    let sid = al["signature_id"].as_u64().unwrap_or(0);
    let d = ALL
        .iter()
        .find(|d| d.sid == sid)
        .unwrap_or_else(|| panic!("a detector sid (1 to 8): {a}"));
    assert_eq!(al["detector"], d.name, "{a}");
    assert_eq!(al["category"], d.category, "{a}");
    assert_eq!(al["severity"], d.severity, "{a}");
    assert!(
        al["signature"]
            .as_str()
            .is_some_and(|s| s.starts_with("NTA ")),
        "{a}"
    );
    assert!(a["timestamp"].as_str().is_some(), "{a}");
    let meta = al["metadata"].as_object().expect("alert.metadata");
    for k in d.evidence {
        assert!(meta.contains_key(*k), "evidence `{k}` missing: {a}");
    }
}

/// Asserts the detector, the hosts (`dst` None: no `dest_ip`) and the protocol of an alert.
fn check_alert(a: &Value, d: &Det, src: [u8; 4], dst: Option<[u8; 4]>, proto: &str) {
    assert_eq!(a["event_type"], "alert", "{a}");
    assert_eq!(a["alert"]["source"], "detector", "{a}");
    assert_eq!(a["alert"]["signature_id"], d.sid, "{a}");
    assert_eq!(a["src_ip"], ip_str(src), "alert source: {a}");
    match dst {
        Some(dst) => assert_eq!(a["dest_ip"], ip_str(dst), "alert destination: {a}"),
        None => assert!(a.get("dest_ip").is_none(), "no single destination: {a}"),
    }
    assert_eq!(a["proto"], proto, "{a}");
}

/// Asserts evidence values; numbers compare by value (100 == 100.0), within 0.0005 for the
/// ratios and seconds rounded to 3 decimals.
fn check_meta(a: &Value, expected: &[(&str, Value)]) {
    let meta = &a["alert"]["metadata"];
    for (k, want) in expected {
        let got = &meta[*k];
        match (got.as_f64(), want.as_f64()) {
            (Some(g), Some(w)) => assert!(
                (g - w).abs() < 0.0005,
                "metadata.{k}: got {got}, want {want}\n{a}"
            ),
            _ => assert_eq!(got, want, "metadata.{k}\n{a}"),
        }
    }
}

/// Exactly the documented evidence keys (plus `extra`), nothing undocumented.
fn check_evidence_keys(a: &Value, d: &Det, extra: &[&str]) {
    let mut got: Vec<&str> = a["alert"]["metadata"]
        .as_object()
        .expect("metadata")
        .keys()
        .map(String::as_str)
        .collect();
    got.sort_unstable();
    let mut want: Vec<&str> = d.evidence.iter().chain(extra).copied().collect();
    want.sort_unstable();
    assert_eq!(got, want, "evidence keys of {}: {a}", d.name);
}

/// The same capture with two workers gives the same alerts (flows of one scan or flood land
/// on both workers; the detectors' state is shared). Returns the two-worker run.
fn same_with_two_workers(cap: &Capture, config: Option<&str>, one: &Out) -> Out {
    let two = read(cap, config, 2);
    assert_eq!(
        two.alert_keys(),
        one.alert_keys(),
        "--workers 2 vs --workers 1\n{}",
        two.dump()
    );
    two
}

// ---------------------------------------------------------------------------------------------
// sid 1: port_scan.

const SCANNER: [u8; 4] = [10, 0, 0, 5];
const VICTIM: [u8; 4] = [10, 0, 0, 9];

/// `src` sends a SYN to each of `ports` of `dst`, `step` apart from `t`, from one source port;
/// the target answers every `answer_every`th with RST-ACK (a closed port). UDP: an empty
/// datagram to each port.
#[allow(clippy::too_many_arguments)]
fn probe_ports(
    cap: &mut Capture,
    t: u64,
    step: u64,
    src: [u8; 4],
    dst: [u8; 4],
    ports: impl IntoIterator<Item = u16>,
    udp: bool,
    answer_every: usize,
) {
    for (i, p) in ports.into_iter().enumerate() {
        let at = t + i as u64 * step;
        if udp {
            cap.udp(at, (src, 51_000), (dst, p), b"");
        } else {
            cap.tcp(at, (src, 51_000), (dst, p), 7, 0, SYN, b"");
            if answer_every > 0 && i % answer_every == 0 {
                cap.tcp(at + 200, (dst, p), (src, 51_000), 0, 8, RST | ACK, b"");
            }
        }
    }
}

#[test]
fn port_scan_reports_one_alert_per_scan() {
    // 150 ports, 10 ms apart: the 100th crosses; the 50 after it are within the cooldown.
    let mut cap = Capture::new();
    probe_ports(&mut cap, 0, 10 * MS, SCANNER, VICTIM, 1..=150, false, 2);
    let out = read(&cap, None, 1);
    let a = out.expect_only(&PORT_SCAN, 1)[0];
    check_alert(a, &PORT_SCAN, SCANNER, Some(VICTIM), "TCP");
    check_evidence_keys(a, &PORT_SCAN, &[]);
    assert!(
        a.get("dest_port").is_none(),
        "a scan has no single port: {a}"
    );
    assert_eq!(
        a["alert"]["signature"],
        "NTA vertical port scan from 10.0.0.5 to 10.0.0.9: 100 TCP ports in 60 s"
    );
    check_meta(
        a,
        &[
            ("distinct_ports", json!(100)),
            ("threshold", json!(100)),
            ("window_secs", json!(60)),
            ("span_secs", json!(0.99)),
            ("proto", json!("tcp")),
            ("ports", json!((1..=32).collect::<Vec<u16>>())),
        ],
    );
    // Stamped with the packet that crossed: the SYN to the 100th port.
    let hundredth = out.flow((SCANNER, 51_000), (VICTIM, 100));
    assert_eq!(a["timestamp"], hundredth["flow"]["start"], "{a}");

    let two = same_with_two_workers(&cap, None, &out);
    check_meta(two.of(&PORT_SCAN)[0], &[("distinct_ports", json!(100))]);
}

#[test]
fn port_scan_udp_and_tcp_are_two_scans() {
    // The same host scanned over TCP and over UDP: two keys, two alerts.
    let mut cap = Capture::new();
    probe_ports(&mut cap, 0, 5 * MS, SCANNER, VICTIM, 1..=100, false, 0);
    probe_ports(
        &mut cap,
        2 * SEC,
        5 * MS,
        SCANNER,
        VICTIM,
        1001..=1100,
        true,
        0,
    );
    let out = read(&cap, None, 1);
    let alerts = out.expect_only(&PORT_SCAN, 2);
    let protos: Vec<&Value> = alerts
        .iter()
        .map(|a| &a["alert"]["metadata"]["proto"])
        .collect();
    assert_eq!(protos, [&json!("tcp"), &json!("udp")], "{}", out.dump());
    check_alert(alerts[1], &PORT_SCAN, SCANNER, Some(VICTIM), "UDP");
    assert_eq!(
        alerts[1]["alert"]["signature"],
        "NTA vertical port scan from 10.0.0.5 to 10.0.0.9: 100 UDP ports in 60 s"
    );
    check_meta(
        alerts[1],
        &[("ports", json!((1001..=1032).collect::<Vec<u16>>()))],
    );
    same_with_two_workers(&cap, None, &out);
}

#[test]
fn port_scan_near_misses_stay_quiet() {
    let mut cap = Capture::new();
    // 99 ports: one short of the threshold.
    probe_ports(&mut cap, 0, 10 * MS, SCANNER, VICTIM, 1..=99, false, 1);
    // 100 ports, but 0.7 s apart: never 100 within 60 s.
    probe_ports(
        &mut cap,
        0,
        700 * MS,
        [10, 0, 0, 6],
        [10, 0, 0, 10],
        1..=100,
        false,
        0,
    );
    // 60 TCP and 60 UDP ports of one host: protocols do not add up.
    let (s7, d11) = ([10, 0, 0, 7], [10, 0, 0, 11]);
    probe_ports(&mut cap, 0, 10 * MS, s7, d11, 1..=60, false, 0);
    probe_ports(&mut cap, SEC, 10 * MS, s7, d11, 61..=120, true, 0);
    // 60 ports on each of two hosts: hosts do not add up.
    let s8 = [10, 0, 0, 8];
    probe_ports(&mut cap, 0, 10 * MS, s8, [10, 0, 0, 12], 1..=60, false, 0);
    probe_ports(&mut cap, 0, 10 * MS, s8, [10, 0, 0, 13], 61..=120, false, 0);
    // The same port 500 times (a client reconnecting) is one port.
    for i in 0..500u64 {
        let c = ([10, 0, 0, 14], 20_000 + i as u16);
        cap.tcp(i * 20 * MS, c, ([10, 0, 0, 15], 443), 7, 0, SYN, b"");
    }
    let out = read(&cap, None, 1);
    out.expect_no_detector_alerts();
    read(&cap, None, 2).expect_no_detector_alerts();

    // A real scan with the detector switched off.
    let mut scan = Capture::new();
    probe_ports(&mut scan, 0, 10 * MS, SCANNER, VICTIM, 1..=150, false, 0);
    let off = read(&scan, Some("[detectors.port_scan]\nenabled = false\n"), 1);
    off.expect_no_detector_alerts();
    let stats = final_stats(&off.events);
    assert!(
        stats["detectors"].get("port_scan").is_none(),
        "a disabled detector has no counters: {}",
        stats["detectors"]
    );
    // And with every detector off.
    read(&scan, Some("[detectors]\nenabled = false\n"), 1).expect_no_detector_alerts();
}

// ---------------------------------------------------------------------------------------------
// sid 2: host_sweep.

#[test]
fn host_sweep_on_one_port_and_ping_sweep() {
    let mut cap = Capture::new();
    // 10.0.0.5 knocks on port 445 of 60 hosts, 20 ms apart; every third answers RST.
    for i in 1..=60u8 {
        let (c, s) = ((SCANNER, 40_000 + u16::from(i)), ([10, 0, 1, i], 445));
        let at = u64::from(i) * 20 * MS;
        cap.tcp(at, c, s, 7, 0, SYN, b"");
        if i % 3 == 0 {
            cap.tcp(at + 300, s, c, 0, 8, RST | ACK, b"");
        }
    }
    // 10.0.0.6 pings 50 hosts within the first second and 10 more in the next (echo
    // requests are counted per second: the first second's batch is exactly the threshold).
    let pinger = [10, 0, 0, 6];
    for i in 1..=60u8 {
        let at = if i <= 50 {
            u64::from(i) * 19 * MS
        } else {
            SEC + u64::from(i) * 10 * MS
        };
        cap.echo(at, pinger, [10, 0, 2, i], true, u16::from(i));
        if i % 2 == 0 {
            cap.echo(at + 500, [10, 0, 2, i], pinger, false, u16::from(i));
        }
    }
    let out = read(&cap, None, 1);
    let alerts = out.expect_only(&HOST_SWEEP, 2);
    let tcp = *alerts
        .iter()
        .find(|a| a["proto"] == "TCP")
        .expect("a TCP sweep alert");
    let ping = *alerts
        .iter()
        .find(|a| a["proto"] == "ICMP")
        .expect("a ping sweep alert");

    check_alert(tcp, &HOST_SWEEP, SCANNER, None, "TCP");
    check_evidence_keys(tcp, &HOST_SWEEP, &["dport"]);
    assert_eq!(tcp["dest_port"], 445, "{tcp}");
    assert_eq!(
        tcp["alert"]["signature"],
        "NTA horizontal sweep from 10.0.0.5: 50 hosts on TCP port 445 in 60 s"
    );
    let first16: Vec<String> = (1..=16).map(|i| format!("10.0.1.{i}")).collect();
    check_meta(
        tcp,
        &[
            ("distinct_hosts", json!(50)),
            ("threshold", json!(50)),
            ("window_secs", json!(60)),
            ("span_secs", json!(0.98)),
            ("proto", json!("tcp")),
            ("dport", json!(445)),
            ("hosts", json!(first16)),
        ],
    );
    let fiftieth = out.flow((SCANNER, 40_050), ([10, 0, 1, 50], 445));
    assert_eq!(tcp["timestamp"], fiftieth["flow"]["start"], "{tcp}");

    check_alert(ping, &HOST_SWEEP, pinger, None, "ICMP");
    check_evidence_keys(ping, &HOST_SWEEP, &["icmp_echo"]);
    assert!(ping.get("dest_port").is_none(), "{ping}");
    assert_eq!(
        ping["alert"]["signature"],
        "NTA horizontal sweep from 10.0.0.6: 50 hosts pinged (ICMP echo) in 60 s"
    );
    let first16: Vec<String> = (1..=16).map(|i| format!("10.0.2.{i}")).collect();
    check_meta(
        ping,
        &[
            ("distinct_hosts", json!(50)),
            ("icmp_echo", json!(true)),
            ("proto", json!("icmp")),
            ("span_secs", json!(0.931)),
            ("hosts", json!(first16)),
        ],
    );

    // Two workers: the 60 address pairs of each sweep are spread over both.
    let two = same_with_two_workers(&cap, None, &out);
    for a in two.of(&HOST_SWEEP) {
        check_meta(a, &[("distinct_hosts", json!(50))]);
    }
}

#[test]
fn host_sweep_near_misses_stay_quiet() {
    let mut cap = Capture::new();
    let knock = |cap: &mut Capture, t: u64, step: u64, src: [u8; 4], net: u8, n: u8, port| {
        for i in 1..=n {
            let c = (src, 30_000 + u16::from(i) + port);
            cap.tcp(
                t + u64::from(i) * step,
                c,
                ([10, 0, net, i], port),
                7,
                0,
                SYN,
                b"",
            );
        }
    };
    // 49 hosts: one short.
    knock(&mut cap, 0, 20 * MS, SCANNER, 1, 49, 445);
    // 30 hosts on 445 and 30 on 139: ports do not add up.
    knock(&mut cap, 0, 20 * MS, [10, 0, 0, 6], 3, 30, 445);
    knock(&mut cap, 0, 20 * MS, [10, 0, 0, 6], 4, 30, 139);
    // 50 hosts, 1.5 s apart: never 50 within 60 s.
    knock(&mut cap, 0, 1500 * MS, [10, 0, 0, 7], 5, 50, 22);
    // 49 pinged hosts.
    for i in 1..=49u8 {
        cap.echo(
            u64::from(i) * 15 * MS,
            [10, 0, 0, 8],
            [10, 0, 6, i],
            true,
            1,
        );
    }
    // A web client fetching from 40 servers (a busy browser) is under 50.
    for i in 1..=40u8 {
        let at = u64::from(i) * 700 * MS;
        cap.session(
            at,
            ([10, 0, 0, 20], 50_000 + u16::from(i)),
            ([10, 0, 7, i], 443),
            &[(true, b"hello"), (false, b"world")],
            10 * MS,
        );
    }
    read(&cap, None, 1).expect_no_detector_alerts();
    read(&cap, None, 2).expect_no_detector_alerts();
}

// ---------------------------------------------------------------------------------------------
// sid 3: syn_flood.

/// `n` SYNs to `dst`, one per spoofed source (`10.{net}.x.y`), `step` apart from `t`; with
/// `answer`, the target answers each with a SYN-ACK 1 ms later and the client never completes
/// the handshake.
fn syn_flood(cap: &mut Capture, t: u64, step: u64, n: usize, net: u8, dst: Ep, answer: bool) {
    for i in 0..n {
        let at = t + i as u64 * step;
        let c = (host(net, i), 1024 + (i % 60_000) as u16);
        cap.tcp(at, c, dst, 77, 0, SYN, b"");
        if answer {
            cap.tcp(at + MS, dst, c, 9000, 78, SYN | ACK, b"");
        }
    }
}

#[test]
fn syn_flood_of_unanswered_syns() {
    // 200 SYN/s for 8 s from 1600 spoofed sources, never answered; threshold 100/s over 10 s:
    // the 1000th SYN crosses, the cooldown (10 s) outlasts the rest of the flood.
    let mut cap = Capture::new();
    let target = (VICTIM, 80);
    syn_flood(&mut cap, 2500, 5 * MS, 1600, 10, target, false);
    let out = read(&cap, Some(FLOODS_LOWERED), 1);
    let a = out.expect_only(&SYN_FLOOD, 1)[0];
    let src = a["src_ip"].as_str().unwrap_or("").to_string();
    assert!(src.starts_with("10.10."), "one of the flood's sources: {a}");
    check_alert(a, &SYN_FLOOD, host_of(&src), Some(VICTIM), "TCP");
    check_evidence_keys(a, &SYN_FLOOD, &[]);
    assert_eq!(
        a["alert"]["signature"],
        "NTA SYN flood towards 10.0.0.9: 100 SYN/s over 10 s, 100% half-open"
    );
    check_meta(
        a,
        &[
            ("syns", json!(1000)),
            ("syn_per_sec", json!(100.0)),
            ("threshold_per_sec", json!(100)),
            ("window_secs", json!(10)),
            ("syn_acks", json!(0)),
            ("ended_flows", json!(0)),
            ("failed_handshakes", json!(0)),
            ("unanswered_ratio", json!(1.0)),
            ("failed_handshake_ratio", json!(0.0)),
            ("half_open_ratio", json!(1.0)),
            ("ratio_threshold", json!(0.8)),
        ],
    );
    let two = same_with_two_workers(&cap, Some(FLOODS_LOWERED), &out);
    check_meta(two.of(&SYN_FLOOD)[0], &[("syns", json!(1000))]);
}

#[test]
fn syn_flood_answered_but_never_completed() {
    // A flood against an open port: every SYN is answered with a SYN-ACK, no handshake
    // completes. Only the flow table's timeout of the half-open flows (here 2 s,
    // `flow.timeouts.tcp.new`) shows them failed; 15 s of flood, so they end as fast as they
    // start well before it stops.
    let config = format!("{FLOODS_LOWERED}\n[flow.timeouts.tcp]\nnew = 2\n");
    let mut cap = Capture::new();
    syn_flood(&mut cap, 2500, 5 * MS, 3000, 11, (VICTIM, 443), true);
    let out = read(&cap, Some(&config), 1);
    let a = out.expect_only(&SYN_FLOOD, 1)[0];
    let src = a["src_ip"].as_str().unwrap_or("").to_string();
    assert!(src.starts_with("10.11."), "one of the flood's sources: {a}");
    check_alert(a, &SYN_FLOOD, host_of(&src), Some(VICTIM), "TCP");
    let meta = &a["alert"]["metadata"];
    let n = |k: &str| meta[k].as_f64().unwrap_or(f64::NAN);
    assert!(n("syns") >= 1000.0, "{a}");
    assert!(n("unanswered_ratio") < 0.2, "the SYNs were answered: {a}");
    assert!(n("failed_handshakes") > 0.0, "{a}");
    assert!(n("failed_handshake_ratio") >= 0.8, "{a}");
    assert_eq!(
        n("half_open_ratio"),
        n("failed_handshake_ratio"),
        "the larger estimate: {a}"
    );
    assert!(n("ended_flows") >= n("failed_handshakes"), "{a}");
    same_with_two_workers(&cap, Some(&config), &out);
}

#[test]
fn syn_flood_answered_and_reset_by_the_spoofed_hosts() {
    // As above, but the spoofed addresses belong to live hosts, which reset the SYN-ACKs they
    // never asked for: SYN, SYN-ACK, RST. No handshake completes; the reset flows end after
    // `flow.timeouts.tcp.closed` (here 2 s) as failed handshakes.
    let config = format!("{FLOODS_LOWERED}\n[flow.timeouts.tcp]\nnew = 2\nclosed = 2\n");
    let mut cap = Capture::new();
    let target = (VICTIM, 443);
    for i in 0..3000usize {
        let at = 2500 + i as u64 * 5 * MS;
        let c = (host(13, i), 1024 + i as u16);
        cap.tcp(at, c, target, 77, 0, SYN, b"");
        cap.tcp(at + MS, target, c, 9000, 78, SYN | ACK, b"");
        cap.tcp(at + 2 * MS, c, target, 78, 0, RST, b"");
    }
    let out = read(&cap, Some(&config), 1);
    let a = out.expect_only(&SYN_FLOOD, 1)[0];
    let meta = &a["alert"]["metadata"];
    assert!(meta["failed_handshake_ratio"].as_f64() >= Some(0.8), "{a}");
}

#[test]
fn syn_flood_near_misses_stay_quiet() {
    let mut cap = Capture::new();
    // 999 unanswered SYNs in 5 s: one short of 100/s over 10 s.
    syn_flood(&mut cap, 2500, 5 * MS, 999, 10, (VICTIM, 80), false);
    // A busy server: 1600 connections in 8 s, every handshake completed.
    let server = ([10, 0, 0, 80], 443);
    for i in 0..1600usize {
        let c = (host(12, i), 2000 + i as u16);
        cap.session(
            3000 + i as u64 * 5 * MS,
            c,
            server,
            &[(true, b"GET"), (false, b"200")],
            MS,
        );
    }
    read(&cap, Some(FLOODS_LOWERED), 1).expect_no_detector_alerts();
    read(&cap, Some(FLOODS_LOWERED), 2).expect_no_detector_alerts();

    // A real flood with the detector off.
    let mut flood = Capture::new();
    syn_flood(&mut flood, 2500, 5 * MS, 1600, 10, (VICTIM, 80), false);
    let off = "[detectors.syn_flood]\nsyn_per_sec = 100\nenabled = false\n";
    read(&flood, Some(off), 1).expect_no_detector_alerts();
}

fn host_of(s: &str) -> [u8; 4] {
    let ip: std::net::Ipv4Addr = s.parse().expect("an IPv4 address");
    ip.octets()
}

// ---------------------------------------------------------------------------------------------
// sid 4: udp_flood.

/// `n` datagrams of 64 bytes to `dst`, one per spoofed source (`10.{net}.x.y`), `step` apart
/// from `t`; every tenth is answered with ICMP port unreachable (not a UDP reply). Returns
/// the frame length.
fn udp_flood(cap: &mut Capture, t: u64, step: u64, n: usize, net: u8, dst: Ep) -> usize {
    let mut len = 0;
    for i in 0..n {
        let at = t + i as u64 * step;
        let src = host(net, i);
        let sport = 1024 + (i % 60_000) as u16;
        len = cap.udp(at, (src, sport), dst, &[0x55; 64]);
        if i % 10 == 0 {
            let quoted = Ipv4::new(src, dst.0, PROTO_UDP).build(&udp(sport, dst.1, &[0x55; 64]));
            cap.port_unreachable(at + 200, dst.0, src, &quoted);
        }
    }
    len
}

#[test]
fn udp_flood_of_unanswered_datagrams() {
    let mut cap = Capture::new();
    let len = udp_flood(&mut cap, 2500, 5 * MS, 1600, 20, (VICTIM, 27_015));
    let out = read(&cap, Some(FLOODS_LOWERED), 1);
    let a = out.expect_only(&UDP_FLOOD, 1)[0];
    let src = a["src_ip"].as_str().unwrap_or("").to_string();
    assert!(src.starts_with("10.20."), "one of the flood's sources: {a}");
    check_alert(a, &UDP_FLOOD, host_of(&src), Some(VICTIM), "UDP");
    check_evidence_keys(a, &UDP_FLOOD, &[]);
    assert_eq!(
        a["alert"]["signature"],
        "NTA UDP flood towards 10.0.0.9: 100 packets/s over 10 s, 100% unanswered"
    );
    check_meta(
        a,
        &[
            ("packets", json!(1000)),
            ("bytes", json!(1000 * len)),
            ("packets_per_sec", json!(100.0)),
            ("threshold_per_sec", json!(100)),
            ("window_secs", json!(10)),
            // ICMP port unreachable is not a UDP reply.
            ("replies", json!(0)),
            ("unanswered_ratio", json!(1.0)),
            ("ratio_threshold", json!(0.95)),
        ],
    );
    let two = same_with_two_workers(&cap, Some(FLOODS_LOWERED), &out);
    check_meta(two.of(&UDP_FLOOD)[0], &[("packets", json!(1000))]);
}

#[test]
fn udp_flood_near_misses_stay_quiet() {
    let mut cap = Capture::new();
    // 999 unanswered datagrams in 5 s.
    udp_flood(&mut cap, 2500, 5 * MS, 999, 20, (VICTIM, 27_015));
    // A busy DNS server: 1600 queries in 8 s from 1600 clients, each answered.
    let dns = ([10, 0, 0, 53], 53);
    for i in 0..1600usize {
        let c = (host(21, i), 3000 + i as u16);
        let at = 3000 + i as u64 * 5 * MS;
        let id = i as u16;
        cap.dns_query(at, c, dns, id, "www.example.com", 1);
        cap.udp(
            at + 300,
            dns,
            c,
            &dns_message(id, 0x8180, "www.example.com", 1),
        );
    }
    read(&cap, Some(FLOODS_LOWERED), 1).expect_no_detector_alerts();
    read(&cap, Some(FLOODS_LOWERED), 2).expect_no_detector_alerts();

    // A real flood towards an address the detector is told not to watch.
    let mut flood = Capture::new();
    udp_flood(&mut flood, 2500, 5 * MS, 1600, 20, (VICTIM, 27_015));
    let excluded = "[detectors.udp_flood]\npackets_per_sec = 100\nnetworks = [\"!10.0.0.9\"]\n";
    read(&flood, Some(excluded), 1).expect_no_detector_alerts();
}

// ---------------------------------------------------------------------------------------------
// sid 5: icmp_flood.

/// `n` echo requests to `dst` from `sources` in turn, `per_sec` per second, each answered. Returns the request frame length.
fn ping_flood(cap: &mut Capture, sources: &[[u8; 4]], dst: [u8; 4], per_sec: u64, n: u64) -> usize {
    let mut len = 0;
    let step = SEC / per_sec;
    for i in 0..n {
        let at = step / 2 + i * step;
        let src = sources[i as usize % sources.len()];
        len = cap.echo(at, src, dst, true, i as u16);
        cap.echo(at + 100, dst, src, false, i as u16);
    }
    len
}

#[test]
fn icmp_flood_of_echo_requests() {
    // Four sources, 50 requests/s each, for 8 s: counted per second and source, 50 at a time,
    // so the 1000th request crosses exactly. Replies do not matter.
    let sources: Vec<[u8; 4]> = (61..=64).map(|i| [10, 0, 0, i]).collect();
    let mut cap = Capture::new();
    let len = ping_flood(&mut cap, &sources, VICTIM, 200, 1600);
    let out = read(&cap, Some(FLOODS_LOWERED), 1);
    let a = out.expect_only(&ICMP_FLOOD, 1)[0];
    let src = host_of(a["src_ip"].as_str().unwrap_or(""));
    assert!(sources.contains(&src), "one of the flood's sources: {a}");
    check_alert(a, &ICMP_FLOOD, src, Some(VICTIM), "ICMP");
    check_evidence_keys(a, &ICMP_FLOOD, &[]);
    assert_eq!(
        a["alert"]["signature"],
        "NTA ICMP echo flood towards 10.0.0.9: 100 requests/s over 10 s"
    );
    check_meta(
        a,
        &[
            ("packets", json!(1000)),
            ("bytes", json!(1000 * len)),
            ("packets_per_sec", json!(100.0)),
            ("threshold_per_sec", json!(100)),
            ("window_secs", json!(10)),
        ],
    );
    let two = same_with_two_workers(&cap, Some(FLOODS_LOWERED), &out);
    check_meta(two.of(&ICMP_FLOOD)[0], &[("packets", json!(1000))]);
}

#[test]
fn icmp_flood_near_misses_stay_quiet() {
    // 999 requests in 5 s.
    let sources: Vec<[u8; 4]> = (61..=63).map(|i| [10, 0, 0, i]).collect();
    let mut cap = Capture::new();
    ping_flood(&mut cap, &sources, VICTIM, 200, 999);
    read(&cap, Some(FLOODS_LOWERED), 1).expect_no_detector_alerts();
    read(&cap, Some(FLOODS_LOWERED), 2).expect_no_detector_alerts();

    // A real flood, detector off.
    let mut flood = Capture::new();
    ping_flood(&mut flood, &sources, VICTIM, 200, 1600);
    let off = "[detectors.icmp_flood]\npackets_per_sec = 100\nenabled = false\n";
    read(&flood, Some(off), 1).expect_no_detector_alerts();
}

// ---------------------------------------------------------------------------------------------
// sid 6: brute_force.

const SSH_SERVER: [u8; 4] = [10, 0, 0, 22];

/// `n` short SSH-like sessions from `client` to `server`, one every 2.5 s: banners, a few
/// bytes, thrown out after about a second.
fn ssh_guesses(cap: &mut Capture, t: u64, client: [u8; 4], server: Ep, n: u16) {
    for i in 0..n {
        cap.session(
            t + u64::from(i) * 2500 * MS,
            (client, 50_000 + i),
            server,
            &[
                (false, b"SSH-2.0-OpenSSH_9.6\r\n"),
                (true, b"SSH-2.0-libssh2_1.11.0\r\n"),
                (true, &[0u8; 64]),
                (false, &[0u8; 48]),
            ],
            250 * MS,
        );
    }
}

/// An FTP control session from `client` to `server` with `n` failed logins, 0.5 s apart.
fn ftp_guesses(cap: &mut Capture, t: u64, client: [u8; 4], server: [u8; 4], n: usize) {
    let mut msgs: Vec<(bool, Vec<u8>)> = vec![(false, b"220 FTP server ready\r\n".to_vec())];
    for i in 0..n {
        msgs.push((true, b"USER admin\r\n".to_vec()));
        msgs.push((false, b"331 Password required for admin\r\n".to_vec()));
        msgs.push((true, format!("PASS guess{i}\r\n").into_bytes()));
        msgs.push((false, b"530 Login incorrect.\r\n".to_vec()));
    }
    msgs.push((true, b"QUIT\r\n".to_vec()));
    msgs.push((false, b"221 Goodbye.\r\n".to_vec()));
    let msgs: Vec<(bool, &[u8])> = msgs.iter().map(|(d, m)| (*d, m.as_slice())).collect();
    cap.session(t, (client, 40_021), (server, 21), &msgs, 125 * MS);
}

/// One keep-alive HTTP session from `client` with `n` requests refused with 401 or 403.
fn http_refusals(cap: &mut Capture, t: u64, client: [u8; 4], server: Ep, n: usize) {
    let mut msgs: Vec<(bool, Vec<u8>)> = Vec::new();
    for i in 0..n {
        let req = format!(
            "GET /admin/ HTTP/1.1\r\nHost: router.lan\r\nAuthorization: Basic YWRtaW46{i:04}\r\n\r\n"
        );
        let status = if i % 2 == 0 {
            "401 Unauthorized"
        } else {
            "403 Forbidden"
        };
        let resp = format!(
            "HTTP/1.1 {status}\r\nWWW-Authenticate: Basic realm=\"router\"\r\nContent-Length: 0\r\n\r\n"
        );
        msgs.push((true, req.into_bytes()));
        msgs.push((false, resp.into_bytes()));
    }
    let msgs: Vec<(bool, &[u8])> = msgs.iter().map(|(d, m)| (*d, m.as_slice())).collect();
    cap.session(t, (client, 41_080), server, &msgs, 200 * MS);
}

#[test]
fn brute_force_by_short_ssh_sessions() {
    // 25 sessions of about 1.3 s, 2.5 s apart: the 20th ended session crosses (reported when
    // the flow table ends the flows, here at the end of the capture).
    let mut cap = Capture::new();
    let attacker = [10, 0, 0, 7];
    ssh_guesses(&mut cap, 0, attacker, (SSH_SERVER, 22), 25);
    let out = read(&cap, None, 1);
    let a = out.expect_only(&BRUTE_FORCE, 1)[0];
    check_alert(a, &BRUTE_FORCE, attacker, Some(SSH_SERVER), "TCP");
    check_evidence_keys(a, &BRUTE_FORCE, &[]);
    assert_eq!(a["dest_port"], 22, "{a}");
    assert_eq!(
        a["alert"]["signature"],
        "NTA ssh brute force from 10.0.0.7 to 10.0.0.22 port 22: 20 short sessions in 60 s"
    );
    check_meta(
        a,
        &[
            ("service", json!("ssh")),
            ("short_sessions", json!(20)),
            ("failed_logins", json!(0)),
            ("threshold", json!(20)),
            ("window_secs", json!(60)),
            ("max_session_secs", json!(30)),
        ],
    );
}

#[test]
fn brute_force_by_ftp_530_replies() {
    let mut cap = Capture::new();
    let (attacker, server) = ([10, 0, 0, 8], [10, 0, 0, 21]);
    ftp_guesses(&mut cap, 0, attacker, server, 25);
    let out = read(&cap, None, 1);
    let a = out.expect_only(&BRUTE_FORCE, 1)[0];
    check_alert(a, &BRUTE_FORCE, attacker, Some(server), "TCP");
    assert_eq!(a["dest_port"], 21, "{a}");
    assert_eq!(
        a["alert"]["signature"],
        "NTA ftp brute force from 10.0.0.8 to 10.0.0.21 port 21: 20 failed logins in 60 s"
    );
    check_meta(
        a,
        &[
            ("service", json!("ftp")),
            ("failed_logins", json!(20)),
            // The one session is still open when the 20th failure is seen.
            ("short_sessions", json!(0)),
            ("threshold", json!(20)),
        ],
    );
}

#[test]
fn brute_force_by_http_401_and_403_on_any_port() {
    let mut cap = Capture::new();
    let (attacker, server) = ([10, 0, 1, 7], ([10, 0, 1, 80], 8080));
    http_refusals(&mut cap, 0, attacker, server, 24);
    let out = read(&cap, None, 1);
    let a = out.expect_only(&BRUTE_FORCE, 1)[0];
    check_alert(a, &BRUTE_FORCE, attacker, Some(server.0), "TCP");
    assert_eq!(a["dest_port"], 8080, "{a}");
    assert_eq!(
        a["alert"]["signature"],
        "NTA http brute force from 10.0.1.7 to 10.0.1.80 port 8080: 20 failed logins in 60 s"
    );
    check_meta(
        a,
        &[
            ("service", json!("http")),
            ("failed_logins", json!(20)),
            ("short_sessions", json!(0)),
        ],
    );
}

#[test]
fn brute_force_near_misses_stay_quiet() {
    let mut cap = Capture::new();
    // 19 short SSH sessions.
    ssh_guesses(&mut cap, 0, [10, 0, 0, 7], (SSH_SERVER, 22), 19);
    // 25 short sessions to a port that is not a login port (2222 is not in `ports`).
    ssh_guesses(&mut cap, 0, [10, 0, 0, 8], (SSH_SERVER, 2222), 25);
    // 25 SSH sessions of 40 s each: an administrator's, not a guess.
    for i in 0..25u16 {
        let c = ([10, 0, 0, 9], 52_000 + i);
        cap.session(
            u64::from(i) * 2 * SEC,
            c,
            (SSH_SERVER, 22),
            &[
                (false, b"SSH-2.0-OpenSSH_9.6\r\n"),
                (true, b"SSH-2.0-OpenSSH_9.6\r\n"),
            ],
            20 * SEC,
        );
    }
    // 25 SYNs to port 22 of a host that refuses them: no handshake, no login attempt.
    for i in 0..25u16 {
        let (c, s) = (([10, 0, 0, 10], 53_000 + i), ([10, 0, 0, 23], 22));
        let at = u64::from(i) * SEC;
        cap.tcp(at, c, s, 7, 0, SYN, b"");
        cap.tcp(at + 300, s, c, 0, 8, RST | ACK, b"");
    }
    // 19 failed FTP logins and 19 refused HTTP requests.
    ftp_guesses(&mut cap, 0, [10, 0, 0, 11], [10, 0, 0, 21], 19);
    http_refusals(&mut cap, 0, [10, 0, 0, 12], ([10, 0, 1, 80], 8080), 19);
    read(&cap, None, 1).expect_no_detector_alerts();

    // The real thing, detector off.
    let mut guesses = Capture::new();
    ssh_guesses(&mut guesses, 0, [10, 0, 0, 7], (SSH_SERVER, 22), 25);
    read(
        &guesses,
        Some("[detectors.brute_force]\nenabled = false\n"),
        1,
    )
    .expect_no_detector_alerts();
}

#[test]
fn brute_force_ignores_half_open_probes() {
    // A health checker or `nmap -sS` probing SSH: SYN, SYN-ACK, then the client resets. The
    // handshake never completes, so these are not login attempts (docs: short sessions
    // "completed their TCP handshake").
    let mut cap = Capture::new();
    let server = (SSH_SERVER, 22);
    for i in 0..25u16 {
        let c = ([10, 0, 0, 13], 54_000 + i);
        let at = u64::from(i) * 2 * SEC;
        cap.tcp(at, c, server, 7, 0, SYN, b"");
        cap.tcp(at + 300, server, c, 900, 8, SYN | ACK, b"");
        cap.tcp(at + 600, c, server, 8, 0, RST, b"");
    }
    read(&cap, None, 1).expect_no_detector_alerts();
}

#[test]
#[ignore = "not built: the SMTP parser does not follow AUTH and its 535 replies, so no failed-login observation comes from SMTP (its brute force is caught by short sessions)"]
fn brute_force_by_smtp_535_replies() {
    // One submission session with 22 failed AUTH LOGIN attempts (535): failed logins, which
    // docs/detectors.md lists beside HTTP 401/403 and FTP 530.
    let mut cap = Capture::new();
    let (attacker, server) = ([10, 0, 0, 14], [10, 0, 0, 25]);
    let mut msgs: Vec<(bool, Vec<u8>)> = vec![
        (false, b"220 mail.corp.example ESMTP\r\n".to_vec()),
        (true, b"EHLO guesser\r\n".to_vec()),
        (
            false,
            b"250-mail.corp.example\r\n250 AUTH LOGIN PLAIN\r\n".to_vec(),
        ),
    ];
    for i in 0..22 {
        msgs.push((true, b"AUTH LOGIN\r\n".to_vec()));
        msgs.push((false, b"334 VXNlcm5hbWU6\r\n".to_vec()));
        msgs.push((true, b"YWRtaW4=\r\n".to_vec()));
        msgs.push((false, b"334 UGFzc3dvcmQ6\r\n".to_vec()));
        msgs.push((true, format!("Z3Vlc3N7aX0{i:02}\r\n").into_bytes()));
        msgs.push((
            false,
            b"535 5.7.8 Authentication credentials invalid\r\n".to_vec(),
        ));
    }
    let msgs: Vec<(bool, &[u8])> = msgs.iter().map(|(d, m)| (*d, m.as_slice())).collect();
    cap.session(0, (attacker, 40_587), (server, 587), &msgs, 50 * MS);
    let out = read(&cap, None, 1);
    let flow = out.flow((attacker, 40_587), (server, 587));
    assert_eq!(
        flow["app_proto"], "smtp",
        "the SMTP parser followed it: {flow}"
    );
    let a = out.expect_only(&BRUTE_FORCE, 1)[0];
    check_alert(a, &BRUTE_FORCE, attacker, Some(server), "TCP");
    check_meta(
        a,
        &[("service", json!("smtp")), ("failed_logins", json!(20))],
    );
}

// ---------------------------------------------------------------------------------------------
// sid 7: dns_tunnel.

const CLIENT: [u8; 4] = [10, 0, 0, 8];
const RESOLVER: Ep = ([10, 0, 0, 53], 53);

/// `n` distinct names under `t.tunnel.example`, each with a 40-character base32 label
/// (random-looking: entropy well above 4 bits per character).
fn tunnel_names(n: usize, seed: u64) -> Vec<String> {
    const B32: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|_| {
            let label: String = (0..40)
                .map(|_| char::from(B32[rng.below(32) as usize]))
                .collect();
            format!("{label}.t.tunnel.example")
        })
        .collect()
}

/// Queries `names` in order from `client`, each from a fresh source port, `step` apart.
fn ask(cap: &mut Capture, t: u64, step: u64, client: [u8; 4], names: &[String], qtype: u16) {
    for (i, name) in names.iter().enumerate() {
        let c = (client, 20_000 + (i % 40_000) as u16);
        cap.dns_query(t + i as u64 * step, c, RESOLVER, i as u16, name, qtype);
    }
}

#[test]
fn dns_tunnel_by_random_looking_names() {
    let names = tunnel_names(40, 7);
    let crossing = &names[..30];
    for n in crossing {
        assert!(entropy(n.split('.').next().unwrap()) > 4.0, "{n}");
    }
    let mut cap = Capture::new();
    ask(&mut cap, 0, 300 * MS, CLIENT, &names, 1);
    let out = read(&cap, None, 1);
    let a = out.expect_only(&DNS_TUNNEL, 1)[0];
    check_alert(a, &DNS_TUNNEL, CLIENT, Some(RESOLVER.0), "UDP");
    check_evidence_keys(a, &DNS_TUNNEL, &[]);
    assert_eq!(
        a["alert"]["signature"],
        "NTA DNS tunnel from 10.0.0.8 via tunnel.example: 30 long or random names in 60 s"
    );
    let max_entropy = crossing
        .iter()
        .map(|n| entropy(n.split('.').next().unwrap()))
        .fold(0.0, f64::max);
    check_meta(
        a,
        &[
            ("domain", json!("tunnel.example")),
            ("suspicious_names", json!(30)),
            ("txt_null_names", json!(0)),
            ("suspicious_threshold", json!(30)),
            ("txt_null_threshold", json!(50)),
            ("window_secs", json!(60)),
            ("longest_name_len", json!(names[0].len())),
            (
                "max_label_entropy",
                json!((max_entropy * 1000.0).round() / 1000.0),
            ),
            ("example", json!(names[29])),
            ("qtype", json!(1)),
        ],
    );
}

#[test]
fn dns_tunnel_by_txt_queries() {
    // Short, plain names, but 50 distinct TXT names under one domain, each asked twice.
    let names: Vec<String> = (0..60)
        .map(|i| format!("s{i:04}.chan.relay.example"))
        .collect();
    let mut cap = Capture::new();
    for (i, name) in names.iter().enumerate() {
        for k in 0..2u64 {
            let c = (CLIENT, 30_000 + (2 * i) as u16 + k as u16);
            let at = (2 * i as u64 + k) * 200 * MS;
            cap.dns_query(at, c, RESOLVER, i as u16, name, 16);
        }
    }
    let out = read(&cap, None, 1);
    let a = out.expect_only(&DNS_TUNNEL, 1)[0];
    check_alert(a, &DNS_TUNNEL, CLIENT, Some(RESOLVER.0), "UDP");
    assert_eq!(
        a["alert"]["signature"],
        "NTA DNS tunnel from 10.0.0.8 via relay.example: 50 TXT/NULL names in 60 s"
    );
    check_meta(
        a,
        &[
            ("domain", json!("relay.example")),
            ("suspicious_names", json!(0)),
            ("txt_null_names", json!(50)),
            ("longest_name_len", json!(0)),
            ("max_label_entropy", json!(0.0)),
            ("example", json!(names[49])),
            ("qtype", json!(16)),
        ],
    );
}

#[test]
fn dns_tunnel_evidence_names_the_query_type() {
    // iodine can tunnel over CNAME (5) and MX (15) queries: random-looking names, so the
    // tunnel is found; the evidence must say which query type carried it.
    let names = tunnel_names(30, 7);
    let mut cap = Capture::new();
    ask(&mut cap, 0, 300 * MS, CLIENT, &names, 5);
    let out = read(&cap, None, 1);
    let a = out.expect_only(&DNS_TUNNEL, 1)[0];
    check_meta(a, &[("example", json!(names[29])), ("qtype", json!(5))]);
}

#[test]
fn dns_tunnel_near_misses_stay_quiet() {
    let mut cap = Capture::new();
    // 29 random-looking names, then the same 29 in upper case (resolvers randomise case):
    // still 29 distinct names.
    let names = tunnel_names(29, 7);
    ask(&mut cap, 0, 300 * MS, CLIENT, &names, 1);
    let upper: Vec<String> = names.iter().map(|n| n.to_ascii_uppercase()).collect();
    ask(&mut cap, 10 * SEC, 300 * MS, CLIENT, &upper, 1);
    // CDN-style hexadecimal object names: entropy at most 4 bits per character.
    let mut rng = Rng::new(11);
    let hex: Vec<String> = (0..60)
        .map(|_| {
            let label: String = (0..32)
                .map(|_| char::from(b"0123456789abcdef"[rng.below(16) as usize]))
                .collect();
            format!("{label}.cdn.example")
        })
        .collect();
    ask(&mut cap, 0, 300 * MS, [10, 0, 0, 9], &hex, 1);
    // One long load-balancer name asked 60 times counts once.
    let long =
        vec!["eu-west-1-prod-frontend-loadbalancer-0123.internal.service.example".to_string(); 60];
    assert!(long[0].len() > 60);
    ask(&mut cap, 0, 300 * MS, [10, 0, 0, 10], &long, 1);
    // 49 distinct TXT names.
    let txt: Vec<String> = (0..49)
        .map(|i| format!("s{i:04}.chan.relay.example"))
        .collect();
    ask(&mut cap, 0, 300 * MS, [10, 0, 0, 11], &txt, 16);
    // 40 random-looking names spread over 100 s: never 30 within 60 s.
    let slow = tunnel_names(40, 13);
    ask(&mut cap, 0, 2500 * MS, [10, 0, 0, 12], &slow, 1);
    read(&cap, None, 1).expect_no_detector_alerts();

    // A real tunnel under a domain listed in `ignore_domains`.
    let mut tunnel = Capture::new();
    ask(&mut tunnel, 0, 300 * MS, CLIENT, &tunnel_names(40, 7), 1);
    let ignore = "[detectors.dns_tunnel]\nignore_domains = [\"tunnel.example\"]\n";
    read(&tunnel, Some(ignore), 1).expect_no_detector_alerts();
}

// ---------------------------------------------------------------------------------------------
// sid 8: beaconing.

const IMPLANT: [u8; 4] = [10, 0, 0, 30];
const C2: Ep = ([10, 0, 0, 40], 8443);

/// One check-in per start time (seconds after `T0`): a short TCP session from `client`, each
/// from a fresh port; with `twin`, a second connection 200 ms later (the same check-in).
fn check_ins(cap: &mut Capture, client: [u8; 4], server: Ep, starts: &[f64], twin: bool) {
    for (i, s) in starts.iter().enumerate() {
        let t = (s * 1e6) as u64;
        let port = 45_000 + 2 * i as u16;
        let msgs: &[(bool, &[u8])] = &[(true, b"ping"), (false, b"nop")];
        cap.session(t, (client, port), server, msgs, 20 * MS);
        if twin {
            cap.session(t + 200 * MS, (client, port + 1), server, msgs, 20 * MS);
        }
    }
}

/// Start times `t0 + interval × i` shifted by `jitter` (seconds).
fn regular(t0: f64, interval: f64, jitter: &[f64]) -> Vec<f64> {
    jitter
        .iter()
        .enumerate()
        .map(|(i, j)| t0 + interval * i as f64 + j)
        .collect()
}

#[test]
fn beaconing_every_minute() {
    // Twelve check-ins about a minute apart (within a second or two), each opening two
    // connections at once: the 8th check-in crosses, then the key is quiet for an hour.
    let starts = regular(
        1.0,
        60.0,
        &[
            0.0, 1.0, -0.5, 0.8, -1.2, 0.0, 0.4, 1.5, -0.3, 0.0, 0.9, -0.7,
        ],
    );
    let mut cap = Capture::new();
    check_ins(&mut cap, IMPLANT, C2, &starts, true);
    let out = read(&cap, None, 1);
    let a = out.expect_only(&BEACONING, 1)[0];
    check_alert(a, &BEACONING, IMPLANT, Some(C2.0), "TCP");
    check_evidence_keys(a, &BEACONING, &[]);
    assert_eq!(a["dest_port"], 8443, "{a}");

    // The evidence, computed from the first eight check-ins (the twins do not count).
    let intervals: Vec<f64> = starts[..8].windows(2).map(|w| w[1] - w[0]).collect();
    let mean = intervals.iter().sum::<f64>() / intervals.len() as f64;
    let var = intervals.iter().map(|i| (i - mean).powi(2)).sum::<f64>() / intervals.len() as f64;
    let cv = var.sqrt() / mean;
    let min = intervals.iter().copied().fold(f64::MAX, f64::min);
    let max = intervals.iter().copied().fold(0.0, f64::max);
    let r3 = |x: f64| (x * 1000.0).round() / 1000.0;
    assert_eq!(
        a["alert"]["signature"],
        format!(
            "NTA beaconing from 10.0.0.30 to 10.0.0.40 TCP port 8443: 8 connections every {mean:.1} s (cv {cv:.3})"
        )
    );
    check_meta(
        a,
        &[
            ("connections", json!(8)),
            ("mean_interval_secs", json!(r3(mean))),
            ("cv", json!(r3(cv))),
            ("max_cv", json!(0.1)),
            ("shortest_interval_secs", json!(r3(min))),
            ("longest_interval_secs", json!(r3(max))),
            ("proto", json!("tcp")),
        ],
    );
    // Stamped with the 8th check-in's first connection.
    let eighth = out.flow((IMPLANT, 45_014), C2);
    assert_eq!(a["timestamp"], eighth["flow"]["start"], "{a}");
}

#[test]
fn beaconing_near_misses_stay_quiet() {
    let mut cap = Capture::new();
    // Irregular: intervals from 15 s to 200 s.
    let mut t = 0.0;
    let mut irregular = vec![t];
    for i in [20.0, 150.0, 45.0, 90.0, 30.0, 200.0, 60.0, 15.0, 120.0] {
        t += i;
        irregular.push(t);
    }
    check_ins(&mut cap, [10, 0, 0, 31], C2, &irregular, false);
    // Regular, but only 7 connections.
    check_ins(
        &mut cap,
        [10, 0, 0, 32],
        C2,
        &regular(0.5, 60.0, &[0.0; 7]),
        false,
    );
    // Regular, but every 5 s: shorter than `min_interval_secs`.
    check_ins(
        &mut cap,
        [10, 0, 0, 34],
        C2,
        &regular(0.5, 5.0, &[0.0; 20]),
        false,
    );
    // Regular NTP polling from fresh ports (a new flow each time): port 123 is in
    // `ignore_ports`.
    for i in 0..12u64 {
        let c = ([10, 0, 0, 33], 40_123 + i as u16);
        cap.udp(
            i * 64 * SEC + 300 * MS,
            c,
            ([10, 0, 0, 123], 123),
            &[0x23; 48],
        );
        cap.udp(
            i * 64 * SEC + 310 * MS,
            ([10, 0, 0, 123], 123),
            c,
            &[0x24; 48],
        );
    }
    // Regular DNS lookups from fresh ports: port 53 is ignored too.
    for i in 0..12u64 {
        let c = ([10, 0, 0, 35], 33_000 + i as u16);
        cap.dns_query(
            i * 30 * SEC + 700 * MS,
            c,
            RESOLVER,
            i as u16,
            "update.vendor.example",
            1,
        );
    }
    read(&cap, None, 1).expect_no_detector_alerts();

    // A minute beacon with a larger `min_interval_secs`, and with `max_cv` lowered below
    // its variation.
    let starts = regular(1.0, 60.0, &[0.0, 1.0, -0.5, 0.8, -1.2, 0.0, 0.4, 1.5, -0.3]);
    let mut beacon = Capture::new();
    check_ins(&mut beacon, IMPLANT, C2, &starts, false);
    read(
        &beacon,
        Some("[detectors.beaconing]\nmin_interval_secs = 120\nmax_interval_secs = 600\n"),
        1,
    )
    .expect_no_detector_alerts();
    read(&beacon, Some("[detectors.beaconing]\nmax_cv = 0.005\n"), 1).expect_no_detector_alerts();
}

// ---------------------------------------------------------------------------------------------
// Ordinary traffic and configuration.

#[test]
fn ordinary_mixed_traffic_raises_no_detector_alert() {
    // `nta gen`: a realistic mix of web, mail, DNS and ping traffic, at its default rate
    // (20,000 packets in 0.2 s) and slowed down to 200 packets/s (100 s, so the 60 s windows
    // and the beacon intervals are covered).
    let dir = tempfile::tempdir().unwrap();
    for rate in ["100000", "200"] {
        let p = dir.path().join(format!("mix-{rate}.pcap"));
        let p_str = p.display().to_string();
        nta(&[
            "gen",
            "--pcap",
            &p_str,
            "--packets",
            "20000",
            "--rate",
            rate,
        ])
        .expect_code(0);
        for workers in ["1", "2"] {
            let out = dir.path().join("eve.json");
            let out_str = out.display().to_string();
            let run = nta(&["read", "-q", &p_str, "-o", &out_str, "--workers", workers]);
            run.expect_code(0);
            let events = parse_events(&std::fs::read_to_string(&out).unwrap());
            let alerts: Vec<&Value> = events
                .iter()
                .filter(|e| e["event_type"] == "alert" && e["alert"]["source"] == "detector")
                .collect();
            assert!(
                alerts.is_empty(),
                "rate {rate}, {workers} workers: {} detector alerts, first: {}",
                alerts.len(),
                alerts[0]
            );
            let stats = final_stats(&events);
            let per = stats["detectors"].as_object().expect("stats.detectors");
            assert_eq!(per.len(), 8, "all eight detectors run by default: {per:?}");
            for (name, c) in per {
                assert_eq!(c["alerts"], 0, "stats.detectors.{name}: {c}");
            }
            assert!(
                counter(stats, "detectors.port_scan.tracked") > 0,
                "the detectors saw the traffic: {per:?}"
            );
        }
    }
}

/// `nta read -c nta.toml` with `text`: must fail before reading, with one error line naming
/// `key`; `nta config check` says the same. Returns the line.
fn bad_config(text: &str, key: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut cap = Capture::new();
    probe_ports(&mut cap, 0, 10 * MS, SCANNER, VICTIM, 1..=150, false, 0);
    cap.write(&dir.path().join("t.pcap"));
    let cfg = dir.path().join("nta.toml");
    std::fs::write(&cfg, text).unwrap();
    let eve = dir.path().join("eve.json");
    let (cfg_s, pcap_s, eve_s) = (
        cfg.display().to_string(),
        dir.path().join("t.pcap").display().to_string(),
        eve.display().to_string(),
    );
    let run = nta(&[
        "read",
        &pcap_s,
        "-c",
        &cfg_s,
        "-o",
        &eve_s,
        "--workers",
        "1",
    ]);
    run.expect_code(1);
    let line = run.error_line().to_string();
    assert!(line.contains(key), "should name `{key}`: {line}");
    assert!(line.contains("nta.toml"), "should name the file: {line}");
    let written = std::fs::read_to_string(&eve).unwrap_or_default();
    assert!(
        parse_events(&written).is_empty(),
        "no events before the configuration is valid: {written}"
    );
    let check = nta(&["config", "check", &cfg_s]);
    check.expect_code(1);
    assert_eq!(check.error_line(), line, "nta config check says the same");
    line
}

#[test]
fn bad_detector_settings_stop_nta_read_naming_the_key() {
    let line = bad_config(
        "[detectors.syn_flood]\nsyn_per_sec = 500\nhalf_open_ratio = 1.5\n",
        "detectors.syn_flood.half_open_ratio",
    );
    assert!(line.contains("between 0 and 1, got 1.5"), "{line}");
    assert!(line.contains("line 3"), "{line}");

    let line = bad_config(
        "[detectors.port_scan]\nnetworks = [\"10.0.0.0/8\", \"10.0.0.0/33\"]\n",
        "detectors.port_scan.networks",
    );
    assert!(line.contains("`10.0.0.0/33`"), "{line}");

    // Disabled detectors are checked too.
    let line = bad_config(
        "[detectors.beaconing]\nenabled = false\nmin_interval_secs = 10\nmax_interval_secs = 5\n",
        "detectors.beaconing.max_interval_secs",
    );
    assert!(
        line.contains("at least min_interval_secs (10), got 5"),
        "{line}"
    );

    bad_config(
        "[detectors.icmp_flood]\nwindow_secs = 0\n",
        "detectors.icmp_flood.window_secs",
    );
    bad_config("[detectors]\nmax_tracked = 0\n", "detectors.max_tracked");
    // Unknown keys and wrong types are refused too.
    bad_config(
        "[detectors.port_scan]\ndistinct_port = 20\n",
        "detectors.port_scan.distinct_port",
    );
    bad_config(
        "[detectors.dns_tunnel]\nmin_entropy = \"high\"\n",
        "detectors.dns_tunnel.min_entropy",
    );
}
