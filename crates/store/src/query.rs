//! History queries: rows with filters, sorting and pages; aggregates for charts.

use ipnet::IpNet;
use rusqlite::types::Value as Sql;
use rusqlite::Row;
use serde::{Deserialize, Serialize};

use crate::ip::net_range;
use crate::{format_us as ts, Ctx, Store, StoreError};

/// What to select. Every field is optional; all given ones must hold.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Filter {
    /// From this time (µs since the epoch, inclusive).
    pub from: Option<i64>,
    /// Up to this time (µs, exclusive).
    pub to: Option<i64>,
    /// Source or destination in one of these networks.
    pub net: Vec<IpNet>,
    /// Source in one of these.
    pub src_net: Vec<IpNet>,
    /// Destination in one of these.
    pub dest_net: Vec<IpNet>,
    /// Source or destination port is one of these.
    pub port: Vec<u16>,
    /// `TCP`, `UDP`, `ICMP`, … (case-insensitive).
    pub proto: Option<String>,
    /// `http`, `dns`, `tls`, …
    pub app_proto: Option<String>,
    /// Events: `http`, `dns`, `tls`, `anomaly`, …
    pub event_type: Option<String>,
    /// Alerts: signature id.
    pub sid: Option<u32>,
    /// Alerts: generator id.
    pub gid: Option<u32>,
    /// Alerts: signature text contains this (case-insensitive).
    pub signature: Option<String>,
    /// Alerts: this severity or more severe (1 is the most severe).
    pub severity: Option<u8>,
    /// Alerts: `rule`, `detector`, `ml`.
    pub source: Option<String>,
    /// Alerts: `new`, `acknowledged`, `closed`.
    pub status: Option<String>,
    /// Host names, SNI, URLs, DNS names (and, for alerts, the signature) containing this.
    pub text: Option<String>,
    /// Per-user scope: only rows whose source or destination is in one of these networks
    /// (`None`: everything).
    pub scope: Option<Vec<IpNet>>,
    /// Alerts: include suppressed ones.
    pub include_suppressed: bool,
}

/// Sort direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    /// Newest / largest first.
    #[default]
    Desc,
    /// Oldest / smallest first.
    Asc,
}

/// Which page, in which order.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default)]
pub struct Page {
    /// Rows per page (1..=10,000; default 100).
    pub limit: u32,
    /// Rows skipped.
    pub offset: u64,
    /// Sort key (per table; default: time).
    pub sort: Option<String>,
    /// Direction.
    pub order: Order,
}

impl Default for Page {
    fn default() -> Self {
        Page {
            limit: 100,
            offset: 0,
            sort: None,
            order: Order::Desc,
        }
    }
}

/// A stored flow.
#[derive(Clone, Debug, Serialize)]
pub struct FlowRow {
    /// Row id.
    pub id: i64,
    /// Start (EVE timestamp).
    pub start: String,
    /// End.
    pub end: String,
    /// EVE flow id.
    pub flow_id: Option<i64>,
    /// Source.
    pub src_ip: String,
    /// Source port.
    pub src_port: Option<u16>,
    /// Destination.
    pub dest_ip: String,
    /// Destination port.
    pub dest_port: Option<u16>,
    /// Transport.
    pub proto: String,
    /// Application protocol.
    pub app_proto: Option<String>,
    /// Packets both ways.
    pub packets: i64,
    /// Bytes both ways.
    pub bytes: i64,
    /// TCP state at the end.
    pub state: Option<String>,
    /// Why it ended.
    pub reason: Option<String>,
    /// Whether an alert fired on it.
    pub alerted: bool,
    /// The EVE flow event.
    pub event: serde_json::Value,
}

/// A stored deduplicated alert.
#[derive(Clone, Debug, Serialize)]
pub struct AlertRow {
    /// Alert id (lifecycle operations take it).
    pub id: i64,
    /// First event (EVE timestamp).
    pub first_seen: String,
    /// Last event.
    pub last_seen: String,
    /// Events folded into it.
    pub count: i64,
    /// Generator id.
    pub gid: u32,
    /// Signature id.
    pub sid: u32,
    /// Revision.
    pub rev: u32,
    /// Message.
    pub signature: String,
    /// Classification.
    pub category: Option<String>,
    /// 1 (high) .. 4.
    pub severity: u8,
    /// `rule`, `detector`, `ml`.
    pub source: String,
    /// Source.
    pub src_ip: String,
    /// Source port.
    pub src_port: Option<u16>,
    /// Destination.
    pub dest_ip: String,
    /// Destination port.
    pub dest_port: Option<u16>,
    /// Transport.
    pub proto: Option<String>,
    /// Application protocol.
    pub app_proto: Option<String>,
    /// EVE flow id.
    pub flow_id: Option<i64>,
    /// `new`, `acknowledged`, `closed`.
    pub status: String,
    /// Who set the status.
    pub status_by: Option<String>,
    /// When (EVE timestamp).
    pub status_at: Option<String>,
    /// Who it is assigned to.
    pub assignee: Option<String>,
    /// Matched a suppression (not notified).
    pub suppressed: bool,
    /// The first EVE alert event.
    pub event: serde_json::Value,
}

/// A stored application-layer (or other) event.
#[derive(Clone, Debug, Serialize)]
pub struct EventRow {
    /// Row id.
    pub id: i64,
    /// EVE timestamp.
    pub timestamp: String,
    /// `http`, `dns`, …
    pub event_type: String,
    /// EVE flow id.
    pub flow_id: Option<i64>,
    /// Source.
    pub src_ip: Option<String>,
    /// Source port.
    pub src_port: Option<u16>,
    /// Destination.
    pub dest_ip: Option<String>,
    /// Destination port.
    pub dest_port: Option<u16>,
    /// Transport.
    pub proto: Option<String>,
    /// Application protocol.
    pub app_proto: Option<String>,
    /// The EVE event.
    pub event: serde_json::Value,
}

/// A value for charts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// Packets.
    Packets,
    /// Bytes.
    Bytes,
    /// Flows (started).
    Flows,
    /// Alert events.
    Alerts,
}

/// How a series is split.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SeriesGroup {
    /// One series.
    #[default]
    None,
    /// Per transport.
    Proto,
    /// Per application protocol.
    AppProto,
    /// Per alert severity (alerts only).
    Severity,
    /// Per alert source (alerts only).
    Source,
}

/// One point: the bucket's start (seconds since the epoch), the series, the value.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SeriesPoint {
    /// Bucket start, seconds since the epoch.
    pub t: i64,
    /// Series name (`""` when ungrouped).
    pub group: String,
    /// Sum over the bucket.
    pub value: i64,
}

/// What a top list ranks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TopKind {
    /// Sources by traffic.
    Talkers,
    /// Destinations by traffic.
    Destinations,
    /// Destination ports by traffic.
    Ports,
    /// Application protocols by traffic.
    AppProtos,
    /// Signatures by alert events.
    Signatures,
}

/// One entry of a top list.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TopRow {
    /// Address, `proto/port`, protocol or signature.
    pub key: String,
    /// Packets (0 for signatures).
    pub packets: i64,
    /// Bytes (0 for signatures).
    pub bytes: i64,
    /// Flows, or alert events for signatures.
    pub flows: i64,
}

/// A WHERE clause being built.
#[derive(Default)]
struct Where {
    parts: Vec<String>,
    params: Vec<Sql>,
}

impl Where {
    fn push(&mut self, clause: impl Into<String>, params: impl IntoIterator<Item = Sql>) {
        self.parts.push(clause.into());
        self.params.extend(params);
    }

    fn sql(&self) -> String {
        if self.parts.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.parts.join(" AND "))
        }
    }

    /// `col` in one of `nets`. With `hours` (tables whose address indexes lead with the
    /// hour), each alternative names the hours too, so that it is a seek per hour on the index.
    fn nets(&mut self, cols: &[&str], nets: &[IpNet], hours: Option<&str>) {
        if nets.is_empty() {
            return;
        }
        let mut alts = Vec::new();
        for n in nets {
            let (lo, hi) = net_range(n);
            for c in cols {
                match hours {
                    Some(h) => alts.push(format!("(hour IN ({h}) AND {c} BETWEEN ? AND ?)")),
                    None => alts.push(format!("({c} BETWEEN ? AND ?)")),
                }
                self.params.push(Sql::Blob(lo.to_vec()));
                self.params.push(Sql::Blob(hi.to_vec()));
            }
        }
        self.parts.push(format!("({})", alts.join(" OR ")));
    }
}

/// At most this many hours are listed for the address indexes (beyond, a scan by time).
const MAX_HOURS: i64 = 24 * 62;

impl Store {
    /// The hours a query on `table` (with an `hour` column) can touch, as an SQL list: the
    /// filter's range clipped to the table's data. `None` when there are too many.
    fn hours(&self, table: &str, f: &Filter) -> Result<Option<String>, StoreError> {
        // Two statements: SQLite answers a lone min() or max() from the index, but both in
        // one statement scan the table.
        let edge = |f: &str| -> Result<Option<i64>, StoreError> {
            self.conn
                .query_row(&format!("SELECT {f}(ts) FROM {table}"), [], |r| r.get(0))
                .ctx(&self.path)
        };
        let (lo, hi) = (edge("min")?, edge("max")?);
        let (Some(lo), Some(hi)) = (lo, hi) else {
            return Ok(Some("NULL".into()));
        };
        let from = f.from.map_or(lo, |x| x.max(lo));
        let to = f.to.map_or(hi, |x| x.min(hi + 1));
        if to < from {
            return Ok(Some("NULL".into()));
        }
        let (h0, h1) = (from.div_euclid(HOUR_US), to.div_euclid(HOUR_US));
        if h1 - h0 > MAX_HOURS {
            return Ok(None);
        }
        Ok(Some(
            (h0..=h1)
                .map(|h| h.to_string())
                .collect::<Vec<_>>()
                .join(","),
        ))
    }
}

const HOUR_US: i64 = 3_600_000_000;

/// `%text%` for LIKE, with LIKE's wildcards taken literally.
fn like(s: &str) -> Sql {
    let mut out = String::from("%");
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    Sql::Text(out)
}

fn json(s: String) -> serde_json::Value {
    serde_json::from_str(&s).unwrap_or(serde_json::Value::String(s))
}

/// Columns common to the three tables. `hours`: see [`Where::nets`].
fn common(w: &mut Where, f: &Filter, time: &str, time_end: &str, hours: Option<&str>) {
    let by_address = by_address(f);
    // With an address filter on a table with hour-led address indexes, the time bounds are
    // kept off the time index (`+`): the address indexes select far fewer rows.
    let plus = if by_address && hours.is_some() {
        "+"
    } else {
        ""
    };
    if let Some(from) = f.from {
        w.push(format!("{plus}{time_end} >= ?"), [Sql::Integer(from)]);
    }
    if let Some(to) = f.to {
        w.push(format!("{plus}{time} < ?"), [Sql::Integer(to)]);
    }
    w.nets(&["src_key", "dest_key"], &f.net, hours);
    w.nets(&["src_key"], &f.src_net, hours);
    w.nets(&["dest_key"], &f.dest_net, hours);
    if let Some(scope) = &f.scope {
        if scope.is_empty() {
            w.push("0", []);
        } else {
            w.nets(&["src_key", "dest_key"], scope, hours);
        }
    }
    if !f.port.is_empty() {
        let marks = vec!["?"; f.port.len()].join(",");
        w.push(
            format!("(src_port IN ({marks}) OR dest_port IN ({marks}))"),
            f.port
                .iter()
                .chain(f.port.iter())
                .map(|p| Sql::Integer(i64::from(*p))),
        );
    }
    if let Some(p) = &f.proto {
        w.push("proto = ? COLLATE NOCASE", [Sql::Text(p.clone())]);
    }
    if let Some(a) = &f.app_proto {
        w.push("app_proto = ? COLLATE NOCASE", [Sql::Text(a.clone())]);
    }
}

/// Whether `f` selects by address (then the hour-led address indexes are the way in).
fn by_address(f: &Filter) -> bool {
    !(f.net.is_empty() && f.src_net.is_empty() && f.dest_net.is_empty())
        || f.scope.as_ref().is_some_and(|s| !s.is_empty())
}

/// `ORDER BY`; with `unindexed`, the sort does not walk the time index (`+ts`): the rows are
/// found through the address indexes and sorted, instead of scanning the time index for rows
/// of the address.
fn sort_clause(
    page: &Page,
    allowed: &[(&str, &str)],
    default: &str,
    unindexed: bool,
) -> Result<String, StoreError> {
    let key = page.sort.as_deref().unwrap_or(default);
    let Some((_, expr)) = allowed.iter().find(|(k, _)| *k == key) else {
        let names: Vec<&str> = allowed.iter().map(|(k, _)| *k).collect();
        return Err(StoreError::Invalid(format!(
            "cannot sort by {key:?}; one of: {}",
            names.join(", ")
        )));
    };
    let dir = match page.order {
        Order::Desc => "DESC",
        Order::Asc => "ASC",
    };
    let plus = if unindexed { "+" } else { "" };
    Ok(format!("ORDER BY {plus}{expr} {dir}, {plus}id {dir}"))
}

fn limits(page: &Page) -> Result<(i64, i64), StoreError> {
    if page.limit == 0 || page.limit > 10_000 {
        return Err(StoreError::Invalid(format!(
            "limit must be between 1 and 10000, got {}",
            page.limit
        )));
    }
    Ok((
        i64::from(page.limit),
        page.offset.min(i64::MAX as u64) as i64,
    ))
}

impl Store {
    pub(crate) fn rows<T>(
        &self,
        sql: &str,
        params: Vec<Sql>,
        map: impl Fn(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, StoreError> {
        let mut st = self.conn.prepare(sql).ctx(&self.path)?;
        let rows = st
            .query_map(rusqlite::params_from_iter(params), |r| map(r))
            .ctx(&self.path)?;
        rows.collect::<rusqlite::Result<Vec<T>>>().ctx(&self.path)
    }

    /// Flows that started in the range.
    pub fn flows(&self, f: &Filter, page: &Page) -> Result<Vec<FlowRow>, StoreError> {
        let mut w = Where::default();
        let hours = self.hours("flows", f)?;
        common(&mut w, f, "ts", "ts", hours.as_deref());
        if let Some(t) = &f.text {
            w.push(
                "flow_id IN (SELECT flow_id FROM events WHERE text LIKE ? ESCAPE '\\')",
                [like(t)],
            );
        }
        let order = sort_clause(
            page,
            &[
                ("time", "ts"),
                ("end", "ts_end"),
                ("bytes", "(bytes_toserver + bytes_toclient)"),
                ("packets", "(pkts_toserver + pkts_toclient)"),
                ("src_ip", "src_key"),
                ("dest_ip", "dest_key"),
                ("dest_port", "dest_port"),
                ("proto", "proto"),
                ("app_proto", "app_proto"),
            ],
            "time",
            hours.is_some() && by_address(f),
        )?;
        let (limit, offset) = limits(page)?;
        let mut params = w.params.clone();
        params.push(Sql::Integer(limit));
        params.push(Sql::Integer(offset));
        self.rows(
            &format!(
                "SELECT id, ts, ts_end, flow_id, src_ip, src_port, dest_ip, dest_port, proto,
                 app_proto, pkts_toserver, pkts_toclient, bytes_toserver, bytes_toclient,
                 state, reason, alerted, event FROM flows {} {order} LIMIT ? OFFSET ?",
                w.sql()
            ),
            params,
            |r| {
                let c = FlowColumns {
                    start: r.get(1)?,
                    end: r.get(2)?,
                    flow_id: r.get(3)?,
                    src_ip: r.get(4)?,
                    src_port: r.get(5)?,
                    dest_ip: r.get(6)?,
                    dest_port: r.get(7)?,
                    proto: r.get(8)?,
                    app_proto: r.get(9)?,
                    pkts: [r.get(10)?, r.get(11)?],
                    bytes: [r.get(12)?, r.get(13)?],
                    state: r.get(14)?,
                    reason: r.get(15)?,
                    alerted: r.get(16)?,
                };
                let event = c.event(r.get(17)?);
                Ok(FlowRow {
                    id: r.get(0)?,
                    start: ts(c.start),
                    end: ts(c.end),
                    flow_id: c.flow_id,
                    packets: c.pkts[0] + c.pkts[1],
                    bytes: c.bytes[0] + c.bytes[1],
                    event,
                    src_ip: c.src_ip,
                    src_port: c.src_port,
                    dest_ip: c.dest_ip,
                    dest_port: c.dest_port,
                    proto: c.proto,
                    app_proto: c.app_proto,
                    state: c.state,
                    reason: c.reason,
                    alerted: c.alerted,
                })
            },
        )
    }

    /// Deduplicated alerts seen in the range.
    pub fn alerts(&self, f: &Filter, page: &Page) -> Result<Vec<AlertRow>, StoreError> {
        let mut w = alert_where(f);
        let order = sort_clause(
            page,
            &[
                ("time", "last_seen"),
                ("first_seen", "first_seen"),
                ("count", "count"),
                ("severity", "severity"),
                ("signature", "signature"),
                ("src_ip", "src_key"),
                ("dest_ip", "dest_key"),
                ("status", "status"),
            ],
            "time",
            false,
        )?;
        let (limit, offset) = limits(page)?;
        w.params.push(Sql::Integer(limit));
        w.params.push(Sql::Integer(offset));
        self.rows(
            &format!(
                "SELECT {ALERT_COLUMNS} FROM alerts {} {order} LIMIT ? OFFSET ?",
                w.sql()
            ),
            w.params,
            alert_row,
        )
    }

    /// Application-layer and other events in the range.
    pub fn events(&self, f: &Filter, page: &Page) -> Result<Vec<EventRow>, StoreError> {
        let mut w = Where::default();
        let hours = self.hours("events", f)?;
        common(&mut w, f, "ts", "ts", hours.as_deref());
        if let Some(t) = &f.event_type {
            w.push("event_type = ?", [Sql::Text(t.clone())]);
        }
        if let Some(t) = &f.text {
            w.push("text LIKE ? ESCAPE '\\'", [like(t)]);
        }
        let order = sort_clause(
            page,
            &[("time", "ts"), ("event_type", "event_type")],
            "time",
            hours.is_some() && by_address(f),
        )?;
        let (limit, offset) = limits(page)?;
        w.params.push(Sql::Integer(limit));
        w.params.push(Sql::Integer(offset));
        self.rows(
            &format!(
                "SELECT id, ts, event_type, flow_id, src_ip, src_port, dest_ip, dest_port, proto,
                 app_proto, event FROM events {} {order} LIMIT ? OFFSET ?",
                w.sql()
            ),
            w.params,
            |r| {
                Ok(EventRow {
                    id: r.get(0)?,
                    timestamp: ts(r.get(1)?),
                    event_type: r.get(2)?,
                    flow_id: r.get(3)?,
                    src_ip: r.get(4)?,
                    src_port: r.get(5)?,
                    dest_ip: r.get(6)?,
                    dest_port: r.get(7)?,
                    proto: r.get(8)?,
                    app_proto: r.get(9)?,
                    event: json(r.get(10)?),
                })
            },
        )
    }

    /// A time series for charts: `metric` summed per `step_secs` bucket (≥ 60) over the
    /// range, split by `group`. Read from the per-minute rollups; with a scope (per-user
    /// data scoping) traffic comes from the scoped flows instead, attributed to their start.
    pub fn series(
        &self,
        metric: Metric,
        group: SeriesGroup,
        f: &Filter,
        step_secs: i64,
    ) -> Result<Vec<SeriesPoint>, StoreError> {
        let step = step_secs.max(60);
        let from = f.from.unwrap_or(0) / 1_000_000;
        let to = f.to.map(|t| t / 1_000_000).unwrap_or(i64::MAX / 2);
        let (sql, params): (String, Vec<Sql>) = match (metric, f.scope.is_some()) {
            (Metric::Alerts, _) => {
                let g = match group {
                    SeriesGroup::Severity => "CAST(severity AS TEXT)",
                    SeriesGroup::Source => "source",
                    SeriesGroup::None => "''",
                    _ => {
                        return Err(StoreError::Invalid(
                            "alerts are grouped by severity or source".into(),
                        ))
                    }
                };
                if f.scope.is_some() {
                    let w = alert_where(f);
                    let sql = format!(
                        "SELECT (ae.ts / 1000000 / ?) * ? AS b, {g}, count(*) FROM alert_events ae
                         JOIN alerts ON alerts.id = ae.alert_id {} GROUP BY 1, 2 ORDER BY 1, 2",
                        w.sql()
                    );
                    let mut p = vec![Sql::Integer(step), Sql::Integer(step)];
                    p.extend(w.params);
                    (sql, p)
                } else {
                    (
                        format!(
                            "SELECT (minute / ?) * ? AS b, {g}, sum(count) FROM rollup_alerts
                             WHERE minute >= ? AND minute < ? GROUP BY 1, 2 ORDER BY 1, 2"
                        ),
                        vec![
                            Sql::Integer(step),
                            Sql::Integer(step),
                            Sql::Integer(from - from.rem_euclid(60)),
                            Sql::Integer(to),
                        ],
                    )
                }
            }
            (m, scoped) => {
                let g = match group {
                    SeriesGroup::None => "''",
                    SeriesGroup::Proto => "proto",
                    SeriesGroup::AppProto => "coalesce(app_proto, '')",
                    _ => {
                        return Err(StoreError::Invalid(
                            "traffic is grouped by proto or app_proto".into(),
                        ))
                    }
                };
                if scoped {
                    let v = match m {
                        Metric::Packets => "pkts_toserver + pkts_toclient",
                        Metric::Bytes => "bytes_toserver + bytes_toclient",
                        _ => "1",
                    };
                    let mut w = Where::default();
                    let hours = self.hours("flows", f)?;
                    common(&mut w, f, "ts", "ts", hours.as_deref());
                    let sql = format!(
                        "SELECT (ts / 1000000 / ?) * ? AS b, {g}, sum({v}) FROM flows {}
                         GROUP BY 1, 2 ORDER BY 1, 2",
                        w.sql()
                    );
                    let mut p = vec![Sql::Integer(step), Sql::Integer(step)];
                    p.extend(w.params);
                    (sql, p)
                } else {
                    let v = match m {
                        Metric::Packets => "packets",
                        Metric::Bytes => "bytes",
                        _ => "flows",
                    };
                    (
                        format!(
                            "SELECT (minute / ?) * ? AS b, {g}, sum({v}) FROM rollup_traffic
                             WHERE minute >= ? AND minute < ? GROUP BY 1, 2 ORDER BY 1, 2"
                        ),
                        vec![
                            Sql::Integer(step),
                            Sql::Integer(step),
                            Sql::Integer(from - from.rem_euclid(60)),
                            Sql::Integer(to),
                        ],
                    )
                }
            }
        };
        self.rows(&sql, params, |r| {
            Ok(SeriesPoint {
                t: r.get(0)?,
                group: r.get(1)?,
                value: r.get(2)?,
            })
        })
    }

    /// The top `n` of `kind` over the range, ranked by `metric` (bytes, packets or flows).
    /// Hosts are read from the per-minute rollups (each minute keeps its top hosts and
    /// ports), restricted to the scope if any.
    pub fn top(
        &self,
        kind: TopKind,
        metric: Metric,
        f: &Filter,
        n: u32,
    ) -> Result<Vec<TopRow>, StoreError> {
        let n = i64::from(n.clamp(1, 1000));
        let from = f.from.unwrap_or(0) / 1_000_000;
        let from = from - from.rem_euclid(60);
        let to = f.to.map(|t| t / 1_000_000).unwrap_or(i64::MAX / 2);
        let rank = match metric {
            Metric::Packets => "2",
            Metric::Bytes => "3",
            Metric::Flows | Metric::Alerts => "4",
        };
        let (sql, params) = match kind {
            TopKind::Talkers | TopKind::Destinations => {
                let role = if kind == TopKind::Talkers {
                    "src"
                } else {
                    "dest"
                };
                let mut w = Where::default();
                w.push("role = ?", [Sql::Text(role.into())]);
                w.push(
                    "minute >= ? AND minute < ?",
                    [Sql::Integer(from), Sql::Integer(to)],
                );
                if let Some(scope) = &f.scope {
                    if scope.is_empty() {
                        w.push("0", []);
                    } else {
                        w.nets(&["ip_key"], scope, None);
                    }
                }
                w.nets(&["ip_key"], &f.net, None);
                (
                    format!(
                        "SELECT ip, sum(packets), sum(bytes), sum(flows) FROM rollup_hosts {}
                         GROUP BY ip ORDER BY {rank} DESC LIMIT ?",
                        w.sql()
                    ),
                    w.params,
                )
            }
            TopKind::Ports | TopKind::AppProtos if f.scope.is_none() => {
                let (key, table) = if kind == TopKind::Ports {
                    ("proto || '/' || port", "rollup_ports")
                } else {
                    (
                        "CASE app_proto WHEN '' THEN 'none' ELSE app_proto END",
                        "rollup_traffic",
                    )
                };
                (
                    format!(
                        "SELECT {key}, sum(packets), sum(bytes), sum(flows) FROM {table}
                         WHERE minute >= ? AND minute < ? GROUP BY 1 ORDER BY {rank} DESC LIMIT ?"
                    ),
                    vec![Sql::Integer(from), Sql::Integer(to)],
                )
            }
            TopKind::Ports | TopKind::AppProtos => {
                let key = if kind == TopKind::Ports {
                    "proto || '/' || dest_port"
                } else {
                    "coalesce(app_proto, 'none')"
                };
                let mut w = Where::default();
                let hours = self.hours("flows", f)?;
                common(&mut w, f, "ts", "ts", hours.as_deref());
                (
                    format!(
                        "SELECT {key}, sum(pkts_toserver + pkts_toclient),
                         sum(bytes_toserver + bytes_toclient), count(*) FROM flows {}
                         GROUP BY 1 ORDER BY {rank} DESC LIMIT ?",
                        w.sql()
                    ),
                    w.params,
                )
            }
            TopKind::Signatures => {
                let w = alert_where(f);
                (
                    format!(
                        "SELECT signature, 0, 0, sum(count) FROM alerts {} GROUP BY gid, sid
                         ORDER BY 4 DESC LIMIT ?",
                        w.sql()
                    ),
                    w.params,
                )
            }
        };
        let mut params = params;
        params.push(Sql::Integer(n));
        self.rows(&sql, params, |r| {
            Ok(TopRow {
                key: r.get(0)?,
                packets: r.get(1)?,
                bytes: r.get(2)?,
                flows: r.get(3)?,
            })
        })
    }
}

/// A flow row's columns.
struct FlowColumns {
    start: i64,
    end: i64,
    flow_id: Option<i64>,
    src_ip: String,
    src_port: Option<u16>,
    dest_ip: String,
    dest_port: Option<u16>,
    proto: String,
    app_proto: Option<String>,
    pkts: [i64; 2],
    bytes: [i64; 2],
    state: Option<String>,
    reason: Option<String>,
    alerted: bool,
}

impl FlowColumns {
    /// The EVE flow event: the columns and what the row kept beyond them (see
    /// `ingest::flow_rest`), in EVE's order.
    fn event(&self, rest: String) -> serde_json::Value {
        use serde_json::{Map, Value};
        let Ok(Value::Object(mut rest)) = serde_json::from_str::<Value>(&rest) else {
            return Value::String(rest);
        };
        if rest.contains_key("event_type") {
            return Value::Object(rest); // a whole event
        }
        let mut m = Map::new();
        let stamp = rest
            .remove("timestamp")
            .unwrap_or_else(|| Value::String(ts(self.end)));
        m.insert("timestamp".into(), stamp);
        if let Some(id) = self.flow_id {
            m.insert("flow_id".into(), Value::from(id as u64));
        }
        m.insert("event_type".into(), "flow".into());
        m.insert("src_ip".into(), self.src_ip.clone().into());
        if let Some(p) = self.src_port {
            m.insert("src_port".into(), p.into());
        }
        m.insert("dest_ip".into(), self.dest_ip.clone().into());
        if let Some(p) = self.dest_port {
            m.insert("dest_port".into(), p.into());
        }
        m.insert("proto".into(), self.proto.clone().into());
        if let Some(a) = &self.app_proto {
            m.insert("app_proto".into(), a.clone().into());
        }
        let mut flow = Map::new();
        flow.insert("pkts_toserver".into(), self.pkts[0].into());
        flow.insert("pkts_toclient".into(), self.pkts[1].into());
        flow.insert("bytes_toserver".into(), self.bytes[0].into());
        flow.insert("bytes_toclient".into(), self.bytes[1].into());
        flow.insert("start".into(), ts(self.start).into());
        flow.insert("end".into(), ts(self.end).into());
        let kept = match rest.remove("flow") {
            Some(Value::Object(o)) => o,
            _ => Map::new(),
        };
        flow.extend(kept);
        if let Some(st) = &self.state {
            flow.insert("state".into(), st.clone().into());
        }
        if let Some(r) = &self.reason {
            flow.insert("reason".into(), r.clone().into());
        }
        flow.insert("alerted".into(), self.alerted.into());
        m.insert("flow".into(), Value::Object(flow));
        m.extend(rest);
        Value::Object(m)
    }
}

pub(crate) const ALERT_COLUMNS: &str = "id, first_seen, last_seen, count, gid, sid, rev, signature,
    category, severity, source, src_ip, src_port, dest_ip, dest_port, proto, app_proto, flow_id,
    status, status_by, status_at, assignee, suppressed, event";

pub(crate) fn alert_row(r: &Row<'_>) -> rusqlite::Result<AlertRow> {
    Ok(AlertRow {
        id: r.get(0)?,
        first_seen: ts(r.get(1)?),
        last_seen: ts(r.get(2)?),
        count: r.get(3)?,
        gid: r.get(4)?,
        sid: r.get(5)?,
        rev: r.get(6)?,
        signature: r.get(7)?,
        category: r.get(8)?,
        severity: r.get(9)?,
        source: r.get(10)?,
        src_ip: r.get(11)?,
        src_port: r.get(12)?,
        dest_ip: r.get(13)?,
        dest_port: r.get(14)?,
        proto: r.get(15)?,
        app_proto: r.get(16)?,
        flow_id: r.get(17)?,
        status: r.get(18)?,
        status_by: r.get(19)?,
        status_at: r.get::<_, Option<i64>>(20)?.map(ts),
        assignee: r.get(21)?,
        suppressed: r.get(22)?,
        event: json(r.get(23)?),
    })
}

/// Alerts overlapping the range (first seen before its end, last seen after its start).
fn alert_where(f: &Filter) -> Where {
    let mut w = Where::default();
    common(&mut w, f, "first_seen", "last_seen", None);
    if let Some(s) = f.sid {
        w.push("sid = ?", [Sql::Integer(i64::from(s))]);
    }
    if let Some(g) = f.gid {
        w.push("gid = ?", [Sql::Integer(i64::from(g))]);
    }
    if let Some(s) = &f.signature {
        w.push("signature LIKE ? ESCAPE '\\'", [like(s)]);
    }
    if let Some(s) = f.severity {
        w.push("severity <= ?", [Sql::Integer(i64::from(s))]);
    }
    if let Some(s) = &f.source {
        w.push("source = ?", [Sql::Text(s.clone())]);
    }
    if let Some(s) = &f.status {
        w.push("status = ?", [Sql::Text(s.clone())]);
    }
    if let Some(t) = &f.text {
        w.push("text LIKE ? ESCAPE '\\'", [like(t)]);
    }
    if !f.include_suppressed {
        w.push("suppressed = 0", []);
    }
    w
}
