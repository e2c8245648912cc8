//! The life of an alert: new → acknowledged → closed (and reopened), who did it and when,
//! assignment and comments. Every change is logged in `alert_log`.

use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::query::{alert_row, AlertRow, ALERT_COLUMNS};
use crate::{bump, format_us as ts, now_us, Ctx, Store, StoreError};

/// An alert's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    /// Not looked at yet.
    New,
    /// Someone is on it.
    Acknowledged,
    /// Done with (a later event of the same kind starts a new alert).
    Closed,
}

impl AlertStatus {
    /// `new`, `acknowledged`, `closed`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::New => "new",
            AlertStatus::Acknowledged => "acknowledged",
            AlertStatus::Closed => "closed",
        }
    }

    /// Reads `new`, `ack`/`acknowledged`, `closed`/`close`.
    pub fn parse(s: &str) -> Result<AlertStatus, StoreError> {
        match s.to_ascii_lowercase().as_str() {
            "new" | "open" | "reopen" => Ok(AlertStatus::New),
            "ack" | "acknowledged" | "acknowledge" => Ok(AlertStatus::Acknowledged),
            "closed" | "close" => Ok(AlertStatus::Closed),
            _ => Err(StoreError::Invalid(format!(
                "{s:?} is not an alert status (new, acknowledged, closed)"
            ))),
        }
    }
}

/// A comment on an alert.
#[derive(Clone, Debug, Serialize)]
pub struct Comment {
    /// Comment id.
    pub id: i64,
    /// EVE timestamp.
    pub timestamp: String,
    /// Who wrote it.
    pub author: String,
    /// What they wrote.
    pub text: String,
}

/// One change to an alert.
#[derive(Clone, Debug, Serialize)]
pub struct LogEntry {
    /// EVE timestamp.
    pub timestamp: String,
    /// Who.
    pub actor: String,
    /// `acknowledged`, `closed`, `new`, `assigned`, `commented`.
    pub action: String,
    /// Assignee, comment id, …
    pub detail: Option<String>,
}

/// An alert with everything about it.
#[derive(Clone, Debug, Serialize)]
pub struct AlertDetail {
    /// The alert.
    pub alert: AlertRow,
    /// Its comments, oldest first.
    pub comments: Vec<Comment>,
    /// Its changes, oldest first.
    pub log: Vec<LogEntry>,
    /// Its latest events (at most 100), newest first.
    pub events: Vec<serde_json::Value>,
}

impl Store {
    /// One alert with its comments, log and latest events; `None` if there is no such alert
    /// (or it is outside `scope`).
    pub fn alert(
        &self,
        id: i64,
        scope: Option<&[ipnet::IpNet]>,
    ) -> Result<Option<AlertDetail>, StoreError> {
        let alert = self
            .conn
            .query_row(
                &format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = ?1"),
                [id],
                alert_row,
            )
            .optional()
            .ctx(&self.path)?;
        let Some(alert) = alert else { return Ok(None) };
        if let Some(scope) = scope {
            let inside = |ip: &str| {
                ip.parse::<std::net::IpAddr>()
                    .is_ok_and(|a| scope.iter().any(|n| n.contains(&a)))
            };
            if !inside(&alert.src_ip) && !inside(&alert.dest_ip) {
                return Ok(None);
            }
        }
        let comments = self.rows(
            "SELECT id, ts, author, text FROM alert_comments WHERE alert_id = ? ORDER BY id",
            vec![id.into()],
            |r| {
                Ok(Comment {
                    id: r.get(0)?,
                    timestamp: ts(r.get(1)?),
                    author: r.get(2)?,
                    text: r.get(3)?,
                })
            },
        )?;
        let log = self.rows(
            "SELECT ts, actor, action, detail FROM alert_log WHERE alert_id = ? ORDER BY id",
            vec![id.into()],
            |r| {
                Ok(LogEntry {
                    timestamp: ts(r.get(0)?),
                    actor: r.get(1)?,
                    action: r.get(2)?,
                    detail: r.get(3)?,
                })
            },
        )?;
        let events = self.rows(
            "SELECT event FROM alert_events WHERE alert_id = ? ORDER BY ts DESC, id DESC LIMIT 100",
            vec![id.into()],
            |r| {
                let s: String = r.get(0)?;
                Ok(serde_json::from_str(&s).unwrap_or(serde_json::Value::String(s)))
            },
        )?;
        Ok(Some(AlertDetail {
            alert,
            comments,
            log,
            events,
        }))
    }

    fn log_change(
        &self,
        id: i64,
        actor: &str,
        action: &str,
        detail: Option<&str>,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO alert_log (alert_id, ts, actor, action, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, now_us(), actor, action, detail],
            )
            .ctx(&self.path)?;
        Ok(())
    }

    /// Sets an alert's status (recording who and when).
    pub fn set_status(&self, id: i64, status: AlertStatus, actor: &str) -> Result<(), StoreError> {
        let n = self
            .conn
            .execute(
                "UPDATE alerts SET status = ?2, status_by = ?3, status_at = ?4 WHERE id = ?1",
                params![id, status.as_str(), actor, now_us()],
            )
            .ctx(&self.path)?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("alert {id}")));
        }
        self.log_change(id, actor, status.as_str(), None)?;
        // The writer's deduplication must see a closed alert as closed.
        bump(self.shared());
        Ok(())
    }

    /// Assigns an alert to someone (`None`: unassigns).
    pub fn assign(&self, id: i64, assignee: Option<&str>, actor: &str) -> Result<(), StoreError> {
        let n = self
            .conn
            .execute(
                "UPDATE alerts SET assignee = ?2 WHERE id = ?1",
                params![id, assignee],
            )
            .ctx(&self.path)?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("alert {id}")));
        }
        self.log_change(id, actor, "assigned", assignee)
    }

    /// Adds a comment; returns its id.
    pub fn comment(&self, id: i64, author: &str, text: &str) -> Result<i64, StoreError> {
        if text.trim().is_empty() {
            return Err(StoreError::Invalid("a comment cannot be empty".into()));
        }
        let exists: bool = self
            .conn
            .query_row("SELECT 1 FROM alerts WHERE id = ?1", [id], |_| Ok(true))
            .optional()
            .ctx(&self.path)?
            .unwrap_or(false);
        if !exists {
            return Err(StoreError::NotFound(format!("alert {id}")));
        }
        self.conn
            .execute(
                "INSERT INTO alert_comments (alert_id, ts, author, text) VALUES (?1, ?2, ?3, ?4)",
                params![id, now_us(), author, text],
            )
            .ctx(&self.path)?;
        let cid = self.conn.last_insert_rowid();
        self.log_change(id, author, "commented", Some(&cid.to_string()))?;
        Ok(cid)
    }
}
