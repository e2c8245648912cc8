//! The store end to end: EVE lines through the writer into a real SQLite file, read back by
//! the history queries.

use std::io::Write;
use std::time::Duration;

use nta_store::{
    parse_net, AlertStatus, Filter, Ingest, IngestConfig, Metric, Page, SeriesGroup, Store, TopKind,
};

const T0: &str = "2026-03-01T10:00:00.000000+0000";

#[allow(clippy::too_many_arguments)]
fn flow(
    ts: &str,
    end: &str,
    src: &str,
    sport: u16,
    dst: &str,
    dport: u16,
    app: &str,
    bytes: u64,
) -> String {
    format!(
        r#"{{"timestamp":"{end}","flow_id":{sport}{dport},"event_type":"flow","src_ip":"{src}","src_port":{sport},"dest_ip":"{dst}","dest_port":{dport},"proto":"TCP","app_proto":"{app}","flow":{{"pkts_toserver":5,"pkts_toclient":5,"bytes_toserver":{bytes},"bytes_toclient":{bytes},"start":"{ts}","end":"{end}","age":0,"state":"closed","reason":"timeout","alerted":false}}}}"#
    )
}

fn alert(ts: &str, sid: u32, sev: u8, src: &str, dst: &str) -> String {
    format!(
        r#"{{"timestamp":"{ts}","flow_id":7,"event_type":"alert","src_ip":"{src}","src_port":1234,"dest_ip":"{dst}","dest_port":80,"proto":"TCP","alert":{{"action":"allowed","gid":1,"signature_id":{sid},"rev":2,"signature":"test sig {sid}","category":"Misc","severity":{sev},"source":"rule"}},"app_proto":"http","http":{{"hostname":"evil.example","url":"/x"}}}}"#
    )
}

fn http(ts: &str, src: &str, dst: &str, host: &str) -> String {
    format!(
        r#"{{"timestamp":"{ts}","flow_id":4000180,"event_type":"http","src_ip":"{src}","src_port":5555,"dest_ip":"{dst}","dest_port":80,"proto":"TCP","tx_id":0,"app_proto":"http","http":{{"hostname":"{host}","url":"/index.html","status":200}}}}"#
    )
}

fn ingest(store: &Store, lines: &[String]) {
    let ing = Ingest::start(store, IngestConfig::default(), None).unwrap();
    let mut input = ing.input();
    for l in lines {
        // Lines arrive split at odd places: the input must reassemble them.
        let (a, b) = l.as_bytes().split_at(l.len() / 2);
        input.write_all(a).unwrap();
        input.write_all(b).unwrap();
        input.write_all(b"\n").unwrap();
    }
    drop(input);
    ing.finish().unwrap();
}

#[test]
fn flows_events_and_alerts_are_stored_and_queried() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.sqlite")).unwrap();
    let mut lines = vec![
        flow(
            T0,
            "2026-03-01T10:00:30.000000+0000",
            "10.1.1.5",
            40000,
            "192.0.2.10",
            443,
            "tls",
            1000,
        ),
        flow(
            T0,
            "2026-03-01T10:00:10.000000+0000",
            "10.1.2.5",
            40001,
            "198.51.100.1",
            80,
            "http",
            500,
        ),
        flow(
            "2026-03-01T11:30:00.000000+0000",
            "2026-03-01T11:30:01.000000+0000",
            "10.1.1.6",
            40002,
            "192.0.2.11",
            53,
            "dns",
            50,
        ),
        http(T0, "10.1.2.5", "198.51.100.1", "www.shop.example"),
        "not json at all".to_string(),
    ];
    // Three events of one signature between the same hosts: one alert, count 3.
    for s in 0..3 {
        lines.push(alert(
            &format!("2026-03-01T10:00:0{s}.000000+0000"),
            2001,
            1,
            "10.1.1.5",
            "192.0.2.10",
        ));
    }
    lines.push(alert(T0, 2002, 3, "10.9.9.9", "192.0.2.10"));
    ingest(&store, &lines);

    assert_eq!(store.count("flows").unwrap(), 3);
    assert_eq!(store.count("events").unwrap(), 1);
    assert_eq!(store.count("alert_events").unwrap(), 4);

    // /24 filter and time range.
    let f = Filter {
        net: vec![parse_net("10.1.1.0/24").unwrap()],
        from: Some(1_772_359_200_000_000), // 10:00
        to: Some(1_772_362_800_000_000),   // 11:00
        ..Filter::default()
    };
    let flows = store.flows(&f, &Page::default()).unwrap();
    assert_eq!(flows.len(), 1);
    assert_eq!(flows[0].dest_ip, "192.0.2.10");
    assert_eq!(flows[0].bytes, 2000);
    assert_eq!(flows[0].event["flow"]["state"], "closed");

    // Text search reaches flows through their events.
    let f = Filter {
        text: Some("shop.example".into()),
        ..Filter::default()
    };
    assert_eq!(store.flows(&f, &Page::default()).unwrap().len(), 1);
    assert_eq!(store.events(&f, &Page::default()).unwrap().len(), 1);

    // Sorting and paging.
    let page = Page {
        limit: 2,
        sort: Some("bytes".into()),
        ..Page::default()
    };
    let top = store.flows(&Filter::default(), &page).unwrap();
    assert_eq!(
        top.iter().map(|r| r.bytes).collect::<Vec<_>>(),
        vec![2000, 1000]
    );
    let bad = Page {
        sort: Some("colour".into()),
        ..Page::default()
    };
    assert!(store
        .flows(&Filter::default(), &bad)
        .unwrap_err()
        .to_string()
        .contains("colour"));

    // Deduplication.
    let alerts = store.alerts(&Filter::default(), &Page::default()).unwrap();
    assert_eq!(alerts.len(), 2);
    let a = alerts.iter().find(|a| a.sid == 2001).unwrap();
    assert_eq!(a.count, 3);
    assert_eq!(a.first_seen, "2026-03-01T10:00:00.000000+0000");
    assert_eq!(a.last_seen, "2026-03-01T10:00:02.000000+0000");
    let high = Filter {
        severity: Some(2),
        ..Filter::default()
    };
    assert_eq!(store.alerts(&high, &Page::default()).unwrap().len(), 1);

    // Scope: a user limited to 10.9.0.0/16 sees only the alert from 10.9.9.9.
    let scoped = Filter {
        scope: Some(vec![parse_net("10.9.0.0/16").unwrap()]),
        ..Filter::default()
    };
    let seen = store.alerts(&scoped, &Page::default()).unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].sid, 2002);
    assert!(store
        .alert(a.id, Some(&[parse_net("10.9.0.0/16").unwrap()]))
        .unwrap()
        .is_none());

    // Rollups: the 30-second flow and the 10-second one fall in minute 10:00.
    let series = store
        .series(Metric::Bytes, SeriesGroup::AppProto, &Filter::default(), 60)
        .unwrap();
    let at = |g: &str| series.iter().find(|p| p.group == g).map(|p| p.value);
    assert_eq!(at("tls"), Some(2000));
    assert_eq!(at("http"), Some(1000));
    let talkers = store
        .top(TopKind::Talkers, Metric::Bytes, &Filter::default(), 10)
        .unwrap();
    assert_eq!(talkers[0].key, "10.1.1.5");
    let sev = store
        .series(
            Metric::Alerts,
            SeriesGroup::Severity,
            &Filter::default(),
            3600,
        )
        .unwrap();
    assert_eq!(sev.iter().map(|p| p.value).sum::<i64>(), 4);
    let sigs = store
        .top(TopKind::Signatures, Metric::Flows, &Filter::default(), 5)
        .unwrap();
    assert_eq!(sigs[0].key, "test sig 2001");
    assert_eq!(sigs[0].flows, 3);
}

#[test]
fn lifecycle_is_recorded_and_a_closed_alert_starts_a_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.sqlite")).unwrap();
    ingest(&store, &[alert(T0, 3001, 2, "10.0.0.1", "10.0.0.2")]);
    let id = store.alerts(&Filter::default(), &Page::default()).unwrap()[0].id;
    store
        .set_status(id, AlertStatus::Acknowledged, "alice")
        .unwrap();
    store.assign(id, Some("bob"), "alice").unwrap();
    store
        .comment(id, "bob", "looking at the web server")
        .unwrap();
    store.set_status(id, AlertStatus::Closed, "bob").unwrap();
    let d = store.alert(id, None).unwrap().unwrap();
    assert_eq!(d.alert.status, "closed");
    assert_eq!(d.alert.status_by.as_deref(), Some("bob"));
    assert_eq!(d.alert.assignee.as_deref(), Some("bob"));
    assert_eq!(d.comments[0].text, "looking at the web server");
    let actions: Vec<&str> = d.log.iter().map(|l| l.action.as_str()).collect();
    assert_eq!(actions, ["acknowledged", "assigned", "commented", "closed"]);
    assert!(store.set_status(999, AlertStatus::Closed, "x").is_err());
    assert!(store.comment(id, "bob", "  ").is_err());

    // The same signature between the same hosts, within the window: a new alert, since the
    // old one is closed.
    ingest(
        &store,
        &[alert(
            "2026-03-01T10:00:05.000000+0000",
            3001,
            2,
            "10.0.0.1",
            "10.0.0.2",
        )],
    );
    let all = store.alerts(&Filter::default(), &Page::default()).unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all.iter().filter(|a| a.status == "new").count(), 1);
}

#[test]
fn retention_deletes_by_age_and_by_size() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.sqlite")).unwrap();
    let mut cfg = IngestConfig::default();
    cfg.retention.flows.max_age = Some(Duration::from_secs(3600));
    cfg.retention_interval = Duration::from_millis(50);
    let ing = Ingest::start(&store, cfg, None).unwrap();
    let mut input = ing.input();
    // One old flow (2 h before the newest) and two recent ones.
    for (start, end) in [
        (
            "2026-03-01T08:00:00.000000+0000",
            "2026-03-01T08:00:01.000000+0000",
        ),
        (
            "2026-03-01T09:59:00.000000+0000",
            "2026-03-01T09:59:01.000000+0000",
        ),
        (T0, "2026-03-01T10:00:01.000000+0000"),
    ] {
        writeln!(
            input,
            "{}",
            flow(start, end, "10.0.0.1", 1, "10.0.0.2", 2, "", 10)
        )
        .unwrap();
    }
    ing.sync().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // Wake the writer so that it runs retention.
    writeln!(input, "{}", http(T0, "10.0.0.1", "10.0.0.2", "a")).unwrap();
    ing.sync().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    drop(input);
    ing.finish().unwrap();
    assert_eq!(store.count("flows").unwrap(), 2);

    // Size: 1 MiB for flows; 20,000 flows (several MiB) shrink under it.
    let store2 = Store::open(&dir.path().join("big.sqlite")).unwrap();
    let mut cfg = IngestConfig::default();
    cfg.retention.flows.max_size_mb = Some(1);
    cfg.retention_interval = Duration::from_millis(10);
    let ing = Ingest::start(&store2, cfg, None).unwrap();
    let mut input = ing.input();
    for i in 0..20_000u32 {
        writeln!(
            input,
            "{}",
            flow(
                T0,
                T0,
                &format!("10.0.{}.{}", i / 250, i % 250),
                1,
                "10.9.0.1",
                80,
                "http",
                100
            )
        )
        .unwrap();
    }
    ing.sync().unwrap();
    std::thread::sleep(Duration::from_millis(100));
    writeln!(input, "{}", http(T0, "10.0.0.1", "10.0.0.2", "a")).unwrap();
    ing.sync().unwrap();
    std::thread::sleep(Duration::from_millis(100));
    drop(input);
    ing.finish().unwrap();
    let left = store2.count("flows").unwrap();
    assert!(left > 0 && left < 20_000, "{left} flows left");
}

#[test]
fn a_live_queue_that_is_full_drops_and_counts() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.sqlite")).unwrap();
    let cfg = IngestConfig {
        live: true,
        queue: 1,
        ..IngestConfig::default()
    };
    let ing = Ingest::start(&store, cfg, None).unwrap();
    let mut input = ing.input();
    let line = flow(T0, T0, "10.0.0.1", 1, "10.0.0.2", 2, "", 10);
    for _ in 0..20_000 {
        // One write per line: each is a chunk, and the one-chunk queue overflows.
        input.write_all(format!("{line}\n").as_bytes()).unwrap();
    }
    let counters = std::sync::Arc::clone(ing.counters());
    drop(input);
    ing.finish().unwrap();
    let written = counters.events.load(std::sync::atomic::Ordering::Relaxed);
    let stored = store.count("flows").unwrap();
    assert_eq!(written, stored);
    assert!(stored < 20_000);
    assert_eq!(stored + store.counter("events_dropped").unwrap(), 20_000);
}

/// A flow comes back as the same EVE event it went in as, though its row keeps only what the
/// columns do not hold.
#[test]
fn flow_events_come_back_whole() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.sqlite")).unwrap();
    let cases = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/cases");
    let mut originals: Vec<serde_json::Value> = Vec::new();
    let mut lines = Vec::new();
    for entry in std::fs::read_dir(&cases).unwrap() {
        let p = entry.unwrap().path();
        if !p.to_string_lossy().ends_with(".events.jsonl") {
            continue;
        }
        for l in std::fs::read_to_string(&p).unwrap().lines() {
            if l.contains(r#""event_type":"flow""#) {
                originals.push(serde_json::from_str(l).unwrap());
                lines.push(l.to_string());
            }
        }
    }
    assert!(lines.len() > 50, "{} flow events", lines.len());
    ingest(&store, &lines);
    let page = Page {
        limit: 10_000,
        ..Page::default()
    };
    let stored: Vec<serde_json::Value> = store
        .flows(&Filter::default(), &page)
        .unwrap()
        .into_iter()
        .map(|f| f.event)
        .collect();
    assert_eq!(stored.len(), originals.len());
    let key = |v: &serde_json::Value| v.to_string();
    let mut a: Vec<String> = originals.iter().map(key).collect();
    let mut b: Vec<String> = stored
        .iter()
        .map(|v| {
            // Same members, maybe in another order: compare sorted.
            let original = originals
                .iter()
                .find(|o| {
                    o["flow_id"] == v["flow_id"]
                        && o["flow"]["start"] == v["flow"]["start"]
                        && o["src_port"] == v["src_port"]
                })
                .unwrap_or_else(|| panic!("no original for {v}"));
            assert_eq!(original, v, "round trip");
            key(original)
        })
        .collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
}
