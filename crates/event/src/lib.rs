//! The event model shared by every output: EVE-compatible JSON lines.
//!
//! Field names follow Suricata's EVE format wherever EVE has the field (`timestamp`, `flow_id`,
//! `event_type`, `src_ip`, `src_port`, `dest_ip`, `dest_port`, `proto`, the `flow`, `tcp` and
//! `stats` objects), so tools that read Suricata's `eve.json` read ours. Every output is an
//! [`EventSink`]; [`EveWriter`] is the JSON-lines one.
//!
//! ```
//! use nta_event::{EveWriter, EventSink, Event, Record};
//! let mut out = EveWriter::new(Vec::new());
//! let stats = Record::stats(0, serde_json::json!({"decoder": {"pkts": 0}}));
//! out.emit(&Event::Record(&stats)).unwrap();
//! let line = String::from_utf8(out.into_inner()).unwrap();
//! assert!(line.contains(r#""event_type":"stats""#));
//! ```
#![forbid(unsafe_code)]

mod alert;
mod app;
mod flow;
pub mod icmp;
mod json;
mod sink;
mod stats;
mod time;

pub use alert::{AlertEvent, AlertFields};
pub use app::AppEvent;
pub use flow::{flow_event, FlowEvent, ProtoName};
pub use json::{escape_into, JsonOut};
pub use sink::{EveWriter, EventSink};
pub use stats::{stats_body, CaptureStats, EngineStats};
pub use time::{format_timestamp, parse_timestamp, Timestamp};

use serde::Serialize;
use serde_json::Value;

/// One event, ready to serialize. Hot event types are typed views over engine records; the
/// rest are generic records.
#[derive(Clone, Copy, Debug)]
pub enum Event<'a> {
    /// A flow ended.
    Flow(FlowEvent<'a>),
    /// An application-layer event (`http`, `dns`, `tls`, …) of a flow.
    App(AppEvent<'a>),
    /// An alert on a flow.
    Alert(AlertEvent<'a>),
    /// Any other event (stats, ...).
    Record(&'a Record),
}

impl Event<'_> {
    /// Appends the event as one line of JSON (without the newline).
    pub fn write_json(&self, buf: &mut Vec<u8>) {
        match self {
            Event::Flow(f) => f.write_json(buf),
            Event::App(a) => a.write_json(buf),
            Event::Alert(a) => a.write_json(buf),
            // A Record is plain data: serializing it into a Vec cannot fail.
            Event::Record(r) => {
                let _ = serde_json::to_writer(&mut *buf, r);
            }
        }
    }
}

/// A generic event: EVE's envelope fields, and `body` holding the event-type-specific objects
/// (`stats`, …) merged at the top level.
#[derive(Clone, Debug, Serialize)]
pub struct Record {
    /// Event time, EVE format (`2026-01-01T00:00:00.000000+0000`).
    pub timestamp: String,
    /// Flow id, for flow-bound events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow_id: Option<u64>,
    /// `flow`, `stats`, …
    pub event_type: &'static str,
    /// Type-specific fields, flattened into the object.
    #[serde(flatten)]
    pub body: serde_json::Map<String, Value>,
}

impl Record {
    /// A `stats` event at `ts_ns` whose `stats` object is `stats`.
    pub fn stats(ts_ns: u64, stats: Value) -> Record {
        let mut body = serde_json::Map::new();
        body.insert("stats".into(), stats);
        Record {
            timestamp: format_timestamp(ts_ns),
            flow_id: None,
            event_type: "stats",
            body,
        }
    }
}
