//! Feeding the behavioural detectors: each worker summarises its traffic as observations
//! (flow starts and ends, per-second packet counts, DNS queries, failed logins) and, once per
//! second of packet time, hands its batch to the one [`Detectors`] all workers share. The
//! alerts come back to the worker that delivered the observation crossing a threshold, which
//! writes them as EVE `alert` events with `alert.source: "detector"`.
//!
//! Flows are sharded by address pair, so a scanner's flows land on many workers: the state
//! is shared (one lock per worker per second, not per packet) so that counts are whole.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use nta_behaviour::{Alert, Detectors, Observation, PacketKind, TcpSummary, GID};
use nta_event::{format_timestamp, AppEvent, ProtoName, Record};
use nta_flow::{EndedFlow, Flow};
use nta_packet::{ip_proto, Packet, TcpFlags, Transport};
use serde_json::{json, Map, Value};

/// Observations a worker holds before delivering them early (bounds its memory within a
/// second of a flood of new flows).
const MAX_BATCH: usize = 1 << 16;

/// One worker's side.
pub(crate) struct Observer {
    shared: Arc<Mutex<Detectors>>,
    batch: Vec<Observation>,
    /// Packets counted this second: (kind, sender, receiver) → (packets, bytes, last time).
    counts: HashMap<(PacketKind, IpAddr, IpAddr), (u64, u64, u64)>,
    alerts: Vec<Alert>,
}

impl Observer {
    pub(crate) fn new(shared: Arc<Mutex<Detectors>>) -> Observer {
        Observer {
            shared,
            batch: Vec::new(),
            counts: HashMap::new(),
            alerts: Vec::new(),
        }
    }

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

    /// Hands the batch (and this second's packet counts) to the shared detectors; with
    /// `now`, packet time advanced there too. Alerts are kept for [`Observer::take_alerts`].
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
        if self.batch.is_empty() && now.is_none() {
            return;
        }
        let mut d = self.shared.lock().unwrap_or_else(|p| p.into_inner());
        for o in self.batch.drain(..) {
            d.observe(&o, &mut self.alerts);
        }
        if let Some(now) = now {
            d.tick(now, &mut self.alerts);
        }
    }

    /// The alerts raised by this worker's deliveries.
    pub(crate) fn take_alerts(&mut self) -> std::vec::Drain<'_, Alert> {
        self.alerts.drain(..)
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
