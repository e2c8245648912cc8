//! SNMP v1, v2c and v3 over UDP: one `snmp` event per message, with Suricata's EVE fields.
//! Messages are read with `snmp-parser`; the probe only checks the first BER elements.

use nta_event::JsonOut;
use snmp_parser::{
    parse_snmp_generic_message, NetworkAddress, PduType, ScopedPduData, SecurityParameters,
    SnmpGenericMessage, SnmpPdu,
};

use crate::parser::{Dir, Out, Parser, Probe, ProbeInput, Transport};
use crate::registry::Builtin;

/// The protocol's registry entry.
pub(crate) fn protocol() -> Builtin {
    let mut info = Builtin::info(
        "snmp",
        "SNMP v1/v2c/v3 requests, responses and traps",
        &[Transport::Udp],
        &[161, 162],
        Some("snmp"),
    );
    info.port_gated = true;
    Builtin {
        info,
        probe,
        parser: || Box::<Snmp>::default(),
    }
}

/// Variable bindings logged per message.
const MAX_VARS: usize = 64;
/// Longest community or user name kept.
const MAX_NAME: usize = 1024;

/// A BER length at `at`: (value, where the content starts). Short form, or long form of one
/// or two bytes (a UDP datagram holds no more).
fn ber_len(d: &[u8], at: usize) -> Option<(usize, usize)> {
    let b = *d.get(at)?;
    match b {
        0..=0x7f => Some((usize::from(b), at + 1)),
        0x81 => Some((usize::from(*d.get(at + 1)?), at + 2)),
        0x82 => {
            let l = d.get(at + 1..at + 3)?;
            Some((usize::from(u16::from_be_bytes([l[0], l[1]])), at + 3))
        }
        _ => None,
    }
}

/// SEQUENCE { version INTEGER (0, 1 or 3), then the community OCTET STRING (v1, v2c) or the
/// header SEQUENCE (v3) }, the outer length covering the datagram.
fn probe(input: &ProbeInput<'_>) -> Probe {
    let d = input.data;
    let ok = (|| {
        if *d.first()? != 0x30 {
            return None;
        }
        let (len, at) = ber_len(d, 1)?;
        if at.checked_add(len)? < d.len() {
            return None;
        }
        let version = match d.get(at..at + 3)? {
            [0x02, 0x01, v @ (0 | 1 | 3)] => *v,
            _ => return None,
        };
        let next = *d.get(at + 3)?;
        Some(if version == 3 {
            next == 0x30
        } else {
            next == 0x04
        })
    })();
    if ok == Some(true) {
        Probe::Match
    } else {
        Probe::NoMatch
    }
}

/// Follows one SNMP flow: every message is a transaction of its own.
#[derive(Debug, Default)]
pub(crate) struct Snmp {
    next_tx: u64,
}

impl Parser for Snmp {
    fn parse(&mut self, dir: Dir, data: &[u8], out: &mut Out<'_>) -> usize {
        let Ok((_, msg)) = parse_snmp_generic_message(data) else {
            return data.len();
        };
        let tx = self.next_tx;
        self.next_tx += 1;
        out.event("snmp", dir == Dir::ToServer, Some(tx), |w| log(w, &msg));
        data.len()
    }
}

fn log(w: &mut JsonOut<'_>, msg: &SnmpGenericMessage<'_>) {
    w.object("snmp");
    match msg {
        SnmpGenericMessage::V1(m) | SnmpGenericMessage::V2(m) => {
            w.u64("version", u64::from(m.version) + 1);
            pdu(w, &m.pdu);
            w.bytes("community", cap(m.community.as_bytes()));
        }
        SnmpGenericMessage::V3(m) => {
            w.u64("version", 3);
            match &m.data {
                ScopedPduData::Plaintext(p) => pdu(w, &p.data),
                ScopedPduData::Encrypted(_) => w.plain("pdu_type", "encrypted"),
            }
            if let SecurityParameters::USM(usm) = &m.security_params {
                w.bytes("usm", cap(usm.msg_user_name.as_bytes()));
            }
        }
    }
    w.close();
}

fn pdu(w: &mut JsonOut<'_>, p: &SnmpPdu<'_>) {
    w.plain("pdu_type", &pdu_type_name(p.pdu_type()));
    match p {
        SnmpPdu::Generic(g) if g.err.0 != 0 => {
            w.plain("error", &format!("{:?}", g.err));
        }
        SnmpPdu::TrapV1(t) => {
            w.plain("trap_type", &format!("{:?}", t.generic_trap));
            w.plain("trap_oid", &t.enterprise.to_id_string());
            let NetworkAddress::IPv4(a) = t.agent_addr;
            w.ip("trap_address", a.into());
        }
        _ => {}
    }
    let mut vars = p.vars_iter().take(MAX_VARS).peekable();
    if vars.peek().is_some() {
        w.array("vars");
        for v in vars {
            w.str_element(v.oid.to_id_string().as_bytes());
        }
        w.end_array();
    }
}

fn pdu_type_name(t: PduType) -> String {
    match t {
        PduType::GetRequest => "get_request",
        PduType::GetNextRequest => "get_next_request",
        PduType::Response => "response",
        PduType::SetRequest => "set_request",
        PduType::TrapV1 => "trap_v1",
        PduType::GetBulkRequest => "get_bulk_request",
        PduType::InformRequest => "inform_request",
        PduType::TrapV2 => "trap_v2",
        PduType::Report => "report",
        // Suricata's form for a tag it has no name for.
        other => return format!("Unknown(0x{:x})", other.0),
    }
    .to_string()
}

fn cap(b: &[u8]) -> &[u8] {
    &b[..b.len().min(MAX_NAME)]
}

#[cfg(test)]
mod tests;
