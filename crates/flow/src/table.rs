//! The flow table: lookup, accounting, timeouts and the memory cap.

use std::hash::BuildHasher;
use std::net::IpAddr;

use hashbrown::hash_table::Entry;
use hashbrown::{DefaultHashBuilder, HashTable};
use nta_packet::{
    discriminator, ip_proto, mix64, Packet, TcpFlags, TcpInfo, Transport, TunnelKind, TunnelLayer,
    VlanIds,
};

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

impl Timeouts {
    /// The shortest non-zero timeout (seconds), which sets how often the table is scanned.
    fn shortest(&self) -> u64 {
        [self.tcp, self.udp, self.icmp, self.other]
            .iter()
            .flat_map(|p| [p.new, p.established, p.closed])
            .filter(|&t| t > 0)
            .min()
            .unwrap_or(1)
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
///
/// Laid out for the per-packet path: the key and the fields every packet touches fill the
/// first cache line, the counters the second (two memory accesses per lookup, not three).
#[derive(Clone, Debug)]
#[repr(C, align(64))]
pub struct Flow {
    /// Last packet time (ns since epoch).
    pub last_ns: u64,
    key: FlowKey,
    /// OR of TCP flags per direction.
    pub tcp_flags: [u8; 2],
    /// TCP session state.
    pub tcp_state: TcpState,
    fin_from: u8,
    /// The three-way handshake was seen to complete (SYN, SYN-ACK, then the client's ACK).
    handshake: bool,
    /// The client is the key's `a` endpoint.
    client_is_a: bool,
    /// This flow is the outer conversation of a UDP tunnel (VXLAN, Geneve, Teredo, GTP-U).
    pub encapsulates: Option<TunnelKind>,
    /// ICMP type and code of the first packet (for the Community ID).
    pub icmp: Option<(u8, u8)>,
    /// A handle the table's owner may attach (the application layer's state); 0: none.
    /// The table only carries it.
    pub app: u32,
    /// A handle for detection's per-flow state (flowbits, …); 0: none. The table only
    /// carries it.
    pub detect: u32,
    /// Packets per direction.
    pub pkts: [u64; 2],
    /// Wire bytes per direction.
    pub bytes: [u64; 2],
    /// First packet time.
    pub start_ns: u64,
    /// Tunnel layers of the first packet (see [`Flow::tunnels`]); behind one thin pointer,
    /// so that the flow keeps to two cache lines.
    tunnels: Option<Box<Tunnels>>,
}

/// A flow's tunnel layers.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Tunnels(Box<[TunnelLayer]>);

impl Flow {
    /// TCP: the three-way handshake was seen to complete (SYN, SYN-ACK, the client's ACK);
    /// a session picked up mid-stream, or reset during the handshake, never has.
    pub fn handshake_completed(&self) -> bool {
        self.handshake
    }

    /// Tunnel layers of the first packet, outermost first (`None` when not tunnelled).
    pub fn tunnels(&self) -> Option<&[TunnelLayer]> {
        self.tunnels.as_deref().map(|t| &*t.0)
    }

    fn new(key: FlowKey, forward: bool, v: &PacketView<'_>) -> Flow {
        // The client opened the flow; a SYN-ACK seen first was sent by the server.
        let from_server = v
            .tcp
            .is_some_and(|t| t.flags.has(TcpFlags::SYN) && t.flags.has(TcpFlags::ACK));
        Flow {
            key,
            last_ns: v.ts_ns,
            tcp_flags: [0; 2],
            tcp_state: TcpState::None,
            fin_from: 0,
            handshake: false,
            client_is_a: forward != from_server,
            icmp: v.icmp.map(|(t, c, _)| (t, c)),
            app: 0,
            detect: 0,
            pkts: [0; 2],
            bytes: [0; 2],
            start_ns: v.ts_ns,
            tunnels: if v.tunnels.is_empty() {
                None
            } else {
                Some(Box::new(Tunnels(v.tunnels.into())))
            },
            encapsulates: v.encapsulates,
        }
    }

    /// Stable id (EVE `flow_id`), the same whatever the worker count; below 2^52 so that
    /// JSON readers using doubles keep it exact.
    pub fn flow_id(&self) -> u64 {
        (self.key.stable_hash() ^ mix64(self.start_ns)) & ((1u64 << 52) - 1)
    }

    /// Client address and port (ICMP: port 0).
    pub fn client(&self) -> (IpAddr, u16) {
        self.endpoint(self.client_is_a)
    }

    /// Server address and port (ICMP: port 0).
    pub fn server(&self) -> (IpAddr, u16) {
        self.endpoint(!self.client_is_a)
    }

    fn endpoint(&self, a: bool) -> (IpAddr, u16) {
        let (ip, port) = if a {
            self.key.endpoint_a()
        } else {
            self.key.endpoint_b()
        };
        if self.icmp.is_some() {
            (ip, 0)
        } else {
            (ip, port)
        }
    }

    /// IP protocol.
    pub fn proto(&self) -> u8 {
        self.key.proto()
    }

    /// VLAN ids.
    pub fn vlan(&self) -> &VlanIds {
        self.key.vlan()
    }

    /// The key.
    pub fn key(&self) -> &FlowKey {
        &self.key
    }

    /// The flow-level state.
    pub fn state(&self) -> FlowState {
        if self.proto() == ip_proto::TCP {
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
            match self.proto() {
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
    /// TCP flows created.
    pub tcp: u64,
    /// UDP flows created.
    pub udp: u64,
    /// ICMP flows created.
    pub icmpv4: u64,
    /// ICMPv6 flows created.
    pub icmpv6: u64,
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
}

impl FlowStats {
    /// Adds another table's counters.
    pub fn merge(&mut self, o: &FlowStats) {
        self.created += o.created;
        self.tcp += o.tcp;
        self.udp += o.udp;
        self.icmpv4 += o.icmpv4;
        self.icmpv6 += o.icmpv6;
        self.other += o.other;
        self.timed_out += o.timed_out;
        self.emergency += o.emergency;
        self.evicted += o.evicted;
        self.tcp_reuse += o.tcp_reuse;
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
    /// ICMP type, code and echo identifier, for ICMP.
    pub icmp: Option<(u8, u8, u16)>,
    /// Tunnel layers outside this packet.
    pub tunnels: &'p [TunnelLayer],
    /// The tunnel this packet carries, for the outer packet of a UDP tunnel.
    pub encapsulates: Option<TunnelKind>,
}

impl<'p> PacketView<'p> {
    /// The innermost flow of a decoded packet.
    pub fn from_packet(p: &Packet<'p>) -> PacketView<'p> {
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
                Transport::Icmp { ty, code, id } => Some((ty, code, id)),
                _ => None,
            },
            tunnels: p.tunnels,
            encapsulates: None,
        }
    }

    /// The outer UDP flow of tunnel layer `i` (VXLAN, Geneve, Teredo, GTP-U), which is a real
    /// UDP conversation of its own; `None` for tunnels carried directly in IP.
    pub fn outer_udp(p: &Packet<'p>, i: usize) -> Option<PacketView<'p>> {
        let layers = p.tunnels;
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
            encapsulates: Some(l.kind),
        })
    }

    fn key(&self) -> (FlowKey, bool) {
        let tunnel = discriminator(self.tunnels);
        match self.icmp {
            Some((ty, _, id)) => FlowKey::new_icmp(
                self.src,
                self.dst,
                icmp_class(self.proto, ty),
                id,
                self.proto,
                self.vlan,
                tunnel,
            ),
            None => FlowKey::new(
                self.src, self.sport, self.dst, self.dport, self.proto, self.vlan, tunnel,
            ),
        }
    }
}

/// ICMP request/reply pairs share a flow: both map to the same class.
fn icmp_class(proto: u8, ty: u8) -> u16 {
    let v4 = proto == ip_proto::ICMP;
    match (v4, ty) {
        (true, 0 | 8) => 8,
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
    flows: HashTable<Flow>,
    hasher: DefaultHashBuilder,
    config: FlowConfig,
    stats: FlowStats,
    next_scan_ns: u64,
}

impl FlowTable {
    /// An empty table.
    pub fn new(config: FlowConfig) -> FlowTable {
        FlowTable {
            flows: HashTable::new(),
            hasher: DefaultHashBuilder::default(),
            config,
            stats: FlowStats::default(),
            next_scan_ns: 0,
        }
    }

    /// Counters.
    pub fn stats(&self) -> &FlowStats {
        &self.stats
    }

    /// Flows held now.
    pub fn len(&self) -> usize {
        self.flows.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }

    /// Accounts a packet to its flow, creating the flow if needed. Flows that end because of
    /// this packet (eviction, port reuse) go to `ended`. Returns the flow and whether the
    /// packet went client→server.
    pub fn update(
        &mut self,
        v: &PacketView<'_>,
        ended: &mut dyn FnMut(EndedFlow),
    ) -> (&mut Flow, bool) {
        let (key, forward) = v.key();
        let hash = self.hasher.hash_one(key);
        let same = |f: &Flow| f.key == key;

        // A SYN on a closing or closed session starts a new one (port reuse).
        if let Some(tcp) = v.tcp {
            if tcp.flags.has(TcpFlags::SYN) && !tcp.flags.has(TcpFlags::ACK) {
                if let Ok(e) = self.flows.find_entry(hash, same) {
                    let f = e.get();
                    if f.fin_from != 0 || f.tcp_state == TcpState::Closed {
                        let (flow, _) = e.remove();
                        self.stats.tcp_reuse += 1;
                        ended(EndedFlow {
                            flow,
                            reason: EndReason::TcpReuse,
                        });
                    }
                }
            }
        }

        if self.flows.len() >= self.config.max_flows && self.flows.find(hash, same).is_none() {
            self.make_room(v.ts_ns, ended);
        }

        let hasher = &self.hasher;
        let flow = match self.flows.entry(hash, same, |f| hasher.hash_one(f.key)) {
            Entry::Occupied(o) => o.into_mut(),
            Entry::Vacant(slot) => {
                let s = &mut self.stats;
                s.created += 1;
                match v.proto {
                    ip_proto::TCP => s.tcp += 1,
                    ip_proto::UDP => s.udp += 1,
                    ip_proto::ICMP => s.icmpv4 += 1,
                    ip_proto::ICMPV6 => s.icmpv6 += 1,
                    _ => s.other += 1,
                }
                slot.insert(Flow::new(key, forward, v)).into_mut()
            }
        };
        let to_server = forward == flow.client_is_a;
        let dir = usize::from(!to_server);
        flow.pkts[dir] += 1;
        flow.bytes[dir] += u64::from(v.wire_len);
        if v.ts_ns > flow.last_ns {
            flow.last_ns = v.ts_ns;
        }
        if let Some(tcp) = v.tcp {
            flow.tcp_flags[dir] |= tcp.flags.0;
            let before = flow.tcp_state;
            flow.tcp_state = flow
                .tcp_state
                .next(tcp.flags, to_server, &mut flow.fin_from);
            if before == TcpState::SynRecv && flow.tcp_state == TcpState::Established {
                flow.handshake = true;
            }
        }
        (flow, to_server)
    }

    /// Packet time is now `now_ns`: ends flows idle past their timeout, oldest first. The
    /// table is scanned every quarter of the shortest timeout (at least every second), so a
    /// flow ends at most that much after its timeout passed.
    pub fn expire(&mut self, now_ns: u64, ended: &mut dyn FnMut(EndedFlow)) {
        let every = (self.config.timeouts.shortest() * NS / 4).max(NS);
        // Not yet time, unless the clock went back more than one interval (a capture with a
        // stray future timestamp, files given out of order): then scan now and resync.
        if now_ns < self.next_scan_ns && self.next_scan_ns - now_ns <= every {
            return;
        }
        self.next_scan_ns = now_ns.saturating_add(every);
        let n = self.drain(now_ns, false, EndReason::Timeout, ended);
        self.stats.timed_out += n as u64;
    }

    /// Ends every flow (shutdown), in start order. Sorts small keys rather than the flows
    /// themselves, so that flushing a million flows does not double the table's memory.
    pub fn flush(&mut self, reason: EndReason, ended: &mut dyn FnMut(EndedFlow)) {
        let hasher = &self.hasher;
        let mut order: Vec<(u64, u64, u64)> = self
            .flows
            .iter()
            .map(|f| (f.start_ns, f.flow_id(), hasher.hash_one(f.key)))
            .collect();
        order.sort_unstable();
        for (start, id, hash) in order {
            if let Ok(e) = self
                .flows
                .find_entry(hash, |f| f.start_ns == start && f.flow_id() == id)
            {
                let (flow, _) = e.remove();
                ended(EndedFlow { flow, reason });
            }
        }
        // Anything left (identical start and id: not expected) goes out unordered.
        for flow in self.flows.drain() {
            ended(EndedFlow { flow, reason });
        }
        self.flows.shrink_to(0, |f| hasher.hash_one(f.key));
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
            .flows
            .extract_if(|f| now_ns.saturating_sub(f.last_ns) > f.timeout_ns(&t, emergency))
            .collect();
        out.sort_by_cached_key(|f| (f.start_ns, f.flow_id()));
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
        let mut last: Vec<u64> = self.flows.iter().map(|f| f.last_ns).collect();
        let k = (last.len() / 16).max(1).min(last.len().saturating_sub(1));
        let (_, cut, _) = last.select_nth_unstable(k);
        let cut = *cut;
        // Everything idle longer than the cut, then ties at the cut up to k in all: flows
        // that share a timestamp (coarse clocks, pcapng simple packets) must not all go.
        let below = self.flows.iter().filter(|f| f.last_ns < cut).count();
        let mut ties = k.saturating_sub(below);
        let mut out: Vec<Flow> = self
            .flows
            .extract_if(|f| {
                f.last_ns < cut
                    || (f.last_ns == cut && ties > 0 && {
                        ties -= 1;
                        true
                    })
            })
            .collect();
        out.sort_by_cached_key(|f| (f.start_ns, f.flow_id()));
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
