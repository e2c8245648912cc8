//! One delivery thread per channel: reads the channel's outbox in order, sends a batch,
//! deletes it once delivered; paces, retries with backoff, reports a receiver that stays down.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use rusqlite::{params, Connection};

use crate::channels::Notification;
use crate::config::CompiledChannel;

/// What a channel's thread and the pipeline share.
#[derive(Debug)]
pub(crate) struct Runtime {
    /// Notifications queued (approximate between commits).
    pub backlog: AtomicU64,
    /// Stop the thread.
    pub stop: AtomicBool,
    /// Wakes the thread (new notifications committed).
    pub wake: Sender<()>,
    /// Whether the receiver is reported down.
    pub down: AtomicBool,
}

pub(crate) fn start(
    path: PathBuf,
    ch: CompiledChannel,
    backlog: u64,
) -> Result<Arc<Runtime>, String> {
    let (wake, wake_rx) = crossbeam_channel::bounded(1);
    let rt = Arc::new(Runtime {
        backlog: AtomicU64::new(backlog),
        stop: AtomicBool::new(false),
        wake,
        down: AtomicBool::new(false),
    });
    let conn = nta_store::Store::open(&path).map_err(|e| e.to_string())?;
    let thread_rt = Arc::clone(&rt);
    std::thread::Builder::new()
        .name(format!("nta-notify-{}", ch.name))
        .spawn(move || {
            let mut w = Worker {
                conn: conn.into_conn(),
                ch,
                rt: thread_rt,
                wake: wake_rx,
            };
            w.run();
        })
        .map_err(|e| format!("cannot start a notification thread: {e}"))?;
    Ok(rt)
}

struct Worker {
    conn: Connection,
    ch: CompiledChannel,
    rt: Arc<Runtime>,
    wake: Receiver<()>,
}

fn now_us() -> i64 {
    nta_store::now_us()
}

impl Worker {
    fn run(&mut self) {
        let name = self.ch.name.clone();
        let mut channel = match self.ch.spec.build() {
            Ok(c) => c,
            Err(e) => {
                self.status_failure(&e, 0);
                eprintln!("nta: alert channel {name}: {e}");
                return;
            }
        };
        let mut next_send = Instant::now();
        let mut failures = 0u32;
        let mut backoff = self.ch.pacing.retry_initial;
        loop {
            if self.rt.stop.load(Ordering::Relaxed) {
                return;
            }
            let now = Instant::now();
            if now < next_send {
                let _ = self.wake.recv_timeout(next_send - now);
                continue;
            }
            let batch = match self.next_batch() {
                Ok(b) => b,
                Err(e) => {
                    // The store is busy or gone: try again shortly.
                    eprintln!("nta: alert channel {name}: reading the outbox: {e}");
                    next_send = Instant::now() + Duration::from_secs(1);
                    continue;
                }
            };
            if batch.is_empty() {
                let _ = self.wake.recv_timeout(Duration::from_secs(1));
                continue;
            }
            let ids: Vec<i64> = batch.iter().map(|(id, _)| *id).collect();
            let notes: Vec<Notification> = batch.into_iter().map(|(_, n)| n).collect();
            match channel.send(&notes) {
                Ok(()) => {
                    let removed = self.delivered(&ids).unwrap_or(0);
                    let _ =
                        self.rt
                            .backlog
                            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                                Some(b.saturating_sub(removed))
                            });
                    if self.rt.down.swap(false, Ordering::Relaxed) {
                        eprintln!("nta: alert channel {name}: receiver is back, delivering");
                    }
                    failures = 0;
                    backoff = self.ch.pacing.retry_initial;
                    next_send = Instant::now() + self.ch.pacing.interval;
                }
                Err(e) => {
                    failures += 1;
                    let down = failures >= self.ch.pacing.down_after;
                    self.status_failure(&e, if down { 1 } else { 0 });
                    let _ = self.conn.execute(
                        &format!(
                            "UPDATE outbox SET attempts = attempts + 1 WHERE id IN ({})",
                            ids.iter()
                                .map(|i| i.to_string())
                                .collect::<Vec<_>>()
                                .join(",")
                        ),
                        [],
                    );
                    if down && !self.rt.down.swap(true, Ordering::Relaxed) {
                        eprintln!(
                            "nta: alert channel {name}: receiver down after {failures} failures \
                             ({e}); notifications are kept and retried"
                        );
                    }
                    next_send = Instant::now() + backoff;
                    backoff = (backoff * 2).min(self.ch.pacing.retry_max);
                }
            }
        }
    }

    /// The oldest notifications of this channel (a payload that no longer reads is dropped).
    fn next_batch(&mut self) -> rusqlite::Result<Vec<(i64, Notification)>> {
        let mut st = self.conn.prepare_cached(
            "SELECT id, payload FROM outbox WHERE channel = ?1 ORDER BY id LIMIT ?2",
        )?;
        let rows: Vec<(i64, String)> = st
            .query_map(
                params![self.ch.name, self.ch.pacing.max_batch as i64],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?
            .collect::<rusqlite::Result<_>>()?;
        drop(st);
        let mut out = Vec::with_capacity(rows.len());
        for (id, payload) in rows {
            match serde_json::from_str::<Notification>(&payload) {
                Ok(n) => out.push((id, n)),
                Err(_) => {
                    self.conn
                        .execute("DELETE FROM outbox WHERE id = ?1", [id])?;
                }
            }
        }
        Ok(out)
    }

    fn delivered(&mut self, ids: &[i64]) -> rusqlite::Result<u64> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let list = ids
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let removed = tx.execute(&format!("DELETE FROM outbox WHERE id IN ({list})"), [])? as u64;
        tx.execute(
            "INSERT INTO channel_status (name, delivered, messages, last_success) VALUES (?1, ?2, 1, ?3)
             ON CONFLICT (name) DO UPDATE SET delivered = delivered + excluded.delivered,
             messages = messages + 1, last_success = excluded.last_success, down_since = NULL,
             last_error = NULL",
            params![self.ch.name, ids.len() as i64, now_us()],
        )?;
        tx.commit()?;
        Ok(removed)
    }

    fn status_failure(&self, error: &str, down: i64) {
        let _ = self.conn.execute(
            "INSERT INTO channel_status (name, failures, last_failure, last_error, down_since)
             VALUES (?1, 1, ?2, ?3, CASE WHEN ?4 = 1 THEN ?2 END)
             ON CONFLICT (name) DO UPDATE SET failures = failures + 1,
             last_failure = excluded.last_failure, last_error = excluded.last_error,
             down_since = CASE WHEN ?4 = 1 THEN coalesce(down_since, excluded.last_failure) ELSE down_since END",
            params![self.ch.name, now_us(), error, down],
        );
    }
}
