use super::*;

struct Reader {
    got: Vec<u8>,
    gaps: Vec<u64>,
    /// Consume at most this many bytes per call (simulates a parser waiting for more).
    take: usize,
}

impl Reader {
    fn new() -> Self {
        Reader {
            got: Vec::new(),
            gaps: Vec::new(),
            take: usize::MAX,
        }
    }
    fn read(&mut self, ch: Chunk<'_>) -> usize {
        match ch {
            Chunk::Data(d) => {
                let n = d.len().min(self.take);
                self.got.extend_from_slice(&d[..n]);
                n
            }
            Chunk::Gap(n) => {
                self.gaps.push(n);
                0
            }
        }
    }
}

struct Rig {
    s: Stream,
    cfg: StreamConfig,
    mem: StreamMemory,
    c: StreamCounters,
    r: Reader,
}

impl Rig {
    fn new() -> Self {
        let mut s = Stream::default();
        s.syn(999);
        Rig {
            s,
            cfg: StreamConfig::default(),
            mem: StreamMemory::default(),
            c: StreamCounters::default(),
            r: Reader::new(),
        }
    }
    fn seg(&mut self, seq: u32, data: &[u8]) {
        let r = &mut self.r;
        self.s.segment(
            seq,
            data,
            &self.cfg,
            &mut self.mem,
            &mut self.c,
            &mut |ch| r.read(ch),
        );
    }
    fn ack(&mut self, ack: u32) {
        let r = &mut self.r;
        self.s
            .ack(ack, &self.cfg, &mut self.mem, &mut self.c, &mut |ch| {
                r.read(ch)
            });
    }
    fn finish(&mut self) {
        let r = &mut self.r;
        self.s
            .finish(&self.cfg, &mut self.mem, &mut self.c, &mut |ch| r.read(ch));
    }
}

#[test]
fn in_order_segments_are_delivered_without_queueing() {
    let mut t = Rig::new();
    t.seg(1000, b"GET / ");
    t.seg(1006, b"HTTP/1.1\r\n");
    assert_eq!(t.r.got, b"GET / HTTP/1.1\r\n");
    assert_eq!(t.c.ooo_queued, 0);
    assert_eq!(t.mem.used, 0);
}

#[test]
fn out_of_order_segments_wait_for_the_hole() {
    let mut t = Rig::new();
    t.seg(1010, b"klmno");
    t.seg(1005, b"fghij");
    assert!(t.r.got.is_empty());
    assert_eq!(t.mem.used, 10);
    t.seg(1000, b"abcde");
    assert_eq!(t.r.got, b"abcdefghijklmno");
    assert_eq!(t.c.ooo_queued, 2);
    assert_eq!(t.mem.used, 0);
}

#[test]
fn retransmission_with_different_bytes_keeps_the_first_and_is_counted() {
    let mut t = Rig::new();
    t.r.take = 3; // the parser holds back part of what it saw
    t.seg(1000, b"abcdef");
    t.seg(1000, b"abcdef");
    assert_eq!(t.c.retransmissions, 1);
    assert_eq!(t.c.overlap_diff, 0);
    t.seg(1003, b"XYZ");
    assert_eq!(t.c.overlap_diff, 1);
    t.r.take = usize::MAX;
    t.seg(1006, b"g");
    assert_eq!(t.r.got, b"abcdefg");
}

#[test]
fn overlapping_queued_segments_keep_the_first_bytes() {
    let mut t = Rig::new();
    t.seg(1004, b"efgh");
    t.seg(1002, b"CDXXghij");
    assert_eq!(t.c.overlap_diff, 1);
    t.seg(1000, b"ab");
    assert_eq!(t.r.got, b"abCDefghij");
}

#[test]
fn segment_partly_before_next_delivers_only_new_bytes() {
    let mut t = Rig::new();
    t.seg(1000, b"abc");
    t.seg(1001, b"bcdef");
    assert_eq!(t.r.got, b"abcdef");
    assert_eq!(t.c.overlaps, 1);
    assert_eq!(t.c.overlap_diff, 0);
}

#[test]
fn acknowledged_but_missing_data_is_a_gap() {
    let mut t = Rig::new();
    t.seg(1000, b"abc");
    t.seg(1010, b"klm");
    t.ack(1013);
    assert_eq!(t.r.gaps, vec![7]);
    assert_eq!(t.r.got, b"abcklm");
    assert_eq!(t.c.gaps, 1);
    t.ack(1013);
    assert_eq!(t.c.gaps, 1);
}

#[test]
fn finish_skips_holes_so_queued_data_is_read() {
    let mut t = Rig::new();
    t.seg(1005, b"xyz");
    t.finish();
    assert_eq!(t.r.gaps, vec![5]);
    assert_eq!(t.r.got, b"xyz");
    assert_eq!(t.mem.used, 0);
}

#[test]
fn depth_stops_reassembly_and_is_counted_once() {
    let mut t = Rig::new();
    t.cfg.depth = 5;
    t.seg(1000, b"abc");
    t.seg(1003, b"defg");
    t.seg(1007, b"hij");
    assert_eq!(t.r.got, b"abcde");
    assert!(t.s.depth_reached());
    assert_eq!(t.c.depth_reached, 1);
}

#[test]
fn full_ooo_queue_gives_up_on_the_hole() {
    let mut t = Rig::new();
    t.cfg.max_ooo_bytes = 8;
    t.seg(1010, b"12345");
    t.seg(1020, b"67890");
    assert_eq!(t.c.ooo_flow_cap, 1);
    assert_eq!(t.r.gaps, vec![10]);
    assert_eq!(t.r.got, b"12345");
}

#[test]
fn memcap_drops_and_counts() {
    let mut t = Rig::new();
    t.cfg.memcap = 4;
    t.seg(1010, b"12345");
    assert_eq!(t.c.memcap, 1);
    assert_eq!(t.mem.used, 0);
}

#[test]
fn midstream_pickup_starts_at_first_data() {
    let mut s = Stream::default();
    let (cfg, mut mem, mut c, mut r) = (
        StreamConfig::default(),
        StreamMemory::default(),
        StreamCounters::default(),
        Reader::new(),
    );
    s.segment(77, b"hi", &cfg, &mut mem, &mut c, &mut |ch| r.read(ch));
    s.segment(79, b"!", &cfg, &mut mem, &mut c, &mut |ch| r.read(ch));
    assert_eq!(r.got, b"hi!");
}

#[test]
fn sequence_numbers_wrap() {
    let mut t = Rig::new();
    t.s = Stream::default();
    t.s.syn(u32::MAX - 2);
    t.seg(u32::MAX - 1, b"ab");
    t.seg(0, b"cd");
    assert_eq!(t.r.got, b"abcd");
}

/// Any segmentation, order and duplication of a stream reassembles to the stream.
#[test]
fn shuffled_duplicated_segments_reassemble_exactly() {
    let mut rng = 0x9e3779b97f4a7c15u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    for round in 0..300 {
        let len = 1 + (next() % 3000) as usize;
        let data: Vec<u8> = (0..len).map(|i| (i * 7 + round) as u8).collect();
        let isn = next() as u32;
        let mut segs = Vec::new();
        let mut at = 0;
        while at < len {
            let n = (1 + next() % 200) as usize;
            let n = n.min(len - at);
            segs.push((at, n));
            if next() % 5 == 0 {
                segs.push((at, n)); // duplicate
            }
            at += n;
        }
        for i in (1..segs.len()).rev() {
            if next() % 3 == 0 {
                let j = (next() as usize) % (i + 1);
                segs.swap(i, j);
            }
        }
        let mut t = Rig::new();
        t.s = Stream::default();
        t.s.syn(isn);
        t.r.take = 1 + (next() % 64) as usize;
        for (o, n) in segs {
            t.seg(isn.wrapping_add(1).wrapping_add(o as u32), &data[o..o + n]);
        }
        t.r.take = usize::MAX;
        t.finish();
        // What a slow reader left unconsumed at the end is not delivered; all before is.
        assert!(data.starts_with(&t.r.got), "round {round}");
        assert!(t.r.gaps.is_empty(), "round {round}");
        assert_eq!(t.c.overlap_diff, 0);
    }
}

/// Random sequence numbers and lengths never panic and never leak memory accounting.
#[test]
fn hostile_segments_do_not_panic() {
    let mut rng = 12345u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let buf = vec![0x41u8; 5000];
    for _ in 0..200 {
        let mut t = Rig::new();
        t.cfg.max_ooo_bytes = (next() % 10_000) as usize;
        t.cfg.depth = next() % 20_000;
        t.r.take = (next() % 100) as usize;
        for _ in 0..50 {
            let seq = 1000u32
                .wrapping_add((next() % 40_000) as u32)
                .wrapping_sub(20_000);
            let n = (next() % 5000) as usize;
            if next() % 4 == 0 {
                t.ack(seq);
            } else {
                t.seg(seq, &buf[..n]);
            }
        }
        t.finish();
        assert_eq!(t.mem.used, 0);
    }
}

#[test]
fn acknowledging_a_fin_is_not_a_gap() {
    let mut t = Rig::new();
    t.seg(1000, b"abc");
    t.s.fin(1000, 3);
    t.ack(1004);
    assert!(t.r.gaps.is_empty());
    assert_eq!(t.c.gaps, 0);
}
