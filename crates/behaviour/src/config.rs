//! `[detectors]` of `nta.toml`: a master switch, a state bound, and one table per detector.
//!
//! Every key is optional. Deserialising checks types and refuses unknown keys
//! (`deny_unknown_fields`); ranges, cross-key rules and `networks` entries are checked by
//! [`DetectorsConfig::validate`] (also run by [`Detectors::new`](crate::Detectors::new)), whose
//! [`ConfigError`] names the key as `detectors.<table>.<key>`.
//!
//! ```
//! let cfg: nta_behaviour::DetectorsConfig = toml::from_str(
//!     "max_tracked = 50000\n[port_scan]\ndistinct_ports = 200\nnetworks = [\"10.0.0.0/8\"]\n",
//! ).unwrap();
//! assert_eq!(cfg.port_scan.distinct_ports, 200);
//! assert_eq!(cfg.port_scan.window_secs, 60); // the default
//! cfg.validate().unwrap();
//! ```

use std::fmt::Display;

use serde::{Deserialize, Serialize};

use crate::networks::Networks;

/// Largest `max_tracked` accepted (per detector). Table slots are indexed with 32 bits; this
/// leaves a wide margin and is far beyond what fits in memory with per-key sets.
pub const MAX_TRACKED: usize = 10_000_000;
/// Largest distinct-count threshold (ports, hosts, DNS names). A key's set holds at most the
/// threshold + 1 entries, so this bounds one key's memory; 65,536 is every port of a host.
pub const MAX_DISTINCT: usize = 65_536;
/// Longest window, cooldown, session length or beacon interval accepted, seconds (one week).
pub const MAX_SECS: u64 = 7 * 86_400;
/// Most beacon connections remembered per key (`beaconing.min_connections`).
pub const MAX_BEACON_CONNECTIONS: usize = 1_000;

/// Why a `[detectors]` configuration was refused. The message starts with the key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A number outside its range (a zero window, a ratio above 1, …).
    #[error("{key} must be between {min} and {max}, got {value}")]
    OutOfRange {
        /// `detectors.<table>.<key>`.
        key: String,
        /// Smallest value accepted.
        min: String,
        /// Largest value accepted.
        max: String,
        /// The value given.
        value: String,
    },
    /// A value that contradicts another key.
    #[error("{key} must be {rule}, got {value}")]
    Inconsistent {
        /// `detectors.<table>.<key>`.
        key: String,
        /// What it must be.
        rule: String,
        /// The value given.
        value: String,
    },
    /// A `networks` entry that is not an address or CIDR.
    #[error(
        "{key}: `{value}` is not an IP address or CIDR \
         (such as 10.0.0.0/8 or 2001:db8::/32, or !10.0.0.1 to exclude)"
    )]
    BadNetwork {
        /// `detectors.<table>.networks`.
        key: String,
        /// The entry given.
        value: String,
    },
}

impl ConfigError {
    /// The full key at fault, e.g. `detectors.syn_flood.half_open_ratio`.
    pub fn key(&self) -> &str {
        match self {
            ConfigError::OutOfRange { key, .. }
            | ConfigError::Inconsistent { key, .. }
            | ConfigError::BadNetwork { key, .. } => key,
        }
    }
}

/// `[detectors]`: all behavioural detectors. Every detector is on by default.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectorsConfig {
    /// Master switch (default true): false runs no detector at all.
    pub enabled: bool,
    /// Keys (sources, destinations, pairs, …) each detector holds at most (default 100,000);
    /// when full, the key seen least recently is evicted. A table's own `max_tracked`
    /// overrides it.
    pub max_tracked: usize,
    /// `[detectors.port_scan]`, sid 1.
    pub port_scan: PortScanConfig,
    /// `[detectors.host_sweep]`, sid 2.
    pub host_sweep: HostSweepConfig,
    /// `[detectors.syn_flood]`, sid 3.
    pub syn_flood: SynFloodConfig,
    /// `[detectors.udp_flood]`, sid 4.
    pub udp_flood: UdpFloodConfig,
    /// `[detectors.icmp_flood]`, sid 5.
    pub icmp_flood: IcmpFloodConfig,
    /// `[detectors.brute_force]`, sid 6.
    pub brute_force: BruteForceConfig,
    /// `[detectors.dns_tunnel]`, sid 7.
    pub dns_tunnel: DnsTunnelConfig,
    /// `[detectors.beaconing]`, sid 8.
    pub beaconing: BeaconingConfig,
}

impl Default for DetectorsConfig {
    fn default() -> Self {
        DetectorsConfig {
            enabled: true,
            max_tracked: 100_000,
            port_scan: PortScanConfig::default(),
            host_sweep: HostSweepConfig::default(),
            syn_flood: SynFloodConfig::default(),
            udp_flood: UdpFloodConfig::default(),
            icmp_flood: IcmpFloodConfig::default(),
            brute_force: BruteForceConfig::default(),
            dns_tunnel: DnsTunnelConfig::default(),
            beaconing: BeaconingConfig::default(),
        }
    }
}

impl DetectorsConfig {
    /// Checks every range, cross-key rule and network, enabled or not.
    pub fn validate(&self) -> Result<(), ConfigError> {
        crate::detectors::build(self).map(drop)
    }
}

/// `[detectors.port_scan]`: vertical scan, one source touching many ports of one host.
/// Source-centric: `networks` selects the scanning source.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PortScanConfig {
    /// On or off (default on).
    pub enabled: bool,
    /// Distinct destination ports of one host, one protocol, that make a scan (default 100).
    pub distinct_ports: usize,
    /// Sliding window, seconds (default 60).
    pub window_secs: u64,
    /// Quiet time per key after an alert, seconds (default: `window_secs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cooldown_secs: Option<u64>,
    /// Sources watched, as CIDRs or addresses; `!` excludes; empty (default) = all.
    pub networks: Vec<String>,
    /// Overrides `[detectors] max_tracked` for this detector.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tracked: Option<usize>,
}

impl Default for PortScanConfig {
    fn default() -> Self {
        PortScanConfig {
            enabled: true,
            distinct_ports: 100,
            window_secs: 60,
            cooldown_secs: None,
            networks: Vec::new(),
            max_tracked: None,
        }
    }
}

/// `[detectors.host_sweep]`: horizontal sweep, one source touching many hosts on one port, or
/// pinging many hosts. Source-centric: `networks` selects the sweeping source.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct HostSweepConfig {
    /// On or off (default on).
    pub enabled: bool,
    /// Distinct destination hosts on one port (or pinged) that make a sweep (default 50).
    pub distinct_hosts: usize,
    /// Sliding window, seconds (default 60).
    pub window_secs: u64,
    /// Quiet time per key after an alert, seconds (default: `window_secs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cooldown_secs: Option<u64>,
    /// Sources watched; `!` excludes; empty (default) = all.
    pub networks: Vec<String>,
    /// Overrides `[detectors] max_tracked` for this detector.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tracked: Option<usize>,
}

impl Default for HostSweepConfig {
    fn default() -> Self {
        HostSweepConfig {
            enabled: true,
            distinct_hosts: 50,
            window_secs: 60,
            cooldown_secs: None,
            networks: Vec::new(),
            max_tracked: None,
        }
    }
}

/// `[detectors.syn_flood]`: TCP SYNs to one host at a high rate, mostly half-open.
/// Destination-centric: `networks` selects the target.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SynFloodConfig {
    /// On or off (default on).
    pub enabled: bool,
    /// Average SYNs per second over the window (default 1000).
    pub syn_per_sec: u64,
    /// Share of SYNs left half-open, 0 to 1 (default 0.8).
    pub half_open_ratio: f64,
    /// Window, seconds (default 10).
    pub window_secs: u64,
    /// Quiet time per target after an alert, seconds (default: `window_secs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cooldown_secs: Option<u64>,
    /// Targets watched; `!` excludes; empty (default) = all.
    pub networks: Vec<String>,
    /// Overrides `[detectors] max_tracked` for this detector.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tracked: Option<usize>,
}

impl Default for SynFloodConfig {
    fn default() -> Self {
        SynFloodConfig {
            enabled: true,
            syn_per_sec: 1_000,
            half_open_ratio: 0.8,
            window_secs: 10,
            cooldown_secs: None,
            networks: Vec::new(),
            max_tracked: None,
        }
    }
}

/// `[detectors.udp_flood]`: UDP datagrams to one host at a high rate, mostly unanswered.
/// Destination-centric: `networks` selects the target.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct UdpFloodConfig {
    /// On or off (default on).
    pub enabled: bool,
    /// Average datagrams per second over the window (default 10,000).
    pub packets_per_sec: u64,
    /// Share of datagrams the target did not answer with a datagram of its own, 0 to 1
    /// (default 0.95). Keeps busy DNS, NTP or QUIC servers, which answer, silent.
    pub unanswered_ratio: f64,
    /// Window, seconds (default 10).
    pub window_secs: u64,
    /// Quiet time per target after an alert, seconds (default: `window_secs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cooldown_secs: Option<u64>,
    /// Targets watched; `!` excludes; empty (default) = all.
    pub networks: Vec<String>,
    /// Overrides `[detectors] max_tracked` for this detector.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tracked: Option<usize>,
}

impl Default for UdpFloodConfig {
    fn default() -> Self {
        UdpFloodConfig {
            enabled: true,
            packets_per_sec: 10_000,
            unanswered_ratio: 0.95,
            window_secs: 10,
            cooldown_secs: None,
            networks: Vec::new(),
            max_tracked: None,
        }
    }
}

/// `[detectors.icmp_flood]`: ICMP echo requests to one host at a high rate.
/// Destination-centric: `networks` selects the target.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct IcmpFloodConfig {
    /// On or off (default on).
    pub enabled: bool,
    /// Average echo requests per second over the window (default 1000).
    pub packets_per_sec: u64,
    /// Window, seconds (default 10).
    pub window_secs: u64,
    /// Quiet time per target after an alert, seconds (default: `window_secs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cooldown_secs: Option<u64>,
    /// Targets watched; `!` excludes; empty (default) = all.
    pub networks: Vec<String>,
    /// Overrides `[detectors] max_tracked` for this detector.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tracked: Option<usize>,
}

impl Default for IcmpFloodConfig {
    fn default() -> Self {
        IcmpFloodConfig {
            enabled: true,
            packets_per_sec: 1_000,
            window_secs: 10,
            cooldown_secs: None,
            networks: Vec::new(),
            max_tracked: None,
        }
    }
}

/// `[detectors.brute_force]`: many short sessions to, or failed logins at, one service of one
/// host from one source. Source-centric: `networks` selects the client.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct BruteForceConfig {
    /// On or off (default on).
    pub enabled: bool,
    /// Short sessions, or failed logins, within the window that make an attack (default 20).
    pub attempts: u64,
    /// A TCP session to one of `ports` lasting less than this counts as an attempt (default 30).
    pub max_session_secs: u64,
    /// Server ports whose short sessions are counted (default 21 ftp, 22 ssh, 25, 465, 587
    /// smtp, 3389 rdp). Failed logins reported by the application count on any port.
    pub ports: Vec<u16>,
    /// Sliding window, seconds (default 60).
    pub window_secs: u64,
    /// Quiet time per key after an alert, seconds (default: `window_secs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cooldown_secs: Option<u64>,
    /// Clients watched; `!` excludes; empty (default) = all.
    pub networks: Vec<String>,
    /// Overrides `[detectors] max_tracked` for this detector.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tracked: Option<usize>,
}

impl Default for BruteForceConfig {
    fn default() -> Self {
        BruteForceConfig {
            enabled: true,
            attempts: 20,
            max_session_secs: 30,
            ports: vec![21, 22, 25, 465, 587, 3389],
            window_secs: 60,
            cooldown_secs: None,
            networks: Vec::new(),
            max_tracked: None,
        }
    }
}

/// `[detectors.dns_tunnel]`: data carried in DNS names under one domain.
/// Source-centric: `networks` selects the querying client.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DnsTunnelConfig {
    /// On or off (default on).
    pub enabled: bool,
    /// Distinct suspicious names (long or random-looking) under one domain within the window
    /// that make a tunnel (default 30).
    pub suspicious_names: usize,
    /// Distinct TXT or NULL query names under one domain within the window that make a
    /// tunnel (default 50).
    pub txt_null_names: usize,
    /// A name longer than this many characters is suspicious (default 60).
    pub max_name_len: usize,
    /// A name whose longest label has at least `min_label_len` characters and more than this
    /// Shannon entropy, bits per character, is suspicious (default 4.0).
    pub min_entropy: f64,
    /// See `min_entropy` (default 20).
    pub min_label_len: usize,
    /// Domains never reported, with their subdomains (default none), e.g. an antivirus
    /// vendor's DNS lookup service.
    pub ignore_domains: Vec<String>,
    /// Sliding window, seconds (default 60).
    pub window_secs: u64,
    /// Quiet time per key after an alert, seconds (default: `window_secs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cooldown_secs: Option<u64>,
    /// Clients watched; `!` excludes; empty (default) = all.
    pub networks: Vec<String>,
    /// Overrides `[detectors] max_tracked` for this detector.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tracked: Option<usize>,
}

impl Default for DnsTunnelConfig {
    fn default() -> Self {
        DnsTunnelConfig {
            enabled: true,
            suspicious_names: 30,
            txt_null_names: 50,
            max_name_len: 60,
            min_entropy: 4.0,
            min_label_len: 20,
            ignore_domains: Vec::new(),
            window_secs: 60,
            cooldown_secs: None,
            networks: Vec::new(),
            max_tracked: None,
        }
    }
}

/// `[detectors.beaconing]`: connections from one source to one service at a regular interval.
/// Source-centric: `networks` selects the client.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct BeaconingConfig {
    /// On or off (default on).
    pub enabled: bool,
    /// Consecutive connections judged together (default 8, 3 to 1000).
    pub min_connections: usize,
    /// Largest coefficient of variation (standard deviation / mean) of their intervals
    /// (default 0.1).
    pub max_cv: f64,
    /// Shortest mean interval reported, seconds (default 10).
    pub min_interval_secs: u64,
    /// Longest mean interval reported, seconds (default 3600).
    pub max_interval_secs: u64,
    /// Server ports never reported (default 53 DNS, 123 NTP).
    pub ignore_ports: Vec<u16>,
    /// Quiet time per key after an alert, seconds (default 3600).
    pub cooldown_secs: u64,
    /// Clients watched; `!` excludes; empty (default) = all.
    pub networks: Vec<String>,
    /// Overrides `[detectors] max_tracked` for this detector.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tracked: Option<usize>,
}

impl Default for BeaconingConfig {
    fn default() -> Self {
        BeaconingConfig {
            enabled: true,
            min_connections: 8,
            max_cv: 0.1,
            min_interval_secs: 10,
            max_interval_secs: 3_600,
            ignore_ports: vec![53, 123],
            cooldown_secs: 3_600,
            networks: Vec::new(),
            max_tracked: None,
        }
    }
}

/// Checks of one `[detectors.<table>]`, producing errors that name the key.
pub(crate) struct Section {
    pub(crate) table: &'static str,
}

impl Section {
    fn key(&self, key: &str) -> String {
        if self.table.is_empty() {
            format!("detectors.{key}")
        } else {
            format!("detectors.{}.{key}", self.table)
        }
    }

    /// `value` if it lies in `min..=max` (NaN never does).
    pub(crate) fn range<T>(&self, key: &str, value: T, min: T, max: T) -> Result<T, ConfigError>
    where
        T: PartialOrd + Display + Copy,
    {
        if (min..=max).contains(&value) {
            Ok(value)
        } else {
            Err(ConfigError::OutOfRange {
                key: self.key(key),
                min: min.to_string(),
                max: max.to_string(),
                value: value.to_string(),
            })
        }
    }

    pub(crate) fn inconsistent(&self, key: &str, rule: String, value: impl Display) -> ConfigError {
        ConfigError::Inconsistent {
            key: self.key(key),
            rule,
            value: value.to_string(),
        }
    }

    pub(crate) fn networks(&self, entries: &[String]) -> Result<Networks, ConfigError> {
        Networks::parse(entries).map_err(|value| ConfigError::BadNetwork {
            key: self.key("networks"),
            value,
        })
    }

    /// Window and cooldown in ns; the cooldown defaults to the window.
    pub(crate) fn timing(
        &self,
        window_secs: u64,
        cooldown_secs: Option<u64>,
    ) -> Result<Timing, ConfigError> {
        let window_secs = self.range("window_secs", window_secs, 1, MAX_SECS)?;
        let cooldown_secs = match cooldown_secs {
            Some(c) => self.range("cooldown_secs", c, 1, MAX_SECS)?,
            None => window_secs,
        };
        Ok(Timing::new(window_secs, cooldown_secs))
    }

    pub(crate) fn max_tracked(
        &self,
        own: Option<usize>,
        global: usize,
    ) -> Result<usize, ConfigError> {
        match own {
            Some(n) => self.range("max_tracked", n, 1, MAX_TRACKED),
            None => Ok(global),
        }
    }
}

/// A detector's window and cooldown, in packet-time ns.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timing {
    pub(crate) window_secs: u64,
    pub(crate) window_ns: u64,
    pub(crate) cooldown_ns: u64,
}

impl Timing {
    pub(crate) fn new(window_secs: u64, cooldown_secs: u64) -> Timing {
        Timing {
            window_secs,
            window_ns: secs_to_ns(window_secs),
            cooldown_ns: secs_to_ns(cooldown_secs),
        }
    }

    /// How long a key may stay idle before it is dropped: its window, or its cooldown if
    /// longer (so that a paused scan does not earn a second alert by pausing).
    pub(crate) fn idle_ns(&self) -> u64 {
        self.window_ns.max(self.cooldown_ns)
    }
}

pub(crate) fn secs_to_ns(secs: u64) -> u64 {
    secs.saturating_mul(1_000_000_000)
}
