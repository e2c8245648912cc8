//! Rules for a run: loading them (with a warning for each rule left out), reloading them on
//! SIGHUP, and `nta rules reload`, which sends that signal.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use nta_engine::{Config, RulesHandle};

use crate::args::RulesReloadArgs;

/// Skipped rules listed one by one on stderr; past this, a count.
const MAX_WARNINGS: usize = 20;

/// The rule files of a run: `-S` files, else the configuration's; a directory stands for
/// its `*.rules` files, in name order.
pub fn rule_files(cfg: &Config, cli: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let given = if cli.is_empty() {
        &cfg.rules.files
    } else {
        cli
    };
    expand(given)
}

/// Each directory replaced by its `*.rules` files (sorted); files as they are.
pub fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    nta_engine::expand_rule_paths(paths).map_err(|e| anyhow::anyhow!(e))
}

pub fn load(cfg: &Config, files: &[PathBuf], quiet: bool) -> Result<Option<Arc<RulesHandle>>> {
    if files.is_empty() {
        return Ok(None);
    }
    let engine = compile(cfg, files, quiet)?;
    Ok(Some(RulesHandle::new(engine)))
}

fn compile(cfg: &Config, files: &[PathBuf], quiet: bool) -> Result<nta_detect::Engine> {
    let started = std::time::Instant::now();
    let (engine, set) = cfg.rules.compile(files, None)?;
    if !quiet {
        for s in set.skipped.iter().take(MAX_WARNINGS) {
            eprintln!("nta: warning: rule skipped: {s}");
        }
        if set.skipped.len() > MAX_WARNINGS {
            eprintln!(
                "nta: warning: {} more rules skipped (`nta rules check` lists the reasons)",
                set.skipped.len() - MAX_WARNINGS
            );
        }
        eprintln!(
            "nta: rules: {} loaded, {} skipped, in {:.2} s",
            engine.len(),
            set.skipped.len(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(engine)
}

/// Reloads the rules on every SIGHUP, in a thread of its own: the new rules compile while
/// the workers carry on with the old ones, and they switch at their next tick. A reload
/// that fails (a rule file gone, a bad variable) keeps the rules in force. `cli` are the
/// `-S` paths (directories are listed again at each reload).
pub fn reload_on_sighup(cfg: &Config, cli: Vec<PathBuf>, handle: Arc<RulesHandle>) -> Result<()> {
    let mut signals = signal_hook::iterator::Signals::new([signal_hook::consts::SIGHUP])
        .context("installing the SIGHUP handler")?;
    let cfg = cfg.clone();
    std::thread::Builder::new()
        .name("nta-rules-reload".into())
        .spawn(move || {
            for _ in signals.forever() {
                eprintln!("nta: SIGHUP: reloading rules");
                let loaded = rule_files(&cfg, &cli).and_then(|files| compile(&cfg, &files, false));
                match loaded {
                    Ok(engine) => {
                        let n = engine.len();
                        handle.replace(engine);
                        eprintln!("nta: rules reloaded: {n} in force from each worker's next tick");
                    }
                    Err(e) => eprintln!(
                        "nta: error: rule reload failed, keeping the rules in force: {e:#}"
                    ),
                }
            }
        })
        .context("starting the rule reload thread")?;
    Ok(())
}

/// Writes the pid file; it is removed when the guard drops.
pub struct PidFile(PathBuf);

impl PidFile {
    /// Writes our process id to `path`.
    pub fn create(path: &Path) -> Result<PidFile> {
        std::fs::write(path, format!("{}\n", std::process::id()))
            .with_context(|| format!("writing the pid file {}", path.display()))?;
        Ok(PidFile(path.to_path_buf()))
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// `nta rules reload`.
pub fn reload(a: RulesReloadArgs) -> Result<std::process::ExitCode> {
    let pid = match (a.pid, &a.pidfile) {
        (Some(p), _) => p,
        (None, Some(f)) => {
            let text = std::fs::read_to_string(f)
                .with_context(|| format!("reading the pid file {}", f.display()))?;
            text.trim()
                .parse::<i32>()
                .with_context(|| format!("{}: not a process id: {:?}", f.display(), text.trim()))?
        }
        (None, None) => bail!("give --pidfile FILE or --pid PID"),
    };
    if pid <= 0 {
        bail!("not a process id: {pid}");
    }
    let target = nix::unistd::Pid::from_raw(pid);
    nix::sys::signal::kill(target, nix::sys::signal::Signal::SIGHUP)
        .with_context(|| format!("signalling process {pid}"))?;
    println!("sent SIGHUP to nta (pid {pid}): it reloads its rules and reports on its stderr");
    Ok(std::process::ExitCode::SUCCESS)
}
