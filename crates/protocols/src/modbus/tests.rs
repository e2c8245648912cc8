//! Modbus/TCP tests on the request / response examples of the Modbus Application Protocol
//! specification v1.1b3 (§6), each behind an MBAP header as a client and server send them.

use super::*;
use crate::testing::{hostile, probe_input, Harness};

/// Read Holding Registers 108–110 of unit 0x11 (§6.3).
const READ_REQ: &[u8] = b"\x00\x01\x00\x00\x00\x06\x11\x03\x00\x6b\x00\x03";
/// Its response: three registers.
const READ_RSP: &[u8] = b"\x00\x01\x00\x00\x00\x09\x11\x03\x06\x02\x2b\x00\x00\x00\x64";
/// Write Single Coil 173 ON (§6.5), echoed back.
const COIL_REQ: &[u8] = b"\x00\x02\x00\x00\x00\x06\x11\x05\x00\xac\xff\x00";
const COIL_RSP: &[u8] = b"\x00\x02\x00\x00\x00\x06\x11\x05\x00\xac\xff\x00";
/// Read Input Register 9 (§6.4), refused: exception 02, illegal data address (§7).
const INPUT_REQ: &[u8] = b"\x00\x03\x00\x00\x00\x06\x11\x04\x00\x08\x00\x01";
const INPUT_EXC: &[u8] = b"\x00\x03\x00\x00\x00\x03\x11\x84\x02";
/// Write Multiple Registers 2–3 (§6.12) and its response.
const WRITE_REQ: &[u8] = b"\x00\x04\x00\x00\x00\x0b\x11\x10\x00\x01\x00\x02\x04\x00\x0a\x01\x02";
const WRITE_RSP: &[u8] = b"\x00\x04\x00\x00\x00\x06\x11\x10\x00\x01\x00\x02";

fn parser() -> Box<dyn Parser> {
    Box::<ModbusParser>::default()
}

fn session() -> Vec<(Dir, Vec<u8>)> {
    use Dir::{ToClient as C, ToServer as S};
    [
        (S, READ_REQ),
        (C, READ_RSP),
        (S, COIL_REQ),
        (C, COIL_RSP),
        (S, INPUT_REQ),
        (C, INPUT_EXC),
        (S, WRITE_REQ),
        (C, WRITE_RSP),
    ]
    .iter()
    .map(|&(d, m)| (d, m.to_vec()))
    .collect()
}

#[test]
fn requests_and_responses() {
    let mut h = Harness::tcp(parser());
    for (d, m) in session() {
        h.feed(d, &m);
    }
    h.finish();
    let ev = h.events();
    assert_eq!(ev.len(), 4, "{ev:?}");
    let m: Vec<_> = ev.iter().map(|e| &e["modbus"]).collect();
    assert_eq!(m[0]["transaction_id"], 1);
    assert_eq!(m[0]["unit_id"], 0x11);
    assert_eq!(m[0]["function_code"], 3);
    assert_eq!(m[0]["function"], "read_holding_registers");
    assert_eq!(m[0]["address"], 0x6b);
    assert_eq!(m[0]["quantity"], 3);
    assert!(m[0].get("exception").is_none());

    assert_eq!(m[1]["function"], "write_single_coil");
    assert_eq!(m[1]["address"], 0xac);
    assert_eq!(m[1]["value"], 0xff00);

    assert_eq!(m[2]["function"], "read_input_registers");
    assert_eq!(m[2]["function_code"], 4);
    assert_eq!(m[2]["exception"], "illegal_data_address");
    assert_eq!(m[2]["exception_code"], 2);

    assert_eq!(m[3]["function"], "write_multiple_registers");
    assert_eq!(m[3]["quantity"], 2);
    assert!(ev.iter().all(|e| e["event_type"] == "modbus"));
}

#[test]
fn pipelined_and_split() {
    let mut h = Harness::tcp(parser());
    let mut reqs = READ_REQ.to_vec();
    reqs.extend_from_slice(WRITE_REQ);
    for b in &reqs {
        h.feed(Dir::ToServer, &[*b]);
    }
    // Answered out of order.
    h.feed(Dir::ToClient, WRITE_RSP);
    h.feed(Dir::ToClient, READ_RSP);
    let ev = h.events();
    assert_eq!(ev.len(), 2);
    assert_eq!(ev[0]["modbus"]["transaction_id"], 4);
    assert_eq!(ev[1]["modbus"]["transaction_id"], 1);
}

#[test]
fn unanswered_and_garbage() {
    let mut h = Harness::tcp(parser());
    h.feed(Dir::ToServer, READ_REQ);
    h.feed(Dir::ToServer, b"\x00\x05\x00\x07garbage");
    h.feed(Dir::ToServer, COIL_REQ);
    h.finish();
    let ev = h.events();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["modbus"]["function"], "read_holding_registers");
}

#[test]
fn port_gated() {
    let p = protocol();
    assert!(p.info.port_gated);
    assert_eq!(p.info.ports, vec![crate::PortRange::one(502)]);
}

#[test]
fn probes() {
    let p = |d, data: &[u8]| probe(&probe_input(d, data, Transport::Tcp, 502));
    assert_eq!(p(Dir::ToServer, READ_REQ), Probe::Match);
    assert_eq!(p(Dir::ToClient, INPUT_EXC), Probe::Match);
    assert_eq!(p(Dir::ToServer, &READ_REQ[..7]), Probe::NeedMore);
    assert_eq!(p(Dir::ToServer, &READ_REQ[..10]), Probe::NeedMore);
    assert_eq!(p(Dir::ToServer, &[0, 1]), Probe::NeedMore);
    // Unknown function code.
    assert_eq!(
        p(
            Dir::ToServer,
            b"\x00\x01\x00\x00\x00\x06\x11\x63\x00\x6b\x00\x03"
        ),
        Probe::NoMatch
    );
    // Length past the maximum.
    assert_eq!(
        p(Dir::ToServer, b"\x00\x01\x00\x00\x01\x06\x11\x03"),
        Probe::NoMatch
    );
    assert_eq!(p(Dir::ToServer, b"GET / HTTP/1.1\r\n"), Probe::NoMatch);
    assert_eq!(
        p(
            Dir::ToServer,
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"
        ),
        Probe::NoMatch
    );
}

#[test]
fn hostile_input() {
    hostile(parser, probe, true, &[session()], 3000);
}
