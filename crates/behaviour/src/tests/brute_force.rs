use super::*;

const CLIENT: &str = "198.51.100.23";
const SERVER: &str = "10.0.0.22";

/// `n` sessions to `dport` lasting `secs` each, one every 2 s; each `FlowEnd` arrives
/// `report` after the session's last packet (the flow table's closed timeout).
fn sessions(run: &mut Run, dport: u16, n: u64, secs: u64, established: bool) {
    let report = 60 * S;
    for i in 0..n {
        let start = T0 + i * 2 * S;
        let end = start + secs * S;
        run.detectors.tick(end + report, &mut run.alerts);
        run.feed(tcp_end(
            start,
            end,
            ip(CLIENT),
            ip(SERVER),
            dport,
            established,
        ));
    }
}

#[test]
fn short_ssh_sessions_alert_once_with_evidence() {
    let mut run = Run::defaults();
    sessions(&mut run, 22, 20, 3, true);
    let a = run.only();
    assert_eq!((a.sid, a.detector, a.severity), (6, "brute_force", 1));
    assert_eq!(a.category, "Attempted User Privilege Gain");
    assert_eq!(
        (a.proto, a.src, a.dst, a.dport),
        (6, ip(CLIENT), Some(ip(SERVER)), Some(22))
    );
    assert_eq!(
        a.signature,
        "NTA ssh brute force from 198.51.100.23 to 10.0.0.22 port 22: 20 short sessions in 60 s"
    );
    let m = &a.metadata;
    assert_eq!(m["service"], "ssh");
    assert_eq!(m["short_sessions"], 20);
    assert_eq!(m["failed_logins"], 0);
    assert_eq!(m["threshold"], 20);
    assert_eq!(m["max_session_secs"], 30);
}

#[test]
fn just_under_and_non_qualifying_sessions_are_silent() {
    for (dport, n, secs, established) in [
        (22, 19, 3, true),  // one short of the threshold
        (22, 40, 30, true), // not short: 30 s is not under 30 s
        (22, 40, 3, false), // handshake never completed: a scan, not a login
        (443, 40, 3, true), // not a login port
    ] {
        let mut run = Run::defaults();
        sessions(&mut run, dport, n, secs, established);
        assert!(
            run.alerts.is_empty(),
            "{dport} {n} {secs} {established}: {:#?}",
            run.alerts
        );
    }
}

#[test]
fn other_default_ports_and_configured_ports() {
    for (port, service) in [
        (21, "ftp"),
        (25, "smtp"),
        (465, "smtp"),
        (587, "smtp"),
        (3389, "rdp"),
    ] {
        let mut run = Run::defaults();
        sessions(&mut run, port, 20, 1, true);
        assert_eq!(run.only().metadata["service"], service);
    }
    let mut run = Run::with(|c| c.brute_force.ports = vec![5432]);
    sessions(&mut run, 5432, 20, 1, true);
    assert_eq!(run.only().metadata["service"], "postgresql");
    let mut run = Run::with(|c| c.brute_force.ports = vec![5432]);
    sessions(&mut run, 22, 40, 1, true);
    assert!(run.alerts.is_empty(), "22 is no longer watched");
}

#[test]
fn failed_logins_alert_on_any_port() {
    let mut run = Run::defaults();
    for i in 0..20 {
        run.feed(auth_failure(
            T0 + i * S,
            ip(CLIENT),
            ip(SERVER),
            8080,
            "http",
        ));
    }
    let a = run.only();
    assert_eq!((a.sid, a.dport), (6, Some(8080)));
    assert_eq!(
        a.signature,
        "NTA http brute force from 198.51.100.23 to 10.0.0.22 port 8080: 20 failed logins in 60 s"
    );
    assert_eq!(a.metadata["failed_logins"], 20);
    assert_eq!(a.metadata["service"], "http");

    let mut run = Run::defaults();
    for i in 0..19 {
        run.feed(auth_failure(T0 + i * S, ip(CLIENT), ip(SERVER), 21, "ftp"));
    }
    // Sessions and failures are counted apart, not added.
    sessions(&mut run, 21, 19, 1, true);
    assert!(run.alerts.is_empty(), "{:#?}", run.alerts);
}

#[test]
fn failures_spread_beyond_the_window_are_silent() {
    let mut run = Run::defaults();
    for i in 0..100 {
        run.feed(auth_failure(
            T0 + i * 4 * S,
            ip(CLIENT),
            ip(SERVER),
            25,
            "smtp",
        ));
    }
    assert!(run.alerts.is_empty(), "15 a minute");
}

#[test]
fn cooldown_disabled_and_networks() {
    let mut run = Run::defaults();
    for i in 0..1_000 {
        run.feed(auth_failure(
            T0 + i * 100 * MS,
            ip(CLIENT),
            ip(SERVER),
            22,
            "ssh",
        ));
    }
    assert_eq!(
        run.sids(),
        [6, 6],
        "100 s of guessing: one alert, one after the cooldown"
    );

    let mut run = Run::with(|c| c.brute_force.enabled = false);
    sessions(&mut run, 22, 50, 1, true);
    assert!(run.alerts.is_empty());

    // Source-centric.
    let mut run = Run::with(|c| c.brute_force.networks = vec!["10.0.0.0/8".into()]);
    sessions(&mut run, 22, 50, 1, true);
    assert!(run.alerts.is_empty(), "the client is outside 10/8");
    let mut run = Run::with(|c| c.brute_force.networks = vec!["198.51.100.0/24".into()]);
    sessions(&mut run, 22, 30, 1, true);
    assert_eq!(run.sids(), [6]);
}

#[test]
fn state_expires_on_tick() {
    let mut run = Run::defaults();
    for i in 0..10 {
        run.feed(auth_failure(T0 + i * S, ip(CLIENT), ip(SERVER), 22, "ssh"));
    }
    assert_eq!(run.detectors.stats()[5].tracked, 1);
    run.tick(T0 + 80 * S);
    assert_eq!(run.detectors.stats()[5].tracked, 0);
}
