//! The suricata-verify cases of `../shared/data/sv/`, run against the real `nta` binary the
//! way the suite's `run.py` runs them against Suricata.
//!
//! For each case directory: read `test.yaml`, find the capture (the `pcap:` key, else the only
//! `*.pcap`/`*.pcapng`) and the rule files (`*.rules`), run
//! `nta read PCAP -S RULES -o eve.json --workers 1` in a temporary directory, and evaluate
//! every `checks: - filter:` — the number of EVE events whose fields (dotted keys such as
//! `alert.signature_id`, `smtp.rcpt_to[0]`) all equal `match` must be `count`. The same run
//! with `--workers 2` must give the same counts.
//!
//! What cannot be judged against NTA is skipped with a printed reason rather than passed:
//! `stats` checks and `shell` checks (Suricata's own counters and scripts), a `stats` event
//! filter that names a counter NTA's stats event does not have, a filter on another file than
//! `eve.json`, a case or check that is only for older Suricata versions (`lt-version`,
//! `version`), needs a Suricata build feature, a script or an environment, or runs Suricata
//! with other arguments than `-k none` (NTA never validates checksums) or a runmode.
//!
//! Every failing check is reported with the case, the filter and got/expected; the test fails
//! at the end if any did.

mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use yaml_rust2::{Yaml, YamlLoader};

use common::NTA;

/// Suricata build features (`suricata --build-info`, "Features:") whose behaviour NTA has, so
/// that a case requiring one of them still runs. None yet: a case that needs a feature is
/// skipped.
const FEATURES: &[&str] = &[];

/// Suricata command-line arguments that change nothing NTA does: checksum validation off (NTA
/// never validates checksums) and the threading runmode.
const NEUTRAL_ARGS: &[&[&str]] = &[
    &["-k", "none"],
    &["--runmode", "single"],
    &["--runmode", "autofp"],
    &["--runmode", "workers"],
    &["--runmode=single"],
    &["--runmode=autofp"],
    &["--runmode=workers"],
];

/// `../shared/data/sv`, or the directory in `NTA_SV_DIR` (e.g. the `tests/` folder of a
/// suricata-verify checkout, to run more of the suite).
fn sv_dir() -> Option<PathBuf> {
    let p = match std::env::var_os("NTA_SV_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/sv"),
    };
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!(
            "SKIPPED: the suricata-verify cases are absent ({} is not a directory)",
            p.display()
        );
        None
    }
}

/// One case, ready to run.
struct Case {
    name: String,
    pcap: PathBuf,
    rules: Vec<PathBuf>,
    /// `(index in checks, filter)`.
    filters: Vec<(usize, Yaml)>,
}

/// What a run of `nta` left: its events and what it said on stderr.
struct Output {
    events: Vec<Value>,
    stderr: String,
}

#[derive(Default)]
struct Tally {
    cases_run: usize,
    cases_skipped: usize,
    checks_passed: usize,
    checks_skipped: usize,
    failures: Vec<String>,
}

#[test]
fn suricata_verify_cases_pass() {
    let Some(root) = sv_dir() else { return };
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("test.yaml").is_file())
        .collect();
    dirs.sort();
    assert!(
        !dirs.is_empty(),
        "no case (DIR/test.yaml) in {}",
        root.display()
    );

    let mut tally = Tally::default();
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let case = match load_case(&name, dir) {
            Ok(c) => c,
            Err(reason) => {
                eprintln!("sv {name}: SKIPPED: {reason}");
                tally.cases_skipped += 1;
                continue;
            }
        };
        tally.cases_run += 1;
        run_case(&case, &mut tally);
    }
    eprintln!(
        "suricata-verify: {} cases run, {} skipped; {} checks passed, {} skipped, {} failed",
        tally.cases_run,
        tally.cases_skipped,
        tally.checks_passed,
        tally.checks_skipped,
        tally.failures.len()
    );
    assert!(
        tally.failures.is_empty(),
        "{} suricata-verify checks failed:\n\n{}",
        tally.failures.len(),
        tally.failures.join("\n\n")
    );
}

fn run_case(case: &Case, tally: &mut Tally) {
    let one = run_nta(case, 1);
    let two = run_nta(case, 2);
    for (i, filter) in &case.filters {
        let label = format!("sv {} check #{}", case.name, i + 1);
        if let Err(reason) = filter_applies(filter, &one.events) {
            eprintln!("{label}: SKIPPED: {reason}");
            tally.checks_skipped += 1;
            continue;
        }
        let want = match &filter["count"] {
            Yaml::Integer(n) => *n,
            other => {
                tally.failures.push(format!(
                    "{label}: `count` is not an integer: {other:?} in {}",
                    describe(filter)
                ));
                continue;
            }
        };
        let got1 = count_matching(filter, &one.events);
        let got2 = count_matching(filter, &two.events);
        if got1 == want && got2 == want {
            tally.checks_passed += 1;
            continue;
        }
        let mut msg = format!(
            "{label}: filter {}\n  expected {want}, got {got1} with --workers 1 and {got2} with --workers 2",
            describe(filter)
        );
        let warnings: Vec<&str> = one
            .stderr
            .lines()
            .filter(|l| l.contains("warning") || l.contains("error"))
            .collect();
        if !warnings.is_empty() {
            let _ = write!(msg, "\n  nta said:\n    {}", warnings.join("\n    "));
        }
        let alerts: Vec<String> = one
            .events
            .iter()
            .filter(|e| e["event_type"] == "alert")
            .map(|e| e["alert"]["signature_id"].to_string())
            .collect();
        let _ = write!(
            msg,
            "\n  alerts (sids, --workers 1): [{}]",
            alerts.join(", ")
        );
        tally.failures.push(msg);
    }
}

/// Runs `nta read` over the case in a fresh directory, as the suite runs Suricata.
fn run_nta(case: &Case, workers: u32) -> Output {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut cmd = Command::new(NTA);
    cmd.current_dir(dir.path())
        .arg("read")
        .arg(&case.pcap)
        .args(["-o", "eve.json", "--workers", &workers.to_string()]);
    for r in &case.rules {
        cmd.arg("-S").arg(r);
    }
    let out = cmd.output().expect("running nta");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "sv {}: nta read failed ({:?}):\n{stderr}",
        case.name,
        out.status.code()
    );
    let eve = std::fs::read_to_string(dir.path().join("eve.json"))
        .unwrap_or_else(|e| panic!("sv {}: no eve.json: {e}\n{stderr}", case.name));
    Output {
        events: common::parse_events(&eve),
        stderr,
    }
}

/// Reads `DIR/test.yaml` and decides whether the case can be run; `Err` is why it is skipped.
fn load_case(name: &str, dir: &Path) -> Result<Case, String> {
    let text = std::fs::read_to_string(dir.join("test.yaml"))
        .map_err(|e| format!("cannot read test.yaml: {e}"))?;
    let docs = YamlLoader::load_from_str(&text)
        .unwrap_or_else(|e| panic!("sv {name}: test.yaml does not parse: {e}"));
    let cfg = docs.into_iter().next().unwrap_or(Yaml::Null);
    if cfg["command"].as_str().is_some() {
        return Err("runs a command of its own instead of reading a capture".into());
    }
    if let Some(setup) = cfg["setup"].as_vec() {
        if !setup.is_empty() {
            return Err("has setup scripts".into());
        }
    }
    requirements_met(&cfg["requires"])?;
    skip_entries(&cfg["skip"])?;
    check_args(&cfg["args"])?;

    let mut rules: Vec<PathBuf> = Vec::new();
    let pcap = match &cfg["pcap"] {
        Yaml::String(p) => dir.join(p),
        Yaml::Boolean(false) => return Err("has no capture (`pcap: false`)".into()),
        _ => {
            let found = files_with(dir, &["pcap", "pcapng"]);
            match found.as_slice() {
                [one] => one.clone(),
                [] => return Err("no capture in the directory".into()),
                many => {
                    return Err(format!(
                        "{} captures and no `pcap:` key to choose one",
                        many.len()
                    ))
                }
            }
        }
    };
    assert!(
        pcap.is_file(),
        "sv {name}: capture {} is missing",
        pcap.display()
    );
    // `-S FILE` in args names the rule file; otherwise every `*.rules` of the directory.
    if let Some(args) = cfg["args"].as_vec() {
        let words: Vec<&str> = args
            .iter()
            .filter_map(Yaml::as_str)
            .flat_map(str::split_whitespace)
            .collect();
        for w in words.windows(2) {
            if w[0] == "-S" {
                rules.push(dir.join(w[1]));
            }
        }
    }
    if rules.is_empty() {
        rules = files_with(dir, &["rules"]);
    }

    let mut filters = Vec::new();
    for (i, check) in cfg["checks"].as_vec().into_iter().flatten().enumerate() {
        let Some(h) = check.as_hash() else { continue };
        for (kind, body) in h {
            match kind.as_str() {
                Some("filter") => filters.push((i, body.clone())),
                Some(other) => eprintln!(
                    "sv {name} check #{}: SKIPPED: `{other}` checks are Suricata-specific",
                    i + 1
                ),
                None => {}
            }
        }
    }
    Ok(Case {
        name: name.to_string(),
        pcap,
        rules,
        filters,
    })
}

fn files_with(dir: &Path, exts: &[&str]) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.extension()
                        .and_then(|x| x.to_str())
                        .is_some_and(|x| exts.contains(&x))
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// `requires:` of a case or a check. NTA follows the current Suricata, so `min-version` is
/// met; what only older versions did, or what needs a build feature, a file, a script or an
/// environment variable, is not.
fn requirements_met(req: &Yaml) -> Result<(), String> {
    let Some(h) = req.as_hash() else {
        return Ok(());
    };
    for (k, v) in h {
        let key = k.as_str().unwrap_or("");
        match key {
            "min-version" => {}
            "lt-version" => return Err(format!("only for Suricata before {}", scalar(v))),
            "version" => return Err(format!("only for Suricata {}", scalar(v))),
            "features" => {
                for f in v.as_vec().into_iter().flatten() {
                    let f = scalar(f);
                    if !FEATURES.contains(&f.as_str()) {
                        return Err(format!("requires the Suricata build feature {f}"));
                    }
                }
            }
            "not-features" => {
                for f in v.as_vec().into_iter().flatten() {
                    let f = scalar(f);
                    if FEATURES.contains(&f.as_str()) {
                        return Err(format!("not for builds with {f}"));
                    }
                }
            }
            "pcap" => {
                if v.as_bool() == Some(false) {
                    return Err("needs no capture (`requires: pcap: false`)".into());
                }
            }
            other => return Err(format!("requires `{other}`, which NTA cannot evaluate")),
        }
    }
    Ok(())
}

/// `skip:` entries: a uid, a Suricata feature, or a Suricata configuration value.
fn skip_entries(skip: &Yaml) -> Result<(), String> {
    for entry in skip.as_vec().into_iter().flatten() {
        let msg = entry["msg"].as_str().map(str::to_string);
        if let Some(uid) = entry["uid"].as_i64() {
            if current_uid() == Some(uid) {
                return Err(msg.unwrap_or_else(|| format!("not for uid {uid}")));
            }
        }
        if let Some(f) = entry["feature"].as_str() {
            if FEATURES.contains(&f) {
                return Err(msg.unwrap_or_else(|| format!("not for feature {f}")));
            }
        }
        if !entry["config"].is_badvalue() {
            return Err(
                msg.unwrap_or_else(|| "skipped for a Suricata configuration value".to_string())
            );
        }
    }
    Ok(())
}

fn current_uid() -> Option<i64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find(|l| l.starts_with("Uid:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// `args:` must change nothing NTA does.
fn check_args(args: &Yaml) -> Result<(), String> {
    let words: Vec<&str> = args
        .as_vec()
        .into_iter()
        .flatten()
        .filter_map(Yaml::as_str)
        .flat_map(str::split_whitespace)
        .collect();
    let mut i = 0;
    while i < words.len() {
        if words[i] == "-S" && i + 1 < words.len() {
            i += 2;
            continue;
        }
        match NEUTRAL_ARGS
            .iter()
            .find(|a| words[i..].starts_with(a))
            .map(|a| a.len())
        {
            Some(n) => i += n,
            None => {
                return Err(format!(
                    "runs Suricata with `{}`, which has no NTA counterpart",
                    words[i..].join(" ")
                ))
            }
        }
    }
    Ok(())
}

/// Whether a filter can be judged against NTA's output; `Err` is why not.
fn filter_applies(filter: &Yaml, events: &[Value]) -> Result<(), String> {
    if let Some(f) = filter["filename"].as_str() {
        if f != "eve.json" {
            return Err(format!("filters `{f}`, which NTA does not write"));
        }
    }
    if !filter["lt-version"].is_badvalue() {
        return Err(format!(
            "only for Suricata before {}",
            scalar(&filter["lt-version"])
        ));
    }
    if !filter["version"].is_badvalue() {
        return Err(format!("only for Suricata {}", scalar(&filter["version"])));
    }
    requirements_met(&filter["requires"])?;
    let m = &filter["match"];
    if m["event_type"].as_str() == Some("stats") {
        // Keep what NTA's stats event can answer; Suricata's own counters are skipped.
        let stats: Vec<&Value> = events
            .iter()
            .filter(|e| e["event_type"] == "stats")
            .collect();
        for (k, _) in m.as_hash().into_iter().flatten() {
            let key = k.as_str().unwrap_or("");
            if key == "event_type" {
                continue;
            }
            if !stats.iter().any(|e| find_value(e, key).is_some()) {
                return Err(format!(
                    "`{key}` is a Suricata counter NTA's stats event does not have"
                ));
            }
        }
    }
    Ok(())
}

fn count_matching(filter: &Yaml, events: &[Value]) -> i64 {
    let m = &filter["match"];
    events.iter().filter(|e| event_matches(m, e)).count() as i64
}

/// `run.py`'s `FilterCheck.match`: every key equal; `has-key` / `not-has-key` test presence.
fn event_matches(m: &Yaml, ev: &Value) -> bool {
    let Some(h) = m.as_hash() else { return true };
    h.iter().all(|(k, expected)| {
        let key = k.as_str().map(str::to_string).unwrap_or_else(|| scalar(k));
        match key.as_str() {
            "has-key" => find_value(ev, &scalar(expected)).is_some(),
            "not-has-key" => find_value(ev, &scalar(expected)).is_none(),
            _ => match find_value(ev, &key) {
                Some(got) => yaml_equals(expected, &got),
                // run.py compares None with the expected value: only `null` equals it.
                None => expected.is_null(),
            },
        }
    })
}

/// The value at a dotted key: `alert.signature_id`, `smtp.rcpt_to[0]`, and `KEY.__len` (the
/// length of an array, object or string).
fn find_value(ev: &Value, dotted: &str) -> Option<Value> {
    let mut v = ev;
    for part in dotted.split('.') {
        if part == "__len" {
            let n = match v {
                Value::Array(a) => a.len(),
                Value::Object(o) => o.len(),
                Value::String(s) => s.len(),
                _ => return None,
            };
            return Some(Value::from(n));
        }
        let (name, index) = match part.strip_suffix(']').and_then(|p| p.split_once('[')) {
            Some((n, i)) => (n, Some(i.parse::<usize>().ok()?)),
            None => (part, None),
        };
        v = v.as_object()?.get(name)?;
        if let Some(i) = index {
            v = v.as_array()?.get(i)?;
        }
    }
    Some(v.clone())
}

/// YAML `expected` against JSON `got`: numbers numerically, strings exactly, lists and maps
/// element by element.
fn yaml_equals(expected: &Yaml, got: &Value) -> bool {
    match expected {
        Yaml::Integer(n) => got.as_f64().is_some_and(|g| g == *n as f64),
        Yaml::Real(r) => r
            .parse::<f64>()
            .ok()
            .zip(got.as_f64())
            .is_some_and(|(a, b)| a == b),
        Yaml::String(s) => got.as_str() == Some(s.as_str()),
        Yaml::Boolean(b) => got.as_bool() == Some(*b),
        Yaml::Null => got.is_null(),
        Yaml::Array(items) => got.as_array().is_some_and(|g| {
            g.len() == items.len() && items.iter().zip(g).all(|(e, v)| yaml_equals(e, v))
        }),
        Yaml::Hash(h) => got.as_object().is_some_and(|o| {
            o.len() == h.len()
                && h.iter().all(|(k, e)| {
                    k.as_str()
                        .and_then(|k| o.get(k))
                        .is_some_and(|v| yaml_equals(e, v))
                })
        }),
        Yaml::Alias(_) | Yaml::BadValue => false,
    }
}

fn scalar(y: &Yaml) -> String {
    match y {
        Yaml::String(s) | Yaml::Real(s) => s.clone(),
        Yaml::Integer(n) => n.to_string(),
        Yaml::Boolean(b) => b.to_string(),
        Yaml::Null => "null".into(),
        other => format!("{other:?}"),
    }
}

/// A filter for messages: `{count: 1, match: {event_type: alert, alert.signature_id: 2}}`.
fn describe(filter: &Yaml) -> String {
    fn inline(y: &Yaml) -> String {
        match y {
            Yaml::Hash(h) => format!(
                "{{{}}}",
                h.iter()
                    .map(|(k, v)| format!("{}: {}", inline(k), inline(v)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Yaml::Array(a) => format!("[{}]", a.iter().map(inline).collect::<Vec<_>>().join(", ")),
            other => scalar(other),
        }
    }
    inline(filter)
}

#[test]
fn filters_compare_like_the_suites_run_py() {
    // The matching rules themselves, on events made up here, so that a runner bug cannot
    // make every suricata-verify check pass.
    let ev: Value = serde_json::json!({
        "event_type": "alert",
        "alert": {"signature_id": 7, "signature": "x"},
        "smtp": {"rcpt_to": ["<a@b>", "<c@d>"]},
        "flow": {"alerted": true}
    });
    let f = |text: &str| {
        YamlLoader::load_from_str(text)
            .unwrap()
            .into_iter()
            .next()
            .unwrap()
    };
    let yes = [
        "match: {event_type: alert, alert.signature_id: 7}",
        "match: {alert.signature_id: 7.0}",
        "match: {\"smtp.rcpt_to[1]\": \"<c@d>\"}",
        "match: {smtp.rcpt_to.__len: 2}",
        "match: {has-key: alert.signature}",
        "match: {not-has-key: alert.gid}",
        "match: {flow.alerted: true}",
        "match: {alert.missing: null}",
        "match: {smtp.rcpt_to: [\"<a@b>\", \"<c@d>\"]}",
    ];
    for y in yes {
        assert!(event_matches(&f(y)["match"], &ev), "{y}");
    }
    let no = [
        "match: {event_type: flow}",
        "match: {alert.signature_id: \"7\"}",
        "match: {alert.signature_id: 8}",
        "match: {\"smtp.rcpt_to[2]\": \"<c@d>\"}",
        "match: {has-key: alert.gid}",
        "match: {not-has-key: alert.signature}",
        "match: {flow.alerted: false}",
        "match: {alert.missing: 0}",
    ];
    for y in no {
        assert!(!event_matches(&f(y)["match"], &ev), "{y}");
    }
    assert!(check_args(&f("[-k none]")).is_ok());
    assert!(check_args(&f("[\"-k none\", --runmode=single]")).is_ok());
    assert!(check_args(&f("[--set, stream.midstream=true]")).is_err());
    assert!(requirements_met(&f("{min-version: 8.0.0}")).is_ok());
    assert!(requirements_met(&f("{features: [HAVE_LUA]}")).is_err());
    assert!(requirements_met(&f("{lt-version: 7}")).is_err());
}
