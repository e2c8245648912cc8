//! The rules in force, shared by the workers and replaceable while they run.
//!
//! A reload builds a new [`Engine`] off the packet path and swaps it in; each worker picks it
//! up at its next tick (within a second of packet time, or of wall time when idle), keeping
//! its flows and their flowbits. Nothing is dropped while the new rules compile.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use nta_detect::{Engine, Thresholds};

/// The current rule engine and a generation counter bumped on every swap.
#[derive(Debug)]
pub struct RulesHandle {
    engine: Mutex<Arc<Engine>>,
    generation: AtomicU64,
    /// Threshold and detection_filter counters, shared by every worker (flows of one
    /// source are spread over workers) and kept across reloads.
    thresholds: Arc<Thresholds>,
}

impl RulesHandle {
    /// A handle holding `engine`.
    pub fn new(engine: Engine) -> Arc<RulesHandle> {
        Arc::new(RulesHandle {
            engine: Mutex::new(Arc::new(engine)),
            generation: AtomicU64::new(0),
            thresholds: Arc::new(Thresholds::new()),
        })
    }

    /// The engine in force and its generation.
    pub fn current(&self) -> (Arc<Engine>, u64) {
        let e = self
            .engine
            .lock()
            .map(|e| Arc::clone(&e))
            .unwrap_or_else(|p| Arc::clone(&p.into_inner()));
        (e, self.generation.load(Ordering::Acquire))
    }

    /// The generation in force (cheap: workers poll it every tick).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The threshold counters every worker shares.
    pub fn thresholds(&self) -> Arc<Thresholds> {
        Arc::clone(&self.thresholds)
    }

    /// Puts `engine` in force; workers take it at their next tick.
    pub fn replace(&self, engine: Engine) {
        let mut g = self.engine.lock().unwrap_or_else(|p| p.into_inner());
        *g = Arc::new(engine);
        self.generation.fetch_add(1, Ordering::AcqRel);
    }
}
