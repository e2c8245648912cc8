//! Behaviour tests: observations in, alerts out, as the engine would see them.

mod beaconing;
mod brute_force;
mod config;
mod dns_tunnel;
mod floods;
mod host_sweep;
mod port_scan;
mod traffic;

use std::net::IpAddr;

use crate::{Alert, Detectors, DetectorsConfig, Observation, PacketKind, TcpSummary};

/// One second and one millisecond of packet time.
pub(crate) const S: u64 = 1_000_000_000;
pub(crate) const MS: u64 = 1_000_000;
/// A plausible packet time (2024-01-01) so that tests do not start at 0.
pub(crate) const T0: u64 = 1_704_067_200 * S;

pub(crate) fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The detectors of `cfg`, with a helper to feed and collect.
pub(crate) struct Run {
    pub(crate) detectors: Detectors,
    pub(crate) alerts: Vec<Alert>,
}

impl Run {
    pub(crate) fn new(cfg: &DetectorsConfig) -> Run {
        Run {
            detectors: Detectors::new(cfg).unwrap(),
            alerts: Vec::new(),
        }
    }

    pub(crate) fn defaults() -> Run {
        Run::new(&DetectorsConfig::default())
    }

    pub(crate) fn with(edit: impl FnOnce(&mut DetectorsConfig)) -> Run {
        let mut cfg = DetectorsConfig::default();
        edit(&mut cfg);
        Run::new(&cfg)
    }

    pub(crate) fn feed(&mut self, obs: Observation) {
        self.detectors.observe(&obs, &mut self.alerts);
    }

    pub(crate) fn tick(&mut self, now: u64) {
        self.detectors.tick(now, &mut self.alerts);
    }

    /// The alerts raised so far, by sid.
    pub(crate) fn sids(&self) -> Vec<u32> {
        self.alerts.iter().map(|a| a.sid).collect()
    }

    /// The only alert raised; fails with the list otherwise.
    pub(crate) fn only(&self) -> &Alert {
        assert_eq!(self.alerts.len(), 1, "{:#?}", self.alerts);
        &self.alerts[0]
    }
}

pub(crate) fn flow_start(ts: u64, proto: u8, src: IpAddr, dst: IpAddr, dport: u16) -> Observation {
    Observation::FlowStart {
        ts_ns: ts,
        proto,
        src,
        sport: 40_000,
        dst,
        dport,
    }
}

/// A TCP flow that ended at `end`, with its handshake completed or not.
pub(crate) fn tcp_end(
    start: u64,
    end: u64,
    src: IpAddr,
    dst: IpAddr,
    dport: u16,
    established: bool,
) -> Observation {
    Observation::FlowEnd {
        ts_ns: end,
        proto: 6,
        src,
        sport: 40_000,
        dst,
        dport,
        start_ns: start,
        pkts: [10, 10],
        bytes: [1_000, 2_000],
        tcp: Some(TcpSummary {
            syn: true,
            syn_ack: established,
            established,
            rst: false,
        }),
        app_proto: None,
    }
}

pub(crate) fn packets(
    ts: u64,
    kind: PacketKind,
    src: IpAddr,
    dst: IpAddr,
    count: u64,
) -> Observation {
    Observation::Packets {
        ts_ns: ts,
        kind,
        src,
        dst,
        count,
        bytes: count.saturating_mul(100),
    }
}

pub(crate) fn dns(ts: u64, src: IpAddr, dst: IpAddr, qname: &str, qtype: u16) -> Observation {
    Observation::DnsQuery {
        ts_ns: ts,
        src,
        dst,
        qname: qname.into(),
        qtype,
    }
}

pub(crate) fn auth_failure(
    ts: u64,
    src: IpAddr,
    dst: IpAddr,
    dport: u16,
    service: &str,
) -> Observation {
    Observation::AuthFailure {
        ts_ns: ts,
        src,
        dst,
        dport,
        service: service.into(),
    }
}

/// A small deterministic generator (xorshift64*), so tests are repeatable without a crate.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (n > 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// A label of `len` characters from `alphabet`.
    pub(crate) fn label(&mut self, len: usize, alphabet: &[u8]) -> String {
        (0..len)
            .map(|_| alphabet[self.below(alphabet.len() as u64) as usize] as char)
            .collect()
    }
}

#[test]
fn detectors_are_send() {
    fn send<T: Send>() {}
    send::<Detectors>();
    send::<Observation>();
    send::<Alert>();
}

#[test]
fn master_switch_runs_nothing() {
    let mut run = Run::with(|c| c.enabled = false);
    assert!(!run.detectors.is_active());
    for port in 0..1_000u16 {
        run.feed(flow_start(T0, 6, ip("10.0.0.5"), ip("10.0.0.9"), port));
    }
    assert!(run.alerts.is_empty());
    assert_eq!(run.detectors.tracked(), 0);
    assert!(run.detectors.stats().is_empty());
}

#[test]
fn stats_count_alerts_per_detector() {
    let mut run = Run::defaults();
    for port in 0..200u16 {
        run.feed(flow_start(
            T0 + u64::from(port) * MS,
            6,
            ip("10.0.0.5"),
            ip("10.0.0.9"),
            port,
        ));
    }
    let stats = run.detectors.stats();
    assert_eq!(stats.len(), 8);
    let names: Vec<_> = stats.iter().map(|s| (s.sid, s.detector)).collect();
    assert_eq!(
        names,
        crate::CATALOGUE
            .iter()
            .map(|i| (i.sid, i.name))
            .collect::<Vec<_>>()
    );
    assert_eq!(stats[0].alerts, 1);
    assert_eq!(stats[0].tracked, 1);
    assert!(stats[1..].iter().all(|s| s.alerts == 0));
}
