//! The non-payload conditions: flow state, packet header fields, application-layer
//! state, user-defined protocol fields.

use super::values::{comma_parts, int, int_cmp, num};
use super::{need_value, no_value, State};
use crate::ast::{
    valid_custom_field, valid_custom_protocol, AppLayerName, AppLayerProtocol, AppProto,
    BitsCommand, Condition, CustomField, FieldTest, FlagsModifier, Flow, FlowDirection, FlowState,
    Flowbits, Flowint, FlowintOp, FlowintValue, Fragbits, IntCmp, IpOption, SslVersion, StreamSide,
    StreamSize, TcpFlags, Urilen, Xbits, XbitsTrack,
};
use crate::error::RuleError;
use crate::lexer::{unquote, RawOption};

/// Handles the condition keywords; `Ok(false)` when `name` is not one.
pub(crate) fn option(st: &mut State, name: &str, o: &RawOption<'_>) -> Result<bool, RuleError> {
    let at = o.value_at;
    let cond = match name {
        "flowbits" => {
            let v = need_value(o)?;
            if v == "noalert" {
                st.rule.noalert = true;
                return Ok(true);
            }
            let (command, names, any) = bits(name, v, at)?;
            Condition::Flowbits(Flowbits {
                command,
                names,
                any,
            })
        }
        "xbits" => Condition::Xbits(xbits(need_value(o)?, at)?),
        "flowint" => Condition::Flowint(flowint(need_value(o)?, at)?),
        "flow" => {
            st.once("flow", o.name_at)?;
            Condition::Flow(flow(need_value(o)?, at)?)
        }
        "flags" => Condition::Flags(flags(need_value(o)?, at)?),
        "fragbits" => {
            let (bits, modifier) = bit_letters(name, need_value(o)?, at, b"MDR", false)?;
            Condition::Fragbits(Fragbits { bits, modifier })
        }
        "fragoffset" => Condition::Fragoffset(int_cmp(name, need_value(o)?, at)?),
        "itype" => Condition::Itype(int_cmp(name, need_value(o)?, at)?),
        "icode" => Condition::Icode(int_cmp(name, need_value(o)?, at)?),
        "icmp_id" => Condition::IcmpId(num(name, need_value(o)?, at)?),
        "icmp_seq" => Condition::IcmpSeq(num(name, need_value(o)?, at)?),
        "ip_proto" => Condition::IpProto(ip_proto(need_value(o)?, at)?),
        "ttl" => Condition::Ttl(int_cmp(name, need_value(o)?, at)?),
        "tos" => Condition::Tos(int_cmp(name, need_value(o)?, at)?),
        "id" => Condition::Id(num(name, need_value(o)?, at)?),
        "sameip" => {
            no_value(o)?;
            Condition::SameIp
        }
        "ack" => Condition::Ack(num(name, need_value(o)?, at)?),
        "seq" => Condition::Seq(num(name, need_value(o)?, at)?),
        "window" => Condition::Window(int_cmp(name, need_value(o)?, at)?),
        "ipopts" => Condition::Ipopts(ipopts(need_value(o)?, at)?),
        "stream_size" => Condition::StreamSize(stream_size(need_value(o)?, at)?),
        "dsize" => Condition::Dsize(int_cmp(name, need_value(o)?, at)?),
        "urilen" => Condition::Urilen(urilen(need_value(o)?, at)?),
        "app-layer-protocol" => {
            let v = need_value(o)?;
            let (negated, p) = match v.strip_prefix('!') {
                Some(r) => (true, r.trim()),
                None => (false, v),
            };
            let protocol = match p.to_ascii_lowercase().as_str() {
                "failed" => AppLayerName::Failed,
                "unknown" => AppLayerName::Unknown,
                other => AppLayerName::Known(AppProto::from_name(other).ok_or_else(|| {
                    RuleError::value(name, at, format!("unknown application protocol `{p}`"))
                })?),
            };
            Condition::AppLayerProtocol(AppLayerProtocol { negated, protocol })
        }
        "app-layer-event" => {
            let v = need_value(o)?;
            if v.contains(char::is_whitespace) {
                return Err(RuleError::value(
                    name,
                    at,
                    format!("app-layer-event must be `protocol.event`, found `{v}`"),
                ));
            }
            Condition::AppLayerEvent(v.to_string())
        }
        "tls.version" => Condition::TlsVersion(tls_version(need_value(o)?, at)?),
        "ssl_version" => Condition::SslVersion(ssl_version(need_value(o)?, at)?),
        "dns.opcode" => Condition::DnsOpcode(int_cmp(name, need_value(o)?, at)?),
        "custom_field" => Condition::CustomField(custom_field(need_value(o)?, at)?),
        _ => return Ok(false),
    };
    st.rule.conditions.push(cond);
    Ok(true)
}

/// `cmd,name[&name…|name…]` for flowbits and xbits.
fn bits(kw: &str, v: &str, at: usize) -> Result<(BitsCommand, Vec<String>, bool), RuleError> {
    let bad = |off: usize, m: String| RuleError::value(kw, at + off, m);
    let (cmd, names) = match v.split_once(',') {
        Some((c, n)) => (c.trim(), n.trim()),
        None => (v.trim(), ""),
    };
    let command = match cmd {
        "set" => BitsCommand::Set,
        "unset" => BitsCommand::Unset,
        "toggle" => BitsCommand::Toggle,
        "isset" => BitsCommand::IsSet,
        "isnotset" => BitsCommand::IsNotSet,
        _ => {
            return Err(bad(
                0,
                format!(
                    "unknown {kw} command `{cmd}` (set, unset, toggle, isset, isnotset, noalert)"
                ),
            ))
        }
    };
    if names.is_empty() {
        return Err(bad(0, format!("`{kw}:{cmd}` needs a name")));
    }
    let (and, or) = (names.contains('&'), names.contains('|'));
    if and && or {
        return Err(bad(0, format!("{kw} names cannot mix `&` and `|`")));
    }
    let list: Vec<String> = names
        .split(['&', '|'])
        .map(|n| n.trim().to_string())
        .collect();
    if list
        .iter()
        .any(|n| n.is_empty() || n.contains(char::is_whitespace))
    {
        return Err(bad(0, format!("invalid {kw} name in `{names}`")));
    }
    Ok((command, list, or))
}

fn xbits(v: &str, at: usize) -> Result<Xbits, RuleError> {
    let parts = comma_parts(v);
    let bad = |off: usize, m: String| RuleError::value("xbits", at + off, m);
    if parts.len() < 3 {
        return Err(bad(
            0,
            "xbits needs `command,name,track ip_src|ip_dst|ip_pair`".into(),
        ));
    }
    let head = format!("{},{}", parts[0].1, parts[1].1);
    let (command, names, any) = bits("xbits", &head, at)?;
    let mut track = None;
    let mut expire = None;
    for &(off, p) in &parts[2..] {
        match p
            .split_once(char::is_whitespace)
            .map(|(k, v)| (k, v.trim()))
        {
            Some(("track", t)) => {
                track = Some(match t {
                    "ip_src" => XbitsTrack::IpSrc,
                    "ip_dst" => XbitsTrack::IpDst,
                    "ip_pair" => XbitsTrack::IpPair,
                    "tx" => XbitsTrack::Tx,
                    _ => return Err(bad(off, format!("unknown xbits track `{t}`"))),
                })
            }
            Some(("expire", e)) => expire = Some(num("xbits", e, at + off)?),
            _ => return Err(bad(off, format!("unknown xbits option `{p}`"))),
        }
    }
    Ok(Xbits {
        command,
        names,
        any,
        track: track.ok_or_else(|| bad(0, "xbits needs `track`".into()))?,
        expire,
    })
}

fn flowint(v: &str, at: usize) -> Result<Flowint, RuleError> {
    let parts = comma_parts(v);
    let bad = |off: usize, m: String| RuleError::value("flowint", at + off, m);
    let (name, op_off, op) = match parts.as_slice() {
        [(_, n), (o_off, o), ..] if !n.is_empty() => (*n, *o_off, *o),
        _ => return Err(bad(0, "flowint needs `name,operator[,value]`".into())),
    };
    let op = match op {
        "=" => FlowintOp::Set,
        "+" => FlowintOp::Add,
        "-" => FlowintOp::Sub,
        "==" => FlowintOp::Eq,
        "!=" => FlowintOp::Ne,
        "<" => FlowintOp::Lt,
        "<=" => FlowintOp::Le,
        ">" => FlowintOp::Gt,
        ">=" => FlowintOp::Ge,
        "isset" => FlowintOp::IsSet,
        "notset" | "isnotset" => FlowintOp::NotSet,
        _ => return Err(bad(op_off, format!("unknown flowint operator `{op}`"))),
    };
    let needs_value = !matches!(op, FlowintOp::IsSet | FlowintOp::NotSet);
    let value = match (parts.get(2), needs_value) {
        (Some(&(off, val)), true) => Some(if int(val).is_some() {
            FlowintValue::Int(num("flowint", val, at + off)?)
        } else if !val.is_empty() && !val.contains(char::is_whitespace) {
            FlowintValue::Var(val.to_string())
        } else {
            return Err(bad(off, format!("invalid flowint value `{val}`")));
        }),
        (None, true) => return Err(bad(op_off, "this flowint operator needs a value".into())),
        (Some(&(off, _)), false) => return Err(bad(off, "isset/notset take no value".into())),
        (None, false) => None,
    };
    if parts.len() > 3 {
        return Err(bad(parts[3].0, "too many flowint arguments".into()));
    }
    Ok(Flowint {
        name: name.to_string(),
        op,
        value,
    })
}

fn flow(v: &str, at: usize) -> Result<Flow, RuleError> {
    let mut f = Flow::default();
    for (off, p) in comma_parts(v) {
        let bad = |m: String| RuleError::value("flow", at + off, m);
        let conflict = |m: String| RuleError::conflict(at + off, m);
        match p {
            "to_server" | "from_client" | "to_client" | "from_server" => {
                let d = if matches!(p, "to_server" | "from_client") {
                    FlowDirection::ToServer
                } else {
                    FlowDirection::ToClient
                };
                if f.direction.is_some_and(|x| x != d) {
                    return Err(conflict(format!("flow `{p}` contradicts the direction before it")));
                }
                f.direction = Some(d);
            }
            "established" | "not_established" | "stateless" => {
                let s = match p {
                    "established" => FlowState::Established,
                    "not_established" => FlowState::NotEstablished,
                    _ => FlowState::Stateless,
                };
                if f.state.is_some_and(|x| x != s) {
                    return Err(conflict(format!("flow `{p}` contradicts the state before it")));
                }
                f.state = Some(s);
            }
            "only_stream" | "no_stream" => {
                let s = p == "only_stream";
                if f.stream.is_some_and(|x| x != s) {
                    return Err(conflict("flow has both only_stream and no_stream".into()));
                }
                f.stream = Some(s);
            }
            "only_frag" | "no_frag" => {
                let s = p == "only_frag";
                if f.frag.is_some_and(|x| x != s) {
                    return Err(conflict("flow has both only_frag and no_frag".into()));
                }
                f.frag = Some(s);
            }
            _ => {
                return Err(bad(format!(
                    "unknown flow option `{p}` (to_server, to_client, from_server, from_client, established, not_established, stateless, only_stream, no_stream, only_frag, no_frag)"
                )))
            }
        }
    }
    Ok(f)
}

/// Letters with one optional modifier (`+`, `*`, `!`) anywhere; returns the bits and the
/// modifier. `letters` maps each letter to a bit, in order (unused for TCP flags).
fn bit_letters(
    kw: &str,
    v: &str,
    at: usize,
    letters: &[u8],
    tcp: bool,
) -> Result<(u8, FlagsModifier), RuleError> {
    let mut bits = 0u8;
    let mut modifier: Option<FlagsModifier> = None;
    for (i, c) in v.char_indices() {
        let here = at + i;
        let m = match c {
            '+' => Some(FlagsModifier::All),
            '*' => Some(FlagsModifier::Any),
            '!' => Some(FlagsModifier::Not),
            c if c.is_whitespace() => continue,
            _ => None,
        };
        if let Some(m) = m {
            if modifier.is_some() {
                return Err(RuleError::value(
                    kw,
                    here,
                    format!("`{kw}` has two modifiers"),
                ));
            }
            modifier = Some(m);
            continue;
        }
        bits |= letter_bit(kw, c, here, letters, tcp)?;
    }
    Ok((bits, modifier.unwrap_or_default()))
}

fn letter_bit(kw: &str, c: char, at: usize, letters: &[u8], tcp: bool) -> Result<u8, RuleError> {
    let upper = c.to_ascii_uppercase();
    if tcp {
        use crate::ast::tcp_flags::*;
        return Ok(match upper {
            'F' => FIN,
            'S' => SYN,
            'R' => RST,
            'P' => PSH,
            'A' => ACK,
            'U' => URG,
            'C' | '1' => CWR,
            'E' | '2' => ECE,
            '0' => 0,
            _ => {
                return Err(RuleError::value(
                    kw,
                    at,
                    format!("unknown TCP flag `{c}` (F S R P A U C E 0, or 1 2)"),
                ))
            }
        });
    }
    letters
        .iter()
        .position(|&l| l as char == upper)
        .map(|p| 1u8 << p)
        .ok_or_else(|| {
            RuleError::value(
                kw,
                at,
                format!(
                    "unknown `{kw}` letter `{c}` ({})",
                    String::from_utf8_lossy(letters)
                ),
            )
        })
}

fn flags(v: &str, at: usize) -> Result<TcpFlags, RuleError> {
    let (set, ignore) = match v.split_once(',') {
        Some((s, i)) => (s, Some((i, at + s.len() + 1))),
        None => (v, None),
    };
    let (bits, modifier) = bit_letters("flags", set, at, b"", true)?;
    let mut ign = 0u8;
    if let Some((i, iat)) = ignore {
        for (k, c) in i.char_indices() {
            if !c.is_whitespace() {
                ign |= letter_bit("flags", c, iat + k, b"", true)?;
            }
        }
    }
    if set.trim().is_empty() {
        return Err(RuleError::value(
            "flags",
            at,
            "flags needs at least one flag",
        ));
    }
    Ok(TcpFlags {
        flags: bits,
        modifier,
        ignore: ign,
    })
}

fn ip_proto(v: &str, at: usize) -> Result<IntCmp<u8>, RuleError> {
    // Names as in /etc/protocols for the common ones.
    const NAMES: &[(&str, u8)] = &[
        ("icmp", 1),
        ("igmp", 2),
        ("ipip", 4),
        ("tcp", 6),
        ("egp", 8),
        ("udp", 17),
        ("ipv6", 41),
        ("ipv6-route", 43),
        ("ipv6-frag", 44),
        ("rsvp", 46),
        ("gre", 47),
        ("esp", 50),
        ("ah", 51),
        ("ipv6-icmp", 58),
        ("ipv6-nonxt", 59),
        ("ipv6-opts", 60),
        ("eigrp", 88),
        ("ospf", 89),
        ("pim", 103),
        ("vrrp", 112),
        ("l2tp", 115),
        ("sctp", 132),
    ];
    let t = v.trim();
    let (prefix, rest) = t.split_at(t.len() - t.trim_start_matches(['!', '<', '>', '=']).len());
    if let Some(&(_, n)) = NAMES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(rest.trim()))
    {
        return int_cmp("ip_proto", &format!("{prefix}{n}"), at);
    }
    int_cmp("ip_proto", t, at)
}

fn ipopts(v: &str, at: usize) -> Result<IpOption, RuleError> {
    Ok(match v {
        "rr" => IpOption::Rr,
        "eol" => IpOption::Eol,
        "nop" => IpOption::Nop,
        "ts" => IpOption::Ts,
        "sec" => IpOption::Sec,
        "esec" => IpOption::Esec,
        "lsrr" => IpOption::Lsrr,
        "lsrre" => IpOption::Lsrre,
        "ssrr" => IpOption::Ssrr,
        "satid" => IpOption::Satid,
        "any" => IpOption::Any,
        _ => {
            return Err(RuleError::value(
                "ipopts",
                at,
                format!(
                "unknown ipopts `{v}` (rr, eol, nop, ts, sec, esec, lsrr, lsrre, ssrr, satid, any)"
            ),
            ))
        }
    })
}

fn stream_size(v: &str, at: usize) -> Result<StreamSize, RuleError> {
    let parts = comma_parts(v);
    let bad = |off: usize, m: String| RuleError::value("stream_size", at + off, m);
    let [(_, side), (op_off, op), (n_off, n)] = parts.as_slice() else {
        return Err(bad(0, "stream_size needs `side,operator,bytes`".into()));
    };
    let side = match *side {
        "server" => StreamSide::Server,
        "client" => StreamSide::Client,
        "both" => StreamSide::Both,
        "either" => StreamSide::Either,
        s => {
            return Err(bad(
                0,
                format!("stream_size side must be server, client, both or either, found `{s}`"),
            ))
        }
    };
    let n: u32 = num("stream_size", n, at + n_off)?;
    let cmp = match *op {
        "<" => IntCmp::Lt(n),
        "<=" => IntCmp::Le(n),
        ">" => IntCmp::Gt(n),
        ">=" => IntCmp::Ge(n),
        "=" => IntCmp::Eq(n),
        "!=" => IntCmp::Ne(n),
        o => return Err(bad(*op_off, format!("unknown stream_size operator `{o}`"))),
    };
    Ok(StreamSize { side, cmp })
}

fn urilen(v: &str, at: usize) -> Result<Urilen, RuleError> {
    let (cmp_text, raw) = match v.split_once(',') {
        Some((c, k)) => match k.trim() {
            "raw" => (c, true),
            "norm" => (c, false),
            other => {
                return Err(RuleError::value(
                    "urilen",
                    at + c.len() + 1,
                    format!("urilen option must be norm or raw, found `{other}`"),
                ))
            }
        },
        None => (v, false),
    };
    Ok(Urilen {
        cmp: int_cmp("urilen", cmp_text, at)?,
        raw,
    })
}

fn tls_version(v: &str, at: usize) -> Result<u16, RuleError> {
    Ok(match v {
        "2.0" => 0x0200,
        "3.0" => 0x0300,
        "1.0" => 0x0301,
        "1.1" => 0x0302,
        "1.2" => 0x0303,
        "1.3" => 0x0304,
        _ => num("tls.version", v, at).map_err(|_| {
            RuleError::value(
                "tls.version",
                at,
                format!(
                    "tls.version must be 1.0, 1.1, 1.2, 1.3, 2.0, 3.0 or a 0x number, found `{v}`"
                ),
            )
        })?,
    })
}

fn ssl_version(v: &str, at: usize) -> Result<Vec<(bool, SslVersion)>, RuleError> {
    let mut out = Vec::new();
    for (off, p) in comma_parts(v) {
        let (neg, name) = match p.strip_prefix('!') {
            Some(r) => (true, r.trim()),
            None => (false, p),
        };
        let ver = match name.to_ascii_lowercase().as_str() {
            "sslv2" => SslVersion::Sslv2,
            "sslv3" => SslVersion::Sslv3,
            "tls1.0" => SslVersion::Tls10,
            "tls1.1" => SslVersion::Tls11,
            "tls1.2" => SslVersion::Tls12,
            "tls1.3" => SslVersion::Tls13,
            _ => {
                return Err(RuleError::value(
                    "ssl_version",
                    at + off,
                    format!(
                    "unknown ssl_version `{name}` (sslv2, sslv3, tls1.0, tls1.1, tls1.2, tls1.3)"
                ),
                ))
            }
        };
        out.push((neg, ver));
    }
    Ok(out)
}

/// `custom_field:<protocol>.<field>[.<sub>…], <test>` where the test is a comparison
/// (`3`, `>=3`, `1<>5`, `!0`) or a quoted string (`"HELLO"`, `!"HELLO"`).
fn custom_field(v: &str, at: usize) -> Result<CustomField, RuleError> {
    const KW: &str = "custom_field";
    let bad = |off: usize, m: String| RuleError::value(KW, at + off, m);
    let (path, test) = v
        .split_once(',')
        .ok_or_else(|| bad(0, "custom_field needs `protocol.field, value`".to_string()))?;
    let test_off = path.len() + 1 + (test.len() - test.trim_start().len());
    let (path, test) = (path.trim(), test.trim());
    let (protocol, field) = path
        .split_once('.')
        .filter(|(p, f)| valid_custom_protocol(p) && f.split('.').all(valid_custom_field))
        .ok_or_else(|| {
            bad(
                0,
                format!("`{path}` is not `protocol.field` (lowercase names; groups as `protocol.group.field`)"),
            )
        })?;
    let quoted = test.trim_start_matches('!').trim_start().starts_with('"');
    let test = if quoted {
        let (negated, q) = match test.strip_prefix('!') {
            Some(r) => (true, r.trim_start()),
            None => (false, test),
        };
        if q.len() < 2 || !q.ends_with('"') {
            return Err(bad(
                test_off,
                "unterminated quoted custom_field value".into(),
            ));
        }
        FieldTest::Str {
            value: unquote(q),
            negated,
        }
    } else {
        FieldTest::Int(int_cmp(KW, test, at + test_off)?)
    };
    Ok(CustomField {
        protocol: protocol.to_string(),
        field: field.to_string(),
        test,
    })
}
