//! ICMP and ICMPv6 type and code names (IANA registries), for flow events.

/// The name of ICMP (`v6` false) or ICMPv6 type `ty`.
pub fn type_name(v6: bool, ty: u8) -> Option<&'static str> {
    Some(match (v6, ty) {
        (false, 0) => "echo-reply",
        (false, 3) => "destination-unreachable",
        (false, 4) => "source-quench",
        (false, 5) => "redirect",
        (false, 8) => "echo-request",
        (false, 9) => "router-advertisement",
        (false, 10) => "router-solicitation",
        (false, 11) => "time-exceeded",
        (false, 12) => "parameter-problem",
        (false, 13) => "timestamp-request",
        (false, 14) => "timestamp-reply",
        (false, 15) => "information-request",
        (false, 16) => "information-reply",
        (false, 17) => "address-mask-request",
        (false, 18) => "address-mask-reply",
        (false, 30) => "traceroute",
        (false, 42) => "extended-echo-request",
        (false, 43) => "extended-echo-reply",
        (true, 1) => "destination-unreachable",
        (true, 2) => "packet-too-big",
        (true, 3) => "time-exceeded",
        (true, 4) => "parameter-problem",
        (true, 128) => "echo-request",
        (true, 129) => "echo-reply",
        (true, 130) => "multicast-listener-query",
        (true, 131) => "multicast-listener-report",
        (true, 132) => "multicast-listener-done",
        (true, 133) => "router-solicitation",
        (true, 134) => "router-advertisement",
        (true, 135) => "neighbor-solicitation",
        (true, 136) => "neighbor-advertisement",
        (true, 137) => "redirect",
        (true, 138) => "router-renumbering",
        (true, 143) => "multicast-listener-report-v2",
        (true, 160) => "extended-echo-request",
        (true, 161) => "extended-echo-reply",
        _ => return None,
    })
}

/// The name of code `code` of type `ty`, for the types whose codes have names.
pub fn code_name(v6: bool, ty: u8, code: u8) -> Option<&'static str> {
    Some(match (v6, ty, code) {
        (false, 3, 0) => "net-unreachable",
        (false, 3, 1) => "host-unreachable",
        (false, 3, 2) => "protocol-unreachable",
        (false, 3, 3) => "port-unreachable",
        (false, 3, 4) => "fragmentation-needed",
        (false, 3, 5) => "source-route-failed",
        (false, 3, 6) => "net-unknown",
        (false, 3, 7) => "host-unknown",
        (false, 3, 9) => "net-prohibited",
        (false, 3, 10) => "host-prohibited",
        (false, 3, 11) => "net-tos-unreachable",
        (false, 3, 12) => "host-tos-unreachable",
        (false, 3, 13) => "communication-prohibited",
        (false, 3, 14) => "host-precedence-violation",
        (false, 3, 15) => "precedence-cutoff",
        (false, 5, 0) => "redirect-net",
        (false, 5, 1) => "redirect-host",
        (false, 5, 2) => "redirect-tos-net",
        (false, 5, 3) => "redirect-tos-host",
        (false, 11, 0) => "ttl-exceeded",
        (false, 11, 1) => "reassembly-time-exceeded",
        (false, 12, 0) => "pointer-indicates-error",
        (false, 12, 1) => "missing-option",
        (false, 12, 2) => "bad-length",
        (true, 1, 0) => "no-route",
        (true, 1, 1) => "administratively-prohibited",
        (true, 1, 2) => "beyond-scope",
        (true, 1, 3) => "address-unreachable",
        (true, 1, 4) => "port-unreachable",
        (true, 1, 5) => "source-policy-failed",
        (true, 1, 6) => "reject-route",
        (true, 3, 0) => "hop-limit-exceeded",
        (true, 3, 1) => "reassembly-time-exceeded",
        (true, 4, 0) => "erroneous-header-field",
        (true, 4, 1) => "unrecognized-next-header",
        (true, 4, 2) => "unrecognized-option",
        _ => return None,
    })
}

/// Whether the type is an echo request (the client side of an echo exchange).
pub fn is_echo_request(v6: bool, ty: u8) -> bool {
    ty == if v6 { 128 } else { 8 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_registries() {
        assert_eq!(type_name(false, 8), Some("echo-request"));
        assert_eq!(type_name(true, 128), Some("echo-request"));
        assert_eq!(type_name(true, 135), Some("neighbor-solicitation"));
        assert_eq!(code_name(false, 3, 3), Some("port-unreachable"));
        assert_eq!(code_name(true, 1, 4), Some("port-unreachable"));
        assert_eq!(type_name(false, 200), None);
        assert!(is_echo_request(false, 8) && !is_echo_request(true, 8));
    }
}
