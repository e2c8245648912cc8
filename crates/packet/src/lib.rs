//! Frame decoding for NTA: from a captured frame to a [`Packet`] view of its innermost IP flow.
//!
//! The [`Decoder`] walks link layers (Ethernet, Linux cooked v1/v2, raw IP, BSD loopback, NFLOG),
//! any depth of 802.1Q/802.1ad tags, MPLS, PPPoE, IPv4 (with options) and IPv6 (with extension
//! headers), reassembles IP fragments, and follows tunnels (GRE incl. ERSPAN I/II/III, VXLAN,
//! Geneve, Teredo, IP-in-IP, GTP-U) to the inner flow, recording each tunnel layer it crossed.
//! Fixed-size headers that `etherparse` knows are parsed with it; the encapsulations it does not
//! know (SLL2, NFLOG, MPLS, PPPoE, GRE, ERSPAN, VXLAN, Geneve, GTP-U, Teredo) are small bounded
//! parsers here.
//!
//! Safety contract: packet data is hostile. No function in this crate panics, indexes out of
//! bounds or allocates per packet on the common path; a malformed frame is counted under a named
//! [`Anomaly`] and skipped.
//!
//! ```
//! use nta_packet::{Decoder, DecoderConfig, LinkType};
//! let frame = [0u8; 10]; // too short for Ethernet
//! let mut dec = Decoder::new(DecoderConfig::default());
//! assert!(dec.decode(LinkType::Ethernet, 0, 10, &frame).is_none());
//! assert_eq!(dec.counters().anomaly_count(nta_packet::Anomaly::EthernetTruncated), 1);
//! ```
#![forbid(unsafe_code)]

mod counters;
mod decode;
mod defrag;
mod hash;
mod linktype;
mod packet;

pub use counters::{Anomaly, DecodeCounters, Seen};
pub use decode::{Decoder, DecoderConfig};
pub use defrag::DefragConfig;
pub use hash::{dispatch_hash, mix64};
pub use linktype::LinkType;
pub use packet::{
    discriminator, ip_proto, Packet, TcpFlags, TcpInfo, Transport, TunnelKind, TunnelLayer,
    Tunnels, VlanIds, MAX_TUNNEL_DEPTH, MAX_VLAN_IDS,
};
