//! NTP (RFC 5905) over UDP: one small `ntp` event per packet (Suricata has no NTP event; the
//! fields are NTP's own names).
//!
//! Modes 1–5 carry the 48-byte time header. Modes 6 (control, `ntpq`) and 7 (private,
//! `ntpdc`, the `monlist` of amplification attacks) have a shorter header of their own and are
//! logged with version and mode only.

use crate::parser::{Dir, Out, Parser, Probe, ProbeInput, Transport};
use crate::registry::Builtin;

/// The protocol's registry entry.
pub(crate) fn protocol() -> Builtin {
    let mut info = Builtin::info(
        "ntp",
        "NTP time packets",
        &[Transport::Udp],
        &[123],
        Some("ntp"),
    );
    info.port_gated = true;
    Builtin {
        info,
        probe,
        parser: || Box::<Ntp>::default(),
    }
}

/// Modes 1–5: the time header.
const HEADER_LEN: usize = 48;
/// Mode 6's header (RFC 9327).
const CONTROL_LEN: usize = 12;
/// Mode 7's header (ntpd's `ntp_request.h`).
const PRIVATE_LEN: usize = 8;
/// Seconds from the NTP epoch (1900) to the Unix epoch (1970).
const UNIX_EPOCH: u64 = 2_208_988_800;

/// A packet's version and mode (the first byte, after the leap indicator).
fn first(d: &[u8]) -> Option<(u8, u8)> {
    let b = *d.first()?;
    Some(((b >> 3) & 7, b & 7))
}

fn probe(input: &ProbeInput<'_>) -> Probe {
    let d = input.data;
    let Some((version, mode)) = first(d) else {
        return Probe::NoMatch;
    };
    let ok = (1..=4).contains(&version)
        && match mode {
            // Stratum 16 is "unsynchronised"; above it is reserved.
            1..=5 => d.len() >= HEADER_LEN && d.get(1).is_some_and(|&s| s <= 16),
            // Opcode 1..=31, and the data it announces is there.
            6 => {
                let count = d
                    .get(10..12)
                    .map(|c| usize::from(u16::from_be_bytes([c[0], c[1]])));
                d.get(1).is_some_and(|&b| b & 0x1f != 0)
                    && count.is_some_and(|c| CONTROL_LEN + c <= d.len())
            }
            // Implementation: 0 (universal), 2 (old xntpd) or 3 (xntpd).
            7 => d.len() >= PRIVATE_LEN && d.get(2).is_some_and(|i| matches!(i, 0 | 2 | 3)),
            _ => false,
        };
    if ok {
        Probe::Match
    } else {
        Probe::NoMatch
    }
}

/// Follows one NTP flow: every packet is a transaction of its own.
#[derive(Debug, Default)]
pub(crate) struct Ntp {
    next_tx: u64,
}

impl Parser for Ntp {
    fn parse(&mut self, dir: Dir, data: &[u8], out: &mut Out<'_>) -> usize {
        if probe(&ProbeInput {
            dir,
            data,
            transport: Transport::Udp,
            server_port: 123,
            client_port: 123,
        }) != Probe::Match
        {
            return data.len();
        }
        let Some((version, mode)) = first(data) else {
            return data.len();
        };
        let tx = self.next_tx;
        self.next_tx += 1;
        // Mode 3 goes to a server and 4 comes back; the others follow the flow.
        let to_server = match mode {
            3 => true,
            4 => false,
            _ => dir == Dir::ToServer,
        };
        let time: Option<&[u8; HEADER_LEN]> = match mode {
            1..=5 => data.get(..HEADER_LEN).and_then(|h| h.try_into().ok()),
            _ => None,
        };
        out.event("ntp", to_server, Some(tx), |w| {
            w.object("ntp");
            w.u64("version", version.into());
            w.plain("mode", mode_name(mode));
            if let Some(h) = time {
                let stratum = h[1];
                w.u64("stratum", stratum.into());
                let refid = &h[12..16];
                if refid != [0; 4] {
                    if stratum <= 1 {
                        // A four-letter source ("GPS", "PPS") or kiss code ("RATE").
                        let end = refid.iter().position(|&b| b == 0).unwrap_or(4);
                        w.bytes("reference_id", &refid[..end]);
                    } else {
                        // The upstream server's IPv4 address (or a hash of its IPv6 one).
                        let ip = std::net::Ipv4Addr::new(refid[0], refid[1], refid[2], refid[3]);
                        w.plain("reference_id", &ip.to_string());
                    }
                }
                let mut ts = [0u8; 8];
                ts.copy_from_slice(&h[40..48]);
                let ts = u64::from_be_bytes(ts);
                if ts != 0 {
                    w.plain("transmit_ts", &ntp_time(ts));
                }
            }
            w.close();
        });
        data.len()
    }
}

fn mode_name(mode: u8) -> &'static str {
    match mode {
        1 => "symmetric_active",
        2 => "symmetric_passive",
        3 => "client",
        4 => "server",
        5 => "broadcast",
        6 => "control",
        7 => "private",
        _ => "reserved",
    }
}

/// An NTP timestamp (32.32 fixed point seconds since 1900) in EVE's time format. Seconds
/// before 1970 are taken to be in era 1 (from 2036 on), as RFC 5905 §6 suggests for
/// timestamps near the present.
fn ntp_time(ts: u64) -> String {
    let secs = ts >> 32;
    let frac = ts & 0xffff_ffff;
    let unix = if secs >= UNIX_EPOCH {
        secs - UNIX_EPOCH
    } else {
        secs + (1 << 32) - UNIX_EPOCH
    };
    let nanos = (frac * 1_000_000_000) >> 32;
    nta_event::format_timestamp(unix.saturating_mul(1_000_000_000).saturating_add(nanos))
}

#[cfg(test)]
mod tests;
