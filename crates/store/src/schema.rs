//! Opening the database and migrating it: `migrations/NNNN_*.sql`, applied in order, each in
//! its own transaction, the version kept in SQLite's `user_version`.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::{Ctx, StoreError};

/// The migrations, in order: (version, SQL).
const MIGRATIONS: &[(u32, &str)] = &[
    (1, include_str!("../migrations/0001_init.sql")),
    (2, include_str!("../migrations/0002_alert_flow.sql")),
    (3, include_str!("../migrations/0003_users.sql")),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS[MIGRATIONS.len() - 1].0;

/// Every table (for counts and retention).
pub(crate) const TABLES: &[&str] = &[
    "flows",
    "events",
    "alerts",
    "alert_events",
    "alert_comments",
    "alert_log",
    "rollup_traffic",
    "rollup_hosts",
    "rollup_ports",
    "rollup_alerts",
    "suppressions",
    "thresholds",
    "channels",
    "outbox",
    "channel_status",
    "counters",
    "roles",
    "users",
    "sessions",
    "api_tokens",
    "setup_tokens",
    "audit_log",
    "user_settings",
];

/// A connection with the store's settings; the schema must already be current.
pub(crate) fn connect(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )
    .ctx(path)?;
    conn.busy_timeout(Duration::from_secs(10)).ctx(path)?;
    // The first statement reads the header: a file that is not a database fails here.
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(|e| not_a_database(path, e))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::NotAStore {
            path: path.to_path_buf(),
            what: format!("cannot use write-ahead logging (journal mode stays {mode})"),
        });
    }
    // WAL + NORMAL: a crash of the process loses nothing committed (only a power cut can
    // lose the last transactions).
    conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
        .ctx(path)?;
    Ok(conn)
}

fn not_a_database(path: &Path, e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) => StoreError::NotAStore {
            path: path.to_path_buf(),
            what: "not an SQLite database".into(),
        },
        _ => StoreError::Sqlite {
            path: path.to_path_buf(),
            source: e,
        },
    }
}

/// Opens `path`, creating the schema or upgrading it.
pub(crate) fn open(path: &Path) -> Result<Connection, StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            return Err(StoreError::NotAStore {
                path: path.to_path_buf(),
                what: format!("directory {} does not exist", dir.display()),
            });
        }
    }
    let mut conn = connect(path)?;
    migrate(&mut conn, path, SCHEMA_VERSION)?;
    Ok(conn)
}

/// Applies the migrations after the database's version, up to `target`.
pub(crate) fn migrate(conn: &mut Connection, path: &Path, target: u32) -> Result<(), StoreError> {
    let version: u32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .ctx(path)?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    if version == 0 {
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE type = 'table'",
                [],
                |r| r.get(0),
            )
            .ctx(path)?;
        if tables > 0 {
            return Err(StoreError::NotAStore {
                path: path.to_path_buf(),
                what: "an SQLite database, but not an NTA store (it has other tables)".into(),
            });
        }
        // Only takes effect before the first table exists: lets retention give pages back;
        // 8 KiB pages hold more of a flow's rows and index entries per page.
        conn.execute_batch("PRAGMA auto_vacuum = INCREMENTAL")
            .ctx(path)?;
    }
    for &(v, sql) in MIGRATIONS {
        if v <= version || v > target {
            continue;
        }
        let tx = conn.transaction().ctx(path)?;
        tx.execute_batch(sql).ctx(path)?;
        tx.pragma_update(None, "user_version", v).ctx(path)?;
        tx.commit().ctx(path)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_then_reopens_at_the_current_version() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.sqlite");
        drop(open(&p).unwrap());
        let c = open(&p).unwrap();
        let v: u32 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
        let mode: String = c
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn an_older_database_is_upgraded_with_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("old.sqlite");
        let mut c = connect(&p).unwrap();
        migrate(&mut c, &p, 1).unwrap();
        c.execute(
            "INSERT INTO rollup_alerts (minute, severity, source, count) VALUES (60, 1, 'rule', 7)",
            [],
        )
        .unwrap();
        drop(c);
        let c = open(&p).unwrap();
        let v: u32 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
        let n: i64 = c
            .query_row("SELECT count FROM rollup_alerts", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 7);
    }

    #[test]
    fn a_newer_database_is_refused_with_its_version() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("new.sqlite");
        drop(open(&p).unwrap());
        let c = Connection::open(&p).unwrap();
        c.pragma_update(None, "user_version", 99).unwrap();
        drop(c);
        let e = open(&p).err().unwrap().to_string();
        assert!(e.contains("schema version 99 is newer"), "{e}");
    }

    #[test]
    fn other_files_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("notes.txt");
        std::fs::write(&p, vec![b'x'; 4096]).unwrap();
        let e = open(&p).err().unwrap().to_string();
        assert!(e.contains("not an SQLite database"), "{e}");
        let p = dir.path().join("other.sqlite");
        let c = Connection::open(&p).unwrap();
        c.execute_batch("CREATE TABLE t (x)").unwrap();
        drop(c);
        let e = open(&p).err().unwrap().to_string();
        assert!(e.contains("not an NTA store"), "{e}");
        let e = open(&dir.path().join("missing/s.sqlite"))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("does not exist"), "{e}");
    }
}
