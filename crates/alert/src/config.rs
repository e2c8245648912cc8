//! `[alerting]` in `nta.toml`: channels, suppressions, thresholds and pipeline settings.
//! Every key is checked; errors name the channel and key.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

use crate::channels::{
    ChannelSpec, Notification, Secret, SmtpSecurity, SyslogFormat, SyslogTransport, WebhookFormat,
};

/// `"7d"`, `"12h"`, `"15m"`, `"30s"`, `"500ms"`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("{s:?} is not a duration like \"30s\", \"5m\" or \"1h\": {e}"))
}

fn dur<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    parse_duration(&String::deserialize(d)?).map_err(de::Error::custom)
}

fn show<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&humantime::format_duration(*d).to_string())
}

/// `[alerting]`
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertingConfig {
    /// Alerts with the same signature, source and destination within this window are one
    /// alert with a count (default 5m).
    #[serde(deserialize_with = "dur", serialize_with = "show")]
    pub dedup_window: Duration,
    /// Notifications kept per channel while its receiver is down; past it the oldest are
    /// dropped and counted (default 10000).
    pub outbox_max: u64,
    /// How long `nta read` waits at the end for the last notifications (default 10s); what is
    /// left is delivered at the next start.
    #[serde(deserialize_with = "dur", serialize_with = "show")]
    pub drain_timeout: Duration,
    /// `[[alerting.channels]]`
    pub channels: Vec<ChannelConfig>,
    /// `[[alerting.suppress]]`
    pub suppress: Vec<SuppressConfig>,
    /// `[[alerting.threshold]]`
    pub threshold: Vec<ThresholdConfig>,
}

impl Default for AlertingConfig {
    fn default() -> Self {
        AlertingConfig {
            dedup_window: Duration::from_secs(300),
            outbox_max: 10_000,
            drain_timeout: Duration::from_secs(10),
            channels: Vec::new(),
            suppress: Vec::new(),
            threshold: Vec::new(),
        }
    }
}

impl AlertingConfig {
    /// Checks everything that serde's types do not (a channel's keys for its type, networks,
    /// names); the error names the channel and the key.
    pub fn validate(&self) -> Result<(), String> {
        let mut names = std::collections::HashSet::new();
        for c in &self.channels {
            c.compile()?;
            if !names.insert(c.name.as_str()) {
                return Err(format!(
                    "alerting.channels: two channels are named {:?}",
                    c.name
                ));
            }
        }
        for (i, s) in self.suppress.iter().enumerate() {
            s.to_suppression(0)
                .map_err(|e| format!("alerting.suppress[{i}]: {e}"))?;
        }
        for (i, t) in self.threshold.iter().enumerate() {
            t.to_threshold()
                .map_err(|e| format!("alerting.threshold[{i}]: {e}"))?;
        }
        Ok(())
    }
}

/// Severity, by name or number (`high` = 1 … `info` = 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Severity(pub u8);

impl<'de> Deserialize<'de> for Severity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u8),
            S(String),
        }
        let v = match Raw::deserialize(d)? {
            Raw::N(n) if (1..=4).contains(&n) => n,
            Raw::S(s) => nta_store::parse_severity(&s).map_err(de::Error::custom)?,
            Raw::N(n) => {
                return Err(de::Error::custom(format!(
                    "severity {n} is out of range (1 = high .. 4 = info)"
                )))
            }
        };
        Ok(Severity(v))
    }
}

/// One `[[alerting.channels]]` entry, as written. Keys not valid for the `type` are refused.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ChannelConfig {
    /// Unique name (`nta alert test NAME`).
    pub name: String,
    /// `webhook`, `email`, `syslog`, `file`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Off: nothing is queued for it.
    #[serde(default = "yes")]
    pub enabled: bool,

    // webhook
    /// Webhook URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<Secret>,
    /// `generic`, `slack`, `teams`, `discord`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Network timeout (webhook, email; default 10s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,

    // email
    /// SMTP server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// SMTP port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// `starttls` (default), `tls`, `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security: Option<SmtpSecurity>,
    /// SMTP login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// SMTP password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    /// Sender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Recipients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Vec<String>>,
    /// Extra CA certificates (PEM) to trust.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,

    // syslog
    /// `host:port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// `udp` (default) or `tcp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<SyslogTransport>,
    /// Syslog facility (default `local0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facility: Option<String>,
    /// APP-NAME (default `nta`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_name: Option<String>,

    // file
    /// File to append JSON lines to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,

    // filter
    /// Only alerts at least this severe (`high`, `medium`, `low`, `info`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_severity: Option<Severity>,
    /// Only these categories (classtype descriptions; case-insensitive).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    /// Only these sources: `rule`, `detector`, `ml`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    /// Only these signature ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sids: Vec<u32>,
    /// Only alerts with an address in these networks (`!` excludes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub networks: Vec<String>,

    // pacing and retries
    /// At most one message per this interval (default 0s: as they come).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// At most this many alerts per message (default 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_batch: Option<usize>,
    /// First retry delay after a failure (default 1s), doubled each time...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_initial: Option<String>,
    /// ... up to this (default 5m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_max: Option<String>,
    /// Failures in a row before the receiver is reported down (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub down_after: Option<u32>,
}

fn yes() -> bool {
    true
}

/// Which alerts a channel takes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChannelFilter {
    /// Severity ≤ this.
    pub min_severity: Option<u8>,
    /// Lowercased categories.
    pub categories: Vec<String>,
    /// Sources.
    pub sources: Vec<String>,
    /// Signature ids.
    pub sids: Vec<u32>,
    /// Networks.
    pub networks: Networks,
}

impl ChannelFilter {
    /// Whether the channel takes this alert.
    pub fn matches(&self, n: &Notification) -> bool {
        if self.min_severity.is_some_and(|m| n.severity > m) {
            return false;
        }
        if !self.categories.is_empty()
            && !n
                .category
                .as_deref()
                .is_some_and(|c| self.categories.iter().any(|x| x.eq_ignore_ascii_case(c)))
        {
            return false;
        }
        if !self.sources.is_empty() && !self.sources.iter().any(|s| s == &n.source) {
            return false;
        }
        if !self.sids.is_empty() && !self.sids.contains(&n.sid) {
            return false;
        }
        self.networks
            .matches(n.src_ip.as_deref(), n.dest_ip.as_deref())
    }
}

/// Included and excluded networks: an alert matches when one of its addresses is in an
/// included network (or none is listed) and neither is in an excluded one.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Networks {
    include: Vec<IpNet>,
    exclude: Vec<IpNet>,
}

impl Networks {
    /// Reads `10.0.0.0/8`, `!10.1.0.0/16`, bare addresses.
    pub fn parse(list: &[String]) -> Result<Networks, String> {
        let mut n = Networks::default();
        for e in list {
            let t = e.trim();
            let (neg, body) = match t.strip_prefix('!') {
                Some(b) => (true, b.trim()),
                None => (false, t),
            };
            let net = nta_store::parse_net(body)?;
            if neg {
                n.exclude.push(net);
            } else {
                n.include.push(net);
            }
        }
        Ok(n)
    }

    /// Whether an alert between these addresses passes.
    pub fn matches(&self, src: Option<&str>, dest: Option<&str>) -> bool {
        if self.include.is_empty() && self.exclude.is_empty() {
            return true;
        }
        let addrs: Vec<IpAddr> = [src, dest]
            .into_iter()
            .flatten()
            .filter_map(|s| s.parse().ok())
            .collect();
        if addrs
            .iter()
            .any(|a| self.exclude.iter().any(|n| n.contains(a)))
        {
            return false;
        }
        self.include.is_empty()
            || addrs
                .iter()
                .any(|a| self.include.iter().any(|n| n.contains(a)))
    }
}

/// How often a channel sends, and how it retries.
#[derive(Clone, Debug, PartialEq)]
pub struct Pacing {
    /// Minimum time between two messages.
    pub interval: Duration,
    /// Alerts per message.
    pub max_batch: usize,
    /// First retry delay.
    pub retry_initial: Duration,
    /// Longest retry delay.
    pub retry_max: Duration,
    /// Failures in a row before "down".
    pub down_after: u32,
}

/// A channel ready to run.
#[derive(Clone, Debug)]
pub struct CompiledChannel {
    /// Name.
    pub name: String,
    /// Whether it takes alerts.
    pub enabled: bool,
    /// Where it delivers.
    pub spec: ChannelSpec,
    /// What it takes.
    pub filter: ChannelFilter,
    /// How often.
    pub pacing: Pacing,
}

impl ChannelConfig {
    /// The typed channel; the error names the channel and the key.
    pub fn compile(&self) -> Result<CompiledChannel, String> {
        let name = &self.name;
        let err = |m: String| format!("alerting channel {name:?}: {m}");
        if name.trim().is_empty() || name.len() > 64 || name.contains(['/', '\n']) {
            return Err(format!(
                "alerting channel name {name:?}: 1 to 64 characters, no '/' or line breaks"
            ));
        }
        let only: &[&str] = match self.kind.as_str() {
            "webhook" => &["url", "format", "timeout"],
            "email" => &[
                "server", "port", "security", "username", "password", "from", "to", "ca_file",
                "timeout",
            ],
            "syslog" => &["address", "transport", "format", "facility", "app_name"],
            "file" => &["path"],
            other => {
                return Err(err(format!(
                    "type {other:?} is not one of webhook, email, syslog, file"
                )))
            }
        };
        let given: [(&str, bool); 15] = [
            ("url", self.url.is_some()),
            ("format", self.format.is_some()),
            ("timeout", self.timeout.is_some()),
            ("server", self.server.is_some()),
            ("port", self.port.is_some()),
            ("security", self.security.is_some()),
            ("username", self.username.is_some()),
            ("password", self.password.is_some()),
            ("from", self.from.is_some()),
            ("to", self.to.is_some()),
            ("ca_file", self.ca_file.is_some()),
            ("address", self.address.is_some()),
            ("transport", self.transport.is_some()),
            ("facility", self.facility.is_some()),
            ("app_name", self.app_name.is_some()),
        ];
        for (key, set) in given {
            if set && !only.contains(&key) {
                return Err(err(format!(
                    "key `{key}` does not apply to a {} channel",
                    self.kind
                )));
            }
        }
        if self.path.is_some() && self.kind != "file" {
            return Err(err(format!(
                "key `path` does not apply to a {} channel",
                self.kind
            )));
        }
        let need = |v: bool, key: &str| {
            if v {
                Ok(())
            } else {
                Err(err(format!("a {} channel needs `{key}`", self.kind)))
            }
        };
        let timeout = match &self.timeout {
            Some(t) => parse_duration(t).map_err(|e| err(format!("timeout: {e}")))?,
            None => Duration::from_secs(10),
        };
        let spec = match self.kind.as_str() {
            "webhook" => {
                need(self.url.is_some(), "url")?;
                let format = match self.format.as_deref().unwrap_or("generic") {
                    "generic" | "json" => WebhookFormat::Generic,
                    "slack" => WebhookFormat::Slack,
                    "teams" => WebhookFormat::Teams,
                    "discord" => WebhookFormat::Discord,
                    f => {
                        return Err(err(format!(
                            "format {f:?} is not one of generic, slack, teams, discord"
                        )))
                    }
                };
                ChannelSpec::Webhook {
                    url: self.url.clone().unwrap_or(Secret(String::new())),
                    format,
                    timeout_secs: timeout.as_secs().max(1),
                }
            }
            "email" => {
                need(self.server.is_some(), "server")?;
                need(self.from.is_some(), "from")?;
                need(self.to.as_ref().is_some_and(|t| !t.is_empty()), "to")?;
                ChannelSpec::Email {
                    server: self.server.clone().unwrap_or_default(),
                    port: self.port,
                    security: self.security.unwrap_or_default(),
                    username: self.username.clone(),
                    password: self.password.clone(),
                    from: self.from.clone().unwrap_or_default(),
                    to: self.to.clone().unwrap_or_default(),
                    ca_file: self.ca_file.clone(),
                    timeout_secs: timeout.as_secs().max(1),
                }
            }
            "syslog" => {
                need(self.address.is_some(), "address")?;
                let format = match self.format.as_deref().unwrap_or("json") {
                    "json" => SyslogFormat::Json,
                    "plain" => SyslogFormat::Plain,
                    f => return Err(err(format!("format {f:?} is not one of json, plain"))),
                };
                ChannelSpec::Syslog {
                    address: self.address.clone().unwrap_or_default(),
                    transport: self.transport.unwrap_or_default(),
                    format,
                    facility: self.facility.clone().unwrap_or_else(|| "local0".into()),
                    app_name: self.app_name.clone().unwrap_or_else(|| "nta".into()),
                }
            }
            _ => {
                need(self.path.is_some(), "path")?;
                ChannelSpec::File {
                    path: self.path.clone().unwrap_or_default(),
                }
            }
        };
        // Builds once to check what only the channel knows (URL scheme, facility, …).
        spec.build().map_err(err)?;
        let networks =
            Networks::parse(&self.networks).map_err(|e| err(format!("networks: {e}")))?;
        for s in &self.sources {
            if !matches!(s.as_str(), "rule" | "detector" | "ml") {
                return Err(err(format!(
                    "sources: {s:?} is not one of rule, detector, ml"
                )));
            }
        }
        let d = |v: &Option<String>, key: &str, default: Duration| match v {
            Some(s) => parse_duration(s).map_err(|e| err(format!("{key}: {e}"))),
            None => Ok(default),
        };
        let pacing = Pacing {
            interval: d(&self.interval, "interval", Duration::ZERO)?,
            max_batch: self.max_batch.unwrap_or(20),
            retry_initial: d(&self.retry_initial, "retry_initial", Duration::from_secs(1))?,
            retry_max: d(&self.retry_max, "retry_max", Duration::from_secs(300))?,
            down_after: self.down_after.unwrap_or(3).max(1),
        };
        if pacing.max_batch == 0 || pacing.max_batch > 1000 {
            return Err(err("max_batch must be between 1 and 1000".into()));
        }
        Ok(CompiledChannel {
            name: name.clone(),
            enabled: self.enabled,
            spec,
            filter: ChannelFilter {
                min_severity: self.min_severity.map(|s| s.0),
                categories: self.categories.clone(),
                sources: self.sources.clone(),
                sids: self.sids.clone(),
                networks,
            },
            pacing,
        })
    }

    /// The configuration for display: secrets replaced by `********`, a webhook URL reduced to
    /// scheme and host.
    pub fn redacted(&self) -> serde_json::Value {
        let mut c = self.clone();
        if let Some(u) = &c.url {
            c.url = Some(Secret(crate::channels::redact_url(u.expose())));
        }
        if c.password.is_some() {
            c.password = Some(Secret("********".into()));
        }
        serde_json::to_value(&c).unwrap_or_default()
    }
}

/// `[[alerting.suppress]]`: alerts matching are stored (marked suppressed) but not notified.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SuppressConfig {
    /// Generator id (default: any).
    pub gid: Option<u32>,
    /// Signature id (default: any).
    pub sid: Option<u32>,
    /// Source or destination in this network (default: any).
    pub network: Option<String>,
    /// Until this time (RFC 3339, e.g. `2026-12-31T00:00:00Z`; default: no end).
    pub until: Option<String>,
    /// Why (shown in the UI).
    pub reason: Option<String>,
}

/// A suppression in force.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Suppression {
    /// Id in the store.
    pub id: i64,
    /// Generator id.
    pub gid: Option<u32>,
    /// Signature id.
    pub sid: Option<u32>,
    /// Network.
    pub network: Option<IpNet>,
    /// End (µs since the epoch).
    pub until: Option<i64>,
    /// Why.
    pub reason: Option<String>,
    /// Who made it.
    pub created_by: String,
    /// `config` or `runtime`.
    pub origin: String,
}

impl Suppression {
    /// Whether it silences this alert at `now_us`.
    pub fn matches(&self, gid: u32, sid: u32, src: &str, dest: &str, now_us: i64) -> bool {
        if self.until.is_some_and(|u| now_us >= u) {
            return false;
        }
        if self.gid.is_some_and(|g| g != gid) || self.sid.is_some_and(|s| s != sid) {
            return false;
        }
        match &self.network {
            None => true,
            Some(n) => [src, dest]
                .iter()
                .filter_map(|s| s.parse::<IpAddr>().ok())
                .any(|a| n.contains(&a)),
        }
    }
}

impl SuppressConfig {
    /// The suppression; the error names the bad value.
    pub fn to_suppression(&self, id: i64) -> Result<Suppression, String> {
        if self.gid.is_none() && self.sid.is_none() && self.network.is_none() {
            return Err(
                "a suppression needs sid, gid or network (it would silence everything)".into(),
            );
        }
        let network = match &self.network {
            Some(n) => Some(nta_store::parse_net(n)?),
            None => None,
        };
        let until = match &self.until {
            Some(u) => Some(
                nta_event::parse_timestamp(u)
                    .map(|ns| (ns / 1000) as i64)
                    .ok_or_else(|| {
                        format!("until: {u:?} is not a time like 2026-12-31T00:00:00Z")
                    })?,
            ),
            None => None,
        };
        Ok(Suppression {
            id,
            gid: self.gid,
            sid: self.sid,
            network,
            until,
            reason: self.reason.clone(),
            created_by: "config".into(),
            origin: "config".into(),
        })
    }
}

/// `[[alerting.threshold]]`: how many alerts of one signature are notified.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ThresholdConfig {
    /// Generator id (default 1).
    #[serde(default = "gid1")]
    pub gid: u32,
    /// Signature id.
    pub sid: u32,
    /// `limit` (the first `count` per `seconds`), `threshold` (every `count`-th), `both`
    /// (once per `seconds`, when `count` is reached) — Suricata's meanings.
    #[serde(rename = "type")]
    pub kind: String,
    /// Count.
    pub count: u32,
    /// Window.
    pub seconds: u32,
}

fn gid1() -> u32 {
    1
}

/// Threshold kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThresholdKind {
    /// At most `count` per window.
    Limit,
    /// Every `count`-th in a window.
    Threshold,
    /// Once per window, when `count` is reached.
    Both,
}

/// A threshold in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Threshold {
    /// Generator id.
    pub gid: u32,
    /// Signature id.
    pub sid: u32,
    /// Kind.
    pub kind: ThresholdKind,
    /// Count.
    pub count: u32,
    /// Window in seconds.
    pub seconds: u32,
}

impl ThresholdConfig {
    /// The threshold.
    pub fn to_threshold(&self) -> Result<Threshold, String> {
        let kind = match self.kind.as_str() {
            "limit" => ThresholdKind::Limit,
            "threshold" => ThresholdKind::Threshold,
            "both" => ThresholdKind::Both,
            k => return Err(format!("type {k:?} is not one of limit, threshold, both")),
        };
        if self.count == 0 || self.seconds == 0 {
            return Err("count and seconds must be at least 1".into());
        }
        Ok(Threshold {
            gid: self.gid,
            sid: self.sid,
            kind,
            count: self.count,
            seconds: self.seconds,
        })
    }
}
