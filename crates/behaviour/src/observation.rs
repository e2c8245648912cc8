//! What the engine tells the detectors: owned, `Send` facts about flows, packets and
//! application events, stamped with packet time. Workers batch them to one aggregator thread.

use std::net::IpAddr;

/// One fact about the traffic. `ts_ns` is packet time (ns since the epoch).
///
/// Which detectors read which observation:
///
/// | observation | detectors |
/// |---|---|
/// | `FlowStart` (TCP, UDP) | `port_scan`, `host_sweep`, `beaconing` |
/// | `FlowEnd` (TCP) | `brute_force` (short sessions), `syn_flood` (failed handshakes) |
/// | `Packets` `Syn`, `SynAck` | `syn_flood` |
/// | `Packets` `Udp` (both directions) | `udp_flood` |
/// | `Packets` `IcmpEchoRequest` | `icmp_flood`, `host_sweep` (ping sweeps) |
/// | `DnsQuery` | `dns_tunnel` |
/// | `AuthFailure` | `brute_force` |
#[derive(Clone, Debug, PartialEq)]
pub enum Observation {
    /// The first packet of a new flow. `src` is the initiator (the client).
    FlowStart {
        /// Time of the flow's first packet.
        ts_ns: u64,
        /// IP protocol number (6 TCP, 17 UDP, …).
        proto: u8,
        /// Client address.
        src: IpAddr,
        /// Client port (0 without ports).
        sport: u16,
        /// Server address.
        dst: IpAddr,
        /// Server port (0 without ports).
        dport: u16,
    },
    /// A flow ended (timeout, close, eviction or shutdown).
    FlowEnd {
        /// Time of the flow's **last packet**, not the time its timeout fired: session lengths
        /// are measured as `ts_ns - start_ns`.
        ts_ns: u64,
        /// IP protocol number.
        proto: u8,
        /// Client address.
        src: IpAddr,
        /// Client port.
        sport: u16,
        /// Server address.
        dst: IpAddr,
        /// Server port.
        dport: u16,
        /// Time of the flow's first packet.
        start_ns: u64,
        /// Packets `[to_server, to_client]`.
        pkts: [u64; 2],
        /// Bytes `[to_server, to_client]`.
        bytes: [u64; 2],
        /// How the TCP handshake went (TCP flows only).
        tcp: Option<TcpSummary>,
        /// The application protocol recognised, if any (`"ssh"`, `"http"`, …).
        app_proto: Option<Box<str>>,
    },
    /// `count` packets of one kind from `src` towards `dst`: one packet per call, or an
    /// aggregate (for instance per second and address pair) stamped with the aggregate's time.
    Packets {
        /// Time of the packets (of the last one, for an aggregate).
        ts_ns: u64,
        /// What the packets are.
        kind: PacketKind,
        /// Sender.
        src: IpAddr,
        /// Receiver.
        dst: IpAddr,
        /// Number of packets (0 is ignored).
        count: u64,
        /// Their bytes on the wire.
        bytes: u64,
    },
    /// A DNS query (the request, not the answer).
    DnsQuery {
        /// Time of the query.
        ts_ns: u64,
        /// The client (or forwarding resolver) asking.
        src: IpAddr,
        /// The server asked.
        dst: IpAddr,
        /// The name asked, dotted (`www.example.com`, a trailing dot is allowed).
        qname: Box<str>,
        /// The query type (1 A, 16 TXT, 10 NULL, 28 AAAA, …).
        qtype: u16,
    },
    /// An application reported a failed login: an HTTP 401 or 403 reply, an FTP 530 (what
    /// NTA's parsers report today; SMTP 535 or POP3 `-ERR` would be others).
    AuthFailure {
        /// Time of the failure reply.
        ts_ns: u64,
        /// The client that tried to log in.
        src: IpAddr,
        /// The server.
        dst: IpAddr,
        /// The server's port.
        dport: u16,
        /// The service: `"http"`, `"ftp"`, `"smtp"`, `"ssh"`, `"rdp"`, …
        service: Box<str>,
    },
}

impl Observation {
    /// The observation's packet time.
    pub fn ts_ns(&self) -> u64 {
        match *self {
            Observation::FlowStart { ts_ns, .. }
            | Observation::FlowEnd { ts_ns, .. }
            | Observation::Packets { ts_ns, .. }
            | Observation::DnsQuery { ts_ns, .. }
            | Observation::AuthFailure { ts_ns, .. } => ts_ns,
        }
    }
}

/// The kinds of packet counted by [`Observation::Packets`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PacketKind {
    /// A TCP SYN without ACK (a connection attempt), client to server.
    Syn,
    /// A TCP SYN-ACK, server to client: `src` is the server.
    SynAck,
    /// A UDP datagram, in either direction: `udp_flood` counts the datagrams a destination
    /// sends back as its replies.
    Udp,
    /// An ICMP or ICMPv6 echo request.
    IcmpEchoRequest,
}

/// How a TCP flow's handshake went, as seen by the sensor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TcpSummary {
    /// The client's SYN was seen.
    pub syn: bool,
    /// The server's SYN-ACK was seen.
    pub syn_ack: bool,
    /// The handshake completed (the client acknowledged the SYN-ACK).
    pub established: bool,
    /// A RST was seen in either direction.
    pub rst: bool,
}
