//! The parsed form of a rule: header, metadata, payload matches (each attached to the buffer
//! it inspects, in rule order), and the other conditions, all typed.

mod buffer;
mod conditions;
mod payload;

use std::fmt;
use std::path::PathBuf;

pub(crate) use buffer::{valid_custom_field, valid_custom_protocol};
pub use buffer::{Buffer, BufferFamily, MAX_CUSTOM_NAME_LEN};
pub use conditions::*;
pub use payload::*;

use crate::groups::{AddressSet, PortSet};

/// One rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// What to do when the rule matches.
    pub action: Action,
    /// The header protocol.
    pub protocol: Protocol,
    /// Source addresses, resolved.
    pub source: AddressSet,
    /// Source ports, resolved.
    pub source_ports: PortSet,
    /// `->` or `<>`.
    pub direction: Direction,
    /// Destination addresses, resolved.
    pub destination: AddressSet,
    /// Destination ports, resolved.
    pub destination_ports: PortSet,
    /// msg, sid, rev, classtype, references, …
    pub meta: Meta,
    /// Payload keywords (content, pcre, isdataat, byte_*, bsize, base64_decode), each with
    /// the buffer it inspects, in the order written. Relative keywords (`distance`, pcre `R`,
    /// `relative`) are relative to the previous match of the same buffer.
    pub matches: Vec<Match>,
    /// Every other condition (flow, flowbits, flags, dsize, …), in the order written.
    pub conditions: Vec<Condition>,
    /// `threshold`, if any.
    pub threshold: Option<Threshold>,
    /// `detection_filter`, if any.
    pub detection_filter: Option<DetectionFilter>,
    /// `tag` keywords.
    pub tags: Vec<Tag>,
    /// `noalert`, or `flowbits:noalert`: the rule never raises an alert (it only sets state).
    pub noalert: bool,
    /// Where the rule was read from, when it was loaded from a file.
    pub location: Option<Location>,
}

impl Rule {
    /// The alert priority (1 is the most severe): the rule's `priority`, else its
    /// classtype's (when a classification file was loaded), else 3 as in Suricata.
    pub fn severity(&self) -> u8 {
        self.meta
            .priority
            .or(self.meta.class.as_ref().map(|c| c.priority))
            .unwrap_or(DEFAULT_PRIORITY)
    }

    /// The payload matches of one buffer, in order.
    pub fn matches_in<'a>(&'a self, buffer: &'a Buffer) -> impl Iterator<Item = &'a Match> + 'a {
        self.matches.iter().filter(move |m| &m.buffer == buffer)
    }

    /// The distinct buffers the rule inspects, in order of first use.
    pub fn buffers(&self) -> Vec<&Buffer> {
        let mut out: Vec<&Buffer> = Vec::new();
        for m in &self.matches {
            if !out.contains(&&m.buffer) {
                out.push(&m.buffer);
            }
        }
        out
    }
}

/// Priority of a rule with neither `priority` nor a classtype priority.
pub const DEFAULT_PRIORITY: u8 = 3;

/// Where a rule came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The rule file.
    pub file: PathBuf,
    /// 1-based line of the rule's first line.
    pub line: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// The rule action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Raise an alert.
    Alert,
    /// Drop the packet (IPS) and alert.
    Drop,
    /// Reset the connection (or send ICMP unreachable) and alert.
    Reject,
    /// Reject towards the source.
    RejectSrc,
    /// Reject towards the destination.
    RejectDst,
    /// Reject towards both sides.
    RejectBoth,
    /// Stop inspecting the packet: later rules do not alert on it.
    Pass,
}

impl Action {
    /// Every action with its keyword.
    pub const ALL: &'static [(&'static str, Action)] = &[
        ("alert", Action::Alert),
        ("drop", Action::Drop),
        ("reject", Action::Reject),
        ("rejectsrc", Action::RejectSrc),
        ("rejectdst", Action::RejectDst),
        ("rejectboth", Action::RejectBoth),
        ("pass", Action::Pass),
    ];

    /// The keyword.
    pub fn name(self) -> &'static str {
        Action::ALL
            .iter()
            .find(|(_, a)| *a == self)
            .map_or("alert", |(n, _)| n)
    }
}

/// The header protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// Any IP packet (`ip`, also spelled `pkthdr`-less `ip`).
    Ip,
    /// TCP packets and stream.
    Tcp,
    /// TCP packets only (`tcp-pkt`).
    TcpPkt,
    /// TCP reassembled stream only (`tcp-stream`).
    TcpStream,
    /// UDP.
    Udp,
    /// ICMP (v4 and v6).
    Icmp,
    /// An application protocol; the rule applies to flows identified as it.
    App(AppProto),
}

impl Protocol {
    /// The header keyword.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Ip => "ip",
            Protocol::Tcp => "tcp",
            Protocol::TcpPkt => "tcp-pkt",
            Protocol::TcpStream => "tcp-stream",
            Protocol::Udp => "udp",
            Protocol::Icmp => "icmp",
            Protocol::App(a) => a.name(),
        }
    }

    /// The protocol for a header keyword (case-insensitive).
    pub fn from_name(name: &str) -> Option<Protocol> {
        let lower = name.to_ascii_lowercase();
        Some(match lower.as_str() {
            "ip" => Protocol::Ip,
            "tcp" => Protocol::Tcp,
            "tcp-pkt" => Protocol::TcpPkt,
            "tcp-stream" => Protocol::TcpStream,
            "udp" => Protocol::Udp,
            "icmp" => Protocol::Icmp,
            other => Protocol::App(AppProto::from_name(other)?),
        })
    }
}

macro_rules! app_protos {
    ($($(#[$doc:meta])* $variant:ident = $name:literal),* $(,)?) => {
        /// An application protocol, named as in the rule (`http1` and `http` stay distinct:
        /// the name is kept).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum AppProto {
            $($(#[$doc])* $variant,)*
        }

        impl AppProto {
            /// Every application protocol with its keyword.
            pub const ALL: &'static [(&'static str, AppProto)] = &[$(($name, AppProto::$variant),)*];

            /// The keyword.
            pub fn name(self) -> &'static str {
                match self {
                    $(AppProto::$variant => $name,)*
                }
            }
        }
    };
}

app_protos! {
    /// HTTP/1 or HTTP/2.
    Http = "http",
    /// HTTP/1 only.
    Http1 = "http1",
    /// HTTP/2 only.
    Http2 = "http2",
    /// DNS over UDP or TCP.
    Dns = "dns",
    /// TLS.
    Tls = "tls",
    /// SSH.
    Ssh = "ssh",
    /// SMTP.
    Smtp = "smtp",
    /// FTP control.
    Ftp = "ftp",
    /// FTP data.
    FtpData = "ftp-data",
    /// SMB.
    Smb = "smb",
    /// DHCP.
    Dhcp = "dhcp",
    /// NTP.
    Ntp = "ntp",
    /// SNMP.
    Snmp = "snmp",
    /// QUIC.
    Quic = "quic",
    /// MQTT.
    Mqtt = "mqtt",
    /// Modbus/TCP.
    Modbus = "modbus",
    /// DNP3.
    Dnp3 = "dnp3",
    /// EtherNet/IP.
    Enip = "enip",
    /// SIP.
    Sip = "sip",
    /// Kerberos 5.
    Krb5 = "krb5",
    /// DCE/RPC.
    Dcerpc = "dcerpc",
    /// NFS.
    Nfs = "nfs",
    /// IKEv2 (`ikev2`).
    Ikev2 = "ikev2",
    /// IKE (`ike`).
    Ike = "ike",
    /// RDP.
    Rdp = "rdp",
    /// RFB (VNC).
    Rfb = "rfb",
    /// PostgreSQL.
    Pgsql = "pgsql",
    /// TFTP.
    Tftp = "tftp",
    /// Telnet.
    Telnet = "telnet",
    /// WebSocket.
    Websocket = "websocket",
}

impl AppProto {
    /// The protocol for a keyword (lowercase).
    pub fn from_name(name: &str) -> Option<AppProto> {
        AppProto::ALL
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, p)| *p)
    }

    /// Whether a buffer of `family` can exist in this protocol's flows.
    pub fn has(self, family: BufferFamily) -> bool {
        use AppProto::*;
        match family {
            BufferFamily::Any => true,
            // A user-defined protocol is never one of the built-in ones.
            BufferFamily::Custom => false,
            BufferFamily::File => matches!(
                self,
                Http | Http1 | Http2 | Smtp | Ftp | FtpData | Smb | Nfs
            ),
            BufferFamily::Http => matches!(self, Http | Http1 | Http2),
            BufferFamily::Dns => self == Dns,
            BufferFamily::Tls => matches!(self, Tls | Quic),
            BufferFamily::Ssh => self == Ssh,
            BufferFamily::Smtp => self == Smtp,
            BufferFamily::Ftp => matches!(self, Ftp | FtpData),
        }
    }
}

/// The header direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// `->`: from source to destination.
    ToDestination,
    /// `<>`: either way.
    Both,
}

/// Rule metadata.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Meta {
    /// `msg`, unescaped.
    pub msg: String,
    /// `gid` (1 when absent).
    pub gid: u32,
    /// `sid`.
    pub sid: u32,
    /// `rev` (0 when absent).
    pub rev: u32,
    /// `classtype` as written.
    pub classtype: Option<String>,
    /// The classtype's entry of the classification file, filled in by the loader.
    pub class: Option<Classification>,
    /// `priority` as written (1..=255).
    pub priority: Option<u8>,
    /// `reference` keywords.
    pub references: Vec<Reference>,
    /// `metadata` key/value pairs, in order (`former_category`, `updated_at`, …).
    pub metadata: Vec<(String, String)>,
    /// `target`.
    pub target: Option<Target>,
}

/// One `config classification:` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Classification {
    /// Short name, as used by `classtype`.
    pub name: String,
    /// Description.
    pub description: String,
    /// Default priority of rules of this class.
    pub priority: u8,
}

/// A `reference:system,id`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// `url`, `cve`, `bugtraq`, `md5`, …
    pub system: String,
    /// The identifier or URL part.
    pub id: String,
}

/// `target:src_ip|dest_ip`: which side of the alert is the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The source is the target.
    Source,
    /// The destination is the target.
    Destination,
}

/// An unsigned or signed comparison, as written with `N`, `=N`, `!N`, `<N`, `<=N`, `>N`,
/// `>=N`, or a range `N<>M` / `N-M` (the same, exclusive on both ends, as in Suricata) and
/// its negation `!N<>M` / `!N-M`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IntCmp<T> {
    /// Equal.
    Eq(T),
    /// Not equal.
    Ne(T),
    /// Less than.
    Lt(T),
    /// Less than or equal.
    Le(T),
    /// Greater than.
    Gt(T),
    /// Greater than or equal.
    Ge(T),
    /// Strictly between (`N<>M`, `N-M`).
    Between(T, T),
    /// Not strictly between (`!N<>M`, `!N-M`).
    NotBetween(T, T),
}

impl<T: PartialOrd + Copy> IntCmp<T> {
    /// Whether `v` satisfies the comparison.
    pub fn matches(&self, v: T) -> bool {
        match *self {
            IntCmp::Eq(a) => v == a,
            IntCmp::Ne(a) => v != a,
            IntCmp::Lt(a) => v < a,
            IntCmp::Le(a) => v <= a,
            IntCmp::Gt(a) => v > a,
            IntCmp::Ge(a) => v >= a,
            IntCmp::Between(a, b) => a < v && v < b,
            IntCmp::NotBetween(a, b) => !(a < v && v < b),
        }
    }
}

/// A number written in the rule or the name of a `byte_extract` variable.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Value<T> {
    /// A literal.
    Lit(T),
    /// A variable extracted earlier in the rule by `byte_extract`.
    Var(String),
}
