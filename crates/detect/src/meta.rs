//! What the engine is shown: a packet's header fields and payload, and an application-layer
//! transaction's buffers.

use std::net::IpAddr;

use nta_rules::Buffer;

/// A packet, as the rules see it.
#[derive(Clone, Copy, Debug)]
pub struct PacketMeta<'a> {
    /// Packet time (ns since the epoch).
    pub ts_ns: u64,
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Source port (0 without ports).
    pub sport: u16,
    /// Destination port (0 without ports).
    pub dport: u16,
    /// IP protocol of the innermost layer (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, …).
    pub proto: u8,
    /// IP TTL / hop limit.
    pub ttl: u8,
    /// TCP header fields, for TCP.
    pub tcp: Option<TcpMeta>,
    /// ICMP type, code, and echo id (0 for other messages).
    pub icmp: Option<IcmpMeta>,
    /// The transport payload (UDP/TCP payload, ICMP data after the 8-byte header).
    pub payload: &'a [u8],
    /// Sent by the flow's client.
    pub to_server: bool,
    /// The flow is established (TCP handshake completed; UDP and others: packets seen both
    /// ways).
    pub established: bool,
    /// The flow's application protocol once identified (`http`, …, `failed`).
    pub app_proto: Option<&'a str>,
    /// The flow's EVE `flow_id` (for `track by_flow`).
    pub flow_id: u64,
    /// First packet of its direction in the flow (IP-only rules are checked then).
    pub first_in_direction: bool,
}

/// TCP fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpMeta {
    /// Flags byte (FIN 0x01 … CWR 0x80).
    pub flags: u8,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number.
    pub ack: u32,
    /// Window.
    pub window: u16,
}

/// ICMP fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IcmpMeta {
    /// Type.
    pub itype: u8,
    /// Code.
    pub code: u8,
    /// Echo identifier.
    pub id: u16,
}

/// The flow a transaction belongs to, seen from the client.
#[derive(Clone, Copy, Debug)]
pub struct FlowMeta<'a> {
    /// Time of the packet that completed the transaction.
    pub ts_ns: u64,
    /// Client address and port.
    pub client: (IpAddr, u16),
    /// Server address and port.
    pub server: (IpAddr, u16),
    /// IP protocol.
    pub proto: u8,
    /// The flow is established.
    pub established: bool,
    /// Application protocol of the flow (`http`, …) or, for a user-defined protocol, its
    /// name.
    pub app_proto: &'a str,
    /// Event type of the transaction (`http`, `dns`, `tls`, …, `custom`).
    pub event_type: &'a str,
    /// The flow's `flow_id`.
    pub flow_id: u64,
    /// The transaction's number in the flow, when it has one: a rule matches a transaction
    /// once, however often it is inspected.
    pub tx_id: Option<u64>,
}

/// The buffers of one transaction.
pub trait TxBuffers {
    /// Calls `f` on each instance of `buffer` sent in the given direction (`Some(true)`:
    /// client to server; `None`: either) until `f` returns true; returns whether it did.
    fn any(
        &self,
        buffer: &Buffer,
        to_server: Option<bool>,
        f: &mut dyn FnMut(&[u8]) -> bool,
    ) -> bool;
}

impl TxBuffers for nta_protocols::Tx<'_> {
    fn any(
        &self,
        buffer: &Buffer,
        to_server: Option<bool>,
        f: &mut dyn FnMut(&[u8]) -> bool,
    ) -> bool {
        let dir = to_server.map(nta_protocols::Dir::from_to_server);
        self.get(buffer, dir).any(f)
    }
}

/// A transaction's buffers as a list: `(sent to the server, buffer, bytes)`.
impl TxBuffers for Vec<(bool, Buffer, Vec<u8>)> {
    fn any(
        &self,
        buffer: &Buffer,
        to_server: Option<bool>,
        f: &mut dyn FnMut(&[u8]) -> bool,
    ) -> bool {
        self.iter()
            .filter(|(d, b, _)| b == buffer && to_server.is_none_or(|x| x == *d))
            .any(|(_, _, data)| f(data))
    }
}

/// Where a buffer's bytes are found in a transaction, and in which direction:
/// `http.response_body` is the response's `file.data`.
pub(crate) fn resolve(b: &Buffer) -> (&Buffer, Option<bool>) {
    match b {
        Buffer::HttpResponseBody => (&Buffer::FileData, Some(false)),
        other => (other, buffer_direction(other)),
    }
}

/// The direction a buffer is sent in, when it has only one: `Some(true)` request side,
/// `Some(false)` response side, `None` both (`http.header`, `http.content_type`, …).
pub fn buffer_direction(b: &Buffer) -> Option<bool> {
    use Buffer::*;
    match b {
        HttpUri | HttpUriRaw | HttpMethod | HttpHost | HttpHostRaw | HttpUserAgent
        | HttpRequestBody | HttpRequestLine | HttpAccept | HttpAcceptEnc | HttpAcceptLang
        | HttpReferer | DnsQuery | TlsSni | Ja3Hash | Ja3String | Ja4Hash | SshHassh
        | SshHasshString | SmtpHelo | SmtpMailFrom | SmtpRcptTo | FtpCommand => Some(true),
        HttpStatCode | HttpStatMsg | HttpResponseBody | HttpResponseLine | HttpLocation
        | HttpServer | TlsCertSubject | TlsCertIssuer | TlsCertSerial | TlsCertFingerprint
        | Ja3sHash | Ja3sString | SshHasshServer | SshHasshServerString => Some(false),
        // http.response_body and file.data are the same bytes for HTTP; file.data also
        // exists for uploads.
        _ => None,
    }
}
