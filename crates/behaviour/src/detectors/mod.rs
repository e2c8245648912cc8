//! The detectors, one module each, behind one small trait.

mod beaconing;
mod brute_force;
mod dns_tunnel;
mod host_sweep;
mod icmp_flood;
mod port_scan;
mod syn_flood;
mod udp_flood;

use crate::alert::{Alert, DetectorInfo};
use crate::config::{DetectorsConfig, Section, MAX_TRACKED};
use crate::observation::Observation;
use crate::ConfigError;

/// IP protocol numbers used by the detectors.
pub(crate) const TCP: u8 = 6;
pub(crate) const UDP: u8 = 17;
pub(crate) const ICMP: u8 = 1;
pub(crate) const ICMPV6: u8 = 58;

/// One behavioural detector and its bounded state.
pub(crate) trait Detector: Send {
    /// Name, sid, class.
    fn info(&self) -> &'static DetectorInfo;
    /// Reads `obs`, appending an alert when a threshold is crossed. `now` is the latest packet
    /// time seen (never older than `obs.ts_ns()`).
    fn observe(&mut self, obs: &Observation, now: u64, out: &mut Vec<Alert>);
    /// Drops keys idle for too long at packet time `now`.
    fn expire(&mut self, now: u64);
    /// Keys held.
    fn tracked(&self) -> usize;
    /// Keys evicted because the table was full.
    fn evicted(&self) -> u64;
}

/// A detector and whether its section enables it.
pub(crate) type Built = (bool, Box<dyn Detector>);

/// Validates every section and builds every detector, each with whether it is enabled, in sid
/// order.
pub(crate) fn build(cfg: &DetectorsConfig) -> Result<Vec<Built>, ConfigError> {
    let top = Section { table: "" };
    let max = top.range("max_tracked", cfg.max_tracked, 1, MAX_TRACKED)?;
    Ok(vec![
        (
            cfg.port_scan.enabled,
            Box::new(port_scan::PortScan::new(&cfg.port_scan, max)?),
        ),
        (
            cfg.host_sweep.enabled,
            Box::new(host_sweep::HostSweep::new(&cfg.host_sweep, max)?),
        ),
        (
            cfg.syn_flood.enabled,
            Box::new(syn_flood::SynFlood::new(&cfg.syn_flood, max)?),
        ),
        (
            cfg.udp_flood.enabled,
            Box::new(udp_flood::UdpFlood::new(&cfg.udp_flood, max)?),
        ),
        (
            cfg.icmp_flood.enabled,
            Box::new(icmp_flood::IcmpFlood::new(&cfg.icmp_flood, max)?),
        ),
        (
            cfg.brute_force.enabled,
            Box::new(brute_force::BruteForce::new(&cfg.brute_force, max)?),
        ),
        (
            cfg.dns_tunnel.enabled,
            Box::new(dns_tunnel::DnsTunnel::new(&cfg.dns_tunnel, max)?),
        ),
        (
            cfg.beaconing.enabled,
            Box::new(beaconing::Beaconing::new(&cfg.beaconing, max)?),
        ),
    ])
}

/// Whether a key whose quiet period ends at `quiet_until` may alert at `now`; if so, starts a
/// new quiet period of `cooldown_ns`.
pub(crate) fn may_alert(quiet_until: &mut u64, now: u64, cooldown_ns: u64) -> bool {
    if now < *quiet_until {
        return false;
    }
    *quiet_until = now.saturating_add(cooldown_ns);
    true
}

/// `part / whole` as a ratio in 0..=1 (0 when `whole` is 0).
pub(crate) fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part.min(whole) as f64 / whole as f64
    }
}

/// The ICMP protocol number matching an address family.
pub(crate) fn icmp_for(ip: std::net::IpAddr) -> u8 {
    if ip.to_canonical().is_ipv4() {
        ICMP
    } else {
        ICMPV6
    }
}

/// At most `max` bytes of `s`, cut at a character boundary.
pub(crate) fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
