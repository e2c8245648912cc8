//! SIP (UDP and TCP 5060): one `sip` event per message, Suricata's fields first: requests
//! `sip: {method, uri, version, …}`, responses `sip: {version, code, reason, …}`, then the
//! dialog's `from`, `to`, `call_id` and `cseq` headers and the `user_agent` / `server`.
//!
//! Over UDP a datagram is a message; over TCP messages are framed by their headers and
//! Content-Length, and bodies (SDP) are skipped.

use crate::framing::Frames;
use crate::parser::{Dir, Out, Parser, Probe, ProbeInput, Transport};
use crate::Builtin;

#[cfg(test)]
mod tests;

/// Longest header block read over TCP; past it the stream is not followed.
const MAX_HEADERS: usize = 16 * 1024;
/// Longest first line the probe waits for.
const PROBE_LINE: usize = 1024;
/// Longest field kept.
const MAX_FIELD: usize = 1024;
/// Headers read per message.
const MAX_HEADER_LINES: usize = 128;
const VERSION: &[u8] = b"SIP/2.0";

/// Request methods (RFC 3261 and its extensions).
const METHODS: &[&[u8]] = &[
    b"INVITE",
    b"ACK",
    b"BYE",
    b"CANCEL",
    b"REGISTER",
    b"OPTIONS",
    b"PRACK",
    b"SUBSCRIBE",
    b"NOTIFY",
    b"PUBLISH",
    b"INFO",
    b"REFER",
    b"MESSAGE",
    b"UPDATE",
];

pub(crate) fn protocol() -> Builtin {
    Builtin {
        info: Builtin::info(
            "sip",
            "Session Initiation Protocol: VoIP call setup requests and responses",
            &[Transport::Udp, Transport::Tcp],
            &[5060],
            Some("sip"),
        ),
        probe,
        parser: || Box::<SipParser>::default(),
    }
}

/// A parsed start line.
#[derive(Debug, PartialEq, Eq)]
enum StartLine<'a> {
    Request {
        method: &'a [u8],
        uri: &'a [u8],
        version: &'a [u8],
    },
    Response {
        version: &'a [u8],
        code: &'a [u8],
        reason: &'a [u8],
    },
}

/// `INVITE sip:bob@example.com SIP/2.0` or `SIP/2.0 180 Ringing`.
fn start_line(line: &[u8]) -> Option<StartLine<'_>> {
    let mut parts = line.splitn(3, |&b| b == b' ');
    let (a, b, c) = (
        parts.next()?,
        parts.next()?,
        parts.next().unwrap_or_default(),
    );
    if a == VERSION {
        let ok = b.len() == 3 && b.iter().all(u8::is_ascii_digit) && (b'1'..=b'6').contains(&b[0]);
        return ok.then_some(StartLine::Response {
            version: a,
            code: b,
            reason: c,
        });
    }
    let scheme = |s: &[u8]| {
        [&b"sip:"[..], b"sips:", b"tel:"]
            .iter()
            .any(|p| s.len() >= p.len() && s[..p.len()].eq_ignore_ascii_case(p))
    };
    (METHODS.contains(&a) && scheme(b) && c == VERSION).then_some(StartLine::Request {
        method: a,
        uri: b,
        version: c,
    })
}

/// Whether `d` could still become a start line: it begins (or is the beginning) of a
/// method or the version, followed by a space.
fn could_start(d: &[u8]) -> bool {
    let fits = |w: &[u8]| {
        let n = d.len().min(w.len());
        d[..n] == w[..n] && d.get(w.len()).is_none_or(|&b| b == b' ')
    };
    fits(VERSION) || METHODS.iter().any(|m| fits(m))
}

/// A request line with a SIP URI and version, or a status line.
fn probe(input: &ProbeInput<'_>) -> Probe {
    let d = input.data;
    let window = &d[..d.len().min(PROBE_LINE)];
    let Some(nl) = memchr::memchr(b'\n', window) else {
        let tcp = input.transport == Transport::Tcp;
        return if tcp && d.len() < PROBE_LINE && could_start(d) {
            Probe::NeedMore
        } else {
            Probe::NoMatch
        };
    };
    let line = &window[..nl];
    if start_line(line.strip_suffix(b"\r").unwrap_or(line)).is_some() {
        Probe::Match
    } else {
        Probe::NoMatch
    }
}

fn trim(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t' | b'\r'] = v {
        v = rest;
    }
    v
}

fn cut(v: &[u8]) -> &[u8] {
    &v[..v.len().min(MAX_FIELD)]
}

/// Headers logged, by full and compact name (RFC 3261 §7.3.3), with the event field.
const LOGGED: &[(&[u8], &[u8], &str)] = &[
    (b"from", b"f", "from"),
    (b"to", b"t", "to"),
    (b"call-id", b"i", "call_id"),
    (b"cseq", b"", "cseq"),
    (b"user-agent", b"", "user_agent"),
    (b"server", b"", "server"),
];

/// One message's head: its start line and headers (without the blank line).
/// Returns the Content-Length.
fn log_message(head: &[u8], to_server: bool, tx_id: u64, out: &mut Out<'_>) -> Option<usize> {
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let start = start_line(lines.next()?)?;
    let mut fields: [Option<&[u8]>; 6] = [None; 6];
    let mut content_length = 0usize;
    for line in lines.take(MAX_HEADER_LINES) {
        let Some(colon) = memchr::memchr(b':', line) else {
            continue;
        };
        let name = trim(&line[..colon]);
        let value = trim(&line[colon + 1..]);
        if name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"l") {
            content_length = std::str::from_utf8(value)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            continue;
        }
        for (i, (full, compact, _)) in LOGGED.iter().enumerate() {
            let matches = name.eq_ignore_ascii_case(full)
                || (!compact.is_empty() && name.eq_ignore_ascii_case(compact));
            if matches && fields[i].is_none() {
                fields[i] = Some(value);
            }
        }
    }
    out.event("sip", to_server, Some(tx_id), |w| {
        w.object("sip");
        match &start {
            StartLine::Request {
                method,
                uri,
                version,
            } => {
                w.bytes("method", method);
                w.bytes("uri", cut(uri));
                w.bytes("version", version);
            }
            StartLine::Response {
                version,
                code,
                reason,
            } => {
                w.bytes("version", version);
                w.bytes("code", code);
                w.bytes("reason", cut(reason));
            }
        }
        for (field, (_, _, key)) in fields.iter().zip(LOGGED) {
            if let Some(v) = field {
                w.bytes(key, cut(v));
            }
        }
        w.close();
    });
    Some(content_length)
}

/// Whether `d` starts with a whole, valid start line: a new message, whatever was expected.
fn starts_message(d: &[u8]) -> bool {
    let window = &d[..d.len().min(PROBE_LINE)];
    memchr::memchr(b'\n', window).is_some_and(|nl| {
        let line = &window[..nl];
        start_line(line.strip_suffix(b"\r").unwrap_or(line)).is_some()
    })
}

/// Follows one SIP flow (a UDP conversation or a TCP connection).
///
/// Parsers are not told their transport, and need not be: messages are read the same way
/// from a datagram as from a stream (headers up to the blank line, then Content-Length bytes
/// of body). Over UDP, where the body may run to the datagram's end without a Content-Length,
/// the next datagram's start line ends any skip still running.
#[derive(Default)]
pub(crate) struct SipParser {
    /// Frame skipping and lost framing, per direction.
    frames: Frames,
    tx_id: u64,
}

impl Parser for SipParser {
    fn parse(&mut self, dir: Dir, data: &[u8], out: &mut Out<'_>) -> usize {
        let d = dir.index();
        let mut at = 0;
        while at < data.len() && !self.frames.dead[d] {
            let rest = &data[at..];
            if self.frames.skip[d] > 0 {
                if at == 0 && starts_message(rest) {
                    self.frames.skip[d] = 0;
                } else {
                    at += self.frames.skip_bytes(d, rest.len());
                    continue;
                }
            }
            // Keep-alives (RFC 5626 §3.5.1) and stray line ends between messages.
            if matches!(rest[0], b'\r' | b'\n') {
                at += 1;
                continue;
            }
            let window = &rest[..rest.len().min(MAX_HEADERS)];
            let Some(end) = memchr::memmem::find(window, b"\r\n\r\n") else {
                if rest.len() >= MAX_HEADERS {
                    self.frames.dead[d] = true;
                }
                break;
            };
            // Not a SIP message: passed over, up to its blank line.
            if let Some(body) = log_message(&rest[..end], dir == Dir::ToServer, self.tx_id, out) {
                self.tx_id += 1;
                self.frames.skip[d] = body;
            }
            at += end + 4;
        }
        self.frames.consumed(d, at, data.len())
    }

    fn gap(&mut self, dir: Dir, len: u64, _out: &mut Out<'_>) -> bool {
        // A gap inside a frame being skipped costs nothing; elsewhere the framing is lost.
        self.frames.gap(dir.index(), len)
    }
}
