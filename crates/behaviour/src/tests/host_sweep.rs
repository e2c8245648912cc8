use super::*;

/// Host `i` of 10.1.0.0/16.
fn host(i: u32) -> IpAddr {
    IpAddr::from([10, 1, (i >> 8) as u8, i as u8])
}

/// `n` TCP flows from `src` to port `dport` of distinct hosts, one every `gap` ns.
fn sweep(run: &mut Run, src: IpAddr, dport: u16, n: u32, start: u64, gap: u64) {
    for i in 0..n {
        run.feed(flow_start(
            start + u64::from(i) * gap,
            6,
            src,
            host(i),
            dport,
        ));
    }
}

#[test]
fn just_over_the_threshold_alerts_once_with_evidence() {
    let mut run = Run::defaults();
    sweep(&mut run, ip("10.0.0.5"), 445, 50, T0, S);
    let a = run.only();
    assert_eq!((a.sid, a.detector, a.severity), (2, "host_sweep", 2));
    assert_eq!(a.category, "Attempted Information Leak");
    assert_eq!(
        (a.proto, a.src, a.dst, a.dport),
        (6, ip("10.0.0.5"), None, Some(445))
    );
    assert_eq!(
        a.signature,
        "NTA horizontal sweep from 10.0.0.5: 50 hosts on TCP port 445 in 60 s"
    );
    assert_eq!(a.metadata["distinct_hosts"], 50);
    assert_eq!(a.metadata["dport"], 445);
    assert_eq!(a.metadata["span_secs"], 49.0);
    let hosts = a.metadata["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 16);
    assert_eq!(hosts[0], "10.1.0.0");
}

#[test]
fn just_under_the_threshold_is_silent() {
    let mut run = Run::defaults();
    sweep(&mut run, ip("10.0.0.5"), 445, 49, T0, S);
    // Other ports are other keys.
    sweep(&mut run, ip("10.0.0.5"), 139, 49, T0, S);
    // UDP to the same port is another key too.
    for i in 0..10 {
        run.feed(flow_start(
            T0 + 10 * S,
            17,
            ip("10.0.0.5"),
            host(100 + i),
            445,
        ));
    }
    assert!(run.alerts.is_empty(), "{:#?}", run.alerts);
}

#[test]
fn ping_sweeps_ipv4_and_ipv6() {
    let mut run = Run::defaults();
    for i in 0..50 {
        run.feed(packets(
            T0 + u64::from(i) * 100 * MS,
            PacketKind::IcmpEchoRequest,
            ip("10.0.0.5"),
            host(i),
            1,
        ));
    }
    let a = run.only();
    assert_eq!((a.sid, a.proto, a.dport), (2, 1, None));
    assert_eq!(a.metadata["icmp_echo"], true);
    assert_eq!(
        a.signature,
        "NTA horizontal sweep from 10.0.0.5: 50 hosts pinged (ICMP echo) in 60 s"
    );
    let mut run = Run::defaults();
    for i in 0..50u16 {
        let dst = IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 1, i]);
        run.feed(packets(
            T0,
            PacketKind::IcmpEchoRequest,
            ip("2001:db8::5"),
            dst,
            3,
        ));
    }
    assert_eq!(run.only().proto, 58);
}

#[test]
fn cooldown_then_a_second_alert() {
    let mut run = Run::defaults();
    // 2,000 hosts at 20 per second: 100 s.
    sweep(&mut run, ip("10.0.0.5"), 22, 2_000, T0, 50 * MS);
    assert_eq!(run.sids(), [2, 2]);
    let mut run = Run::with(|c| c.host_sweep.cooldown_secs = Some(600));
    sweep(&mut run, ip("10.0.0.5"), 22, 2_000, T0, 50 * MS);
    assert_eq!(run.sids(), [2]);
}

#[test]
fn disabled_is_silent() {
    let mut run = Run::with(|c| c.host_sweep.enabled = false);
    sweep(&mut run, ip("10.0.0.5"), 445, 500, T0, MS);
    assert!(run.alerts.is_empty());
}

#[test]
fn networks_select_the_source() {
    let mut run = Run::with(|c| c.host_sweep.networks = vec!["10.1.0.0/16".into()]);
    sweep(&mut run, ip("10.0.0.5"), 445, 500, T0, MS);
    assert!(
        run.alerts.is_empty(),
        "targets are in 10.1/16, the source is not"
    );
    let mut run = Run::with(|c| c.host_sweep.networks = vec!["10.0.0.0/24".into()]);
    sweep(&mut run, ip("10.0.0.5"), 445, 500, T0, MS);
    assert_eq!(run.sids(), [2]);
}

#[test]
fn state_expires_on_tick() {
    let mut run = Run::defaults();
    sweep(&mut run, ip("10.0.0.5"), 445, 40, T0, MS);
    run.tick(T0 + 70 * S);
    assert_eq!(run.detectors.stats()[1].tracked, 0);
    sweep(&mut run, ip("10.0.0.5"), 445, 40, T0 + 71 * S, MS);
    assert!(run.alerts.is_empty());
}
