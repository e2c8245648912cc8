use serde_json::{json, Value};

use super::*;
use crate::testing::{hostile, probe_input, Harness};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// `snmpget -v2c -c public host sysDescr.0`.
fn get_request() -> Vec<u8> {
    hex("3029 020101 04067075626c6963
         a01c 0204 1b3c4d5e 020100 020100
         300e 300c 0608 2b06010201010100 0500")
}

/// The agent's answer: sysDescr.0 = "Linux router 5.10".
fn get_response() -> Vec<u8> {
    hex("303a 020101 04067075626c6963
         a22d 0204 1b3c4d5e 020100 020100
         301f 301d 0608 2b06010201010100 0411 4c696e757820726f7574657220352e3130")
}

// Captures shipped with snmp-parser (assets/).
const V1_TRAP_COLDSTART: &str = "303802010004067075626c6963a42b06092b060104010401021540047f000001020100020100430100300f300d06082b06010201020100020121";
const V3_REQ: &str = "304b0201033011020430f6f3d4020300ffe30401040201030410300e04000201000201000400040004003021040d80001f888059dc486145a263220400a00e02047d0e082e0201000201003000";
const V3_ENCRYPTED: &str = "3081b10201033011020430f6f3d5020300ffe304010702010304373035040d80001f888059dc486145a2632202010802020ab90405706970706f040c19395e67894fda182414849f04080000000103d5321a0460826ecf6443956d4c364bfc6f6ffc8ee0df000ffd0955af12d2c0f3c60fadea417d2bb80c0b2c1fa7a46ce44f9f16e15ee830a49881f60ecfa757d2f04000eb39a94058121d88ca20eeef4e6bf06784c67c15f144915d9bc2c6a0461da92a4abe";

fn events(msgs: &[(Dir, Vec<u8>)]) -> Vec<Value> {
    let mut h = Harness::udp(Box::<Snmp>::default());
    for (d, m) in msgs {
        h.feed(*d, m);
    }
    h.finish();
    h.events()
}

#[test]
fn v2c_get_request_and_response() {
    let ev = events(&[
        (Dir::ToServer, get_request()),
        (Dir::ToClient, get_response()),
    ]);
    assert_eq!(ev.len(), 2);
    assert_eq!(ev[0]["event_type"], "snmp");
    assert_eq!(ev[0]["to_server"], true);
    assert_eq!(ev[0]["tx_id"], 0);
    assert_eq!(
        ev[0]["snmp"],
        json!({"version": 2, "pdu_type": "get_request", "vars": ["1.3.6.1.2.1.1.1.0"],
               "community": "public"})
    );
    assert_eq!(ev[1]["to_server"], false);
    assert_eq!(ev[1]["tx_id"], 1);
    assert_eq!(ev[1]["snmp"]["pdu_type"], "response");
    assert_eq!(ev[1]["snmp"]["vars"], json!(["1.3.6.1.2.1.1.1.0"]));
}

#[test]
fn v1_trap() {
    let ev = events(&[(Dir::ToServer, hex(V1_TRAP_COLDSTART))]);
    assert_eq!(
        ev[0]["snmp"],
        json!({"version": 1, "pdu_type": "trap_v1", "trap_type": "coldStart",
               "trap_oid": "1.3.6.1.4.1.4.1.2.21", "trap_address": "127.0.0.1",
               "vars": ["1.3.6.1.2.1.2.1.0"], "community": "public"})
    );
}

#[test]
fn v3_plaintext_and_encrypted() {
    let ev = events(&[
        (Dir::ToServer, hex(V3_REQ)),
        (Dir::ToServer, hex(V3_ENCRYPTED)),
    ]);
    assert_eq!(ev.len(), 2);
    assert_eq!(ev[0]["snmp"]["version"], 3);
    assert_eq!(ev[0]["snmp"]["pdu_type"], "get_request");
    assert_eq!(ev[0]["snmp"]["usm"], "");
    assert!(ev[0]["snmp"].get("community").is_none());
    assert_eq!(
        ev[1]["snmp"],
        json!({"version": 3, "pdu_type": "encrypted", "usm": "pippo"})
    );
}

#[test]
fn error_status_is_logged() {
    let mut r = get_response();
    // error-status noSuchName(2), error-index 1.
    r[23] = 2;
    r[26] = 1;
    let ev = events(&[(Dir::ToClient, r)]);
    assert_eq!(ev[0]["snmp"]["error"], "NoSuchName");
}

#[test]
fn probe_recognises_snmp_only() {
    let p = |d: &[u8]| probe(&probe_input(Dir::ToServer, d, Transport::Udp, 161));
    assert_eq!(p(&get_request()), Probe::Match);
    assert_eq!(p(&get_response()), Probe::Match);
    assert_eq!(p(&hex(V1_TRAP_COLDSTART)), Probe::Match);
    assert_eq!(p(&hex(V3_REQ)), Probe::Match);
    assert_eq!(p(&hex(V3_ENCRYPTED)), Probe::Match);
    assert_eq!(p(&get_request()[..4]), Probe::NoMatch);
    // Version 2 does not exist; trailing bytes past the message are not SNMP.
    let mut bad = get_request();
    bad[4] = 2;
    assert_eq!(p(&bad), Probe::NoMatch);
    let mut long = get_request();
    long.push(0);
    assert_eq!(p(&long), Probe::NoMatch);
    assert_eq!(
        p(b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"),
        Probe::NoMatch
    );
    assert_eq!(p(&hex("16030100c4010000c00303")), Probe::NoMatch);
    assert_eq!(p(&hex("1a2b01000001000000000000")), Probe::NoMatch);
    assert_eq!(p(&[0x30; 40]), Probe::NoMatch);
}

#[test]
fn hostile_input() {
    let flows = vec![
        vec![
            (Dir::ToServer, get_request()),
            (Dir::ToClient, get_response()),
        ],
        vec![(Dir::ToServer, hex(V1_TRAP_COLDSTART))],
        vec![
            (Dir::ToServer, hex(V3_REQ)),
            (Dir::ToServer, hex(V3_ENCRYPTED)),
        ],
    ];
    hostile(|| Box::<Snmp>::default(), probe, false, &flows, 3000);
}

/// PDU types are named as Suricata names them, an unassigned tag too.
#[test]
fn pdu_type_names_follow_suricata() {
    assert_eq!(pdu_type_name(PduType::GetBulkRequest), "get_bulk_request");
    assert_eq!(pdu_type_name(PduType::TrapV2), "trap_v2");
    assert_eq!(pdu_type_name(PduType(0xa9)), "Unknown(0xa9)");
}
