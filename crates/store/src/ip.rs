//! Addresses as sortable 16-byte keys, so that a CIDR filter is a range on an index.

use std::net::IpAddr;

use ipnet::IpNet;

/// The key of an address: IPv6 octets, IPv4 as `::ffff:a.b.c.d` (so both sort in one space).
pub fn ip_key(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
        IpAddr::V6(a) => a.octets(),
    }
}

/// The first and last key of a network.
pub fn net_range(net: &IpNet) -> ([u8; 16], [u8; 16]) {
    match net {
        IpNet::V4(n) => (
            ip_key(IpAddr::V4(n.network())),
            ip_key(IpAddr::V4(n.broadcast())),
        ),
        IpNet::V6(n) => (n.network().octets(), n.broadcast().octets()),
    }
}

/// `10.0.0.0/8`, `2001:db8::/32` or a bare address (a host). Host bits after the prefix are
/// ignored (`10.1.2.3/8` is `10.0.0.0/8`).
pub fn parse_net(s: &str) -> Result<IpNet, String> {
    let s = s.trim();
    if let Ok(n) = s.parse::<IpNet>() {
        return Ok(n.trunc());
    }
    match s.parse::<IpAddr>() {
        Ok(a) => Ok(IpNet::from(a)),
        Err(_) => Err(format!(
            "{s:?} is not an address or network (e.g. 10.0.0.0/8, 2001:db8::/32, 192.0.2.1)"
        )),
    }
}

/// The key of an address given as text; `None` if it is not one.
pub(crate) fn key_of(s: &str) -> Option<[u8; 16]> {
    s.parse::<IpAddr>().ok().map(ip_key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v4_network_range_covers_its_hosts_only() {
        let net = parse_net("192.0.2.77/24").unwrap();
        let (lo, hi) = net_range(&net);
        let k = |s: &str| key_of(s).unwrap();
        assert!(lo <= k("192.0.2.0") && k("192.0.2.255") <= hi);
        assert!(k("192.0.3.0") > hi && k("192.0.1.255") < lo);
        assert!(k("::1") < lo);
        assert_eq!(parse_net("10.0.0.1").unwrap().prefix_len(), 32);
        assert!(parse_net("10.0.0.0/33").is_err());
        assert!(parse_net("nonsense").unwrap_err().contains("nonsense"));
    }
}
