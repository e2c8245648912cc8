use serde_json::json;

use super::*;
use crate::testing::{hostile, probe_input, Harness};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// NTPv4 client packet from nDPI's NTPv4.pcap: stratum 2, reference 131.188.3.223.
fn client() -> Vec<u8> {
    hex("230207eb 00000450 000003ab 83bc03df
         d94f51c33165b860 d944575530336fd0 d944575531b4e978 d94f51f42d26e2f4")
}

/// A stratum-1 server's answer to it, its clock disciplined by GPS.
fn server() -> Vec<u8> {
    hex("240100e3 00000000 00000010 47505300
         d94f51f000000000 d94f51f42d26e2f4 d94f51f439000000 d94f51f43a000000")
}

#[test]
fn client_and_server_packets() {
    let mut h = Harness::udp(Box::<Ntp>::default());
    h.feed(Dir::ToServer, &client());
    h.feed(Dir::ToClient, &server());
    h.finish();
    let ev = h.events();
    assert_eq!(ev.len(), 2);
    assert_eq!(ev[0]["event_type"], "ntp");
    assert_eq!(ev[0]["to_server"], true);
    assert_eq!(ev[0]["tx_id"], 0);
    assert_eq!(
        ev[0]["ntp"],
        json!({"version": 4, "mode": "client", "stratum": 2, "reference_id": "131.188.3.223",
               "transmit_ts": "2015-07-14T09:16:36.176374+0000"})
    );
    assert_eq!(ev[1]["to_server"], false);
    assert_eq!(ev[1]["tx_id"], 1);
    assert_eq!(ev[1]["ntp"]["mode"], "server");
    assert_eq!(ev[1]["ntp"]["stratum"], 1);
    assert_eq!(ev[1]["ntp"]["reference_id"], "GPS");
}

#[test]
fn control_and_private_modes() {
    // ntpq "readvar" (version 2, mode 6, opcode 2) and ntpdc "monlist" (mode 7, request 42).
    let readvar = hex("16020001 00000000 00000000");
    let monlist = hex("1700032a 00000000");
    let mut h = Harness::udp(Box::<Ntp>::default());
    h.feed(Dir::ToServer, &readvar);
    h.feed(Dir::ToServer, &monlist);
    let ev = h.events();
    assert_eq!(ev[0]["ntp"], json!({"version": 2, "mode": "control"}));
    assert_eq!(ev[1]["ntp"], json!({"version": 2, "mode": "private"}));
    let p = |d: &[u8]| probe(&probe_input(Dir::ToServer, d, Transport::Udp, 123));
    assert_eq!(p(&readvar), Probe::Match);
    assert_eq!(p(&monlist), Probe::Match);
}

#[test]
fn timestamps_past_2036_are_in_era_one() {
    // Era 1 second 0 is 2036-02-07T06:28:16Z.
    assert_eq!(ntp_time(1 << 32), "2036-02-07T06:28:17.000000+0000");
    assert_eq!(
        ntp_time(UNIX_EPOCH << 32),
        "1970-01-01T00:00:00.000000+0000"
    );
}

#[test]
fn probe_recognises_ntp_only() {
    let p = |d: &[u8]| probe(&probe_input(Dir::ToServer, d, Transport::Udp, 123));
    assert_eq!(p(&client()), Probe::Match);
    assert_eq!(p(&server()), Probe::Match);
    assert_eq!(p(&client()[..47]), Probe::NoMatch);
    assert_eq!(p(&[]), Probe::NoMatch);
    // Version 0, mode 0, stratum above 16.
    assert_eq!(p(&[0x03; 48]), Probe::NoMatch);
    assert_eq!(p(&[0x20; 48]), Probe::NoMatch);
    let mut bad = client();
    bad[1] = 17;
    assert_eq!(p(&bad), Probe::NoMatch);
    assert_eq!(
        p(b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\nxxxxxxxxxxxxx"),
        Probe::NoMatch
    );
    // A TLS ClientHello starts like an ntpq packet (0x16: version 2, mode 6), but the count
    // it would announce is not there.
    let mut hello = hex("16030100c4010000c00303");
    hello.extend_from_slice(&[0x5b; 60]);
    assert_eq!(p(&hello), Probe::NoMatch);
    // A DNS query.
    let dns = hex("1a2b01000001000000000000037777770765786d706c6503636f6d0000010001");
    assert_eq!(p(&dns), Probe::NoMatch);
}

#[test]
fn hostile_input() {
    let flows = vec![
        vec![(Dir::ToServer, client()), (Dir::ToClient, server())],
        vec![(Dir::ToServer, hex("16020001 00000000 00000000"))],
    ];
    hostile(|| Box::<Ntp>::default(), probe, false, &flows, 3000);
}
