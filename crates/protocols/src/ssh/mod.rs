//! SSH: the identification line each side sends first (`SSH-2.0-OpenSSH_8.9p1 Ubuntu-3`), and
//! each side's first KEXINIT for its HASSH fingerprint (Salesforce's: the MD5 of
//! `kex;encryption;mac;compression`, client-to-server lists for the client, server-to-client
//! for the server). Everything after the KEXINIT is key exchange and ciphertext, and is
//! consumed unread.
//!
//! One `ssh` event per flow, once both sides are through (or when the flow ends):
//! `ssh: {client: {proto_version, software_version, comments?, hassh?: {hash, string}},
//! server: {…}}`.

use md5::{Digest, Md5};

use crate::parser::{Buffer, Dir, Out, Parser, Probe, ProbeInput, Transport};
use crate::Builtin;

#[cfg(test)]
mod tests;

/// RFC 4253 §4.2 allows 255 bytes for the identification line; some servers pad longer.
const MAX_BANNER_LINE: usize = 1024;
/// Lines a server may send before its identification line (RFC 4253 §4.2); more than this and
/// it is not SSH we can follow.
const MAX_PRE_BANNER_LINES: u8 = 16;
/// A KEXINIT longer than this is not buffered (real ones are 1–3 KiB).
const MAX_KEXINIT: usize = 16 * 1024;
/// Binary packets looked at after the banner before giving up on finding a KEXINIT.
const MAX_PACKETS_BEFORE_KEXINIT: u8 = 4;
/// Longest HASSH string kept for the event (the hash is over the whole string).
const MAX_HASSH_STRING: usize = 2048;
/// Longest version or comment field kept.
const MAX_FIELD: usize = 256;
const SSH_MSG_KEXINIT: u8 = 20;

pub(crate) fn protocol() -> Builtin {
    Builtin {
        info: Builtin::info(
            "ssh",
            "Secure Shell: version banners and HASSH fingerprints",
            &[Transport::Tcp],
            &[22],
            Some("ssh"),
        ),
        probe,
        parser: || Box::<SshParser>::default(),
    }
}

/// `SSH-` at the start of either direction.
fn probe(input: &ProbeInput<'_>) -> Probe {
    const MAGIC: &[u8] = b"SSH-";
    let d = input.data;
    let n = d.len().min(MAGIC.len());
    if d[..n] != MAGIC[..n] {
        Probe::NoMatch
    } else if n < MAGIC.len() {
        Probe::NeedMore
    } else {
        Probe::Match
    }
}

#[derive(Default, PartialEq, Eq, Clone, Copy, Debug)]
enum Phase {
    /// Waiting for the identification line.
    #[default]
    Banner,
    /// Banner seen; reading binary packets until the KEXINIT.
    Kex,
    /// Nothing more to read in this direction.
    Done,
}

/// What one side said about itself.
#[derive(Default, Debug)]
struct Side {
    phase: Phase,
    proto_version: Option<Vec<u8>>,
    software_version: Vec<u8>,
    comments: Option<Vec<u8>>,
    hassh: Option<(String, Vec<u8>)>,
    lines_skipped: u8,
    packets_seen: u8,
}

/// Follows one SSH flow.
#[derive(Default)]
pub(crate) struct SshParser {
    sides: [Side; 2],
    logged: bool,
}

fn truncated(v: &[u8], max: usize) -> Vec<u8> {
    v[..v.len().min(max)].to_vec()
}

/// `SSH-protoversion-softwareversion SP comments`, without the line end.
fn parse_banner(line: &[u8], side: &mut Side) {
    let rest = line.get(4..).unwrap_or_default();
    let (proto, rest) = match memchr::memchr(b'-', rest) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let (software, comments) = match memchr::memchr(b' ', rest) {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    side.proto_version = Some(truncated(proto, MAX_FIELD));
    side.software_version = truncated(software, MAX_FIELD);
    side.comments = comments
        .filter(|c| !c.is_empty())
        .map(|c| truncated(c, MAX_FIELD));
}

/// Reads one SSH name-list (uint32 length + bytes) off the front of `d`.
fn name_list<'a>(d: &mut &'a [u8]) -> Option<&'a [u8]> {
    let len = u32::from_be_bytes(d.get(..4)?.try_into().ok()?) as usize;
    let v = d.get(4..4usize.checked_add(len)?)?;
    *d = &d[4 + len..];
    Some(v)
}

/// The HASSH string of a KEXINIT payload (after the message type), for the client's
/// (`to_server`) or the server's side.
fn hassh_string(payload: &[u8], to_server: bool) -> Option<Vec<u8>> {
    let mut d = payload.get(16..)?; // cookie
    let kex = name_list(&mut d)?;
    let _host_key = name_list(&mut d)?;
    let enc_c2s = name_list(&mut d)?;
    let enc_s2c = name_list(&mut d)?;
    let mac_c2s = name_list(&mut d)?;
    let mac_s2c = name_list(&mut d)?;
    let cmp_c2s = name_list(&mut d)?;
    let cmp_s2c = name_list(&mut d)?;
    let parts = if to_server {
        [kex, enc_c2s, mac_c2s, cmp_c2s]
    } else {
        [kex, enc_s2c, mac_s2c, cmp_s2c]
    };
    Some(parts.join(&b';'))
}

fn hex(bytes: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(D[usize::from(b >> 4)]));
        s.push(char::from(D[usize::from(b & 15)]));
    }
    s
}

impl SshParser {
    /// Banner phase: returns bytes consumed.
    fn parse_banner(side: &mut Side, dir: Dir, data: &[u8]) -> usize {
        let mut at = 0;
        while side.phase == Phase::Banner {
            let rest = &data[at..];
            let Some(nl) = memchr::memchr(b'\n', rest) else {
                if rest.len() > MAX_BANNER_LINE {
                    side.phase = Phase::Done;
                    return data.len();
                }
                return at;
            };
            let mut line = &rest[..nl];
            if let Some(l) = line.strip_suffix(b"\r") {
                line = l;
            }
            at += nl + 1;
            if line.starts_with(b"SSH-") {
                parse_banner(line, side);
                // SSH-1 has no KEXINIT; 1.99 means "2.0 too", and a KEXINIT follows.
                let v1 = side
                    .proto_version
                    .as_deref()
                    .is_some_and(|v| v.starts_with(b"1.") && v != b"1.99");
                side.phase = if v1 { Phase::Done } else { Phase::Kex };
            } else if dir == Dir::ToClient && side.lines_skipped < MAX_PRE_BANNER_LINES {
                side.lines_skipped += 1;
            } else {
                side.phase = Phase::Done;
                return data.len();
            }
        }
        at
    }

    /// Key-exchange phase: waits for one whole binary packet and reads it if it is a KEXINIT.
    fn parse_kex(side: &mut Side, dir: Dir, data: &[u8]) -> usize {
        let Some(head) = data.get(..5) else { return 0 };
        let packet_len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let padding = usize::from(head[4]);
        if !(5..=MAX_KEXINIT).contains(&packet_len) || padding >= packet_len {
            side.phase = Phase::Done;
            return data.len();
        }
        let Some(packet) = data.get(4..4 + packet_len) else {
            return 0;
        };
        let payload = &packet[1..packet_len - padding];
        side.packets_seen = side.packets_seen.saturating_add(1);
        if payload.first() == Some(&SSH_MSG_KEXINIT) {
            if let Some(s) = hassh_string(&payload[1..], dir == Dir::ToServer) {
                let hash = hex(&Md5::digest(&s));
                side.hassh = Some((hash, truncated(&s, MAX_HASSH_STRING)));
            }
            side.phase = Phase::Done;
            return data.len();
        }
        if side.packets_seen >= MAX_PACKETS_BEFORE_KEXINIT {
            side.phase = Phase::Done;
            return data.len();
        }
        4 + packet_len
    }

    fn log(&mut self, out: &mut Out<'_>) {
        if self.logged || self.sides.iter().all(|s| s.proto_version.is_none()) {
            return;
        }
        self.logged = true;
        let sides = &self.sides;
        give_buffers(sides, out);
        out.event("ssh", true, Some(0), |w| {
            w.object("ssh");
            for (name, side) in [("client", &sides[0]), ("server", &sides[1])] {
                let Some(proto) = &side.proto_version else {
                    continue;
                };
                w.object(name);
                w.bytes("proto_version", proto);
                w.bytes("software_version", &side.software_version);
                if let Some(c) = &side.comments {
                    w.bytes("comments", c);
                }
                if let Some((hash, string)) = &side.hassh {
                    w.object("hassh");
                    w.plain("hash", hash);
                    w.bytes("string", string);
                    w.close();
                }
                w.close();
            }
            w.close();
        });
    }
}

/// Hands detection each side's buffers, as the event has them: the client's sent to the
/// server, the server's to the client. `ssh.proto` (`2.0`) and `ssh.software`
/// (`OpenSSH_8.2p1`, without the comments) from the banner; from the KEXINIT, `ssh.hassh`
/// and `ssh.hassh.string` for the client, `ssh.hassh.server` and `ssh.hassh.server.string`
/// for the server (lowercase hex MD5, and the `kex;encryption;mac;compression` string).
fn give_buffers(sides: &[Side; 2], out: &mut Out<'_>) {
    let kinds = [
        (Dir::ToServer, Buffer::SshHassh, Buffer::SshHasshString),
        (
            Dir::ToClient,
            Buffer::SshHasshServer,
            Buffer::SshHasshServerString,
        ),
    ];
    for (side, (dir, hash_buffer, string_buffer)) in sides.iter().zip(kinds) {
        let Some(proto) = &side.proto_version else {
            continue;
        };
        out.buffer(dir, Buffer::SshProto, proto);
        if !side.software_version.is_empty() {
            out.buffer(dir, Buffer::SshSoftware, &side.software_version);
        }
        if let Some((hash, string)) = &side.hassh {
            out.buffer(dir, hash_buffer, hash.as_bytes());
            out.buffer(dir, string_buffer, string);
        }
    }
}

impl Parser for SshParser {
    fn parse(&mut self, dir: Dir, data: &[u8], out: &mut Out<'_>) -> usize {
        let side = &mut self.sides[dir.index()];
        let mut at = 0;
        loop {
            let rest = &data[at..];
            let n = match side.phase {
                Phase::Banner => Self::parse_banner(side, dir, rest),
                Phase::Kex => Self::parse_kex(side, dir, rest),
                Phase::Done => rest.len(),
            };
            at += n;
            if n == 0 || at >= data.len() {
                break;
            }
        }
        if self.sides.iter().all(|s| s.phase == Phase::Done) {
            self.log(out);
        }
        at
    }

    fn gap(&mut self, dir: Dir, _len: u64, out: &mut Out<'_>) -> bool {
        self.sides[dir.index()].phase = Phase::Done;
        if self.sides.iter().all(|s| s.phase == Phase::Done) {
            self.log(out);
        }
        true
    }

    fn finish(&mut self, out: &mut Out<'_>) {
        self.log(out);
    }

    fn done(&self) -> bool {
        self.logged
    }
}
