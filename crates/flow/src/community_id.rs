//! Community ID v1 (the flow hash Zeek and Suricata share), seed 0 by default.
//!
//! Specification: github.com/corelight/community-id-spec. The hash is SHA-1 over seed (2 bytes),
//! source address, destination address, protocol, one zero byte, source port, destination port
//! (network byte order), with the endpoints ordered so both directions agree; base64-encoded
//! and prefixed with `1:`. For ICMP the "ports" are type and code, mapped so that a request and
//! its reply share the hash.

use std::net::IpAddr;

use base64::Engine;
use sha1::{Digest, Sha1};

/// ICMPv4 request/reply pairs (type → counterpart type).
fn icmp4_counterpart(ty: u8) -> Option<u8> {
    Some(match ty {
        8 => 0,
        0 => 8,
        13 => 14,
        14 => 13,
        15 => 16,
        16 => 15,
        17 => 18,
        18 => 17,
        10 => 9,
        9 => 10,
        _ => return None,
    })
}

/// ICMPv6 request/reply pairs.
fn icmp6_counterpart(ty: u8) -> Option<u8> {
    Some(match ty {
        128 => 129,
        129 => 128,
        133 => 134,
        134 => 133,
        135 => 136,
        136 => 135,
        130 => 131,
        131 => 130,
        144 => 145,
        145 => 144,
        139 => 140,
        140 => 139,
        _ => return None,
    })
}

/// The Community ID string of a flow seen from `src` to `dst`. For ICMP and ICMPv6 pass the
/// type as `sport` and the code as `dport`.
pub fn community_id(
    seed: u16,
    src: IpAddr,
    sport: u16,
    dst: IpAddr,
    dport: u16,
    proto: u8,
) -> String {
    let (mut sp, mut dp) = (sport, dport);
    let mut one_way = false;
    if proto == 1 || proto == 58 {
        let ty = sport as u8;
        let counterpart = if proto == 1 {
            icmp4_counterpart(ty)
        } else {
            icmp6_counterpart(ty)
        };
        match counterpart {
            Some(c) => dp = u16::from(c),
            None => one_way = true,
        }
        sp = u16::from(ty);
    }
    let (s, d) = (ip_bytes(src), ip_bytes(dst));
    let swap = !one_way && (d.as_slice(), dp) < (s.as_slice(), sp);
    let (s, d, sp, dp) = if swap { (d, s, dp, sp) } else { (s, d, sp, dp) };
    let mut h = Sha1::new();
    h.update(seed.to_be_bytes());
    h.update(&s);
    h.update(&d);
    h.update([proto, 0]);
    let has_ports = matches!(proto, 1 | 6 | 17 | 58 | 132);
    if has_ports {
        h.update(sp.to_be_bytes());
        h.update(dp.to_be_bytes());
    }
    let digest = h.finalize();
    format!(
        "1:{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

fn ip_bytes(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(v) => v.octets().to_vec(),
        IpAddr::V6(v) => v.octets().to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference values from the specification's baseline data (seed 0).
    #[test]
    fn spec_baseline() {
        let a: IpAddr = "128.232.110.120".parse().unwrap();
        let b: IpAddr = "66.35.250.204".parse().unwrap();
        assert_eq!(
            community_id(0, a, 34855, b, 80, 6),
            "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
        );
        assert_eq!(
            community_id(0, b, 80, a, 34855, 6),
            "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
        );
        let c: IpAddr = "192.168.0.89".parse().unwrap();
        let d: IpAddr = "192.168.0.1".parse().unwrap();
        assert_eq!(
            community_id(0, c, 8, d, 0, 1),
            "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="
        );
        assert_eq!(
            community_id(0, d, 0, c, 0, 1),
            "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="
        );
    }

    #[test]
    fn unpaired_icmpv6_types_are_one_way() {
        let a: IpAddr = "fe80::1".parse().unwrap();
        let b: IpAddr = "fe80::2".parse().unwrap();
        // Echo request/reply pair up: both directions give one id.
        assert_eq!(
            community_id(0, a, 128, b, 0, 58),
            community_id(0, b, 129, a, 0, 58)
        );
        // 146/147 (mobile prefix) do not pair in the reference implementations.
        assert_ne!(
            community_id(0, a, 146, b, 0, 58),
            community_id(0, b, 147, a, 0, 58)
        );
    }
}
