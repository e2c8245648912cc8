//! One worker: decoder, flow table and event encoding for its shard of the traffic.

use std::io::{self, Write};
use std::sync::Arc;

use nta_event::{flow_event, EveWriter, Event, EventSink};
use nta_flow::{EndReason, EndedFlow, FlowStats, FlowTable, PacketView};
use nta_packet::{DecodeCounters, Decoder, LinkType};
use nta_protocols::{AppCounters, AppLayer, Registry};

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
}

impl Snapshot {
    /// Adds another worker's snapshot.
    pub fn merge(&mut self, o: &Snapshot) {
        self.decoder.merge(&o.decoder);
        self.flows.merge(&o.flows);
        self.flows_active += o.flows_active;
        self.defrag_bytes += o.defrag_bytes;
        self.app.merge(&o.app);
    }
}

pub(crate) struct Worker<W: Write> {
    decoder: Decoder,
    flows: FlowTable,
    app: AppLayer,
    out: EveWriter<W>,
    out_error: Option<io::Error>,
}

fn write(out: &mut EveWriter<impl Write>, err: &mut Option<io::Error>, ev: &Event<'_>) {
    if err.is_some() {
        return;
    }
    if let Err(e) = out.emit(ev) {
        *err = Some(e);
    }
}

/// A flow ended: its last app-layer events, then its `flow` event.
fn end_flow(
    app: &mut AppLayer,
    out: &mut EveWriter<impl Write>,
    err: &mut Option<io::Error>,
    ended: &EndedFlow,
) {
    let app_proto = app.flow_end(ended, &mut |ev| write(out, err, ev));
    write(
        out,
        err,
        &Event::Flow(flow_event(ended).with_app_proto(app_proto)),
    );
}

impl<W: Write> Worker<W> {
    pub(crate) fn new(cfg: &Config, workers: usize, reg: Arc<Registry>, out: W) -> Self {
        Worker {
            decoder: Decoder::new(cfg.decoder_config(workers)),
            flows: FlowTable::new(cfg.flow_config(workers)),
            app: AppLayer::new(reg, cfg.protocols.app_config(&cfg.stream, workers)),
            out: EveWriter::new(out),
            out_error: None,
        }
    }

    /// Decodes a frame and accounts it to its flow(s): the innermost one, and the outer UDP
    /// conversation of each UDP tunnel it crossed.
    #[inline]
    pub(crate) fn packet(&mut self, link: LinkType, ts_ns: u64, wire_len: u32, data: &[u8]) {
        let Worker {
            decoder,
            flows,
            app,
            out,
            out_error,
        } = self;
        let Some(p) = decoder.decode(link, ts_ns, wire_len, data) else {
            return;
        };
        let (flow, to_server) = flows.update(&PacketView::from_packet(&p), &mut |e| {
            end_flow(app, out, out_error, &e)
        });
        app.packet(flow, to_server, &p, &mut |ev| write(out, out_error, ev));
        for i in 0..p.tunnels.len() {
            if let Some(v) = PacketView::outer_udp(&p, i) {
                flows.update(&v, &mut |e| end_flow(app, out, out_error, &e));
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
            out,
            out_error,
        } = self;
        flows.expire(now_ns, &mut |e| end_flow(app, out, out_error, &e));
        decoder.expire(now_ns);
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
            out,
            out_error,
            ..
        } = &mut self;
        flows.flush(EndReason::Shutdown, &mut |e| {
            end_flow(app, out, out_error, &e)
        });
        if self.out_error.is_none() {
            if let Err(e) = self.out.flush() {
                self.out_error = Some(e);
            }
        }
        let snap = self.snapshot();
        (snap, self.out, self.out_error)
    }
}
