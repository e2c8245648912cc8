//! pcap and pcapng files, read as a stream (any size, or stdin).

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use nta_packet::LinkType;
use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{create_reader, PcapBlockOwned, PcapError};

use crate::{CaptureError, PacketSource, RawPacket, SourceEvent};

/// Read buffer; grows for larger records up to [`MAX_BUFFER`].
const BUFFER: usize = 1 << 20;
/// The largest record accepted (pcapng blocks carry 32-bit lengths; real ones are < 256 KiB).
const MAX_BUFFER: usize = 64 << 20;
/// Interfaces remembered per pcapng section (each IDB is one; hostile files could send many).
const MAX_INTERFACES: usize = 4096;

#[derive(Clone, Copy, Debug)]
struct Interface {
    link: LinkType,
    /// Timestamp units per second.
    resolution: u64,
    /// Seconds added to every timestamp.
    offset: i64,
}

/// A pcap or pcapng file (or stdin when the path is `-`).
pub struct FileSource {
    path: PathBuf,
    reader: Box<dyn PcapReaderIterator + Send>,
    /// Bytes of the block last handed out, consumed on the next call.
    pending: usize,
    /// File offset of the next unconsumed byte.
    offset: u64,
    packets: u64,
    size: Option<u64>,
    legacy: Option<(LinkType, bool)>,
    interfaces: Vec<Interface>,
}

impl std::fmt::Debug for FileSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileSource")
            .field("path", &self.path)
            .field("offset", &self.offset)
            .finish()
    }
}

/// Where the packet data sits in the reader's buffer, and its metadata.
struct Found {
    start: usize,
    len: usize,
    link: LinkType,
    ts_ns: u64,
    wire_len: u32,
}

impl FileSource {
    /// Opens a capture file; `-` reads standard input.
    pub fn open(path: impl AsRef<Path>) -> Result<FileSource, CaptureError> {
        let path = path.as_ref().to_path_buf();
        let io = |source| CaptureError::Io {
            path: path.clone(),
            source,
        };
        let (input, size): (Box<dyn Read + Send>, Option<u64>) = if path.as_os_str() == "-" {
            (Box::new(std::io::stdin()), None)
        } else {
            let f = File::open(&path).map_err(io)?;
            let size = f.metadata().ok().map(|m| m.len());
            if f.metadata().map(|m| m.is_dir()).unwrap_or(false) {
                return Err(io(std::io::Error::other("is a directory")));
            }
            (Box::new(f), size)
        };
        let reader = match create_reader(BUFFER, input) {
            Ok(r) => r,
            Err(PcapError::Eof) => return Err(CaptureError::Empty { path }),
            Err(PcapError::Incomplete(_)) | Err(PcapError::UnexpectedEof) => {
                return Err(CaptureError::Truncated {
                    path,
                    offset: 0,
                    packets: 0,
                })
            }
            Err(PcapError::ReadError) => {
                return Err(io(std::io::Error::other("read failed")));
            }
            Err(_) => return Err(CaptureError::NotPcap { path }),
        };
        Ok(FileSource {
            path,
            reader,
            pending: 0,
            offset: 0,
            packets: 0,
            size,
            legacy: None,
            interfaces: Vec::new(),
        })
    }

    /// Packets read so far.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn malformed(&self, reason: impl Into<String>) -> CaptureError {
        CaptureError::Malformed {
            path: self.path.clone(),
            offset: self.offset,
            reason: reason.into(),
        }
    }

    /// Finds the next packet block, handling header blocks on the way.
    fn find(&mut self) -> Result<Option<Found>, CaptureError> {
        loop {
            if self.pending > 0 {
                self.reader.consume_noshift(self.pending);
                self.offset += self.pending as u64;
                self.pending = 0;
            }
            let base = self.reader.data().as_ptr() as usize;
            let step = match self.reader.next() {
                Ok((size, block)) => {
                    let mut found = None;
                    let mut err = None;
                    match block {
                        PcapBlockOwned::LegacyHeader(h) => {
                            let lt = LinkType::from_u32(h.network.0 as u32);
                            if !lt.is_supported() {
                                err = Some(lt.to_u32());
                            }
                            self.legacy = Some((lt, h.is_nanosecond_precision()));
                        }
                        PcapBlockOwned::Legacy(b) => {
                            let (link, nanos) = self.legacy.unwrap_or((LinkType::Ethernet, false));
                            let frac = if nanos {
                                u64::from(b.ts_usec)
                            } else {
                                u64::from(b.ts_usec) * 1000
                            };
                            let len = (b.caplen as usize).min(b.data.len());
                            found = Some(Found {
                                start: b.data.as_ptr() as usize - base,
                                len,
                                link,
                                ts_ns: u64::from(b.ts_sec) * 1_000_000_000 + frac,
                                wire_len: b.origlen.max(len as u32),
                            });
                        }
                        PcapBlockOwned::NG(Block::SectionHeader(_)) => self.interfaces.clear(),
                        PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                            if self.interfaces.len() < MAX_INTERFACES {
                                self.interfaces.push(Interface {
                                    link: LinkType::from_u32(idb.linktype.0 as u32),
                                    resolution: idb.ts_resolution().unwrap_or(1_000_000),
                                    offset: idb.ts_offset(),
                                });
                            }
                        }
                        PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                            let iface = self.interfaces.get(epb.if_id as usize).copied();
                            let iface = iface.unwrap_or(Interface {
                                link: LinkType::Unknown(u32::MAX),
                                resolution: 1_000_000,
                                offset: 0,
                            });
                            let ticks = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                            let res = iface.resolution.max(1);
                            let ns = u128::from(ticks) * 1_000_000_000 / u128::from(res);
                            let ns = (ns as i128 + i128::from(iface.offset) * 1_000_000_000)
                                .clamp(0, i128::from(u64::MAX))
                                as u64;
                            let len = (epb.caplen as usize).min(epb.data.len());
                            found = Some(Found {
                                start: epb.data.as_ptr() as usize - base,
                                len,
                                link: iface.link,
                                ts_ns: ns,
                                wire_len: epb.origlen.max(len as u32),
                            });
                        }
                        PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                            let link = self
                                .interfaces
                                .first()
                                .map(|i| i.link)
                                .unwrap_or(LinkType::Unknown(u32::MAX));
                            let len = (spb.origlen as usize).min(spb.data.len());
                            found = Some(Found {
                                start: spb.data.as_ptr() as usize - base,
                                len,
                                link,
                                ts_ns: 0,
                                wire_len: spb.origlen.max(len as u32),
                            });
                        }
                        PcapBlockOwned::NG(_) => {}
                    }
                    self.pending = size;
                    if let Some(linktype) = err {
                        return Err(CaptureError::UnsupportedLinkType {
                            path: self.path.clone(),
                            linktype,
                        });
                    }
                    Ok(found)
                }
                Err(PcapError::Eof) => return Ok(None),
                Err(PcapError::Incomplete(_)) | Err(PcapError::UnexpectedEof) => Err(true),
                Err(PcapError::BufferTooSmall) => Err(false),
                Err(e) => {
                    let reason = format!("{e:?}");
                    return Err(self.malformed(reason));
                }
            };
            match step {
                Ok(Some(found)) => {
                    self.packets += 1;
                    return Ok(Some(found));
                }
                Ok(None) => {}
                Err(true) => {
                    if self.reader.reader_exhausted() {
                        if self.reader.data().is_empty() {
                            return Ok(None);
                        }
                        return Err(CaptureError::Truncated {
                            path: self.path.clone(),
                            offset: self.offset,
                            packets: self.packets,
                        });
                    }
                    if self.reader.refill().is_err() {
                        return Err(self.malformed("read error while refilling"));
                    }
                }
                Err(false) => {
                    let cap = self.reader.data().len().max(BUFFER) * 2;
                    if cap > MAX_BUFFER || !self.reader.grow(cap) {
                        return Err(self.malformed("record larger than 64 MiB"));
                    }
                    if self.reader.refill().is_err() {
                        return Err(self.malformed("read error while refilling"));
                    }
                }
            }
        }
    }
}

impl PacketSource for FileSource {
    fn next_packet(&mut self) -> Result<SourceEvent<'_>, CaptureError> {
        match self.find()? {
            None => Ok(SourceEvent::End),
            Some(f) => {
                let data = self
                    .reader
                    .data()
                    .get(f.start..f.start + f.len)
                    .unwrap_or_default();
                Ok(SourceEvent::Packet(RawPacket {
                    link: f.link,
                    ts_ns: f.ts_ns,
                    wire_len: f.wire_len,
                    data,
                }))
            }
        }
    }

    fn progress(&self) -> (u64, Option<u64>) {
        (self.offset, self.size)
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
}
