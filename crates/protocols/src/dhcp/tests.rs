use serde_json::json;

use super::*;
use crate::testing::{hostile, probe_input, Harness};

const MAC: [u8; 6] = [0x00, 0x0b, 0x82, 0x01, 0xfc, 0x42];

/// A BOOTP header (addresses in order ciaddr, yiaddr, siaddr, giaddr), the magic cookie and
/// `options` (ended by the caller).
fn bootp(op: u8, xid: u32, addrs: [[u8; 4]; 4], options: &[u8]) -> Vec<u8> {
    let mut m = vec![op, 1, 6, 0];
    m.extend_from_slice(&xid.to_be_bytes());
    m.extend_from_slice(&[0, 0, 0, 0]); // secs, flags
    for a in addrs {
        m.extend_from_slice(&a);
    }
    let mut chaddr = [0u8; 16];
    chaddr[..6].copy_from_slice(&MAC);
    m.extend_from_slice(&chaddr);
    m.extend_from_slice(&[0u8; 64 + 128]); // sname, file
    m.extend_from_slice(&MAGIC);
    m.extend_from_slice(options);
    m
}

/// The DISCOVER of Wireshark's sample capture `dhcp.pcap`.
fn discover() -> Vec<u8> {
    bootp(
        1,
        0x3d1d,
        [[0; 4]; 4],
        &[
            53, 1, 1, // DHCPDISCOVER
            61, 7, 1, 0x00, 0x0b, 0x82, 0x01, 0xfc, 0x42, // client identifier
            50, 4, 0, 0, 0, 0, // requested address
            55, 4, 1, 3, 6, 42, // parameters
            0, 255, // pad, end
        ],
    )
}

/// Its OFFER.
fn offer() -> Vec<u8> {
    bootp(
        2,
        0x3d1d,
        [[0; 4], [192, 168, 0, 10], [192, 168, 0, 1], [0; 4]],
        &[
            53, 1, 2, // DHCPOFFER
            1, 4, 255, 255, 255, 0, // subnet mask
            58, 4, 0, 0, 0x07, 0x08, // renewal 1800 s
            59, 4, 0, 0, 0x0c, 0x4e, // rebinding 3150 s
            51, 4, 0, 0, 0x0e, 0x10, // lease 3600 s
            54, 4, 192, 168, 0, 1, // server identifier
            3, 4, 192, 168, 0, 1, // router
            6, 8, 192, 168, 0, 1, 8, 8, 8, 8, // DNS servers
            255,
        ],
    )
}

#[test]
fn discover_and_offer() {
    let mut h = Harness::udp(Box::<Dhcp>::default());
    h.feed(Dir::ToServer, &discover());
    h.feed(Dir::ToClient, &offer());
    h.finish();
    let ev = h.events();
    assert_eq!(ev.len(), 2);
    assert_eq!(ev[0]["event_type"], "dhcp");
    assert_eq!(ev[0]["to_server"], true);
    assert_eq!(ev[0]["tx_id"], 0);
    assert_eq!(
        ev[0]["dhcp"],
        json!({"type": "request", "id": 0x3d1d, "client_mac": "00:0b:82:01:fc:42",
               "assigned_ip": "0.0.0.0", "client_ip": "0.0.0.0", "dhcp_type": "discover",
               "client_id": "01:00:0b:82:01:fc:42", "requested_ip": "0.0.0.0",
               "params": ["subnet_mask", "router", "dns_server", "ntp_server"]})
    );
    assert_eq!(ev[1]["to_server"], false);
    assert_eq!(ev[1]["tx_id"], 1);
    assert_eq!(
        ev[1]["dhcp"],
        json!({"type": "reply", "id": 0x3d1d, "client_mac": "00:0b:82:01:fc:42",
               "assigned_ip": "192.168.0.10", "client_ip": "0.0.0.0", "relay_ip": "0.0.0.0",
               "next_server_ip": "192.168.0.1", "dhcp_type": "offer", "lease_time": 3600,
               "renewal_time": 1800, "rebinding_time": 3150, "subnet_mask": "255.255.255.0",
               "routers": ["192.168.0.1"], "dns_servers": ["192.168.0.1", "8.8.8.8"]})
    );
}

#[test]
fn request_with_hostname_and_vendor_class() {
    let m = bootp(
        1,
        0xdeadbeef,
        [[0; 4]; 4],
        &[
            53, 1, 3, 12, 6, b'l', b'a', b'p', b't', b'o', b'p', 50, 4, 192, 168, 0, 10, 60, 8,
            b'M', b'S', b'F', b'T', b' ', b'5', b'.', b'0', 255,
        ],
    );
    let mut h = Harness::udp(Box::<Dhcp>::default());
    h.feed(Dir::ToServer, &m);
    let d = &h.events()[0]["dhcp"];
    assert_eq!(d["dhcp_type"], "request");
    assert_eq!(d["hostname"], "laptop");
    assert_eq!(d["requested_ip"], "192.168.0.10");
    assert_eq!(d["vendor_class_identifier"], "MSFT 5.0");
}

#[test]
fn truncated_options_keep_what_came_before() {
    let mut m = discover();
    m.truncate(OPTIONS_AT + 5); // type option whole, client id cut
    let mut h = Harness::udp(Box::<Dhcp>::default());
    h.feed(Dir::ToServer, &m);
    let d = &h.events()[0]["dhcp"];
    assert_eq!(d["dhcp_type"], "discover");
    assert!(d.get("client_id").is_none());
}

#[test]
fn probe_recognises_dhcp_only() {
    let p = |d: &[u8]| probe(&probe_input(Dir::ToServer, d, Transport::Udp, 67));
    assert_eq!(p(&discover()), Probe::Match);
    assert_eq!(p(&offer()), Probe::Match);
    assert_eq!(p(&discover()[..239]), Probe::NoMatch);
    let mut bad = discover();
    bad[236] = 0;
    assert_eq!(p(&bad), Probe::NoMatch);
    let mut bad = discover();
    bad[0] = 3;
    assert_eq!(p(&bad), Probe::NoMatch);
    assert_eq!(p(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"), Probe::NoMatch);
    assert_eq!(
        p(&[0x16, 0x03, 0x01, 0x00, 0xc4, 0x01, 0x00, 0x00, 0xc0]),
        Probe::NoMatch
    );
    assert_eq!(p(&[0x5a; 300]), Probe::NoMatch);
}

#[test]
fn hostile_input() {
    let flows = vec![
        vec![(Dir::ToServer, discover()), (Dir::ToClient, offer())],
        vec![(Dir::ToClient, offer())],
    ];
    hostile(|| Box::<Dhcp>::default(), probe, false, &flows, 3000);
}
