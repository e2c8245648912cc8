//! What every handler shares: the store (connections for blocking work), the alert pipeline,
//! the live bus, the session settings and the login throttle.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nta_store::Store;

use crate::error::ApiError;
use crate::live::Live;
use crate::users::SessionLimits;

/// How the server runs.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// The store (SQLite file) with users, sessions and history.
    pub db: PathBuf,
    /// Cookies get `Secure` (the server runs TLS).
    pub secure_cookies: bool,
    /// Session timeouts.
    pub limits: SessionLimits,
    /// The running configuration, secrets redacted (`/api/v1/config`).
    pub config: serde_json::Value,
}

/// Shared state (cheap to clone).
#[derive(Clone)]
pub struct AppState(pub(crate) Arc<Inner>);

pub(crate) struct Inner {
    pub opts: ServerOptions,
    pool: Mutex<Vec<Store>>,
    pub alerting: Option<nta_alert::Alerting>,
    pub live: Arc<Live>,
    pub throttle: Throttle,
    pub started: Instant,
    pub rules: Option<Arc<dyn crate::rules::RulesControl>>,
}

impl AppState {
    /// State over `opts.db`, with the alert pipeline (if the store runs one) and the bus.
    pub fn new(
        opts: ServerOptions,
        alerting: Option<nta_alert::Alerting>,
        live: Arc<Live>,
    ) -> Result<AppState, ApiError> {
        let store = Store::open(&opts.db)?;
        crate::users::ensure_roles(store.conn())?;
        Ok(AppState(Arc::new(Inner {
            opts,
            pool: Mutex::new(vec![store]),
            alerting,
            live,
            throttle: Throttle::default(),
            started: Instant::now(),
            rules: None,
        })))
    }

    /// The same state with rule management (`/api/v1/rules`).
    pub fn with_rules(self, rules: Arc<dyn crate::rules::RulesControl>) -> AppState {
        match Arc::try_unwrap(self.0) {
            Ok(mut inner) => {
                inner.rules = Some(rules);
                AppState(Arc::new(inner))
            }
            Err(shared) => AppState(shared),
        }
    }

    /// Rule management.
    pub fn rules(&self) -> Result<Arc<dyn crate::rules::RulesControl>, ApiError> {
        self.0
            .rules
            .clone()
            .ok_or_else(|| ApiError::not_found("this server manages no rules"))
    }

    /// Runs `f` with a store connection on a blocking thread.
    pub async fn db<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, ApiError> + Send + 'static,
    {
        let inner = Arc::clone(&self.0);
        tokio::task::spawn_blocking(move || {
            let store = match inner.pool.lock().ok().and_then(|mut p| p.pop()) {
                Some(s) => s,
                None => Store::open(&inner.opts.db)?,
            };
            let r = f(&store);
            if let Ok(mut p) = inner.pool.lock() {
                if p.len() < 8 {
                    p.push(store);
                }
            }
            r
        })
        .await
        .map_err(ApiError::internal)?
    }

    /// The alert pipeline.
    pub fn alerting(&self) -> Result<&nta_alert::Alerting, ApiError> {
        self.0
            .alerting
            .as_ref()
            .ok_or_else(|| ApiError::not_found("no alert pipeline runs in this server"))
    }

    /// The live bus.
    pub fn live(&self) -> &Arc<Live> {
        &self.0.live
    }
}

/// Failed logins per account and per address, with a growing wait.
#[derive(Default)]
pub struct Throttle {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

/// Failures allowed before waits begin.
const FREE_FAILURES: u32 = 5;

impl Throttle {
    /// How long `key` must still wait, if at all.
    pub fn wait(&self, key: &str) -> Option<Duration> {
        let map = self.failures.lock().ok()?;
        let (n, last) = map.get(key)?;
        if *n < FREE_FAILURES {
            return None;
        }
        let wait =
            Duration::from_secs(1u64 << (n - FREE_FAILURES).min(10)).min(Duration::from_secs(900));
        let since = last.elapsed();
        (since < wait).then(|| wait - since)
    }

    /// One more failure for `key`.
    pub fn fail(&self, key: &str) {
        if let Ok(mut map) = self.failures.lock() {
            if map.len() > 100_000 {
                map.clear();
            }
            let e = map.entry(key.to_string()).or_insert((0, Instant::now()));
            e.0 += 1;
            e.1 = Instant::now();
        }
    }

    /// A success clears `key`.
    pub fn clear(&self, key: &str) {
        if let Ok(mut map) = self.failures.lock() {
            map.remove(key);
        }
    }
}
