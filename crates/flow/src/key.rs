//! The bidirectional flow key.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use nta_packet::{mix64, VlanIds};

/// A flow's identity, the same for both directions: the (address, port) pairs are stored in
/// sorted order, and [`FlowKey::new`] says whether the packet travelled from `a` to `b`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowKey {
    a: [u8; 16],
    b: [u8; 16],
    port_a: u16,
    port_b: u16,
    proto: u8,
    v6: bool,
    vlan: VlanIds,
    /// The tunnel the flow came through (`nta_packet::discriminator`, 0: none), as two
    /// halves so that the key keeps 2-byte alignment and fits the flow's first cache line.
    tunnel: [u16; 2],
}

/// Hashes the key as seven words rather than field by field (a third fewer instructions per
/// lookup); equal keys give equal words, as `Eq` requires.
impl std::hash::Hash for FlowKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let word = |b: &[u8; 16], i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[i..i + 8]);
            u64::from_le_bytes(w)
        };
        let v = self.vlan.as_slice();
        let vid = |i: usize| u64::from(v.get(i).copied().unwrap_or(0));
        state.write_u64(word(&self.a, 0));
        state.write_u64(word(&self.a, 8));
        state.write_u64(word(&self.b, 0));
        state.write_u64(word(&self.b, 8));
        state.write_u64(
            u64::from(self.port_a)
                | u64::from(self.port_b) << 16
                | u64::from(self.proto) << 32
                | u64::from(self.v6) << 40
                | (v.len() as u64) << 48,
        );
        state.write_u64(vid(0) | vid(1) << 16 | vid(2) << 32);
        state.write_u64(u64::from(self.tunnel[0]) << 16 | u64::from(self.tunnel[1]));
    }
}

fn halves(t: u32) -> [u16; 2] {
    [(t >> 16) as u16, t as u16]
}

fn octets(ip: IpAddr) -> ([u8; 16], bool) {
    match ip {
        IpAddr::V4(v4) => {
            let mut o = [0u8; 16];
            o[..4].copy_from_slice(&v4.octets());
            (o, false)
        }
        IpAddr::V6(v6) => (v6.octets(), true),
    }
}

impl FlowKey {
    /// The key of a packet from (src, sport) to (dst, dport), and whether that direction is a→b.
    pub fn new(
        src: IpAddr,
        sport: u16,
        dst: IpAddr,
        dport: u16,
        proto: u8,
        vlan: VlanIds,
        tunnel: u32,
    ) -> (FlowKey, bool) {
        let (s, v6) = octets(src);
        let (d, _) = octets(dst);
        let forward = (s, sport) <= (d, dport);
        let (a, port_a, b, port_b) = if forward {
            (s, sport, d, dport)
        } else {
            (d, dport, s, sport)
        };
        (
            FlowKey {
                a,
                b,
                port_a,
                port_b,
                proto,
                v6,
                vlan,
                tunnel: halves(tunnel),
            },
            forward,
        )
    }

    /// The key of an ICMP flow between `src` and `dst`: the endpoints are ordered by address
    /// alone, and the "ports" hold the message class (request and reply share one) and the
    /// echo identifier.
    pub fn new_icmp(
        src: IpAddr,
        dst: IpAddr,
        class: u16,
        id: u16,
        proto: u8,
        vlan: VlanIds,
        tunnel: u32,
    ) -> (FlowKey, bool) {
        let (s, v6) = octets(src);
        let (d, _) = octets(dst);
        let forward = s <= d;
        let (a, b) = if forward { (s, d) } else { (d, s) };
        (
            FlowKey {
                a,
                b,
                port_a: class,
                port_b: id,
                proto,
                v6,
                vlan,
                tunnel: halves(tunnel),
            },
            forward,
        )
    }

    fn ip(&self, o: [u8; 16]) -> IpAddr {
        if self.v6 {
            IpAddr::V6(Ipv6Addr::from(o))
        } else {
            IpAddr::V4(Ipv4Addr::new(o[0], o[1], o[2], o[3]))
        }
    }

    /// The lower (address, port) endpoint.
    pub fn endpoint_a(&self) -> (IpAddr, u16) {
        (self.ip(self.a), self.port_a)
    }

    /// The higher (address, port) endpoint.
    pub fn endpoint_b(&self) -> (IpAddr, u16) {
        (self.ip(self.b), self.port_b)
    }

    /// IP protocol number.
    pub fn proto(&self) -> u8 {
        self.proto
    }

    /// VLAN ids.
    pub fn vlan(&self) -> &VlanIds {
        &self.vlan
    }

    /// A stable 64-bit digest of the key, independent of process and worker count.
    pub fn stable_hash(&self) -> u64 {
        let word = |b: &[u8; 16], i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[i..i + 8]);
            u64::from_le_bytes(w)
        };
        let v = self.vlan.as_slice();
        let tail = u64::from(self.port_a)
            | u64::from(self.port_b) << 16
            | u64::from(self.proto) << 32
            | u64::from(v.first().copied().unwrap_or(0)) << 40;
        let tunnel = u64::from(self.tunnel[0]) << 16 | u64::from(self.tunnel[1]);
        let mut h = 0x243F_6A88_85A3_08D3u64;
        for w in [
            word(&self.a, 0),
            word(&self.a, 8),
            word(&self.b, 0),
            word(&self.b, 8),
            tail,
        ] {
            h = mix64(h ^ w);
        }
        for &id in v.iter().skip(1) {
            h = mix64(h ^ u64::from(id));
        }
        if tunnel != 0 {
            h = mix64(h ^ tunnel);
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_directions_share_a_key() {
        let x: IpAddr = "10.0.0.2".parse().unwrap();
        let y: IpAddr = "10.0.0.1".parse().unwrap();
        let (k1, f1) = FlowKey::new(x, 80, y, 5000, 6, VlanIds::default(), 0);
        let (k2, f2) = FlowKey::new(y, 5000, x, 80, 6, VlanIds::default(), 0);
        assert_eq!(k1, k2);
        assert_ne!(f1, f2);
        assert_eq!(k1.endpoint_a(), (y, 5000));
        let mut v = VlanIds::default();
        v.push(7);
        assert_ne!(FlowKey::new(x, 80, y, 5000, 6, v, 0).0, k1);
        assert_ne!(FlowKey::new(x, 80, y, 5000, 6, VlanIds::default(), 9).0, k1);
    }
}
