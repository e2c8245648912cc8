//! Notification channels: where alerts go to reach people. Each channel turns a batch of
//! notifications into one delivery (one HTTP post, one mail, a burst of syslog messages, lines
//! appended to a file). Delivery errors never carry secrets (webhook URLs with tokens,
//! passwords): they name the channel kind, the host and what went wrong.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

mod email;
mod file;
mod syslog;
mod webhook;

pub use email::EmailChannel;
pub use file::FileChannel;
pub use syslog::SyslogChannel;
pub use webhook::WebhookChannel;

/// One alert offered to a channel: the deduplicated alert as the store holds it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// The store's id of the (deduplicated) alert.
    pub alert_id: i64,
    /// EVE timestamp of its first event (`2026-01-01T00:00:00.000000+0000`).
    pub timestamp: String,
    /// 1 (high) .. 4 (info), as Suricata.
    pub severity: u8,
    /// The rule's `msg` or the detector's description.
    pub signature: String,
    /// Generator id (1 rules, 9000 behavioural detectors, …).
    pub gid: u32,
    /// Signature id.
    pub sid: u32,
    /// Revision.
    pub rev: u32,
    /// Classification description, if any.
    pub category: Option<String>,
    /// `rule`, `detector` or `ml`.
    pub source: String,
    /// Source address.
    pub src_ip: Option<String>,
    /// Source port.
    pub src_port: Option<u16>,
    /// Destination address.
    pub dest_ip: Option<String>,
    /// Destination port.
    pub dest_port: Option<u16>,
    /// Transport (`TCP`, `UDP`, …).
    pub proto: Option<String>,
    /// Application protocol of the flow.
    pub app_proto: Option<String>,
    /// The whole EVE `alert` event.
    pub event: serde_json::Value,
}

impl Notification {
    /// A one-line summary for people: `[high] ET SCAN … 10.0.0.1:1234 -> 10.0.0.2:80 (TCP)`.
    pub fn summary(&self) -> String {
        let ep = |ip: &Option<String>, port: Option<u16>| match (ip, port) {
            (Some(ip), Some(p)) if ip.contains(':') => format!("[{ip}]:{p}"),
            (Some(ip), Some(p)) => format!("{ip}:{p}"),
            (Some(ip), None) => ip.clone(),
            (None, _) => "?".into(),
        };
        format!(
            "[{}] {} {} -> {}{}",
            severity_name(self.severity),
            self.signature,
            ep(&self.src_ip, self.src_port),
            ep(&self.dest_ip, self.dest_port),
            self.proto
                .as_ref()
                .map(|p| format!(" ({p})"))
                .unwrap_or_default()
        )
    }
}

/// `high`, `medium`, `low`, `info` for severities 1..4 (Suricata's meaning of priority).
pub fn severity_name(severity: u8) -> &'static str {
    match severity {
        0 | 1 => "high",
        2 => "medium",
        3 => "low",
        _ => "info",
    }
}

/// A value that must not be shown: its `Debug` and `Display` print `********`. It serializes
/// as itself (the configuration is stored); display code uses [`ChannelSpec::redacted`].
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl Secret {
    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"********\"")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("********")
    }
}

/// The body a webhook posts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookFormat {
    /// `{"source": "nta", "count": N, "alerts": [Notification…]}`.
    #[default]
    Generic,
    /// Slack incoming webhook: `text` (mrkdwn) and `blocks`.
    Slack,
    /// Microsoft Teams (Workflows / incoming webhook): a message with an Adaptive Card.
    Teams,
    /// Discord webhook: `content` and up to 10 `embeds`.
    Discord,
}

/// How an SMTP connection is secured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (refused if the server does not offer it).
    #[default]
    Starttls,
    /// TLS from the first byte (SMTPS, port 465).
    Tls,
    /// No encryption (a local relay only).
    None,
}

/// Syslog transport.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyslogTransport {
    /// One message per datagram.
    #[default]
    Udp,
    /// Octet-counted frames (RFC 6587) on one connection.
    Tcp,
}

/// Syslog message body.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyslogFormat {
    /// The EVE alert event as JSON.
    #[default]
    Json,
    /// The one-line summary.
    Plain,
}

/// What a channel is and where it delivers; validated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ChannelSpec {
    /// HTTP POST of JSON.
    Webhook {
        /// `http://` or `https://` URL (often holds a token: secret).
        url: Secret,
        /// Body format.
        format: WebhookFormat,
        /// Seconds before a request is given up.
        timeout_secs: u64,
    },
    /// Mail over SMTP.
    Email {
        /// SMTP server host name.
        server: String,
        /// Port (default 587 for STARTTLS, 465 for TLS, 25 for none).
        port: Option<u16>,
        /// Connection security.
        security: SmtpSecurity,
        /// Login, if the server wants authentication.
        username: Option<String>,
        /// Password for `username`.
        password: Option<Secret>,
        /// Sender address.
        from: String,
        /// Recipients.
        to: Vec<String>,
        /// A PEM file of extra certificate authorities to trust (a private CA).
        ca_file: Option<PathBuf>,
        /// Seconds before the connection is given up.
        timeout_secs: u64,
    },
    /// RFC 5424 syslog.
    Syslog {
        /// `host:port` of the collector.
        address: String,
        /// UDP or TCP.
        transport: SyslogTransport,
        /// JSON or plain message.
        format: SyslogFormat,
        /// Facility name (`user`, `daemon`, `local0`..`local7`, …).
        facility: String,
        /// APP-NAME field.
        app_name: String,
    },
    /// JSON lines appended to a file.
    File {
        /// The file (created if missing).
        path: PathBuf,
    },
}

impl ChannelSpec {
    /// The kind's name: `webhook`, `email`, `syslog`, `file`.
    pub fn kind(&self) -> &'static str {
        match self {
            ChannelSpec::Webhook { .. } => "webhook",
            ChannelSpec::Email { .. } => "email",
            ChannelSpec::Syslog { .. } => "syslog",
            ChannelSpec::File { .. } => "file",
        }
    }

    /// The spec for display (API responses, `nta config`, logs): secrets replaced by
    /// `********`, a webhook URL reduced to its scheme and host.
    pub fn redacted(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            match self {
                ChannelSpec::Webhook { url, .. } => {
                    o.insert("url".into(), redact_url(url.expose()).into());
                }
                ChannelSpec::Email { password, .. } if password.is_some() => {
                    o.insert("password".into(), "********".into());
                }
                _ => {}
            }
        }
        v
    }

    /// Builds the channel (resolves nothing on the network yet).
    pub fn build(&self) -> Result<Box<dyn Channel>, String> {
        Ok(match self {
            ChannelSpec::Webhook { .. } => Box::new(WebhookChannel::new(self)?),
            ChannelSpec::Email { .. } => Box::new(EmailChannel::new(self)?),
            ChannelSpec::Syslog { .. } => Box::new(SyslogChannel::new(self)?),
            ChannelSpec::File { .. } => Box::new(FileChannel::new(self)?),
        })
    }
}

/// `https://hooks.example.com/…`: scheme and host of a URL, the rest hidden.
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    // user:password@host
    let host = host.rsplit('@').next().unwrap_or(host);
    if scheme.is_empty() {
        format!("{host}/…")
    } else {
        format!("{scheme}://{host}/…")
    }
}

/// A delivery target.
pub trait Channel: Send {
    /// Delivers the batch as one message (or, for syslog, one message per alert). An error is
    /// a sentence without secrets: the receiver is then retried later with the same batch.
    fn send(&mut self, batch: &[Notification]) -> Result<(), String>;
}

/// A notification for the channels' tests.
#[cfg(test)]
pub(crate) fn sample(id: i64, severity: u8, sig: &str) -> Notification {
    Notification {
        alert_id: id,
        timestamp: "2026-01-01T00:00:00.000000+0000".into(),
        severity,
        signature: sig.into(),
        gid: 1,
        sid: 2_000_000 + id as u32,
        rev: 1,
        category: Some("Attempted Information Leak".into()),
        source: "rule".into(),
        src_ip: Some("10.0.0.1".into()),
        src_port: Some(1234),
        dest_ip: Some("10.0.0.2".into()),
        dest_port: Some(80),
        proto: Some("TCP".into()),
        app_proto: Some("http".into()),
        event: serde_json::json!({
            "timestamp": "2026-01-01T00:00:00.000000+0000",
            "event_type": "alert",
            "src_ip": "10.0.0.1",
            "alert": {"signature": sig, "signature_id": 2_000_000 + id, "severity": severity},
        }),
    }
}
