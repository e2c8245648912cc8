//! The bidirectional flow key.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use nta_packet::VlanIds;

/// A flow's identity, the same for both directions: the (address, port) pairs are stored in
/// sorted order, and [`FlowKey::new`] says whether the packet travelled from `a` to `b`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlowKey {
    a: [u8; 16],
    b: [u8; 16],
    port_a: u16,
    port_b: u16,
    proto: u8,
    v6: bool,
    vlan: VlanIds,
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

    /// A stable 64-bit digest of the key (FNV-1a), independent of process and worker count.
    pub fn stable_hash(&self) -> u64 {
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        let mut feed = |bytes: &[u8]| {
            for &b in bytes {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0000_0100_0000_01B3);
            }
        };
        feed(&self.a);
        feed(&self.b);
        feed(&self.port_a.to_be_bytes());
        feed(&self.port_b.to_be_bytes());
        feed(&[self.proto]);
        for v in self.vlan.as_slice() {
            feed(&v.to_be_bytes());
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
        let (k1, f1) = FlowKey::new(x, 80, y, 5000, 6, VlanIds::default());
        let (k2, f2) = FlowKey::new(y, 5000, x, 80, 6, VlanIds::default());
        assert_eq!(k1, k2);
        assert_ne!(f1, f2);
        assert_eq!(k1.endpoint_a(), (y, 5000));
        let mut v = VlanIds::default();
        v.push(7);
        assert_ne!(FlowKey::new(x, 80, y, 5000, 6, v).0, k1);
    }
}
