//! Packet sources for NTA: pcap and pcapng files (or stdin), live capture through libpcap, and a
//! pcap file writer.
//!
//! Every source hands out [`RawPacket`]s — link type, timestamp, wire length and the captured
//! bytes — through [`PacketSource::next_packet`], borrowed until the next call.
//!
//! ```no_run
//! use nta_capture::{FileSource, PacketSource, SourceEvent};
//! let mut src = FileSource::open("capture.pcap").unwrap();
//! while let SourceEvent::Packet(p) = src.next_packet().unwrap() {
//!     println!("{} bytes on {}", p.wire_len, p.link);
//! }
//! ```
// One `unsafe` call, reviewed: a prefetch hint (see `file::prefetch_ahead`).
#![deny(unsafe_code)]

mod error;
mod file;
mod live;
mod replay;
mod writer;

pub use error::CaptureError;
pub use file::FileSource;
pub use live::{list_interfaces, Interface, LiveConfig, LiveSource};
pub use replay::ReplaySource;
pub use writer::PcapWriter;

use nta_packet::LinkType;

/// One captured frame.
#[derive(Clone, Copy)]
pub struct RawPacket<'a> {
    /// How to decode `data`.
    pub link: LinkType,
    /// Capture time, ns since the Unix epoch.
    pub ts_ns: u64,
    /// Length on the wire.
    pub wire_len: u32,
    /// Captured bytes (may be shorter than `wire_len`).
    pub data: &'a [u8],
    /// The shared buffer `data` lies in, when other threads may be given an offset into it
    /// instead of a copy (see [`SharedInput`]).
    pub shared: Option<&'a SharedInput>,
}

impl std::fmt::Debug for RawPacket<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawPacket")
            .field("link", &self.link)
            .field("ts_ns", &self.ts_ns)
            .field("wire_len", &self.wire_len)
            .field("len", &self.data.len())
            .field("shared", &self.shared.is_some())
            .finish()
    }
}

/// What a source yields.
#[derive(Debug)]
pub enum SourceEvent<'a> {
    /// A frame.
    Packet(RawPacket<'a>),
    /// A live source waited its read timeout without traffic; check signals and timers.
    Idle,
    /// No more packets.
    End,
}

/// Kernel-side counters of a live capture (`pcap_stats`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelStats {
    /// Packets received by the filter.
    pub received: u64,
    /// Dropped for lack of buffer space.
    pub dropped: u64,
    /// Dropped by the interface or its driver.
    pub if_dropped: u64,
}

/// A source of frames.
pub trait PacketSource {
    /// The next frame, an idle tick, or the end.
    fn next_packet(&mut self) -> Result<SourceEvent<'_>, CaptureError>;

    /// Kernel counters, for live sources.
    fn kernel_stats(&mut self) -> Option<KernelStats> {
        None
    }

    /// Bytes of input consumed so far and the total when known (files), for progress display.
    fn progress(&self) -> (u64, Option<u64>) {
        (0, None)
    }
}

/// Read-only bytes shared between threads (a chunk of a capture file).
pub type SharedInput = std::sync::Arc<dyn AsRef<[u8]> + Send + Sync>;
