//! sid 5, `icmp_flood`: ICMP or ICMPv6 echo requests to one destination at a high rate.
//!
//! Key: the destination (the target), from `Packets { kind: IcmpEchoRequest }`. Alert when the
//! requests received within the window reach `packets_per_sec × window_secs`. Replies are not
//! considered: a host answers a ping flood as it answers any ping. Destination-centric:
//! `networks` selects the target.

use std::net::IpAddr;

use super::{icmp_for, may_alert, Detector};
use crate::alert::{proto_name, round3, Alert, DetectorInfo, ICMP_FLOOD};
use crate::config::{IcmpFloodConfig, Section, Timing};
use crate::networks::Networks;
use crate::observation::{Observation, PacketKind};
use crate::table::KeyTable;
use crate::window::{Series, BUCKETS};

pub(crate) struct IcmpFlood {
    packets_per_sec: u64,
    timing: Timing,
    width: u64,
    networks: Networks,
    table: KeyTable<IpAddr, State>,
}

struct State {
    /// Requests, bytes.
    series: Series<2>,
    quiet_until: u64,
}

impl IcmpFlood {
    pub(crate) fn new(
        cfg: &IcmpFloodConfig,
        max_tracked: usize,
    ) -> Result<Self, crate::ConfigError> {
        let s = Section {
            table: "icmp_flood",
        };
        let timing = s.timing(cfg.window_secs, cfg.cooldown_secs)?;
        Ok(IcmpFlood {
            packets_per_sec: s.range("packets_per_sec", cfg.packets_per_sec, 1, 1_000_000_000)?,
            width: timing.window_ns / BUCKETS as u64,
            timing,
            networks: s.networks(&cfg.networks)?,
            table: KeyTable::new(s.max_tracked(cfg.max_tracked, max_tracked)?),
        })
    }
}

impl Detector for IcmpFlood {
    fn info(&self) -> &'static DetectorInfo {
        &ICMP_FLOOD
    }

    fn observe(&mut self, obs: &Observation, now: u64, out: &mut Vec<Alert>) {
        let &Observation::Packets {
            ts_ns,
            kind: PacketKind::IcmpEchoRequest,
            src,
            dst,
            count,
            bytes,
        } = obs
        else {
            return;
        };
        if count == 0 || !self.networks.allows(dst) {
            return;
        }
        let width = self.width;
        let state = self.table.touch(dst, now, || State {
            series: Series::new(now, width),
            quiet_until: 0,
        });
        state.series.add(ts_ns, width, [count, bytes]);
        let [packets, total_bytes] = state.series.totals(now, width);
        let w = self.timing.window_secs;
        if packets < self.packets_per_sec.saturating_mul(w)
            || !may_alert(&mut state.quiet_until, now, self.timing.cooldown_ns)
        {
            return;
        }
        let proto = icmp_for(dst);
        let rate = packets as f64 / w as f64;
        out.push(
            ICMP_FLOOD
                .alert(
                    ts_ns,
                    proto,
                    src,
                    format!(
                        "NTA {} echo flood towards {dst}: {rate:.0} requests/s over {w} s",
                        proto_name(proto)
                    ),
                )
                .to(dst)
                .with("packets", packets)
                .with("bytes", total_bytes)
                .with("packets_per_sec", round3(rate))
                .with("threshold_per_sec", self.packets_per_sec)
                .with("window_secs", w),
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
