//! What detection inspects of a transaction: Suricata's HTTP sticky buffers, built from the
//! request and response heads as they were sent and from the dechunked bodies.
//!
//! Headers are read as libhtp reads them, since Suricata's buffers are made from libhtp's
//! header table: a line starting with a space or tab continues the previous one; the name
//! is what comes before the first colon and the value what follows, both trimmed; a line
//! without a colon is a header with an empty name; a header repeated (any case) is one
//! header whose value is the values joined with `, `.
//!
//! The request's buffers go with `Dir::ToServer`, the response's with `Dir::ToClient`:
//!
//! | buffer | content |
//! |---|---|
//! | `http.method`, `http.uri.raw`, `http.protocol` | the request line's parts, as sent |
//! | `http.uri` | the URI normalised ([`super::uri`]) |
//! | `http.request_line`, `http.response_line` | the whole first line, without its line end |
//! | `http.stat_code`, `http.stat_msg` | the status line's code and reason |
//! | `http.host` | the host of an absolute URI, else of `Host`; lowercase, without port |
//! | `http.host.raw` | the host of an absolute URI, else the `Host` value as sent |
//! | `http.header` | `Name: value\r\n` for each header but `Cookie` (`Set-Cookie`) |
//! | `http.header.raw` | the header lines as sent, with the empty line that ends them |
//! | `http.start` | first line `\r\n`, then `Name: value\r\n` for each header, then `\r\n` |
//! | `http.header_names` | `\r\n`, each name followed by `\r\n`, then `\r\n` |
//! | `http.cookie` | the `Cookie` (request) or `Set-Cookie` (response) value |
//! | `http.user_agent`, `.accept`, `.accept_enc`, `.accept_lang`, `.referer`, `.connection` | request header values |
//! | `http.location`, `http.server` | response header values |
//! | `http.content_type`, `http.content_len` | header values, both ways |
//! | `http.request_body` | the request body, dechunked |
//! | `http.response_body`, `file.data` | the response body, dechunked |
//!
//! Bodies are kept up to [`MAX_BUFFER_LEN`](crate::parser::MAX_BUFFER_LEN) bytes and are not
//! decompressed: a gzip or deflate `Content-Encoding` body is inspected as it was sent
//! (Suricata inflates it first), so `file.data` rules on compressed responses do not match.

use crate::parser::{Buffer, Dir, Out};

use super::uri;

/// Headers read per message (libhtp's `headers-limit` default is 1024; a head is at most
/// `MAX_HEADER` bytes anyway). Past it, the rest are left out of the buffers.
const MAX_HEADERS: usize = 1024;

/// A message head read for its buffers.
pub(super) struct Head<'a> {
    /// The request or status line, without its line end.
    pub(super) start: &'a [u8],
    /// The header lines as sent, with the empty line after them.
    raw_headers: &'a [u8],
    /// Headers, merged by name (see the module doc), in order of first appearance.
    headers: Vec<(Vec<u8>, Vec<u8>)>,
}

impl<'a> Head<'a> {
    /// Reads a head (start line, header lines, and the empty line that ends them).
    pub(super) fn parse(head: &'a [u8]) -> Head<'a> {
        let (start, raw_headers) = match memchr::memchr(b'\n', head) {
            Some(i) => (&head[..i], &head[i + 1..]),
            None => (head, &[][..]),
        };
        let start = start.strip_suffix(b"\r").unwrap_or(start);
        let mut h = Head {
            start,
            raw_headers,
            headers: Vec::new(),
        };
        // The logical line being read (folded lines appended), added when the next begins.
        let mut line: Vec<u8> = Vec::new();
        let mut lines = 0;
        for l in raw_headers.split(|&b| b == b'\n') {
            let l = l.strip_suffix(b"\r").unwrap_or(l);
            if l.is_empty() {
                break;
            }
            if matches!(l.first(), Some(b' ' | b'\t')) && !line.is_empty() {
                line.extend_from_slice(l);
                continue;
            }
            h.add(&line);
            line.clear();
            line.extend_from_slice(l);
            lines += 1;
            if lines > MAX_HEADERS {
                line.clear();
                break;
            }
        }
        h.add(&line);
        h
    }

    fn add(&mut self, line: &[u8]) {
        if line.is_empty() {
            return;
        }
        let (name, value) = match memchr::memchr(b':', line) {
            Some(c) => (line[..c].trim_ascii(), line[c + 1..].trim_ascii()),
            None => (&[][..], line.trim_ascii()),
        };
        match self
            .headers
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some((_, v)) => {
                v.extend_from_slice(b", ");
                v.extend_from_slice(value);
            }
            None => self.headers.push((name.to_vec(), value.to_vec())),
        }
    }

    /// The value of header `name` (any case).
    pub(super) fn get(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v.as_slice())
    }

    /// Gives the buffers every message has (`http.header`, `.raw`, `http.start`,
    /// `http.header_names`, `http.cookie`, and header values listed in `values`).
    /// `cookie`: the header kept out of `http.header` and given as `http.cookie`.
    fn give_common(&self, dir: Dir, cookie: &str, values: &[(&str, Buffer)], out: &mut Out<'_>) {
        let mut headers = Vec::new();
        let mut start = Vec::with_capacity(self.raw_headers.len() + self.start.len() + 4);
        let mut names = Vec::new();
        start.extend_from_slice(self.start);
        start.extend_from_slice(b"\r\n");
        for (n, v) in &self.headers {
            let line = |b: &mut Vec<u8>| {
                b.extend_from_slice(n);
                b.extend_from_slice(b": ");
                b.extend_from_slice(v);
                b.extend_from_slice(b"\r\n");
            };
            line(&mut start);
            if !n.eq_ignore_ascii_case(cookie.as_bytes()) {
                line(&mut headers);
            }
            names.extend_from_slice(b"\r\n");
            names.extend_from_slice(n);
        }
        if !self.headers.is_empty() {
            start.extend_from_slice(b"\r\n");
            names.extend_from_slice(b"\r\n\r\n");
            out.buffer(dir, Buffer::HttpHeaderRaw, self.raw_headers);
            out.buffer(dir, Buffer::HttpHeaderNames, &names);
        }
        out.buffer(dir, Buffer::HttpStart, &start);
        if !headers.is_empty() {
            out.buffer(dir, Buffer::HttpHeader, &headers);
        }
        if let Some(c) = self.get(cookie).filter(|c| !c.is_empty()) {
            out.buffer(dir, Buffer::HttpCookie, c);
        }
        for (name, buffer) in values {
            if let Some(v) = self.get(name).filter(|v| !v.is_empty()) {
                out.buffer(dir, buffer.clone(), v);
            }
        }
    }
}

/// A request line's method, URI and protocol, as libhtp reads it with `allow_space_uri` (which
/// Suricata sets): the method runs to the first space; the protocol is the last word; the URI
/// is what lies between, spaces included (`GET /a b HTTP/1.1` asks for `/a b`). With one word
/// after the method, it is the URI (HTTP/0.9).
pub(super) fn request_line(line: &[u8]) -> (&[u8], &[u8], &[u8]) {
    let is_space = |b: &u8| b.is_ascii_whitespace();
    let line = line.trim_ascii();
    let m_end = line.iter().position(is_space).unwrap_or(line.len());
    let method = &line[..m_end];
    let rest = line[m_end..].trim_ascii_start();
    // Split at the last SP; at the last other white space (a tab) when there is no SP.
    let split = memchr::memrchr(b' ', rest).or_else(|| rest.iter().rposition(is_space));
    match split {
        Some(sp) => (method, rest[..sp].trim_ascii_end(), &rest[sp + 1..]),
        None => (method, rest, &[]),
    }
}

/// A status line's protocol, code and reason.
fn status_line(line: &[u8]) -> (&[u8], &[u8], &[u8]) {
    let mut parts = line.trim_ascii().splitn(2, |&b| b == b' ');
    let proto = parts.next().unwrap_or_default();
    let rest = parts.next().unwrap_or_default().trim_ascii_start();
    let mut parts = rest.splitn(2, |&b| b == b' ');
    let code = parts.next().unwrap_or_default();
    let reason = parts.next().unwrap_or_default().trim_ascii();
    (proto, code, reason)
}

/// `example.com:8080` → `example.com`; `[::1]:80` → `[::1]` (libhtp keeps the brackets).
fn without_port(h: &[u8]) -> &[u8] {
    if h.first() == Some(&b'[') {
        return match memchr::memchr(b']', h) {
            Some(close) => &h[..=close],
            None => h,
        };
    }
    match memchr::memrchr(b':', h) {
        Some(i)
            if memchr::memchr(b':', &h[..i]).is_none()
                && h[i + 1..].iter().all(u8::is_ascii_digit) =>
        {
            &h[..i]
        }
        _ => h,
    }
}

/// The request's buffers.
pub(super) fn request(head: &[u8], body: &[u8], out: &mut Out<'_>) {
    let dir = Dir::ToServer;
    let h = Head::parse(head);
    let (method, raw_uri, proto) = request_line(h.start);
    out.buffer(dir, Buffer::HttpRequestLine, h.start);
    if !method.is_empty() {
        out.buffer(dir, Buffer::HttpMethod, method);
    }
    if !raw_uri.is_empty() {
        out.buffer(dir, Buffer::HttpUriRaw, raw_uri);
        out.buffer(dir, Buffer::HttpUri, &uri::normalize(raw_uri));
    }
    if !proto.is_empty() {
        out.buffer(dir, Buffer::HttpProtocol, proto);
    }
    // The host of an absolute URI wins over the Host header (as libhtp's request_hostname).
    let uri_host = uri::absolute_authority(raw_uri).map(|(authority, _)| {
        let after_user = memchr::memrchr(b'@', authority).map_or(0, |at| at + 1);
        without_port(&authority[after_user..])
    });
    let raw_host = uri_host.or_else(|| h.get("host")).filter(|v| !v.is_empty());
    if let Some(raw) = raw_host {
        out.buffer(dir, Buffer::HttpHostRaw, raw);
        let mut host = without_port(raw).to_ascii_lowercase();
        while host.last() == Some(&b'.') {
            host.pop();
        }
        out.buffer(dir, Buffer::HttpHost, &host);
    }
    h.give_common(
        dir,
        "cookie",
        &[
            ("user-agent", Buffer::HttpUserAgent),
            ("accept", Buffer::HttpAccept),
            ("accept-encoding", Buffer::HttpAcceptEnc),
            ("accept-language", Buffer::HttpAcceptLang),
            ("referer", Buffer::HttpReferer),
            ("connection", Buffer::HttpConnection),
            ("content-type", Buffer::HttpContentType),
            ("content-length", Buffer::HttpContentLen),
        ],
        out,
    );
    if !body.is_empty() {
        out.buffer(dir, Buffer::HttpRequestBody, body);
    }
}

/// The response's buffers.
pub(super) fn response(head: &[u8], body: &[u8], out: &mut Out<'_>) {
    let dir = Dir::ToClient;
    let h = Head::parse(head);
    let (proto, code, reason) = status_line(h.start);
    out.buffer(dir, Buffer::HttpResponseLine, h.start);
    for (buffer, v) in [
        (Buffer::HttpProtocol, proto),
        (Buffer::HttpStatCode, code),
        (Buffer::HttpStatMsg, reason),
    ] {
        if !v.is_empty() {
            out.buffer(dir, buffer, v);
        }
    }
    h.give_common(
        dir,
        "set-cookie",
        &[
            ("location", Buffer::HttpLocation),
            ("server", Buffer::HttpServer),
            ("content-type", Buffer::HttpContentType),
            ("content-length", Buffer::HttpContentLen),
        ],
        out,
    );
    if !body.is_empty() {
        // `http.response_body` is the same bytes: detection reads it from `file.data`
        // (handing both would scan the body twice).
        out.buffer(dir, Buffer::FileData, body);
    }
}
