//! The shape every protocol has: a probe that recognises it from the first bytes, a parser
//! that follows one flow, and the events the parser writes.

use std::net::IpAddr;

use nta_event::JsonOut;
pub use nta_rules::Buffer;

/// Direction of data within a flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dir {
    /// Client to server.
    ToServer,
    /// Server to client.
    ToClient,
}

impl Dir {
    /// 0 for to-server, 1 for to-client.
    pub fn index(self) -> usize {
        match self {
            Dir::ToServer => 0,
            Dir::ToClient => 1,
        }
    }

    /// The other direction.
    pub fn reverse(self) -> Dir {
        match self {
            Dir::ToServer => Dir::ToClient,
            Dir::ToClient => Dir::ToServer,
        }
    }

    /// From "the packet goes to the server".
    pub fn from_to_server(to_server: bool) -> Dir {
        if to_server {
            Dir::ToServer
        } else {
            Dir::ToClient
        }
    }
}

/// Transport a protocol runs over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    /// TCP: the parser reads a reassembled byte stream.
    Tcp,
    /// UDP: the parser reads one datagram at a time.
    Udp,
}

impl Transport {
    /// `tcp` or `udp`.
    pub fn name(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
        }
    }
}

/// What a probe says about the bytes it was shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    /// This protocol.
    Match,
    /// Not this protocol.
    NoMatch,
    /// Cannot tell yet: show me more bytes (TCP), or the next datagram (UDP).
    NeedMore,
}

/// What a probe is shown: the first bytes of one direction (TCP: everything received so far in
/// order, from the start of the stream; UDP: one datagram).
#[derive(Clone, Copy, Debug)]
pub struct ProbeInput<'a> {
    /// Which direction the bytes went.
    pub dir: Dir,
    /// The bytes.
    pub data: &'a [u8],
    /// TCP or UDP.
    pub transport: Transport,
    /// The server's port.
    pub server_port: u16,
    /// The client's port.
    pub client_port: u16,
}

/// Follows one flow of one protocol.
///
/// Memory is bounded by the parser: it keeps at most a fixed number of open transactions and
/// truncates the strings it keeps. It never panics, whatever the bytes.
pub trait Parser: Send {
    /// Reads bytes of `dir`. TCP: the reassembled stream, in order; returns how many bytes were
    /// consumed, and what was not consumed is offered again with more appended (a parser
    /// waiting for a whole header returns 0). UDP: one whole datagram; the return value is
    /// ignored.
    fn parse(&mut self, dir: Dir, data: &[u8], out: &mut Out<'_>) -> usize;

    /// TCP: `len` bytes of `dir` are missing from the capture. Returns whether the parser
    /// carries on (it resynchronises on what comes next); `false` ends parsing for the flow.
    fn gap(&mut self, _dir: Dir, _len: u64, _out: &mut Out<'_>) -> bool {
        false
    }

    /// The flow ended: log what is still open.
    fn finish(&mut self, _out: &mut Out<'_>) {}

    /// Nothing more is to be learnt from this flow (a TLS session past its handshake, SSH
    /// past its key exchange): `finish` is called at once, the flow's state is freed, and the
    /// rest of the flow skips reassembly and parsing.
    fn done(&self) -> bool {
        false
    }
}

/// A flow announced by another one (an FTP data connection announced by PORT or PASV): the next
/// TCP flow to `addr`:`port` is `app_proto`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expectation {
    /// The address the data connection goes to.
    pub addr: IpAddr,
    /// Its port.
    pub port: u16,
    /// The protocol it will speak (`ftp-data`).
    pub app_proto: &'static str,
}

/// An event a parser wrote, waiting to be emitted.
#[derive(Clone, Debug)]
pub(crate) struct Written {
    pub(crate) event_type: &'static str,
    pub(crate) to_server: bool,
    pub(crate) tx_id: Option<u64>,
    pub(crate) range: std::ops::Range<usize>,
    /// The protocol's events are logged (else the event exists only for detection).
    pub(crate) logged: bool,
    /// Its inspection buffers: a range of [`Inspect::list`].
    pub(crate) buffers: std::ops::Range<usize>,
}

/// Longest inspection buffer kept (longer ones are truncated, as Suricata's body limits do).
pub const MAX_BUFFER_LEN: usize = 64 << 10;

/// Inspection buffers the parsers hand to detection, in one arena per worker.
#[derive(Debug, Default)]
pub(crate) struct Inspect {
    /// Detection wants buffers (rules that inspect application-layer buffers are loaded).
    pub(crate) on: bool,
    /// Each buffer and its bytes in `data`.
    pub(crate) list: Vec<(Dir, Buffer, std::ops::Range<usize>)>,
    pub(crate) data: Vec<u8>,
    /// The first buffer not yet attached to an event.
    pub(crate) next: usize,
}

impl Inspect {
    pub(crate) fn clear(&mut self) {
        self.list.clear();
        self.data.clear();
        self.next = 0;
    }
}

/// Where a parser puts what it found: events, expected flows, a protocol upgrade.
pub struct Out<'a> {
    pub(crate) ts_ns: u64,
    pub(crate) transport: Transport,
    pub(crate) log: bool,
    pub(crate) client: (IpAddr, u16),
    pub(crate) server: (IpAddr, u16),
    pub(crate) buf: &'a mut Vec<u8>,
    pub(crate) events: &'a mut Vec<Written>,
    pub(crate) expect: &'a mut Vec<Expectation>,
    pub(crate) upgrade: &'a mut Option<&'static str>,
    pub(crate) inspect: &'a mut Inspect,
}

impl Out<'_> {
    /// Time of the packet being parsed (ns since the epoch).
    pub fn ts_ns(&self) -> u64 {
        self.ts_ns
    }

    /// The flow's transport (a protocol carried over both frames its messages differently).
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// Whether events of this protocol are logged; a parser may skip building them when not.
    pub fn logging(&self) -> bool {
        self.log
    }

    /// The client's address and port.
    pub fn client(&self) -> (IpAddr, u16) {
        self.client
    }

    /// The server's address and port.
    pub fn server(&self) -> (IpAddr, u16) {
        self.server
    }

    /// Writes one event of type `event_type` (`http`, `dns`, …). `write` adds its members
    /// (typically one object named like the event type: `w.object("http"); …; w.close()`).
    /// `to_server`: the event's source is the client. Nothing is written when the protocol's
    /// logging is off.
    pub fn event(
        &mut self,
        event_type: &'static str,
        to_server: bool,
        tx_id: Option<u64>,
        write: impl FnOnce(&mut JsonOut<'_>),
    ) {
        if !self.log && !self.inspect.on {
            return;
        }
        let start = self.buf.len();
        write(&mut JsonOut::members(self.buf));
        let buffers = self.inspect.next..self.inspect.list.len();
        self.inspect.next = self.inspect.list.len();
        self.events.push(Written {
            event_type,
            to_server,
            tx_id,
            range: start..self.buf.len(),
            logged: self.log,
            buffers,
        });
    }

    /// An inspection point before a transaction is complete (an HTTP request parsed, its
    /// response still to come): detection checks the buffers given so far, with `write`'s
    /// members as the app-layer object of its alerts. Nothing is logged; the transaction's
    /// [`Out::event`] comes later as usual, with all its buffers again. Does nothing when
    /// detection is not inspecting.
    pub fn inspect_event(
        &mut self,
        event_type: &'static str,
        to_server: bool,
        tx_id: Option<u64>,
        write: impl FnOnce(&mut JsonOut<'_>),
    ) {
        if !self.inspect.on {
            return;
        }
        let start = self.buf.len();
        write(&mut JsonOut::members(self.buf));
        let buffers = self.inspect.next..self.inspect.list.len();
        self.inspect.next = self.inspect.list.len();
        self.events.push(Written {
            event_type,
            to_server,
            tx_id,
            range: start..self.buf.len(),
            logged: false,
            buffers,
        });
    }

    /// Whether detection inspects this flow's buffers: when not, a parser need not call
    /// [`Out::buffer`] (it does nothing) nor keep what only detection reads (bodies).
    pub fn inspecting(&self) -> bool {
        self.inspect.on
    }

    /// Hands detection one inspection buffer (`http.uri`, `dns.query`, …) of the transaction
    /// being parsed, sent in direction `dir` (request buffers `ToServer`, response buffers
    /// `ToClient`: `http.header` exists both ways). Buffers belong to the next [`Out::event`]
    /// the parser writes: a parser gives a transaction's buffers, then writes its event. A
    /// buffer may be given several times (each DNS query name; rules match any of them).
    /// Longer than [`MAX_BUFFER_LEN`]: truncated.
    pub fn buffer(&mut self, dir: Dir, buffer: Buffer, data: &[u8]) {
        if !self.inspect.on {
            return;
        }
        let data = &data[..data.len().min(MAX_BUFFER_LEN)];
        let start = self.inspect.data.len();
        self.inspect.data.extend_from_slice(data);
        self.inspect
            .list
            .push((dir, buffer, start..self.inspect.data.len()));
    }

    /// Announces a flow to come (an FTP data connection). At most 64 announcements are kept
    /// per packet; a parser announcing more is misbehaving and the rest are dropped.
    pub fn expect(&mut self, e: Expectation) {
        if self.expect.len() < 64 {
            self.expect.push(e);
        }
    }

    /// From the next bytes on, the flow speaks `proto` (STARTTLS: `tls`); its `app_proto`
    /// stays what it was.
    pub fn upgrade(&mut self, proto: &'static str) {
        *self.upgrade = Some(proto);
    }
}
