use super::*;
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
