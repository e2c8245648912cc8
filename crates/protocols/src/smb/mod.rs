//! SMB over NetBIOS session framing (TCP 445, and 139): SMB2/3 and, modestly, SMB1.
//!
//! Each NBSS frame's first bytes are read (at most [`MAX_LOOK`]); the rest, file data mostly,
//! is skipped without buffering. Requests of interest wait (by message id) for their response,
//! and the pair is one `smb` event, in Suricata's EVE names: `smb: {dialect, command, status,
//! status_code, session_id, tree_id, client_dialects?, server_guid?, share?, share_type?,
//! filename?}`. Logged: NEGOTIATE, SESSION_SETUP, LOGOFF, TREE_CONNECT, TREE_DISCONNECT and
//! CREATE (SMB2); NEGOTIATE, SESSION_SETUP_ANDX and TREE_CONNECT_ANDX (SMB1). Encrypted (SMB3
//! transform) and compressed messages are skipped.

use std::collections::VecDeque;

use crate::framing::Frames;
use crate::parser::{Buffer, Dir, Out, Parser, Probe, ProbeInput, Transport};
use crate::Builtin;

#[cfg(test)]
mod tests;

/// Bytes of a frame read; the headers and names logged sit well inside it.
const MAX_LOOK: usize = 4096;
/// Requests awaiting their response; past this the oldest is logged unanswered.
const MAX_PENDING: usize = 32;
/// Messages read from one compound frame.
const MAX_COMPOUND: usize = 16;
/// Dialects kept from a NEGOTIATE request (SMB2 clients offer at most 5 today, SMB1 ~12).
const MAX_DIALECTS: usize = 16;
/// Longest SMB1 dialect name kept.
const MAX_DIALECT_NAME: usize = 64;
/// Longest share or file name kept, in UTF-16 code units.
const MAX_NAME_UNITS: usize = 1024;
/// NBSS frame types: session message, and the session-service ones of port 139.
const NBSS_MESSAGE: u8 = 0x00;
const SMB2_HEADER: usize = 64;
const SMB1_HEADER: usize = 32;
const STATUS_PENDING: u32 = 0x0000_0103;

pub(crate) fn protocol() -> Builtin {
    Builtin {
        info: Builtin::info(
            "smb",
            "Server Message Block 1/2/3: dialects, sessions, shares, files opened",
            &[Transport::Tcp],
            &[445, 139],
            Some("smb"),
        ),
        probe,
        parser: || Box::<SmbParser>::default(),
    }
}

fn u16le(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        d.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

fn u32le(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        d.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn u64le(d: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        d.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}

/// An NBSS frame header: type and length.
fn nbss(d: &[u8]) -> Option<(u8, usize)> {
    let h = d.get(..4)?;
    Some((h[0], u32::from_be_bytes([0, h[1], h[2], h[3]]) as usize))
}

/// Whether `m` starts like an SMB message (any version), `None` when too short to tell.
fn smb_magic(m: &[u8]) -> Option<bool> {
    let magic = m.get(..4)?;
    Some(magic[0] >= 0xfc && &magic[1..] == b"SMB")
}

/// A NetBIOS session message (after any session request / response of port 139) holding an
/// SMB1 or SMB2 header.
fn probe(input: &ProbeInput<'_>) -> Probe {
    let mut d = input.data;
    for _ in 0..3 {
        let Some((kind, len)) = nbss(d) else {
            return if d
                .first()
                .is_some_and(|&k| k != NBSS_MESSAGE && !(0x81..=0x85).contains(&k))
            {
                Probe::NoMatch
            } else {
                Probe::NeedMore
            };
        };
        match kind {
            NBSS_MESSAGE => {
                let Some(magic) = d.get(4..8) else {
                    return Probe::NeedMore;
                };
                return if len >= SMB1_HEADER && (magic == b"\xfeSMB" || magic == b"\xffSMB") {
                    Probe::Match
                } else {
                    Probe::NoMatch
                };
            }
            // Session request / positive response / keepalive: the SMB comes after.
            0x81 | 0x82 | 0x85 if len <= 0x1ff => match d.get(4 + len..) {
                Some(rest) => d = rest,
                None => return Probe::NeedMore,
            },
            _ => return Probe::NoMatch,
        }
    }
    Probe::NoMatch
}

/// A command, in either version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmd {
    V2(u16),
    V1(u8),
}

impl Cmd {
    fn name(self) -> &'static str {
        match self {
            Cmd::V2(0) => "SMB2_COMMAND_NEGOTIATE_PROTOCOL",
            Cmd::V2(1) => "SMB2_COMMAND_SESSION_SETUP",
            Cmd::V2(2) => "SMB2_COMMAND_SESSION_LOGOFF",
            Cmd::V2(3) => "SMB2_COMMAND_TREE_CONNECT",
            Cmd::V2(4) => "SMB2_COMMAND_TREE_DISCONNECT",
            Cmd::V2(5) => "SMB2_COMMAND_CREATE",
            Cmd::V1(0x72) => "SMB1_COMMAND_NEGOTIATE_PROTOCOL",
            Cmd::V1(0x73) => "SMB1_COMMAND_SESSION_SETUP_ANDX",
            Cmd::V1(0x75) => "SMB1_COMMAND_TREE_CONNECT_ANDX",
            _ => "UNKNOWN",
        }
    }

    fn logged(self) -> bool {
        matches!(self, Cmd::V2(0..=5) | Cmd::V1(0x72 | 0x73 | 0x75))
    }

    fn is_negotiate(self) -> bool {
        matches!(self, Cmd::V2(0) | Cmd::V1(0x72))
    }
}

/// One request and, once it comes, its response.
#[derive(Debug)]
struct Tx {
    message_id: u64,
    cmd: Cmd,
    session_id: u64,
    tree_id: u32,
    status: Option<u32>,
    client_dialects: Vec<String>,
    server_guid: Option<[u8; 16]>,
    share: Option<String>,
    share_type: Option<u8>,
    filename: Option<String>,
}

impl Tx {
    fn new(cmd: Cmd, message_id: u64) -> Tx {
        Tx {
            message_id,
            cmd,
            session_id: 0,
            tree_id: 0,
            status: None,
            client_dialects: Vec::new(),
            server_guid: None,
            share: None,
            share_type: None,
            filename: None,
        }
    }
}

/// SMB2 dialect names, as Suricata writes them.
fn dialect_name(d: u16) -> String {
    match d {
        0x0202 => "2.02",
        0x0210 => "2.10",
        0x0222 => "2.22",
        0x0224 => "2.24",
        0x02ff => "2.??",
        0x0300 => "3.00",
        0x0302 => "3.02",
        0x0310 => "3.10",
        0x0311 => "3.11",
        _ => return d.to_string(),
    }
    .to_string()
}

/// NT status names for the codes seen on sessions, shares and opens (MS-ERREF §2.3).
fn status_name(s: u32) -> Option<&'static str> {
    Some(match s {
        0x0000_0000 => "STATUS_SUCCESS",
        0x0000_0103 => "STATUS_PENDING",
        0x8000_0005 => "STATUS_BUFFER_OVERFLOW",
        0x8000_0006 => "STATUS_NO_MORE_FILES",
        0xc000_0001 => "STATUS_UNSUCCESSFUL",
        0xc000_0002 => "STATUS_NOT_IMPLEMENTED",
        0xc000_0008 => "STATUS_INVALID_HANDLE",
        0xc000_000d => "STATUS_INVALID_PARAMETER",
        0xc000_000f => "STATUS_NO_SUCH_FILE",
        0xc000_0010 => "STATUS_INVALID_DEVICE_REQUEST",
        0xc000_0011 => "STATUS_END_OF_FILE",
        0xc000_0016 => "STATUS_MORE_PROCESSING_REQUIRED",
        0xc000_0022 => "STATUS_ACCESS_DENIED",
        0xc000_0023 => "STATUS_BUFFER_TOO_SMALL",
        0xc000_0033 => "STATUS_OBJECT_NAME_INVALID",
        0xc000_0034 => "STATUS_OBJECT_NAME_NOT_FOUND",
        0xc000_0035 => "STATUS_OBJECT_NAME_COLLISION",
        0xc000_003a => "STATUS_OBJECT_PATH_NOT_FOUND",
        0xc000_0043 => "STATUS_SHARING_VIOLATION",
        0xc000_0056 => "STATUS_DELETE_PENDING",
        0xc000_0064 => "STATUS_NO_SUCH_USER",
        0xc000_006d => "STATUS_LOGON_FAILURE",
        0xc000_006e => "STATUS_ACCOUNT_RESTRICTION",
        0xc000_006f => "STATUS_INVALID_LOGON_HOURS",
        0xc000_0070 => "STATUS_INVALID_WORKSTATION",
        0xc000_0071 => "STATUS_PASSWORD_EXPIRED",
        0xc000_0072 => "STATUS_ACCOUNT_DISABLED",
        0xc000_009a => "STATUS_INSUFFICIENT_RESOURCES",
        0xc000_00ba => "STATUS_FILE_IS_A_DIRECTORY",
        0xc000_00bb => "STATUS_NOT_SUPPORTED",
        0xc000_00c9 => "STATUS_NETWORK_NAME_DELETED",
        0xc000_00cc => "STATUS_BAD_NETWORK_NAME",
        0xc000_0101 => "STATUS_DIRECTORY_NOT_EMPTY",
        0xc000_0103 => "STATUS_NOT_A_DIRECTORY",
        0xc000_0120 => "STATUS_CANCELLED",
        0xc000_0128 => "STATUS_FILE_CLOSED",
        0xc000_015b => "STATUS_LOGON_TYPE_NOT_GRANTED",
        0xc000_0193 => "STATUS_ACCOUNT_EXPIRED",
        0xc000_0203 => "STATUS_USER_SESSION_DELETED",
        0xc000_0224 => "STATUS_PASSWORD_MUST_CHANGE",
        0xc000_0225 => "STATUS_NOT_FOUND",
        0xc000_0234 => "STATUS_ACCOUNT_LOCKED_OUT",
        0xc000_035c => "STATUS_NETWORK_SESSION_EXPIRED",
        _ => return None,
    })
}

/// A GUID as text (the first three fields little-endian).
fn guid(g: &[u8; 16]) -> String {
    format!(
        "{:08x}-{:04x}-{:04x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        u32::from_le_bytes([g[0], g[1], g[2], g[3]]),
        u16::from_le_bytes([g[4], g[5]]),
        u16::from_le_bytes([g[6], g[7]]),
        g[8],
        g[9],
        g[10],
        g[11],
        g[12],
        g[13],
        g[14],
        g[15]
    )
}

/// UTF-16LE text, up to a NUL or `MAX_NAME_UNITS`; invalid units become U+FFFD.
fn utf16(d: &[u8]) -> String {
    let units = d
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|&u| u != 0)
        .take(MAX_NAME_UNITS);
    char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

/// `len` bytes at `off` of `m`, or what of them the frame prefix holds.
fn field(m: &[u8], off: usize, len: usize) -> &[u8] {
    let end = off.saturating_add(len).min(m.len());
    m.get(off..end).unwrap_or_default()
}

/// Follows one SMB flow.
#[derive(Default)]
pub(crate) struct SmbParser {
    /// Frame skipping and lost framing, per direction.
    frames: Frames,
    pending: VecDeque<Tx>,
    dialect: Option<String>,
    tx_id: u64,
}

impl SmbParser {
    fn log(&mut self, tx: Tx, out: &mut Out<'_>) {
        let dialect = self.dialect.as_deref();
        // Detection's `file.name`: the file a CREATE opens, as logged (UTF-8).
        if let Some(f) = tx.filename.as_deref().filter(|f| !f.is_empty()) {
            out.buffer(Dir::ToServer, Buffer::FileName, f.as_bytes());
        }
        out.event("smb", true, Some(self.tx_id), |w| {
            w.object("smb");
            if let Some(d) = dialect {
                w.str("dialect", d);
            }
            w.plain("command", tx.cmd.name());
            if let Some(s) = tx.status {
                match status_name(s) {
                    Some(name) => w.plain("status", name),
                    None => w.plain("status", &format!("{s:#x}")),
                }
                w.plain("status_code", &format!("{s:#x}"));
            }
            w.u64("session_id", tx.session_id);
            w.u64("tree_id", u64::from(tx.tree_id));
            if !tx.client_dialects.is_empty() {
                w.array("client_dialects");
                for d in &tx.client_dialects {
                    w.str_element(d.as_bytes());
                }
                w.end_array();
            }
            if let Some(g) = &tx.server_guid {
                w.plain("server_guid", &guid(g));
            }
            if let Some(s) = &tx.share {
                w.str("share", s);
            }
            if let Some(t) = tx.share_type {
                let name = match t {
                    1 => "FILE",
                    2 => "PIPE",
                    3 => "PRINT",
                    _ => "UNKNOWN",
                };
                w.plain("share_type", name);
            }
            if let Some(f) = &tx.filename {
                w.str("filename", f);
            }
            w.close();
        });
        self.tx_id += 1;
    }

    fn request(&mut self, tx: Tx, out: &mut Out<'_>) {
        if self.pending.len() >= MAX_PENDING {
            if let Some(old) = self.pending.pop_front() {
                self.log(old, out);
            }
        }
        self.pending.push_back(tx);
    }

    /// The request `cmd` / `message_id` answers, or a fresh transaction for a response whose
    /// request was not seen.
    fn take_request(&mut self, cmd: Cmd, message_id: u64) -> Tx {
        let found = self.pending.iter().position(|t| {
            t.message_id == message_id
                && (t.cmd == cmd || (t.cmd.is_negotiate() && cmd.is_negotiate()))
        });
        found
            .and_then(|i| self.pending.remove(i))
            .unwrap_or_else(|| Tx::new(cmd, message_id))
    }

    /// One SMB2 message (`m` starts at its header, possibly cut at `MAX_LOOK`).
    fn smb2(&mut self, m: &[u8], out: &mut Out<'_>) {
        let (Some(status), Some(cmd), Some(flags), Some(message_id)) =
            (u32le(m, 8), u16le(m, 12), u32le(m, 16), u64le(m, 24))
        else {
            return;
        };
        let cmd = Cmd::V2(cmd);
        if !cmd.logged() {
            return;
        }
        let is_async = flags & 2 != 0;
        let tree_id = if is_async {
            0
        } else {
            u32le(m, 36).unwrap_or(0)
        };
        let session_id = u64le(m, 40).unwrap_or(0);
        let body = m.get(SMB2_HEADER..).unwrap_or_default();
        if flags & 1 == 0 {
            let mut tx = Tx::new(cmd, message_id);
            tx.session_id = session_id;
            tx.tree_id = tree_id;
            match cmd {
                Cmd::V2(0) => {
                    let count = usize::from(u16le(body, 2).unwrap_or(0)).min(MAX_DIALECTS);
                    tx.client_dialects = (0..count)
                        .filter_map(|i| u16le(body, 36 + 2 * i))
                        .map(dialect_name)
                        .collect();
                }
                Cmd::V2(3) => {
                    // The path's offset counts from the SMB2 header.
                    let (off, len) = (u16le(body, 4), u16le(body, 6));
                    if let (Some(off), Some(len)) = (off, len) {
                        tx.share = Some(utf16(field(m, off.into(), len.into())));
                    }
                }
                Cmd::V2(5) => {
                    let (off, len) = (u16le(body, 44), u16le(body, 46));
                    if let (Some(off), Some(len)) = (off, len) {
                        tx.filename = Some(utf16(field(m, off.into(), len.into())));
                    }
                }
                _ => {}
            }
            self.request(tx, out);
            return;
        }
        if status == STATUS_PENDING {
            // An interim answer: the real one follows.
            return;
        }
        let mut tx = self.take_request(cmd, message_id);
        tx.status = Some(status);
        if tx.session_id == 0 {
            tx.session_id = session_id;
        }
        if tx.tree_id == 0 {
            tx.tree_id = tree_id;
        }
        // Errors answer with an ERROR response (structure size 9), not the command's own.
        let own_body = |size: u16| u16le(body, 0) == Some(size);
        match cmd {
            Cmd::V2(0) if own_body(65) => {
                if let Some(d) = u16le(body, 4) {
                    self.dialect = Some(dialect_name(d));
                }
                tx.server_guid = body.get(8..24).and_then(|g| g.try_into().ok());
            }
            Cmd::V2(3) if own_body(16) => tx.share_type = body.get(2).copied(),
            _ => {}
        }
        self.log(tx, out);
    }

    /// One SMB1 message (`m` starts at its header, possibly cut at `MAX_LOOK`).
    fn smb1(&mut self, m: &[u8], out: &mut Out<'_>) {
        let (Some(&cmd), Some(status), Some(&flags), Some(flags2)) =
            (m.get(4), u32le(m, 5), m.get(9), u16le(m, 10))
        else {
            return;
        };
        let cmd = Cmd::V1(cmd);
        if !cmd.logged() {
            return;
        }
        let tree_id = u32::from(u16le(m, 24).unwrap_or(0));
        let session_id = u64::from(u16le(m, 28).unwrap_or(0));
        let message_id = u64::from(u16le(m, 30).unwrap_or(0));
        // Parameter words, then the byte count and bytes.
        let words = usize::from(m.get(SMB1_HEADER).copied().unwrap_or(0));
        let bytes_at = SMB1_HEADER + 1 + 2 * words + 2;
        let byte_count = usize::from(u16le(m, bytes_at - 2).unwrap_or(0));
        let bytes = field(m, bytes_at, byte_count);
        if flags & 0x80 == 0 {
            let mut tx = Tx::new(cmd, message_id);
            tx.session_id = session_id;
            tx.tree_id = tree_id;
            match cmd {
                Cmd::V1(0x72) => {
                    // Dialects: 0x02, then a NUL-terminated name, each.
                    tx.client_dialects = bytes
                        .split(|&b| b == 0)
                        .filter_map(|d| d.strip_prefix(&[2]))
                        .take(MAX_DIALECTS)
                        .map(|d| {
                            String::from_utf8_lossy(&d[..d.len().min(MAX_DIALECT_NAME)])
                                .into_owned()
                        })
                        .collect();
                }
                Cmd::V1(0x75) => {
                    // Words: AndX (4 bytes), flags, password length; bytes: password, path.
                    let pw = usize::from(u16le(m, SMB1_HEADER + 1 + 6).unwrap_or(0));
                    let mut at = bytes_at.saturating_add(pw);
                    let unicode = flags2 & 0x8000 != 0;
                    if unicode {
                        // Unicode strings are 2-aligned from the header's start.
                        at += at % 2;
                        tx.share = Some(utf16(field(m, at, byte_count)));
                    } else {
                        let path = field(m, at, byte_count);
                        let end = memchr::memchr(0, path).unwrap_or(path.len());
                        tx.share = Some(String::from_utf8_lossy(&path[..end]).into_owned());
                    }
                }
                _ => {}
            }
            self.request(tx, out);
            return;
        }
        let mut tx = self.take_request(cmd, message_id);
        tx.status = Some(status);
        if tx.session_id == 0 {
            tx.session_id = session_id;
        }
        if tx.tree_id == 0 {
            tx.tree_id = tree_id;
        }
        if cmd == Cmd::V1(0x72) {
            let chosen = u16le(m, SMB1_HEADER + 1).map(usize::from);
            if let Some(name) = chosen.and_then(|i| tx.client_dialects.get(i)) {
                self.dialect = Some(name.clone());
            }
        }
        self.log(tx, out);
    }

    /// The first bytes of one NBSS session message.
    fn message(&mut self, frame: &[u8], out: &mut Out<'_>) {
        match frame.get(..4) {
            Some(b"\xfeSMB") => {
                let mut off = 0;
                for _ in 0..MAX_COMPOUND {
                    let Some(m) = frame.get(off..) else { break };
                    self.smb2(m, out);
                    let next = usize::try_from(u32le(m, 20).unwrap_or(0)).unwrap_or(0);
                    if next < SMB2_HEADER {
                        break;
                    }
                    let Some(o) = off.checked_add(next) else {
                        break;
                    };
                    off = o;
                }
            }
            Some(b"\xffSMB") => self.smb1(frame, out),
            // Encrypted or compressed SMB3: nothing readable.
            _ => {}
        }
    }
}

impl Parser for SmbParser {
    fn parse(&mut self, dir: Dir, data: &[u8], out: &mut Out<'_>) -> usize {
        let d = dir.index();
        let mut at = 0;
        while at < data.len() && !self.frames.dead[d] {
            let rest = &data[at..];
            if self.frames.skip[d] > 0 {
                at += self.frames.skip_bytes(d, rest.len());
                continue;
            }
            let Some((kind, len)) = nbss(rest) else { break };
            let total = 4 + len;
            match kind {
                NBSS_MESSAGE => {}
                0x81..=0x85 => {
                    self.frames.skip[d] = total;
                    continue;
                }
                _ => {
                    self.frames.dead[d] = true;
                    break;
                }
            }
            if smb_magic(&rest[4..]) == Some(false) {
                self.frames.dead[d] = true;
                break;
            }
            let want = total.min(4 + MAX_LOOK);
            let Some(frame) = rest.get(4..want) else {
                break;
            };
            self.message(frame, out);
            at += want;
            self.frames.skip[d] = total - want;
        }
        self.frames.consumed(d, at, data.len())
    }

    fn gap(&mut self, dir: Dir, len: u64, _out: &mut Out<'_>) -> bool {
        // A gap inside a frame being skipped costs nothing; elsewhere the framing is lost.
        self.frames.gap(dir.index(), len)
    }

    fn finish(&mut self, out: &mut Out<'_>) {
        while let Some(tx) = self.pending.pop_front() {
            self.log(tx, out);
        }
    }
}
