//! `--store`: the history store and the alert pipeline beside the EVE output.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use nta_alert::Alerting;
use nta_engine::{Config, StatsExtra};
use nta_store::{Ingest, IngestConfig, IngestCounters, Store, StoreInput};

/// The store path for a run: `--store`, else the configuration's.
pub fn path(flag: Option<&Path>, cfg: &Config) -> Option<PathBuf> {
    flag.map(Path::to_path_buf)
        .or_else(|| cfg.store.path.clone())
}

/// A running store writer and alert pipeline.
pub struct History {
    path: PathBuf,
    ingest: Ingest,
    alerting: Alerting,
    drain: Duration,
}

impl History {
    /// Opens (creating or upgrading) the store, starts the alert pipeline (which delivers what
    /// an earlier run left in the outbox) and the writer.
    pub fn start(cfg: &Config, path: &Path, live: bool) -> Result<History> {
        let store = Store::open(path)?;
        let (alerting, hook) = Alerting::start(&store, &cfg.alerting)
            .with_context(|| format!("alerting (store {})", path.display()))?;
        let ingest = Ingest::start(
            &store,
            IngestConfig {
                commit_interval: Duration::from_millis(cfg.store.commit_interval_ms),
                queue: cfg.store.queue,
                live,
                dedup_window: cfg.alerting.dedup_window,
                top_n: cfg.store.top_n,
                retention: cfg.store.retention.clone(),
                ..IngestConfig::default()
            },
            Some(hook),
        )?;
        Ok(History {
            path: path.to_path_buf(),
            ingest,
            alerting,
            drain: cfg.alerting.drain_timeout,
        })
    }

    /// The alert pipeline (the web API's handle on it).
    pub fn alerting(&self) -> &Alerting {
        &self.alerting
    }

    /// The output feeding the store.
    pub fn input(&self) -> StoreInput {
        self.ingest.input()
    }

    /// `store` and `alerting` objects for `stats` events.
    pub fn stats(&self) -> StatsExtra {
        let counters: Arc<IngestCounters> = Arc::clone(self.ingest.counters());
        let alerting = self.alerting.clone();
        Box::new(move |m| {
            m.insert("store".into(), counters.to_json());
            m.insert("alerting".into(), alerting.stats());
        })
    }

    /// Commits the last events, gives the channels up to `alerting.drain_timeout` to deliver,
    /// and says what was kept.
    pub fn finish(self, quiet: bool) -> Result<()> {
        let counters = Arc::clone(self.ingest.counters());
        self.ingest.finish()?;
        let left = self.alerting.drain(self.drain)?;
        self.alerting.stop();
        if !quiet {
            let g = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
            let p = self.alerting.counters();
            eprintln!(
                "nta: store {}: {} events written ({} dropped), {} alert events in {} new alerts; \
                 {} notifications queued{}",
                self.path.display(),
                g(&counters.events),
                g(&counters.dropped),
                g(&counters.alerts),
                g(&counters.alert_groups),
                g(&p.queued),
                if left > 0 {
                    format!(", {left} not yet delivered (kept; delivered at the next start)")
                } else {
                    String::new()
                }
            );
        }
        Ok(())
    }
}

/// The EVE output (if any) and the store's input, as one output.
pub struct Tee {
    pub eve: Option<Box<dyn Write + Send>>,
    pub store: StoreInput,
}

impl Write for Tee {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        if let Some(e) = self.eve.as_mut() {
            e.write_all(b)?;
        }
        self.store.write_all(b)?;
        Ok(b.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if let Some(e) = self.eve.as_mut() {
            e.flush()?;
        }
        self.store.flush()
    }
}
