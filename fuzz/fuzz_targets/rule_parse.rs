//! Any bytes, as UTF-8 (lossy), through the rule parser: it must return `Ok` or `Err`, never
//! panic. The input is tried as a whole rule, and wrapped in a header and in the options of
//! a rule, so that both the header and every keyword parser are reached.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use nta_rules::{parse_rule, RuleSet, Vars};

fn vars() -> &'static Vars {
    static VARS: OnceLock<Vars> = OnceLock::new();
    VARS.get_or_init(Vars::default)
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let vars = vars();
    let _ = parse_rule(&text, vars);
    let _ = parse_rule(&format!("alert tcp any any -> any any ({text})"), vars);
    let _ = parse_rule(
        &format!("alert http $HOME_NET any -> $EXTERNAL_NET any (msg:\"x\"; {text}; sid:1;)"),
        vars,
    );
    // The loader: continuation lines, comments, positions.
    let mut set = RuleSet::new();
    set.add_text(std::path::Path::new("fuzz.rules"), &text, vars, None);
    let _ = set.report().to_text();
});
