//! The rules behind `/api/v1/rules`: what the server asks of whoever owns the rule files and
//! the engine's rules (the `nta` binary implements it).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use nta_engine::{Config, RulesHandle};
use serde_json::Value;

/// Rule management for the API. Errors are sentences for the user (400).
pub trait RulesControl: Send + Sync {
    /// Every rule read (loaded or disabled): `{gid, sid, rev, msg, action, file, line,
    /// enabled}` objects, in file order.
    fn list(&self) -> Vec<Value>;
    /// The last load's report (`loaded`, `skipped`, reasons with counts and examples).
    fn report(&self) -> Value;
    /// Enables or disables one rule, and reloads.
    fn set_enabled(&self, gid: u32, sid: u32, enabled: bool) -> Result<Value, String>;
    /// Checks rule text without applying it: the report it would give.
    fn check(&self, text: &str) -> Result<Value, String>;
    /// Adds (or replaces) a rule file of the server's own, and reloads.
    fn upload(&self, name: &str, text: &str) -> Result<Value, String>;
    /// Reads every rule file again and replaces the rules in force.
    fn reload(&self) -> Result<Value, String>;
}

/// A valid name for an uploaded rule file: letters, digits, `.`, `_`, `-`, ending in
/// `.rules`, no path.
pub fn valid_file_name(name: &str) -> Result<(), String> {
    let ok = name.len() <= 64
        && name.ends_with(".rules")
        && name.len() > ".rules".len()
        && !name.starts_with('.')
        && !name.contains("..")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "rule file name {name:?}: up to 64 letters, digits, '.', '_', '-', ending in .rules, no path"
        ))
    }
}

/// Rules from files: the given files or directories, and the server's own directory of
/// uploaded files, less the rules disabled through the API (kept in `disabled.json` there).
pub struct FileRules {
    cfg: Config,
    given: Vec<PathBuf>,
    dir: PathBuf,
    handle: Arc<RulesHandle>,
    state: std::sync::Mutex<FileRulesState>,
}

struct FileRulesState {
    disabled: std::collections::BTreeSet<(u32, u32)>,
    list: Vec<serde_json::Value>,
    report: serde_json::Value,
}

type Built = (
    nta_detect::Engine,
    Vec<serde_json::Value>,
    serde_json::Value,
);

impl FileRules {
    /// Loads the rules (`dir` is created); the engine's handle is the returned one's.
    pub fn start(
        cfg: &Config,
        given: Vec<PathBuf>,
        dir: PathBuf,
    ) -> Result<Arc<FileRules>, String> {
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create the rule directory {}: {e}", dir.display()))?;
        let disabled = read_disabled(&dir)?;
        let me = FileRules {
            cfg: cfg.clone(),
            given,
            dir,
            handle: RulesHandle::new(nta_detect::Engine::build(&Default::default())),
            state: std::sync::Mutex::new(FileRulesState {
                disabled,
                list: Vec::new(),
                report: serde_json::Value::Null,
            }),
        };
        let (engine, list, report) = me.build(None)?;
        eprintln!(
            "nta: rules: {} in force, {} skipped",
            engine.len(),
            report["skipped"].as_u64().unwrap_or(0)
        );
        me.handle.replace(engine);
        if let Ok(mut st) = me.state.lock() {
            st.list = list;
            st.report = report;
        }
        Ok(Arc::new(me))
    }

    /// The engine's handle.
    pub fn handle(&self) -> Arc<RulesHandle> {
        Arc::clone(&self.handle)
    }

    fn files(&self) -> Result<Vec<PathBuf>, String> {
        let mut files = nta_engine::expand_rule_paths(&self.given)?;
        let mut own: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map_err(|e| format!("reading {}: {e}", self.dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|f| f.is_file() && f.extension().is_some_and(|x| x == "rules"))
            .collect();
        own.sort();
        files.extend(own);
        Ok(files)
    }

    /// Reads and compiles everything, less the disabled rules (`disabled`, else the state's).
    fn build(
        &self,
        disabled: Option<&std::collections::BTreeSet<(u32, u32)>>,
    ) -> Result<Built, String> {
        let files = self.files()?;
        let mut set = self
            .cfg
            .rules
            .load(&files, None)
            .map_err(|e| e.to_string())?;
        let off = match disabled {
            Some(d) => d.clone(),
            None => self
                .state
                .lock()
                .map(|s| s.disabled.clone())
                .unwrap_or_default(),
        };
        let list: Vec<serde_json::Value> = set
            .rules
            .iter()
            .map(|r| {
                serde_json::json!({
                    "gid": r.meta.gid,
                    "sid": r.meta.sid,
                    "rev": r.meta.rev,
                    "msg": r.meta.msg,
                    "action": r.action.name(),
                    "file": r.location.as_ref().map(|l| l.file.display().to_string()),
                    "line": r.location.as_ref().map(|l| l.line),
                    "enabled": !off.contains(&(r.meta.gid, r.meta.sid)),
                })
            })
            .collect();
        set.rules
            .retain(|r| !off.contains(&(r.meta.gid, r.meta.sid)));
        let engine = nta_detect::Engine::build(&set);
        set.skipped.extend(engine.skipped().iter().cloned());
        let report: serde_json::Value =
            serde_json::from_str(&set.report().to_json()).unwrap_or_default();
        Ok((engine, list, report))
    }

    fn apply(&self, built: Built) -> serde_json::Value {
        let (engine, list, report) = built;
        let n = engine.len();
        self.handle.replace(engine);
        if let Ok(mut st) = self.state.lock() {
            st.list = list;
            st.report = report.clone();
        }
        eprintln!("nta: rules reloaded: {n} in force from each worker's next tick");
        serde_json::json!({ "in_force": n, "report": report })
    }
}

fn read_disabled(dir: &Path) -> Result<std::collections::BTreeSet<(u32, u32)>, String> {
    let p = dir.join("disabled.json");
    if !p.exists() {
        return Ok(Default::default());
    }
    let text = std::fs::read_to_string(&p).map_err(|e| format!("reading {}: {e}", p.display()))?;
    let list: Vec<(u32, u32)> = serde_json::from_str(&text)
        .map_err(|e| format!("{}: not a list of [gid, sid]: {e}", p.display()))?;
    Ok(list.into_iter().collect())
}

impl RulesControl for FileRules {
    fn list(&self) -> Vec<serde_json::Value> {
        self.state
            .lock()
            .map(|s| s.list.clone())
            .unwrap_or_default()
    }

    fn report(&self) -> serde_json::Value {
        self.state
            .lock()
            .map(|s| s.report.clone())
            .unwrap_or_default()
    }

    fn set_enabled(&self, gid: u32, sid: u32, enabled: bool) -> Result<serde_json::Value, String> {
        let known = self
            .list()
            .iter()
            .any(|r| r["gid"] == gid && r["sid"] == sid);
        if !known {
            return Err(format!("no rule {gid}:{sid}"));
        }
        let mut off = self
            .state
            .lock()
            .map(|s| s.disabled.clone())
            .unwrap_or_default();
        if enabled {
            off.remove(&(gid, sid));
        } else {
            off.insert((gid, sid));
        }
        let built = self.build(Some(&off))?;
        let list: Vec<&(u32, u32)> = off.iter().collect();
        let p = self.dir.join("disabled.json");
        std::fs::write(&p, serde_json::to_string(&list).unwrap_or_default())
            .map_err(|e| format!("cannot write {}: {e}", p.display()))?;
        if let Ok(mut st) = self.state.lock() {
            st.disabled = off;
        }
        Ok(self.apply(built))
    }

    fn check(&self, text: &str) -> Result<serde_json::Value, String> {
        let tmp = tempfile::Builder::new()
            .suffix(".rules")
            .tempfile()
            .map_err(|e| format!("cannot make a scratch file: {e}"))?;
        std::fs::write(tmp.path(), text)
            .map_err(|e| format!("cannot write a scratch file: {e}"))?;
        let (engine, set) = self
            .cfg
            .rules
            .compile(&[tmp.path().to_path_buf()], None)
            .map_err(|e| e.to_string())?;
        drop(engine);
        Ok(serde_json::from_str(&set.report().to_json()).unwrap_or_default())
    }

    fn upload(&self, name: &str, text: &str) -> Result<serde_json::Value, String> {
        valid_file_name(name)?;
        let report = self.check(text)?;
        if report["loaded"].as_u64() == Some(0) && report["skipped"].as_u64().unwrap_or(0) > 0 {
            return Err(format!(
                "no rule of {name} can be used: {}",
                report["reasons"]
            ));
        }
        let path = self.dir.join(name);
        let tmp = self.dir.join(format!(".{name}.part"));
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        let built = self.build(None)?;
        let mut out = self.apply(built);
        out["file"] = serde_json::Value::String(path.display().to_string());
        out["file_report"] = report;
        Ok(out)
    }

    fn reload(&self) -> Result<serde_json::Value, String> {
        eprintln!("nta: reloading rules");
        let built = self.build(None)?;
        Ok(self.apply(built))
    }
}
