//! The application layer of one worker: per-flow state, protocol identification, parsers.

use std::sync::Arc;

use nta_event::{AppEvent, Event};
use nta_flow::{Chunk, EndedFlow, Flow, Stream, StreamConfig, StreamCounters, StreamMemory};
use nta_packet::{ip_proto, Packet, TcpFlags, Transport as L4};

use crate::parser::{
    Buffer, Dir, Expectation, Inspect, Out, Parser, Probe, ProbeInput, Transport, Written,
};

/// Where the application layer puts what it produces.
pub trait AppSink {
    /// An event to log.
    fn event(&mut self, ev: &Event<'_>);
    /// A transaction with its inspection buffers, for detection (only while inspection is on,
    /// see [`AppLayer::set_inspect`]); called before the transaction's event is logged.
    fn tx(&mut self, _tx: &Tx<'_>) {}
}

impl<F: FnMut(&Event<'_>)> AppSink for F {
    fn event(&mut self, ev: &Event<'_>) {
        self(ev)
    }
}

/// One application-layer transaction as detection sees it: its event (the app-layer object
/// an alert carries) and its inspection buffers.
#[derive(Clone, Copy, Debug)]
pub struct Tx<'a> {
    /// The event (written whether or not the protocol's events are logged).
    pub event: AppEvent<'a>,
    /// The protocol's events are logged.
    pub logged: bool,
    list: &'a [(Dir, Buffer, std::ops::Range<usize>)],
    data: &'a [u8],
}

impl<'a> Tx<'a> {
    /// Every buffer with the direction it was sent in, in the order the parser gave them.
    pub fn buffers(&self) -> impl Iterator<Item = (Dir, &'a Buffer, &'a [u8])> + 'a {
        let data = self.data;
        self.list
            .iter()
            .map(move |(d, b, r)| (*d, b, data.get(r.clone()).unwrap_or_default()))
    }

    /// The instances of one buffer (several for multi-buffers such as `dns.query`), in
    /// direction `dir` (`None`: either).
    pub fn get<'b>(
        &self,
        buffer: &'b Buffer,
        dir: Option<Dir>,
    ) -> impl Iterator<Item = &'a [u8]> + 'b
    where
        'a: 'b,
    {
        self.buffers()
            .filter(move |(d, b, _)| *b == buffer && dir.is_none_or(|x| x == *d))
            .map(|(_, _, data)| data)
    }
}
use crate::registry::{ports_contain, PortRange, ProtocolRef};

/// At most this many protocols (built-in and user-defined) can be registered.
pub const MAX_PROTOCOLS: usize = 64;

/// One protocol as this run uses it.
#[derive(Clone)]
pub struct Entry {
    /// The protocol.
    pub proto: ProtocolRef,
    /// Probed and parsed.
    pub enabled: bool,
    /// Detection ports (the protocol's defaults unless configured).
    pub ports: Vec<PortRange>,
    /// Its events are logged.
    pub log: bool,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("name", &self.proto.info().name)
            .field("enabled", &self.enabled)
            .field("ports", &self.ports)
            .field("log", &self.log)
            .finish()
    }
}

/// The protocols of a run, in probe order, with their settings. Shared by every worker.
#[derive(Clone, Debug, Default)]
pub struct Registry {
    entries: Vec<Entry>,
}

/// Application-layer limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppConfig {
    /// TCP reassembly.
    pub stream: StreamConfig,
    /// Bytes per direction shown to the probes before the flow is declared `failed`.
    pub probe_bytes: usize,
    /// Datagrams per UDP flow probed before it is declared `failed`.
    pub probe_datagrams: u32,
    /// Unconsumed bytes a parser may leave waiting per direction (a header that never ends);
    /// past it the parser is stopped for the flow.
    pub max_pending: usize,
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            stream: StreamConfig::default(),
            probe_bytes: 8 << 10,
            probe_datagrams: 8,
            max_pending: 256 << 10,
        }
    }
}

impl Registry {
    /// A registry over `entries` (in probe order). Errors past [`MAX_PROTOCOLS`].
    pub fn new(entries: Vec<Entry>) -> Result<Registry, String> {
        if entries.len() > MAX_PROTOCOLS {
            return Err(format!(
                "{} protocols are registered; at most {MAX_PROTOCOLS} are supported",
                entries.len()
            ));
        }
        Ok(Registry { entries })
    }

    /// Every protocol with its settings, in probe order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    fn find(&self, name: &str) -> Option<usize> {
        self.entries
            .iter()
            .position(|e| e.enabled && e.proto.info().name == name)
    }
}

/// Application-layer counters of one worker.
#[derive(Clone, Debug, Default)]
pub struct AppCounters {
    /// Reassembly.
    pub stream: StreamCounters,
    /// Flows identified, per registry entry.
    pub flows: Vec<u64>,
    /// Events written, per registry entry.
    pub tx: Vec<u64>,
    /// Flows announced by another flow (FTP data).
    pub expected: u64,
    /// Flows with payload no protocol matched.
    pub failed: u64,
    /// Parsers stopped early: a gap they could not cross, or a message too large to wait for.
    pub parser_stopped: u64,
    /// Bytes held for reassembly now.
    pub memuse: u64,
}

impl AppCounters {
    /// Adds another worker's counters.
    pub fn merge(&mut self, o: &AppCounters) {
        self.stream.merge(&o.stream);
        for (v, dst) in [(&o.flows, &mut self.flows), (&o.tx, &mut self.tx)] {
            if dst.len() < v.len() {
                dst.resize(v.len(), 0);
            }
            for (a, b) in dst.iter_mut().zip(v) {
                *a += b;
            }
        }
        self.expected += o.expected;
        self.failed += o.failed;
        self.parser_stopped += o.parser_stopped;
        self.memuse += o.memuse;
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ident {
    /// Still probing; bit i set: protocol i said no in that direction.
    Probing([u64; 2]),
    /// Registry entry.
    Proto(u16),
    /// Announced by another flow.
    Expected(&'static str),
    /// Nothing matched.
    Failed,
}

struct Session {
    ident: Ident,
    parser: Option<Box<dyn Parser>>,
    /// Payload was seen (a flow with none has no `app_proto`).
    payload: bool,
    /// Probed bytes (TCP) or datagrams (UDP) so far, per direction.
    probed: [u32; 2],
    /// The registry entry whose events the parser writes (differs from `ident` after an
    /// upgrade: SMTP's STARTTLS hands over to TLS).
    logging_entry: u16,
}

struct AppFlow {
    /// TCP, per direction, once payload is seen (a SYN alone, as in a scan, costs only this
    /// record); `None` for UDP.
    streams: Option<Box<[Stream; 2]>>,
    /// TCP: the initial sequence number of each side's SYN, kept until the streams exist.
    isn: [Option<u32>; 2],
    /// TCP: the sides that sent a FIN (bit 0: client, bit 1: server).
    fins: u8,
    sess: Session,
}

/// Set in `Flow::app` once the application layer has nothing more to do with the flow's
/// packets (identification failed, or the parser is done): they skip it.
const BYPASS: u32 = 1 << 31;
/// Set in `Flow::app` while a direction has segments queued behind a hole. A bare ACK matters
/// only then (it may show the hole is a gap): without it, a bare ACK skips the application
/// layer without touching its state — on bulk transfers, half the packets.
const HOLE: u32 = 1 << 30;
const SLOT: u32 = !(BYPASS | HOLE);

/// Borrowed context a session needs while reading bytes.
struct Cx<'a> {
    reg: &'a Registry,
    cfg: &'a AppConfig,
    counters: &'a mut AppCounters,
    buf: &'a mut Vec<u8>,
    written: &'a mut Vec<Written>,
    expect: &'a mut Vec<Expectation>,
    inspect: &'a mut Inspect,
    ts_ns: u64,
    client: (std::net::IpAddr, u16),
    server: (std::net::IpAddr, u16),
    transport: Transport,
}

impl Cx<'_> {
    fn out<'o>(&'o mut self, log: bool, upgrade: &'o mut Option<&'static str>) -> Out<'o> {
        Out {
            ts_ns: self.ts_ns,
            transport: self.transport,
            log,
            client: self.client,
            server: self.server,
            buf: self.buf,
            events: self.written,
            expect: self.expect,
            upgrade,
            inspect: self.inspect,
        }
    }
}

impl Session {
    fn new() -> Session {
        Session {
            ident: Ident::Probing([0; 2]),
            parser: None,
            payload: false,
            probed: [0; 2],
            logging_entry: 0,
        }
    }

    /// Tries the probes on `data` of `dir`: the matching entry, if one does.
    fn identify(&mut self, dir: Dir, data: &[u8], cx: &mut Cx<'_>) -> Option<usize> {
        let Ident::Probing(mut excluded) = self.ident else {
            return None;
        };
        let input = ProbeInput {
            dir,
            data,
            transport: cx.transport,
            server_port: cx.server.1,
            client_port: cx.client.1,
        };
        let entries = cx.reg.entries();
        let usable = |i: usize| {
            let e = &entries[i];
            let info = e.proto.info();
            e.enabled
                && info.transports.contains(&cx.transport)
                && (!info.port_gated
                    || ports_contain(&e.ports, input.server_port)
                    || ports_contain(&e.ports, input.client_port))
        };
        let hinted = |i: usize| {
            ports_contain(&entries[i].ports, input.server_port)
                || (cx.transport == Transport::Udp
                    && ports_contain(&entries[i].ports, input.client_port))
        };
        // Order: protocols asking to go first, then those whose ports match, then the rest.
        let d = dir.index();
        for pass in 0..3 {
            for (i, entry) in entries.iter().enumerate() {
                let first = entry.proto.info().first;
                let in_pass = match pass {
                    0 => first,
                    1 => !first && hinted(i),
                    _ => !first && !hinted(i),
                };
                if !in_pass || excluded[d] & (1 << i) != 0 || !usable(i) {
                    continue;
                }
                match entry.proto.probe(&input) {
                    Probe::Match => return Some(i),
                    Probe::NoMatch => excluded[d] |= 1 << i,
                    Probe::NeedMore => {}
                }
            }
        }
        self.ident = Ident::Probing(excluded);
        let all: u64 = (0..entries.len())
            .filter(|&i| usable(i))
            .fold(0, |m, i| m | (1 << i));
        let out_of_tries = match cx.transport {
            Transport::Tcp => data.len() >= cx.cfg.probe_bytes,
            Transport::Udp => self.probed[0] + self.probed[1] >= cx.cfg.probe_datagrams,
        };
        if (excluded[0] & all == all && excluded[1] & all == all) || out_of_tries {
            self.ident = Ident::Failed;
            cx.counters.failed += 1;
        }
        None
    }

    fn start(&mut self, i: usize, cx: &mut Cx<'_>) {
        self.ident = Ident::Proto(i as u16);
        self.logging_entry = i as u16;
        self.parser = Some(cx.reg.entries()[i].proto.parser());
        if let Some(n) = cx.counters.flows.get_mut(i) {
            *n += 1;
        }
    }

    /// What a stream hands over for `dir`: bytes (returns how many were consumed) or a gap.
    fn read(&mut self, dir: Dir, chunk: Chunk<'_>, cx: &mut Cx<'_>) -> usize {
        match chunk {
            Chunk::Data(d) => self.data(dir, d, cx),
            Chunk::Gap(n) => {
                self.gap(dir, n, cx);
                0
            }
        }
    }

    /// In-order bytes of `dir`; returns how many were consumed.
    fn data(&mut self, dir: Dir, data: &[u8], cx: &mut Cx<'_>) -> usize {
        if data.is_empty() {
            return 0;
        }
        self.payload = true;
        if let Ident::Probing(_) = self.ident {
            let d = dir.index();
            self.probed[d] = self.probed[d].saturating_add(match cx.transport {
                Transport::Tcp => 0,
                Transport::Udp => 1,
            });
            match self.identify(dir, data, cx) {
                Some(i) => self.start(i, cx),
                None if matches!(self.ident, Ident::Failed) => return data.len(),
                // Keep the bytes (TCP) and wait for more.
                None => return 0,
            }
        }
        self.parse(dir, data, cx)
    }

    fn parse(&mut self, dir: Dir, data: &[u8], cx: &mut Cx<'_>) -> usize {
        let Some(parser) = self.parser.as_mut() else {
            return data.len();
        };
        let entry = usize::from(self.logging_entry);
        let log = cx.reg.entries().get(entry).is_some_and(|e| e.log);
        let before = cx.written.len();
        let mut upgrade = None;
        let used = parser.parse(dir, data, &mut cx.out(log, &mut upgrade));
        if let Some(n) = cx.counters.tx.get_mut(entry) {
            *n += (cx.written.len() - before) as u64;
        }
        if let Some(name) = upgrade {
            match cx.reg.find(name) {
                Some(i) => {
                    self.parser = Some(cx.reg.entries()[i].proto.parser());
                    self.logging_entry = i as u16;
                }
                None => self.parser = None,
            }
            return used.min(data.len());
        }
        let used = used.min(data.len());
        if used == 0 && data.len() > cx.cfg.max_pending {
            self.stop(cx);
            return data.len();
        }
        used
    }

    fn gap(&mut self, dir: Dir, len: u64, cx: &mut Cx<'_>) {
        match self.ident {
            Ident::Probing(_) => {
                // The start of the stream is gone: nothing left to identify it from.
                self.ident = Ident::Failed;
                cx.counters.failed += 1;
            }
            Ident::Proto(_) => {
                if let Some(p) = self.parser.as_mut() {
                    let entry = usize::from(self.logging_entry);
                    let log = cx.reg.entries().get(entry).is_some_and(|e| e.log);
                    let before = cx.written.len();
                    let mut upgrade = None;
                    let carry_on = p.gap(dir, len, &mut cx.out(log, &mut upgrade));
                    if let Some(n) = cx.counters.tx.get_mut(entry) {
                        *n += (cx.written.len() - before) as u64;
                    }
                    if !carry_on {
                        self.stop(cx);
                    }
                }
            }
            Ident::Expected(_) | Ident::Failed => {}
        }
    }

    fn stop(&mut self, cx: &mut Cx<'_>) {
        if self.parser.take().is_some() {
            cx.counters.parser_stopped += 1;
        }
    }

    fn finish(&mut self, cx: &mut Cx<'_>) {
        if let Some(p) = self.parser.as_mut() {
            let entry = usize::from(self.logging_entry);
            let log = cx.reg.entries().get(entry).is_some_and(|e| e.log);
            let before = cx.written.len();
            let mut upgrade = None;
            p.finish(&mut cx.out(log, &mut upgrade));
            if let Some(n) = cx.counters.tx.get_mut(entry) {
                *n += (cx.written.len() - before) as u64;
            }
        }
        if let Ident::Probing(_) = self.ident {
            if self.payload {
                cx.counters.failed += 1;
                self.ident = Ident::Failed;
            }
        }
    }
}

/// The application layer of one worker.
pub struct AppLayer {
    reg: Arc<Registry>,
    cfg: AppConfig,
    slab: Vec<Option<AppFlow>>,
    free: Vec<u32>,
    mem: StreamMemory,
    stream_counters: StreamCounters,
    counters: AppCounters,
    buf: Vec<u8>,
    written: Vec<Written>,
    inspect: Inspect,
    announced: Vec<Expectation>,
    /// Flows announced and not seen yet, with when they were announced.
    expected: Vec<(Expectation, u64)>,
    /// Some protocol is enabled (else the layer does nothing at all).
    active: bool,
}

/// How long an announced flow is waited for (packet time).
const EXPECT_NS: u64 = 60 * 1_000_000_000;
const MAX_EXPECTED: usize = 1024;

impl AppLayer {
    /// An application layer over `reg`, with `cfg` (the caps already divided per worker).
    pub fn new(reg: Arc<Registry>, cfg: AppConfig) -> AppLayer {
        let n = reg.entries().len();
        let active = reg.entries().iter().any(|e| e.enabled);
        AppLayer {
            active,
            reg,
            cfg,
            slab: vec![None],
            free: Vec::new(),
            mem: StreamMemory::default(),
            stream_counters: StreamCounters::default(),
            counters: AppCounters {
                flows: vec![0; n],
                tx: vec![0; n],
                ..AppCounters::default()
            },
            buf: Vec::with_capacity(4096),
            written: Vec::new(),
            inspect: Inspect::default(),
            announced: Vec::new(),
            expected: Vec::new(),
        }
    }

    /// Turns handing inspection buffers to [`AppSink::tx`] on or off (on when loaded rules
    /// inspect application-layer buffers; off, parsers skip building them).
    pub fn set_inspect(&mut self, on: bool) {
        self.inspect.on = on;
    }

    /// Whether the application layer is done with `flow` (identification failed, or the
    /// parser learnt all it could: a TLS or SSH session past its handshake).
    pub fn finished(&self, flow: &Flow) -> bool {
        flow.app & BYPASS != 0
    }

    /// What `flow` is found to speak so far (`None` while unknown or without payload).
    pub fn app_proto(&self, flow: &Flow) -> Option<&str> {
        if flow.app & BYPASS != 0 {
            return code_name(&self.reg, flow.app & SLOT);
        }
        let af = self.slab.get((flow.app & SLOT) as usize)?.as_ref()?;
        match af.sess.ident {
            Ident::Probing(_) => None,
            ident => ident_name(&self.reg, ident),
        }
    }

    /// The registry.
    pub fn registry(&self) -> &Registry {
        &self.reg
    }

    /// Counters now.
    pub fn counters(&self) -> AppCounters {
        let mut c = self.counters.clone();
        c.stream = self.stream_counters.clone();
        c.memuse = self.mem.used as u64;
        c
    }

    fn alloc(&mut self) -> u32 {
        let f = AppFlow {
            streams: None,
            isn: [None; 2],
            fins: 0,
            sess: Session::new(),
        };
        match self.free.pop() {
            Some(i) => {
                self.slab[i as usize] = Some(f);
                i
            }
            None => {
                self.slab.push(Some(f));
                (self.slab.len() - 1) as u32
            }
        }
    }

    /// One packet of `flow` (`to_server`: sent by the client). App-layer events go to `sink`.
    pub fn packet(
        &mut self,
        flow: &mut Flow,
        to_server: bool,
        p: &Packet<'_>,
        sink: &mut dyn AppSink,
    ) {
        if !self.active || flow.app & BYPASS != 0 {
            return;
        }
        let transport = match (p.proto, &p.transport) {
            (ip_proto::TCP, L4::Tcp(_)) => Transport::Tcp,
            (ip_proto::UDP, L4::Udp { .. }) => Transport::Udp,
            _ => return,
        };
        let tcp = match p.transport {
            L4::Tcp(t) => Some(t),
            _ => None,
        };
        if let Some(t) = tcp {
            let bare =
                p.payload.is_empty() && !t.flags.has(TcpFlags::SYN) && !t.flags.has(TcpFlags::FIN);
            if bare && flow.app & HOLE == 0 {
                return;
            }
        }
        if flow.app == 0 {
            let syn = tcp.is_some_and(|t| t.flags.has(TcpFlags::SYN));
            if p.payload.is_empty() && !syn {
                return;
            }
            if flow.encapsulates.is_some() {
                return;
            }
            flow.app = self.alloc();
            self.match_expected(flow);
        }
        let AppLayer {
            reg,
            cfg,
            slab,
            mem,
            stream_counters: sc,
            counters,
            buf,
            written,
            inspect,
            announced,
            ..
        } = self;
        let Some(Some(af)) = slab.get_mut((flow.app & SLOT) as usize) else {
            return;
        };
        let mut cx = Cx {
            reg,
            cfg,
            counters,
            buf,
            written,
            expect: announced,
            inspect,
            ts_ns: p.ts_ns,
            client: flow.client(),
            server: flow.server(),
            transport,
        };
        let dir = Dir::from_to_server(to_server);
        let sess = &mut af.sess;
        if let Some(t) = tcp {
            let i = dir.index();
            if t.flags.has(TcpFlags::SYN) {
                match af.streams.as_mut() {
                    Some(s) => s[i].syn(t.seq),
                    None => af.isn[i] = af.isn[i].or(Some(t.seq)),
                }
            }
            if t.flags.has(TcpFlags::FIN) {
                af.fins |= 1 << i;
            }
            if af.streams.is_none() && !p.payload.is_empty() {
                let mut s = Box::new([Stream::default(), Stream::default()]);
                for (st, isn) in s.iter_mut().zip(af.isn) {
                    if let Some(isn) = isn {
                        st.syn(isn);
                    }
                }
                af.streams = Some(s);
            }
        }
        match (&mut af.streams, tcp) {
            (Some(streams), Some(t)) => {
                let [s0, s1] = &mut **streams;
                let (mine, other) = if to_server { (s0, s1) } else { (s1, s0) };
                let mut read = |ch: Chunk<'_>| sess.read(dir, ch, &mut cx);
                mine.segment(t.seq, p.payload, &cfg.stream, mem, sc, &mut read);
                if t.flags.has(TcpFlags::FIN) {
                    mine.fin(t.seq, p.payload.len());
                }
                if t.flags.has(TcpFlags::ACK) {
                    let odir = dir.reverse();
                    let mut read = |ch: Chunk<'_>| sess.read(odir, ch, &mut cx);
                    other.ack(t.ack, &cfg.stream, mem, sc, &mut read);
                }
            }
            _ => {
                if !p.payload.is_empty() {
                    sess.data(dir, p.payload, &mut cx);
                }
            }
        }
        // Nothing more to learn from this flow: later packets skip the application layer,
        // and what reassembly holds for it is freed.
        // Both sides closed (FIN) with nothing waiting behind a hole: the session is over,
        // whatever the flow table still holds on to (its `closed` timeout).
        let closed = af
            .streams
            .as_ref()
            .is_some_and(|s| s.iter().all(|s| s.fin_seen() && !s.has_queued()));
        let finished = closed
            || match af.sess.ident {
                Ident::Failed | Ident::Expected(_) => true,
                Ident::Proto(_) => af.sess.parser.as_ref().is_none_or(|p| p.done()),
                Ident::Probing(_) => false,
            };
        let hole = af
            .streams
            .as_ref()
            .is_some_and(|s| s.iter().any(Stream::has_queued));
        flow.app = if hole {
            flow.app | HOLE
        } else {
            flow.app & !HOLE
        };
        self.flush_events(flow, sink);
        self.take_announcements(p.ts_ns);
        if finished {
            // Finish the parser now and free the flow's state: the flow keeps only what it
            // was found to be, and later packets skip the application layer.
            if let Some((ident, payload)) = self.close(flow, flow.app & SLOT, sink) {
                flow.app = BYPASS | ident_code(ident, payload);
            }
        }
    }

    fn match_expected(&mut self, flow: &Flow) {
        if self.expected.is_empty() || flow.proto() != ip_proto::TCP {
            return;
        }
        let server = flow.server();
        if let Some(i) = self
            .expected
            .iter()
            .position(|(e, _)| e.addr == server.0 && e.port == server.1)
        {
            let (e, _) = self.expected.swap_remove(i);
            if let Some(Some(af)) = self.slab.get_mut(flow.app as usize) {
                af.sess.ident = Ident::Expected(e.app_proto);
                self.counters.expected += 1;
            }
        }
    }

    fn take_announcements(&mut self, now: u64) {
        if self.announced.is_empty() {
            return;
        }
        self.expected
            .retain(|(_, t)| now.saturating_sub(*t) < EXPECT_NS);
        for e in self.announced.drain(..) {
            if self.expected.len() >= MAX_EXPECTED {
                self.expected.remove(0);
            }
            self.expected.push((e, now));
        }
    }

    fn flush_events(&mut self, flow: &Flow, sink: &mut dyn AppSink) {
        if self.written.is_empty() {
            self.inspect.clear();
            return;
        }
        let Some(Some(af)) = self.slab.get((flow.app & SLOT) as usize) else {
            self.written.clear();
            self.buf.clear();
            self.inspect.clear();
            return;
        };
        let app_proto = ident_name(&self.reg, af.sess.ident).unwrap_or("failed");
        emit_written(
            &self.written,
            &self.buf,
            &self.inspect,
            flow,
            app_proto,
            sink,
        );
        self.written.clear();
        self.buf.clear();
        self.inspect.clear();
    }

    /// `flow` ended: finishes its parser (its last events go to `sink`) and frees its state.
    /// Returns the flow's `app_proto`, or `None` when it carried no payload.
    pub fn flow_end(&mut self, ended: &EndedFlow, sink: &mut dyn AppSink) -> Option<&str> {
        let flow = &ended.flow;
        if flow.app & BYPASS != 0 {
            return code_name(&self.reg, flow.app & SLOT);
        }
        let slot = flow.app & SLOT;
        if slot == 0 {
            return None;
        }
        let (ident, payload) = self.close(flow, slot, sink)?;
        match ident {
            Ident::Expected(_) | Ident::Proto(_) => ident_name(&self.reg, ident),
            _ if payload => Some("failed"),
            _ => None,
        }
    }

    /// Takes a flow's state out of the slab: drains reassembly into the parser, finishes it,
    /// emits the last events, frees the slot. Returns what the flow was found to be, and
    /// whether it carried payload.
    fn close(&mut self, flow: &Flow, slot: u32, sink: &mut dyn AppSink) -> Option<(Ident, bool)> {
        let mut af = self.slab.get_mut(slot as usize)?.take()?;
        self.free.push(slot);
        let transport = if flow.proto() == ip_proto::TCP {
            Transport::Tcp
        } else {
            Transport::Udp
        };
        {
            let AppLayer {
                reg,
                cfg,
                mem,
                stream_counters: sc,
                counters,
                buf,
                written,
                inspect,
                announced,
                ..
            } = self;
            let mut cx = Cx {
                reg,
                cfg,
                counters,
                buf,
                written,
                expect: announced,
                inspect,
                ts_ns: flow.last_ns,
                client: flow.client(),
                server: flow.server(),
                transport,
            };
            let sess = &mut af.sess;
            if let Some(streams) = af.streams.as_mut() {
                for (i, s) in streams.iter_mut().enumerate() {
                    let dir = if i == 0 { Dir::ToServer } else { Dir::ToClient };
                    let mut read = |ch: Chunk<'_>| sess.read(dir, ch, &mut cx);
                    s.finish(&cfg.stream, mem, sc, &mut read);
                }
            }
            sess.finish(&mut cx);
        }
        self.announced.clear();
        let ident = af.sess.ident;
        // Events of the flow's last moments carry its final protocol.
        if !self.written.is_empty() {
            let app_proto = ident_name(&self.reg, ident).unwrap_or("failed");
            emit_written(
                &self.written,
                &self.buf,
                &self.inspect,
                flow,
                app_proto,
                sink,
            );
            self.written.clear();
            self.buf.clear();
        }
        self.inspect.clear();
        if self.free.len() + 1 == self.slab.len() {
            // Every slot is free: give the memory of a past burst back.
            self.slab.truncate(1);
            self.slab.shrink_to(1024);
            self.free.clear();
            self.free.shrink_to(1024);
        }
        Some((ident, af.sess.payload))
    }
}

/// Hands each written event to detection (with its buffers) and, when logged, to the log.
fn emit_written(
    written: &[Written],
    buf: &[u8],
    inspect: &Inspect,
    flow: &Flow,
    app_proto: &str,
    sink: &mut dyn AppSink,
) {
    for w in written {
        let event = AppEvent {
            ts_ns: flow.last_ns,
            flow,
            event_type: w.event_type,
            app_proto,
            to_server: w.to_server,
            tx_id: w.tx_id,
            body: &buf[w.range.clone()],
        };
        if inspect.on {
            sink.tx(&Tx {
                event,
                logged: w.logged,
                list: inspect.list.get(w.buffers.clone()).unwrap_or_default(),
                data: &inspect.data,
            });
        }
        if w.logged {
            sink.event(&Event::App(event));
        }
    }
}

/// A detached flow's `Flow::app` (with [`BYPASS`]) keeps what it was found to be in its low
/// bits: 0 failed, 1 + i registry entry i, `EXPECTED + k` the k-th announced protocol,
/// [`NO_PAYLOAD`] nothing (the session closed before any payload).
const EXPECTED: u32 = 1 << 16;
const NO_PAYLOAD: u32 = EXPECTED - 1;
const ANNOUNCED: [&str; 1] = ["ftp-data"];

fn ident_code(ident: Ident, payload: bool) -> u32 {
    match ident {
        Ident::Proto(i) => 1 + u32::from(i),
        Ident::Expected(name) => {
            EXPECTED + ANNOUNCED.iter().position(|&a| a == name).unwrap_or(0) as u32
        }
        Ident::Failed => 0,
        Ident::Probing(_) if payload => 0,
        Ident::Probing(_) => NO_PAYLOAD,
    }
}

fn code_name(reg: &Registry, code: u32) -> Option<&str> {
    match code {
        0 => Some("failed"),
        NO_PAYLOAD => None,
        c if c >= EXPECTED => ANNOUNCED.get((c - EXPECTED) as usize).copied(),
        c => reg
            .entries()
            .get((c - 1) as usize)
            .map(|e| e.proto.info().name.as_str()),
    }
}

fn ident_name(reg: &Registry, ident: Ident) -> Option<&str> {
    match ident {
        Ident::Proto(i) => reg
            .entries()
            .get(usize::from(i))
            .map(|e| e.proto.info().name.as_str()),
        Ident::Expected(name) => Some(name),
        Ident::Failed => Some("failed"),
        Ident::Probing(_) => None,
    }
}
