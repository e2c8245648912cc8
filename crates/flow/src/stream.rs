//! TCP stream reassembly: one [`Stream`] per direction of a flow turns segments, in whatever
//! order they came, into the in-order bytes an application-layer parser reads.
//!
//! Policy, the same for every flow:
//!
//! * **In order.** Bytes are delivered in sequence order, starting after the SYN (or, for a
//!   session picked up mid-stream, at the first data segment seen).
//! * **Out of order.** A segment ahead of the next expected byte waits in a queue, bounded per
//!   direction ([`StreamConfig::max_ooo_bytes`]) and for all flows of the worker
//!   ([`StreamConfig::memcap`]). A segment that does not fit is dropped and counted.
//! * **Overlaps: first data wins.** Bytes already received (delivered, or waiting in the queue)
//!   are never replaced. Where a retransmission or an overlapping segment carries bytes that
//!   differ from the ones kept, and the kept ones are still in memory to compare,
//!   `overlap_diff` is counted: different data for the same sequence numbers is a classic
//!   evasion.
//! * **Gaps.** Data that will never come — the receiver acknowledged it but the capture missed
//!   it, the queue is full, or the flow ended with a hole — is skipped: the reader is told
//!   [`Chunk::Gap`] with the number of missing bytes, then gets the data after the hole.
//! * **Depth.** Past [`StreamConfig::depth`] bytes per direction (default 1 MiB, as Suricata's
//!   `stream.reassembly.depth`; 0 = unlimited) nothing more is reassembled.
//!
//! Every limit that is hit is counted in [`StreamCounters`].
//!
//! ```
//! use nta_flow::{Chunk, Stream, StreamConfig, StreamCounters, StreamMemory};
//! let cfg = StreamConfig::default();
//! let (mut mem, mut c) = (StreamMemory::default(), StreamCounters::default());
//! let mut s = Stream::default();
//! let mut got = Vec::new();
//! let mut read = |ch: Chunk<'_>| match ch {
//!     Chunk::Data(d) => { got.extend_from_slice(d); d.len() }
//!     Chunk::Gap(_) => 0,
//! };
//! s.syn(1000);
//! s.segment(1007, b"world", &cfg, &mut mem, &mut c, &mut read); // early: queued
//! s.segment(1001, b"hello ", &cfg, &mut mem, &mut c, &mut read);
//! assert_eq!(got, b"hello world");
//! ```

/// Reassembly settings (per worker).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamConfig {
    /// Bytes reassembled per direction; 0 = unlimited (default 1 MiB).
    pub depth: u64,
    /// Out-of-order bytes queued per direction (default 256 KiB).
    pub max_ooo_bytes: usize,
    /// Bytes held for reassembly by all flows of one worker: queued segments and in-order
    /// bytes a parser has not consumed yet (default 256 MiB over all workers).
    pub memcap: usize,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            depth: 1 << 20,
            max_ooo_bytes: 256 << 10,
            memcap: 256 << 20,
        }
    }
}

/// The reassembly memory of one worker.
#[derive(Clone, Debug, Default)]
pub struct StreamMemory {
    /// Bytes held now.
    pub used: usize,
}

/// Reassembly counters (reported under `stats.tcp`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamCounters {
    /// Segments with payload seen.
    pub segments: u64,
    /// Segments that arrived ahead of a hole and were queued.
    pub ooo_queued: u64,
    /// Segments entirely made of bytes already received.
    pub retransmissions: u64,
    /// Segments overlapping bytes already received (retransmissions included).
    pub overlaps: u64,
    /// Overlaps whose bytes differed from the ones kept (first data won).
    pub overlap_diff: u64,
    /// Holes skipped.
    pub gaps: u64,
    /// Directions that reached the reassembly depth.
    pub depth_reached: u64,
    /// Segments dropped because the direction's out-of-order queue was full.
    pub ooo_flow_cap: u64,
    /// Segments dropped because the worker's reassembly memcap was reached.
    pub memcap: u64,
}

impl StreamCounters {
    /// Adds another worker's counters.
    pub fn merge(&mut self, o: &StreamCounters) {
        self.segments += o.segments;
        self.ooo_queued += o.ooo_queued;
        self.retransmissions += o.retransmissions;
        self.overlaps += o.overlaps;
        self.overlap_diff += o.overlap_diff;
        self.gaps += o.gaps;
        self.depth_reached += o.depth_reached;
        self.ooo_flow_cap += o.ooo_flow_cap;
        self.memcap += o.memcap;
    }
}

/// What a stream hands its reader.
#[derive(Debug)]
pub enum Chunk<'a> {
    /// The next in-order bytes, starting with any the reader left unconsumed last time. The
    /// reader returns how many it consumed; the rest are offered again with more appended.
    Data(&'a [u8]),
    /// `n` bytes are missing here; unconsumed bytes before the hole were dropped. The
    /// reader's return value is ignored.
    Gap(u64),
}

#[derive(Clone, Debug)]
struct Queued {
    off: u64,
    data: Box<[u8]>,
}

impl Queued {
    fn end(&self) -> u64 {
        self.off + self.data.len() as u64
    }
}

/// One direction of a TCP session.
#[derive(Clone, Debug, Default)]
pub struct Stream {
    started: bool,
    /// Sequence number of stream offset `next`.
    next_seq: u32,
    /// Stream offset of the next byte expected (bytes delivered plus holes skipped).
    next: u64,
    /// In-order bytes the reader has not consumed; they end at `next`.
    pending: Vec<u8>,
    /// Segments past `next`, sorted by offset, not overlapping each other.
    queue: Vec<Queued>,
    queued_bytes: usize,
    depth_reached: bool,
    /// Sequence number of this side's FIN, once seen (it takes a sequence number but carries
    /// no data: an acknowledgement of it is not a hole).
    fin_seq: Option<u32>,
}

/// Where a sequence number falls relative to `next_seq` (wrapping, ±2 GiB).
fn rel(seq: u32, next_seq: u32) -> i64 {
    i64::from(seq.wrapping_sub(next_seq) as i32)
}

impl Stream {
    /// A SYN (or SYN-ACK) from this side: the stream starts at `isn + 1`. Later SYNs (a
    /// retransmitted one) change nothing.
    pub fn syn(&mut self, isn: u32) {
        if !self.started {
            self.started = true;
            self.next_seq = isn.wrapping_add(1);
        }
    }

    /// A FIN from this side at `seq` (after `len` bytes of payload in the same segment).
    pub fn fin(&mut self, seq: u32, len: usize) {
        if self.fin_seq.is_none() {
            self.fin_seq = Some(seq.wrapping_add(len as u32));
        }
    }

    /// Bytes held by this stream (pending and queued).
    pub fn held(&self) -> usize {
        self.pending.len() + self.queued_bytes
    }

    /// This side sent its FIN.
    pub fn fin_seen(&self) -> bool {
        self.fin_seq.is_some()
    }

    /// Segments wait behind a hole (an acknowledgement may show the hole is a gap).
    pub fn has_queued(&self) -> bool {
        !self.queue.is_empty()
    }

    /// The reassembly depth was reached: nothing more will be delivered.
    pub fn depth_reached(&self) -> bool {
        self.depth_reached
    }

    /// Stream offset of the next byte expected (bytes delivered plus holes skipped).
    pub fn offset(&self) -> u64 {
        self.next
    }

    /// A segment with payload `data` at sequence number `seq`: delivers what is now in order
    /// to `read`.
    pub fn segment(
        &mut self,
        seq: u32,
        data: &[u8],
        cfg: &StreamConfig,
        mem: &mut StreamMemory,
        c: &mut StreamCounters,
        read: &mut dyn FnMut(Chunk<'_>) -> usize,
    ) {
        if data.is_empty() {
            return;
        }
        c.segments += 1;
        if !self.started {
            // Picked up mid-stream: the first data seen starts the stream.
            self.started = true;
            self.next_seq = seq;
        }
        if self.depth_reached {
            return;
        }
        let r = rel(seq, self.next_seq);
        let end = r + data.len() as i64;
        if r < 0 {
            // Starts in bytes already delivered.
            c.overlaps += 1;
            // Compare with the delivered bytes still held (the unconsumed tail).
            let old = (-r) as u64;
            let held = self.pending.len() as u64;
            let seg_lo = self.next.saturating_sub(old);
            let seg_hi = seg_lo + data.len() as u64;
            let (lo, hi) = (seg_lo.max(self.next - held), seg_hi.min(self.next));
            if old <= self.next && lo < hi {
                let mine = &data[(lo - seg_lo) as usize..(hi - seg_lo) as usize];
                let base = self.next - held;
                let kept = &self.pending[(lo - base) as usize..(hi - base) as usize];
                if mine != kept {
                    c.overlap_diff += 1;
                }
            }
            let old = old as usize;
            if end <= 0 {
                c.retransmissions += 1;
                return;
            }
            self.accept(self.next, &data[old..], cfg, mem, c, read);
        } else {
            self.accept(self.next + r as u64, data, cfg, mem, c, read);
        }
    }

    /// The other side acknowledged everything before `ack`: bytes before it that never came
    /// are a hole, skipped now.
    pub fn ack(
        &mut self,
        ack: u32,
        cfg: &StreamConfig,
        mem: &mut StreamMemory,
        c: &mut StreamCounters,
        read: &mut dyn FnMut(Chunk<'_>) -> usize,
    ) {
        if !self.started || self.depth_reached {
            return;
        }
        // The FIN's sequence number is not data.
        let ack = match self.fin_seq {
            Some(f) if rel(ack, f) > 0 => f,
            _ => ack,
        };
        let r = rel(ack, self.next_seq);
        // Beyond a window's worth it is not an acknowledgement of this stream's data.
        if r <= 0 || r > (1 << 30) {
            return;
        }
        let upto = self.next + r as u64;
        let until = self.queue.first().map_or(upto, |q| q.off.min(upto));
        if until > self.next {
            self.skip_to(until, mem, c, read);
            self.drain_queue(cfg, mem, c, read);
        }
    }

    /// The flow ended: skips every hole so that queued data reaches the reader, then frees
    /// all memory.
    pub fn finish(
        &mut self,
        cfg: &StreamConfig,
        mem: &mut StreamMemory,
        c: &mut StreamCounters,
        read: &mut dyn FnMut(Chunk<'_>) -> usize,
    ) {
        while let Some(off) = self.queue.first().map(|q| q.off) {
            if self.depth_reached {
                break;
            }
            if off > self.next {
                self.skip_to(off, mem, c, read);
            }
            self.drain_queue(cfg, mem, c, read);
        }
        // Bytes kept while the reader waited are offered a last time.
        self.offer(mem, read);
        self.release(mem);
    }

    /// Frees every byte held, without delivering it.
    pub fn release(&mut self, mem: &mut StreamMemory) {
        mem.used = mem.used.saturating_sub(self.held());
        self.pending = Vec::new();
        self.queue = Vec::new();
        self.queued_bytes = 0;
    }

    fn skip_to(
        &mut self,
        off: u64,
        mem: &mut StreamMemory,
        c: &mut StreamCounters,
        read: &mut dyn FnMut(Chunk<'_>) -> usize,
    ) {
        let n = off - self.next;
        c.gaps += 1;
        mem.used = mem.used.saturating_sub(self.pending.len());
        self.pending.clear();
        self.advance(n);
        read(Chunk::Gap(n));
    }

    fn advance(&mut self, n: u64) {
        self.next += n;
        self.next_seq = self.next_seq.wrapping_add(n as u32);
    }

    /// Data at stream offset `off` (not before `next`).
    fn accept(
        &mut self,
        off: u64,
        data: &[u8],
        cfg: &StreamConfig,
        mem: &mut StreamMemory,
        c: &mut StreamCounters,
        read: &mut dyn FnMut(Chunk<'_>) -> usize,
    ) {
        if off > self.next {
            self.enqueue(off, data, cfg, mem, c, read);
            return;
        }
        // In order. Bytes also waiting in the queue were received first: they win.
        let mut data = data;
        if let Some(q) = self.queue.first() {
            let room = (q.off - self.next) as usize;
            if data.len() > room {
                let over = &data[room..];
                let end = over.len().min(q.data.len());
                c.overlaps += 1;
                if q.data[..end] != over[..end] {
                    c.overlap_diff += 1;
                }
                data = &data[..room];
            }
        }
        let data = self.clip_depth(data, cfg, c);
        if data.is_empty() {
            self.drain_queue(cfg, mem, c, read);
            return;
        }
        self.advance(data.len() as u64);
        if self.pending.is_empty() {
            // The common case: hand the segment over without copying; keep what is left.
            let used = read(Chunk::Data(data)).min(data.len());
            let rest = &data[used..];
            if !rest.is_empty() {
                self.hold(rest, cfg, mem, c);
            }
        } else {
            self.hold(data, cfg, mem, c);
            self.offer(mem, read);
        }
        self.drain_queue(cfg, mem, c, read);
    }

    /// Keeps unconsumed in-order bytes. Over the memcap they are dropped (a gap for the
    /// reader the next time it is offered data).
    fn hold(
        &mut self,
        data: &[u8],
        cfg: &StreamConfig,
        mem: &mut StreamMemory,
        c: &mut StreamCounters,
    ) {
        if mem.used + data.len() > cfg.memcap {
            c.memcap += 1;
            return;
        }
        mem.used += data.len();
        self.pending.extend_from_slice(data);
    }

    fn offer(&mut self, mem: &mut StreamMemory, read: &mut dyn FnMut(Chunk<'_>) -> usize) {
        while !self.pending.is_empty() {
            let used = read(Chunk::Data(&self.pending)).min(self.pending.len());
            if used == 0 {
                break;
            }
            self.pending.drain(..used);
            mem.used = mem.used.saturating_sub(used);
        }
        if self.pending.capacity() > 4096 && self.pending.len() < self.pending.capacity() / 4 {
            self.pending.shrink_to(self.pending.len().max(1024));
        }
    }

    fn clip_depth<'d>(
        &mut self,
        data: &'d [u8],
        cfg: &StreamConfig,
        c: &mut StreamCounters,
    ) -> &'d [u8] {
        if cfg.depth == 0 {
            return data;
        }
        let room = cfg.depth.saturating_sub(self.next);
        if data.len() as u64 >= room {
            if !self.depth_reached {
                self.depth_reached = true;
                c.depth_reached += 1;
            }
            return &data[..room as usize];
        }
        data
    }

    /// Moves queued segments that are now in order to the reader.
    fn drain_queue(
        &mut self,
        cfg: &StreamConfig,
        mem: &mut StreamMemory,
        c: &mut StreamCounters,
        read: &mut dyn FnMut(Chunk<'_>) -> usize,
    ) {
        let mut moved = false;
        while self.queue.first().is_some_and(|q| q.off <= self.next) {
            let q = self.queue.remove(0);
            self.queued_bytes -= q.data.len();
            mem.used = mem.used.saturating_sub(q.data.len());
            if q.end() <= self.next || self.depth_reached {
                continue;
            }
            let skip = (self.next - q.off) as usize;
            let data = self.clip_depth(&q.data[skip..], cfg, c);
            self.advance(data.len() as u64);
            if mem.used + data.len() > cfg.memcap {
                c.memcap += 1;
                continue;
            }
            mem.used += data.len();
            self.pending.extend_from_slice(data);
            moved = true;
        }
        if moved {
            self.offer(mem, read);
        }
    }

    fn enqueue(
        &mut self,
        off: u64,
        data: &[u8],
        cfg: &StreamConfig,
        mem: &mut StreamMemory,
        c: &mut StreamCounters,
        read: &mut dyn FnMut(Chunk<'_>) -> usize,
    ) {
        if cfg.depth != 0 && off >= cfg.depth {
            return;
        }
        // Cut the segment into the pieces no queued segment covers yet (first data wins).
        let mut pieces: Vec<(u64, &[u8])> = Vec::new();
        let (mut start, end) = (off, off + data.len() as u64);
        let mut overlapped = false;
        for q in &self.queue {
            if q.end() <= start {
                continue;
            }
            if q.off >= end {
                break;
            }
            overlapped = true;
            let (lo, hi) = (start.max(q.off), end.min(q.end()));
            let mine = &data[(lo - off) as usize..(hi - off) as usize];
            let theirs = &q.data[(lo - q.off) as usize..(hi - q.off) as usize];
            if mine != theirs {
                c.overlap_diff += 1;
            }
            if q.off > start {
                pieces.push((start, &data[(start - off) as usize..(q.off - off) as usize]));
            }
            start = hi;
        }
        if start < end {
            pieces.push((start, &data[(start - off) as usize..]));
        }
        if overlapped {
            c.overlaps += 1;
            if pieces.is_empty() {
                c.retransmissions += 1;
                return;
            }
        }
        let size: usize = pieces.iter().map(|p| p.1.len()).sum();
        if self.queued_bytes + size > cfg.max_ooo_bytes {
            c.ooo_flow_cap += 1;
            // The queue is full: give up waiting for the first hole.
            self.give_up_hole(cfg, mem, c, read);
            return;
        }
        if mem.used + size > cfg.memcap {
            c.memcap += 1;
            self.give_up_hole(cfg, mem, c, read);
            return;
        }
        c.ooo_queued += 1;
        for (o, d) in pieces {
            let at = self.queue.partition_point(|q| q.off < o);
            self.queue.insert(
                at,
                Queued {
                    off: o,
                    data: d.into(),
                },
            );
        }
        self.queued_bytes += size;
        mem.used += size;
    }

    fn give_up_hole(
        &mut self,
        cfg: &StreamConfig,
        mem: &mut StreamMemory,
        c: &mut StreamCounters,
        read: &mut dyn FnMut(Chunk<'_>) -> usize,
    ) {
        if let Some(off) = self.queue.first().map(|q| q.off) {
            self.skip_to(off, mem, c, read);
            self.drain_queue(cfg, mem, c, read);
        }
    }
}

#[cfg(test)]
mod tests;
