//! Retention: each table keeps rows up to an age and up to a size, enforced by the writer
//! every few seconds in small deletes (capture never waits on it).
//!
//! Age is measured from the newest row of the table, not from the wall clock: reading a
//! capture from last year must not delete it as it is written. During live capture the
//! newest row is "now".

use std::time::Duration;

use rusqlite::{params, Connection};
use serde::{de, Deserialize, Deserializer, Serialize};

/// Limits of one table group.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TableRetention {
    /// Rows older than this are deleted (`"7d"`, `"12h"`, `"90m"`, `"30s"`); none: kept.
    #[serde(deserialize_with = "duration", serialize_with = "show_duration")]
    pub max_age: Option<Duration>,
    /// Past this many MiB (the table and its indexes), the oldest rows are deleted.
    pub max_size_mb: Option<u64>,
}

/// `[store.retention]`: per table group.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Retention {
    /// `flows` (default 7 days).
    pub flows: TableRetention,
    /// Application-layer and other events (default 7 days).
    pub events: TableRetention,
    /// Alerts, their events, comments and log (default 90 days, by last seen).
    pub alerts: TableRetention,
    /// Per-minute rollups (default 365 days).
    pub rollups: TableRetention,
}

impl Default for Retention {
    fn default() -> Self {
        let days = |d: u64| TableRetention {
            max_age: Some(Duration::from_secs(d * 86_400)),
            max_size_mb: None,
        };
        Retention {
            flows: days(7),
            events: days(7),
            alerts: days(90),
            rollups: days(365),
        }
    }
}

/// `"7d"`, `"12h"`, `"15m"`, `"30s"`, `"1w"` (units may be combined: `"1d 12h"`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("{s:?} is not a duration like \"7d\", \"12h\" or \"30m\": {e}"))
}

fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let s = String::deserialize(d)?;
    parse_duration(&s).map(Some).map_err(de::Error::custom)
}

fn show_duration<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_str(&humantime::format_duration(*d).to_string()),
        None => s.serialize_none(),
    }
}

/// (table, time column, the tables sharing its size budget).
struct Group {
    table: &'static str,
    time: &'static str,
}

const FLOWS: &[Group] = &[Group {
    table: "flows",
    time: "ts",
}];
const EVENTS: &[Group] = &[Group {
    table: "events",
    time: "ts",
}];
const ALERTS: &[Group] = &[
    Group {
        table: "alerts",
        time: "last_seen",
    },
    Group {
        table: "alert_events",
        time: "ts",
    },
];
const ROLLUPS: &[Group] = &[
    Group {
        table: "rollup_traffic",
        time: "minute",
    },
    Group {
        table: "rollup_hosts",
        time: "minute",
    },
    Group {
        table: "rollup_ports",
        time: "minute",
    },
    Group {
        table: "rollup_alerts",
        time: "minute",
    },
];

impl Retention {
    /// One step: deletes up to `budget` rows past their age (and, with `check_size`, the
    /// oldest tenth of each group over its size). Returns the rows deleted and whether there is
    /// more to do.
    pub fn enforce(
        &self,
        conn: &Connection,
        budget: i64,
        check_size: bool,
    ) -> rusqlite::Result<(u64, bool)> {
        let mut deleted = 0u64;
        let mut behind = false;
        for (limits, groups) in [
            (&self.flows, FLOWS),
            (&self.events, EVENTS),
            (&self.alerts, ALERTS),
            (&self.rollups, ROLLUPS),
        ] {
            for g in groups {
                // Rollups count in seconds, the rest in microseconds.
                let unit = if g.time == "minute" { 1 } else { 1_000_000 };
                let Some(age) = limits.max_age else { continue };
                let newest: Option<i64> = conn.query_row(
                    &format!("SELECT max({}) FROM {}", g.time, g.table),
                    [],
                    |r| r.get(0),
                )?;
                if let Some(newest) = newest {
                    let cutoff = newest - (age.as_secs() as i64) * unit;
                    let n = delete_before(conn, g, cutoff, budget)?;
                    deleted += n;
                    behind |= n as i64 >= budget;
                }
            }
            if check_size {
                if let Some(mb) = limits.max_size_mb {
                    let (n, over) = shrink(conn, groups, mb << 20)?;
                    deleted += n;
                    behind |= over;
                }
            }
        }
        if deleted > 0 {
            // Gives freed pages back to the file system (auto_vacuum = INCREMENTAL).
            conn.execute_batch("PRAGMA incremental_vacuum")?;
        }
        Ok((deleted, behind))
    }
}

/// Deletes up to `limit` rows older than `cutoff`.
fn delete_before(conn: &Connection, g: &Group, cutoff: i64, limit: i64) -> rusqlite::Result<u64> {
    if g.time == "minute" {
        // Rollups (WITHOUT ROWID, small): one statement.
        let n = conn.execute(
            &format!("DELETE FROM {} WHERE minute < ?1", g.table),
            [cutoff],
        )?;
        return Ok(n as u64);
    }
    let n = conn.execute(
        &format!(
            "DELETE FROM {t} WHERE rowid IN (SELECT rowid FROM {t} WHERE {c} < ?1 LIMIT ?2)",
            t = g.table,
            c = g.time
        ),
        params![cutoff, limit],
    )?;
    Ok(n as u64)
}

/// Bytes of a table and its indexes.
fn table_bytes(conn: &Connection, table: &str) -> rusqlite::Result<u64> {
    let n: Option<i64> = conn.query_row(
        "SELECT sum(pgsize) FROM dbstat WHERE name = ?1 OR name IN
         (SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = ?1)",
        [table],
        |r| r.get(0),
    )?;
    Ok(n.unwrap_or(0).max(0) as u64)
}

/// When the group is over `cap` bytes, deletes the oldest tenth of each of its tables.
/// Returns the rows deleted and whether it was over.
fn shrink(conn: &Connection, groups: &[Group], cap: u64) -> rusqlite::Result<(u64, bool)> {
    let mut size = 0;
    for g in groups {
        size += table_bytes(conn, g.table)?;
    }
    if size <= cap {
        return Ok((0, false));
    }
    let mut deleted = 0;
    for g in groups {
        let rows: i64 = conn.query_row(&format!("SELECT count(*) FROM {}", g.table), [], |r| {
            r.get(0)
        })?;
        let cut = (rows / 10).max(1);
        if g.time == "minute" {
            // The minute at the cut: everything older goes.
            let at: Option<i64> = conn
                .query_row(
                    &format!(
                        "SELECT minute FROM {} ORDER BY minute LIMIT 1 OFFSET ?1",
                        g.table
                    ),
                    [cut],
                    |r| r.get(0),
                )
                .or_else(|e| match e {
                    rusqlite::Error::QueryReturnedNoRows => Ok(None),
                    e => Err(e),
                })?;
            if let Some(at) = at {
                deleted += delete_before(conn, g, at, i64::MAX)?;
            }
        } else {
            // The oldest tenth, by time then insertion order.
            deleted += conn.execute(
                &format!(
                    "DELETE FROM {t} WHERE rowid IN
                     (SELECT rowid FROM {t} ORDER BY {c}, rowid LIMIT ?1)",
                    t = g.table,
                    c = g.time
                ),
                [cut],
            )? as u64;
        }
    }
    Ok((deleted, true))
}

/// Bytes of the database in use (pages minus free pages).
pub(crate) fn db_bytes(conn: &Connection) -> rusqlite::Result<u64> {
    let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
    let free: i64 = conn.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
    let size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    Ok(((pages - free).max(0) * size) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(
            parse_duration("7d").unwrap(),
            Duration::from_secs(7 * 86_400)
        );
        assert_eq!(parse_duration("90m").unwrap(), Duration::from_secs(5400));
        assert!(parse_duration("soon").unwrap_err().contains("soon"));
        let r: Retention = toml::from_str("[flows]\nmax_age = \"2h\"\nmax_size_mb = 5\n").unwrap();
        assert_eq!(r.flows.max_age, Some(Duration::from_secs(7200)));
        assert_eq!(r.flows.max_size_mb, Some(5));
        assert_eq!(r.alerts, Retention::default().alerts);
        let e = toml::from_str::<Retention>("[flows]\nmax_age = \"a while\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("a while") && e.contains("line 2"), "{e}");
        assert!(toml::from_str::<Retention>("[flows]\nmaxage = \"1d\"\n").is_err());
    }
}
