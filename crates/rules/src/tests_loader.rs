//! Rule files, classification, duplicates, positions and the report.

use std::path::{Path, PathBuf};

use crate::{
    load_classification, load_files, Classification, Classifications, Report, RuleSet, Vars,
};

const CLASSES: &str = "# comment\n\
config classification: trojan-activity,A Network Trojan was detected, 1\n\
config classification: misc-activity,Misc activity,3\n\
config reference: cve http://cve.mitre.org/\n";

fn load(text: &str) -> RuleSet {
    let classes = Classifications::parse(CLASSES).unwrap();
    let mut set = RuleSet::new();
    set.add_text(Path::new("t.rules"), text, &Vars::default(), Some(&classes));
    set
}

#[test]
fn comments_blank_lines_and_multi_line_rules() {
    let set = load(
        "# a comment\n\
         \n\
         #alert tcp any any -> any any (sid:9;)\n\
         # alert udp any any -> any any (sid:10;)\n\
         alert tcp any any -> any any (msg:\"one\"; \\\n\
         \tcontent:\"abc\"; \\\n\
         \tsid:1;)\r\n\
         \x20\x20alert tcp any any -> any any (msg:\"two\"; sid:2;)\n",
    );
    assert_eq!(set.rules.len(), 2, "{:?}", set.skipped);
    assert_eq!(set.commented, 2);
    assert_eq!(set.rules[0].meta.msg, "one");
    assert_eq!(set.rules[0].location.as_ref().unwrap().line, 5);
    assert_eq!(set.rules[1].location.as_ref().unwrap().line, 8);
    assert_eq!(
        set.rules[1].location.as_ref().unwrap().to_string(),
        "t.rules:8"
    );
}

#[test]
fn skipped_rules_point_at_file_line_and_column() {
    let set = load(
        "alert tcp any any -> any any (msg:\"a\"; \\\n\
         \x20 lua:script.lua; sid:1;)\n\
         alert tcp any any -> any any (content:\"|zz|\"; sid:2;)\n",
    );
    assert_eq!(set.rules.len(), 0);
    let s = &set.skipped[0];
    assert_eq!((s.line, s.column), (2, 3));
    assert_eq!(s.reason.category, "unsupported keyword: lua");
    assert_eq!(s.to_string(), "t.rules:2:3: unsupported keyword `lua`");
    let s = &set.skipped[1];
    assert_eq!((s.line, s.column), (3, 41));
    assert_eq!(s.reason.category, "invalid value: content");
}

#[test]
fn duplicate_sids_are_skipped() {
    let set = load(
        "alert tcp any any -> any any (sid:5;)\n\
         alert tcp any any -> any any (sid:5; rev:2;)\n\
         alert tcp any any -> any any (gid:2; sid:5;)\n",
    );
    assert_eq!(set.rules.len(), 2);
    assert_eq!(set.skipped.len(), 1);
    let s = &set.skipped[0];
    assert_eq!(s.reason.category, "duplicate sid");
    assert_eq!(s.reason.message, "sid 1:5 is already used by t.rules:1");
    assert_eq!((s.line, s.column), (2, 31));
}

#[test]
fn classification_gives_severity() {
    let set = load(
        "alert tcp any any -> any any (classtype:trojan-activity; sid:1;)\n\
         alert tcp any any -> any any (classtype:trojan-activity; priority:3; sid:2;)\n\
         alert tcp any any -> any any (classtype:nope; sid:3;)\n",
    );
    assert_eq!(set.rules.len(), 2);
    assert_eq!(
        set.rules[0].meta.class,
        Some(Classification {
            name: "trojan-activity".into(),
            description: "A Network Trojan was detected".into(),
            priority: 1
        })
    );
    assert_eq!(set.rules[0].severity(), 1);
    assert_eq!(set.rules[1].severity(), 3);
    let s = &set.skipped[0];
    assert_eq!(s.reason.category, "unknown classtype: nope");
    assert_eq!((s.line, s.column), (3, 31));
}

#[test]
fn classification_file_errors() {
    let e = Classifications::parse("config classification: a,b\n").unwrap_err();
    assert_eq!(e.line, 1);
    assert!(e.message.contains("name,description,priority"), "{e}");
    let e = Classifications::parse("\nconfig classification: a,b,high\n").unwrap_err();
    assert_eq!((e.line, e.column), (2, 28));
    assert_eq!(e.to_string(), "2:28: invalid priority `high` (1 to 255)");
    let e = Classifications::parse("classification: a,b,1\n").unwrap_err();
    assert!(e.message.contains("expected `config classification"));
    let e = Classifications::parse("config classification: a b,c,1\n").unwrap_err();
    assert!(e.message.contains("invalid class name `a b`"));
    let c = Classifications::parse("config classification: x,With, commas,2\n").unwrap();
    assert_eq!(c.get("x").unwrap().description, "With, commas");
    assert_eq!(c.len(), 1);
}

#[test]
fn load_files_reads_and_reports() {
    let dir = std::env::temp_dir().join(format!("nta-rules-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rules = dir.join("a.rules");
    let classes = dir.join("classification.config");
    std::fs::write(&classes, CLASSES).unwrap();
    std::fs::write(
        &rules,
        "alert tcp any any -> any any (msg:\"ok\"; classtype:misc-activity; sid:1;)\n\
         alert tcp any any -> any any (lua:x; sid:2;)\n\
         alert tcp any any -> any any (luajit:y; sid:3;)\n\
         alert tcp any any -> any any (lua:z; sid:4;)\n",
    )
    .unwrap();
    let set = load_files(
        std::slice::from_ref(&rules),
        &Vars::default(),
        Some(&classes),
    )
    .unwrap();
    assert_eq!(set.rules.len(), 1);
    assert_eq!(set.rules[0].severity(), 3);
    let report = set.report();
    assert_eq!((report.loaded, report.skipped), (1, 3));
    assert_eq!(report.reasons.len(), 2);
    assert_eq!(report.reasons[0].reason, "unsupported keyword: lua");
    assert_eq!(report.reasons[0].count, 2);
    assert_eq!(report.reasons[0].example, format!("{}:2", rules.display()));
    let text = report.to_text();
    assert!(
        text.starts_with("rules: 1 loaded, 3 skipped (25.00% loaded), 0 commented out\n"),
        "{text}"
    );
    assert!(
        text.contains("      2  unsupported keyword: lua     e.g. "),
        "{text}"
    );
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(json["loaded"], 1);
    assert_eq!(json["skipped"], 3);
    assert_eq!(json["reasons"][1]["reason"], "unsupported keyword: luajit");
    assert_eq!(json["reasons"][1]["count"], 1);
    assert_eq!(
        json["reasons"][1]["message"],
        "unsupported keyword `luajit`"
    );
    // Errors: a missing rule file, a bad classification file.
    let missing = dir.join("missing.rules");
    let e = load_files(std::slice::from_ref(&missing), &Vars::default(), None).unwrap_err();
    assert!(
        e.to_string().starts_with(&missing.display().to_string()),
        "{e}"
    );
    std::fs::write(&classes, "config classification: a,b,0\n").unwrap();
    let e = load_classification(&classes).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
    assert!(
        e.to_string()
            .contains("classification.config:1:28: invalid priority"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn empty_report() {
    let r = Report::new(&RuleSet::new());
    assert_eq!(r.loaded_percent(), 100.0);
    assert_eq!(
        r.to_json(),
        r#"{"loaded":0,"skipped":0,"commented":0,"reasons":[]}"#
    );
}

#[test]
fn non_utf8_rule_files_load() {
    let dir = std::env::temp_dir().join(format!("nta-rules-utf8-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p: PathBuf = dir.join("b.rules");
    let mut bytes = b"alert tcp any any -> any any (msg:\"caf".to_vec();
    bytes.extend_from_slice(&[0xe9]);
    bytes.extend_from_slice(b"\"; sid:1;)\n");
    std::fs::write(&p, bytes).unwrap();
    let set = load_files(&[p], &Vars::default(), None).unwrap();
    assert_eq!(set.rules[0].meta.msg, "caf\u{fffd}");
    std::fs::remove_dir_all(&dir).unwrap();
}
