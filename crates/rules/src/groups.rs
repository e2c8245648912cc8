//! Address and port groups as written in rule headers and variables, resolved to concrete
//! sets.
//!
//! Grammar (the same for both): `any`, a single value, `$VAR`, `!item`, and lists
//! `[item, item, …]` which nest. A list is the union of its plain items minus the union of its
//! negated items; a list of negated items only starts from everything (so `[!1.2.3.4]` and
//! `!1.2.3.4` both mean every address, IPv6 included, except 1.2.3.4). An empty result is an
//! error, like in Suricata (`!any`, `[1.2.3.4,!1.2.3.4]`).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv4Subnets, Ipv6Net, Ipv6Subnets};

use crate::error::{ErrorKind, RuleError};
use crate::sets::RangeSet;
use crate::vars::Vars;

/// How deep variables may refer to variables (and lists nest): deeper is taken as a cycle.
pub const MAX_GROUP_DEPTH: usize = 16;

/// A resolved set of IPv4 and IPv6 addresses.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct AddressSet {
    /// IPv4 addresses as `u32` ranges.
    pub v4: RangeSet<u32>,
    /// IPv6 addresses as `u128` ranges.
    pub v6: RangeSet<u128>,
}

impl AddressSet {
    /// Every address (`any`).
    pub fn any() -> Self {
        AddressSet {
            v4: RangeSet::full(),
            v6: RangeSet::full(),
        }
    }

    /// No address.
    pub fn none() -> Self {
        AddressSet::default()
    }

    /// The addresses of one network.
    pub fn net(net: IpNet) -> Self {
        match net {
            IpNet::V4(n) => AddressSet {
                v4: RangeSet::range(u32::from(n.network()), u32::from(n.broadcast())),
                v6: RangeSet::empty(),
            },
            IpNet::V6(n) => AddressSet {
                v4: RangeSet::empty(),
                v6: RangeSet::range(u128::from(n.network()), u128::from(n.broadcast())),
            },
        }
    }

    /// Whether every address is in the set.
    pub fn is_any(&self) -> bool {
        self.v4.is_full() && self.v6.is_full()
    }

    /// Whether no address is in the set.
    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }

    /// Whether `ip` is in the set.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(a) => self.v4.contains(u32::from(a)),
            IpAddr::V6(a) => self.v6.contains(u128::from(a)),
        }
    }

    /// The set as the fewest CIDR blocks, IPv4 first.
    pub fn to_cidrs(&self) -> Vec<IpNet> {
        let mut out = Vec::new();
        for &(lo, hi) in self.v4.ranges() {
            out.extend(Ipv4Subnets::new(Ipv4Addr::from(lo), Ipv4Addr::from(hi), 0).map(IpNet::V4));
        }
        for &(lo, hi) in self.v6.ranges() {
            out.extend(Ipv6Subnets::new(Ipv6Addr::from(lo), Ipv6Addr::from(hi), 0).map(IpNet::V6));
        }
        out
    }

    fn union(&self, o: &Self) -> Self {
        AddressSet {
            v4: self.v4.union(&o.v4),
            v6: self.v6.union(&o.v6),
        }
    }

    fn difference(&self, o: &Self) -> Self {
        AddressSet {
            v4: self.v4.difference(&o.v4),
            v6: self.v6.difference(&o.v6),
        }
    }
}

impl fmt::Display for AddressSet {
    /// `any`, or the CIDR blocks as a list.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_any() {
            return f.write_str("any");
        }
        let cidrs: Vec<String> = self.to_cidrs().iter().map(|n| n.to_string()).collect();
        write!(f, "[{}]", cidrs.join(","))
    }
}

/// A resolved set of ports.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct PortSet(pub RangeSet<u16>);

impl PortSet {
    /// Every port (`any`).
    pub fn any() -> Self {
        PortSet(RangeSet::full())
    }

    /// Whether every port is in the set.
    pub fn is_any(&self) -> bool {
        self.0.is_full()
    }

    /// Whether `port` is in the set.
    pub fn contains(&self, port: u16) -> bool {
        self.0.contains(port)
    }

    /// The ports as sorted, disjoint inclusive ranges.
    pub fn ranges(&self) -> &[(u16, u16)] {
        self.0.ranges()
    }
}

impl fmt::Display for PortSet {
    /// `any`, or the ranges as a list (`[80,8000:8080]`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_any() {
            return f.write_str("any");
        }
        let parts: Vec<String> = self
            .ranges()
            .iter()
            .map(|&(lo, hi)| {
                if lo == hi {
                    lo.to_string()
                } else {
                    format!("{lo}:{hi}")
                }
            })
            .collect();
        write!(f, "[{}]", parts.join(","))
    }
}

/// What differs between address and port groups.
trait Space {
    type Set: Clone;
    const WHAT: &'static str;
    fn full() -> Self::Set;
    fn union(a: &Self::Set, b: &Self::Set) -> Self::Set;
    fn difference(a: &Self::Set, b: &Self::Set) -> Self::Set;
    fn is_empty(s: &Self::Set) -> bool;
    fn atom(s: &str) -> Result<Self::Set, String>;
    fn lookup<'v>(vars: &'v Vars, name: &str) -> Option<&'v str>;
    /// The other kind's lookup, to say "is a port variable" rather than "unknown".
    fn lookup_other(vars: &Vars, name: &str) -> bool;
    fn error_kind() -> ErrorKind;
}

struct Addresses;
struct Ports;

impl Space for Addresses {
    type Set = AddressSet;
    const WHAT: &'static str = "address";
    fn full() -> AddressSet {
        AddressSet::any()
    }
    fn union(a: &AddressSet, b: &AddressSet) -> AddressSet {
        a.union(b)
    }
    fn difference(a: &AddressSet, b: &AddressSet) -> AddressSet {
        a.difference(b)
    }
    fn is_empty(s: &AddressSet) -> bool {
        s.is_empty()
    }
    fn atom(s: &str) -> Result<AddressSet, String> {
        parse_address_atom(s)
    }
    fn lookup<'v>(vars: &'v Vars, name: &str) -> Option<&'v str> {
        vars.address(name)
    }
    fn lookup_other(vars: &Vars, name: &str) -> bool {
        vars.port(name).is_some()
    }
    fn error_kind() -> ErrorKind {
        ErrorKind::InvalidAddress
    }
}

impl Space for Ports {
    type Set = RangeSet<u16>;
    const WHAT: &'static str = "port";
    fn full() -> RangeSet<u16> {
        RangeSet::full()
    }
    fn union(a: &RangeSet<u16>, b: &RangeSet<u16>) -> RangeSet<u16> {
        a.union(b)
    }
    fn difference(a: &RangeSet<u16>, b: &RangeSet<u16>) -> RangeSet<u16> {
        a.difference(b)
    }
    fn is_empty(s: &RangeSet<u16>) -> bool {
        s.is_empty()
    }
    fn atom(s: &str) -> Result<RangeSet<u16>, String> {
        parse_port_atom(s)
    }
    fn lookup<'v>(vars: &'v Vars, name: &str) -> Option<&'v str> {
        vars.port(name)
    }
    fn lookup_other(vars: &Vars, name: &str) -> bool {
        vars.address(name).is_some()
    }
    fn error_kind() -> ErrorKind {
        ErrorKind::InvalidPort
    }
}

/// Resolves an address specification against `vars`. Error offsets are within `spec`
/// (errors inside a variable's value point at the `$VAR`).
pub(crate) fn resolve_address(spec: &str, vars: &Vars) -> Result<AddressSet, RuleError> {
    resolve::<Addresses>(spec, 0, vars, 0)
}

/// Resolves a port specification against `vars`.
pub(crate) fn resolve_ports(spec: &str, vars: &Vars) -> Result<PortSet, RuleError> {
    resolve::<Ports>(spec, 0, vars, 0).map(PortSet)
}

fn resolve<S: Space>(
    spec: &str,
    at: usize,
    vars: &Vars,
    depth: usize,
) -> Result<S::Set, RuleError> {
    let set = eval::<S>(spec, at, vars, depth)?;
    if S::is_empty(&set) {
        return Err(RuleError::new(
            S::error_kind(),
            at,
            format!("{} group `{}` matches nothing", S::WHAT, spec.trim()),
        ));
    }
    Ok(set)
}

/// One item: `!item`, `[list]`, `$VAR`, `any` or a value. `at` is the offset of `s` in the
/// rule (or of the variable reference, inside a variable's value).
fn eval<S: Space>(s: &str, at: usize, vars: &Vars, depth: usize) -> Result<S::Set, RuleError> {
    let err = |off: usize, msg: String| RuleError::new(S::error_kind(), off, msg);
    if depth > MAX_GROUP_DEPTH {
        return Err(err(
            at,
            format!("{} group nests deeper than {MAX_GROUP_DEPTH} levels (a variable that refers to itself?)", S::WHAT),
        ));
    }
    let lead = s.len() - s.trim_start().len();
    let t = s.trim();
    let at = at + lead;
    if t.is_empty() {
        return Err(err(at, format!("empty {}", S::WHAT)));
    }
    if let Some(rest) = t.strip_prefix('!') {
        let inner = eval::<S>(rest, at + 1, vars, depth + 1)?;
        return Ok(S::difference(&S::full(), &inner));
    }
    if t.starts_with('[') {
        let close = matching_bracket(t)
            .ok_or_else(|| err(at, format!("unclosed `[` in {} group", S::WHAT)))?;
        if close + 1 != t.len() {
            return Err(err(
                at + close + 1,
                format!("unexpected `{}` after `]`", &t[close + 1..]),
            ));
        }
        let inner = &t[1..close];
        let mut plus: Option<S::Set> = None;
        let mut minus: Option<S::Set> = None;
        for (off, item) in split_top_level(inner) {
            let item_at = at + 1 + off;
            let lead = item.len() - item.trim_start().len();
            let it = item.trim();
            if it.is_empty() {
                return Err(err(item_at, format!("empty item in {} list", S::WHAT)));
            }
            if let Some(rest) = it.strip_prefix('!') {
                let v = eval::<S>(rest, item_at + lead + 1, vars, depth + 1)?;
                minus = Some(match minus {
                    Some(m) => S::union(&m, &v),
                    None => v,
                });
            } else {
                let v = eval::<S>(it, item_at + lead, vars, depth + 1)?;
                plus = Some(match plus {
                    Some(p) => S::union(&p, &v),
                    None => v,
                });
            }
        }
        let base = plus.unwrap_or_else(S::full);
        return Ok(match minus {
            Some(m) => S::difference(&base, &m),
            None => base,
        });
    }
    if let Some(name) = t.strip_prefix('$') {
        let Some(value) = S::lookup(vars, name) else {
            if S::lookup_other(vars, name) {
                let other = if S::WHAT == "address" {
                    "a port"
                } else {
                    "an address"
                };
                return Err(err(
                    at,
                    format!("`${name}` is {other} variable, used as {}", S::WHAT),
                ));
            }
            return Err(RuleError::new(
                ErrorKind::UnknownVariable(format!("${name}")),
                at,
                format!("unknown variable `${name}`"),
            ));
        };
        return eval::<S>(value, at, vars, depth + 1).map_err(|mut e| {
            if !e.message.contains("(in `$") {
                e.message = format!("{} (in `${name}` = `{value}`)", e.message);
            }
            e.offset = at;
            e
        });
    }
    if t.eq_ignore_ascii_case("any") {
        return Ok(S::full());
    }
    S::atom(t).map_err(|m| err(at, m))
}

/// Index of the `]` closing the `[` at index 0.
fn matching_bracket(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, b) in s.bytes().enumerate() {
        match b {
            b'[' => depth += 1,
            b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Splits on commas outside brackets; yields (offset, item).
fn split_top_level(s: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        match b {
            b'[' => depth += 1,
            b']' => depth = depth.saturating_sub(1),
            b',' if depth == 0 => {
                out.push((start, &s[start..i]));
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push((start, &s[start..]));
    out
}

/// `1.2.3.4`, `1.2.3.0/24`, `1.2.3.0/255.255.255.0`, `2001:db8::/32`, `1.2.3.4-1.2.3.9`.
fn parse_address_atom(s: &str) -> Result<AddressSet, String> {
    if let Some((a, b)) = s.split_once('-') {
        let lo: IpAddr = a
            .trim()
            .parse()
            .map_err(|_| format!("invalid address `{a}` in range `{s}`"))?;
        let hi: IpAddr = b
            .trim()
            .parse()
            .map_err(|_| format!("invalid address `{b}` in range `{s}`"))?;
        return match (lo, hi) {
            (IpAddr::V4(lo), IpAddr::V4(hi)) if lo <= hi => Ok(AddressSet {
                v4: RangeSet::range(u32::from(lo), u32::from(hi)),
                v6: RangeSet::empty(),
            }),
            (IpAddr::V6(lo), IpAddr::V6(hi)) if lo <= hi => Ok(AddressSet {
                v4: RangeSet::empty(),
                v6: RangeSet::range(u128::from(lo), u128::from(hi)),
            }),
            _ => Err(format!("invalid address range `{s}`")),
        };
    }
    if let Some((a, m)) = s.split_once('/') {
        let ip: IpAddr = a
            .parse()
            .map_err(|_| format!("invalid address `{a}` in `{s}`"))?;
        let prefix: u8 = match m.parse::<u8>() {
            Ok(p) => p,
            Err(_) => match (ip, m.parse::<Ipv4Addr>()) {
                (IpAddr::V4(_), Ok(mask)) => {
                    let bits = u32::from(mask);
                    if bits.leading_ones() + bits.trailing_zeros() != 32 {
                        return Err(format!("netmask `{m}` is not contiguous"));
                    }
                    bits.leading_ones() as u8
                }
                _ => return Err(format!("invalid prefix length `{m}` in `{s}`")),
            },
        };
        let net = match ip {
            IpAddr::V4(a) => Ipv4Net::new(a, prefix).map(|n| IpNet::V4(n.trunc())),
            IpAddr::V6(a) => Ipv6Net::new(a, prefix).map(|n| IpNet::V6(n.trunc())),
        }
        .map_err(|_| format!("prefix length `{m}` is too long in `{s}`"))?;
        return Ok(AddressSet::net(net));
    }
    let ip: IpAddr = s.parse().map_err(|_| format!("invalid address `{s}`"))?;
    Ok(AddressSet::net(IpNet::from(ip)))
}

/// `80`, `80:90`, `1024:`, `:1023`.
fn parse_port_atom(s: &str) -> Result<RangeSet<u16>, String> {
    let num = |p: &str| -> Result<u16, String> {
        p.trim()
            .parse::<u16>()
            .map_err(|_| format!("invalid port `{}` (0 to 65535)", p.trim()))
    };
    if let Some((a, b)) = s.split_once(':') {
        let lo = if a.trim().is_empty() { 0 } else { num(a)? };
        let hi = if b.trim().is_empty() {
            u16::MAX
        } else {
            num(b)?
        };
        if lo > hi {
            return Err(format!("port range `{s}` is reversed"));
        }
        return Ok(RangeSet::range(lo, hi));
    }
    let p = num(s)?;
    Ok(RangeSet::range(p, p))
}
