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
