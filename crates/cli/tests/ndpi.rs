//! Protocol identification against published ground truth: nDPI's expected results for the
//! captures of its test suite (`../shared/data/pcaps/ndpi/*.out`). Every flow nDPI identified
//! from content (`[Confidence: DPI]`) with a protocol NTA knows must get the same `app_proto`
//! from `nta read`. nDPI's verdicts by port, by address or from a cache are guesses and are
//! not compared.

mod common;

use std::collections::BTreeMap;

use common::*;
use serde_json::Value;

/// nDPI's protocol name → Suricata's `app_proto`, for the protocols NTA identifies.
fn app_proto_of(ndpi: &str) -> Option<&'static str> {
    if ndpi.starts_with("NetBIOS.SMBv23") || ndpi.starts_with("SMBv23") || ndpi == "SMBv1" {
        return Some("smb");
    }
    // "TLS.YouTube": the application inside TLS; the protocol is before the dot.
    let master = ndpi.split('.').next().unwrap_or(ndpi);
    Some(match master {
        "HTTP" | "HTTP_Proxy" | "HTTP_Connect" => "http",
        "DNS" => "dns",
        "TLS" => "tls",
        "SSH" => "ssh",
        "NTP" => "ntp",
        "MQTT" => "mqtt",
        "QUIC" => "quic",
        "FTP_CONTROL" => "ftp",
        "FTP_DATA" => "ftp-data",
        "DHCP" => "dhcp",
        "SMTP" => "smtp",
        "SNMP" => "snmp",
        "SIP" => "sip",
        "Modbus" => "modbus",
        _ => return None,
    })
}

/// A flow line of a `.out` file: (proto, endpoint, endpoint, nDPI protocol name).
fn parse_line(line: &str) -> Option<(String, String, String, String)> {
    if !line.contains("[Confidence: DPI]") {
        return None;
    }
    let mut words = line.split_whitespace();
    let _index = words.next()?;
    let proto = words.next()?.to_string();
    let a = words.next()?.to_string();
    let _arrow = words.next()?;
    let b = words.next()?.to_string();
    let tag = line.split("[proto: ").nth(1)?;
    let name = tag.split(']').next()?.split('/').nth(1)?.to_string();
    Some((proto, a, b, name))
}

/// `1.2.3.4:80` or `[2001:db8::1]:80` of an event's side.
fn endpoint(ip: &Value, port: &Value) -> String {
    let ip = ip.as_str().unwrap_or("?");
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

#[test]
fn app_proto_matches_ndpi_ground_truth() {
    let Some(pcaps) = captures_in("pcaps/ndpi") else {
        return;
    };
    let mut compared = 0;
    let mut wrong = Vec::new();
    let mut per_proto: BTreeMap<&str, usize> = BTreeMap::new();
    for pcap in pcaps {
        let out = std::fs::read_to_string(format!("{}.out", pcap.display())).unwrap();
        let events = read_ok(&[&pcap], &[]);
        let ours: BTreeMap<(String, String, String), String> = flows(&events)
            .iter()
            .map(|f| {
                let a = endpoint(&f["src_ip"], &f["src_port"]);
                let b = endpoint(&f["dest_ip"], &f["dest_port"]);
                let proto = f["proto"].as_str().unwrap_or("?").to_string();
                let app = f["app_proto"].as_str().unwrap_or("(none)").to_string();
                let (x, y) = if a <= b { (a, b) } else { (b, a) };
                ((proto, x, y), app)
            })
            .collect();
        for (proto, a, b, name) in out.lines().filter_map(parse_line) {
            let Some(want) = app_proto_of(&name) else {
                continue;
            };
            let (x, y) = if a <= b { (a, b) } else { (b, a) };
            let got = ours
                .get(&(proto.clone(), x.clone(), y.clone()))
                .map(String::as_str)
                .unwrap_or("(no flow)");
            compared += 1;
            *per_proto.entry(want).or_default() += 1;
            if got != want {
                wrong.push(format!(
                    "{}: {proto} {x} <-> {y}: nDPI {name}, NTA {got}",
                    pcap.file_name().unwrap().to_string_lossy()
                ));
            }
        }
    }
    println!("compared {compared} flows: {per_proto:?}");
    assert!(compared > 20, "too few flows compared: {compared}");
    assert!(
        wrong.is_empty(),
        "{} of {compared} differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
