use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::{json, Value};

use super::{load_dir, load_file, CustomProtocol, DefinitionError, MAX_MESSAGES};
use crate::parser::{Dir, Parser, Probe, ProbeInput, Transport};
use crate::registry::{PortRange, Protocol};
use crate::testing::{hostile, probe_input, Harness};

/// The built-in names a definition may not take (Suricata's).
const BUILTINS: &[&str] = &[
    "http", "dns", "tls", "ssh", "dhcp", "smtp", "ftp", "ftp-data", "ntp", "snmp", "quic", "smb",
    "mqtt", "modbus", "sip",
];

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/protocols")
}

fn example(name: &str) -> CustomProtocol {
    let path = examples().join(name);
    load_file(&path, BUILTINS).unwrap_or_else(|e| panic!("{e}"))
}

fn define(text: &str) -> CustomProtocol {
    CustomProtocol::from_text(Path::new("test.toml"), text, BUILTINS)
        .unwrap_or_else(|e| panic!("{e}"))
}

fn error(text: &str) -> String {
    match CustomProtocol::from_text(Path::new("test.toml"), text, BUILTINS) {
        Ok(p) => panic!("accepted: {}", p.info.name),
        Err(e) => e.to_string(),
    }
}

/// The TCP payloads of a capture made by `examples/protocols/make_pcaps.py`: one connection,
/// its direction told by the SYN.
fn pcap_payloads(path: &Path) -> Vec<(Dir, Vec<u8>)> {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(&data[..4], &[0xd4, 0xc3, 0xb2, 0xa1], "little-endian pcap");
    let mut at = 24;
    let mut server_port = None;
    let mut out = Vec::new();
    while at + 16 <= data.len() {
        let len = u32::from_le_bytes(data[at + 8..at + 12].try_into().unwrap()) as usize;
        let frame = &data[at + 16..at + 16 + len];
        at += 16 + len;
        assert_eq!(&frame[12..14], &[0x08, 0x00], "IPv4");
        let ip = &frame[14..];
        let ihl = usize::from(ip[0] & 15) * 4;
        let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
        assert_eq!(ip[9], 6, "TCP");
        let tcp = &ip[ihl..total];
        let dport = u16::from_be_bytes([tcp[2], tcp[3]]);
        if tcp[13] & 0x12 == 0x02 {
            server_port = Some(dport);
        }
        let payload = &tcp[usize::from(tcp[12] >> 4) * 4..];
        if !payload.is_empty() {
            let dir = Dir::from_to_server(Some(dport) == server_port);
            out.push((dir, payload.to_vec()));
        }
    }
    out
}

/// Runs `messages` through a fresh parser (byte by byte when `bytewise`) and returns the
/// `custom` objects with `to_server` and `tx_id` added.
fn run(p: &CustomProtocol, messages: &[(Dir, Vec<u8>)], bytewise: bool) -> Vec<Value> {
    let mut h = Harness::tcp(p.parser());
    for (d, m) in messages {
        if bytewise {
            for b in m {
                h.feed(*d, std::slice::from_ref(b));
            }
        } else {
            h.feed(*d, m);
        }
    }
    h.finish();
    h.events()
        .into_iter()
        .map(|e| {
            assert_eq!(e["event_type"], "custom");
            let mut c = e["custom"].clone();
            c["to_server"] = e["to_server"].clone();
            c["tx_id"] = e["tx_id"].clone();
            c
        })
        .collect()
}

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn tcp(dir: Dir, data: &[u8], port: u16) -> ProbeInput<'_> {
    probe_input(dir, data, Transport::Tcp, port)
}

const TLS_CLIENT_HELLO: &[u8] = &[
    0x16, 0x03, 0x01, 0x00, 0x2f, 0x01, 0x00, 0x00, 0x2b, 0x03, 0x03, 0x5a, 0x5b, 0x5c, 0x5d,
];
const HTTP_GET: &[u8] = b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n";

// ---------------------------------------------------------------------------------------------
// Modbus/TCP example.

#[test]
fn modbus_example_info() {
    let p = example("modbus.toml");
    let i = p.info();
    assert_eq!(i.name, "modbus_tcp");
    assert_eq!(i.description, "Modbus/TCP (user-defined example)");
    assert_eq!(i.event_type, Some("custom"));
    assert_eq!(i.transports, vec![Transport::Tcp]);
    assert_eq!(i.ports, vec![PortRange::one(502)]);
    assert!(i.first, "probed before the built-in modbus");
    assert!(!i.port_gated, "a signature: ports are only a hint");
    assert!(
        i.source.ends_with("examples/protocols/modbus.toml"),
        "{}",
        i.source
    );
}

#[test]
fn modbus_example_decodes_its_capture() {
    let p = example("modbus.toml");
    let msgs = pcap_payloads(&examples().join("modbus.pcap"));
    assert_eq!(msgs.len(), 10);
    let ev = run(&p, &msgs, false);
    assert_eq!(ev.len(), 10);

    // Read holding registers: request and response.
    assert_eq!(
        ev[0],
        json!({"protocol": "modbus_tcp", "transaction_id": 1, "protocol_id": 0, "length": 6,
               "unit_id": 1, "function": "read_holding_registers", "function_code": 3,
               "is_exception": 0, "start_address": 107, "quantity": 3,
               "to_server": true, "tx_id": 0})
    );
    assert_eq!(
        ev[1],
        json!({"protocol": "modbus_tcp", "transaction_id": 1, "protocol_id": 0, "length": 9,
               "unit_id": 1, "function": "read_holding_registers", "function_code": 3,
               "is_exception": 0, "byte_count": 6,
               "registers": [{"value": 555}, {"value": 0}, {"value": 100}],
               "to_server": false, "tx_id": 1})
    );
    // Write single register, both ways.
    for e in &ev[2..4] {
        assert_eq!(e["function"], "write_single_register");
        assert_eq!(e["address"], 1);
        assert_eq!(e["value"], 3);
        assert!(e.get("start_address").is_none());
    }
    // Write multiple registers: the count comes from `quantity`.
    assert_eq!(ev[4]["function"], "write_multiple_registers");
    assert_eq!(ev[4]["start_address"], 1);
    assert_eq!(ev[4]["quantity"], 2);
    assert_eq!(ev[4]["byte_count"], 4);
    assert_eq!(ev[4]["registers"], json!([{"value": 10}, {"value": 258}]));
    assert_eq!(ev[5]["start_address"], 1);
    assert_eq!(ev[5]["quantity"], 2);
    assert!(ev[5].get("registers").is_none());
    // Read coils: packed bits as hex, their length from `byte_count`.
    assert_eq!(ev[6]["function"], "read_coils");
    assert_eq!(ev[6]["quantity"], 19);
    assert_eq!(ev[7]["byte_count"], 3);
    assert_eq!(ev[7]["data"], "cd6b05");
    // Exception: 0x83 has no name; the bit field and the exception code tell.
    assert_eq!(
        ev[9],
        json!({"protocol": "modbus_tcp", "transaction_id": 5, "protocol_id": 0, "length": 3,
               "unit_id": 1, "function": "131", "function_code": 131, "is_exception": 1,
               "exception": "illegal_data_address", "exception_code": 2,
               "to_server": false, "tx_id": 9})
    );
    assert!(ev.iter().all(|e| e.get("truncated").is_none()));
}

#[test]
fn modbus_framing_does_not_depend_on_segments() {
    let p = example("modbus.toml");
    let msgs = pcap_payloads(&examples().join("modbus.pcap"));
    let whole = run(&p, &msgs, false);
    assert_eq!(run(&p, &msgs, true), whole);
    // All requests in one segment, then all responses in one.
    let mut joined: Vec<(Dir, Vec<u8>)> =
        vec![(Dir::ToServer, Vec::new()), (Dir::ToClient, Vec::new())];
    for (d, m) in &msgs {
        joined[d.index()].1.extend_from_slice(m);
    }
    let ev = run(&p, &joined, false);
    assert_eq!(ev.len(), 10);
    assert_eq!(ev[0]["transaction_id"], 1);
    assert_eq!(ev[4]["transaction_id"], 5);
    assert_eq!(ev[5]["registers"], whole[1]["registers"]);
}

#[test]
fn modbus_message_shorter_than_its_fields_is_truncated() {
    let p = example("modbus.toml");
    // Read holding registers whose MBAP length leaves one byte of the start address.
    let ev = run(
        &p,
        &[(Dir::ToServer, hex("0007 0000 0003 01 03 00"))],
        false,
    );
    assert_eq!(
        ev[0],
        json!({"protocol": "modbus_tcp", "transaction_id": 7, "protocol_id": 0, "length": 3,
               "unit_id": 1, "function": "read_holding_registers", "function_code": 3,
               "is_exception": 0, "truncated": true, "to_server": true, "tx_id": 0})
    );
}

#[test]
fn modbus_impossible_length_stops_the_flow() {
    let p = example("modbus.toml");
    let mut h = Harness::tcp(p.parser());
    h.feed(Dir::ToServer, &hex("0001 0000 0006 01 03 006b 0003"));
    // 0xffff + 6 is over max_message (260): nothing after it is parsed.
    h.feed(Dir::ToServer, &hex("0002 0000 ffff 01 03 006b 0003"));
    h.feed(Dir::ToServer, &hex("0003 0000 0006 01 03 006b 0003"));
    h.feed(
        Dir::ToClient,
        &hex("0001 0000 0009 01 03 06 022b 0000 0064"),
    );
    h.finish();
    assert_eq!(h.events().len(), 1);
    // A length-framed stream cannot resynchronise after a gap.
    let mut h = Harness::tcp(p.parser());
    assert!(!h.gap(Dir::ToServer, 10));
}

#[test]
fn modbus_probe() {
    let p = example("modbus.toml");
    let req = hex("0001 0000 0006 01 03 006b 0003");
    assert_eq!(p.probe(&tcp(Dir::ToServer, &req, 502)), Probe::Match);
    // On another port too: ports are a hint.
    assert_eq!(p.probe(&tcp(Dir::ToServer, &req, 8502)), Probe::Match);
    assert_eq!(p.probe(&tcp(Dir::ToClient, &req, 502)), Probe::Match);
    assert_eq!(
        p.probe(&tcp(Dir::ToServer, &req[..3], 502)),
        Probe::NeedMore
    );
    assert_eq!(
        p.probe(&tcp(Dir::ToServer, &req[..7], 502)),
        Probe::NeedMore
    );
    assert_eq!(p.probe(&tcp(Dir::ToServer, HTTP_GET, 502)), Probe::NoMatch);
    assert_eq!(
        p.probe(&tcp(Dir::ToServer, TLS_CLIENT_HELLO, 502)),
        Probe::NoMatch
    );
    assert_eq!(
        p.probe(&tcp(Dir::ToServer, &hex("9c3e 77a1 0402 18ff 0000"), 502)),
        Probe::NoMatch
    );
    // The signature holds but the length is impossible.
    assert_eq!(
        p.probe(&tcp(Dir::ToServer, &hex("0001 0000 ffff 01 03 006b"), 502)),
        Probe::NoMatch
    );
    assert_eq!(
        p.probe(&probe_input(Dir::ToServer, &req, Transport::Udp, 502)),
        Probe::NoMatch
    );
}

// ---------------------------------------------------------------------------------------------
// memcached text example.

#[test]
fn memcached_example_decodes_its_capture() {
    let p = example("memcached.toml");
    assert_eq!(p.info().name, "memcached_text");
    assert_eq!(p.info().ports, vec![PortRange::one(11211)]);
    assert!(!p.info().port_gated);
    let msgs = pcap_payloads(&examples().join("memcached.pcap"));
    assert_eq!(msgs.len(), 7);
    let ev = run(&p, &msgs, false);
    let lines: Vec<Value> = ev
        .iter()
        .map(|e| {
            let mut e = e.clone();
            e.as_object_mut().unwrap().remove("protocol");
            e
        })
        .collect();
    assert_eq!(
        lines,
        vec![
            json!({"command": "set", "arguments": "greeting 0 900 5", "to_server": true, "tx_id": 0}),
            // The data block is a line of its own.
            json!({"command": "hello", "arguments": "", "to_server": true, "tx_id": 1}),
            json!({"reply": "STORED", "arguments": "", "to_server": false, "tx_id": 2}),
            json!({"command": "get", "arguments": "greeting", "to_server": true, "tx_id": 3}),
            json!({"reply": "VALUE", "arguments": "greeting 0 5", "to_server": false, "tx_id": 4}),
            json!({"reply": "hello", "arguments": "", "to_server": false, "tx_id": 5}),
            json!({"reply": "END", "arguments": "", "to_server": false, "tx_id": 6}),
            json!({"command": "version", "arguments": "", "to_server": true, "tx_id": 7}),
            json!({"reply": "VERSION", "arguments": "1.6.21", "to_server": false, "tx_id": 8}),
            json!({"command": "quit", "arguments": "", "to_server": true, "tx_id": 9}),
        ]
    );
    assert!(ev.iter().all(|e| e["protocol"] == "memcached_text"));
    assert_eq!(run(&p, &msgs, true), ev, "a delimiter cut across segments");
}

#[test]
fn memcached_probe() {
    let p = example("memcached.toml");
    assert_eq!(
        p.probe(&tcp(Dir::ToServer, b"get greeting\r\n", 11211)),
        Probe::Match
    );
    assert_eq!(
        p.probe(&tcp(Dir::ToServer, b"version\r\n", 11211)),
        Probe::Match
    );
    assert_eq!(p.probe(&tcp(Dir::ToServer, b"mn\r\n", 11211)), Probe::Match);
    assert_eq!(p.probe(&tcp(Dir::ToServer, b"ge", 11211)), Probe::NeedMore);
    assert_eq!(p.probe(&tcp(Dir::ToServer, b"get", 11211)), Probe::NeedMore);
    // Replies are not what identifies it: the client speaks first.
    assert_eq!(
        p.probe(&tcp(Dir::ToClient, b"STORED\r\n", 11211)),
        Probe::NoMatch
    );
    assert_eq!(
        p.probe(&tcp(Dir::ToClient, b"get greeting\r\n", 11211)),
        Probe::NoMatch
    );
    assert_eq!(
        p.probe(&tcp(Dir::ToServer, HTTP_GET, 11211)),
        Probe::NoMatch
    );
    assert_eq!(
        p.probe(&tcp(Dir::ToServer, TLS_CLIENT_HELLO, 11211)),
        Probe::NoMatch
    );
    assert_eq!(
        p.probe(&tcp(Dir::ToServer, b"getaway\r\n", 11211)),
        Probe::NoMatch
    );
}

#[test]
fn delimiter_framing_resynchronises_after_a_gap() {
    let p = example("memcached.toml");
    let mut h = Harness::tcp(p.parser());
    h.feed(Dir::ToServer, b"get a\r\nget b");
    assert!(h.gap(Dir::ToServer, 100));
    h.feed(Dir::ToServer, b"x\r\nget c\r\n");
    h.finish();
    let args: Vec<Value> = h
        .events()
        .iter()
        .map(|e| e["custom"]["arguments"].clone())
        .collect();
    assert_eq!(args, vec![json!("a"), json!("c")]);
}

#[test]
fn a_line_longer_than_max_message_stops_the_flow() {
    let p = define(
        r#"[protocol]
name = "short_lines"
transport = "tcp"
ports = [7000]
[framing]
kind = "delimiter"
delimiter = "\n"
max_message = 16
[[field]]
name = "line"
type = "string"
rest = true
"#,
    );
    let mut h = Harness::tcp(p.parser());
    h.feed(Dir::ToServer, b"0123456789abcdef\n");
    h.feed(Dir::ToServer, b"0123456789abcdefX");
    h.feed(Dir::ToServer, b"\nok\n");
    h.finish();
    let ev = h.events();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["custom"]["line"], "0123456789abcdef");
    assert!(
        p.info().port_gated,
        "ports and no signature: ports identify it"
    );
}

// ---------------------------------------------------------------------------------------------
// Every field type, on one definition.

const KITCHEN: &str = r#"[protocol]
name = "kitchen"
description = "every field type"
transport = "tcp"
ports = [7000, "7001-7002"]
priority = "high"
endian = "little"

[match]
offset = 1
bytes = "02"

[framing]
kind = "length"
length_size = 1
length_adjust = 1
max_message = 255

[[field]]
name = "len"
type = "u8"
[[field]]
name = "kind"
type = "u8"
values = { 1 = "one", 0x02 = "two" }
bits = { high = 0xf0, low = "0x0f" }
[[field]]
name = "n16"
type = "u16"
[[field]]
name = "b16"
type = "u16"
endian = "big"
[[field]]
name = "s8"
type = "i8"
[[field]]
name = "s32"
type = "i32"
[[field]]
name = "u32"
type = "u32"
[[field]]
name = "big"
type = "u64"
endian = "big"
[[field]]
name = "neg"
type = "i64"
[[field]]
name = "name_len"
type = "u8"
[[field]]
name = "name"
type = "string"
length_from = "name_len"
[[field]]
name = "word"
type = "string"
delimiter = ";"
[[field]]
name = "pad"
type = "skip"
length = 1
[[field]]
name = "tag"
type = "bytes"
length = 2
[[field]]
name = "items"
type = "group"
count = 2
fields = [
  { name = "id", type = "u8" },
  { name = "sub", type = "group", count_from = "id", fields = [{ name = "x", type = "u8" }] },
]
[[field]]
name = "tail"
type = "bytes"
rest = true
"#;

fn kitchen_message() -> Vec<u8> {
    let mut body = hex("02                      # kind
         3412 1234               # n16 (little), b16 (big)
         ff feffffff 01000000    # s8, s32, u32
         0000000000000100        # big
         ffffffffffffffff        # neg
         03"
    .lines()
    .map(|l| l.split('#').next().unwrap())
    .collect::<String>()
    .as_str());
    body.extend_from_slice(b"abchi;");
    body.push(0); // pad
    body.extend_from_slice(&[0xbe, 0xef]);
    body.extend_from_slice(&[1, 7, 0]); // items: {id 1, sub [x 7]}, {id 0, sub []}
    body.extend_from_slice(b"zz");
    let mut m = vec![body.len() as u8];
    m.extend_from_slice(&body);
    m
}

#[test]
fn kitchen_decodes_every_type() {
    let p = define(KITCHEN);
    assert!(p.info().first, "priority = high");
    assert_eq!(
        p.info().ports,
        vec![PortRange::one(7000), PortRange { lo: 7001, hi: 7002 }]
    );
    let m = kitchen_message();
    assert_eq!(p.probe(&tcp(Dir::ToServer, &m, 9)), Probe::Match);
    let ev = run(&p, &[(Dir::ToServer, m.clone())], false);
    assert_eq!(
        ev,
        vec![json!({
            "protocol": "kitchen", "len": m.len() - 1, "kind": "two", "kind_code": 2,
            "high": 0, "low": 2, "n16": 4660, "b16": 4660, "s8": -1, "s32": -2, "u32": 1,
            "big": 256, "neg": -1, "name_len": 3, "name": "abc", "word": "hi", "tag": "beef",
            "items": [{"id": 1, "sub": [{"x": 7}]}, {"id": 0, "sub": []}], "tail": "7a7a",
            "to_server": true, "tx_id": 0
        })]
    );
    // Every truncation of the message logs a prefix of the fields, and says so.
    for cut in 1..m.len() - 1 {
        let mut short = m[..cut].to_vec();
        short[0] = (cut - 1) as u8;
        let ev = run(&p, &[(Dir::ToServer, short)], false);
        assert_eq!(ev.len(), 1, "cut at {cut}");
        let truncated = ev[0].get("truncated").is_some();
        // Only a cut inside the trailing bytes (or right before them) is still whole.
        assert_eq!(truncated, cut < m.len() - 2, "cut at {cut}: {}", ev[0]);
    }
}

#[test]
fn every_field_goes_to_detection() {
    let p = define(KITCHEN);
    let m = kitchen_message();
    let mut h = Harness::tcp(p.parser());
    h.feed(Dir::ToClient, &m);
    let len = (m.len() - 1).to_string();
    let expected: Vec<(&str, &[u8])> = vec![
        ("len", len.as_bytes()),
        ("kind", b"two"),
        ("kind_code", b"2"),
        ("high", b"0"),
        ("low", b"2"),
        ("n16", b"4660"),
        ("b16", b"4660"),
        ("s8", b"-1"),
        ("s32", b"-2"),
        ("u32", b"1"),
        ("big", b"256"),
        ("neg", b"-1"),
        ("name_len", b"3"),
        ("name", b"abc"),
        ("word", b"hi"),
        ("tag", &[0xbe, 0xef]),
        ("items.id", b"1"),
        ("items.sub.x", b"7"),
        ("items.id", b"0"),
        ("tail", b"zz"),
    ];
    let expected: Vec<(String, Vec<u8>)> = expected
        .into_iter()
        .map(|(f, v)| (format!("custom.kitchen.{f}"), v.to_vec()))
        .collect();
    assert_eq!(h.buffers(), vec![expected]);
    // In the message's direction.
    let field = |f: &str| crate::parser::Buffer::Custom {
        protocol: "kitchen".into(),
        field: f.into(),
    };
    assert_eq!(h.buffer(0, Dir::ToClient, &field("items.id")), ["1", "0"]);
    assert!(h.buffer(0, Dir::ToServer, &field("kind")).is_empty());

    // The event is the same whether detection inspects the flow or not.
    let mut quiet = Harness::tcp(p.parser()).inspecting(false);
    quiet.feed(Dir::ToClient, &m);
    assert_eq!(quiet.events(), h.events());
    assert_eq!(quiet.buffers(), vec![Vec::new()]);
}

#[test]
fn unnamed_values_bits_and_text_off_the_wire() {
    let p = define(KITCHEN);
    let mut m = kitchen_message();
    m[1] = 0x35; // kind: no name; high 3, low 5
    m[33] = b'"'; // name: "abc" → a quote, escaped in JSON,
    m[34] = 0xff; // and invalid UTF-8, replaced
    let ev = run(&p, &[(Dir::ToServer, m)], false);
    assert_eq!(ev[0]["kind"], "53");
    assert_eq!(ev[0]["kind_code"], 53);
    assert_eq!(ev[0]["high"], 3);
    assert_eq!(ev[0]["low"], 5);
    assert_eq!(ev[0]["name"], "a\"\u{fffd}");

    // Negative named values, on a signed field.
    let text = with("\n[[field]]\nname = \"t\"\ntype = \"i8\"\nvalues = { -1 = \"unset\" }\n");
    let p = define(&text.replace("size = 4", "size = 5"));
    let m = vec![0xde, 0xad, 0, 1, 0xff];
    let ev = run(&p, &[(Dir::ToServer, m)], false);
    assert_eq!(ev[0]["t"], "unset");
    assert_eq!(ev[0]["t_code"], -1);
}

#[test]
fn limits_on_groups_strings_and_messages() {
    let p = define(
        r#"[protocol]
name = "limits"
transport = "tcp"
ports = [7000]
[framing]
kind = "length"
length_size = 2
length_adjust = 2
max_message = 10000
[[field]]
name = "size"
type = "u16"
[[field]]
name = "count"
type = "u16"
[[field]]
name = "entries"
type = "group"
count_from = "count"
fields = [{ name = "b", type = "u8" }]
[[field]]
name = "after"
type = "u8"
[[field]]
name = "text"
type = "string"
rest = true
"#,
    );
    let mut body = 300u16.to_be_bytes().to_vec();
    body.extend((0..300).map(|i| i as u8));
    body.push(0xaa);
    body.extend(std::iter::repeat_n(b'x', 2000));
    let mut m = (body.len() as u16).to_be_bytes().to_vec();
    m.extend_from_slice(&body);
    let ev = run(&p, &[(Dir::ToServer, m)], false);
    let entries = ev[0]["entries"].as_array().unwrap();
    assert_eq!(entries.len(), super::MAX_GROUP_ENTRIES);
    assert_eq!(entries[255], json!({"b": 255}));
    assert_eq!(
        ev[0]["after"], 0xaa,
        "entries past the cap are still decoded"
    );
    assert_eq!(
        ev[0]["text"].as_str().unwrap().len(),
        super::MAX_LOGGED_BYTES
    );

    // Messages per flow.
    let p = define(
        r#"[protocol]
name = "tiny"
transport = "tcp"
ports = [7000]
[framing]
kind = "fixed"
size = 1
[[field]]
name = "b"
type = "u8"
"#,
    );
    let mut h = Harness::tcp(p.parser());
    h.feed(Dir::ToServer, &vec![7u8; MAX_MESSAGES as usize + 5]);
    h.feed(Dir::ToClient, &[1, 2, 3]);
    h.finish();
    let ev = h.events();
    assert_eq!(ev.len() as u64, MAX_MESSAGES);
    assert_eq!(ev.last().unwrap()["tx_id"], MAX_MESSAGES - 1);
}

#[test]
fn group_entries_do_not_see_the_previous_entry() {
    // Records of a tag, then a value only for tag 1, then bytes as long as that value: an
    // entry whose tag is not 1 has no value, and its bytes are empty (not the last value).
    let p = define(
        r#"[protocol]
name = "records"
transport = "tcp"
ports = [7000]
[framing]
kind = "length"
length_size = 1
length_adjust = 1
[[field]]
name = "size"
type = "u8"
[[field]]
name = "records"
type = "group"
until_end = true
fields = [
  { name = "tag", type = "u8" },
  { name = "len", type = "u8", when = { tag = 1 } },
  { name = "data", type = "bytes", length_from = "len" },
]
"#,
    );
    let ev = run(&p, &[(Dir::ToServer, vec![5, 1, 2, 0xab, 0xcd, 2])], false);
    assert_eq!(
        ev[0]["records"],
        json!([{"tag": 1, "len": 2, "data": "abcd"}, {"tag": 2, "data": ""}])
    );
}

#[test]
fn udp_definition_port_gated_and_first() {
    let p = define(
        r#"[protocol]
name = "beacon"
transport = "udp"
ports = ["9999"]
priority = "high"
[framing]
kind = "datagram"
max_message = 8
[[field]]
name = "seq"
type = "u32"
endian = "little"
[[field]]
name = "label"
type = "string"
length = 4
"#,
    );
    let i = p.info();
    assert!(i.first && i.port_gated);
    assert_eq!(i.transports, vec![Transport::Udp]);
    let d = [5, 0, 0, 0, b'a', b'b', b'c', b'd'];
    let udp = |data: &'static [u8]| probe_input(Dir::ToServer, data, Transport::Udp, 9999);
    assert_eq!(p.probe(&udp(&[1])), Probe::Match);
    assert_eq!(p.probe(&tcp(Dir::ToServer, &d, 9999)), Probe::NoMatch);
    let mut h = Harness::udp(p.parser());
    h.feed(Dir::ToServer, &d);
    h.feed(Dir::ToClient, &d[..6]);
    h.feed(Dir::ToServer, &[0; 9]); // over max_message: skipped
    h.feed(Dir::ToServer, &d);
    h.finish();
    let ev = h.events();
    assert_eq!(ev.len(), 3);
    assert_eq!(
        ev[0]["custom"],
        json!({"protocol": "beacon", "seq": 5, "label": "abcd"})
    );
    assert_eq!(
        ev[1]["custom"],
        json!({"protocol": "beacon", "seq": 5, "truncated": true})
    );
    assert_eq!(ev[1]["to_server"], false);
    assert_eq!(ev[2]["tx_id"], 2);
}

#[test]
fn user_guide_first_definition() {
    // docs/protocols.md, "A first definition".
    let p = define(
        r#"[protocol]
name = "hello"
description = "Hello/ping chat service"
transport = "tcp"
ports = ["7000-7010"]

[match]
regex = '^(HELLO|PING) '

[framing]
kind = "delimiter"
delimiter = "\r\n"

[[field]]
name = "command"
type = "string"
delimiter = " "

[[field]]
name = "argument"
type = "string"
rest = true
"#,
    );
    assert_eq!(p.info().ports, vec![PortRange { lo: 7000, hi: 7010 }]);
    assert_eq!(
        p.probe(&tcp(Dir::ToServer, b"HELLO alice\r\n", 7001)),
        Probe::Match
    );
    assert_eq!(
        p.probe(&tcp(Dir::ToServer, b"HELO alice\r\n", 7001)),
        Probe::NoMatch
    );
    let ev = run(&p, &[(Dir::ToServer, b"HELLO alice\r\n".to_vec())], false);
    assert_eq!(
        ev[0],
        json!({"protocol": "hello", "command": "HELLO", "argument": "alice",
               "to_server": true, "tx_id": 0})
    );
}

#[test]
fn examples_directory_loads_sorted() {
    let all = load_dir(&examples(), BUILTINS).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = all.iter().map(|p| p.info().name.as_str()).collect();
    assert_eq!(names, vec!["memcached_text", "modbus_tcp"]);
}

// ---------------------------------------------------------------------------------------------
// Errors in definitions: each points at its key.

/// A definition that is fine, to break one line of.
const BASE: &str = r#"[protocol]
name = "demo"
transport = "tcp"
ports = ["7000"]

[match]
bytes = "de ad"

[framing]
kind = "fixed"
size = 4

[[field]]
name = "a"
type = "u16"

[[field]]
name = "b"
type = "u16"
"#;

/// `BASE` with `line` (1-based) replaced.
fn with_line(line: usize, text: &str) -> String {
    let mut v: Vec<&str> = BASE.lines().collect();
    v[line - 1] = text;
    v.join("\n") + "\n"
}

/// `BASE` with `extra` appended.
fn with(extra: &str) -> String {
    format!("{BASE}{extra}")
}

#[test]
fn base_definition_is_fine() {
    let p = define(BASE);
    assert_eq!(p.info().name, "demo");
}

#[test]
fn error_bad_toml() {
    let e = error(&with_line(3, "transport = \"tcp"));
    assert!(e.starts_with("test.toml:3:"), "{e}");
}

#[test]
fn error_unknown_key() {
    let e = error(&with_line(4, "colour = \"red\""));
    assert!(
        e.starts_with("test.toml:4:1: unknown field `colour`"),
        "{e}"
    );
    let e = error(&with(
        "\n[[field]]\nname = \"c\"\ntype = \"u8\"\nlenght = 3\n",
    ));
    assert!(
        e.starts_with("test.toml:24:1: unknown field `lenght`"),
        "{e}"
    );
}

#[test]
fn error_unknown_type() {
    let e = error(&with_line(15, "type = \"u24\""));
    assert!(
        e.starts_with("test.toml:15:8: unknown variant `u24`"),
        "{e}"
    );
    let e = error(&with_line(3, "transport = \"sctp\""));
    assert!(
        e.starts_with("test.toml:3:13: unknown variant `sctp`"),
        "{e}"
    );
}

#[test]
fn error_length_from_not_an_earlier_integer() {
    // A later field.
    let e = error(&with(
        "\n[[field]]\nname = \"payload\"\ntype = \"bytes\"\nlength_from = \"qty\"\n\n[[field]]\nname = \"qty\"\ntype = \"u8\"\n",
    ));
    assert_eq!(
        e,
        "test.toml:24:15: field `payload` refers to `qty`, which is not an earlier integer field"
    );
    // An earlier field that is not an integer.
    let e = error(&with(
        "\n[[field]]\nname = \"s\"\ntype = \"string\"\ndelimiter = \" \"\n\n[[field]]\nname = \"count\"\ntype = \"bytes\"\nlength_from = \"s\"\n",
    ));
    assert_eq!(
        e,
        "test.toml:29:15: field `count` refers to `s`, which is not an earlier integer field"
    );
    // Unknown, in a group's count and in a condition.
    let e = error(&with(
        "\n[[field]]\nname = \"g\"\ntype = \"group\"\ncount_from = \"nope\"\nfields = [{ name = \"x\", type = \"u8\" }]\n",
    ));
    assert!(
        e.starts_with("test.toml:24:14: field `g` refers to `nope`"),
        "{e}"
    );
    let e = error(&with(
        "\n[[field]]\nname = \"c\"\ntype = \"u8\"\nwhen = { z = 1 }\n",
    ));
    assert!(
        e.starts_with("test.toml:24:10: field `c` refers to `z`"),
        "{e}"
    );
    // Inside a group, a field of the group itself or of the message may be referred to.
    define(&with(
        "\n[[field]]\nname = \"g\"\ntype = \"group\"\ncount = 1\nfields = [{ name = \"n\", type = \"u8\" }, { name = \"v\", type = \"bytes\", length_from = \"n\" }, { name = \"w\", type = \"bytes\", length_from = \"a\" }]\n",
    ));
}

#[test]
fn error_bad_hex() {
    let e = error(&with_line(7, "bytes = \"de ag\""));
    assert_eq!(
        e,
        "test.toml:7:9: `de ag` is not hex bytes: `g` is not a hex digit"
    );
    let e = error(&with_line(7, "bytes = \"dea\""));
    assert!(
        e.starts_with("test.toml:7:9: `dea` is not hex bytes: odd number"),
        "{e}"
    );
}

#[test]
fn error_bad_regex() {
    let e = error(&with_line(7, "regex = '^(HELLO'"));
    assert!(e.starts_with("test.toml:7:9: invalid regex: "), "{e}");
    assert!(!e.contains('\n'), "{e}");
}

#[test]
fn error_bad_port_range() {
    let e = error(&with_line(4, "ports = [\"7000\", \"9000-8000\"]"));
    assert_eq!(
        e,
        "test.toml:4:18: port range `9000-8000` ends before it starts"
    );
    let e = error(&with_line(4, "ports = [70000]"));
    assert_eq!(e, "test.toml:4:10: port 70000 is not in 0-65535");
    let e = error(&with_line(4, "ports = [\"http\"]"));
    assert!(e.starts_with("test.toml:4:10: `http` is not a port"), "{e}");
}

#[test]
fn error_name_clash_and_bad_name() {
    let e = error(&with_line(2, "name = \"modbus\""));
    assert_eq!(
        e,
        "test.toml:2:8: protocol name `modbus` is taken by a built-in protocol"
    );
    let e = error(&with_line(2, "name = \"My Proto\""));
    assert!(
        e.starts_with("test.toml:2:8: protocol name `My Proto` must be"),
        "{e}"
    );
}

#[test]
fn error_missing_identification_and_framing() {
    // No ports and no signature.
    let text = BASE
        .replace("ports = [\"7000\"]\n", "")
        .replace("bytes = \"de ad\"", "min_length = 2");
    let e = error(&text);
    assert!(
        e.starts_with("test.toml:2:8: the protocol can be recognised neither"),
        "{e}"
    );
    // TCP without framing.
    let text = BASE.replace("[framing]\nkind = \"fixed\"\nsize = 4\n", "");
    let e = error(&text);
    assert!(
        e.starts_with("test.toml:3:13: a TCP protocol needs a [framing] table"),
        "{e}"
    );
}

#[test]
fn error_keys_that_do_not_apply() {
    let e = error(&with_line(11, "length_size = 2"));
    assert_eq!(
        e,
        "test.toml:11:15: `length_size` is only for kind = \"length\""
    );
    let e = error(&with_line(11, "endian = \"little\""));
    assert_eq!(e, "test.toml:11:10: `endian` is only for kind = \"length\"");
    let e = error(&with("length = 2\n"));
    assert_eq!(
        e,
        "test.toml:20:10: `length` is only for bytes, string or skip fields"
    );
    let e = error(&with(
        "\n[[field]]\nname = \"p\"\ntype = \"bytes\"\ndelimiter = \";\"\n",
    ));
    assert_eq!(e, "test.toml:24:13: `delimiter` is only for string fields");
    let e = error(&with("\n[[field]]\nname = \"p\"\ntype = \"string\"\n"));
    assert!(
        e.starts_with("test.toml:23:8: field `p` needs one of `length`"),
        "{e}"
    );
    let e = error(&with(
        "\n[[field]]\nname = \"p\"\ntype = \"bytes\"\nlength = 2\nrest = true\n",
    ));
    assert!(
        e.starts_with("test.toml:25:8: field `p` takes only one of"),
        "{e}"
    );
    let e = error(&with(
        "\n[[field]]\nname = \"g\"\ntype = \"group\"\ncount = 2\n",
    ));
    assert_eq!(e, "test.toml:23:8: a group needs `fields`");
    let e = error(&with_line(11, "size = 70000"));
    assert_eq!(e, "test.toml:11:8: `size` must be 1 to max_message (65535)");
    let udp = BASE.replace("\"tcp\"", "\"udp\"");
    let e = error(&udp);
    assert!(
        e.starts_with("test.toml:10:8: over UDP a datagram is a message"),
        "{e}"
    );
    let e = error(&udp.replace("\"fixed\"", "\"datagram\""));
    assert_eq!(e, "test.toml:11:8: `size` is only for kind = \"fixed\"");
    let e = error(&with_line(10, "kind = \"datagram\""));
    assert!(
        e.starts_with("test.toml:10:8: kind = \"datagram\" is for UDP"),
        "{e}"
    );
}

#[test]
fn error_field_names() {
    let e = error(&with_line(18, "name = \"a\""));
    assert!(
        e.starts_with("test.toml:18:8: field `a` is defined earlier without a condition"),
        "{e}"
    );
    let e = error(&with_line(18, "name = \"truncated\""));
    assert!(
        e.starts_with("test.toml:18:8: `truncated` is logged by NTA itself"),
        "{e}"
    );
    let e = error(&with(
        "values = { 1 = \"one\" }\n\n[[field]]\nname = \"b_code\"\ntype = \"u8\"\n",
    ));
    assert_eq!(
        e,
        "test.toml:23:8: `b_code` is already the name of an earlier field"
    );
    let e = error(&with(
        "\n[[field]]\nname = \"x\"\ntype = \"u8\"\nwhen = { a = 1 }\n\n[[field]]\nname = \"x\"\ntype = \"u16\"\n",
    ));
    assert!(
        e.starts_with("test.toml:27:8: field `x` is defined earlier with another type"),
        "{e}"
    );
}

#[test]
fn error_values_and_bits() {
    let e = error(&with(
        "\n[[field]]\nname = \"f\"\ntype = \"u8\"\nvalues = { 256 = \"big\" }\n",
    ));
    assert_eq!(e, "test.toml:24:12: 256 does not fit in a u8");
    let e = error(&with(
        "\n[[field]]\nname = \"f\"\ntype = \"u8\"\nvalues = { three = \"x\" }\n",
    ));
    assert!(
        e.starts_with("test.toml:24:12: `three` is not an integer"),
        "{e}"
    );
    let e = error(&with(
        "\n[[field]]\nname = \"f\"\ntype = \"u8\"\nbits = { hi = 0x100 }\n",
    ));
    assert_eq!(
        e,
        "test.toml:24:15: mask must be a non-zero value of 8 bits"
    );
    let e = error(&with(
        "\n[[field]]\nname = \"f\"\ntype = \"u8\"\nbits = { a = 1 }\n",
    ));
    assert_eq!(
        e,
        "test.toml:24:10: `a` is already the name of an earlier field"
    );
}

#[test]
fn errors_of_files_and_directories() {
    let missing = examples().join("no-such.toml");
    let e = load_file(&missing, BUILTINS).unwrap_err();
    assert_eq!(e.line, 0);
    assert!(
        e.to_string()
            .starts_with(&format!("{}: cannot read", missing.display())),
        "{e}"
    );

    let dir = std::env::temp_dir().join(format!("nta-custom-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("a.toml"), BASE).unwrap();
    std::fs::write(dir.join("b.toml"), format!("# the same again\n{BASE}")).unwrap();
    std::fs::write(dir.join("notes.txt"), "not a definition").unwrap();
    let e: DefinitionError = load_dir(&dir, BUILTINS).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}:3:8: protocol `demo` is already defined in {}",
            dir.join("b.toml").display(),
            dir.join("a.toml").display()
        )
    );
    std::fs::remove_file(dir.join("b.toml")).unwrap();
    assert_eq!(load_dir(&dir, BUILTINS).unwrap().len(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Hostile input.

fn modbus() -> &'static CustomProtocol {
    static P: OnceLock<CustomProtocol> = OnceLock::new();
    P.get_or_init(|| example("modbus.toml"))
}

fn memcached() -> &'static CustomProtocol {
    static P: OnceLock<CustomProtocol> = OnceLock::new();
    P.get_or_init(|| example("memcached.toml"))
}

fn kitchen() -> &'static CustomProtocol {
    static P: OnceLock<CustomProtocol> = OnceLock::new();
    P.get_or_init(|| define(KITCHEN))
}

#[test]
fn hostile_modbus() {
    fn make() -> Box<dyn Parser> {
        modbus().parser()
    }
    fn probe(i: &ProbeInput<'_>) -> Probe {
        modbus().probe(i)
    }
    let seeds = vec![pcap_payloads(&examples().join("modbus.pcap"))];
    hostile(make, probe, true, &seeds, 3000);
}

#[test]
fn hostile_memcached() {
    fn make() -> Box<dyn Parser> {
        memcached().parser()
    }
    fn probe(i: &ProbeInput<'_>) -> Probe {
        memcached().probe(i)
    }
    let seeds = vec![pcap_payloads(&examples().join("memcached.pcap"))];
    hostile(make, probe, true, &seeds, 3000);
}

#[test]
fn hostile_every_field_type() {
    fn make() -> Box<dyn Parser> {
        kitchen().parser()
    }
    fn probe(i: &ProbeInput<'_>) -> Probe {
        kitchen().probe(i)
    }
    let m = kitchen_message();
    let seeds = vec![
        vec![(Dir::ToServer, m.clone()), (Dir::ToClient, m.clone())],
        vec![(Dir::ToServer, [m.clone(), m.clone(), m].concat())],
    ];
    hostile(make, probe, true, &seeds, 3000);
}

#[test]
fn nested_groups_share_one_budget_per_message() {
    // 100 outer entries of 100 inner one-byte entries: 10,100 entries, more than a message
    // may log.
    let p = define(
        r#"[protocol]
name = "nested"
transport = "udp"
ports = [7001]
[[field]]
name = "outer"
type = "group"
count = 100
fields = [{ name = "inner", type = "group", count = 100, fields = [{ name = "b", type = "u8" }] }]
"#,
    );
    let mut h = Harness::udp(p.parser());
    h.feed(Dir::ToServer, &vec![1u8; 100 * 100]);
    h.finish();
    let ev = h.events();
    let outer = ev[0]["custom"]["outer"].as_array().unwrap();
    let logged: usize = outer
        .iter()
        .map(|o| 1 + o["inner"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(logged, super::MAX_MESSAGE_ENTRIES);
}
