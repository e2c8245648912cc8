//! Every protocol NTA knows — built in, or defined by the user — and how each is set up.

use std::sync::Arc;

use crate::parser::{Parser, Probe, ProbeInput, Transport};

/// What is known of a protocol without running it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Info {
    /// The `app_proto` name (Suricata's where Suricata has the protocol: `http`, `tls`, …).
    pub name: String,
    /// One line for `nta protocols`.
    pub description: String,
    /// Transports it runs over.
    pub transports: Vec<Transport>,
    /// Ports where it is expected (a hint: probes run first on these).
    pub ports: Vec<PortRange>,
    /// Only probed when the server port (or, for UDP, either port) is in `ports`: for binary
    /// protocols whose first bytes are too weak a signature to be tried everywhere.
    pub port_gated: bool,
    /// The event type its parser writes (`http`, …; `custom` for user-defined protocols);
    /// `None` when it writes none.
    pub event_type: Option<&'static str>,
    /// Where the protocol comes from (`built-in`, or the file that defines it).
    pub source: String,
    /// Probed before the built-in protocols (user-defined protocols may ask for it).
    pub first: bool,
}

/// An inclusive range of ports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortRange {
    /// First port.
    pub lo: u16,
    /// Last port.
    pub hi: u16,
}

impl PortRange {
    /// One port.
    pub const fn one(p: u16) -> PortRange {
        PortRange { lo: p, hi: p }
    }

    /// Whether `p` is in the range.
    pub fn contains(&self, p: u16) -> bool {
        self.lo <= p && p <= self.hi
    }
}

impl std::fmt::Display for PortRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.lo == self.hi {
            write!(f, "{}", self.lo)
        } else {
            write!(f, "{}-{}", self.lo, self.hi)
        }
    }
}

impl std::str::FromStr for PortRange {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let num = |t: &str| {
            t.trim()
                .parse::<u16>()
                .map_err(|_| format!("`{s}` is not a port or a port range (like 8000-8080)"))
        };
        let r = match s.split_once('-') {
            Some((a, b)) => PortRange {
                lo: num(a)?,
                hi: num(b)?,
            },
            None => PortRange::one(num(s)?),
        };
        if r.lo > r.hi {
            return Err(format!("port range `{s}` ends before it starts"));
        }
        Ok(r)
    }
}

/// Whether any range holds `p`.
pub fn ports_contain(ranges: &[PortRange], p: u16) -> bool {
    ranges.iter().any(|r| r.contains(p))
}

/// A protocol: recognise it, and parse one flow of it.
pub trait Protocol: Send + Sync {
    /// Its description.
    fn info(&self) -> &Info;
    /// Looks at the first bytes of one direction.
    fn probe(&self, input: &ProbeInput<'_>) -> Probe;
    /// A parser for one new flow.
    fn parser(&self) -> Box<dyn Parser>;
}

/// A built-in protocol: its description and two functions.
pub struct Builtin {
    /// Description.
    pub info: Info,
    /// The probe.
    pub probe: fn(&ProbeInput<'_>) -> Probe,
    /// Makes a parser.
    pub parser: fn() -> Box<dyn Parser>,
}

impl Builtin {
    /// A built-in protocol's description (`ports` as single ports).
    pub fn info(
        name: &str,
        description: &str,
        transports: &[Transport],
        ports: &[u16],
        event_type: Option<&'static str>,
    ) -> Info {
        Info {
            name: name.to_string(),
            description: description.to_string(),
            transports: transports.to_vec(),
            ports: ports.iter().map(|&p| PortRange::one(p)).collect(),
            port_gated: false,
            event_type,
            source: "built-in".to_string(),
            first: false,
        }
    }
}

impl Protocol for Builtin {
    fn info(&self) -> &Info {
        &self.info
    }
    fn probe(&self, input: &ProbeInput<'_>) -> Probe {
        (self.probe)(input)
    }
    fn parser(&self) -> Box<dyn Parser> {
        (self.parser)()
    }
}

/// A shared protocol.
pub type ProtocolRef = Arc<dyn Protocol>;
