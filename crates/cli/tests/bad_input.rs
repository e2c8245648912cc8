//! What a user sees when the input, the configuration or the capture setup is wrong: exit code
//! 1 with one `nta: error:` line naming the problem, or exit 3 when a capture file is damaged
//! part-way (everything before the damage is still reported). Hostile packets never crash nta.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

fn path_str(p: &Path) -> String {
    p.display().to_string()
}

/// A small valid capture: three UDP flows, one second apart.
fn small_pcap() -> Pcap {
    let mut p = Pcap::new(linktype::ETHERNET);
    for i in 0..3u8 {
        p.packet(
            1_700_000_000_000_000 + u64::from(i) * 1_000_000,
            &eth_udp(
                [10, 0, 0, 1],
                40_000 + u16::from(i),
                [10, 0, 0, 2],
                53,
                &[i; 40],
            ),
        );
    }
    p
}

// ---------------------------------------------------------------------------------------------
// Files that are not captures.

#[test]
fn text_file_is_not_a_pcap() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("notes.txt");
    std::fs::write(&f, "this is a text file, not a capture\nsecond line\n").unwrap();
    let run = nta(&["read", &path_str(&f)]);
    run.expect_code(1);
    let line = run.error_line();
    assert!(line.contains("not a pcap"), "{line}");
    assert!(line.contains("notes.txt"), "names the file: {line}");
    assert!(run.stdout.is_empty(), "no events: {}", run.stdout);
}

#[test]
fn empty_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("empty.pcap");
    std::fs::write(&f, b"").unwrap();
    let run = nta(&["read", &path_str(&f)]);
    run.expect_code(1);
    let line = run.error_line();
    assert!(line.contains("empty"), "{line}");
    assert!(line.contains("empty.pcap"), "{line}");
    assert!(run.stdout.is_empty());
}

#[test]
fn nonexistent_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("missing.pcap");
    let run = nta(&["read", &path_str(&f)]);
    run.expect_code(1);
    let line = run.error_line();
    assert!(line.contains("missing.pcap"), "{line}");
    assert!(line.contains("No such file"), "{line}");
    assert!(run.stdout.is_empty());
}

#[test]
fn directory_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let run = nta(&["read", &path_str(dir.path())]);
    run.expect_code(1);
    let line = run.error_line();
    assert!(line.contains("directory"), "{line}");
    assert!(run.stdout.is_empty());
}

#[test]
fn second_bad_file_fails_before_any_output() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.pcap");
    small_pcap().write(&good);
    let bad = dir.path().join("bad.pcap");
    std::fs::write(&bad, "not a capture either").unwrap();
    let run = nta(&["read", &path_str(&good), &path_str(&bad)]);
    run.expect_code(1);
    let line = run.error_line();
    assert!(
        line.contains("bad.pcap") && line.contains("not a pcap"),
        "{line}"
    );
    assert!(
        run.stdout.is_empty(),
        "no events before the error: {}",
        run.stdout
    );

    // With -o the output file is not even created.
    let eve = dir.path().join("eve.json");
    let run = nta(&[
        "read",
        &path_str(&good),
        &path_str(&bad),
        "-o",
        &path_str(&eve),
    ]);
    run.expect_code(1);
    assert!(!eve.exists(), "eve.json was created before the error");

    // A missing second file too.
    let run = nta(&[
        "read",
        &path_str(&good),
        &path_str(&dir.path().join("nope.pcap")),
    ]);
    run.expect_code(1);
    assert!(run.error_line().contains("nope.pcap"));
    assert!(run.stdout.is_empty());
}

#[test]
fn unknown_link_type_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("lt147.pcap");
    let mut p = Pcap::new(147);
    p.packet(1_700_000_000_000_000, b"\x01\x02\x03\x04user-defined");
    p.write(&f);
    let run = nta(&["read", &path_str(&f)]);
    run.expect_code(1);
    let line = run.error_line();
    assert!(line.contains("link type 147"), "{line}");
    assert!(line.contains("lt147.pcap"), "{line}");
}

/// Regression (b0b22b7): the second file's link type was only checked when its first record
/// was read, after the first file's timed-out flows had been written.
#[test]
fn unknown_link_type_in_second_file_fails_before_any_output() {
    // The first file ends a flow by timeout (packets 400 s apart), so an engine that checked
    // the second file late would already have written events.
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first.pcap");
    let mut p = Pcap::new(linktype::ETHERNET);
    let t0 = 1_700_000_000_000_000u64;
    p.packet(t0, &eth_udp([10, 0, 0, 1], 1111, [10, 0, 0, 2], 53, b"one"));
    p.packet(
        t0 + 400_000_000,
        &eth_udp([10, 0, 0, 1], 2222, [10, 0, 0, 2], 53, b"two"),
    );
    p.write(&first);
    let second = dir.path().join("lt147.pcap");
    let mut p = Pcap::new(147);
    p.packet(t0 + 401_000_000, b"\x01\x02\x03\x04");
    p.write(&second);
    let run = nta(&[
        "read",
        "-q",
        "--workers",
        "1",
        &path_str(&first),
        &path_str(&second),
    ]);
    run.expect_code(1);
    assert!(run.error_line().contains("link type 147"));
    assert!(
        run.stdout.is_empty(),
        "events were written before the error:\n{}",
        run.stdout
    );
}

// ---------------------------------------------------------------------------------------------
// Damaged captures.

/// Cuts a capture inside its last record and checks the exit code, output and warning.
fn check_truncated(cut_inside_data: bool) {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("cut.pcap");
    let mut p = small_pcap();
    // A fourth packet of a fourth flow, which is cut.
    p.packet(
        1_700_000_010_000_000,
        &eth_udp([10, 0, 0, 9], 9999, [10, 0, 0, 2], 53, &[7; 100]),
    );
    let last = *p.record_offsets.last().unwrap();
    let cut = if cut_inside_data {
        last + 16 + 30
    } else {
        last + 7
    };
    std::fs::write(&f, &p.bytes()[..cut]).unwrap();

    let run = nta(&["read", "-q", &path_str(&f)]);
    run.expect_code(3);
    let events = run.events();
    let fs = flows(&events);
    assert_eq!(
        fs.len(),
        3,
        "the three flows before the cut: {:?}",
        label_counts(&fs)
    );
    assert!(
        fs.iter().all(|f| f["src_ip"] == "10.0.0.1"),
        "the cut packet must not become a flow: {:?}",
        label_counts(&fs)
    );
    let stats = final_stats(&events);
    assert_eq!(counter(stats, "decoder.pkts"), 3);
    let warning = run.stderr.trim();
    assert_eq!(warning.lines().count(), 1, "one warning line: {warning}");
    assert!(warning.starts_with("nta: warning:"), "{warning}");
    assert!(warning.contains("truncated"), "{warning}");
    assert!(warning.contains("cut.pcap"), "{warning}");
    assert!(
        warning.contains(&format!("offset {last}")),
        "names the offset of the cut record ({last}): {warning}"
    );
}

#[test]
fn truncated_inside_packet_data_exits_3_after_reporting_what_was_read() {
    check_truncated(true);
}

#[test]
fn truncated_inside_record_header_exits_3_after_reporting_what_was_read() {
    check_truncated(false);
}

#[test]
fn truncated_pcap_from_stdin_exits_3() {
    let mut p = small_pcap();
    p.packet(1_700_000_010_000_000, &[0u8; 80]);
    let bytes = &p.bytes()[..p.bytes().len() - 10];
    let run = nta_stdin(&["read", "-q", "-"], bytes);
    run.expect_code(3);
    assert_eq!(flows(&run.events()).len(), 3);
    assert!(run.stderr.contains("truncated"), "{}", run.stderr);
}

#[test]
fn corrupted_packets_are_counted_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("corrupt.pcap");
    let t0 = 1_700_000_000_000_000u64;
    let src = [192, 168, 1, 1];
    let dst = [192, 168, 1, 2];
    let mut frames: Vec<(&str, Vec<u8>)> = Vec::new();
    frames.push(("ethernet.truncated", vec![1, 2, 3, 4, 5]));
    // IPv4 claiming 1000 bytes in a 60-byte frame (captured whole).
    let mut ip = Ipv4::new(src, dst, PROTO_UDP);
    ip.total_len = Some(1000);
    frames.push((
        "ipv4.truncated",
        eth(MAC_B, MAC_A, ETH_IPV4, &ip.build(&udp(1, 2, &[0; 18]))),
    ));
    // IPv4 total length 10, shorter than its own header.
    let mut ip = Ipv4::new(src, dst, PROTO_UDP);
    ip.total_len = Some(10);
    frames.push((
        "ipv4.total_len_invalid",
        eth(MAC_B, MAC_A, ETH_IPV4, &ip.build(&udp(1, 2, &[0; 18]))),
    ));
    // UDP length field 200 in a 26-byte datagram.
    let mut dgram = udp(1, 2, &[0; 18]);
    dgram[4..6].copy_from_slice(&200u16.to_be_bytes());
    frames.push((
        "udp.len_invalid",
        eth(
            MAC_B,
            MAC_A,
            ETH_IPV4,
            &Ipv4::new(src, dst, PROTO_UDP).build(&dgram),
        ),
    ));
    // IPv4 header length 3 words.
    let mut bad_ihl = Ipv4::new(src, dst, PROTO_UDP).build(&udp(1, 2, &[0; 18]));
    bad_ihl[0] = 0x43;
    frames.push(("ipv4.header_invalid", eth(MAC_B, MAC_A, ETH_IPV4, &bad_ihl)));
    // TCP data offset 2 (8 bytes, below the 20-byte minimum).
    let mut seg = tcp(1234, 80, 1, 0, tcp_flags::SYN, &[0; 20]);
    seg[12] = 2 << 4;
    frames.push((
        "tcp.header_invalid",
        eth(
            MAC_B,
            MAC_A,
            ETH_IPV4,
            &Ipv4::new(src, dst, PROTO_TCP).build(&seg),
        ),
    ));
    // TCP segment of 10 bytes.
    frames.push((
        "tcp.truncated",
        eth(
            MAC_B,
            MAC_A,
            ETH_IPV4,
            &Ipv4::new(src, dst, PROTO_TCP).build(&[0; 10]),
        ),
    ));
    // UDP of 4 bytes.
    frames.push((
        "udp.truncated",
        eth(
            MAC_B,
            MAC_A,
            ETH_IPV4,
            &Ipv4::new(src, dst, PROTO_UDP).build(&[0; 4]),
        ),
    ));
    // VLAN tag cut short.
    frames.push(("vlan.truncated", eth(MAC_B, MAC_A, ETH_VLAN, &[0, 5])));
    // IPv6 header of 20 bytes.
    let mut v6 = vec![0x60, 0, 0, 0, 0, 8, 17, 64];
    v6.extend_from_slice(&[0; 12]);
    frames.push(("ipv6.truncated", eth(MAC_B, MAC_A, 0x86dd, &v6)));
    // ICMP of 2 bytes.
    frames.push((
        "icmpv4.truncated",
        eth(
            MAC_B,
            MAC_A,
            ETH_IPV4,
            &Ipv4::new(src, dst, 1).build(&[8, 0]),
        ),
    ));
    let good = eth_udp([10, 1, 1, 1], 5353, [10, 1, 1, 2], 53, b"a valid datagram");

    let mut p = Pcap::new(linktype::ETHERNET);
    for (i, (_, frame)) in frames.iter().enumerate() {
        p.packet(t0 + i as u64 * 1000, frame);
    }
    p.packet(t0 + 100_000, &good);
    p.write(&f);

    for workers in ["1", "2"] {
        let run = nta(&["read", "-q", "--workers", workers, &path_str(&f)]);
        run.expect_code(0);
        let events = run.events();
        let stats = final_stats(&events);
        let mut missing = Vec::new();
        for (name, _) in &frames {
            if counter(stats, &format!("decoder.event.{name}")) != 1 {
                missing.push(*name);
            }
        }
        assert!(
            missing.is_empty(),
            "anomalies not counted once each: {missing:?}; decoder stats: {}",
            stats["decoder"]
        );
        assert_eq!(counter(stats, "decoder.pkts"), frames.len() as u64 + 1);
        assert_eq!(counter(stats, "decoder.invalid"), frames.len() as u64);
        // The valid packet after the garbage is still tracked.
        let fs = flows(&events);
        assert_eq!(fs.len(), 1, "only the valid flow: {:?}", label_counts(&fs));
        assert_eq!(fs[0]["src_ip"], "10.1.1.1");
        assert_eq!(fs[0]["flow"]["bytes_toserver"], good.len() as u64);
    }
}

/// Random frames, and valid frames with random bytes flipped, on several link types.
fn fuzz_pcap(seed: u64, link: u32, frames: usize) -> Pcap {
    let mut rng = Rng::new(seed);
    let mut p = Pcap::new(link);
    let templates = [
        eth_udp(
            [10, 0, 0, 1],
            1000,
            [10, 0, 0, 2],
            4789,
            &[0x08, 0, 0, 0, 0, 0, 1, 0],
        ),
        eth_tcp(
            [10, 0, 0, 1],
            1000,
            [10, 0, 0, 2],
            80,
            tcp_flags::SYN,
            b"GET / HTTP/1.1\r\n",
        ),
        eth(
            MAC_B,
            MAC_A,
            ETH_VLAN,
            &vlan_tag(
                7,
                ETH_IPV4,
                &Ipv4::new([1, 1, 1, 1], [2, 2, 2, 2], 47).build(&[0, 0, 0x08, 0, 0x45]),
            ),
        ),
        eth(MAC_B, MAC_A, 0x86dd, &[0x60; 60]),
    ];
    for i in 0..frames {
        let frame = if rng.below(2) == 0 {
            let n = rng.below(200) as usize;
            rng.bytes(n)
        } else {
            let mut f = templates[rng.below(templates.len() as u64) as usize].clone();
            if link != linktype::ETHERNET {
                f.drain(..14.min(f.len()));
            }
            for _ in 0..1 + rng.below(6) {
                if f.is_empty() {
                    break;
                }
                let at = rng.below(f.len() as u64) as usize;
                f[at] = rng.next_u64() as u8;
            }
            let keep = rng.below(f.len() as u64 + 1) as usize;
            if rng.below(3) == 0 {
                f.truncate(keep);
            }
            f
        };
        p.packet(1_600_000_000_000_000 + i as u64 * 997, &frame);
    }
    p
}

#[test]
fn random_frames_never_crash() {
    let dir = tempfile::tempdir().unwrap();
    for (seed, link) in [
        (1, linktype::ETHERNET),
        (2, linktype::RAW),
        (3, linktype::LINUX_SLL),
        (4, linktype::NULL),
    ] {
        let f = dir.path().join(format!("fuzz-{seed}.pcap"));
        let frames = 3000;
        fuzz_pcap(seed, link, frames).write(&f);
        for workers in ["1", "3"] {
            let run = nta(&["read", "-q", "--workers", workers, &path_str(&f)]);
            assert_eq!(
                run.code,
                Some(0),
                "link type {link}, seed {seed}, {workers} workers: {}",
                run.stderr
            );
            let events = run.events();
            let stats = final_stats(&events);
            assert_eq!(counter(stats, "decoder.pkts"), frames as u64);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Configuration.

struct BadConfig {
    text: &'static str,
    line: usize,
    key: Option<&'static str>,
}

fn config_error(dir: &Path, name: &str, c: &BadConfig) -> String {
    let f = dir.join(name);
    std::fs::write(&f, c.text).unwrap();
    let run = nta(&["config", "check", &path_str(&f)]);
    run.expect_code(1);
    let line = run.error_line().to_string();
    assert!(line.contains(name), "names the file: {line}");
    assert!(
        line.contains(&format!("line {}", c.line)),
        "should say line {}: {line}",
        c.line
    );
    // `nta read -c` refuses the same file with the same message, before reading anything.
    let pcap = dir.join("x.pcap");
    small_pcap().write(&pcap);
    let read = nta(&["read", "-c", &path_str(&f), &path_str(&pcap)]);
    read.expect_code(1);
    assert_eq!(
        read.error_line(),
        line,
        "nta read -c gives the same message"
    );
    assert!(read.stdout.is_empty());
    line
}

const UNKNOWN_KEY: BadConfig = BadConfig {
    text: "# sensor\n[engine]\nworkers = 2\nworkrs = 4\n",
    line: 4,
    key: Some("workrs"),
};
const WRONG_TYPE: BadConfig = BadConfig {
    text: "[capture]\ninterface = \"eth0\"\n\nsnaplen = \"big\"\n",
    line: 4,
    key: Some("snaplen"),
};
const WRONG_TYPE_BOOL: BadConfig = BadConfig {
    text: "[capture]\npromisc = \"yes\"\n",
    line: 2,
    key: Some("promisc"),
};
const OUT_OF_RANGE: BadConfig = BadConfig {
    text: "[flow]\nmax_flows = 0\n",
    line: 2,
    key: Some("max_flows"),
};
const OUT_OF_RANGE_NESTED: BadConfig = BadConfig {
    text: "[engine]\nworkers = 1\n\n[flow.timeouts.udp]\nnew = 10\nestablished = 999999999\n",
    line: 6,
    key: Some("established"),
};
const SYNTAX_ERROR: BadConfig = BadConfig {
    text: "[engine]\nworkers = 2\n\n[flow\nmax_flows = 10\n",
    line: 4,
    key: None,
};

#[test]
fn config_unknown_key_names_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let msg = config_error(dir.path(), "nta.toml", &UNKNOWN_KEY);
    assert!(msg.contains(UNKNOWN_KEY.key.unwrap()), "{msg}");
}

#[test]
fn config_wrong_type_names_line() {
    let dir = tempfile::tempdir().unwrap();
    config_error(dir.path(), "nta.toml", &WRONG_TYPE);
    config_error(dir.path(), "bool.toml", &WRONG_TYPE_BOOL);
}

#[test]
fn config_wrong_type_names_key() {
    let dir = tempfile::tempdir().unwrap();
    for (name, c) in [("nta.toml", &WRONG_TYPE), ("bool.toml", &WRONG_TYPE_BOOL)] {
        let msg = config_error(dir.path(), name, c);
        assert!(msg.contains(c.key.unwrap()), "{msg}");
    }
}

#[test]
fn config_out_of_range_names_line() {
    let dir = tempfile::tempdir().unwrap();
    let msg = config_error(dir.path(), "nta.toml", &OUT_OF_RANGE);
    assert!(msg.contains("got 0"), "{msg}");
    config_error(dir.path(), "nested.toml", &OUT_OF_RANGE_NESTED);
}

#[test]
fn config_out_of_range_names_key() {
    let dir = tempfile::tempdir().unwrap();
    for (name, c) in [
        ("nta.toml", &OUT_OF_RANGE),
        ("nested.toml", &OUT_OF_RANGE_NESTED),
    ] {
        let msg = config_error(dir.path(), name, c);
        assert!(msg.contains(c.key.unwrap()), "{msg}");
    }
}

#[test]
fn config_syntax_error_names_line() {
    let dir = tempfile::tempdir().unwrap();
    config_error(dir.path(), "nta.toml", &SYNTAX_ERROR);
}

#[test]
fn valid_config_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("nta.toml");
    std::fs::write(
        &f,
        "[engine]\nworkers = 2\nstats_interval = 5\n\n[flow]\nmax_flows = 5000\n\n\
         [flow.timeouts.udp]\nnew = 10\n\n[decoder]\nvxlan_port = 8472\n",
    )
    .unwrap();
    let run = nta(&["config", "check", &path_str(&f)]);
    run.expect_code(0);
    assert!(run.stdout.contains("valid"), "{}", run.stdout);
    // And nta read uses it.
    let pcap = dir.path().join("x.pcap");
    small_pcap().write(&pcap);
    let run = nta(&["read", "-q", "-c", &path_str(&f), &path_str(&pcap)]);
    run.expect_code(0);
    let events = run.events();
    assert_eq!(flows(&events).len(), 3);
    assert_eq!(counter(final_stats(&events), "engine.workers"), 2);
    // The documented defaults are themselves a valid file.
    let defaults = nta(&["config", "defaults"]);
    defaults.expect_code(0);
    let d = dir.path().join("defaults.toml");
    std::fs::write(&d, &defaults.stdout).unwrap();
    nta(&["config", "check", &path_str(&d)]).expect_code(0);
}

// ---------------------------------------------------------------------------------------------
// Live capture setup.

#[test]
fn capture_on_nonexistent_interface() {
    let run = nta(&["capture", "-i", "nta-nosuch0", "-q"]);
    run.expect_code(1);
    let line = run.error_line();
    assert!(line.contains("nta-nosuch0"), "{line}");
    assert!(line.contains("does not exist"), "{line}");
}

#[test]
fn capture_with_invalid_bpf_filter_shows_libpcaps_message() {
    if !is_root() {
        println!("SKIPPED: opening a capture on lo needs root");
        return;
    }
    let run = nta(&[
        "capture",
        "-i",
        "lo",
        "-f",
        "tcp port",
        "-q",
        "--duration",
        "1",
    ]);
    run.expect_code(1);
    let line = run.error_line();
    if line.contains("no permission to capture") {
        // Root without CAP_NET_RAW (some containers): the filter is never reached.
        println!("SKIPPED: this root cannot capture on lo: {line}");
        return;
    }
    assert!(line.contains("tcp port"), "names the filter: {line}");
    assert!(line.contains("BPF"), "{line}");
    // libpcap's own words.
    assert!(line.contains("syntax error"), "{line}");
}

#[test]
fn capture_without_permission_names_the_capability() {
    if !is_root() {
        println!("SKIPPED: dropping privileges with setpriv needs root");
        return;
    }
    if !have_tool("setpriv") {
        println!("SKIPPED: setpriv not installed");
        return;
    }
    let o = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
            NTA,
            "capture",
            "-i",
            "lo",
            "-q",
            "--duration",
            "1",
        ])
        .output()
        .expect("running setpriv");
    let stderr = String::from_utf8_lossy(&o.stderr);
    if stderr.contains("setpriv:") {
        println!("SKIPPED: setpriv could not drop privileges: {stderr}");
        return;
    }
    assert_eq!(o.status.code(), Some(1), "stderr: {stderr}");
    let line = stderr.trim();
    assert_eq!(line.lines().count(), 1, "{line}");
    assert!(line.starts_with("nta: error:"), "{line}");
    assert!(line.contains("CAP_NET_RAW"), "{line}");
    assert!(line.contains("permission"), "{line}");
}

#[test]
fn a_full_disk_is_an_error_whatever_the_worker_count() {
    // /dev/full fails every write with ENOSPC: the writer's own error must be reported, not
    // mistaken for a reader that went away (which exits 0 quietly).
    if !Path::new("/dev/full").exists() {
        println!("SKIPPED: /dev/full not present");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("gen.pcap");
    gen_pcap(&pcap, 20_000, 1_000, &[]);
    let p = pcap.display().to_string();
    for workers in ["1", "4"] {
        let run = nta(&["read", "-q", "--workers", workers, "-o", "/dev/full", &p]);
        run.expect_code(1);
        assert!(
            run.stderr.contains("No space left on device"),
            "workers {workers}: {}",
            run.stderr
        );
    }
}

#[test]
fn a_second_signal_stops_a_stuck_run_at_once() {
    // stdin stays open and silent: the run waits in read(2), so the first SIGINT (a request
    // to stop after flushing) cannot be served; the second must end the process, status 130.
    use std::io::Write;
    use std::process::Stdio;
    let mut pcap = Pcap::new(1);
    pcap.packet(1, &eth_udp([10, 0, 0, 1], 1000, [10, 0, 0, 2], 53, b"q"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_nta"))
        .args(["read", "-q", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(pcap.bytes()).unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let pid = child.id().to_string();
    for _ in 0..2 {
        let ok = Command::new("kill").args(["-INT", &pid]).status().unwrap();
        assert!(ok.success());
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if std::time::Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    drop(stdin);
    let Some(status) = status else {
        let _ = child.kill();
        panic!("nta did not exit after two SIGINTs");
    };
    assert_eq!(status.code(), Some(130));
}
