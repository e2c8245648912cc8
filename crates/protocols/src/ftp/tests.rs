//! FTP tests on a vsftpd-style session (replies as vsftpd 3.0 words them).

use super::*;
use crate::parser::Buffer;
use crate::testing::{hostile, probe_input, Harness};

const GREETING: &[u8] = b"220 (vsFTPd 3.0.3)\r\n";

fn parser() -> Box<dyn Parser> {
    Box::<FtpParser>::default()
}

fn session() -> Vec<(Dir, Vec<u8>)> {
    let m = |d, b: &[u8]| (d, b.to_vec());
    vec![
        m(Dir::ToClient, GREETING),
        m(Dir::ToServer, b"USER anonymous\r\n"),
        m(Dir::ToClient, b"331 Please specify the password.\r\n"),
        m(Dir::ToServer, b"PASS guest@example.com\r\n"),
        m(Dir::ToClient, b"230 Login successful.\r\n"),
        m(Dir::ToServer, b"FEAT\r\n"),
        m(
            Dir::ToClient,
            b"211-Features:\r\n EPRT\r\n EPSV\r\n PASV\r\n SIZE\r\n211 End\r\n",
        ),
        m(Dir::ToServer, b"PASV\r\n"),
        m(
            Dir::ToClient,
            b"227 Entering Passive Mode (192,168,1,20,195,149).\r\n",
        ),
        m(Dir::ToServer, b"RETR README\r\n"),
        m(
            Dir::ToClient,
            b"150 Opening BINARY mode data connection for README (1024 bytes).\r\n",
        ),
        m(Dir::ToClient, b"226 Transfer complete.\r\n"),
        m(Dir::ToServer, b"EPSV\r\n"),
        m(
            Dir::ToClient,
            b"229 Entering Extended Passive Mode (|||40001|)\r\n",
        ),
        m(Dir::ToServer, b"PORT 10,0,0,1,200,10\r\n"),
        m(
            Dir::ToClient,
            b"200 PORT command successful. Consider using PASV.\r\n",
        ),
        m(Dir::ToServer, b"EPRT |2|2001:db8::1|5282|\r\n"),
        m(
            Dir::ToClient,
            b"200 EPRT command successful. Consider using EPSV.\r\n",
        ),
        m(Dir::ToServer, b"QUIT\r\n"),
        m(Dir::ToClient, b"221 Goodbye.\r\n"),
    ]
}

fn run(flow: &[(Dir, Vec<u8>)]) -> Harness {
    let mut h = Harness::tcp(parser());
    for (d, m) in flow {
        h.feed(*d, m);
    }
    h.finish();
    h
}

#[test]
fn session_commands_and_replies() {
    let h = run(&session());
    let ev = h.events();
    let ftp: Vec<_> = ev.iter().map(|e| &e["ftp"]).collect();
    assert_eq!(ftp.len(), 10, "{ev:?}");
    assert!(ev.iter().all(|e| e["event_type"] == "ftp"));
    assert_eq!(ev[9]["tx_id"], 9);

    // The greeting answers no command.
    assert!(ftp[0].get("command").is_none());
    assert_eq!(ftp[0]["reply"], serde_json::json!(["(vsFTPd 3.0.3)"]));
    assert_eq!(ftp[0]["completion_code"], serde_json::json!(["220"]));

    assert_eq!(ftp[1]["command"], "USER");
    assert_eq!(ftp[1]["command_data"], "anonymous");
    assert_eq!(ftp[1]["reply_received"], "yes");
    // An anonymous user's password is an e-mail address, kept.
    assert_eq!(ftp[2]["command_data"], "guest@example.com");

    assert_eq!(ftp[3]["command"], "FEAT");
    assert_eq!(
        ftp[3]["reply"],
        serde_json::json!(["Features:", " EPRT", " EPSV", " PASV", " SIZE", "End"])
    );
    assert_eq!(ftp[3]["completion_code"], serde_json::json!(["211"]));

    assert_eq!(ftp[4]["command"], "PASV");
    assert_eq!(ftp[4]["dynamic_port"], 195 * 256 + 149);
    assert_eq!(ftp[4]["mode"], "passive");

    assert_eq!(ftp[5]["command"], "RETR");
    assert_eq!(ftp[5]["command_data"], "README");
    assert_eq!(ftp[5]["completion_code"], serde_json::json!(["150", "226"]));
    assert_eq!(ftp[5]["reply"][1], "Transfer complete.");

    assert_eq!(ftp[6]["dynamic_port"], 40001);
    assert_eq!(ftp[7]["command"], "PORT");
    assert_eq!(ftp[7]["mode"], "active");
    assert_eq!(ftp[7]["dynamic_port"], 200 * 256 + 10);
    assert_eq!(ftp[8]["dynamic_port"], 5282);
    assert_eq!(ftp[9]["command"], "QUIT");

    let exp = |a: &str, port| Expectation {
        addr: a.parse().unwrap(),
        port,
        app_proto: "ftp-data",
    };
    assert_eq!(
        h.expectations,
        vec![
            exp("192.168.1.20", 50069),
            // EPSV names no address: the server's.
            exp("10.0.0.2", 40001),
            exp("10.0.0.1", 51210),
            exp("2001:db8::1", 5282),
        ]
    );
}

#[test]
fn command_and_file_name_go_to_detection() {
    let h = run(&session());
    let commands: Vec<Vec<String>> = (0..10)
        .map(|i| h.buffer(i, Dir::ToServer, &Buffer::FtpCommand))
        .collect();
    assert_eq!(
        commands,
        [
            vec![],
            vec!["USER".to_string()],
            vec!["PASS".to_string()],
            vec!["FEAT".to_string()],
            vec!["PASV".to_string()],
            vec!["RETR".to_string()],
            vec!["EPSV".to_string()],
            vec!["PORT".to_string()],
            vec!["EPRT".to_string()],
            vec!["QUIT".to_string()],
        ]
    );
    assert_eq!(h.buffer(5, Dir::ToServer, &Buffer::FileName), ["README"]);
    assert!(h.buffer(1, Dir::ToServer, &Buffer::FileName).is_empty());

    // A lowercase command is named in uppercase; STOR names the file stored.
    let h = run(&[(Dir::ToServer, b"stor upload/report 2024.pdf\r\n".to_vec())]);
    assert_eq!(h.buffer(0, Dir::ToServer, &Buffer::FtpCommand), ["STOR"]);
    assert_eq!(
        h.buffer(0, Dir::ToServer, &Buffer::FileName),
        ["upload/report 2024.pdf"]
    );
}

#[test]
fn passwords_are_hidden() {
    let mut h = Harness::tcp(parser());
    h.feed(Dir::ToClient, GREETING);
    h.feed(Dir::ToServer, b"USER alice\r\n");
    h.feed(Dir::ToClient, b"331 Please specify the password.\r\n");
    h.feed(Dir::ToServer, b"PASS s3cret\r\n");
    h.feed(Dir::ToClient, b"530 Login incorrect.\r\n");
    h.finish();
    let ev = h.events();
    assert_eq!(ev[2]["ftp"]["command"], "PASS");
    assert_eq!(ev[2]["ftp"]["command_data"], "***");
    assert_eq!(ev[2]["ftp"]["completion_code"][0], "530");
}

#[test]
fn unanswered_and_pipelined() {
    let mut h = Harness::tcp(parser());
    // The client's first command can be read before the greeting.
    h.feed(Dir::ToServer, b"USER bob\r\nPASS x\r\nSYST\r\n");
    h.feed(
        Dir::ToClient,
        b"220-Welcome\r\n220 ready\r\n331 password\r\n",
    );
    h.feed(Dir::ToClient, b"230 ok\r\n");
    h.finish();
    let ev = h.events();
    assert_eq!(ev.len(), 4, "{ev:?}");
    assert_eq!(
        ev[0]["ftp"]["reply"],
        serde_json::json!(["Welcome", "ready"])
    );
    assert_eq!(ev[1]["ftp"]["command"], "USER");
    assert_eq!(ev[1]["ftp"]["completion_code"][0], "331");
    assert_eq!(ev[2]["ftp"]["command"], "PASS");
    assert_eq!(ev[3]["ftp"]["command"], "SYST");
    assert_eq!(ev[3]["ftp"]["reply_received"], "no");
    assert!(ev[3]["ftp"].get("completion_code").is_none());
}

#[test]
fn open_commands_are_capped() {
    let mut h = Harness::tcp(parser());
    for i in 0..100 {
        h.feed(Dir::ToServer, format!("NOOP {i}\r\n").as_bytes());
    }
    // 68 logged unanswered to keep 32 open.
    assert_eq!(h.events().len(), 100 - MAX_OPEN);
    h.finish();
    assert_eq!(h.events().len(), 100);
}

#[test]
fn auth_tls_hands_over() {
    let mut h = Harness::tcp(parser());
    h.feed(Dir::ToClient, b"220 FileZilla Server 1.8\r\n");
    h.feed(Dir::ToServer, b"AUTH TLS\r\n");
    h.feed(
        Dir::ToClient,
        b"234 Using authentication type TLS.\r\n\x16\x03\x03",
    );
    assert_eq!(h.upgrade, Some("tls"));
    let ev = h.events();
    assert_eq!(ev.len(), 2);
    assert_eq!(ev[1]["ftp"]["command"], "AUTH");
    assert_eq!(ev[1]["ftp"]["completion_code"][0], "234");
}

#[test]
fn pasv_variants() {
    assert_eq!(
        pasv_reply(b"Entering Passive Mode (10,1,2,3,4,5)"),
        Some((Ipv4Addr::new(10, 1, 2, 3), 1029))
    );
    assert_eq!(
        pasv_reply(b"=10,1,2,3,4,5"),
        Some((Ipv4Addr::new(10, 1, 2, 3), 1029))
    );
    assert_eq!(pasv_reply(b"Entering Passive Mode (10,1,2,3,4,300)"), None);
    assert_eq!(pasv_reply(b"Entering Passive Mode (10,1,2,3,4)"), None);
    assert_eq!(
        epsv_reply(b"Entering Extended Passive Mode (!!!6446!)"),
        Some(6446)
    );
    assert_eq!(
        epsv_reply(b"Entering Extended Passive Mode (|||99999|)"),
        None
    );
    assert_eq!(
        eprt(b"|1|132.235.1.2|6275|"),
        Some(("132.235.1.2".parse().unwrap(), 6275))
    );
    assert_eq!(eprt(b"|1|not-an-address|6275|"), None);
    assert_eq!(host_port(b"1,2,3,4,0,0"), None);
    assert_eq!(
        host_port(b"255,255,255,255,255,255"),
        Some((Ipv4Addr::new(255, 255, 255, 255), 65535))
    );
    assert_eq!(host_port(b"1,2,3,4,5,6000"), None);
}

/// A 227 reply that is one long run of digits and commas: every number in it is a place the
/// address could start, and each is looked at only as far as an address can reach (the
/// whole rest of the line, before), so the line costs its length, not its length squared.
/// The real address after the run is still found.
#[test]
fn pasv_reply_with_a_long_run_of_numbers() {
    let mut text = b"Entering Passive Mode ".to_vec();
    for _ in 0..800 {
        text.extend_from_slice(b"9999,");
    }
    text.extend_from_slice(b" (192,0,2,1,19,137)");
    assert_eq!(pasv_reply(&text), Some((Ipv4Addr::new(192, 0, 2, 1), 5001)));
}

#[test]
fn zero_address_pasv_uses_the_server() {
    let mut h = Harness::tcp(parser());
    h.feed(Dir::ToClient, GREETING);
    h.feed(Dir::ToServer, b"PASV\r\n");
    h.feed(
        Dir::ToClient,
        b"227 Entering Passive Mode (0,0,0,0,19,137).\r\n",
    );
    assert_eq!(
        h.expectations[0].addr,
        "10.0.0.2".parse::<IpAddr>().unwrap()
    );
    assert_eq!(h.expectations[0].port, 19 * 256 + 137);
}

#[test]
fn probes() {
    let p = |d, data: &[u8], port| probe(&probe_input(d, data, Transport::Tcp, port));
    assert_eq!(p(Dir::ToClient, GREETING, 21), Probe::Match);
    assert_eq!(
        p(Dir::ToClient, b"220 ProFTPD Server (Debian)\r\n", 2121),
        Probe::Match
    );
    assert_eq!(p(Dir::ToClient, b"220-Welcome\r\n", 21), Probe::Match);
    assert_eq!(p(Dir::ToClient, b"220-Welcome\r\n", 2121), Probe::NoMatch);
    assert_eq!(
        p(Dir::ToClient, b"220 mx ESMTP Postfix\r\n", 21),
        Probe::NoMatch
    );
    assert_eq!(p(Dir::ToClient, b"220 (vsFTPd", 21), Probe::NeedMore);
    assert_eq!(p(Dir::ToClient, b"2", 21), Probe::NeedMore);
    assert_eq!(p(Dir::ToServer, b"USER anonymous\r\n", 2121), Probe::Match);
    assert_eq!(p(Dir::ToServer, b"auth tls\r\n", 2121), Probe::Match);
    assert_eq!(p(Dir::ToServer, b"US", 21), Probe::NeedMore);
    assert_eq!(p(Dir::ToServer, b"GET / HTTP/1.1\r\n", 21), Probe::NoMatch);
    assert_eq!(p(Dir::ToServer, b"EHLO mx\r\n", 21), Probe::NoMatch);
    assert_eq!(
        p(
            Dir::ToServer,
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
            21
        ),
        Probe::NoMatch
    );
    assert_eq!(
        p(Dir::ToClient, b"SSH-2.0-OpenSSH_9.6\r\n", 21),
        Probe::NoMatch
    );
}

#[test]
fn hostile_input() {
    let tls = vec![
        (Dir::ToClient, GREETING.to_vec()),
        (Dir::ToServer, b"AUTH TLS\r\n".to_vec()),
        (Dir::ToClient, b"234 go\r\n".to_vec()),
    ];
    hostile(parser, probe, true, &[session(), tls], 3000);
}
