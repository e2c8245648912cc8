//! Non-payload keywords: flow state, packet header fields, thresholds, tags, and
//! user-defined protocol fields.

use super::{AppProto, IntCmp};

/// A condition that is not a payload match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Condition {
    /// `flow`.
    Flow(Flow),
    /// `flowbits` (except `flowbits:noalert`, which is [`super::Rule::noalert`]).
    Flowbits(Flowbits),
    /// `flowint`.
    Flowint(Flowint),
    /// `xbits`.
    Xbits(Xbits),
    /// `flags` (TCP).
    Flags(TcpFlags),
    /// `fragbits` (IP).
    Fragbits(Fragbits),
    /// `fragoffset`.
    Fragoffset(IntCmp<u16>),
    /// `itype`.
    Itype(IntCmp<u8>),
    /// `icode`.
    Icode(IntCmp<u8>),
    /// `icmp_id`.
    IcmpId(u16),
    /// `icmp_seq`.
    IcmpSeq(u16),
    /// `ip_proto` (names resolved to numbers).
    IpProto(IntCmp<u8>),
    /// `ttl`.
    Ttl(IntCmp<u8>),
    /// `tos`.
    Tos(IntCmp<u8>),
    /// `id` (IP identification).
    Id(u16),
    /// `sameip`: source and destination address are equal.
    SameIp,
    /// `ack` (TCP acknowledgement number).
    Ack(u32),
    /// `seq` (TCP sequence number).
    Seq(u32),
    /// `window` (TCP window size).
    Window(IntCmp<u16>),
    /// `ipopts`.
    Ipopts(IpOption),
    /// `stream_size`.
    StreamSize(StreamSize),
    /// `dsize`: payload size.
    Dsize(IntCmp<u16>),
    /// `urilen`.
    Urilen(Urilen),
    /// `app-layer-protocol`.
    AppLayerProtocol(AppLayerProtocol),
    /// `app-layer-event`, as written (`http.uri_delim_non_compliant`).
    AppLayerEvent(String),
    /// `tls.version:<version>`: the negotiated version as its wire value (0x0303 for 1.2).
    TlsVersion(u16),
    /// `ssl_version`: any of the listed versions (each possibly negated).
    SslVersion(Vec<(bool, SslVersion)>),
    /// `dns.opcode`.
    DnsOpcode(IntCmp<u8>),
    /// `custom_field`: a field of a user-defined protocol's message.
    CustomField(CustomField),
}

/// `flow:…`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Flow {
    /// `to_server`/`from_client` or `to_client`/`from_server`.
    pub direction: Option<FlowDirection>,
    /// `established`, `not_established`, `stateless`.
    pub state: Option<FlowState>,
    /// `only_stream` (true) or `no_stream` (false).
    pub stream: Option<bool>,
    /// `only_frag` (true) or `no_frag` (false).
    pub frag: Option<bool>,
}

/// Direction within the flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlowDirection {
    /// Client to server.
    ToServer,
    /// Server to client.
    ToClient,
}

/// Flow state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlowState {
    /// The TCP handshake completed (or UDP traffic both ways).
    Established,
    /// Not established.
    NotEstablished,
    /// Any state.
    Stateless,
}

/// What a flowbits/xbits keyword does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BitsCommand {
    /// `set`
    Set,
    /// `unset`
    Unset,
    /// `toggle`
    Toggle,
    /// `isset`
    IsSet,
    /// `isnotset`
    IsNotSet,
}

impl BitsCommand {
    /// Whether the command is a test (`isset`, `isnotset`) rather than an action.
    pub fn is_test(self) -> bool {
        matches!(self, BitsCommand::IsSet | BitsCommand::IsNotSet)
    }
}

/// `flowbits:cmd,name` (names joined by `&`: all of them; by `|`: any of them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flowbits {
    /// What to do.
    pub command: BitsCommand,
    /// The bit names.
    pub names: Vec<String>,
    /// Names were joined with `|` (any) rather than `&` (all).
    pub any: bool,
}

/// `flowint:name,op[,value]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flowint {
    /// The counter's name.
    pub name: String,
    /// The operation.
    pub op: FlowintOp,
    /// The operand (none for `isset`/`notset`).
    pub value: Option<FlowintValue>,
}

/// flowint operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlowintOp {
    /// `=`: set.
    Set,
    /// `+`: add.
    Add,
    /// `-`: subtract.
    Sub,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `isset`
    IsSet,
    /// `notset` / `isnotset`
    NotSet,
}

/// A flowint operand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FlowintValue {
    /// A number.
    Int(u32),
    /// Another flowint.
    Var(String),
}

/// `xbits:cmd,name,track <what>[,expire <seconds>]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Xbits {
    /// What to do.
    pub command: BitsCommand,
    /// The bit names.
    pub names: Vec<String>,
    /// Names were joined with `|`.
    pub any: bool,
    /// What the bit is kept on.
    pub track: XbitsTrack,
    /// `expire`, in seconds.
    pub expire: Option<u32>,
}

/// What an xbit is kept on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XbitsTrack {
    /// `ip_src`
    IpSrc,
    /// `ip_dst`
    IpDst,
    /// `ip_pair`
    IpPair,
    /// `tx`
    Tx,
}

/// TCP flag bits, as in the header.
pub mod tcp_flags {
    /// FIN
    pub const FIN: u8 = 0x01;
    /// SYN
    pub const SYN: u8 = 0x02;
    /// RST
    pub const RST: u8 = 0x04;
    /// PSH
    pub const PSH: u8 = 0x08;
    /// ACK
    pub const ACK: u8 = 0x10;
    /// URG
    pub const URG: u8 = 0x20;
    /// ECE (`E`, old `2`)
    pub const ECE: u8 = 0x40;
    /// CWR (`C`, old `1`)
    pub const CWR: u8 = 0x80;
}

/// How a set of flag bits is compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum FlagsModifier {
    /// Exactly these bits (after removing the ignored ones).
    #[default]
    Exact,
    /// `+`: these bits, and possibly others.
    All,
    /// `*`: any of these bits.
    Any,
    /// `!`: not these bits.
    Not,
}

/// `flags:[!+*]<FSRPAUCE0>[,<ignored>]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpFlags {
    /// The bits (see [`tcp_flags`]); 0 for `0` (no flag).
    pub flags: u8,
    /// The comparison.
    pub modifier: FlagsModifier,
    /// Bits ignored in the comparison (after the comma; `12` means CWR and ECE).
    pub ignore: u8,
}

/// IP fragment bits: reserved, don't fragment, more fragments.
pub mod frag_bits {
    /// `M`: more fragments.
    pub const MORE_FRAGMENTS: u8 = 0x01;
    /// `D`: don't fragment.
    pub const DONT_FRAGMENT: u8 = 0x02;
    /// `R`: reserved.
    pub const RESERVED: u8 = 0x04;
}

/// `fragbits:[!+*]<MDR>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fragbits {
    /// The bits (see [`frag_bits`]).
    pub bits: u8,
    /// The comparison.
    pub modifier: FlagsModifier,
}

/// IP options for `ipopts`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpOption {
    /// `rr`: record route.
    Rr,
    /// `eol`: end of list.
    Eol,
    /// `nop`
    Nop,
    /// `ts`: timestamp.
    Ts,
    /// `sec`: security.
    Sec,
    /// `esec`: extended security.
    Esec,
    /// `lsrr`: loose source routing.
    Lsrr,
    /// `lsrre`: loose source routing (another option number).
    Lsrre,
    /// `ssrr`: strict source routing.
    Ssrr,
    /// `satid`: stream identifier.
    Satid,
    /// `any`: any option.
    Any,
}

/// What `threshold` does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThresholdKind {
    /// Alert at most `count` times per `seconds`.
    Limit,
    /// Alert every `count` matches within `seconds`.
    Threshold,
    /// Alert once per `seconds` after `count` matches.
    Both,
}

/// What matches are counted per.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Track {
    /// `by_src`
    BySrc,
    /// `by_dst`
    ByDst,
    /// `by_rule`
    ByRule,
    /// `by_both`
    ByBoth,
    /// `by_flow`
    ByFlow,
}

/// `threshold:type …,track …,count N,seconds N`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Threshold {
    /// Type.
    pub kind: ThresholdKind,
    /// Tracked by.
    pub track: Track,
    /// Count.
    pub count: u32,
    /// Period.
    pub seconds: u32,
}

/// `detection_filter:track …,count N,seconds N`: alert only after `count` matches within
/// `seconds`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DetectionFilter {
    /// Tracked by.
    pub track: Track,
    /// Count.
    pub count: u32,
    /// Period.
    pub seconds: u32,
}

/// `tag:session|host[,count,metric[,src|dst]]`: log further packets after an alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tag {
    /// What is tagged.
    pub scope: TagScope,
    /// How much (with `metric`); Suricata's default is 256 packets.
    pub count: Option<u32>,
    /// Unit of `count`.
    pub metric: Option<TagMetric>,
    /// For `host`: which side.
    pub direction: Option<TagDirection>,
}

/// Tag scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TagScope {
    /// The flow.
    Session,
    /// A host.
    Host,
}

/// Tag unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TagMetric {
    /// Packets.
    Packets,
    /// Seconds.
    Seconds,
    /// Bytes.
    Bytes,
}

/// Tagged host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TagDirection {
    /// The source.
    Src,
    /// The destination.
    Dst,
}

/// `stream_size:<side>,<op>,<n>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamSize {
    /// Which direction's byte count.
    pub side: StreamSide,
    /// The comparison.
    pub cmp: IntCmp<u32>,
}

/// Side for `stream_size`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamSide {
    /// Bytes sent by the server.
    Server,
    /// Bytes sent by the client.
    Client,
    /// Both sides must satisfy it.
    Both,
    /// Either side.
    Either,
}

/// `urilen:<cmp>[,norm|raw]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Urilen {
    /// The comparison.
    pub cmp: IntCmp<u32>,
    /// `raw`: the URI as sent rather than normalised.
    pub raw: bool,
}

/// `app-layer-protocol:[!]<name>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppLayerProtocol {
    /// `!`
    pub negated: bool,
    /// The protocol.
    pub protocol: AppLayerName,
}

/// A protocol name for `app-layer-protocol`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppLayerName {
    /// A known protocol.
    Known(AppProto),
    /// `failed`: detection gave up.
    Failed,
    /// `unknown`: not (yet) identified.
    Unknown,
}

/// Versions for `ssl_version`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslVersion {
    /// `sslv2`
    Sslv2,
    /// `sslv3`
    Sslv3,
    /// `tls1.0`
    Tls10,
    /// `tls1.1`
    Tls11,
    /// `tls1.2`
    Tls12,
    /// `tls1.3`
    Tls13,
}

/// `custom_field:<protocol>.<field>,<test>` over a user-defined protocol's message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomField {
    /// The user-defined protocol.
    pub protocol: String,
    /// The field name, or a dotted path into groups.
    pub field: String,
    /// The test.
    pub test: FieldTest,
}

/// What `custom_field` tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldTest {
    /// An integer field (or a bit field, or the `_code` of a named value) compared.
    Int(IntCmp<i128>),
    /// A string field (or the name of a named value) equal to the text (`!`: not equal).
    Str {
        /// The text, unescaped.
        value: String,
        /// `!"…"`.
        negated: bool,
    },
}
