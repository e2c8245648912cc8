//! Helpers for the unit tests: rules written as text, parsed by `nta-rules`.

use nta_rules::{parse_rule, Buffer, Match, Rule, Vars as RuleVars};

use crate::{compile, BufferProgram, Unsupported, Vars};

/// Parses `alert tcp any any -> any any (<opts> sid:1;)`.
pub(crate) fn rule(opts: &str) -> Rule {
    rule_in("tcp", opts)
}

/// Parses `alert <proto> any any -> any any (<opts> sid:1;)`.
pub(crate) fn rule_in(proto: &str, opts: &str) -> Rule {
    let text = format!("alert {proto} any any -> any any ({opts} sid:1;)");
    match parse_rule(&text, &RuleVars::default()) {
        Ok(r) => r,
        Err(e) => panic!("{text}: {e}"),
    }
}

/// The matches of `buffer` in the rule.
pub(crate) fn matches_of<'a>(r: &'a Rule, buffer: &'a Buffer) -> Vec<&'a Match> {
    r.matches_in(buffer).collect()
}

/// Compiles the keywords of the first buffer of `opts`.
pub(crate) fn try_prog(opts: &str) -> Result<BufferProgram, Unsupported> {
    try_prog_in("tcp", opts)
}

/// Compiles the keywords of the first buffer of `opts` in a rule for `proto`.
pub(crate) fn try_prog_in(proto: &str, opts: &str) -> Result<BufferProgram, Unsupported> {
    let r = rule_in(proto, opts);
    let first = r
        .matches
        .first()
        .map_or(Buffer::Packet, |m| m.buffer.clone());
    compile(&matches_of(&r, &first))
}

pub(crate) fn prog(opts: &str) -> BufferProgram {
    match try_prog(opts) {
        Ok(p) => p,
        Err(e) => panic!("{opts}: {e}"),
    }
}

/// Whether the first buffer's keywords of `opts` match `buf`.
pub(crate) fn hit(opts: &str, buf: &[u8]) -> bool {
    prog(opts).inspect(buf, &mut Vars::new())
}
