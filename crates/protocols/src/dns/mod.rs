//! DNS over UDP and TCP (RFC 1035, RFC 7766): queries and responses paired into transactions
//! by message ID, one `dns` event per question of a query and one per response, in Suricata's
//! EVE version 2 format.
//!
//! Over TCP every message carries a two-byte length in front; a message is read only once it
//! is whole. The message format itself is read by [`wire`].
//!
//! DNS is port-gated to 53: a header and a question are too weak a signature to try on every
//! UDP flow (random bytes on other ports would be called DNS now and then).

mod log;
mod wire;

use std::collections::VecDeque;

use crate::parser::{Dir, Out, Parser, Probe, ProbeInput, Transport};
use crate::registry::Builtin;

pub use wire::rrtype_code;
use wire::{Header, HEADER_LEN};

/// The protocol's registry entry.
pub(crate) fn protocol() -> Builtin {
    let mut info = Builtin::info(
        "dns",
        "DNS queries and responses over UDP and TCP",
        &[Transport::Udp, Transport::Tcp],
        &[53],
        Some("dns"),
    );
    info.port_gated = true;
    Builtin {
        info,
        probe,
        parser: || Box::<Dns>::default(),
    }
}

/// Questions a query may announce and still be taken for DNS (real ones ask one).
const MAX_PROBE_QUESTIONS: u16 = 16;
/// Queries waiting for their response; past it the oldest is forgotten (its response, if it
/// ever comes, opens a transaction of its own).
const MAX_OPEN_QUERIES: usize = 32;

fn probe(input: &ProbeInput<'_>) -> Probe {
    match input.transport {
        Transport::Udp => match plausible(input.data) {
            Probe::NeedMore => Probe::NoMatch,
            p => p,
        },
        Transport::Tcp => {
            let Some(len) = wire::be16(input.data, 0) else {
                return Probe::NeedMore;
            };
            let len = usize::from(len);
            if len < HEADER_LEN {
                return Probe::NoMatch;
            }
            let msg = &input.data[2..];
            let msg = &msg[..msg.len().min(len)];
            match plausible(msg) {
                // The whole message is there and still not read through: not DNS.
                Probe::NeedMore if msg.len() >= len => Probe::NoMatch,
                p => p,
            }
        }
    }
}

/// Whether `msg` (one message, or the start of one) has a plausible header and a question
/// section that reads through. `NeedMore` when it stops short.
fn plausible(msg: &[u8]) -> Probe {
    let Some(h) = Header::parse(msg) else {
        return Probe::NeedMore;
    };
    // 0 QUERY, 1 IQUERY, 2 STATUS, 4 NOTIFY, 5 UPDATE (3 is unassigned but harmless).
    if h.opcode() > 5 || h.qdcount > MAX_PROBE_QUESTIONS {
        return Probe::NoMatch;
    }
    if !h.is_response() && h.qdcount == 0 {
        return Probe::NoMatch;
    }
    // Read the questions; fail on a fault, ask for more when the bytes run out.
    let mut pos = HEADER_LEN;
    for _ in 0..h.qdcount {
        match check_name(msg, pos) {
            Ok(next) => pos = next,
            Err(p) => return p,
        }
        let (Some(t), Some(c)) = (wire::be16(msg, pos), wire::be16(msg, pos + 2)) else {
            return Probe::NeedMore;
        };
        if t == 0 || !wire::plausible_class(c) {
            return Probe::NoMatch;
        }
        pos += 4;
    }
    Probe::Match
}

/// Walks a question name strictly (labels of at most 63 bytes, pointers only backwards):
/// the position after it, or why not.
fn check_name(msg: &[u8], start: usize) -> Result<usize, Probe> {
    let mut pos = start;
    let mut wire_len = 0usize;
    loop {
        let Some(&b) = msg.get(pos) else {
            return Err(Probe::NeedMore);
        };
        match b & 0xc0 {
            0 if b == 0 => return Ok(pos + 1),
            0 => {
                wire_len += 1 + usize::from(b);
                if wire_len > 255 {
                    return Err(Probe::NoMatch);
                }
                pos += 1 + usize::from(b);
            }
            0xc0 => {
                let Some(p) = wire::be16(msg, pos) else {
                    return Err(Probe::NeedMore);
                };
                let target = usize::from(p & 0x3fff);
                if target < HEADER_LEN || target >= start {
                    return Err(Probe::NoMatch);
                }
                // The rest of the name was read before (a previous question): plausible.
                return Ok(pos + 2);
            }
            _ => return Err(Probe::NoMatch),
        }
    }
}

/// Follows one DNS flow.
#[derive(Debug, Default)]
pub(crate) struct Dns {
    /// Transactions handed out so far.
    next_tx: u64,
    /// Queries waiting for their response: (message ID, transaction), oldest first.
    open: VecDeque<(u16, u64)>,
    /// TCP, per direction: bytes went missing, and the next message start is not known yet.
    lost: [bool; 2],
}

impl Dns {
    fn message(&mut self, msg: &[u8], out: &mut Out<'_>) {
        let Some(m) = wire::parse_message(msg) else {
            return;
        };
        if m.header.is_response() {
            let id = m.header.id;
            let tx = match self.open.iter().position(|&(q, _)| q == id) {
                Some(i) => match self.open.remove(i) {
                    Some((_, tx)) => tx,
                    None => self.new_tx(),
                },
                None => self.new_tx(),
            };
            log::response(&m, tx, out);
        } else {
            if m.questions.is_empty() {
                return;
            }
            let tx = self.new_tx();
            if self.open.len() >= MAX_OPEN_QUERIES {
                self.open.pop_front();
            }
            self.open.push_back((m.header.id, tx));
            log::query(&m, tx, out);
        }
    }

    fn new_tx(&mut self) -> u64 {
        let tx = self.next_tx;
        self.next_tx += 1;
        tx
    }

    /// TCP: every whole length-prefixed message in `data`; returns the bytes consumed.
    fn stream(&mut self, dir: Dir, data: &[u8], out: &mut Out<'_>) -> usize {
        let d = dir.index();
        if self.lost[d] {
            // After a gap, carry on only from what looks like the start of a message.
            match probe(&ProbeInput {
                dir,
                data,
                transport: Transport::Tcp,
                server_port: 53,
                client_port: 0,
            }) {
                Probe::Match => self.lost[d] = false,
                Probe::NeedMore => return 0,
                Probe::NoMatch => return data.len(),
            }
        }
        let mut used = 0;
        while let Some(rest) = data.get(used..) {
            let Some(len) = wire::be16(rest, 0) else {
                break;
            };
            let Some(msg) = rest.get(2..2 + usize::from(len)) else {
                break;
            };
            self.message(msg, out);
            used += 2 + msg.len();
        }
        used
    }
}

impl Parser for Dns {
    fn parse(&mut self, dir: Dir, data: &[u8], out: &mut Out<'_>) -> usize {
        // Over TCP each message has a 2-byte length in front (RFC 1035 4.2.2).
        match out.transport() {
            Transport::Tcp => self.stream(dir, data, out),
            Transport::Udp => {
                self.message(data, out);
                data.len()
            }
        }
    }

    fn gap(&mut self, dir: Dir, _len: u64, _out: &mut Out<'_>) -> bool {
        self.lost[dir.index()] = true;
        true
    }
}

#[cfg(test)]
mod tests;
