//! Link-layer header types (the `LINKTYPE_*` numbers of pcap and pcapng files).

/// A pcap link type. Unknown values are data, not errors: they are kept and reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LinkType {
    /// BSD loopback, 4-byte address family in host byte order (LINKTYPE_NULL, 0).
    Null,
    /// Ethernet II / 802.3 (1).
    Ethernet,
    /// Raw IPv4 or IPv6, version from the first nibble (101; also DLT_RAW 12 and 14).
    Raw,
    /// OpenBSD loopback, address family in network byte order (LINKTYPE_LOOP, 108).
    Loop,
    /// Linux cooked capture v1 (113).
    LinuxSll,
    /// Linux netfilter NFLOG (239).
    Nflog,
    /// Raw IPv4 (228).
    Ipv4,
    /// Raw IPv6 (229).
    Ipv6,
    /// Linux cooked capture v2 (276).
    LinuxSll2,
    /// Anything else.
    Unknown(u32),
}

impl LinkType {
    /// Maps a pcap/pcapng link-type number.
    pub fn from_u32(v: u32) -> LinkType {
        match v {
            0 => LinkType::Null,
            1 => LinkType::Ethernet,
            12 | 14 | 101 => LinkType::Raw,
            108 => LinkType::Loop,
            113 => LinkType::LinuxSll,
            228 => LinkType::Ipv4,
            229 => LinkType::Ipv6,
            239 => LinkType::Nflog,
            276 => LinkType::LinuxSll2,
            other => LinkType::Unknown(other),
        }
    }

    /// The `LINKTYPE_*` number.
    pub fn to_u32(self) -> u32 {
        match self {
            LinkType::Null => 0,
            LinkType::Ethernet => 1,
            LinkType::Raw => 101,
            LinkType::Loop => 108,
            LinkType::LinuxSll => 113,
            LinkType::Ipv4 => 228,
            LinkType::Ipv6 => 229,
            LinkType::Nflog => 239,
            LinkType::LinuxSll2 => 276,
            LinkType::Unknown(v) => v,
        }
    }

    /// Whether the decoder understands this link type.
    pub fn is_supported(self) -> bool {
        !matches!(self, LinkType::Unknown(_))
    }
}

impl std::fmt::Display for LinkType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            LinkType::Null => "NULL (BSD loopback)",
            LinkType::Ethernet => "EN10MB (Ethernet)",
            LinkType::Raw => "RAW (raw IP)",
            LinkType::Loop => "LOOP (OpenBSD loopback)",
            LinkType::LinuxSll => "LINUX_SLL (Linux cooked v1)",
            LinkType::Nflog => "NFLOG (Linux netfilter log)",
            LinkType::Ipv4 => "IPV4 (raw IPv4)",
            LinkType::Ipv6 => "IPV6 (raw IPv6)",
            LinkType::LinuxSll2 => "LINUX_SLL2 (Linux cooked v2)",
            LinkType::Unknown(v) => return write!(f, "unknown link type {v}"),
        };
        write!(f, "{name} [{}]", self.to_u32())
    }
}
