//! Whole-crate behaviour: ordinary traffic is silent, memory is bounded, state expires,
//! hostile input does not panic.

use super::*;

/// Fifteen minutes of an ordinary small office: 50 clients, a resolver, web browsing, SSH,
/// mail, database sessions, NTP polls every 64 s, a busy DNS resolver, IPv4 and IPv6.
#[test]
fn ordinary_mixed_traffic_is_silent() {
    let mut run = Run::defaults();
    let mut rng = Rng::new(42);
    let resolver = ip("10.1.0.53");
    let client = |i: u64| IpAddr::from([10, 1, 1, (10 + i % 50) as u8]);
    let web: Vec<IpAddr> = (0..40u8).map(|i| IpAddr::from([151, 101, i, 1])).collect();
    let v6web: Vec<IpAddr> = (0..10u16)
        .map(|i| IpAddr::from([0x2a00, 0x1450, 0x4001, i, 0, 0, 0, 0x200e]))
        .collect();
    let names = [
        "www.google.com",
        "fonts.gstatic.com",
        "d1a2b3c4d5e6f7.cloudfront.net",
        "e12345.dscb.akamaiedge.net",
        "outlook.office365.com",
        "teams.microsoft.com",
        "slack.com",
        "wss-primary.slack.com",
        "github.com",
        "api.github.com",
        "www.bbc.co.uk",
        "ocsp.digicert.com",
        "_dmarc.example.com",
        "example.com",
    ];
    // Flows that have started and will end: (end, start, src, dst, dport).
    let mut open: Vec<(u64, u64, IpAddr, IpAddr, u16)> = Vec::new();

    for sec in 0..900u64 {
        let now = T0 + sec * S;
        // A few new flows a second: browsing (443/80) from random clients, sometimes SSH,
        // SMTP from the mail relay, a database session, IPv6 browsing.
        for _ in 0..1 + rng.below(3) {
            let ts = now + rng.below(1_000) * MS;
            let src = client(rng.below(50));
            let (dst, dport, secs) = match rng.below(20) {
                0 => (ip("10.1.0.22"), 22, 60 + rng.below(3_000)),
                1 => (ip("10.1.0.25"), 25, 2 + rng.below(10)),
                2 => (ip("10.1.0.5"), 5432, 300 + rng.below(600)),
                3 => (v6web[rng.below(10) as usize], 443, 5 + rng.below(120)),
                4 => (web[rng.below(40) as usize], 80, 1 + rng.below(30)),
                _ => (web[rng.below(40) as usize], 443, 5 + rng.below(300)),
            };
            let src = if dst.is_ipv6() {
                ip("2001:db8:1::10")
            } else {
                src
            };
            run.feed(flow_start(ts, 6, src, dst, dport));
            run.feed(packets(ts, PacketKind::Syn, src, dst, 1));
            run.feed(packets(ts + MS, PacketKind::SynAck, dst, src, 1));
            open.push((ts + secs * S, ts, src, dst, dport));
        }
        // The browsing user: every 20-40 s a page pulls from 5 to 15 servers.
        if sec % (20 + rng.below(20)) == 0 {
            let user = ip("10.1.1.7");
            for _ in 0..5 + rng.below(10) {
                let ts = now + rng.below(800) * MS;
                let dst = web[rng.below(40) as usize];
                run.feed(dns(
                    ts,
                    user,
                    resolver,
                    names[rng.below(names.len() as u64) as usize],
                    1,
                ));
                run.feed(flow_start(ts + 20 * MS, 6, user, dst, 443));
                open.push((ts + (5 + rng.below(60)) * S, ts, user, dst, 443));
            }
        }
        // DNS lookups of ordinary names, and the resolver's answers.
        for _ in 0..5 {
            let src = client(rng.below(50));
            let name = names[rng.below(names.len() as u64) as usize];
            let qtype = if name.starts_with("_dmarc") {
                16
            } else {
                [1, 28][rng.below(2) as usize]
            };
            run.feed(dns(now + rng.below(1_000) * MS, src, resolver, name, qtype));
            run.feed(flow_start(now, 17, src, resolver, 53));
        }
        // The resolver is busy: 30,000 queries a second from the site's forwarders, answered.
        for f in 0..3u8 {
            let fwd = IpAddr::from([10, 2, 0, f]);
            run.feed(packets(now, PacketKind::Udp, fwd, resolver, 10_000));
            run.feed(packets(now + MS, PacketKind::Udp, resolver, fwd, 9_980));
        }
        // NTP: three servers polled every 64 s, exactly.
        if sec % 64 == 0 {
            for n in 0..3u8 {
                let server = IpAddr::from([10, 1, 0, 120 + n]);
                run.feed(flow_start(now, 17, ip("10.1.0.1"), server, 123));
                run.feed(packets(now, PacketKind::Udp, ip("10.1.0.1"), server, 1));
                run.feed(packets(
                    now + 2 * MS,
                    PacketKind::Udp,
                    server,
                    ip("10.1.0.1"),
                    1,
                ));
            }
        }
        // A monitoring host pings a few routers now and then.
        if sec % 10 == 0 {
            for r in 0..5u8 {
                run.feed(packets(
                    now,
                    PacketKind::IcmpEchoRequest,
                    ip("10.1.0.9"),
                    IpAddr::from([10, 1, 255, r]),
                    1,
                ));
            }
        }
        // A user mistypes a password twice.
        if sec == 300 || sec == 305 {
            run.feed(auth_failure(now, client(3), ip("10.1.0.80"), 443, "http"));
        }
        // Flows ending now, reported when the flow table lets them go.
        open.sort_unstable_by_key(|f| std::cmp::Reverse(f.0));
        while open.last().is_some_and(|f| f.0 <= now) {
            let (end, start, src, dst, dport) = open.pop().unwrap();
            run.feed(tcp_end(start, end, src, dst, dport, true));
        }
        run.tick(now + S);
    }
    assert!(run.alerts.is_empty(), "{:#?}", run.alerts);
    assert!(run.detectors.tracked() > 0);
    assert_eq!(run.detectors.evicted(), 0);
}

/// A million distinct sources, each seen once, with `max_tracked = 1000`.
#[test]
fn memory_is_bounded() {
    let mut run = Run::with(|c| c.max_tracked = 1_000);
    let dst = ip("10.0.0.1");
    for i in 0..1_000_000u64 {
        let src = if i % 2 == 0 {
            IpAddr::from([
                (i >> 24) as u8 | 1,
                (i >> 16) as u8,
                (i >> 8) as u8,
                i as u8,
            ])
        } else {
            IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, (i >> 16) as u16, i as u16])
        };
        let ts = T0 + i * 10_000; // 10 µs apart: all within one window
        let obs = match i % 8 {
            0 => flow_start(ts, 6, src, dst, (i % 65_536) as u16),
            1 => packets(ts, PacketKind::Syn, dst, src, 1),
            2 => packets(ts, PacketKind::Udp, dst, src, 1),
            3 => packets(ts, PacketKind::IcmpEchoRequest, src, src, 1),
            4 => auth_failure(ts, src, dst, 22, "ssh"),
            5 => dns(ts, src, dst, &format!("{i:0>40}.{i}.tunnel.example"), 16),
            6 => flow_start(ts, 17, src, dst, 5_000),
            _ => tcp_end(ts - S, ts, src, dst, 22, true),
        };
        run.feed(obs);
        if i % 100_000 == 0 {
            run.tick(ts);
        }
    }
    let tracked = run.detectors.tracked();
    assert!(tracked <= 8 * 1_000, "{tracked}");
    for s in run.detectors.stats() {
        assert!(s.tracked <= 1_000, "{s:?}");
        assert!(s.evicted > 0, "{s:?}");
    }
    assert!(run.detectors.evicted() > 0);
    // Everything idles out.
    run.tick(T0 + 100_000 * S);
    assert_eq!(run.detectors.tracked(), 0);
}

#[test]
fn a_detectors_own_max_tracked_overrides() {
    let mut run = Run::with(|c| {
        c.max_tracked = 10;
        c.port_scan.max_tracked = Some(100);
    });
    for i in 0..1_000u32 {
        run.feed(flow_start(
            T0,
            6,
            IpAddr::from(i.to_be_bytes()),
            ip("10.0.0.1"),
            80,
        ));
    }
    let stats = run.detectors.stats();
    assert_eq!(stats[0].tracked, 100);
    assert_eq!(stats[0].evicted, 900);
    assert_eq!(stats[1].tracked, 10);
}

#[test]
fn everything_expires_after_tick() {
    let mut run = Run::defaults();
    let (a, b) = (ip("10.0.0.1"), ip("10.0.0.2"));
    run.feed(flow_start(T0, 6, a, b, 443));
    run.feed(packets(T0, PacketKind::Syn, a, b, 1));
    run.feed(packets(T0, PacketKind::Udp, a, b, 1));
    run.feed(packets(T0, PacketKind::IcmpEchoRequest, a, b, 1));
    run.feed(auth_failure(T0, a, b, 22, "ssh"));
    run.feed(dns(T0, a, b, &"x".repeat(80), 1));
    // port_scan, host_sweep, beaconing, syn, udp, icmp, icmp sweep, brute force, dns
    assert_eq!(run.detectors.tracked(), 9);
    run.tick(T0 + 59 * S);
    assert_eq!(
        run.detectors.tracked(),
        6,
        "the floods' 10 s windows have passed"
    );
    run.tick(T0 + 61 * S);
    assert_eq!(
        run.detectors.tracked(),
        1,
        "the beacon key waits 2 × max_interval_secs"
    );
    run.tick(T0 + 7_201 * S);
    assert_eq!(run.detectors.tracked(), 0);
    // An older tick does not move time back.
    run.tick(T0);
    assert_eq!(run.detectors.now_ns(), T0 + 7_201 * S);
}

/// Random and extreme observations: no panic, no overflow, alerts well formed.
#[test]
fn hostile_input_does_not_panic() {
    let mut run = Run::with(|c| {
        c.port_scan.distinct_ports = 3;
        c.host_sweep.distinct_hosts = 3;
        c.syn_flood.syn_per_sec = 1;
        c.udp_flood.packets_per_sec = 1;
        c.icmp_flood.packets_per_sec = 1;
        c.brute_force.attempts = 2;
        c.dns_tunnel.suspicious_names = 2;
        c.dns_tunnel.txt_null_names = 2;
        c.beaconing.min_connections = 3;
        c.beaconing.min_interval_secs = 1;
        c.max_tracked = 64;
    });
    let mut rng = Rng::new(99);
    let names = [
        "",
        ".",
        "..",
        "a..b...",
        "é.日本語.example",
        "xn--bcher-kva.example",
        "\u{0}\u{7f}.\\000.example",
        "UPPER.Case.CO.UK.",
    ];
    let times = [0, 1, u64::MAX, u64::MAX - 1, T0, T0 - S, 1 << 63];
    let counts = [0, 1, u64::MAX];
    for i in 0..200_000u64 {
        let r = rng.next_u64();
        let ts = if r.is_multiple_of(7) {
            times[(r >> 8) as usize % times.len()]
        } else {
            T0 + (i / 10) * S - (r >> 20) % (20 * S) // jittered, sometimes older
        };
        let pick = |k: u64| -> IpAddr {
            if k.is_multiple_of(3) {
                IpAddr::from([0u16, 0, 0, 0, 0, 0xffff, 0x0a00, (k >> 4) as u16 % 4])
            } else if k % 3 == 1 {
                IpAddr::from([10, 0, 0, (k >> 4) as u8 % 4])
            } else {
                IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, (k >> 4) as u16 % 4])
            }
        };
        let (src, dst) = (pick(r >> 3), pick(r >> 13));
        let count = counts[(r >> 30) as usize % counts.len()];
        let name = if r.is_multiple_of(5) {
            "z".repeat((r >> 40) as usize % 3_000)
        } else {
            let base = names[(r >> 24) as usize % names.len()];
            format!(
                "{}{base}",
                rng.label((r >> 50) as usize % 70, b"ab7\xc3.".as_slice())
            )
        };
        let obs = match (r >> 33) % 9 {
            0 => flow_start(
                ts,
                [6, 17, 1, 0, 255][(r >> 36) as usize % 5],
                src,
                dst,
                (r >> 40) as u16,
            ),
            1 => Observation::FlowEnd {
                ts_ns: ts,
                proto: 6,
                src,
                sport: 0,
                dst,
                dport: 22,
                start_ns: times[(r >> 41) as usize % times.len()],
                pkts: [u64::MAX, 0],
                bytes: [0, u64::MAX],
                tcp: [
                    None,
                    Some(TcpSummary::default()),
                    Some(TcpSummary {
                        syn: true,
                        ..Default::default()
                    }),
                ][(r >> 45) as usize % 3],
                app_proto: Some("ssh".into()),
            },
            2 => packets(ts, PacketKind::Syn, src, dst, count),
            3 => packets(ts, PacketKind::SynAck, src, dst, count),
            4 => Observation::Packets {
                ts_ns: ts,
                kind: PacketKind::Udp,
                src,
                dst,
                count,
                bytes: u64::MAX,
            },
            5 => packets(ts, PacketKind::IcmpEchoRequest, src, dst, count),
            6 => dns(
                ts,
                src,
                dst,
                &name,
                [1, 10, 16, 0, 65_535][(r >> 36) as usize % 5],
            ),
            7 => auth_failure(ts, src, dst, 0, &"ß".repeat((r >> 40) as usize % 40)),
            _ => {
                run.tick(ts);
                continue;
            }
        };
        run.feed(obs);
    }
    assert!(!run.alerts.is_empty());
    for a in &run.alerts {
        assert!(
            (1..=8).contains(&a.sid) && (1..=3).contains(&a.severity),
            "{a:?}"
        );
        assert!(!a.signature.is_empty());
        assert!(serde_json::to_string(a).is_ok());
        if let Some(example) = a.metadata.get("example") {
            assert!(example.as_str().unwrap().len() <= 128);
        }
    }
    assert!(run.detectors.tracked() <= 8 * 64);
}
