//! The history store through the command line: `nta read --store` fills a real SQLite file,
//! `nta history` reads it back; a SIGKILL loses at most the last second; bad stores and bad
//! filters are refused by name.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{eth_udp, nta, parse_events, Pcap};
use serde_json::Value;

const T0: u64 = 1_772_359_200_000_000; // 2026-03-01T10:00:00Z, µs
const SEC: u64 = 1_000_000;

fn cases() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/cases")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `nta history ARGS --store DB --json`: the rows.
fn history(db: &Path, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["history"];
    all.extend_from_slice(args);
    all.extend(["--store", s(db), "--json"]);
    let run = nta(&all);
    run.expect_code(0);
    parse_events(&run.stdout)
}

#[test]
fn read_fills_the_store_and_history_queries_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite");
    let rules = cases().join("rules/cases.rules");
    for cap in ["http.pcap", "dns.pcap", "tls.pcap"] {
        let run = nta(&[
            "read",
            s(&cases().join(cap)),
            "-S",
            s(&rules),
            "--store",
            s(&db),
        ]);
        run.expect_code(0);
        // With a store and no -o, EVE is not printed.
        assert!(run.stdout.is_empty(), "{}", run.stdout);
        assert!(run.stderr.contains("events written"), "{}", run.stderr);
    }
    // The same events as the EVE output, for flows.
    let eve = common::read_ok(&[&cases().join("http.pcap")], &[]);
    let eve_flows = common::flows(&eve).len();
    let flows = history(&db, &["flows", "--app-proto", "http"]);
    assert_eq!(flows.len(), eve_flows);
    assert_eq!(flows[0]["dest_port"], 8080);
    assert_eq!(flows[0]["event"]["event_type"], "flow");

    // Text search on host names, SNI and URLs.
    let http = history(
        &db,
        &["events", "--text", "www.nta.test", "--event-type", "http"],
    );
    assert!(!http.is_empty());
    assert!(http
        .iter()
        .all(|e| e["event"]["http"]["hostname"] == "www.nta.test"));
    // CIDR: everything is on loopback.
    assert_eq!(
        history(&db, &["flows", "--net", "127.0.0.0/8"]).len(),
        history(&db, &["flows"]).len()
    );
    assert!(history(&db, &["flows", "--net", "192.0.2.0/24"]).is_empty());
    // Time range: the captures are from 2026-11-25; nothing a year before.
    assert!(history(&db, &["flows", "--to", "2025-01-01"]).is_empty());

    // Alerts of the golden rules, deduplicated, with their app-layer object.
    let alerts = history(&db, &["alerts", "--limit", "1000"]);
    assert!(!alerts.is_empty());
    let golden: usize = ["http.pcap", "dns.pcap", "tls.pcap"]
        .iter()
        .map(|c| {
            std::fs::read_to_string(cases().join(format!("{c}.alerts.jsonl")))
                .unwrap()
                .lines()
                .count()
        })
        .sum();
    let counted: u64 = alerts.iter().map(|a| a["count"].as_u64().unwrap()).sum();
    assert_eq!(
        counted as usize, golden,
        "every alert event is counted once"
    );
    assert!(alerts.iter().all(|a| a["status"] == "new"));

    // Charts: rollups and top lists.
    let top = history(&db, &["top", "app-protos"]);
    let keys: Vec<&str> = top.iter().map(|t| t["key"].as_str().unwrap()).collect();
    assert!(keys.contains(&"http") && keys.contains(&"dns") && keys.contains(&"tls"));
    let series = history(
        &db,
        &["series", "flows", "--group", "app-proto", "--step", "1h"],
    );
    let total: i64 = series.iter().map(|p| p["value"].as_i64().unwrap()).sum();
    assert_eq!(
        total as usize,
        history(&db, &["flows", "--limit", "10000"]).len()
    );

    // A table on a terminal-style run (no --json).
    let run = nta(&["history", "alerts", "--store", s(&db)]);
    run.expect_code(0);
    assert!(
        run.stdout.starts_with("    ID  LAST SEEN"),
        "{}",
        run.stdout
    );

    // Triage from the command line.
    let id = alerts[0]["id"].as_i64().unwrap().to_string();
    nta(&["alert", "ack", &id, "--store", s(&db), "--user", "ana"]).expect_code(0);
    nta(&[
        "alert",
        "comment",
        &id,
        "benign scanner",
        "--store",
        s(&db),
        "--user",
        "ana",
    ])
    .expect_code(0);
    let show = nta(&["alert", "show", &id, "--store", s(&db), "--json"]);
    show.expect_code(0);
    let d: Value = serde_json::from_str(&show.stdout).unwrap();
    assert_eq!(d["alert"]["status"], "acknowledged");
    assert_eq!(d["alert"]["status_by"], "ana");
    assert_eq!(d["comments"][0]["text"], "benign scanner");
    assert_eq!(
        history(&db, &["alerts", "--status", "acknowledged"]).len(),
        1
    );
}

#[test]
fn bad_stores_and_filters_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = cases().join("dns.pcap");
    // Not a database.
    let junk = dir.path().join("junk.sqlite");
    std::fs::write(&junk, vec![b'x'; 8192]).unwrap();
    let run = nta(&["read", s(&pcap), "--store", s(&junk)]);
    assert_ne!(run.code, Some(0));
    assert!(
        run.error_line().contains("not an SQLite database"),
        "{}",
        run.stderr
    );
    // A directory that does not exist.
    let run = nta(&["read", s(&pcap), "--store", "/nonexistent/dir/s.sqlite"]);
    assert!(
        run.error_line().contains("does not exist"),
        "{}",
        run.stderr
    );
    // A newer schema.
    let db = dir.path().join("new.sqlite");
    nta(&["read", s(&pcap), "-q", "--store", s(&db)]).expect_code(0);
    let c = nta_store::rusqlite::Connection::open(&db).unwrap();
    c.pragma_update(None, "user_version", 99).unwrap();
    drop(c);
    let run = nta(&["history", "flows", "--store", s(&db)]);
    assert!(
        run.error_line().contains("schema version 99 is newer"),
        "{}",
        run.stderr
    );
    // Bad filters.
    let db = dir.path().join("ok.sqlite");
    nta(&["read", s(&pcap), "-q", "--store", s(&db)]).expect_code(0);
    for (args, want) in [
        (vec!["--from", "yesterday"], "yesterday"),
        (vec!["--net", "10.0.0.0/33"], "10.0.0.0/33"),
        (vec!["--sort", "colour"], "colour"),
        (vec!["--severity", "urgent"], "urgent"),
        (vec!["--limit", "0"], "limit"),
    ] {
        let mut a = vec!["history", "flows", "--store", s(&db)];
        if args[0] == "--severity" {
            a[1] = "alerts";
        }
        a.extend(args);
        let run = nta(&a);
        assert_eq!(run.code, Some(1), "{a:?}");
        assert!(run.error_line().contains(want), "{a:?}: {}", run.stderr);
    }
    let run = nta(&[
        "history",
        "flows",
        "--store",
        s(&dir.path().join("none.sqlite")),
    ]);
    assert!(
        run.error_line().contains("does not exist"),
        "{}",
        run.stderr
    );
}

fn alert_frame(src: [u8; 4]) -> Vec<u8> {
    eth_udp(src, 40000, [10, 0, 0, 2], 9999, b"ALERT payload")
}

/// Alerts accepted more than a second before a SIGKILL are all in the store afterwards, and
/// the database opens cleanly.
#[test]
fn sigkill_loses_at_most_the_last_second() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.sqlite");
    let rules = dir.path().join("r.rules");
    std::fs::write(
        &rules,
        "alert udp any any -> any 9999 (msg:\"crash test\"; content:\"ALERT\"; sid:1;)\n",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_nta"))
        .args(["read", "-", "-q", "-S"])
        .arg(&rules)
        .arg("--store")
        .arg(&db)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("running nta");
    let mut stdin = child.stdin.take().unwrap();
    // 200 alerts from 200 sources in the first second, then one packet two seconds later in
    // packet time: the workers hand their events over at each second of packet time.
    let mut p = Pcap::new(1);
    for i in 0..200u32 {
        p.packet(
            T0 + u64::from(i) * 1000,
            &alert_frame([10, 1, (i / 250) as u8, (i % 250) as u8 + 1]),
        );
    }
    p.packet(
        T0 + 2 * SEC,
        &eth_udp([10, 0, 0, 9], 1, [10, 0, 0, 2], 1, b"tick"),
    );
    stdin.write_all(p.bytes()).unwrap();
    stdin.flush().unwrap();
    // The pipe stays open: nta is still running. Wait until the store has the alerts (the
    // writer commits every 250 ms), then at least one more second, then kill.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let run = nta(&[
            "history",
            "alerts",
            "--store",
            s(&db),
            "--json",
            "--limit",
            "1000",
        ]);
        if run.code == Some(0) && parse_events(&run.stdout).len() == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "alerts never reached the store: {}",
            run.stderr
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let accepted = Instant::now();
    std::thread::sleep(Duration::from_millis(1100));
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "killed");
    drop(stdin);
    assert!(accepted.elapsed() >= Duration::from_secs(1));
    // Reopened by a new process: intact, every alert there.
    let c = nta_store::rusqlite::Connection::open(&db).unwrap();
    let ok: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    drop(c);
    assert_eq!(history(&db, &["alerts", "--limit", "1000"]).len(), 200);
    // And the store takes more after the crash.
    let more = dir.path().join("more.pcap");
    let mut p = Pcap::new(1);
    p.packet(T0 + 10 * SEC, &alert_frame([10, 9, 9, 9]));
    p.write(&more);
    nta(&["read", s(&more), "-q", "-S", s(&rules), "--store", s(&db)]).expect_code(0);
    assert_eq!(history(&db, &["alerts", "--limit", "1000"]).len(), 201);
}
