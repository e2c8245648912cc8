//! SMTP tests on a Postfix-style session (RFC 5321 §D.1 with ESMTP extensions).

use super::*;
use crate::parser::Buffer;
use crate::testing::{hostile, probe_input, Harness};

const GREETING: &[u8] = b"220 mx.example.com ESMTP Postfix (Ubuntu)\r\n";
const EHLO: &[u8] = b"EHLO client.example.org\r\n";
const EHLO_REPLY: &[u8] = b"250-mx.example.com\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n\
250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250 8BITMIME\r\n";
const BODY: &[u8] = b"From: Alice <alice@example.org>\r\nTo: Bob <bob@example.com>\r\n\
Subject: lunch\r\n\r\nHello Bob,\r\n..a line starting with a dot\r\nsee you.\r\n";

fn parser() -> Box<dyn Parser> {
    Box::<SmtpParser>::default()
}

/// One whole session: greeting, EHLO, one message to two recipients, QUIT.
fn session() -> Vec<(Dir, Vec<u8>)> {
    let mut body = BODY.to_vec();
    body.extend_from_slice(b".\r\n");
    vec![
        (Dir::ToClient, GREETING.to_vec()),
        (Dir::ToServer, EHLO.to_vec()),
        (Dir::ToClient, EHLO_REPLY.to_vec()),
        (
            Dir::ToServer,
            b"MAIL FROM:<alice@example.org> SIZE=321\r\n".to_vec(),
        ),
        (Dir::ToClient, b"250 2.1.0 Ok\r\n".to_vec()),
        (Dir::ToServer, b"RCPT TO:<bob@example.com>\r\n".to_vec()),
        (Dir::ToClient, b"250 2.1.5 Ok\r\n".to_vec()),
        (Dir::ToServer, b"rcpt to: <carol@example.com>\r\n".to_vec()),
        (Dir::ToClient, b"250 2.1.5 Ok\r\n".to_vec()),
        (Dir::ToServer, b"DATA\r\n".to_vec()),
        (
            Dir::ToClient,
            b"354 End data with <CR><LF>.<CR><LF>\r\n".to_vec(),
        ),
        (Dir::ToServer, body),
        (
            Dir::ToClient,
            b"250 2.0.0 Ok: queued as 4F1C2A0B5\r\n".to_vec(),
        ),
        (Dir::ToServer, b"QUIT\r\n".to_vec()),
        (Dir::ToClient, b"221 2.0.0 Bye\r\n".to_vec()),
    ]
}

fn run(flow: &[(Dir, Vec<u8>)], byte_at_a_time: bool) -> Harness {
    let mut h = Harness::tcp(parser());
    for (d, m) in flow {
        if byte_at_a_time {
            for b in m {
                h.feed(*d, &[*b]);
            }
        } else {
            h.feed(*d, m);
        }
    }
    h.finish();
    h
}

#[test]
fn one_message() {
    for slow in [false, true] {
        let h = run(&session(), slow);
        let ev = h.events();
        assert_eq!(ev.len(), 1, "{ev:?}");
        let smtp = &ev[0]["smtp"];
        assert_eq!(ev[0]["event_type"], "smtp");
        assert_eq!(ev[0]["tx_id"], 0);
        assert_eq!(smtp["helo"], "client.example.org");
        assert_eq!(smtp["mail_from"], "<alice@example.org>");
        assert_eq!(
            smtp["rcpt_to"],
            serde_json::json!(["<bob@example.com>", "<carol@example.com>"])
        );
        assert_eq!(smtp["message_size"], BODY.len() as u64);
        assert!(smtp.get("starttls").is_none());
        assert!(h.upgrade.is_none());
    }
}

#[test]
fn helo_sender_and_each_recipient_go_to_detection() {
    let h = run(&session(), false);
    let b = |buffer: Buffer| h.buffer(0, Dir::ToServer, &buffer);
    assert_eq!(b(Buffer::SmtpHelo), ["client.example.org"]);
    assert_eq!(b(Buffer::SmtpMailFrom), ["<alice@example.org>"]);
    assert_eq!(
        b(Buffer::SmtpRcptTo),
        ["<bob@example.com>", "<carol@example.com>"]
    );
    assert!(h.buffer(0, Dir::ToClient, &Buffer::SmtpHelo).is_empty());
}

#[test]
fn pipelined_messages_and_rset() {
    let flow = vec![
        (Dir::ToClient, GREETING.to_vec()),
        (Dir::ToServer, EHLO.to_vec()),
        (Dir::ToClient, EHLO_REPLY.to_vec()),
        (
            Dir::ToServer,
            b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n".to_vec(),
        ),
        (
            Dir::ToClient,
            b"250 Ok\r\n250 Ok\r\n354 Go ahead\r\n".to_vec(),
        ),
        (
            Dir::ToServer,
            b"Subject: one\r\n\r\nfirst\r\n.\r\n".to_vec(),
        ),
        (Dir::ToClient, b"250 Ok: queued\r\n".to_vec()),
        (
            Dir::ToServer,
            b"MAIL FROM:<> \r\nRCPT TO:<nobody@example.com>\r\nRSET\r\n".to_vec(),
        ),
        (
            Dir::ToClient,
            b"250 Ok\r\n550 5.1.1 unknown\r\n250 Ok\r\n".to_vec(),
        ),
        (Dir::ToServer, b"QUIT\r\n".to_vec()),
    ];
    let h = run(&flow, false);
    let ev = h.events();
    assert_eq!(ev.len(), 2, "{ev:?}");
    assert_eq!(ev[0]["smtp"]["mail_from"], "<a@example.org>");
    assert_eq!(
        ev[0]["smtp"]["message_size"],
        b"Subject: one\r\n\r\nfirst\r\n".len() as u64
    );
    assert_eq!(ev[1]["tx_id"], 1);
    assert_eq!(ev[1]["smtp"]["mail_from"], "<>");
    assert_eq!(ev[1]["smtp"]["rcpt_to"][0], "<nobody@example.com>");
    assert!(ev[1]["smtp"].get("message_size").is_none());
}

#[test]
fn starttls_hands_over_to_tls() {
    let mut h = Harness::tcp(parser());
    h.feed(Dir::ToClient, GREETING);
    h.feed(Dir::ToServer, EHLO);
    h.feed(Dir::ToClient, EHLO_REPLY);
    h.feed(Dir::ToServer, b"STARTTLS\r\n");
    assert!(h.upgrade.is_none());
    h.feed(Dir::ToClient, b"220 2.0.0 Ready to start TLS\r\n");
    assert_eq!(h.upgrade, Some("tls"));
    let ev = h.events();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["smtp"]["helo"], "client.example.org");
    assert_eq!(ev[0]["smtp"]["starttls"], true);
    // Ciphertext after the hand-over is not read as commands.
    h.feed(
        Dir::ToServer,
        b"\x16\x03\x01\x00\x05hello\r\nMAIL FROM:<x@y>\r\n",
    );
    h.finish();
    assert_eq!(h.events().len(), 1);
}

#[test]
fn refused_starttls_stays_smtp() {
    let mut h = Harness::tcp(parser());
    h.feed(Dir::ToClient, GREETING);
    h.feed(Dir::ToServer, b"HELO client\r\nSTARTTLS\r\n");
    h.feed(Dir::ToClient, b"250 mx\r\n454 4.7.0 TLS not available\r\n");
    h.feed(Dir::ToServer, b"MAIL FROM:<a@b.c>\r\n");
    h.finish();
    assert!(h.upgrade.is_none());
    let ev = h.events();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["smtp"]["helo"], "client");
    assert_eq!(ev[0]["smtp"]["mail_from"], "<a@b.c>");
    assert!(ev[0]["smtp"].get("starttls").is_none());
}

#[test]
fn rejected_data_keeps_reading_commands() {
    let mut h = Harness::tcp(parser());
    h.feed(Dir::ToClient, GREETING);
    h.feed(Dir::ToServer, b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nDATA\r\n");
    h.feed(
        Dir::ToClient,
        b"250 mx\r\n250 ok\r\n554 5.5.1 No valid recipients\r\n",
    );
    h.feed(Dir::ToServer, b"RCPT TO:<d@e.f>\r\nQUIT\r\n");
    let ev = h.events();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["smtp"]["rcpt_to"][0], "<d@e.f>");
    assert!(ev[0]["smtp"].get("message_size").is_none());
}

#[test]
fn bdat_chunks() {
    let mut h = Harness::tcp(parser());
    h.feed(Dir::ToClient, GREETING);
    h.feed(
        Dir::ToServer,
        b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\n",
    );
    h.feed(
        Dir::ToServer,
        b"BDAT 10\r\nQUIT\r\n.\r\nXBDAT 5 LAST\r\n12345",
    );
    h.feed(Dir::ToServer, b"QUIT\r\n");
    let ev = h.events();
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0]["smtp"]["message_size"], 15);
}

#[test]
fn over_long_lines_are_skipped() {
    let mut h = Harness::tcp(parser());
    h.feed(Dir::ToClient, GREETING);
    h.feed(Dir::ToServer, EHLO);
    let mut long = b"NOOP ".to_vec();
    long.extend(std::iter::repeat_n(b'A', 10_000));
    h.feed(Dir::ToServer, &long);
    h.feed(
        Dir::ToServer,
        b"RCPT TO:<hidden@x>\r\nMAIL FROM:<a@b.c>\r\n",
    );
    h.finish();
    let ev = h.events();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["smtp"]["mail_from"], "<a@b.c>");
    assert!(ev[0]["smtp"].get("rcpt_to").is_none());
}

#[test]
fn recipients_are_capped() {
    let mut h = Harness::tcp(parser());
    h.feed(Dir::ToServer, b"EHLO c\r\nMAIL FROM:<a@b.c>\r\n");
    for i in 0..200 {
        h.feed(Dir::ToServer, format!("RCPT TO:<r{i}@x>\r\n").as_bytes());
    }
    h.finish();
    let ev = h.events();
    assert_eq!(ev[0]["smtp"]["rcpt_to"].as_array().unwrap().len(), MAX_RCPT);
}

#[test]
fn session_without_mail_logs_helo() {
    let mut h = Harness::tcp(parser());
    h.feed(Dir::ToClient, GREETING);
    h.feed(Dir::ToServer, EHLO);
    h.feed(Dir::ToClient, EHLO_REPLY);
    h.feed(Dir::ToServer, b"QUIT\r\n");
    h.finish();
    let ev = h.events();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["smtp"]["helo"], "client.example.org");
}

#[test]
fn probes() {
    let p = |d, data: &[u8], port| probe(&probe_input(d, data, Transport::Tcp, port));
    assert_eq!(p(Dir::ToClient, GREETING, 2500), Probe::Match);
    assert_eq!(
        p(Dir::ToClient, b"220-mx.example.com ESMTP\r\n", 2500),
        Probe::Match
    );
    assert_eq!(p(Dir::ToClient, b"220 welcome\r\n", 25), Probe::Match);
    assert_eq!(p(Dir::ToClient, b"220 welcome\r\n", 2500), Probe::NoMatch);
    assert_eq!(
        p(Dir::ToClient, b"220 ProFTPD Server ready\r\n", 25),
        Probe::NoMatch
    );
    assert_eq!(
        p(Dir::ToClient, b"220 mx.example.com ESM", 25),
        Probe::NeedMore
    );
    assert_eq!(p(Dir::ToClient, b"22", 25), Probe::NeedMore);
    assert_eq!(p(Dir::ToClient, b"230 ok\r\n", 25), Probe::NoMatch);
    assert_eq!(p(Dir::ToServer, EHLO, 2500), Probe::Match);
    assert_eq!(p(Dir::ToServer, b"helo x\r\n", 2500), Probe::Match);
    assert_eq!(p(Dir::ToServer, b"EHL", 25), Probe::NeedMore);
    assert_eq!(p(Dir::ToServer, b"GET / HTTP/1.1\r\n", 25), Probe::NoMatch);
    assert_eq!(p(Dir::ToServer, b"USER anonymous\r\n", 25), Probe::NoMatch);
    assert_eq!(
        p(
            Dir::ToServer,
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
            25
        ),
        Probe::NoMatch
    );
    assert_eq!(
        p(Dir::ToClient, b"SSH-2.0-OpenSSH_9.6\r\n", 25),
        Probe::NoMatch
    );
}

#[test]
fn hostile_input() {
    let tls = vec![
        (Dir::ToClient, GREETING.to_vec()),
        (Dir::ToServer, b"EHLO x\r\nSTARTTLS\r\n".to_vec()),
        (Dir::ToClient, b"250 x\r\n220 go\r\n".to_vec()),
    ];
    let bdat = vec![
        (
            Dir::ToServer,
            b"MAIL FROM:<a@b>\r\nBDAT 20 LAST\r\n".to_vec(),
        ),
        (Dir::ToServer, b"0123456789012345678\r\nQUIT\r\n".to_vec()),
    ];
    hostile(parser, probe, true, &[session(), tls, bdat], 3000);
}
