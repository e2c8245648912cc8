//! Named, counted decoder events: what was seen per protocol layer and every anomaly by name.
//!
//! Counters live in a fixed array indexed by an enum, so counting on the packet path is one
//! add with no allocation, hashing or lock. Workers each own a [`DecodeCounters`] and the engine
//! merges them for the `stats` event.

macro_rules! named_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident => $text:literal,)* }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(usize)]
        pub enum $name { $($(#[$vm])* $variant,)* }
        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];
            /// Number of variants.
            pub const COUNT: usize = Self::ALL.len();
            /// The stable name used in `stats` events.
            pub fn name(self) -> &'static str {
                match self { $($name::$variant => $text,)* }
            }
        }
    };
}

named_enum! {
    /// Layers and packet kinds seen by the decoder (what Suricata calls `decoder.<proto>`).
    Seen {
        Ethernet => "ethernet",
        Sll => "sll",
        Null => "null",
        Nflog => "nflog",
        RawIp => "raw",
        Vlan => "vlan",
        Mpls => "mpls",
        Pppoe => "pppoe",
        Arp => "arp",
        Ipv4 => "ipv4",
        Ipv6 => "ipv6",
        Tcp => "tcp",
        Udp => "udp",
        Icmpv4 => "icmpv4",
        Icmpv6 => "icmpv6",
        Sctp => "sctp",
        OtherIpProto => "other_ip_proto",
        OtherEthertype => "other_ethertype",
        Gre => "gre",
        Erspan => "erspan",
        Vxlan => "vxlan",
        Geneve => "geneve",
        Teredo => "teredo",
        Gtpu => "gtpu",
        IpInIp => "ipip",
        Fragments => "fragments",
        Reassembled => "reassembled",
    }
}

named_enum! {
    /// Malformed or suspicious input, counted by name and skipped (Zeek calls these "weirds").
    Anomaly {
        UnknownLinkType => "link.unknown_linktype",
        EthernetTruncated => "ethernet.truncated",
        SllTruncated => "sll.truncated",
        NullTruncated => "null.truncated",
        NullUnknownFamily => "null.unknown_family",
        NflogTruncated => "nflog.truncated",
        NflogNoPayload => "nflog.no_payload",
        VlanTruncated => "vlan.truncated",
        VlanTooManyTags => "vlan.too_many_tags",
        MplsTruncated => "mpls.truncated",
        MplsTooManyLabels => "mpls.too_many_labels",
        MplsUnknownPayload => "mpls.unknown_payload",
        PppoeTruncated => "pppoe.truncated",
        PppUnsupportedProtocol => "ppp.unsupported_protocol",
        ArpTruncated => "arp.truncated",
        Ipv4Truncated => "ipv4.truncated",
        Ipv4HeaderInvalid => "ipv4.header_invalid",
        Ipv4TotalLenInvalid => "ipv4.total_len_invalid",
        Ipv4ExtHeaderInvalid => "ipv4.ext_header_invalid",
        Ipv6Truncated => "ipv6.truncated",
        Ipv6HeaderInvalid => "ipv6.header_invalid",
        Ipv6ExtHeaderInvalid => "ipv6.ext_header_invalid",
        IpVersionMismatch => "ip.version_mismatch",
        FragOverlap => "defrag.overlap",
        FragTooLarge => "defrag.too_large",
        FragUnaligned => "defrag.unaligned",
        FragConflictingEnd => "defrag.conflicting_end",
        FragTooMany => "defrag.too_many_fragments",
        FragMemcap => "defrag.memcap",
        FragMaxTrackers => "defrag.max_trackers",
        FragTimeout => "defrag.timeout",
        FragNested => "defrag.nested",
        TcpTruncated => "tcp.truncated",
        TcpHeaderInvalid => "tcp.header_invalid",
        UdpTruncated => "udp.truncated",
        UdpLenInvalid => "udp.len_invalid",
        Icmpv4Truncated => "icmpv4.truncated",
        Icmpv6Truncated => "icmpv6.truncated",
        GreTruncated => "gre.truncated",
        GreUnsupportedVersion => "gre.unsupported_version",
        GreUnknownPayload => "gre.unknown_payload",
        ErspanTruncated => "erspan.truncated",
        ErspanUnsupportedVersion => "erspan.unsupported_version",
        VxlanTruncated => "vxlan.truncated",
        GeneveTruncated => "geneve.truncated",
        GeneveUnknownPayload => "geneve.unknown_payload",
        GtpuTruncated => "gtpu.truncated",
        TunnelTooDeep => "tunnel.too_deep",
    }
}

/// Per-worker decoder counters.
#[derive(Clone, Debug)]
pub struct DecodeCounters {
    /// Frames handed to the decoder.
    pub packets: u64,
    /// Sum of their wire lengths.
    pub bytes: u64,
    /// Frames that carried no IP flow (ARP, LLDP, ...), decoded and counted but not tracked.
    pub non_ip: u64,
    /// Frames dropped because of an anomaly.
    pub invalid: u64,
    seen: [u64; Seen::COUNT],
    anomalies: [u64; Anomaly::COUNT],
}

impl Default for DecodeCounters {
    fn default() -> Self {
        DecodeCounters {
            packets: 0,
            bytes: 0,
            non_ip: 0,
            invalid: 0,
            seen: [0; Seen::COUNT],
            anomalies: [0; Anomaly::COUNT],
        }
    }
}

impl DecodeCounters {
    /// Counts one occurrence of a layer.
    #[inline]
    pub fn seen(&mut self, s: Seen) {
        self.seen[s as usize] += 1;
    }

    /// Counts one anomaly.
    #[inline]
    pub fn anomaly(&mut self, a: Anomaly) {
        self.anomalies[a as usize] += 1;
    }

    /// How often a layer was seen.
    pub fn seen_count(&self, s: Seen) -> u64 {
        self.seen[s as usize]
    }

    /// How often an anomaly occurred.
    pub fn anomaly_count(&self, a: Anomaly) -> u64 {
        self.anomalies[a as usize]
    }

    /// Non-zero layer counters, by name.
    pub fn seen_nonzero(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        Seen::ALL
            .iter()
            .map(|s| (s.name(), self.seen[*s as usize]))
            .filter(|(_, n)| *n > 0)
    }

    /// Non-zero anomaly counters, by name.
    pub fn anomalies_nonzero(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        Anomaly::ALL
            .iter()
            .map(|a| (a.name(), self.anomalies[*a as usize]))
            .filter(|(_, n)| *n > 0)
    }

    /// Adds another worker's counters into these.
    pub fn merge(&mut self, other: &DecodeCounters) {
        self.packets += other.packets;
        self.bytes += other.bytes;
        self.non_ip += other.non_ip;
        self.invalid += other.invalid;
        for (a, b) in self.seen.iter_mut().zip(other.seen.iter()) {
            *a += b;
        }
        for (a, b) in self.anomalies.iter_mut().zip(other.anomalies.iter()) {
            *a += b;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = Anomaly::ALL.iter().map(|a| a.name()).collect();
        names.sort_unstable();
        let n = names.len();
        names.dedup();
        assert_eq!(n, names.len());
    }

    #[test]
    fn merge_adds() {
        let mut a = DecodeCounters::default();
        let mut b = DecodeCounters::default();
        a.anomaly(Anomaly::Ipv4Truncated);
        b.anomaly(Anomaly::Ipv4Truncated);
        b.seen(Seen::Tcp);
        a.merge(&b);
        assert_eq!(a.anomaly_count(Anomaly::Ipv4Truncated), 2);
        assert_eq!(a.seen_nonzero().collect::<Vec<_>>(), vec![("tcp", 1)]);
    }
}
