//! Generates a mix and prints how long it took and what it contains.
//!
//! ```text
//! cargo run --release -p nta-gen --example mix_stats -- [packets] [flows] [seed]
//! ```

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use nta_gen::SyntheticMix;

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let defaults = SyntheticMix::default();
    let mix = SyntheticMix {
        packets: args.first().copied().unwrap_or(defaults.packets),
        flows: args.get(1).copied().unwrap_or(defaults.flows),
        seed: args.get(2).copied().unwrap_or(defaults.seed),
        ..defaults
    };

    let started = Instant::now();
    let mut checksum = 0u64;
    let summary = mix.generate(|ts, frame| {
        checksum = checksum.wrapping_add(ts ^ frame.len() as u64);
    });
    let elapsed = started.elapsed();
    println!("{summary:?}");
    println!(
        "generated in {:.2} s ({:.1} Mpps, {:.0} MB/s)",
        elapsed.as_secs_f64(),
        summary.packets as f64 / elapsed.as_secs_f64() / 1e6,
        summary.bytes as f64 / elapsed.as_secs_f64() / 1e6
    );
    println!(
        "average frame {} bytes",
        summary.bytes / summary.packets.max(1)
    );

    // Second pass: packets per flow by type, address pairs, frame sizes.
    let mut flows: HashMap<(u8, u16), (u64, u64)> = HashMap::new();
    let mut pairs = HashSet::new();
    let mut sizes: HashMap<&str, u64> = HashMap::new();
    mix.generate(|_, frame| {
        let size = match frame.len() {
            60 => "60",
            61..=200 => "61-200",
            201..=1000 => "201-1000",
            1001..=1513 => "1001-1513",
            _ => "1514",
        };
        *sizes.entry(size).or_default() += 1;
        let Ok(p) = SlicedPacket::from_ethernet(frame) else {
            return;
        };
        let (src, dst) = match &p.net {
            Some(NetSlice::Ipv4(ip)) => (
                ip.header().source().to_vec(),
                ip.header().destination().to_vec(),
            ),
            Some(NetSlice::Ipv6(ip)) => (
                ip.header().source().to_vec(),
                ip.header().destination().to_vec(),
            ),
            _ => return,
        };
        let (proto, port) = match &p.transport {
            Some(TransportSlice::Tcp(t)) => (6, t.source_port().min(t.destination_port())),
            Some(TransportSlice::Udp(u)) => (17, u.source_port().min(u.destination_port())),
            _ => (1, 0),
        };
        let (lo, hi) = if src < dst { (src, dst) } else { (dst, src) };
        pairs.insert((lo, hi));
        let e = flows.entry((proto, port)).or_default();
        e.0 += 1;
        e.1 += frame.len() as u64;
    });
    println!("distinct address pairs: {}", pairs.len());
    let mut rows: Vec<_> = flows.into_iter().collect();
    rows.sort();
    println!("packets and average frame by protocol/server port:");
    for ((proto, port), (packets, bytes)) in rows {
        println!(
            "  proto {proto:>2} port {port:>5}: {packets:>9} packets, avg {} B",
            bytes / packets
        );
    }
    let mut sizes: Vec<_> = sizes.into_iter().collect();
    sizes.sort();
    println!("frame sizes: {sizes:?}");
    println!("(checksum {checksum:x})");
}
