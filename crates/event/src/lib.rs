//! The event model shared by every output: EVE-compatible JSON lines.
//!
//! Field names follow Suricata's EVE format wherever EVE has the field (`timestamp`, `flow_id`,
//! `event_type`, `src_ip`, `src_port`, `dest_ip`, `dest_port`, `proto`, the `flow`, `tcp` and
//! `stats` objects), so tools that read Suricata's `eve.json` read ours. Every output is an
//! [`EventSink`]; [`EveWriter`] is the JSON-lines one.
//!
//! ```
//! use nta_event::{EveWriter, EventSink, Event};
//! let mut out = EveWriter::new(Vec::new());
//! out.emit(&Event::stats(0, serde_json::json!({"decoder": {"pkts": 0}}))).unwrap();
//! let line = String::from_utf8(out.into_inner()).unwrap();
//! assert!(line.contains(r#""event_type":"stats""#));
//! ```
#![forbid(unsafe_code)]

mod flow;
mod sink;
mod stats;
mod time;

pub use flow::{flow_event, proto_name};
pub use sink::{EveWriter, EventSink};
pub use stats::{stats_body, CaptureStats, EngineStats};
pub use time::format_timestamp;

use serde::Serialize;
use serde_json::Value;

/// One event, ready to serialize. The envelope fields are EVE's; `body` holds the
/// event-type-specific objects (`flow`, `tcp`, `stats`, …) merged at the top level.
#[derive(Clone, Debug, Serialize)]
pub struct Event {
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

impl Event {
    /// A `stats` event at `ts_ns` whose `stats` object is `stats`.
    pub fn stats(ts_ns: u64, stats: Value) -> Event {
        let mut body = serde_json::Map::new();
        body.insert("stats".into(), stats);
        Event {
            timestamp: format_timestamp(ts_ns),
            flow_id: None,
            event_type: "stats",
            body,
        }
    }
}
