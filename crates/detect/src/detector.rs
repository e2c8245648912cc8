//! One worker's detection: evaluates packets and transactions against the shared
//! [`Engine`], and keeps the state rules build up per flow (flowbits, flowints, whether a
//! `pass` rule passed the flow). Threshold and detection_filter counters live in a
//! [`Thresholds`] store, which the workers of a run share.

use std::collections::HashMap;
use std::sync::Arc;

use nta_rules::{Action, BitsCommand, FieldTest, FlowintOp};

use crate::engine::{transport_class, Engine};
use crate::meta::{resolve, FlowMeta, PacketMeta, TxBuffers};
use crate::signature::{app_matches, flags_match, Check, IntOperand, Kind, Sig, StateOp};
use crate::threshold::{self, Matched, Thresholds};
use crate::Vars;

/// A rule that matched and is to be alerted on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fired {
    /// The rule ([`Engine::info`]).
    pub sig: u32,
    /// The alert's source is the client (for a packet: the packet was sent by the client).
    pub to_server: bool,
}

/// Counters of one worker's detection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DetectCounters {
    /// Alerts raised.
    pub alerts: u64,
    /// Matches that thresholds or detection filters kept from alerting.
    pub suppressed: u64,
    /// Rules evaluated after prefiltering.
    pub evaluated: u64,
    /// Rule reloads taken.
    pub reloads: u64,
}

impl DetectCounters {
    /// Adds another worker's counters.
    pub fn merge(&mut self, o: &DetectCounters) {
        self.alerts += o.alerts;
        self.suppressed += o.suppressed;
        self.evaluated += o.evaluated;
        self.reloads = self.reloads.max(o.reloads);
    }
}

#[derive(Clone, Debug, Default)]
struct FlowVars {
    /// Set flowbits, by index.
    bits: Vec<u32>,
    /// Flowints, by index.
    ints: Vec<(u32, u32)>,
    alerted: bool,
    /// A `pass` rule whose action applies to the flow matched: nothing more is inspected
    /// (Suricata's `FLOW_ACTION_PASS`, which turns packet inspection off for the flow).
    passed: bool,
    /// (transaction, gid, sid) of the rules that matched a transaction of the flow: a
    /// transaction is inspected more than once (an HTTP request when it is parsed, then the
    /// whole exchange), and a rule matches it once. The latest [`MAX_TX_MATCHES`].
    tx_matched: std::collections::VecDeque<(u64, u32, u32)>,
    /// TCP, per direction (0 to the server): the sequence number the next in-order segment
    /// starts at, and the last bytes of the stream before it.
    stream: [Option<(u32, Vec<u8>)>; 2],
}

/// Bytes of the stream kept before each segment, so that a pattern split over two segments
/// is found (Suricata inspects TCP rules on the reassembled stream).
pub const STREAM_TAIL: usize = 64;

/// Transaction matches remembered per flow.
const MAX_TX_MATCHES: usize = 64;

/// The per-worker side of detection.
pub struct Detector {
    engine: Arc<Engine>,
    st: State,
}

struct State {
    flows: Vec<Option<FlowVars>>,
    free: Vec<u32>,
    thresholds: Arc<Thresholds>,
    vars: Vars,
    cands: Vec<u32>,
    /// Scratch for a transaction's raw stream.
    raw: Vec<u8>,
    /// A pass rule matched the last packet.
    packet_passed: bool,
    /// Scratch: a segment with the stream's end before it.
    window: Vec<u8>,
    scratch: crate::Scratch,
    stats: DetectCounters,
}

impl std::fmt::Debug for Detector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detector")
            .field("engine", &self.engine)
            .field("flows", &(self.st.flows.len() - self.st.free.len()))
            .finish()
    }
}

/// Where a rule is being evaluated.
enum Input<'a> {
    Packet(&'a PacketMeta<'a>),
    Tx(&'a FlowMeta<'a>, &'a dyn TxBuffers),
}

impl Detector {
    /// A detector over `engine`, with threshold counters of its own (see
    /// [`Detector::share_thresholds`]).
    pub fn new(engine: Arc<Engine>) -> Detector {
        Detector {
            engine,
            st: State {
                flows: vec![None],
                free: Vec::new(),
                thresholds: threshold::private(),
                vars: Vars::new(),
                cands: Vec::new(),
                raw: Vec::new(),
                packet_passed: false,
                window: Vec::new(),
                scratch: crate::Scratch::default(),
                stats: DetectCounters::default(),
            },
        }
    }

    /// The engine in use.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// Counters so far.
    pub fn counters(&self) -> &DetectCounters {
        &self.st.stats
    }

    /// Keeps `threshold` and `detection_filter` counters in `store`, shared with the other
    /// workers of the run, instead of a store of this detector's own (whose counts are
    /// dropped). Call it before the first packet.
    pub fn share_thresholds(&mut self, store: Arc<Thresholds>) {
        self.st.thresholds = store;
    }

    /// The store of this detector's threshold counters.
    pub fn thresholds(&self) -> &Arc<Thresholds> {
        &self.st.thresholds
    }

    /// Switches to a new rule set. Flows keep their flowbits and flowints (matched by name;
    /// those the new rules do not mention are dropped) and stay passed; threshold counters
    /// are kept by (gid, sid).
    pub fn reload(&mut self, engine: Arc<Engine>) {
        let old: HashMap<u32, &str> = self
            .engine
            .names
            .bits
            .iter()
            .map(|(n, i)| (*i, n.as_str()))
            .collect();
        let old_ints: HashMap<u32, &str> = self
            .engine
            .names
            .ints
            .iter()
            .map(|(n, i)| (*i, n.as_str()))
            .collect();
        for fv in self.st.flows.iter_mut().flatten() {
            fv.bits = fv
                .bits
                .iter()
                .filter_map(|b| old.get(b).and_then(|n| engine.names.bits.get(*n)).copied())
                .collect();
            fv.ints = fv
                .ints
                .iter()
                .filter_map(|(i, v)| {
                    old_ints
                        .get(i)
                        .and_then(|n| engine.names.ints.get(*n))
                        .map(|ni| (*ni, *v))
                })
                .collect();
        }
        self.engine = engine;
        self.st.stats.reloads += 1;
    }

    /// Evaluates a packet of the flow whose detection slot is `slot` (0 until the flow has
    /// state; the detector sets it). Rules to alert on are appended to `out`.
    pub fn packet(&mut self, slot: &mut u32, p: &PacketMeta<'_>, out: &mut Vec<Fired>) {
        self.st.packet_passed = false;
        let engine = &*self.engine;
        if engine.sigs.is_empty() {
            return;
        }
        let st = &mut self.st;
        if st.passed(*slot) {
            st.packet_passed = true;
            return;
        }
        st.cands.clear();
        if p.first_in_direction {
            st.cands.extend_from_slice(&engine.iponly);
        }
        // TCP: the segment with the end of the stream before it, when it follows in order.
        let mut window = std::mem::take(&mut st.window);
        window.clear();
        let mut tail_len = 0;
        if let (Some(t), true, false) = (p.tcp, engine.stream_rules, p.payload.is_empty()) {
            let dir = usize::from(!p.to_server);
            let (next, tail) = st.flow(slot).stream[dir].get_or_insert_with(|| (t.seq, Vec::new()));
            if *next == t.seq && !tail.is_empty() {
                window.extend_from_slice(tail);
                tail_len = tail.len();
            }
            window.extend_from_slice(p.payload);
            let keep = window.len().saturating_sub(STREAM_TAIL);
            *next = t.seq.wrapping_add(p.payload.len() as u32);
            tail.clear();
            tail.extend_from_slice(&window[keep..]);
        }
        let scan: &[u8] = if tail_len > 0 { &window } else { p.payload };
        let pg = &engine.packet[transport_class(p.proto)];
        let groups = [
            Some(pg.by_dport.get(p.dport).unwrap_or(&pg.any)),
            pg.by_sport.get(p.sport),
        ];
        for g in groups.into_iter().flatten() {
            st.cands.extend_from_slice(&g.always);
            if p.payload.is_empty() {
                continue;
            }
            if let Some(pf) = &g.prefilter {
                pf.scan(scan, &mut st.scratch, &mut st.cands);
            }
            if let Some((set, ids)) = &g.regexes {
                st.cands
                    .extend(set.matches(scan).iter().filter_map(|i| ids.get(i)));
            }
        }
        if st.cands.is_empty() {
            st.window = window;
            return;
        }
        st.cands.sort_unstable();
        st.cands.dedup();
        let cands = std::mem::take(&mut st.cands);
        let in_window = PacketMeta {
            payload: &window,
            ..*p
        };
        let in_tail = PacketMeta {
            payload: window.get(..tail_len).unwrap_or_default(),
            ..*p
        };
        for &i in &cands {
            let sig = &engine.sigs[i as usize];
            st.stats.evaluated += 1;
            if !sig.proto_matches(p.proto, p.app_proto)
                || !sig.header_matches(p.src, p.sport, p.dst, p.dport)
            {
                continue;
            }
            if sig.kind == Kind::IpOnly && !p.first_in_direction {
                continue;
            }
            let matched = st.matches(sig, slot, &Input::Packet(p), p.to_server)
                || (tail_len > 0
                    && sig.stream
                    && st.test(sig, slot, &Input::Packet(&in_window), p.to_server, false)
                    && !st.test(sig, slot, &Input::Packet(&in_tail), p.to_server, false)
                    // Found only with the stream before this segment: a match across the
                    // segment boundary (one already in the earlier bytes alerted then).
                    && st.matches(sig, slot, &Input::Packet(&in_window), p.to_server));
            if matched {
                if sig.info.action == Action::Pass {
                    // Rules are in order, pass rules first: nothing after it alerts on this
                    // packet, and with a flow scope, on the flow.
                    if sig.flow_scope {
                        st.flow(slot).passed = true;
                    }
                    st.packet_passed = true;
                    break;
                }
                let m = Matched {
                    src: p.src,
                    dst: p.dst,
                    flow_id: p.flow_id,
                    now_ns: p.ts_ns,
                };
                if st.alert(sig, slot, &m) {
                    out.push(Fired {
                        sig: i,
                        to_server: p.to_server,
                    });
                }
            }
        }
        st.cands = cands;
        st.window = window;
    }

    /// Evaluates one application-layer transaction of a flow.
    pub fn tx(
        &mut self,
        slot: &mut u32,
        f: &FlowMeta<'_>,
        tx: &dyn TxBuffers,
        buffers: &mut dyn Iterator<Item = (&nta_rules::Buffer, &[u8])>,
        out: &mut Vec<Fired>,
    ) {
        let engine = &*self.engine;
        let key = if f.event_type == "custom" {
            f.app_proto
        } else {
            f.event_type
        };
        let Some(g) = engine.tx.get(key) else {
            return;
        };
        let st = &mut self.st;
        if st.passed(*slot) {
            return;
        }
        st.cands.clear();
        st.cands.extend_from_slice(&g.always);
        if !g.prefilters.is_empty() {
            for (b, data) in buffers {
                if let Some((_, pf)) = g.prefilters.iter().find(|(pb, _)| pb == b) {
                    pf.scan(data, &mut st.scratch, &mut st.cands);
                }
            }
        }
        if st.cands.is_empty() {
            return;
        }
        st.cands.sort_unstable();
        st.cands.dedup();
        let cands = std::mem::take(&mut st.cands);
        'rules: for &i in &cands {
            let sig = &engine.sigs[i as usize];
            st.stats.evaluated += 1;
            if !sig.proto_matches(f.proto, Some(f.app_proto)) {
                continue;
            }
            let dirs: &[bool] = match sig.tx_dir {
                Some(true) => &[true],
                Some(false) => &[false],
                None => &[true, false],
            };
            for &d in dirs {
                let (src, dst) = if d {
                    (f.client, f.server)
                } else {
                    (f.server, f.client)
                };
                if !sig.header_matches(src.0, src.1, dst.0, dst.1) {
                    continue;
                }
                let key = f.tx_id.map(|t| (t, sig.info.gid, sig.info.sid));
                if let Some(k) = key {
                    if st
                        .flow_ref(*slot)
                        .is_some_and(|v| v.tx_matched.contains(&k))
                    {
                        // Matched at an earlier inspection of this transaction.
                        continue 'rules;
                    }
                }
                if st.matches(sig, slot, &Input::Tx(f, tx), d) {
                    if let Some(k) = key {
                        let v = st.flow(slot);
                        if v.tx_matched.len() >= MAX_TX_MATCHES {
                            v.tx_matched.pop_front();
                        }
                        v.tx_matched.push_back(k);
                    }
                    if sig.info.action == Action::Pass {
                        // A transaction rule's action applies to the flow.
                        st.flow(slot).passed = true;
                        break 'rules;
                    }
                    let m = Matched {
                        src: src.0,
                        dst: dst.0,
                        flow_id: f.flow_id,
                        now_ns: f.ts_ns,
                    };
                    if st.alert(sig, slot, &m) {
                        out.push(Fired {
                            sig: i,
                            to_server: d,
                        });
                    }
                    break;
                }
            }
        }
        st.cands = cands;
    }

    /// Whether a `pass` rule matched the last packet given to [`Detector::packet`] (or its
    /// flow is passed): the transactions that packet completed are not inspected either.
    pub fn packet_passed(&self) -> bool {
        self.st.packet_passed
    }

    /// The flow ended: frees its state. Returns whether it raised an alert.
    pub fn flow_end(&mut self, slot: &mut u32) -> bool {
        let s = std::mem::take(slot);
        if s == 0 {
            return false;
        }
        let fv = self.st.flows.get_mut(s as usize).and_then(Option::take);
        self.st.free.push(s);
        fv.is_some_and(|f| f.alerted)
    }

    /// Packet time advanced: drops threshold counters whose window is over (see
    /// [`Thresholds::expire`]).
    pub fn tick(&mut self, now_ns: u64) {
        self.st.thresholds.expire(now_ns);
    }
}

impl State {
    fn flow(&mut self, slot: &mut u32) -> &mut FlowVars {
        if *slot == 0 || self.flows.get(*slot as usize).is_none_or(Option::is_none) {
            let i = match self.free.pop() {
                Some(i) => i,
                None => {
                    self.flows.push(None);
                    (self.flows.len() - 1) as u32
                }
            };
            self.flows[i as usize] = Some(FlowVars::default());
            *slot = i;
        }
        self.flows[*slot as usize].get_or_insert_with(FlowVars::default)
    }

    fn flow_ref(&self, slot: u32) -> Option<&FlowVars> {
        if slot == 0 {
            return None;
        }
        self.flows.get(slot as usize).and_then(Option::as_ref)
    }

    fn passed(&self, slot: u32) -> bool {
        self.flow_ref(slot).is_some_and(|f| f.passed)
    }

    fn bit(&self, slot: u32, b: u32) -> bool {
        self.flow_ref(slot).is_some_and(|f| f.bits.contains(&b))
    }

    fn int(&self, slot: u32, v: u32) -> Option<u32> {
        self.flow_ref(slot)
            .and_then(|f| f.ints.iter().find(|(i, _)| *i == v).map(|(_, x)| *x))
    }

    /// Whether `sig` matches (conditions, flow state tests, payload); on a match, applies
    /// its flowbits and flowint actions.
    fn matches(&mut self, sig: &Sig, slot: &mut u32, input: &Input<'_>, to_server: bool) -> bool {
        self.test(sig, slot, input, to_server, true)
    }

    /// Whether `sig` matches; with `apply`, a match also applies its flowbits and flowint
    /// actions (without, nothing changes: a look only).
    fn test(
        &mut self,
        sig: &Sig,
        slot: &mut u32,
        input: &Input<'_>,
        to_server: bool,
        apply: bool,
    ) -> bool {
        if let Some(d) = sig.flow_dir {
            if d != to_server {
                return false;
            }
        }
        if let Some(e) = sig.established {
            let est = match input {
                Input::Packet(p) => p.established,
                Input::Tx(f, _) => f.established,
            };
            if e != est {
                return false;
            }
        }
        for c in &sig.checks {
            if !check(c, input, to_server) {
                return false;
            }
        }
        for op in &sig.state {
            match op {
                StateOp::BitsTest { set, bits, any } => {
                    let ok = if *any {
                        bits.iter().any(|b| self.bit(*slot, *b) == *set)
                    } else {
                        bits.iter().all(|b| self.bit(*slot, *b) == *set)
                    };
                    if !ok {
                        return false;
                    }
                }
                StateOp::IntTest { var, op, value } => {
                    let cur = self.int(*slot, *var);
                    let ok = match op {
                        FlowintOp::IsSet => cur.is_some(),
                        FlowintOp::NotSet => cur.is_none(),
                        _ => {
                            // Suricata (DetectFlowintMatch): the variable compared must be
                            // set, but another variable it is compared with counts as 0
                            // when it is not.
                            let rhs = match value {
                                Some(IntOperand::Lit(n)) => Some(*n),
                                Some(IntOperand::Var(v)) => Some(self.int(*slot, *v).unwrap_or(0)),
                                None => None,
                            };
                            match (cur, rhs) {
                                (Some(a), Some(b)) => match op {
                                    FlowintOp::Eq => a == b,
                                    FlowintOp::Ne => a != b,
                                    FlowintOp::Lt => a < b,
                                    FlowintOp::Le => a <= b,
                                    FlowintOp::Gt => a > b,
                                    FlowintOp::Ge => a >= b,
                                    _ => false,
                                },
                                _ => false,
                            }
                        }
                    };
                    if !ok {
                        return false;
                    }
                }
                _ => {}
            }
        }
        if !sig.programs.is_empty() {
            self.vars.clear();
            for prog in &sig.programs {
                let ok = match input {
                    Input::Packet(p) => prog.inspect(p.payload, &mut self.vars),
                    Input::Tx(_, tx) => {
                        let Some(b) = prog.buffer() else { continue };
                        if *b == nta_rules::Buffer::Packet {
                            // The raw stream of the transaction's side: an HTTP message as
                            // sent (start line and headers, then the body kept).
                            let raw = &mut self.raw;
                            raw.clear();
                            let body = if to_server {
                                nta_rules::Buffer::HttpRequestBody
                            } else {
                                nta_rules::Buffer::FileData
                            };
                            let mut found = false;
                            tx.any(&nta_rules::Buffer::HttpStart, Some(to_server), &mut |d| {
                                raw.extend_from_slice(d);
                                found = true;
                                true
                            });
                            tx.any(&body, Some(to_server), &mut |d| {
                                raw.extend_from_slice(d);
                                true
                            });
                            if !found || !prog.inspect(raw, &mut self.vars) {
                                return false;
                            }
                            continue;
                        }
                        let (b, fixed) = resolve(b);
                        let dir = fixed.or(Some(to_server));
                        let vars = &mut self.vars;
                        tx.any(b, dir, &mut |data| prog.inspect(data, vars))
                    }
                };
                if !ok {
                    return false;
                }
            }
        }
        if !apply {
            return true;
        }
        // Matched: flow state actions.
        for op in &sig.state {
            match op {
                StateOp::Bits { command, bits } => {
                    let f = self.flow(slot);
                    for b in bits {
                        let pos = f.bits.iter().position(|x| x == b);
                        match (command, pos) {
                            (BitsCommand::Set, None) | (BitsCommand::Toggle, None) => {
                                f.bits.push(*b)
                            }
                            (BitsCommand::Unset, Some(i)) | (BitsCommand::Toggle, Some(i)) => {
                                f.bits.swap_remove(i);
                            }
                            _ => {}
                        }
                    }
                }
                StateOp::IntSet { var, op, value } => {
                    // Suricata (DetectFlowintMatch): an unset variable as the value is 0; `+`
                    // on an unset variable sets it to the value, `-` leaves it unset.
                    // Arithmetic is on u32 and wraps.
                    let rhs = match value {
                        IntOperand::Lit(n) => *n,
                        IntOperand::Var(v) => self.int(*slot, *v).unwrap_or(0),
                    };
                    let cur = self.int(*slot, *var);
                    let new = match (op, cur) {
                        (FlowintOp::Set, _) => rhs,
                        (FlowintOp::Add, cur) => cur.unwrap_or(0).wrapping_add(rhs),
                        (FlowintOp::Sub, Some(cur)) => cur.wrapping_sub(rhs),
                        _ => continue,
                    };
                    let f = self.flow(slot);
                    match f.ints.iter_mut().find(|(i, _)| i == var) {
                        Some((_, v)) => *v = new,
                        None => f.ints.push((*var, new)),
                    }
                }
                _ => {}
            }
        }
        true
    }

    /// A rule matched: whether it alerts (noalert, detection_filter and threshold).
    fn alert(&mut self, sig: &Sig, slot: &mut u32, m: &Matched) -> bool {
        if sig.noalert {
            return false;
        }
        if !self.thresholds.admit(sig, m) {
            self.stats.suppressed += 1;
            return false;
        }
        self.stats.alerts += 1;
        self.flow(slot).alerted = true;
        true
    }
}

fn check(c: &Check, input: &Input<'_>, to_server: bool) -> bool {
    match input {
        Input::Packet(p) => match c {
            Check::Flags(f) => p.tcp.is_some_and(|t| flags_match(f, t.flags)),
            Check::Itype(cmp) => p.icmp.is_some_and(|i| cmp.matches(i.itype)),
            Check::Icode(cmp) => p.icmp.is_some_and(|i| cmp.matches(i.code)),
            Check::IcmpId(v) => p.icmp.is_some_and(|i| i.id == *v),
            Check::IpProto(cmp) => cmp.matches(p.proto),
            Check::Ttl(cmp) => cmp.matches(p.ttl),
            Check::SameIp => p.src == p.dst,
            Check::Ack(v) => p.tcp.is_some_and(|t| t.ack == *v),
            Check::Seq(v) => p.tcp.is_some_and(|t| t.seq == *v),
            Check::Window(cmp) => p.tcp.is_some_and(|t| cmp.matches(t.window)),
            Check::Dsize(cmp) => u16::try_from(p.payload.len()).is_ok_and(|n| cmp.matches(n)),
            Check::AppProto { negated, name } => app_proto_check(*negated, *name, p.app_proto),
            Check::Urilen(_) | Check::CustomField { .. } => false,
        },
        Input::Tx(f, tx) => match c {
            Check::IpProto(cmp) => cmp.matches(f.proto),
            Check::SameIp => f.client.0 == f.server.0,
            Check::AppProto { negated, name } => {
                app_proto_check(*negated, *name, Some(f.app_proto))
            }
            Check::Urilen(u) => {
                let b = if u.raw {
                    nta_rules::Buffer::HttpUriRaw
                } else {
                    nta_rules::Buffer::HttpUri
                };
                tx.any(&b, Some(true), &mut |d| {
                    u32::try_from(d.len()).is_ok_and(|n| u.cmp.matches(n))
                })
            }
            // The field of a message sent in the direction being tried, so that the alert's
            // source is the message's sender.
            Check::CustomField { buffer, test } => {
                tx.any(buffer, Some(to_server), &mut |d| field_test(test, d))
            }
            _ => false,
        },
    }
}

fn app_proto_check(negated: bool, name: nta_rules::AppLayerName, app: Option<&str>) -> bool {
    use nta_rules::AppLayerName;
    let is = match name {
        AppLayerName::Known(a) => app.is_some_and(|n| app_matches(a, n)),
        AppLayerName::Failed => app == Some("failed"),
        AppLayerName::Unknown => app.is_none(),
    };
    is != negated
}

fn field_test(t: &FieldTest, data: &[u8]) -> bool {
    match t {
        FieldTest::Int(cmp) => std::str::from_utf8(data)
            .ok()
            .and_then(|s| s.parse::<i128>().ok())
            .is_some_and(|v| cmp.matches(v)),
        FieldTest::Str { value, negated } => (data == value.as_bytes()) != *negated,
    }
}
