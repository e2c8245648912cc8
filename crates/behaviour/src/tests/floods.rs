//! sid 3 `syn_flood`, sid 4 `udp_flood`, sid 5 `icmp_flood`.

use super::*;

const VICTIM: &str = "10.0.0.80";
const ATTACKER: &str = "203.0.113.7";

/// Per-second aggregates of `kind` from `src` to `dst`, `rate` a second, for `secs` seconds.
fn per_second(run: &mut Run, kind: PacketKind, src: &str, dst: &str, rate: u64, secs: u64) {
    for s in 0..secs {
        run.feed(packets(T0 + s * S, kind, ip(src), ip(dst), rate));
    }
}

// --- syn_flood -----------------------------------------------------------------------------

#[test]
fn syn_flood_unanswered_alerts_once_with_evidence() {
    let mut run = Run::defaults();
    per_second(&mut run, PacketKind::Syn, ATTACKER, VICTIM, 1_000, 10);
    let a = run.only();
    assert_eq!((a.sid, a.detector, a.severity), (3, "syn_flood", 2));
    assert_eq!(a.category, "Attempted Denial of Service");
    assert_eq!((a.proto, a.src, a.dst), (6, ip(ATTACKER), Some(ip(VICTIM))));
    assert_eq!(a.ts_ns, T0 + 9 * S);
    assert_eq!(
        a.signature,
        "NTA SYN flood towards 10.0.0.80: 1000 SYN/s over 10 s, 100% half-open"
    );
    let m = &a.metadata;
    assert_eq!(m["syns"], 10_000);
    assert_eq!(m["syn_per_sec"], 1000.0);
    assert_eq!(m["threshold_per_sec"], 1000);
    assert_eq!(m["syn_acks"], 0);
    assert_eq!(m["half_open_ratio"], 1.0);
    assert_eq!(m["unanswered_ratio"], 1.0);
    assert_eq!(m["ratio_threshold"], 0.8);
}

#[test]
fn syn_flood_just_under_the_rate_is_silent() {
    let mut run = Run::defaults();
    per_second(&mut run, PacketKind::Syn, ATTACKER, VICTIM, 999, 60);
    assert!(run.alerts.is_empty());
}

#[test]
fn syn_flood_ratio_threshold() {
    // 19% answered: 81% half-open, alert; 25% answered: 75%, silent.
    for (answered, alerts) in [(190, 1), (250, 0)] {
        let mut run = Run::defaults();
        for s in 0..10 {
            run.feed(packets(
                T0 + s * S,
                PacketKind::Syn,
                ip(ATTACKER),
                ip(VICTIM),
                1_000,
            ));
            run.feed(packets(
                T0 + s * S,
                PacketKind::SynAck,
                ip(VICTIM),
                ip(ATTACKER),
                answered,
            ));
        }
        assert_eq!(run.alerts.len(), alerts, "answered {answered}");
    }
}

#[test]
fn syn_flood_against_an_open_port_shows_in_failed_handshakes() {
    // The target answers every SYN; the spoofed clients never complete. The flow table
    // reports the half-open flows when they time out, 60 s later.
    let mut run = Run::defaults();
    for s in 0..80u64 {
        let t = T0 + s * S;
        run.feed(packets(t, PacketKind::Syn, ip(ATTACKER), ip(VICTIM), 1_500));
        run.feed(packets(
            t,
            PacketKind::SynAck,
            ip(VICTIM),
            ip(ATTACKER),
            1_500,
        ));
        if s >= 60 {
            for _ in 0..1_500 {
                run.feed(tcp_end(
                    t - 60 * S,
                    t - 60 * S,
                    ip(ATTACKER),
                    ip(VICTIM),
                    80,
                    false,
                ));
            }
        }
        assert!(
            s >= 60 || run.alerts.is_empty(),
            "answered, nothing ended yet"
        );
    }
    // Once 80% of the window's SYNs are reported half-open (at 67 s), and again after the
    // 10 s cooldown.
    assert_eq!(run.sids(), [3, 3]);
    let a = &run.alerts[0];
    assert_eq!(a.ts_ns, T0 + 67 * S);
    assert_eq!(a.metadata["unanswered_ratio"], 0.0);
    assert_eq!(a.metadata["failed_handshake_ratio"], 0.8);
    assert_eq!(a.metadata["failed_handshakes"], 12_000);
    assert_eq!(a.metadata["ended_flows"], 12_000);
}

#[test]
fn busy_server_completing_handshakes_is_silent() {
    let mut run = Run::defaults();
    for s in 0..120u64 {
        let t = T0 + s * S;
        run.feed(packets(t, PacketKind::Syn, ip(ATTACKER), ip(VICTIM), 3_000));
        run.feed(packets(
            t,
            PacketKind::SynAck,
            ip(VICTIM),
            ip(ATTACKER),
            3_000,
        ));
        for i in 0..300 {
            // A tenth of the flows end each second; 5% of those never completed.
            run.feed(tcp_end(
                t - 5 * S,
                t,
                ip(ATTACKER),
                ip(VICTIM),
                443,
                i % 20 != 0,
            ));
        }
    }
    assert!(run.alerts.is_empty(), "{:#?}", run.alerts);
}

#[test]
fn syn_flood_cooldown_disabled_and_networks() {
    let mut run = Run::defaults();
    per_second(&mut run, PacketKind::Syn, ATTACKER, VICTIM, 2_000, 30);
    // 10,000 SYNs in the window (an average of 1000/s) at 4 s, then one alert per 10 s
    // cooldown: 14 s, 24 s.
    assert_eq!(run.sids(), [3, 3, 3]);
    let mut run = Run::with(|c| c.syn_flood.cooldown_secs = Some(3_600));
    per_second(&mut run, PacketKind::Syn, ATTACKER, VICTIM, 2_000, 30);
    assert_eq!(run.sids(), [3]);

    let mut run = Run::with(|c| c.syn_flood.enabled = false);
    per_second(&mut run, PacketKind::Syn, ATTACKER, VICTIM, 5_000, 30);
    assert!(run.alerts.is_empty());

    // Destination-centric: the networks select the target.
    let mut run = Run::with(|c| c.syn_flood.networks = vec!["203.0.113.0/24".into()]);
    per_second(&mut run, PacketKind::Syn, ATTACKER, VICTIM, 5_000, 30);
    assert!(run.alerts.is_empty());
    let mut run = Run::with(|c| c.syn_flood.networks = vec!["10.0.0.0/24".into()]);
    per_second(&mut run, PacketKind::Syn, ATTACKER, VICTIM, 5_000, 10);
    assert_eq!(run.sids(), [3]);
}

#[test]
fn many_spoofed_sources_one_packet_each() {
    let mut run = Run::defaults();
    for i in 0..10_000u64 {
        let src = IpAddr::from([198, 51, (i >> 8) as u8, i as u8]);
        run.feed(packets(T0 + i * MS, PacketKind::Syn, src, ip(VICTIM), 1));
    }
    let a = run.only();
    assert_eq!(
        a.src,
        ip("198.51.39.15"),
        "the last sender: 9,999 = 39 × 256 + 15"
    );
    assert_eq!(run.detectors.stats()[2].tracked, 1, "one key: the target");
}

// --- udp_flood -----------------------------------------------------------------------------

#[test]
fn udp_flood_alerts_once_with_evidence() {
    let mut run = Run::defaults();
    per_second(&mut run, PacketKind::Udp, ATTACKER, VICTIM, 10_000, 10);
    let a = run.only();
    assert_eq!((a.sid, a.detector, a.proto), (4, "udp_flood", 17));
    assert_eq!((a.src, a.dst), (ip(ATTACKER), Some(ip(VICTIM))));
    assert_eq!(
        a.signature,
        "NTA UDP flood towards 10.0.0.80: 10000 packets/s over 10 s, 100% unanswered"
    );
    assert_eq!(a.metadata["packets"], 100_000);
    assert_eq!(a.metadata["bytes"], 10_000_000);
    assert_eq!(a.metadata["replies"], 0);
    assert_eq!(a.metadata["unanswered_ratio"], 1.0);
}

#[test]
fn udp_flood_just_under_is_silent() {
    let mut run = Run::defaults();
    per_second(&mut run, PacketKind::Udp, ATTACKER, VICTIM, 9_999, 60);
    assert!(run.alerts.is_empty());
}

#[test]
fn busy_dns_server_and_quic_download_are_silent() {
    let mut run = Run::defaults();
    let resolver = "10.0.0.53";
    for s in 0..60u64 {
        let t = T0 + s * S;
        // 40,000 queries a second from 20 clients, all answered.
        for c in 0..20u8 {
            let client = IpAddr::from([10, 0, 1, c]);
            run.feed(packets(t, PacketKind::Udp, client, ip(resolver), 2_000));
            run.feed(packets(
                t + 2 * MS,
                PacketKind::Udp,
                ip(resolver),
                client,
                1_990,
            ));
        }
        // A QUIC download: 50,000 packets a second in, one ACK for every five.
        run.feed(packets(
            t,
            PacketKind::Udp,
            ip("142.250.1.1"),
            ip("10.0.1.7"),
            50_000,
        ));
        run.feed(packets(
            t,
            PacketKind::Udp,
            ip("10.0.1.7"),
            ip("142.250.1.1"),
            10_000,
        ));
    }
    assert!(run.alerts.is_empty(), "{:#?}", run.alerts);
}

#[test]
fn udp_flood_answered_a_little_still_alerts() {
    let mut run = Run::defaults();
    for s in 0..10u64 {
        run.feed(packets(
            T0 + s * S,
            PacketKind::Udp,
            ip(ATTACKER),
            ip(VICTIM),
            20_000,
        ));
        run.feed(packets(
            T0 + s * S,
            PacketKind::Udp,
            ip(VICTIM),
            ip(ATTACKER),
            200,
        ));
    }
    let a = run.only();
    // At 4 s: 100,000 datagrams in the window, 4 × 200 answered.
    assert_eq!(a.ts_ns, T0 + 4 * S);
    assert_eq!(a.metadata["replies"], 800);
    assert_eq!(a.metadata["unanswered_ratio"], 0.992);
}

#[test]
fn udp_flood_cooldown_disabled_and_networks() {
    let mut run = Run::defaults();
    per_second(&mut run, PacketKind::Udp, ATTACKER, VICTIM, 20_000, 30);
    assert_eq!(run.sids(), [4, 4, 4], "at 4 s, 14 s, 24 s");
    let mut run = Run::with(|c| c.udp_flood.enabled = false);
    per_second(&mut run, PacketKind::Udp, ATTACKER, VICTIM, 20_000, 30);
    assert!(run.alerts.is_empty());
    let mut run = Run::with(|c| c.udp_flood.networks = vec!["!10.0.0.80".into()]);
    per_second(&mut run, PacketKind::Udp, ATTACKER, VICTIM, 20_000, 30);
    assert!(run.alerts.is_empty());
}

// --- icmp_flood ----------------------------------------------------------------------------

#[test]
fn icmp_flood_alerts_once_and_under_is_silent() {
    let mut run = Run::defaults();
    per_second(
        &mut run,
        PacketKind::IcmpEchoRequest,
        ATTACKER,
        VICTIM,
        1_000,
        10,
    );
    let a = run.only();
    assert_eq!((a.sid, a.detector, a.proto), (5, "icmp_flood", 1));
    assert_eq!((a.src, a.dst), (ip(ATTACKER), Some(ip(VICTIM))));
    assert_eq!(
        a.signature,
        "NTA ICMP echo flood towards 10.0.0.80: 1000 requests/s over 10 s"
    );
    assert_eq!(a.metadata["packets"], 10_000);
    assert_eq!(a.metadata["packets_per_sec"], 1000.0);

    let mut run = Run::defaults();
    per_second(
        &mut run,
        PacketKind::IcmpEchoRequest,
        ATTACKER,
        VICTIM,
        999,
        60,
    );
    assert!(run.alerts.is_empty());
}

#[test]
fn icmpv6_flood_cooldown_disabled_and_networks() {
    let mut run = Run::defaults();
    per_second(
        &mut run,
        PacketKind::IcmpEchoRequest,
        "2001:db8::7",
        "2001:db8::80",
        5_000,
        25,
    );
    assert_eq!(run.sids(), [5, 5, 5], "at 1 s, 11 s, 21 s");
    assert_eq!(run.alerts[0].proto, 58);
    let mut run = Run::with(|c| c.icmp_flood.enabled = false);
    per_second(
        &mut run,
        PacketKind::IcmpEchoRequest,
        ATTACKER,
        VICTIM,
        5_000,
        25,
    );
    assert!(run.alerts.is_empty());
    let mut run = Run::with(|c| c.icmp_flood.networks = vec!["192.0.2.0/24".into()]);
    per_second(
        &mut run,
        PacketKind::IcmpEchoRequest,
        ATTACKER,
        VICTIM,
        5_000,
        25,
    );
    assert!(run.alerts.is_empty());
}

#[test]
fn flood_state_expires_on_tick() {
    let mut run = Run::defaults();
    per_second(&mut run, PacketKind::Syn, ATTACKER, VICTIM, 10, 5);
    per_second(&mut run, PacketKind::Udp, ATTACKER, VICTIM, 10, 5);
    per_second(
        &mut run,
        PacketKind::IcmpEchoRequest,
        ATTACKER,
        VICTIM,
        10,
        5,
    );
    assert_eq!(
        run.detectors.tracked(),
        3 + 1,
        "three floods and the ping sweep key"
    );
    run.tick(T0 + 15 * S);
    assert_eq!(run.detectors.tracked(), 1, "the 60 s sweep key remains");
    run.tick(T0 + 65 * S);
    assert_eq!(run.detectors.tracked(), 0);
}
