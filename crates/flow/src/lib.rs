//! Flows: who talked to whom, how much, and how the TCP session went.
//!
//! A [`FlowTable`] (one per worker) maps a bidirectional [`FlowKey`] to a [`Flow`]. The client
//! is the side that opened the flow: the sender of the first packet, except that a TCP SYN-ACK
//! seen first makes its receiver the client. Flows end by timeout (per protocol and state, in
//! packet time), by eviction when the table is full (`flow.max_flows`), by TCP port reuse, or
//! at shutdown; each ended flow is handed to the caller as an [`EndedFlow`].
//!
//! ```
//! use nta_flow::{FlowConfig, FlowTable, PacketView};
//! let mut table = FlowTable::new(FlowConfig::default());
//! let mut ended = Vec::new();
//! # let _ = (&mut table, &mut ended);
//! table.flush(nta_flow::EndReason::Shutdown, &mut |f| ended.push(f));
//! assert!(ended.is_empty());
//! # let _ = PacketView::from_packet;
//! ```
#![forbid(unsafe_code)]

mod community_id;
mod key;
mod stream;
mod table;
mod tcp;

pub use community_id::community_id;
pub use key::FlowKey;
pub use stream::{Chunk, Stream, StreamConfig, StreamCounters, StreamMemory};
pub use table::{
    EndReason, EndedFlow, Flow, FlowConfig, FlowState, FlowStats, FlowTable, PacketView,
    ProtoTimeouts, Timeouts,
};
pub use tcp::TcpState;
