//! Feeding the behavioural detectors: each worker summarises its traffic as observations
//! (flow starts and ends, per-second packet counts, DNS queries, failed logins) and, once per
//! second of packet time, sends its batch to the detectors' own thread, which holds the one
//! [`Detectors`] all workers share. Alerts come back over a channel; whichever worker ticks
//! next writes them as EVE `alert` events with `alert.source: "detector"`.
//!
//! Flows are sharded by address pair, so a scanner's flows land on many workers: one set of
//! detectors keeps the counts whole. On its own thread, the detectors' work (hash tables
//! over hundreds of thousands of keys) stays off the packet path and out of its caches.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crossbeam_channel::{bounded, unbounded, Receiver, Sender};
use nta_behaviour::{Alert, DetectorStats, Detectors, Observation, PacketKind, TcpSummary, GID};
use nta_event::{format_timestamp, AppEvent, ProtoName, Record};
use nta_flow::{EndedFlow, Flow};
use nta_packet::{ip_proto, Packet, TcpFlags, Transport};
use serde_json::{json, Map, Value};

/// Observations a worker holds before delivering them early (bounds its memory within a
/// second of a flood of new flows).
const MAX_BATCH: usize = 1 << 16;

/// Batches queued to the detectors' thread before a worker waits for it.
const QUEUE: usize = 8;

enum Msg {
    /// Observations, then packet time advanced to `now` (if given).
    Batch(Vec<Observation>, Option<u64>),
    /// Everything sent before is processed: answer.
    Flush(Sender<()>),
}

/// The detectors' thread and the channels to it; dropped (joined) at the end of the run.
pub(crate) struct DetectorsThread {
    tx: Option<Sender<Msg>>,
    alerts: Receiver<Alert>,
    stats: Arc<Mutex<Vec<DetectorStats>>>,
    handle: Option<JoinHandle<()>>,
}

impl DetectorsThread {
    /// Starts the thread over `d`.
    pub(crate) fn start(mut d: Detectors) -> DetectorsThread {
        let (tx, rx) = bounded::<Msg>(QUEUE);
        let (atx, alerts) = unbounded::<Alert>();
        let stats = Arc::new(Mutex::new(d.stats()));
        let st = Arc::clone(&stats);
        let handle = std::thread::Builder::new()
            .name("nta-detectors".into())
            .spawn(move || {
                let mut out = Vec::new();
                for msg in rx {
                    match msg {
                        Msg::Batch(batch, now) => {
                            for o in &batch {
                                d.observe(o, &mut out);
                            }
                            if let Some(now) = now {
                                d.tick(now, &mut out);
                            }
                            for a in out.drain(..) {
                                let _ = atx.send(a);
                            }
                            if let Ok(mut s) = st.lock() {
                                *s = d.stats();
                            }
                        }
                        Msg::Flush(reply) => {
                            let _ = reply.send(());
                        }
                    }
                }
            })
            .expect("spawning the detectors thread");
        DetectorsThread {
            tx: Some(tx),
            alerts,
            stats,
            handle: Some(handle),
        }
    }

    /// A worker's side.
    pub(crate) fn observer(&self) -> Option<Observer> {
        Some(Observer {
            tx: self.tx.clone()?,
            alerts: self.alerts.clone(),
            batch: Vec::new(),
            counts: HashMap::new(),
            pending: Vec::new(),
        })
    }

    /// The detectors' counters, as of their last batch.
    pub(crate) fn stats(&self) -> Vec<DetectorStats> {
        self.stats.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Drop for DetectorsThread {
    fn drop(&mut self) {
        self.tx = None;
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// One worker's side.
pub(crate) struct Observer {
    tx: Sender<Msg>,
    alerts: Receiver<Alert>,
    batch: Vec<Observation>,
    /// Packets counted this second: (kind, sender, receiver) → (packets, bytes, last time).
    counts: HashMap<(PacketKind, IpAddr, IpAddr), (u64, u64, u64)>,
    pending: Vec<Alert>,
}

impl Observer {
    fn push(&mut self, o: Observation) {
        self.batch.push(o);
        if self.batch.len() >= MAX_BATCH {
            self.deliver(None);
        }
    }

    /// Counts the packet if a flood detector looks at its kind.
    #[inline]
    pub(crate) fn packet(&mut self, p: &Packet<'_>) {
        let kind = match p.transport {
            Transport::Tcp(t) if t.flags.has(TcpFlags::SYN) => {
                if t.flags.has(TcpFlags::ACK) {
                    PacketKind::SynAck
                } else {
                    PacketKind::Syn
                }
            }
            Transport::Udp { .. } => PacketKind::Udp,
            // Echo request: ICMP type 8, ICMPv6 type 128.
            Transport::Icmp { ty, .. }
                if (p.proto == ip_proto::ICMP && ty == 8)
                    || (p.proto == ip_proto::ICMPV6 && ty == 128) =>
            {
                PacketKind::IcmpEchoRequest
            }
            _ => return,
        };
        let e = self.counts.entry((kind, p.src, p.dst)).or_insert((0, 0, 0));
        e.0 += 1;
        e.1 += u64::from(p.wire_len);
        e.2 = e.2.max(p.ts_ns);
    }

    /// A new flow (its first packet).
    pub(crate) fn flow_start(&mut self, f: &Flow) {
        let (c, s) = (f.client(), f.server());
        self.push(Observation::FlowStart {
            ts_ns: f.start_ns,
            proto: f.proto(),
            src: c.0,
            sport: c.1,
            dst: s.0,
            dport: s.1,
        });
    }

    /// A flow ended.
    pub(crate) fn flow_end(&mut self, e: &EndedFlow, app_proto: Option<&str>) {
        let f = &e.flow;
        let (c, s) = (f.client(), f.server());
        let tcp = (f.proto() == ip_proto::TCP).then(|| {
            let [cf, sf] = f.tcp_flags;
            TcpSummary {
                syn: cf & TcpFlags::SYN != 0,
                syn_ack: sf & TcpFlags::SYN != 0 && sf & TcpFlags::ACK != 0,
                established: f.handshake_completed(),
                rst: (cf | sf) & TcpFlags::RST != 0,
            }
        });
        self.push(Observation::FlowEnd {
            ts_ns: f.last_ns,
            proto: f.proto(),
            src: c.0,
            sport: c.1,
            dst: s.0,
            dport: s.1,
            start_ns: f.start_ns,
            pkts: f.pkts,
            bytes: f.bytes,
            tcp,
            app_proto: app_proto.map(Into::into),
        });
    }

    /// An application-layer event: DNS queries and failed logins are observations.
    pub(crate) fn app_event(&mut self, ev: &AppEvent<'_>) {
        let interesting = match ev.event_type {
            "dns" => ev.to_server,
            "http" => memchr::memmem::find(ev.body, b"\"status\":40").is_some(),
            "ftp" => memchr::memmem::find(ev.body, b"\"530\"").is_some(),
            _ => false,
        };
        if !interesting {
            return;
        }
        let mut text = Vec::with_capacity(ev.body.len() + 2);
        text.push(b'{');
        text.extend_from_slice(ev.body);
        text.push(b'}');
        let Ok(v) = serde_json::from_slice::<Value>(&text) else {
            return;
        };
        let (client, server) = (ev.flow.client(), ev.flow.server());
        match ev.event_type {
            "dns" => {
                let d = &v["dns"];
                if d["type"] != "query" {
                    return;
                }
                let Some(name) = d["rrname"].as_str() else {
                    return;
                };
                let qtype = d["rrtype"]
                    .as_str()
                    .and_then(nta_protocols::dns_rrtype_code)
                    .unwrap_or(0);
                self.push(Observation::DnsQuery {
                    ts_ns: ev.ts_ns,
                    src: client.0,
                    dst: server.0,
                    qname: name.into(),
                    qtype,
                });
            }
            "http" => {
                if matches!(v["http"]["status"].as_u64(), Some(401 | 403)) {
                    self.push(Observation::AuthFailure {
                        ts_ns: ev.ts_ns,
                        src: client.0,
                        dst: server.0,
                        dport: server.1,
                        service: "http".into(),
                    });
                }
            }
            "ftp" => {
                let failed = v["ftp"]["completion_code"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|c| c == "530"));
                if failed {
                    self.push(Observation::AuthFailure {
                        ts_ns: ev.ts_ns,
                        src: client.0,
                        dst: server.0,
                        dport: server.1,
                        service: "ftp".into(),
                    });
                }
            }
            _ => {}
        }
    }

    /// Sends the batch (and this second's packet counts) to the detectors; with `now`,
    /// packet time advanced there too. Alerts raised so far are kept for
    /// [`Observer::take_alerts`].
    pub(crate) fn deliver(&mut self, now: Option<u64>) {
        for ((kind, src, dst), (count, bytes, ts_ns)) in self.counts.drain() {
            self.batch.push(Observation::Packets {
                ts_ns,
                kind,
                src,
                dst,
                count,
                bytes,
            });
        }
        if !self.batch.is_empty() || now.is_some() {
            let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(1024));
            // The thread only stops when every sender is gone: sending cannot fail.
            let _ = self.tx.send(Msg::Batch(batch, now));
        }
        self.pending.extend(self.alerts.try_iter());
    }

    /// Sends what is left and waits until the detectors processed everything sent so far
    /// (by every worker), so that the alerts they raised can be taken.
    pub(crate) fn flush(&mut self) {
        self.deliver(None);
        let (tx, rx) = bounded(1);
        if self.tx.send(Msg::Flush(tx)).is_ok() {
            let _ = rx.recv();
        }
        self.pending.extend(self.alerts.try_iter());
    }

    /// The alerts received.
    pub(crate) fn take_alerts(&mut self) -> std::vec::Drain<'_, Alert> {
        self.pending.drain(..)
    }
}

/// A detector alert as an EVE `alert` event.
pub(crate) fn alert_record(a: &Alert) -> Record {
    let mut body = Map::new();
    body.insert("src_ip".into(), a.src.to_string().into());
    if let Some(p) = a.sport {
        body.insert("src_port".into(), p.into());
    }
    if let Some(d) = a.dst {
        body.insert("dest_ip".into(), d.to_string().into());
    }
    if let Some(p) = a.dport {
        body.insert("dest_port".into(), p.into());
    }
    body.insert("proto".into(), ProtoName(a.proto).to_string().into());
    body.insert(
        "alert".into(),
        json!({
            "action": "allowed",
            "gid": GID,
            "signature_id": a.sid,
            "rev": a.rev,
            "signature": a.signature,
            "category": a.category,
            "severity": a.severity,
            "source": "detector",
            "detector": a.detector,
            "metadata": Value::Object(a.metadata.clone()),
        }),
    );
    Record {
        timestamp: format_timestamp(a.ts_ns),
        flow_id: None,
        event_type: "alert",
        body,
    }
}
