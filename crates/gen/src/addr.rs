//! Address plan: which client and server a flow talks between.
//!
//! Uniqueness of the 5-tuple is by construction, not by lookup: flow `i` gets
//! client host `i % clients` and, on that host, the ephemeral-port slot
//! `i / clients`, mapped to a port by a bijection. So two flows never share
//! (client address, client port) — whatever their protocol (the ICMP echo id
//! is the port) or server — and no table of used tuples is needed.

use crate::rng::SplitMix64;

/// Ephemeral client ports are `1024..=65535`.
pub(crate) const FIRST_EPHEMERAL_PORT: u64 = 1024;
pub(crate) const EPHEMERAL_PORTS: u64 = 65536 - FIRST_EPHEMERAL_PORT;
/// Average flows per client host: a workstation opens many connections.
const FLOWS_PER_CLIENT: u64 = 25;
/// Even a tiny mix spreads over a few dozen clients.
const MIN_CLIENTS: u64 = 64;
/// Client hosts are numbered in 22 bits (`CLIENT_BASE..` inside 10.0.0.0/8).
const CLIENT_BITS: u32 = 22;
const MAX_CLIENTS: u64 = 1 << CLIENT_BITS;
/// Offset that keeps client hosts off 10.0.0.0 and 10.255.255.255.
const CLIENT_BASE: u64 = 0x10_0000;
/// Largest number of flows with distinct tuples a mix can have (2^22 client
/// hosts times 64,512 ephemeral ports); larger `flows` values are capped.
pub const MAX_FLOWS: u64 = MAX_CLIENTS * EPHEMERAL_PORTS;
/// Server hosts are numbered in 18 bits, placed in 172.17.0.0–172.20.255.255.
const SERVER_BITS: u32 = 18;
const MAX_SERVERS: u64 = 1 << SERVER_BITS;
const MIN_SERVERS: u64 = 64;
const SERVER_BASE: u64 = 0x1_0000;
/// DNS resolvers (172.16.0.53.. / fd00:0:0:172::53..).
pub(crate) const RESOLVERS: u64 = 4;
/// Steps the port slot so a client's successive flows do not use adjacent ports.
/// Prime, hence coprime with `EPHEMERAL_PORTS` (2^10 * 3^2 * 7): a bijection.
const PORT_STRIDE: u64 = 7919;
const PORT_HOST_OFFSET: u64 = 40503;

/// Addresses of both ends of a flow; both ends always share a family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Addrs {
    V4 { client: [u8; 4], server: [u8; 4] },
    V6 { client: [u8; 16], server: [u8; 16] },
}

/// Locally administered MAC derived from the low 32 bits of an address.
pub(crate) fn mac_for(ip: &[u8]) -> [u8; 6] {
    let family = if ip.len() == 16 { 0x06 } else { 0x00 };
    let mut mac = [0x02, family, 0, 0, 0, 0];
    if let Some(low) = ip.get(ip.len().saturating_sub(4)..) {
        mac[2..].copy_from_slice(low);
    }
    mac
}

/// Sizes of the client and server populations for one mix.
#[derive(Clone, Debug)]
pub(crate) struct AddressPlan {
    clients: u64,
    servers: u64,
}

impl AddressPlan {
    pub(crate) fn new(flows: u64) -> Self {
        let clients = (flows / FLOWS_PER_CLIENT).clamp(MIN_CLIENTS, MAX_CLIENTS);
        let servers = (clients / 4).clamp(MIN_SERVERS, MAX_SERVERS);
        Self { clients, servers }
    }

    /// Client host number and client port (or ICMP echo id) of flow `index`.
    /// Distinct for every `index < MAX_FLOWS`.
    pub(crate) fn client(&self, index: u64) -> (u64, u16) {
        let host = index % self.clients;
        let slot = index / self.clients;
        let port =
            FIRST_EPHEMERAL_PORT + (slot * PORT_STRIDE + host * PORT_HOST_OFFSET) % EPHEMERAL_PORTS;
        (host, port as u16)
    }

    pub(crate) fn servers(&self) -> u64 {
        self.servers
    }

    /// A server host, popular ones more often.
    pub(crate) fn pick_server(&self, rng: &mut SplitMix64) -> u64 {
        rng.skewed(self.servers)
    }

    pub(crate) fn client_v4(host: u64) -> [u8; 4] {
        let h = CLIENT_BASE + permute(host, CLIENT_BITS);
        [10, (h >> 16) as u8, (h >> 8) as u8, h as u8]
    }

    pub(crate) fn client_v6(host: u64) -> [u8; 16] {
        let h = CLIENT_BASE + permute(host, CLIENT_BITS);
        let mut ip = [0xfd, 0, 0, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0];
        ip[13] = (h >> 16) as u8;
        ip[14] = (h >> 8) as u8;
        ip[15] = h as u8;
        ip
    }

    pub(crate) fn server_v4(server: u64) -> [u8; 4] {
        let h = SERVER_BASE + permute(server, SERVER_BITS);
        [172, 16 | (h >> 16) as u8, (h >> 8) as u8, h as u8]
    }

    pub(crate) fn server_v6(server: u64) -> [u8; 16] {
        let h = SERVER_BASE + permute(server, SERVER_BITS);
        let mut ip = [0xfd, 0, 0, 0, 0, 0, 0x01, 0x72, 0, 0, 0, 0, 0, 0, 0, 0];
        ip[13] = (h >> 16) as u8;
        ip[14] = (h >> 8) as u8;
        ip[15] = h as u8;
        ip
    }

    pub(crate) fn resolver_v4(resolver: u64) -> [u8; 4] {
        [172, 16, 0, 53 + (resolver % RESOLVERS) as u8]
    }

    pub(crate) fn resolver_v6(resolver: u64) -> [u8; 16] {
        let mut ip = [0xfd, 0, 0, 0, 0, 0, 0x01, 0x72, 0, 0, 0, 0, 0, 0, 0, 0];
        ip[15] = 0x53 + (resolver % RESOLVERS) as u8;
        ip
    }
}

/// Bijection on `bits`-bit integers that scatters consecutive host numbers
/// across the address block (odd multiply and xorshift are both invertible).
fn permute(x: u64, bits: u32) -> u64 {
    let mask = (1u64 << bits) - 1;
    let half = bits / 2;
    let mut x = x & mask;
    x = x.wrapping_mul(0x9E37_79B1) & mask;
    x ^= x >> half;
    x = x.wrapping_mul(0x85EB_CA6B) & mask;
    x ^= x >> half;
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn permute_is_a_bijection() {
        let bits = 12;
        let seen: HashSet<u64> = (0..1u64 << bits).map(|x| permute(x, bits)).collect();
        assert_eq!(seen.len(), 1 << bits);
    }

    #[test]
    fn client_tuples_are_unique() {
        let plan = AddressPlan::new(200_000);
        let mut seen = HashSet::new();
        for i in 0..200_000 {
            let (host, port) = plan.client(i);
            assert!(port >= 1024);
            assert!(
                seen.insert((AddressPlan::client_v4(host), port)),
                "flow {i}"
            );
        }
    }

    #[test]
    fn addresses_stay_in_their_blocks() {
        for h in [0, 1, MAX_CLIENTS - 1] {
            let ip = AddressPlan::client_v4(h);
            assert_eq!(ip[0], 10);
            assert_ne!(ip, [10, 255, 255, 255]);
            assert_eq!(AddressPlan::client_v6(h)[0], 0xfd);
        }
        for s in [0, 1, MAX_SERVERS - 1] {
            let ip = AddressPlan::server_v4(s);
            assert_eq!(ip[0], 172);
            assert!((16..32).contains(&ip[1]), "{ip:?} outside 172.16.0.0/12");
        }
        assert_eq!(mac_for(&[10, 1, 2, 3]), [2, 0, 10, 1, 2, 3]);
    }
}
