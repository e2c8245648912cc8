//! The alert pipeline: every alert the store has written and deduplicated passes
//! suppression, the per-signature thresholds and each channel's filter, and lands in the
//! channel's outbox in the same transaction as the alert (so a notification is never queued
//! for an alert that was lost, nor an alert stored without its notifications).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::channels::Notification;
use crate::config::{
    AlertingConfig, ChannelConfig, CompiledChannel, SuppressConfig, Suppression, Threshold,
    ThresholdConfig, ThresholdKind,
};
use crate::notifier::{self, Runtime};
use nta_store::{format_us as ts, AlertHook, Store, StoredAlert};

/// Why an alerting operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AlertingError {
    /// The configuration (or a change) is invalid.
    #[error("{0}")]
    Invalid(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] nta_store::StoreError),
    /// SQLite failed.
    #[error("store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// No such channel, suppression, …
    #[error("{0} not found")]
    NotFound(String),
}

/// Pipeline counters.
#[derive(Debug, Default, Serialize)]
pub struct PipelineCounters {
    /// Alert events that matched a suppression.
    pub suppressed: AtomicU64,
    /// New alerts held back by a threshold.
    pub thresholded: AtomicU64,
    /// Notifications queued (all channels).
    pub queued: AtomicU64,
    /// Notifications dropped at a full outbox.
    pub dropped: AtomicU64,
}

struct Channel {
    compiled: CompiledChannel,
    config: ChannelConfig,
    origin: String,
    rt: Arc<Runtime>,
}

struct State {
    suppressions: Vec<Suppression>,
    thresholds: HashMap<(u32, u32), Threshold>,
    channels: Vec<Channel>,
}

struct Inner {
    path: PathBuf,
    outbox_max: u64,
    state: Mutex<State>,
    counters: PipelineCounters,
}

impl Inner {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The running pipeline: the runtime API (channels, suppressions, thresholds) that the web
/// server exposes.
#[derive(Clone)]
pub struct Alerting {
    inner: Arc<Inner>,
}

/// A channel as shown to people (secrets redacted) with its delivery status.
#[derive(Clone, Debug, Serialize)]
pub struct ChannelInfo {
    /// Name.
    pub name: String,
    /// `webhook`, `email`, `syslog`, `file`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Whether it takes alerts.
    pub enabled: bool,
    /// `config` (nta.toml) or `runtime`.
    pub origin: String,
    /// The configuration, secrets replaced by `********`.
    pub config: serde_json::Value,
    /// Notifications waiting.
    pub backlog: u64,
    /// Alerts delivered.
    pub delivered: u64,
    /// Messages sent.
    pub messages: u64,
    /// Failed attempts.
    pub failures: u64,
    /// Notifications dropped at a full outbox.
    pub dropped: u64,
    /// Last delivery (EVE timestamp).
    pub last_success: Option<String>,
    /// Last failure.
    pub last_failure: Option<String>,
    /// Its error.
    pub last_error: Option<String>,
    /// Since when the receiver is down, if it is.
    pub down_since: Option<String>,
}

impl Alerting {
    /// Starts the pipeline on `store`: the configuration's channels, suppressions and
    /// thresholds (replacing those of the last run's configuration; ones added at run time
    /// stay), and a delivery thread per channel, which first delivers what is left in the
    /// outbox. Returns the handle and the hook to give the store's writer.
    pub fn start(
        store: &Store,
        cfg: &AlertingConfig,
    ) -> Result<(Alerting, Box<dyn AlertHook>), AlertingError> {
        cfg.validate().map_err(AlertingError::Invalid)?;
        let conn = store.conn();
        let now = nta_store::now_us();
        // The configuration's entries replace the previous configuration's.
        conn.execute("DELETE FROM suppressions WHERE origin = 'config'", [])?;
        for s in &cfg.suppress {
            insert_suppression(conn, s, "config", "config")?;
        }
        conn.execute("DELETE FROM thresholds WHERE origin = 'config'", [])?;
        for t in &cfg.threshold {
            let t = t.to_threshold().map_err(AlertingError::Invalid)?;
            upsert_threshold(conn, &t, "config")?;
        }
        conn.execute("DELETE FROM channels WHERE origin = 'config'", [])?;
        for c in &cfg.channels {
            conn.execute(
                "INSERT INTO channels (name, config, origin, updated_at) VALUES (?1, ?2, 'config', ?3)
                 ON CONFLICT (name) DO UPDATE SET config = excluded.config, origin = 'config',
                 updated_at = excluded.updated_at",
                params![c.name, serde_json::to_string(c).unwrap_or_default(), now],
            )?;
        }
        // Notifications for channels that no longer exist cannot be delivered.
        let orphans = conn.execute(
            "DELETE FROM outbox WHERE channel NOT IN (SELECT name FROM channels)",
            [],
        )?;
        if orphans > 0 {
            eprintln!(
                "nta: alerting: {orphans} queued notifications dropped: their channels are no longer configured"
            );
        }
        let inner = Arc::new(Inner {
            path: store.path().to_path_buf(),
            outbox_max: cfg.outbox_max.max(1),
            state: Mutex::new(State {
                suppressions: Vec::new(),
                thresholds: HashMap::new(),
                channels: Vec::new(),
            }),
            counters: PipelineCounters::default(),
        });
        let alerting = Alerting { inner };
        alerting.reload_rules(conn)?;
        let rows: Vec<(String, String, String)> = conn
            .prepare("SELECT name, config, origin FROM channels ORDER BY name")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (name, json, origin) in rows {
            let config: ChannelConfig = match serde_json::from_str(&json) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!(
                        "nta: alerting: stored channel {name:?} is unreadable ({e}); skipped"
                    );
                    continue;
                }
            };
            match config.compile() {
                Ok(compiled) => alerting.spawn(conn, compiled, config, origin)?,
                Err(e) => eprintln!("nta: alerting: stored channel {name:?}: {e}; skipped"),
            }
        }
        let hook = Box::new(Hook {
            inner: Arc::clone(&alerting.inner),
            windows: HashMap::new(),
            woken: Vec::new(),
        });
        Ok((alerting, hook))
    }

    fn spawn(
        &self,
        conn: &Connection,
        compiled: CompiledChannel,
        config: ChannelConfig,
        origin: String,
    ) -> Result<(), AlertingError> {
        let backlog: i64 = conn.query_row(
            "SELECT count(*) FROM outbox WHERE channel = ?1",
            [&compiled.name],
            |r| r.get(0),
        )?;
        conn.execute(
            "INSERT OR IGNORE INTO channel_status (name) VALUES (?1)",
            [&compiled.name],
        )?;
        let rt = notifier::start(self.inner.path.clone(), compiled.clone(), backlog as u64)
            .map_err(AlertingError::Invalid)?;
        let mut st = self.inner.state();
        st.channels.retain(|c| {
            if c.compiled.name == compiled.name {
                c.rt.stop.store(true, Ordering::Relaxed);
                let _ = c.rt.wake.try_send(());
                false
            } else {
                true
            }
        });
        st.channels.push(Channel {
            compiled,
            config,
            origin,
            rt,
        });
        Ok(())
    }

    fn reload_rules(&self, conn: &Connection) -> Result<(), AlertingError> {
        let suppressions = conn
            .prepare(
                "SELECT id, gid, sid, network, until, reason, created_by, origin FROM suppressions ORDER BY id",
            )?
            .query_map([], |r| {
                let net: Option<String> = r.get(3)?;
                Ok(Suppression {
                    id: r.get(0)?,
                    gid: r.get(1)?,
                    sid: r.get(2)?,
                    network: net.and_then(|n| nta_store::parse_net(&n).ok()),
                    until: r.get(4)?,
                    reason: r.get(5)?,
                    created_by: r.get(6)?,
                    origin: r.get(7)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let thresholds = conn
            .prepare("SELECT gid, sid, kind, count, seconds FROM thresholds")?
            .query_map([], |r| {
                let kind: String = r.get(2)?;
                Ok(Threshold {
                    gid: r.get(0)?,
                    sid: r.get(1)?,
                    kind: match kind.as_str() {
                        "limit" => ThresholdKind::Limit,
                        "threshold" => ThresholdKind::Threshold,
                        _ => ThresholdKind::Both,
                    },
                    count: r.get(3)?,
                    seconds: r.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut st = self.inner.state();
        st.suppressions = suppressions;
        st.thresholds = thresholds
            .into_iter()
            .map(|t| ((t.gid, t.sid), t))
            .collect();
        Ok(())
    }

    fn conn(&self) -> Result<Store, AlertingError> {
        Ok(Store::open(&self.inner.path)?)
    }

    /// The counters.
    pub fn counters(&self) -> &PipelineCounters {
        &self.inner.counters
    }

    /// Every channel with its delivery status.
    pub fn channels(&self) -> Result<Vec<ChannelInfo>, AlertingError> {
        let store = self.conn()?;
        let st = self.inner.state();
        let mut out = Vec::new();
        for c in &st.channels {
            let row = store
                .conn()
                .query_row(
                    "SELECT delivered, messages, failures, dropped, last_success, last_failure,
                     last_error, down_since FROM channel_status WHERE name = ?1",
                    [&c.compiled.name],
                    |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, i64>(1)?,
                            r.get::<_, i64>(2)?,
                            r.get::<_, i64>(3)?,
                            r.get::<_, Option<i64>>(4)?,
                            r.get::<_, Option<i64>>(5)?,
                            r.get::<_, Option<String>>(6)?,
                            r.get::<_, Option<i64>>(7)?,
                        ))
                    },
                )
                .optional()?
                .unwrap_or_default();
            let backlog: i64 = store.conn().query_row(
                "SELECT count(*) FROM outbox WHERE channel = ?1",
                [&c.compiled.name],
                |r| r.get(0),
            )?;
            out.push(ChannelInfo {
                name: c.compiled.name.clone(),
                kind: c.compiled.spec.kind().into(),
                enabled: c.compiled.enabled,
                origin: c.origin.clone(),
                config: c.config.redacted(),
                backlog: backlog as u64,
                delivered: row.0 as u64,
                messages: row.1 as u64,
                failures: row.2 as u64,
                dropped: row.3 as u64,
                last_success: row.4.map(ts),
                last_failure: row.5.map(ts),
                last_error: row.6,
                down_since: row.7.map(ts),
            });
        }
        Ok(out)
    }

    /// Adds a channel (kept in the store: it survives restarts).
    pub fn add_channel(&self, config: ChannelConfig) -> Result<(), AlertingError> {
        if self
            .inner
            .state()
            .channels
            .iter()
            .any(|c| c.compiled.name == config.name)
        {
            return Err(AlertingError::Invalid(format!(
                "a channel named {:?} exists already",
                config.name
            )));
        }
        self.put_channel(config, "runtime")
    }

    /// Replaces a channel's configuration (a channel from nta.toml gets the configuration's
    /// again at the next start).
    pub fn update_channel(&self, name: &str, config: ChannelConfig) -> Result<(), AlertingError> {
        let origin = {
            let st = self.inner.state();
            let Some(c) = st.channels.iter().find(|c| c.compiled.name == name) else {
                return Err(AlertingError::NotFound(format!("channel {name:?}")));
            };
            c.origin.clone()
        };
        if config.name != name {
            return Err(AlertingError::Invalid(
                "a channel cannot be renamed; remove it and add a new one".into(),
            ));
        }
        self.put_channel(config, &origin)
    }

    fn put_channel(&self, config: ChannelConfig, origin: &str) -> Result<(), AlertingError> {
        let compiled = config.compile().map_err(AlertingError::Invalid)?;
        let store = self.conn()?;
        store.conn().execute(
            "INSERT INTO channels (name, config, origin, updated_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (name) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at",
            params![
                config.name,
                serde_json::to_string(&config).unwrap_or_default(),
                origin,
                nta_store::now_us()
            ],
        )?;
        self.spawn(store.conn(), compiled, config, origin.to_string())
    }

    /// Removes a channel and drops its queued notifications.
    pub fn remove_channel(&self, name: &str) -> Result<(), AlertingError> {
        let mut st = self.inner.state();
        let Some(i) = st.channels.iter().position(|c| c.compiled.name == name) else {
            return Err(AlertingError::NotFound(format!("channel {name:?}")));
        };
        let c = st.channels.remove(i);
        c.rt.stop.store(true, Ordering::Relaxed);
        let _ = c.rt.wake.try_send(());
        drop(st);
        let store = self.conn()?;
        store
            .conn()
            .execute("DELETE FROM channels WHERE name = ?1", [name])?;
        store
            .conn()
            .execute("DELETE FROM outbox WHERE channel = ?1", [name])?;
        store
            .conn()
            .execute("DELETE FROM channel_status WHERE name = ?1", [name])?;
        Ok(())
    }

    /// Sends a test notification through a channel now (not through the outbox).
    pub fn test_channel(&self, name: &str) -> Result<(), AlertingError> {
        let spec = {
            let st = self.inner.state();
            let Some(c) = st.channels.iter().find(|c| c.compiled.name == name) else {
                return Err(AlertingError::NotFound(format!("channel {name:?}")));
            };
            c.compiled.spec.clone()
        };
        send_test(&spec).map_err(AlertingError::Invalid)
    }

    /// Suppressions in force (config and runtime).
    pub fn suppressions(&self) -> Vec<Suppression> {
        self.inner.state().suppressions.clone()
    }

    /// Adds a suppression made at run time by `who`; returns its id.
    pub fn add_suppression(&self, s: &SuppressConfig, who: &str) -> Result<i64, AlertingError> {
        s.to_suppression(0).map_err(AlertingError::Invalid)?;
        let store = self.conn()?;
        let id = insert_suppression(store.conn(), s, who, "runtime")?;
        self.reload_rules(store.conn())?;
        Ok(id)
    }

    /// Removes a suppression.
    pub fn remove_suppression(&self, id: i64) -> Result<(), AlertingError> {
        let store = self.conn()?;
        if store
            .conn()
            .execute("DELETE FROM suppressions WHERE id = ?1", [id])?
            == 0
        {
            return Err(AlertingError::NotFound(format!("suppression {id}")));
        }
        self.reload_rules(store.conn())
    }

    /// Thresholds in force.
    pub fn thresholds(&self) -> Vec<Threshold> {
        let mut v: Vec<Threshold> = self.inner.state().thresholds.values().copied().collect();
        v.sort_by_key(|t| (t.gid, t.sid));
        v
    }

    /// Sets (or replaces) a signature's threshold at run time.
    pub fn set_threshold(&self, t: &ThresholdConfig) -> Result<(), AlertingError> {
        let t = t.to_threshold().map_err(AlertingError::Invalid)?;
        let store = self.conn()?;
        upsert_threshold(store.conn(), &t, "runtime")?;
        self.reload_rules(store.conn())
    }

    /// Removes a signature's threshold.
    pub fn remove_threshold(&self, gid: u32, sid: u32) -> Result<(), AlertingError> {
        let store = self.conn()?;
        if store.conn().execute(
            "DELETE FROM thresholds WHERE gid = ?1 AND sid = ?2",
            [gid, sid],
        )? == 0
        {
            return Err(AlertingError::NotFound(format!(
                "threshold for {gid}:{sid}"
            )));
        }
        self.reload_rules(store.conn())
    }

    /// Waits until every enabled channel's outbox is empty, or `timeout`; returns what is
    /// still queued (delivered at the next start).
    pub fn drain(&self, timeout: Duration) -> Result<u64, AlertingError> {
        let store = self.conn()?;
        let deadline = Instant::now() + timeout;
        loop {
            let names: Vec<String> = self
                .inner
                .state()
                .channels
                .iter()
                .filter(|c| c.compiled.enabled)
                .map(|c| c.compiled.name.clone())
                .collect();
            let mut left = 0i64;
            for n in &names {
                left += store.conn().query_row(
                    "SELECT count(*) FROM outbox WHERE channel = ?1",
                    [n],
                    |r| r.get::<_, i64>(0),
                )?;
            }
            if left == 0 || Instant::now() >= deadline {
                return Ok(left as u64);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the delivery threads (what is queued stays in the outbox).
    pub fn stop(&self) {
        for c in &self.inner.state().channels {
            c.rt.stop.store(true, Ordering::Relaxed);
            let _ = c.rt.wake.try_send(());
        }
    }

    /// The pipeline's state for `stats` events: counters and per-channel backlog and health.
    pub fn stats(&self) -> serde_json::Value {
        let c = &self.inner.counters;
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut channels = serde_json::Map::new();
        for ch in &self.inner.state().channels {
            channels.insert(
                ch.compiled.name.clone(),
                serde_json::json!({
                    "backlog": ch.rt.backlog.load(Ordering::Relaxed),
                    "down": ch.rt.down.load(Ordering::Relaxed),
                }),
            );
        }
        serde_json::json!({
            "suppressed": g(&c.suppressed),
            "thresholded": g(&c.thresholded),
            "queued": g(&c.queued),
            "dropped": g(&c.dropped),
            "channels": channels,
        })
    }
}

/// A notification saying it is a test.
pub fn test_notification() -> Notification {
    let now = nta_store::now_us();
    let timestamp = ts(now);
    Notification {
        alert_id: 0,
        timestamp: timestamp.clone(),
        severity: 3,
        signature: "NTA test notification".into(),
        gid: 0,
        sid: 0,
        rev: 0,
        category: Some("Test".into()),
        source: "test".into(),
        src_ip: Some("192.0.2.1".into()),
        src_port: Some(12345),
        dest_ip: Some("198.51.100.1".into()),
        dest_port: Some(80),
        proto: Some("TCP".into()),
        app_proto: None,
        event: serde_json::json!({
            "timestamp": timestamp,
            "event_type": "alert",
            "src_ip": "192.0.2.1", "src_port": 12345,
            "dest_ip": "198.51.100.1", "dest_port": 80, "proto": "TCP",
            "alert": {"action": "allowed", "gid": 0, "signature_id": 0, "rev": 0,
                      "signature": "NTA test notification", "category": "Test",
                      "severity": 3, "source": "test"}
        }),
    }
}

/// Sends [`test_notification`] through a channel.
pub fn send_test(spec: &crate::channels::ChannelSpec) -> Result<(), String> {
    let mut ch = spec.build()?;
    ch.send(&[test_notification()])
}

fn insert_suppression(
    conn: &Connection,
    s: &SuppressConfig,
    who: &str,
    origin: &str,
) -> Result<i64, AlertingError> {
    let sup = s.to_suppression(0).map_err(AlertingError::Invalid)?;
    conn.execute(
        "INSERT INTO suppressions (gid, sid, network, until, reason, created_by, created_at, origin)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            sup.gid,
            sup.sid,
            sup.network.map(|n| n.to_string()),
            sup.until,
            sup.reason,
            who,
            nta_store::now_us(),
            origin
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

fn upsert_threshold(conn: &Connection, t: &Threshold, origin: &str) -> Result<(), AlertingError> {
    let kind = match t.kind {
        ThresholdKind::Limit => "limit",
        ThresholdKind::Threshold => "threshold",
        ThresholdKind::Both => "both",
    };
    conn.execute(
        "INSERT INTO thresholds (gid, sid, kind, count, seconds, origin) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (gid, sid) DO UPDATE SET kind = excluded.kind, count = excluded.count,
         seconds = excluded.seconds, origin = excluded.origin",
        params![t.gid, t.sid, kind, t.count, t.seconds, origin],
    )?;
    Ok(())
}

/// The writer-side part of the pipeline.
struct Hook {
    inner: Arc<Inner>,
    /// Threshold windows per signature: (window start µs, alerts in it).
    windows: HashMap<(u32, u32), (i64, u32)>,
    /// Channels to wake after the commit.
    woken: Vec<Arc<Runtime>>,
}

impl Hook {
    /// Whether a threshold lets this alert through (Suricata's limit/threshold/both).
    fn passes(&mut self, t: &Threshold, ts: i64) -> bool {
        let window = i64::from(t.seconds) * 1_000_000;
        let e = self.windows.entry((t.gid, t.sid)).or_insert((ts, 0));
        // Alerts reach the store per worker, so not quite in time order: one a little older
        // than the window's start still counts in it; only one a whole window away (later, or
        // much earlier: another capture) starts a new window.
        if ts >= e.0 + window || ts + window <= e.0 {
            *e = (ts, 0);
        }
        e.1 += 1;
        match t.kind {
            ThresholdKind::Limit => e.1 <= t.count,
            ThresholdKind::Threshold => {
                if e.1 >= t.count {
                    e.1 = 0;
                    e.0 = ts;
                    true
                } else {
                    false
                }
            }
            ThresholdKind::Both => e.1 == t.count,
        }
    }
}

impl AlertHook for Hook {
    fn alert(&mut self, conn: &Connection, a: &StoredAlert<'_>) -> rusqlite::Result<()> {
        let inner = Arc::clone(&self.inner);
        let st = inner.state();
        let now = nta_store::now_us();
        if st
            .suppressions
            .iter()
            .any(|s| s.matches(a.gid, a.sid, a.src_ip, a.dest_ip, now))
        {
            if a.new {
                conn.prepare_cached("UPDATE alerts SET suppressed = 1 WHERE id = ?1")?
                    .execute([a.id])?;
            }
            inner.counters.suppressed.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        // A repeat raises the alert's count; the alert was offered once, when it was new.
        if !a.new {
            return Ok(());
        }
        if let Some(t) = st.thresholds.get(&(a.gid, a.sid)).copied() {
            if !self.passes(&t, a.ts) {
                inner.counters.thresholded.fetch_add(1, Ordering::Relaxed);
                return Ok(());
            }
        }
        let n = Notification {
            alert_id: a.id,
            timestamp: a.timestamp.to_string(),
            severity: a.severity,
            signature: a.signature.to_string(),
            gid: a.gid,
            sid: a.sid,
            rev: a.rev,
            category: a.category.map(str::to_string),
            source: a.source.to_string(),
            src_ip: Some(a.src_ip.to_string()).filter(|s| !s.is_empty()),
            src_port: a.src_port,
            dest_ip: Some(a.dest_ip.to_string()).filter(|s| !s.is_empty()),
            dest_port: a.dest_port,
            proto: a.proto.map(str::to_string),
            app_proto: a.app_proto.map(str::to_string),
            event: serde_json::from_str(a.event).unwrap_or(serde_json::Value::Null),
        };
        let mut payload = None;
        for c in st.channels.iter() {
            if !c.compiled.enabled || !c.compiled.filter.matches(&n) {
                continue;
            }
            let p = payload.get_or_insert_with(|| serde_json::to_string(&n).unwrap_or_default());
            conn.prepare_cached(
                "INSERT INTO outbox (channel, alert_id, created, payload) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![c.compiled.name, a.id, now, &*p])?;
            inner.counters.queued.fetch_add(1, Ordering::Relaxed);
            let backlog = c.rt.backlog.fetch_add(1, Ordering::Relaxed) + 1;
            if backlog > inner.outbox_max {
                // Full: the oldest go, counted.
                let excess = backlog - inner.outbox_max;
                let removed =
                    conn.prepare_cached(
                        "DELETE FROM outbox WHERE id IN
                         (SELECT id FROM outbox WHERE channel = ?1 ORDER BY id LIMIT ?2)",
                    )?
                    .execute(params![c.compiled.name, excess as i64])? as u64;
                conn.prepare_cached(
                    "INSERT INTO channel_status (name, dropped) VALUES (?1, ?2)
                     ON CONFLICT (name) DO UPDATE SET dropped = dropped + excluded.dropped",
                )?
                .execute(params![c.compiled.name, removed as i64])?;
                c.rt.backlog
                    .fetch_sub(removed.min(backlog), Ordering::Relaxed);
                inner.counters.dropped.fetch_add(removed, Ordering::Relaxed);
            }
            if !self.woken.iter().any(|w| Arc::ptr_eq(w, &c.rt)) {
                self.woken.push(Arc::clone(&c.rt));
            }
        }
        Ok(())
    }

    fn committed(&mut self) {
        for rt in self.woken.drain(..) {
            let _ = rt.wake.try_send(());
        }
    }
}
