//! The live bus: events as they leave the engine, for the server-sent event stream, and the
//! latest `stats` event for `/api/v1/stats` and `/metrics`.

use std::io::{self, Write};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use tokio::sync::broadcast;

/// One event on the bus.
#[derive(Debug)]
pub struct LiveEvent {
    /// `alert`, `flow`, `http`, …
    pub kind: String,
    /// Source address.
    pub src: Option<IpAddr>,
    /// Destination address.
    pub dest: Option<IpAddr>,
    /// The EVE line.
    pub json: String,
}

/// The bus.
pub struct Live {
    tx: broadcast::Sender<Arc<LiveEvent>>,
    stats: Mutex<Option<serde_json::Value>>,
}

impl Default for Live {
    fn default() -> Self {
        Live {
            tx: broadcast::channel(4096).0,
            stats: Mutex::new(None),
        }
    }
}

impl Live {
    /// A receiver of every later event (a slow one misses events: counted by the stream).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<LiveEvent>> {
        self.tx.subscribe()
    }

    /// The latest `stats` object.
    pub fn stats(&self) -> Option<serde_json::Value> {
        self.stats.lock().ok().and_then(|s| s.clone())
    }

    /// Publishes one EVE line.
    pub fn publish(&self, line: &str) {
        #[derive(Deserialize)]
        struct Head<'a> {
            event_type: &'a str,
            #[serde(default)]
            src_ip: Option<&'a str>,
            #[serde(default)]
            dest_ip: Option<&'a str>,
        }
        let Ok(h) = serde_json::from_str::<Head<'_>>(line) else {
            return;
        };
        if h.event_type == "stats" {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(line) {
                if let Ok(mut s) = self.stats.lock() {
                    *s = Some(v["stats"].clone());
                }
            }
        }
        if self.tx.receiver_count() == 0 {
            return;
        }
        let _ = self.tx.send(Arc::new(LiveEvent {
            kind: h.event_type.to_string(),
            src: h.src_ip.and_then(|s| s.parse().ok()),
            dest: h.dest_ip.and_then(|s| s.parse().ok()),
            json: line.to_string(),
        }));
    }
}

/// An output that publishes the EVE lines written to it (never fails, never blocks).
pub struct LiveTap {
    live: Arc<Live>,
    pending: Vec<u8>,
}

impl LiveTap {
    /// A tap on `live`.
    pub fn new(live: Arc<Live>) -> LiveTap {
        LiveTap {
            live,
            pending: Vec::new(),
        }
    }
}

impl Write for LiveTap {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(b);
        if let Some(end) = self.pending.iter().rposition(|&c| c == b'\n') {
            let rest = self.pending.split_off(end + 1);
            let chunk = std::mem::replace(&mut self.pending, rest);
            for line in chunk.split(|&c| c == b'\n') {
                if let Ok(s) = std::str::from_utf8(line) {
                    if !s.is_empty() {
                        self.live.publish(s);
                    }
                }
            }
        }
        Ok(b.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
