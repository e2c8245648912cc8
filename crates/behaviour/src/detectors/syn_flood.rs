//! sid 3, `syn_flood`: TCP SYNs to one destination at a high rate, mostly left half-open.
//!
//! Key: the destination (the target), from `Packets { kind: Syn }`. Over the window the
//! detector counts, per target:
//!
//! * `syns`: SYNs received (`Packets { kind: Syn, dst: target }`);
//! * `syn_acks`: SYN-ACKs sent (`Packets { kind: SynAck, src: target }`);
//! * `ended`, `failed`: TCP flows to the target whose client SYN was seen and that ended
//!   (`FlowEnd` with `tcp.syn`), and those of them whose handshake never completed
//!   (`!tcp.established`), counted when the `FlowEnd` arrives (not at its `ts_ns`, the
//!   time of the flow's last packet, which for a timed-out flow is older than the window).
//!
//! The half-open ratio is the larger of two estimates of the share of SYNs that did not lead
//! to a completed handshake, both over the SYNs of the window:
//!
//! * `unanswered = 1 - syn_acks / syns`: a SYN the target never answered cannot complete. This
//!   reacts at once when the target is overwhelmed or the port is closed;
//! * `failed / syns`: flows reported ended without a completed handshake. A flood against an
//!   open port is answered with SYN-ACKs and shows only here, once the flow table times the
//!   half-open flows out (`flow.timeouts.tcp.new`, 60 s by default) — in a steady flood as
//!   many half-open flows end per second as start. Dividing by SYNs rather than by ended flows
//!   keeps a server whose flows rarely end (long-lived connections) from looking half-open
//!   because of one failed handshake.
//!
//! Alert when `syns >= syn_per_sec × window_secs` and the ratio is at least
//! `half_open_ratio`. Destination-centric: `networks` selects the target. The alert's `src` is
//! the sender of the observation that crossed the threshold.

use std::net::IpAddr;

use super::{may_alert, ratio, Detector, TCP};
use crate::alert::{round3, Alert, DetectorInfo, SYN_FLOOD};
use crate::config::{Section, SynFloodConfig, Timing};
use crate::networks::Networks;
use crate::observation::{Observation, PacketKind};
use crate::table::KeyTable;
use crate::window::{Series, BUCKETS};

/// Counters of a [`Series`]: SYNs, SYN-ACKs, ended flows with a SYN, failed handshakes.
const SYNS: usize = 0;
const SYN_ACKS: usize = 1;
const ENDED: usize = 2;
const FAILED: usize = 3;

pub(crate) struct SynFlood {
    syn_per_sec: u64,
    half_open_ratio: f64,
    timing: Timing,
    width: u64,
    networks: Networks,
    table: KeyTable<IpAddr, State>,
}

struct State {
    series: Series<4>,
    quiet_until: u64,
}

impl SynFlood {
    pub(crate) fn new(
        cfg: &SynFloodConfig,
        max_tracked: usize,
    ) -> Result<Self, crate::ConfigError> {
        let s = Section { table: "syn_flood" };
        let timing = s.timing(cfg.window_secs, cfg.cooldown_secs)?;
        Ok(SynFlood {
            syn_per_sec: s.range("syn_per_sec", cfg.syn_per_sec, 1, 1_000_000_000)?,
            half_open_ratio: s.range("half_open_ratio", cfg.half_open_ratio, 0.0, 1.0)?,
            width: timing.window_ns / BUCKETS as u64,
            timing,
            networks: s.networks(&cfg.networks)?,
            table: KeyTable::new(s.max_tracked(cfg.max_tracked, max_tracked)?),
        })
    }

    /// Adds `delta` to `target`'s counters (creating the key only for SYNs) and checks it.
    fn count(
        &mut self,
        ts: u64,
        now: u64,
        src: IpAddr,
        target: IpAddr,
        delta: [u64; 4],
        out: &mut Vec<Alert>,
    ) {
        let width = self.width;
        let state = if delta[SYNS] > 0 {
            if !self.networks.allows(target) {
                return;
            }
            self.table.touch(target, now, || State {
                series: Series::new(now, width),
                quiet_until: 0,
            })
        } else {
            match self.table.get_mut(&target) {
                Some(state) => state,
                None => return,
            }
        };
        state.series.add(ts, width, delta);
        if delta[SYN_ACKS] > 0 {
            return; // an answer only lowers the ratio
        }
        let totals = state.series.totals(now, width);
        let syns = totals[SYNS];
        let w = self.timing.window_secs;
        if syns < self.syn_per_sec.saturating_mul(w) {
            return;
        }
        let unanswered = 1.0 - ratio(totals[SYN_ACKS], syns);
        let failed = ratio(totals[FAILED], syns);
        let half_open = unanswered.max(failed);
        if half_open < self.half_open_ratio
            || !may_alert(&mut state.quiet_until, now, self.timing.cooldown_ns)
        {
            return;
        }
        let rate = syns as f64 / w as f64;
        out.push(
            SYN_FLOOD
                .alert(
                    ts,
                    TCP,
                    src,
                    format!(
                        "NTA SYN flood towards {target}: {rate:.0} SYN/s over {w} s, {:.0}% half-open",
                        half_open * 100.0
                    ),
                )
                .to(target)
                .with("syns", syns)
                .with("syn_per_sec", round3(rate))
                .with("threshold_per_sec", self.syn_per_sec)
                .with("window_secs", w)
                .with("syn_acks", totals[SYN_ACKS])
                .with("ended_flows", totals[ENDED])
                .with("failed_handshakes", totals[FAILED])
                .with("unanswered_ratio", round3(unanswered))
                .with("failed_handshake_ratio", round3(failed))
                .with("half_open_ratio", round3(half_open))
                .with("ratio_threshold", round3(self.half_open_ratio)),
        );
    }
}

impl Detector for SynFlood {
    fn info(&self) -> &'static DetectorInfo {
        &SYN_FLOOD
    }

    fn observe(&mut self, obs: &Observation, now: u64, out: &mut Vec<Alert>) {
        match *obs {
            Observation::Packets {
                ts_ns,
                kind: PacketKind::Syn,
                src,
                dst,
                count,
                ..
            } if count > 0 => self.count(ts_ns, now, src, dst, [count, 0, 0, 0], out),
            Observation::Packets {
                ts_ns,
                kind: PacketKind::SynAck,
                src,
                dst,
                count,
                ..
            } if count > 0 => self.count(ts_ns, now, dst, src, [0, count, 0, 0], out),
            // Counted when reported (at `now`): a half-open flow is reported only when the flow
            // table times it out, usually later than the window, and its last packet is old.
            Observation::FlowEnd {
                proto: TCP,
                src,
                dst,
                tcp: Some(tcp),
                ..
            } if tcp.syn => {
                let failed = u64::from(!tcp.established);
                self.count(now, now, src, dst, [0, 0, 1, failed], out);
            }
            _ => {}
        }
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
