//! pcap and pcapng files (or any byte stream, such as stdin), read in large shared chunks.
//!
//! The input is read into chunks of [`CHUNK`] bytes and records are parsed in place with pcap-parser's slice parsers. A chunk is reference
//! counted ([`SharedInput`]): the engine hands worker threads offsets into it instead of
//! copies, and the chunk is reused once every worker is done with it. A record cut by the end
//! of a chunk is carried to the start of the next one.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use nta_packet::LinkType;
use pcap_parser::pcapng::{
    parse_block_be, parse_block_le, parse_sectionheaderblock, Block, InterfaceDescriptionBlock,
};
use pcap_parser::{
    parse_pcap_frame, parse_pcap_frame_be, parse_pcap_header, PcapBlockOwned, PcapError,
};

use crate::{CaptureError, PacketSource, RawPacket, SharedInput, SourceEvent};

/// Bytes read at a time: a few hundred packets, small enough to stay in the L2 cache while they
/// are parsed (2 MiB chunks evicted the flow table and were measured 7% slower).
const CHUNK: usize = 256 << 10;
/// The largest record accepted: a pcap record's captured length, or a pcapng block's total
/// length (both are 32-bit fields; real records are < 256 KiB). Checked against the declared
/// length before any buffer is grown for it.
const MAX_RECORD: usize = 64 << 20;
/// Size of a legacy pcap record header (ts_sec, ts_usec, caplen, origlen).
const PCAP_RECORD_HEADER: usize = 16;
/// Size of the legacy pcap file header.
const PCAP_FILE_HEADER: usize = 24;
/// pcapng Section Header Block type (the same in either byte order).
const SHB_TYPE: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];
/// pcapng byte-order magic, as read little-endian from a little-endian section.
const BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d;
/// pcapng IDB option codes.
const OPT_ENDOFOPT: u16 = 0;
const OPT_IF_TSRESOL: u16 = 9;
const OPT_IF_TSOFFSET: u16 = 14;
/// Interfaces remembered per pcapng section (each IDB is one; hostile files could send many).
const MAX_INTERFACES: usize = 4096;
/// Spare chunks kept for reuse.
const MAX_SPARE: usize = 16;

#[derive(Clone, Copy, Debug)]
struct Interface {
    link: LinkType,
    /// Timestamp units per second.
    resolution: u64,
    /// Seconds added to every timestamp.
    offset: i64,
}

/// What the header blocks said: link type(s) and timestamp formats.
#[derive(Debug, Default)]
struct Headers {
    /// Legacy pcap: link type and nanosecond timestamps.
    legacy: Option<(LinkType, bool)>,
    /// pcapng: interfaces of the current section.
    interfaces: Vec<Interface>,
}

/// Where the packet data sits (relative to a base address), and its metadata.
struct Found {
    start: usize,
    len: usize,
    link: LinkType,
    ts_ns: u64,
    wire_len: u32,
}

enum Step {
    Packet(Found),
    Header,
    UnsupportedLinkType(u32),
}

/// Decodes an `if_tsresol` value into timestamp units per second: high bit clear means
/// 10^v units (v ≤ 19, the largest power of ten in a u64), high bit set means 2^(v & 0x7f)
/// (≤ 63). Anything else is invalid.
fn ts_resolution(v: u8) -> Option<u64> {
    if v & 0x80 == 0 {
        (v <= 19).then(|| 10u64.pow(u32::from(v)))
    } else {
        let exp = v & 0x7f;
        (exp <= 63).then(|| 1u64 << exp)
    }
}

impl Interface {
    /// Reads an IDB's link type and timestamp options. The options are decoded here rather
    /// than with pcap-parser's `ts_resolution()`/`ts_offset()`, which reject every base-2
    /// `if_tsresol` and read `if_tsoffset` little-endian whatever the section's byte order.
    ///
    /// `big_endian` is the byte order of the section the IDB belongs to. The default
    /// resolution is microseconds; an invalid `if_tsresol` (a wrong length, or a power too
    /// large for a u64) also falls back to microseconds, as an absent one would. Only the first
    /// occurrence of each option counts, and the list ends at `opt_endofopt`.
    fn from_idb(idb: &InterfaceDescriptionBlock<'_>, big_endian: bool) -> Interface {
        let mut resolution = None;
        let mut offset = None;
        for opt in &idb.options {
            let Ok(value) = opt.as_bytes() else {
                continue;
            };
            match opt.code.0 {
                OPT_ENDOFOPT => break,
                OPT_IF_TSRESOL if resolution.is_none() => {
                    resolution = Some(match value {
                        [v] => ts_resolution(*v).unwrap_or(1_000_000),
                        _ => 1_000_000,
                    });
                }
                OPT_IF_TSOFFSET if offset.is_none() => {
                    if let Ok(b) = <[u8; 8]>::try_from(value) {
                        offset = Some(if big_endian {
                            i64::from_be_bytes(b)
                        } else {
                            i64::from_le_bytes(b)
                        });
                    }
                }
                _ => {}
            }
        }
        Interface {
            link: LinkType::from_u32(idb.linktype.0 as u32),
            resolution: resolution.unwrap_or(1_000_000),
            offset: offset.unwrap_or(0),
        }
    }
}

impl Headers {
    /// Interprets one block. `base` is the address `Found::start` is relative to;
    /// `big_endian` the byte order of the current pcapng section.
    fn block(&mut self, block: &PcapBlockOwned<'_>, base: usize, big_endian: bool) -> Step {
        match block {
            PcapBlockOwned::LegacyHeader(h) => {
                let lt = LinkType::from_u32(h.network.0 as u32);
                self.legacy = Some((lt, h.is_nanosecond_precision()));
                if lt.is_supported() {
                    Step::Header
                } else {
                    Step::UnsupportedLinkType(lt.to_u32())
                }
            }
            PcapBlockOwned::Legacy(b) => {
                let (link, nanos) = self.legacy.unwrap_or((LinkType::Ethernet, false));
                let frac = if nanos {
                    u64::from(b.ts_usec)
                } else {
                    u64::from(b.ts_usec) * 1000
                };
                let len = (b.caplen as usize).min(b.data.len());
                Step::Packet(Found {
                    start: (b.data.as_ptr() as usize).wrapping_sub(base),
                    len,
                    link,
                    ts_ns: u64::from(b.ts_sec) * 1_000_000_000 + frac,
                    wire_len: b.origlen.max(len as u32),
                })
            }
            PcapBlockOwned::NG(Block::SectionHeader(_)) => {
                self.interfaces.clear();
                Step::Header
            }
            PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                if self.interfaces.len() < MAX_INTERFACES {
                    self.interfaces.push(Interface::from_idb(idb, big_endian));
                }
                Step::Header
            }
            PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                // A packet on an undeclared interface decodes as an unknown link type (counted).
                let iface = self
                    .interfaces
                    .get(epb.if_id as usize)
                    .copied()
                    .unwrap_or(Interface {
                        link: LinkType::Unknown(u32::MAX),
                        resolution: 1_000_000,
                        offset: 0,
                    });
                let ticks = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                let ns = u128::from(ticks) * 1_000_000_000 / u128::from(iface.resolution.max(1));
                let ns = (ns as i128 + i128::from(iface.offset) * 1_000_000_000)
                    .clamp(0, i128::from(u64::MAX)) as u64;
                let len = (epb.caplen as usize).min(epb.data.len());
                Step::Packet(Found {
                    start: (epb.data.as_ptr() as usize).wrapping_sub(base),
                    len,
                    link: iface.link,
                    ts_ns: ns,
                    wire_len: epb.origlen.max(len as u32),
                })
            }
            PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                let link = self
                    .interfaces
                    .first()
                    .map(|i| i.link)
                    .unwrap_or(LinkType::Unknown(u32::MAX));
                let len = (spb.origlen as usize).min(spb.data.len());
                Step::Packet(Found {
                    start: (spb.data.as_ptr() as usize).wrapping_sub(base),
                    len,
                    link,
                    ts_ns: 0,
                    wire_len: spb.origlen.max(len as u32),
                })
            }
            PcapBlockOwned::NG(_) => Step::Header,
        }
    }
}

/// One buffer of input bytes: `mem` is the whole buffer, `len` how much of it is filled.
struct Chunk {
    mem: Vec<u8>,
    len: usize,
}

impl AsRef<[u8]> for Chunk {
    fn as_ref(&self) -> &[u8] {
        &self.mem[..self.len]
    }
}

impl Chunk {
    fn new(capacity: usize) -> Chunk {
        Chunk {
            mem: vec![0; capacity],
            len: 0,
        }
    }
}

fn detect(head: &[u8]) -> Option<bool> {
    let magic = u32::from_le_bytes(head.get(..4)?.try_into().ok()?);
    match magic {
        0xa1b2_c3d4 | 0xd4c3_b2a1 | 0xa1b2_3c4d | 0x4d3c_b2a1 => Some(false),
        0x0a0d_0d0a => Some(true),
        _ => None,
    }
}

/// A pcap or pcapng file, or stdin when the path is `-`.
pub struct FileSource {
    path: PathBuf,
    input: Box<dyn Read + Send>,
    eof: bool,
    chunk: Arc<Chunk>,
    /// The chunk as handed to other threads (the same allocation).
    shared: SharedInput,
    spare: Vec<Arc<Chunk>>,
    /// Parse position in `chunk`.
    pos: usize,
    /// File offset of `chunk`'s first byte.
    chunk_offset: u64,
    headers: Headers,
    /// pcapng rather than pcap.
    ng: bool,
    /// Byte order of the current pcapng section, or of the pcap file.
    big_endian: bool,
    /// The pcap file header was read.
    started: bool,
    packets: u64,
    size: Option<u64>,
}

impl std::fmt::Debug for FileSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileSource")
            .field("path", &self.path)
            .field("offset", &self.offset())
            .finish()
    }
}

impl FileSource {
    /// Opens a capture file; `-` reads standard input. The file header is checked here, so a
    /// file that is not a capture fails before anything is processed.
    pub fn open(path: impl AsRef<Path>) -> Result<FileSource, CaptureError> {
        let path = path.as_ref().to_path_buf();
        let io = |source| CaptureError::Io {
            path: path.clone(),
            source,
        };
        if path.as_os_str() == "-" {
            return FileSource::from_reader(path, Box::new(std::io::stdin()), None);
        }
        let f = File::open(&path).map_err(io)?;
        let meta = f.metadata().map_err(io)?;
        if meta.is_dir() {
            return Err(io(std::io::Error::other("is a directory")));
        }
        let size = meta.is_file().then_some(meta.len());
        FileSource::from_reader(path, Box::new(f), size)
    }

    /// Reads a capture from any byte stream; `name` is used in messages, `size` (if known)
    /// for progress.
    pub fn from_reader(
        name: impl Into<PathBuf>,
        input: Box<dyn Read + Send>,
        size: Option<u64>,
    ) -> Result<FileSource, CaptureError> {
        let chunk = Arc::new(Chunk::new(CHUNK));
        let mut src = FileSource {
            path: name.into(),
            input,
            eof: false,
            shared: chunk.clone(),
            chunk,
            spare: Vec::new(),
            pos: 0,
            chunk_offset: 0,
            headers: Headers::default(),
            ng: false,
            big_endian: false,
            started: false,
            packets: 0,
            size,
        };
        src.refill(0)?;
        let head = src.bytes();
        if head.is_empty() {
            return Err(CaptureError::Empty { path: src.path });
        }
        match detect(head) {
            Some(ng) => src.ng = ng,
            None if head.len() < 4 => return Err(src.truncated()),
            None => return Err(CaptureError::NotPcap { path: src.path }),
        }
        // Parse the file or section header now (it must be the first block).
        src.next_block(true)?;
        Ok(src)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn offset(&self) -> u64 {
        self.chunk_offset + self.pos as u64
    }

    fn bytes(&self) -> &[u8] {
        self.chunk
            .as_ref()
            .as_ref()
            .get(self.pos..)
            .unwrap_or_default()
    }

    fn malformed(&self, reason: impl Into<String>) -> CaptureError {
        CaptureError::Malformed {
            path: self.path.clone(),
            offset: self.offset(),
            reason: reason.into(),
        }
    }

    fn truncated(&self) -> CaptureError {
        CaptureError::Truncated {
            path: self.path.clone(),
            offset: self.offset(),
            packets: self.packets,
        }
    }

    /// The declared size in bytes (header included) of the record at the start of `rest`,
    /// once enough of its header is buffered to tell, and an error if it is over
    /// [`MAX_RECORD`]: checked before any buffer is grown for the record.
    fn declared_len(&self, rest: &[u8]) -> Result<Option<usize>, CaptureError> {
        let u32_at = |at: usize, big_endian: bool| -> Option<u32> {
            let b: [u8; 4] = rest.get(at..at + 4)?.try_into().ok()?;
            Some(if big_endian {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            })
        };
        if !self.ng {
            if !self.started {
                return Ok(Some(PCAP_FILE_HEADER));
            }
            let Some(caplen) = u32_at(8, self.big_endian) else {
                return Ok(None);
            };
            let caplen = caplen as usize;
            if caplen > MAX_RECORD {
                return Err(self.malformed(format!(
                    "pcap record of {caplen} bytes exceeds the {MAX_RECORD}-byte limit"
                )));
            }
            return Ok(Some(PCAP_RECORD_HEADER + caplen));
        }
        // A section header carries its own byte order; other blocks use the section's.
        let big_endian = if rest.starts_with(&SHB_TYPE) {
            match u32_at(8, false) {
                Some(BYTE_ORDER_MAGIC) => false,
                Some(m) if m == BYTE_ORDER_MAGIC.swap_bytes() => true,
                // Not yet buffered, or invalid (the parser reports it).
                _ => return Ok(None),
            }
        } else {
            self.big_endian
        };
        let Some(len) = u32_at(4, big_endian) else {
            return Ok(None);
        };
        let len = len as usize;
        if len > MAX_RECORD {
            return Err(self.malformed(format!(
                "pcapng block of {len} bytes exceeds the {MAX_RECORD}-byte limit"
            )));
        }
        Ok(Some(len))
    }

    /// Moves the unparsed tail into a fresh chunk and fills it from the input; `need` is the
    /// size of the record at the parse position if known (0 otherwise), so that a chunk big
    /// enough for it is used. Returns false at end of input.
    fn refill(&mut self, need: usize) -> Result<bool, CaptureError> {
        if self.eof {
            return Ok(false);
        }
        let tail = self.chunk.len - self.pos.min(self.chunk.len);
        // `need` was checked by `declared_len`; this guards the allocation all the same.
        let want = need.max(tail).max(CHUNK);
        if want > MAX_RECORD + PCAP_RECORD_HEADER {
            return Err(self.malformed(format!(
                "record of {want} bytes exceeds the {MAX_RECORD}-byte limit"
            )));
        }
        // Reuse a chunk no worker holds any more, else allocate.
        let reusable = self
            .spare
            .iter()
            .position(|c| Arc::strong_count(c) == 1 && c.mem.len() >= want);
        let mut next = match reusable {
            Some(i) => self.spare.swap_remove(i),
            None => Arc::new(Chunk::new(want)),
        };
        let Some(fresh) = Arc::get_mut(&mut next) else {
            return Err(self.malformed("internal: chunk still shared"));
        };
        fresh.mem[..tail].copy_from_slice(&self.chunk.mem[self.pos..self.pos + tail]);
        fresh.len = tail;
        // Read until the pending record is complete, then take what one read gives: a file
        // fills the chunk in one call, and a slow pipe (`tcpdump -w - | nta read -`) is
        // processed as its packets arrive instead of 256 KiB later.
        let enough = need.max(tail + 1);
        while fresh.len < enough.min(fresh.mem.len()) {
            match self.input.read(&mut fresh.mem[fresh.len..]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => fresh.len += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(CaptureError::Io {
                        path: self.path.clone(),
                        source,
                    })
                }
            }
        }
        let grew = fresh.len > tail;
        self.chunk_offset += self.pos as u64;
        self.pos = 0;
        let old = std::mem::replace(&mut self.chunk, next);
        self.shared = self.chunk.clone();
        if self.spare.len() < MAX_SPARE {
            self.spare.push(old);
        }
        Ok(grew)
    }

    /// Parses blocks until a packet (or, with `header_only`, the first header) is found.
    fn next_block(&mut self, header_only: bool) -> Result<Option<Found>, CaptureError> {
        loop {
            if self.bytes().is_empty() && !self.refill(0)? {
                return Ok(None);
            }
            let rest = self
                .chunk
                .mem
                .get(self.pos..self.chunk.len)
                .unwrap_or_default();
            let base = self.chunk.mem.as_ptr() as usize;
            let parsed = if !self.ng && !self.started {
                parse_pcap_header(rest).map(|(r, h)| {
                    self.big_endian = h.is_bigendian();
                    self.started = true;
                    (r, PcapBlockOwned::LegacyHeader(h))
                })
            } else if !self.ng {
                if self.big_endian {
                    parse_pcap_frame_be(rest).map(|(r, b)| (r, PcapBlockOwned::Legacy(b)))
                } else {
                    parse_pcap_frame(rest).map(|(r, b)| (r, PcapBlockOwned::Legacy(b)))
                }
            } else if rest.starts_with(&SHB_TYPE) {
                parse_sectionheaderblock(rest).map(|(r, shb)| {
                    self.big_endian = shb.big_endian();
                    (r, PcapBlockOwned::NG(Block::SectionHeader(shb)))
                })
            } else if self.big_endian {
                parse_block_be(rest).map(|(r, b)| (r, PcapBlockOwned::NG(b)))
            } else {
                parse_block_le(rest).map(|(r, b)| (r, PcapBlockOwned::NG(b)))
            };
            let big_endian = self.big_endian;
            let (consumed, step) = match parsed {
                Ok((remaining, block)) => {
                    prefetch_ahead(remaining);
                    (
                        rest.len() - remaining.len(),
                        self.headers.block(&block, base, big_endian),
                    )
                }
                Err(nom::Err::Incomplete(_))
                | Err(nom::Err::Error(PcapError::Incomplete(_) | PcapError::UnexpectedEof))
                | Err(nom::Err::Failure(PcapError::Incomplete(_) | PcapError::UnexpectedEof)) => {
                    // Only a record that does not fit is sized up (and refused past the
                    // limit) before the buffer grows for it.
                    let need = self.declared_len(rest)?.unwrap_or(0);
                    if need > 0 && rest.len() >= need {
                        // The whole record is here, yet its fields claim more (e.g. a pcapng
                        // packet's captured length beyond its block): more input won't help.
                        return Err(self.malformed(format!(
                            "record of {need} bytes is shorter than its contents declare"
                        )));
                    }
                    if self.refill(need)? {
                        continue;
                    }
                    return Err(self.truncated());
                }
                Err(nom::Err::Error(e) | nom::Err::Failure(e)) => {
                    let reason = match e {
                        PcapError::HeaderNotRecognized => "unrecognised block".to_string(),
                        other => format!("{other:?}"),
                    };
                    return Err(self.malformed(reason));
                }
            };
            if let Step::UnsupportedLinkType(linktype) = step {
                return Err(CaptureError::UnsupportedLinkType {
                    path: self.path.clone(),
                    linktype,
                });
            }
            self.pos += consumed;
            match step {
                Step::Packet(f) => {
                    self.packets += 1;
                    return Ok(Some(f));
                }
                Step::Header if header_only => return Ok(None),
                _ => {}
            }
        }
    }
}

/// Asks the CPU to start loading the records a few kilobytes ahead: record headers are read
/// one after another at irregular strides, which the hardware prefetcher follows poorly.
#[inline]
#[allow(unsafe_code)]
fn prefetch_ahead(rest: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    for ahead in [1024usize, 2048] {
        if let Some(b) = rest.get(ahead) {
            // SAFETY: SSE is part of the x86_64 baseline, and prefetching an address inside a
            // live buffer neither faults nor changes memory.
            unsafe {
                std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                    (b as *const u8).cast::<i8>(),
                );
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = rest;
}

impl PacketSource for FileSource {
    fn next_packet(&mut self) -> Result<SourceEvent<'_>, CaptureError> {
        let Some(f) = self.next_block(false)? else {
            return Ok(SourceEvent::End);
        };
        let bytes = self.chunk.as_ref().as_ref();
        Ok(SourceEvent::Packet(RawPacket {
            link: f.link,
            ts_ns: f.ts_ns,
            wire_len: f.wire_len,
            data: bytes.get(f.start..f.start + f.len).unwrap_or_default(),
            shared: Some(&self.shared),
        }))
    }

    fn progress(&self) -> (u64, Option<u64>) {
        (self.offset(), self.size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PcapWriter;
    use std::io::Write;

    fn write_pcap(n: usize) -> Vec<u8> {
        let mut w = PcapWriter::new(Vec::new(), LinkType::Ethernet, 65535).unwrap();
        for i in 0..n {
            w.write(i as u64 * 1_000_000_000 + 5_000, 60, &[i as u8; 60])
                .unwrap();
        }
        w.finish().unwrap()
    }

    fn read_all(path: &Path) -> (Vec<(u64, usize)>, Result<(), CaptureError>) {
        let mut src = match FileSource::open(path) {
            Ok(s) => s,
            Err(e) => return (vec![], Err(e)),
        };
        let mut got = vec![];
        loop {
            match src.next_packet() {
                Ok(SourceEvent::Packet(p)) => got.push((p.ts_ns, p.data.len())),
                Ok(_) => return (got, Ok(())),
                Err(e) => return (got, Err(e)),
            }
        }
    }

    #[test]
    fn reads_what_the_writer_wrote() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(&write_pcap(3000)).unwrap();
        let (got, res) = read_all(f.path());
        res.unwrap();
        assert_eq!(got.len(), 3000);
        assert_eq!(got[2], (2_000_005_000, 60));
    }

    #[test]
    fn truncated_file_reports_where() {
        let bytes = write_pcap(10);
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(&bytes[..bytes.len() - 30]).unwrap();
        let (got, res) = read_all(f.path());
        assert_eq!(got.len(), 9);
        let msg = res.unwrap_err().to_string();
        assert!(msg.contains("truncated"), "{msg}");
        assert!(msg.contains(&format!("offset {}", 24 + 9 * 76)), "{msg}");
    }

    #[test]
    fn not_a_pcap_and_empty() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(b"this is a text file, not a capture at all\n")
            .unwrap();
        let e = FileSource::open(f.path()).unwrap_err().to_string();
        assert!(e.contains("not a pcap"), "{e}");
        let f = tempfile::NamedTempFile::new().unwrap();
        let e = FileSource::open(f.path()).unwrap_err().to_string();
        assert!(e.contains("empty"), "{e}");
        let e = FileSource::open("/nonexistent/x.pcap")
            .unwrap_err()
            .to_string();
        assert!(e.contains("No such file"), "{e}");
    }

    #[test]
    fn unknown_link_type_is_an_error() {
        let mut w = PcapWriter::new(Vec::new(), LinkType::Unknown(147), 65535).unwrap();
        w.write(0, 4, b"abcd").unwrap();
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(&w.finish().unwrap()).unwrap();
        let (_, res) = read_all(f.path());
        let e = res.unwrap_err().to_string();
        assert!(e.contains("unsupported link type 147"), "{e}");
    }

    fn read_bytes(bytes: Vec<u8>) -> (usize, Option<String>) {
        let input = Box::new(std::io::Cursor::new(bytes));
        let mut src = match FileSource::from_reader("mem.pcap", input, None) {
            Ok(s) => s,
            Err(e) => return (0, Some(e.to_string())),
        };
        let mut n = 0;
        loop {
            match src.next_packet() {
                Ok(SourceEvent::Packet(_)) => n += 1,
                Ok(_) => return (n, None),
                Err(e) => return (n, Some(e.to_string())),
            }
        }
    }

    #[test]
    fn records_across_chunk_boundaries_and_big_records() {
        // Records of every size up to 64 KiB cross the 256 KiB chunk boundaries many times.
        let mut w = PcapWriter::new(Vec::new(), LinkType::Ethernet, 262_144).unwrap();
        let mut total = 0;
        for i in 0..400u32 {
            let len = (i as usize * 997) % 65_536 + 1;
            w.write(u64::from(i), len as u32, &vec![i as u8; len])
                .unwrap();
            total += 1;
        }
        // One record larger than a chunk.
        w.write(1_000, 300_000, &vec![7u8; 200_000]).unwrap();
        total += 1;
        let (n, err) = read_bytes(w.finish().unwrap());
        assert_eq!(err, None);
        assert_eq!(n, total);
    }

    #[test]
    fn mutated_captures_never_panic() {
        let mut base = PcapWriter::new(Vec::new(), LinkType::Ethernet, 65535).unwrap();
        for i in 0..50u8 {
            base.write(u64::from(i), 70, &[i; 70]).unwrap();
        }
        let base = base.finish().unwrap();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for round in 0..2000 {
            let mut b = base.clone();
            for _ in 0..1 + round % 8 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let pos = (x as usize) % b.len();
                b[pos] = (x >> 40) as u8;
            }
            if round % 3 == 0 {
                b.truncate((x as usize >> 3) % b.len());
            }
            if round % 5 == 0 && b.len() >= 4 {
                // Turn it into a pcapng-looking stream.
                b[..4].copy_from_slice(&[0x0a, 0x0d, 0x0d, 0x0a]);
            }
            let _ = read_bytes(b);
        }
    }

    /// Builds pcapng bytes by hand, in either byte order.
    struct Ng {
        be: bool,
        out: Vec<u8>,
    }

    impl Ng {
        fn new(be: bool) -> Ng {
            let mut ng = Ng { be, out: vec![] };
            let mut body = ng.u32(0x1a2b_3c4d);
            body.extend(ng.u16(1));
            body.extend(ng.u16(0));
            body.extend(ng.u64(u64::MAX)); // section length: unknown
            ng.block(0x0a0d_0d0a, &body);
            ng
        }

        fn u16(&self, v: u16) -> Vec<u8> {
            if self.be {
                v.to_be_bytes().to_vec()
            } else {
                v.to_le_bytes().to_vec()
            }
        }

        fn u32(&self, v: u32) -> Vec<u8> {
            if self.be {
                v.to_be_bytes().to_vec()
            } else {
                v.to_le_bytes().to_vec()
            }
        }

        fn u64(&self, v: u64) -> Vec<u8> {
            if self.be {
                v.to_be_bytes().to_vec()
            } else {
                v.to_le_bytes().to_vec()
            }
        }

        fn block(&mut self, ty: u32, body: &[u8]) {
            let mut body = body.to_vec();
            body.resize(body.len().next_multiple_of(4), 0);
            let len = self.u32(12 + body.len() as u32);
            let ty = self.u32(ty);
            self.out.extend(ty);
            self.out.extend(&len);
            self.out.extend(body);
            self.out.extend(&len);
        }

        /// An Interface Description Block with the given options (code, value).
        fn idb(&mut self, linktype: u16, options: &[(u16, Vec<u8>)]) {
            let mut body = self.u16(linktype);
            body.extend(self.u16(0));
            body.extend(self.u32(65535));
            for (code, value) in options {
                body.extend(self.u16(*code));
                body.extend(self.u16(value.len() as u16));
                body.extend(value);
                body.resize(body.len().next_multiple_of(4), 0);
            }
            body.extend(self.u32(0)); // opt_endofopt
            self.block(1, &body);
        }

        /// An Enhanced Packet Block.
        fn epb(&mut self, if_id: u32, ticks: u64, data: &[u8]) {
            let mut body = self.u32(if_id);
            body.extend(self.u32((ticks >> 32) as u32));
            body.extend(self.u32(ticks as u32));
            body.extend(self.u32(data.len() as u32));
            body.extend(self.u32(data.len() as u32));
            body.extend(data);
            self.block(6, &body);
        }
    }

    /// Reads every packet of an in-memory pcapng: (link type, timestamp in ns, data).
    fn read_ng(bytes: Vec<u8>) -> Vec<(LinkType, u64, Vec<u8>)> {
        let input = Box::new(std::io::Cursor::new(bytes));
        let mut src = FileSource::from_reader("x.pcapng", input, None).unwrap();
        let mut got = vec![];
        loop {
            match src.next_packet().unwrap() {
                SourceEvent::Packet(p) => got.push((p.link, p.ts_ns, p.data.to_vec())),
                _ => return got,
            }
        }
    }

    #[test]
    fn ts_resolution_decodes_both_bases() {
        assert_eq!(ts_resolution(6), Some(1_000_000));
        assert_eq!(ts_resolution(0), Some(1));
        assert_eq!(ts_resolution(19), Some(10_000_000_000_000_000_000));
        assert_eq!(ts_resolution(20), None);
        assert_eq!(ts_resolution(0x80), Some(1));
        assert_eq!(ts_resolution(0x94), Some(1 << 20));
        assert_eq!(ts_resolution(0x80 | 63), Some(1 << 63));
        assert_eq!(ts_resolution(0x80 | 64), None);
        assert_eq!(ts_resolution(0xff), None);
    }

    #[test]
    fn pcapng_base2_resolution() {
        let mut ng = Ng::new(false);
        ng.idb(1, &[(9, vec![0x94])]); // 2^-20 s
                                       // 1_700_000_000.5 s.
        ng.epb(0, (1_700_000_000u64 << 20) + (1 << 19), &[1; 60]);
        // 3 s + 1/2^20 s = 3 s + 953.674316... ns (truncated).
        ng.epb(0, (3u64 << 20) + 1, &[2; 60]);
        let got = read_ng(ng.out);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].1, 1_700_000_000_500_000_000);
        assert_eq!(got[1].1, 3_000_000_953);
    }

    #[test]
    fn pcapng_nanosecond_resolution() {
        let mut ng = Ng::new(false);
        ng.idb(1, &[(9, vec![9])]);
        ng.epb(0, 1_700_000_000_123_456_789, &[1; 60]);
        let got = read_ng(ng.out);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].1, 1_700_000_000_123_456_789);
    }

    #[test]
    fn pcapng_big_endian_offset_and_default_resolution() {
        let mut ng = Ng::new(true);
        let offset = ng.u64(1_700_000_000);
        ng.idb(1, &[(14, offset)]); // no if_tsresol: microseconds
        ng.epb(0, 2_500_000, &[1; 60]);
        let got = read_ng(ng.out);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].1, 1_700_000_002_500_000_000);
        assert_eq!(got[0].2, vec![1; 60]);
    }

    #[test]
    fn pcapng_little_endian_offset_with_microseconds() {
        let mut ng = Ng::new(false);
        let offset = ng.u64(1_700_000_000);
        ng.idb(1, &[(9, vec![6]), (14, offset)]);
        ng.epb(0, 7, &[1; 60]);
        assert_eq!(read_ng(ng.out)[0].1, 1_700_000_000_000_007_000);
    }

    #[test]
    fn pcapng_invalid_resolution_falls_back_to_microseconds() {
        let mut ng = Ng::new(false);
        ng.idb(1, &[(9, vec![0x80 | 64])]);
        ng.epb(0, 5, &[1; 60]);
        assert_eq!(read_ng(ng.out)[0].1, 5_000);
    }

    #[test]
    fn pcapng_interfaces_keep_their_own_link_types() {
        for be in [false, true] {
            let mut ng = Ng::new(be);
            ng.idb(1, &[]); // Ethernet, µs
            ng.idb(101, &[(9, vec![9])]); // raw IP, ns
            ng.epb(1, 1_000, &[0x45; 20]);
            ng.epb(0, 1_000, &[0xff; 60]);
            ng.epb(2, 1_000, &[0; 8]); // undeclared interface
            let got = read_ng(ng.out);
            assert_eq!(got.len(), 3);
            assert_eq!((got[0].0, got[0].1), (LinkType::Raw, 1_000));
            assert_eq!(got[0].2, vec![0x45; 20]);
            assert_eq!((got[1].0, got[1].1), (LinkType::Ethernet, 1_000_000));
            assert_eq!(got[1].2, vec![0xff; 60]);
            assert_eq!(got[2].0, LinkType::Unknown(u32::MAX));
        }
    }

    #[test]
    fn new_section_resets_interfaces_and_byte_order() {
        let mut ng = Ng::new(false);
        ng.idb(1, &[(9, vec![9])]);
        ng.epb(0, 42, &[1; 60]);
        let mut second = Ng::new(true);
        let offset = second.u64(10);
        second.idb(101, &[(14, offset)]);
        second.epb(0, 1, &[0x45; 20]);
        let mut bytes = ng.out;
        bytes.extend(second.out);
        let got = read_ng(bytes);
        assert_eq!((got[0].0, got[0].1), (LinkType::Ethernet, 42));
        assert_eq!((got[1].0, got[1].1), (LinkType::Raw, 10_000_001_000));
    }

    fn pcap_header() -> Vec<u8> {
        PcapWriter::new(Vec::new(), LinkType::Ethernet, 65535)
            .unwrap()
            .finish()
            .unwrap()
    }

    #[test]
    fn oversized_pcap_record_is_rejected_up_front() {
        let mut bytes = pcap_header();
        let caplen = 100u32 << 20;
        for v in [1u32, 0, caplen, caplen] {
            bytes.extend(v.to_le_bytes());
        }
        bytes.extend([0u8; 1000]);
        let input = Box::new(std::io::Cursor::new(bytes));
        let mut src = FileSource::from_reader("big.pcap", input, None).unwrap();
        let err = src.next_packet().unwrap_err();
        assert!(matches!(err, CaptureError::Malformed { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains(&caplen.to_string()), "{msg}");
        // No chunk was grown for it.
        assert!(src.chunk.mem.len() <= CHUNK);
        assert!(src.spare.iter().all(|c| c.mem.len() <= CHUNK));
    }

    #[test]
    fn oversized_pcap_record_big_endian() {
        let mut bytes = pcap_header();
        bytes[..4].copy_from_slice(&0xa1b2_c3d4u32.to_be_bytes());
        bytes[20..24].copy_from_slice(&1u32.to_be_bytes());
        let caplen = (MAX_RECORD + 1) as u32;
        for v in [1u32, 0, caplen, caplen] {
            bytes.extend(v.to_be_bytes());
        }
        let (n, err) = read_bytes(bytes);
        assert_eq!(n, 0);
        let err = err.unwrap();
        assert!(err.contains(&caplen.to_string()), "{err}");
    }

    #[test]
    fn oversized_pcapng_block_is_rejected_up_front() {
        for be in [false, true] {
            let mut ng = Ng::new(be);
            ng.idb(1, &[]);
            let ty = ng.u32(6);
            let len = ng.u32(100 << 20);
            ng.out.extend(ty);
            ng.out.extend(len);
            ng.out.extend([0u8; 64]);
            let input = Box::new(std::io::Cursor::new(ng.out));
            let mut src = FileSource::from_reader("big.pcapng", input, None).unwrap();
            let err = src.next_packet().unwrap_err();
            assert!(matches!(err, CaptureError::Malformed { .. }), "{err:?}");
            assert!(err.to_string().contains("104857600"), "{err}");
            assert!(src.chunk.mem.len() <= CHUNK);
        }
    }

    #[test]
    fn record_at_the_limit_is_read() {
        // A pcap record of exactly MAX_RECORD bytes is accepted.
        let mut bytes = pcap_header();
        bytes[16..20].copy_from_slice(&(MAX_RECORD as u32).to_le_bytes());
        for v in [1u32, 0, MAX_RECORD as u32, MAX_RECORD as u32] {
            bytes.extend(v.to_le_bytes());
        }
        bytes.resize(bytes.len() + MAX_RECORD, 0xab);
        for v in [2u32, 0, 4, 4] {
            bytes.extend(v.to_le_bytes());
        }
        bytes.extend([1, 2, 3, 4]);
        let (n, err) = read_bytes(bytes);
        assert_eq!(err, None);
        assert_eq!(n, 2);
    }

    #[test]
    fn pcapng_packet_longer_than_its_block_is_malformed() {
        let mut ng = Ng::new(false);
        ng.idb(1, &[]);
        ng.epb(0, 0, &[1; 60]);
        // Captured length (offset 20 of the EPB) raised past the block's end.
        let epb = ng.out.len() - (32 + 60);
        ng.out[epb + 20..epb + 24].copy_from_slice(&1000u32.to_le_bytes());
        ng.out.extend([0u8; 4096]);
        let (n, err) = read_bytes(ng.out);
        assert_eq!(n, 0);
        let err = err.unwrap();
        assert!(
            err.contains("malformed") || err.contains("Malformed"),
            "{err}"
        );
    }
}
