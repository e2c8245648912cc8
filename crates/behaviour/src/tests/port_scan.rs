use super::*;

/// `n` TCP probes from `src` to distinct ports of `dst`, one every `gap` ns from `start`.
fn scan(run: &mut Run, src: IpAddr, dst: IpAddr, n: u16, start: u64, gap: u64) {
    for i in 0..n {
        run.feed(flow_start(start + u64::from(i) * gap, 6, src, dst, 1 + i));
    }
}

#[test]
fn just_over_the_threshold_alerts_once_with_evidence() {
    let mut run = Run::defaults();
    scan(&mut run, ip("10.0.0.5"), ip("10.0.0.9"), 100, T0, 500 * MS);
    let a = run.only();
    assert_eq!((a.sid, a.rev, a.detector), (1, 1, "port_scan"));
    assert_eq!(a.category, "Attempted Information Leak");
    assert_eq!(a.severity, 2);
    assert_eq!(
        (a.proto, a.src, a.dst),
        (6, ip("10.0.0.5"), Some(ip("10.0.0.9")))
    );
    assert_eq!((a.sport, a.dport), (None, None));
    assert_eq!(a.ts_ns, T0 + 99 * 500 * MS, "the probe that crossed");
    assert_eq!(
        a.signature,
        "NTA vertical port scan from 10.0.0.5 to 10.0.0.9: 100 TCP ports in 60 s"
    );
    let m = &a.metadata;
    assert_eq!(m["distinct_ports"], 100);
    assert_eq!(m["threshold"], 100);
    assert_eq!(m["window_secs"], 60);
    assert_eq!(m["span_secs"], 49.5);
    assert_eq!(m["proto"], "tcp");
    let ports = m["ports"].as_array().unwrap();
    assert_eq!(ports.len(), 32);
    assert_eq!(ports[0], 1);
}

#[test]
fn just_under_the_threshold_is_silent() {
    let mut run = Run::defaults();
    scan(&mut run, ip("10.0.0.5"), ip("10.0.0.9"), 99, T0, 500 * MS);
    // The same ports again, and other protocols' flows, add nothing.
    scan(
        &mut run,
        ip("10.0.0.5"),
        ip("10.0.0.9"),
        99,
        T0 + 50 * S,
        10 * MS,
    );
    run.feed(flow_start(
        T0 + 51 * S,
        17,
        ip("10.0.0.5"),
        ip("10.0.0.9"),
        5353,
    ));
    run.feed(flow_start(
        T0 + 51 * S,
        1,
        ip("10.0.0.5"),
        ip("10.0.0.9"),
        7,
    ));
    assert!(run.alerts.is_empty(), "{:#?}", run.alerts);
}

#[test]
fn ports_outside_the_window_do_not_count() {
    let mut run = Run::defaults();
    // 150 ports over 150 s: never 100 within 60 s.
    scan(&mut run, ip("10.0.0.5"), ip("10.0.0.9"), 150, T0, S);
    assert!(run.alerts.is_empty());
    // But a burst of 100 straddling two "minutes" is one scan.
    let mut run = Run::defaults();
    run.feed(flow_start(T0, 6, ip("10.0.0.5"), ip("10.0.0.9"), 8080));
    scan(
        &mut run,
        ip("10.0.0.5"),
        ip("10.0.0.9"),
        100,
        T0 + 50 * S,
        200 * MS,
    );
    assert_eq!(run.sids(), [1]);
}

#[test]
fn udp_and_ipv6_scans() {
    let mut run = Run::defaults();
    for i in 0..100u16 {
        run.feed(flow_start(
            T0 + u64::from(i) * MS,
            17,
            ip("2001:db8::5"),
            ip("2001:db8::9"),
            i,
        ));
    }
    let a = run.only();
    assert_eq!((a.proto, a.src), (17, ip("2001:db8::5")));
    assert!(a.signature.contains("100 UDP ports"), "{}", a.signature);
}

#[test]
fn a_long_scan_gives_one_alert_per_cooldown() {
    // 10,000 ports in 10 s: one alert.
    let mut run = Run::defaults();
    scan(&mut run, ip("10.0.0.5"), ip("10.0.0.9"), 10_000, T0, MS);
    assert_eq!(run.sids(), [1]);
    // 10,000 ports over 100 s: one alert, a second after the 60 s cooldown.
    let mut run = Run::defaults();
    scan(
        &mut run,
        ip("10.0.0.5"),
        ip("10.0.0.9"),
        10_000,
        T0,
        10 * MS,
    );
    assert_eq!(run.sids(), [1, 1]);
    let gap = run.alerts[1].ts_ns - run.alerts[0].ts_ns;
    assert!((60 * S..61 * S).contains(&gap), "{gap}");
    // A configured cooldown of 1000 s: one alert.
    let mut run = Run::with(|c| c.port_scan.cooldown_secs = Some(1_000));
    scan(
        &mut run,
        ip("10.0.0.5"),
        ip("10.0.0.9"),
        10_000,
        T0,
        10 * MS,
    );
    assert_eq!(run.sids(), [1]);
}

#[test]
fn each_target_is_its_own_key() {
    let mut run = Run::defaults();
    scan(&mut run, ip("10.0.0.5"), ip("10.0.0.9"), 100, T0, MS);
    scan(&mut run, ip("10.0.0.5"), ip("10.0.0.10"), 100, T0, MS);
    scan(&mut run, ip("10.0.0.6"), ip("10.0.0.9"), 100, T0, MS);
    assert_eq!(run.sids(), [1, 1, 1]);
}

#[test]
fn disabled_is_silent() {
    let mut run = Run::with(|c| c.port_scan.enabled = false);
    scan(&mut run, ip("10.0.0.5"), ip("10.0.0.9"), 1_000, T0, MS);
    assert!(run.alerts.is_empty());
}

#[test]
fn networks_select_the_source() {
    let watch = |nets: &[&str]| {
        let mut run =
            Run::with(|c| c.port_scan.networks = nets.iter().map(|s| s.to_string()).collect());
        scan(&mut run, ip("10.0.0.5"), ip("192.168.1.9"), 100, T0, MS);
        run.alerts.len()
    };
    assert_eq!(watch(&["10.0.0.0/8"]), 1);
    assert_eq!(
        watch(&["192.168.0.0/16"]),
        0,
        "the destination does not select"
    );
    assert_eq!(watch(&["10.0.0.0/8", "!10.0.0.5"]), 0);
    assert_eq!(watch(&["!10.0.0.6/32"]), 1);
}

#[test]
fn thresholds_and_windows_are_configurable() {
    let mut run = Run::with(|c| {
        c.port_scan.distinct_ports = 20;
        c.port_scan.window_secs = 5;
    });
    scan(&mut run, ip("10.0.0.5"), ip("10.0.0.9"), 19, T0, 250 * MS);
    assert!(run.alerts.is_empty());
    scan(
        &mut run,
        ip("10.0.0.5"),
        ip("10.0.0.9"),
        30,
        T0 + 20 * S,
        100 * MS,
    );
    assert_eq!(run.sids(), [1]);
    assert_eq!(run.alerts[0].metadata["window_secs"], 5);
}

#[test]
fn state_expires_on_tick() {
    let mut run = Run::defaults();
    scan(&mut run, ip("10.0.0.5"), ip("10.0.0.9"), 50, T0, MS);
    run.tick(T0 + 30 * S);
    assert!(run.detectors.stats()[0].tracked == 1);
    run.tick(T0 + 61 * S);
    assert_eq!(run.detectors.stats()[0].tracked, 0);
    // Starting over: 50 more ports are not a scan.
    scan(
        &mut run,
        ip("10.0.0.5"),
        ip("10.0.0.9"),
        50,
        T0 + 62 * S,
        MS,
    );
    assert!(run.alerts.is_empty());
}
