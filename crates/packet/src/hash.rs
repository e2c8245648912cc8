//! The dispatch hash: which worker a frame goes to.

/// A symmetric hash of the outermost IP address pair of a frame (0 for non-IP frames).
///
/// Addresses only, not ports: every fragment of a datagram, and every flow inside a tunnel,
/// must reach the worker that owns the reassembly and the flow state, and non-first fragments
/// carry no ports. The walk is a cheap skim over the link layer, VLAN tags, MPLS and PPPoE.
pub fn dispatch_hash(link: crate::LinkType, frame: &[u8]) -> u64 {
    use crate::LinkType as L;
    let (mut et, mut d) = match link {
        L::Ethernet => match (frame.get(12..14), frame.get(14..)) {
            (Some(t), Some(rest)) => (u16::from_be_bytes([t[0], t[1]]), rest),
            _ => return 0,
        },
        L::LinuxSll => match (frame.get(14..16), frame.get(16..)) {
            (Some(t), Some(rest)) => (u16::from_be_bytes([t[0], t[1]]), rest),
            _ => return 0,
        },
        L::LinuxSll2 => match (frame.get(0..2), frame.get(20..)) {
            (Some(t), Some(rest)) => (u16::from_be_bytes([t[0], t[1]]), rest),
            _ => return 0,
        },
        L::Null | L::Loop => (0, frame.get(4..).unwrap_or_default()),
        L::Raw | L::Ipv4 | L::Ipv6 => (0, frame),
        L::Nflog => return nflog_hash(frame),
        L::Unknown(_) => return 0,
    };
    for _ in 0..16 {
        match et {
            0x8100 | 0x88A8 | 0x9100 | 0x9200 => {
                let (Some(t), Some(rest)) = (d.get(2..4), d.get(4..)) else {
                    return 0;
                };
                et = u16::from_be_bytes([t[0], t[1]]);
                d = rest;
            }
            0x8847 | 0x8848 => {
                // Skip the label stack.
                let mut off = 0;
                while let Some(b) = d.get(off + 2) {
                    off += 4;
                    if b & 1 == 1 {
                        break;
                    }
                }
                d = d.get(off..).unwrap_or_default();
                et = 0;
            }
            0x8864 => {
                d = d.get(8..).unwrap_or_default();
                et = 0;
            }
            _ => break,
        }
    }
    ip_pair_hash(d)
}

fn nflog_hash(frame: &[u8]) -> u64 {
    let mut off = 4usize;
    for _ in 0..64 {
        let (Some(l), Some(t)) = (frame.get(off..off + 2), frame.get(off + 2..off + 4)) else {
            return 0;
        };
        let len = usize::from(u16::from_le_bytes([l[0], l[1]]));
        if len < 4 {
            return 0;
        }
        if u16::from_le_bytes([t[0], t[1]]) & 0x7FFF == 9 {
            return ip_pair_hash(frame.get(off + 4..).unwrap_or_default());
        }
        off += (len + 3) & !3;
    }
    0
}

fn ip_pair_hash(d: &[u8]) -> u64 {
    match d.first().map(|b| b >> 4) {
        Some(4) => match (d.get(12..16), d.get(16..20)) {
            (Some(a), Some(b)) => {
                let a = u32::from_be_bytes([a[0], a[1], a[2], a[3]]);
                let b = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
                let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
                mix64(u64::from(lo) << 32 | u64::from(hi))
            }
            _ => 0,
        },
        Some(6) => match (d.get(8..24), d.get(24..40)) {
            (Some(a), Some(b)) => {
                let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
                let mut h = 0x9E37_79B9_7F4A_7C15u64;
                for c in lo.chunks_exact(8).chain(hi.chunks_exact(8)) {
                    let mut w = [0u8; 8];
                    w.copy_from_slice(c);
                    h = mix64(h ^ u64::from_be_bytes(w));
                }
                h
            }
            _ => 0,
        },
        _ => 0,
    }
}

/// splitmix64's finaliser: a cheap, well-spread, stable mix of 64 bits (the same in every
/// process, unlike the flow table's randomly seeded hasher).
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
