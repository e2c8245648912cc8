//! IPv4 and IPv6 fragment reassembly with bounded memory.
//!
//! Policy: the first data received for a byte wins (later overlapping bytes are ignored), and
//! every overlap is counted as `defrag.overlap` — overlapping fragments are how IDS evasion
//! works, so they are worth seeing. Limits: total bytes held (`memcap`), datagrams in progress
//! (`max_trackers`), fragments per datagram (`max_fragments`) and a timeout; each is counted
//! when hit. Written here rather than taken from `etherparse::defrag`, whose pool is documented
//! as unbounded and lets the last data win without telling.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::counters::{Anomaly, DecodeCounters};
use crate::packet::VlanIds;

/// Largest IP datagram (the 16-bit length fields).
const MAX_DATAGRAM: usize = 65_535;

/// Reassembly limits. Defaults follow Suricata's `defrag` section where it has one.
#[derive(Clone, Debug)]
pub struct DefragConfig {
    /// Bytes held across all datagrams in progress (default 32 MiB).
    pub memcap: usize,
    /// Datagrams in progress at once (default 65 535).
    pub max_trackers: usize,
    /// Fragments accepted per datagram (default 256; a 64 KiB datagram in 8-byte pieces is the
    /// attack, real traffic uses a few dozen at most).
    pub max_fragments: usize,
    /// Seconds a datagram may wait for its missing pieces (default 60).
    pub timeout_secs: u64,
}

impl Default for DefragConfig {
    fn default() -> Self {
        DefragConfig {
            memcap: 32 << 20,
            max_trackers: 65_535,
            max_fragments: 256,
            timeout_secs: 60,
        }
    }
}

/// Identifies the datagram a fragment belongs to: RFC 791's (source, destination, protocol,
/// id) for IPv4, RFC 8200's (source, destination, id) for IPv6; plus the VLAN and the tunnel
/// the fragment came through, so that two tunnels' traffic never mixes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct FragId {
    src: IpAddr,
    dst: IpAddr,
    id: u32,
    proto: Option<u8>,
    vlan: VlanIds,
    tunnel: u32,
}

impl FragId {
    pub(crate) fn new(
        src: IpAddr,
        dst: IpAddr,
        id: u32,
        proto: Option<u8>,
        vlan: VlanIds,
        tunnel: u32,
    ) -> FragId {
        FragId {
            src,
            dst,
            id,
            proto,
            vlan,
            tunnel,
        }
    }
}

/// One fragment as the decoder found it.
pub(crate) struct Fragment<'f> {
    /// Byte offset of `data` in the datagram's payload.
    pub offset: usize,
    /// More fragments follow.
    pub more: bool,
    /// The IP header of this fragment (IPv4 with options, or the fixed IPv6 header).
    pub header: &'f [u8],
    /// Fragment data.
    pub data: &'f [u8],
    /// The protocol of the data (IPv4 protocol; IPv6: the fragment header's Next Header).
    pub next_header: u8,
    /// IPv6 rather than IPv4.
    pub v6: bool,
}

#[derive(Debug)]
struct Tracker {
    first_ns: u64,
    /// Header of the first fragment (offset 0), once seen.
    header: Vec<u8>,
    data: Vec<u8>,
    /// Received byte ranges, sorted and disjoint.
    ranges: Vec<(usize, usize)>,
    end: Option<usize>,
    fragments: usize,
    wire_bytes: u32,
    /// The offset-zero fragment's Next Header (IPv6) or the protocol (IPv4).
    next_header: u8,
    v6: bool,
}

impl Tracker {
    fn held(&self) -> usize {
        self.header.len() + self.data.len()
    }

    fn is_complete(&self) -> bool {
        !self.header.is_empty() && self.end.is_some_and(|e| self.ranges == [(0, e)])
    }
}

/// The reassembly table of one worker.
#[derive(Debug)]
pub(crate) struct Defragmenter {
    config: DefragConfig,
    trackers: HashMap<FragId, Tracker>,
    held: usize,
    out: Vec<u8>,
    out_wire_bytes: u32,
}

impl Defragmenter {
    pub(crate) fn new(config: DefragConfig) -> Defragmenter {
        Defragmenter {
            config,
            trackers: HashMap::new(),
            held: 0,
            out: Vec::new(),
            out_wire_bytes: 0,
        }
    }

    /// (datagrams in progress, bytes held).
    pub(crate) fn usage(&self) -> (usize, usize) {
        (self.trackers.len(), self.held)
    }

    /// The last completed datagram and the wire bytes of all its fragments.
    pub(crate) fn output(&self) -> (&[u8], u32) {
        (&self.out, self.out_wire_bytes)
    }

    fn remove(&mut self, id: &FragId) {
        if let Some(t) = self.trackers.remove(id) {
            self.held = self.held.saturating_sub(t.held());
        }
    }

    /// Adds a fragment. Returns true when it completed its datagram (see [`Self::output`]).
    pub(crate) fn add(
        &mut self,
        id: FragId,
        frag: Fragment<'_>,
        ts_ns: u64,
        wire_len: u32,
        counters: &mut DecodeCounters,
    ) -> bool {
        let start = frag.offset;
        let end = start + frag.data.len();
        if end > MAX_DATAGRAM {
            counters.anomaly(Anomaly::FragTooLarge);
            self.remove(&id);
            return false;
        }
        if frag.more && !frag.data.len().is_multiple_of(8) {
            counters.anomaly(Anomaly::FragUnaligned);
            return false;
        }
        let existing = self.trackers.get(&id);
        if existing.is_none() && self.trackers.len() >= self.config.max_trackers {
            counters.anomaly(Anomaly::FragMaxTrackers);
            return false;
        }
        // Every check before the tracker is touched, so a refused fragment leaves nothing.
        let (have, header_known, v6) = existing.map_or((0, false, frag.v6), |t| {
            (t.data.len(), !t.header.is_empty(), t.v6)
        });
        if v6 != frag.v6 {
            counters.anomaly(Anomaly::IpVersionMismatch);
            return false;
        }
        if let Some(t) = existing {
            // Ends must agree: the last fragment fixes the size, nothing may lie beyond it.
            if t.end.is_some_and(|e| end > e || (!frag.more && end != e))
                || (!frag.more && t.ranges.last().is_some_and(|r| r.1 > end))
            {
                counters.anomaly(Anomaly::FragConflictingEnd);
                return false;
            }
            if t.fragments >= self.config.max_fragments {
                counters.anomaly(Anomaly::FragTooMany);
                self.remove(&id);
                return false;
            }
        }
        let takes_header = start == 0 && !header_known;
        let grow = end.saturating_sub(have) + if takes_header { frag.header.len() } else { 0 };
        if self.held + grow > self.config.memcap {
            counters.anomaly(Anomaly::FragMemcap);
            return false;
        }
        let t = self.trackers.entry(id).or_insert_with(|| Tracker {
            first_ns: ts_ns,
            header: Vec::new(),
            data: Vec::new(),
            ranges: Vec::new(),
            end: None,
            fragments: 0,
            wire_bytes: 0,
            next_header: frag.next_header,
            v6: frag.v6,
        });
        self.held += grow;
        t.fragments += 1;
        t.wire_bytes = t.wire_bytes.saturating_add(wire_len);
        if takes_header {
            t.header.extend_from_slice(frag.header);
            t.next_header = frag.next_header;
        }
        if t.data.len() < end {
            t.data.resize(end, 0);
        }
        // Copy only the bytes no earlier fragment supplied (first data wins).
        let mut cursor = start;
        let mut overlapped = false;
        for &(rs, re) in &t.ranges {
            if re <= start || rs >= end {
                continue;
            }
            overlapped = true;
            if rs > cursor {
                t.data[cursor..rs].copy_from_slice(&frag.data[cursor - start..rs - start]);
            }
            cursor = cursor.max(re);
        }
        if cursor < end {
            t.data[cursor..end].copy_from_slice(&frag.data[cursor - start..]);
        }
        if overlapped {
            counters.anomaly(Anomaly::FragOverlap);
        }
        insert_range(&mut t.ranges, (start, end));
        if !frag.more {
            t.end = Some(end);
        }
        if !t.is_complete() {
            return false;
        }
        let Some(t) = self.trackers.remove(&id) else {
            return false;
        };
        self.held = self.held.saturating_sub(t.held());
        self.build(&t, counters)
    }

    fn build(&mut self, t: &Tracker, counters: &mut DecodeCounters) -> bool {
        let total = t.header.len() + t.data.len();
        self.out.clear();
        if t.v6 {
            if t.data.len() > MAX_DATAGRAM || t.header.len() < 40 {
                counters.anomaly(Anomaly::FragTooLarge);
                return false;
            }
            // The fixed header alone: the unfragmentable extension headers carry nothing the
            // flow stage needs, so the next header becomes the fragment's next header.
            self.out.extend_from_slice(&t.header[..40]);
            self.out[4..6].copy_from_slice(&(t.data.len() as u16).to_be_bytes());
            self.out[6] = t.next_header;
        } else {
            if total > MAX_DATAGRAM || t.header.len() < 20 {
                counters.anomaly(Anomaly::FragTooLarge);
                return false;
            }
            self.out.extend_from_slice(&t.header);
            self.out[2..4].copy_from_slice(&(total as u16).to_be_bytes());
            // Clear MF and the offset; keep DF.
            self.out[6] &= 0x40;
            self.out[7] = 0;
        }
        self.out.extend_from_slice(&t.data);
        self.out_wire_bytes = t.wire_bytes;
        true
    }

    /// Drops datagrams that waited longer than the timeout.
    pub(crate) fn expire(&mut self, now_ns: u64, counters: &mut DecodeCounters) {
        if self.trackers.is_empty() {
            return;
        }
        let timeout = self.config.timeout_secs.saturating_mul(1_000_000_000);
        let mut freed = 0usize;
        self.trackers.retain(|_, t| {
            let keep = now_ns.saturating_sub(t.first_ns) <= timeout;
            if !keep {
                counters.anomaly(Anomaly::FragTimeout);
                freed += t.held();
            }
            keep
        });
        self.held = self.held.saturating_sub(freed);
    }
}

/// Inserts `r` into sorted disjoint `ranges`, merging what touches it.
fn insert_range(ranges: &mut Vec<(usize, usize)>, r: (usize, usize)) {
    let (mut s, mut e) = r;
    ranges.retain(|&(rs, re)| {
        if re < s || rs > e {
            true
        } else {
            s = s.min(rs);
            e = e.max(re);
            false
        }
    });
    let pos = ranges.partition_point(|&(rs, _)| rs < s);
    ranges.insert(pos, (s, e));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn id() -> FragId {
        FragId::new(
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
            7,
            Some(17),
            VlanIds::default(),
            0,
        )
    }

    const HDR: [u8; 20] = [
        0x45, 0, 0, 0, 0, 7, 0x20, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ];

    fn frag<'a>(offset: usize, more: bool, data: &'a [u8]) -> Fragment<'a> {
        Fragment {
            offset,
            more,
            header: &HDR,
            data,
            next_header: 17,
            v6: false,
        }
    }

    #[test]
    fn reassembles_out_of_order() {
        let mut d = Defragmenter::new(DefragConfig::default());
        let mut c = DecodeCounters::default();
        assert!(!d.add(id(), frag(8, false, b"world"), 1, 30, &mut c));
        assert!(d.add(id(), frag(0, true, b"hello, w"), 2, 40, &mut c));
        let (out, wire) = d.output();
        assert_eq!(&out[20..], b"hello, wworld");
        assert_eq!(u16::from_be_bytes([out[2], out[3]]), 33);
        assert_eq!(out[6] & 0x3F, 0);
        assert_eq!(wire, 70);
        assert_eq!(d.usage(), (0, 0));
    }

    #[test]
    fn overlap_first_wins_and_is_counted() {
        let mut d = Defragmenter::new(DefragConfig::default());
        let mut c = DecodeCounters::default();
        assert!(!d.add(id(), frag(0, true, b"AAAAAAAA"), 1, 1, &mut c));
        assert!(!d.add(id(), frag(0, true, b"BBBBBBBBCCCCCCCC"), 1, 1, &mut c));
        assert!(d.add(id(), frag(16, false, b"D"), 1, 1, &mut c));
        assert_eq!(&d.output().0[20..], b"AAAAAAAACCCCCCCCD");
        assert_eq!(c.anomaly_count(Anomaly::FragOverlap), 1);
    }

    #[test]
    fn memcap_and_timeout_are_counted() {
        let cfg = DefragConfig {
            memcap: 64,
            ..DefragConfig::default()
        };
        let mut d = Defragmenter::new(cfg);
        let mut c = DecodeCounters::default();
        assert!(!d.add(id(), frag(0, true, &[0; 32]), 1, 1, &mut c));
        assert!(!d.add(id(), frag(32, true, &[0; 32]), 1, 1, &mut c));
        assert_eq!(c.anomaly_count(Anomaly::FragMemcap), 1);
        // A refused first fragment of another datagram leaves no tracker behind.
        let other = FragId::new(
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 3)),
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
            8,
            Some(17),
            VlanIds::default(),
            0,
        );
        assert!(!d.add(other, frag(0, true, &[0; 64]), 1, 1, &mut c));
        assert_eq!(d.usage().0, 1);
        d.expire(61_000_000_001, &mut c);
        assert_eq!(c.anomaly_count(Anomaly::FragTimeout), 1);
        assert_eq!(d.usage(), (0, 0));
    }

    #[test]
    fn hostile_lengths_are_refused() {
        let mut d = Defragmenter::new(DefragConfig::default());
        let mut c = DecodeCounters::default();
        assert!(!d.add(id(), frag(65_528, false, &[0; 16]), 1, 1, &mut c));
        assert_eq!(c.anomaly_count(Anomaly::FragTooLarge), 1);
        assert!(!d.add(id(), frag(0, true, &[0; 5]), 1, 1, &mut c));
        assert_eq!(c.anomaly_count(Anomaly::FragUnaligned), 1);
        assert!(!d.add(id(), frag(0, true, &[0; 8]), 1, 1, &mut c));
        assert!(!d.add(id(), frag(16, false, &[0; 8]), 1, 1, &mut c));
        assert!(!d.add(id(), frag(24, false, &[0; 8]), 1, 1, &mut c));
        assert_eq!(c.anomaly_count(Anomaly::FragConflictingEnd), 1);
    }
}
