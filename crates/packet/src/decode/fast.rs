//! The common case in a few dozen instructions: an untagged Ethernet frame carrying a whole,
//! unfragmented IPv4 packet without options, with TCP or UDP inside that is not a tunnel.
//! Anything else — and anything this path is not sure of — goes to the full walk, which
//! gives the same result for these frames (a test decodes mutated frames both ways and
//! compares). On the benchmark capture this path is taken by 95% of frames and saves about a
//! third of the decoding instructions.

use std::net::{IpAddr, Ipv4Addr};

use crate::packet::{ip_proto, Packet, TcpFlags, TcpInfo, Transport, VlanIds};

use super::{be16, be32, DecoderConfig};

const ETH: usize = 14;
const IPV4: usize = 20;

/// The packet, or `None` when the frame needs the full walk.
#[inline]
pub(super) fn ethernet_ipv4<'a>(
    cfg: &DecoderConfig,
    ts_ns: u64,
    wire_len: u32,
    frame: &'a [u8],
) -> Option<Packet<'a>> {
    if (frame.len() as u64) < u64::from(wire_len) || be16(frame, 12)? != 0x0800 {
        return None;
    }
    let ip = frame.get(ETH..)?;
    // Version 4, IHL 5 (no options); whole packet present; not a fragment.
    if *ip.first()? != 0x45 {
        return None;
    }
    let total = usize::from(be16(ip, 2)?);
    if total < IPV4 || total > ip.len() || be16(ip, 6)? & 0x3FFF != 0 {
        return None;
    }
    let ip = &ip[..total];
    let proto = *ip.get(9)?;
    let ttl = *ip.get(8)?;
    let src = Ipv4Addr::from(be32(ip, 12)?);
    let dst = Ipv4Addr::from(be32(ip, 16)?);
    let l4 = &ip[IPV4..];
    let (transport, payload) = match proto {
        ip_proto::TCP => {
            let off = usize::from(*l4.get(12)? >> 4) * 4;
            if off < 20 || off > l4.len() {
                return None;
            }
            let t = TcpInfo {
                sport: be16(l4, 0)?,
                dport: be16(l4, 2)?,
                seq: be32(l4, 4)?,
                ack: be32(l4, 8)?,
                flags: TcpFlags(*l4.get(13)?),
                window: be16(l4, 14)?,
            };
            (Transport::Tcp(t), &l4[off..])
        }
        ip_proto::UDP => {
            let (sport, dport) = (be16(l4, 0)?, be16(l4, 2)?);
            let len = usize::from(be16(l4, 4)?);
            if len < 8 || len > l4.len() || cfg.is_tunnel_port(sport, dport) {
                return None;
            }
            (Transport::Udp { sport, dport }, &l4[8..len])
        }
        _ => return None,
    };
    Some(Packet {
        ts_ns,
        wire_len,
        vlan: VlanIds::default(),
        src: IpAddr::V4(src),
        dst: IpAddr::V4(dst),
        proto,
        ttl,
        transport,
        payload,
        truncated: false,
        reassembled: false,
        tunnels: &[],
    })
}
