//! HTTP/1.0 and 1.1: requests and responses paired into transactions (pipelining included),
//! bodies framed by `Content-Length`, `chunked` encoding or the end of the connection, one
//! `http` event per transaction.
//!
//! Headers are parsed with `httparse`; this module does the framing around it. When detection
//! inspects the flow, each transaction also keeps its heads as sent and its bodies (bounded),
//! and hands Suricata's HTTP buffers over with its event ([`inspect`]).

mod inspect;
mod uri;

use std::collections::VecDeque;

use memchr::memmem;

use crate::parser::{Dir, Out, Parser, Probe, ProbeInput, Transport, MAX_BUFFER_LEN};
use crate::registry::Builtin;

/// The protocol's registry entry.
pub(crate) fn protocol() -> Builtin {
    Builtin {
        info: Builtin::info(
            "http",
            "HTTP/1.x requests and responses",
            &[Transport::Tcp],
            &[80, 8000, 8008, 8080, 8888, 3128],
            Some("http"),
        ),
        probe,
        parser: || Box::<Http>::default(),
    }
}

/// Request methods recognised at the start of a stream (RFC 9110, WebDAV, and a few common
/// extensions).
const METHODS: &[&[u8]] = &[
    b"GET ",
    b"POST ",
    b"HEAD ",
    b"PUT ",
    b"DELETE ",
    b"OPTIONS ",
    b"CONNECT ",
    b"TRACE ",
    b"PATCH ",
    b"PROPFIND ",
    b"PROPPATCH ",
    b"MKCOL ",
    b"COPY ",
    b"MOVE ",
    b"LOCK ",
    b"UNLOCK ",
    b"SEARCH ",
    b"REPORT ",
    b"SUBSCRIBE ",
    b"NOTIFY ",
];

fn probe(input: &ProbeInput<'_>) -> Probe {
    let d = input.data;
    let mut short = false;
    let candidates: &[&[u8]] = match input.dir {
        Dir::ToServer => METHODS,
        Dir::ToClient => &[b"HTTP/1."],
    };
    for m in candidates.iter().copied() {
        if d.len() >= m.len() {
            if &d[..m.len()] == m {
                return match input.dir {
                    // The request line must end like one ("... HTTP/1.x"), or still be coming.
                    Dir::ToServer => request_line_ok(d),
                    Dir::ToClient => Probe::Match,
                };
            }
        } else if m.starts_with(d) {
            short = true;
        }
    }
    // Also a response seen before its request (capture started mid-way).
    if input.dir == Dir::ToServer && d.starts_with(b"HTTP/1.") {
        return Probe::Match;
    }
    if short {
        Probe::NeedMore
    } else {
        Probe::NoMatch
    }
}

fn request_line_ok(d: &[u8]) -> Probe {
    match memchr::memchr(b'\n', d) {
        Some(end) => {
            let line = d[..end].strip_suffix(b"\r").unwrap_or(&d[..end]);
            // "GET /x HTTP/1.1", or HTTP/0.9's bare "GET /x".
            if memmem::find(line, b" HTTP/").is_some() || line.split(|&b| b == b' ').count() == 2 {
                Probe::Match
            } else {
                Probe::NoMatch
            }
        }
        None if d.len() < 2048 => Probe::NeedMore,
        None => Probe::NoMatch,
    }
}

/// Longest header block waited for; past it the stream is not parsed further.
const MAX_HEADER: usize = 64 << 10;
/// Open transactions kept; older ones are logged without their response.
const MAX_TXS: usize = 32;
/// Longest value kept per field.
const MAX_FIELD: usize = 2048;

/// The text fields a transaction keeps.
#[derive(Clone, Copy, Debug)]
enum F {
    Method,
    Uri,
    Protocol,
    Host,
    UserAgent,
    Referer,
    RequestContentType,
    ResponseProtocol,
    ContentType,
    Location,
}

const FIELDS: usize = 10;

#[derive(Clone, Debug, Default)]
struct Tx {
    id: u64,
    /// Every text field, one after the other (one allocation per transaction).
    text: Vec<u8>,
    /// Where each field ([`F`]) is in `text`.
    spans: [(u32, u32); FIELDS],
    request_body: u64,
    request_done: bool,
    has_request: bool,
    /// Detection already looked at the complete request.
    request_inspected: bool,
    status: Option<u16>,
    response_body: u64,
    response_done: bool,
    /// Kept only while detection inspects the flow: the request and response heads as sent
    /// (at most [`MAX_HEADER`] bytes each) and the bodies, dechunked (at most
    /// [`MAX_BUFFER_LEN`] bytes each). A flow holding [`MAX_TXS`] pipelined transactions can
    /// so keep up to 32 × 2 × (64 + 64) KiB = 8 MiB for detection, in the worst case.
    request_head: Vec<u8>,
    response_head: Vec<u8>,
    request_data: Vec<u8>,
    response_data: Vec<u8>,
}

impl Tx {
    /// Keeps `v` (at most [`MAX_FIELD`] bytes) as field `f`.
    fn set(&mut self, f: F, v: &[u8]) {
        let v = v.get(..MAX_FIELD).unwrap_or(v);
        let start = self.text.len();
        self.text.extend_from_slice(v);
        self.spans[f as usize] = (start as u32, self.text.len() as u32);
    }

    fn get(&self, f: F) -> &[u8] {
        let (a, b) = self.spans[f as usize];
        self.text.get(a as usize..b as usize).unwrap_or_default()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Body {
    /// Between messages.
    None,
    /// This many bytes of body left.
    Length(u64),
    /// Reading a chunk-size line.
    ChunkSize,
    /// This many bytes of chunk data left, then CRLF.
    ChunkData(u64),
    /// The CRLF after chunk data.
    ChunkEnd,
    /// Trailer lines until an empty one.
    Trailers,
    /// Until the connection closes.
    UntilClose,
    /// Lost: nothing more is parsed in this direction.
    Lost,
}

/// One HTTP connection.
#[derive(Debug)]
pub(crate) struct Http {
    txs: VecDeque<Tx>,
    next_id: u64,
    /// Body state per direction.
    body: [Body; 2],
    /// The transaction whose response is being read (index into txs by id).
    reading_response: Option<u64>,
    /// The transaction whose request body is being read.
    reading_request: Option<u64>,
    /// Body bytes per direction not yet written to their transaction.
    counted: [u64; 2],
    /// Per direction, while detection inspects the flow: body bytes not yet written to their
    /// transaction (at most [`MAX_BUFFER_LEN`]), and whether the body has a hole (bytes
    /// missing from the capture), after which nothing more of it is kept.
    data: [Vec<u8>; 2],
    data_gap: [bool; 2],
}

impl Default for Http {
    fn default() -> Self {
        Http {
            txs: VecDeque::new(),
            next_id: 0,
            body: [Body::None; 2],
            reading_response: None,
            reading_request: None,
            counted: [0; 2],
            data: [Vec::new(), Vec::new()],
            data_gap: [false; 2],
        }
    }
}

type Headers<'a> = Vec<(&'a [u8], &'a [u8])>;

fn header<'h>(headers: &[(&[u8], &'h [u8])], name: &str) -> Option<&'h [u8]> {
    headers
        .iter()
        .find(|h| h.0.eq_ignore_ascii_case(name.as_bytes()))
        .map(|h| h.1)
}

/// A message head httparse refused (bytes it deems invalid in a URL or a header, as real
/// clients and attackers send): the start line, and the headers split at the first colon.
fn lenient(block: &[u8]) -> (&[u8], Headers<'_>) {
    let mut lines = block
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let start = lines.next().unwrap_or_default();
    let headers = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| {
            let c = memchr::memchr(b':', l)?;
            Some((l[..c].trim_ascii(), l[c + 1..].trim_ascii()))
        })
        .take(96)
        .collect();
    (start, headers)
}

fn content_length(headers: &[(&[u8], &[u8])]) -> Option<u64> {
    let v = header(headers, "content-length")?;
    std::str::from_utf8(v).ok()?.trim().parse().ok()
}

fn is_chunked(headers: &[(&[u8], &[u8])]) -> bool {
    header(headers, "transfer-encoding").is_some_and(|v| {
        v.split(|&b| b == b',')
            .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"chunked"))
    })
}

impl Http {
    fn tx_mut(&mut self, id: u64) -> Option<&mut Tx> {
        self.txs.iter_mut().find(|t| t.id == id)
    }

    fn new_tx(&mut self, out: &mut Out<'_>) -> u64 {
        if self.txs.len() >= MAX_TXS {
            self.settle(0, false);
            self.settle(1, false);
            if let Some(t) = self.txs.pop_front() {
                log(&t, out);
            }
        }
        let id = self.next_id;
        self.next_id += 1;
        self.txs.push_back(Tx {
            id,
            ..Tx::default()
        });
        id
    }

    /// Logs and drops transactions at the front that are complete.
    fn log_done(&mut self, out: &mut Out<'_>) {
        while self
            .txs
            .front()
            .is_some_and(|t| t.response_done && (t.request_done || !t.has_request))
        {
            if let Some(t) = self.txs.pop_front() {
                log(&t, out);
            }
        }
    }

    fn request(&mut self, data: &[u8], out: &mut Out<'_>) -> usize {
        let Some(end) = memmem::find(data, b"\r\n\r\n")
            .map(|i| i + 4)
            .or_else(|| memmem::find(data, b"\n\n").map(|i| i + 2))
        else {
            if data.len() > MAX_HEADER {
                self.body[0] = Body::Lost;
                return data.len();
            }
            return 0;
        };
        let head = &data[..end];
        let mut hbuf = [httparse::EMPTY_HEADER; 96];
        let mut req = httparse::Request::new(&mut hbuf);
        let (method, uri, protocol, h): (&[u8], &[u8], &[u8], Headers<'_>) = match req.parse(head) {
            Ok(_) => (
                req.method.unwrap_or_default().as_bytes(),
                req.path.unwrap_or_default().as_bytes(),
                match req.version {
                    Some(0) => b"HTTP/1.0",
                    _ => b"HTTP/1.1",
                },
                req.headers
                    .iter()
                    .map(|h| (h.name.as_bytes(), h.value))
                    .collect(),
            ),
            Err(_) => {
                // A URI with spaces in it (`GET /a b HTTP/1.1`) lands here: libhtp, and so
                // Suricata, read it as the URI `/a b`.
                let (start, h) = lenient(head);
                let (method, uri, protocol) = inspect::request_line(start);
                (method, uri, protocol, h)
            }
        };
        let id = self.new_tx(out);
        let mut body = Body::None;
        if let Some(t) = self.tx_mut(id) {
            t.has_request = true;
            if out.inspecting() {
                t.request_head = head.get(..MAX_HEADER).unwrap_or(head).to_vec();
            }
            t.text.reserve(head.len().min(8 * MAX_FIELD));
            t.set(F::Method, method);
            t.set(F::Uri, uri);
            t.set(F::Protocol, protocol);
            t.set(F::Host, header(&h, "host").unwrap_or_default());
            t.set(F::UserAgent, header(&h, "user-agent").unwrap_or_default());
            t.set(F::Referer, header(&h, "referer").unwrap_or_default());
            t.set(
                F::RequestContentType,
                header(&h, "content-type").unwrap_or_default(),
            );
            if is_chunked(&h) {
                body = Body::ChunkSize;
            } else if let Some(n) = content_length(&h).filter(|&n| n > 0) {
                body = Body::Length(n);
            }
            t.request_done = body == Body::None;
            if t.request_done {
                inspect_request(t, out);
            }
        }
        self.body[0] = body;
        self.reading_request = (body != Body::None).then_some(id);
        end
    }

    fn response(&mut self, data: &[u8], out: &mut Out<'_>) -> usize {
        let Some(end) = memmem::find(data, b"\r\n\r\n")
            .map(|i| i + 4)
            .or_else(|| memmem::find(data, b"\n\n").map(|i| i + 2))
        else {
            if data.len() > MAX_HEADER || !b"HTTP/".starts_with(&data[..data.len().min(5)]) {
                self.body[1] = Body::Lost;
                return data.len();
            }
            return 0;
        };
        let head = &data[..end];
        let mut hbuf = [httparse::EMPTY_HEADER; 96];
        let mut resp = httparse::Response::new(&mut hbuf);
        let (status, version, h): (u16, Option<u8>, Headers<'_>) = match resp.parse(head) {
            Ok(_) => (
                resp.code.unwrap_or(0),
                resp.version,
                resp.headers
                    .iter()
                    .map(|h| (h.name.as_bytes(), h.value))
                    .collect(),
            ),
            Err(_) => {
                let (start, h) = lenient(head);
                let start: Vec<&[u8]> = start.splitn(3, |&b| b == b' ').collect();
                let code = start
                    .get(1)
                    .and_then(|c| std::str::from_utf8(c).ok())
                    .and_then(|c| c.parse().ok());
                let Some(code) = code else {
                    self.body[1] = Body::Lost;
                    return data.len();
                };
                let v = (start.first() == Some(&&b"HTTP/1.0"[..])).then_some(0);
                (code, v, h)
            }
        };
        if (100..200).contains(&status) && status != 101 {
            // Interim response: the final one follows.
            return end;
        }
        // The oldest transaction without a response, or a new one for a response whose
        // request was not seen.
        let id = match self.txs.iter().find(|t| t.status.is_none()) {
            Some(t) => t.id,
            None => self.new_tx(out),
        };
        let mut body = if is_chunked(&h) {
            Body::ChunkSize
        } else if let Some(n) = content_length(&h) {
            if n > 0 {
                Body::Length(n)
            } else {
                Body::None
            }
        } else {
            Body::UntilClose
        };
        if let Some(t) = self.tx_mut(id) {
            let method = t.get(F::Method);
            let no_body = method == b"HEAD"
                || status == 204
                || status == 304
                || (method == b"CONNECT" && (200..300).contains(&status));
            if no_body {
                body = Body::None;
            }
            t.status = Some(status);
            if out.inspecting() {
                t.response_head = head.get(..MAX_HEADER).unwrap_or(head).to_vec();
            }
            let proto: &[u8] = match version {
                Some(0) => b"HTTP/1.0",
                _ => b"HTTP/1.1",
            };
            t.set(F::ResponseProtocol, proto);
            t.set(
                F::ContentType,
                header(&h, "content-type").unwrap_or_default(),
            );
            t.set(F::Location, header(&h, "location").unwrap_or_default());
            t.response_done = body == Body::None;
        }
        if status == 101 || body == Body::None && self.tx_is_connect(id) {
            // Switched protocols (WebSocket, h2c) or a tunnel: not HTTP any more.
            self.body = [Body::Lost; 2];
        } else {
            self.body[1] = body;
        }
        self.reading_response = Some(id);
        self.log_done(out);
        end
    }

    fn tx_is_connect(&self, id: u64) -> bool {
        self.txs
            .iter()
            .any(|t| t.id == id && t.get(F::Method) == b"CONNECT")
    }

    /// Reads body bytes of direction `d`; returns bytes consumed.
    fn body_bytes(&mut self, d: usize, data: &[u8], out: &mut Out<'_>) -> usize {
        let mut used = 0;
        loop {
            let rest = &data[used..];
            let (n, next, body_bytes) = match self.body[d] {
                Body::None | Body::Lost => break,
                Body::UntilClose => (rest.len(), Body::UntilClose, rest.len() as u64),
                Body::Length(left) => {
                    let n = (left.min(rest.len() as u64)) as usize;
                    let next = if n as u64 == left {
                        Body::None
                    } else {
                        Body::Length(left - n as u64)
                    };
                    (n, next, n as u64)
                }
                Body::ChunkSize => match memchr::memchr(b'\n', rest) {
                    Some(i) => {
                        let line = &rest[..i];
                        let hex = line
                            .split(|&b| b == b';')
                            .next()
                            .unwrap_or_default()
                            .trim_ascii();
                        match std::str::from_utf8(hex)
                            .ok()
                            .and_then(|s| u64::from_str_radix(s, 16).ok())
                        {
                            Some(0) => (i + 1, Body::Trailers, 0),
                            Some(size) => (i + 1, Body::ChunkData(size), 0),
                            None => (rest.len(), Body::Lost, 0),
                        }
                    }
                    None if rest.len() > 1024 => (rest.len(), Body::Lost, 0),
                    None => break,
                },
                Body::ChunkData(left) => {
                    let n = (left.min(rest.len() as u64)) as usize;
                    let next = if n as u64 == left {
                        Body::ChunkEnd
                    } else {
                        Body::ChunkData(left - n as u64)
                    };
                    (n, next, n as u64)
                }
                Body::ChunkEnd => {
                    if rest.starts_with(b"\r\n") {
                        (2, Body::ChunkSize, 0)
                    } else if rest.starts_with(b"\n") {
                        (1, Body::ChunkSize, 0)
                    } else if rest.len() < 2 {
                        break;
                    } else {
                        (0, Body::ChunkSize, 0)
                    }
                }
                Body::Trailers => match memchr::memchr(b'\n', rest) {
                    Some(i) => {
                        let empty = rest[..i].trim_ascii().is_empty();
                        (i + 1, if empty { Body::None } else { Body::Trailers }, 0)
                    }
                    None if rest.len() > MAX_HEADER => (rest.len(), Body::Lost, 0),
                    None => break,
                },
            };
            let prev = self.body[d];
            self.body[d] = next;
            if body_bytes > 0 && out.inspecting() && !self.data_gap[d] {
                let kept = &mut self.data[d];
                let room = MAX_BUFFER_LEN.saturating_sub(kept.len());
                kept.extend_from_slice(rest.get(..n.min(room)).unwrap_or_default());
            }
            used += n;
            self.account(d, body_bytes, out);
            if self.body[d] == Body::None || used >= data.len() || (n == 0 && next == prev) {
                break;
            }
        }
        used
    }

    /// `n` more body bytes of direction `d`. They are counted here and written to the
    /// transaction when the body ends: a large body then costs no transaction lookup per
    /// segment.
    fn account(&mut self, d: usize, n: u64, out: &mut Out<'_>) {
        self.counted[d] = self.counted[d].saturating_add(n);
        if self.body[d] == Body::None {
            let request = if d == 0 { self.reading_request } else { None };
            self.settle(d, true);
            if let Some(t) = request.and_then(|id| self.tx_mut(id)) {
                inspect_request(t, out);
            }
            self.log_done(out);
        }
    }

    /// Writes the body bytes counted for direction `d` to its transaction; `done`: the body
    /// ended.
    fn settle(&mut self, d: usize, done: bool) {
        let n = std::mem::take(&mut self.counted[d]);
        let data = std::mem::take(&mut self.data[d]);
        if done {
            self.data_gap[d] = false;
        }
        let id = if d == 0 {
            self.reading_request
        } else {
            self.reading_response
        };
        let Some(id) = id else { return };
        if let Some(t) = self.tx_mut(id) {
            let kept = if d == 0 {
                t.request_body = t.request_body.saturating_add(n);
                t.request_done |= done;
                &mut t.request_data
            } else {
                t.response_body = t.response_body.saturating_add(n);
                t.response_done |= done;
                &mut t.response_data
            };
            if kept.is_empty() {
                *kept = data;
            } else {
                let room = MAX_BUFFER_LEN.saturating_sub(kept.len());
                kept.extend_from_slice(data.get(..room).unwrap_or(&data));
            }
        }
    }
}

impl Parser for Http {
    fn parse(&mut self, dir: Dir, data: &[u8], out: &mut Out<'_>) -> usize {
        let d = dir.index();
        let mut used = 0;
        while used < data.len() {
            let rest = &data[used..];
            let n = match self.body[d] {
                Body::Lost => return data.len(),
                Body::None => {
                    // Tolerate stray line ends between messages.
                    let skip = rest
                        .iter()
                        .take_while(|&&b| b == b'\r' || b == b'\n')
                        .count();
                    if skip > 0 {
                        skip
                    } else if dir == Dir::ToServer {
                        self.request(rest, out)
                    } else {
                        self.response(rest, out)
                    }
                }
                _ => self.body_bytes(d, rest, out),
            };
            if n == 0 {
                break;
            }
            used += n;
        }
        used
    }

    fn gap(&mut self, dir: Dir, len: u64, out: &mut Out<'_>) -> bool {
        let d = dir.index();
        // Inside a body, what follows the hole is not kept: the body's buffer is the part
        // before it.
        self.data_gap[d] = matches!(
            self.body[d],
            Body::Length(_) | Body::ChunkData(_) | Body::UntilClose
        );
        match self.body[d] {
            Body::Length(left) if len < left => {
                self.body[d] = Body::Length(left - len);
                self.account(d, len, out);
                true
            }
            Body::Length(left) if len == left => {
                self.body[d] = Body::None;
                self.account(d, len, out);
                true
            }
            Body::ChunkData(left) if len < left => {
                self.body[d] = Body::ChunkData(left - len);
                self.account(d, len, out);
                true
            }
            Body::UntilClose => {
                self.account(d, len, out);
                true
            }
            _ => {
                self.body[d] = Body::Lost;
                // The other direction can still be parsed.
                self.body[1 - d] != Body::Lost
            }
        }
    }

    fn finish(&mut self, out: &mut Out<'_>) {
        self.settle(0, false);
        self.settle(1, false);
        if self.body[1] == Body::UntilClose {
            if let Some(t) = self.reading_response.and_then(|id| self.tx_mut(id)) {
                t.response_done = true;
            }
        }
        while let Some(t) = self.txs.pop_front() {
            log(&t, out);
        }
    }
}

fn log(t: &Tx, out: &mut Out<'_>) {
    if out.inspecting() {
        if t.has_request {
            inspect::request(&t.request_head, &t.request_data, out);
        }
        if t.status.is_some() {
            inspect::response(&t.response_head, &t.response_data, out);
        }
    }
    out.event("http", true, Some(t.id), |w| write_http(t, w));
}

/// Detection's look at a request as soon as it is complete (Suricata inspects request
/// buffers then, not when the response arrives): its buffers, and the `http` object so far.
fn inspect_request(t: &mut Tx, out: &mut Out<'_>) {
    if !out.inspecting() || t.request_inspected || !t.has_request {
        return;
    }
    t.request_inspected = true;
    inspect::request(&t.request_head, &t.request_data, out);
    out.inspect_event("http", true, Some(t.id), |w| write_http(t, w));
}

/// The `http` object of a transaction.
fn write_http(t: &Tx, w: &mut nta_event::JsonOut<'_>) {
    w.object("http");
    let host = t.get(F::Host);
    if !host.is_empty() {
        let (host, port) = split_host(host);
        w.bytes("hostname", host);
        if let Some(p) = port {
            w.u64("http_port", u64::from(p));
        }
    }
    for (f, key) in [
        (F::Uri, "url"),
        (F::UserAgent, "http_user_agent"),
        (F::ContentType, "http_content_type"),
        (F::Referer, "http_refer"),
        (F::Method, "http_method"),
    ] {
        let v = t.get(f);
        if !v.is_empty() {
            w.bytes(key, v);
        }
    }
    let proto = match t.get(F::Protocol) {
        [] => t.get(F::ResponseProtocol),
        p => p,
    };
    if !proto.is_empty() {
        w.bytes("protocol", proto);
    }
    if let Some(s) = t.status {
        w.u64("status", u64::from(s));
    }
    for (f, key) in [
        (F::Location, "redirect"),
        (F::RequestContentType, "http_request_content_type"),
    ] {
        let v = t.get(f);
        if !v.is_empty() {
            w.bytes(key, v);
        }
    }
    w.u64("request_body_length", t.request_body);
    w.u64("length", t.response_body);
    w.close();
}

/// `example.com:8080` → (`example.com`, 8080); `[::1]:80` → (`::1`, 80).
fn split_host(h: &[u8]) -> (&[u8], Option<u16>) {
    let port_of = |p: &[u8]| std::str::from_utf8(p).ok().and_then(|s| s.parse().ok());
    if let Some(rest) = h.strip_prefix(b"[") {
        if let Some(close) = memchr::memchr(b']', rest) {
            let port = rest[close + 1..].strip_prefix(b":").and_then(port_of);
            return (&rest[..close], port);
        }
        return (h, None);
    }
    match memchr::memrchr(b':', h) {
        Some(i) if memchr::memchr(b':', &h[..i]).is_none() => match port_of(&h[i + 1..]) {
            Some(p) => (&h[..i], Some(p)),
            None => (h, None),
        },
        _ => (h, None),
    }
}

#[cfg(test)]
mod tests;
