//! sid 6, `brute_force`: password guessing — many short sessions to one login service, or
//! many failed logins, from one source to one destination.
//!
//! Key: (source, destination, destination port). Two counters over the sliding window:
//!
//! * short sessions: `FlowEnd`s of TCP flows to one of `ports` that lasted less than
//!   `max_session_secs` (`ts_ns - start_ns`) and, when the TCP summary is given, completed
//!   their handshake (a SYN to a closed port is not a login attempt). Counted when the
//!   `FlowEnd` arrives, which may be a flow-table timeout after the session's last packet;
//! * failed logins: `AuthFailure`s, on any port.
//!
//! Alert when either counter reaches `attempts`; the two are not added, so a session that is
//! both short and reports a failure counts once in each. Source-centric: `networks` selects
//! the client.

use std::net::IpAddr;

use super::{may_alert, truncate, Detector, TCP};
use crate::alert::{Alert, DetectorInfo, BRUTE_FORCE};
use crate::config::{secs_to_ns, BruteForceConfig, Section, Timing, MAX_SECS};
use crate::networks::Networks;
use crate::observation::Observation;
use crate::table::KeyTable;
use crate::window::{Series, BUCKETS};

/// Longest service name kept from an `AuthFailure`: names are short words ("http"); a longer
/// one is cut rather than stored whole for every key.
const MAX_SERVICE_LEN: usize = 32;

/// Counters of a [`Series`]: short sessions, failed logins.
const SESSIONS: usize = 0;
const FAILURES: usize = 1;

pub(crate) struct BruteForce {
    attempts: u64,
    max_session_ns: u64,
    max_session_secs: u64,
    /// Sorted, deduplicated.
    ports: Vec<u16>,
    timing: Timing,
    width: u64,
    networks: Networks,
    table: KeyTable<(IpAddr, IpAddr, u16), State>,
}

struct State {
    series: Series<2>,
    quiet_until: u64,
    /// The service named by the latest `AuthFailure`, if any.
    service: Option<Box<str>>,
}

impl BruteForce {
    pub(crate) fn new(
        cfg: &BruteForceConfig,
        max_tracked: usize,
    ) -> Result<Self, crate::ConfigError> {
        let s = Section {
            table: "brute_force",
        };
        let timing = s.timing(cfg.window_secs, cfg.cooldown_secs)?;
        let max_session_secs = s.range("max_session_secs", cfg.max_session_secs, 1, MAX_SECS)?;
        let mut ports = cfg.ports.clone();
        ports.sort_unstable();
        ports.dedup();
        Ok(BruteForce {
            attempts: s.range("attempts", cfg.attempts, 1, 1_000_000)?,
            max_session_ns: secs_to_ns(max_session_secs),
            max_session_secs,
            ports,
            width: timing.window_ns / BUCKETS as u64,
            timing,
            networks: s.networks(&cfg.networks)?,
            table: KeyTable::new(s.max_tracked(cfg.max_tracked, max_tracked)?),
        })
    }
}

/// The usual service of a login port, for signatures.
fn service_of(port: u16) -> &'static str {
    match port {
        21 => "ftp",
        22 => "ssh",
        23 => "telnet",
        25 | 465 | 587 => "smtp",
        110 | 995 => "pop3",
        143 | 993 => "imap",
        389 | 636 => "ldap",
        445 => "smb",
        1433 => "mssql",
        3306 => "mysql",
        3389 => "rdp",
        5432 => "postgresql",
        5900 => "vnc",
        _ => "tcp",
    }
}

impl Detector for BruteForce {
    fn info(&self) -> &'static DetectorInfo {
        &BRUTE_FORCE
    }

    fn observe(&mut self, obs: &Observation, now: u64, out: &mut Vec<Alert>) {
        let (ts, src, dst, dport, delta, service) = match obs {
            &Observation::FlowEnd {
                ts_ns,
                proto: TCP,
                src,
                dst,
                dport,
                start_ns,
                tcp,
                ..
            } => {
                let short = ts_ns.saturating_sub(start_ns) < self.max_session_ns;
                let attempted = tcp.is_none_or(|t| t.established);
                if !short || !attempted || self.ports.binary_search(&dport).is_err() {
                    return;
                }
                // Counted at arrival; see the module doc.
                (now, src, dst, dport, [1, 0], None)
            }
            Observation::AuthFailure {
                ts_ns,
                src,
                dst,
                dport,
                service,
            } => (*ts_ns, *src, *dst, *dport, [0, 1], Some(service)),
            _ => return,
        };
        if !self.networks.allows(src) {
            return;
        }
        let width = self.width;
        let state = self.table.touch((src, dst, dport), now, || State {
            series: Series::new(now, width),
            quiet_until: 0,
            service: None,
        });
        if let Some(name) = service {
            if state.service.as_deref() != Some(&**name) {
                state.service = Some(truncate(name, MAX_SERVICE_LEN).into());
            }
        }
        state.series.add(ts, width, delta);
        let totals = state.series.totals(now, width);
        let (sessions, failures) = (totals[SESSIONS], totals[FAILURES]);
        if (sessions < self.attempts && failures < self.attempts)
            || !may_alert(&mut state.quiet_until, now, self.timing.cooldown_ns)
        {
            return;
        }
        let service = state
            .service
            .as_deref()
            .unwrap_or_else(|| service_of(dport))
            .to_owned();
        let w = self.timing.window_secs;
        let what = if failures >= self.attempts {
            format!("{failures} failed logins")
        } else {
            format!("{sessions} short sessions")
        };
        out.push(
            BRUTE_FORCE
                .alert(
                    ts,
                    TCP,
                    src,
                    format!("NTA {service} brute force from {src} to {dst} port {dport}: {what} in {w} s"),
                )
                .to(dst)
                .port(dport)
                .with("service", service)
                .with("short_sessions", sessions)
                .with("failed_logins", failures)
                .with("threshold", self.attempts)
                .with("window_secs", w)
                .with("max_session_secs", self.max_session_secs),
        );
    }

    fn expire(&mut self, now: u64) {
        self.table.expire(now.saturating_sub(self.timing.idle_ns()));
    }

    fn tracked(&self) -> usize {
        self.table.len()
    }

    fn evicted(&self) -> u64 {
        self.table.evicted()
    }
}
