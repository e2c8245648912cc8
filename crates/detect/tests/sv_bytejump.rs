//! suricata-verify `detect-bytejump-05` (Suricata issue 4624): a negative `post_offset`
//! jumping before the buffer start lands on the start. The case's rules against the TCP
//! payload of its pcap; its `test.yaml` expects sids 1, 2 and 3 to alert.

use std::path::Path;

use nta_detect::{compile, Vars};
use nta_rules::{parse_rule, Buffer, Rule, Vars as RuleVars};

fn data(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/detect-bytejump-05")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn payload() -> Vec<u8> {
    let hex = data("payload.hex");
    let hex = hex.trim();
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

/// Parses a rule of the case as written (`byte_jump:0,…`: read nothing, jump by post_offset
/// only, as Suricata allows).
fn parse(line: &str) -> Rule {
    parse_rule(line, &RuleVars::default()).unwrap_or_else(|e| panic!("{line}: {e}"))
}

#[test]
fn detect_bytejump_05() {
    let buf = payload();
    assert_eq!(buf.len(), 149);
    let mut alerts = Vec::new();
    for line in data("test.rules").lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let rule = parse(line);
        let matches: Vec<_> = rule.matches_in(&Buffer::Packet).collect();
        let program = compile(&matches).unwrap();
        if program.inspect(&buf, &mut Vars::new()) {
            alerts.push(rule.meta.sid);
        }
    }
    assert_eq!(alerts, [1, 2, 3]);
}

/// The same rules with the jump kept inside the buffer or pushed past its end.
#[test]
fn detect_bytejump_05_variants() {
    let buf = payload();
    let check = |opts: &str| {
        let rule = parse(&format!("alert tcp any any -> any any ({opts} sid:9;)"));
        let matches: Vec<_> = rule.matches_in(&Buffer::Packet).collect();
        compile(&matches).unwrap().inspect(&buf, &mut Vars::new())
    };
    // The content ends at 8; -4 lands on it, and "NSLO" is no longer after the cursor.
    assert!(!check(
        r#"content:"|0A 95 00 20|"; byte_jump:0,0,relative,post_offset -4; pcre:"/\x4e\x53\x4c\x4f/R";"#
    ));
    // Exactly the buffer end is allowed, one past it is not.
    assert!(check(
        r#"content:"|0A 95 00 20|"; byte_jump:0,0,relative,post_offset 141; isdataat:!1,relative;"#
    ));
    assert!(!check(
        r#"content:"|0A 95 00 20|"; byte_jump:0,0,relative,post_offset 142;"#
    ));
}
