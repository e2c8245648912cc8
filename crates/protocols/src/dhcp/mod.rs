//! DHCP (RFC 2131, options RFC 2132) over UDP: one `dhcp` event per message, with Suricata's
//! EVE fields (its "extended" form).
//!
//! A message is the fixed BOOTP header (236 bytes), the magic cookie, then options as
//! code/length/value triples, read here by hand: each is bounded by the datagram, and only
//! the options logged are kept.

use std::net::{IpAddr, Ipv4Addr};

use nta_event::JsonOut;

use crate::parser::{Dir, Out, Parser, Probe, ProbeInput, Transport};
use crate::registry::Builtin;

/// The protocol's registry entry.
pub(crate) fn protocol() -> Builtin {
    let mut info = Builtin::info(
        "dhcp",
        "DHCP requests and replies",
        &[Transport::Udp],
        &[67, 68],
        Some("dhcp"),
    );
    info.port_gated = true;
    Builtin {
        info,
        probe,
        parser: || Box::<Dhcp>::default(),
    }
}

/// BOOTP header length; the magic cookie follows it.
const BOOTP_LEN: usize = 236;
/// RFC 2131 §3: the first four option bytes.
const MAGIC: [u8; 4] = [0x63, 0x82, 0x53, 0x63];
const OPTIONS_AT: usize = BOOTP_LEN + 4;
const BOOTREQUEST: u8 = 1;
const BOOTREPLY: u8 = 2;
/// Addresses kept per address-list option (routers, DNS servers).
const MAX_ADDRS: usize = 16;

fn probe(input: &ProbeInput<'_>) -> Probe {
    let d = input.data;
    let ok = d.len() >= OPTIONS_AT
        && matches!(d[0], BOOTREQUEST | BOOTREPLY)
        // Ethernet, six-byte addresses.
        && d[1] == 1
        && d[2] == 6
        && d[BOOTP_LEN..OPTIONS_AT] == MAGIC;
    if ok {
        Probe::Match
    } else {
        Probe::NoMatch
    }
}

/// What one message says, in the fields logged.
#[derive(Debug, Default, PartialEq, Eq)]
struct Message<'a> {
    op: u8,
    xid: u32,
    ciaddr: [u8; 4],
    yiaddr: [u8; 4],
    siaddr: [u8; 4],
    giaddr: [u8; 4],
    chaddr: &'a [u8],
    dhcp_type: Option<u8>,
    client_id: Option<&'a [u8]>,
    hostname: Option<&'a [u8]>,
    requested_ip: Option<[u8; 4]>,
    lease_time: Option<u32>,
    renewal_time: Option<u32>,
    rebinding_time: Option<u32>,
    subnet_mask: Option<[u8; 4]>,
    routers: Option<&'a [u8]>,
    dns_servers: Option<&'a [u8]>,
    params: Option<&'a [u8]>,
    vendor_class: Option<&'a [u8]>,
}

fn addr4(d: &[u8], at: usize) -> Option<[u8; 4]> {
    d.get(at..at.checked_add(4)?)?.try_into().ok()
}

fn parse(d: &[u8]) -> Option<Message<'_>> {
    if probe(&ProbeInput {
        dir: Dir::ToServer,
        data: d,
        transport: Transport::Udp,
        server_port: 67,
        client_port: 68,
    }) != Probe::Match
    {
        return None;
    }
    let hlen = usize::from(*d.get(2)?).min(16);
    let mut m = Message {
        op: *d.first()?,
        xid: u32::from_be_bytes(addr4(d, 4)?),
        ciaddr: addr4(d, 12)?,
        yiaddr: addr4(d, 16)?,
        siaddr: addr4(d, 20)?,
        giaddr: addr4(d, 24)?,
        chaddr: d.get(28..28 + hlen)?,
        ..Message::default()
    };
    let mut pos = OPTIONS_AT;
    while let Some(&code) = d.get(pos) {
        match code {
            0 => {
                pos += 1;
                continue;
            }
            255 => break,
            _ => {}
        }
        let Some(&len) = d.get(pos + 1) else {
            break;
        };
        let Some(v) = d.get(pos + 2..pos + 2 + usize::from(len)) else {
            break;
        };
        pos += 2 + v.len();
        let u32v = || v.try_into().ok().map(u32::from_be_bytes);
        match code {
            1 => m.subnet_mask = v.try_into().ok(),
            3 => m.routers = Some(v),
            6 => m.dns_servers = Some(v),
            12 => m.hostname = Some(v),
            50 => m.requested_ip = v.try_into().ok(),
            51 => m.lease_time = u32v(),
            53 => m.dhcp_type = v.first().copied(),
            55 => m.params = Some(v),
            58 => m.renewal_time = u32v(),
            59 => m.rebinding_time = u32v(),
            60 => m.vendor_class = Some(v),
            61 => m.client_id = Some(v),
            _ => {}
        }
    }
    Some(m)
}

/// Follows one DHCP flow: every message is a transaction of its own.
#[derive(Debug, Default)]
pub(crate) struct Dhcp {
    next_tx: u64,
}

impl Parser for Dhcp {
    fn parse(&mut self, _dir: Dir, data: &[u8], out: &mut Out<'_>) -> usize {
        if let Some(m) = parse(data) {
            let tx = self.next_tx;
            self.next_tx += 1;
            out.event("dhcp", m.op == BOOTREQUEST, Some(tx), |w| log(w, &m));
        }
        data.len()
    }
}

fn ip(b: [u8; 4]) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(b))
}

fn log(w: &mut JsonOut<'_>, m: &Message<'_>) {
    w.object("dhcp");
    w.plain(
        "type",
        if m.op == BOOTREQUEST {
            "request"
        } else {
            "reply"
        },
    );
    w.u64("id", m.xid.into());
    w.plain("client_mac", &colon_hex(m.chaddr));
    w.ip("assigned_ip", ip(m.yiaddr));
    w.ip("client_ip", ip(m.ciaddr));
    if m.op == BOOTREPLY {
        w.ip("relay_ip", ip(m.giaddr));
        w.ip("next_server_ip", ip(m.siaddr));
    }
    if let Some(t) = m.dhcp_type {
        w.plain("dhcp_type", message_type_name(t));
    }
    if let Some(id) = m.client_id {
        w.plain("client_id", &colon_hex(id));
    }
    if let Some(h) = m.hostname.filter(|h| !h.is_empty()) {
        w.bytes("hostname", h);
    }
    if let Some(a) = m.requested_ip {
        w.ip("requested_ip", ip(a));
    }
    for (k, v) in [
        ("lease_time", m.lease_time),
        ("renewal_time", m.renewal_time),
        ("rebinding_time", m.rebinding_time),
    ] {
        if let Some(v) = v {
            w.u64(k, v.into());
        }
    }
    if let Some(a) = m.subnet_mask {
        w.ip("subnet_mask", ip(a));
    }
    for (k, v) in [("routers", m.routers), ("dns_servers", m.dns_servers)] {
        if let Some(v) = v {
            w.array(k);
            for a in v.chunks_exact(4).take(MAX_ADDRS) {
                w.str_element(Ipv4Addr::new(a[0], a[1], a[2], a[3]).to_string().as_bytes());
            }
            w.end_array();
        }
    }
    if let Some(p) = m.params {
        w.array("params");
        for name in p.iter().filter_map(|&c| param_name(c)) {
            w.str_element(name.as_bytes());
        }
        w.end_array();
    }
    if let Some(v) = m.vendor_class {
        w.bytes("vendor_class_identifier", v);
    }
    w.close();
}

/// Option 53's value (RFC 2132 §9.6, RFC 4388).
fn message_type_name(t: u8) -> &'static str {
    match t {
        1 => "discover",
        2 => "offer",
        3 => "request",
        4 => "decline",
        5 => "ack",
        6 => "nak",
        7 => "release",
        8 => "inform",
        _ => "unknown",
    }
}

/// The names Suricata gives to requested parameters (option 55); others are left out.
fn param_name(code: u8) -> Option<&'static str> {
    Some(match code {
        1 => "subnet_mask",
        3 => "router",
        6 => "dns_server",
        15 => "domain",
        35 => "arp_timeout",
        42 => "ntp_server",
        66 => "tftp_server_name",
        150 => "tftp_server_ip",
        _ => return None,
    })
}

/// `aa:bb:cc` (hardware addresses, client identifiers; at most 255 bytes by the option's
/// length).
fn colon_hex(b: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 3);
    for (i, x) in b.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        s.push(char::from(D[usize::from(x >> 4)]));
        s.push(char::from(D[usize::from(x & 15)]));
    }
    s
}

#[cfg(test)]
mod tests;
