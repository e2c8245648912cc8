//! sid 2, `host_sweep`: a horizontal sweep — one source touching many distinct hosts on one
//! port, or pinging many hosts.
//!
//! Key: (source, protocol, destination port) from TCP and UDP `FlowStart`s, and (source,
//! ICMP) from `Packets { kind: IcmpEchoRequest }`. Counted: distinct destination hosts within
//! the sliding window. Alert when the count reaches `distinct_hosts`. Source-centric:
//! `networks` selects the source.

use std::net::IpAddr;

use serde_json::Value;

use super::{icmp_for, may_alert, Detector, TCP, UDP};
use crate::alert::{proto_name, round3, Alert, DetectorInfo, HOST_SWEEP};
use crate::config::{HostSweepConfig, Section, Timing, MAX_DISTINCT};
use crate::networks::Networks;
use crate::observation::{Observation, PacketKind};
use crate::table::KeyTable;
use crate::window::DistinctSet;

/// Hosts listed in the evidence, lowest first.
const SAMPLE_HOSTS: usize = 16;

pub(crate) struct HostSweep {
    threshold: usize,
    timing: Timing,
    networks: Networks,
    /// (source, protocol, port); port 0 for ICMP echo.
    table: KeyTable<(IpAddr, u8, u16), State>,
}

#[derive(Default)]
struct State {
    hosts: DistinctSet<IpAddr>,
    quiet_until: u64,
}

impl HostSweep {
    pub(crate) fn new(
        cfg: &HostSweepConfig,
        max_tracked: usize,
    ) -> Result<Self, crate::ConfigError> {
        let s = Section {
            table: "host_sweep",
        };
        Ok(HostSweep {
            threshold: s.range("distinct_hosts", cfg.distinct_hosts, 1, MAX_DISTINCT)?,
            timing: s.timing(cfg.window_secs, cfg.cooldown_secs)?,
            networks: s.networks(&cfg.networks)?,
            table: KeyTable::new(s.max_tracked(cfg.max_tracked, max_tracked)?),
        })
    }
}

impl Detector for HostSweep {
    fn info(&self) -> &'static DetectorInfo {
        &HOST_SWEEP
    }

    fn observe(&mut self, obs: &Observation, now: u64, out: &mut Vec<Alert>) {
        let (ts_ns, src, dst, proto, port) = match *obs {
            Observation::FlowStart {
                ts_ns,
                proto,
                src,
                dst,
                dport,
                ..
            } if proto == TCP || proto == UDP => (ts_ns, src, dst, proto, dport),
            Observation::Packets {
                ts_ns,
                kind: PacketKind::IcmpEchoRequest,
                src,
                dst,
                count,
                ..
            } if count > 0 => (ts_ns, src, dst, icmp_for(dst), 0),
            _ => return,
        };
        if !self.networks.allows(src) {
            return;
        }
        let cutoff = now.saturating_sub(self.timing.window_ns);
        let state = self.table.touch((src, proto, port), now, State::default);
        let n = state.hosts.record(dst, ts_ns, cutoff, self.threshold);
        if n < self.threshold || !may_alert(&mut state.quiet_until, now, self.timing.cooldown_ns) {
            return;
        }
        let mut hosts: Vec<IpAddr> = state.hosts.items().copied().collect();
        hosts.sort_unstable();
        hosts.truncate(SAMPLE_HOSTS);
        let hosts: Vec<Value> = hosts.iter().map(|h| Value::from(h.to_string())).collect();
        let w = self.timing.window_secs;
        let name = proto_name(proto);
        let is_icmp = proto != TCP && proto != UDP;
        let signature = if is_icmp {
            format!("NTA horizontal sweep from {src}: {n} hosts pinged ({name} echo) in {w} s")
        } else {
            format!("NTA horizontal sweep from {src}: {n} hosts on {name} port {port} in {w} s")
        };
        let mut alert = HOST_SWEEP
            .alert(ts_ns, proto, src, signature)
            .with("distinct_hosts", n)
            .with("threshold", self.threshold)
            .with("window_secs", w)
            .with("span_secs", round3(state.hosts.span_secs()))
            .with("proto", name.to_ascii_lowercase());
        if is_icmp {
            alert = alert.with("icmp_echo", true);
        } else {
            alert = alert.port(port).with("dport", port);
        }
        out.push(alert.with("hosts", Value::from(hosts)));
    }

    fn expire(&mut self, now: u64) {
        self.table.expire(now.saturating_sub(self.timing.idle_ns()));
    }

    fn tracked(&self) -> usize {
        self.table.len()
    }

    fn evicted(&self) -> u64 {
        self.table.evicted()
    }
}
