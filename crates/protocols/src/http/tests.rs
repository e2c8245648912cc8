use super::*;
use crate::parser::Buffer;
use crate::testing::{hostile, probe_input, Harness};

const REQ: &[u8] = b"GET /index.html?q=1 HTTP/1.1\r\nHost: www.example.com:8080\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\nReferer: http://a.example/\r\n\r\n";
const RESP: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Length: 11\r\n\r\nhello world";

fn http() -> Box<dyn Parser> {
    Box::<Http>::default()
}

#[test]
fn request_and_response_make_one_event() {
    let mut h = Harness::tcp(http());
    h.feed(Dir::ToServer, REQ);
    h.feed(Dir::ToClient, RESP);
    let ev = h.events();
    assert_eq!(ev.len(), 1);
    let e = &ev[0]["http"];
    assert_eq!(e["hostname"], "www.example.com");
    assert_eq!(e["http_port"], 8080);
    assert_eq!(e["url"], "/index.html?q=1");
    assert_eq!(e["http_method"], "GET");
    assert_eq!(e["http_user_agent"], "curl/8.5.0");
    assert_eq!(e["http_refer"], "http://a.example/");
    assert_eq!(e["protocol"], "HTTP/1.1");
    assert_eq!(e["status"], 200);
    assert_eq!(e["http_content_type"], "text/html; charset=UTF-8");
    assert_eq!(e["length"], 11);
    assert_eq!(ev[0]["tx_id"], 0);
}

#[test]
fn pipelined_requests_pair_with_responses_in_order() {
    let mut h = Harness::tcp(http());
    h.feed(
        Dir::ToServer,
        b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\nPOST /c HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nabcd",
    );
    h.feed(
        Dir::ToClient,
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nAHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
    );
    h.feed(
        Dir::ToClient,
        b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;x=y\r\n world\r\n0\r\nX-T: 1\r\n\r\n",
    );
    let ev = h.events();
    let urls: Vec<_> = ev.iter().map(|e| e["http"]["url"].clone()).collect();
    assert_eq!(urls, ["/a", "/b", "/c"]);
    let status: Vec<_> = ev.iter().map(|e| e["http"]["status"].clone()).collect();
    assert_eq!(status, [200, 404, 201]);
    assert_eq!(ev[2]["http"]["length"], 11);
    assert_eq!(ev[2]["http"]["request_body_length"], 4);
    assert_eq!(ev[2]["tx_id"], 2);
}

#[test]
fn byte_at_a_time_gives_the_same_result() {
    let mut h = Harness::tcp(http());
    for b in REQ {
        h.feed(Dir::ToServer, std::slice::from_ref(b));
    }
    for b in RESP {
        h.feed(Dir::ToClient, std::slice::from_ref(b));
    }
    let ev = h.events();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["http"]["length"], 11);
    assert_eq!(ev[0]["http"]["status"], 200);
}

#[test]
fn head_and_304_have_no_body_and_100_continue_is_skipped() {
    let mut h = Harness::tcp(http());
    h.feed(Dir::ToServer, b"HEAD / HTTP/1.1\r\nHost: h\r\n\r\nPUT /u HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi");
    h.feed(
        Dir::ToClient,
        b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
    );
    let ev = h.events();
    assert_eq!(ev.len(), 2);
    assert_eq!(ev[0]["http"]["length"], 0);
    assert_eq!(ev[1]["http"]["status"], 204);
}

#[test]
fn body_until_close_is_logged_at_finish() {
    let mut h = Harness::tcp(http());
    h.feed(Dir::ToServer, b"GET / HTTP/1.0\r\n\r\n");
    h.feed(Dir::ToClient, b"HTTP/1.0 200 OK\r\n\r\nabc");
    h.feed(Dir::ToClient, b"def");
    assert!(h.events().is_empty());
    h.finish();
    let ev = h.events();
    assert_eq!(ev[0]["http"]["length"], 6);
    assert_eq!(ev[0]["http"]["protocol"], "HTTP/1.0");
}

#[test]
fn request_without_response_is_logged_at_finish() {
    let mut h = Harness::tcp(http());
    h.feed(Dir::ToServer, b"GET /x HTTP/1.1\r\nHost: h\r\n\r\n");
    h.finish();
    let ev = h.events();
    assert_eq!(ev.len(), 1);
    assert!(ev[0]["http"].get("status").is_none());
}

#[test]
fn a_complete_request_is_shown_to_detection_before_its_response() {
    let mut h = Harness::tcp(http());
    // Headers only: inspected at once.
    h.feed(Dir::ToServer, b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(h.inspection_points(), [("http", Some(0))]);
    assert!(h.events().is_empty(), "nothing logged before the response");
    // With a body: inspected when the body is complete, not before.
    h.feed(
        Dir::ToServer,
        b"POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nab",
    );
    assert_eq!(h.inspection_points().len(), 1);
    h.feed(Dir::ToServer, b"cd");
    assert_eq!(
        h.inspection_points(),
        [("http", Some(0)), ("http", Some(1))]
    );
    h.feed(
        Dir::ToClient,
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    );
    // The transactions are logged once each, and inspected once more then.
    assert_eq!(h.events().len(), 2);
    assert_eq!(h.inspection_points().len(), 2);
    assert_eq!(
        h.buffer(1, Dir::ToServer, &Buffer::HttpRequestBody),
        ["abcd"]
    );
    // Not inspecting: no inspection point.
    let mut h = Harness::tcp(http()).inspecting(false);
    h.feed(Dir::ToServer, b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
    assert!(h.inspection_points().is_empty());
}

#[test]
fn gap_inside_a_body_resynchronises() {
    let mut h = Harness::tcp(http());
    h.feed(
        Dir::ToServer,
        b"GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n",
    );
    h.feed(
        Dir::ToClient,
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789",
    );
    assert!(h.gap(Dir::ToClient, 80));
    h.feed(
        Dir::ToClient,
        b"0123456789HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    );
    let ev = h.events();
    assert_eq!(ev.len(), 2);
    assert_eq!(ev[0]["http"]["length"], 100);
    assert_eq!(ev[1]["http"]["url"], "/2");
}

#[test]
fn hostile_text_is_escaped() {
    let mut h = Harness::tcp(http());
    h.feed(
        Dir::ToServer,
        b"GET /a\"b\\c HTTP/1.1\r\nHost: ev\xffil\r\nUser-Agent: x\x01y\r\n\r\n",
    );
    h.finish();
    let ev = h.events();
    assert_eq!(ev[0]["http"]["url"], "/a\"b\\c");
    assert_eq!(ev[0]["http"]["hostname"], "ev\u{fffd}il");
}

#[test]
fn probe_finds_http_by_content() {
    let p = |d, data: &'static [u8]| probe(&probe_input(d, data, Transport::Tcp, 5060));
    assert_eq!(p(Dir::ToServer, REQ), Probe::Match);
    assert_eq!(p(Dir::ToClient, RESP), Probe::Match);
    assert_eq!(p(Dir::ToServer, b"GE"), Probe::NeedMore);
    assert_eq!(p(Dir::ToServer, b"GET /abc"), Probe::NeedMore);
    assert_eq!(p(Dir::ToServer, b"SSH-2.0-OpenSSH_9.6\r\n"), Probe::NoMatch);
    assert_eq!(
        p(Dir::ToServer, b"\x16\x03\x01\x02\x00\x01"),
        Probe::NoMatch
    );
    assert_eq!(
        p(Dir::ToServer, b"GET the thing done now\r\n"),
        Probe::NoMatch
    );
    assert_eq!(
        p(Dir::ToClient, b"220 smtp.example ESMTP\r\n"),
        Probe::NoMatch
    );
}

/// The buffers of event 0 in `dir`, as (name, text) pairs.
fn buffers(h: &Harness, dir: Dir) -> Vec<(String, String)> {
    use crate::parser::Buffer as B;
    let all = [
        B::HttpMethod,
        B::HttpUri,
        B::HttpUriRaw,
        B::HttpProtocol,
        B::HttpRequestLine,
        B::HttpResponseLine,
        B::HttpStatCode,
        B::HttpStatMsg,
        B::HttpHost,
        B::HttpHostRaw,
        B::HttpUserAgent,
        B::HttpAccept,
        B::HttpAcceptEnc,
        B::HttpAcceptLang,
        B::HttpReferer,
        B::HttpConnection,
        B::HttpCookie,
        B::HttpContentType,
        B::HttpContentLen,
        B::HttpLocation,
        B::HttpServer,
        B::HttpHeader,
        B::HttpHeaderRaw,
        B::HttpStart,
        B::HttpHeaderNames,
        B::HttpRequestBody,
        B::HttpResponseBody,
        B::FileData,
    ];
    all.iter()
        .flat_map(|b| h.buffer(0, dir, b).into_iter().map(move |v| (b.name(), v)))
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn request_buffers_as_suricata_builds_them() {
    let mut h = Harness::tcp(http());
    h.feed(
        Dir::ToServer,
        b"POST /cgi-bin/../a%20b/./c%2Fd?q=%41+1 HTTP/1.1\r\n\
          Host: WWW.Example.COM:8080\r\n\
          User-Agent: Mozilla/5.0\r\n\
          Accept: */*\r\n\
          Accept-Encoding: gzip, deflate\r\n\
          Accept-Language: en-US\r\n\
          Referer: http://a.example/\r\n\
          Cookie: sid=42\r\n\
          Connection: keep-alive\r\n\
          Content-Type: application/x-www-form-urlencoded\r\n\
          X-Folded: one\r\n  two \r\n\
          Transfer-Encoding: chunked\r\n\
          x-folded: three\r\n\
          \r\n\
          5\r\nuser=\r\n5\r\nalice\r\n0\r\n\r\n",
    );
    h.feed(Dir::ToClient, b"HTTP/1.1 204 No Content\r\n\r\n");
    let head = "Host: WWW.Example.COM:8080\r\n\
                User-Agent: Mozilla/5.0\r\n\
                Accept: */*\r\n\
                Accept-Encoding: gzip, deflate\r\n\
                Accept-Language: en-US\r\n\
                Referer: http://a.example/\r\n\
                Cookie: sid=42\r\n\
                Connection: keep-alive\r\n\
                Content-Type: application/x-www-form-urlencoded\r\n\
                X-Folded: one\r\n  two \r\n\
                Transfer-Encoding: chunked\r\n\
                x-folded: three\r\n\
                \r\n";
    let normalized = "Host: WWW.Example.COM:8080\r\n\
                      User-Agent: Mozilla/5.0\r\n\
                      Accept: */*\r\n\
                      Accept-Encoding: gzip, deflate\r\n\
                      Accept-Language: en-US\r\n\
                      Referer: http://a.example/\r\n\
                      Connection: keep-alive\r\n\
                      Content-Type: application/x-www-form-urlencoded\r\n\
                      X-Folded: one  two, three\r\n\
                      Transfer-Encoding: chunked\r\n";
    let line = "POST /cgi-bin/../a%20b/./c%2Fd?q=%41+1 HTTP/1.1";
    let start = format!(
        "{line}\r\nHost: WWW.Example.COM:8080\r\nUser-Agent: Mozilla/5.0\r\nAccept: */*\r\n\
         Accept-Encoding: gzip, deflate\r\nAccept-Language: en-US\r\nReferer: http://a.example/\r\n\
         Cookie: sid=42\r\nConnection: keep-alive\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nX-Folded: one  two, three\r\n\
         Transfer-Encoding: chunked\r\n\r\n"
    );
    assert_eq!(
        buffers(&h, Dir::ToServer),
        pairs(&[
            ("http.method", "POST"),
            ("http.uri", "/a b/c/d?q=A+1"),
            ("http.uri.raw", "/cgi-bin/../a%20b/./c%2Fd?q=%41+1"),
            ("http.protocol", "HTTP/1.1"),
            ("http.request_line", line),
            ("http.host", "www.example.com"),
            ("http.host.raw", "WWW.Example.COM:8080"),
            ("http.user_agent", "Mozilla/5.0"),
            ("http.accept", "*/*"),
            ("http.accept_enc", "gzip, deflate"),
            ("http.accept_lang", "en-US"),
            ("http.referer", "http://a.example/"),
            ("http.connection", "keep-alive"),
            ("http.cookie", "sid=42"),
            ("http.content_type", "application/x-www-form-urlencoded"),
            ("http.header", normalized),
            ("http.header.raw", head),
            ("http.start", &start),
            (
                "http.header_names",
                "\r\nHost\r\nUser-Agent\r\nAccept\r\nAccept-Encoding\r\nAccept-Language\r\n\
                 Referer\r\nCookie\r\nConnection\r\nContent-Type\r\nX-Folded\r\n\
                 Transfer-Encoding\r\n\r\n"
            ),
            ("http.request_body", "user=alice"),
        ])
    );
    // The response's, on the other side.
    assert_eq!(
        buffers(&h, Dir::ToClient),
        pairs(&[
            ("http.protocol", "HTTP/1.1"),
            ("http.response_line", "HTTP/1.1 204 No Content"),
            ("http.stat_code", "204"),
            ("http.stat_msg", "No Content"),
            ("http.start", "HTTP/1.1 204 No Content\r\n"),
        ])
    );
}

#[test]
fn response_buffers_and_dechunked_body() {
    let mut h = Harness::tcp(http());
    h.feed(
        Dir::ToServer,
        b"GET http://Proxy.Example:3128/x%2e%2e/y HTTP/1.0\r\nHost: other.example\r\n\r\n",
    );
    h.feed(
        Dir::ToClient,
        b"HTTP/1.1 302 Found\r\nServer: nginx/1.25\r\nLocation: /login\r\n\
          Set-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Type: text/html\r\n\
          Transfer-Encoding: chunked\r\n\r\n4\r\n<htm\r\n3\r\nl/>\r\n0\r\n\r\n",
    );
    assert_eq!(
        buffers(&h, Dir::ToServer),
        pairs(&[
            ("http.method", "GET"),
            ("http.uri", "/x../y"),
            ("http.uri.raw", "http://Proxy.Example:3128/x%2e%2e/y"),
            ("http.protocol", "HTTP/1.0"),
            (
                "http.request_line",
                "GET http://Proxy.Example:3128/x%2e%2e/y HTTP/1.0"
            ),
            // The absolute URI's host wins over the Host header.
            ("http.host", "proxy.example"),
            ("http.host.raw", "Proxy.Example"),
            ("http.header", "Host: other.example\r\n"),
            ("http.header.raw", "Host: other.example\r\n\r\n"),
            (
                "http.start",
                "GET http://Proxy.Example:3128/x%2e%2e/y HTTP/1.0\r\nHost: other.example\r\n\r\n"
            ),
            ("http.header_names", "\r\nHost\r\n\r\n"),
        ])
    );
    let raw = "Server: nginx/1.25\r\nLocation: /login\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\
               Content-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n";
    assert_eq!(
        buffers(&h, Dir::ToClient),
        pairs(&[
            ("http.protocol", "HTTP/1.1"),
            ("http.response_line", "HTTP/1.1 302 Found"),
            ("http.stat_code", "302"),
            ("http.stat_msg", "Found"),
            ("http.cookie", "a=1, b=2"),
            ("http.content_type", "text/html"),
            ("http.location", "/login"),
            ("http.server", "nginx/1.25"),
            (
                "http.header",
                "Server: nginx/1.25\r\nLocation: /login\r\nContent-Type: text/html\r\n\
                 Transfer-Encoding: chunked\r\n"
            ),
            ("http.header.raw", raw),
            (
                "http.start",
                "HTTP/1.1 302 Found\r\nServer: nginx/1.25\r\nLocation: /login\r\n\
                 Set-Cookie: a=1, b=2\r\nContent-Type: text/html\r\n\
                 Transfer-Encoding: chunked\r\n\r\n"
            ),
            (
                "http.header_names",
                "\r\nServer\r\nLocation\r\nSet-Cookie\r\nContent-Type\r\nTransfer-Encoding\r\n\r\n"
            ),
            ("file.data", "<html/>"),
        ])
    );
    // Nothing of the request body side: none was sent.
    assert!(h
        .buffer(0, Dir::ToServer, &Buffer::HttpRequestBody)
        .is_empty());
}

#[test]
fn bodies_are_capped_and_stop_at_a_hole() {
    let mut h = Harness::tcp(http());
    let big = vec![b'x'; MAX_BUFFER_LEN + 100];
    let mut req =
        format!("POST /up HTTP/1.1\r\nContent-Length: {}\r\n\r\n", big.len()).into_bytes();
    req.extend_from_slice(&big);
    h.feed(Dir::ToServer, &req);
    h.feed(
        Dir::ToClient,
        b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n0123456789",
    );
    assert!(h.gap(Dir::ToClient, 5));
    h.feed(Dir::ToClient, b"56789");
    let ev = h.events();
    assert_eq!(ev[0]["http"]["request_body_length"], big.len());
    assert_eq!(ev[0]["http"]["length"], 20);
    let body = h.buffer(0, Dir::ToServer, &Buffer::HttpRequestBody);
    assert_eq!(body[0].len(), MAX_BUFFER_LEN);
    assert_eq!(
        h.buffer(0, Dir::ToClient, &Buffer::FileData),
        ["0123456789"]
    );
}

/// Suricata verify test `http-uri-spaces` (from Redmine issue 2881): `curl "127.0.0.1:8000/uri
/// afterspace"` against `python3 -m http.server`, the TCP payloads of its input.pcap.
#[test]
fn uri_with_spaces_is_one_uri() {
    let mut h = Harness::tcp(http());
    let req: &[u8] = b"GET /uri afterspace HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n\
                       User-Agent: curl/7.54.0\r\nAccept: */*\r\n\r\n";
    assert_eq!(
        probe(&probe_input(Dir::ToServer, req, Transport::Tcp, 8000)),
        Probe::Match
    );
    h.feed(Dir::ToServer, req);
    h.feed(
        Dir::ToClient,
        b"HTTP/1.0 400 Bad request syntax ('GET /uri afterspace HTTP/1.1')\r\n\
          Server: SimpleHTTP/0.6 Python/3.7.2\r\nDate: Tue, 02 Apr 2019 10:20:11 GMT\r\n\
          Connection: close\r\nContent-Type: text/html;charset=utf-8\r\nContent-Length: 519\r\n\r\n",
    );
    h.feed(Dir::ToClient, &[b'.'; 519]);
    let ev = h.events();
    assert_eq!(ev.len(), 1);
    let e = &ev[0]["http"];
    assert_eq!(e["url"], "/uri afterspace");
    assert_eq!(e["http_method"], "GET");
    assert_eq!(e["protocol"], "HTTP/1.1");
    assert_eq!(e["hostname"], "127.0.0.1");
    assert_eq!(e["http_port"], 8000);
    assert_eq!(e["status"], 400);
    assert_eq!(e["length"], 519);
    // The rule of the verify test: `content:" afterspace"; http_uri;`.
    assert_eq!(
        h.buffer(0, Dir::ToServer, &Buffer::HttpUri),
        ["/uri afterspace"]
    );
    assert_eq!(
        h.buffer(0, Dir::ToServer, &Buffer::HttpUriRaw),
        ["/uri afterspace"]
    );
    assert_eq!(
        h.buffer(0, Dir::ToClient, &Buffer::HttpStatMsg),
        ["Bad request syntax ('GET /uri afterspace HTTP/1.1')"]
    );
}

#[test]
fn request_line_parts() {
    use super::inspect::request_line;
    let p = |l: &'static [u8]| request_line(l);
    let parts = |m: &'static str, u: &'static str, v: &'static str| {
        (m.as_bytes(), u.as_bytes(), v.as_bytes())
    };
    assert_eq!(p(b"GET / HTTP/1.1"), parts("GET", "/", "HTTP/1.1"));
    assert_eq!(
        p(b"GET /a b  c HTTP/1.0"),
        parts("GET", "/a b  c", "HTTP/1.0")
    );
    assert_eq!(p(b"GET  /x\tHTTP/1.1 "), parts("GET", "/x", "HTTP/1.1"));
    // libhtp's RequestLineParsing5: the protocol is the last word, whatever it is.
    assert_eq!(
        p(b"GET / HTTP  / 01.10"),
        parts("GET", "/ HTTP  /", "01.10")
    );
    // A status line read as a request (the capture began with the response).
    assert_eq!(p(b"HTTP/1.1 200 OK"), parts("HTTP/1.1", "200", "OK"));
    // HTTP/0.9: no protocol.
    assert_eq!(p(b"GET /a"), parts("GET", "/a", ""));
    assert_eq!(p(b"GET"), parts("GET", "", ""));
}

#[test]
fn no_buffers_kept_when_not_inspecting() {
    let mut p = Http::default();
    let mut h = Harness::tcp(http()).inspecting(false);
    let req = b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
    h.feed(Dir::ToServer, req);
    h.finish();
    assert_eq!(h.events()[0]["http"]["request_body_length"], 3);
    assert_eq!(h.buffers(), vec![Vec::new()]);
    // Nor does the transaction keep its head or body for them.
    let mut inspect = crate::parser::Inspect::default();
    let (mut buf, mut written, mut expect, mut upgrade) =
        (Vec::new(), Vec::new(), Vec::new(), None);
    let mut out = Out {
        transport: Transport::Tcp,
        ts_ns: 0,
        log: true,
        client: ("10.0.0.1".parse().unwrap(), 40000),
        server: ("10.0.0.2".parse().unwrap(), 80),
        buf: &mut buf,
        events: &mut written,
        expect: &mut expect,
        upgrade: &mut upgrade,
        inspect: &mut inspect,
    };
    assert_eq!(
        p.parse(Dir::ToServer, &req[..req.len() - 1], &mut out),
        req.len() - 1
    );
    assert!(p.txs[0].request_head.is_empty());
    assert!(p.data[0].is_empty());
}

#[test]
fn hostile_input_never_panics() {
    let seeds = vec![
        vec![
            (Dir::ToServer, REQ.to_vec()),
            (Dir::ToClient, RESP.to_vec()),
        ],
        vec![
            (
                Dir::ToServer,
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n"
                    .to_vec(),
            ),
            (
                Dir::ToClient,
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nab"
                    .to_vec(),
            ),
        ],
    ];
    hostile(http, probe, true, &seeds, 3000);
}
