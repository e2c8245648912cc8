//! The writer: EVE lines in, batched transactions out, off the packet path.

use std::borrow::Cow;
use std::collections::BTreeMap;

// hashbrown's default hasher (foldhash): the rollup maps are hit for every flow.
use hashbrown::HashMap;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender, TrySendError};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Deserialize;

use crate::ip::key_of;
use crate::retention::Retention;
use crate::{schema, Ctx, Shared, Store, StoreError};

/// How the writer batches and what it keeps.
#[derive(Clone, Debug)]
pub struct IngestConfig {
    /// A transaction is committed at most this long after its first event (so a crash loses
    /// at most this much of what the store accepted).
    pub commit_interval: Duration,
    /// Or once it holds this many events.
    pub max_batch: usize,
    /// Chunks of lines queued between the outputs and the writer.
    pub queue: usize,
    /// Live capture: a full queue drops (counted) instead of waiting.
    pub live: bool,
    /// Alerts with the same gid, sid, source and destination within this window are one
    /// alert with a count.
    pub dedup_window: Duration,
    /// Hosts and ports kept per minute in the rollups once the minute is complete.
    pub top_n: usize,
    /// What is deleted, and when.
    pub retention: Retention,
    /// How often retention runs.
    pub retention_interval: Duration,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            commit_interval: Duration::from_millis(250),
            max_batch: 20_000,
            queue: 256,
            live: false,
            dedup_window: Duration::from_secs(300),
            top_n: 100,
            retention: Retention::default(),
            retention_interval: Duration::from_secs(30),
        }
    }
}

/// What the writer did; shared with whoever reports it.
#[derive(Debug, Default)]
pub struct IngestCounters {
    /// Events written (committed or about to be).
    pub events: AtomicU64,
    /// Events dropped because the queue was full (live capture) or the writer had stopped.
    pub dropped: AtomicU64,
    /// Lines that were not EVE JSON.
    pub invalid: AtomicU64,
    /// Transactions committed.
    pub commits: AtomicU64,
    /// Chunks waiting in the queue.
    pub queued: AtomicU64,
    /// Rows deleted by retention.
    pub expired: AtomicU64,
    /// Alerts stored (before deduplication) and deduplicated alerts created.
    pub alerts: AtomicU64,
    /// Deduplicated alerts created.
    pub alert_groups: AtomicU64,
}

impl IngestCounters {
    /// The counters as a JSON object (for `stats` events and metrics).
    pub fn to_json(&self) -> serde_json::Value {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        serde_json::json!({
            "events": g(&self.events),
            "dropped": g(&self.dropped),
            "invalid": g(&self.invalid),
            "commits": g(&self.commits),
            "queued": g(&self.queued),
            "expired": g(&self.expired),
            "alerts": g(&self.alerts),
            "alert_groups": g(&self.alert_groups),
        })
    }
}

/// An alert as stored, offered to the alert pipeline inside the writer's transaction.
#[derive(Debug)]
pub struct StoredAlert<'a> {
    /// Id of the deduplicated alert.
    pub id: i64,
    /// First event of a new deduplicated alert (later ones only raise its count).
    pub new: bool,
    /// Events in the deduplicated alert so far.
    pub count: i64,
    /// Event time, µs.
    pub ts: i64,
    /// The EVE timestamp.
    pub timestamp: &'a str,
    /// Generator id.
    pub gid: u32,
    /// Signature id.
    pub sid: u32,
    /// Revision.
    pub rev: u32,
    /// Message.
    pub signature: &'a str,
    /// Classification description.
    pub category: Option<&'a str>,
    /// 1 (high) .. 4.
    pub severity: u8,
    /// `rule`, `detector`, `ml`.
    pub source: &'a str,
    /// Source address.
    pub src_ip: &'a str,
    /// Source port.
    pub src_port: Option<u16>,
    /// Destination address.
    pub dest_ip: &'a str,
    /// Destination port.
    pub dest_port: Option<u16>,
    /// Transport.
    pub proto: Option<&'a str>,
    /// Application protocol.
    pub app_proto: Option<&'a str>,
    /// The EVE line.
    pub event: &'a str,
}

/// The alert pipeline's part in the writer: called for every stored alert, in the same
/// transaction (so what it enqueues commits or is lost together with the alert).
pub trait AlertHook: Send {
    /// One alert, stored and deduplicated.
    fn alert(&mut self, conn: &Connection, alert: &StoredAlert<'_>) -> rusqlite::Result<()>;
    /// The transaction holding the last alerts committed.
    fn committed(&mut self) {}
}

enum Msg {
    Lines(Vec<u8>),
    Sync(Sender<()>),
}

/// The running writer.
pub struct Ingest {
    tx: Sender<Msg>,
    counters: Arc<IngestCounters>,
    thread: Option<JoinHandle<Result<(), StoreError>>>,
    live: bool,
}

impl Ingest {
    /// Starts the writer thread on its own connection to `store`'s database.
    pub fn start(
        store: &Store,
        cfg: IngestConfig,
        hook: Option<Box<dyn AlertHook>>,
    ) -> Result<Ingest, StoreError> {
        let conn = schema::connect(store.path())?;
        // A large page cache for the indexes being written, and checkpoints on a thread of
        // their own (a checkpoint in the writer stops all writing while it copies).
        conn.execute_batch("PRAGMA cache_size = -131072; PRAGMA wal_autocheckpoint = 0;")
            .ctx(store.path())?;
        let checkpoints = Checkpointer::start(store.path())?;
        let (tx, rx) = bounded(cfg.queue.max(1));
        let counters = Arc::new(IngestCounters::default());
        let live = cfg.live;
        let mut w = Writer {
            conn,
            path: store.path().to_path_buf(),
            shared: Arc::clone(store.shared()),
            counters: Arc::clone(&counters),
            hook,
            cfg,
            open: None,
            rows: 0,
            dedup: HashMap::new(),
            epoch: u64::MAX,
            roll: Rollups::default(),
            minutes: BTreeMap::new(),
            newest: 0,
            last_retention: Instant::now(),
            last_size_check: Instant::now(),
            retention_behind: false,
            _checkpoints: checkpoints,
        };
        let thread = std::thread::Builder::new()
            .name("nta-store".into())
            .spawn(move || w.run(rx))
            .map_err(|e| StoreError::Invalid(format!("cannot start the store writer: {e}")))?;
        Ok(Ingest {
            tx,
            counters,
            thread: Some(thread),
            live,
        })
    }

    /// An output taking EVE lines for the store.
    pub fn input(&self) -> StoreInput {
        StoreInput {
            tx: self.tx.clone(),
            pending: Vec::new(),
            live: self.live,
            counters: Arc::clone(&self.counters),
        }
    }

    /// The counters.
    pub fn counters(&self) -> &Arc<IngestCounters> {
        &self.counters
    }

    /// Waits until everything queued before this call is committed.
    pub fn sync(&self) -> Result<(), StoreError> {
        let (done, wait) = bounded(1);
        if self.tx.send(Msg::Sync(done)).is_ok() {
            let _ = wait.recv();
        }
        Ok(())
    }

    /// Stops the writer once every input is dropped and the queue is empty; returns its error.
    pub fn finish(mut self) -> Result<(), StoreError> {
        let Some(t) = self.thread.take() else {
            return Ok(());
        };
        let (tx, _) = bounded(1);
        drop(std::mem::replace(&mut self.tx, tx));
        t.join()
            .unwrap_or_else(|_| Err(StoreError::Invalid("the store writer panicked".into())))
    }
}

/// An `io::Write` taking EVE JSON lines for the store: complete lines are queued for the
/// writer, a partial one waits for its end. Never fails: what cannot be queued is counted as
/// dropped (so a broken store never stops capture or the EVE file).
pub struct StoreInput {
    tx: Sender<Msg>,
    pending: Vec<u8>,
    live: bool,
    counters: Arc<IngestCounters>,
}

impl StoreInput {
    fn send(&mut self, chunk: Vec<u8>) {
        let lines = chunk.iter().filter(|&&c| c == b'\n').count() as u64;
        let sent = if self.live {
            match self.tx.try_send(Msg::Lines(chunk)) {
                Ok(()) => true,
                Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => false,
            }
        } else {
            self.tx.send(Msg::Lines(chunk)).is_ok()
        };
        if sent {
            self.counters.queued.fetch_add(1, Ordering::Relaxed);
        } else {
            self.counters.dropped.fetch_add(lines, Ordering::Relaxed);
        }
    }
}

impl io::Write for StoreInput {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(b);
        if let Some(end) = self.pending.iter().rposition(|&c| c == b'\n') {
            let rest = self.pending.split_off(end + 1);
            let chunk = std::mem::replace(&mut self.pending, rest);
            self.send(chunk);
        }
        Ok(b.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

// ---- parsing -------------------------------------------------------------------------

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(borrow)]
    timestamp: Cow<'a, str>,
    flow_id: Option<u64>,
    #[serde(borrow)]
    event_type: Cow<'a, str>,
    #[serde(borrow, default)]
    src_ip: Option<Cow<'a, str>>,
    src_port: Option<u16>,
    #[serde(borrow, default)]
    dest_ip: Option<Cow<'a, str>>,
    dest_port: Option<u16>,
    #[serde(borrow, default)]
    proto: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    app_proto: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    flow: Option<FlowObj<'a>>,
    #[serde(borrow, default)]
    alert: Option<AlertObj<'a>>,
    #[serde(borrow, default)]
    http: Option<Http<'a>>,
    #[serde(borrow, default)]
    dns: Option<Dns<'a>>,
    #[serde(borrow, default)]
    tls: Option<Sni<'a>>,
    #[serde(borrow, default)]
    quic: Option<Sni<'a>>,
    #[serde(borrow, default)]
    ssh: Option<Ssh<'a>>,
    #[serde(borrow, default)]
    smtp: Option<Smtp<'a>>,
}

/// When the typed reading fails (an object of an unexpected shape), the envelope alone.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    timestamp: Cow<'a, str>,
    flow_id: Option<u64>,
    #[serde(borrow)]
    event_type: Cow<'a, str>,
}

#[derive(Deserialize, Default)]
struct FlowObj<'a> {
    #[serde(default)]
    pkts_toserver: u64,
    #[serde(default)]
    pkts_toclient: u64,
    #[serde(default)]
    bytes_toserver: u64,
    #[serde(default)]
    bytes_toclient: u64,
    #[serde(borrow, default)]
    start: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    end: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    state: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    reason: Option<Cow<'a, str>>,
    #[serde(default)]
    alerted: bool,
}

#[derive(Deserialize)]
struct AlertObj<'a> {
    #[serde(default = "one")]
    gid: u32,
    signature_id: u32,
    #[serde(default)]
    rev: u32,
    #[serde(borrow, default)]
    signature: Cow<'a, str>,
    #[serde(borrow, default)]
    category: Option<Cow<'a, str>>,
    #[serde(default = "three")]
    severity: u8,
    #[serde(borrow, default)]
    source: Option<Cow<'a, str>>,
}

fn one() -> u32 {
    1
}
fn three() -> u8 {
    3
}

#[derive(Deserialize)]
struct Http<'a> {
    #[serde(borrow, default)]
    hostname: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    url: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Dns<'a> {
    #[serde(borrow, default)]
    rrname: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    queries: Option<Vec<Query<'a>>>,
}

#[derive(Deserialize)]
struct Query<'a> {
    #[serde(borrow, default)]
    rrname: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Sni<'a> {
    #[serde(borrow, default)]
    sni: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Ssh<'a> {
    #[serde(borrow, default)]
    client: Option<Software<'a>>,
    #[serde(borrow, default)]
    server: Option<Software<'a>>,
}

#[derive(Deserialize)]
struct Software<'a> {
    #[serde(borrow, default)]
    software_version: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Smtp<'a> {
    #[serde(borrow, default)]
    helo: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    mail_from: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    rcpt_to: Option<Vec<Cow<'a, str>>>,
}

impl Line<'_> {
    /// Host names, SNI, URLs, query names and software of the event, space-separated.
    fn text(&self) -> Option<String> {
        let mut parts: Vec<&str> = Vec::new();
        if let Some(h) = &self.http {
            parts.extend(h.hostname.as_deref());
            parts.extend(h.url.as_deref());
        }
        if let Some(d) = &self.dns {
            parts.extend(d.rrname.as_deref());
            for q in d.queries.iter().flatten() {
                if let Some(n) = q.rrname.as_deref() {
                    if !parts.contains(&n) {
                        parts.push(n);
                    }
                }
            }
        }
        for s in [&self.tls, &self.quic].into_iter().flatten() {
            parts.extend(s.sni.as_deref());
        }
        if let Some(s) = &self.ssh {
            for sw in [&s.client, &s.server].into_iter().flatten() {
                parts.extend(sw.software_version.as_deref());
            }
        }
        if let Some(s) = &self.smtp {
            parts.extend(s.helo.as_deref());
            parts.extend(s.mail_from.as_deref());
            for r in s.rcpt_to.iter().flatten() {
                parts.push(r);
            }
        }
        parts.retain(|p| !p.is_empty());
        (!parts.is_empty()).then(|| parts.join(" "))
    }
}

/// What a flow event holds beyond the `flows` columns (`tcp`, `community_id`, `flow.age`,
/// VLANs, tunnels, ICMP, …): stored instead of the whole line, which the columns would
/// repeat — the flow's row is then about half as large, and the store is write-bound.
/// [`crate::query`] puts the event back together.
type Members<'a> = indexmap::IndexMap<&'a str, &'a serde_json::value::RawValue>;

fn flow_rest(text: &str, f: &FlowObj<'_>) -> String {
    // Members are sliced out as they are (no tree is built).
    match serde_json::from_str::<Members<'_>>(text) {
        Ok(top) => flow_rest_of(&top, text, f),
        Err(_) => text.to_string(), // keys with escapes: kept whole (read back as is)
    }
}

/// Reads a flow event in one pass: its members sliced out (no tree built), the typed fields
/// read from their slices. `None` when it is not a flow event or not this simple (escapes in
/// strings): the typed reading takes it then.
fn read_flow(text: &str) -> Option<(Line<'_>, String)> {
    let top: Members<'_> = serde_json::from_str(text).ok()?;
    if top.get("event_type")?.get() != "\"flow\"" {
        return None;
    }
    let s = |k: &str| -> Option<Option<Cow<'_, str>>> {
        match top.get(k) {
            None => Some(None),
            Some(v) => serde_json::from_str::<&str>(v.get())
                .ok()
                .map(|x| Some(Cow::Borrowed(x))),
        }
    };
    let n = |k: &str| -> Option<Option<u64>> {
        match top.get(k) {
            None => Some(None),
            Some(v) => serde_json::from_str::<u64>(v.get()).ok().map(Some),
        }
    };
    let flow: Option<FlowObj<'_>> = match top.get("flow") {
        Some(v) => Some(serde_json::from_str(v.get()).ok()?),
        None => None,
    };
    let port =
        |k: &str| -> Option<Option<u16>> { n(k).map(|p| p.and_then(|p| u16::try_from(p).ok())) };
    let line = Line {
        timestamp: s("timestamp")??,
        flow_id: n("flow_id")?,
        event_type: Cow::Borrowed("flow"),
        src_ip: s("src_ip")?,
        src_port: port("src_port")?,
        dest_ip: s("dest_ip")?,
        dest_port: port("dest_port")?,
        proto: s("proto")?,
        app_proto: s("app_proto")?,
        flow,
        alert: None,
        http: None,
        dns: None,
        tls: None,
        quic: None,
        ssh: None,
        smtp: None,
    };
    let empty = FlowObj::default();
    let rest = flow_rest_of(&top, text, line.flow.as_ref().unwrap_or(&empty));
    Some((line, rest))
}

fn flow_rest_of(top: &Members<'_>, text: &str, f: &FlowObj<'_>) -> String {
    const COLUMNS: [&str; 8] = [
        "flow_id",
        "event_type",
        "src_ip",
        "src_port",
        "dest_ip",
        "dest_port",
        "proto",
        "app_proto",
    ];
    const FLOW_COLUMNS: [&str; 9] = [
        "pkts_toserver",
        "pkts_toclient",
        "bytes_toserver",
        "bytes_toclient",
        "start",
        "end",
        "state",
        "reason",
        "alerted",
    ];
    let end = f.end.as_deref().map(|e| format!("\"{e}\""));
    let mut out = String::with_capacity(256);
    out.push('{');
    let put = |out: &mut String, k: &str, v: &str| {
        if out.len() > 1 {
            out.push(',');
        }
        out.push('"');
        out.push_str(k);
        out.push_str("\":");
        out.push_str(v);
    };
    for (k, v) in top {
        if COLUMNS.contains(k) || (*k == "timestamp" && end.as_deref() == Some(v.get())) {
            continue;
        }
        if *k == "flow" {
            let Ok(inner) = serde_json::from_str::<Members<'_>>(v.get()) else {
                return text.to_string();
            };
            let mut obj = String::from("{");
            for (ik, iv) in &inner {
                if !FLOW_COLUMNS.contains(ik) {
                    put(&mut obj, ik, iv.get());
                }
            }
            obj.push('}');
            put(&mut out, k, &obj);
        } else {
            put(&mut out, k, v.get());
        }
    }
    out.push('}');
    out
}

fn us(ts: &str) -> Option<i64> {
    nta_event::parse_timestamp(ts).map(|ns| (ns / 1000) as i64)
}

// ---- rollups --------------------------------------------------------------------------

const MINUTE_US: i64 = 60_000_000;
const HOUR_US: i64 = 3_600_000_000;
/// Flows longer than this are spread over their last day only.
const MAX_SPREAD_MINUTES: i64 = 1440;

type Sums = [i64; 3]; // packets, bytes, flows

/// Rollups written at every commit (small: one row per minute and protocol or severity).
#[derive(Default)]
struct Rollups {
    /// proto → app_proto → minute → sums (nested, so that a flow allocates no key).
    traffic: HashMap<String, HashMap<String, HashMap<i64, Sums>>>,
    alerts: HashMap<(i64, u8, String), i64>,
}

impl Rollups {
    fn is_empty(&self) -> bool {
        self.traffic.is_empty() && self.alerts.is_empty()
    }
}

/// One minute's hosts and ports, kept in memory until the minute is complete; then only its
/// top N are written (writing every host of every minute is most of the write load).
#[derive(Default)]
struct MinuteTops {
    /// Source address → sums.
    src: HashMap<String, Sums>,
    /// Destination address → sums.
    dest: HashMap<String, Sums>,
    /// (transport, destination port) → sums.
    ports: HashMap<(String, u16), Sums>,
}

/// The `n` largest by bytes.
fn top_by_bytes<K: Clone>(map: &HashMap<K, Sums>, n: usize) -> Vec<(K, Sums)> {
    let mut v: Vec<(K, Sums)> = map.iter().map(|(k, s)| (k.clone(), *s)).collect();
    if v.len() > n {
        v.select_nth_unstable_by(n - 1, |a, b| b.1[1].cmp(&a.1[1]));
        v.truncate(n);
    }
    v
}

/// Splits `total` over the minutes of [start, end] in proportion to the time in each; calls
/// `f(minute_start_secs, share)`. The shares add up to `total`.
fn spread(start: i64, end: i64, total: [i64; 2], mut f: impl FnMut(i64, [i64; 2])) {
    let end = end.max(start);
    let start = start.max(end - MAX_SPREAD_MINUTES * MINUTE_US);
    let (m0, m1) = (start.div_euclid(MINUTE_US), end.div_euclid(MINUTE_US));
    if m0 == m1 {
        f(m0 * 60, total);
        return;
    }
    let dur = (end - start).max(1) as i128;
    let mut given = [0i64; 2];
    for m in m0..=m1 {
        let lo = start.max(m * MINUTE_US);
        let hi = end.min((m + 1) * MINUTE_US);
        let share = if m == m1 {
            [total[0] - given[0], total[1] - given[1]]
        } else {
            let part = |t: i64| ((t as i128 * (hi - lo) as i128) / dur) as i64;
            [part(total[0]), part(total[1])]
        };
        given[0] += share[0];
        given[1] += share[1];
        f(m * 60, share);
    }
}

// ---- the writer -----------------------------------------------------------------------

type DedupKey = (u32, u32, String, String);

struct Writer {
    conn: Connection,
    path: PathBuf,
    shared: Arc<Shared>,
    counters: Arc<IngestCounters>,
    hook: Option<Box<dyn AlertHook>>,
    cfg: IngestConfig,
    /// When the open transaction began.
    open: Option<Instant>,
    rows: usize,
    /// Open deduplicated alerts: key → (id, last_seen µs).
    dedup: HashMap<DedupKey, (i64, i64)>,
    epoch: u64,
    roll: Rollups,
    /// Hosts and ports of the minutes not yet complete, by minute.
    minutes: BTreeMap<i64, MinuteTops>,
    /// Newest event time seen (µs).
    newest: i64,
    last_retention: Instant,
    last_size_check: Instant,
    /// Retention stopped at its budget: more to delete.
    retention_behind: bool,
    _checkpoints: Checkpointer,
}

/// Copies the write-ahead log into the database every half second, on its own connection.
struct Checkpointer {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    fn start(path: &std::path::Path) -> Result<Checkpointer, StoreError> {
        let conn = schema::connect(path)?;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("nta-checkpoint".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(500));
                    // PASSIVE: copies what it can without waiting for the writer or readers.
                    let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                }
                let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
            })
            .map_err(|e| StoreError::Invalid(format!("cannot start the checkpoint thread: {e}")))?;
        Ok(Checkpointer {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Writer {
    fn run(&mut self, rx: Receiver<Msg>) -> Result<(), StoreError> {
        let result = self.serve(&rx);
        // Whatever happened, keep what was accepted, and the last minutes' tops.
        let end = self
            .begin()
            .and_then(|()| self.write_minutes(true))
            .and_then(|()| self.commit());
        self.persist_dropped();
        result.and(end)
    }

    fn serve(&mut self, rx: &Receiver<Msg>) -> Result<(), StoreError> {
        loop {
            let wait = match self.open {
                Some(t) => self.cfg.commit_interval.saturating_sub(t.elapsed()),
                None => self.cfg.retention_interval,
            };
            match rx.recv_timeout(wait) {
                Ok(Msg::Lines(chunk)) => {
                    self.counters.queued.fetch_sub(1, Ordering::Relaxed);
                    self.begin()?;
                    for line in chunk.split(|&c| c == b'\n') {
                        if !line.is_empty() {
                            self.ingest(line)?;
                        }
                    }
                    if self.rows >= self.cfg.max_batch {
                        self.commit()?;
                    }
                }
                Ok(Msg::Sync(done)) => {
                    self.commit()?;
                    let _ = done.send(());
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return Ok(()),
            }
            if self
                .open
                .is_some_and(|t| t.elapsed() >= self.cfg.commit_interval)
            {
                self.commit()?;
            }
            if self.open.is_none() && self.last_retention.elapsed() >= self.cfg.retention_interval {
                self.last_retention = Instant::now();
                self.maintain()?;
            }
        }
    }

    fn begin(&mut self) -> Result<(), StoreError> {
        if self.open.is_none() {
            // IMMEDIATE: take the write lock now, waiting for it (busy timeout) if a delivery
            // thread holds it. A deferred transaction that reads first cannot wait when it
            // later upgrades to write: SQLite answers "database is locked" at once.
            self.conn.execute_batch("BEGIN IMMEDIATE").ctx(&self.path)?;
            self.open = Some(Instant::now());
            self.rows = 0;
        }
        Ok(())
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        if self.open.is_none() {
            return Ok(());
        }
        self.write_rollups()?;
        self.write_minutes(false)?;
        self.conn.execute_batch("COMMIT").ctx(&self.path)?;
        self.open = None;
        self.counters.commits.fetch_add(1, Ordering::Relaxed);
        if let Some(h) = self.hook.as_mut() {
            h.committed();
        }
        Ok(())
    }

    fn persist_dropped(&mut self) {
        let n = self.counters.dropped.swap(0, Ordering::Relaxed);
        if n > 0 {
            let _ = self.conn.execute(
                "INSERT INTO counters (name, value) VALUES ('events_dropped', ?1)
                 ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
                [n as i64],
            );
        }
    }

    fn ingest(&mut self, raw: &[u8]) -> Result<(), StoreError> {
        let Ok(text) = std::str::from_utf8(raw) else {
            self.counters.invalid.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        };
        // Flows, most of the lines, in one pass.
        if let Some((line, rest)) = read_flow(text) {
            let Some(ts) = us(&line.timestamp) else {
                self.counters.invalid.fetch_add(1, Ordering::Relaxed);
                return Ok(());
            };
            self.newest = self.newest.max(ts);
            self.flow(&line, ts, rest).ctx(&self.path)?;
            self.rows += 1;
            self.counters.events.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        let line: Line<'_> = match serde_json::from_str(text) {
            Ok(l) => l,
            Err(_) => match serde_json::from_str::<Envelope<'_>>(text) {
                Ok(e) => {
                    // An unexpected shape: kept as a plain event, nothing lost.
                    let Some(ts) = us(&e.timestamp) else {
                        self.counters.invalid.fetch_add(1, Ordering::Relaxed);
                        return Ok(());
                    };
                    self.conn
                        .prepare_cached(
                            "INSERT INTO events (ts, flow_id, event_type, event, hour) VALUES (?1, ?2, ?3, ?4, ?5)",
                        )
                        .and_then(|mut s| {
                            s.execute(params![
                                ts,
                                e.flow_id.map(|f| f as i64),
                                &*e.event_type,
                                text,
                                ts.div_euclid(HOUR_US)
                            ])
                        })
                        .ctx(&self.path)?;
                    self.rows += 1;
                    self.counters.events.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
                Err(_) => {
                    self.counters.invalid.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
            },
        };
        let Some(ts) = us(&line.timestamp) else {
            self.counters.invalid.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        };
        self.newest = self.newest.max(ts);
        let r = match &*line.event_type {
            "stats" => return Ok(()),
            "flow" => {
                let empty = FlowObj::default();
                let rest = flow_rest(text, line.flow.as_ref().unwrap_or(&empty));
                self.flow(&line, ts, rest)
            }
            "alert" => self.alert(&line, ts, text),
            _ => self.event(&line, ts, text),
        };
        r.ctx(&self.path)?;
        self.rows += 1;
        self.counters.events.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn flow(&mut self, l: &Line<'_>, ts: i64, rest: String) -> rusqlite::Result<()> {
        let f = l.flow.as_ref();
        let start = f
            .and_then(|f| f.start.as_deref())
            .and_then(us)
            .unwrap_or(ts);
        let end = f.and_then(|f| f.end.as_deref()).and_then(us).unwrap_or(ts);
        let src = l.src_ip.as_deref().unwrap_or("");
        let dest = l.dest_ip.as_deref().unwrap_or("");
        let (src_key, dest_key) = (
            key_of(src).unwrap_or_default(),
            key_of(dest).unwrap_or_default(),
        );
        let empty = FlowObj::default();
        let f = f.unwrap_or(&empty);
        let proto = l.proto.as_deref().unwrap_or("");
        self.conn
            .prepare_cached(
                "INSERT INTO flows (ts, ts_end, flow_id, src_ip, src_key, src_port, dest_ip,
                 dest_key, dest_port, proto, app_proto, pkts_toserver, pkts_toclient,
                 bytes_toserver, bytes_toclient, state, reason, alerted, event, hour)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
            )?
            .execute(params![
                start,
                end,
                l.flow_id.map(|x| x as i64),
                src,
                &src_key[..],
                l.src_port,
                dest,
                &dest_key[..],
                l.dest_port,
                proto,
                l.app_proto.as_deref(),
                f.pkts_toserver as i64,
                f.pkts_toclient as i64,
                f.bytes_toserver as i64,
                f.bytes_toclient as i64,
                f.state.as_deref(),
                f.reason.as_deref(),
                f.alerted,
                rest,
                start.div_euclid(HOUR_US),
            ])?;
        let packets = (f.pkts_toserver + f.pkts_toclient) as i64;
        let bytes = (f.bytes_toserver + f.bytes_toclient) as i64;
        let app = l.app_proto.as_deref().unwrap_or("");
        let roll = &mut self.roll;
        let first_minute = start.div_euclid(MINUTE_US) * 60;
        let by_minute = roll
            .traffic
            .entry_ref(proto)
            .or_default()
            .entry_ref(app)
            .or_default();
        spread(start, end, [packets, bytes], |m, [p, b]| {
            let s = by_minute.entry(m).or_default();
            s[0] += p;
            s[1] += b;
            s[2] += i64::from(m == first_minute);
        });
        // Hosts and ports count in the minute the flow ended.
        let m = self
            .minutes
            .entry(end.div_euclid(MINUTE_US) * 60)
            .or_default();
        let add = |s: &mut Sums| {
            s[0] += packets;
            s[1] += bytes;
            s[2] += 1;
        };
        if !src.is_empty() {
            add(m.src.entry_ref(src).or_default());
        }
        if !dest.is_empty() {
            add(m.dest.entry_ref(dest).or_default());
        }
        if let Some(port) = l.dest_port {
            add(m.ports.entry((proto.to_string(), port)).or_default());
        }
        Ok(())
    }

    fn event(&mut self, l: &Line<'_>, ts: i64, text: &str) -> rusqlite::Result<()> {
        let src = l.src_ip.as_deref();
        let dest = l.dest_ip.as_deref();
        let sk = src.and_then(key_of);
        let dk = dest.and_then(key_of);
        self.conn
            .prepare_cached(
                "INSERT INTO events (ts, flow_id, event_type, src_ip, src_key, src_port, dest_ip,
                 dest_key, dest_port, proto, app_proto, text, event, hour)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            )?
            .execute(params![
                ts,
                l.flow_id.map(|x| x as i64),
                &*l.event_type,
                src,
                sk.as_ref().map(|k| &k[..]),
                l.src_port,
                dest,
                dk.as_ref().map(|k| &k[..]),
                l.dest_port,
                l.proto.as_deref(),
                l.app_proto.as_deref(),
                l.text(),
                text,
                ts.div_euclid(HOUR_US),
            ])?;
        Ok(())
    }

    fn alert(&mut self, l: &Line<'_>, ts: i64, text: &str) -> rusqlite::Result<()> {
        let Some(a) = &l.alert else {
            return self.event(l, ts, text);
        };
        let src = l.src_ip.as_deref().unwrap_or("");
        let dest = l.dest_ip.as_deref().unwrap_or("");
        let source = a.source.as_deref().unwrap_or("rule");
        let epoch = self.shared.lifecycle_epoch.load(Ordering::Relaxed);
        if epoch != self.epoch || self.dedup.len() > 100_000 {
            self.dedup.clear();
            self.epoch = epoch;
        }
        let key: DedupKey = (a.gid, a.signature_id, src.to_string(), dest.to_string());
        let window = self.cfg.dedup_window.as_micros() as i64;
        let mut found = self.dedup.get(&key).copied();
        if found.is_none() {
            found = self
                .conn
                .prepare_cached(
                    "SELECT id, last_seen FROM alerts WHERE sid = ?1 AND gid = ?2 AND src_ip = ?3
                     AND dest_ip = ?4 AND status != 'closed' ORDER BY last_seen DESC LIMIT 1",
                )?
                .query_row(params![a.signature_id, a.gid, src, dest], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()?;
        }
        let (id, new, count) = match found {
            Some((id, last)) if ts - last <= window => {
                let count: i64 = self
                    .conn
                    .prepare_cached(
                        "UPDATE alerts SET count = count + 1, last_seen = max(last_seen, ?2)
                         WHERE id = ?1 RETURNING count",
                    )?
                    .query_row(params![id, ts], |r| r.get(0))?;
                self.dedup.insert(key, (id, last.max(ts)));
                (id, false, count)
            }
            _ => {
                let text_field = {
                    let mut t = a.signature.to_string();
                    if let Some(x) = l.text() {
                        t.push(' ');
                        t.push_str(&x);
                    }
                    t
                };
                let sk = key_of(src).unwrap_or_default();
                let dk = key_of(dest).unwrap_or_default();
                self.conn
                    .prepare_cached(
                        "INSERT INTO alerts (first_seen, last_seen, gid, sid, rev, signature,
                         category, severity, source, src_ip, src_key, src_port, dest_ip, dest_key,
                         dest_port, proto, app_proto, flow_id, text, event)
                         VALUES (?1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,
                         ?15, ?16, ?17, ?18, ?19)",
                    )?
                    .execute(params![
                        ts,
                        a.gid,
                        a.signature_id,
                        a.rev,
                        &*a.signature,
                        a.category.as_deref(),
                        a.severity,
                        source,
                        src,
                        &sk[..],
                        l.src_port,
                        dest,
                        &dk[..],
                        l.dest_port,
                        l.proto.as_deref(),
                        l.app_proto.as_deref(),
                        l.flow_id.map(|x| x as i64),
                        text_field,
                        text,
                    ])?;
                let id = self.conn.last_insert_rowid();
                self.dedup.insert(key, (id, ts));
                self.counters.alert_groups.fetch_add(1, Ordering::Relaxed);
                (id, true, 1)
            }
        };
        self.conn
            .prepare_cached(
                "INSERT INTO alert_events (alert_id, ts, flow_id, event) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![id, ts, l.flow_id.map(|x| x as i64), text])?;
        self.counters.alerts.fetch_add(1, Ordering::Relaxed);
        *self
            .roll
            .alerts
            .entry((
                ts.div_euclid(MINUTE_US) * 60,
                a.severity,
                source.to_string(),
            ))
            .or_default() += 1;
        if let Some(h) = self.hook.as_mut() {
            h.alert(
                &self.conn,
                &StoredAlert {
                    id,
                    new,
                    count,
                    ts,
                    timestamp: &l.timestamp,
                    gid: a.gid,
                    sid: a.signature_id,
                    rev: a.rev,
                    signature: &a.signature,
                    category: a.category.as_deref(),
                    severity: a.severity,
                    source,
                    src_ip: src,
                    src_port: l.src_port,
                    dest_ip: dest,
                    dest_port: l.dest_port,
                    proto: l.proto.as_deref(),
                    app_proto: l.app_proto.as_deref(),
                    event: text,
                },
            )?;
        }
        Ok(())
    }

    fn write_rollups(&mut self) -> Result<(), StoreError> {
        if self.roll.is_empty() {
            return Ok(());
        }
        let roll = std::mem::take(&mut self.roll);
        let c = &self.conn;
        let r: rusqlite::Result<()> = (|| {
            let mut s = c.prepare_cached(
                "INSERT INTO rollup_traffic (minute, proto, app_proto, packets, bytes, flows)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO UPDATE SET
                 packets = packets + excluded.packets, bytes = bytes + excluded.bytes,
                 flows = flows + excluded.flows",
            )?;
            for (p, apps) in &roll.traffic {
                for (a, minutes) in apps {
                    for (m, v) in minutes {
                        s.execute(params![m, p, a, v[0], v[1], v[2]])?;
                    }
                }
            }
            let mut s = c.prepare_cached(
                "INSERT INTO rollup_alerts (minute, severity, source, count) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT DO UPDATE SET count = count + excluded.count",
            )?;
            for ((m, sev, src), n) in &roll.alerts {
                s.execute(params![m, sev, src, n])?;
            }
            Ok(())
        })();
        r.ctx(&self.path)
    }

    /// Writes the top hosts and ports of the complete minutes (all of them with `all`), in
    /// the open transaction. A minute is complete two minutes after the newest event; a flow
    /// ending in a minute already written adds to it later (its rows are summed).
    fn write_minutes(&mut self, all: bool) -> Result<(), StoreError> {
        let cutoff = if all {
            i64::MAX
        } else {
            self.newest.div_euclid(MINUTE_US) * 60 - 120
        };
        let done: Vec<i64> = self.minutes.range(..cutoff).map(|(m, _)| *m).collect();
        if done.is_empty() {
            return Ok(());
        }
        let n = self.cfg.top_n.max(1);
        let c = &self.conn;
        let r: rusqlite::Result<()> = (|| {
            for m in &done {
                let Some(tops) = self.minutes.remove(m) else {
                    continue;
                };
                let mut s = c.prepare_cached(
                    "INSERT INTO rollup_hosts (minute, role, ip, ip_key, packets, bytes, flows)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO UPDATE SET
                     packets = packets + excluded.packets, bytes = bytes + excluded.bytes,
                     flows = flows + excluded.flows",
                )?;
                for (role, hosts) in [("src", &tops.src), ("dest", &tops.dest)] {
                    for (ip, v) in top_by_bytes(hosts, n) {
                        let k = key_of(&ip).unwrap_or_default();
                        s.execute(params![m, role, ip, &k[..], v[0], v[1], v[2]])?;
                    }
                }
                let mut s = c.prepare_cached(
                    "INSERT INTO rollup_ports (minute, proto, port, packets, bytes, flows)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO UPDATE SET
                     packets = packets + excluded.packets, bytes = bytes + excluded.bytes,
                     flows = flows + excluded.flows",
                )?;
                for ((proto, port), v) in top_by_bytes(&tops.ports, n) {
                    s.execute(params![m, proto, port, v[0], v[1], v[2]])?;
                }
            }
            Ok(())
        })();
        r.ctx(&self.path)
    }

    /// One step of retention: at most a few thousand rows, so that writing goes on; the size
    /// of the tables is measured once per retention interval.
    fn maintain(&mut self) -> Result<(), StoreError> {
        let check_size = self.last_size_check.elapsed() >= self.cfg.retention_interval;
        if check_size {
            self.last_size_check = Instant::now();
        }
        let (deleted, behind) = self
            .cfg
            .retention
            .enforce(&self.conn, RETENTION_STEP, check_size)
            .ctx(&self.path)?;
        self.retention_behind = behind;
        self.counters.expired.fetch_add(deleted, Ordering::Relaxed);
        self.persist_dropped();
        Ok(())
    }
}

/// Rows retention deletes per step.
const RETENTION_STEP: i64 = 5_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_keeps_totals_and_follows_time() {
        let mut got = Vec::new();
        // 30 s in minute 0, 60 s in minute 1, 30 s in minute 2.
        spread(30_000_000, 150_000_000, [120, 1200], |m, s| {
            got.push((m, s))
        });
        assert_eq!(got, vec![(0, [30, 300]), (60, [60, 600]), (120, [30, 300])]);
        let mut one = Vec::new();
        spread(61_000_000, 62_000_000, [5, 50], |m, s| one.push((m, s)));
        assert_eq!(one, vec![(60, [5, 50])]);
    }
}
