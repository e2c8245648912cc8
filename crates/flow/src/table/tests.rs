use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn tcp(ts: u64, src: &str, sport: u16, dst: &str, dport: u16, flags: u8) -> PacketView<'static> {
    PacketView {
        ts_ns: ts * NS,
        wire_len: 60,
        src: ip(src),
        dst: ip(dst),
        sport,
        dport,
        proto: ip_proto::TCP,
        vlan: VlanIds::default(),
        tcp: Some(TcpInfo {
            sport,
            dport,
            seq: 0,
            ack: 0,
            flags: TcpFlags(flags),
            window: 0,
        }),
        icmp: None,
        tunnels: &[],
        encapsulates: None,
    }
}

fn udp(ts: u64, src: &str, sport: u16, dst: &str, dport: u16) -> PacketView<'static> {
    PacketView {
        proto: ip_proto::UDP,
        tcp: None,
        ..tcp(ts, src, sport, dst, dport, 0)
    }
}

fn icmp(ts: u64, src: &str, dst: &str, ty: u8) -> PacketView<'static> {
    PacketView {
        proto: ip_proto::ICMP,
        tcp: None,
        icmp: Some((ty, 0, 7)),
        sport: 0,
        dport: 0,
        ..tcp(ts, src, 0, dst, 0, 0)
    }
}

const S: u8 = TcpFlags::SYN;
const A: u8 = TcpFlags::ACK;
const F: u8 = TcpFlags::FIN;

#[test]
fn tcp_session_is_one_flow_with_directions() {
    let mut t = FlowTable::new(FlowConfig::default());
    let mut ended = Vec::new();
    let mut sink = |f| ended.push(f);
    let c = "10.0.0.1";
    let s = "10.0.0.2";
    for p in [
        tcp(1, c, 4000, s, 80, S),
        tcp(1, s, 80, c, 4000, S | A),
        tcp(1, c, 4000, s, 80, A),
        tcp(2, c, 4000, s, 80, F | A),
        tcp(2, s, 80, c, 4000, F | A),
        tcp(2, c, 4000, s, 80, A),
    ] {
        t.update(&p, &mut sink);
    }
    assert_eq!(t.len(), 1);
    t.flush(EndReason::Shutdown, &mut sink);
    let f = &ended[0].flow;
    assert_eq!(f.client(), (ip(c), 4000));
    assert_eq!(f.pkts, [4, 2]);
    assert_eq!(f.bytes, [240, 120]);
    assert_eq!(f.tcp_flags, [S | A | F, S | A | F]);
    assert_eq!(f.state(), FlowState::Closed);
    assert_eq!(f.tcp_state, TcpState::Closed);
    assert_eq!(ended[0].reason, EndReason::Shutdown);
}

#[test]
fn syn_ack_first_makes_the_receiver_the_client() {
    let mut t = FlowTable::new(FlowConfig::default());
    let (f, to_server) = t.update(
        &tcp(1, "10.0.0.2", 80, "10.0.0.1", 4000, S | A),
        &mut |_| {},
    );
    assert_eq!(f.client(), (ip("10.0.0.1"), 4000));
    assert!(!to_server);
}

#[test]
fn icmp_echo_request_and_reply_share_a_flow() {
    let mut t = FlowTable::new(FlowConfig::default());
    t.update(&icmp(1, "10.0.0.1", "10.0.0.2", 8), &mut |_| {});
    let (f, to_server) = t.update(&icmp(1, "10.0.0.2", "10.0.0.1", 0), &mut |_| {});
    assert!(!to_server);
    assert_eq!(f.pkts, [1, 1]);
    assert_eq!(f.state(), FlowState::Established);
    t.update(&icmp(1, "10.0.0.9", "10.0.0.1", 3), &mut |_| {});
    assert_eq!(t.len(), 2);
    // Another echo identifier is another ping session.
    let other_id = PacketView {
        icmp: Some((8, 0, 8)),
        ..icmp(1, "10.0.0.1", "10.0.0.2", 8)
    };
    t.update(&other_id, &mut |_| {});
    assert_eq!(t.len(), 3);
}

#[test]
fn timeouts_follow_protocol_and_state() {
    let mut t = FlowTable::new(FlowConfig::default());
    t.update(&udp(0, "10.0.0.1", 1, "10.0.0.2", 53), &mut |_| {});
    t.update(&udp(0, "10.0.0.3", 1, "10.0.0.4", 53), &mut |_| {});
    t.update(&udp(0, "10.0.0.4", 53, "10.0.0.3", 1), &mut |_| {});
    let mut ended = Vec::new();
    t.expire(30 * NS, &mut |f| ended.push(f));
    assert!(ended.is_empty(), "30 s is not past the 30 s new timeout");
    t.expire(38 * NS, &mut |f| ended.push(f));
    assert_eq!(ended.len(), 1, "the unanswered flow times out first");
    assert_eq!(ended[0].flow.client().0, ip("10.0.0.1"));
    assert_eq!(ended[0].reason, EndReason::Timeout);
    t.expire(301 * NS, &mut |f| ended.push(f));
    assert_eq!(ended.len(), 2);
    assert_eq!(t.stats().timed_out, 2);
}

#[test]
fn full_table_evicts_and_counts() {
    let cfg = FlowConfig {
        max_flows: 64,
        ..FlowConfig::default()
    };
    let mut t = FlowTable::new(cfg);
    let mut ended = Vec::new();
    for i in 0..200u16 {
        t.update(&udp(1, "10.0.0.1", i, "10.0.0.2", 53), &mut |f| {
            ended.push(f)
        });
    }
    assert!(t.len() <= 64);
    assert!(t.stats().evicted > 0);
    assert_eq!(t.stats().evicted as usize, ended.len());
    assert!(ended.iter().all(|e| e.reason == EndReason::Forced));
    assert_eq!(t.stats().created, 200);
}

#[test]
fn syn_after_close_starts_a_new_flow() {
    let mut t = FlowTable::new(FlowConfig::default());
    let mut ended = Vec::new();
    for p in [
        tcp(1, "10.0.0.1", 4000, "10.0.0.2", 80, S),
        tcp(1, "10.0.0.2", 80, "10.0.0.1", 4000, TcpFlags::RST | A),
        tcp(2, "10.0.0.1", 4000, "10.0.0.2", 80, S),
    ] {
        t.update(&p, &mut |f| ended.push(f));
    }
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0].reason, EndReason::TcpReuse);
    assert_eq!(t.len(), 1);
}

#[test]
fn flow_id_is_stable() {
    let mut a = FlowTable::new(FlowConfig::default());
    let mut b = FlowTable::new(FlowConfig::default());
    let p = udp(5, "10.0.0.1", 1, "10.0.0.2", 2);
    let id_a = a.update(&p, &mut |_| {}).0.flow_id();
    let id_b = b.update(&p, &mut |_| {}).0.flow_id();
    assert_eq!(id_a, id_b);
    assert!(id_a < 1 << 53);
}

#[test]
fn a_flow_is_two_cache_lines() {
    assert_eq!(std::mem::size_of::<Flow>(), 128);
}

#[test]
fn syn_after_both_fins_is_a_new_session() {
    let mut t = FlowTable::new(FlowConfig::default());
    let mut ended = Vec::new();
    for p in [
        tcp(1, "10.0.0.1", 4000, "10.0.0.2", 80, S),
        tcp(1, "10.0.0.2", 80, "10.0.0.1", 4000, S | A),
        tcp(1, "10.0.0.1", 4000, "10.0.0.2", 80, A),
        tcp(2, "10.0.0.1", 4000, "10.0.0.2", 80, F | A),
        tcp(2, "10.0.0.2", 80, "10.0.0.1", 4000, F | A),
        tcp(3, "10.0.0.1", 4000, "10.0.0.2", 80, S),
    ] {
        t.update(&p, &mut |f| ended.push(f));
    }
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0].reason, EndReason::TcpReuse);
    assert_eq!(ended[0].flow.pkts, [3, 2]);
    assert_eq!(t.len(), 1);
}

#[test]
fn the_same_inner_flow_through_two_tunnels_is_two_flows() {
    use nta_packet::{TunnelKind, TunnelLayer};
    let layer = |a: &str, b: &str| TunnelLayer {
        kind: TunnelKind::Vxlan,
        src: ip(a),
        dst: ip(b),
        proto: ip_proto::UDP,
        sport: 1,
        dport: 4789,
        vlan: VlanIds::default(),
    };
    let t1 = [layer("192.0.2.1", "192.0.2.2")];
    let t1_back = [layer("192.0.2.2", "192.0.2.1")];
    let t2 = [layer("192.0.2.3", "192.0.2.2")];
    let mut t = FlowTable::new(FlowConfig::default());
    let base = udp(1, "10.0.0.1", 5, "10.0.0.2", 53);
    t.update(
        &PacketView {
            tunnels: &t1,
            ..base
        },
        &mut |_| {},
    );
    let back = udp(1, "10.0.0.2", 53, "10.0.0.1", 5);
    let (f, to_server) = t.update(
        &PacketView {
            tunnels: &t1_back,
            ..back
        },
        &mut |_| {},
    );
    assert!(!to_server);
    assert_eq!(f.pkts, [1, 1]);
    t.update(
        &PacketView {
            tunnels: &t2,
            ..base
        },
        &mut |_| {},
    );
    assert_eq!(t.len(), 2);
}

#[test]
fn eviction_of_flows_sharing_a_timestamp_takes_only_a_sixteenth() {
    let cfg = FlowConfig {
        max_flows: 160,
        ..FlowConfig::default()
    };
    let mut t = FlowTable::new(cfg);
    let mut ended = Vec::new();
    for i in 0..161u16 {
        t.update(&udp(1, "10.0.0.1", i, "10.0.0.2", 53), &mut |f| {
            ended.push(f)
        });
    }
    assert_eq!(t.stats().emergency, 1);
    assert_eq!(ended.len(), 10, "a sixteenth of 160");
    assert_eq!(t.len(), 151);
}

#[test]
fn a_clock_that_jumps_back_resyncs_the_scan() {
    let mut t = FlowTable::new(FlowConfig::default());
    let mut ended = Vec::new();
    // A stray timestamp far in the future sets the next scan far ahead...
    t.expire(4_000_000_000 * NS, &mut |f| ended.push(f));
    // ...then normal traffic: its idle flows must still time out.
    t.update(&udp(100, "10.0.0.1", 1, "10.0.0.2", 53), &mut |f| {
        ended.push(f)
    });
    t.expire(200 * NS, &mut |f| ended.push(f));
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0].reason, EndReason::Timeout);
}
