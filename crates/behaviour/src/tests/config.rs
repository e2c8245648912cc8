use serde::Deserialize;

use crate::{ConfigError, Detectors, DetectorsConfig};

/// How the engine embeds the section: `[detectors]` in `nta.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    detectors: DetectorsConfig,
}

fn parse(text: &str) -> Result<DetectorsConfig, String> {
    toml::from_str::<File>(text)
        .map(|f| f.detectors)
        .map_err(|e| e.to_string())
}

fn invalid(edit: impl FnOnce(&mut DetectorsConfig)) -> String {
    let mut cfg = DetectorsConfig::default();
    edit(&mut cfg);
    let e = Detectors::new(&cfg).unwrap_err();
    assert_eq!(cfg.validate().unwrap_err(), e);
    let text = e.to_string();
    assert!(text.starts_with(e.key()), "{text}");
    text
}

#[test]
fn empty_file_is_all_defaults_all_enabled() {
    let cfg = parse("").unwrap();
    assert_eq!(cfg, DetectorsConfig::default());
    assert!(cfg.enabled);
    assert_eq!(cfg.max_tracked, 100_000);
    assert!(cfg.port_scan.enabled && cfg.host_sweep.enabled && cfg.syn_flood.enabled);
    assert!(cfg.udp_flood.enabled && cfg.icmp_flood.enabled && cfg.brute_force.enabled);
    assert!(cfg.dns_tunnel.enabled && cfg.beaconing.enabled);
    assert_eq!(Detectors::new(&cfg).unwrap().stats().len(), 8);
}

#[test]
fn a_full_section_parses() {
    let cfg = parse(
        r#"
[detectors]
enabled = true
max_tracked = 20000

[detectors.port_scan]
distinct_ports = 250
window_secs = 120
cooldown_secs = 600
networks = ["10.0.0.0/8", "!10.0.0.1"]

[detectors.syn_flood]
syn_per_sec = 5000
half_open_ratio = 0.9
max_tracked = 5000

[detectors.udp_flood]
enabled = false

[detectors.brute_force]
ports = [22, 2222]
max_session_secs = 10

[detectors.dns_tunnel]
ignore_domains = ["sophosxl.net"]
min_entropy = 4.2

[detectors.beaconing]
ignore_ports = []
max_cv = 0.05
"#,
    )
    .unwrap();
    assert_eq!(cfg.max_tracked, 20_000);
    assert_eq!(cfg.port_scan.distinct_ports, 250);
    assert_eq!(cfg.port_scan.cooldown_secs, Some(600));
    assert_eq!(cfg.port_scan.networks.len(), 2);
    assert_eq!(cfg.syn_flood.max_tracked, Some(5_000));
    assert_eq!(
        cfg.syn_flood.window_secs, 10,
        "untouched keys keep defaults"
    );
    assert!(!cfg.udp_flood.enabled);
    assert_eq!(cfg.brute_force.ports, [22, 2222]);
    assert_eq!(cfg.brute_force.attempts, 20);
    assert_eq!(cfg.dns_tunnel.min_entropy, 4.2);
    assert!(cfg.beaconing.ignore_ports.is_empty());
    let d = Detectors::new(&cfg).unwrap();
    assert_eq!(d.stats().len(), 7, "udp_flood off");
    assert!(d.stats().iter().all(|s| s.detector != "udp_flood"));
}

#[test]
fn unknown_keys_are_refused() {
    let e = parse("[detectors.port_scan]\ndistinct_port = 5\n").unwrap_err();
    assert!(e.contains("distinct_port"), "{e}");
    let e = parse("[detectors]\nmax_trackd = 5\n").unwrap_err();
    assert!(e.contains("max_trackd"), "{e}");
    let e = parse("[detectors.dns_tunel]\n").unwrap_err();
    assert!(e.contains("dns_tunel"), "{e}");
    let e = parse("[detectors.syn_flood]\nhalf_open_ratio = \"high\"\n").unwrap_err();
    assert!(e.contains("half_open_ratio"), "{e}");
}

#[test]
fn defaults_round_trip_through_toml() {
    let text = toml::to_string(&DetectorsConfig::default()).unwrap();
    let back: DetectorsConfig = toml::from_str(&text).unwrap();
    assert_eq!(back, DetectorsConfig::default());
    assert!(text.contains("[port_scan]"), "{text}");
}

#[test]
fn bad_values_name_the_key() {
    assert_eq!(
        invalid(|c| c.syn_flood.half_open_ratio = 1.5),
        "detectors.syn_flood.half_open_ratio must be between 0 and 1, got 1.5"
    );
    assert!(invalid(|c| c.udp_flood.unanswered_ratio = f64::NAN)
        .starts_with("detectors.udp_flood.unanswered_ratio must be between 0 and 1"));
    assert_eq!(
        invalid(|c| c.port_scan.window_secs = 0),
        "detectors.port_scan.window_secs must be between 1 and 604800, got 0"
    );
    assert!(invalid(|c| c.host_sweep.cooldown_secs = Some(0))
        .starts_with("detectors.host_sweep.cooldown_secs must be"));
    assert!(invalid(|c| c.max_tracked = 0).starts_with("detectors.max_tracked must be"));
    assert!(invalid(|c| c.icmp_flood.max_tracked = Some(0))
        .starts_with("detectors.icmp_flood.max_tracked must be"));
    assert!(invalid(|c| c.port_scan.distinct_ports = 100_000)
        .starts_with("detectors.port_scan.distinct_ports must be between 1 and 65536"));
    assert!(invalid(|c| c.brute_force.attempts = 0).starts_with("detectors.brute_force.attempts"));
    assert!(invalid(|c| c.brute_force.max_session_secs = 0)
        .starts_with("detectors.brute_force.max_session_secs"));
    assert!(invalid(|c| c.dns_tunnel.min_entropy = 9.0)
        .starts_with("detectors.dns_tunnel.min_entropy must be between 0 and 8"));
    assert!(
        invalid(|c| c.dns_tunnel.ignore_domains = vec![" . ".into()])
            .starts_with("detectors.dns_tunnel.ignore_domains must be a list of domain names")
    );
    assert!(invalid(|c| c.beaconing.min_connections = 2)
        .starts_with("detectors.beaconing.min_connections must be between 3 and 1000"));
    assert_eq!(
        invalid(|c| c.beaconing.max_interval_secs = 5),
        "detectors.beaconing.max_interval_secs must be at least min_interval_secs (10), got 5"
    );
}

#[test]
fn bad_networks_name_the_key_even_when_disabled() {
    let text = invalid(|c| {
        c.dns_tunnel.enabled = false;
        c.dns_tunnel.networks = vec!["10.0.0.0/8".into(), "10.0.0.0/33".into()];
    });
    assert!(
        text.starts_with(
            "detectors.dns_tunnel.networks: `10.0.0.0/33` is not an IP address or CIDR"
        ),
        "{text}"
    );
    let e = Detectors::new(&DetectorsConfig {
        enabled: false,
        beaconing: crate::BeaconingConfig {
            networks: vec!["corp".into()],
            ..Default::default()
        },
        ..Default::default()
    })
    .unwrap_err();
    assert!(
        matches!(e, ConfigError::BadNetwork { ref key, .. } if key == "detectors.beaconing.networks")
    );
}
