//! FTP's control connection: each command with the replies it got is one `ftp` event, as
//! Suricata's EVE has it: `ftp: {command, command_data, reply: [..], completion_code: [..],
//! dynamic_port, mode, reply_received}`. The server's greeting is logged as a transaction
//! without a command.
//!
//! PORT / EPRT from the client and 227 / 229 replies to PASV / EPSV announce the data
//! connection (`Out::expect`, as `ftp-data`). A 234 reply to AUTH hands the flow over to TLS.
//!
//! Passwords: PASS is logged as `***`, except after USER anonymous / ftp / guest, whose
//! "password" is by custom an e-mail address (Zeek does the same).

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr};

use crate::parser::{Buffer, Dir, Expectation, Out, Parser, Probe, ProbeInput, Transport};
use crate::text::{next_line, probe_greeting, probe_verbs, Step};
use crate::Builtin;

#[cfg(test)]
mod tests;

/// Longest control line read (RFC 959 sets none; real ones are short). Longer ones are
/// skipped.
const MAX_LINE: usize = 4096;
/// Longest command argument or reply line kept.
const MAX_FIELD: usize = 1024;
/// Longest command name kept (real ones are 3–4 letters).
const MAX_VERB: usize = 32;
/// Commands awaiting their final reply; past this the oldest is logged unanswered.
const MAX_OPEN: usize = 32;
/// Reply lines kept per command (FEAT and HELP answer with many).
const MAX_REPLY_LINES: usize = 64;
/// Replies kept per command (1xx preliminaries, then the final one).
const MAX_REPLIES: usize = 16;
/// User names whose password is an e-mail address, logged as is.
const GUESTS: &[&[u8]] = &[b"anonymous", b"ftp", b"guest"];
/// Commands whose argument names a file transferred on the data connection (RFC 959:
/// retrieve, store, append).
const FILE_COMMANDS: &[&[u8]] = &[b"RETR", b"STOR", b"APPE"];

pub(crate) fn protocol() -> Builtin {
    Builtin {
        info: Builtin::info(
            "ftp",
            "File Transfer Protocol control connection: commands, replies, data connections",
            &[Transport::Tcp],
            &[21],
            Some("ftp"),
        ),
        probe,
        parser: || Box::<FtpParser>::default(),
    }
}

/// The server's 220 greeting, or the client's USER / AUTH.
fn probe(input: &ProbeInput<'_>) -> Probe {
    let d = input.data;
    match input.dir {
        Dir::ToServer => probe_verbs(d, &[&b"USER "[..], b"AUTH "]),
        Dir::ToClient => probe_greeting(d, &[b"FTP"], &[b"SMTP"], input.server_port, &[21]),
    }
}

fn truncated(v: &[u8], max: usize) -> Vec<u8> {
    v[..v.len().min(max)].to_vec()
}

fn number<T: std::str::FromStr>(v: &[u8]) -> Option<T> {
    if v.is_empty() || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(v).ok()?.parse().ok()
}

/// Longest `h1,h2,h3,h4,p1,p2`: six numbers of at most three digits, five commas.
const MAX_HOST_PORT: usize = 6 * 3 + 5;

/// `h1,h2,h3,h4,p1,p2` at the start of `v` (PORT's argument, or inside a 227 reply).
fn host_port(v: &[u8]) -> Option<(Ipv4Addr, u16)> {
    // Looks no further than the longest valid form: `pasv_reply` tries every number in a
    // reply line, and an unbounded scan would make a line of digits and commas cost its
    // length squared.
    let window = &v[..v.len().min(MAX_HOST_PORT + 1)];
    let end = window
        .iter()
        .position(|&b| !(b.is_ascii_digit() || b == b','))
        .unwrap_or(window.len());
    if end > MAX_HOST_PORT {
        return None;
    }
    let mut n = [0u8; 6];
    let mut parts = v[..end].split(|&b| b == b',');
    for x in n.iter_mut() {
        *x = number(parts.next()?)?;
    }
    let port = u16::from_be_bytes([n[4], n[5]]);
    (port != 0).then(|| (Ipv4Addr::new(n[0], n[1], n[2], n[3]), port))
}

/// The first `h1,…,p2` in a 227 reply's text (`Entering Passive Mode (192,0,2,1,19,137)`;
/// some servers drop the parentheses).
fn pasv_reply(text: &[u8]) -> Option<(Ipv4Addr, u16)> {
    (0..text.len())
        .filter(|&i| text[i].is_ascii_digit() && (i == 0 || !text[i - 1].is_ascii_digit()))
        .find_map(|i| host_port(&text[i..]))
}

/// EPRT's `|1|192.0.2.1|6275|` / `|2|2001:db8::1|5282|` (RFC 2428 §2): any delimiter.
fn eprt(arg: &[u8]) -> Option<(IpAddr, u16)> {
    let delim = *arg.first()?;
    let mut f = arg[1..].split(|&b| b == delim);
    let _family = f.next()?;
    let addr: IpAddr = std::str::from_utf8(f.next()?).ok()?.parse().ok()?;
    let port: u16 = number(f.next()?)?;
    (port != 0).then_some((addr, port))
}

/// The port of a 229 reply: `Entering Extended Passive Mode (|||6446|)` (RFC 2428 §3).
fn epsv_reply(text: &[u8]) -> Option<u16> {
    let open = memchr::memchr(b'(', text)?;
    let inner = &text[open + 1..];
    let close = memchr::memchr(b')', inner)?;
    let inner = &inner[..close];
    let delim = *inner.first()?;
    let mut f = inner.split(|&b| b == delim);
    let (_, _, _) = (f.next()?, f.next()?, f.next()?);
    let port: u16 = number(f.next()?)?;
    (port != 0).then_some(port)
}

/// One command and the replies to it.
#[derive(Default, Debug)]
struct Tx {
    command: Option<Vec<u8>>,
    command_data: Vec<u8>,
    reply: Vec<Vec<u8>>,
    completion_code: Vec<u16>,
    dynamic_port: Option<u16>,
    mode: Option<&'static str>,
}

impl Tx {
    fn is(&self, verb: &[u8]) -> bool {
        self.command.as_deref() == Some(verb)
    }
}

/// Follows one FTP control connection.
#[derive(Default)]
pub(crate) struct FtpParser {
    open: VecDeque<Tx>,
    /// The server's greeting, until its 220.
    greeting: Option<Tx>,
    greeting_done: bool,
    /// The reply being read is (part of) the greeting.
    in_greeting: bool,
    /// The reply being read answers no command.
    unsolicited: bool,
    /// Code of the multi-line reply being read (`123-` … `123 `).
    multiline: Option<u16>,
    guest: bool,
    tx_id: u64,
    skipping: [bool; 2],
    upgraded: bool,
}

impl FtpParser {
    fn log(&mut self, tx: Tx, out: &mut Out<'_>) {
        let answered = !tx.completion_code.is_empty();
        // Detection: `ftp.command`, the command's name as logged (uppercase: `RETR`), and
        // `file.name`, the file a transfer command names (its argument), sent to the server.
        if let Some(c) = &tx.command {
            out.buffer(Dir::ToServer, Buffer::FtpCommand, c);
            if FILE_COMMANDS.contains(&c.as_slice()) && !tx.command_data.is_empty() {
                out.buffer(Dir::ToServer, Buffer::FileName, &tx.command_data);
            }
        }
        out.event("ftp", true, Some(self.tx_id), |w| {
            w.object("ftp");
            if let Some(c) = &tx.command {
                w.bytes("command", c);
                w.bytes("command_data", &tx.command_data);
            }
            if !tx.reply.is_empty() {
                w.array("reply");
                for r in &tx.reply {
                    w.str_element(r);
                }
                w.end_array();
            }
            if answered {
                w.array("completion_code");
                for c in &tx.completion_code {
                    w.str_element(c.to_string().as_bytes());
                }
                w.end_array();
            }
            if let Some(p) = tx.dynamic_port {
                w.u64("dynamic_port", u64::from(p));
            }
            if let Some(m) = tx.mode {
                w.plain("mode", m);
            }
            w.plain("reply_received", if answered { "yes" } else { "no" });
            w.close();
        });
        self.tx_id += 1;
    }

    fn command(&mut self, line: &[u8], out: &mut Out<'_>) {
        let (verb, arg) = match memchr::memchr(b' ', line) {
            Some(i) => (&line[..i], &line[i + 1..]),
            None => (line, &[][..]),
        };
        let mut verb = truncated(verb, MAX_VERB);
        verb.make_ascii_uppercase();
        let mut tx = Tx {
            command_data: truncated(arg, MAX_FIELD),
            ..Tx::default()
        };
        match verb.as_slice() {
            b"USER" => self.guest = GUESTS.iter().any(|g| g.eq_ignore_ascii_case(arg)),
            b"PASS" if !self.guest => tx.command_data = b"***".to_vec(),
            b"PORT" => {
                if let Some((addr, port)) = host_port(arg) {
                    announce(&mut tx, IpAddr::V4(addr), port, "active", out);
                }
            }
            b"EPRT" => {
                if let Some((addr, port)) = eprt(arg) {
                    announce(&mut tx, addr, port, "active", out);
                }
            }
            _ => {}
        }
        tx.command = Some(verb);
        if self.open.len() >= MAX_OPEN {
            if let Some(old) = self.open.pop_front() {
                self.log(old, out);
            }
        }
        self.open.push_back(tx);
    }

    /// A reply starts: picks the transaction it answers.
    fn begin_reply(&mut self, code: u16) {
        // The greeting (a 120 "wait" may come before its 220) answers no command, though the
        // client's first command may have been read before it.
        self.in_greeting = !self.greeting_done && matches!(code, 120 | 220 | 421);
        if self.in_greeting {
            self.greeting.get_or_insert_with(Tx::default);
        } else {
            self.greeting_done = true;
            self.unsolicited = self.open.is_empty();
            if self.unsolicited {
                self.open.push_back(Tx::default());
            }
        }
    }

    /// The transaction the reply being read belongs to.
    fn current(&mut self) -> Option<&mut Tx> {
        if self.in_greeting {
            self.greeting.as_mut()
        } else {
            self.open.front_mut()
        }
    }

    fn add_line(&mut self, text: &[u8]) {
        if let Some(tx) = self.current() {
            if tx.reply.len() < MAX_REPLY_LINES {
                tx.reply.push(truncated(text, MAX_FIELD));
            }
        }
    }

    /// A reply's last line. Returns true when the flow turns to TLS.
    fn end_reply(&mut self, code: u16, text: &[u8], out: &mut Out<'_>) -> bool {
        self.add_line(text);
        let Some(tx) = self.current() else {
            return false;
        };
        if tx.completion_code.len() < MAX_REPLIES {
            tx.completion_code.push(code);
        }
        match code {
            227 if tx.is(b"PASV") => {
                if let Some((addr, port)) = pasv_reply(text) {
                    let addr = if addr.is_unspecified() {
                        out.server().0
                    } else {
                        IpAddr::V4(addr)
                    };
                    announce(tx, addr, port, "passive", out);
                }
            }
            229 if tx.is(b"EPSV") => {
                if let Some(port) = epsv_reply(text) {
                    let addr = out.server().0;
                    announce(tx, addr, port, "passive", out);
                }
            }
            _ => {}
        }
        let tls = code == 234 && tx.is(b"AUTH");
        if self.in_greeting {
            if code != 120 {
                self.greeting_done = true;
                self.in_greeting = false;
                if let Some(tx) = self.greeting.take() {
                    self.log(tx, out);
                }
            }
        } else if code >= 200 || self.unsolicited {
            self.unsolicited = false;
            if let Some(tx) = self.open.pop_front() {
                self.log(tx, out);
            }
        }
        if tls {
            self.upgraded = true;
            self.finish(out);
            out.upgrade("tls");
        }
        tls
    }

    fn parse_server(&mut self, data: &[u8], out: &mut Out<'_>) -> usize {
        let mut at = 0;
        while at < data.len() && !self.upgraded {
            let (line, n) = match next_line(&data[at..], &mut self.skipping[1], MAX_LINE) {
                Step::Line(line, n) => (line, n),
                Step::Skip(n) => {
                    at += n;
                    continue;
                }
                Step::Wait => break,
            };
            at += n;
            let code = line
                .get(..3)
                .filter(|c| c.iter().all(u8::is_ascii_digit))
                .map(|c| c.iter().fold(0u16, |a, &d| a * 10 + u16::from(d - b'0')));
            let sep = line.get(3).copied();
            let text = line.get(4..).unwrap_or_default();
            match (self.multiline, code) {
                // Inside a multi-line reply: it ends on its own code and a space.
                (Some(m), Some(c)) if c == m && sep != Some(b'-') => {
                    self.multiline = None;
                    if self.end_reply(c, text, out) {
                        break;
                    }
                }
                (Some(_), Some(_)) if sep == Some(b'-') => self.add_line(text),
                (Some(_), _) => self.add_line(line),
                (None, Some(c)) if sep == Some(b'-') => {
                    self.multiline = Some(c);
                    self.begin_reply(c);
                    self.add_line(text);
                }
                (None, Some(c)) => {
                    self.begin_reply(c);
                    if self.end_reply(c, text, out) {
                        break;
                    }
                }
                // Not a reply: nothing to pair it with.
                (None, None) => {}
            }
        }
        at
    }

    fn parse_client(&mut self, data: &[u8], out: &mut Out<'_>) -> usize {
        let mut at = 0;
        while at < data.len() {
            match next_line(&data[at..], &mut self.skipping[0], MAX_LINE) {
                Step::Line(line, n) => {
                    at += n;
                    if !line.is_empty() {
                        self.command(line, out);
                    }
                }
                Step::Skip(n) => at += n,
                Step::Wait => break,
            }
        }
        at
    }
}

/// Records a data connection on `tx` and announces it.
fn announce(tx: &mut Tx, addr: IpAddr, port: u16, mode: &'static str, out: &mut Out<'_>) {
    tx.dynamic_port = Some(port);
    tx.mode = Some(mode);
    out.expect(Expectation {
        addr,
        port,
        app_proto: "ftp-data",
    });
}

impl Parser for FtpParser {
    fn parse(&mut self, dir: Dir, data: &[u8], out: &mut Out<'_>) -> usize {
        if self.upgraded {
            return data.len();
        }
        match dir {
            Dir::ToServer => self.parse_client(data, out),
            Dir::ToClient => self.parse_server(data, out),
        }
    }

    fn gap(&mut self, dir: Dir, _len: u64, _out: &mut Out<'_>) -> bool {
        self.skipping[dir.index()] = true;
        if dir == Dir::ToClient {
            self.multiline = None;
        }
        true
    }

    fn finish(&mut self, out: &mut Out<'_>) {
        if let Some(tx) = self.greeting.take() {
            self.log(tx, out);
        }
        while let Some(tx) = self.open.pop_front() {
            self.log(tx, out);
        }
    }
}
