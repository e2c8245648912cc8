use super::*;

const IMPLANT: &str = "10.0.0.77";
const C2: &str = "192.0.2.200";

/// `n` TCP connections to C2:443, every `interval` ns give or take `jitter_pct` per cent.
fn beacon(run: &mut Run, n: u64, interval: u64, jitter_pct: u64, dport: u16, rng: &mut Rng) {
    let mut t = T0;
    for _ in 0..n {
        run.feed(flow_start(t, 6, ip(IMPLANT), ip(C2), dport));
        let jitter = if jitter_pct == 0 {
            0
        } else {
            interval * rng.below(2 * jitter_pct + 1) / 100
        };
        t += interval - interval * jitter_pct / 100 + jitter;
    }
}

#[test]
fn regular_connections_alert_once_with_evidence() {
    let mut run = Run::defaults();
    beacon(&mut run, 8, 60 * S, 0, 443, &mut Rng::new(1));
    let a = run.only();
    assert_eq!((a.sid, a.detector, a.severity), (8, "beaconing", 3));
    assert_eq!(a.category, "Misc activity");
    assert_eq!(
        (a.proto, a.src, a.dst, a.dport),
        (6, ip(IMPLANT), Some(ip(C2)), Some(443))
    );
    assert_eq!(a.ts_ns, T0 + 7 * 60 * S);
    assert_eq!(
        a.signature,
        "NTA beaconing from 10.0.0.77 to 192.0.2.200 TCP port 443: 8 connections every 60.0 s (cv 0.000)"
    );
    let m = &a.metadata;
    assert_eq!(m["connections"], 8);
    assert_eq!(m["mean_interval_secs"], 60.0);
    assert_eq!(m["cv"], 0.0);
    assert_eq!(m["shortest_interval_secs"], 60.0);
    assert_eq!(m["longest_interval_secs"], 60.0);
}

#[test]
fn one_short_is_silent() {
    let mut run = Run::defaults();
    beacon(&mut run, 7, 60 * S, 0, 443, &mut Rng::new(1));
    assert!(run.alerts.is_empty());
}

#[test]
fn small_jitter_alerts_large_jitter_does_not() {
    let mut run = Run::defaults();
    beacon(&mut run, 8, 300 * S, 5, 443, &mut Rng::new(2));
    assert_eq!(run.sids(), [8], "±5%: cv well under 0.1");
    let cv = run.alerts[0].metadata["cv"].as_f64().unwrap();
    assert!(cv > 0.0 && cv < 0.1, "{cv}");
    let mut run = Run::defaults();
    beacon(&mut run, 50, 300 * S, 40, 443, &mut Rng::new(2));
    assert!(run.alerts.is_empty(), "±40%: {:#?}", run.alerts);
}

#[test]
fn interval_bounds() {
    for (interval, alerts) in [(9 * S, 0), (10 * S, 1), (3_600 * S, 1), (3_601 * S, 0)] {
        let mut run = Run::defaults();
        beacon(&mut run, 8, interval, 0, 443, &mut Rng::new(1));
        assert_eq!(run.alerts.len(), alerts, "every {} s", interval / S);
    }
}

#[test]
fn ignored_ports_and_parallel_connections() {
    // DNS and NTP polls are regular by design.
    for port in [53, 123] {
        let mut run = Run::defaults();
        beacon(&mut run, 50, 64 * S, 0, port, &mut Rng::new(1));
        assert!(run.alerts.is_empty(), "{port}");
    }
    let mut run = Run::with(|c| c.beaconing.ignore_ports = vec![443]);
    beacon(&mut run, 50, 60 * S, 0, 443, &mut Rng::new(1));
    assert!(run.alerts.is_empty());
    // Two connections per check-in, 200 ms apart, are one check-in.
    let mut run = Run::defaults();
    for i in 0..8 {
        let t = T0 + i * 30 * S;
        run.feed(flow_start(t, 6, ip(IMPLANT), ip(C2), 8443));
        run.feed(flow_start(t + 200 * MS, 6, ip(IMPLANT), ip(C2), 8443));
    }
    assert_eq!(run.only().metadata["mean_interval_secs"], 30.0);
}

#[test]
fn cooldown_disabled_and_networks() {
    // 100 beacons a minute apart: 99 minutes, one alert per hour of cooldown.
    let mut run = Run::defaults();
    beacon(&mut run, 100, 60 * S, 0, 443, &mut Rng::new(1));
    assert_eq!(run.sids(), [8, 8]);
    let mut run = Run::with(|c| c.beaconing.cooldown_secs = 600);
    beacon(&mut run, 100, 60 * S, 0, 443, &mut Rng::new(1));
    assert_eq!(run.alerts.len(), 10, "at 7, 17, …, 97 minutes");

    let mut run = Run::with(|c| c.beaconing.enabled = false);
    beacon(&mut run, 100, 60 * S, 0, 443, &mut Rng::new(1));
    assert!(run.alerts.is_empty());

    let mut run = Run::with(|c| c.beaconing.networks = vec!["192.0.2.0/24".into()]);
    beacon(&mut run, 100, 60 * S, 0, 443, &mut Rng::new(1));
    assert!(
        run.alerts.is_empty(),
        "source-centric: the C2 address does not select"
    );
    let mut run = Run::with(|c| c.beaconing.networks = vec!["10.0.0.0/24".into()]);
    beacon(&mut run, 10, 60 * S, 0, 443, &mut Rng::new(1));
    assert_eq!(run.sids(), [8]);
}

#[test]
fn out_of_order_starts_are_ignored() {
    let mut run = Run::defaults();
    for i in 0..8 {
        let t = T0 + i * 60 * S;
        run.feed(flow_start(t, 6, ip(IMPLANT), ip(C2), 443));
        // A late report of an older flow does not break the sequence.
        run.feed(flow_start(
            t.saturating_sub(30 * S),
            6,
            ip(IMPLANT),
            ip(C2),
            443,
        ));
    }
    assert_eq!(run.sids(), [8]);
}

#[test]
fn state_expires_on_tick() {
    let mut run = Run::defaults();
    beacon(&mut run, 5, 60 * S, 0, 443, &mut Rng::new(1));
    assert_eq!(run.detectors.stats()[7].tracked, 1);
    run.tick(T0 + 3_600 * S);
    assert_eq!(
        run.detectors.stats()[7].tracked,
        1,
        "a beacon may be an hour apart"
    );
    run.tick(T0 + 3 * 3_600 * S);
    assert_eq!(run.detectors.stats()[7].tracked, 0);
}
