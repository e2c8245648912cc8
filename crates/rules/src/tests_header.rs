//! Header, variables, address and port groups, and the rule's outer syntax.

use std::net::IpAddr;

use crate::tests_util::{assert_err, err_text};
use crate::{
    parse_rule, Action, AddressSet, AppProto, Direction, ErrorKind, PortSet, Protocol, RangeSet,
    Vars,
};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn addr(spec: &str) -> AddressSet {
    Vars::default()
        .resolve_address(spec)
        .unwrap_or_else(|e| panic!("{spec}: {e}"))
}

fn ports(spec: &str) -> PortSet {
    Vars::default()
        .resolve_ports(spec)
        .unwrap_or_else(|e| panic!("{spec}: {e}"))
}

fn header(h: &str) -> crate::Rule {
    parse_rule(&format!("{h} (sid:1;)"), &Vars::default()).unwrap_or_else(|e| panic!("{h}: {e}"))
}

#[test]
fn every_action() {
    for (name, action) in Action::ALL {
        let r = header(&format!("{name} tcp any any -> any any"));
        assert_eq!(r.action, *action);
        assert_eq!(action.name(), *name);
    }
    let e = err_text("alarm tcp any any -> any any (sid:1;)");
    assert_err(&e, "syntax error", "unknown action `alarm`");
    assert_eq!(e.offset, 0);
}

#[test]
fn transport_and_application_protocols() {
    for (name, p) in [
        ("ip", Protocol::Ip),
        ("tcp", Protocol::Tcp),
        ("udp", Protocol::Udp),
        ("icmp", Protocol::Icmp),
        ("tcp-pkt", Protocol::TcpPkt),
        ("tcp-stream", Protocol::TcpStream),
        ("TCP", Protocol::Tcp),
    ] {
        assert_eq!(
            header(&format!("alert {name} any any -> any any")).protocol,
            p
        );
    }
    for (name, app) in AppProto::ALL {
        let r = header(&format!("alert {name} any any -> any any"));
        assert_eq!(r.protocol, Protocol::App(*app));
        assert_eq!(r.protocol.name(), *name);
    }
    // The name is kept: http1 is not http, ike is not ikev2.
    assert_eq!(
        header("alert http1 any any -> any any").protocol,
        Protocol::App(AppProto::Http1)
    );
    assert_eq!(
        header("alert ike any any -> any any").protocol,
        Protocol::App(AppProto::Ike)
    );
    let e = err_text("alert gopher any any -> any any (sid:1;)");
    assert_eq!(e.kind, ErrorKind::UnknownProtocol("gopher".into()));
    assert_eq!(e.category(), "unknown protocol: gopher");
    assert_eq!(e.offset, 6);
}

#[test]
fn directions() {
    assert_eq!(
        header("alert tcp any any -> any any").direction,
        Direction::ToDestination
    );
    assert_eq!(
        header("alert tcp any any <> any any").direction,
        Direction::Both
    );
    assert_err(
        &err_text("alert tcp any any <- any any (sid:1;)"),
        "syntax error",
        "`<-` is not a direction",
    );
    assert_err(
        &err_text("alert tcp any any => any any (sid:1;)"),
        "syntax error",
        "expected `->` or `<>`",
    );
}

#[test]
fn header_shape_errors() {
    let e = err_text("alert tcp any any -> any (sid:1;)");
    assert_err(&e, "syntax error", "the header has 6 parts, expected 7");
    let e = err_text("alert tcp any any -> any any extra (sid:1;)");
    assert_err(&e, "syntax error", "the header has 8 parts");
    assert_eq!(e.offset, 29);
    assert_err(
        &err_text("alert tcp any any -> any any sid:1;"),
        "syntax error",
        "missing `(`",
    );
    assert_err(
        &err_text("alert tcp any any -> any any (sid:1;"),
        "syntax error",
        "missing `)`",
    );
    let e = err_text("alert tcp any any -> any any (sid:1;) trailing");
    assert_err(
        &e,
        "syntax error",
        "unexpected text after the options: `trailing`",
    );
    assert_eq!(e.offset, 38);
    assert_err(
        &err_text("alert tcp [1.1.1.1 any -> any any (sid:1;)"),
        "syntax error",
        "unclosed `[`",
    );
    assert_err(
        &err_text("alert tcp 1.1.1.1] any -> any any (sid:1;)"),
        "syntax error",
        "`]` without `[`",
    );
}

#[test]
fn lists_with_spaces_stay_one_header_part() {
    let r = header("alert tcp [10.0.0.1, 10.0.0.2] [80, 443] -> any any");
    assert!(r.source.contains(ip("10.0.0.2")));
    assert!(r.source_ports.contains(443));
}

#[test]
fn option_syntax_errors() {
    let e = err_text("alert tcp any any -> any any (content:\"x\"; nocase depth:3; sid:1;)");
    assert_err(&e, "syntax error", "missing `;` after `nocase`");
    let e = err_text("alert tcp any any -> any any (msg:\"x\" sid:1;)");
    assert_err(
        &e,
        "invalid value: msg",
        "unexpected `sid:1` after the closing quote",
    );
    let e = err_text("alert tcp any any -> any any (msg:\"x\";; sid:1;)");
    assert_err(&e, "syntax error", "empty option");
    let e = err_text("alert tcp any any -> any any (ms@g:\"x\"; sid:1;)");
    assert_err(
        &e,
        "syntax error",
        "invalid character `@` in keyword `ms@g`",
    );
    assert_eq!(e.offset, 32);
}

#[test]
fn last_option_may_omit_its_semicolon() {
    let r = parse_rule(
        "alert tcp any any -> any any (msg:\"x\"; sid:7)",
        &Vars::default(),
    )
    .unwrap();
    assert_eq!(r.meta.sid, 7);
}

#[test]
fn escaped_semicolon_does_not_end_an_option() {
    let r = parse_rule(
        r#"alert tcp any any -> any any (msg:"a\;b"; content:"x\;y"; sid:1;)"#,
        &Vars::default(),
    )
    .unwrap();
    assert_eq!(r.meta.msg, "a;b");
    assert_eq!(crate::tests_util::contents(&r)[0].1.pattern, b"x;y");
}

#[test]
fn any_and_single_addresses() {
    assert!(addr("any").is_any());
    let a = addr("1.2.3.4");
    assert!(a.contains(ip("1.2.3.4")));
    assert!(!a.contains(ip("1.2.3.5")));
    assert_eq!(a.to_string(), "[1.2.3.4/32]");
    let n = addr("10.1.2.3/8");
    assert!(n.contains(ip("10.255.0.1")));
    assert_eq!(n.to_string(), "[10.0.0.0/8]");
    let m = addr("192.168.1.0/255.255.255.0");
    assert_eq!(m.to_string(), "[192.168.1.0/24]");
    let r = addr("10.0.0.5-10.0.0.6");
    assert_eq!(r.to_string(), "[10.0.0.5/32,10.0.0.6/32]");
    let v6 = addr("2001:db8::/32");
    assert!(v6.contains(ip("2001:db8::1")));
    assert!(!v6.contains(ip("10.0.0.1")));
}

#[test]
fn negation_lists_and_nesting() {
    let a = addr("[10.0.0.0/8,!10.1.0.0/16]");
    assert!(a.contains(ip("10.2.0.1")));
    assert!(!a.contains(ip("10.1.0.1")));
    assert!(!a.contains(ip("11.0.0.1")));
    // Only negations: everything else, IPv6 included.
    let n = addr("!1.2.3.4");
    assert!(!n.contains(ip("1.2.3.4")));
    assert!(n.contains(ip("1.2.3.5")));
    assert!(n.contains(ip("::1")));
    assert_eq!(addr("[!1.2.3.4]"), n);
    // Nested: not (10/8 minus 10.1/16) = everything but 10/8, plus 10.1/16.
    let nn = addr("![10.0.0.0/8,!10.1.0.0/16]");
    assert!(nn.contains(ip("10.1.2.3")));
    assert!(!nn.contains(ip("10.2.0.1")));
    assert!(nn.contains(ip("8.8.8.8")));
    assert_eq!(addr("!!1.2.3.4"), addr("1.2.3.4"));
    assert_eq!(
        addr("[[1.0.0.0/8,2.0.0.0/8],[3.0.0.0/8]]").to_string(),
        "[1.0.0.0/8,2.0.0.0/7]"
    );
}

#[test]
fn default_variables_are_suricatas() {
    let v = Vars::default();
    let home = addr("$HOME_NET");
    assert_eq!(
        home.to_string(),
        "[10.0.0.0/8,172.16.0.0/12,192.168.0.0/16]"
    );
    let ext = addr("$EXTERNAL_NET");
    assert!(ext.contains(ip("8.8.8.8")));
    assert!(!ext.contains(ip("192.168.1.1")));
    assert!(ext.contains(ip("2001:db8::1")));
    for name in [
        "HTTP_SERVERS",
        "SMTP_SERVERS",
        "SQL_SERVERS",
        "DNS_SERVERS",
        "TELNET_SERVERS",
        "DC_SERVERS",
        "DNP3_SERVER",
        "DNP3_CLIENT",
        "MODBUS_CLIENT",
        "MODBUS_SERVER",
        "ENIP_CLIENT",
        "ENIP_SERVER",
    ] {
        assert_eq!(v.address(name), Some("$HOME_NET"), "{name}");
    }
    assert_eq!(v.address("AIM_SERVERS"), Some("$EXTERNAL_NET"));
    assert_eq!(ports("$HTTP_PORTS").ranges(), &[(80, 80)]);
    assert!(!ports("$SHELLCODE_PORTS").contains(80));
    assert!(ports("$SHELLCODE_PORTS").contains(81));
    assert_eq!(
        ports("$FILE_DATA_PORTS").ranges(),
        &[(80, 80), (110, 110), (143, 143)]
    );
    for (name, port) in [
        ("ORACLE_PORTS", 1521),
        ("SSH_PORTS", 22),
        ("DNP3_PORTS", 20000),
        ("MODBUS_PORTS", 502),
        ("FTP_PORTS", 21),
        ("GENEVE_PORTS", 6081),
        ("VXLAN_PORTS", 4789),
        ("TEREDO_PORTS", 3544),
    ] {
        assert_eq!(
            ports(&format!("${name}")).ranges(),
            &[(port, port)],
            "{name}"
        );
    }
    assert_eq!(v.check(), Ok(()));
}

#[test]
fn overriding_home_net_changes_external_net() {
    let mut v = Vars::default();
    v.set_address("$HOME_NET", "[10.1.0.0/16]");
    v.set_port("HTTP_PORTS", "[80,8080:8090]");
    let r = parse_rule(
        "alert tcp $EXTERNAL_NET any -> $HOME_NET $HTTP_PORTS (sid:1;)",
        &v,
    )
    .unwrap();
    assert!(r.source.contains(ip("10.2.0.1")));
    assert!(!r.source.contains(ip("10.1.0.1")));
    assert!(r.destination_ports.contains(8085));
    assert!(!r.destination_ports.contains(8091));
}

#[test]
fn port_forms() {
    assert!(ports("any").is_any());
    assert_eq!(ports("80").ranges(), &[(80, 80)]);
    assert_eq!(ports("80:90").ranges(), &[(80, 90)]);
    assert_eq!(ports("1024:").ranges(), &[(1024, 65535)]);
    assert_eq!(ports(":1023").ranges(), &[(0, 1023)]);
    assert_eq!(ports("!80").ranges(), &[(0, 79), (81, 65535)]);
    assert_eq!(
        ports("[1:100,![50:60,!55]]").ranges(),
        &[(1, 49), (55, 55), (61, 100)]
    );
    assert_eq!(ports("[80,81,82]").to_string(), "[80:82]");
    assert_eq!(ports("[$HTTP_PORTS,443]").to_string(), "[80,443]");
}

#[test]
fn group_errors() {
    let v = Vars::default();
    let e = v.resolve_address("$NOPE").unwrap_err();
    assert_eq!(e.kind, ErrorKind::UnknownVariable("$NOPE".into()));
    assert_eq!(e.category(), "unknown variable: $NOPE");
    assert_err(
        &v.resolve_address("$HTTP_PORTS").unwrap_err(),
        "invalid address",
        "`$HTTP_PORTS` is a port variable, used as address",
    );
    assert_err(
        &v.resolve_ports("$HOME_NET").unwrap_err(),
        "invalid port",
        "`$HOME_NET` is an address variable",
    );
    assert_err(
        &v.resolve_address("!any").unwrap_err(),
        "invalid address",
        "matches nothing",
    );
    assert_err(
        &v.resolve_address("[1.2.3.4,!1.2.3.4]").unwrap_err(),
        "invalid address",
        "matches nothing",
    );
    assert_err(
        &v.resolve_address("1.2.3.999").unwrap_err(),
        "invalid address",
        "invalid address `1.2.3.999`",
    );
    assert_err(
        &v.resolve_address("1.2.3.0/33").unwrap_err(),
        "invalid address",
        "prefix length `33` is too long",
    );
    assert_err(
        &v.resolve_address("1.2.3.0/255.0.255.0").unwrap_err(),
        "invalid address",
        "not contiguous",
    );
    assert_err(
        &v.resolve_address("[1.2.3.4,]").unwrap_err(),
        "invalid address",
        "empty item",
    );
    assert_err(
        &v.resolve_address("[1.2.3.4]x").unwrap_err(),
        "invalid address",
        "unexpected `x` after `]`",
    );
    assert_err(
        &v.resolve_ports("70000").unwrap_err(),
        "invalid port",
        "invalid port `70000`",
    );
    assert_err(
        &v.resolve_ports("90:80").unwrap_err(),
        "invalid port",
        "reversed",
    );
    assert_err(
        &v.resolve_ports("!any").unwrap_err(),
        "invalid port",
        "matches nothing",
    );
}

#[test]
fn variable_cycles_and_bad_definitions() {
    let mut v = Vars::empty();
    v.set_address("A", "$B");
    v.set_address("B", "[$A]");
    assert_err(
        &v.resolve_address("$A").unwrap_err(),
        "invalid address",
        "nests deeper than 16",
    );
    let mut v = Vars::default();
    v.set_address("HOME_NET", "[10.0.0.0/8,bogus]");
    let e = parse_rule("alert tcp $HOME_NET any -> any any (sid:1;)", &v).unwrap_err();
    assert_err(
        &e,
        "invalid address",
        "(in `$HOME_NET` = `[10.0.0.0/8,bogus]`)",
    );
    assert_eq!(e.offset, 10);
    // The first variable (by name) that uses it.
    let (name, _) = v.check().unwrap_err();
    assert_eq!(name, "$AIM_SERVERS");
}

#[test]
fn header_errors_point_at_the_part() {
    let e = err_text("alert tcp any any -> $NOPE any (sid:1;)");
    assert_eq!(e.offset, 21);
    let e = err_text("alert tcp any 99999 -> any any (sid:1;)");
    assert_eq!(e.kind, ErrorKind::InvalidPort);
    assert_eq!(e.offset, 14);
}

#[test]
fn range_sets() {
    let a = RangeSet::from_ranges(vec![(5u16, 10), (1, 3), (4, 4), (20, 30), (25, 40)]);
    assert_eq!(a.ranges(), &[(1, 10), (20, 40)]);
    assert_eq!(a.complement().ranges(), &[(0, 0), (11, 19), (41, u16::MAX)]);
    assert_eq!(a.complement().complement(), a);
    let b = RangeSet::range(8u16, 22);
    assert_eq!(a.intersection(&b).ranges(), &[(8, 10), (20, 22)]);
    assert_eq!(a.difference(&b).ranges(), &[(1, 7), (23, 40)]);
    assert_eq!(a.union(&b).ranges(), &[(1, 40)]);
    assert!(RangeSet::<u16>::full().is_full());
    assert!(RangeSet::<u16>::full().complement().is_empty());
    assert!(a.contains(1) && a.contains(10) && !a.contains(11) && !a.contains(0));
    assert!(RangeSet::range(3u16, 2).is_empty());
}

#[test]
fn more_header_errors() {
    let long = format!(
        "alert tcp any any -> any any (msg:\"{}\"; sid:1;)",
        "a".repeat(crate::MAX_RULE_LEN)
    );
    assert_err(
        &err_text(&long),
        "syntax error",
        "rule is longer than 65536 bytes",
    );
    let v = Vars::default();
    assert_err(
        &v.resolve_address("1.1.1.9-1.1.1.1").unwrap_err(),
        "invalid address",
        "invalid address range `1.1.1.9-1.1.1.1`",
    );
    assert_err(
        &v.resolve_address("1.1.1.1-::1").unwrap_err(),
        "invalid address",
        "invalid address range",
    );
    assert_err(
        &v.resolve_address("1.2.3.0/x").unwrap_err(),
        "invalid address",
        "invalid prefix length `x` in `1.2.3.0/x`",
    );
    assert_err(
        &v.resolve_address("[1.2.3.4").unwrap_err(),
        "invalid address",
        "unclosed `[` in address group",
    );
}
