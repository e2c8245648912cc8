//! The pipeline's runtime API on a real store: channels, suppressions and thresholds changed
//! while alerts flow, delivered through a real file channel.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use nta_alert::{Alerting, AlertingConfig, ChannelConfig, SuppressConfig, ThresholdConfig};
use nta_store::{Filter, Ingest, IngestConfig, Page, Store};

fn alert(sec: u32, sid: u32, src: &str) -> String {
    format!(
        r#"{{"timestamp":"2026-03-01T10:00:{sec:02}.000000+0000","flow_id":1,"event_type":"alert","src_ip":"{src}","src_port":1234,"dest_ip":"192.0.2.1","dest_port":80,"proto":"TCP","alert":{{"action":"allowed","gid":1,"signature_id":{sid},"rev":1,"signature":"sig {sid}","severity":2,"source":"rule"}}}}"#
    )
}

fn file_channel(name: &str, path: &Path) -> ChannelConfig {
    toml::from_str(&format!(
        "name = \"{name}\"\ntype = \"file\"\npath = \"{}\"\n",
        path.display()
    ))
    .unwrap()
}

/// Alert ids (sid:src) delivered to a file channel so far.
fn delivered(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            format!("{}:{}", v["sid"], v["src_ip"].as_str().unwrap())
        })
        .collect()
}

fn wait_for(path: &Path, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let d = delivered(path);
        if d.len() >= n || Instant::now() > deadline {
            return d;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

struct Rig {
    store: Store,
    ingest: Ingest,
    alerting: Alerting,
}

impl Rig {
    fn new(dir: &Path, cfg: &AlertingConfig) -> Rig {
        let store = Store::open(&dir.join("s.sqlite")).unwrap();
        let (alerting, hook) = Alerting::start(&store, cfg).unwrap();
        let ingest = Ingest::start(&store, IngestConfig::default(), Some(hook)).unwrap();
        Rig {
            store,
            ingest,
            alerting,
        }
    }

    fn send(&self, lines: &[String]) {
        let mut input = self.ingest.input();
        for l in lines {
            writeln!(input, "{l}").unwrap();
        }
        drop(input);
        self.ingest.sync().unwrap();
    }
}

#[test]
fn channels_suppressions_and_thresholds_change_at_run_time() {
    let dir = tempfile::tempdir().unwrap();
    let out_a = dir.path().join("a.jsonl");
    let out_b = dir.path().join("b.jsonl");
    let rig = Rig::new(dir.path(), &AlertingConfig::default());

    // No channel yet: stored, nothing delivered.
    rig.send(&[alert(0, 1, "10.0.0.1")]);
    assert!(delivered(&out_a).is_empty());

    // A channel added at run time takes the next alert.
    rig.alerting.add_channel(file_channel("a", &out_a)).unwrap();
    assert!(rig
        .alerting
        .add_channel(file_channel("a", &out_a))
        .unwrap_err()
        .to_string()
        .contains("exists already"));
    rig.send(&[alert(1, 2, "10.0.0.2")]);
    assert_eq!(wait_for(&out_a, 1), ["2:10.0.0.2"]);

    // Edited: now only sid 3 (and to another file).
    let mut edited = file_channel("a", &out_b);
    edited.sids = vec![3];
    rig.alerting.update_channel("a", edited).unwrap();
    rig.send(&[alert(2, 2, "10.0.0.3"), alert(2, 3, "10.0.0.3")]);
    assert_eq!(wait_for(&out_b, 1), ["3:10.0.0.3"]);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(delivered(&out_b).len(), 1);

    // A suppression by network made at run time: stored, marked, not delivered.
    let id = rig
        .alerting
        .add_suppression(
            &SuppressConfig {
                network: Some("10.9.0.0/16".into()),
                reason: Some("lab".into()),
                ..SuppressConfig::default()
            },
            "ana",
        )
        .unwrap();
    rig.send(&[alert(3, 3, "10.9.1.1")]);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(delivered(&out_b).len(), 1);
    let all = Filter {
        include_suppressed: true,
        ..Filter::default()
    };
    let stored = rig.store.alerts(&all, &Page::default()).unwrap();
    assert!(stored
        .iter()
        .any(|a| a.src_ip == "10.9.1.1" && a.suppressed));
    assert_eq!(rig.alerting.suppressions()[0].created_by, "ana");
    rig.alerting.remove_suppression(id).unwrap();
    rig.send(&[alert(4, 3, "10.9.1.2")]);
    assert_eq!(wait_for(&out_b, 2).len(), 2);

    // A threshold set at run time: at most 2 of sid 3 per minute.
    rig.alerting
        .set_threshold(&ThresholdConfig {
            gid: 1,
            sid: 3,
            kind: "limit".into(),
            count: 2,
            seconds: 60,
        })
        .unwrap();
    let burst: Vec<String> = (0..5)
        .map(|i| alert(10, 3, &format!("10.5.0.{i}")))
        .collect();
    rig.send(&burst);
    assert_eq!(wait_for(&out_b, 4).len(), 4);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(delivered(&out_b).len(), 4, "2 of the 5 passed the limit");
    assert_eq!(rig.alerting.thresholds().len(), 1);

    // Listing shows status, never secrets; removing drops the channel.
    let info = rig.alerting.channels().unwrap();
    assert_eq!(info[0].name, "a");
    assert_eq!(info[0].delivered, 5, "1 before the edit, 4 after");
    assert_eq!(info[0].backlog, 0);
    rig.alerting.remove_channel("a").unwrap();
    assert!(rig.alerting.channels().unwrap().is_empty());
    assert!(rig.alerting.test_channel("a").is_err());
    assert!(rig.alerting.remove_suppression(12345).is_err());
}

#[test]
fn secrets_stay_out_of_listings() {
    let dir = tempfile::tempdir().unwrap();
    let cfg: AlertingConfig = toml::from_str(
        r#"
[[channels]]
name = "hook"
type = "webhook"
url = "http://127.0.0.1:9/hooks/T0KEN-SECRET?sig=abc"
[[channels]]
name = "mail"
type = "email"
server = "127.0.0.1"
port = 9
security = "none"
username = "nta"
password = "hunter2-secret"
from = "nta@example.org"
to = ["soc@example.org"]
"#,
    )
    .unwrap();
    let rig = Rig::new(dir.path(), &cfg);
    let listing = serde_json::to_string(&rig.alerting.channels().unwrap()).unwrap();
    assert!(
        !listing.contains("T0KEN") && !listing.contains("sig=abc"),
        "{listing}"
    );
    assert!(!listing.contains("hunter2"), "{listing}");
    assert!(listing.contains("http://127.0.0.1:9/…"), "{listing}");
    let debug = format!("{:?}", cfg);
    assert!(
        !debug.contains("T0KEN") && !debug.contains("hunter2"),
        "{debug}"
    );
    // A failed test names the host, not the token.
    let e = rig.alerting.test_channel("hook").unwrap_err().to_string();
    assert!(!e.contains("T0KEN"), "{e}");
    let e = rig.alerting.test_channel("mail").unwrap_err().to_string();
    assert!(!e.contains("hunter2"), "{e}");
}

#[test]
fn the_outbox_is_bounded_and_counts_what_it_drops() {
    let dir = tempfile::tempdir().unwrap();
    // A receiver that is never there: nothing can be delivered.
    let cfg: AlertingConfig = toml::from_str(
        r#"
outbox_max = 10
[[channels]]
name = "hook"
type = "webhook"
url = "http://127.0.0.1:9/x"
retry_initial = "10s"
"#,
    )
    .unwrap();
    let rig = Rig::new(dir.path(), &cfg);
    let burst: Vec<String> = (0..25)
        .map(|i| alert(1, 7, &format!("10.6.0.{i}")))
        .collect();
    rig.send(&burst);
    let info = rig.alerting.channels().unwrap();
    assert_eq!(info[0].backlog, 10);
    assert_eq!(info[0].dropped, 15);
    // The newest are kept.
    let ids: Vec<i64> = rig
        .store
        .conn()
        .prepare("SELECT alert_id FROM outbox ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let newest: Vec<i64> = rig
        .store
        .alerts(
            &Filter::default(),
            &Page {
                limit: 10,
                ..Page::default()
            },
        )
        .unwrap()
        .iter()
        .map(|a| a.id)
        .rev()
        .collect();
    assert_eq!(ids, newest);
}
