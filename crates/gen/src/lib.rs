//! Deterministic synthetic packet mix for benchmarks and demos.
//!
//! [`SyntheticMix`] describes a capture — how many packets, over how many
//! flows, from which seed — and [`SyntheticMix::generate`] hands out its
//! Ethernet frames in timestamp order. The same parameters always give
//! byte-identical frames, on every machine.
//!
//! What the mix looks like (by flow count):
//!
//! * 60% TCP sessions: handshake, application exchange, FIN/ACK teardown,
//!   with correct sequence/ack numbers and checksums. Server ports 443
//!   (TLS 1.3 ClientHello with SNI, then encrypted records), 80 (HTTP/1.1
//!   request and a response whose `Content-Length` matches its body), 22
//!   (SSH banners, KEXINIT, interactive keystrokes) and 25 (an SMTP
//!   transaction). Receivers ACK every second segment; bulk data goes in
//!   1514-byte frames, pure ACKs in 60-byte ones.
//! * 30% DNS over UDP: one query (A, or AAAA; half with EDNS0) and its answer
//!   (5% NXDOMAIN).
//! * 10% ICMP echo: 1–4 request/reply pairs with one id and rising sequence.
//!
//! Clients live in 10.0.0.0/8 and servers in 172.16.0.0/12 (5% of flows use
//! fd00::/8 instead); MACs are derived from the addresses. Every flow has its
//! own 5-tuple — client address and port (the echo id, for ICMP) are never
//! reused — so counting flows in the output is unambiguous. Up to
//! [`ACTIVE_FLOWS`] flows are open at once and their packets interleave, each
//! flow's own packets staying in protocol order.
//!
//! TCP sessions are sized so that the mix comes out near both `packets` and
//! `flows`; generation stops once the flows started so far account for
//! `packets`, so the output overshoots by at most one flow.
//!
//! # Example
//!
//! ```
//! use nta_gen::SyntheticMix;
//!
//! let mix = SyntheticMix {
//!     packets: 20_000,
//!     flows: 1_000,
//!     ..SyntheticMix::default()
//! };
//! let mut frames = 0u64;
//! let mut last_ts = 0;
//! let summary = mix.generate(|ts_ns, frame| {
//!     assert!(ts_ns >= last_ts);
//!     assert!((60..=1514).contains(&frame.len()));
//!     last_ts = ts_ns;
//!     frames += 1;
//! });
//! assert_eq!(summary.packets, frames);
//! assert!(summary.packets >= 20_000 || summary.flows == 1_000);
//! assert_eq!(summary.flows, summary.tcp_flows + summary.udp_flows + summary.icmp_flows);
//! ```

#![forbid(unsafe_code)]

mod addr;
mod app;
mod content;
mod dns;
mod flow;
mod frame;
mod rng;
mod tls;

use flow::{Flow, Kind, MAX_FLOW_PACKETS};
use frame::Frame;
use rng::SplitMix64;

pub use addr::MAX_FLOWS;

/// Flows open at the same time in normal mode: each packet comes from one of
/// them, picked at random, and a finished flow is replaced by a new one.
pub const ACTIVE_FLOWS: usize = 4096;

/// 2026-01-01T00:00:00Z in nanoseconds since the Unix epoch.
pub const DEFAULT_START_NS: u64 = 1_767_225_600_000_000_000;

/// In concurrent mode all openings fall within this much capture time.
pub const CONCURRENT_SPAN_NS: u64 = 20_000_000_000;

const NS_PER_SEC: u64 = 1_000_000_000;

/// Parameters of the synthetic mix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntheticMix {
    /// Approximate total packets to emit: no flow is started once the flows
    /// so far account for this many, so the output ends within one flow of it.
    /// Ignored in concurrent mode.
    pub packets: u64,
    /// Number of distinct flows (5-tuples) to spread the packets over; at
    /// most [`MAX_FLOWS`].
    pub flows: u64,
    /// Same seed and parameters give byte-identical output.
    pub seed: u64,
    /// Timestamp of the first packet, ns since the Unix epoch.
    pub start_ns: u64,
    /// Packets per second of capture time; sets the timestamps (0 is read as 1).
    pub rate_pps: u64,
    /// "Many concurrent flows" mode: every flow emits only its opening packet
    /// (TCP SYN, or a DNS query for 30%), all within [`CONCURRENT_SPAN_NS`],
    /// and none is closed. Emits exactly `flows` packets.
    pub concurrent: bool,
}

impl Default for SyntheticMix {
    /// 2,000,000 packets over 100,000 flows, seed 1, starting
    /// 2026-01-01T00:00:00Z at 100,000 packets per second.
    fn default() -> Self {
        Self {
            packets: 2_000_000,
            flows: 100_000,
            seed: 1,
            start_ns: DEFAULT_START_NS,
            rate_pps: 100_000,
            concurrent: false,
        }
    }
}

/// What [`SyntheticMix::generate`] emitted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MixSummary {
    /// Frames emitted.
    pub packets: u64,
    /// Sum of frame lengths (Ethernet header included, no FCS).
    pub bytes: u64,
    /// Distinct flows (5-tuples).
    pub flows: u64,
    /// TCP sessions (SYN only, in concurrent mode).
    pub tcp_flows: u64,
    /// DNS query/response pairs over UDP.
    pub udp_flows: u64,
    /// ICMP or ICMPv6 echo exchanges.
    pub icmp_flows: u64,
}

impl MixSummary {
    fn count_flow(&mut self, kind: Kind) {
        self.flows += 1;
        match kind {
            Kind::Tcp => self.tcp_flows += 1,
            Kind::Udp => self.udp_flows += 1,
            Kind::Icmp => self.icmp_flows += 1,
        }
    }

    fn count_packet(&mut self, frame: &[u8]) {
        self.packets += 1;
        self.bytes += frame.len() as u64;
    }
}

/// Capture time: packets arrive at the configured mean rate with ±50% jitter.
struct Clock {
    now: u64,
    mean_gap: u64,
}

impl Clock {
    fn tick(&mut self, rng: &mut SplitMix64) -> u64 {
        let ts = self.now;
        let gap = self.mean_gap / 2 + rng.below(self.mean_gap + 1);
        self.now = self.now.saturating_add(gap);
        ts
    }
}

impl SyntheticMix {
    /// Calls `emit(ts_ns, frame)` for each Ethernet frame in timestamp order
    /// (non-decreasing) and returns what was emitted.
    pub fn generate(&self, emit: impl FnMut(u64, &[u8])) -> MixSummary {
        if self.concurrent {
            self.generate_concurrent(emit)
        } else {
            self.generate_mix(emit)
        }
    }

    fn generate_mix(&self, mut emit: impl FnMut(u64, &[u8])) -> MixSummary {
        let flows = self.flows.min(MAX_FLOWS);
        let plan = addr::AddressPlan::new(flows);
        let mut seeds = SplitMix64::new(self.seed);
        let mut schedule = seeds.fork();
        let mut clock = Clock {
            now: self.start_ns,
            mean_gap: NS_PER_SEC / self.rate_pps.max(1),
        };
        let mut frame = Frame::new();
        let mut summary = MixSummary::default();
        let mut active: Vec<Flow> = Vec::with_capacity(ACTIVE_FLOWS);
        let mut started = 0u64;
        let mut planned = 0u64;
        loop {
            while active.len() < ACTIVE_FLOWS && started < flows && planned < self.packets {
                // Mean packets per flow still needed to land on both targets.
                let target =
                    ((self.packets - planned) / (flows - started)).clamp(1, MAX_FLOW_PACKETS);
                let flow = Flow::plan(&plan, started, seeds.next_u64(), target);
                planned += flow.packet_count();
                started += 1;
                summary.count_flow(flow.kind());
                active.push(flow);
            }
            if active.is_empty() {
                break;
            }
            let i = schedule.below(active.len() as u64) as usize;
            let Some(flow) = active.get_mut(i) else { break };
            let done = flow.emit(&mut frame);
            if done {
                active.swap_remove(i);
            }
            let ts = clock.tick(&mut schedule);
            summary.count_packet(frame.bytes());
            emit(ts, frame.bytes());
        }
        summary
    }

    fn generate_concurrent(&self, mut emit: impl FnMut(u64, &[u8])) -> MixSummary {
        let flows = self.flows.min(MAX_FLOWS);
        let plan = addr::AddressPlan::new(flows);
        let mut seeds = SplitMix64::new(self.seed);
        let mut schedule = seeds.fork();
        let rate_gap = NS_PER_SEC / self.rate_pps.max(1);
        let mut clock = Clock {
            now: self.start_ns,
            // Jitter reaches 1.5x the mean gap, so aim for 2/3 of the span.
            mean_gap: rate_gap.min(CONCURRENT_SPAN_NS * 2 / 3 / flows.max(1)),
        };
        let mut frame = Frame::new();
        let mut summary = MixSummary::default();
        for index in 0..flows {
            let mut flow = Flow::opening(&plan, index, seeds.next_u64());
            summary.count_flow(flow.kind());
            flow.emit(&mut frame);
            let ts = clock.tick(&mut schedule);
            summary.count_packet(frame.bytes());
            emit(ts, frame.bytes());
        }
        summary
    }
}
