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
#![forbid(unsafe_code)]

mod error;
mod file;
mod live;
mod writer;

pub use error::CaptureError;
pub use file::FileSource;
pub use live::{list_interfaces, Interface, LiveConfig, LiveSource};
pub use writer::PcapWriter;

use nta_packet::LinkType;

/// One captured frame.
#[derive(Clone, Copy, Debug)]
pub struct RawPacket<'a> {
    /// How to decode `data`.
    pub link: LinkType,
    /// Capture time, ns since the Unix epoch.
    pub ts_ns: u64,
    /// Length on the wire.
    pub wire_len: u32,
    /// Captured bytes (may be shorter than `wire_len`).
    pub data: &'a [u8],
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
