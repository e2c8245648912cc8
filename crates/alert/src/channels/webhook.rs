//! HTTP POST of JSON: a generic body, or the formats Slack, Microsoft Teams and Discord expect.

use std::time::Duration;

use serde_json::{json, Value};

use super::syslog::rfc3339;
use super::{redact_url, severity_name, Channel, ChannelSpec, Notification, WebhookFormat};

/// Slack allows at most 50 blocks per message.
const SLACK_MAX_BLOCKS: usize = 50;
/// Slack section text limit.
const SLACK_SECTION_MAX: usize = 3000;
/// Alerts listed in a Teams card (cards are limited to about 28 KB).
const TEAMS_MAX_ALERTS: usize = 25;
/// Discord limits.
const DISCORD_MAX_EMBEDS: usize = 10;
const DISCORD_CONTENT_MAX: usize = 2000;
const DISCORD_TITLE_MAX: usize = 256;
const DISCORD_DESCRIPTION_MAX: usize = 4096;
const DISCORD_FIELD_MAX: usize = 1024;
/// Total characters of all embeds of one message.
const DISCORD_EMBEDS_TOTAL_MAX: usize = 6000;

/// Posts each batch as one JSON document to a URL.
pub struct WebhookChannel {
    url: String,
    /// Scheme and host only, for messages.
    shown: String,
    format: WebhookFormat,
    agent: ureq::Agent,
}

impl std::fmt::Debug for WebhookChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookChannel")
            .field("url", &self.shown)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl WebhookChannel {
    /// Validates the URL (http or https, with a host) and prepares the HTTP client.
    pub fn new(spec: &ChannelSpec) -> Result<Self, String> {
        let ChannelSpec::Webhook {
            url,
            format,
            timeout_secs,
        } = spec
        else {
            return Err(format!("not a webhook channel: {}", spec.kind()));
        };
        let url = url.expose().trim().to_string();
        let shown = redact_url(&url);
        let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        if !matches!(scheme.as_deref(), Some("http" | "https")) {
            return Err("webhook URL must start with http:// or https://".into());
        }
        let valid = url
            .parse::<ureq::http::Uri>()
            .is_ok_and(|u| u.host().is_some_and(|h| !h.is_empty()));
        if !valid {
            return Err(format!("webhook URL {shown} is not a valid URL"));
        }
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs((*timeout_secs).max(1))))
            .http_status_as_error(false)
            // A redirected POST turns into a GET without the alerts: report it instead.
            .max_redirects(0)
            .user_agent(concat!("nta/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(Self {
            url,
            shown,
            format: *format,
            agent: config.into(),
        })
    }

    /// Removes the URL (or its path and query) from an error text.
    fn scrub(&self, text: String) -> String {
        let mut text = text.replace(&self.url, &self.shown);
        if let Some((_, rest)) = self.url.split_once("://") {
            if let Some(i) = rest.find(['/', '?', '#']) {
                let tail = &rest[i..];
                if tail.len() > 1 {
                    text = text.replace(tail, "/…");
                }
            }
        }
        text
    }
}

impl Channel for WebhookChannel {
    fn send(&mut self, batch: &[Notification]) -> Result<(), String> {
        if batch.is_empty() {
            return Ok(());
        }
        let body = serde_json::to_vec(&body(self.format, batch))
            .map_err(|e| format!("webhook {}: cannot encode the body: {e}", self.shown))?;
        let response = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/json")
            .send(&body[..])
            .map_err(|e| self.scrub(format!("webhook {}: {e}", self.shown)))?;
        let status = response.status();
        // Drain a little of the body so the connection can be reused; its content is not shown.
        let mut response = response;
        let _ = response
            .body_mut()
            .with_config()
            .limit(64 * 1024)
            .read_to_vec();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("webhook {}: HTTP {}", self.shown, status.as_u16()))
        }
    }
}

/// The JSON document posted for a batch.
fn body(format: WebhookFormat, batch: &[Notification]) -> Value {
    match format {
        WebhookFormat::Generic => json!({
            "source": "nta",
            "count": batch.len(),
            "alerts": batch,
        }),
        WebhookFormat::Slack => slack(batch),
        WebhookFormat::Teams => teams(batch),
        WebhookFormat::Discord => discord(batch),
    }
}

/// `1 NTA alert`, `3 NTA alerts`.
fn title(n: usize) -> String {
    format!("{n} NTA alert{}", if n == 1 { "" } else { "s" })
}

/// `10.0.0.1:1234`, `[fe80::1]:53`, `10.0.0.1`, `?`.
fn endpoint(ip: &Option<String>, port: Option<u16>) -> String {
    match (ip, port) {
        (Some(ip), Some(p)) if ip.contains(':') => format!("[{ip}]:{p}"),
        (Some(ip), Some(p)) => format!("{ip}:{p}"),
        (Some(ip), None) => ip.clone(),
        (None, _) => "?".into(),
    }
}

/// At most `max` characters of `s`, an ellipsis marking a cut.
fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Slack mrkdwn needs `&`, `<` and `>` escaped.
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn slack(batch: &[Notification]) -> Value {
    let n = batch.len();
    // A header block, then one section per alert; when cut, the last block says how many
    // were left out.
    let room = SLACK_MAX_BLOCKS - 1;
    let shown = if n <= room { n } else { room - 1 };
    let more = n - shown;

    let mut text = title(n);
    for a in &batch[..shown] {
        text.push_str("\n• ");
        text.push_str(&slack_escape(&a.summary()));
    }
    if more > 0 {
        text.push_str(&format!("\n… and {more} more"));
    }

    let mut blocks = vec![json!({
        "type": "header",
        "text": {"type": "plain_text", "text": title(n), "emoji": true},
    })];
    for a in &batch[..shown] {
        let mut line = format!(
            "*[{}]* {}\n{} → {}",
            severity_name(a.severity),
            slack_escape(&a.signature),
            slack_escape(&endpoint(&a.src_ip, a.src_port)),
            slack_escape(&endpoint(&a.dest_ip, a.dest_port)),
        );
        if let Some(p) = &a.proto {
            line.push_str(&format!(" ({})", slack_escape(p)));
        }
        line.push_str(&format!("\nrule {}:{}:{}", a.gid, a.sid, a.rev));
        if let Some(c) = &a.category {
            line.push_str(&format!(" · {}", slack_escape(c)));
        }
        line.push_str(&format!(" · {}", slack_escape(&a.timestamp)));
        blocks.push(json!({
            "type": "section",
            "text": {"type": "mrkdwn", "text": truncate(&line, SLACK_SECTION_MAX)},
        }));
    }
    if more > 0 {
        blocks.push(json!({
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": format!("… and {more} more")}],
        }));
    }
    json!({"text": text, "blocks": blocks})
}

fn teams(batch: &[Notification]) -> Value {
    let n = batch.len();
    let mut body = vec![json!({
        "type": "TextBlock",
        "text": title(n),
        "weight": "Bolder",
        "size": "Medium",
        "wrap": true,
    })];
    for a in batch.iter().take(TEAMS_MAX_ALERTS) {
        body.push(json!({
            "type": "TextBlock",
            "text": a.summary(),
            "weight": "Bolder",
            "color": if a.severity <= 1 { "Attention" } else if a.severity == 2 { "Warning" } else { "Default" },
            "wrap": true,
            "separator": true,
        }));
        let mut facts = vec![
            json!({"title": "Severity", "value": severity_name(a.severity)}),
            json!({"title": "Time", "value": a.timestamp}),
            json!({"title": "Source", "value": endpoint(&a.src_ip, a.src_port)}),
            json!({"title": "Destination", "value": endpoint(&a.dest_ip, a.dest_port)}),
            json!({"title": "Rule", "value": format!("{}:{}:{}", a.gid, a.sid, a.rev)}),
        ];
        if let Some(c) = &a.category {
            facts.push(json!({"title": "Category", "value": c}));
        }
        body.push(json!({"type": "FactSet", "facts": facts}));
    }
    if n > TEAMS_MAX_ALERTS {
        body.push(json!({
            "type": "TextBlock",
            "text": format!("… and {} more", n - TEAMS_MAX_ALERTS),
            "isSubtle": true,
            "wrap": true,
        }));
    }
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": body,
            },
        }],
    })
}

/// Embed colour by severity: high red, medium orange, low yellow, info grey.
fn discord_color(severity: u8) -> u32 {
    match severity {
        0 | 1 => 0xE0_1E_5A,
        2 => 0xF2_8C_28,
        3 => 0xF2_C7_44,
        _ => 0x95_A5_A6,
    }
}

fn discord(batch: &[Notification]) -> Value {
    let n = batch.len();
    let mut embeds = Vec::new();
    let mut total = 0;
    for a in batch.iter().take(DISCORD_MAX_EMBEDS) {
        let title = truncate(&a.signature, DISCORD_TITLE_MAX);
        let fields = [
            ("Source", endpoint(&a.src_ip, a.src_port)),
            ("Destination", endpoint(&a.dest_ip, a.dest_port)),
            ("SID", format!("{}:{}:{}", a.gid, a.sid, a.rev)),
        ];
        let fields_len: usize = fields
            .iter()
            .map(|(k, v)| k.len() + v.chars().count().min(DISCORD_FIELD_MAX))
            .sum();
        let used = total + title.chars().count() + fields_len;
        if used + 16 > DISCORD_EMBEDS_TOTAL_MAX {
            break;
        }
        let room = (DISCORD_EMBEDS_TOTAL_MAX - used).min(DISCORD_DESCRIPTION_MAX);
        let description = truncate(&a.summary(), room);
        total = used + description.chars().count();
        let mut embed = json!({
            "title": title,
            "description": description,
            "color": discord_color(a.severity),
            "fields": fields
                .iter()
                .map(|(k, v)| json!({"name": k, "value": truncate(v, DISCORD_FIELD_MAX), "inline": true}))
                .collect::<Vec<_>>(),
        });
        if let Some(ts) = rfc3339(&a.timestamp) {
            embed["timestamp"] = ts.into();
        }
        embeds.push(embed);
    }
    let mut content = title(n);
    if embeds.len() < n {
        content.push_str(&format!("\n… and {} more", n - embeds.len()));
    }
    json!({
        "content": truncate(&content, DISCORD_CONTENT_MAX),
        "embeds": embeds,
    })
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::sync::mpsc;
    use std::thread;

    use super::*;
    use crate::channels::Secret;

    use crate::channels::sample as notification;

    struct Request {
        request_line: String,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    }

    impl Request {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }

        fn json(&self) -> Value {
            serde_json::from_slice(&self.body).unwrap()
        }
    }

    /// A one-request HTTP server on 127.0.0.1; returns the port and the request it received.
    fn serve_once(status: &'static str) -> (u16, mpsc::Receiver<Request>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(3)))
                .unwrap();
            let mut reader = BufReader::new(stream);
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let mut headers = Vec::new();
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                let (k, v) = line.split_once(':').unwrap();
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
            let len: usize = headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                .map(|(_, v)| v.parse().unwrap())
                .unwrap_or(0);
            let mut body = vec![0; len];
            reader.read_exact(&mut body).unwrap();
            let mut stream = reader.into_inner();
            write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
            )
            .unwrap();
            stream.flush().unwrap();
            let _ = tx.send(Request {
                request_line: request_line.trim_end().to_string(),
                headers,
                body,
            });
        });
        (port, rx)
    }

    fn channel(port: u16, format: WebhookFormat) -> WebhookChannel {
        WebhookChannel::new(&ChannelSpec::Webhook {
            url: Secret(format!(
                "http://127.0.0.1:{port}/hooks/SECRET-TOKEN?sig=abc"
            )),
            format,
            timeout_secs: 3,
        })
        .unwrap()
    }

    fn post(format: WebhookFormat, batch: &[Notification]) -> Request {
        let (port, rx) = serve_once("200 OK");
        channel(port, format).send(batch).unwrap();
        let req = rx.recv_timeout(Duration::from_secs(3)).unwrap();
        assert_eq!(
            req.request_line,
            "POST /hooks/SECRET-TOKEN?sig=abc HTTP/1.1"
        );
        assert_eq!(req.header("content-type"), Some("application/json"));
        req
    }

    fn batch(n: usize) -> Vec<Notification> {
        (0..n)
            .map(|i| {
                notification(
                    i as i64 + 1,
                    (i % 4) as u8 + 1,
                    &format!("ET TEST <{i}> & co"),
                )
            })
            .collect()
    }

    #[test]
    fn generic_format() {
        let b = batch(2);
        let v = post(WebhookFormat::Generic, &b).json();
        assert_eq!(v["source"], "nta");
        assert_eq!(v["count"], 2);
        let alerts: Vec<Notification> = serde_json::from_value(v["alerts"].clone()).unwrap();
        assert_eq!(alerts, b);
    }

    #[test]
    fn slack_format() {
        let b = batch(2);
        let v = post(WebhookFormat::Slack, &b).json();
        let text = v["text"].as_str().unwrap();
        assert!(text.starts_with("2 NTA alerts\n• "), "{text}");
        assert!(text.contains("ET TEST &lt;0&gt; &amp; co"), "{text}");
        let blocks = v["blocks"].as_array().unwrap();
        assert_eq!(blocks.len(), 3);
        assert_eq!(blocks[0]["type"], "header");
        assert_eq!(blocks[1]["type"], "section");
        assert_eq!(blocks[1]["text"]["type"], "mrkdwn");
        assert!(blocks[1]["text"]["text"]
            .as_str()
            .unwrap()
            .starts_with("*[high]* ET TEST &lt;0&gt;"));

        // Slack's 50-block limit.
        let v = slack(&batch(120));
        let blocks = v["blocks"].as_array().unwrap();
        assert_eq!(blocks.len(), SLACK_MAX_BLOCKS);
        let last = blocks.last().unwrap()["elements"][0]["text"]
            .as_str()
            .unwrap();
        assert_eq!(last, "… and 72 more");
        assert!(v["text"].as_str().unwrap().ends_with("… and 72 more"));
        assert_eq!(slack(&batch(49))["blocks"].as_array().unwrap().len(), 50);
    }

    #[test]
    fn teams_format() {
        let b = batch(2);
        let v = post(WebhookFormat::Teams, &b).json();
        assert_eq!(v["type"], "message");
        let att = &v["attachments"][0];
        assert_eq!(
            att["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        assert!(att["contentUrl"].is_null());
        let card = &att["content"];
        assert_eq!(
            card["$schema"],
            "http://adaptivecards.io/schemas/adaptive-card.json"
        );
        assert_eq!(card["type"], "AdaptiveCard");
        assert_eq!(card["version"], "1.4");
        let body = card["body"].as_array().unwrap();
        assert_eq!(body[0]["type"], "TextBlock");
        assert_eq!(body[0]["text"], "2 NTA alerts");
        assert_eq!(body[1]["text"], b[0].summary());
        assert_eq!(body[2]["type"], "FactSet");
        assert!(body[2]["facts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["title"] == "Source" && f["value"] == "10.0.0.1:1234"));
        assert_eq!(body.len(), 5);
    }

    #[test]
    fn discord_format() {
        let b = batch(2);
        let v = post(WebhookFormat::Discord, &b).json();
        assert_eq!(v["content"], "2 NTA alerts");
        let embeds = v["embeds"].as_array().unwrap();
        assert_eq!(embeds.len(), 2);
        assert_eq!(embeds[0]["title"], b[0].signature);
        assert_eq!(embeds[0]["description"], b[0].summary());
        assert_eq!(embeds[0]["color"], 0xE01E5A);
        assert_eq!(embeds[0]["timestamp"], "2026-01-01T00:00:00.000000+00:00");
        let fields = embeds[0]["fields"].as_array().unwrap();
        assert_eq!(fields.len(), 3);
        assert_eq!(fields[0]["value"], "10.0.0.1:1234");
        assert_eq!(fields[1]["value"], "10.0.0.2:80");
        assert_eq!(fields[2]["value"], "1:2000001:1");
        assert_ne!(embeds[1]["color"], embeds[0]["color"]);

        // More than 10 alerts, long titles.
        let mut many = batch(13);
        many[0].signature = "x".repeat(1000);
        let v = discord(&many);
        let embeds = v["embeds"].as_array().unwrap();
        assert_eq!(embeds.len(), 10);
        assert_eq!(embeds[0]["title"].as_str().unwrap().chars().count(), 256);
        assert_eq!(v["content"], "13 NTA alerts\n… and 3 more");
        let total: usize = embeds
            .iter()
            .map(|e| {
                e["title"].as_str().unwrap().chars().count()
                    + e["description"].as_str().unwrap().chars().count()
            })
            .sum();
        assert!(total <= DISCORD_EMBEDS_TOTAL_MAX);
    }

    #[test]
    fn errors_hide_the_url() {
        let (port, rx) = serve_once("500 Internal Server Error");
        let err = channel(port, WebhookFormat::Generic)
            .send(&batch(1))
            .unwrap_err();
        rx.recv_timeout(Duration::from_secs(3)).unwrap();
        assert_eq!(err, format!("webhook http://127.0.0.1:{port}/…: HTTP 500"));

        // Nothing listens on the port.
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let err = channel(port, WebhookFormat::Slack)
            .send(&batch(1))
            .unwrap_err();
        eprintln!("closed port: {err}");
        assert!(err.starts_with("webhook http://127.0.0.1"), "{err}");
        for secret in ["SECRET-TOKEN", "/hooks", "sig=abc"] {
            assert!(!err.contains(secret), "{err}");
        }
    }

    #[test]
    fn validation() {
        let spec = |url: &str| ChannelSpec::Webhook {
            url: Secret(url.into()),
            format: WebhookFormat::Generic,
            timeout_secs: 5,
        };
        assert!(WebhookChannel::new(&spec("https://hooks.example.com/T/SECRET")).is_ok());
        for bad in [
            "ftp://example.com/SECRET",
            "example.com/SECRET",
            "http:///SECRET",
        ] {
            let err = WebhookChannel::new(&spec(bad)).err().unwrap();
            assert!(!err.contains("SECRET"), "{err}");
        }
        let file = ChannelSpec::File {
            path: "/tmp/x".into(),
        };
        assert!(WebhookChannel::new(&file).is_err());
    }
}
