//! `stats` events: what the engine counted.

use nta_flow::FlowStats;
use nta_packet::DecodeCounters;
use serde_json::{json, Map, Value};

/// Counters from the capture source (libpcap's `pcap_stats`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CaptureStats {
    /// Packets the kernel received.
    pub kernel_packets: u64,
    /// Packets dropped for lack of buffer space.
    pub kernel_drops: u64,
    /// Packets dropped by the interface or driver.
    pub kernel_ifdrops: u64,
}

/// Counters of the engine's own stages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Seconds since start.
    pub uptime: u64,
    /// Packets dropped because a worker queue was full.
    pub queue_drops: u64,
    /// Flows held right now.
    pub flows_active: u64,
    /// Fragment bytes held right now.
    pub defrag_bytes: u64,
    /// Workers.
    pub workers: u64,
    /// Events dropped because the output could not keep up (live capture only).
    pub events_dropped: u64,
}

/// The `stats` object of a stats event.
pub fn stats_body(
    decoder: &DecodeCounters,
    flows: &FlowStats,
    capture: Option<&CaptureStats>,
    engine: &EngineStats,
) -> Value {
    let mut dec = Map::new();
    dec.insert("pkts".into(), decoder.packets.into());
    dec.insert("bytes".into(), decoder.bytes.into());
    dec.insert("invalid".into(), decoder.invalid.into());
    dec.insert("non_ip".into(), decoder.non_ip.into());
    for (name, n) in decoder.seen_nonzero() {
        dec.insert(name.into(), n.into());
    }
    // Anomaly names are "layer.what"; nest them as EVE does (`decoder.event.ipv4.truncated`).
    let mut events = Map::new();
    for (name, n) in decoder.anomalies_nonzero() {
        let (layer, what) = name.split_once('.').unwrap_or(("other", name));
        let entry = events
            .entry(layer.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(m) = entry {
            m.insert(what.into(), n.into());
        }
    }
    dec.insert("event".into(), Value::Object(events));
    // Memory caps hit: the flow table full, reassembly refusing fragments.
    let defrag_memcap = decoder.anomaly_count(nta_packet::Anomaly::FragMemcap)
        + decoder.anomaly_count(nta_packet::Anomaly::FragMaxTrackers);
    let mut stats = json!({
        "uptime": engine.uptime,
        "decoder": Value::Object(dec),
        "flow": {
            "total": flows.created,
            "tcp": flows.tcp,
            "udp": flows.udp,
            "icmpv4": flows.icmpv4,
            "icmpv6": flows.icmpv6,
            "other": flows.other,
            "active": engine.flows_active,
            "timeout": flows.timed_out,
            "tcp_reuse": flows.tcp_reuse,
            "memcap": flows.emergency,
            "emerg_mode_entered": flows.emergency,
            "evicted": flows.evicted,
        },
        "defrag": {
            "fragments": decoder.seen_count(nta_packet::Seen::Fragments),
            "reassembled": decoder.seen_count(nta_packet::Seen::Reassembled),
            "memcap": defrag_memcap,
            "timeouts": decoder.anomaly_count(nta_packet::Anomaly::FragTimeout),
            "bytes_held": engine.defrag_bytes,
        },
        "engine": {
            "workers": engine.workers,
            "queue_drops": engine.queue_drops,
            "events_dropped": engine.events_dropped,
        },
    });
    if let (Some(c), Value::Object(m)) = (capture, &mut stats) {
        m.insert(
            "capture".into(),
            json!({
                "kernel_packets": c.kernel_packets,
                "kernel_drops": c.kernel_drops,
                "kernel_ifdrops": c.kernel_ifdrops,
            }),
        );
    }
    stats
}
