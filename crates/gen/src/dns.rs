//! DNS query/response pairs in wire format (RFC 1035, EDNS0 per RFC 6891).

use crate::addr::AddressPlan;
use crate::rng::SplitMix64;

pub(crate) const DNS_PORT: u16 = 53;
const TYPE_A: u16 = 1;
const TYPE_AAAA: u16 = 28;
const TYPE_OPT: u16 = 41;
const CLASS_IN: u16 = 1;
const FLAG_RD: u16 = 0x0100;
const FLAGS_RESPONSE: u16 = 0x8180; // QR, RD, RA
const RCODE_NXDOMAIN: u16 = 3;
/// EDNS UDP payload size recommended since DNS Flag Day 2020.
const EDNS_UDP_SIZE: u16 = 1232;
/// Distinct names per pattern; popular names recur across flows.
const NAMES_PER_PATTERN: u64 = 5000;

/// One query and its answer.
#[derive(Clone, Debug)]
pub(crate) struct DnsExchange {
    pub(crate) query: Vec<u8>,
    pub(crate) response: Vec<u8>,
}

fn put16(buf: &mut Vec<u8>, v: u16) {
    buf.extend_from_slice(&v.to_be_bytes());
}

fn put_name(buf: &mut Vec<u8>, name: &str) {
    for label in name.split('.') {
        buf.push(label.len() as u8);
        buf.extend_from_slice(label.as_bytes());
    }
    buf.push(0);
}

fn put_opt(buf: &mut Vec<u8>) {
    buf.push(0); // root name
    put16(buf, TYPE_OPT);
    put16(buf, EDNS_UDP_SIZE);
    // Extended rcode, version, flags, empty rdata.
    buf.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
}

impl DnsExchange {
    /// A lookup of a plausible name; the answer points at one of the plan's
    /// servers so names resolve consistently across flows.
    pub(crate) fn new(rng: &mut SplitMix64, plan: &AddressPlan, v6: bool) -> Self {
        let n = rng.skewed(NAMES_PER_PATTERN);
        let name = match rng.below(5) {
            0 => format!("host{n}.example.com"),
            1 => format!("www.site{n}.com"),
            2 => format!("api{n}.service.example.net"),
            3 => format!("cdn{n}.static.example.org"),
            _ => format!("mail.corp{n}.example"),
        };
        let aaaa = rng.chance(if v6 { 60 } else { 15 });
        let qtype = if aaaa { TYPE_AAAA } else { TYPE_A };
        let edns = rng.chance(50);
        let nxdomain = rng.chance(5);
        let id = rng.next_u32() as u16;
        let ttl = rng.range(30, 3600) as u32;

        let mut question = Vec::with_capacity(name.len() + 6);
        put_name(&mut question, &name);
        put16(&mut question, qtype);
        put16(&mut question, CLASS_IN);

        let header = |flags: u16, answers: u16| {
            let mut h = Vec::with_capacity(64);
            for v in [id, flags, 1, answers, 0, u16::from(edns)] {
                put16(&mut h, v);
            }
            h
        };

        let mut query = header(FLAG_RD, 0);
        query.extend_from_slice(&question);
        if edns {
            put_opt(&mut query);
        }

        let flags = if nxdomain {
            FLAGS_RESPONSE | RCODE_NXDOMAIN
        } else {
            FLAGS_RESPONSE
        };
        let mut response = header(flags, u16::from(!nxdomain));
        response.extend_from_slice(&question);
        if !nxdomain {
            // Name compressed as a pointer to the question at offset 12.
            response.extend_from_slice(&[0xC0, 0x0C]);
            put16(&mut response, qtype);
            put16(&mut response, CLASS_IN);
            response.extend_from_slice(&ttl.to_be_bytes());
            let server = n % plan.servers();
            if aaaa {
                put16(&mut response, 16);
                response.extend_from_slice(&AddressPlan::server_v6(server));
            } else {
                put16(&mut response, 4);
                response.extend_from_slice(&AddressPlan::server_v4(server));
            }
        }
        if edns {
            put_opt(&mut response);
        }
        Self { query, response }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_is_well_formed() {
        let plan = AddressPlan::new(1000);
        for seed in 0..100 {
            let ex = DnsExchange::new(&mut SplitMix64::new(seed), &plan, false);
            let q = &ex.query;
            assert_eq!(&q[2..4], &[0x01, 0x00]);
            assert_eq!(&q[4..6], &[0, 1]);
            // Walk the name.
            let mut at = 12;
            while q[at] != 0 {
                at += 1 + usize::from(q[at]);
            }
            let qtype = u16::from_be_bytes([q[at + 1], q[at + 2]]);
            assert!(qtype == TYPE_A || qtype == TYPE_AAAA);
            let additional = usize::from(q[11]);
            assert_eq!(q.len(), at + 5 + additional * 11);
            // The response repeats id and question.
            let r = &ex.response;
            assert_eq!(&r[..2], &q[..2]);
            assert_eq!(&r[12..at + 5], &q[12..at + 5]);
            assert_eq!(r[2] & 0x80, 0x80);
        }
    }

    #[test]
    fn name_encoding() {
        let mut buf = Vec::new();
        put_name(&mut buf, "host123.example.com");
        assert_eq!(buf, b"\x07host123\x07example\x03com\x00");
    }
}
