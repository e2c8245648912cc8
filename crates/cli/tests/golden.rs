//! Golden cases: the exact flow events NTA writes for known captures, kept in
//! `tests/cases/<capture>.flows.jsonl` (sorted lines; the stats event is left out because its
//! timestamp and uptime are wall-clock). Any change to the event format, to flow ids or to what
//! is decoded shows up here as a diff. After an intended change, rewrite the files with
//! `NTA_BLESS=1 cargo test -p nta-cli --test golden` and review the diff.

mod common;

use std::path::{Path, PathBuf};

use common::*;

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/cases")
}

fn check(capture: &Path) {
    let events = read_ok(&[capture], &[]);
    let mut lines = sorted_flow_lines(&events);
    lines.push(String::new());
    let got = lines.join("\n");
    let name = capture.file_name().unwrap().to_string_lossy();
    let golden = cases_dir().join(format!("{name}.flows.jsonl"));
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

#[test]
fn zeek_captures_match_their_golden_events() {
    let Some(pcaps) = zeek_pcaps() else { return };
    for p in pcaps {
        check(&p);
    }
}

#[test]
fn ndpi_captures_match_their_golden_events() {
    let Some(pcaps) = captures_in("pcaps/ndpi") else {
        return;
    };
    for p in pcaps {
        check(&p);
    }
}
