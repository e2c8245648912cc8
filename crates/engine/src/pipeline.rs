//! The run loop: sources → dispatch by flow hash → workers → EVE output.
//!
//! With one worker everything runs on the calling thread (no queues, no copies). With N
//! workers the calling thread reads the sources and puts each frame in a batch for the worker
//! that owns its address pair ([`nta_packet::dispatch_hash`]). Frames of capture files stay in
//! the reader's shared chunks and travel as offsets (no copy); live frames are copied into the
//! batch, since libpcap reuses its buffer. Batches travel over bounded queues and are
//! recycled. A full queue blocks when reading files (nothing may be lost) and drops the batch,
//! counted, during live capture (nothing may stall the capture).
//!
//! Time is packet time. Once per second of it the dispatcher sends every worker a tick, after
//! flushing all batches, so that timeouts fire at the same points of the packet stream
//! whatever the worker count — the output is the same for any N, ordering aside.

use std::io::{self, BufWriter, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{bounded, Receiver, Sender, TrySendError};
use nta_capture::{CaptureError, KernelStats, PacketSource, RawPacket, SharedInput, SourceEvent};
use nta_event::{stats_body, CaptureStats, EngineStats, EveWriter, Event, Record};
use nta_packet::{dispatch_hash, LinkType};

use crate::behaviour::DetectorsThread;
use crate::detection::RulesHandle;
use crate::worker::{Snapshot, Worker};
use crate::Config;
use nta_protocols::{AppCounters, Registry};

const NS: u64 = 1_000_000_000;
/// Packets per batch: enough to amortise a queue operation, small enough to keep latency low.
const BATCH_PACKETS: usize = 256;
/// Bytes per batch before it is sent early (jumbo frames).
const BATCH_BYTES: usize = 512 << 10;
/// Output chunk size shipped from a worker to the writer thread.
const CHUNK_BYTES: usize = 256 << 10;
/// Progress is reported every this many packets.
const PROGRESS_EVERY: u64 = 1 << 16;

/// Why a run stopped early.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A source failed in a way that stops the run.
    #[error(transparent)]
    Capture(#[from] CaptureError),
    /// The event output failed (disk full, closed pipe, ...).
    #[error("writing events: {0}")]
    Output(#[from] io::Error),
    /// A worker thread panicked.
    #[error("a worker thread stopped unexpectedly")]
    Worker,
    /// The protocol settings or a user-defined protocol are wrong.
    #[error(transparent)]
    Protocols(#[from] crate::ProtocolsError),
    /// The `[detectors]` settings are wrong.
    #[error("{0}")]
    Detectors(String),
}

/// Progress of a run, for a progress bar.
#[derive(Clone, Copy, Debug, Default)]
pub struct Progress {
    /// Frames read.
    pub packets: u64,
    /// Input bytes consumed across finished and current sources.
    pub bytes: u64,
}

/// How to run.
pub struct RunOptions {
    /// Worker threads (≥ 1).
    pub workers: usize,
    /// Live capture: drop instead of blocking when a queue is full, tick on idle, and emit
    /// periodic `stats` events.
    pub live: bool,
    /// Interval of periodic `stats` events (live only).
    pub stats_interval: Duration,
    /// Set to stop the run (SIGINT/SIGTERM); every open flow is then flushed.
    pub stop: Arc<AtomicBool>,
    /// Called every 65,536 packets and at the end.
    pub progress: Option<Box<dyn FnMut(Progress)>>,
    /// The rules to match (none: no rule matching); replaceable while running.
    pub rules: Option<Arc<RulesHandle>>,
    /// Adds objects of other stages (the store, the alert pipeline) to every `stats` event.
    pub stats_extra: Option<StatsExtra>,
}

/// Fills in more members of a `stats` event's `stats` object.
pub type StatsExtra = Box<dyn Fn(&mut serde_json::Map<String, serde_json::Value>)>;

impl RunOptions {
    /// Defaults for reading files with `workers` workers.
    pub fn files(workers: usize) -> RunOptions {
        RunOptions {
            workers: workers.max(1),
            live: false,
            stats_interval: Duration::from_secs(10),
            stop: Arc::new(AtomicBool::new(false)),
            progress: None,
            rules: None,
            stats_extra: None,
        }
    }
}

/// What a run did.
#[derive(Debug, Default)]
pub struct Summary {
    /// Merged worker counters.
    pub totals: Snapshot,
    /// Frames read from the sources.
    pub packets_read: u64,
    /// Frames dropped because a worker queue was full (live only).
    pub queue_drops: u64,
    /// Damaged inputs that were read up to the damage (truncated or malformed files).
    pub damaged_inputs: Vec<CaptureError>,
    /// Kernel counters of the last live source.
    pub kernel: Option<KernelStats>,
    /// Wall-clock time.
    pub elapsed: Duration,
}

struct Meta {
    link: LinkType,
    /// Frame number in the run (1-based; 0 in live capture): EVE's `pcap_cnt`.
    pcap_cnt: u64,
    ts_ns: u64,
    wire_len: u32,
    /// Where the frame starts: in `Batch::data`, or in `Batch::shared` when set.
    start: usize,
    len: u32,
}

/// Frames for one worker: copied into `data` (live capture), or, for capture files, only
/// located in `shared`, the reader's chunk — the frame bytes are not copied.
#[derive(Default)]
struct Batch {
    data: Vec<u8>,
    shared: Option<SharedInput>,
    meta: Vec<Meta>,
}

enum Msg {
    Batch(Batch),
    Tick(u64),
}

/// Worker output when threaded: buffers encoded events and ships them in chunks to the writer.
struct ChunkWriter {
    buf: Vec<u8>,
    tx: Sender<Vec<u8>>,
}

impl Write for ChunkWriter {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(b);
        if self.buf.len() >= CHUNK_BYTES {
            // Ship whole lines only: chunks of different workers interleave in the output.
            if let Some(end) = self.buf.iter().rposition(|&c| c == b'\n') {
                let rest = self.buf.split_off(end + 1);
                let chunk = std::mem::replace(&mut self.buf, rest);
                self.tx.send(chunk).map_err(|_| writer_stopped())?;
            }
        }
        Ok(b.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK_BYTES + 4096));
        self.tx.send(chunk).map_err(|_| writer_stopped())
    }
}

type Output = Box<dyn Write + Send>;

/// A worker's view of the writer thread having stopped; the writer's own error says why.
fn writer_stopped() -> io::Error {
    io::Error::other("event writer stopped")
}

enum Pool {
    Inline(Box<Worker<BufWriter<Output>>>),
    Threads(Threads),
}

struct Threads {
    queues: Vec<Sender<Msg>>,
    batches: Vec<Batch>,
    recycle: Receiver<Batch>,
    handles: Vec<JoinHandle<(Snapshot, Option<io::Error>)>>,
    snapshots: Arc<Mutex<Vec<Snapshot>>>,
    events: Sender<Vec<u8>>,
    writer: JoinHandle<io::Result<Output>>,
    live: bool,
    queue_drops: u64,
    events_dropped: u64,
    /// The current source's shared bytes, if frames can be passed by offset.
    input: Option<SharedInput>,
    /// Its base address.
    input_base: usize,
}

/// The thread that owns the output and writes the chunks workers send; returns the output.
fn spawn_writer(output: Output, n: usize) -> (Sender<Vec<u8>>, JoinHandle<io::Result<Output>>) {
    let (events, events_rx) = bounded::<Vec<u8>>(4 * n);
    let writer = std::thread::Builder::new()
        .name("nta-eve".into())
        .spawn(move || {
            let mut out = output;
            for chunk in events_rx {
                out.write_all(&chunk)?;
            }
            out.flush()?;
            Ok(out)
        })
        .expect("spawning the event writer thread");
    (events, writer)
}

fn chunk_writer(events: &Sender<Vec<u8>>) -> ChunkWriter {
    ChunkWriter {
        buf: Vec::with_capacity(CHUNK_BYTES + 4096),
        tx: events.clone(),
    }
}

/// The worker that owns frames with this dispatch hash.
#[inline]
fn shard(hash: u64, n: usize) -> usize {
    ((u128::from(hash) * n as u128) >> 64) as usize
}

/// Packet time, in whole seconds: says when a tick is due.
#[derive(Default)]
struct Clock {
    next_tick: u64,
}

impl Clock {
    /// The tick time if `ts_ns` crossed into a new second (not on the first packet).
    #[inline]
    fn advance(&mut self, ts_ns: u64) -> Option<u64> {
        if ts_ns < self.next_tick {
            // Back by more than a tick (a stray future timestamp, files out of order): follow
            // the clock back, or nothing would expire until it caught up.
            if self.next_tick - ts_ns > 2 * NS {
                self.next_tick = (ts_ns / NS + 1) * NS;
                return Some(ts_ns);
            }
            return None;
        }
        let first = self.next_tick == 0;
        self.next_tick = (ts_ns / NS + 1) * NS;
        (!first).then_some(ts_ns)
    }
}

impl Threads {
    fn start(
        cfg: &Config,
        n: usize,
        reg: &Arc<Registry>,
        rules: &Option<Arc<RulesHandle>>,
        detectors: Option<&DetectorsThread>,
        output: Output,
        live: bool,
    ) -> Threads {
        let (events, writer) = spawn_writer(output, n);
        let depth = cfg.engine.queue_batches;
        let (recycle_tx, recycle) = bounded::<Batch>(n * (depth + 2));
        let snapshots = Arc::new(Mutex::new(vec![Snapshot::default(); n]));
        let mut queues = Vec::with_capacity(n);
        let mut handles = Vec::with_capacity(n);
        for i in 0..n {
            let (tx, rx) = bounded::<Msg>(depth);
            queues.push(tx);
            let mut worker = Worker::new(
                cfg,
                n,
                Arc::clone(reg),
                rules.clone(),
                detectors,
                chunk_writer(&events),
            );
            let recycle_tx = recycle_tx.clone();
            let snaps = Arc::clone(&snapshots);
            let h = std::thread::Builder::new()
                .name(format!("nta-worker-{i}"))
                .spawn(move || {
                    for msg in rx {
                        match msg {
                            Msg::Batch(mut b) => {
                                let bytes: &[u8] = match &b.shared {
                                    Some(s) => (**s).as_ref(),
                                    None => &b.data,
                                };
                                for m in &b.meta {
                                    let end = m.start + m.len as usize;
                                    if let Some(d) = bytes.get(m.start..end) {
                                        worker.packet(m.link, m.ts_ns, m.wire_len, d, m.pcap_cnt);
                                    }
                                }
                                b.data.clear();
                                b.meta.clear();
                                b.shared = None;
                                let _ = recycle_tx.try_send(b);
                            }
                            Msg::Tick(now) => {
                                worker.tick(now);
                                if let Ok(mut s) = snaps.lock() {
                                    s[i] = worker.snapshot();
                                }
                            }
                        }
                    }
                    let (snap, _, err) = worker.finish();
                    (snap, err)
                })
                .expect("spawning a worker thread");
            handles.push(h);
        }
        Threads {
            queues,
            batches: (0..n).map(|_| Batch::default()).collect(),
            recycle,
            handles,
            snapshots,
            events,
            writer,
            live,
            queue_drops: 0,
            events_dropped: 0,
            input: None,
            input_base: 0,
        }
    }

    /// Frames now come from another shared buffer (or none): send what refers to the old one.
    fn set_input(&mut self, input: Option<SharedInput>) -> Result<(), EngineError> {
        for i in 0..self.queues.len() {
            self.send(i)?;
        }
        self.input_base = input
            .as_ref()
            .map(|s| (**s).as_ref().as_ptr() as usize)
            .unwrap_or(0);
        self.input = input;
        for b in &mut self.batches {
            b.shared.clone_from(&self.input);
        }
        Ok(())
    }

    fn send(&mut self, i: usize) -> Result<(), EngineError> {
        self.send_batch(i, self.live)
    }

    /// Sends worker `i`'s batch; `may_drop` (live capture) drops it when the queue is full.
    fn send_batch(&mut self, i: usize, may_drop: bool) -> Result<(), EngineError> {
        let mut fresh = self.recycle.try_recv().unwrap_or_default();
        fresh.shared.clone_from(&self.input);
        let batch = std::mem::replace(&mut self.batches[i], fresh);
        if batch.meta.is_empty() {
            return Ok(());
        }
        if may_drop {
            match self.queues[i].try_send(Msg::Batch(batch)) {
                Ok(()) => Ok(()),
                Err(TrySendError::Full(Msg::Batch(b))) => {
                    self.queue_drops += b.meta.len() as u64;
                    Ok(())
                }
                Err(_) => Err(EngineError::Worker),
            }
        } else {
            self.queues[i]
                .send(Msg::Batch(batch))
                .map_err(|_| EngineError::Worker)
        }
    }
}

impl Pool {
    #[inline]
    fn packet(&mut self, p: &RawPacket<'_>, pcap_cnt: u64) -> Result<(), EngineError> {
        let (link, ts_ns, wire_len, data) = (p.link, p.ts_ns, p.wire_len, p.data);
        match self {
            Pool::Inline(w) => {
                w.packet(link, ts_ns, wire_len, data, pcap_cnt);
                Ok(())
            }
            Pool::Threads(t) => {
                let same_input = match (p.shared, &t.input) {
                    (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                    (None, None) => true,
                    _ => false,
                };
                if !same_input {
                    t.set_input(p.shared.cloned())?;
                }
                let i = shard(dispatch_hash(link, data), t.queues.len());
                let b = &mut t.batches[i];
                let start = if t.input.is_some() {
                    (data.as_ptr() as usize).wrapping_sub(t.input_base)
                } else {
                    let at = b.data.len();
                    b.data.extend_from_slice(data);
                    at
                };
                b.meta.push(Meta {
                    link,
                    pcap_cnt,
                    ts_ns,
                    wire_len,
                    start,
                    len: data.len() as u32,
                });
                if b.meta.len() >= BATCH_PACKETS || b.data.len() >= BATCH_BYTES {
                    t.send(i)?;
                }
                Ok(())
            }
        }
    }

    fn tick(&mut self, now_ns: u64) -> Result<(), EngineError> {
        match self {
            Pool::Inline(w) => {
                w.tick(now_ns);
                Ok(())
            }
            Pool::Threads(t) => {
                for i in 0..t.queues.len() {
                    t.send(i)?;
                }
                for q in &t.queues {
                    if t.live {
                        // A worker too busy for its tick expires its flows at the next one;
                        // the capture does not wait for it.
                        match q.try_send(Msg::Tick(now_ns)) {
                            Ok(()) | Err(TrySendError::Full(_)) => {}
                            Err(TrySendError::Disconnected(_)) => return Err(EngineError::Worker),
                        }
                    } else {
                        q.send(Msg::Tick(now_ns)).map_err(|_| EngineError::Worker)?;
                    }
                }
                Ok(())
            }
        }
    }

    /// Counters as of the last tick (threads) or now (inline).
    fn snapshot(&self) -> Snapshot {
        let mut total = Snapshot::default();
        match self {
            Pool::Inline(w) => total = w.snapshot(),
            Pool::Threads(t) => {
                if let Ok(s) = t.snapshots.lock() {
                    for snap in s.iter() {
                        total.merge(snap);
                    }
                }
            }
        }
        total
    }

    fn emit(&mut self, ev: &Event<'_>) -> Result<(), EngineError> {
        match self {
            Pool::Inline(w) => {
                w.emit_event(ev);
                Ok(())
            }
            Pool::Threads(t) => {
                let mut line = Vec::new();
                ev.write_json(&mut line);
                line.push(b'\n');
                if !t.live {
                    return t.events.send(line).map_err(|_| EngineError::Worker);
                }
                match t.events.try_send(line) {
                    Ok(()) => Ok(()),
                    Err(TrySendError::Full(_)) => {
                        t.events_dropped += 1;
                        Ok(())
                    }
                    Err(TrySendError::Disconnected(_)) => Err(EngineError::Worker),
                }
            }
        }
    }

    /// Whether the output already failed (then reading on is pointless).
    fn output_failed(&self) -> bool {
        match self {
            Pool::Inline(w) => w.output_failed(),
            Pool::Threads(t) => t.writer.is_finished(),
        }
    }

    /// Frames dropped at full worker queues, and events dropped at a full output.
    fn drops(&self) -> (u64, u64) {
        match self {
            Pool::Inline(_) => (0, 0),
            Pool::Threads(t) => (t.queue_drops, t.events_dropped),
        }
    }

    /// Flushes every flow, joins the threads; returns the totals and the output for the final
    /// stats event.
    fn finish(self) -> Result<(Snapshot, EveWriter<Output>), EngineError> {
        match self {
            Pool::Inline(w) => {
                let (snap, out, err) = w.finish();
                if let Some(e) = err {
                    return Err(e.into());
                }
                let inner = out
                    .into_inner()
                    .into_inner()
                    .map_err(|e| EngineError::Output(e.into_error()))?;
                Ok((snap, EveWriter::new(inner)))
            }
            Pool::Threads(mut t) => {
                // The last batches are not dropped, not even in live mode: capture is over.
                for i in 0..t.queues.len() {
                    t.send_batch(i, false)?;
                }
                let Threads {
                    queues,
                    handles,
                    events,
                    writer,
                    ..
                } = t;
                drop(queues);
                let mut total = Snapshot::default();
                let mut first_err = None;
                for h in handles {
                    let (snap, err) = h.join().map_err(|_| EngineError::Worker)?;
                    total.merge(&snap);
                    if first_err.is_none() {
                        first_err = err;
                    }
                }
                drop(events);
                // The writer's own error (disk full, ...) explains the workers' "stopped".
                let out = writer.join().map_err(|_| EngineError::Worker)??;
                if let Some(e) = first_err {
                    return Err(e.into());
                }
                Ok((total, EveWriter::new(out)))
            }
        }
    }
}

fn wall_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// Lets the other stages (store, alert pipeline) add their objects to a `stats` event.
fn add_extra(ev: &mut Record, extra: Option<&StatsExtra>) {
    if let (Some(extra), Some(serde_json::Value::Object(m))) = (extra, ev.body.get_mut("stats")) {
        extra(m);
    }
}

fn stats_event(
    snap: &Snapshot,
    reg: &Registry,
    detectors: Option<&DetectorsThread>,
    kernel: Option<KernelStats>,
    (queue_drops, events_dropped): (u64, u64),
    workers: usize,
    started: Instant,
) -> Record {
    let capture = kernel.map(|k| CaptureStats {
        kernel_packets: k.received,
        kernel_drops: k.dropped,
        kernel_ifdrops: k.if_dropped,
    });
    let engine = EngineStats {
        uptime: started.elapsed().as_secs(),
        queue_drops,
        flows_active: snap.flows_active,
        defrag_bytes: snap.defrag_bytes,
        workers: workers as u64,
        events_dropped,
    };
    let mut body = stats_body(&snap.decoder, &snap.flows, capture.as_ref(), &engine);
    if let serde_json::Value::Object(m) = &mut body {
        let (tcp, app) = app_stats(&snap.app, reg);
        m.insert("tcp".into(), tcp);
        m.insert("app_layer".into(), app);
        let d = &snap.detect;
        m.insert(
            "detect".into(),
            serde_json::json!({
                "alert": d.alerts,
                "alerts_suppressed": d.suppressed,
                "rules_loaded": snap.rules_loaded,
                "rules_evaluated": d.evaluated,
                "reloads": d.reloads,
            }),
        );
        if let Some(d) = detectors {
            let per: serde_json::Map<String, serde_json::Value> = d
                .stats()
                .into_iter()
                .map(|s| {
                    (
                        s.detector.to_string(),
                        serde_json::json!({
                            "alerts": s.alerts,
                            "tracked": s.tracked,
                            "evicted": s.evicted,
                        }),
                    )
                })
                .collect();
            m.insert("detectors".into(), serde_json::Value::Object(per));
        }
    }
    Record::stats(wall_ns(), body)
}

/// `stats.tcp` (reassembly, Suricata's counter names where it has them) and
/// `stats.app_layer` (flows and transactions per protocol).
fn app_stats(a: &AppCounters, reg: &Registry) -> (serde_json::Value, serde_json::Value) {
    use serde_json::{json, Map, Value};
    let s = &a.stream;
    let tcp = json!({
        "segments": s.segments,
        "reassembly_gap": s.gaps,
        "overlap": s.overlaps,
        "overlap_diff_data": s.overlap_diff,
        "retransmissions": s.retransmissions,
        "ooo_queued": s.ooo_queued,
        "stream_depth_reached": s.depth_reached,
        "ooo_flow_cap": s.ooo_flow_cap,
        "segment_memcap_drop": s.memcap,
        "reassembly_memuse": a.memuse,
    });
    let mut flows = Map::new();
    let mut tx = Map::new();
    for (i, e) in reg.entries().iter().enumerate() {
        let name = &e.proto.info().name;
        if let Some(&n) = a.flows.get(i).filter(|&&n| n > 0) {
            flows.insert(name.clone(), n.into());
        }
        if let Some(&n) = a.tx.get(i).filter(|&&n| n > 0) {
            tx.insert(name.clone(), n.into());
        }
    }
    if a.expected > 0 {
        flows.insert("ftp-data".into(), a.expected.into());
    }
    flows.insert("failed".into(), a.failed.into());
    let app = json!({
        "flow": Value::Object(flows),
        "tx": Value::Object(tx),
        "parser_stopped": a.parser_stopped,
    });
    (tcp, app)
}

/// The behavioural detectors all workers feed, on their own thread, unless every one is off.
fn start_detectors(cfg: &Config) -> Result<Option<DetectorsThread>, EngineError> {
    let d = nta_behaviour::Detectors::new(&cfg.detectors)
        .map_err(|e| EngineError::Detectors(e.to_string()))?;
    Ok(d.is_active().then(|| DetectorsThread::start(d)))
}

/// Runs the engine over `sources` in order, writing events to `output`; ends with a `stats`
/// event. A source that fails to open, or fails for good, stops the run after every open flow
/// and the final stats were written, and its error is returned.
pub fn run<I>(
    cfg: &Config,
    sources: I,
    output: Output,
    opts: RunOptions,
) -> Result<Summary, EngineError>
where
    I: IntoIterator<Item = Result<Box<dyn PacketSource>, CaptureError>>,
{
    // The loop itself is not generic: compiled once, here, with the per-packet path inlined.
    run_sources(cfg, &mut sources.into_iter(), output, opts)
}

fn run_sources(
    cfg: &Config,
    sources: &mut dyn Iterator<Item = Result<Box<dyn PacketSource>, CaptureError>>,
    output: Output,
    mut opts: RunOptions,
) -> Result<Summary, EngineError> {
    let started = Instant::now();
    let n = opts.workers.max(1);
    let reg = Arc::new(cfg.protocols.registry()?);
    let detectors = start_detectors(cfg)?;
    let mut pool = if n == 1 {
        Pool::Inline(Box::new(Worker::new(
            cfg,
            1,
            Arc::clone(&reg),
            opts.rules.clone(),
            detectors.as_ref(),
            BufWriter::with_capacity(1 << 20, output),
        )))
    } else {
        Pool::Threads(Threads::start(
            cfg,
            n,
            &reg,
            &opts.rules,
            detectors.as_ref(),
            output,
            opts.live,
        ))
    };
    let mut summary = Summary::default();
    let mut clock = Clock::default();
    let mut next_stats = Instant::now() + opts.stats_interval;
    let mut bytes_done = 0u64;
    let mut last_kernel = None;
    let mut fatal: Option<CaptureError> = None;

    'sources: for src in sources {
        // Sources open one at a time, when their turn comes (no descriptor per file held).
        let mut src = match src {
            Ok(s) => s,
            Err(e) => {
                fatal = Some(e);
                break;
            }
        };
        loop {
            if opts.stop.load(Ordering::Relaxed) {
                last_kernel = src.kernel_stats().or(last_kernel);
                break 'sources;
            }
            let ev = match src.next_packet() {
                Ok(ev) => ev,
                Err(e @ (CaptureError::Truncated { .. } | CaptureError::Malformed { .. })) => {
                    summary.damaged_inputs.push(e);
                    break;
                }
                Err(e) => {
                    // Flush every open flow and the final stats before reporting the error.
                    fatal = Some(e);
                    last_kernel = src.kernel_stats().or(last_kernel);
                    break 'sources;
                }
            };
            match ev {
                SourceEvent::Packet(p) => {
                    if let Some(t) = clock.advance(p.ts_ns) {
                        pool.tick(t)?;
                    }
                    // Suricata numbers the frames of capture files only.
                    let pcap_cnt = if opts.live {
                        0
                    } else {
                        summary.packets_read + 1
                    };
                    pool.packet(&p, pcap_cnt)?;
                    summary.packets_read += 1;
                    if summary.packets_read % PROGRESS_EVERY == 0 {
                        if pool.output_failed() {
                            break 'sources;
                        }
                        if let Some(cb) = opts.progress.as_mut() {
                            cb(Progress {
                                packets: summary.packets_read,
                                bytes: bytes_done + src.progress().0,
                            });
                        }
                    }
                }
                SourceEvent::Idle => {
                    if let Some(t) = clock.advance(wall_ns()) {
                        pool.tick(t)?;
                    }
                }
                SourceEvent::End => break,
            }
            if opts.live && Instant::now() >= next_stats {
                next_stats = Instant::now() + opts.stats_interval;
                last_kernel = src.kernel_stats();
                let mut ev = stats_event(
                    &pool.snapshot(),
                    &reg,
                    detectors.as_ref(),
                    last_kernel,
                    pool.drops(),
                    n,
                    started,
                );
                add_extra(&mut ev, opts.stats_extra.as_ref());
                pool.emit(&Event::Record(&ev))?;
            }
        }
        if opts.live {
            last_kernel = src.kernel_stats().or(last_kernel);
        }
        bytes_done += src.progress().0;
    }

    // `finish` sends the last batches without dropping any, so these counts are final.
    let drops = pool.drops();
    let (totals, mut out) = pool.finish()?;
    summary.queue_drops = drops.0;
    let mut ev = stats_event(
        &totals,
        &reg,
        detectors.as_ref(),
        last_kernel,
        drops,
        n,
        started,
    );
    add_extra(&mut ev, opts.stats_extra.as_ref());
    use nta_event::EventSink;
    out.emit(&Event::Record(&ev))?;
    out.flush()?;
    if let Some(cb) = opts.progress.as_mut() {
        cb(Progress {
            packets: summary.packets_read,
            bytes: bytes_done,
        });
    }
    summary.totals = totals;
    summary.kernel = last_kernel;
    summary.elapsed = started.elapsed();
    match fatal {
        Some(e) => Err(e.into()),
        None => Ok(summary),
    }
}
