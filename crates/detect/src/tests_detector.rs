//! The detector's flow and threshold state: counters shared by workers, the action scope of
//! `pass` rules, the flowint evaluation order.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::Arc;

use nta_rules::{RuleSet, Vars as RuleVars};

use crate::signature::{compile_rule, Names};
use crate::{Detector, Engine, Fired, PacketMeta, Thresholds};

fn engine(rules: &str) -> Arc<Engine> {
    let mut set = RuleSet::new();
    set.add_text(Path::new("t.rules"), rules, &RuleVars::default(), None);
    assert!(set.skipped.is_empty(), "{:?}", set.skipped);
    let e = Engine::build(&set);
    assert!(e.skipped().is_empty(), "{:?}", e.skipped());
    e.shared()
}

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
}

/// A UDP datagram `src → dst` carrying `payload`, the first of its flow.
fn datagram<'a>(
    src: IpAddr,
    dst: IpAddr,
    sport: u16,
    ts_ns: u64,
    payload: &'a [u8],
) -> PacketMeta<'a> {
    PacketMeta {
        ts_ns,
        src,
        dst,
        sport,
        dport: 9999,
        proto: 17,
        ttl: 64,
        tcp: None,
        icmp: None,
        payload,
        to_server: true,
        established: false,
        app_proto: None,
        flow_id: u64::from(sport),
        first_in_direction: true,
    }
}

/// Sends 16 datagrams from one source to 16 destinations, alternating between two
/// detectors (as flows are spread over workers), and returns the sids that alerted.
fn one_source_over_two_workers(share: bool) -> Vec<u32> {
    let e = engine(
        r#"alert udp any any -> any any (msg:"limit"; content:"HIT"; threshold:type limit, track by_src, count 1, seconds 60; sid:1;)
alert udp any any -> any any (msg:"df"; content:"HIT"; detection_filter:track by_src, count 10, seconds 60; sid:2;)
"#,
    );
    let mut workers = [Detector::new(Arc::clone(&e)), Detector::new(Arc::clone(&e))];
    if share {
        let store = Arc::new(Thresholds::new());
        for w in &mut workers {
            w.share_thresholds(Arc::clone(&store));
        }
    }
    let mut sids = Vec::new();
    for i in 0..16u8 {
        let p = datagram(
            ip(1),
            ip(100 + i),
            20000 + u16::from(i),
            1_000_000 * u64::from(i),
            b"HIT",
        );
        let mut slot = 0;
        let mut out: Vec<Fired> = Vec::new();
        workers[usize::from(i % 2)].packet(&mut slot, &p, &mut out);
        sids.extend(out.iter().map(|f| e.info(f.sig).sid));
    }
    sids.sort_unstable();
    sids
}

#[test]
fn threshold_counters_are_shared_by_the_workers_that_share_a_store() {
    // One store: the source is counted once, 16 matches: `limit 1` alerts once, the
    // detection filter from the 11th match on (6 alerts).
    let shared = one_source_over_two_workers(true);
    assert_eq!(shared.iter().filter(|&&s| s == 1).count(), 1, "{shared:?}");
    assert_eq!(shared.iter().filter(|&&s| s == 2).count(), 6, "{shared:?}");
    // A store each (the default): each worker sees 8 matches of the source.
    let apart = one_source_over_two_workers(false);
    assert_eq!(apart.iter().filter(|&&s| s == 1).count(), 2, "{apart:?}");
    assert_eq!(apart.iter().filter(|&&s| s == 2).count(), 0, "{apart:?}");
}

#[test]
fn expired_counters_are_swept_once_per_second_of_packet_time() {
    let e = engine(
        r#"alert udp any any -> any any (content:"HIT"; threshold:type limit, track by_dst, count 1, seconds 1; sid:1;)
"#,
    );
    let store = Arc::new(Thresholds::new());
    let mut d = Detector::new(e);
    d.share_thresholds(Arc::clone(&store));
    let t0 = 1_700_000_000 * 1_000_000_000u64;
    for i in 0..3u8 {
        let p = datagram(ip(1), ip(100 + i), 20000, t0, b"HIT");
        d.packet(&mut 0, &p, &mut Vec::new());
    }
    assert_eq!(store.len(), 3);
    let ms = 1_000_000;
    d.tick(t0 + 500 * ms);
    assert_eq!(store.len(), 3, "the windows are not over");
    // The windows (1 s) are over, but the last sweep was less than a second ago.
    d.tick(t0 + 1200 * ms);
    assert_eq!(store.len(), 3);
    d.tick(t0 + 1600 * ms);
    assert!(store.is_empty());
    assert_eq!(store.evicted(), 0);
}

fn flow_scope(rule: &str) -> bool {
    let r = nta_rules::parse_rule(rule, &RuleVars::default()).unwrap();
    compile_rule(&r, 0, &mut Names::default())
        .unwrap()
        .flow_scope
}

#[test]
fn action_scope_follows_suricatas_rule_types() {
    // ip_only, app_layer, pd_only and app_tx rules: the flow.
    assert!(flow_scope("pass ip 10.0.0.9 any -> any any (sid:1;)"));
    assert!(flow_scope(
        "pass ip 10.0.0.9 any -> any any (flowbits:set,x; sid:1;)"
    ));
    assert!(flow_scope("pass http any any -> any any (sid:1;)"));
    assert!(flow_scope(
        "pass tcp any any -> any any (app-layer-protocol:tls; sid:1;)"
    ));
    assert!(flow_scope(
        r#"pass http any any -> any any (http.host; content:"a"; sid:1;)"#
    ));
    // Packet rules: the packet.
    assert!(!flow_scope(
        r#"pass tcp any any -> any any (content:"a"; sid:1;)"#
    ));
    assert!(!flow_scope("pass tcp any any -> any 80 (sid:1;)"));
    assert!(!flow_scope(
        "pass http any any -> any any (flowbits:isset,x; sid:1;)"
    ));
    assert!(!flow_scope(
        "pass http any any -> any any (flow:established; sid:1;)"
    ));
    assert!(!flow_scope(
        "pass tcp any any -> any any (ttl:3; app-layer-protocol:tls; sid:1;)"
    ));
}

#[test]
fn rules_that_change_a_flowint_are_ordered_before_rules_that_read_it() {
    let order = |rule: &str, i: u32| {
        let r = nta_rules::parse_rule(rule, &RuleVars::default()).unwrap();
        compile_rule(&r, i, &mut Names::default()).unwrap().order
    };
    let read = order(r#"alert tcp any any -> any any (flowint:n,>,1; sid:1;)"#, 0);
    let both = order(
        r#"alert tcp any any -> any any (flowint:n,+,1; flowint:n,>,1; sid:2;)"#,
        1,
    );
    let write = order(r#"alert tcp any any -> any any (flowint:n,+,1; sid:3;)"#, 2);
    let none = order(r#"alert tcp any any -> any any (content:"x"; sid:4;)"#, 3);
    assert!(write < both && both < read && read < none);
    // Flowbits come first: a flowbit setter that reads a flowint runs before a flowint
    // setter that reads a flowbit.
    let bits_first = order(
        r#"alert tcp any any -> any any (flowbits:set,b; flowint:n,>,1; sid:5;)"#,
        9,
    );
    let ints_first = order(
        r#"alert tcp any any -> any any (flowbits:isset,b; flowint:n,+,1; sid:6;)"#,
        0,
    );
    assert!(bits_first < ints_first);
}
