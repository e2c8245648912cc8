//! The layer walk: link → L2.5 → IP → transport, following tunnels to the innermost flow.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use etherparse::{
    ArpPacketSlice, Ethernet2HeaderSlice, Icmpv4Slice, Icmpv6Slice, LaxIpv4Slice, LaxIpv6Slice,
    SingleVlanHeaderSlice, TcpSlice, UdpSlice,
};

use crate::counters::{Anomaly, DecodeCounters, Seen};
use crate::defrag::{DefragConfig, Defragmenter, FragId, Fragment};
use crate::linktype::LinkType;
use crate::packet::{
    ip_proto, Packet, TcpFlags, TcpInfo, Transport, TunnelKind, TunnelLayer, Tunnels, VlanIds,
};

/// 802.1Q/802.1ad tags followed in one frame; real stacks are 1–3 deep, more is hostile.
const MAX_VLAN_TAGS: usize = 16;
/// MPLS labels followed; label stacks in practice are a handful deep.
const MAX_MPLS_LABELS: usize = 16;
/// Total layer steps per frame, a backstop against encapsulation loops.
const MAX_STEPS: usize = 64;
/// NFLOG TLVs examined per frame (a frame has about ten).
const MAX_NFLOG_TLVS: usize = 64;
/// GTP-U extension headers followed (TS 29.281 chains are short).
const MAX_GTP_EXT: usize = 8;

mod ethertype {
    pub const IPV4: u16 = 0x0800;
    pub const ARP: u16 = 0x0806;
    pub const VLAN: u16 = 0x8100;
    pub const QINQ: u16 = 0x88A8;
    pub const QINQ_OLD1: u16 = 0x9100;
    pub const QINQ_OLD2: u16 = 0x9200;
    pub const IPV6: u16 = 0x86DD;
    pub const MPLS_UC: u16 = 0x8847;
    pub const MPLS_MC: u16 = 0x8848;
    pub const PPPOE_DISC: u16 = 0x8863;
    pub const PPPOE_SESS: u16 = 0x8864;
    pub const TEB: u16 = 0x6558;
    pub const ERSPAN_1_2: u16 = 0x88BE;
    pub const ERSPAN_3: u16 = 0x22EB;
    pub const PPP: u16 = 0x880B;
}

/// Well-known UDP ports of the tunnels the decoder follows.
#[derive(Clone, Debug)]
pub struct DecoderConfig {
    /// VXLAN destination port (IANA 4789); 0 disables.
    pub vxlan_port: u16,
    /// Geneve destination port (IANA 6081); 0 disables.
    pub geneve_port: u16,
    /// GTP-U port (2152); 0 disables.
    pub gtpu_port: u16,
    /// Teredo port (3544), as Suricata and Wireshark default; 0 disables.
    pub teredo_port: u16,
    /// Fragment reassembly limits.
    pub defrag: DefragConfig,
}

impl DecoderConfig {
    /// Whether a UDP datagram between these ports may carry a tunnel the decoder follows
    /// (VXLAN and Geneve by destination port, GTP-U and Teredo by either).
    #[inline]
    pub fn is_tunnel_port(&self, sport: u16, dport: u16) -> bool {
        let dst = |p: u16| p != 0 && dport == p;
        let either = |p: u16| p != 0 && (dport == p || sport == p);
        dst(self.vxlan_port)
            || dst(self.geneve_port)
            || either(self.gtpu_port)
            || either(self.teredo_port)
    }
}

impl Default for DecoderConfig {
    fn default() -> Self {
        DecoderConfig {
            vxlan_port: 4789,
            geneve_port: 6081,
            gtpu_port: 2152,
            teredo_port: 3544,
            defrag: DefragConfig::default(),
        }
    }
}

/// Decodes frames; one per worker (it owns the fragment tables and counters).
#[derive(Debug)]
pub struct Decoder {
    counters: DecodeCounters,
    defrag: Defragmenter,
    config: DecoderConfig,
    /// Tunnel layers of the last packet (kept here so `Packet` stays small to move).
    tunnels: Tunnels,
}

/// Where the walk goes next.
enum Next<'a> {
    Link(LinkType, &'a [u8]),
    Ether(&'a [u8]),
    EtherType(u16, &'a [u8]),
    Ppp(u16, &'a [u8]),
    Mpls(&'a [u8]),
    Ip(&'a [u8]),
    Ipv4(&'a [u8]),
    Ipv6(&'a [u8]),
    /// The packet is complete in `Walk::packet`.
    Final,
}

/// Why the walk stopped without a packet.
enum Stop {
    /// Nothing to track: not IP.
    Done,
    /// A fragment, held for reassembly (never replaced by the tunnel's outer packet).
    Held,
    /// A malformed layer (its anomaly is counted).
    Bad,
    /// A datagram was completed; it sits in the defragmenter's output buffer.
    Reassembled,
}

/// The per-frame state carried down the layers.
#[derive(Clone, Copy)]
struct Ctx {
    ts_ns: u64,
    wire_len: u32,
    truncated: bool,
    vlan: VlanIds,
    vlan_tags: usize,
    reassembled: bool,
}

struct Walk<'a> {
    counters: &'a mut DecodeCounters,
    defrag: Option<&'a mut Defragmenter>,
    config: &'a DecoderConfig,
    /// The decoder's scratch stack of tunnel layers, emptied per frame.
    tunnels: &'a mut Tunnels,
    ctx: Ctx,
    packet: Option<Packet<'a>>,
    /// The outer packet of the innermost tunnel entered, with the tunnel depth outside it:
    /// what is tracked when the inside turns out not to decode, so that traffic dressed up
    /// as a tunnel still shows as the conversation it is.
    fallback: Option<(Packet<'a>, usize)>,
}

fn be16(d: &[u8], off: usize) -> Option<u16> {
    let b = d.get(off..off.checked_add(2)?)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

fn le16(d: &[u8], off: usize) -> Option<u16> {
    let b = d.get(off..off.checked_add(2)?)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

fn be32(d: &[u8], off: usize) -> Option<u32> {
    let b = d.get(off..off.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

impl Decoder {
    /// A decoder with the given limits.
    pub fn new(config: DecoderConfig) -> Decoder {
        Decoder {
            counters: DecodeCounters::default(),
            defrag: Defragmenter::new(config.defrag.clone()),
            config,
            tunnels: Tunnels::default(),
        }
    }

    /// Counters so far.
    pub fn counters(&self) -> &DecodeCounters {
        &self.counters
    }

    /// Datagrams currently held for reassembly, and the bytes they hold.
    pub fn defrag_usage(&self) -> (usize, usize) {
        self.defrag.usage()
    }

    /// Drops fragment trackers older than the reassembly timeout (counted `defrag.timeout`).
    pub fn expire(&mut self, now_ns: u64) {
        self.defrag.expire(now_ns, &mut self.counters);
    }

    /// Decodes one frame. `wire_len` is the original length on the wire; a shorter `frame` means
    /// the capture's snap length cut it. Returns `None` when the frame carries no trackable IP
    /// packet (non-IP, malformed — counted —, or a fragment held for reassembly).
    pub fn decode<'a>(
        &'a mut self,
        link: LinkType,
        ts_ns: u64,
        wire_len: u32,
        frame: &'a [u8],
    ) -> Option<Packet<'a>> {
        if link == LinkType::Ethernet {
            if let Some(fast) = fast::ethernet_ipv4(&self.config, ts_ns, wire_len, frame) {
                let c = &mut self.counters;
                c.packets += 1;
                c.bytes += u64::from(wire_len);
                c.seen(Seen::Ethernet);
                c.seen(Seen::Ipv4);
                c.seen(if fast.proto == ip_proto::TCP {
                    Seen::Tcp
                } else {
                    Seen::Udp
                });
                return Some(fast);
            }
        }
        self.decode_general(link, ts_ns, wire_len, frame)
    }

    /// The full layer walk (every frame the fast path declines).
    fn decode_general<'a>(
        &'a mut self,
        link: LinkType,
        ts_ns: u64,
        wire_len: u32,
        frame: &'a [u8],
    ) -> Option<Packet<'a>> {
        let Decoder {
            counters,
            defrag,
            config,
            tunnels,
        } = self;
        counters.packets += 1;
        counters.bytes += u64::from(wire_len);
        tunnels.clear();
        let ctx = Ctx {
            ts_ns,
            wire_len,
            truncated: (frame.len() as u64) < u64::from(wire_len),
            vlan: VlanIds::default(),
            vlan_tags: 0,
            reassembled: false,
        };
        let mut walk = Walk {
            counters,
            defrag: Some(defrag),
            config,
            tunnels,
            ctx,
            packet: None,
            fallback: None,
        };
        let mut p = match walk.run(Next::Link(link, frame)) {
            Ok(p) => p,
            Err(Stop::Reassembled) => {
                let Walk {
                    counters,
                    defrag,
                    config,
                    tunnels,
                    mut ctx,
                    ..
                } = walk;
                let defrag: &'a Defragmenter = defrag?;
                let (datagram, wire_bytes) = defrag.output();
                ctx.reassembled = true;
                ctx.wire_len = wire_bytes;
                counters.seen(Seen::Reassembled);
                // No second reassembly for this frame: a fragment inside a reassembled datagram
                // is counted as `defrag.nested`.
                let mut inner = Walk {
                    counters,
                    defrag: None,
                    config,
                    tunnels,
                    ctx,
                    packet: None,
                    fallback: None,
                };
                let p = match inner.run(Next::Ip(datagram)) {
                    Ok(p) => p,
                    Err(stop) => inner.salvage(stop)?,
                };
                walk = inner;
                p
            }
            Err(stop) => walk.salvage(stop)?,
        };
        let t: &'a Tunnels = walk.tunnels;
        p.tunnels = t.as_slice();
        Some(p)
    }
}

impl<'a> Walk<'a> {
    /// The walk stopped short: the outer packet of the tunnel being entered, if any; else
    /// nothing (a malformed frame is counted as invalid, a held fragment is not).
    fn salvage(&mut self, stop: Stop) -> Option<Packet<'a>> {
        if matches!(stop, Stop::Held | Stop::Reassembled) {
            return None;
        }
        match self.fallback.take() {
            Some((outer, depth)) => {
                self.tunnels.truncate(depth);
                Some(outer)
            }
            None => {
                if matches!(stop, Stop::Bad) {
                    self.counters.invalid += 1;
                }
                None
            }
        }
    }

    fn run(&mut self, start: Next<'a>) -> Result<Packet<'a>, Stop> {
        let mut next = start;
        for _ in 0..MAX_STEPS {
            next = match next {
                Next::Link(lt, d) => self.link(lt, d)?,
                Next::Ether(d) => self.ether(d)?,
                Next::EtherType(et, d) => self.ethertype(et, d)?,
                Next::Ppp(proto, d) => self.ppp(proto, d)?,
                Next::Mpls(d) => self.mpls(d)?,
                Next::Ip(d) => match d.first().map(|b| b >> 4) {
                    Some(4) => Next::Ipv4(d),
                    Some(6) => Next::Ipv6(d),
                    _ => return self.bad(Anomaly::IpVersionMismatch),
                },
                Next::Ipv4(d) => self.ipv4(d)?,
                Next::Ipv6(d) => self.ipv6(d)?,
                Next::Final => return self.packet.take().ok_or(Stop::Done),
            };
        }
        self.bad(Anomaly::TunnelTooDeep)
    }

    fn bad<T>(&mut self, a: Anomaly) -> Result<T, Stop> {
        self.counters.anomaly(a);
        Err(Stop::Bad)
    }

    fn non_ip<T>(&mut self) -> Result<T, Stop> {
        self.counters.non_ip += 1;
        Err(Stop::Done)
    }

    fn link(&mut self, lt: LinkType, d: &'a [u8]) -> Result<Next<'a>, Stop> {
        match lt {
            LinkType::Ethernet => Ok(Next::Ether(d)),
            LinkType::Raw => {
                self.counters.seen(Seen::RawIp);
                Ok(Next::Ip(d))
            }
            LinkType::Ipv4 => {
                self.counters.seen(Seen::RawIp);
                Ok(Next::Ipv4(d))
            }
            LinkType::Ipv6 => {
                self.counters.seen(Seen::RawIp);
                Ok(Next::Ipv6(d))
            }
            LinkType::Null | LinkType::Loop => {
                self.counters.seen(Seen::Null);
                let Some(b) = d.get(..4) else {
                    return self.bad(Anomaly::NullTruncated);
                };
                let raw = [b[0], b[1], b[2], b[3]];
                // NULL stores the family in the writer's byte order; LOOP in network order.
                let family = if lt == LinkType::Loop {
                    u32::from_be_bytes(raw)
                } else {
                    let le = u32::from_le_bytes(raw);
                    if le > 0xFFFF {
                        u32::from_be_bytes(raw)
                    } else {
                        le
                    }
                };
                let rest = &d[4..];
                match family {
                    2 => Ok(Next::Ipv4(rest)),
                    // AF_INET6 differs by OS: 24 (BSDs), 28 (FreeBSD), 30 (macOS), 10 (Linux).
                    10 | 24 | 28 | 30 => Ok(Next::Ipv6(rest)),
                    _ => self.bad(Anomaly::NullUnknownFamily),
                }
            }
            LinkType::LinuxSll => {
                self.counters.seen(Seen::Sll);
                // 16-byte header; protocol (ethertype) at offset 14.
                match (be16(d, 14), d.get(16..)) {
                    (Some(proto), Some(rest)) => Ok(Next::EtherType(proto, rest)),
                    _ => self.bad(Anomaly::SllTruncated),
                }
            }
            LinkType::LinuxSll2 => {
                self.counters.seen(Seen::Sll);
                // 20-byte header; protocol (ethertype) at offset 0.
                match (be16(d, 0), d.get(20..)) {
                    (Some(proto), Some(rest)) => Ok(Next::EtherType(proto, rest)),
                    _ => self.bad(Anomaly::SllTruncated),
                }
            }
            LinkType::Nflog => self.nflog(d),
            LinkType::Unknown(_) => self.bad(Anomaly::UnknownLinkType),
        }
    }

    fn nflog(&mut self, d: &'a [u8]) -> Result<Next<'a>, Stop> {
        self.counters.seen(Seen::Nflog);
        // Header: family (1), version (1), resource id (2, network order). Then TLVs whose
        // length and type are in host byte order (little-endian on the captures we meet),
        // padded to 4 bytes. Type 9 (NFULA_PAYLOAD) holds the IP packet.
        let Some(&family) = d.first() else {
            return self.bad(Anomaly::NflogTruncated);
        };
        let mut off = 4usize;
        for _ in 0..MAX_NFLOG_TLVS {
            let (Some(len), Some(ty)) = (le16(d, off), le16(d, off + 2)) else {
                break;
            };
            let len = usize::from(len);
            if len < 4 {
                return self.bad(Anomaly::NflogTruncated);
            }
            let Some(value) = d.get(off + 4..off + len) else {
                return self.bad(Anomaly::NflogTruncated);
            };
            if ty & 0x7FFF == 9 {
                return match family {
                    2 => Ok(Next::Ipv4(value)),
                    10 => Ok(Next::Ipv6(value)),
                    _ => Ok(Next::Ip(value)),
                };
            }
            off += (len + 3) & !3;
        }
        self.bad(Anomaly::NflogNoPayload)
    }

    fn ether(&mut self, d: &'a [u8]) -> Result<Next<'a>, Stop> {
        match Ethernet2HeaderSlice::from_slice(d) {
            Ok(eth) => {
                self.counters.seen(Seen::Ethernet);
                let rest = d.get(eth.slice().len()..).unwrap_or_default();
                Ok(Next::EtherType(eth.ether_type().0, rest))
            }
            Err(_) => self.bad(Anomaly::EthernetTruncated),
        }
    }

    fn ethertype(&mut self, et: u16, d: &'a [u8]) -> Result<Next<'a>, Stop> {
        match et {
            ethertype::IPV4 => Ok(Next::Ipv4(d)),
            ethertype::IPV6 => Ok(Next::Ipv6(d)),
            ethertype::VLAN | ethertype::QINQ | ethertype::QINQ_OLD1 | ethertype::QINQ_OLD2 => {
                self.counters.seen(Seen::Vlan);
                self.ctx.vlan_tags += 1;
                if self.ctx.vlan_tags > MAX_VLAN_TAGS {
                    return self.bad(Anomaly::VlanTooManyTags);
                }
                match SingleVlanHeaderSlice::from_slice(d) {
                    Ok(v) => {
                        self.ctx.vlan.push(v.vlan_identifier().value());
                        let rest = d.get(v.slice().len()..).unwrap_or_default();
                        Ok(Next::EtherType(v.ether_type().0, rest))
                    }
                    Err(_) => self.bad(Anomaly::VlanTruncated),
                }
            }
            ethertype::MPLS_UC | ethertype::MPLS_MC => Ok(Next::Mpls(d)),
            ethertype::PPPOE_SESS => {
                self.counters.seen(Seen::Pppoe);
                // ver/type (1), code (1), session id (2), length (2), then the PPP protocol.
                match (be16(d, 6), d.get(8..)) {
                    (Some(proto), Some(rest)) => Ok(Next::Ppp(proto, rest)),
                    _ => self.bad(Anomaly::PppoeTruncated),
                }
            }
            ethertype::PPPOE_DISC => {
                self.counters.seen(Seen::Pppoe);
                self.non_ip()
            }
            ethertype::ARP => {
                self.counters.seen(Seen::Arp);
                match ArpPacketSlice::from_slice(d) {
                    Ok(_) => self.non_ip(),
                    Err(_) => self.bad(Anomaly::ArpTruncated),
                }
            }
            _ => {
                self.counters.seen(Seen::OtherEthertype);
                self.non_ip()
            }
        }
    }

    fn ppp(&mut self, proto: u16, d: &'a [u8]) -> Result<Next<'a>, Stop> {
        match proto {
            0x0021 => Ok(Next::Ipv4(d)),
            0x0057 => Ok(Next::Ipv6(d)),
            // Link/network control protocols (LCP, IPCP, ...) carry no flows.
            p if p >= 0x8000 => self.non_ip(),
            _ => self.bad(Anomaly::PppUnsupportedProtocol),
        }
    }

    fn mpls(&mut self, d: &'a [u8]) -> Result<Next<'a>, Stop> {
        self.counters.seen(Seen::Mpls);
        let mut off = 0usize;
        for _ in 0..MAX_MPLS_LABELS {
            let Some(label) = be32(d, off) else {
                return self.bad(Anomaly::MplsTruncated);
            };
            off += 4;
            if label & 0x100 != 0 {
                // Bottom of stack: the payload is not typed, so sniff it (RFC 4385/4448).
                let rest = &d[off.min(d.len())..];
                return match rest.first().map(|b| b >> 4) {
                    Some(4) => Ok(Next::Ipv4(rest)),
                    Some(6) => Ok(Next::Ipv6(rest)),
                    // Pseudowire control word, then Ethernet.
                    Some(0) => match rest.get(4..) {
                        Some(eth) => Ok(Next::Ether(eth)),
                        None => self.bad(Anomaly::MplsTruncated),
                    },
                    _ => self.bad(Anomaly::MplsUnknownPayload),
                };
            }
        }
        self.bad(Anomaly::MplsTooManyLabels)
    }

    /// Starts a new encapsulation layer: records the outer addresses and resets per-frame L2 state.
    /// About to look inside a tunnel: remember the outer packet, tracked instead if the inside
    /// does not decode.
    #[allow(clippy::too_many_arguments)]
    fn set_fallback(
        &mut self,
        src: IpAddr,
        dst: IpAddr,
        proto: u8,
        ttl: u8,
        transport: Transport,
        payload: &'a [u8],
    ) {
        let outer = self.packet_here(src, dst, proto, ttl, transport, payload);
        self.fallback = Some((outer, self.tunnels.len()));
    }

    /// A packet at this point of the walk (tunnel layers are filled in by `decode`).
    fn packet_here(
        &self,
        src: IpAddr,
        dst: IpAddr,
        proto: u8,
        ttl: u8,
        transport: Transport,
        payload: &'a [u8],
    ) -> Packet<'a> {
        Packet {
            ts_ns: self.ctx.ts_ns,
            wire_len: self.ctx.wire_len,
            vlan: self.ctx.vlan,
            src,
            dst,
            proto,
            ttl,
            transport,
            payload,
            truncated: self.ctx.truncated,
            reassembled: self.ctx.reassembled,
            tunnels: &[],
        }
    }

    fn enter_tunnel(
        &mut self,
        kind: TunnelKind,
        src: IpAddr,
        dst: IpAddr,
        proto: u8,
        ports: (u16, u16),
    ) -> Result<(), Stop> {
        let layer = TunnelLayer {
            kind,
            src,
            dst,
            proto,
            sport: ports.0,
            dport: ports.1,
            vlan: self.ctx.vlan,
        };
        if !self.tunnels.push(layer) {
            return self.bad(Anomaly::TunnelTooDeep);
        }
        self.ctx.vlan = VlanIds::default();
        self.ctx.vlan_tags = 0;
        Ok(())
    }

    fn ipv4(&mut self, d: &'a [u8]) -> Result<Next<'a>, Stop> {
        let (ip, ext_err) = match LaxIpv4Slice::from_slice(d) {
            Ok(v) => v,
            Err(etherparse::err::ipv4::HeaderSliceError::Len(_)) => {
                return self.bad(Anomaly::Ipv4Truncated)
            }
            Err(_) => return self.bad(Anomaly::Ipv4HeaderInvalid),
        };
        self.counters.seen(Seen::Ipv4);
        let h = ip.header();
        let pl = ip.payload();
        if pl.incomplete && !self.ctx.truncated {
            return self.bad(Anomaly::Ipv4Truncated);
        }
        if !pl.incomplete && pl.len_source == etherparse::LenSource::Slice {
            // total_len smaller than the header itself.
            return self.bad(Anomaly::Ipv4TotalLenInvalid);
        }
        let src = IpAddr::V4(Ipv4Addr::from(h.source()));
        let dst = IpAddr::V4(Ipv4Addr::from(h.destination()));
        if h.is_fragmenting_payload() {
            // Reassemble the raw payload: whatever follows the header (an AH header too) is
            // fragment data, and only the datagram as a whole can be parsed further.
            let hl = h.slice().len();
            let end = usize::from(h.total_len()).clamp(hl, d.len());
            let id = FragId::new(
                h.source_addr().into(),
                h.destination_addr().into(),
                u32::from(h.identification()),
                Some(h.protocol().0),
                self.ctx.vlan,
                self.tunnels.discriminator(),
            );
            let frag = Fragment {
                offset: usize::from(h.fragments_offset().value()) * 8,
                more: h.more_fragments(),
                header: h.slice(),
                data: d.get(hl..end).unwrap_or_default(),
                next_header: h.protocol().0,
                v6: false,
            };
            return self.fragment(id, frag);
        }
        if ext_err.is_some() {
            return self.bad(Anomaly::Ipv4ExtHeaderInvalid);
        }
        self.after_ip(src, dst, pl.ip_number.0, h.ttl(), pl.payload)
    }

    fn ipv6(&mut self, d: &'a [u8]) -> Result<Next<'a>, Stop> {
        let (ip, ext_err) = match LaxIpv6Slice::from_slice(d) {
            Ok(v) => v,
            Err(etherparse::err::ipv6::HeaderSliceError::Len(_)) => {
                return self.bad(Anomaly::Ipv6Truncated)
            }
            Err(_) => return self.bad(Anomaly::Ipv6HeaderInvalid),
        };
        self.counters.seen(Seen::Ipv6);
        let h = ip.header();
        let pl = ip.payload();
        if pl.incomplete && !self.ctx.truncated {
            return self.bad(Anomaly::Ipv6Truncated);
        }
        let src = IpAddr::V6(Ipv6Addr::from(h.source()));
        let dst = IpAddr::V6(Ipv6Addr::from(h.destination()));
        // Find the fragment header on the raw bytes first: whatever follows it is fragment
        // data (a non-first fragment's data is not extension headers, whatever its Next
        // Header says).
        let ip_payload = d.get(40..).unwrap_or_default();
        if let Some((next, fh_off)) = find_ipv6_fragment_header(h.next_header().0, ip_payload) {
            let (Some(fh), Some(data)) = (
                ip_payload.get(fh_off..fh_off + 8),
                ip_payload.get(fh_off + 8..),
            ) else {
                return self.bad(Anomaly::Ipv6Truncated);
            };
            // Bound the data by the payload length field (strip Ethernet padding).
            let end = usize::from(h.payload_length())
                .saturating_sub(fh_off + 8)
                .min(data.len());
            let off_flags = u16::from_be_bytes([fh[2], fh[3]]);
            let ident = u32::from_be_bytes([fh[4], fh[5], fh[6], fh[7]]);
            let offset = usize::from(off_flags >> 3) * 8;
            let more = off_flags & 1 == 1;
            if offset != 0 || more {
                // RFC 8200 §4.5: Next Header values of later fragments may differ; the
                // offset-zero fragment's is used, so it is not part of the datagram's key.
                let id = FragId::new(
                    IpAddr::V6(h.source_addr()),
                    IpAddr::V6(h.destination_addr()),
                    ident,
                    None,
                    self.ctx.vlan,
                    self.tunnels.discriminator(),
                );
                let frag = Fragment {
                    offset,
                    more,
                    header: h.slice(),
                    data: &data[..end],
                    next_header: next,
                    v6: true,
                };
                return self.fragment(id, frag);
            }
            // An "atomic fragment" (offset 0, no more): a whole datagram; parse on.
        }
        if ext_err.is_some() {
            return self.bad(Anomaly::Ipv6ExtHeaderInvalid);
        }
        self.after_ip(src, dst, pl.ip_number.0, h.hop_limit(), pl.payload)
    }

    fn fragment(&mut self, id: FragId, frag: Fragment<'_>) -> Result<Next<'a>, Stop> {
        self.counters.seen(Seen::Fragments);
        let Some(defrag) = self.defrag.as_deref_mut() else {
            return self.bad(Anomaly::FragNested);
        };
        if defrag.add(id, frag, self.ctx.ts_ns, self.ctx.wire_len, self.counters) {
            Err(Stop::Reassembled)
        } else {
            Err(Stop::Held)
        }
    }

    /// After the IP header: tunnels carried directly in IP, else the transport layer.
    fn after_ip(
        &mut self,
        src: IpAddr,
        dst: IpAddr,
        proto: u8,
        ttl: u8,
        payload: &'a [u8],
    ) -> Result<Next<'a>, Stop> {
        if matches!(proto, ip_proto::IPIP | ip_proto::IPV6 | ip_proto::GRE) {
            self.set_fallback(src, dst, proto, ttl, Transport::Other, payload);
        }
        match proto {
            ip_proto::IPIP | ip_proto::IPV6 => {
                self.counters.seen(Seen::IpInIp);
                let kind = match (src.is_ipv4(), proto == ip_proto::IPIP) {
                    (true, true) => TunnelKind::Ip4In4,
                    (true, false) => TunnelKind::Ip6In4,
                    (false, true) => TunnelKind::Ip4In6,
                    (false, false) => TunnelKind::Ip6In6,
                };
                self.enter_tunnel(kind, src, dst, proto, (0, 0))?;
                Ok(if proto == ip_proto::IPIP {
                    Next::Ipv4(payload)
                } else {
                    Next::Ipv6(payload)
                })
            }
            ip_proto::GRE => self.gre(src, dst, payload),
            _ => self.transport(src, dst, proto, ttl, payload),
        }
    }

    fn transport(
        &mut self,
        src: IpAddr,
        dst: IpAddr,
        proto: u8,
        ttl: u8,
        d: &'a [u8],
    ) -> Result<Next<'a>, Stop> {
        let (transport, payload) = match proto {
            ip_proto::TCP => {
                self.counters.seen(Seen::Tcp);
                match TcpSlice::from_slice(d) {
                    Ok(t) => {
                        let flags = d.get(13).copied().unwrap_or(0);
                        (
                            Transport::Tcp(TcpInfo {
                                sport: t.source_port(),
                                dport: t.destination_port(),
                                seq: t.sequence_number(),
                                ack: t.acknowledgment_number(),
                                flags: TcpFlags(flags),
                                window: t.window_size(),
                            }),
                            t.payload(),
                        )
                    }
                    Err(etherparse::err::tcp::HeaderSliceError::Len(_)) => {
                        return self.bad(Anomaly::TcpTruncated)
                    }
                    Err(_) => return self.bad(Anomaly::TcpHeaderInvalid),
                }
            }
            ip_proto::UDP => {
                self.counters.seen(Seen::Udp);
                let udp = match UdpSlice::from_slice(d) {
                    Ok(u) => u,
                    Err(_) if d.len() < 8 => return self.bad(Anomaly::UdpTruncated),
                    Err(_) if self.ctx.truncated => match UdpSlice::from_slice_lax(d) {
                        Ok(u) => u,
                        Err(_) => return self.bad(Anomaly::UdpTruncated),
                    },
                    Err(_) => return self.bad(Anomaly::UdpLenInvalid),
                };
                let (sport, dport) = (udp.source_port(), udp.destination_port());
                if let Some(next) = self.udp_tunnel(src, dst, sport, dport, ttl, udp.payload())? {
                    return Ok(next);
                }
                (Transport::Udp { sport, dport }, udp.payload())
            }
            ip_proto::ICMP => {
                self.counters.seen(Seen::Icmpv4);
                match Icmpv4Slice::from_slice(d) {
                    Ok(i) => (
                        Transport::Icmp {
                            ty: i.type_u8(),
                            code: i.code_u8(),
                            id: echo_id(matches!(i.type_u8(), 0 | 8), i.bytes5to8()),
                        },
                        i.payload(),
                    ),
                    Err(_) => return self.bad(Anomaly::Icmpv4Truncated),
                }
            }
            ip_proto::ICMPV6 => {
                self.counters.seen(Seen::Icmpv6);
                match Icmpv6Slice::from_slice(d) {
                    Ok(i) => (
                        Transport::Icmp {
                            ty: i.type_u8(),
                            code: i.code_u8(),
                            id: echo_id(matches!(i.type_u8(), 128 | 129), i.bytes5to8()),
                        },
                        i.payload(),
                    ),
                    Err(_) => return self.bad(Anomaly::Icmpv6Truncated),
                }
            }
            ip_proto::SCTP => {
                self.counters.seen(Seen::Sctp);
                match (be16(d, 0), be16(d, 2)) {
                    (Some(sport), Some(dport)) => (
                        Transport::Sctp { sport, dport },
                        d.get(12..).unwrap_or_default(),
                    ),
                    _ => (Transport::Other, d),
                }
            }
            _ => {
                self.counters.seen(Seen::OtherIpProto);
                (Transport::Other, d)
            }
        };
        self.packet = Some(self.packet_here(src, dst, proto, ttl, transport, payload));
        Ok(Next::Final)
    }
}

/// The identifier of an echo request or reply (bytes 5–6 of the ICMP header), else 0.
fn echo_id(is_echo: bool, rest: [u8; 4]) -> u16 {
    if is_echo {
        u16::from_be_bytes([rest[0], rest[1]])
    } else {
        0
    }
}

/// Walks IPv6 extension headers from `next` over `d` (the bytes after the fixed header) to the
/// fragment header. Returns (the protocol after it, its offset in `d`).
fn find_ipv6_fragment_header(mut next: u8, d: &[u8]) -> Option<(u8, usize)> {
    const HOP_BY_HOP: u8 = 0;
    const ROUTING: u8 = 43;
    const FRAGMENT: u8 = 44;
    const AUTH: u8 = 51;
    const DEST_OPTS: u8 = 60;
    let mut off = 0usize;
    // RFC 8200 recommends each extension header at most once (dest opts twice).
    for _ in 0..8 {
        match next {
            FRAGMENT => return Some((*d.get(off)?, off)),
            HOP_BY_HOP | ROUTING | DEST_OPTS => {
                let nh = *d.get(off)?;
                let len = usize::from(*d.get(off + 1)?);
                off += (len + 1) * 8;
                next = nh;
            }
            AUTH => {
                let nh = *d.get(off)?;
                let len = usize::from(*d.get(off + 1)?);
                off += (len + 2) * 4;
                next = nh;
            }
            _ => return None,
        }
    }
    None
}

mod fast;
mod tunnel;

#[cfg(test)]
mod tests;
