//! Parses the generated frames back with etherparse and checks what a
//! consumer of the capture would rely on: flow count, order, checksums,
//! TCP sequence numbers, determinism.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};

use etherparse::{Icmpv4Type, Icmpv6Type, NetSlice, SlicedPacket, TransportSlice};
use nta_gen::{MixSummary, SyntheticMix, CONCURRENT_SPAN_NS, DEFAULT_START_NS};

type Endpoint = ([u8; 16], u16);

/// Bidirectional 5-tuple: protocol and the two endpoints in sorted order.
/// ICMP echo uses the identifier as the port on both sides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct FlowKey {
    proto: u8,
    low: Endpoint,
    high: Endpoint,
}

#[derive(Debug)]
struct Tcp {
    seq: u32,
    ack: u32,
    syn: bool,
    fin: bool,
    ack_flag: bool,
    rst: bool,
    payload_len: u32,
}

#[derive(Debug)]
struct Packet {
    key: FlowKey,
    src: Endpoint,
    v6: bool,
    tcp: Option<Tcp>,
    udp_dst_port: Option<u16>,
}

fn v4(ip: [u8; 4]) -> [u8; 16] {
    let mut out = [0; 16];
    out[12..].copy_from_slice(&ip);
    out
}

/// Decodes one frame and verifies every checksum in it.
fn decode(frame: &[u8]) -> Packet {
    let sliced = SlicedPacket::from_ethernet(frame).expect("frame parses");
    let (src_ip, dst_ip, v6) = match sliced.net.as_ref().expect("has IP") {
        NetSlice::Ipv4(ip) => {
            let h = ip.header();
            assert_eq!(
                h.header_checksum(),
                h.to_header().calc_header_checksum(),
                "IPv4 header checksum"
            );
            assert!(h.dont_fragment());
            (h.source(), h.destination(), false)
        }
        NetSlice::Ipv6(ip) => {
            let h = ip.header();
            let (s, d) = (h.source(), h.destination());
            assert_eq!(s[0], 0xfd);
            return decode_l4(&sliced, (s, d), true);
        }
        NetSlice::Arp(_) => panic!("no ARP expected"),
    };
    decode_l4_v4(&sliced, src_ip, dst_ip, v6)
}

fn decode_l4_v4(sliced: &SlicedPacket<'_>, src: [u8; 4], dst: [u8; 4], v6: bool) -> Packet {
    let transport = sliced.transport.as_ref().expect("has L4");
    match transport {
        TransportSlice::Tcp(tcp) => {
            assert_eq!(
                tcp.checksum(),
                tcp.calc_checksum_ipv4(src, dst).unwrap(),
                "TCP checksum"
            );
        }
        TransportSlice::Udp(udp) => {
            let expected = udp
                .to_header()
                .calc_checksum_ipv4_raw(src, dst, udp.payload())
                .unwrap();
            assert_eq!(udp.checksum(), expected, "UDP checksum");
        }
        TransportSlice::Icmpv4(icmp) => {
            assert_eq!(
                icmp.checksum(),
                icmp.icmp_type().calc_checksum(icmp.payload()),
                "ICMP checksum"
            );
        }
        other => panic!("unexpected transport {other:?}"),
    }
    decode_l4(sliced, (v4(src), v4(dst)), v6)
}

fn decode_l4(sliced: &SlicedPacket<'_>, (src, dst): ([u8; 16], [u8; 16]), v6: bool) -> Packet {
    let transport = sliced.transport.as_ref().expect("has L4");
    let (proto, sport, dport, tcp, udp_dst_port) = match transport {
        TransportSlice::Tcp(t) => {
            if v6 {
                assert_eq!(t.checksum(), t.calc_checksum_ipv6(src, dst).unwrap());
            }
            let tcp = Tcp {
                seq: t.sequence_number(),
                ack: t.acknowledgment_number(),
                syn: t.syn(),
                fin: t.fin(),
                ack_flag: t.ack(),
                rst: t.rst(),
                payload_len: t.payload().len() as u32,
            };
            (6, t.source_port(), t.destination_port(), Some(tcp), None)
        }
        TransportSlice::Udp(u) => {
            if v6 {
                let expected = u
                    .to_header()
                    .calc_checksum_ipv6_raw(src, dst, u.payload())
                    .unwrap();
                assert_eq!(u.checksum(), expected);
            }
            (
                17,
                u.source_port(),
                u.destination_port(),
                None,
                Some(u.destination_port()),
            )
        }
        TransportSlice::Icmpv4(i) => match i.icmp_type() {
            Icmpv4Type::EchoRequest(e) | Icmpv4Type::EchoReply(e) => (1, e.id, e.id, None, None),
            other => panic!("unexpected ICMP {other:?}"),
        },
        TransportSlice::Icmpv6(i) => {
            assert!(i.is_checksum_valid(src, dst), "ICMPv6 checksum");
            match i.icmp_type() {
                Icmpv6Type::EchoRequest(e) | Icmpv6Type::EchoReply(e) => {
                    (58, e.id, e.id, None, None)
                }
                other => panic!("unexpected ICMPv6 {other:?}"),
            }
        }
        other => panic!("unexpected transport {other:?}"),
    };
    let a = (src, sport);
    let b = (dst, dport);
    let (low, high) = if a <= b { (a, b) } else { (b, a) };
    Packet {
        key: FlowKey { proto, low, high },
        src: a,
        v6,
        tcp,
        udp_dst_port,
    }
}

struct Capture {
    summary: MixSummary,
    frames: Vec<(u64, Vec<u8>)>,
}

fn capture(mix: &SyntheticMix) -> Capture {
    let mut frames = Vec::new();
    let summary = mix.generate(|ts, frame| frames.push((ts, frame.to_vec())));
    Capture { summary, frames }
}

fn digest(mix: &SyntheticMix) -> u64 {
    let mut hasher = DefaultHasher::new();
    mix.generate(|ts, frame| {
        ts.hash(&mut hasher);
        frame.hash(&mut hasher);
    });
    hasher.finish()
}

fn small_mix() -> SyntheticMix {
    SyntheticMix {
        packets: 30_000,
        flows: 1_500,
        seed: 42,
        ..SyntheticMix::default()
    }
}

#[test]
fn same_parameters_give_identical_bytes() {
    let mix = small_mix();
    assert_eq!(digest(&mix), digest(&mix));
    let other = SyntheticMix {
        seed: 43,
        ..small_mix()
    };
    assert_ne!(digest(&mix), digest(&other));
}

#[test]
fn summary_matches_what_was_emitted() {
    let cap = capture(&small_mix());
    let s = cap.summary;
    assert_eq!(s.packets, cap.frames.len() as u64);
    assert_eq!(
        s.bytes,
        cap.frames.iter().map(|(_, f)| f.len() as u64).sum::<u64>()
    );
    assert_eq!(s.flows, s.tcp_flows + s.udp_flows + s.icmp_flows);
    // Stops at/after the flow that reaches the packet target, never far beyond,
    // and spreads over (nearly) all requested flows.
    assert!(s.packets >= 30_000 || s.flows == 1_500, "{s:?}");
    assert!(s.packets < 30_000 + 2_000, "{s:?}");
    assert!(s.flows >= 1_400, "{s:?}");
}

#[test]
fn flow_count_is_exact_and_tuples_unique() {
    let cap = capture(&small_mix());
    let mut packets_per_flow: HashMap<FlowKey, u64> = HashMap::new();
    for (_, frame) in &cap.frames {
        *packets_per_flow.entry(decode(frame).key).or_default() += 1;
    }
    assert_eq!(packets_per_flow.len() as u64, cap.summary.flows);
    let by_proto = |p: &[u8]| {
        packets_per_flow
            .keys()
            .filter(|k| p.contains(&k.proto))
            .count() as u64
    };
    assert_eq!(by_proto(&[6]), cap.summary.tcp_flows);
    assert_eq!(by_proto(&[17]), cap.summary.udp_flows);
    assert_eq!(by_proto(&[1, 58]), cap.summary.icmp_flows);
    // Many distinct address pairs.
    let pairs: HashSet<_> = packets_per_flow
        .keys()
        .map(|k| (k.low.0, k.high.0))
        .collect();
    assert!(pairs.len() > 1_000, "{} address pairs", pairs.len());
}

#[test]
fn timestamps_are_non_decreasing_at_the_configured_rate() {
    let cap = capture(&small_mix());
    assert_eq!(cap.frames[0].0, DEFAULT_START_NS);
    assert!(cap.frames.windows(2).all(|w| w[0].0 <= w[1].0));
    let span = cap.frames.last().unwrap().0 - DEFAULT_START_NS;
    let expected = cap.frames.len() as u64 * 10_000; // 100k pps
    assert!(
        span > expected * 9 / 10 && span < expected * 11 / 10,
        "span {span}"
    );
}

#[test]
fn tcp_sessions_are_complete_and_sequence_numbers_continuous() {
    let cap = capture(&small_mix());
    // Next expected sequence number per sending endpoint of each flow.
    let mut next: HashMap<(FlowKey, Endpoint), u32> = HashMap::new();
    let mut fins: HashMap<FlowKey, u32> = HashMap::new();
    let mut v6_flows = HashSet::new();
    for (_, frame) in &cap.frames {
        let p = decode(frame);
        if p.v6 {
            v6_flows.insert(p.key);
        }
        let Some(t) = p.tcp else { continue };
        assert!(!t.rst);
        let peer = if p.src == p.key.low {
            p.key.high
        } else {
            p.key.low
        };
        if t.syn {
            assert!(
                next.insert((p.key, p.src), t.seq.wrapping_add(1)).is_none(),
                "one SYN per side"
            );
        } else {
            let expected = next.get(&(p.key, p.src)).copied().expect("SYN first");
            assert_eq!(t.seq, expected, "in-order sequence numbers");
            let advance = t.payload_len + u32::from(t.fin);
            next.insert((p.key, p.src), expected.wrapping_add(advance));
        }
        if t.ack_flag {
            let peer_next = next
                .get(&(p.key, peer))
                .copied()
                .expect("ACK after peer SYN");
            assert_eq!(t.ack, peer_next, "ACK acknowledges everything received");
        }
        if t.fin {
            *fins.entry(p.key).or_default() += 1;
        }
    }
    let tcp_flows = next.keys().map(|(k, _)| *k).collect::<HashSet<_>>();
    assert_eq!(tcp_flows.len() as u64, cap.summary.tcp_flows);
    assert_eq!(
        next.len() as u64,
        2 * cap.summary.tcp_flows,
        "both sides sent SYN"
    );
    assert!(fins.values().all(|&n| n == 2));
    assert_eq!(
        fins.len() as u64,
        cap.summary.tcp_flows,
        "every session closed"
    );
    // About 5% of flows are IPv6.
    let share = v6_flows.len() as f64 / cap.summary.flows as f64;
    assert!((0.02..0.09).contains(&share), "IPv6 share {share}");
}

#[test]
fn mix_proportions_and_sizes_are_realistic() {
    let cap = capture(&small_mix());
    let s = cap.summary;
    let pct = |n: u64| n * 100 / s.flows;
    assert!((55..=65).contains(&pct(s.tcp_flows)), "{s:?}");
    assert!((25..=35).contains(&pct(s.udp_flows)), "{s:?}");
    assert!((7..=13).contains(&pct(s.icmp_flows)), "{s:?}");
    let avg = s.bytes / s.packets;
    assert!((400..=800).contains(&avg), "average frame {avg}");
    assert!(cap
        .frames
        .iter()
        .all(|(_, f)| (60..=1514).contains(&f.len())));
    assert!(cap.frames.iter().any(|(_, f)| f.len() == 1514));
    assert!(cap.frames.iter().any(|(_, f)| f.len() == 60));
    // DNS goes to port 53, and the payloads look like what they claim.
    let mut dns = 0;
    for (_, frame) in &cap.frames {
        let p = decode(frame);
        if p.udp_dst_port == Some(53) {
            dns += 1;
        }
    }
    assert_eq!(dns, s.udp_flows, "one query per DNS flow");
    let contains = |needle: &[u8]| {
        cap.frames
            .iter()
            .any(|(_, f)| f.windows(needle.len()).any(|w| w == needle))
    };
    assert!(contains(b"GET /"));
    assert!(contains(b"HTTP/1.1 200 OK"));
    assert!(contains(b"SSH-2.0-"));
    assert!(contains(b"EHLO "));
    assert!(contains(b".example.com"));
}

#[test]
fn concurrent_mode_opens_every_flow_once() {
    let mix = SyntheticMix {
        flows: 20_000,
        packets: 5, // ignored
        concurrent: true,
        rate_pps: 100, // would take 200 s; the span caps it at 20 s
        ..SyntheticMix::default()
    };
    let cap = capture(&mix);
    assert_eq!(cap.summary.packets, 20_000);
    assert_eq!(cap.summary.flows, 20_000);
    assert_eq!(cap.summary.icmp_flows, 0);
    let share = cap.summary.tcp_flows * 100 / 20_000;
    assert!((65..=75).contains(&share), "{:?}", cap.summary);
    let keys: HashSet<FlowKey> = cap
        .frames
        .iter()
        .map(|(_, f)| {
            let p = decode(f);
            if let Some(t) = &p.tcp {
                assert!(t.syn && !t.ack_flag, "only SYNs");
            } else {
                assert_eq!(p.udp_dst_port, Some(53));
            }
            p.key
        })
        .collect();
    assert_eq!(keys.len(), 20_000);
    let first = cap.frames[0].0;
    let last = cap.frames.last().unwrap().0;
    assert!(last - first <= CONCURRENT_SPAN_NS);
    assert!(cap.frames.windows(2).all(|w| w[0].0 <= w[1].0));
}

#[test]
fn degenerate_parameters_emit_nothing_or_little() {
    let none = capture(&SyntheticMix {
        packets: 0,
        ..small_mix()
    });
    assert_eq!(none.summary, MixSummary::default());
    let none = capture(&SyntheticMix {
        flows: 0,
        ..small_mix()
    });
    assert_eq!(none.summary.packets, 0);
    let one = capture(&SyntheticMix {
        packets: 1_000,
        flows: 1,
        rate_pps: 0,
        ..small_mix()
    });
    assert_eq!(one.summary.flows, 1);
    assert!(one.summary.packets >= 2);
}

#[test]
fn packet_target_is_met_when_flows_are_few() {
    // 200 packets per flow: long TCP sessions absorb the budget.
    let s = capture(&SyntheticMix {
        packets: 40_000,
        flows: 200,
        ..small_mix()
    })
    .summary;
    assert!(s.packets >= 40_000 * 9 / 10, "{s:?}");
    assert!(s.flows >= 190, "{s:?}");
}

/// FNV-1a: a hash whose definition never changes (unlike `DefaultHasher`).
fn fnv1a(hash: &mut u64, bytes: &[u8]) {
    for &b in bytes {
        *hash ^= u64::from(b);
        *hash = hash.wrapping_mul(0x0000_0100_0000_01B3);
    }
}

/// Output is a contract: benchmarks compare runs made on different machines
/// and days. A deliberate change to the generator updates this value.
#[test]
fn output_matches_the_recorded_digest() {
    let mix = SyntheticMix {
        packets: 5_000,
        flows: 300,
        seed: 7,
        ..SyntheticMix::default()
    };
    let mut hash = 0xCBF2_9CE4_8422_2325;
    mix.generate(|ts, frame| {
        fnv1a(&mut hash, &ts.to_le_bytes());
        fnv1a(&mut hash, frame);
    });
    assert_eq!(hash, 0x2173_876f_6cb7_aa22, "digest {hash:#018x}");
}
