//! The counters behind `threshold` and `detection_filter`, shared by every worker.
//!
//! Flows are spread over workers by address pair, so a counter kept per worker would see a
//! source that talks to many destinations in pieces (`track by_src` would count 1 of 16 on
//! each worker). Suricata keeps these counters in one host (and IP pair) table for all its
//! threads; [`Thresholds`] is that table: one map behind a mutex, held in an [`Arc`] by
//! every [`crate::Detector`] ([`crate::Detector::share_thresholds`]).
//!
//! The lock is taken only when a rule with a `threshold` or `detection_filter` matched, and
//! by the periodic expiry ([`Thresholds::expire`], at most once per second of packet time
//! whatever the number of workers).
//!
//! ```
//! use std::sync::Arc;
//! use nta_detect::{Detector, Engine, Thresholds};
//!
//! let engine = Engine::empty().shared();
//! let shared = Arc::new(Thresholds::new());
//! let mut workers: Vec<Detector> = (0..2).map(|_| Detector::new(Arc::clone(&engine))).collect();
//! for w in &mut workers {
//!     w.share_thresholds(Arc::clone(&shared));
//! }
//! assert!(shared.is_empty());
//! ```

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};

use nta_rules::{ThresholdKind, Track};

use crate::signature::Sig;

/// Most counters a store keeps (all workers together); past it, the older half is dropped
/// (counted in [`Thresholds::evicted`]). An entry takes 73 bytes in a hash table of up to
/// 2 Mi slots: at most about 150 MiB.
pub const MAX_THRESHOLD_COUNTERS: usize = 1 << 20;

/// Expired counters are swept at most this often (packet time): every worker ticks, and one
/// sweep serves them all.
const SWEEP_INTERVAL_NS: u64 = NS;

const NS: u64 = 1_000_000_000;

/// What a counter is kept for: the tracked address(es), the rule, or the flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum TrackKey {
    Rule,
    Ip(IpAddr),
    Pair(IpAddr, IpAddr),
    Flow(u64),
}

/// `threshold` or `detection_filter`: a rule may have both, counted apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Which {
    Threshold,
    DetectionFilter,
}

/// (gid, sid, which, tracked) → counter. Keyed by gid and sid rather than by rule index so
/// that counts survive a rule reload.
type Key = (u32, u32, Which, TrackKey);

#[derive(Clone, Copy, Debug)]
struct Counter {
    /// Start of the current window (packet time, ns).
    first_ns: u64,
    count: u32,
    seconds: u32,
}

impl Counter {
    fn expired(&self, now_ns: u64) -> bool {
        now_ns.saturating_sub(self.first_ns) > u64::from(self.seconds).saturating_mul(NS)
    }
}

#[derive(Debug, Default)]
struct Store {
    counters: HashMap<Key, Counter>,
    last_sweep_ns: u64,
}

/// The `threshold` and `detection_filter` counters of a run, one store for all its workers
/// ([`crate::Detector::share_thresholds`]). Counters are keyed by gid and sid, so they
/// survive a rule reload.
#[derive(Debug, Default)]
pub struct Thresholds {
    store: Mutex<Store>,
    evicted: AtomicU64,
}

/// The packet (or transaction) a match is counted for.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Matched {
    pub(crate) src: IpAddr,
    pub(crate) dst: IpAddr,
    pub(crate) flow_id: u64,
    pub(crate) now_ns: u64,
}

impl Thresholds {
    /// An empty store.
    pub fn new() -> Thresholds {
        Thresholds::default()
    }

    /// Counters held.
    pub fn len(&self) -> usize {
        self.lock().counters.len()
    }

    /// Whether no counter is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Counters dropped because the store reached [`MAX_THRESHOLD_COUNTERS`].
    pub fn evicted(&self) -> u64 {
        self.evicted.load(Ordering::Relaxed)
    }

    /// Packet time advanced: drops counters whose window is over. Skipped when another
    /// worker holds the lock or swept less than a second ago; a stale counter is reset on
    /// its next match anyway, so the sweep only bounds memory.
    pub fn expire(&self, now_ns: u64) {
        let mut st = match self.store.try_lock() {
            Ok(g) => g,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => return,
        };
        if st.last_sweep_ns != 0 && now_ns.abs_diff(st.last_sweep_ns) < SWEEP_INTERVAL_NS {
            return;
        }
        st.last_sweep_ns = now_ns;
        st.counters.retain(|_, c| !c.expired(now_ns));
    }

    /// `sig` matched: counts the match and answers whether it may alert (its
    /// `detection_filter` and `threshold` allow it). Takes the lock only for a rule that has
    /// one of them.
    pub(crate) fn admit(&self, sig: &Sig, m: &Matched) -> bool {
        if sig.detection_filter.is_none() && sig.threshold.is_none() {
            return true;
        }
        let key = |track: Track| match track {
            Track::BySrc => TrackKey::Ip(m.src),
            Track::ByDst => TrackKey::Ip(m.dst),
            Track::ByBoth => TrackKey::Pair(m.src, m.dst),
            Track::ByRule => TrackKey::Rule,
            Track::ByFlow => TrackKey::Flow(m.flow_id),
        };
        let (gid, sid) = (sig.info.gid, sig.info.sid);
        let mut st = self.lock();
        if let Some(df) = sig.detection_filter {
            let k = (gid, sid, Which::DetectionFilter, key(df.track));
            let c = self.count(&mut st, k, df.seconds, m.now_ns);
            // Alerts from the (count + 1)-th match in the window on.
            if c.count <= df.count {
                return false;
            }
        }
        if let Some(t) = sig.threshold {
            let k = (gid, sid, Which::Threshold, key(t.track));
            let c = self.count(&mut st, k, t.seconds, m.now_ns);
            let n = c.count;
            return match t.kind {
                // The first `count` matches of the window.
                ThresholdKind::Limit => n <= t.count,
                // The `count`-th match of the window only.
                ThresholdKind::Both => n == t.count,
                // Every `count`-th match: the count starts over after an alert.
                ThresholdKind::Threshold => {
                    if n >= t.count {
                        c.count = 0;
                        true
                    } else {
                        false
                    }
                }
            };
        }
        true
    }

    fn lock(&self) -> MutexGuard<'_, Store> {
        // A worker that panicked while holding the lock left whole counters behind (every
        // update is a single assignment): keep using them.
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts one match in a window of `seconds` that starts at its first match.
    fn count<'s>(&self, st: &'s mut Store, key: Key, seconds: u32, now: u64) -> &'s mut Counter {
        if st.counters.len() >= MAX_THRESHOLD_COUNTERS && !st.counters.contains_key(&key) {
            self.evict_older_half(st);
        }
        let c = st.counters.entry(key).or_insert(Counter {
            first_ns: now,
            count: 0,
            seconds,
        });
        if c.expired(now) {
            c.first_ns = now;
            c.count = 0;
        }
        c.seconds = seconds;
        c.count = c.count.saturating_add(1);
        c
    }

    fn evict_older_half(&self, st: &mut Store) {
        let mut ages: Vec<u64> = st.counters.values().map(|c| c.first_ns).collect();
        let mid = ages.len() / 2;
        let cut = *ages.select_nth_unstable(mid).1;
        let before = st.counters.len();
        st.counters.retain(|_, c| c.first_ns > cut);
        let dropped = before - st.counters.len();
        self.evicted.fetch_add(dropped as u64, Ordering::Relaxed);
    }
}

/// A store for one detector alone (the default until [`crate::Detector::share_thresholds`]).
pub(crate) fn private() -> Arc<Thresholds> {
    Arc::new(Thresholds::new())
}
