//! sid 8, `beaconing`: one source connecting to one service at a regular interval, as
//! malware checking in with its command-and-control server does.
//!
//! Key: (source, destination, destination port, protocol), from TCP and UDP `FlowStart`s to
//! ports not in `ignore_ports`. The start times of the last `min_connections` flows are kept;
//! once there are that many, their intervals are judged: alert when the mean interval lies
//! between `min_interval_secs` and `max_interval_secs` and the coefficient of variation
//! (population standard deviation / mean) is below `max_cv`.
//!
//! A flow starting less than a second after the previous one of the same key is taken as part
//! of the same check-in (a client opening two connections at once) and not counted. A start
//! older than the previous one is ignored. A key is dropped after `2 × max_interval_secs`
//! (or the cooldown, if longer) without a new flow. Source-centric: `networks` selects the
//! client.

use std::collections::VecDeque;
use std::net::IpAddr;

use super::{may_alert, Detector, TCP, UDP};
use crate::alert::{proto_name, round3, Alert, DetectorInfo, BEACONING};
use crate::config::{
    secs_to_ns, BeaconingConfig, Section, Timing, MAX_BEACON_CONNECTIONS, MAX_SECS,
};
use crate::networks::Networks;
use crate::observation::Observation;
use crate::table::KeyTable;

/// Starts closer together than this are one check-in.
const BURST_NS: u64 = 1_000_000_000;

pub(crate) struct Beaconing {
    connections: usize,
    max_cv: f64,
    min_interval_secs: u64,
    max_interval_secs: u64,
    /// Sorted, deduplicated.
    ignore_ports: Vec<u16>,
    cooldown_ns: u64,
    idle_ns: u64,
    networks: Networks,
    table: KeyTable<(IpAddr, IpAddr, u16, u8), State>,
}

struct State {
    /// Start times, oldest first; at most `connections`.
    starts: VecDeque<u64>,
    quiet_until: u64,
}

impl Beaconing {
    pub(crate) fn new(
        cfg: &BeaconingConfig,
        max_tracked: usize,
    ) -> Result<Self, crate::ConfigError> {
        let s = Section { table: "beaconing" };
        let min_interval_secs = s.range("min_interval_secs", cfg.min_interval_secs, 1, MAX_SECS)?;
        let max_interval_secs = s.range("max_interval_secs", cfg.max_interval_secs, 1, MAX_SECS)?;
        if max_interval_secs < min_interval_secs {
            return Err(s.inconsistent(
                "max_interval_secs",
                format!("at least min_interval_secs ({min_interval_secs})"),
                max_interval_secs,
            ));
        }
        let cooldown_secs = s.range("cooldown_secs", cfg.cooldown_secs, 1, MAX_SECS)?;
        let timing = Timing::new(max_interval_secs.saturating_mul(2), cooldown_secs);
        let mut ignore_ports = cfg.ignore_ports.clone();
        ignore_ports.sort_unstable();
        ignore_ports.dedup();
        Ok(Beaconing {
            connections: s.range(
                "min_connections",
                cfg.min_connections,
                3,
                MAX_BEACON_CONNECTIONS,
            )?,
            max_cv: s.range("max_cv", cfg.max_cv, 0.0, 1.0)?,
            min_interval_secs,
            max_interval_secs,
            ignore_ports,
            cooldown_ns: secs_to_ns(cooldown_secs),
            idle_ns: timing.idle_ns(),
            networks: s.networks(&cfg.networks)?,
            table: KeyTable::new(s.max_tracked(cfg.max_tracked, max_tracked)?),
        })
    }
}

/// Mean interval (ns), coefficient of variation, shortest and longest interval (ns) of
/// `starts`, which are in increasing order; `None` with fewer than two starts.
fn regularity(starts: &VecDeque<u64>) -> Option<(f64, f64, u64, u64)> {
    let intervals = || {
        starts
            .iter()
            .zip(starts.iter().skip(1))
            .map(|(a, b)| b.saturating_sub(*a))
    };
    let n = intervals().count();
    if n == 0 {
        return None;
    }
    let mean = intervals().map(|i| i as f64).sum::<f64>() / n as f64;
    if mean <= 0.0 {
        return None;
    }
    let var = intervals().map(|i| (i as f64 - mean).powi(2)).sum::<f64>() / n as f64;
    let min = intervals().min().unwrap_or(0);
    let max = intervals().max().unwrap_or(0);
    Some((mean, var.sqrt() / mean, min, max))
}

impl Detector for Beaconing {
    fn info(&self) -> &'static DetectorInfo {
        &BEACONING
    }

    fn observe(&mut self, obs: &Observation, now: u64, out: &mut Vec<Alert>) {
        let &Observation::FlowStart {
            ts_ns,
            proto,
            src,
            dst,
            dport,
            ..
        } = obs
        else {
            return;
        };
        if (proto != TCP && proto != UDP)
            || self.ignore_ports.binary_search(&dport).is_ok()
            || !self.networks.allows(src)
        {
            return;
        }
        let connections = self.connections;
        // Grown on demand: most keys see a handful of flows, not `connections`.
        let state = self.table.touch((src, dst, dport, proto), now, || State {
            starts: VecDeque::new(),
            quiet_until: 0,
        });
        if let Some(&last) = state.starts.back() {
            if ts_ns < last.saturating_add(BURST_NS) {
                return;
            }
        }
        if state.starts.len() >= connections {
            state.starts.pop_front();
        }
        state.starts.push_back(ts_ns);
        if state.starts.len() < connections {
            return;
        }
        let Some((mean_ns, cv, min_ns, max_ns)) = regularity(&state.starts) else {
            return;
        };
        let mean = mean_ns / 1e9;
        if cv >= self.max_cv
            || mean < self.min_interval_secs as f64
            || mean > self.max_interval_secs as f64
            || !may_alert(&mut state.quiet_until, now, self.cooldown_ns)
        {
            return;
        }
        let n = state.starts.len();
        out.push(
            BEACONING
                .alert(
                    ts_ns,
                    proto,
                    src,
                    format!(
                        "NTA beaconing from {src} to {dst} {} port {dport}: {n} connections every {mean:.1} s (cv {cv:.3})",
                        proto_name(proto)
                    ),
                )
                .to(dst)
                .port(dport)
                .with("connections", n)
                .with("mean_interval_secs", round3(mean))
                .with("cv", round3(cv))
                .with("max_cv", round3(self.max_cv))
                .with("shortest_interval_secs", round3(min_ns as f64 / 1e9))
                .with("longest_interval_secs", round3(max_ns as f64 / 1e9))
                .with("proto", proto_name(proto).to_ascii_lowercase()),
        );
    }

    fn expire(&mut self, now: u64) {
        self.table.expire(now.saturating_sub(self.idle_ns));
    }

    fn tracked(&self) -> usize {
        self.table.len()
    }

    fn evicted(&self) -> u64 {
        self.table.evicted()
    }
}
