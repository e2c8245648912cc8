//! `nta serve` and `nta user`: the engine, the store, the alert pipeline and the web server in
//! one process, over one data directory.

use std::io::{BufRead, IsTerminal};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use nta_capture::{LiveConfig, LiveSource, PacketSource, ReplaySource};
use nta_engine::{run, Config, RunOptions};
use nta_server::{users, AppState, Live, LiveTap, ServerOptions, SessionLimits};
use nta_store::Store;

use crate::args::{ServeArgs, UserArgs, UserCommand};

/// The data directory: `--data-dir`, else `NTA_DATA_DIR`, else `$XDG_DATA_HOME/nta`, else
/// `~/.local/share/nta` (an installed service sets `NTA_DATA_DIR=/var/lib/nta`).
pub fn data_dir(flag: Option<&Path>) -> Result<PathBuf> {
    if let Some(d) = flag {
        return Ok(d.to_path_buf());
    }
    if let Some(d) = std::env::var_os("NTA_DATA_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d).join("nta"));
    }
    match std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        Some(h) => Ok(PathBuf::from(h).join(".local/share/nta")),
        None => bail!("no data directory: pass --data-dir DIR or set NTA_DATA_DIR"),
    }
}

/// The store of a data directory (created with the directory).
pub fn open_data(dir: &Path) -> Result<(PathBuf, Store)> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
    let db = dir.join("nta.sqlite");
    let store = Store::open(&db)?;
    users::ensure_roles(store.conn())?;
    Ok((db, store))
}

/// The running configuration for `/api/v1/config`, secrets redacted.
fn redacted_config(cfg: &Config) -> serde_json::Value {
    let channels: Vec<serde_json::Value> =
        cfg.alerting.channels.iter().map(|c| c.redacted()).collect();
    serde_json::json!({
        "engine": { "workers": cfg.worker_count(), "stats_interval": cfg.engine.stats_interval },
        "capture": { "interface": cfg.capture.interface, "filter": cfg.capture.filter },
        "flow": { "max_flows": cfg.flow.max_flows },
        "rules": { "files": cfg.rules.files },
        "store": { "retention": cfg.store.retention, "commit_interval_ms": cfg.store.commit_interval_ms },
        "alerting": {
            "dedup_window": nta_store::format_duration(cfg.alerting.dedup_window),
            "outbox_max": cfg.alerting.outbox_max,
            "channels": channels,
            "suppress": cfg.alerting.suppress,
            "threshold": cfg.alerting.threshold,
        },
    })
}

pub fn serve(a: ServeArgs) -> Result<ExitCode> {
    let mut cfg = match &a.config {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    };
    if a.demo && (a.pcap.is_some() || a.interface.is_some()) {
        bail!("--demo replays its own capture: leave out --pcap and -i");
    }
    if a.pcap.is_some() && a.interface.is_some() {
        bail!("one source: --pcap FILE or -i IFACE");
    }
    let dir = data_dir(a.data_dir.as_deref())?;
    let (db, store) = open_data(&dir)?;
    let listen: SocketAddr = a
        .listen
        .parse()
        .with_context(|| format!("--listen {:?} is not an address:port", a.listen))?;
    if a.tls_cert.is_some() != a.tls_key.is_some() {
        bail!("TLS needs both --tls-cert and --tls-key");
    }
    for (flag, file) in [("--tls-cert", &a.tls_cert), ("--tls-key", &a.tls_key)] {
        if let Some(f) = file {
            std::fs::File::open(f).with_context(|| format!("{flag} {}", f.display()))?;
        }
    }
    // The source.
    let mut rule_files = crate::rules::rule_files(&cfg, &a.rules)?;
    let source: Box<dyn PacketSource> = if a.demo {
        let pcap = dir.join("demo.pcap");
        if !pcap.exists() {
            let mix = nta_gen::SyntheticMix {
                packets: 100_000,
                flows: 5_000,
                // 2,000 packets a second: 50 s of traffic, replayed in a loop.
                rate_pps: 2_000,
                ..nta_gen::SyntheticMix::default()
            };
            crate::commands::write_mix(&mix, &pcap)?;
        }
        if rule_files.is_empty() {
            let rules = dir.join("demo.rules");
            std::fs::write(&rules, crate::commands::DEMO_RULES)
                .with_context(|| format!("cannot write {}", rules.display()))?;
            rule_files.push(rules);
        }
        Box::new(ReplaySource::open(&pcap, true, true)?)
    } else if let Some(p) = &a.pcap {
        Box::new(ReplaySource::open(p, !a.fast, a.r#loop)?)
    } else {
        let Some(interface) = a.interface.clone().or(cfg.capture.interface.clone()) else {
            bail!("no traffic source: --demo, --pcap FILE or -i IFACE (see `nta interfaces`)");
        };
        Box::new(LiveSource::open(&LiveConfig {
            interface,
            filter: a.filter.clone().or(cfg.capture.filter.clone()),
            snaplen: cfg.capture.snaplen,
            buffer_mib: cfg.capture.buffer_size_mib,
            promisc: cfg.capture.promisc,
            write_to: None,
        })?)
    };
    cfg.store.path = Some(db.clone());
    // The rules: -S (or rules.files, or the demo's), and the files uploaded through the API.
    let given = if a.rules.is_empty() && !a.demo {
        cfg.rules.files.clone()
    } else {
        rule_files.clone()
    };
    let rules_ctl = nta_server::rules::FileRules::start(&cfg, given, dir.join("rules"))
        .map_err(|e| anyhow::anyhow!(e))?;
    reload_on_sighup(&rules_ctl)?;
    let rules = Some(rules_ctl.handle());
    let history = crate::store::History::start(&cfg, &db, true)?;
    let live = Arc::new(Live::default());
    let state = AppState::new(
        ServerOptions {
            db: db.clone(),
            secure_cookies: a.tls_cert.is_some(),
            limits: SessionLimits {
                idle_us: a.idle_timeout.unwrap_or(30 * 60) as i64 * 1_000_000,
                absolute_us: a.session_lifetime.unwrap_or(12 * 3600) as i64 * 1_000_000,
            },
            config: redacted_config(&cfg),
        },
        Some(history.alerting().clone()),
        Arc::clone(&live),
    )
    .map_err(|e| anyhow::anyhow!(e.message))?
    .with_rules(rules_ctl);
    let scheme = if a.tls_cert.is_some() {
        "https"
    } else {
        "http"
    };
    let listener = std::net::TcpListener::bind(listen)
        .with_context(|| format!("cannot listen on {listen}"))?;
    // The port actually bound (`--listen 127.0.0.1:0` picks a free one).
    let listen = listener.local_addr().unwrap_or(listen);
    if users::user_count(store.conn())? == 0 {
        let token = users::setup_token(store.conn())?;
        eprintln!(
            "nta serve: no users yet. Create the admin within an hour: open {scheme}://{listen}/setup?token={token}\n\
             nta serve:   or run: nta user add NAME --role admin --data-dir {}",
            dir.display()
        );
    }
    drop(store);
    eprintln!(
        "nta serve: data in {}; listening on {scheme}://{listen}",
        dir.display()
    );

    // The engine on its own thread; events go to the store and the live bus.
    let stop = crate::commands::stop_on_signals()?;
    let out = crate::store::Tee {
        eve: match &a.output {
            Some(p) => Some(Box::new(
                std::fs::File::create(p)
                    .with_context(|| format!("cannot create {}", p.display()))?,
            )),
            None => None,
        },
        store: history.input(),
    };
    let out = TeeLive {
        inner: out,
        tap: LiveTap::new(Arc::clone(&live)),
    };
    let opts = RunOptions {
        workers: a
            .workers
            .map(usize::from)
            .unwrap_or_else(|| cfg.worker_count()),
        live: true,
        stats_interval: Duration::from_secs(a.stats_interval.unwrap_or(5)),
        stop: Arc::clone(&stop),
        progress: None,
        rules,
        stats_extra: Some(history.stats()),
    };
    // The web server on a runtime of its own; the engine on this thread.
    let tls = match (&a.tls_cert, &a.tls_key) {
        (Some(c), Some(k)) => Some(nta_server::Tls {
            cert: c.clone(),
            key: k.clone(),
        }),
        _ => None,
    };
    let flag = Arc::clone(&stop);
    let server_stop = Arc::clone(&stop);
    let server = std::thread::Builder::new()
        .name("nta-http".into())
        .spawn(move || -> Result<()> {
            // However this thread ends (even by a panic), the engine stops too.
            struct StopOnDrop(Arc<std::sync::atomic::AtomicBool>);
            impl Drop for StopOnDrop {
                fn drop(&mut self) {
                    self.0.store(true, Ordering::Relaxed);
                }
            }
            let _guard = StopOnDrop(Arc::clone(&server_stop));
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("nta-http")
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            let r = runtime.block_on(nta_server::serve(
                nta_server::router(state),
                listener,
                tls,
                async move {
                    while !flag.load(Ordering::Relaxed) {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                },
            ));
            // The server is gone: the engine stops too.
            server_stop.store(true, Ordering::Relaxed);
            r.context("serving")
        })
        .context("starting the web server thread")?;
    let summary = run(&cfg, [Ok(source)], Box::new(out), opts);
    if summary.is_ok() && !stop.load(Ordering::Relaxed) {
        // A capture file replayed to its end: its history stays on show until Ctrl-C.
        eprintln!("nta serve: the capture is done; still serving until Ctrl-C");
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    stop.store(true, Ordering::Relaxed);
    let served = server
        .join()
        .map_err(|_| anyhow::anyhow!("the web server thread stopped unexpectedly"))?;
    history.finish(false)?;
    served?;
    let summary = summary?;
    eprintln!(
        "nta serve: stopped after {} packets, {} flows",
        summary.packets_read, summary.totals.flows.created
    );
    Ok(ExitCode::SUCCESS)
}

/// SIGHUP reloads the rules, as `nta rules reload` asks.
fn reload_on_sighup(rules: &Arc<nta_server::rules::FileRules>) -> Result<()> {
    let mut signals = signal_hook::iterator::Signals::new([signal_hook::consts::SIGHUP])
        .context("installing the SIGHUP handler")?;
    let rules = Arc::clone(rules);
    std::thread::Builder::new()
        .name("nta-rules-reload".into())
        .spawn(move || {
            for _ in signals.forever() {
                if let Err(e) = nta_server::rules::RulesControl::reload(rules.as_ref()) {
                    eprintln!("nta: error: rule reload failed, keeping the rules in force: {e}");
                }
            }
        })
        .context("starting the rule reload thread")?;
    Ok(())
}

/// The engine's output: the store (and EVE file) and the live bus.
struct TeeLive {
    inner: crate::store::Tee,
    tap: LiveTap,
}

impl std::io::Write for TeeLive {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.inner.write_all(b)?;
        self.tap.write_all(b)?;
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A password from the terminal (twice, not echoed) or one line of stdin.
fn read_password(stdin: bool, confirm: bool) -> Result<String> {
    if stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the password from stdin")?;
        let p = line.trim_end_matches(['\n', '\r']).to_string();
        if p.is_empty() {
            bail!("no password on stdin");
        }
        return Ok(p);
    }
    if !std::io::stdin().is_terminal() {
        bail!("no terminal to ask the password on: use --password-stdin");
    }
    let p = rpassword::prompt_password("password: ").context("reading the password")?;
    if confirm {
        let again = rpassword::prompt_password("again: ").context("reading the password")?;
        if again != p {
            bail!("the two passwords differ");
        }
    }
    Ok(p)
}

pub fn user(a: UserArgs) -> Result<ExitCode> {
    let dir = data_dir(a.data_dir.as_deref())?;
    let (_, store) = open_data(&dir)?;
    let c = store.conn();
    let actor = std::env::var("USER").unwrap_or_else(|_| "cli".into());
    match a.command {
        UserCommand::Add {
            name,
            role,
            networks,
            password_stdin,
        } => {
            let nets = match networks {
                Some(list) => Some(
                    list.split(',')
                        .map(|n| nta_store::parse_net(n).map_err(|e| anyhow::anyhow!(e)))
                        .collect::<Result<Vec<_>>>()?,
                ),
                None => None,
            };
            let password = read_password(password_stdin, true)?;
            let u = users::add_user(c, &name, &password, &role, nets)?;
            users::audit(
                c,
                Some(&actor),
                Some("cli"),
                "user_added",
                Some(&u.name),
                Some(&format!("role {}", u.role)),
            )?;
            println!("user {} added with role {}", u.name, u.role);
        }
        UserCommand::Passwd {
            name,
            password_stdin,
        } => {
            let password = read_password(password_stdin, true)?;
            users::set_password(c, &name, &password)?;
            users::audit(
                c,
                Some(&actor),
                Some("cli"),
                "password_changed",
                Some(&name),
                None,
            )?;
            println!("password of {name} changed; its sessions are ended");
        }
        UserCommand::List => {
            println!(
                "{:<24} {:<10} {:<9} {:<20} NETWORKS",
                "NAME", "ROLE", "STATE", "LAST LOGIN"
            );
            for u in users::users(c)? {
                println!(
                    "{:<24} {:<10} {:<9} {:<20} {}",
                    u.name,
                    u.role,
                    if u.disabled { "disabled" } else { "active" },
                    u.last_login
                        .map(|t| nta_event::format_timestamp(t as u64 * 1000)[..19]
                            .replace('T', " "))
                        .unwrap_or_else(|| "never".into()),
                    u.networks
                        .map(|n| n
                            .iter()
                            .map(|x| x.to_string())
                            .collect::<Vec<_>>()
                            .join(","))
                        .unwrap_or_else(|| "all".into())
                );
            }
        }
        UserCommand::Disable { name } => {
            users::set_disabled(c, &name, true)?;
            users::audit(
                c,
                Some(&actor),
                Some("cli"),
                "user_disabled",
                Some(&name),
                None,
            )?;
            println!("user {name} disabled; its sessions and tokens are revoked");
        }
        UserCommand::Enable { name } => {
            users::set_disabled(c, &name, false)?;
            users::audit(
                c,
                Some(&actor),
                Some("cli"),
                "user_enabled",
                Some(&name),
                None,
            )?;
            println!("user {name} enabled");
        }
    }
    Ok(ExitCode::SUCCESS)
}
