//! The application layer: which protocol a flow speaks, found from its content, and what it
//! says, as EVE events.
//!
//! Each protocol lives in its own folder with the same shape: a `probe` that recognises the
//! protocol from the first bytes of a direction, a [`Parser`] that follows one flow (its state,
//! bounded), and the events it writes. [`AppLayer`] (one per worker) runs them: it feeds TCP
//! flows through stream reassembly ([`nta_flow::Stream`]), probes until one protocol matches
//! (ports are only a hint), then hands every in-order byte to that protocol's parser.
#![forbid(unsafe_code)]

mod app;
pub mod custom;
mod dhcp;
mod dns;
mod framing;
mod ftp;
mod http;
mod modbus;
mod mqtt;
mod ntp;
mod parser;
mod quic;
mod registry;
mod sip;
mod smb;
mod smtp;
mod snmp;
mod ssh;
#[cfg(test)]
mod testing;
mod text;
mod tls;

pub use app::{AppConfig, AppCounters, AppLayer, AppSink, Entry, Registry, Tx, MAX_PROTOCOLS};
pub use custom::{load_dir, load_file, CustomProtocol, DefinitionError};
pub use dns::rrtype_code as dns_rrtype_code;
pub use parser::{
    Buffer, Dir, Expectation, Out, Parser, Probe, ProbeInput, Transport, MAX_BUFFER_LEN,
};
pub use registry::{ports_contain, Builtin, Info, PortRange, Protocol, ProtocolRef};

/// The built-in protocols, in the order they are probed (after port hints).
pub fn builtins() -> Vec<Builtin> {
    vec![
        // One line per protocol module: `<module>::protocol(),`
        dns::protocol(),
        dhcp::protocol(),
        ntp::protocol(),
        snmp::protocol(),
        ssh::protocol(),
        smtp::protocol(),
        ftp::protocol(),
        smb::protocol(),
        mqtt::protocol(),
        modbus::protocol(),
        sip::protocol(),
        http::protocol(),
        tls::protocol(),
        quic::protocol(),
    ]
}
