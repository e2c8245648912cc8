//! `flow` events, written straight from the flow record (no intermediate JSON tree: a busy
//! sensor ends hundreds of thousands of flows a second).

use std::fmt;

use nta_flow::{community_id, EndedFlow, Flow};
use nta_packet::{ip_proto, TcpFlags, TunnelLayer};
use serde::{Serialize, Serializer};

use crate::json::JsonOut;
use crate::time::Timestamp;

/// Displays an IP protocol as EVE names it.
#[derive(Clone, Copy, Debug)]
pub struct ProtoName(pub u8);

impl fmt::Display for ProtoName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.0 {
            ip_proto::ICMP => "ICMP",
            2 => "IGMP",
            ip_proto::IPIP => "IPv4",
            ip_proto::TCP => "TCP",
            ip_proto::UDP => "UDP",
            ip_proto::IPV6 => "IPv6",
            ip_proto::GRE => "GRE",
            50 => "ESP",
            51 => "AH",
            ip_proto::ICMPV6 => "IPv6-ICMP",
            59 => "IPv6-NoNxt",
            89 => "OSPF",
            103 => "PIM",
            112 => "VRRP",
            ip_proto::SCTP => "SCTP",
            136 => "UDPLite",
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

/// The `flow` event of an ended flow, as a view to write.
pub fn flow_event(ended: &EndedFlow) -> FlowEvent<'_> {
    FlowEvent {
        ended,
        app_proto: None,
        alerted: false,
    }
}

/// An [`EndedFlow`] seen as an EVE `flow` event.
#[derive(Clone, Copy, Debug)]
pub struct FlowEvent<'a> {
    /// The flow.
    pub ended: &'a EndedFlow,
    /// What the application layer found the flow to speak (`http`, …, `failed`); `None` when
    /// no payload was seen.
    pub app_proto: Option<&'a str>,
    /// An alert was raised on the flow.
    pub alerted: bool,
}

impl<'a> FlowEvent<'a> {
    /// The same event with `alerted` set.
    pub fn with_alerted(self, alerted: bool) -> Self {
        FlowEvent { alerted, ..self }
    }

    /// The same event with `app_proto` set.
    pub fn with_app_proto(self, app_proto: Option<&'a str>) -> Self {
        FlowEvent { app_proto, ..self }
    }
}

/// Writes EVE's envelope of a flow-bound event: `timestamp` … `proto`, then `vlan` and
/// `tunnel`. `to_server` tells whether the source is the client.
pub(crate) fn envelope(
    out: &mut JsonOut<'_>,
    f: &Flow,
    ts_ns: u64,
    event_type: &str,
    to_server: bool,
) {
    let (client, server, proto) = (f.client(), f.server(), f.proto());
    let (src, dst) = if to_server {
        (client, server)
    } else {
        (server, client)
    };
    ts(out, "timestamp", ts_ns);
    out.u64("flow_id", f.flow_id());
    out.plain("event_type", event_type);
    out.ip("src_ip", src.0);
    if has_ports(proto) {
        out.u64("src_port", u64::from(src.1));
    }
    out.ip("dest_ip", dst.0);
    if has_ports(proto) {
        out.u64("dest_port", u64::from(dst.1));
    }
    match proto {
        ip_proto::TCP => out.plain("proto", "TCP"),
        ip_proto::UDP => out.plain("proto", "UDP"),
        other => out.plain("proto", &ProtoName(other).to_string()),
    }
}

fn hex(b: u8) -> [u8; 2] {
    const D: &[u8; 16] = b"0123456789abcdef";
    [D[usize::from(b >> 4)], D[usize::from(b & 15)]]
}

pub(crate) fn ts(out: &mut JsonOut<'_>, k: &'static str, ns: u64) {
    let b = Timestamp(ns).to_bytes();
    out.plain(k, std::str::from_utf8(&b).unwrap_or_default());
}

pub(crate) fn tunnels(out: &mut JsonOut<'_>, layers: &[TunnelLayer]) {
    out.array("tunnel");
    for (depth, l) in layers.iter().enumerate() {
        out.element();
        out.open();
        out.plain("type", l.kind.name());
        out.u64("depth", depth as u64);
        out.ip("src_ip", l.src);
        out.ip("dest_ip", l.dst);
        out.plain("proto", &ProtoName(l.proto).to_string());
        if l.proto == ip_proto::UDP {
            out.u64("src_port", u64::from(l.sport));
            out.u64("dest_port", u64::from(l.dport));
        }
        if !l.vlan.is_empty() {
            out.u16_array("vlan", l.vlan.as_slice());
        }
        out.close();
    }
    out.end_array();
}

/// `icmp`: the names of the first packet's type and code; for an echo exchange (requests and
/// replies paired by identifier into one flow), how many of each.
fn icmp_names(out: &mut JsonOut<'_>, v6: bool, ty: u8, code: u8, f: &Flow) {
    out.object("icmp");
    if let Some(n) = crate::icmp::type_name(v6, ty) {
        out.plain("type_name", n);
    }
    if let Some(n) = crate::icmp::code_name(v6, ty, code) {
        out.plain("code_name", n);
    }
    if crate::icmp::is_echo_request(v6, ty) {
        out.object("echo");
        out.u64("requests", f.pkts[0]);
        out.u64("replies", f.pkts[1]);
        out.u64("unanswered", f.pkts[0].saturating_sub(f.pkts[1]));
        out.close();
    }
    out.close();
}

fn tcp(out: &mut JsonOut<'_>, f: &Flow) {
    let all = f.tcp_flags[0] | f.tcp_flags[1];
    out.object("tcp");
    for (k, v) in [
        ("tcp_flags", all),
        ("tcp_flags_ts", f.tcp_flags[0]),
        ("tcp_flags_tc", f.tcp_flags[1]),
    ] {
        let h = hex(v);
        out.plain(k, std::str::from_utf8(&h).unwrap_or("00"));
    }
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
            out.bool(name, true);
        }
    }
    out.plain("state", f.tcp_state.name());
    out.close();
}

impl FlowEvent<'_> {
    /// Appends the event as one JSON object (no newline).
    pub fn write_json(&self, buf: &mut Vec<u8>) {
        let f = &self.ended.flow;
        let (client, server, proto) = (f.client(), f.server(), f.proto());
        let mut out = JsonOut::new(buf);
        out.open();
        envelope(&mut out, f, f.last_ns, "flow", true);
        let icmp = f.icmp.filter(|_| is_icmp(proto));
        if let Some((ty, code)) = icmp {
            out.u64("icmp_type", u64::from(ty));
            out.u64("icmp_code", u64::from(code));
        }
        if !f.vlan().is_empty() {
            out.u16_array("vlan", f.vlan().as_slice());
        }
        if let Some(layers) = f.tunnels() {
            tunnels(&mut out, layers);
        }
        if let Some(kind) = f.encapsulates {
            out.plain("encapsulates", kind.name());
        }
        if let Some(app) = self.app_proto {
            out.str("app_proto", app);
        }
        out.object("flow");
        out.u64("pkts_toserver", f.pkts[0]);
        out.u64("pkts_toclient", f.pkts[1]);
        out.u64("bytes_toserver", f.bytes[0]);
        out.u64("bytes_toclient", f.bytes[1]);
        ts(&mut out, "start", f.start_ns);
        ts(&mut out, "end", f.last_ns);
        out.u64("age", f.last_ns.saturating_sub(f.start_ns) / 1_000_000_000);
        out.plain("state", f.state().name());
        out.plain("reason", self.ended.reason.name());
        out.bool("alerted", self.alerted);
        out.close();
        if proto == ip_proto::TCP {
            tcp(&mut out, f);
        }
        if let Some((ty, code)) = icmp {
            icmp_names(&mut out, proto == ip_proto::ICMPV6, ty, code, f);
        }
        let (sp, dp) = match icmp {
            Some((ty, code)) => (u16::from(ty), u16::from(code)),
            None => (client.1, server.1),
        };
        out.plain(
            "community_id",
            &community_id(0, client.0, sp, server.0, dp, proto),
        );
        out.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nta_flow::{EndReason, FlowConfig, FlowTable, PacketView};
    use nta_packet::{TcpInfo, VlanIds};

    #[test]
    fn flow_event_is_valid_eve_json() {
        let mut t = FlowTable::new(FlowConfig::default());
        let mut vlan = VlanIds::default();
        vlan.push(10);
        let v = PacketView {
            ts_ns: 1_700_000_000_123_456_000,
            wire_len: 74,
            src: "10.0.0.1".parse().unwrap(),
            dst: "2.2.2.2".parse().unwrap(),
            sport: 40000,
            dport: 443,
            proto: ip_proto::TCP,
            vlan,
            tcp: Some(TcpInfo {
                sport: 40000,
                dport: 443,
                seq: 1,
                ack: 0,
                flags: TcpFlags(TcpFlags::SYN),
                window: 0,
            }),
            icmp: None,
            tunnels: &[],
            encapsulates: None,
        };
        t.update(&v, &mut |_| {});
        let mut ended = Vec::new();
        t.flush(EndReason::Shutdown, &mut |e| ended.push(e));
        let mut buf = Vec::new();
        flow_event(&ended[0]).write_json(&mut buf);
        let j: serde_json::Value = serde_json::from_slice(&buf).unwrap();
        assert_eq!(j["event_type"], "flow");
        assert_eq!(j["timestamp"], "2023-11-14T22:13:20.123456+0000");
        assert_eq!(j["src_ip"], "10.0.0.1");
        assert_eq!(j["src_port"], 40000);
        assert_eq!(j["dest_port"], 443);
        assert_eq!(j["proto"], "TCP");
        assert_eq!(j["vlan"], serde_json::json!([10]));
        assert_eq!(j["flow"]["pkts_toserver"], 1);
        assert_eq!(j["flow"]["bytes_toserver"], 74);
        assert_eq!(j["flow"]["state"], "new");
        assert_eq!(j["flow"]["reason"], "shutdown");
        assert_eq!(j["tcp"]["tcp_flags"], "02");
        assert_eq!(j["tcp"]["syn"], true);
        assert_eq!(j["tcp"]["state"], "syn_sent");
        assert!(j["community_id"].as_str().unwrap().starts_with("1:"));
        assert_eq!(j["flow_id"].as_u64(), Some(ended[0].flow.flow_id()));
    }
}
