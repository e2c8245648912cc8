//! `[stream]` and `[protocols]`: reassembly limits and the application-layer protocols of a run.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use nta_flow::StreamConfig;
use nta_protocols::{AppConfig, Builtin, Entry, PortRange, ProtocolRef, Registry};
use serde::{de, Deserialize, Deserializer};

/// `[stream]`: TCP reassembly.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StreamSection {
    /// Bytes reassembled per direction of a flow; 0 = unlimited (default 1 MiB, as Suricata's
    /// `stream.reassembly.depth`).
    pub depth: u64,
    /// Out-of-order bytes queued per direction of a flow (default 256 KiB).
    pub max_ooo_bytes: usize,
    /// Bytes held for reassembly by all flows, MiB (default 256).
    pub memcap_mib: usize,
}

impl Default for StreamSection {
    fn default() -> Self {
        let s = StreamConfig::default();
        StreamSection {
            depth: s.depth,
            max_ooo_bytes: s.max_ooo_bytes,
            memcap_mib: s.memcap >> 20,
        }
    }
}

/// A port or a port range, as a number (`8080`) or a string (`"8000-8010"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortSpec(pub PortRange);

impl<'de> Deserialize<'de> for PortSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Num(i64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Num(n) => u16::try_from(n)
                .map(|p| PortSpec(PortRange::one(p)))
                .map_err(|_| de::Error::custom(format!("port {n} is not between 0 and 65535"))),
            Raw::Text(s) => s.parse().map(PortSpec).map_err(de::Error::custom),
        }
    }
}

/// `[protocols.<name>]`: one protocol's settings; a key left out keeps the default.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtocolSection {
    /// Probe and parse it (default true).
    pub enabled: Option<bool>,
    /// Detection ports: probed first there (for port-gated protocols: only there).
    pub ports: Option<Vec<PortSpec>>,
    /// Write its events (default true); its flows still get `app_proto`.
    pub log: Option<bool>,
}

/// `[protocols]`
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct ProtocolsSection {
    /// A directory of user-defined protocol files (`*.toml`), loaded at start.
    pub custom_dir: Option<PathBuf>,
    /// Bytes per direction shown to the probes before a TCP flow is `failed` (default 8192).
    pub probe_bytes: usize,
    /// Datagrams shown to the probes before a UDP flow is `failed` (default 8).
    pub probe_datagrams: u32,
    /// Only these protocols are analysed (the command line's `--protocols`); `None`: every
    /// enabled one.
    pub only: Option<Vec<String>>,
    /// `[protocols.<name>]` tables.
    #[serde(flatten)]
    pub per_protocol: BTreeMap<String, ProtocolSection>,
}

impl Default for ProtocolsSection {
    fn default() -> Self {
        let a = AppConfig::default();
        ProtocolsSection {
            custom_dir: None,
            probe_bytes: a.probe_bytes,
            probe_datagrams: a.probe_datagrams,
            only: None,
            per_protocol: BTreeMap::new(),
        }
    }
}

/// Why the protocols of a run could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolsError {
    /// A user-defined protocol file is wrong (the message points at the line).
    #[error("{0}")]
    Definition(String),
    /// A setting names a protocol nobody defines.
    #[error("{0}")]
    Unknown(String),
}

/// Every built-in protocol.
fn builtin_refs() -> Vec<ProtocolRef> {
    nta_protocols::builtins()
        .into_iter()
        .map(|b: Builtin| Arc::new(b) as ProtocolRef)
        .collect()
}

impl ProtocolsSection {
    /// The user-defined protocols of `custom_dir`.
    fn custom(&self, builtin_names: &[&str]) -> Result<Vec<ProtocolRef>, ProtocolsError> {
        let Some(dir) = &self.custom_dir else {
            return Ok(Vec::new());
        };
        let list = nta_protocols::load_dir(dir, builtin_names)
            .map_err(|e| ProtocolsError::Definition(e.to_string()))?;
        Ok(list
            .into_iter()
            .map(|p| Arc::new(p) as ProtocolRef)
            .collect())
    }

    /// The registry of a run: built-in protocols, then user-defined ones (those asking to go
    /// first are probed first), with this section's settings applied.
    pub fn registry(&self) -> Result<Registry, ProtocolsError> {
        let builtins = builtin_refs();
        let names: Vec<String> = builtins.iter().map(|p| p.info().name.clone()).collect();
        let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut all = builtins;
        all.extend(self.custom(&name_refs)?);
        let known = |n: &str| all.iter().any(|p| p.info().name == n);
        let list = |v: &mut dyn Iterator<Item = &String>| {
            v.map(String::as_str).collect::<Vec<_>>().join(", ")
        };
        for name in self.per_protocol.keys() {
            if !known(name) {
                return Err(ProtocolsError::Unknown(format!(
                    "[protocols.{name}]: no protocol is named `{name}` (known: {})",
                    list(&mut all.iter().map(|p| &p.info().name))
                )));
            }
        }
        if let Some(only) = &self.only {
            for name in only {
                if !known(name) {
                    return Err(ProtocolsError::Unknown(format!(
                        "--protocols: no protocol is named `{name}` (known: {})",
                        list(&mut all.iter().map(|p| &p.info().name))
                    )));
                }
            }
        }
        let entries = all
            .into_iter()
            .map(|proto| {
                let info = proto.info();
                let s = self.per_protocol.get(&info.name);
                let mut enabled = s.and_then(|s| s.enabled).unwrap_or(true);
                if let Some(only) = &self.only {
                    enabled = only.contains(&info.name);
                }
                let ports = s
                    .and_then(|s| s.ports.as_ref())
                    .map(|p| p.iter().map(|p| p.0).collect())
                    .unwrap_or_else(|| info.ports.clone());
                let log = s.and_then(|s| s.log).unwrap_or(true);
                Entry {
                    proto,
                    enabled,
                    ports,
                    log,
                }
            })
            .collect();
        Registry::new(entries).map_err(ProtocolsError::Unknown)
    }

    /// The application-layer limits for one of `workers` workers (the memcap is shared out).
    pub fn app_config(&self, stream: &StreamSection, workers: usize) -> AppConfig {
        AppConfig {
            stream: StreamConfig {
                depth: stream.depth,
                max_ooo_bytes: stream.max_ooo_bytes,
                memcap: (stream.memcap_mib << 20) / workers.max(1),
            },
            probe_bytes: self.probe_bytes.max(1),
            probe_datagrams: self.probe_datagrams.max(1),
            ..AppConfig::default()
        }
    }
}
