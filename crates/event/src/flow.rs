//! `flow` events.

use nta_flow::{community_id, EndedFlow};
use nta_packet::{ip_proto, TcpFlags};
use serde_json::{json, Map, Value};

use crate::{format_timestamp, Event};

/// EVE's name for an IP protocol (Suricata uses the IANA keyword, upper case).
pub fn proto_name(proto: u8) -> String {
    match proto {
        ip_proto::ICMP => "ICMP".into(),
        2 => "IGMP".into(),
        ip_proto::TCP => "TCP".into(),
        ip_proto::UDP => "UDP".into(),
        ip_proto::GRE => "GRE".into(),
        50 => "ESP".into(),
        51 => "AH".into(),
        ip_proto::ICMPV6 => "IPV6-ICMP".into(),
        89 => "OSPFIGP".into(),
        103 => "PIM".into(),
        112 => "VRRP".into(),
        ip_proto::SCTP => "SCTP".into(),
        other => other.to_string(),
    }
}

fn tcp_object(flags: [u8; 2], state: &str) -> Value {
    let all = flags[0] | flags[1];
    let mut o = Map::new();
    o.insert("tcp_flags".into(), format!("{all:02x}").into());
    o.insert("tcp_flags_ts".into(), format!("{:02x}", flags[0]).into());
    o.insert("tcp_flags_tc".into(), format!("{:02x}", flags[1]).into());
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
            o.insert(name.into(), true.into());
        }
    }
    o.insert("state".into(), state.into());
    Value::Object(o)
}

/// The `flow` event of an ended flow.
pub fn flow_event(ended: &EndedFlow) -> Event {
    let f = &ended.flow;
    let mut b = Map::new();
    b.insert("src_ip".into(), f.client.0.to_string().into());
    let is_icmp = f.proto == ip_proto::ICMP || f.proto == ip_proto::ICMPV6;
    let has_ports = matches!(f.proto, ip_proto::TCP | ip_proto::UDP | ip_proto::SCTP);
    if has_ports {
        b.insert("src_port".into(), f.client.1.into());
    }
    b.insert("dest_ip".into(), f.server.0.to_string().into());
    if has_ports {
        b.insert("dest_port".into(), f.server.1.into());
    }
    b.insert("proto".into(), proto_name(f.proto).into());
    if let (true, Some((ty, code))) = (is_icmp, f.icmp) {
        b.insert("icmp_type".into(), ty.into());
        b.insert("icmp_code".into(), code.into());
    }
    if !f.vlan.is_empty() {
        b.insert("vlan".into(), json!(f.vlan.as_slice()));
    }
    if let Some(layers) = &f.tunnels {
        let t: Vec<Value> = layers
            .iter()
            .enumerate()
            .map(|(depth, l)| {
                let mut o = Map::new();
                o.insert("type".into(), l.kind.name().into());
                o.insert("depth".into(), depth.into());
                o.insert("src_ip".into(), l.src.to_string().into());
                o.insert("dest_ip".into(), l.dst.to_string().into());
                o.insert("proto".into(), proto_name(l.proto).into());
                if l.proto == ip_proto::UDP {
                    o.insert("src_port".into(), l.sport.into());
                    o.insert("dest_port".into(), l.dport.into());
                }
                if !l.vlan.is_empty() {
                    o.insert("vlan".into(), json!(l.vlan.as_slice()));
                }
                Value::Object(o)
            })
            .collect();
        b.insert("tunnel".into(), Value::Array(t));
    }
    let age = f.last_ns.saturating_sub(f.start_ns) / 1_000_000_000;
    b.insert(
        "flow".into(),
        json!({
            "pkts_toserver": f.pkts[0],
            "pkts_toclient": f.pkts[1],
            "bytes_toserver": f.bytes[0],
            "bytes_toclient": f.bytes[1],
            "start": format_timestamp(f.start_ns),
            "end": format_timestamp(f.last_ns),
            "age": age,
            "state": f.state().name(),
            "reason": ended.reason.name(),
            "alerted": false,
        }),
    );
    if f.proto == ip_proto::TCP {
        b.insert("tcp".into(), tcp_object(f.tcp_flags, f.tcp_state.name()));
    }
    let (sp, dp) = match (is_icmp, f.icmp) {
        (true, Some((ty, code))) => (u16::from(ty), u16::from(code)),
        _ => (f.client.1, f.server.1),
    };
    b.insert(
        "community_id".into(),
        community_id(0, f.client.0, sp, f.server.0, dp, f.proto).into(),
    );
    Event {
        timestamp: format_timestamp(f.last_ns),
        flow_id: Some(f.flow_id),
        event_type: "flow",
        body: b,
    }
}
