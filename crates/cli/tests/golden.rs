//! Golden cases: the exact events NTA writes for known captures — flows and application-layer
//! events (`http`, `dns`, `tls`, …) — kept in `tests/cases/<capture>.events.jsonl` (sorted
//! lines; the stats event is left out because its timestamp and uptime are wall-clock). Any
//! change to the event format, to flow ids, to what is decoded or to what a parser logs shows
//! up here as a diff. After an intended change, rewrite the files with
//! `NTA_BLESS=1 cargo test -p nta-cli --test golden` and review the diff.
//!
//! Alerts too: the rules of `tests/cases/rules/cases.rules` (one or more per keyword family)
//! run on each of the project's own captures, and the alerts are kept in
//! `tests/cases/<capture>.alerts.jsonl` — the whole `alert` event, with the app-layer object
//! it carries.
//!
//! Captures: the project's own (`tests/cases/*.pcap`, made by real clients and servers over
//! loopback with `tests/cases/make-captures.sh`), the user-defined protocol examples
//! (`examples/protocols/*.pcap`, read with that folder as `protocols.custom_dir`), and the
//! public captures of `../shared/data` when present.

mod common;

use std::path::{Path, PathBuf};

use common::*;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn cases_dir() -> PathBuf {
    root().join("tests/cases")
}

fn check(capture: &Path, extra: &[&str]) {
    compare(capture, extra, "events", |e| e["event_type"] != "stats");
}

/// Runs `capture` with `extra`, keeps the events `keep` selects, and compares them with
/// `tests/cases/<capture>.<kind>.jsonl`.
fn compare(capture: &Path, extra: &[&str], kind: &str, keep: fn(&serde_json::Value) -> bool) {
    let events = read_ok(&[capture], extra);
    let mut lines: Vec<String> = events
        .iter()
        .filter(|e| keep(e))
        .map(|e| e.to_string())
        .collect();
    lines.sort();
    lines.push(String::new());
    let got = lines.join("\n");
    let name = capture.file_name().unwrap().to_string_lossy();
    let golden = cases_dir().join(format!("{name}.{kind}.jsonl"));
    if std::env::var_os("NTA_BLESS").is_some() {
        std::fs::write(&golden, &got).unwrap();
        println!("blessed {}", golden.display());
        return;
    }
    let want = std::fs::read_to_string(&golden).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with NTA_BLESS=1 to create it)",
            golden.display()
        )
    });
    if got != want {
        let diff: Vec<String> = want
            .lines()
            .zip(got.lines())
            .filter(|(a, b)| a != b)
            .take(3)
            .map(|(a, b)| format!("- {a}\n+ {b}"))
            .collect();
        panic!(
            "{name}: output differs from {} ({} vs {} lines)\n{}",
            golden.display(),
            want.lines().count(),
            got.lines().count(),
            diff.join("\n")
        );
    }
}

fn pcaps_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
        .collect();
    v.sort();
    v
}

#[test]
fn own_captures_raise_their_golden_alerts() {
    let rules = cases_dir().join("rules/cases.rules");
    let rules = rules.to_str().unwrap();
    let pcaps = pcaps_in(&cases_dir());
    assert!(pcaps.len() >= 6, "{pcaps:?}");
    // One worker: which SYNs a `threshold` lets through depends on the order the workers
    // count them in (the same count either way, not the same packets).
    for p in &pcaps {
        compare(p, &["-S", rules, "--workers", "1"], "alerts", |e| {
            e["event_type"] == "alert"
        });
    }
}

#[test]
fn own_captures_match_their_golden_events() {
    let pcaps = pcaps_in(&cases_dir());
    assert!(!pcaps.is_empty(), "no captures in tests/cases");
    for p in pcaps {
        check(&p, &[]);
    }
}

#[test]
fn user_protocol_examples_match_their_golden_events() {
    let dir = root().join("examples/protocols");
    let cfg = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        cfg.path(),
        format!(
            "[protocols]\ncustom_dir = {:?}\n",
            dir.display().to_string()
        ),
    )
    .unwrap();
    let pcaps = pcaps_in(&dir);
    assert!(pcaps.len() >= 2, "the examples have captures");
    for p in pcaps {
        check(&p, &["-c", cfg.path().to_str().unwrap()]);
    }
}

#[test]
fn zeek_captures_match_their_golden_events() {
    let Some(pcaps) = zeek_pcaps() else { return };
    for p in pcaps {
        check(&p, &[]);
    }
}

#[test]
fn ndpi_captures_match_their_golden_events() {
    let Some(pcaps) = captures_in("pcaps/ndpi") else {
        return;
    };
    for p in pcaps {
        check(&p, &[]);
    }
}
