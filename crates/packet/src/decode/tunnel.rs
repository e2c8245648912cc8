//! Tunnels: the UDP-carried ones (VXLAN, Geneve, GTP-U, Teredo) and GRE with ERSPAN.

use std::net::IpAddr;

use super::{be16, ethertype, Next, Stop, Walk, MAX_GTP_EXT, MAX_STEPS};
use crate::counters::{Anomaly, Seen};
use crate::packet::{ip_proto, Transport, TunnelKind};

impl<'a> Walk<'a> {
    /// UDP-carried tunnels. `Ok(None)` means: an ordinary UDP packet.
    pub(super) fn udp_tunnel(
        &mut self,
        src: IpAddr,
        dst: IpAddr,
        sport: u16,
        dport: u16,
        ttl: u8,
        d: &'a [u8],
    ) -> Result<Option<Next<'a>>, Stop> {
        let cfg = self.config;
        let ports = (sport, dport);
        if cfg.is_tunnel_port(sport, dport) {
            // If the inside does not decode, the datagram is tracked as the UDP it is.
            self.set_fallback(
                src,
                dst,
                ip_proto::UDP,
                ttl,
                Transport::Udp { sport, dport },
                d,
            );
        }
        if cfg.vxlan_port != 0 && dport == cfg.vxlan_port {
            // flags (I bit 0x08), 3 reserved, VNI (3), reserved: 8 bytes, then Ethernet.
            let (Some(&flags), Some(inner)) = (d.first(), d.get(8..)) else {
                return self.bad(Anomaly::VxlanTruncated);
            };
            if flags & 0x08 == 0 {
                return Ok(None);
            }
            self.counters.seen(Seen::Vxlan);
            self.enter_tunnel(TunnelKind::Vxlan, src, dst, ip_proto::UDP, ports)?;
            return Ok(Some(Next::Ether(inner)));
        }
        if cfg.geneve_port != 0 && dport == cfg.geneve_port {
            let (Some(&b0), Some(proto)) = (d.first(), be16(d, 2)) else {
                return self.bad(Anomaly::GeneveTruncated);
            };
            if b0 >> 6 != 0 {
                return Ok(None); // unknown Geneve version: leave it as UDP
            }
            let hdr = 8 + usize::from(b0 & 0x3F) * 4;
            let Some(inner) = d.get(hdr..) else {
                return self.bad(Anomaly::GeneveTruncated);
            };
            self.counters.seen(Seen::Geneve);
            self.enter_tunnel(TunnelKind::Geneve, src, dst, ip_proto::UDP, ports)?;
            return match proto {
                ethertype::TEB => Ok(Some(Next::Ether(inner))),
                ethertype::IPV4 => Ok(Some(Next::Ipv4(inner))),
                ethertype::IPV6 => Ok(Some(Next::Ipv6(inner))),
                _ => self.bad(Anomaly::GeneveUnknownPayload),
            };
        }
        if cfg.gtpu_port != 0 && (dport == cfg.gtpu_port || sport == cfg.gtpu_port) {
            return self.gtpu(src, dst, ports, d);
        }
        if cfg.teredo_port != 0 && (dport == cfg.teredo_port || sport == cfg.teredo_port) {
            if let Some(inner) = teredo_inner(d) {
                self.counters.seen(Seen::Teredo);
                self.enter_tunnel(TunnelKind::Teredo, src, dst, ip_proto::UDP, ports)?;
                return Ok(Some(Next::Ipv6(inner)));
            }
        }
        Ok(None)
    }

    fn gtpu(
        &mut self,
        src: IpAddr,
        dst: IpAddr,
        ports: (u16, u16),
        d: &'a [u8],
    ) -> Result<Option<Next<'a>>, Stop> {
        // flags: version (3 bits) = 1, PT = 1, E, S, PN; type 255 = G-PDU carries user data.
        let (Some(&flags), Some(&ty)) = (d.first(), d.get(1)) else {
            return self.bad(Anomaly::GtpuTruncated);
        };
        if flags >> 5 != 1 || flags & 0x10 == 0 || ty != 0xFF {
            return Ok(None); // signalling (echo, error indication): ordinary UDP
        }
        let mut off = 8usize;
        if flags & 0x07 != 0 {
            // sequence number (2), N-PDU number (1), next extension header type (1): present
            // when any of S, PN, E is set; the next-extension type counts only with E
            // (TS 29.281 §5.1: receivers do not evaluate fields whose flag is clear).
            let Some(&next_ext) = d.get(11) else {
                return self.bad(Anomaly::GtpuTruncated);
            };
            off = 12;
            let mut next_ext = if flags & 0x04 != 0 { next_ext } else { 0 };
            let mut n = 0;
            while next_ext != 0 {
                n += 1;
                let Some(&len) = d.get(off) else {
                    return self.bad(Anomaly::GtpuTruncated);
                };
                if len == 0 || n > MAX_GTP_EXT {
                    return self.bad(Anomaly::GtpuTruncated);
                }
                off += usize::from(len) * 4;
                let Some(&nx) = d.get(off.wrapping_sub(1)) else {
                    return self.bad(Anomaly::GtpuTruncated);
                };
                next_ext = nx;
            }
        }
        let Some(inner) = d.get(off..) else {
            return self.bad(Anomaly::GtpuTruncated);
        };
        let next = match inner.first().map(|b| b >> 4) {
            Some(4) => Next::Ipv4(inner),
            Some(6) => Next::Ipv6(inner),
            _ => return Ok(None),
        };
        self.counters.seen(Seen::Gtpu);
        self.enter_tunnel(TunnelKind::Gtpu, src, dst, ip_proto::UDP, ports)?;
        Ok(Some(next))
    }

    pub(super) fn gre(&mut self, src: IpAddr, dst: IpAddr, d: &'a [u8]) -> Result<Next<'a>, Stop> {
        self.counters.seen(Seen::Gre);
        let (Some(&f0), Some(&f1), Some(proto)) = (d.first(), d.get(1), be16(d, 2)) else {
            return self.bad(Anomaly::GreTruncated);
        };
        let version = f1 & 0x07;
        let (csum, routing, key, seq) = (
            f0 & 0x80 != 0,
            f0 & 0x40 != 0,
            f0 & 0x20 != 0,
            f0 & 0x10 != 0,
        );
        let mut off = 4usize;
        match version {
            0 => {
                if csum || routing {
                    off += 4;
                }
                if key {
                    off += 4;
                }
                if seq {
                    off += 4;
                }
                if routing {
                    // Source route entries (RFC 1701): address family (2), offset (1), length (1).
                    for _ in 0..MAX_STEPS {
                        let (Some(af), Some(&len)) = (be16(d, off), d.get(off + 3)) else {
                            return self.bad(Anomaly::GreTruncated);
                        };
                        off += 4 + usize::from(len);
                        if af == 0 && len == 0 {
                            break;
                        }
                    }
                }
            }
            1 => {
                // Enhanced GRE (PPTP): key present, optional sequence and acknowledgment.
                off += 4;
                if seq {
                    off += 4;
                }
                if f1 & 0x80 != 0 {
                    off += 4;
                }
            }
            _ => return self.bad(Anomaly::GreUnsupportedVersion),
        }
        let Some(inner) = d.get(off..) else {
            return self.bad(Anomaly::GreTruncated);
        };
        let kind_next = match proto {
            ethertype::IPV4 => (TunnelKind::Gre, Next::Ipv4(inner)),
            ethertype::IPV6 => (TunnelKind::Gre, Next::Ipv6(inner)),
            ethertype::TEB => (TunnelKind::Gre, Next::Ether(inner)),
            ethertype::MPLS_UC | ethertype::MPLS_MC => (TunnelKind::Gre, Next::Mpls(inner)),
            ethertype::ERSPAN_1_2 if !seq => {
                self.counters.seen(Seen::Erspan);
                (TunnelKind::Erspan1, Next::Ether(inner))
            }
            ethertype::ERSPAN_1_2 => {
                self.counters.seen(Seen::Erspan);
                // Type II: 8-byte header, version 1 in the top nibble.
                match (inner.first().map(|b| b >> 4), inner.get(8..)) {
                    (Some(1), Some(eth)) => (TunnelKind::Erspan2, Next::Ether(eth)),
                    (Some(_), Some(_)) => return self.bad(Anomaly::ErspanUnsupportedVersion),
                    _ => return self.bad(Anomaly::ErspanTruncated),
                }
            }
            ethertype::ERSPAN_3 => {
                self.counters.seen(Seen::Erspan);
                // Type III: 12-byte header, version 2; O flag adds an 8-byte platform subheader.
                let (Some(ver), Some(&last)) = (inner.first().map(|b| b >> 4), inner.get(11))
                else {
                    return self.bad(Anomaly::ErspanTruncated);
                };
                if ver != 2 {
                    return self.bad(Anomaly::ErspanUnsupportedVersion);
                }
                let hdr = if last & 0x01 != 0 { 20 } else { 12 };
                match inner.get(hdr..) {
                    Some(eth) => (TunnelKind::Erspan3, Next::Ether(eth)),
                    None => return self.bad(Anomaly::ErspanTruncated),
                }
            }
            ethertype::PPP => {
                // PPP in enhanced GRE: optional address/control (FF 03), 1- or 2-byte protocol.
                let p = if inner.starts_with(&[0xFF, 0x03]) {
                    &inner[2..]
                } else {
                    inner
                };
                let (proto, rest) = match p.first() {
                    Some(&b) if b & 1 == 1 => (u16::from(b), &p[1..]),
                    _ => match be16(p, 0) {
                        Some(v) => (v, p.get(2..).unwrap_or_default()),
                        None => return self.bad(Anomaly::GreTruncated),
                    },
                };
                (TunnelKind::Gre, Next::Ppp(proto, rest))
            }
            _ => return self.bad(Anomaly::GreUnknownPayload),
        };
        self.enter_tunnel(kind_next.0, src, dst, ip_proto::GRE, (0, 0))?;
        Ok(kind_next.1)
    }
}

/// The IPv6 packet inside a Teredo UDP payload, if it looks like one (RFC 4380 §5.1.1):
/// optional authentication (0x0001) and origin indication (0x0000) headers, then IPv6 whose
/// payload length agrees with the datagram.
fn teredo_inner(d: &[u8]) -> Option<&[u8]> {
    let mut p = d;
    if p.starts_with(&[0x00, 0x01]) {
        let id_len = usize::from(*p.get(2)?);
        let auth_len = usize::from(*p.get(3)?);
        p = p.get(4 + id_len + auth_len + 9..)?;
    }
    if p.starts_with(&[0x00, 0x00]) {
        p = p.get(8..)?;
    }
    if p.first()? >> 4 != 6 || p.len() < 40 {
        return None;
    }
    let plen = usize::from(be16(p, 4)?);
    if plen + 40 != p.len() {
        return None;
    }
    Some(p)
}
