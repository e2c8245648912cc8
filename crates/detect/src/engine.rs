//! The compiled rule set: every usable rule in evaluation order, grouped so that a packet or
//! a transaction is checked only against the rules that can apply to it.
//!
//! * Packet rules are grouped by transport (TCP, UDP, ICMP, other; `ip` rules are in every
//!   group). Within a group, a multi-pattern prefilter over each rule's fast pattern picks
//!   the candidates for a payload; rules without a usable fast pattern are always checked.
//! * IP-only rules (addresses, and flowbits actions) are checked on the first packet of
//!   each direction of a flow, as Suricata does.
//! * Transaction rules are grouped by the transaction's protocol (`http`, `dns`, `tls`, …,
//!   or a user-defined protocol's name), with one prefilter per buffer.

use std::collections::HashMap;
use std::sync::Arc;

use nta_rules::{AppProto, Buffer, BufferFamily, Protocol, Rule, RuleSet, SkipReason, Skipped};

use crate::signature::{compile_rule, Kind, Names, Sig};
use crate::{fast_pattern, Prefilter};

/// Candidates for one kind of input: prefiltered rules and always-checked ones.
#[derive(Default)]
pub(crate) struct Group {
    pub(crate) prefilter: Option<Prefilter>,
    pub(crate) always: Vec<u32>,
    /// Rules without a fast pattern that start with a pcre: one pass of all their regexes
    /// tells which may match.
    pub(crate) regexes: Option<(regex::bytes::RegexSet, Vec<u32>)>,
}

/// Most regexes in one prefilter set (a set's automaton grows with each).
const MAX_SET_REGEXES: usize = 64;

/// `(pattern, nocase, rule)`: one fast pattern.
type Pattern = (Vec<u8>, bool, u32);
/// `(rule, port ranges, fast pattern)`: a rule selected by one of its ports.
type Keyed = (u32, Vec<(u16, u16)>, Option<(Vec<u8>, bool)>);

/// Rules keyed by one port: a bucket per distinct set of rules a port selects.
pub(crate) struct PortIndex {
    /// Port → 1 + bucket index; 0: no rule.
    map: Box<[u16]>,
    buckets: Vec<Group>,
}

impl PortIndex {
    pub(crate) fn get(&self, port: u16) -> Option<&Group> {
        match self.map.get(usize::from(port)).copied().unwrap_or(0) {
            0 => None,
            b => self.buckets.get(usize::from(b) - 1),
        }
    }

    /// Builds the buckets from `(rule, port ranges, fast pattern)`; every bucket also holds
    /// `base` (patterns) and `base_always`, so that one scan covers both.
    fn build(rules: &[Keyed], base: &[Pattern], base_always: &[u32]) -> PortIndex {
        let mut map = vec![0u16; 65536].into_boxed_slice();
        let mut buckets: Vec<Group> = Vec::new();
        if rules.is_empty() {
            return PortIndex { map, buckets };
        }
        // Sweep the port line: the rules active on each segment between range ends.
        let mut events: Vec<(u32, bool, usize)> = Vec::new();
        for (i, (_, ranges, _)) in rules.iter().enumerate() {
            for &(lo, hi) in ranges {
                events.push((u32::from(lo), true, i));
                events.push((u32::from(hi) + 1, false, i));
            }
        }
        events.sort_unstable();
        let mut active: std::collections::BTreeMap<usize, u32> = Default::default();
        let mut seen: HashMap<Vec<usize>, u16> = HashMap::new();
        let mut e = 0;
        while e < events.len() {
            let at = events[e].0;
            while e < events.len() && events[e].0 == at {
                let (_, add, i) = events[e];
                let n = active.entry(i).or_insert(0);
                if add {
                    *n += 1;
                } else {
                    *n -= 1;
                    if *n == 0 {
                        active.remove(&i);
                    }
                }
                e += 1;
            }
            let end = events.get(e).map_or(65536, |x| x.0);
            if active.is_empty() || at >= 65536 {
                continue;
            }
            let key: Vec<usize> = active.keys().copied().collect();
            let b = match seen.get(&key) {
                Some(&b) => b,
                None if buckets.len() < usize::from(u16::MAX) - 1 => {
                    let mut g = Group {
                        prefilter: None,
                        always: base_always.to_vec(),
                        regexes: None,
                    };
                    let mut pats = base.to_vec();
                    for &i in &key {
                        let (id, _, fp) = &rules[i];
                        match fp {
                            Some((p, nocase)) => pats.push((p.clone(), *nocase, *id)),
                            None => g.always.push(*id),
                        }
                    }
                    g.set_patterns(pats);
                    buckets.push(g);
                    let b = buckets.len() as u16;
                    seen.insert(key, b);
                    b
                }
                None => continue,
            };
            for port in at..end.min(65536) {
                map[port as usize] = b;
            }
        }
        PortIndex { map, buckets }
    }
}

impl Group {
    /// Moves always-checked rules that start with a pcre into a regex set.
    fn set_regexes(&mut self, sigs: &[(Sig, &Rule)]) {
        let mut pats = Vec::new();
        let mut ids = Vec::new();
        self.always.retain(|&id| {
            if pats.len() >= MAX_SET_REGEXES {
                return true;
            }
            let Some((sig, _)) = sigs.get(id as usize) else {
                return true;
            };
            let lead = match sig.programs.as_slice() {
                [p] if p.buffer() == Some(&Buffer::Packet) => p.leading_regex(),
                _ => None,
            };
            match lead {
                Some(re) => {
                    pats.push(re.to_string());
                    ids.push(id);
                    false
                }
                None => true,
            }
        });
        if pats.is_empty() {
            return;
        }
        match regex::bytes::RegexSetBuilder::new(&pats)
            .unicode(false)
            .size_limit(nta_rules::MAX_REGEX_SIZE * 4)
            .build()
        {
            Ok(set) => self.regexes = Some((set, ids)),
            Err(_) => self.always.extend(ids),
        }
        self.always.sort_unstable();
    }

    fn set_patterns(&mut self, pats: Vec<Pattern>) {
        self.prefilter = prefilter_or_always(pats, &mut self.always);
        self.always.sort_unstable();
        self.always.dedup();
    }
}

/// The prefilter over `pats`, or none when there is no pattern. Building an automaton over
/// valid patterns cannot fail short of running out of memory; if it does, the rules are
/// added to `always` (checked every time) rather than lost.
fn prefilter_or_always(pats: Vec<Pattern>, always: &mut Vec<u32>) -> Option<Prefilter> {
    if pats.is_empty() {
        return None;
    }
    let ids: Vec<u32> = pats.iter().map(|(_, _, id)| *id).collect();
    match Prefilter::new(pats) {
        Ok(p) => Some(p),
        Err(_) => {
            always.extend(ids);
            None
        }
    }
}

/// The packet rules of one transport: those that apply to any port, those selected by the
/// destination port (each bucket with the any-port rules merged in), and those selected by
/// the source port.
pub(crate) struct PortGroups {
    pub(crate) any: Group,
    pub(crate) by_dport: PortIndex,
    pub(crate) by_sport: PortIndex,
}

#[derive(Default)]
pub(crate) struct TxGroup {
    pub(crate) prefilters: Vec<(Buffer, Prefilter)>,
    pub(crate) always: Vec<u32>,
}

/// Transport classes of packet groups.
pub(crate) const TCP: usize = 0;
pub(crate) const UDP: usize = 1;
pub(crate) const ICMP: usize = 2;
pub(crate) const OTHER: usize = 3;

pub(crate) fn transport_class(proto: u8) -> usize {
    match proto {
        6 => TCP,
        17 => UDP,
        1 | 58 => ICMP,
        _ => OTHER,
    }
}

/// A compiled rule set, shared by every worker (immutable; reloading builds a new one).
pub struct Engine {
    pub(crate) sigs: Vec<Sig>,
    pub(crate) names: Names,
    pub(crate) packet: [PortGroups; 4],
    pub(crate) iponly: Vec<u32>,
    pub(crate) tx: HashMap<String, TxGroup>,
    skipped: Vec<Skipped>,
    skipped_ids: Vec<(u32, u32)>,
    /// Some packet rule also inspects the TCP stream (workers then keep each stream's end).
    pub(crate) stream_rules: bool,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("rules", &self.sigs.len())
            .field("skipped", &self.skipped.len())
            .finish()
    }
}

/// Which transaction groups a transaction rule belongs to.
fn tx_keys(sig: &Sig) -> Vec<String> {
    if let Protocol::App(a) = sig.proto {
        return match a {
            AppProto::Http | AppProto::Http1 | AppProto::Http2 => vec!["http".into()],
            other => vec![other.name().to_string()],
        };
    }
    let mut file = false;
    for b in sig.buffers() {
        match b.family() {
            BufferFamily::Http => return vec!["http".into()],
            BufferFamily::Dns => return vec!["dns".into()],
            BufferFamily::Tls => return vec!["tls".into(), "quic".into()],
            BufferFamily::Ssh => return vec!["ssh".into()],
            BufferFamily::Smtp => return vec!["smtp".into()],
            BufferFamily::Ftp => return vec!["ftp".into()],
            BufferFamily::Custom => {
                if let Buffer::Custom { protocol, .. } = b {
                    return vec![protocol.clone()];
                }
            }
            BufferFamily::File => file = true,
            BufferFamily::Any => {}
        }
    }
    for c in &sig.checks {
        if let crate::signature::Check::CustomField {
            buffer: Buffer::Custom { protocol, .. },
            ..
        } = c
        {
            return vec![protocol.clone()];
        }
    }
    if file {
        return vec!["http".into(), "smtp".into(), "ftp".into(), "smb".into()];
    }
    // urilen alone.
    vec!["http".into()]
}

/// The fast pattern of a rule: over its buffers, the `fast_pattern` one, else the longest.
fn rule_fast_pattern(rule: &Rule, sig: &Sig) -> Option<(Buffer, Vec<u8>, bool)> {
    let mut best: Option<(Buffer, Vec<u8>, bool, bool)> = None;
    for b in sig.buffers() {
        if sig.kind == Kind::Tx && *b == Buffer::Packet {
            // Transactions are prefiltered on their own buffers.
            continue;
        }
        let matches: Vec<_> = rule.matches_in(b).collect();
        let Some((p, nocase)) = fast_pattern(&matches) else {
            continue;
        };
        let explicit = matches
            .iter()
            .any(|m| matches!(&m.test, nta_rules::Test::Content(c) if c.fast_pattern.is_some()));
        let better = match &best {
            None => true,
            Some((_, bp, _, bx)) => (explicit && !bx) || (explicit == *bx && p.len() > bp.len()),
        };
        if better {
            best = Some((crate::meta::resolve(b).0.clone(), p, nocase, explicit));
        }
    }
    best.map(|(b, p, n, _)| (b, p, n))
}

impl Engine {
    /// Compiles the rules of `set`. A rule the engine cannot evaluate exactly is left out
    /// and listed in [`Engine::skipped`] (with its file and line); the set's own skipped
    /// rules are not repeated there.
    pub fn build(set: &RuleSet) -> Engine {
        let mut names = Names::default();
        let mut compiled: Vec<(Sig, &Rule)> = Vec::new();
        let mut skipped = Vec::new();
        let mut skipped_ids = Vec::new();
        for (i, rule) in set.rules.iter().enumerate() {
            match compile_rule(rule, i as u32, &mut names) {
                Ok(sig) => compiled.push((sig, rule)),
                Err(e) => {
                    skipped_ids.push((rule.meta.gid, rule.meta.sid));
                    let (file, line) = rule
                        .location
                        .as_ref()
                        .map(|l| (l.file.clone(), l.line))
                        .unwrap_or_default();
                    skipped.push(Skipped {
                        file,
                        line,
                        column: 1,
                        reason: SkipReason {
                            category: format!("unsupported keyword: {}", e.keyword),
                            message: format!("sid {}: {e}", rule.meta.sid),
                        },
                    });
                }
            }
        }
        compiled.sort_by_key(|(s, _)| s.order);
        let compiled_stream = compiled.iter().any(|(s, _)| s.stream);

        let mut any_patterns: [Vec<Pattern>; 4] = Default::default();
        let mut any_always: [Vec<u32>; 4] = Default::default();
        let mut by_dport: [Vec<Keyed>; 4] = Default::default();
        let mut by_sport: [Vec<Keyed>; 4] = Default::default();
        let mut iponly = Vec::new();
        let mut tx_patterns: HashMap<String, HashMap<Buffer, Vec<Pattern>>> = HashMap::new();
        let mut tx: HashMap<String, TxGroup> = HashMap::new();
        for (i, (sig, rule)) in compiled.iter().enumerate() {
            let id = i as u32;
            match sig.kind {
                Kind::IpOnly => iponly.push(id),
                Kind::Packet => {
                    let classes: &[usize] = match sig.proto {
                        Protocol::Ip => &[TCP, UDP, ICMP, OTHER],
                        Protocol::Tcp | Protocol::TcpPkt | Protocol::TcpStream => &[TCP],
                        Protocol::Udp => &[UDP],
                        Protocol::Icmp => &[ICMP],
                        Protocol::App(_) => &[TCP, UDP],
                    };
                    let fp = rule_fast_pattern(rule, sig).map(|(_, p, n)| (p, n));
                    for &c in classes {
                        let ported = c == TCP || c == UDP;
                        if ported && !sig.bidirectional && !sig.dports.is_any() {
                            by_dport[c].push((id, sig.dports.ranges().to_vec(), fp.clone()));
                        } else if ported && !sig.bidirectional && !sig.sports.is_any() {
                            by_sport[c].push((id, sig.sports.ranges().to_vec(), fp.clone()));
                        } else {
                            match &fp {
                                Some((p, nocase)) => any_patterns[c].push((p.clone(), *nocase, id)),
                                None => any_always[c].push(id),
                            }
                        }
                    }
                }
                Kind::Tx => {
                    let fp = rule_fast_pattern(rule, sig);
                    for key in tx_keys(sig) {
                        match &fp {
                            Some((b, p, nocase)) => tx_patterns
                                .entry(key)
                                .or_default()
                                .entry(b.clone())
                                .or_default()
                                .push((p.clone(), *nocase, id)),
                            None => tx.entry(key).or_default().always.push(id),
                        }
                    }
                }
            }
        }
        let mut any_always = any_always.into_iter();
        let mut by_dport = by_dport.into_iter();
        let mut by_sport = by_sport.into_iter();
        let packet: [PortGroups; 4] = std::array::from_fn(|c| {
            let always = any_always.next().unwrap_or_default();
            let patterns = std::mem::take(&mut any_patterns[c]);
            // A packet is scanned once with its destination port's bucket, which holds the
            // any-port rules too (or with the any-port group alone).
            let by_dport =
                PortIndex::build(&by_dport.next().unwrap_or_default(), &patterns, &always);
            let mut any = Group {
                prefilter: None,
                always,
                regexes: None,
            };
            any.set_patterns(patterns);
            PortGroups {
                any,
                by_dport,
                by_sport: PortIndex::build(&by_sport.next().unwrap_or_default(), &[], &[]),
            }
        });
        let mut packet = packet;
        for pg in packet.iter_mut() {
            pg.any.set_regexes(&compiled);
            for g in pg
                .by_dport
                .buckets
                .iter_mut()
                .chain(pg.by_sport.buckets.iter_mut())
            {
                g.set_regexes(&compiled);
            }
        }
        for (key, bufs) in tx_patterns {
            let g = tx.entry(key).or_default();
            for (b, pats) in bufs {
                if let Some(p) = prefilter_or_always(pats, &mut g.always) {
                    g.prefilters.push((b, p));
                }
            }
        }
        for g in tx.values_mut() {
            g.always.sort_unstable();
            g.always.dedup();
        }
        Engine {
            sigs: compiled.into_iter().map(|(s, _)| s).collect(),
            names,
            packet,
            iponly,
            tx,
            stream_rules: compiled_stream,
            skipped,
            skipped_ids,
        }
    }

    /// An engine with no rules.
    pub fn empty() -> Engine {
        Engine::build(&RuleSet::new())
    }

    /// Rules in the engine.
    pub fn len(&self) -> usize {
        self.sigs.len()
    }

    /// Whether there is no rule.
    pub fn is_empty(&self) -> bool {
        self.sigs.is_empty()
    }

    /// Rules the engine left out, and why.
    pub fn skipped(&self) -> &[Skipped] {
        &self.skipped
    }

    /// (gid, sid) of the rules in [`Engine::skipped`].
    pub fn skipped_ids(&self) -> &[(u32, u32)] {
        &self.skipped_ids
    }

    /// Whether some rule inspects application-layer transactions (parsers must then hand
    /// over their buffers).
    pub fn inspects_transactions(&self) -> bool {
        !self.tx.is_empty()
    }

    /// The alert description of rule `sig` (an index given in a [`crate::Fired`]).
    pub fn info(&self, sig: u32) -> &crate::AlertInfo {
        &self.sigs[sig as usize].info
    }

    /// Shares the engine.
    pub fn shared(self) -> Arc<Engine> {
        Arc::new(self)
    }
}
