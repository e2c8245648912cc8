//! `nta history …` and `nta alert …`: the store from the command line.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use nta_store::{AlertStatus, Filter, Metric, Order, Page, SeriesGroup, Store, TopKind};

use crate::args::{
    AlertCommand, AlertIdArgs, GroupArg, HistoryCommand, HistoryFilterArgs, HistoryListArgs,
    MetricArg, StoreArgs, TopKindArg,
};

fn open(a: &StoreArgs) -> Result<(Store, nta_engine::Config)> {
    let cfg = match &a.config {
        Some(p) => nta_engine::Config::load(p)?,
        None => nta_engine::Config::default(),
    };
    let path = match crate::store::path(a.store.as_deref(), &cfg) {
        Some(p) => p,
        None => match crate::serve::data_dir(a.data_dir.as_deref()) {
            Ok(d) => d.join("nta.sqlite"),
            Err(_) => bail!(
                "no store: pass --store FILE or --data-dir DIR, or set store.path in the configuration"
            ),
        },
    };
    if !path.exists() {
        bail!(
            "store {} does not exist (fill it with `nta read … --store FILE`)",
            path.display()
        );
    }
    Ok((Store::open(&path)?, cfg))
}

fn parse_time(s: &str) -> Result<i64> {
    nta_store::parse_time(s).map_err(|e| anyhow!(e))
}

fn nets(list: &[String]) -> Result<Vec<ipnet::IpNet>> {
    list.iter()
        .map(|s| nta_store::parse_net(s).map_err(|e| anyhow!(e)))
        .collect()
}

fn severity(s: &str) -> Result<u8> {
    nta_store::parse_severity(s).map_err(|e| anyhow!("severity {e}"))
}

fn filter(a: &HistoryFilterArgs) -> Result<Filter> {
    let scope = nets(&a.scope)?;
    Ok(Filter {
        from: a.from.as_deref().map(parse_time).transpose()?,
        to: a.to.as_deref().map(parse_time).transpose()?,
        net: nets(&a.net)?,
        src_net: nets(&a.src)?,
        dest_net: nets(&a.dest)?,
        port: a.port.clone(),
        proto: a.proto.clone(),
        app_proto: a.app_proto.clone(),
        event_type: a.event_type.clone(),
        sid: a.sid,
        gid: None,
        signature: a.signature.clone(),
        severity: a.severity.as_deref().map(severity).transpose()?,
        source: a.source.clone(),
        status: a
            .status
            .as_deref()
            .map(|s| AlertStatus::parse(s).map(|s| s.as_str().to_string()))
            .transpose()?,
        text: a.text.clone(),
        scope: (!scope.is_empty()).then_some(scope),
        include_suppressed: a.suppressed,
    })
}

fn page(a: &HistoryListArgs) -> Page {
    Page {
        limit: a.limit,
        offset: a.offset,
        sort: a.sort.clone(),
        order: if a.asc { Order::Asc } else { Order::Desc },
    }
}

fn endpoint(ip: &str, port: Option<u16>) -> String {
    match port {
        Some(p) if ip.contains(':') => format!("[{ip}]:{p}"),
        Some(p) => format!("{ip}:{p}"),
        None => ip.to_string(),
    }
}

/// `2026-03-01T10:00:00.123456+0000` → `2026-03-01 10:00:00`.
fn short(ts: &str) -> String {
    ts.get(..19).unwrap_or(ts).replacen('T', " ", 1)
}

fn human_bytes(n: i64) -> String {
    let n = n as f64;
    for (unit, size) in [("GB", 1e9), ("MB", 1e6), ("kB", 1e3)] {
        if n >= size {
            return format!("{:.1} {unit}", n / size);
        }
    }
    format!("{n} B")
}

fn json_lines<T: serde::Serialize>(rows: &[T]) -> Result<()> {
    let mut out = io::stdout().lock();
    for r in rows {
        serde_json::to_writer(&mut out, r)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// A brief description of an event: host and URL, query name, SNI, …
fn detail(ev: &serde_json::Value) -> String {
    let t = ev["event_type"].as_str().unwrap_or("");
    let o = &ev[t];
    let s = |v: &serde_json::Value| v.as_str().unwrap_or("").to_string();
    match t {
        "http" => format!(
            "{} {}{} {}",
            s(&o["http_method"]),
            s(&o["hostname"]),
            s(&o["url"]),
            o["status"]
        ),
        "dns" => format!("{} {} {}", s(&o["type"]), s(&o["rrname"]), s(&o["rrtype"])),
        "tls" | "quic" => format!("sni={} {}", s(&o["sni"]), s(&o["version"])),
        "ssh" => format!(
            "{} / {}",
            s(&o["client"]["software_version"]),
            s(&o["server"]["software_version"])
        ),
        _ => {
            let text = o.to_string();
            text.chars().take(80).collect()
        }
    }
}

pub fn history(cmd: HistoryCommand) -> Result<ExitCode> {
    match cmd {
        HistoryCommand::Flows(a) => {
            let (store, _) = open(&a.store)?;
            let rows = store.flows(&filter(&a.filter)?, &page(&a))?;
            if a.json {
                return json_lines(&rows).map(|_| ExitCode::SUCCESS);
            }
            println!(
                "{:<19}  {:<5} {:<41} {:<41} {:<8} {:>8} {:>10}  STATE",
                "START", "PROTO", "SOURCE", "DESTINATION", "APP", "PACKETS", "BYTES"
            );
            for r in &rows {
                println!(
                    "{:<19}  {:<5} {:<41} {:<41} {:<8} {:>8} {:>10}  {}",
                    short(&r.start),
                    r.proto,
                    endpoint(&r.src_ip, r.src_port),
                    endpoint(&r.dest_ip, r.dest_port),
                    r.app_proto.as_deref().unwrap_or("-"),
                    r.packets,
                    human_bytes(r.bytes),
                    r.state.as_deref().unwrap_or("-"),
                );
            }
            eprintln!("{} flows", rows.len());
        }
        HistoryCommand::Alerts(a) => {
            let (store, _) = open(&a.store)?;
            let rows = store.alerts(&filter(&a.filter)?, &page(&a))?;
            if a.json {
                return json_lines(&rows).map(|_| ExitCode::SUCCESS);
            }
            println!(
                "{:>6}  {:<19}  {:>6}  {:<6} {:<12} {:<44} SOURCE -> DESTINATION",
                "ID", "LAST SEEN", "COUNT", "SEV", "STATUS", "SIGNATURE"
            );
            for r in &rows {
                let sig: String = r.signature.chars().take(44).collect();
                println!(
                    "{:>6}  {:<19}  {:>6}  {:<6} {:<12} {:<44} {} -> {}",
                    r.id,
                    short(&r.last_seen),
                    r.count,
                    nta_alert::channels::severity_name(r.severity),
                    r.status,
                    sig,
                    endpoint(&r.src_ip, r.src_port),
                    endpoint(&r.dest_ip, r.dest_port),
                );
            }
            eprintln!("{} alerts", rows.len());
        }
        HistoryCommand::Events(a) => {
            let (store, _) = open(&a.store)?;
            let rows = store.events(&filter(&a.filter)?, &page(&a))?;
            if a.json {
                return json_lines(&rows).map(|_| ExitCode::SUCCESS);
            }
            println!(
                "{:<19}  {:<8} {:<41} {:<41} DETAIL",
                "TIME", "TYPE", "SOURCE", "DESTINATION"
            );
            for r in &rows {
                println!(
                    "{:<19}  {:<8} {:<41} {:<41} {}",
                    short(&r.timestamp),
                    r.event_type,
                    endpoint(r.src_ip.as_deref().unwrap_or("-"), r.src_port),
                    endpoint(r.dest_ip.as_deref().unwrap_or("-"), r.dest_port),
                    detail(&r.event),
                );
            }
            eprintln!("{} events", rows.len());
        }
        HistoryCommand::Top(a) => {
            let (store, _) = open(&a.store)?;
            let kind = match a.kind {
                TopKindArg::Talkers => TopKind::Talkers,
                TopKindArg::Destinations => TopKind::Destinations,
                TopKindArg::Ports => TopKind::Ports,
                TopKindArg::AppProtos => TopKind::AppProtos,
                TopKindArg::Signatures => TopKind::Signatures,
            };
            let rows = store.top(kind, metric(a.by), &filter(&a.filter)?, a.count)?;
            if a.json {
                return json_lines(&rows).map(|_| ExitCode::SUCCESS);
            }
            if kind == TopKind::Signatures {
                println!("{:>4}  {:>8}  SIGNATURE", "RANK", "EVENTS");
                for (i, r) in rows.iter().enumerate() {
                    println!("{:>4}  {:>8}  {}", i + 1, r.flows, r.key);
                }
            } else {
                println!(
                    "{:>4}  {:<40} {:>10} {:>10} {:>8}",
                    "RANK", "KEY", "BYTES", "PACKETS", "FLOWS"
                );
                for (i, r) in rows.iter().enumerate() {
                    println!(
                        "{:>4}  {:<40} {:>10} {:>10} {:>8}",
                        i + 1,
                        r.key,
                        human_bytes(r.bytes),
                        r.packets,
                        r.flows
                    );
                }
            }
        }
        HistoryCommand::Series(a) => {
            let (store, _) = open(&a.store)?;
            let step = nta_alert::parse_duration(&a.step).map_err(|e| anyhow!("--step: {e}"))?;
            let group = match a.group {
                GroupArg::None => SeriesGroup::None,
                GroupArg::Proto => SeriesGroup::Proto,
                GroupArg::AppProto => SeriesGroup::AppProto,
                GroupArg::Severity => SeriesGroup::Severity,
                GroupArg::Source => SeriesGroup::Source,
            };
            let rows = store.series(
                metric(a.metric),
                group,
                &filter(&a.filter)?,
                step.as_secs() as i64,
            )?;
            if a.json {
                return json_lines(&rows).map(|_| ExitCode::SUCCESS);
            }
            println!("{:<19}  {:<12} {:>12}", "TIME", "SERIES", "VALUE");
            for p in &rows {
                let t = nta_event::format_timestamp(p.t.max(0) as u64 * 1_000_000_000);
                println!(
                    "{:<19}  {:<12} {:>12}",
                    short(&t),
                    if p.group.is_empty() { "-" } else { &p.group },
                    p.value
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn metric(m: MetricArg) -> Metric {
    match m {
        MetricArg::Bytes => Metric::Bytes,
        MetricArg::Packets => Metric::Packets,
        MetricArg::Flows => Metric::Flows,
        MetricArg::Alerts => Metric::Alerts,
    }
}

fn user(u: &Option<String>) -> String {
    u.clone()
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "cli".into())
}

fn set_status(a: &AlertIdArgs, status: AlertStatus) -> Result<ExitCode> {
    let (store, _) = open(&a.store)?;
    store.set_status(a.id, status, &user(&a.user))?;
    println!("alert {}: {}", a.id, status.as_str());
    Ok(ExitCode::SUCCESS)
}

pub fn alert(cmd: AlertCommand) -> Result<ExitCode> {
    match cmd {
        AlertCommand::Test(a) => {
            let cfg = match &a.store.config {
                Some(p) => nta_engine::Config::load(p)?,
                None => nta_engine::Config::default(),
            };
            let spec = match cfg.alerting.channels.iter().find(|c| c.name == a.channel) {
                Some(c) => c.compile().map_err(|e| anyhow!(e))?.spec,
                None => {
                    // A channel added at run time lives in the store.
                    let path: Option<PathBuf> = crate::store::path(a.store.store.as_deref(), &cfg)
                        .or_else(|| {
                            crate::serve::data_dir(a.store.data_dir.as_deref())
                                .ok()
                                .map(|d| d.join("nta.sqlite"))
                        });
                    let stored = match path.filter(|p| p.exists()) {
                        Some(p) => stored_channel(&Store::open(&p)?, &a.channel)?,
                        None => None,
                    };
                    match stored {
                        Some(c) => c.compile().map_err(|e| anyhow!(e))?.spec,
                        None => {
                            let names: Vec<&str> = cfg
                                .alerting
                                .channels
                                .iter()
                                .map(|c| c.name.as_str())
                                .collect();
                            bail!(
                                "no channel named {:?} (configured: {})",
                                a.channel,
                                if names.is_empty() {
                                    "none".to_string()
                                } else {
                                    names.join(", ")
                                }
                            );
                        }
                    }
                }
            };
            match nta_alert::send_test(&spec) {
                Ok(()) => {
                    println!("{}: test notification sent ({})", a.channel, spec.kind());
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("nta: {}: test notification failed: {e}", a.channel);
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        AlertCommand::Channels(a) => {
            let (store, cfg) = open(&a)?;
            // Only reads: no delivery thread is started for the listing.
            let mut list: Vec<(String, String, serde_json::Value)> = Vec::new();
            let mut st = store
                .conn()
                .prepare("SELECT name, origin, config FROM channels ORDER BY name")?;
            let rows = st.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })?;
            for row in rows {
                let (name, origin, json) = row?;
                let redacted = serde_json::from_str::<nta_alert::ChannelConfig>(&json)
                    .map(|c| c.redacted())
                    .unwrap_or(serde_json::Value::Null);
                list.push((name, origin, redacted));
            }
            for c in &cfg.alerting.channels {
                if !list.iter().any(|(n, _, _)| n == &c.name) {
                    list.push((c.name.clone(), "config (not yet run)".into(), c.redacted()));
                }
            }
            println!(
                "{:<16} {:<8} {:<20} {:>8} {:>10} {:>9} {:>8}  STATUS",
                "NAME", "TYPE", "ORIGIN", "BACKLOG", "DELIVERED", "FAILURES", "DROPPED"
            );
            for (name, origin, redacted) in list {
                let (backlog, delivered, failures, dropped, err, down): (
                    i64,
                    i64,
                    i64,
                    i64,
                    Option<String>,
                    Option<i64>,
                ) = store
                    .conn()
                    .query_row(
                        "SELECT (SELECT count(*) FROM outbox WHERE channel = ?1),
                         coalesce(delivered, 0), coalesce(failures, 0), coalesce(dropped, 0),
                         last_error, down_since FROM (SELECT 1) LEFT JOIN channel_status ON name = ?1",
                        [&name],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
                    )?;
                let status = match (down, err) {
                    (Some(t), Some(e)) => format!(
                        "DOWN since {}: {e}",
                        nta_event::format_timestamp(t as u64 * 1000)
                    ),
                    (_, Some(e)) => format!("last error: {e}"),
                    _ => "ok".into(),
                };
                println!(
                    "{:<16} {:<8} {:<20} {:>8} {:>10} {:>9} {:>8}  {}",
                    name,
                    redacted["type"].as_str().unwrap_or("?"),
                    origin,
                    backlog,
                    delivered,
                    failures,
                    dropped,
                    status
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        AlertCommand::Show(a) => {
            let (store, _) = open(&a.store)?;
            let Some(d) = store.alert(a.id, None)? else {
                bail!("no alert {}", a.id);
            };
            if a.json {
                println!("{}", serde_json::to_string_pretty(&d)?);
                return Ok(ExitCode::SUCCESS);
            }
            let x = &d.alert;
            println!(
                "alert {}: [{}] {}",
                x.id,
                nta_alert::channels::severity_name(x.severity),
                x.signature
            );
            println!("  signature  {}:{}:{} ({})", x.gid, x.sid, x.rev, x.source);
            if let Some(c) = &x.category {
                println!("  category   {c}");
            }
            println!(
                "  traffic    {} -> {} {}",
                endpoint(&x.src_ip, x.src_port),
                endpoint(&x.dest_ip, x.dest_port),
                x.proto.as_deref().unwrap_or("")
            );
            println!(
                "  seen       {} events, {} .. {}",
                x.count, x.first_seen, x.last_seen
            );
            println!(
                "  status     {}{}{}",
                x.status,
                x.status_by
                    .as_ref()
                    .map(|b| format!(" by {b}"))
                    .unwrap_or_default(),
                x.assignee
                    .as_ref()
                    .map(|b| format!(", assigned to {b}"))
                    .unwrap_or_default()
            );
            for c in &d.comments {
                println!(
                    "  comment    {} {}: {}",
                    short(&c.timestamp),
                    c.author,
                    c.text
                );
            }
            for l in &d.log {
                println!(
                    "  log        {} {} {}{}",
                    short(&l.timestamp),
                    l.actor,
                    l.action,
                    l.detail
                        .as_ref()
                        .map(|d| format!(" {d}"))
                        .unwrap_or_default()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        AlertCommand::Ack(a) => set_status(&a, AlertStatus::Acknowledged),
        AlertCommand::Close(a) => set_status(&a, AlertStatus::Closed),
        AlertCommand::Reopen(a) => set_status(&a, AlertStatus::New),
        AlertCommand::Comment(a) => {
            let (store, _) = open(&a.store)?;
            store.comment(a.id, &user(&a.user), &a.text)?;
            println!("alert {}: comment added", a.id);
            Ok(ExitCode::SUCCESS)
        }
        AlertCommand::Assign(a) => {
            let (store, _) = open(&a.store)?;
            store.assign(a.id, a.assignee.as_deref(), &user(&a.user))?;
            println!(
                "alert {}: {}",
                a.id,
                a.assignee
                    .as_ref()
                    .map(|n| format!("assigned to {n}"))
                    .unwrap_or_else(|| "unassigned".into())
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn stored_channel(store: &Store, name: &str) -> Result<Option<nta_alert::ChannelConfig>> {
    use nta_store::rusqlite::OptionalExtension;
    let json: Option<String> = store
        .conn()
        .query_row("SELECT config FROM channels WHERE name = ?1", [name], |r| {
            r.get(0)
        })
        .optional()?;
    json.map(|j| serde_json::from_str(&j).context("stored channel"))
        .transpose()
}
