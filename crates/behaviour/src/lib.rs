//! Behavioural detectors: alerts about what hosts *do* over time rather than what one packet
//! contains — port scans, host sweeps, SYN/UDP/ICMP floods, login brute force, DNS tunnels
//! and beaconing.
//!
//! The crate is a pure library: no threads, no I/O, no clock. The engine's workers summarise
//! traffic as owned [`Observation`]s (flow starts and ends, per-second packet counts, DNS
//! queries, failed logins), batch them to one aggregator thread, and that thread feeds them to
//! one [`Detectors`], which appends an [`Alert`] whenever a detector's threshold is crossed.
//! Time is packet time only: the `ts_ns` of the observations and of [`Detectors::tick`].
//!
//! ```
//! use std::net::IpAddr;
//! use nta_behaviour::{Detectors, DetectorsConfig, Observation, GID};
//!
//! let mut cfg = DetectorsConfig::default();
//! cfg.port_scan.distinct_ports = 10;
//! let mut detectors = Detectors::new(&cfg).unwrap();
//!
//! let src: IpAddr = "10.0.0.5".parse().unwrap();
//! let dst: IpAddr = "10.0.0.9".parse().unwrap();
//! let mut alerts = Vec::new();
//! for dport in 1..=500u16 {
//!     let ts_ns = u64::from(dport) * 1_000_000; // one probe per millisecond
//!     let obs = Observation::FlowStart { ts_ns, proto: 6, src, sport: 40_000, dst, dport };
//!     detectors.observe(&obs, &mut alerts);
//! }
//! // One alert, not 491: the key is quiet for the cooldown (the window, 60 s) afterwards.
//! assert_eq!(alerts.len(), 1);
//! assert_eq!((GID, alerts[0].sid, alerts[0].detector), (9000, 1, "port_scan"));
//! assert_eq!(alerts[0].metadata["distinct_ports"], 10);
//! assert_eq!(
//!     alerts[0].signature,
//!     "NTA vertical port scan from 10.0.0.5 to 10.0.0.9: 10 TCP ports in 60 s"
//! );
//! ```
//!
//! * [`DetectorsConfig`] is the `[detectors]` section of `nta.toml`, one table per detector;
//!   [`Detectors::new`] validates it and names the bad key in a [`ConfigError`].
//! * Every detector alerts once per key when its threshold is crossed and then stays quiet
//!   for that key for a cooldown; its state holds at most `max_tracked` keys, the least
//!   recently seen evicted first (counted in [`Detectors::evicted`]), and keys idle for longer
//!   than the window are dropped on [`Detectors::tick`].
//! * [`CATALOGUE`] lists the detectors with their sid, category and severity; all alerts use
//!   the generator id [`GID`].
//!
//! What each detector looks for is documented for users in `docs/detectors.md`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod alert;
mod config;
mod detectors;
mod networks;
mod observation;
mod table;
mod window;

#[cfg(test)]
mod tests;

pub use alert::{Alert, DetectorInfo, CATALOGUE};
pub use config::{
    BeaconingConfig, BruteForceConfig, ConfigError, DetectorsConfig, DnsTunnelConfig,
    HostSweepConfig, IcmpFloodConfig, PortScanConfig, SynFloodConfig, UdpFloodConfig,
    MAX_BEACON_CONNECTIONS, MAX_DISTINCT, MAX_SECS, MAX_TRACKED,
};
pub use observation::{Observation, PacketKind, TcpSummary};

use detectors::Detector;

/// NTA's own generator id: every behavioural alert is `gid 9000`, sids 1 to 8 (see
/// [`CATALOGUE`]), so they never collide with rule alerts (gid 1).
pub const GID: u32 = 9000;

/// All enabled detectors and their bounded state.
///
/// Feed it every [`Observation`] in roughly increasing packet time and call [`tick`](Self::tick)
/// as packet time advances (once per second of packet time is plenty). Observations a little
/// older than the latest are accepted; ones older than a detector's window are ignored by it.
pub struct Detectors {
    running: Vec<Running>,
    now_ns: u64,
}

struct Running {
    detector: Box<dyn Detector>,
    alerts: u64,
}

/// Counters of one detector, for the engine's `stats` events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DetectorStats {
    /// The detector's name (its config table), e.g. `"port_scan"`.
    pub detector: &'static str,
    /// Its signature id.
    pub sid: u32,
    /// Keys held now.
    pub tracked: usize,
    /// Keys evicted because `max_tracked` was reached (the least recently seen first).
    pub evicted: u64,
    /// Alerts raised.
    pub alerts: u64,
}

impl Detectors {
    /// Validates `cfg` and builds the enabled detectors (none when `cfg.enabled` is false).
    /// Disabled detectors are validated too, so a mistake is reported before it is switched on.
    pub fn new(cfg: &DetectorsConfig) -> Result<Detectors, ConfigError> {
        let all = detectors::build(cfg)?;
        let running = all
            .into_iter()
            .filter(|(enabled, _)| *enabled && cfg.enabled)
            .map(|(_, detector)| Running {
                detector,
                alerts: 0,
            })
            .collect();
        Ok(Detectors { running, now_ns: 0 })
    }

    /// Feeds one observation; alerts it causes are appended to `out`.
    pub fn observe(&mut self, obs: &Observation, out: &mut Vec<Alert>) {
        self.now_ns = self.now_ns.max(obs.ts_ns());
        for r in &mut self.running {
            let before = out.len();
            r.detector.observe(obs, self.now_ns, out);
            r.alerts = r.alerts.saturating_add((out.len() - before) as u64);
        }
    }

    /// Packet time has advanced to `now_ns`: drops the keys idle for longer than their
    /// detector's window (or cooldown, if longer). A `now_ns` older than the latest time seen
    /// is ignored.
    ///
    /// Every detector currently decides as observations arrive, so `tick` appends nothing to
    /// `out`; it takes `out` so that a detector deciding when a window closes can be added
    /// without changing the callers.
    pub fn tick(&mut self, now_ns: u64, out: &mut Vec<Alert>) {
        let _ = out;
        self.now_ns = self.now_ns.max(now_ns);
        for r in &mut self.running {
            r.detector.expire(self.now_ns);
        }
    }

    /// Keys held over all detectors (each detector holds at most its `max_tracked`).
    pub fn tracked(&self) -> usize {
        self.running.iter().map(|r| r.detector.tracked()).sum()
    }

    /// Keys evicted over all detectors because a table was full.
    pub fn evicted(&self) -> u64 {
        self.running
            .iter()
            .map(|r| r.detector.evicted())
            .fold(0, u64::saturating_add)
    }

    /// The latest packet time seen, ns.
    pub fn now_ns(&self) -> u64 {
        self.now_ns
    }

    /// Whether any detector runs (false when `[detectors] enabled = false` or all are off),
    /// so the engine can skip producing observations.
    pub fn is_active(&self) -> bool {
        !self.running.is_empty()
    }

    /// Counters of each running detector, in sid order.
    pub fn stats(&self) -> Vec<DetectorStats> {
        self.running
            .iter()
            .map(|r| DetectorStats {
                detector: r.detector.info().name,
                sid: r.detector.info().sid,
                tracked: r.detector.tracked(),
                evicted: r.detector.evicted(),
                alerts: r.alerts,
            })
            .collect()
    }
}

impl std::fmt::Debug for Detectors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detectors")
            .field("now_ns", &self.now_ns)
            .field("stats", &self.stats())
            .finish()
    }
}
