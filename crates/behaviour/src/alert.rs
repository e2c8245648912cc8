//! [`Alert`]: what a detector reports, and [`CATALOGUE`]: the detectors' sids and classes.

use std::net::IpAddr;

use serde::Serialize;
use serde_json::{Map, Value};

/// One behavioural alert, ready to be written as an EVE `alert` event with `gid` [`GID`].
///
/// [`GID`]: crate::GID
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Alert {
    /// Packet time of the observation that crossed the threshold.
    pub ts_ns: u64,
    /// Signature id: the detector's number (1 to 8, see [`CATALOGUE`]).
    pub sid: u32,
    /// Signature revision.
    pub rev: u32,
    /// One line with the key numbers, e.g.
    /// `NTA vertical port scan from 10.0.0.5 to 10.0.0.9: 100 TCP ports in 60 s`.
    pub signature: String,
    /// Suricata classification name (`Attempted Information Leak`, …).
    pub category: &'static str,
    /// 1 (high) to 3 (low).
    pub severity: u8,
    /// IP protocol number of the traffic (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6).
    pub proto: u8,
    /// The acting host: the scanner, the client, or — for floods — the sender of the packets
    /// that crossed the threshold (one of many, and possibly spoofed).
    pub src: IpAddr,
    /// Source port, when one port is meaningful (never, for now).
    pub sport: Option<u16>,
    /// The target host, when there is one (not for a host sweep).
    pub dst: Option<IpAddr>,
    /// The target port, when there is one.
    pub dport: Option<u16>,
    /// The detector's name (its config table): `"port_scan"`, `"syn_flood"`, …
    pub detector: &'static str,
    /// The evidence: counts, window, thresholds, ratios, names; keys per detector are listed
    /// in `docs/detectors.md`.
    pub metadata: Map<String, Value>,
}

/// A detector's fixed identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DetectorInfo {
    /// Name and config table (`[detectors.<name>]`).
    pub name: &'static str,
    /// Signature id of its alerts (with gid [`GID`](crate::GID)).
    pub sid: u32,
    /// Signature revision; raised when what the detector looks for changes.
    pub rev: u32,
    /// Suricata classification name of its alerts.
    pub category: &'static str,
    /// Severity of its alerts, 1 (high) to 3 (low).
    pub severity: u8,
    /// What it looks for, one line.
    pub title: &'static str,
}

/// Suricata's `attempted-recon` class.
const RECON: &str = "Attempted Information Leak";
/// Suricata's `attempted-dos` class.
const DOS: &str = "Attempted Denial of Service";
/// Suricata's `attempted-user` class.
const USER: &str = "Attempted User Privilege Gain";
/// Suricata's `policy-violation` class: a tunnel carries data past the security policy.
const POLICY: &str = "Potential Corporate Privacy Violation";
/// Suricata's `misc-activity` class: regular traffic is often legitimate (updates, monitoring).
const MISC: &str = "Misc activity";

/// Every detector, in sid order.
pub const CATALOGUE: [DetectorInfo; 8] = [
    PORT_SCAN,
    HOST_SWEEP,
    SYN_FLOOD,
    UDP_FLOOD,
    ICMP_FLOOD,
    BRUTE_FORCE,
    DNS_TUNNEL,
    BEACONING,
];

pub(crate) const PORT_SCAN: DetectorInfo = info(
    "port_scan",
    1,
    RECON,
    2,
    "one source probing many ports of one host",
);
pub(crate) const HOST_SWEEP: DetectorInfo = info(
    "host_sweep",
    2,
    RECON,
    2,
    "one source probing one port (or pinging) on many hosts",
);
pub(crate) const SYN_FLOOD: DetectorInfo = info(
    "syn_flood",
    3,
    DOS,
    2,
    "a high rate of TCP SYNs to one host, mostly left half-open",
);
pub(crate) const UDP_FLOOD: DetectorInfo = info(
    "udp_flood",
    4,
    DOS,
    2,
    "a high rate of UDP datagrams to one host, mostly unanswered",
);
pub(crate) const ICMP_FLOOD: DetectorInfo = info(
    "icmp_flood",
    5,
    DOS,
    2,
    "a high rate of ICMP echo requests to one host",
);
pub(crate) const BRUTE_FORCE: DetectorInfo = info(
    "brute_force",
    6,
    USER,
    1,
    "many short login sessions or failed logins from one source to one service",
);
pub(crate) const DNS_TUNNEL: DetectorInfo = info(
    "dns_tunnel",
    7,
    POLICY,
    2,
    "many long, random-looking or TXT/NULL DNS names under one domain from one source",
);
pub(crate) const BEACONING: DetectorInfo = info(
    "beaconing",
    8,
    MISC,
    3,
    "connections from one source to one service at a regular interval",
);

const fn info(
    name: &'static str,
    sid: u32,
    category: &'static str,
    severity: u8,
    title: &'static str,
) -> DetectorInfo {
    DetectorInfo {
        name,
        sid,
        rev: 1,
        category,
        severity,
        title,
    }
}

impl DetectorInfo {
    /// An alert of this detector about `src`; the builder methods add the rest.
    pub(crate) fn alert(&self, ts_ns: u64, proto: u8, src: IpAddr, signature: String) -> Alert {
        Alert {
            ts_ns,
            sid: self.sid,
            rev: self.rev,
            signature,
            category: self.category,
            severity: self.severity,
            proto,
            src,
            sport: None,
            dst: None,
            dport: None,
            detector: self.name,
            metadata: Map::new(),
        }
    }
}

impl Alert {
    pub(crate) fn to(mut self, dst: IpAddr) -> Alert {
        self.dst = Some(dst);
        self
    }

    pub(crate) fn port(mut self, dport: u16) -> Alert {
        self.dport = Some(dport);
        self
    }

    pub(crate) fn with(mut self, key: &str, value: impl Into<Value>) -> Alert {
        self.metadata.insert(key.to_owned(), value.into());
        self
    }
}

/// `x` rounded to 3 decimals, for evidence that people read.
pub(crate) fn round3(x: f64) -> Value {
    let r = (x * 1000.0).round() / 1000.0;
    serde_json::Number::from_f64(r).map_or(Value::Null, Value::Number)
}

/// Protocol name for signatures and evidence.
pub(crate) fn proto_name(proto: u8) -> &'static str {
    match proto {
        1 => "ICMP",
        6 => "TCP",
        17 => "UDP",
        58 => "ICMPv6",
        _ => "IP",
    }
}
