//! The flow table: lookup, accounting, timeouts and the memory cap.

use std::net::IpAddr;

use hashbrown::hash_map::Entry;
use hashbrown::HashMap;
use nta_packet::{ip_proto, Packet, TcpFlags, TcpInfo, Transport, TunnelLayer, VlanIds};

use crate::key::FlowKey;
use crate::tcp::TcpState;

const NS: u64 = 1_000_000_000;

/// Timeouts of one protocol, in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProtoTimeouts {
    /// Before the flow is established (no reply, or handshake incomplete).
    pub new: u64,
    /// Established.
    pub established: u64,
    /// TCP after FIN/FIN or RST.
    pub closed: u64,
}

/// Flow timeouts per protocol and state (Suricata's defaults).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP: 60 / 600 / 60.
    pub tcp: ProtoTimeouts,
    /// UDP: 30 / 300.
    pub udp: ProtoTimeouts,
    /// ICMP and ICMPv6: 30 / 300.
    pub icmp: ProtoTimeouts,
    /// Other IP protocols: 30 / 300.
    pub other: ProtoTimeouts,
    /// Applied to every protocol when the table is full: 10 / 100 / 0.
    pub emergency: ProtoTimeouts,
}

impl Default for Timeouts {
    fn default() -> Self {
        let p = |new, established, closed| ProtoTimeouts {
            new,
            established,
            closed,
        };
        Timeouts {
            tcp: p(60, 600, 60),
            udp: p(30, 300, 0),
            icmp: p(30, 300, 0),
            other: p(30, 300, 0),
            emergency: p(10, 100, 0),
        }
    }
}

/// Flow table settings.
#[derive(Clone, Debug)]
pub struct FlowConfig {
    /// Most flows this table holds; past it, emergency eviction (default 1,000,000).
    pub max_flows: usize,
    /// Timeouts.
    pub timeouts: Timeouts,
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            max_flows: 1_000_000,
            timeouts: Timeouts::default(),
        }
    }
}

/// The flow-level state reported in EVE (`flow.state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlowState {
    /// One direction only, or TCP handshake incomplete.
    New,
    /// Traffic both ways (TCP: handshake done).
    Established,
    /// TCP session closed.
    Closed,
}

impl FlowState {
    /// EVE name.
    pub fn name(self) -> &'static str {
        match self {
            FlowState::New => "new",
            FlowState::Established => "established",
            FlowState::Closed => "closed",
        }
    }
}

/// Why a flow ended (EVE `flow.reason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndReason {
    /// Idle past its timeout.
    Timeout,
    /// Evicted because the table was full.
    Forced,
    /// The capture ended or the sensor stopped.
    Shutdown,
    /// A new TCP SYN reused the tuple of a closed session.
    TcpReuse,
}

impl EndReason {
    /// EVE name.
    pub fn name(self) -> &'static str {
        match self {
            EndReason::Timeout => "timeout",
            EndReason::Forced => "forced",
            EndReason::Shutdown => "shutdown",
            EndReason::TcpReuse => "tcp_reuse",
        }
    }
}

/// One flow's record. Index 0 of the pairs is client→server, 1 is server→client.
#[derive(Clone, Debug)]
pub struct Flow {
    /// Stable id (EVE `flow_id`): the same whatever the worker count.
    pub flow_id: u64,
    /// Client address and port.
    pub client: (IpAddr, u16),
    /// Server address and port.
    pub server: (IpAddr, u16),
    /// IP protocol.
    pub proto: u8,
    /// VLAN ids.
    pub vlan: VlanIds,
    /// First packet time (ns since epoch).
    pub start_ns: u64,
    /// Last packet time.
    pub last_ns: u64,
    /// Packets per direction.
    pub pkts: [u64; 2],
    /// Wire bytes per direction.
    pub bytes: [u64; 2],
    /// OR of TCP flags per direction.
    pub tcp_flags: [u8; 2],
    /// TCP session state.
    pub tcp_state: TcpState,
    fin_from: u8,
    /// ICMP type and code of the first packet (for the Community ID).
    pub icmp: Option<(u8, u8)>,
    /// Tunnel layers of the first packet, outermost first.
    pub tunnels: Option<Box<[TunnelLayer]>>,
}

impl Flow {
    fn new(key: &FlowKey, v: &PacketView<'_>) -> Flow {
        // The client opened the flow; a SYN-ACK seen first was sent by the server.
        let from_server = v
            .tcp
            .is_some_and(|t| t.flags.has(TcpFlags::SYN) && t.flags.has(TcpFlags::ACK));
        let (client, server) = if from_server {
            ((v.dst, v.dport), (v.src, v.sport))
        } else {
            ((v.src, v.sport), (v.dst, v.dport))
        };
        Flow {
            flow_id: (key.stable_hash() ^ mix(v.ts_ns)) & ((1u64 << 52) - 1),
            client,
            server,
            proto: v.proto,
            vlan: v.vlan,
            start_ns: v.ts_ns,
            last_ns: v.ts_ns,
            pkts: [0; 2],
            bytes: [0; 2],
            tcp_flags: [0; 2],
            tcp_state: TcpState::None,
            fin_from: 0,
            icmp: v.icmp,
            tunnels: if v.tunnels.is_empty() {
                None
            } else {
                Some(v.tunnels.into())
            },
        }
    }

    /// The flow-level state.
    pub fn state(&self) -> FlowState {
        if self.proto == ip_proto::TCP {
            if self.tcp_state.is_closed() {
                FlowState::Closed
            } else if self.tcp_state.is_established() && self.pkts[1] > 0 {
                FlowState::Established
            } else {
                FlowState::New
            }
        } else if self.pkts[0] > 0 && self.pkts[1] > 0 {
            FlowState::Established
        } else {
            FlowState::New
        }
    }

    fn timeout_ns(&self, t: &Timeouts, emergency: bool) -> u64 {
        let p = if emergency {
            &t.emergency
        } else {
            match self.proto {
                ip_proto::TCP => &t.tcp,
                ip_proto::UDP => &t.udp,
                ip_proto::ICMP | ip_proto::ICMPV6 => &t.icmp,
                _ => &t.other,
            }
        };
        let secs = match self.state() {
            FlowState::New => p.new,
            FlowState::Established => p.established,
            FlowState::Closed => p.closed,
        };
        secs.saturating_mul(NS)
    }
}

/// A flow that ended, with why.
#[derive(Clone, Debug)]
pub struct EndedFlow {
    /// The flow.
    pub flow: Flow,
    /// Why it ended.
    pub reason: EndReason,
}

/// Counters of one table.
#[derive(Clone, Debug, Default)]
pub struct FlowStats {
    /// Flows created.
    pub created: u64,
    /// Created, by protocol.
    pub tcp: u64,
    /// UDP flows created.
    pub udp: u64,
    /// ICMP/ICMPv6 flows created.
    pub icmp: u64,
    /// Other protocols.
    pub other: u64,
    /// Ended by timeout.
    pub timed_out: u64,
    /// Times the table was full and emergency eviction ran.
    pub emergency: u64,
    /// Flows evicted to make room (the `flow.max_flows` cap was hit).
    pub evicted: u64,
    /// TCP sessions ended by port reuse.
    pub tcp_reuse: u64,
    /// Most flows held at once.
    pub peak: u64,
}

impl FlowStats {
    /// Adds another table's counters.
    pub fn merge(&mut self, o: &FlowStats) {
        self.created += o.created;
        self.tcp += o.tcp;
        self.udp += o.udp;
        self.icmp += o.icmp;
        self.other += o.other;
        self.timed_out += o.timed_out;
        self.emergency += o.emergency;
        self.evicted += o.evicted;
        self.tcp_reuse += o.tcp_reuse;
        self.peak += o.peak;
    }
}

/// What the flow table needs of a packet.
#[derive(Clone, Copy, Debug)]
pub struct PacketView<'p> {
    /// Capture time.
    pub ts_ns: u64,
    /// Wire bytes.
    pub wire_len: u32,
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Source port (0 if none).
    pub sport: u16,
    /// Destination port (0 if none).
    pub dport: u16,
    /// IP protocol.
    pub proto: u8,
    /// VLAN ids.
    pub vlan: VlanIds,
    /// TCP header, for TCP.
    pub tcp: Option<TcpInfo>,
    /// ICMP type and code, for ICMP.
    pub icmp: Option<(u8, u8)>,
    /// Tunnel layers outside this packet.
    pub tunnels: &'p [TunnelLayer],
}

impl<'p> PacketView<'p> {
    /// The innermost flow of a decoded packet.
    pub fn from_packet(p: &'p Packet<'_>) -> PacketView<'p> {
        let (sport, dport) = p.transport.ports();
        PacketView {
            ts_ns: p.ts_ns,
            wire_len: p.wire_len,
            src: p.src,
            dst: p.dst,
            sport,
            dport,
            proto: p.proto,
            vlan: p.vlan,
            tcp: match p.transport {
                Transport::Tcp(t) => Some(t),
                _ => None,
            },
            icmp: match p.transport {
                Transport::Icmp { ty, code } => Some((ty, code)),
                _ => None,
            },
            tunnels: p.tunnels.as_slice(),
        }
    }

    /// The outer UDP flow of tunnel layer `i` (VXLAN, Geneve, Teredo, GTP-U), which is a real
    /// UDP conversation of its own; `None` for tunnels carried directly in IP.
    pub fn outer_udp(p: &'p Packet<'_>, i: usize) -> Option<PacketView<'p>> {
        let layers = p.tunnels.as_slice();
        let l = layers.get(i)?;
        if l.proto != ip_proto::UDP {
            return None;
        }
        Some(PacketView {
            ts_ns: p.ts_ns,
            wire_len: p.wire_len,
            src: l.src,
            dst: l.dst,
            sport: l.sport,
            dport: l.dport,
            proto: ip_proto::UDP,
            vlan: l.vlan,
            tcp: None,
            icmp: None,
            tunnels: layers.get(..i).unwrap_or_default(),
        })
    }
}

/// ICMP request/reply pairs share a flow: both map to the same key "port".
fn icmp_class(proto: u8, ty: u8) -> u16 {
    let pair = |a: u8, b: u8| u16::from(a.min(b));
    let v4 = proto == ip_proto::ICMP;
    match (v4, ty) {
        (true, 0 | 8) => pair(0, 8),
        (true, 13 | 14) => 13,
        (true, 15 | 16) => 15,
        (true, 17 | 18) => 17,
        (true, 9 | 10) => 9,
        (false, 128 | 129) => 128,
        (false, 133 | 134) => 133,
        (false, 135 | 136) => 135,
        (false, 130 | 131) => 130,
        _ => 256 + u16::from(ty),
    }
}

/// One worker's flows.
#[derive(Debug)]
pub struct FlowTable {
    map: HashMap<FlowKey, Flow>,
    config: FlowConfig,
    stats: FlowStats,
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl FlowTable {
    /// An empty table.
    pub fn new(config: FlowConfig) -> FlowTable {
        FlowTable {
            map: HashMap::new(),
            config,
            stats: FlowStats::default(),
        }
    }

    /// Counters.
    pub fn stats(&self) -> &FlowStats {
        &self.stats
    }

    /// Flows held now.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Accounts a packet to its flow, creating the flow if needed. Flows that end because of
    /// this packet (eviction, port reuse) go to `ended`. Returns the flow and whether the
    /// packet went client→server.
    pub fn update(
        &mut self,
        v: &PacketView<'_>,
        ended: &mut dyn FnMut(EndedFlow),
    ) -> (&mut Flow, bool) {
        let (sport, dport) = match v.icmp {
            Some((ty, _)) => {
                let c = icmp_class(v.proto, ty);
                (c, c)
            }
            None => (v.sport, v.dport),
        };
        let (key, _) = FlowKey::new(v.src, sport, v.dst, dport, v.proto, v.vlan);

        // A SYN on a closed session starts a new one (port reuse).
        if let Some(tcp) = v.tcp {
            if tcp.flags.has(TcpFlags::SYN) && !tcp.flags.has(TcpFlags::ACK) {
                if let Some(f) = self.map.get(&key) {
                    if f.tcp_state.is_closed() {
                        if let Some(flow) = self.map.remove(&key) {
                            self.stats.tcp_reuse += 1;
                            ended(EndedFlow {
                                flow,
                                reason: EndReason::TcpReuse,
                            });
                        }
                    }
                }
            }
        }

        if self.map.len() >= self.config.max_flows && !self.map.contains_key(&key) {
            self.make_room(v.ts_ns, ended);
        }

        let len = self.map.len();
        let stats = &mut self.stats;
        let flow = match self.map.entry(key) {
            Entry::Occupied(o) => o.into_mut(),
            Entry::Vacant(slot) => {
                stats.created += 1;
                stats.peak = stats.peak.max(len as u64 + 1);
                match v.proto {
                    ip_proto::TCP => stats.tcp += 1,
                    ip_proto::UDP => stats.udp += 1,
                    ip_proto::ICMP | ip_proto::ICMPV6 => stats.icmp += 1,
                    _ => stats.other += 1,
                }
                slot.insert(Flow::new(&key, v))
            }
        };
        let to_server = (v.src, v.sport) == flow.client;
        let dir = usize::from(!to_server);
        flow.pkts[dir] += 1;
        flow.bytes[dir] += u64::from(v.wire_len);
        if v.ts_ns > flow.last_ns {
            flow.last_ns = v.ts_ns;
        }
        if let Some(tcp) = v.tcp {
            flow.tcp_flags[dir] |= tcp.flags.0;
            flow.tcp_state = flow
                .tcp_state
                .next(tcp.flags, to_server, &mut flow.fin_from);
        }
        (flow, to_server)
    }

    /// Ends flows idle past their timeout at packet time `now_ns`, oldest first.
    pub fn expire(&mut self, now_ns: u64, ended: &mut dyn FnMut(EndedFlow)) {
        let n = self.drain(now_ns, false, EndReason::Timeout, ended);
        self.stats.timed_out += n as u64;
    }

    /// Ends every flow (shutdown), in start order.
    pub fn flush(&mut self, reason: EndReason, ended: &mut dyn FnMut(EndedFlow)) {
        let mut all: Vec<Flow> = self.map.drain().map(|(_, f)| f).collect();
        all.sort_unstable_by_key(|f| (f.start_ns, f.flow_id));
        for flow in all {
            ended(EndedFlow { flow, reason });
        }
    }

    fn drain(
        &mut self,
        now_ns: u64,
        emergency: bool,
        reason: EndReason,
        ended: &mut dyn FnMut(EndedFlow),
    ) -> usize {
        let t = self.config.timeouts;
        let mut out: Vec<Flow> = self
            .map
            .extract_if(|_, f| now_ns.saturating_sub(f.last_ns) > f.timeout_ns(&t, emergency))
            .map(|(_, f)| f)
            .collect();
        out.sort_unstable_by_key(|f| (f.start_ns, f.flow_id));
        let n = out.len();
        for flow in out {
            ended(EndedFlow { flow, reason });
        }
        n
    }

    /// The table is full: end flows past the (shorter) emergency timeouts, and if that frees
    /// too little, the least recently active sixteenth.
    fn make_room(&mut self, now_ns: u64, ended: &mut dyn FnMut(EndedFlow)) {
        self.stats.emergency += 1;
        let want = (self.config.max_flows / 64).max(1);
        let freed = self.drain(now_ns, true, EndReason::Forced, ended);
        self.stats.evicted += freed as u64;
        if freed >= want {
            return;
        }
        let mut last: Vec<u64> = self.map.values().map(|f| f.last_ns).collect();
        let k = (last.len() / 16).max(1).min(last.len().saturating_sub(1));
        let (_, cut, _) = last.select_nth_unstable(k);
        let cut = *cut;
        let mut out: Vec<Flow> = self
            .map
            .extract_if(|_, f| f.last_ns <= cut)
            .map(|(_, f)| f)
            .collect();
        out.sort_unstable_by_key(|f| (f.start_ns, f.flow_id));
        self.stats.evicted += out.len() as u64;
        for flow in out {
            ended(EndedFlow {
                flow,
                reason: EndReason::Forced,
            });
        }
    }
}

#[cfg(test)]
mod tests;
