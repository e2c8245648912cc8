//! Every TCP and UDP conversation tshark finds must be an NTA flow with the same frames and
//! bytes in each direction, and NTA must have no TCP/UDP flow tshark lacks.
//!
//! tshark 4.0 prints `-z conv` byte counts as `N bytes` below 10 kB and as truncated SI units
//! above (`10707` → `10 kB`), so those are compared as `floor(ours / 1000^k)`.

mod common;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::Value;

/// A byte count as tshark shows it: `value` in units of 1000^`power` bytes, truncated.
#[derive(Clone, Copy, Debug)]
struct Shown {
    value: u64,
    power: u32,
}

impl Shown {
    fn matches(self, exact: u64) -> bool {
        exact / 1000u64.pow(self.power) == self.value
    }
}

impl std::fmt::Display for Shown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let unit = ["bytes", "kB", "MB", "GB", "TB"][self.power as usize];
        write!(f, "{} {unit}", self.value)
    }
}

/// One line of tshark's conversation table.
#[derive(Clone, Debug)]
struct Conv {
    proto: &'static str,
    a: SocketAddr,
    b: SocketAddr,
    frames_ab: u64,
    bytes_ab: Shown,
    frames_ba: u64,
    bytes_ba: Shown,
    rel_start: f64,
    line: String,
}

/// The flows (or conversations) between two endpoints, whichever way round.
type PairKey = (&'static str, SocketAddr, SocketAddr);

fn pair_key(proto: &'static str, x: SocketAddr, y: SocketAddr) -> PairKey {
    if x <= y {
        (proto, x, y)
    } else {
        (proto, y, x)
    }
}

fn parse_endpoint(s: &str) -> SocketAddr {
    let (ip, port) = s
        .rsplit_once(':')
        .unwrap_or_else(|| panic!("tshark endpoint without a port: {s}"));
    let ip: IpAddr = ip
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .unwrap_or_else(|e| panic!("tshark address {ip}: {e}"));
    SocketAddr::new(ip, port.parse().expect("tshark port"))
}

fn parse_shown(n: &str, unit: &str, line: &str) -> Shown {
    let power = match unit {
        "bytes" => 0,
        "kB" => 1,
        "MB" => 2,
        "GB" => 3,
        "TB" => 4,
        other => panic!("unknown tshark unit {other:?} in: {line}"),
    };
    Shown {
        value: n.parse().unwrap_or_else(|e| panic!("{n}: {e} in: {line}")),
        power,
    }
}

/// Parses the output of `tshark -q -z conv,tcp -z conv,udp`.
///
/// Columns: `A <-> B | frames bytes (B→A) | frames bytes (A→B) | total | start | duration`.
fn parse_conversations(text: &str) -> Vec<Conv> {
    let mut proto = None;
    let mut out = Vec::new();
    for line in text.lines() {
        if line.contains("TCP Conversations") {
            proto = Some("TCP");
            continue;
        }
        if line.contains("UDP Conversations") {
            proto = Some("UDP");
            continue;
        }
        let t: Vec<&str> = line.split_whitespace().collect();
        if t.len() < 3 || t[1] != "<->" {
            continue;
        }
        let proto = proto.unwrap_or_else(|| panic!("conversation outside a table: {line}"));
        assert!(t.len() >= 14, "unexpected tshark line: {line}");
        out.push(Conv {
            proto,
            a: parse_endpoint(t[0]),
            b: parse_endpoint(t[2]),
            frames_ba: t[3].parse().expect("frames"),
            bytes_ba: parse_shown(t[4], t[5], line),
            frames_ab: t[6].parse().expect("frames"),
            bytes_ab: parse_shown(t[7], t[8], line),
            rel_start: t[12].parse().expect("relative start"),
            line: line.trim().to_string(),
        });
    }
    out
}

fn tshark_conversations(pcap: &Path) -> Vec<Conv> {
    let o = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(pcap)
        .args(["-q", "-z", "conv,tcp", "-z", "conv,udp"])
        .output()
        .expect("running tshark");
    assert!(
        o.status.success(),
        "tshark failed on {}: {}",
        pcap.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    parse_conversations(&String::from_utf8_lossy(&o.stdout))
}

fn endpoint(f: &Value, side: &str) -> Option<SocketAddr> {
    let ip: IpAddr = f[format!("{side}_ip")].as_str()?.parse().ok()?;
    let port = u16::try_from(f[format!("{side}_port")].as_u64()?).ok()?;
    Some(SocketAddr::new(ip, port))
}

/// Compares one capture; returns every disagreement, and the number of conversations checked.
fn compare(pcap: &Path) -> (Vec<String>, usize) {
    let convs = tshark_conversations(pcap);
    let events = read_ok(&[pcap], &[]);
    let mut ours: BTreeMap<PairKey, Vec<&Value>> = BTreeMap::new();
    for f in flows(&events) {
        let proto: &'static str = match f["proto"].as_str() {
            Some("TCP") => "TCP",
            Some("UDP") => "UDP",
            _ => continue,
        };
        let (Some(s), Some(d)) = (endpoint(f, "src"), endpoint(f, "dest")) else {
            panic!("TCP/UDP flow without addresses and ports: {f}");
        };
        ours.entry(pair_key(proto, s, d)).or_default().push(f);
    }
    let mut theirs: BTreeMap<PairKey, Vec<&Conv>> = BTreeMap::new();
    for c in &convs {
        theirs
            .entry(pair_key(c.proto, c.a, c.b))
            .or_default()
            .push(c);
    }

    let mut problems = Vec::new();
    let name = pcap.file_name().unwrap_or_default().to_string_lossy();
    for (key, cs) in &mut theirs {
        let mut fs = ours.remove(key).unwrap_or_default();
        if fs.len() != cs.len() {
            problems.push(format!(
                "{name}: {} {} <-> {}: tshark has {} conversation(s), nta {} flow(s)\n  tshark: {}\n  nta: {}",
                key.0,
                key.1,
                key.2,
                cs.len(),
                fs.len(),
                cs.iter().map(|c| c.line.as_str()).collect::<Vec<_>>().join("\n          "),
                fs.iter().map(|f| f.to_string()).collect::<Vec<_>>().join("\n       "),
            ));
            continue;
        }
        // Several conversations on one address pair: pair them up in order of start time.
        cs.sort_by(|x, y| x.rel_start.total_cmp(&y.rel_start));
        fs.sort_by_key(|f| f["flow"]["start"].as_str().unwrap_or_default().to_string());
        for (c, f) in cs.iter().zip(&fs) {
            let fl = &f["flow"];
            let n = |k: &str| fl[k].as_u64().unwrap_or(u64::MAX);
            let src = endpoint(f, "src");
            let (ab, ba) = if src == Some(c.a) {
                (("toserver", "toclient"), ("toclient", "toserver"))
            } else {
                (("toclient", "toserver"), ("toserver", "toclient"))
            };
            let mut bad = Vec::new();
            for (dir, (frames, bytes), (ours_dir, _)) in [
                ("A->B", (c.frames_ab, c.bytes_ab), ab),
                ("B->A", (c.frames_ba, c.bytes_ba), ba),
            ] {
                let pk = n(&format!("pkts_{ours_dir}"));
                let by = n(&format!("bytes_{ours_dir}"));
                if pk != frames {
                    bad.push(format!("{dir} frames: tshark {frames}, nta {pk}"));
                }
                if !bytes.matches(by) {
                    bad.push(format!("{dir} bytes: tshark {bytes}, nta {by}"));
                }
            }
            if !bad.is_empty() {
                problems.push(format!(
                    "{name}: {}\n  tshark: {}\n  nta: {f}",
                    bad.join("; "),
                    c.line
                ));
            }
        }
    }
    for (key, fs) in ours {
        for f in fs {
            problems.push(format!(
                "{name}: nta flow {} {} <-> {} that tshark does not list: {f}",
                key.0, key.1, key.2
            ));
        }
    }
    (problems, convs.len())
}

fn tshark_available() -> bool {
    if have_tool("tshark") {
        true
    } else {
        println!("SKIPPED: tshark not installed");
        false
    }
}

#[test]
fn zeek_captures_agree_with_tshark() {
    if !tshark_available() {
        return;
    }
    let Some(pcaps) = zeek_pcaps() else { return };
    agree(&pcaps);
}

#[test]
fn ndpi_captures_agree_with_tshark() {
    // pcap and pcapng (several with multiple interfaces), TCP and UDP applications.
    if !tshark_available() {
        return;
    }
    let Some(pcaps) = common::captures_in("pcaps/ndpi") else {
        return;
    };
    agree(&pcaps);
}

fn agree(pcaps: &[std::path::PathBuf]) {
    let mut problems = Vec::new();
    for p in pcaps {
        let (mut bad, n) = compare(p);
        assert!(n > 0, "tshark found no conversations in {}", p.display());
        println!(
            "{}: {n} tshark conversations, {} disagreements",
            p.display(),
            bad.len()
        );
        problems.append(&mut bad);
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn generated_capture_agrees_with_tshark() {
    if !tshark_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let pcap = dir.path().join("gen.pcap");
    gen_pcap(&pcap, 20_000, 1_000, &[]);
    let (problems, n) = compare(&pcap);
    println!("generated: {n} tshark conversations");
    assert!(
        n > 500,
        "expected hundreds of conversations, tshark found {n}"
    );
    assert!(
        problems.is_empty(),
        "{} disagreements:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn tshark_byte_units_are_read_as_truncated() {
    // The parser itself: tshark shows 10707 bytes as "10 kB" and 14652 as "14 kB".
    let line = "10.1.200.131:50000         <-> 10.1.1.172:4789                  0 0 bytes        12 10 kB          12 10 kB         0.000000000         0.6271";
    let text = format!("UDP Conversations\n{line}\n");
    let c = &parse_conversations(&text)[0];
    assert_eq!((c.frames_ab, c.frames_ba), (12, 0));
    assert!(c.bytes_ab.matches(10_707) && !c.bytes_ab.matches(11_000));
    assert!(c.bytes_ba.matches(0));
    assert!(parse_shown("14", "kB", "").matches(14_652));
    let v6 = parse_conversations("UDP Conversations\ndead::beef:30000           <-> cafe::babe:13000                 0 0 bytes         1 86 bytes        1 86 bytes      0.000000000         0.0000\n");
    assert_eq!(v6[0].a, "[dead::beef]:30000".parse().unwrap());
}

/// The Community IDs Wireshark computes for the packets of a capture.
fn tshark_community_ids(pcap: &Path) -> std::collections::BTreeSet<String> {
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(pcap)
        .args([
            "--enable-protocol",
            "communityid",
            "-T",
            "fields",
            "-e",
            "communityid",
        ])
        .output()
        .expect("running tshark");
    String::from_utf8_lossy(&out.stdout)
        .split([',', '\n'])
        .map(str::trim)
        .filter(|s| s.starts_with("1:"))
        .map(String::from)
        .collect()
}

#[test]
fn community_ids_agree_with_wireshark() {
    // Wireshark's implementation hashes the innermost port-carrying layer of each packet: every
    // TCP/UDP/ICMP flow NTA reports (outer tunnel conversations aside) must carry one of them.
    if !tshark_available() {
        return;
    }
    let (Some(zeek), Some(ndpi)) = (zeek_pcaps(), common::captures_in("pcaps/ndpi")) else {
        return;
    };
    let mut checked = 0;
    let mut problems = Vec::new();
    for p in zeek.iter().chain(ndpi.iter()) {
        let theirs = tshark_community_ids(p);
        for f in flows(&read_ok(&[p.as_path()], &[])) {
            let proto = f["proto"].as_str().unwrap_or("");
            if f.get("encapsulates").is_some()
                || !matches!(proto, "TCP" | "UDP" | "ICMP" | "IPv6-ICMP")
            {
                continue;
            }
            checked += 1;
            let id = f["community_id"].as_str().unwrap_or("");
            if !theirs.contains(id) {
                problems.push(format!("{}: {} {id}", p.display(), flow_label(f)));
            }
        }
    }
    assert!(checked > 50, "only {checked} flows checked");
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}
