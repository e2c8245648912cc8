use super::*;

const CLIENT: &str = "10.0.0.66";
const RESOLVER: &str = "10.0.0.53";
const BASE32: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";

/// `n` distinct tunnel names under `t.exfil.example`: a 50-character base32 label and a
/// sequence label, about 68 characters in all.
fn tunnel(run: &mut Run, n: u64, qtype: u16, rng: &mut Rng) {
    for i in 0..n {
        let name = format!("{}.{i}.t.exfil.example", rng.label(50, BASE32));
        run.feed(dns(
            T0 + i * 500 * MS,
            ip(CLIENT),
            ip(RESOLVER),
            &name,
            qtype,
        ));
    }
}

#[test]
fn long_names_alert_once_with_evidence() {
    let mut run = Run::defaults();
    tunnel(&mut run, 30, 1, &mut Rng::new(1));
    let a = run.only();
    assert_eq!((a.sid, a.detector, a.severity), (7, "dns_tunnel", 2));
    assert_eq!(a.category, "Potential Corporate Privacy Violation");
    assert_eq!(
        (a.proto, a.src, a.dst),
        (17, ip(CLIENT), Some(ip(RESOLVER)))
    );
    assert_eq!(
        a.signature,
        "NTA DNS tunnel from 10.0.0.66 via exfil.example: 30 long or random names in 60 s"
    );
    let m = &a.metadata;
    assert_eq!(m["domain"], "exfil.example");
    assert_eq!(m["suspicious_names"], 30);
    assert_eq!(m["txt_null_names"], 0);
    assert_eq!(m["suspicious_threshold"], 30);
    assert!(m["longest_name_len"].as_u64().unwrap() > 60);
    assert!(m["max_label_entropy"].as_f64().unwrap() > 4.0);
    assert!(m["example"]
        .as_str()
        .unwrap()
        .ends_with(".29.t.exfil.example"));
    assert_eq!(m["qtype"], 1);
}

#[test]
fn just_under_is_silent() {
    let mut run = Run::defaults();
    tunnel(&mut run, 29, 1, &mut Rng::new(1));
    assert!(run.alerts.is_empty());
}

#[test]
fn random_labels_of_short_names_count_too() {
    // 24 distinct characters: log2(24) = 4.58 bits per character; names of 40 characters.
    let mut run = Run::defaults();
    let alphabet = b"abcdefghijklmnopqrstuvwx";
    for i in 0..30u64 {
        let mut label: Vec<u8> = alphabet.to_vec();
        label.rotate_left(i as usize % 24);
        label.swap(0, 1 + i as usize % 23);
        let name = format!("{}.{i}.c2.example.net", String::from_utf8(label).unwrap());
        assert!(name.len() < 60);
        run.feed(dns(T0 + i * S, ip(CLIENT), ip(RESOLVER), &name, 28));
    }
    assert_eq!(run.only().metadata["domain"], "example.net");
}

#[test]
fn txt_and_null_volume() {
    let mut run = Run::defaults();
    for i in 0..50u64 {
        let qtype = if i % 2 == 0 { 16 } else { 10 };
        run.feed(dns(
            T0 + i * S,
            ip(CLIENT),
            ip(RESOLVER),
            &format!("{i}.x.cmd.example.org"),
            qtype,
        ));
    }
    let a = run.only();
    assert_eq!(
        a.signature,
        "NTA DNS tunnel from 10.0.0.66 via example.org: 50 TXT/NULL names in 60 s"
    );
    assert_eq!(a.metadata["txt_null_names"], 50);
    assert_eq!(a.metadata["suspicious_names"], 0);

    let mut run = Run::defaults();
    for i in 0..49u64 {
        run.feed(dns(
            T0 + i * S,
            ip(CLIENT),
            ip(RESOLVER),
            &format!("{i}.x.cmd.example.org"),
            16,
        ));
    }
    assert!(run.alerts.is_empty());
}

#[test]
fn repeated_names_do_not_count() {
    // An uncached client asking for the same long load-balancer name, and the same TXT record,
    // over and over.
    let mut run = Run::defaults();
    let elb = "internal-orders-api-production-1234567890.eu-west-1.elb.amazonaws.com";
    assert!(elb.len() > 60);
    for i in 0..500u64 {
        run.feed(dns(T0 + i * 100 * MS, ip(CLIENT), ip(RESOLVER), elb, 1));
        run.feed(dns(
            T0 + i * 100 * MS,
            ip(CLIENT),
            ip(RESOLVER),
            "_dmarc.example.com",
            16,
        ));
    }
    assert!(run.alerts.is_empty(), "{:#?}", run.alerts);
}

#[test]
fn ordinary_browsing_is_silent() {
    let names = [
        "www.google.com",
        "google.com",
        "fonts.gstatic.com",
        "www.googletagmanager.com",
        "safebrowsing.googleapis.com",
        "r3---sn-4g5e6nsz.googlevideo.com",
        "d1a2b3c4d5e6f7.cloudfront.net",
        "d3k81ch9hvuctc.cloudfront.net",
        "e12345.dscb.akamaiedge.net",
        "www.bbc.co.uk.edgekey.net",
        "static.xx.fbcdn.net",
        "outlook.office365.com",
        "login.microsoftonline.com",
        "ocsp.digicert.com",
        "api.github.com",
        "avatars.githubusercontent.com",
        "cdn.jsdelivr.net",
        "1.debian.pool.ntp.org",
        "_ldap._tcp.dc._msdcs.corp.example.com",
        "wpad",
    ];
    let mut run = Run::defaults();
    let mut rng = Rng::new(7);
    for i in 0..20_000u64 {
        let name = names[rng.below(names.len() as u64) as usize];
        let qtype = [1, 28, 65][rng.below(3) as usize];
        let client = IpAddr::from([10, 0, 0, 10 + rng.below(5) as u8]);
        run.feed(dns(T0 + i * 10 * MS, client, ip(RESOLVER), name, qtype));
    }
    // Per-object CDN names: distinct, but short and hex-like.
    for i in 0..2_000u64 {
        let name = format!("d{:013x}.cloudfront.net", rng.next_u64() >> 12);
        run.feed(dns(T0 + i * 50 * MS, ip(CLIENT), ip(RESOLVER), &name, 1));
    }
    assert!(run.alerts.is_empty(), "{:#?}", run.alerts);
    assert_eq!(
        run.detectors.stats()[6].tracked,
        0,
        "ordinary names keep no state"
    );
}

#[test]
fn cooldown_disabled_ignore_and_networks() {
    // 600 names over 300 s: one alert per 60 s cooldown.
    let mut run = Run::defaults();
    tunnel(&mut run, 600, 16, &mut Rng::new(3));
    assert_eq!(run.sids(), [7, 7, 7, 7, 7]);

    let mut run = Run::with(|c| c.dns_tunnel.enabled = false);
    tunnel(&mut run, 600, 16, &mut Rng::new(3));
    assert!(run.alerts.is_empty());

    let mut run = Run::with(|c| c.dns_tunnel.ignore_domains = vec!["Exfil.Example.".into()]);
    tunnel(&mut run, 600, 16, &mut Rng::new(3));
    assert!(run.alerts.is_empty());

    let mut run = Run::with(|c| c.dns_tunnel.networks = vec!["10.0.0.53/32".into()]);
    tunnel(&mut run, 600, 16, &mut Rng::new(3));
    assert!(run.alerts.is_empty(), "the resolver is not the client");
    let mut run =
        Run::with(|c| c.dns_tunnel.networks = vec!["10.0.0.0/24".into(), "!10.0.0.53".into()]);
    tunnel(&mut run, 100, 16, &mut Rng::new(3));
    assert_eq!(run.sids(), [7]);
}

#[test]
fn case_and_trailing_dots_do_not_make_names_distinct() {
    let mut run = Run::defaults();
    let base = "mxbq3k7vn2hdlc9w4pzrtfy8gs.t.example.com";
    for i in 0..100u64 {
        let name = match i % 3 {
            0 => base.to_string(),
            1 => base.to_ascii_uppercase(),
            _ => format!("{base}."),
        };
        run.feed(dns(T0 + i * S / 10, ip(CLIENT), ip(RESOLVER), &name, 1));
    }
    assert!(run.alerts.is_empty());
}

#[test]
fn state_expires_on_tick() {
    let mut run = Run::defaults();
    tunnel(&mut run, 10, 1, &mut Rng::new(1));
    assert_eq!(run.detectors.stats()[6].tracked, 1);
    run.tick(T0 + 70 * S);
    assert_eq!(run.detectors.stats()[6].tracked, 0);
}
