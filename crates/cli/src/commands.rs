//! What each subcommand does.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use nta_capture::{list_interfaces, FileSource, LiveConfig, LiveSource, PacketSource, PcapWriter};
use nta_engine::{run, Config, RunOptions, Summary};
use nta_packet::LinkType;

use crate::args::{
    CaptureArgs, Cli, Command, Common, ConfigCommand, DemoArgs, GenArgs, ProtocolsArgs, ReadArgs,
    ReportFormat, RulesCheckArgs, RulesCommand,
};

/// Exit status when an input was damaged but everything before the damage was processed
/// (2 is taken by usage errors).
const EXIT_DAMAGED_INPUT: u8 = 3;

pub fn dispatch(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Read(a) => read(a),
        Command::Capture(a) => capture(a),
        Command::Interfaces => interfaces(),
        Command::Config { command } => match command {
            ConfigCommand::Check { file } => config_check(&file),
            ConfigCommand::Defaults => {
                print!("{}", DEFAULT_CONFIG);
                Ok(ExitCode::SUCCESS)
            }
        },
        Command::Gen(a) => gen(a),
        Command::Demo(a) => demo(a),
        Command::Protocols(a) => protocols(a),
        Command::Rules { command } => match command {
            RulesCommand::Check(a) => rules_check(a),
            RulesCommand::Reload(a) => crate::rules::reload(a),
        },
        Command::History { command } => crate::history::history(command),
        Command::Alert { command } => crate::history::alert(command),
        Command::Serve(a) => crate::serve::serve(a),
        Command::User(a) => crate::serve::user(a),
    }
}

fn rules_check(a: RulesCheckArgs) -> Result<ExitCode> {
    let cfg = load_config(a.config.as_deref())?;
    if a.files.is_empty() && cfg.rules.files.is_empty() {
        bail!("no rule files: give them as arguments or in rules.files of the configuration");
    }
    let files = crate::rules::expand(&a.files)?;
    let (_, set) = cfg.rules.compile(&files, a.classification.as_ref())?;
    let report = set.report();
    match a.format {
        ReportFormat::Text => print!("{}", report.to_text()),
        ReportFormat::Json => println!("{}", report.to_json()),
    }
    Ok(ExitCode::SUCCESS)
}

/// `--protocols LIST` applied to the configuration.
fn select_protocols(cfg: &mut Config, list: Option<&str>) {
    let Some(list) = list else { return };
    let names: Vec<String> = list
        .split(',')
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    cfg.protocols.only = match names.as_slice() {
        [one] if one == "all" => None,
        [one] if one == "none" => Some(Vec::new()),
        _ => Some(names),
    };
}

fn protocols(a: ProtocolsArgs) -> Result<ExitCode> {
    let mut cfg = load_config(a.config.as_deref())?;
    select_protocols(&mut cfg, a.protocols.as_deref());
    let reg = cfg.protocols.registry()?;
    println!(
        "{:<14} {:<8} {:<9} {:<4} {:<28} {:<10} DESCRIPTION",
        "NAME", "STATE", "TRANSPORT", "LOG", "PORTS", "SOURCE"
    );
    for e in reg.entries() {
        let info = e.proto.info();
        let transports: Vec<&str> = info.transports.iter().map(|t| t.name()).collect();
        let mut ports: Vec<String> = e.ports.iter().map(|p| p.to_string()).collect();
        if ports.is_empty() {
            ports.push("any".into());
        }
        let mut ports = ports.join(",");
        if info.port_gated {
            ports.push_str(" (only)");
        }
        // A user-defined protocol's source is its file: shown by name, the path after the
        // description (it can be long).
        let (source, path) = match std::path::Path::new(&info.source).file_name() {
            Some(f) if info.source != "built-in" => (f.to_string_lossy().into_owned(), {
                format!(" ({})", info.source)
            }),
            _ => (info.source.clone(), String::new()),
        };
        println!(
            "{:<14} {:<8} {:<9} {:<4} {:<28} {:<10} {}{}",
            info.name,
            if e.enabled { "enabled" } else { "disabled" },
            transports.join("+"),
            if e.log { "yes" } else { "no" },
            ports,
            source,
            info.description,
            path
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The documented defaults, as a file a user can start from.
const DEFAULT_CONFIG: &str = include_str!("../../../docs/nta.toml");
pub(crate) const DEMO_RULES: &str = include_str!("../../../examples/rules/demo.rules");

fn load_config(path: Option<&Path>) -> Result<Config> {
    match path {
        Some(p) => Ok(Config::load(p)?),
        None => Ok(Config::default()),
    }
}

fn open_output(common: &Common, cfg: &Config) -> Result<Box<dyn Write + Send>> {
    let path = common.output.as_ref().or(cfg.output.eve.as_ref());
    match path {
        Some(p) if p.as_os_str() != "-" => {
            let f = File::create(p).with_context(|| format!("cannot create {}", p.display()))?;
            Ok(Box::new(f))
        }
        _ => Ok(Box::new(io::stdout())),
    }
}

/// The run's output: the EVE file or stdout, and with a store its input beside (then EVE goes
/// only where -o or output.eve says).
fn outputs(
    common: &Common,
    cfg: &Config,
    history: Option<&crate::store::History>,
) -> Result<Box<dyn Write + Send>> {
    let Some(h) = history else {
        return open_output(common, cfg);
    };
    let eve = if common.output.is_some() || cfg.output.eve.is_some() {
        Some(open_output(common, cfg)?)
    } else {
        None
    };
    Ok(Box::new(crate::store::Tee {
        eve,
        store: h.input(),
    }))
}

fn workers(common: &Common, cfg: &Config) -> usize {
    common
        .workers
        .map(usize::from)
        .unwrap_or_else(|| cfg.worker_count())
}

/// The first SIGINT/SIGTERM asks the run to stop and flush its flows; a second one, if the
/// run is stuck (an output nobody reads), exits at once with 130.
pub(crate) fn stop_on_signals() -> Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(sig, 130, Arc::clone(&stop))
            .context("installing signal handler")?;
        signal_hook::flag::register(sig, Arc::clone(&stop)).context("installing signal handler")?;
    }
    Ok(stop)
}

fn progress_bar(total: Option<u64>, quiet: bool) -> Option<ProgressBar> {
    if quiet || !io::stderr().is_terminal() {
        return None;
    }
    let bar = match total {
        Some(t) => ProgressBar::new(t),
        None => ProgressBar::new_spinner(),
    };
    let style = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {bar:30} {bytes}/{total_bytes} {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    Some(bar)
}

fn print_summary(s: &Summary, quiet: bool) {
    if quiet {
        return;
    }
    let secs = s.elapsed.as_secs_f64().max(1e-9);
    let anomalies: u64 = s.totals.decoder.anomalies_nonzero().map(|(_, n)| n).sum();
    eprintln!(
        "nta: {} packets in {:.2} s ({:.2} Mpkt/s), {} flows, {} decoder anomalies{}",
        s.packets_read,
        secs,
        s.packets_read as f64 / secs / 1e6,
        s.totals.flows.created,
        anomalies,
        if s.queue_drops > 0 {
            format!(", {} packets dropped at full queues", s.queue_drops)
        } else {
            String::new()
        }
    );
}

fn read(a: ReadArgs) -> Result<ExitCode> {
    let mut cfg = load_config(a.common.config.as_deref())?;
    select_protocols(&mut cfg, a.common.protocols.as_deref());
    cfg.protocols.registry()?;
    if a.files.iter().filter(|f| f.as_os_str() == "-").count() > 1 {
        bail!("stdin (-) can be read only once");
    }
    // Before any input is read: reading stdin may wait, and Ctrl-C must work meanwhile.
    let stop = stop_on_signals()?;
    // Check every input first, so a bad one fails before any output is written; each is
    // opened again when its turn comes (stdin, which cannot be, is kept open).
    let mut total = Some(0u64);
    let mut stdin = None;
    for f in &a.files {
        let src = FileSource::open(f)?;
        total = match (total, src.progress().1) {
            (Some(t), Some(n)) => Some(t + n),
            _ => None,
        };
        if f.as_os_str() == "-" {
            stdin = Some(src);
        }
    }
    let sources = a.files.clone().into_iter().map(move |f| {
        let src = match stdin.take() {
            Some(s) if f.as_os_str() == "-" => s,
            other => {
                stdin = other;
                FileSource::open(&f)?
            }
        };
        Ok(Box::new(src) as Box<dyn PacketSource>)
    });
    let files = crate::rules::rule_files(&cfg, &a.common.rules)?;
    let rules = crate::rules::load(&cfg, &files, a.common.quiet)?;
    if let Some(h) = &rules {
        crate::rules::reload_on_sighup(&cfg, a.common.rules.clone(), Arc::clone(h))?;
    }
    let _pidfile = match &a.common.pidfile {
        Some(p) => Some(crate::rules::PidFile::create(p)?),
        None => None,
    };
    let history = match crate::store::path(a.common.store.as_deref(), &cfg) {
        Some(p) => Some(crate::store::History::start(&cfg, &p, false)?),
        None => None,
    };
    let out = outputs(&a.common, &cfg, history.as_ref())?;
    let mut opts = RunOptions::files(workers(&a.common, &cfg));
    opts.stop = stop;
    opts.rules = rules;
    opts.stats_extra = history.as_ref().map(|h| h.stats());
    let bar = progress_bar(total, a.common.quiet);
    if let Some(bar) = bar.clone() {
        let started = std::time::Instant::now();
        opts.progress = Some(Box::new(move |p| {
            bar.set_position(p.bytes);
            let rate = p.packets as f64 / started.elapsed().as_secs_f64().max(1e-9);
            bar.set_message(format!("{} packets, {:.0} packets/s", p.packets, rate));
        }));
    }
    let summary = run(&cfg, sources, out, opts)?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    print_summary(&summary, a.common.quiet);
    if let Some(h) = history {
        h.finish(a.common.quiet)?;
    }
    for e in &summary.damaged_inputs {
        eprintln!("nta: warning: {e}");
    }
    Ok(if summary.damaged_inputs.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_DAMAGED_INPUT)
    })
}

fn capture(a: CaptureArgs) -> Result<ExitCode> {
    let mut cfg = load_config(a.common.config.as_deref())?;
    select_protocols(&mut cfg, a.common.protocols.as_deref());
    cfg.protocols.registry()?;
    let Some(interface) = a.interface.clone().or(cfg.capture.interface.clone()) else {
        bail!("no interface: pass -i IFACE (see `nta interfaces`) or set capture.interface");
    };
    let live = LiveConfig {
        interface,
        filter: a.filter.clone().or(cfg.capture.filter.clone()),
        snaplen: a.snaplen.unwrap_or(cfg.capture.snaplen),
        buffer_mib: a.buffer_size.unwrap_or(cfg.capture.buffer_size_mib),
        promisc: cfg.capture.promisc,
        write_to: a.write.clone(),
    };
    let files = crate::rules::rule_files(&cfg, &a.common.rules)?;
    let rules = crate::rules::load(&cfg, &files, a.common.quiet)?;
    if let Some(h) = &rules {
        crate::rules::reload_on_sighup(&cfg, a.common.rules.clone(), Arc::clone(h))?;
    }
    let _pidfile = match &a.common.pidfile {
        Some(p) => Some(crate::rules::PidFile::create(p)?),
        None => None,
    };
    let src = LiveSource::open(&live)?;
    if !a.common.quiet {
        eprintln!(
            "nta: capturing on {} ({}){}; stop with Ctrl-C",
            live.interface,
            src.link_type(),
            live.filter
                .as_ref()
                .map(|f| format!(", filter {f:?}"))
                .unwrap_or_default()
        );
    }
    let history = match crate::store::path(a.common.store.as_deref(), &cfg) {
        Some(p) => Some(crate::store::History::start(&cfg, &p, true)?),
        None => None,
    };
    let out = outputs(&a.common, &cfg, history.as_ref())?;
    let stop = stop_on_signals()?;
    if let Some(secs) = a.duration {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(secs));
            stop.store(true, Ordering::Relaxed);
        });
    }
    let opts = RunOptions {
        workers: workers(&a.common, &cfg),
        live: true,
        stats_interval: Duration::from_secs(a.stats_interval.unwrap_or(cfg.engine.stats_interval)),
        stop,
        progress: None,
        rules,
        stats_extra: history.as_ref().map(|h| h.stats()),
    };
    let src: Box<dyn PacketSource> = Box::new(src);
    let summary = run(&cfg, [Ok(src)], out, opts)?;
    print_summary(&summary, a.common.quiet);
    if let Some(h) = history {
        h.finish(a.common.quiet)?;
    }
    if let (Some(k), false) = (summary.kernel, a.common.quiet) {
        eprintln!(
            "nta: kernel: {} received, {} dropped, {} dropped by interface",
            k.received, k.dropped, k.if_dropped
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn interfaces() -> Result<ExitCode> {
    let list = list_interfaces()?;
    if list.is_empty() {
        eprintln!("nta: libpcap found no interfaces (capturing may need root or CAP_NET_RAW)");
    }
    for i in list {
        let mut flags = Vec::new();
        if i.up {
            flags.push("up");
        }
        if i.running {
            flags.push("running");
        }
        if i.loopback {
            flags.push("loopback");
        }
        let addrs: Vec<String> = i.addresses.iter().map(|a| a.to_string()).collect();
        println!(
            "{:<16} {:<22} {}{}",
            i.name,
            flags.join(","),
            addrs.join(" "),
            i.description
                .map(|d| format!("  ({d})"))
                .unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn config_check(file: &Path) -> Result<ExitCode> {
    let cfg = Config::load(file)?;
    let reg = cfg
        .protocols
        .registry()
        .with_context(|| format!("{}: [protocols]", file.display()))?;
    println!(
        "{}: valid ({} workers, max {} flows, {} of {} protocols enabled)",
        file.display(),
        cfg.worker_count(),
        cfg.flow.max_flows,
        reg.entries().iter().filter(|e| e.enabled).count(),
        reg.entries().len()
    );
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn write_mix(mix: &nta_gen::SyntheticMix, path: &Path) -> Result<nta_gen::MixSummary> {
    let f = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut w = PcapWriter::new(
        BufWriter::with_capacity(1 << 20, f),
        LinkType::Ethernet,
        65535,
    )?;
    let mut err = None;
    let summary = mix.generate(|ts, frame| {
        if err.is_none() {
            if let Err(e) = w.write(ts, frame.len() as u32, frame) {
                err = Some(e);
            }
        }
    });
    if let Some(e) = err {
        return Err(e).with_context(|| format!("writing {}", path.display()));
    }
    w.finish()?;
    Ok(summary)
}

fn gen(a: GenArgs) -> Result<ExitCode> {
    let mix = nta_gen::SyntheticMix {
        packets: a.packets,
        flows: a.flows,
        seed: a.seed,
        rate_pps: a.rate.max(1),
        concurrent: a.concurrent,
        ..nta_gen::SyntheticMix::default()
    };
    let s = write_mix(&mix, &a.pcap)?;
    eprintln!(
        "nta: wrote {}: {} packets, {} bytes, {} flows ({} TCP, {} UDP, {} ICMP)",
        a.pcap.display(),
        s.packets,
        s.bytes,
        s.flows,
        s.tcp_flows,
        s.udp_flows,
        s.icmp_flows
    );
    Ok(ExitCode::SUCCESS)
}

fn demo(a: DemoArgs) -> Result<ExitCode> {
    std::fs::create_dir_all(&a.dir)
        .with_context(|| format!("cannot create {}", a.dir.display()))?;
    let pcap: PathBuf = a.dir.join("sample.pcap");
    let eve: PathBuf = a.dir.join("eve.json");
    let mix = nta_gen::SyntheticMix {
        packets: 100_000,
        flows: 5_000,
        ..nta_gen::SyntheticMix::default()
    };
    let g = write_mix(&mix, &pcap)?;
    eprintln!(
        "nta demo: generated {} ({} packets, {} flows)",
        pcap.display(),
        g.packets,
        g.flows
    );
    let cfg = Config::default();
    // A few rules written for this traffic, so that alerts show up too.
    let rules_file = a.dir.join("demo.rules");
    std::fs::write(&rules_file, DEMO_RULES)
        .with_context(|| format!("cannot write {}", rules_file.display()))?;
    let rules = crate::rules::load(&cfg, &[rules_file], false)?;
    // The history too, in a store of its own (made anew each time).
    let db = a.dir.join("history.sqlite");
    for suffix in ["", "-wal", "-shm"] {
        let mut p = db.clone().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
    let history = crate::store::History::start(&cfg, &db, false)?;
    let out = Box::new(crate::store::Tee {
        eve: Some(Box::new(
            File::create(&eve).with_context(|| format!("cannot create {}", eve.display()))?,
        )),
        store: history.input(),
    });
    let src: Box<dyn PacketSource> = Box::new(FileSource::open(&pcap)?);
    let mut opts = RunOptions::files(cfg.worker_count());
    opts.rules = rules;
    let summary = run(&cfg, [Ok(src)], out, opts)?;
    print_summary(&summary, false);
    history.finish(false)?;
    // Show what a user would look at first: flows by protocol and the biggest conversations.
    let text = std::fs::read_to_string(&eve)?;
    let mut by_proto = std::collections::BTreeMap::<String, (u64, u64)>::new();
    let mut top = Vec::new();
    let mut app_events = std::collections::BTreeMap::<String, u64>::new();
    let mut alerts = std::collections::BTreeMap::<(String, u64, String), u64>::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if v["event_type"] == "alert" {
            let a = &v["alert"];
            let key = (
                a["source"].as_str().unwrap_or("?").to_string(),
                a["signature_id"].as_u64().unwrap_or(0),
                a["signature"].as_str().unwrap_or("").to_string(),
            );
            *alerts.entry(key).or_default() += 1;
        }
        if v["event_type"] != "flow" {
            if let Some(t) = v["event_type"]
                .as_str()
                .filter(|&t| t != "stats" && t != "alert")
            {
                *app_events.entry(t.to_string()).or_default() += 1;
            }
            continue;
        }
        let proto = format!(
            "{}/{}",
            v["proto"].as_str().unwrap_or("?"),
            v["app_proto"].as_str().unwrap_or("-")
        );
        let bytes = v["flow"]["bytes_toserver"].as_u64().unwrap_or(0)
            + v["flow"]["bytes_toclient"].as_u64().unwrap_or(0);
        let e = by_proto.entry(proto).or_default();
        e.0 += 1;
        e.1 += bytes;
        top.push((bytes, v));
    }
    println!("flows by protocol (transport/application):");
    for (p, (n, b)) in &by_proto {
        println!("  {p:<16} {n:>8} flows {b:>14} bytes");
    }
    let list: Vec<String> = app_events.iter().map(|(t, n)| format!("{t} {n}")).collect();
    println!("application events: {}", list.join(", "));
    println!(
        "alerts ({} rules from {}/demo.rules, and the behavioural detectors):",
        DEMO_RULES
            .lines()
            .filter(|l| l.starts_with("alert"))
            .count(),
        a.dir.display()
    );
    if alerts.is_empty() {
        println!("  none");
    }
    for ((source, sid, msg), n) in &alerts {
        println!("  {n:>6}  {source:<8} sid {sid:<8} {msg}");
    }
    top.sort_by_key(|t| std::cmp::Reverse(t.0));
    println!("largest conversations:");
    for (bytes, v) in top.iter().take(5) {
        println!(
            "  {}:{} -> {}:{} {} {} bytes, state {}",
            v["src_ip"].as_str().unwrap_or("?"),
            v["src_port"],
            v["dest_ip"].as_str().unwrap_or("?"),
            v["dest_port"],
            v["proto"].as_str().unwrap_or("?"),
            bytes,
            v["flow"]["state"].as_str().unwrap_or("?")
        );
    }
    println!(
        "events written to {} (try: jq -c 'select(.event_type==\"http\") | .http' {})",
        eve.display(),
        eve.display()
    );
    let store = nta_store::Store::open(&db)?;
    let talkers = store.top(
        nta_store::TopKind::Talkers,
        nta_store::Metric::Bytes,
        &nta_store::Filter::default(),
        3,
    )?;
    let list: Vec<String> = talkers
        .iter()
        .map(|t| format!("{} ({} bytes)", t.key, t.bytes))
        .collect();
    println!("top talkers (from the history store): {}", list.join(", "));
    println!(
        "history kept in {} (try: nta history alerts --store {})",
        db.display(),
        db.display()
    );
    Ok(ExitCode::SUCCESS)
}
