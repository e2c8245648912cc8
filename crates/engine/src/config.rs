//! `nta.toml`: every key optional, validated at load with errors that name the key and line.

use std::path::{Path, PathBuf};

use nta_flow::{FlowConfig, ProtoTimeouts};
use nta_packet::{DecoderConfig, DefragConfig};
use serde::{de, Deserialize, Deserializer};

pub use crate::protocols::{
    PortSpec, ProtocolSection, ProtocolsError, ProtocolsSection, StreamSection,
};
pub use crate::rules::RulesSection;

/// Why a configuration file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Unreadable.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// Invalid TOML, unknown key or bad value; the message names the key and line.
    #[error("{path}: {message}")]
    Invalid {
        /// File.
        path: PathBuf,
        /// toml's message with line, column and key.
        message: String,
    },
}

fn in_range<'de, D, T>(d: D, min: T, max: T, what: &str) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + PartialOrd + std::fmt::Display + Copy,
{
    let v = T::deserialize(d)?;
    if v < min || v > max {
        return Err(de::Error::custom(format!(
            "{what} must be between {min} and {max}, got {v}"
        )));
    }
    Ok(v)
}

fn workers<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    in_range(d, 0, 1024, "workers (0 = one per core)")
}
fn positive_usize<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    in_range(d, 1, 1 << 40, "value")
}
fn seconds<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    in_range(d, 0, 365 * 86_400, "timeout in seconds")
}
fn interval<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    in_range(d, 1, 86_400, "interval in seconds")
}
fn snaplen<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    in_range(d, 64, 262_144, "snaplen")
}
fn buffer_mib<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    in_range(d, 1, 4096, "buffer size in MiB")
}
fn port<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    in_range(d, 0, 65_535, "port (0 disables)")
}

/// The whole configuration file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `[capture]`
    pub capture: CaptureSection,
    /// `[engine]`
    pub engine: EngineSection,
    /// `[output]`
    pub output: OutputSection,
    /// `[flow]`
    pub flow: FlowSection,
    /// `[defrag]`
    pub defrag: DefragSection,
    /// `[decoder]`
    pub decoder: DecoderSection,
    /// `[stream]`
    pub stream: StreamSection,
    /// `[protocols]`
    pub protocols: ProtocolsSection,
    /// `[rules]`
    pub rules: RulesSection,
    /// `[detectors]`: the behavioural detectors (`docs/detectors.md`).
    pub detectors: nta_behaviour::DetectorsConfig,
    /// `[store]`: the history database.
    pub store: StoreSection,
    /// `[alerting]`: alert pipeline and notification channels (`docs/alerting.md`).
    pub alerting: nta_alert::AlertingConfig,
}

/// `[store]`
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSection {
    /// The SQLite file (`--store` overrides); none: no store.
    pub path: Option<PathBuf>,
    /// Longest time between a write and its commit, milliseconds (10..1000, default 250): at
    /// most this much of what the store accepted is lost if the process is killed.
    #[serde(deserialize_with = "commit_ms")]
    pub commit_interval_ms: u64,
    /// Chunks of events queued for the writer (default 256); past it live capture drops them
    /// (counted in `stats.store.dropped`).
    #[serde(deserialize_with = "positive_usize")]
    pub queue: usize,
    /// Hosts and ports kept per minute in the rollups (default 100).
    #[serde(deserialize_with = "positive_usize")]
    pub top_n: usize,
    /// `[store.retention.{flows,events,alerts,rollups}]`: `max_age`, `max_size_mb`.
    pub retention: nta_store::Retention,
}

fn commit_ms<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    in_range(d, 10, 1000, "commit interval in milliseconds")
}

impl Default for StoreSection {
    fn default() -> Self {
        StoreSection {
            path: None,
            commit_interval_ms: 250,
            queue: 256,
            top_n: 100,
            retention: nta_store::Retention::default(),
        }
    }
}

/// `[capture]`: live capture defaults (command-line flags override).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CaptureSection {
    /// Interface.
    pub interface: Option<String>,
    /// BPF filter.
    pub filter: Option<String>,
    /// Snap length (64..262144, default 262144).
    #[serde(deserialize_with = "snaplen")]
    pub snaplen: i32,
    /// Kernel buffer, MiB (default 64).
    #[serde(deserialize_with = "buffer_mib")]
    pub buffer_size_mib: i32,
    /// Promiscuous mode (default true).
    pub promisc: bool,
}

impl Default for CaptureSection {
    fn default() -> Self {
        CaptureSection {
            interface: None,
            filter: None,
            snaplen: 262_144,
            buffer_size_mib: 64,
            promisc: true,
        }
    }
}

/// `[engine]`
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineSection {
    /// Worker threads; 0 = one per core (default).
    #[serde(deserialize_with = "workers")]
    pub workers: usize,
    /// Packet batches queued per worker before the capture drops (default 64 of 256 packets).
    #[serde(deserialize_with = "positive_usize")]
    pub queue_batches: usize,
    /// Seconds between `stats` events during live capture (default 10).
    #[serde(deserialize_with = "interval")]
    pub stats_interval: u64,
}

impl Default for EngineSection {
    fn default() -> Self {
        EngineSection {
            workers: 0,
            queue_batches: 64,
            stats_interval: 10,
        }
    }
}

/// `[output]`
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputSection {
    /// EVE JSON file (default: standard output).
    pub eve: Option<PathBuf>,
}

/// `[flow]`
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FlowSection {
    /// Flows held at once across all workers (default 1,000,000).
    #[serde(deserialize_with = "positive_usize")]
    pub max_flows: usize,
    /// `[flow.timeouts.*]`
    pub timeouts: TimeoutsSection,
}

impl Default for FlowSection {
    fn default() -> Self {
        FlowSection {
            max_flows: FlowConfig::default().max_flows,
            timeouts: TimeoutsSection::default(),
        }
    }
}

/// `[flow.timeouts]`: one table per protocol.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TimeoutsSection {
    /// `[flow.timeouts.tcp]`
    pub tcp: ProtoTimeoutsSection,
    /// `[flow.timeouts.udp]`
    pub udp: ProtoTimeoutsSection,
    /// `[flow.timeouts.icmp]`
    pub icmp: ProtoTimeoutsSection,
    /// `[flow.timeouts.other]`
    pub other: ProtoTimeoutsSection,
    /// `[flow.timeouts.emergency]`
    pub emergency: ProtoTimeoutsSection,
}

impl Default for TimeoutsSection {
    fn default() -> Self {
        let t = nta_flow::Timeouts::default();
        TimeoutsSection {
            tcp: t.tcp.into(),
            udp: t.udp.into(),
            icmp: t.icmp.into(),
            other: t.other.into(),
            emergency: t.emergency.into(),
        }
    }
}

/// Timeouts of one protocol in seconds; a key left out keeps the protocol's default.
#[derive(Clone, Copy, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtoTimeoutsSection {
    /// Not yet established.
    #[serde(default, deserialize_with = "opt_seconds")]
    pub new: Option<u64>,
    /// Established.
    #[serde(default, deserialize_with = "opt_seconds")]
    pub established: Option<u64>,
    /// Closed (TCP).
    #[serde(default, deserialize_with = "opt_seconds")]
    pub closed: Option<u64>,
}

fn opt_seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    seconds(d).map(Some)
}

impl From<ProtoTimeouts> for ProtoTimeoutsSection {
    fn from(p: ProtoTimeouts) -> Self {
        ProtoTimeoutsSection {
            new: Some(p.new),
            established: Some(p.established),
            closed: Some(p.closed),
        }
    }
}

impl ProtoTimeoutsSection {
    fn apply(&self, base: ProtoTimeouts) -> ProtoTimeouts {
        ProtoTimeouts {
            new: self.new.unwrap_or(base.new),
            established: self.established.unwrap_or(base.established),
            closed: self.closed.unwrap_or(base.closed),
        }
    }
}

/// `[defrag]`
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DefragSection {
    /// Bytes held for reassembly across workers, MiB (default 32).
    #[serde(deserialize_with = "positive_usize")]
    pub memcap_mib: usize,
    /// Datagrams in reassembly at once (default 65535).
    #[serde(deserialize_with = "positive_usize")]
    pub max_trackers: usize,
    /// Fragments per datagram (default 256).
    #[serde(deserialize_with = "positive_usize")]
    pub max_fragments: usize,
    /// Seconds to wait for missing fragments (default 60).
    #[serde(deserialize_with = "seconds")]
    pub timeout: u64,
}

impl Default for DefragSection {
    fn default() -> Self {
        let d = DefragConfig::default();
        DefragSection {
            memcap_mib: d.memcap >> 20,
            max_trackers: d.max_trackers,
            max_fragments: d.max_fragments,
            timeout: d.timeout_secs,
        }
    }
}

/// `[decoder]`: UDP ports of the tunnels followed.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DecoderSection {
    /// VXLAN (default 4789).
    #[serde(deserialize_with = "port")]
    pub vxlan_port: u16,
    /// Geneve (default 6081).
    #[serde(deserialize_with = "port")]
    pub geneve_port: u16,
    /// GTP-U (default 2152).
    #[serde(deserialize_with = "port")]
    pub gtpu_port: u16,
    /// Teredo (default 3544).
    #[serde(deserialize_with = "port")]
    pub teredo_port: u16,
}

impl Default for DecoderSection {
    fn default() -> Self {
        let d = DecoderConfig::default();
        DecoderSection {
            vxlan_port: d.vxlan_port,
            geneve_port: d.geneve_port,
            gtpu_port: d.gtpu_port,
            teredo_port: d.teredo_port,
        }
    }
}

/// The 1-based line of a dotted key (`detectors.syn_flood.half_open_ratio`): the key's
/// line within its table, else the table's header.
fn key_line(text: &str, key: &str) -> Option<usize> {
    let (table, leaf) = key.rsplit_once('.')?;
    let header = format!("[{table}]");
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.iter().position(|l| l.trim() == header)?;
    let within = lines[start + 1..]
        .iter()
        .take_while(|l| !l.trim_start().starts_with('['))
        .position(|l| {
            l.trim_start()
                .strip_prefix(leaf)
                .is_some_and(|r| r.trim_start().starts_with('='))
        });
    Some(match within {
        Some(i) => start + 2 + i,
        None => start + 1,
    })
}

impl Config {
    /// Parses a configuration text; `path` is used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let cfg: Config = toml::from_str(text).map_err(|e| ConfigError::Invalid {
            path: path.to_path_buf(),
            message: describe(text, &e),
        })?;
        cfg.detectors.validate().map_err(|e| ConfigError::Invalid {
            path: path.to_path_buf(),
            message: match key_line(text, e.key()) {
                Some(line) => format!("line {line}: {e}"),
                None => e.to_string(),
            },
        })?;
        cfg.alerting.validate().map_err(|e| {
            // A channel's error names it: point at its `name = "…"` line.
            let name_line = e
                .strip_prefix("alerting channel \"")
                .and_then(|rest| rest.split('"').next())
                .and_then(|name| {
                    text.lines().position(|l| {
                        let t = l.trim_start();
                        t.starts_with("name") && t.contains(&format!("\"{name}\""))
                    })
                });
            // The key the error names (`url`, `server`, …), within the channel's table.
            let key = e.split('`').nth(1);
            let line = name_line.map(|n| {
                let table_start = text
                    .lines()
                    .take(n)
                    .collect::<Vec<_>>()
                    .iter()
                    .rposition(|l| l.trim_start().starts_with('['))
                    .unwrap_or(0);
                key.and_then(|k| {
                    text.lines()
                        .enumerate()
                        .skip(table_start + 1)
                        .take_while(|(i, l)| *i <= n || !l.trim_start().starts_with('['))
                        .find(|(_, l)| {
                            l.trim_start()
                                .strip_prefix(k)
                                .is_some_and(|r| r.trim_start().starts_with('='))
                        })
                        .map(|(i, _)| i)
                })
                .unwrap_or(n)
            });
            ConfigError::Invalid {
                path: path.to_path_buf(),
                message: match line {
                    Some(n) => format!("line {}: {e}", n + 1),
                    None => e,
                },
            }
        })?;
        Ok(cfg)
    }

    /// Loads and validates a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text, path)
    }

    /// The worker count to use (resolving 0 to the number of cores).
    pub fn worker_count(&self) -> usize {
        match self.engine.workers {
            0 => std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            n => n,
        }
    }

    /// The flow table settings for one of `workers` workers (the cap is shared out).
    pub fn flow_config(&self, workers: usize) -> FlowConfig {
        let t = &self.flow.timeouts;
        let base = nta_flow::Timeouts::default();
        FlowConfig {
            max_flows: (self.flow.max_flows / workers.max(1)).max(1),
            timeouts: nta_flow::Timeouts {
                tcp: t.tcp.apply(base.tcp),
                udp: t.udp.apply(base.udp),
                icmp: t.icmp.apply(base.icmp),
                other: t.other.apply(base.other),
                emergency: t.emergency.apply(base.emergency),
            },
        }
    }

    /// The decoder settings for one of `workers` workers.
    pub fn decoder_config(&self, workers: usize) -> DecoderConfig {
        let w = workers.max(1);
        DecoderConfig {
            vxlan_port: self.decoder.vxlan_port,
            geneve_port: self.decoder.geneve_port,
            gtpu_port: self.decoder.gtpu_port,
            teredo_port: self.decoder.teredo_port,
            defrag: DefragConfig {
                memcap: (self.defrag.memcap_mib << 20) / w,
                max_trackers: (self.defrag.max_trackers / w).max(1),
                max_fragments: self.defrag.max_fragments,
                timeout_secs: self.defrag.timeout,
            },
        }
    }
}

/// One line naming the line, the key (with its table) and the problem. toml's own message
/// spans several lines with a source excerpt and names the key only for unknown keys.
fn describe(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim().replace('\n', " ");
    let Some(span) = e.span() else {
        return message;
    };
    let at = span.start.min(text.len());
    let line_no = text[..at].matches('\n').count() + 1;
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or("").trim();
    // The table the line belongs to: the last `[header]` above it.
    let table = text[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('[') && l.ends_with(']'))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim());
    let key = line
        .split_once('=')
        .map(|(k, _)| k.trim().trim_matches('"'))
        .filter(|k| !k.is_empty() && !line.starts_with('['));
    match (key, table) {
        (Some(k), Some(t)) => format!("line {line_no}, key `{t}.{k}`: {message}"),
        (Some(k), None) => format!("line {line_no}, key `{k}`: {message}"),
        (None, _) => format!("line {line_no}: {message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        Config::parse(text, Path::new("nta.toml"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn store_and_alerting_errors_name_the_key_and_line() {
        let e = err("[store]\ncommit_interval_ms = 5000\n");
        assert!(
            e.contains("line 2") && e.contains("between 10 and 1000"),
            "{e}"
        );
        let e = err("[store.retention.alerts]\nmax_age = \"soon\"\n");
        assert!(e.contains("line 2") && e.contains("soon"), "{e}");
        let e = err(
            "[alerting]\n[[alerting.channels]]\nname = \"ops\"\ntype = \"webhook\"\nto = [\"a@b\"]\nurl = \"http://x/\"\n",
        );
        assert!(
            e.contains("line 5") && e.contains("\"ops\"") && e.contains("`to`"),
            "{e}"
        );
        // A missing key: the channel's name line.
        let e = err("[[alerting.channels]]\nname = \"hook\"\ntype = \"webhook\"\n");
        assert!(e.contains("line 2") && e.contains("`url`"), "{e}");
        let e = err("[[alerting.suppress]]\nreason = \"everything\"\n");
        assert!(
            e.contains("suppress[0]") && e.contains("silence everything"),
            "{e}"
        );
        let c = Config::parse(
            "[store]\npath = \"/tmp/h.sqlite\"\n[alerting]\ndedup_window = \"90s\"\n",
            Path::new("x"),
        )
        .unwrap();
        assert_eq!(c.alerting.dedup_window.as_secs(), 90);
        assert_eq!(c.store.commit_interval_ms, 250);
    }

    #[test]
    fn empty_file_is_all_defaults() {
        let c = Config::parse("", Path::new("x")).unwrap();
        assert_eq!(c.flow.max_flows, 1_000_000);
        assert_eq!(c.flow_config(2).max_flows, 500_000);
        assert_eq!(c.flow_config(1).timeouts.tcp.established, 600);
    }

    #[test]
    fn partial_timeouts_keep_defaults() {
        let c = Config::parse("[flow.timeouts.tcp]\nestablished = 30\n", Path::new("x")).unwrap();
        let t = c.flow_config(1).timeouts;
        assert_eq!(t.tcp.established, 30);
        assert_eq!(t.tcp.new, 60);
        assert_eq!(t.udp.new, 30);
    }

    #[test]
    fn errors_name_key_and_line() {
        let e = err("[flow]\n\nmax_flows = 0\n");
        assert!(e.contains("line 3"), "{e}");
        assert!(
            e.contains("`flow.max_flows`") && e.contains("between 1"),
            "{e}"
        );
        let e = err("[flow.timeouts.udp]\nestablished = 999999999\n");
        assert!(
            e.contains("line 2, key `flow.timeouts.udp.established`"),
            "{e}"
        );
        let e = err("[engine]\nworkrs = 2\n");
        assert!(e.contains("line 2") && e.contains("workrs"), "{e}");
        let e = err("[capture]\nsnaplen = \"big\"\n");
        assert!(e.contains("line 2, key `capture.snaplen`"), "{e}");
        let e = err("[flow\n");
        assert!(e.contains("line 1"), "{e}");
        assert!(!e.contains('\n'), "one line: {e}");
    }
}
