//! `flow` events, serialized straight from the flow record (no intermediate JSON tree: a busy
//! sensor ends hundreds of thousands of flows a second).

use std::fmt;

use nta_flow::{community_id, EndedFlow, Flow};
use nta_packet::{ip_proto, TcpFlags, TunnelLayer};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use crate::time::Timestamp;

/// EVE's name for an IP protocol (Suricata uses the IANA keyword, upper case).
pub fn proto_name(proto: u8) -> ProtoName {
    ProtoName(proto)
}

/// Displays an IP protocol as EVE names it.
#[derive(Clone, Copy, Debug)]
pub struct ProtoName(u8);

impl fmt::Display for ProtoName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.0 {
            ip_proto::ICMP => "ICMP",
            2 => "IGMP",
            ip_proto::TCP => "TCP",
            ip_proto::UDP => "UDP",
            ip_proto::GRE => "GRE",
            50 => "ESP",
            51 => "AH",
            ip_proto::ICMPV6 => "IPV6-ICMP",
            89 => "OSPFIGP",
            103 => "PIM",
            112 => "VRRP",
            ip_proto::SCTP => "SCTP",
            other => return write!(f, "{other}"),
        };
        f.write_str(name)
    }
}

impl Serialize for ProtoName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

fn has_ports(proto: u8) -> bool {
    matches!(proto, ip_proto::TCP | ip_proto::UDP | ip_proto::SCTP)
}

fn is_icmp(proto: u8) -> bool {
    proto == ip_proto::ICMP || proto == ip_proto::ICMPV6
}

/// The `flow` event of an ended flow, as a serializable view.
pub fn flow_event(ended: &EndedFlow) -> FlowEvent<'_> {
    FlowEvent(ended)
}

/// Serializes an [`EndedFlow`] as an EVE `flow` event.
#[derive(Clone, Copy, Debug)]
pub struct FlowEvent<'a>(pub &'a EndedFlow);

struct Tunnels<'a>(&'a [TunnelLayer]);

impl Serialize for Tunnels<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for (depth, l) in self.0.iter().enumerate() {
            seq.serialize_element(&TunnelJson { depth, l })?;
        }
        seq.end()
    }
}

struct TunnelJson<'a> {
    depth: usize,
    l: &'a TunnelLayer,
}

impl Serialize for TunnelJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let l = self.l;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("type", l.kind.name())?;
        m.serialize_entry("depth", &self.depth)?;
        m.serialize_entry("src_ip", &l.src)?;
        m.serialize_entry("dest_ip", &l.dst)?;
        m.serialize_entry("proto", &ProtoName(l.proto))?;
        if l.proto == ip_proto::UDP {
            m.serialize_entry("src_port", &l.sport)?;
            m.serialize_entry("dest_port", &l.dport)?;
        }
        if !l.vlan.is_empty() {
            m.serialize_entry("vlan", l.vlan.as_slice())?;
        }
        m.end()
    }
}

struct FlowBody<'a>(&'a EndedFlow);

impl Serialize for FlowBody<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let f = &self.0.flow;
        let mut m = s.serialize_map(Some(10))?;
        m.serialize_entry("pkts_toserver", &f.pkts[0])?;
        m.serialize_entry("pkts_toclient", &f.pkts[1])?;
        m.serialize_entry("bytes_toserver", &f.bytes[0])?;
        m.serialize_entry("bytes_toclient", &f.bytes[1])?;
        m.serialize_entry("start", &Timestamp(f.start_ns))?;
        m.serialize_entry("end", &Timestamp(f.last_ns))?;
        m.serialize_entry(
            "age",
            &(f.last_ns.saturating_sub(f.start_ns) / 1_000_000_000),
        )?;
        m.serialize_entry("state", f.state().name())?;
        m.serialize_entry("reason", self.0.reason.name())?;
        m.serialize_entry("alerted", &false)?;
        m.end()
    }
}

/// Two-digit hex of a flag byte, as EVE writes `tcp_flags`.
struct Hex(u8);

impl Serialize for Hex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        const D: &[u8; 16] = b"0123456789abcdef";
        let b = [D[usize::from(self.0 >> 4)], D[usize::from(self.0 & 15)]];
        s.serialize_str(std::str::from_utf8(&b).unwrap_or("00"))
    }
}

struct Tcp<'a>(&'a Flow);

impl Serialize for Tcp<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let f = self.0;
        let all = f.tcp_flags[0] | f.tcp_flags[1];
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("tcp_flags", &Hex(all))?;
        m.serialize_entry("tcp_flags_ts", &Hex(f.tcp_flags[0]))?;
        m.serialize_entry("tcp_flags_tc", &Hex(f.tcp_flags[1]))?;
        for (bit, name) in [
            (TcpFlags::SYN, "syn"),
            (TcpFlags::FIN, "fin"),
            (TcpFlags::RST, "rst"),
            (TcpFlags::PSH, "psh"),
            (TcpFlags::ACK, "ack"),
            (TcpFlags::URG, "urg"),
            (TcpFlags::ECE, "ecn"),
            (TcpFlags::CWR, "cwr"),
        ] {
            if all & bit != 0 {
                m.serialize_entry(name, &true)?;
            }
        }
        m.serialize_entry("state", f.tcp_state.name())?;
        m.end()
    }
}

impl Serialize for FlowEvent<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let f = &self.0.flow;
        let (client, server, proto) = (f.client(), f.server(), f.proto());
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("timestamp", &Timestamp(f.last_ns))?;
        m.serialize_entry("flow_id", &f.flow_id())?;
        m.serialize_entry("event_type", "flow")?;
        m.serialize_entry("src_ip", &client.0)?;
        if has_ports(proto) {
            m.serialize_entry("src_port", &client.1)?;
        }
        m.serialize_entry("dest_ip", &server.0)?;
        if has_ports(proto) {
            m.serialize_entry("dest_port", &server.1)?;
        }
        m.serialize_entry("proto", &ProtoName(proto))?;
        let icmp = f.icmp.filter(|_| is_icmp(proto));
        if let Some((ty, code)) = icmp {
            m.serialize_entry("icmp_type", &ty)?;
            m.serialize_entry("icmp_code", &code)?;
        }
        if !f.vlan().is_empty() {
            m.serialize_entry("vlan", f.vlan().as_slice())?;
        }
        if let Some(layers) = &f.tunnels {
            m.serialize_entry("tunnel", &Tunnels(layers))?;
        }
        m.serialize_entry("flow", &FlowBody(self.0))?;
        if proto == ip_proto::TCP {
            m.serialize_entry("tcp", &Tcp(f))?;
        }
        let (sp, dp) = match icmp {
            Some((ty, code)) => (u16::from(ty), u16::from(code)),
            None => (client.1, server.1),
        };
        m.serialize_entry(
            "community_id",
            &community_id(0, client.0, sp, server.0, dp, proto),
        )?;
        m.end()
    }
}
