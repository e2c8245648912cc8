//! sid 1, `port_scan`: a vertical scan — one source opening flows to many distinct ports of
//! one destination.
//!
//! Key: (source, destination, protocol), from TCP and UDP `FlowStart`s, so a TCP and a UDP
//! scan of the same host are two alerts. Counted: distinct destination ports seen within the
//! sliding window. Alert when the count reaches `distinct_ports`. Source-centric: `networks`
//! selects the source.

use std::net::IpAddr;

use serde_json::Value;

use super::{may_alert, Detector, TCP, UDP};
use crate::alert::{proto_name, round3, Alert, DetectorInfo, PORT_SCAN};
use crate::config::{PortScanConfig, Section, Timing, MAX_DISTINCT};
use crate::networks::Networks;
use crate::observation::Observation;
use crate::table::KeyTable;
use crate::window::DistinctSet;

/// Ports listed in the evidence, lowest first.
const SAMPLE_PORTS: usize = 32;

pub(crate) struct PortScan {
    threshold: usize,
    timing: Timing,
    networks: Networks,
    table: KeyTable<(IpAddr, IpAddr, u8), State>,
}

#[derive(Default)]
struct State {
    ports: DistinctSet<u16>,
    quiet_until: u64,
}

impl PortScan {
    pub(crate) fn new(
        cfg: &PortScanConfig,
        max_tracked: usize,
    ) -> Result<Self, crate::ConfigError> {
        let s = Section { table: "port_scan" };
        Ok(PortScan {
            threshold: s.range("distinct_ports", cfg.distinct_ports, 1, MAX_DISTINCT)?,
            timing: s.timing(cfg.window_secs, cfg.cooldown_secs)?,
            networks: s.networks(&cfg.networks)?,
            table: KeyTable::new(s.max_tracked(cfg.max_tracked, max_tracked)?),
        })
    }
}

impl Detector for PortScan {
    fn info(&self) -> &'static DetectorInfo {
        &PORT_SCAN
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
        if (proto != TCP && proto != UDP) || !self.networks.allows(src) {
            return;
        }
        let cutoff = now.saturating_sub(self.timing.window_ns);
        let state = self.table.touch((src, dst, proto), now, State::default);
        let n = state.ports.record(dport, ts_ns, cutoff, self.threshold);
        if n < self.threshold || !may_alert(&mut state.quiet_until, now, self.timing.cooldown_ns) {
            return;
        }
        let mut ports: Vec<u16> = state.ports.items().copied().collect();
        ports.sort_unstable();
        ports.truncate(SAMPLE_PORTS);
        let w = self.timing.window_secs;
        let name = proto_name(proto);
        out.push(
            PORT_SCAN
                .alert(
                    ts_ns,
                    proto,
                    src,
                    format!(
                        "NTA vertical port scan from {src} to {dst}: {n} {name} ports in {w} s"
                    ),
                )
                .to(dst)
                .with("distinct_ports", n)
                .with("threshold", self.threshold)
                .with("window_secs", w)
                .with("span_secs", round3(state.ports.span_secs()))
                .with("proto", name.to_ascii_lowercase())
                .with("ports", Value::from(ports)),
        );
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
