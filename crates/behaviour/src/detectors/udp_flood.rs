//! sid 4, `udp_flood`: UDP datagrams to one destination at a high rate, mostly unanswered.
//!
//! Key: the destination (the target), from `Packets { kind: Udp }`. Over the window the
//! detector counts the datagrams (and bytes) the target received, and the datagrams it sent
//! (`Packets { kind: Udp, src: target }`, to anyone) as its replies.
//!
//! Alert when `packets >= packets_per_sec × window_secs` and
//! `unanswered = 1 - replies / packets` is at least `unanswered_ratio`.
//!
//! Why the reply test: rate alone cannot tell a flood from a busy server. A DNS or NTP server
//! answers every query and a QUIC endpoint acknowledges what it receives, so their
//! `unanswered` stays far below 0.95; the victim of a flood or of a reflection attack
//! (unsolicited DNS, NTP or memcached responses) sends nothing back, or ICMP errors, which are
//! not UDP. The catch: a receiver that never answers (a syslog or flow collector) at more than
//! the rate is reported — exclude it with `networks = ["!<address>"]` — and with a capture
//! that sees one direction only, replies are never seen. Destination-centric: `networks`
//! selects the target.

use std::net::IpAddr;

use super::{may_alert, ratio, Detector, UDP};
use crate::alert::{round3, Alert, DetectorInfo, UDP_FLOOD};
use crate::config::{Section, Timing, UdpFloodConfig};
use crate::networks::Networks;
use crate::observation::{Observation, PacketKind};
use crate::table::KeyTable;
use crate::window::{Series, BUCKETS};

/// Counters of a [`Series`]: datagrams received, bytes received, datagrams sent.
const PACKETS: usize = 0;
const BYTES: usize = 1;
const REPLIES: usize = 2;

pub(crate) struct UdpFlood {
    packets_per_sec: u64,
    unanswered_ratio: f64,
    timing: Timing,
    width: u64,
    networks: Networks,
    table: KeyTable<IpAddr, State>,
}

struct State {
    series: Series<3>,
    quiet_until: u64,
}

impl UdpFlood {
    pub(crate) fn new(
        cfg: &UdpFloodConfig,
        max_tracked: usize,
    ) -> Result<Self, crate::ConfigError> {
        let s = Section { table: "udp_flood" };
        let timing = s.timing(cfg.window_secs, cfg.cooldown_secs)?;
        Ok(UdpFlood {
            packets_per_sec: s.range("packets_per_sec", cfg.packets_per_sec, 1, 1_000_000_000)?,
            unanswered_ratio: s.range("unanswered_ratio", cfg.unanswered_ratio, 0.0, 1.0)?,
            width: timing.window_ns / BUCKETS as u64,
            timing,
            networks: s.networks(&cfg.networks)?,
            table: KeyTable::new(s.max_tracked(cfg.max_tracked, max_tracked)?),
        })
    }
}

impl Detector for UdpFlood {
    fn info(&self) -> &'static DetectorInfo {
        &UDP_FLOOD
    }

    fn observe(&mut self, obs: &Observation, now: u64, out: &mut Vec<Alert>) {
        let &Observation::Packets {
            ts_ns,
            kind: PacketKind::Udp,
            src,
            dst,
            count,
            bytes,
        } = obs
        else {
            return;
        };
        if count == 0 {
            return;
        }
        let width = self.width;
        // The sender's replies, if it is a target being watched.
        if let Some(sender) = self.table.get_mut(&src) {
            sender.series.add(ts_ns, width, [0, 0, count]);
        }
        if !self.networks.allows(dst) {
            return;
        }
        let state = self.table.touch(dst, now, || State {
            series: Series::new(now, width),
            quiet_until: 0,
        });
        state.series.add(ts_ns, width, [count, bytes, 0]);
        let totals = state.series.totals(now, width);
        let packets = totals[PACKETS];
        let w = self.timing.window_secs;
        if packets < self.packets_per_sec.saturating_mul(w) {
            return;
        }
        let unanswered = 1.0 - ratio(totals[REPLIES], packets);
        if unanswered < self.unanswered_ratio
            || !may_alert(&mut state.quiet_until, now, self.timing.cooldown_ns)
        {
            return;
        }
        let rate = packets as f64 / w as f64;
        out.push(
            UDP_FLOOD
                .alert(
                    ts_ns,
                    UDP,
                    src,
                    format!(
                        "NTA UDP flood towards {dst}: {rate:.0} packets/s over {w} s, {:.0}% unanswered",
                        unanswered * 100.0
                    ),
                )
                .to(dst)
                .with("packets", packets)
                .with("bytes", totals[BYTES])
                .with("packets_per_sec", round3(rate))
                .with("threshold_per_sec", self.packets_per_sec)
                .with("window_secs", w)
                .with("replies", totals[REPLIES])
                .with("unanswered_ratio", round3(unanswered))
                .with("ratio_threshold", round3(self.unanswered_ratio)),
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
