//! One flow of the mix: its endpoints, its plan, and the state that emits its
//! packets one at a time in protocol order.

use crate::addr::{mac_for, AddressPlan, Addrs, RESOLVERS};
use crate::app::{Service, Session};
use crate::content::Message;
use crate::dns::{DnsExchange, DNS_PORT};
use crate::frame::{
    Frame, TcpFields, L4, PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP, TCP_ACK, TCP_FIN,
    TCP_PSH, TCP_SYN,
};
use crate::rng::SplitMix64;

/// Percentage of flows over IPv6.
const IPV6_PERCENT: u64 = 5;
/// Largest number of packets planned for one flow, so that lengths and
/// offsets stay far inside `u32`.
pub(crate) const MAX_FLOW_PACKETS: u64 = 1_000_000;
/// MSS that fills a 1500-byte MTU.
const MSS_V4: u32 = 1460;
const MSS_V6: u32 = 1440;
/// ICMP echo pairs per flow: `1..=MAX_ECHO_PAIRS`.
const MAX_ECHO_PAIRS: u64 = 4;
/// Linux ping payload: 8-byte timestamp + bytes 0x10..0x37.
const ECHO_PAYLOAD_LEN: usize = 56;
const ICMP_ECHO_REQUEST: u8 = 8;
const ICMP_ECHO_REPLY: u8 = 0;
const ICMPV6_ECHO_REQUEST: u8 = 128;
const ICMPV6_ECHO_REPLY: u8 = 129;
/// Handshake (3) and teardown (3) of every TCP session.
const TCP_CONTROL_PACKETS: u64 = 6;

/// Transport protocol of a flow, for the summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Tcp,
    Udp,
    Icmp,
}

/// Both endpoints and the per-direction IP header state.
#[derive(Clone, Debug)]
struct Conn {
    addrs: Addrs,
    client_mac: [u8; 6],
    server_mac: [u8; 6],
    client_port: u16,
    server_port: u16,
    /// Client-side TTL is the OS default (the sensor sits near clients);
    /// server-side TTL is its default minus the hops travelled.
    client_ttl: u8,
    server_ttl: u8,
    client_ip_id: u16,
    server_ip_id: u16,
    client_label: u32,
    server_label: u32,
}

/// Which host a flow talks to.
enum Peer {
    Server(u64),
    Resolver(u64),
}

impl Conn {
    fn new(
        plan: &AddressPlan,
        index: u64,
        peer: Peer,
        server_port: u16,
        rng: &mut SplitMix64,
    ) -> Self {
        let (host, client_port) = plan.client(index);
        let addrs = if rng.chance(IPV6_PERCENT) {
            let server = match peer {
                Peer::Server(s) => AddressPlan::server_v6(s),
                Peer::Resolver(r) => AddressPlan::resolver_v6(r),
            };
            Addrs::V6 {
                client: AddressPlan::client_v6(host),
                server,
            }
        } else {
            let server = match peer {
                Peer::Server(s) => AddressPlan::server_v4(s),
                Peer::Resolver(r) => AddressPlan::resolver_v4(r),
            };
            Addrs::V4 {
                client: AddressPlan::client_v4(host),
                server,
            }
        };
        let (client_mac, server_mac) = match &addrs {
            Addrs::V4 { client, server } => (mac_for(client), mac_for(server)),
            Addrs::V6 { client, server } => (mac_for(client), mac_for(server)),
        };
        let server_default_ttl = if rng.chance(30) { 128 } else { 64 };
        Self {
            addrs,
            client_mac,
            server_mac,
            client_port,
            server_port,
            client_ttl: 64,
            server_ttl: server_default_ttl - rng.range(4, 20) as u8,
            client_ip_id: rng.next_u32() as u16,
            server_ip_id: rng.next_u32() as u16,
            client_label: rng.next_u32() & 0xF_FFFF,
            server_label: rng.next_u32() & 0xF_FFFF,
        }
    }

    fn v6(&self) -> bool {
        matches!(self.addrs, Addrs::V6 { .. })
    }

    fn ports(&self, from_client: bool) -> (u16, u16) {
        if from_client {
            (self.client_port, self.server_port)
        } else {
            (self.server_port, self.client_port)
        }
    }

    /// Starts a frame in the given direction.
    fn begin(&mut self, frame: &mut Frame, from_client: bool, proto: u8) {
        let (src_mac, dst_mac, ttl, id, label) = if from_client {
            self.client_ip_id = self.client_ip_id.wrapping_add(1);
            let c = &*self;
            (
                &c.client_mac,
                &c.server_mac,
                c.client_ttl,
                c.client_ip_id,
                c.client_label,
            )
        } else {
            self.server_ip_id = self.server_ip_id.wrapping_add(1);
            let c = &*self;
            (
                &c.server_mac,
                &c.client_mac,
                c.server_ttl,
                c.server_ip_id,
                c.server_label,
            )
        };
        match self.addrs {
            Addrs::V4 { client, server } => {
                let (src, dst) = if from_client {
                    (client, server)
                } else {
                    (server, client)
                };
                frame.begin_v4(src_mac, dst_mac, src, dst, proto, ttl, id);
            }
            Addrs::V6 { client, server } => {
                let (src, dst) = if from_client {
                    (client, server)
                } else {
                    (server, client)
                };
                frame.begin_v6(src_mac, dst_mac, src, dst, proto, ttl, label);
            }
        }
    }
}

/// Where a TCP session is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TcpPhase {
    Syn,
    SynAck,
    HandshakeAck,
    Data,
    ClientFin,
    ServerFin,
    LastAck,
    Done,
}

/// TCP options of a SYN: MSS, NOP, NOP, SACK permitted, NOP, window scale.
fn syn_options(mss: u32, window_scale: u8) -> [u8; 12] {
    let mss = (mss as u16).to_be_bytes();
    [2, 4, mss[0], mss[1], 1, 1, 4, 2, 1, 3, 3, window_scale]
}

#[derive(Clone, Debug)]
pub(crate) struct TcpFlow {
    conn: Conn,
    script: Vec<Message>,
    mss: u32,
    salt: u32,
    client_next: u32,
    server_next: u32,
    client_window: u16,
    server_window: u16,
    phase: TcpPhase,
    /// Current message, bytes of it sent, segments of it sent.
    message: usize,
    sent: u32,
    segments: u32,
    /// The receiver of the current message owes a pure ACK.
    ack_due: bool,
}

impl TcpFlow {
    fn new(conn: Conn, script: Vec<Message>, rng: &mut SplitMix64) -> Self {
        let mss = if conn.v6() { MSS_V6 } else { MSS_V4 };
        Self {
            conn,
            script,
            mss,
            salt: rng.next_u32(),
            client_next: rng.next_u32(),
            server_next: rng.next_u32(),
            client_window: 501 + rng.below(12) as u16,
            server_window: 250 + rng.below(260) as u16,
            phase: TcpPhase::Syn,
            message: 0,
            sent: 0,
            segments: 0,
            ack_due: false,
        }
    }

    /// Whether the last segment of message `i` is acknowledged by the
    /// receiver's next transmission (a reply, or the closing FIN exchange)
    /// rather than by a pure ACK.
    fn piggybacked(&self, i: usize) -> bool {
        match (self.script.get(i), self.script.get(i + 1)) {
            (Some(m), Some(next)) => next.from_client != m.from_client,
            _ => true,
        }
    }

    /// Exactly the number of packets [`TcpFlow::emit`] will produce.
    fn packet_count(&self) -> u64 {
        let mss = u64::from(self.mss);
        let data: u64 = (0..self.script.len())
            .map(|i| {
                let len = self.script.get(i).map_or(0, |m| u64::from(m.len()));
                let segments = len.div_ceil(mss);
                let final_ack = segments % 2 == 1 && !self.piggybacked(i);
                segments + segments / 2 + u64::from(final_ack)
            })
            .sum();
        TCP_CONTROL_PACKETS + data
    }

    fn segment(
        &mut self,
        frame: &mut Frame,
        from_client: bool,
        flags: u8,
        payload: Option<(usize, u32, u32)>,
    ) {
        let (seq, ack, window) = if from_client {
            (self.client_next, self.server_next, self.client_window)
        } else {
            (self.server_next, self.client_next, self.server_window)
        };
        let (src_port, dst_port) = self.conn.ports(from_client);
        let syn_opts;
        let (options, ack, window): (&[u8], u32, u16) = if flags & TCP_SYN != 0 {
            let (scale, window) = if from_client { (7, 64240) } else { (9, 65160) };
            syn_opts = syn_options(self.mss, scale);
            (
                &syn_opts,
                if flags & TCP_ACK != 0 { ack } else { 0 },
                window,
            )
        } else {
            (&[], ack, window)
        };
        self.conn.begin(frame, from_client, PROTO_TCP);
        frame.tcp_header(&TcpFields {
            src_port,
            dst_port,
            seq,
            ack,
            flags,
            window,
            options,
        });
        let mut advance = u32::from(flags & (TCP_SYN | TCP_FIN) != 0);
        if let Some((i, off, n)) = payload {
            if let Some(m) = self.script.get(i) {
                m.write(off, n, self.salt, frame.out());
            }
            advance += n;
        }
        if from_client {
            self.client_next = self.client_next.wrapping_add(advance);
        } else {
            self.server_next = self.server_next.wrapping_add(advance);
        }
        frame.finish(L4::Tcp);
    }

    fn next_message(&mut self) {
        self.message += 1;
        self.sent = 0;
        self.segments = 0;
        if self.message >= self.script.len() {
            self.phase = TcpPhase::ClientFin;
        }
    }

    /// One data segment, or the pure ACK the receiver owes. Receivers ACK
    /// every second segment (delayed ACK) and the end of a message unless
    /// their next transmission carries the ACK.
    fn data(&mut self, frame: &mut Frame) {
        let i = self.message;
        let Some((from_client, len)) = self.script.get(i).map(|m| (m.from_client, m.len())) else {
            // Unreachable: Data is entered only with a message pending.
            self.segment(frame, true, TCP_ACK, None);
            self.phase = TcpPhase::ClientFin;
            return;
        };
        if self.ack_due {
            self.ack_due = false;
            self.segment(frame, !from_client, TCP_ACK, None);
            if self.sent == len {
                self.next_message();
            }
            return;
        }
        let n = (len - self.sent).min(self.mss);
        let last = self.sent + n == len;
        let flags = if last { TCP_ACK | TCP_PSH } else { TCP_ACK };
        self.segment(frame, from_client, flags, Some((i, self.sent, n)));
        self.sent += n;
        self.segments += 1;
        if self.segments.is_multiple_of(2) || (last && !self.piggybacked(i)) {
            self.ack_due = true;
        } else if last {
            self.next_message();
        }
    }

    /// Emits the next packet; true when it was the last one.
    fn emit(&mut self, frame: &mut Frame) -> bool {
        match self.phase {
            TcpPhase::Syn => {
                self.segment(frame, true, TCP_SYN, None);
                self.phase = TcpPhase::SynAck;
            }
            TcpPhase::SynAck => {
                self.segment(frame, false, TCP_SYN | TCP_ACK, None);
                self.phase = TcpPhase::HandshakeAck;
            }
            TcpPhase::HandshakeAck => {
                self.segment(frame, true, TCP_ACK, None);
                self.phase = if self.script.is_empty() {
                    TcpPhase::ClientFin
                } else {
                    TcpPhase::Data
                };
            }
            TcpPhase::Data => self.data(frame),
            TcpPhase::ClientFin => {
                self.segment(frame, true, TCP_FIN | TCP_ACK, None);
                self.phase = TcpPhase::ServerFin;
            }
            TcpPhase::ServerFin => {
                self.segment(frame, false, TCP_FIN | TCP_ACK, None);
                self.phase = TcpPhase::LastAck;
            }
            TcpPhase::LastAck | TcpPhase::Done => {
                self.segment(frame, true, TCP_ACK, None);
                self.phase = TcpPhase::Done;
            }
        }
        self.phase == TcpPhase::Done
    }
}

#[derive(Clone, Debug)]
pub(crate) struct DnsFlow {
    conn: Conn,
    exchange: DnsExchange,
    answered: bool,
}

impl DnsFlow {
    fn emit(&mut self, frame: &mut Frame) -> bool {
        let from_client = !self.answered;
        let (src_port, dst_port) = self.conn.ports(from_client);
        self.conn.begin(frame, from_client, PROTO_UDP);
        frame.udp_header(src_port, dst_port);
        let payload = if from_client {
            &self.exchange.query
        } else {
            &self.exchange.response
        };
        frame.out().extend_from_slice(payload);
        frame.finish(L4::Udp);
        let done = self.answered;
        self.answered = true;
        done
    }
}

#[derive(Clone, Debug)]
pub(crate) struct IcmpFlow {
    conn: Conn,
    pairs: u16,
    sent: u16,
    stamp: [u8; 8],
}

impl IcmpFlow {
    fn emit(&mut self, frame: &mut Frame) -> bool {
        let request = self.sent.is_multiple_of(2);
        let seq = self.sent / 2 + 1;
        let (proto, l4, kind) = match (self.conn.v6(), request) {
            (false, true) => (PROTO_ICMP, L4::Icmpv4, ICMP_ECHO_REQUEST),
            (false, false) => (PROTO_ICMP, L4::Icmpv4, ICMP_ECHO_REPLY),
            (true, true) => (PROTO_ICMPV6, L4::Icmpv6, ICMPV6_ECHO_REQUEST),
            (true, false) => (PROTO_ICMPV6, L4::Icmpv6, ICMPV6_ECHO_REPLY),
        };
        self.conn.begin(frame, request, proto);
        let out = frame.out();
        out.extend_from_slice(&[kind, 0, 0, 0]);
        out.extend_from_slice(&self.conn.client_port.to_be_bytes());
        out.extend_from_slice(&seq.to_be_bytes());
        // The timestamp advances a second per echo, as `ping` does.
        let mut stamp = self.stamp;
        stamp[0] = stamp[0].wrapping_add(seq as u8);
        out.extend_from_slice(&stamp);
        out.extend((0x10u8..).take(ECHO_PAYLOAD_LEN - stamp.len()));
        frame.finish(l4);
        self.sent += 1;
        self.sent >= 2 * self.pairs
    }
}

/// A flow of any kind.
#[derive(Clone, Debug)]
pub(crate) enum Flow {
    Tcp(TcpFlow),
    Dns(DnsFlow),
    Icmp(IcmpFlow),
}

impl Flow {
    /// Plans flow number `index` of the mix. `target` is the mean packets
    /// per flow the mix still needs; TCP sessions absorb the difference
    /// between it and the small fixed DNS and ICMP flows.
    pub(crate) fn plan(plan: &AddressPlan, index: u64, seed: u64, target: u64) -> Self {
        let mut rng = SplitMix64::new(seed);
        match rng.below(100) {
            0..60 => {
                // mean = 0.6 * tcp + 0.3 * 2 (DNS) + 0.1 * 5 (ICMP)
                let tcp_mean = ((target.saturating_mul(10)).saturating_sub(11) / 6)
                    .clamp(1, MAX_FLOW_PACKETS / 4);
                // Heavy-ish tail: many short sessions, a few long ones.
                let target_packets = 1 + rng.skewed(4 * (tcp_mean - 1) + 1);
                Self::tcp(plan, index, &mut rng, target_packets)
            }
            60..90 => Self::dns(plan, index, &mut rng),
            _ => {
                let server = plan.pick_server(&mut rng);
                let conn = Conn::new(plan, index, Peer::Server(server), 0, &mut rng);
                Flow::Icmp(IcmpFlow {
                    conn,
                    pairs: rng.range(1, MAX_ECHO_PAIRS) as u16,
                    sent: 0,
                    stamp: rng.bytes::<8>(),
                })
            }
        }
    }

    /// Plans flow `index` for the concurrent mode: only its first packet (a
    /// TCP SYN, or a DNS query for 30%) will be emitted.
    pub(crate) fn opening(plan: &AddressPlan, index: u64, seed: u64) -> Self {
        let mut rng = SplitMix64::new(seed);
        if rng.chance(70) {
            Self::tcp(plan, index, &mut rng, 0)
        } else {
            Self::dns(plan, index, &mut rng)
        }
    }

    /// A TCP session; `target_packets == 0` plans no data at all.
    fn tcp(plan: &AddressPlan, index: u64, rng: &mut SplitMix64, target_packets: u64) -> Self {
        let service = Service::pick(rng);
        let site = plan.pick_server(rng);
        let conn = Conn::new(plan, index, Peer::Server(site), service.port(), rng);
        let session = Session {
            service,
            target_packets,
            mss: if conn.v6() { MSS_V6 } else { MSS_V4 },
            site,
            client: plan.client(index).0,
        };
        let script = if target_packets == 0 {
            Vec::new()
        } else {
            session.script(rng)
        };
        Flow::Tcp(TcpFlow::new(conn, script, rng))
    }

    fn dns(plan: &AddressPlan, index: u64, rng: &mut SplitMix64) -> Self {
        let resolver = rng.below(RESOLVERS);
        let conn = Conn::new(plan, index, Peer::Resolver(resolver), DNS_PORT, rng);
        let exchange = DnsExchange::new(rng, plan, conn.v6());
        Flow::Dns(DnsFlow {
            conn,
            exchange,
            answered: false,
        })
    }

    pub(crate) fn kind(&self) -> Kind {
        match self {
            Flow::Tcp(_) => Kind::Tcp,
            Flow::Dns(_) => Kind::Udp,
            Flow::Icmp(_) => Kind::Icmp,
        }
    }

    /// Packets this flow emits in full.
    pub(crate) fn packet_count(&self) -> u64 {
        match self {
            Flow::Tcp(t) => t.packet_count(),
            Flow::Dns(_) => 2,
            Flow::Icmp(i) => 2 * u64::from(i.pairs),
        }
    }

    /// Writes the flow's next packet into `frame`; true when it was the last.
    pub(crate) fn emit(&mut self, frame: &mut Frame) -> bool {
        match self {
            Flow::Tcp(t) => t.emit(frame),
            Flow::Dns(d) => d.emit(frame),
            Flow::Icmp(i) => i.emit(frame),
        }
    }
}
