//! Replaying a capture file as if it were live: timestamps moved to now, optionally at the
//! recorded pace, optionally in a loop (`nta serve --pcap FILE`, `nta serve --demo`).

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nta_packet::LinkType;

use crate::{CaptureError, FileSource, PacketSource, RawPacket, SourceEvent};

/// Longest wait inside one call: the caller checks its stop flag between calls.
const MAX_WAIT: Duration = Duration::from_millis(100);

/// A capture file replayed as a live source.
pub struct ReplaySource {
    path: PathBuf,
    file: FileSource,
    paced: bool,
    looped: bool,
    /// Added to every file timestamp (ns): the first packet happens "now".
    shift: i128,
    /// Wall clock and packet time (after the shift) at the start of pacing.
    origin: Option<(Instant, u64)>,
    /// Last shifted timestamp handed out.
    last_ts: u64,
    /// The packet read last (its bytes reused for the next).
    held: Held,
    /// `held` is read but not handed out yet.
    pending: bool,
    /// Full passes through the file.
    passes: u64,
}

struct Held {
    link: LinkType,
    ts_ns: u64,
    wire_len: u32,
    data: Vec<u8>,
}

fn wall_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

impl ReplaySource {
    /// Opens `path`. `paced`: packets come at their recorded intervals (else as fast as they are
    /// read); `looped`: at the end the file starts again (timestamps keep increasing).
    pub fn open(path: impl Into<PathBuf>, paced: bool, looped: bool) -> Result<Self, CaptureError> {
        let path = path.into();
        let file = FileSource::open(&path)?;
        Ok(ReplaySource {
            path,
            file,
            paced,
            looped,
            shift: 0,
            origin: None,
            last_ts: 0,
            held: Held {
                link: LinkType::Ethernet,
                ts_ns: 0,
                wire_len: 0,
                data: Vec::new(),
            },
            pending: false,
            passes: 0,
        })
    }

    /// Completed passes through the file.
    pub fn passes(&self) -> u64 {
        self.passes
    }

    /// Reads the next packet into `held` (shifting its time); false at the end.
    fn fetch(&mut self) -> Result<bool, CaptureError> {
        loop {
            match self.file.next_packet()? {
                SourceEvent::Packet(p) => {
                    if self.origin.is_none() && self.passes == 0 && self.shift == 0 {
                        self.shift = i128::from(wall_ns()) - i128::from(p.ts_ns);
                    }
                    let ts = (i128::from(p.ts_ns) + self.shift).max(0) as u64;
                    // Never back in time (files out of order, or the next pass).
                    let ts = ts.max(self.last_ts);
                    self.held.link = p.link;
                    self.held.ts_ns = ts;
                    self.held.wire_len = p.wire_len;
                    self.held.data.clear();
                    self.held.data.extend_from_slice(p.data);
                    self.pending = true;
                    return Ok(true);
                }
                SourceEvent::Idle => continue,
                SourceEvent::End => {
                    self.passes += 1;
                    if !self.looped {
                        return Ok(false);
                    }
                    self.file = FileSource::open(&self.path)?;
                    // The next pass starts a second after this one ended, in packet time.
                    let first = match self.file.next_packet()? {
                        SourceEvent::Packet(p) => p.ts_ns,
                        _ => return Ok(false),
                    };
                    self.file = FileSource::open(&self.path)?;
                    self.shift = i128::from(self.last_ts) + 1_000_000_000 - i128::from(first);
                }
            }
        }
    }
}

impl PacketSource for ReplaySource {
    fn next_packet(&mut self) -> Result<SourceEvent<'_>, CaptureError> {
        if !self.pending && !self.fetch()? {
            return Ok(SourceEvent::End);
        }
        let ts = self.held.ts_ns;
        if self.paced {
            let (start, t0) = *self.origin.get_or_insert((Instant::now(), ts));
            let due = start + Duration::from_nanos(ts.saturating_sub(t0));
            let now = Instant::now();
            if due > now {
                std::thread::sleep((due - now).min(MAX_WAIT));
                if due > Instant::now() {
                    return Ok(SourceEvent::Idle);
                }
            }
        }
        self.pending = false;
        self.last_ts = ts;
        let h = &self.held;
        Ok(SourceEvent::Packet(RawPacket {
            link: h.link,
            ts_ns: h.ts_ns,
            wire_len: h.wire_len,
            data: &h.data,
            shared: None,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PcapWriter;

    fn capture(dir: &std::path::Path) -> PathBuf {
        let path = dir.join("r.pcap");
        let f = std::fs::File::create(&path).unwrap();
        let mut w = PcapWriter::new(f, LinkType::Ethernet, 65535).unwrap();
        for i in 0..3u64 {
            // 1.0 s, 1.2 s, 1.4 s of an old capture.
            w.write(1_000_000_000 + i * 200_000_000, 60, &[i as u8; 60])
                .unwrap();
        }
        drop(w);
        path
    }

    fn drain(src: &mut ReplaySource, n: usize) -> Vec<(u64, u8)> {
        let mut out = Vec::new();
        while out.len() < n {
            match src.next_packet().unwrap() {
                SourceEvent::Packet(p) => out.push((p.ts_ns, p.data[0])),
                SourceEvent::Idle => {}
                SourceEvent::End => break,
            }
        }
        out
    }

    #[test]
    fn times_move_to_now_and_loops_keep_going_forward() {
        let dir = tempfile::tempdir().unwrap();
        let path = capture(dir.path());
        let before = wall_ns();
        let mut src = ReplaySource::open(&path, false, true).unwrap();
        let got = drain(&mut src, 7);
        assert_eq!(got.len(), 7);
        assert!(got[0].0 >= before, "shifted to now");
        assert_eq!(got[1].0 - got[0].0, 200_000_000, "intervals kept");
        assert!(
            got.windows(2).all(|w| w[1].0 > w[0].0),
            "always forward: {got:?}"
        );
        assert_eq!(
            got.iter().map(|g| g.1).collect::<Vec<_>>(),
            [0, 1, 2, 0, 1, 2, 0]
        );
        assert_eq!(src.passes(), 2);
        let mut once = ReplaySource::open(&path, false, false).unwrap();
        assert_eq!(drain(&mut once, 10).len(), 3);
    }

    #[test]
    fn paced_replay_takes_the_recorded_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = capture(dir.path());
        let mut src = ReplaySource::open(&path, true, false).unwrap();
        let t = Instant::now();
        assert_eq!(drain(&mut src, 10).len(), 3);
        let took = t.elapsed();
        assert!(took >= Duration::from_millis(390), "{took:?}");
    }
}
