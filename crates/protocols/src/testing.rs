//! Test rig for parsers: feeds bytes as the application layer would and collects the events
//! as JSON, and a hostile-input driver every parser's tests run.

use std::net::IpAddr;

use serde_json::Value;

use crate::parser::{
    Buffer, Dir, Expectation, Inspect, Out, Parser, Probe, ProbeInput, Transport, Written,
};

/// Runs one parser over one flow.
pub(crate) struct Harness {
    parser: Box<dyn Parser>,
    tcp: bool,
    pending: [Vec<u8>; 2],
    buf: Vec<u8>,
    written: Vec<Written>,
    pub(crate) expectations: Vec<Expectation>,
    pub(crate) upgrade: Option<&'static str>,
    pub(crate) ts_ns: u64,
    inspect: Inspect,
}

impl Harness {
    pub(crate) fn tcp(parser: Box<dyn Parser>) -> Self {
        Self::new(parser, true)
    }

    pub(crate) fn udp(parser: Box<dyn Parser>) -> Self {
        Self::new(parser, false)
    }

    fn new(parser: Box<dyn Parser>, tcp: bool) -> Self {
        Harness {
            parser,
            tcp,
            pending: [Vec::new(), Vec::new()],
            buf: Vec::new(),
            written: Vec::new(),
            expectations: Vec::new(),
            upgrade: None,
            ts_ns: 1_700_000_000_000_000_000,
            inspect: Inspect {
                on: true,
                ..Inspect::default()
            },
        }
    }

    fn with_out<R>(&mut self, f: impl FnOnce(&mut dyn Parser, &mut Out<'_>) -> R) -> R {
        let client: IpAddr = "10.0.0.1".parse().unwrap();
        let server: IpAddr = "10.0.0.2".parse().unwrap();
        let mut out = Out {
            ts_ns: self.ts_ns,
            transport: if self.tcp {
                Transport::Tcp
            } else {
                Transport::Udp
            },
            log: true,
            client: (client, 40000),
            server: (server, 80),
            buf: &mut self.buf,
            events: &mut self.written,
            expect: &mut self.expectations,
            upgrade: &mut self.upgrade,
            inspect: &mut self.inspect,
        };
        f(self.parser.as_mut(), &mut out)
    }

    /// Whether detection inspects the flow (it does unless told otherwise): when not, parsers
    /// keep and hand over no buffers.
    pub(crate) fn inspecting(mut self, on: bool) -> Self {
        self.inspect.on = on;
        self
    }

    /// Bytes in `dir`: TCP appends them to what the parser left unconsumed and offers the lot
    /// (as stream reassembly does); UDP hands over one datagram.
    pub(crate) fn feed(&mut self, dir: Dir, data: &[u8]) {
        if !self.tcp {
            self.with_out(|p, out| p.parse(dir, data, out));
            return;
        }
        let i = dir.index();
        let mut pending = std::mem::take(&mut self.pending[i]);
        pending.extend_from_slice(data);
        loop {
            if pending.is_empty() {
                break;
            }
            let n = self.with_out(|p, out| p.parse(dir, &pending, out));
            let n = n.min(pending.len());
            if n == 0 {
                break;
            }
            pending.drain(..n);
        }
        self.pending[i] = pending;
    }

    pub(crate) fn gap(&mut self, dir: Dir, len: u64) -> bool {
        self.pending[dir.index()].clear();
        self.with_out(|p, out| p.gap(dir, len, out))
    }

    pub(crate) fn finish(&mut self) {
        self.with_out(|p, out| p.finish(out));
    }

    /// The events logged so far (not inspection points).
    fn logged(&self) -> impl Iterator<Item = &Written> {
        self.written.iter().filter(|w| w.logged)
    }

    /// Inspection points so far (transactions shown to detection before their event):
    /// (event type, tx_id).
    pub(crate) fn inspection_points(&self) -> Vec<(&'static str, Option<u64>)> {
        self.written
            .iter()
            .filter(|w| !w.logged)
            .map(|w| (w.event_type, w.tx_id))
            .collect()
    }

    /// The inspection buffers of every logged event so far, by event: (buffer name, bytes).
    pub(crate) fn buffers(&self) -> Vec<Vec<(String, Vec<u8>)>> {
        self.logged()
            .map(|w| {
                self.inspect.list[w.buffers.clone()]
                    .iter()
                    .map(|(_, b, r)| (b.name(), self.inspect.data[r.clone()].to_vec()))
                    .collect()
            })
            .collect()
    }

    /// The instances of `buffer` sent in `dir` in logged event `i`, as text (lossy).
    pub(crate) fn buffer(&self, i: usize, dir: Dir, buffer: &Buffer) -> Vec<String> {
        let Some(w) = self.logged().nth(i) else {
            return Vec::new();
        };
        self.inspect.list[w.buffers.clone()]
            .iter()
            .filter(|(d, b, _)| b == buffer && *d == dir)
            .map(|(_, _, r)| String::from_utf8_lossy(&self.inspect.data[r.clone()]).into_owned())
            .collect()
    }

    /// Every logged event so far, as `{"event_type", "to_server", "tx_id", <members>}`.
    pub(crate) fn events(&self) -> Vec<Value> {
        self.logged()
            .map(|w| {
                let body = std::str::from_utf8(&self.buf[w.range.clone()]).unwrap();
                let mut v: Value = serde_json::from_str(&format!("{{{body}}}"))
                    .unwrap_or_else(|e| panic!("event is not JSON ({e}): {body}"));
                v["event_type"] = w.event_type.into();
                v["to_server"] = w.to_server.into();
                if let Some(t) = w.tx_id {
                    v["tx_id"] = t.into();
                }
                v
            })
            .collect()
    }
}

/// A probe input for tests.
pub(crate) fn probe_input(
    dir: Dir,
    data: &[u8],
    transport: Transport,
    server_port: u16,
) -> ProbeInput<'_> {
    ProbeInput {
        dir,
        data,
        transport,
        server_port,
        client_port: 40000,
    }
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// `rounds`, unless the environment variable `NTA_HOSTILE_ROUNDS` says how many (for a longer
/// run of every hostile-input test:
/// `NTA_HOSTILE_ROUNDS=100000 cargo test -p nta-protocols --release hostile`).
pub(crate) fn hostile_rounds(rounds: usize) -> usize {
    std::env::var("NTA_HOSTILE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(rounds)
}

/// Feeds a parser (and the probe) truncated, mutated, randomly split and random versions of
/// `seeds` (each a list of (direction, bytes) messages of one flow), checking only that
/// nothing panics and every event is valid JSON. `rounds` flows are tried (see
/// [`hostile_rounds`]). A round that panics prints the flow it was fed, in hex, before the
/// test fails.
pub(crate) fn hostile(
    make: fn() -> Box<dyn Parser>,
    probe: fn(&ProbeInput<'_>) -> Probe,
    tcp: bool,
    seeds: &[Vec<(Dir, Vec<u8>)>],
    rounds: usize,
) {
    let rounds = hostile_rounds(rounds);
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let transport = if tcp { Transport::Tcp } else { Transport::Udp };
    for round in 0..rounds {
        let mut flow: Vec<(Dir, Vec<u8>)> = if seeds.is_empty() || round % 10 == 9 {
            (0..1 + rng.below(4))
                .map(|_| {
                    let n = rng.below(600);
                    let d = if rng.below(2) == 0 {
                        Dir::ToServer
                    } else {
                        Dir::ToClient
                    };
                    (d, (0..n).map(|_| rng.next() as u8).collect())
                })
                .collect()
        } else {
            seeds[round % seeds.len()].clone()
        };
        // Mutate: flip bytes, truncate, duplicate, insert.
        for (_, m) in flow.iter_mut() {
            match rng.below(5) {
                0 => {
                    let cut = rng.below(m.len() + 1);
                    m.truncate(cut);
                }
                1 | 2 => {
                    for _ in 0..1 + rng.below(8) {
                        if !m.is_empty() {
                            let i = rng.below(m.len());
                            m[i] = match rng.below(4) {
                                0 => 0,
                                1 => 0xff,
                                2 => m[i].wrapping_add(1),
                                _ => rng.next() as u8,
                            };
                        }
                    }
                }
                3 => {
                    let i = rng.below(m.len() + 1);
                    let ins: Vec<u8> = (0..rng.below(40)).map(|_| rng.next() as u8).collect();
                    m.splice(i..i, ins);
                }
                _ => {}
            }
        }
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut h = if tcp {
                Harness::tcp(make())
            } else {
                Harness::udp(make())
            };
            for (d, m) in &flow {
                let _ = probe(&probe_input(*d, m, transport, 80));
                if tcp {
                    // Random split into segments.
                    let mut at = 0;
                    while at < m.len() {
                        let n = 1 + rng.below(m.len() - at);
                        h.feed(*d, &m[at..at + n]);
                        at += n;
                    }
                    if rng.below(10) == 0 {
                        h.gap(*d, 1 + rng.below(1000) as u64);
                    }
                } else {
                    h.feed(*d, m);
                }
            }
            h.finish();
            let _ = h.events();
        }));
        if let Err(panic) = run {
            eprintln!("hostile: round {round} panicked; the flow it was fed:");
            for (d, m) in &flow {
                let hex: String = m.iter().map(|b| format!("{b:02x}")).collect();
                eprintln!("  {d:?} {hex}");
            }
            std::panic::resume_unwind(panic);
        }
    }
}
