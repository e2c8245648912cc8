//! The NTA engine: configuration, and the run loop that wires packet sources, sharded worker
//! threads (decode → flows → events) and the EVE output together.
//!
//! ```no_run
//! use nta_engine::{run, Config, RunOptions};
//! use nta_capture::{FileSource, PacketSource};
//! let cfg = Config::default();
//! let src: Box<dyn PacketSource> = Box::new(FileSource::open("in.pcap").unwrap());
//! let out = Box::new(std::io::stdout());
//! let summary = run(&cfg, [Ok(src)], out, RunOptions::files(2)).unwrap();
//! eprintln!("{} packets", summary.packets_read);
//! ```
#![forbid(unsafe_code)]

mod behaviour;
mod config;
mod detection;
mod pipeline;
mod protocols;
mod rules;
mod worker;

pub use config::{
    Config, ConfigError, PortSpec, ProtocolSection, ProtocolsError, ProtocolsSection, StoreSection,
    StreamSection,
};
pub use detection::RulesHandle;
pub use pipeline::{run, EngineError, Progress, RunOptions, StatsExtra, Summary};
pub use rules::expand_rule_paths;
pub use worker::Snapshot;
