//! Errors of the packet sources. Each names what went wrong and where, in one line.

use std::path::PathBuf;

/// Why a source could not open or go on.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The file is neither pcap nor pcapng.
    #[error("{path}: not a pcap or pcapng file (unrecognised header)")]
    NotPcap {
        /// File.
        path: PathBuf,
    },
    /// The file is empty.
    #[error("{path}: empty file, no pcap header")]
    Empty {
        /// File.
        path: PathBuf,
    },
    /// The file ends in the middle of a record. Packets before it were read.
    #[error("{path}: truncated capture: cut inside a record at byte offset {offset}, after {packets} packets")]
    Truncated {
        /// File.
        path: PathBuf,
        /// Offset of the incomplete record.
        offset: u64,
        /// Records read before it.
        packets: u64,
    },
    /// A record could not be parsed.
    #[error("{path}: malformed record at byte offset {offset}: {reason}")]
    Malformed {
        /// File.
        path: PathBuf,
        /// Offset.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// The file's link type is not one NTA decodes.
    #[error("{path}: unsupported link type {linktype} (NTA decodes Ethernet, Linux cooked v1/v2, raw IP, BSD loopback and NFLOG)")]
    UnsupportedLinkType {
        /// File.
        path: PathBuf,
        /// The LINKTYPE number.
        linktype: u32,
    },
    /// The interface does not exist.
    #[error("interface {iface:?} does not exist (see `nta interfaces`): {msg}")]
    NoSuchInterface {
        /// Interface name.
        iface: String,
        /// libpcap's message.
        msg: String,
    },
    /// Not allowed to capture.
    #[error("no permission to capture on {iface:?}: live capture needs the CAP_NET_RAW and CAP_NET_ADMIN capabilities (run as root, or `sudo setcap cap_net_raw,cap_net_admin=eip $(which nta)`); libpcap said: {msg}")]
    Permission {
        /// Interface name.
        iface: String,
        /// libpcap's message.
        msg: String,
    },
    /// The BPF filter did not compile.
    #[error("invalid BPF filter {filter:?}: {msg}")]
    BadFilter {
        /// The filter.
        filter: String,
        /// libpcap's message.
        msg: String,
    },
    /// Any other libpcap failure.
    #[error("libpcap error on {iface:?}: {msg}")]
    Pcap {
        /// Interface or file.
        iface: String,
        /// libpcap's message.
        msg: String,
    },
}
