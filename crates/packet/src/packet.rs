//! The decoded view of one packet.

use std::net::{IpAddr, Ipv4Addr};

/// VLAN ids kept per packet (and in the flow key): the three outermost, as Suricata does.
pub const MAX_VLAN_IDS: usize = 3;
/// Encapsulation layers recorded per packet; deeper nesting is an anomaly (`tunnel.too_deep`).
pub const MAX_TUNNEL_DEPTH: usize = 4;

/// IP protocol numbers used across the crates.
pub mod ip_proto {
    /// ICMP.
    pub const ICMP: u8 = 1;
    /// IPv4 encapsulation (IP-in-IP).
    pub const IPIP: u8 = 4;
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
    /// IPv6 encapsulation.
    pub const IPV6: u8 = 41;
    /// GRE.
    pub const GRE: u8 = 47;
    /// ICMPv6.
    pub const ICMPV6: u8 = 58;
    /// SCTP.
    pub const SCTP: u8 = 132;
}

/// Up to [`MAX_VLAN_IDS`] VLAN ids, outermost first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct VlanIds {
    ids: [u16; MAX_VLAN_IDS],
    len: u8,
}

impl VlanIds {
    /// Records a tag; tags past the third are counted by the decoder but not kept.
    pub fn push(&mut self, id: u16) {
        if let Some(slot) = self.ids.get_mut(usize::from(self.len)) {
            *slot = id;
            self.len += 1;
        }
    }

    /// The ids, outermost first.
    pub fn as_slice(&self) -> &[u16] {
        &self.ids[..usize::from(self.len).min(MAX_VLAN_IDS)]
    }

    /// True when the packet had no VLAN tag.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// What carried an inner packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TunnelKind {
    /// GRE (RFC 2784/2890) and enhanced GRE (PPTP, RFC 2637).
    Gre,
    /// ERSPAN type I (GRE 0x88BE without sequence number).
    Erspan1,
    /// ERSPAN type II.
    Erspan2,
    /// ERSPAN type III (GRE 0x22EB).
    Erspan3,
    /// VXLAN (RFC 7348), UDP 4789.
    Vxlan,
    /// Geneve (RFC 8926), UDP 6081.
    Geneve,
    /// Teredo (RFC 4380), IPv6 in UDP 3544.
    Teredo,
    /// GTP-U (3GPP TS 29.281), UDP 2152.
    Gtpu,
    /// IPv4 in IPv4 (RFC 2003).
    Ip4In4,
    /// IPv6 in IPv4 (RFC 4213, protocol 41).
    Ip6In4,
    /// IPv4 in IPv6 (RFC 2473).
    Ip4In6,
    /// IPv6 in IPv6 (RFC 2473).
    Ip6In6,
}

impl TunnelKind {
    /// Name used in events.
    pub fn name(self) -> &'static str {
        match self {
            TunnelKind::Gre => "gre",
            TunnelKind::Erspan1 => "erspan1",
            TunnelKind::Erspan2 => "erspan2",
            TunnelKind::Erspan3 => "erspan3",
            TunnelKind::Vxlan => "vxlan",
            TunnelKind::Geneve => "geneve",
            TunnelKind::Teredo => "teredo",
            TunnelKind::Gtpu => "gtpu",
            TunnelKind::Ip4In4 => "ipip",
            TunnelKind::Ip6In4 => "6in4",
            TunnelKind::Ip4In6 => "4in6",
            TunnelKind::Ip6In6 => "6in6",
        }
    }
}

/// One encapsulation layer crossed on the way to the inner packet: the outer addresses of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TunnelLayer {
    /// The encapsulation.
    pub kind: TunnelKind,
    /// Outer source address.
    pub src: IpAddr,
    /// Outer destination address.
    pub dst: IpAddr,
    /// Outer IP protocol (UDP for VXLAN/Geneve/Teredo/GTP-U, GRE, 4 or 41).
    pub proto: u8,
    /// Outer source port (UDP tunnels), else 0.
    pub sport: u16,
    /// Outer destination port (UDP tunnels), else 0.
    pub dport: u16,
    /// VLAN ids of the outer frame.
    pub vlan: VlanIds,
}

impl TunnelLayer {
    const EMPTY: TunnelLayer = TunnelLayer {
        kind: TunnelKind::Gre,
        src: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        dst: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        proto: 0,
        sport: 0,
        dport: 0,
        vlan: VlanIds {
            ids: [0; MAX_VLAN_IDS],
            len: 0,
        },
    };
}

/// The tunnel layers of a packet, outermost first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tunnels {
    layers: [TunnelLayer; MAX_TUNNEL_DEPTH],
    len: u8,
}

impl Default for Tunnels {
    fn default() -> Self {
        Tunnels {
            layers: [TunnelLayer::EMPTY; MAX_TUNNEL_DEPTH],
            len: 0,
        }
    }
}

impl Tunnels {
    /// Adds a layer; returns false when the stack is full.
    pub fn push(&mut self, layer: TunnelLayer) -> bool {
        match self.layers.get_mut(usize::from(self.len)) {
            Some(slot) => {
                *slot = layer;
                self.len += 1;
                true
            }
            None => false,
        }
    }

    /// Removes every layer.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Keeps the `depth` outermost layers.
    pub fn truncate(&mut self, depth: usize) {
        self.len = self.len.min(depth.min(MAX_TUNNEL_DEPTH) as u8);
    }

    /// Number of layers.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// A non-zero digest of the layers' endpoints (the same for both directions), or 0 when
    /// not tunnelled: the same inner flow seen through two different tunnels is two flows.
    pub fn discriminator(&self) -> u32 {
        discriminator(self.as_slice())
    }

    /// The layers, outermost first.
    pub fn as_slice(&self) -> &[TunnelLayer] {
        &self.layers[..usize::from(self.len).min(MAX_TUNNEL_DEPTH)]
    }

    /// True when the packet was not tunnelled.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// See [`Tunnels::discriminator`].
#[inline]
pub fn discriminator(layers: &[TunnelLayer]) -> u32 {
    if layers.is_empty() {
        return 0;
    }
    tunnel_digest(layers)
}

#[inline(never)]
fn tunnel_digest(layers: &[TunnelLayer]) -> u32 {
    let mut h = 0x9E37_79B9_7F4A_7C15u64;
    for l in layers {
        let (a, b) = (ip_word(l.src), ip_word(l.dst));
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        h = crate::mix64(h ^ lo);
        h = crate::mix64(h ^ hi ^ (l.kind as u64) << 56);
    }
    (h as u32) | 1
}

fn ip_word(ip: IpAddr) -> u64 {
    match ip {
        IpAddr::V4(v) => u64::from(u32::from(v)),
        IpAddr::V6(v) => {
            let o = u128::from(v);
            (o as u64) ^ ((o >> 64) as u64).rotate_left(17)
        }
    }
}

/// TCP flag bits as on the wire (byte 13 of the header).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// PSH.
    pub const PSH: u8 = 0x08;
    /// ACK.
    pub const ACK: u8 = 0x10;
    /// URG.
    pub const URG: u8 = 0x20;
    /// ECE.
    pub const ECE: u8 = 0x40;
    /// CWR.
    pub const CWR: u8 = 0x80;

    /// Whether all of `bits` are set.
    #[inline]
    pub fn has(self, bits: u8) -> bool {
        self.0 & bits == bits
    }
}

/// TCP header fields the flow stage needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpInfo {
    /// Source port.
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number.
    pub ack: u32,
    /// Flags.
    pub flags: TcpFlags,
    /// Window.
    pub window: u16,
}

/// The transport layer of the innermost IP packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// TCP.
    Tcp(TcpInfo),
    /// UDP.
    Udp {
        /// Source port.
        sport: u16,
        /// Destination port.
        dport: u16,
    },
    /// SCTP (ports only).
    Sctp {
        /// Source port.
        sport: u16,
        /// Destination port.
        dport: u16,
    },
    /// ICMP for IPv4 or ICMPv6 (by the packet's `proto`).
    Icmp {
        /// Type.
        ty: u8,
        /// Code.
        code: u8,
        /// Echo identifier for echo request/reply, else 0.
        id: u16,
    },
    /// Any other IP protocol.
    Other,
}

impl Transport {
    /// Source and destination port, (0, 0) for protocols without ports.
    pub fn ports(&self) -> (u16, u16) {
        match *self {
            Transport::Tcp(t) => (t.sport, t.dport),
            Transport::Udp { sport, dport } | Transport::Sctp { sport, dport } => (sport, dport),
            Transport::Icmp { .. } | Transport::Other => (0, 0),
        }
    }
}

/// One decoded packet: the innermost IP flow it belongs to, with borrowed payload.
#[derive(Clone, Debug)]
pub struct Packet<'a> {
    /// Capture time, nanoseconds since the Unix epoch.
    pub ts_ns: u64,
    /// Bytes on the wire (for a reassembled datagram: all its fragments' frames).
    pub wire_len: u32,
    /// VLAN ids of the frame that carried the innermost IP packet.
    pub vlan: VlanIds,
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// IP protocol number (after IPv6 extension headers).
    pub proto: u8,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// Transport header fields.
    pub transport: Transport,
    /// Transport payload (may be cut short by the capture's snap length).
    pub payload: &'a [u8],
    /// The capture cut the frame short (snap length), so `payload` may be incomplete.
    pub truncated: bool,
    /// This packet is an IP datagram reassembled from fragments.
    pub reassembled: bool,
    /// Tunnel layers crossed, outermost first.
    pub tunnels: &'a [TunnelLayer],
}
