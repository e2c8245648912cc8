//! `nta rules check`: what loads, what is skipped and why, as text and as JSON.

mod common;

use common::*;
use serde_json::Value;

const RULES: &str = r#"# a comment
alert http $HOME_NET any -> $EXTERNAL_NET any (msg:"ET TEST uri"; flow:established,to_server; content:"/admin"; http_uri; nocase; classtype:web-application-attack; sid:1000001; rev:2;)
alert dns any any -> any any (msg:"query"; dns.query; content:"evil.example"; sid:1000002;)
alert tcp any any -> any any (msg:"lua"; lua:script.lua; sid:1000003;)
alert tcp any any -> any any (msg:"broken"; content:"abc; sid:1000004;)
alert tcp any any -> any any (msg:"dup"; content:"x"; sid:1000001;)
#alert tcp any any -> any any (msg:"commented"; sid:1000005;)
"#;

fn write_rules(dir: &std::path::Path) -> std::path::PathBuf {
    let f = dir.join("local.rules");
    std::fs::write(&f, RULES).unwrap();
    std::fs::write(
        dir.join("classification.config"),
        "config classification: web-application-attack,Web Application Attack,1\n",
    )
    .unwrap();
    f
}

#[test]
fn check_reports_loaded_and_skipped_rules_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let f = write_rules(dir.path());
    let run = nta(&["rules", "check", f.to_str().unwrap(), "--format", "json"]);
    run.expect_code(0);
    let v: Value = serde_json::from_str(run.stdout.trim()).expect("one JSON object");
    assert_eq!(v["loaded"], 2, "{v}");
    assert_eq!(v["skipped"], 3, "{v}");
    let reasons = v["reasons"].as_array().unwrap();
    let text = v.to_string();
    assert!(
        text.contains("lua"),
        "the unsupported keyword is named: {text}"
    );
    assert!(text.contains("duplicate"), "{text}");
    // Every reason carries a count and an example FILE:LINE.
    for r in reasons {
        assert!(r["count"].as_u64().unwrap() >= 1);
        let ex = r["example"].as_str().unwrap();
        assert!(ex.contains("local.rules:"), "{ex}");
    }
    let lua = reasons
        .iter()
        .find(|r| r["reason"].as_str().unwrap().contains("lua"))
        .unwrap();
    assert!(
        lua["example"].as_str().unwrap().ends_with("local.rules:4"),
        "{lua}"
    );
    // The same as text for people.
    let run = nta(&["rules", "check", f.to_str().unwrap()]);
    run.expect_code(0);
    assert!(
        run.stdout.contains('2') && run.stdout.contains("lua"),
        "{}",
        run.stdout
    );
}

#[test]
fn check_without_files_or_with_a_missing_file_is_a_clear_error() {
    let run = nta(&["rules", "check"]);
    run.expect_code(1);
    assert!(run.error_line().contains("no rule files"));
    let run = nta(&["rules", "check", "/nonexistent/x.rules"]);
    run.expect_code(1);
    assert!(
        run.error_line().contains("/nonexistent/x.rules"),
        "{}",
        run.stderr
    );
}

#[test]
fn et_open_loads_at_least_97_percent() {
    let Some(data) = data_dir() else { return };
    let dir = data.join("rules/et-open-2020");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "rules"))
        .map(|p| p.display().to_string())
        .collect();
    files.sort();
    let mut args = vec!["rules", "check", "--format", "json"];
    args.extend(files.iter().map(String::as_str));
    let run = nta(&args);
    run.expect_code(0);
    let v: Value = serde_json::from_str(run.stdout.trim()).unwrap();
    let (loaded, skipped) = (
        v["loaded"].as_u64().unwrap(),
        v["skipped"].as_u64().unwrap(),
    );
    let share = loaded as f64 / (loaded + skipped) as f64;
    println!(
        "ET Open: {loaded} loaded, {skipped} skipped ({:.2}%)",
        share * 100.0
    );
    assert!(loaded + skipped >= 17_000, "{loaded} + {skipped}");
    assert!(share >= 0.97, "{share}");
}

#[test]
fn a_directory_stands_for_its_rule_files() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(
        rules.join("a.rules"),
        "alert udp any any -> any any (msg:\"a\"; content:\"alpha\"; sid:1;)\n",
    )
    .unwrap();
    std::fs::write(
        rules.join("b.rules"),
        "alert udp any any -> any any (msg:\"b\"; content:\"beta\"; sid:2;)\n",
    )
    .unwrap();
    std::fs::write(rules.join("notes.txt"), "not rules\n").unwrap();
    let run = nta(&[
        "rules",
        "check",
        rules.to_str().unwrap(),
        "--format",
        "json",
    ]);
    run.expect_code(0);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["loaded"], 2, "{report}");
    // -S DIR on a read: both files' rules match.
    let pcap = dir.path().join("t.pcap");
    let mut p = Pcap::new(1);
    p.packet(
        1_700_000_000_000_000,
        &eth_udp([10, 0, 0, 1], 1111, [10, 0, 0, 2], 2222, b"alpha beta"),
    );
    p.write(&pcap);
    let eve = dir.path().join("eve.json");
    let run = nta(&[
        "read",
        pcap.to_str().unwrap(),
        "-S",
        rules.to_str().unwrap(),
        "-o",
        eve.to_str().unwrap(),
    ]);
    run.expect_code(0);
    let events = parse_events(&std::fs::read_to_string(&eve).unwrap());
    let mut sids: Vec<u64> = events
        .iter()
        .filter(|e| e["event_type"] == "alert")
        .map(|e| e["alert"]["signature_id"].as_u64().unwrap())
        .collect();
    sids.sort_unstable();
    assert_eq!(sids, [1, 2]);
    // A directory without rule files is an error naming it.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let run = nta(&["rules", "check", empty.to_str().unwrap()]);
    run.expect_code(1);
    assert!(
        run.error_line().contains("no *.rules file"),
        "{}",
        run.stderr
    );
}
