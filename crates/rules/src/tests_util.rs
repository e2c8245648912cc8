//! Helpers shared by the unit tests.

use crate::{parse_rule, Buffer, Condition, Content, Match, Pcre, Rule, RuleError, Test, Vars};

/// A rule with the given options in a `tcp any any -> any any` header, with a sid.
pub(crate) fn ok(opts: &str) -> Rule {
    ok_in("tcp", opts)
}

/// Same, with another header protocol.
pub(crate) fn ok_in(proto: &str, opts: &str) -> Rule {
    let text = format!("alert {proto} any any -> any any ({opts} sid:1;)");
    parse_rule(&text, &Vars::default()).unwrap_or_else(|e| panic!("{text}: {e} ({e:?})"))
}

/// The error of such a rule.
pub(crate) fn err(opts: &str) -> RuleError {
    err_in("tcp", opts)
}

/// Same, with another header protocol.
pub(crate) fn err_in(proto: &str, opts: &str) -> RuleError {
    let text = format!("alert {proto} any any -> any any ({opts} sid:1;)");
    match parse_rule(&text, &Vars::default()) {
        Ok(r) => panic!("{text}: parsed, expected an error: {r:?}"),
        Err(e) => e,
    }
}

/// The error of a whole rule text.
pub(crate) fn err_text(text: &str) -> RuleError {
    match parse_rule(text, &Vars::default()) {
        Ok(r) => panic!("{text}: parsed, expected an error: {r:?}"),
        Err(e) => e,
    }
}

/// The only condition of a rule.
pub(crate) fn cond(opts: &str) -> Condition {
    let r = ok(opts);
    assert_eq!(r.conditions.len(), 1, "{opts}: {:?}", r.conditions);
    r.conditions[0].clone()
}

/// The contents of a rule with their buffers.
pub(crate) fn contents(r: &Rule) -> Vec<(Buffer, Content)> {
    r.matches
        .iter()
        .filter_map(|m| match &m.test {
            Test::Content(c) => Some((m.buffer.clone(), c.clone())),
            _ => None,
        })
        .collect()
}

/// The first content of a rule.
pub(crate) fn content(opts: &str) -> Content {
    contents(&ok(opts)).into_iter().next().expect("a content").1
}

/// The only pcre of a rule, with its buffer.
pub(crate) fn pcre(opts: &str) -> (Buffer, Pcre) {
    let r = ok(opts);
    r.matches
        .iter()
        .find_map(|m: &Match| match &m.test {
            Test::Pcre(p) => Some((m.buffer.clone(), p.clone())),
            _ => None,
        })
        .expect("a pcre")
}

/// The only match of a rule.
pub(crate) fn one_match(opts: &str) -> Match {
    let r = ok(opts);
    assert_eq!(r.matches.len(), 1, "{opts}: {:?}", r.matches);
    r.matches[0].clone()
}

/// Checks an error's category and that its message contains `needle`.
#[track_caller]
pub(crate) fn assert_err(e: &RuleError, category: &str, needle: &str) {
    assert_eq!(e.category(), category, "{e:?}");
    assert!(
        e.message.contains(needle),
        "`{}` lacks `{needle}`",
        e.message
    );
}
