//! `networks = [...]`: the addresses a detector watches.

use std::net::IpAddr;

use ipnet::IpNet;

/// Included and excluded networks. An address is watched when it is in an included network
/// (or none is listed) and in no excluded one. Lists are short and checked in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Networks {
    include: Vec<IpNet>,
    exclude: Vec<IpNet>,
}

impl Networks {
    /// Reads `10.0.0.0/8`, `2001:db8::/32`, a bare address (one host), each optionally
    /// preceded by `!` to exclude it. Host bits after the prefix are ignored
    /// (`10.1.2.3/8` is `10.0.0.0/8`). The error is the entry refused.
    pub(crate) fn parse(entries: &[String]) -> Result<Networks, String> {
        let mut networks = Networks::default();
        for entry in entries {
            let text = entry.trim();
            let (exclude, body) = match text.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, text),
            };
            let net = parse_net(body).ok_or_else(|| entry.clone())?;
            if exclude {
                networks.exclude.push(net);
            } else {
                networks.include.push(net);
            }
        }
        Ok(networks)
    }

    /// Whether `ip` is watched. An IPv4-mapped IPv6 address is matched as IPv4.
    pub(crate) fn allows(&self, ip: IpAddr) -> bool {
        if self.include.is_empty() && self.exclude.is_empty() {
            return true;
        }
        let ip = ip.to_canonical();
        (self.include.is_empty() || self.include.iter().any(|n| n.contains(&ip)))
            && !self.exclude.iter().any(|n| n.contains(&ip))
    }
}

fn parse_net(text: &str) -> Option<IpNet> {
    if let Ok(net) = text.parse::<IpNet>() {
        return Some(net.trunc());
    }
    text.parse::<IpAddr>().ok().map(IpNet::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Networks {
        Networks::parse(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn empty_allows_everything() {
        assert!(nets(&[]).allows(ip("1.2.3.4")));
        assert!(nets(&[]).allows(ip("::1")));
    }

    #[test]
    fn include_exclude_and_hosts() {
        let n = nets(&[
            "10.0.0.0/8",
            "2001:db8::/32",
            "!10.0.0.25",
            " ! 10.9.0.0/16 ",
        ]);
        assert!(n.allows(ip("10.1.2.3")));
        assert!(n.allows(ip("2001:db8::1")));
        assert!(
            n.allows(ip("::ffff:10.1.2.3")),
            "mapped IPv4 matches as IPv4"
        );
        assert!(!n.allows(ip("10.0.0.25")));
        assert!(!n.allows(ip("10.9.1.1")));
        assert!(!n.allows(ip("192.168.1.1")));
        assert!(!n.allows(ip("2001:db9::1")));
        let only_exclude = nets(&["!192.168.0.0/16"]);
        assert!(only_exclude.allows(ip("10.0.0.1")));
        assert!(!only_exclude.allows(ip("192.168.3.3")));
        assert!(
            nets(&["10.1.2.3/8"]).allows(ip("10.200.0.1")),
            "host bits ignored"
        );
    }

    #[test]
    fn bad_entries_are_named() {
        for bad in [
            "10.0.0.0/33",
            "example.com",
            "",
            "!",
            "10.0.0.0/8/8",
            "1.2.3",
        ] {
            let e = Networks::parse(&[bad.to_string()]).unwrap_err();
            assert_eq!(e, bad);
        }
    }
}
