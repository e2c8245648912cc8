//! One worker: decoder, flow table and event encoding for its shard of the traffic.

use std::io::{self, Write};
use std::sync::Arc;

use nta_detect::{
    DetectCounters, Detector, Engine, Fired, FlowMeta, IcmpMeta, PacketMeta, TcpMeta,
};
use nta_event::{flow_event, AlertEvent, AlertFields, EveWriter, Event, EventSink};
use nta_flow::{EndReason, EndedFlow, Flow, FlowStats, FlowTable, PacketView};
use nta_packet::{ip_proto, DecodeCounters, Decoder, LinkType, Packet, Transport};
use nta_protocols::{AppCounters, AppLayer, AppSink, Dir, Registry, Tx};

use crate::behaviour::{alert_record, Observer};
use crate::detection::RulesHandle;
use crate::Config;

/// A worker's counters at one moment.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// Decoder counters.
    pub decoder: DecodeCounters,
    /// Flow table counters.
    pub flows: FlowStats,
    /// Flows held now.
    pub flows_active: u64,
    /// Bytes held for reassembly now.
    pub defrag_bytes: u64,
    /// Application layer and TCP reassembly.
    pub app: AppCounters,
    /// Rule matching.
    pub detect: DetectCounters,
    /// Rules in force.
    pub rules_loaded: u64,
}

impl Snapshot {
    /// Adds another worker's snapshot.
    pub fn merge(&mut self, o: &Snapshot) {
        self.decoder.merge(&o.decoder);
        self.flows.merge(&o.flows);
        self.flows_active += o.flows_active;
        self.defrag_bytes += o.defrag_bytes;
        self.app.merge(&o.app);
        self.detect.merge(&o.detect);
        self.rules_loaded = self.rules_loaded.max(o.rules_loaded);
    }
}

pub(crate) struct Worker<W: Write> {
    decoder: Decoder,
    flows: FlowTable,
    app: AppLayer,
    det: Det,
    obs: Option<Observer>,
    out: EveWriter<W>,
    out_error: Option<io::Error>,
}

/// The worker's detection: its detector, the handle it takes reloads from, and scratch.
struct Det {
    /// The frame being processed (EVE's `pcap_cnt`; 0: none).
    pcap_cnt: u64,
    /// Transactions completed by the packet being parsed are kept in `pending` and checked
    /// after the packet's own rules, as Suricata orders them: a packet rule's flowbits are
    /// then seen, and a packet `pass` covers them.
    defer: bool,
    pending: Vec<PendingTx>,
    rules: Option<Arc<RulesHandle>>,
    generation: u64,
    detector: Detector,
    fired: Vec<Fired>,
}

impl Det {
    fn active(&self) -> bool {
        !self.detector.engine().is_empty()
    }
}

fn write(out: &mut EveWriter<impl Write>, err: &mut Option<io::Error>, ev: &Event<'_>) {
    if err.is_some() {
        return;
    }
    if let Err(e) = out.emit(ev) {
        *err = Some(e);
    }
}

/// Writes the alerts in `fired` (and empties it).
#[allow(clippy::too_many_arguments)]
fn write_alerts(
    out: &mut EveWriter<impl Write>,
    err: &mut Option<io::Error>,
    engine: &Engine,
    fired: &mut Vec<Fired>,
    flow: &Flow,
    ts_ns: u64,
    app_proto: Option<&str>,
    tx: Option<(Option<u64>, &[u8])>,
    pcap_cnt: u64,
) {
    for f in fired.drain(..) {
        let info = engine.info(f.sig);
        let (tx_id, app) = tx.unwrap_or((None, &[]));
        let ev = AlertEvent {
            ts_ns,
            flow,
            to_server: f.to_server,
            pcap_cnt: (pcap_cnt > 0).then_some(pcap_cnt),
            app_proto,
            tx_id,
            alert: AlertFields {
                // IDS: every action only alerts.
                action: "allowed",
                gid: info.gid,
                signature_id: info.sid,
                rev: info.rev,
                signature: &info.msg,
                category: &info.category,
                severity: info.severity,
                source: "rule",
                metadata: &info.metadata,
            },
            app,
        };
        write(out, err, &Event::Alert(ev));
    }
}

/// `flow:established`: for TCP, the handshake was seen to complete (as Suricata with its
/// default `stream.midstream: false`, a session picked up in the middle never is); for
/// other protocols, packets went both ways.
fn established(f: &Flow) -> bool {
    if f.proto() == ip_proto::TCP {
        f.handshake_completed()
    } else {
        f.pkts[0] > 0 && f.pkts[1] > 0
    }
}

/// What the application layer hands back while it parses one packet or ends one flow:
/// events to log, and transactions to check against the rules.
struct Sink<'a, W: Write> {
    out: &'a mut EveWriter<W>,
    err: &'a mut Option<io::Error>,
    det: &'a mut Det,
    obs: &'a mut Option<Observer>,
    /// The flow's detection slot (written back by the caller).
    slot: u32,
}

impl<W: Write> AppSink for Sink<'_, W> {
    fn event(&mut self, ev: &Event<'_>) {
        if let (Some(obs), Event::App(a)) = (self.obs.as_mut(), ev) {
            obs.app_event(a);
        }
        write(self.out, self.err, ev);
    }

    fn tx(&mut self, tx: &Tx<'_>) {
        let det = &mut *self.det;
        let e = &tx.event;
        if det.defer {
            // While a packet is parsed: kept until the packet's own rules ran.
            det.pending.push(PendingTx {
                ts_ns: e.ts_ns,
                event_type: e.event_type.into(),
                app_proto: e.app_proto.into(),
                tx_id: e.tx_id,
                body: e.body.to_vec(),
                buffers: tx
                    .buffers()
                    .map(|(d, b, data)| (d == Dir::ToServer, b.clone(), data.to_vec()))
                    .collect(),
            });
            return;
        }
        let mut bufs = tx.buffers().map(|(_, b, d)| (b, d));
        let t = TxRef {
            ts_ns: e.ts_ns,
            event_type: e.event_type,
            app_proto: e.app_proto,
            tx_id: e.tx_id,
            body: e.body,
        };
        eval_tx(
            det,
            self.out,
            self.err,
            e.flow,
            &mut self.slot,
            &t,
            tx,
            &mut bufs,
        );
    }
}

/// A transaction whose rules wait for the packet's own rules.
struct PendingTx {
    ts_ns: u64,
    event_type: Box<str>,
    app_proto: Box<str>,
    tx_id: Option<u64>,
    body: Vec<u8>,
    buffers: Vec<(bool, nta_detect::Buffer, Vec<u8>)>,
}

/// What an alert on a transaction needs of it.
struct TxRef<'a> {
    ts_ns: u64,
    event_type: &'a str,
    app_proto: &'a str,
    tx_id: Option<u64>,
    body: &'a [u8],
}

/// Runs the transaction rules on one transaction of `flow` and writes their alerts.
#[allow(clippy::too_many_arguments)]
fn eval_tx(
    det: &mut Det,
    out: &mut EveWriter<impl Write>,
    err: &mut Option<io::Error>,
    flow: &Flow,
    slot: &mut u32,
    t: &TxRef<'_>,
    buffers: &dyn nta_detect::TxBuffers,
    bufs: &mut dyn Iterator<Item = (&nta_detect::Buffer, &[u8])>,
) {
    let meta = FlowMeta {
        ts_ns: t.ts_ns,
        client: flow.client(),
        server: flow.server(),
        proto: flow.proto(),
        established: established(flow),
        app_proto: t.app_proto,
        event_type: t.event_type,
        flow_id: flow.flow_id(),
        tx_id: t.tx_id,
    };
    det.detector.tx(slot, &meta, buffers, bufs, &mut det.fired);
    if !det.fired.is_empty() {
        let engine = Arc::clone(det.detector.engine());
        write_alerts(
            out,
            err,
            &engine,
            &mut det.fired,
            flow,
            t.ts_ns,
            Some(t.app_proto),
            Some((t.tx_id, t.body)),
            det.pcap_cnt,
        );
    }
}

/// A flow ended: its last app-layer events (and their alerts), then its `flow` event.
fn end_flow(
    app: &mut AppLayer,
    det: &mut Det,
    obs: &mut Option<Observer>,
    out: &mut EveWriter<impl Write>,
    err: &mut Option<io::Error>,
    ended: &EndedFlow,
) {
    let mut sink = Sink {
        out,
        err,
        det,
        obs,
        slot: ended.flow.detect,
    };
    let app_proto = app.flow_end(ended, &mut sink);
    let mut slot = sink.slot;
    if let Some(o) = obs.as_mut() {
        o.flow_end(ended, app_proto);
    }
    let alerted = det.detector.flow_end(&mut slot);
    write(
        out,
        err,
        &Event::Flow(
            flow_event(ended)
                .with_app_proto(app_proto)
                .with_alerted(alerted),
        ),
    );
}

fn packet_meta<'a>(
    p: &'a Packet<'a>,
    flow: &Flow,
    to_server: bool,
    app_proto: Option<&'a str>,
) -> PacketMeta<'a> {
    let (sport, dport) = p.transport.ports();
    let (tcp, icmp) = match p.transport {
        Transport::Tcp(t) => (
            Some(TcpMeta {
                flags: t.flags.0,
                seq: t.seq,
                ack: t.ack,
                window: t.window,
            }),
            None,
        ),
        Transport::Icmp { ty, code, id } => (
            None,
            Some(IcmpMeta {
                itype: ty,
                code,
                id,
            }),
        ),
        _ => (None, None),
    };
    let dir = usize::from(!to_server);
    PacketMeta {
        ts_ns: p.ts_ns,
        src: p.src,
        dst: p.dst,
        sport,
        dport,
        proto: p.proto,
        ttl: p.ttl,
        tcp,
        icmp,
        payload: p.payload,
        to_server,
        established: established(flow),
        app_proto,
        flow_id: flow.flow_id(),
        first_in_direction: flow.pkts[dir] == 1,
    }
}

impl<W: Write> Worker<W> {
    pub(crate) fn new(
        cfg: &Config,
        workers: usize,
        reg: Arc<Registry>,
        rules: Option<Arc<RulesHandle>>,
        detectors: Option<&crate::behaviour::DetectorsThread>,
        out: W,
    ) -> Self {
        let (engine, generation) = match &rules {
            Some(h) => h.current(),
            None => (Arc::new(Engine::empty()), 0),
        };
        let mut app = AppLayer::new(reg, cfg.protocols.app_config(&cfg.stream, workers));
        app.set_inspect(engine.inspects_transactions());
        let mut detector = Detector::new(engine);
        if let Some(h) = &rules {
            detector.share_thresholds(h.thresholds());
        }
        Worker {
            decoder: Decoder::new(cfg.decoder_config(workers)),
            flows: FlowTable::new(cfg.flow_config(workers)),
            app,
            det: Det {
                pcap_cnt: 0,
                defer: false,
                pending: Vec::new(),
                rules,
                generation,
                detector,
                fired: Vec::new(),
            },
            obs: detectors.and_then(|d| d.observer()),
            out: EveWriter::new(out),
            out_error: None,
        }
    }

    /// Decodes a frame and accounts it to its flow(s): the innermost one, and the outer UDP
    /// conversation of each UDP tunnel it crossed. Then the rules.
    #[inline]
    pub(crate) fn packet(
        &mut self,
        link: LinkType,
        ts_ns: u64,
        wire_len: u32,
        data: &[u8],
        pcap_cnt: u64,
    ) {
        let Worker {
            decoder,
            flows,
            app,
            det,
            obs,
            out,
            out_error,
        } = self;
        let Some(p) = decoder.decode(link, ts_ns, wire_len, data) else {
            return;
        };
        det.pcap_cnt = pcap_cnt;
        let (flow, to_server) = flows.update(&PacketView::from_packet(&p), &mut |e| {
            end_flow(app, det, obs, out, out_error, &e)
        });
        if let Some(o) = obs.as_mut() {
            o.packet(&p);
            if flow.pkts[0] + flow.pkts[1] == 1 {
                o.flow_start(flow);
            }
        }
        det.defer = det.active();
        let mut sink = Sink {
            out,
            err: out_error,
            det,
            obs,
            slot: flow.detect,
        };
        app.packet(flow, to_server, &p, &mut sink);
        flow.detect = sink.slot;
        det.defer = false;
        if det.active() {
            let app_proto = app.app_proto(flow);
            let mut meta = packet_meta(&p, flow, to_server, app_proto);
            if app.finished(flow) && matches!(app_proto, Some("tls" | "ssh")) {
                // Past the handshake the payload is encrypted: as Suricata's default
                // `encryption-handling`, content is not inspected (header rules still run).
                meta.payload = &[];
            }
            det.detector.packet(&mut flow.detect, &meta, &mut det.fired);
            if !det.fired.is_empty() {
                let engine = Arc::clone(det.detector.engine());
                write_alerts(
                    out,
                    out_error,
                    &engine,
                    &mut det.fired,
                    flow,
                    ts_ns,
                    meta.app_proto,
                    None,
                    det.pcap_cnt,
                );
            }
            let mut pending = std::mem::take(&mut det.pending);
            let mut slot = flow.detect;
            if !det.detector.packet_passed() {
                for t in &pending {
                    let mut bufs = t.buffers.iter().map(|(_, b, d)| (b, d.as_slice()));
                    let r = TxRef {
                        ts_ns: t.ts_ns,
                        event_type: &t.event_type,
                        app_proto: &t.app_proto,
                        tx_id: t.tx_id,
                        body: &t.body,
                    };
                    eval_tx(
                        det, out, out_error, flow, &mut slot, &r, &t.buffers, &mut bufs,
                    );
                }
            }
            flow.detect = slot;
            pending.clear();
            det.pending = pending;
        }
        for i in 0..p.tunnels.len() {
            if let Some(v) = PacketView::outer_udp(&p, i) {
                flows.update(&v, &mut |e| end_flow(app, det, obs, out, out_error, &e));
            }
        }
    }

    /// Packet time advanced to `now_ns`: end idle flows, drop stale fragments, and push the
    /// events written so far out (a quiet live sensor must not sit on its events).
    pub(crate) fn tick(&mut self, now_ns: u64) {
        let Worker {
            decoder,
            flows,
            app,
            det,
            obs,
            out,
            out_error,
        } = self;
        // Flows ending on a timeout are not ended by any frame.
        det.pcap_cnt = 0;
        if let Some(h) = &det.rules {
            if h.generation() != det.generation {
                let (engine, generation) = h.current();
                app.set_inspect(engine.inspects_transactions());
                det.detector.reload(engine);
                det.generation = generation;
            }
        }
        det.detector.tick(now_ns);
        flows.expire(now_ns, &mut |e| end_flow(app, det, obs, out, out_error, &e));
        decoder.expire(now_ns);
        if let Some(o) = obs.as_mut() {
            o.deliver(Some(now_ns));
            for a in o.take_alerts() {
                write(out, out_error, &Event::Record(&alert_record(&a)));
            }
        }
        if out_error.is_none() {
            if let Err(e) = out.flush() {
                *out_error = Some(e);
            }
        }
    }

    pub(crate) fn output_failed(&self) -> bool {
        self.out_error.is_some()
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        Snapshot {
            decoder: self.decoder.counters().clone(),
            flows: self.flows.stats().clone(),
            flows_active: self.flows.len() as u64,
            defrag_bytes: self.decoder.defrag_usage().1 as u64,
            app: self.app.counters(),
            detect: self.det.detector.counters().clone(),
            rules_loaded: self.det.detector.engine().len() as u64,
        }
    }

    pub(crate) fn emit_event(&mut self, ev: &Event<'_>) {
        if self.out_error.is_none() {
            if let Err(e) = self.out.emit(ev) {
                self.out_error = Some(e);
            }
        }
    }

    /// Ends every flow (`shutdown`) and flushes the output.
    pub(crate) fn finish(mut self) -> (Snapshot, EveWriter<W>, Option<io::Error>) {
        let Worker {
            flows,
            app,
            det,
            obs,
            out,
            out_error,
            ..
        } = &mut self;
        det.pcap_cnt = 0;
        flows.flush(EndReason::Shutdown, &mut |e| {
            end_flow(app, det, obs, out, out_error, &e)
        });
        if let Some(o) = obs.as_mut() {
            o.flush();
            for a in o.take_alerts() {
                write(out, out_error, &Event::Record(&alert_record(&a)));
            }
        }
        if self.out_error.is_none() {
            if let Err(e) = self.out.flush() {
                self.out_error = Some(e);
            }
        }
        let snap = self.snapshot();
        (snap, self.out, self.out_error)
    }
}
