//! `nta read`: the same packets give the same flows however they arrive (file, stdin, split
//! over several files, any worker count), and what a user expects of VLANs, tunnels, fragments,
//! pcapng interfaces and timeouts shows up in the events.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::Value;

fn path_str(p: &Path) -> String {
    p.display().to_string()
}

/// The counters of a final stats event that do not depend on timing or the worker count.
fn stable_counters(stats: &Value) -> Value {
    serde_json::json!({
        "decoder": stats["decoder"],
        "flow": stats["flow"],
        "defrag": stats["defrag"],
    })
}

fn generated(dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let p = dir.join(name);
    gen_pcap(&p, 20_000, 1_000, extra);
    p
}

#[test]
fn stdin_gives_the_same_flows_as_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = generated(dir.path(), "gen.pcap", &[]);
    let from_file = read_ok(&[&pcap], &[]);
    let bytes = std::fs::read(&pcap).unwrap();
    let run = nta_stdin(&["read", "-q", "-"], &bytes);
    run.expect_code(0);
    let from_stdin = run.events();
    let (a, b) = (
        sorted_flow_lines(&from_file),
        sorted_flow_lines(&from_stdin),
    );
    assert!(a.len() > 500, "{} flows", a.len());
    assert!(
        a == b,
        "stdin and file differ ({} vs {} flows)",
        a.len(),
        b.len()
    );
    assert_eq!(
        stable_counters(final_stats(&from_file)),
        stable_counters(final_stats(&from_stdin))
    );
    // stdin can be read once only.
    let run = nta_stdin(&["read", "-q", "-", "-"], &bytes);
    run.expect_code(1);
    assert!(run.error_line().contains("stdin"));
}

#[test]
fn two_files_in_order_equal_one_file_with_both() {
    let dir = tempfile::tempdir().unwrap();
    let first = generated(dir.path(), "a.pcap", &["--seed", "1"]);
    // The second starts where the first could still have flows open; it uses another seed.
    let second = dir.path().join("b.pcap");
    gen_pcap(&second, 5_000, 300, &["--seed", "7"]);

    // Concatenated by hand: both are Ethernet pcaps with the same header.
    let a = std::fs::read(&first).unwrap();
    let b = std::fs::read(&second).unwrap();
    assert_eq!(a[..24], b[..24], "same pcap header");
    let both = dir.path().join("both.pcap");
    let mut cat = a.clone();
    cat.extend_from_slice(&b[24..]);
    std::fs::write(&both, cat).unwrap();

    let split = read_ok(&[&first, &second], &[]);
    let joined = read_ok(&[&both], &[]);
    let (x, y) = (sorted_flow_lines(&split), sorted_flow_lines(&joined));
    assert!(x.len() > 1000, "{} flows", x.len());
    assert!(x == y, "two files and their concatenation differ");
    assert_eq!(
        stable_counters(final_stats(&split)),
        stable_counters(final_stats(&joined))
    );

    if have_tool("mergecap") {
        // mergecap -a writes pcapng: the same packets in another container.
        let ng = dir.path().join("both.pcapng");
        let o = Command::new("mergecap")
            .args(["-a", "-w"])
            .arg(&ng)
            .arg(&first)
            .arg(&second)
            .output()
            .expect("running mergecap");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let merged = read_ok(&[&ng], &[]);
        assert!(
            sorted_flow_lines(&merged) == x,
            "mergecap -a output (pcapng) differs from reading the two files"
        );
    } else {
        println!(
            "SKIPPED (part): mergecap not installed, compared the hand-made concatenation only"
        );
    }
}

fn check_worker_counts(pcap: &Path) {
    let base = read_ok(&[pcap], &["--workers", "1"]);
    let want = sorted_flow_lines(&base);
    assert!(!want.is_empty(), "{}: no flows", pcap.display());
    for n in ["2", "3"] {
        let got = read_ok(&[pcap], &["--workers", n]);
        let have = sorted_flow_lines(&got);
        if have != want {
            let only_1: Vec<&String> = want.iter().filter(|l| !have.contains(l)).take(3).collect();
            let only_n: Vec<&String> = have.iter().filter(|l| !want.contains(l)).take(3).collect();
            panic!(
                "{}: --workers 1 and {n} differ ({} vs {} flows)\nonly with 1: {only_1:#?}\nonly with {n}: {only_n:#?}",
                pcap.display(),
                want.len(),
                have.len()
            );
        }
        assert_eq!(
            stable_counters(final_stats(&base)),
            stable_counters(final_stats(&got)),
            "{}: counters differ with {n} workers",
            pcap.display()
        );
        assert_eq!(
            counter(final_stats(&got), "engine.workers"),
            n.parse::<u64>().unwrap()
        );
    }
}

#[test]
fn worker_counts_give_the_same_flows() {
    let dir = tempfile::tempdir().unwrap();
    check_worker_counts(&generated(dir.path(), "fast.pcap", &[]));
    // 20,000 packets at 50 per second span 400 s of capture time, so flows also end by
    // timeout, at points of the packet stream that must not depend on the worker count.
    let slow = generated(dir.path(), "slow.pcap", &["--rate", "50"]);
    let ev = read_ok(&[&slow], &["--workers", "1"]);
    assert!(
        counter(final_stats(&ev), "flow.timeout") > 0,
        "the slow capture should have timeouts"
    );
    check_worker_counts(&slow);
    if let Some(pcaps) = zeek_pcaps() {
        for p in pcaps {
            check_worker_counts(&p);
        }
    }
}

/// Regression: with several workers, each worker's events travel to the writer in 256 KiB
/// chunks; a chunk cut mid-line interleaved two events on one line (HEAD b0b22b7).
#[test]
fn every_line_is_one_event_with_many_workers() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("many.pcap");
    // About 2 MB of flow events: several chunks per worker.
    gen_pcap(&pcap, 60_000, 5_000, &[]);
    for workers in ["2", "4"] {
        let run = nta(&["read", "-q", "--workers", workers, &path_str(&pcap)]);
        run.expect_code(0);
        let bad: Vec<&str> = run
            .stdout
            .lines()
            .filter(|l| serde_json::from_str::<Value>(l).is_err())
            .take(3)
            .collect();
        assert!(
            bad.is_empty(),
            "{workers} workers: lines that are not one JSON event: {bad:#?}"
        );
        let events = run.events();
        assert_eq!(
            flows(&events).len() as u64,
            counter(final_stats(&events), "flow.total")
        );
    }
}

#[test]
fn pcapng_with_two_link_types_decodes_both() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("two.pcapng");
    let t0 = 1_700_000_000_000_000u64;
    let on_ethernet = eth_udp([10, 0, 0, 1], 5000, [10, 0, 0, 2], 53, b"over ethernet");
    let raw_ip = Ipv4::new([172, 16, 0, 1], [172, 16, 0, 2], PROTO_TCP).build(&tcp(
        6000,
        443,
        1,
        0,
        tcp_flags::SYN,
        b"",
    ));
    let mut ng = Pcapng::new();
    ng.interface(linktype::ETHERNET).interface(linktype::RAW);
    ng.packet(0, t0, &on_ethernet)
        .packet(1, t0 + 10, &raw_ip)
        .packet(0, t0 + 20, &on_ethernet)
        .packet(1, t0 + 30, &raw_ip);
    ng.write(&f);

    for workers in ["1", "2"] {
        let events = read_ok(&[&f], &["--workers", workers]);
        let stats = final_stats(&events);
        assert_eq!(counter(stats, "decoder.pkts"), 4);
        assert_eq!(counter(stats, "decoder.invalid"), 0, "{}", stats["decoder"]);
        assert_eq!(
            counter(stats, "decoder.ethernet"),
            2,
            "{}",
            stats["decoder"]
        );
        assert_eq!(counter(stats, "decoder.raw"), 2, "{}", stats["decoder"]);
        let u = flows_between(&events, "10.0.0.1", "10.0.0.2");
        assert_eq!(u.len(), 1);
        assert_eq!(u[0]["proto"], "UDP");
        assert_eq!(u[0]["flow"]["pkts_toserver"], 2);
        assert_eq!(u[0]["flow"]["bytes_toserver"], 2 * on_ethernet.len() as u64);
        let t = flows_between(&events, "172.16.0.1", "172.16.0.2");
        assert_eq!(t.len(), 1);
        assert_eq!(t[0]["proto"], "TCP");
        assert_eq!(t[0]["dest_port"], 443);
        assert_eq!(t[0]["flow"]["bytes_toserver"], 2 * raw_ip.len() as u64);
    }
}

#[test]
fn vlan_tags_are_reported_on_flows() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("vlan.pcap");
    let t0 = 1_700_000_000_000_000u64;
    let ip = |a: u8| {
        Ipv4::new([10, 9, 0, a], [10, 9, 0, 100], PROTO_UDP).build(&udp(4000, 514, b"syslog"))
    };
    let mut p = Pcap::new(linktype::ETHERNET);
    // 802.1Q id 100.
    p.packet(
        t0,
        &eth(MAC_B, MAC_A, ETH_VLAN, &vlan_tag(100, ETH_IPV4, &ip(1))),
    );
    // QinQ: outer 200 (802.1ad), inner 300.
    let inner = vlan_tag(300, ETH_IPV4, &ip(2));
    p.packet(
        t0 + 1,
        &eth(MAC_B, MAC_A, ETH_QINQ, &vlan_tag(200, ETH_VLAN, &inner)),
    );
    // Untagged.
    p.packet(t0 + 2, &eth(MAC_B, MAC_A, ETH_IPV4, &ip(3)));
    // The same 5-tuple as the first on another VLAN is another flow.
    p.packet(
        t0 + 3,
        &eth(MAC_B, MAC_A, ETH_VLAN, &vlan_tag(101, ETH_IPV4, &ip(1))),
    );
    p.write(&f);

    let events = read_ok(&[&f], &[]);
    let one = flows_between(&events, "10.9.0.1", "10.9.0.100");
    let mut vlans: Vec<String> = one.iter().map(|f| f["vlan"].to_string()).collect();
    vlans.sort();
    assert_eq!(vlans, ["[100]", "[101]"], "one flow per VLAN");
    let two = flows_between(&events, "10.9.0.2", "10.9.0.100");
    assert_eq!(two.len(), 1);
    assert_eq!(two[0]["vlan"], serde_json::json!([200, 300]));
    let three = flows_between(&events, "10.9.0.3", "10.9.0.100");
    assert_eq!(three.len(), 1);
    assert!(three[0].get("vlan").is_none(), "untagged: {}", three[0]);

    // The zeek captures use priority tags (VLAN id 0).
    let Some(vlan0) = zeek_pcap("http-vlan-0") else {
        return;
    };
    let events = read_ok(&[&vlan0], &[]);
    let fs = flows(&events);
    assert_eq!(fs.len(), 1);
    assert_eq!(fs[0]["vlan"], serde_json::json!([0]));
    let qinq = zeek_pcap("http-qinq-0").unwrap();
    let events = read_ok(&[&qinq], &[]);
    let fs = flows(&events);
    assert_eq!(fs.len(), 1);
    assert_eq!(fs[0]["vlan"], serde_json::json!([0, 0]));
}

/// The inner flow between two addresses, asserting its protocol and outermost tunnel type.
fn tunnelled_flow<'a>(
    events: &'a [Value],
    a: &str,
    b: &str,
    proto: &str,
    tunnel: &str,
) -> &'a Value {
    let fs: Vec<&Value> = flows_between(events, a, b)
        .into_iter()
        .filter(|f| f["proto"] == proto)
        .collect();
    assert_eq!(fs.len(), 1, "{a} <-> {b} {proto}: {fs:#?}");
    let f = fs[0];
    assert_eq!(
        f["tunnel"][0]["type"], tunnel,
        "{a} <-> {b} should be inside {tunnel}: {f}"
    );
    f
}

#[test]
fn tunnels_are_decoded_and_tagged() {
    let Some(_) = data_dir() else { return };

    let ev = read_ok(&[&zeek_pcap("vxlan-encapsulated-http").unwrap()], &[]);
    let inner = tunnelled_flow(&ev, "172.16.11.201", "54.86.237.188", "TCP", "vxlan");
    assert_eq!(inner["dest_port"], 80);
    assert_eq!(inner["tunnel"][0]["src_ip"], "10.1.200.131");
    assert_eq!(inner["tunnel"][0]["dest_ip"], "10.1.1.172");
    assert_eq!(inner["tunnel"][0]["dest_port"], 4789);
    // The outer UDP conversation is reported too, untagged.
    let outer = flows_between(&ev, "10.1.200.131", "10.1.1.172");
    assert_eq!(outer.len(), 1);
    assert_eq!(outer[0]["proto"], "UDP");
    assert!(outer[0].get("tunnel").is_none());

    let ev = read_ok(&[&zeek_pcap("gre-sample").unwrap()], &[]);
    let ssh = tunnelled_flow(&ev, "66.59.111.190", "172.28.2.3", "TCP", "gre");
    assert_eq!(ssh["dest_port"], 22);
    assert_eq!(ssh["tunnel"][0]["proto"], "GRE");
    assert!(
        flows(&ev).iter().all(|f| f["tunnel"][0]["type"] == "gre"),
        "every flow of gre-sample is inside GRE"
    );

    let ev = read_ok(&[&zeek_pcap("4in6").unwrap()], &[]);
    let f = tunnelled_flow(&ev, "70.55.213.211", "192.88.99.1", "TCP", "4in6");
    assert_eq!(f["tunnel"][0]["src_ip"], "2002:4637:d5d3::4637:d5d3");

    let ev = read_ok(&[&zeek_pcap("6in4").unwrap()], &[]);
    let f = tunnelled_flow(&ev, "dead::beef", "cafe::babe", "UDP", "6in4");
    assert_eq!(f["dest_port"], 13000);

    let ev = read_ok(&[&zeek_pcap("Teredo").unwrap()], &[]);
    let teredo: Vec<&Value> = flows(&ev)
        .into_iter()
        .filter(|f| f["tunnel"][0]["type"] == "teredo")
        .collect();
    assert!(teredo.len() >= 3, "Teredo inner flows: {teredo:#?}");
    for f in &teredo {
        let inner_v6 = f["src_ip"].as_str().unwrap_or("").contains(':');
        assert!(inner_v6, "Teredo carries IPv6: {f}");
        let t = &f["tunnel"][0];
        assert!(
            t["src_port"] == 3544 || t["dest_port"] == 3544,
            "on the Teredo port: {f}"
        );
    }
    let echo = tunnelled_flow(
        &ev,
        "2001:0:4137:9e50:8000:f12a:b9c8:2815",
        "2001:4860:0:2001::68",
        "IPv6-ICMP",
        "teredo",
    );
    assert_eq!(echo["icmp_type"], 128);
}

#[test]
fn fragments_are_reassembled_into_one_datagram() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("frags.pcap");
    let payload: Vec<u8> = (0..2000u32).map(|i| (i % 251) as u8).collect();
    let datagram = udp(33_000, 9999, &payload);
    // 2008 bytes of IP payload in three fragments: 0..800, 800..1600, 1600..2008.
    let pieces = [
        (0usize, 800usize, true),
        (800, 1600, true),
        (1600, 2008, false),
    ];
    let frames: Vec<Vec<u8>> = pieces
        .iter()
        .map(|&(from, to, more)| {
            let mut ip = Ipv4::new([10, 5, 0, 1], [10, 5, 0, 2], PROTO_UDP);
            ip.id = 0x4242;
            ip.frag_offset = from;
            ip.more_fragments = more;
            eth(MAC_B, MAC_A, ETH_IPV4, &ip.build(&datagram[from..to]))
        })
        .collect();
    let t0 = 1_700_000_000_000_000u64;
    let mut p = Pcap::new(linktype::ETHERNET);
    // Out of order: the middle, the last, then the first.
    for (i, idx) in [1usize, 2, 0].into_iter().enumerate() {
        p.packet(t0 + i as u64 * 100, &frames[idx]);
    }
    p.write(&f);

    for workers in ["1", "2"] {
        let events = read_ok(&[&f], &["--workers", workers]);
        let stats = final_stats(&events);
        assert_eq!(
            counter(stats, "defrag.reassembled"),
            1,
            "{}",
            stats["defrag"]
        );
        assert_eq!(counter(stats, "defrag.fragments"), 3, "{}", stats["defrag"]);
        assert_eq!(counter(stats, "decoder.invalid"), 0, "{}", stats["decoder"]);
        let fs = flows(&events);
        assert_eq!(fs.len(), 1, "{:?}", label_counts(&fs));
        let fl = fs[0];
        assert_eq!(fl["proto"], "UDP");
        assert_eq!(
            fl["src_port"], 33_000,
            "ports come from the first fragment: {fl}"
        );
        assert_eq!(fl["dest_port"], 9999);
        // One datagram; its bytes are the three frames', each counted once.
        assert_eq!(fl["flow"]["pkts_toserver"], 1, "{fl}");
        let wire: usize = frames.iter().map(Vec::len).sum();
        assert_eq!(fl["flow"]["bytes_toserver"], wire as u64, "{fl}");
    }
}

#[test]
fn udp_flows_end_by_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("timeout.pcap");
    let t0 = 1_700_000_000_000_000u64;
    let s = 1_000_000u64;
    let a = [10, 7, 0, 1];
    let b = [10, 7, 0, 2];
    let mut p = Pcap::new(linktype::ETHERNET);
    // One-way (state new, 30 s timeout): a second packet 400 s later is a new flow.
    p.packet(t0, &eth_udp(a, 1111, b, 53, b"first"));
    // Both ways (established, 300 s timeout): the same.
    p.packet(t0, &eth_udp(a, 2222, b, 123, b"request"));
    p.packet(t0 + s, &eth_udp(b, 123, a, 2222, b"reply"));
    // Both ways, quiet for 200 s: within the established timeout, so still one flow.
    p.packet(t0, &eth_udp(a, 3333, b, 161, b"get"));
    p.packet(t0 + s, &eth_udp(b, 161, a, 3333, b"response"));
    p.packet(t0 + 200 * s, &eth_udp(a, 3333, b, 161, b"get again"));
    // 400 s later.
    p.packet(t0 + 400 * s, &eth_udp(a, 1111, b, 53, b"second"));
    p.packet(t0 + 401 * s, &eth_udp(a, 2222, b, 123, b"request again"));
    p.write(&f);

    for workers in ["1", "2"] {
        let events = read_ok(&[&f], &["--workers", workers]);
        let by_port = |port: u64| -> Vec<&Value> {
            let mut v: Vec<&Value> = flows(&events)
                .into_iter()
                .filter(|f| f["src_port"] == port)
                .collect();
            v.sort_by_key(|f| f["flow"]["start"].as_str().unwrap_or("").to_string());
            v
        };
        for (port, first_state) in [(1111, "new"), (2222, "established")] {
            let fs = by_port(port);
            assert_eq!(fs.len(), 2, "port {port}: two flows: {fs:#?}");
            assert_eq!(fs[0]["flow"]["reason"], "timeout", "{}", fs[0]);
            assert_eq!(fs[0]["flow"]["state"], first_state, "{}", fs[0]);
            assert_eq!(fs[1]["flow"]["reason"], "shutdown", "{}", fs[1]);
            assert_eq!(fs[1]["flow"]["pkts_toserver"], 1);
            assert_eq!(fs[1]["flow"]["pkts_toclient"], 0);
            // The first flow's timestamp is its last packet's, not the time it expired.
            assert_eq!(fs[0]["timestamp"], fs[0]["flow"]["end"]);
        }
        let kept = by_port(3333);
        assert_eq!(kept.len(), 1, "{kept:#?}");
        assert_eq!(kept[0]["flow"]["pkts_toserver"], 2);
        assert_eq!(kept[0]["flow"]["age"], 200);
        let stats = final_stats(&events);
        assert_eq!(counter(stats, "flow.timeout"), 2, "{}", stats["flow"]);
        assert_eq!(counter(stats, "flow.total"), 5, "{}", stats["flow"]);
    }
}

#[test]
fn output_file_option_writes_the_events() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = generated(dir.path(), "gen.pcap", &[]);
    let eve = dir.path().join("eve.json");
    let run = nta(&["read", "-q", &path_str(&pcap), "-o", &path_str(&eve)]);
    run.expect_code(0);
    assert!(run.stdout.is_empty(), "events go to the file only");
    let from_file = parse_events(&std::fs::read_to_string(&eve).unwrap());
    assert_eq!(
        sorted_flow_lines(&from_file),
        sorted_flow_lines(&read_ok(&[&pcap], &[]))
    );
    final_stats(&from_file);
}

#[test]
fn many_files_are_opened_one_at_a_time() {
    // 300 files with only 64 descriptors allowed: each file is opened when its turn comes.
    if !have_tool("sh") {
        println!("SKIPPED: no sh");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let one = dir.path().join("one.pcap");
    gen_pcap(&one, 50, 5, &[]);
    let mut names = Vec::new();
    for i in 0..300 {
        let p = dir.path().join(format!("f{i:03}.pcap"));
        std::fs::copy(&one, &p).unwrap();
        names.push(p.display().to_string());
    }
    let script = format!(
        "ulimit -n 64 && exec {} read -q --workers 1 {}",
        env!("CARGO_BIN_EXE_nta"),
        names.join(" ")
    );
    let o = std::process::Command::new("sh")
        .arg("-c")
        .arg(&script)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    let events = parse_events(&String::from_utf8_lossy(&o.stdout));
    let single = read_ok(&[one.as_path()], &[]);
    let per_file = counter(final_stats(&single), "decoder.pkts");
    assert_eq!(
        counter(final_stats(&events), "decoder.pkts"),
        300 * per_file
    );
}
