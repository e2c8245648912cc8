//! The history store: one SQLite file (WAL) holding flows, alerts (deduplicated, with their
//! lifecycle), application-layer events and per-minute rollups for charts.
//!
//! * [`Store::open`] creates or upgrades the database (migrations are the `.sql` files in
//!   `migrations/`, applied in order; a database newer than this build is refused).
//! * [`Ingest`] is the writer: it takes EVE JSON lines through [`StoreInput`] (an
//!   `io::Write`, so it sits beside the EVE file as one more output), and writes them off the
//!   packet path in batched transactions committed at least every [`IngestConfig::commit_interval`].
//!   A full queue drops and counts (live capture) or waits (files).
//! * Queries for history ([`Store::flows`], [`Store::alerts`], [`Store::events`],
//!   [`Store::series`], [`Store::top`]) take a [`Filter`]: time range, CIDR, ports, protocol,
//!   app_proto, signature, severity, text, and a network scope for per-user data scoping.
//! * Retention by age and size per table runs continuously in the writer ([`Retention`]).
#![forbid(unsafe_code)]

mod ingest;
mod ip;
mod lifecycle;
mod query;
mod retention;
mod schema;

pub use ingest::{AlertHook, Ingest, IngestConfig, IngestCounters, StoreInput, StoredAlert};
pub use ip::{ip_key, net_range, parse_net};
pub use lifecycle::{AlertDetail, AlertStatus, Comment, LogEntry};
pub use query::{
    AlertRow, EventRow, Filter, FlowRow, Metric, Order, Page, SeriesGroup, SeriesPoint, TopKind,
    TopRow,
};
pub use retention::{parse_duration, Retention, TableRetention};
pub use rusqlite;
pub use schema::SCHEMA_VERSION;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rusqlite::Connection;

/// Why the store could not do something.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused (disk full, locked past the busy timeout, corrupt file, …).
    #[error("store {path}: {source}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// The file exists but is not an SQLite database (or not NTA's).
    #[error("store {path}: {what}")]
    NotAStore {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        what: String,
    },
    /// The database was written by a newer NTA.
    #[error(
        "store {path}: schema version {found} is newer than this nta supports ({supported}); \
         use a newer nta, or another --store file"
    )]
    TooNew {
        /// The file.
        path: PathBuf,
        /// Its version.
        found: u32,
        /// This build's.
        supported: u32,
    },
    /// A query argument is wrong (a bad CIDR, an unknown sort key, …).
    #[error("{0}")]
    Invalid(String),
    /// No such alert, suppression, …
    #[error("{0} not found")]
    NotFound(String),
}

/// Adds the path to SQLite errors.
pub(crate) trait Ctx<T> {
    fn ctx(self, path: &Path) -> Result<T, StoreError>;
}

impl<T> Ctx<T> for rusqlite::Result<T> {
    fn ctx(self, path: &Path) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Sqlite {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// A connection to the store for queries and lifecycle changes (cheap to open; one per thread).
pub struct Store {
    conn: Connection,
    path: PathBuf,
    shared: Arc<Shared>,
}

/// State shared by every [`Store`] handle and the [`Ingest`] writer of one process.
#[derive(Debug, Default)]
pub struct Shared {
    /// Bumped when an alert's status changes, so the writer's deduplication cache re-reads.
    pub(crate) lifecycle_epoch: AtomicU64,
}

impl Store {
    /// Opens (creating and migrating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let conn = schema::open(path)?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
            shared: Arc::new(Shared::default()),
        })
    }

    /// Another handle on the same database, sharing this one's process state (use one per
    /// thread).
    pub fn reopen(&self) -> Result<Store, StoreError> {
        Ok(Store {
            conn: schema::connect(&self.path)?,
            path: self.path.clone(),
            shared: Arc::clone(&self.shared),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The SQLite connection (for the alert pipeline's tables).
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The connection, for a thread of its own.
    pub fn into_conn(self) -> Connection {
        self.conn
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Bytes the database takes (pages in use).
    pub fn size_bytes(&self) -> Result<u64, StoreError> {
        retention::db_bytes(&self.conn).ctx(&self.path)
    }

    /// A persisted counter (`events_dropped`, …); 0 if never set.
    pub fn counter(&self, name: &str) -> Result<u64, StoreError> {
        let v: Option<i64> = self
            .conn
            .query_row("SELECT value FROM counters WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })
            .ctx(&self.path)?;
        Ok(v.unwrap_or(0).max(0) as u64)
    }

    /// Rows in `table` (one of the store's tables).
    pub fn count(&self, table: &str) -> Result<u64, StoreError> {
        if !schema::TABLES.contains(&table) {
            return Err(StoreError::Invalid(format!("no table {table:?}")));
        }
        let n: i64 = self
            .conn
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .ctx(&self.path)?;
        Ok(n as u64)
    }
}

/// A time as people write it, in microseconds since the epoch: `2026-03-01T10:00:00Z` (any
/// RFC 3339 / EVE form), `2026-03-01 10:00[:00]`, `2026-03-01`, `now`, or relative to now:
/// `-1h`, `-30m`, `now-7d`; also a bare integer of seconds since the epoch.
pub fn parse_time(s: &str) -> Result<i64, String> {
    let t = s.trim();
    let now = now_us();
    if t == "now" {
        return Ok(now);
    }
    if let Some(rel) = t.strip_prefix("now-").or_else(|| t.strip_prefix('-')) {
        let d = retention::parse_duration(rel).map_err(|e| format!("time {s:?}: {e}"))?;
        return Ok(now - d.as_micros() as i64);
    }
    if !t.is_empty() && t.len() <= 12 && t.bytes().all(|b| b.is_ascii_digit()) {
        return t
            .parse::<i64>()
            .map(|secs| secs * 1_000_000)
            .map_err(|e| format!("time {s:?}: {e}"));
    }
    let full = match t.len() {
        10 => format!("{t}T00:00:00Z"),
        16 => format!("{t}:00"),
        _ => t.to_string(),
    };
    nta_event::parse_timestamp(&full)
        .map(|ns| (ns / 1000) as i64)
        .ok_or_else(|| {
            format!(
                "time {s:?} is not like 2026-03-01T10:00:00Z, \"2026-03-01 10:00\", 2026-03-01, now or -1h"
            )
        })
}

/// `5m`, `7days`, … (what [`parse_duration`] reads).
pub fn format_duration(d: std::time::Duration) -> String {
    humantime::format_duration(d).to_string()
}

/// A time in microseconds since the epoch as an EVE timestamp.
pub fn format_us(us: i64) -> String {
    nta_event::format_timestamp((us.max(0) as u64) * 1000)
}

/// A severity as people write it: `high`, `medium`, `low`, `info`, or 1..4 (1 most severe,
/// Suricata's meaning). The error says what is accepted.
pub fn parse_severity(s: &str) -> Result<u8, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "high" | "1" => Ok(1),
        "medium" | "2" => Ok(2),
        "low" | "3" => Ok(3),
        "info" | "4" => Ok(4),
        _ => Err(format!(
            "{s:?} is not a severity (high, medium, low, info or 1..4)"
        )),
    }
}

/// Now, in microseconds since the epoch.
pub fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

pub(crate) fn bump(shared: &Shared) {
    shared.lifecycle_epoch.fetch_add(1, Ordering::Relaxed);
}
