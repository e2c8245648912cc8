//! `action proto src sport dir dst dport`.

use crate::ast::{Action, Direction, Protocol};
use crate::error::{ErrorKind, RuleError};
use crate::groups::{resolve_address, resolve_ports, AddressSet, PortSet};
use crate::lexer::Token;
use crate::vars::Vars;

/// The parsed header.
pub(crate) struct Header {
    pub action: Action,
    pub protocol: Protocol,
    pub source: AddressSet,
    pub source_ports: PortSet,
    pub direction: Direction,
    pub destination: AddressSet,
    pub destination_ports: PortSet,
}

pub(crate) fn parse(tokens: &[Token<'_>], vars: &Vars) -> Result<Header, RuleError> {
    const SHAPE: &str = "action proto src sport -> dst dport";
    if tokens.len() != 7 {
        let at = tokens.get(7).map_or_else(
            || tokens.last().map_or(0, |t| t.at + t.text.len()),
            |t| t.at,
        );
        return Err(RuleError::syntax(
            at,
            format!(
                "the header has {} parts, expected 7: `{SHAPE}`",
                tokens.len()
            ),
        ));
    }
    let t = |i: usize| tokens[i];
    let a = t(0);
    let action = Action::ALL
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(a.text))
        .map(|(_, act)| *act)
        .ok_or_else(|| {
            RuleError::syntax(
                a.at,
                format!(
                    "unknown action `{}` (alert, drop, reject, rejectsrc, rejectdst, rejectboth, pass)",
                    a.text
                ),
            )
        })?;
    let p = t(1);
    let protocol = Protocol::from_name(p.text).ok_or_else(|| {
        RuleError::new(
            ErrorKind::UnknownProtocol(p.text.to_ascii_lowercase()),
            p.at,
            format!("unknown protocol `{}`", p.text),
        )
    })?;
    let d = t(4);
    let direction = match d.text {
        "->" => Direction::ToDestination,
        "<>" => Direction::Both,
        "<-" => {
            return Err(RuleError::syntax(
                d.at,
                "`<-` is not a direction: swap source and destination and use `->`",
            ))
        }
        other => {
            return Err(RuleError::syntax(
                d.at,
                format!("expected `->` or `<>` between source and destination, found `{other}`"),
            ))
        }
    };
    let addr = |tok: Token<'_>| resolve_address(tok.text, vars).map_err(|e| e.shifted(tok.at));
    let ports = |tok: Token<'_>| resolve_ports(tok.text, vars).map_err(|e| e.shifted(tok.at));
    Ok(Header {
        action,
        protocol,
        source: addr(t(2))?,
        source_ports: ports(t(3))?,
        direction,
        destination: addr(t(5))?,
        destination_ports: ports(t(6))?,
    })
}
