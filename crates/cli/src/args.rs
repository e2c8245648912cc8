//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// NTA: network intrusion detection and traffic analysis.
#[derive(Debug, Parser)]
#[command(name = "nta", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read pcap/pcapng files (or `-` for stdin) and write EVE JSON events.
    Read(ReadArgs),
    /// Capture live from an interface through libpcap and write EVE JSON events.
    Capture(CaptureArgs),
    /// List the interfaces libpcap can capture on.
    Interfaces,
    /// Configuration file tools.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Write a synthetic capture: a realistic, reproducible mix of TCP sessions, DNS and ICMP.
    Gen(GenArgs),
    /// Generate a sample capture, analyse it, and show what NTA found.
    Demo(DemoArgs),
    /// List every application-layer protocol NTA knows (built-in and user-defined) and its
    /// state under the configuration.
    Protocols(ProtocolsArgs),
    /// Signature rule tools.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Query the history store: flows, alerts, events, top lists and time series.
    History {
        #[command(subcommand)]
        command: HistoryCommand,
    },
    /// Alerts and notification channels: test a channel, list channels, triage alerts.
    Alert {
        #[command(subcommand)]
        command: AlertCommand,
    },
    /// Run the engine, the store, the alert pipeline and the web server (API and UI) in one
    /// process: over live traffic (-i), a capture replayed (--pcap), or demo traffic (--demo).
    Serve(ServeArgs),
    /// Users of the web server: add, change password, list, disable, enable.
    User(UserArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address and port to serve on.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR:PORT")]
    pub listen: String,
    /// Where all state lives (store, users, sessions, settings); default: NTA_DATA_DIR, else
    /// $XDG_DATA_HOME/nta, else ~/.local/share/nta.
    #[arg(long = "data-dir", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Replay the project's own synthetic capture in a loop (traffic, alerts and history on a
    /// machine with nothing to capture).
    #[arg(long)]
    pub demo: bool,
    /// Replay a capture file (at its recorded pace; --fast: as fast as it reads).
    #[arg(long, value_name = "FILE")]
    pub pcap: Option<PathBuf>,
    /// With --pcap: as fast as possible.
    #[arg(long)]
    pub fast: bool,
    /// With --pcap: start again at the end.
    #[arg(long = "loop")]
    pub r#loop: bool,
    /// Capture live on this interface.
    #[arg(short = 'i', long = "interface", value_name = "IFACE")]
    pub interface: Option<String>,
    /// BPF filter for live capture.
    #[arg(short = 'f', long = "filter", value_name = "BPF")]
    pub filter: Option<String>,
    /// Configuration file (TOML).
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Signature rules (file or directory; repeatable); with --demo, the demo rules.
    #[arg(short = 'S', long = "rules", value_name = "FILE")]
    pub rules: Vec<PathBuf>,
    /// Also write EVE JSON to this file.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Worker threads.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub workers: Option<u16>,
    /// Seconds between stats updates (live view, /metrics).
    #[arg(long = "stats-interval", value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub stats_interval: Option<u64>,
    /// TLS certificate chain (PEM); with --tls-key, serves HTTPS.
    #[arg(long = "tls-cert", value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long = "tls-key", value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// Seconds without a request before a session ends (default 1800).
    #[arg(long = "idle-timeout", value_name = "SECS")]
    pub idle_timeout: Option<u64>,
    /// Seconds after login a session ends whatever happens (default 43200).
    #[arg(long = "session-lifetime", value_name = "SECS")]
    pub session_lifetime: Option<u64>,
}

#[derive(Debug, Args)]
pub struct UserArgs {
    #[command(subcommand)]
    pub command: UserCommand,
    /// The data directory (as for nta serve).
    #[arg(long = "data-dir", value_name = "DIR", global = true)]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user (asks for the password on the terminal).
    Add {
        /// Login name.
        name: String,
        /// admin, analyst, viewer, or a custom role.
        #[arg(long, default_value = "viewer")]
        role: String,
        /// Limit the user's data to these networks (comma-separated CIDRs).
        #[arg(long, value_name = "CIDRS")]
        networks: Option<String>,
        /// Read the password from one line of stdin (for scripts; never as an argument).
        #[arg(long = "password-stdin")]
        password_stdin: bool,
    },
    /// Change a user's password (ends the user's sessions).
    Passwd {
        /// Login name.
        name: String,
        /// Read the password from one line of stdin.
        #[arg(long = "password-stdin")]
        password_stdin: bool,
    },
    /// List users.
    List,
    /// Disable a user (ends sessions, revokes API tokens).
    Disable {
        /// Login name.
        name: String,
    },
    /// Enable a disabled user.
    Enable {
        /// Login name.
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum HistoryCommand {
    /// Flows that started in the range.
    Flows(HistoryListArgs),
    /// Alerts (deduplicated: one per signature, source and destination, with a count).
    Alerts(HistoryListArgs),
    /// Application-layer and other events (http, dns, tls, ssh, anomaly, …).
    Events(HistoryListArgs),
    /// Top talkers, destinations, ports, application protocols or signatures.
    Top(HistoryTopArgs),
    /// A time series from the per-minute rollups (bytes, packets, flows or alerts).
    Series(HistorySeriesArgs),
}

#[derive(Debug, Args)]
pub struct StoreArgs {
    /// The history store (SQLite file; default: the configuration's store.path, else the data
    /// directory's, as `nta serve` uses it).
    #[arg(long, value_name = "FILE")]
    pub store: Option<PathBuf>,
    /// The data directory of `nta serve` (default: NTA_DATA_DIR, else $XDG_DATA_HOME/nta, else
    /// ~/.local/share/nta), whose nta.sqlite is the store when neither --store nor store.path is
    /// given.
    #[arg(long = "data-dir", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Configuration file (TOML).
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct HistoryFilterArgs {
    /// From this time: `2026-03-01T10:00:00Z`, `2026-03-01 10:00`, `2026-03-01`, or relative
    /// to now: `-1h`, `-30m`, `-7d`.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub from: Option<String>,
    /// Up to this time (same forms; `now`).
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub to: Option<String>,
    /// Source or destination in this network (CIDR or address); repeatable.
    #[arg(long, value_name = "CIDR")]
    pub net: Vec<String>,
    /// Source in this network; repeatable.
    #[arg(long, value_name = "CIDR")]
    pub src: Vec<String>,
    /// Destination in this network; repeatable.
    #[arg(long, value_name = "CIDR")]
    pub dest: Vec<String>,
    /// Source or destination port; repeatable.
    #[arg(long, value_name = "PORT")]
    pub port: Vec<u16>,
    /// Transport: tcp, udp, icmp, …
    #[arg(long, value_name = "PROTO")]
    pub proto: Option<String>,
    /// Application protocol: http, dns, tls, …
    #[arg(long = "app-proto", value_name = "NAME")]
    pub app_proto: Option<String>,
    /// Events: this event type (http, dns, tls, anomaly, …).
    #[arg(long = "event-type", value_name = "TYPE")]
    pub event_type: Option<String>,
    /// Alerts: this signature id.
    #[arg(long, value_name = "SID")]
    pub sid: Option<u32>,
    /// Alerts: signature text contains this.
    #[arg(long, value_name = "TEXT")]
    pub signature: Option<String>,
    /// Alerts: at least this severe (high, medium, low, info or 1..4).
    #[arg(long, value_name = "LEVEL")]
    pub severity: Option<String>,
    /// Alerts: rule, detector or ml.
    #[arg(long, value_name = "SOURCE")]
    pub source: Option<String>,
    /// Alerts: new, acknowledged or closed.
    #[arg(long, value_name = "STATUS")]
    pub status: Option<String>,
    /// Host names, SNI, URLs, DNS names containing this text.
    #[arg(long, value_name = "TEXT")]
    pub text: Option<String>,
    /// Only what a user scoped to these networks may see; repeatable.
    #[arg(long, value_name = "CIDR")]
    pub scope: Vec<String>,
    /// Alerts: include suppressed ones.
    #[arg(long)]
    pub suppressed: bool,
}

#[derive(Debug, Args)]
pub struct HistoryListArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub filter: HistoryFilterArgs,
    /// Sort key (flows: time, end, bytes, packets, src_ip, dest_ip, dest_port, proto,
    /// app_proto; alerts: time, first_seen, count, severity, signature, status; events: time,
    /// event_type).
    #[arg(long, value_name = "KEY")]
    pub sort: Option<String>,
    /// Oldest / smallest first (default: newest / largest first).
    #[arg(long)]
    pub asc: bool,
    /// Rows (1..10000).
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
    /// Rows skipped.
    #[arg(long, default_value_t = 0)]
    pub offset: u64,
    /// JSON lines instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TopKindArg {
    Talkers,
    Destinations,
    Ports,
    AppProtos,
    Signatures,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum MetricArg {
    Bytes,
    Packets,
    Flows,
    Alerts,
}

#[derive(Debug, Args)]
pub struct HistoryTopArgs {
    /// What to rank.
    #[arg(value_enum, default_value = "talkers")]
    pub kind: TopKindArg,
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub filter: HistoryFilterArgs,
    /// Ranked by.
    #[arg(long, value_enum, default_value = "bytes")]
    pub by: MetricArg,
    /// Entries.
    #[arg(short = 'n', long, default_value_t = 10)]
    pub count: u32,
    /// JSON lines instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum GroupArg {
    None,
    Proto,
    AppProto,
    Severity,
    Source,
}

#[derive(Debug, Args)]
pub struct HistorySeriesArgs {
    /// The value.
    #[arg(value_enum, default_value = "bytes")]
    pub metric: MetricArg,
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub filter: HistoryFilterArgs,
    /// Split by.
    #[arg(long, value_enum, default_value = "none")]
    pub group: GroupArg,
    /// Bucket size (`1m`, `5m`, `1h`, …; at least 1m).
    #[arg(long, default_value = "1m")]
    pub step: String,
    /// JSON lines instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum AlertCommand {
    /// Send a test notification through a channel of the configuration (or of the store).
    Test(AlertTestArgs),
    /// List the notification channels with their delivery status and backlog.
    Channels(StoreArgs),
    /// Show one alert: its fields, events, comments and history.
    Show(AlertIdArgs),
    /// Acknowledge an alert.
    Ack(AlertIdArgs),
    /// Close an alert.
    Close(AlertIdArgs),
    /// Reopen an alert.
    Reopen(AlertIdArgs),
    /// Comment on an alert.
    Comment(AlertCommentArgs),
    /// Assign an alert to someone (no name: unassign).
    Assign(AlertAssignArgs),
}

#[derive(Debug, Args)]
pub struct AlertTestArgs {
    /// The channel's name.
    pub channel: String,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct AlertIdArgs {
    /// The alert's id (`nta history alerts` shows it).
    pub id: i64,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Who does it (default: $USER).
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
    /// JSON instead of text (show).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AlertCommentArgs {
    /// The alert's id.
    pub id: i64,
    /// The comment.
    pub text: String,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Who writes it (default: $USER).
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
}

#[derive(Debug, Args)]
pub struct AlertAssignArgs {
    /// The alert's id.
    pub id: i64,
    /// Assignee (none: unassign).
    pub assignee: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Who does it (default: $USER).
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Load rule files and report how many rules loaded, how many were skipped and why.
    Check(RulesCheckArgs),
    /// Make a running `nta capture` (or `nta read`) reload its rules (sends it SIGHUP); its
    /// flows and packets carry on under the new rules.
    Reload(RulesReloadArgs),
}

#[derive(Debug, Args)]
pub struct RulesReloadArgs {
    /// The pid file the running nta wrote (`nta capture --pidfile FILE`, or `nta read`).
    #[arg(long, value_name = "FILE", required_unless_present = "pid")]
    pub pidfile: Option<PathBuf>,
    /// The running nta's process id.
    #[arg(long, value_name = "PID")]
    pub pid: Option<i32>,
}

#[derive(Debug, Args)]
pub struct RulesCheckArgs {
    /// Rule files, or directories of `*.rules` files (default: the configuration's rules.files).
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Configuration file (TOML): rules.files, rules.classification, address and port groups.
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// classification.config (default: rules.classification, else the one beside the first
    /// rule file).
    #[arg(long, value_name = "FILE")]
    pub classification: Option<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: ReportFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// Lines for people.
    Text,
    /// One JSON object (`loaded`, `skipped`, `reasons` with counts and examples).
    Json,
}

#[derive(Debug, Args)]
pub struct ProtocolsArgs {
    /// Configuration file (TOML).
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// As the run would see them with `--protocols LIST`.
    #[arg(long, value_name = "LIST")]
    pub protocols: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate a configuration file; errors name the key and line.
    Check {
        /// The file (nta.toml).
        file: PathBuf,
    },
    /// Print the default configuration.
    Defaults,
}

#[derive(Debug, Args)]
pub struct Common {
    /// Configuration file (TOML).
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// EVE JSON output file (default: the config's output.eve, else stdout).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Worker threads (default: the config's engine.workers, else one per core).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub workers: Option<u16>,
    /// No progress bar or summary on stderr.
    #[arg(short, long)]
    pub quiet: bool,
    /// Application-layer protocols to analyse, comma-separated (`http,dns,tls`), `all`, or
    /// `none`; overrides the configuration's enabled flags for this run.
    #[arg(long, value_name = "LIST")]
    pub protocols: Option<String>,
    /// Signature rule file (Suricata syntax), or a directory of `*.rules` files; repeat for
    /// several. Replaces the configuration's rules.files for this run.
    #[arg(short = 'S', long = "rules", value_name = "FILE")]
    pub rules: Vec<PathBuf>,
    /// Write the process id to this file (for `nta rules reload --pidfile`); removed at exit.
    #[arg(long, value_name = "FILE")]
    pub pidfile: Option<PathBuf>,
    /// Keep the history in this SQLite store (created if missing; default: the
    /// configuration's store.path). With a store, EVE JSON goes only where -o or output.eve
    /// says.
    #[arg(long, value_name = "FILE")]
    pub store: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ReadArgs {
    /// Capture files, read in order as one stream; `-` reads stdin.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args)]
pub struct CaptureArgs {
    /// Interface to capture on (`any` for all).
    #[arg(short = 'i', long = "interface", value_name = "IFACE")]
    pub interface: Option<String>,
    /// BPF filter expression.
    #[arg(short = 'f', long = "filter", value_name = "BPF")]
    pub filter: Option<String>,
    /// Bytes kept per packet.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i32).range(64..=262144))]
    pub snaplen: Option<i32>,
    /// Kernel capture buffer in MiB.
    #[arg(long = "buffer-size", value_name = "MIB", value_parser = clap::value_parser!(i32).range(1..=4096))]
    pub buffer_size: Option<i32>,
    /// Also write the captured packets to this pcap file.
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    pub write: Option<PathBuf>,
    /// Seconds between stats events.
    #[arg(long = "stats-interval", value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub stats_interval: Option<u64>,
    /// Stop after this many seconds (default: until SIGINT/SIGTERM).
    #[arg(long, value_name = "SECS")]
    pub duration: Option<u64>,

    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args)]
pub struct GenArgs {
    /// Output pcap file.
    #[arg(long, value_name = "FILE")]
    pub pcap: PathBuf,
    /// Approximate number of packets.
    #[arg(long, default_value_t = 200_000)]
    pub packets: u64,
    /// Number of flows.
    #[arg(long, default_value_t = 10_000)]
    pub flows: u64,
    /// Random seed; the same seed gives the same file.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Packets per second of capture time (sets the timestamps).
    #[arg(long, default_value_t = 100_000)]
    pub rate: u64,
    /// Open every flow at once and never close them (one packet each): a memory test.
    #[arg(long)]
    pub concurrent: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to write sample.pcap and eve.json.
    #[arg(long, value_name = "DIR", default_value = "nta-demo")]
    pub dir: PathBuf,
}
