//! One rule compiled for matching: its header as sets, its conditions as checks, its payload
//! keywords as one [`BufferProgram`] per buffer, and its flow-state operations by index.

use std::collections::HashMap;

use nta_rules::{
    Action, AddressSet, AppLayerName, AppProto, BitsCommand, Buffer, BufferFamily, Condition,
    DetectionFilter, Direction, FieldTest, FlagsModifier, FlowDirection, FlowState, FlowintOp,
    FlowintValue, IntCmp, PortSet, Protocol, Rule, TcpFlags, Threshold, Urilen,
};

use crate::meta::buffer_direction;
use crate::{compile, BufferProgram, Unsupported};

/// What an alert says about the rule that raised it (EVE's `alert` object).
#[derive(Clone, Debug)]
pub struct AlertInfo {
    /// The rule's action.
    pub action: Action,
    /// Generator id.
    pub gid: u32,
    /// Signature id.
    pub sid: u32,
    /// Revision.
    pub rev: u32,
    /// `msg`.
    pub msg: String,
    /// The classtype's description (empty without one).
    pub category: String,
    /// Severity (priority; 1 is the most severe).
    pub severity: u8,
    /// `metadata` as an EVE JSON object (`{"key":["v1","v2"]}`), empty when none.
    pub metadata: String,
}

/// When a rule is evaluated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Only addresses (and flowbits actions): once per flow direction, on its first packet.
    IpOnly,
    /// Every packet (header conditions, packet payload).
    Packet,
    /// Every application-layer transaction (application-layer buffers).
    Tx,
}

/// A compiled non-payload condition.
#[derive(Clone, Debug)]
pub(crate) enum Check {
    Flags(TcpFlags),
    Itype(IntCmp<u8>),
    Icode(IntCmp<u8>),
    IcmpId(u16),
    IpProto(IntCmp<u8>),
    Ttl(IntCmp<u8>),
    SameIp,
    Ack(u32),
    Seq(u32),
    Window(IntCmp<u16>),
    Dsize(IntCmp<u16>),
    AppProto { negated: bool, name: AppLayerName },
    Urilen(Urilen),
    CustomField { buffer: Buffer, test: FieldTest },
}

/// A flowbits or flowint operation, with names resolved to indices.
#[derive(Clone, Debug)]
pub(crate) enum StateOp {
    /// `isset` (`any`: one of them) / `isnotset`.
    BitsTest {
        set: bool,
        bits: Vec<u32>,
        any: bool,
    },
    /// `set` / `unset` / `toggle`.
    Bits {
        command: BitsCommand,
        bits: Vec<u32>,
    },
    /// A flowint test.
    IntTest {
        var: u32,
        op: FlowintOp,
        value: Option<IntOperand>,
    },
    /// A flowint assignment.
    IntSet {
        var: u32,
        op: FlowintOp,
        value: IntOperand,
    },
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum IntOperand {
    Lit(u32),
    Var(u32),
}

/// Suricata's flowbits ordering class: rules that only set come first, then rules that set
/// and read, then rules that only read, then the rest, so that one packet can set a bit and
/// trigger the rule that checks it.
fn flowbits_class(ops: &[StateOp]) -> u8 {
    let read = ops.iter().any(|o| matches!(o, StateOp::BitsTest { .. }));
    let write = ops.iter().any(|o| matches!(o, StateOp::Bits { .. }));
    match (read, write) {
        (false, true) => 0,
        (true, true) => 1,
        (true, false) => 2,
        (false, false) => 3,
    }
}

/// Suricata's flowint ordering class (`SCSigOrderByFlowintCompare`), like
/// [`flowbits_class`]: rules that only set or change a flowint, then rules that change and
/// read, then rules that only read, then the rest.
fn flowint_class(ops: &[StateOp]) -> u8 {
    let read = ops.iter().any(|o| matches!(o, StateOp::IntTest { .. }));
    let write = ops.iter().any(|o| matches!(o, StateOp::IntSet { .. }));
    match (read, write) {
        (false, true) => 0,
        (true, true) => 1,
        (true, false) => 2,
        (false, false) => 3,
    }
}

/// A rule ready to match.
pub(crate) struct Sig {
    pub(crate) info: AlertInfo,
    pub(crate) kind: Kind,
    pub(crate) proto: Protocol,
    pub(crate) src: AddressSet,
    pub(crate) sports: PortSet,
    pub(crate) dst: AddressSet,
    pub(crate) dports: PortSet,
    pub(crate) bidirectional: bool,
    /// `flow:to_server` (true) / `to_client` (false).
    pub(crate) flow_dir: Option<bool>,
    /// `flow:established` (true) / `not_established` (false).
    pub(crate) established: Option<bool>,
    pub(crate) checks: Vec<Check>,
    pub(crate) state: Vec<StateOp>,
    pub(crate) programs: Vec<BufferProgram>,
    /// The transaction direction(s) a Tx rule inspects: `Some(d)` only `d`, `None` both.
    pub(crate) tx_dir: Option<bool>,
    pub(crate) threshold: Option<Threshold>,
    pub(crate) detection_filter: Option<DetectionFilter>,
    pub(crate) noalert: bool,
    /// The action applies to the whole flow, not only to the packet that matched
    /// (Suricata's action scope: IP-only, protocol-detection-only, application-layer and
    /// transaction rules). Only `pass` uses it in an IDS.
    pub(crate) flow_scope: bool,
    /// A packet rule that also sees the TCP stream (Suricata's stream inspection): not
    /// `tcp-pkt`, not `flow:no_stream`, no `dsize`, with payload keywords.
    pub(crate) stream: bool,
    /// Evaluation order key (Suricata's: action, flowbits class, flowint class, priority,
    /// then load order).
    pub(crate) order: (u8, u8, u8, u8, u32),
}

/// Names of flow variables, shared by all rules of an engine.
#[derive(Default, Debug, Clone)]
pub(crate) struct Names {
    pub(crate) bits: HashMap<String, u32>,
    pub(crate) ints: HashMap<String, u32>,
}

impl Names {
    fn bit(&mut self, name: &str) -> u32 {
        let n = self.bits.len() as u32;
        *self.bits.entry(name.to_string()).or_insert(n)
    }
    fn int(&mut self, name: &str) -> u32 {
        let n = self.ints.len() as u32;
        *self.ints.entry(name.to_string()).or_insert(n)
    }
}

fn unsupported(keyword: &'static str, reason: impl Into<String>) -> Unsupported {
    Unsupported::new(keyword, reason)
}

fn action_rank(a: Action) -> u8 {
    match a {
        Action::Pass => 0,
        Action::Drop => 1,
        Action::Reject | Action::RejectSrc | Action::RejectDst | Action::RejectBoth => 2,
        Action::Alert => 3,
    }
}

fn metadata_json(rule: &Rule) -> String {
    if rule.meta.metadata.is_empty() {
        return String::new();
    }
    let mut map: Vec<(&str, Vec<&str>)> = Vec::new();
    for (k, v) in &rule.meta.metadata {
        match map.iter_mut().find(|(key, _)| key == k) {
            Some((_, vs)) => vs.push(v),
            None => map.push((k, vec![v])),
        }
    }
    let obj: serde_json::Map<String, serde_json::Value> = map
        .into_iter()
        .map(|(k, vs)| {
            (
                k.to_string(),
                serde_json::Value::Array(vs.into_iter().map(|v| v.into()).collect()),
            )
        })
        .collect();
    serde_json::Value::Object(obj).to_string()
}

/// Whether a buffer family can be inspected from transactions.
fn tx_family(f: BufferFamily) -> bool {
    !matches!(f, BufferFamily::Any)
}

/// Compiles `rule` (the `index`-th loaded, for ordering).
pub(crate) fn compile_rule(rule: &Rule, index: u32, names: &mut Names) -> Result<Sig, Unsupported> {
    let buffers = rule.buffers();
    let has_packet = buffers.iter().any(|b| **b == Buffer::Packet);
    let has_app = buffers.iter().any(|b| tx_family(b.family()));
    if buffers.iter().any(|b| **b == Buffer::Base64Data) {
        return Err(unsupported(
            "base64_data",
            "base64 decoding is not supported yet",
        ));
    }
    if has_packet
        && has_app
        && !buffers.iter().all(|b| {
            matches!(
                b.family(),
                BufferFamily::Any | BufferFamily::Http | BufferFamily::File
            )
        })
    {
        // HTTP transactions give the raw stream of each side (see `Detector::tx`); other
        // protocols do not yet.
        return Err(unsupported(
            "pkt_data",
            "the rule mixes the packet payload with application-layer buffers of a protocol other than HTTP",
        ));
    }
    let mut programs = Vec::new();
    for b in &buffers {
        let matches: Vec<_> = rule.matches_in(b).collect();
        programs.push(compile(&matches)?);
    }

    let mut flow_dir = None;
    let mut established = None;
    let mut no_stream = false;
    let mut checks = Vec::new();
    let mut state = Vec::new();
    let mut tx_only_check = false;
    for c in &rule.conditions {
        match c {
            Condition::Flow(f) => {
                flow_dir = f.direction.map(|d| d == FlowDirection::ToServer);
                established = match f.state {
                    Some(FlowState::Established) => Some(true),
                    Some(FlowState::NotEstablished) => Some(false),
                    _ => established,
                };
                no_stream |= f.stream == Some(false);
                if f.frag.is_some() {
                    return Err(unsupported("flow", "only_frag / no_frag are not supported"));
                }
            }
            Condition::Flowbits(fb) => {
                let bits: Vec<u32> = fb.names.iter().map(|n| names.bit(n)).collect();
                state.push(match fb.command {
                    BitsCommand::IsSet => StateOp::BitsTest {
                        set: true,
                        bits,
                        any: fb.any,
                    },
                    BitsCommand::IsNotSet => StateOp::BitsTest {
                        set: false,
                        bits,
                        any: fb.any,
                    },
                    command => StateOp::Bits { command, bits },
                });
            }
            Condition::Flowint(fi) => {
                let var = names.int(&fi.name);
                let value = match &fi.value {
                    Some(FlowintValue::Int(n)) => Some(IntOperand::Lit(*n)),
                    Some(FlowintValue::Var(v)) => Some(IntOperand::Var(names.int(v))),
                    None => None,
                };
                match fi.op {
                    FlowintOp::Set | FlowintOp::Add | FlowintOp::Sub => {
                        state.push(StateOp::IntSet {
                            var,
                            op: fi.op,
                            value: value.ok_or_else(|| unsupported("flowint", "missing value"))?,
                        })
                    }
                    op => state.push(StateOp::IntTest { var, op, value }),
                }
            }
            Condition::Flags(f) => checks.push(Check::Flags(*f)),
            Condition::Itype(c) => checks.push(Check::Itype(*c)),
            Condition::Icode(c) => checks.push(Check::Icode(*c)),
            Condition::IcmpId(v) => checks.push(Check::IcmpId(*v)),
            Condition::IcmpSeq(_) => {
                return Err(unsupported("icmp_seq", "the decoder does not keep it yet"))
            }
            Condition::IpProto(c) => checks.push(Check::IpProto(*c)),
            Condition::Ttl(c) => checks.push(Check::Ttl(*c)),
            Condition::Tos(_) => {
                return Err(unsupported("tos", "the decoder does not keep it yet"))
            }
            Condition::Id(_) => return Err(unsupported("id", "the decoder does not keep it yet")),
            Condition::SameIp => checks.push(Check::SameIp),
            Condition::Ack(v) => checks.push(Check::Ack(*v)),
            Condition::Seq(v) => checks.push(Check::Seq(*v)),
            Condition::Window(c) => checks.push(Check::Window(*c)),
            Condition::Dsize(c) => checks.push(Check::Dsize(*c)),
            Condition::AppLayerProtocol(a) => checks.push(Check::AppProto {
                negated: a.negated,
                name: a.protocol,
            }),
            Condition::Urilen(u) => {
                tx_only_check = true;
                checks.push(Check::Urilen(*u));
            }
            Condition::CustomField(cf) => {
                tx_only_check = true;
                let buffer = Buffer::Custom {
                    protocol: cf.protocol.clone(),
                    field: cf.field.clone(),
                };
                checks.push(Check::CustomField {
                    buffer,
                    test: cf.test.clone(),
                });
            }
            Condition::Xbits(_) => return Err(unsupported("xbits", "not supported yet")),
            Condition::Fragbits(_) => return Err(unsupported("fragbits", "not supported yet")),
            Condition::Fragoffset(_) => return Err(unsupported("fragoffset", "not supported yet")),
            Condition::Ipopts(_) => return Err(unsupported("ipopts", "not supported yet")),
            Condition::StreamSize(_) => {
                return Err(unsupported("stream_size", "not supported yet"))
            }
            Condition::AppLayerEvent(_) => {
                return Err(unsupported(
                    "app-layer-event",
                    "application-layer anomaly events are not raised yet",
                ))
            }
            Condition::TlsVersion(_) => {
                return Err(unsupported("tls.version", "not supported yet"))
            }
            Condition::SslVersion(_) => {
                return Err(unsupported("ssl_version", "not supported yet"))
            }
            Condition::DnsOpcode(_) => return Err(unsupported("dns.opcode", "not supported yet")),
        }
    }
    let packet_only_check = checks.iter().any(|c| {
        matches!(
            c,
            Check::Flags(_)
                | Check::Itype(_)
                | Check::Icode(_)
                | Check::IcmpId(_)
                | Check::Ttl(_)
                | Check::Ack(_)
                | Check::Seq(_)
                | Check::Window(_)
                | Check::Dsize(_)
        )
    });

    let kind = if has_app || tx_only_check {
        if packet_only_check {
            return Err(unsupported(
                "dsize",
                "the rule mixes packet header keywords with application-layer buffers",
            ));
        }
        Kind::Tx
    } else if !has_packet
        && checks.is_empty()
        && flow_dir.is_none()
        && established.is_none()
        && rule.source_ports.is_any()
        && rule.destination_ports.is_any()
        && !matches!(rule.protocol, Protocol::App(_))
        && state.iter().all(|s| matches!(s, StateOp::Bits { .. }))
    {
        Kind::IpOnly
    } else {
        Kind::Packet
    };
    if let Protocol::App(app) = rule.protocol {
        for b in &buffers {
            let f = b.family();
            if tx_family(f) && f != BufferFamily::Custom && !app.has(f) {
                return Err(unsupported(
                    "protocol",
                    format!("buffer {b} cannot occur in {} flows", app.name()),
                ));
            }
        }
    }
    let tx_dir = if kind == Kind::Tx {
        flow_dir.or_else(|| {
            let dirs: Vec<Option<bool>> = buffers.iter().map(|b| buffer_direction(b)).collect();
            let fixed: Vec<bool> = dirs.iter().flatten().copied().collect();
            if !fixed.is_empty() && fixed.iter().all(|&d| d == fixed[0]) {
                Some(fixed[0])
            } else {
                None
            }
        })
    } else {
        None
    };
    if let (Some(d), true) = (tx_dir, kind == Kind::Tx) {
        if let Some(b) = buffers.iter().find(|b| buffer_direction(b) == Some(!d)) {
            return Err(unsupported(
                "flow",
                format!(
                    "buffer {b} is only seen {} but the rule inspects {}",
                    if d { "to the client" } else { "to the server" },
                    if d { "to_server" } else { "to_client" }
                ),
            ));
        }
    }

    let info = AlertInfo {
        action: rule.action,
        gid: rule.meta.gid,
        sid: rule.meta.sid,
        rev: rule.meta.rev,
        msg: rule.meta.msg.clone(),
        category: rule
            .meta
            .class
            .as_ref()
            .map(|c| c.description.clone())
            .unwrap_or_default(),
        severity: rule.severity(),
        metadata: metadata_json(rule),
    };
    // Suricata's rule types and their action scope (docs rules/rule-types.rst): a rule with
    // nothing but addresses (ip_only), the application protocol in its header (app_layer)
    // or `app-layer-protocol` (pd_only), or application-layer buffers (app_tx) acts on the
    // flow; a rule that looks at packets acts on the packet. Reading flow variables or
    // `established` makes a rule a packet rule.
    let flow_scope = match kind {
        Kind::IpOnly | Kind::Tx => true,
        Kind::Packet => {
            programs.is_empty()
                && established.is_none()
                && state.iter().all(|s| matches!(s, StateOp::Bits { .. }))
                && checks.iter().all(|c| matches!(c, Check::AppProto { .. }))
                && (matches!(rule.protocol, Protocol::App(_)) || !checks.is_empty())
        }
    };
    let order = (
        action_rank(rule.action),
        flowbits_class(&state),
        flowint_class(&state),
        rule.severity(),
        index,
    );
    let stream = kind == Kind::Packet
        && has_packet
        && !no_stream
        && !checks.iter().any(|c| matches!(c, Check::Dsize(_)))
        && matches!(
            rule.protocol,
            Protocol::Tcp | Protocol::TcpStream | Protocol::Ip | Protocol::App(_)
        );
    Ok(Sig {
        info,
        kind,
        proto: rule.protocol,
        src: rule.source.clone(),
        sports: rule.source_ports.clone(),
        dst: rule.destination.clone(),
        dports: rule.destination_ports.clone(),
        bidirectional: rule.direction == Direction::Both,
        flow_dir,
        established,
        checks,
        state,
        programs,
        tx_dir,
        threshold: rule.threshold,
        detection_filter: rule.detection_filter,
        noalert: rule.noalert,
        flow_scope,
        stream,
        order,
    })
}

impl Sig {
    /// Whether the header protocol admits a packet of IP protocol `proto` in a flow of
    /// `app_proto`.
    pub(crate) fn proto_matches(&self, proto: u8, app_proto: Option<&str>) -> bool {
        match self.proto {
            Protocol::Ip => true,
            Protocol::Tcp | Protocol::TcpPkt | Protocol::TcpStream => proto == 6,
            Protocol::Udp => proto == 17,
            Protocol::Icmp => proto == 1 || proto == 58,
            Protocol::App(a) => app_proto.is_some_and(|n| app_matches(a, n)),
        }
    }

    /// Whether the header admits `src:sport → dst:dport` (either way for `<>`).
    pub(crate) fn header_matches(
        &self,
        src: std::net::IpAddr,
        sport: u16,
        dst: std::net::IpAddr,
        dport: u16,
    ) -> bool {
        let fwd = self.src.contains(src)
            && self.dst.contains(dst)
            && self.sports.contains(sport)
            && self.dports.contains(dport);
        fwd || (self.bidirectional
            && self.src.contains(dst)
            && self.dst.contains(src)
            && self.sports.contains(dport)
            && self.dports.contains(sport))
    }

    /// The buffers the rule inspects, in program order.
    pub(crate) fn buffers(&self) -> impl Iterator<Item = &Buffer> {
        self.programs.iter().filter_map(|p| p.buffer())
    }
}

/// Whether a flow whose application protocol is `name` is `a`.
pub(crate) fn app_matches(a: AppProto, name: &str) -> bool {
    match a {
        AppProto::Http => name == "http" || name == "http1" || name == "http2",
        AppProto::Http1 => name == "http" || name == "http1",
        other => other.name() == name,
    }
}

/// Whether the flags byte satisfies a `flags` keyword.
pub(crate) fn flags_match(f: &TcpFlags, flags: u8) -> bool {
    let v = flags & !f.ignore;
    let want = f.flags & !f.ignore;
    match f.modifier {
        FlagsModifier::Exact => v == want,
        FlagsModifier::All => v & want == want,
        FlagsModifier::Any => want == 0 && v == 0 || v & want != 0,
        // Suricata: not all of the listed bits are set.
        FlagsModifier::Not => v & want != want,
    }
}
