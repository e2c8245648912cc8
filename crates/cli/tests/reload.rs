//! Rule reload while running: `nta rules reload` (SIGHUP) swaps the rules of a running
//! `nta read -` fed through a pipe, without losing its flows or packets.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{eth_udp, parse_events, Pcap};
use serde_json::Value;

const T0: u64 = 1_700_000_000_000_000;
const SEC: u64 = 1_000_000;

fn frame(payload: &[u8]) -> Vec<u8> {
    eth_udp([10, 0, 0, 1], 40000, [10, 0, 0, 2], 9999, payload)
}

/// The pcap bytes of `frames` (timestamps in µs), without the file header when `header` is
/// false (the continuation of a stream already started).
fn records(frames: &[(u64, Vec<u8>)], header: bool) -> Vec<u8> {
    let mut p = Pcap::new(1);
    let header_len = p.bytes().len();
    for (ts, f) in frames {
        p.packet(*ts, f);
    }
    if header {
        p.bytes().to_vec()
    } else {
        p.bytes()[header_len..].to_vec()
    }
}

fn wait_for(path: &Path, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !path.exists() {
        assert!(Instant::now() < deadline, "{what} never appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn alerts_by_sid(events: &[Value]) -> Vec<(u64, String)> {
    events
        .iter()
        .filter(|e| e["event_type"] == "alert")
        .map(|e| {
            (
                e["alert"]["signature_id"].as_u64().unwrap(),
                e["timestamp"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn rules_reload_on_signal_keeps_flows_and_packets() {
    for workers in ["1", "2"] {
        let dir = tempfile::tempdir().unwrap();
        let rules = dir.path().join("local.rules");
        let pidfile = dir.path().join("nta.pid");
        let eve = dir.path().join("eve.json");
        std::fs::write(
            &rules,
            "alert udp any any -> any any (msg:\"alpha\"; content:\"alpha\"; sid:1;)\n",
        )
        .unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_nta"))
            .args(["read", "-", "--workers", workers, "-o"])
            .arg(&eve)
            .arg("-S")
            .arg(&rules)
            .arg("--pidfile")
            .arg(&pidfile)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("running nta");
        // stderr, line by line, to see when the reload is done.
        let (tx, rx) = mpsc::channel::<String>();
        let stderr = child.stderr.take().unwrap();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut stdin = child.stdin.take().unwrap();

        // One flow; its first packets under the first rules.
        stdin
            .write_all(&records(
                &[(T0, frame(b"alpha beta")), (T0 + SEC / 2, frame(b"alpha"))],
                true,
            ))
            .unwrap();
        stdin.flush().unwrap();
        wait_for(&pidfile, "the pid file");
        // The pid file is written just before the pipeline starts: give it time to start
        // (a reload taken before the workers exist would apply from the first packet).
        std::thread::sleep(Duration::from_millis(300));

        std::fs::write(
            &rules,
            "alert udp any any -> any any (msg:\"beta\"; content:\"beta\"; sid:2;)\n",
        )
        .unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_nta"))
            .args(["rules", "reload", "--pidfile"])
            .arg(&pidfile)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("sent SIGHUP"));
        // The new rules are compiled when the reload thread says so.
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut seen = Vec::new();
        loop {
            let line = rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .unwrap_or_else(|_| panic!("no reload report on stderr: {seen:?}"));
            // Printed once the new rules are in place (the counts come before it).
            let done = line.contains("rules reloaded: 1 in force");
            seen.push(line);
            if done {
                break;
            }
        }

        // Packet time moves on (the workers take the new rules at their next tick), then the
        // same flow carries both words again.
        stdin
            .write_all(&records(
                &[
                    (T0 + 2 * SEC, frame(b"gamma")),
                    (T0 + 3 * SEC, frame(b"alpha beta")),
                ],
                false,
            ))
            .unwrap();
        drop(stdin);
        let status = child.wait().unwrap();
        reader.join().unwrap();
        assert!(status.success(), "nta read failed: {seen:?}");
        assert!(!pidfile.exists(), "the pid file is removed at exit");

        let events = parse_events(&std::fs::read_to_string(&eve).unwrap());
        let alerts = alerts_by_sid(&events);
        let sids: Vec<u64> = alerts.iter().map(|(s, _)| *s).collect();
        // Old rules on the first two packets, new rule on the last one only.
        assert_eq!(sids, [1, 1, 2], "workers {workers}: {alerts:?}");
        assert!(alerts[2].1.starts_with("2023-11-14T22:13:23"), "{alerts:?}");
        // Nothing lost: one flow with every packet, and the reload counted.
        let flows: Vec<&Value> = events
            .iter()
            .filter(|e| e["event_type"] == "flow")
            .collect();
        assert_eq!(flows.len(), 1, "workers {workers}");
        assert_eq!(flows[0]["flow"]["pkts_toserver"], 4);
        assert_eq!(flows[0]["flow"]["alerted"], true);
        let stats = events.last().unwrap();
        assert_eq!(stats["stats"]["decoder"]["pkts"], 4);
        assert!(stats["stats"]["detect"]["reloads"].as_u64().unwrap() >= 1);
    }
}

#[test]
fn reload_without_a_running_nta_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("none.pid");
    let out = Command::new(env!("CARGO_BIN_EXE_nta"))
        .args(["rules", "reload", "--pidfile"])
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("none.pid"), "{err}");
    std::fs::write(&missing, "not a pid\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_nta"))
        .args(["rules", "reload", "--pidfile"])
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a process id"));
}
