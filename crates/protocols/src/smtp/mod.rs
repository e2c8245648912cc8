//! SMTP: the client's commands and the server's replies, line by line. A mail transaction runs
//! from MAIL FROM to the end of its DATA (or BDAT … LAST), or to RSET, QUIT or the end of the
//! flow; each is one `smtp` event: `smtp: {helo, mail_from, rcpt_to: [..], message_size,
//! starttls}` (names after Suricata's EVE; `message_size`, the bytes of the message as sent
//! between DATA and the final dot, is ours). The message itself is skipped as it streams by,
//! never buffered.
//!
//! When the server accepts STARTTLS (220), the parser logs what it has and hands the flow over
//! to TLS (`Out::upgrade`).

use std::collections::VecDeque;

use crate::parser::{Buffer, Dir, Out, Parser, Probe, ProbeInput, Transport};
use crate::text::{next_line, probe_greeting, probe_verbs, starts_ci, Step};
use crate::Builtin;

#[cfg(test)]
mod tests;

/// RFC 5321 §4.5.3.1 caps command lines at 512 bytes and text lines at 1000; 4 KiB leaves room
/// for long EHLO replies and extensions. Longer lines are skipped.
const MAX_LINE: usize = 4096;
/// Recipients kept per transaction (RFC 5321 §4.5.3.1.8 asks servers to take at least 100).
const MAX_RCPT: usize = 64;
/// Longest HELO / address kept.
const MAX_FIELD: usize = 1024;
/// Commands awaiting a reply (pipelining, RFC 2920).
const MAX_PENDING: usize = 64;
/// Ports where a greeting that names no protocol is taken for SMTP.
const PORTS: &[u16] = &[25, 587, 2525];

pub(crate) fn protocol() -> Builtin {
    Builtin {
        info: Builtin::info(
            "smtp",
            "Simple Mail Transfer Protocol: HELO, senders, recipients, STARTTLS",
            &[Transport::Tcp],
            PORTS,
            Some("smtp"),
        ),
        probe,
        parser: || Box::<SmtpParser>::default(),
    }
}

/// The server's greeting (`220 mx.example.com ESMTP`), or the client's EHLO / HELO.
fn probe(input: &ProbeInput<'_>) -> Probe {
    let d = input.data;
    match input.dir {
        Dir::ToServer => probe_verbs(d, &[&b"EHLO "[..], b"HELO "]),
        Dir::ToClient => {
            probe_greeting(d, &[b"SMTP", b"MAIL"], &[b"FTP"], input.server_port, PORTS)
        }
    }
}

fn truncated(v: &[u8]) -> Vec<u8> {
    v[..v.len().min(MAX_FIELD)].to_vec()
}

fn trim(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

/// The path of `MAIL FROM:<path> params` / `RCPT TO:<path> params`, as Suricata logs it:
/// after the colon, up to the first space.
fn path_arg(arg: &[u8], prefix: &[u8]) -> Option<Vec<u8>> {
    if !starts_ci(arg, prefix)? {
        return None;
    }
    let rest = trim(&arg[prefix.len()..]);
    let end = memchr::memchr(b' ', rest).unwrap_or(rest.len());
    Some(truncated(&rest[..end]))
}

/// Commands whose replies matter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmd {
    Data,
    /// The reply to a message's final dot.
    DataEnd,
    StartTls,
    Other,
}

/// What the client's bytes are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
enum ClientState {
    #[default]
    Commands,
    /// A DATA message up to `CRLF . CRLF`; `mid_line`: the bytes consumed so far ended inside
    /// a line (so the next bytes cannot start the final dot).
    Data { mid_line: bool },
    /// BDAT chunk bytes still to come; `last`: the chunk ends the message.
    Bdat { remaining: u64, last: bool },
}

/// One mail transaction.
#[derive(Default, Debug)]
struct Tx {
    mail_from: Option<Vec<u8>>,
    rcpt_to: Vec<Vec<u8>>,
    message_size: Option<u64>,
}

impl Tx {
    fn is_open(&self) -> bool {
        self.mail_from.is_some() || !self.rcpt_to.is_empty() || self.message_size.is_some()
    }
}

/// Follows one SMTP flow.
#[derive(Default)]
pub(crate) struct SmtpParser {
    helo: Option<Vec<u8>>,
    tx: Tx,
    tx_id: u64,
    logged: bool,
    starttls: bool,
    pending: VecDeque<Cmd>,
    client: ClientState,
    server_seen: bool,
    greeting_done: bool,
    /// Per direction: inside an over-long line.
    skipping: [bool; 2],
    /// Handed over to TLS: nothing more to read.
    upgraded: bool,
}

impl SmtpParser {
    fn log(&mut self, out: &mut Out<'_>) {
        let tx = std::mem::take(&mut self.tx);
        let (helo, starttls) = (&self.helo, self.starttls);
        // Detection's buffers are the event's fields (as in Suricata, whose `smtp.helo`,
        // `smtp.mail_from` and `smtp.rcpt_to` map to its EVE fields); the HELO goes with
        // every transaction of the session.
        if let Some(h) = helo {
            out.buffer(Dir::ToServer, Buffer::SmtpHelo, h);
        }
        if let Some(m) = &tx.mail_from {
            out.buffer(Dir::ToServer, Buffer::SmtpMailFrom, m);
        }
        for r in &tx.rcpt_to {
            out.buffer(Dir::ToServer, Buffer::SmtpRcptTo, r);
        }
        out.event("smtp", true, Some(self.tx_id), |w| {
            w.object("smtp");
            if let Some(h) = helo {
                w.bytes("helo", h);
            }
            if let Some(m) = &tx.mail_from {
                w.bytes("mail_from", m);
            }
            if !tx.rcpt_to.is_empty() {
                w.array("rcpt_to");
                for r in &tx.rcpt_to {
                    w.str_element(r);
                }
                w.end_array();
            }
            if let Some(n) = tx.message_size {
                w.u64("message_size", n);
            }
            if starttls {
                w.bool("starttls", true);
            }
            w.close();
        });
        self.tx_id += 1;
        self.logged = true;
    }

    /// Logs the open transaction, if any; with `session`, logs the HELO alone when nothing has
    /// been logged for the flow yet.
    fn close_tx(&mut self, session: bool, out: &mut Out<'_>) {
        if self.tx.is_open() || (session && !self.logged && self.helo.is_some()) {
            self.log(out);
        }
    }

    fn push(&mut self, cmd: Cmd) {
        if self.pending.len() >= MAX_PENDING {
            self.pending.pop_front();
        }
        self.pending.push_back(cmd);
    }

    fn command(&mut self, line: &[u8], out: &mut Out<'_>) {
        let (verb, arg) = match memchr::memchr(b' ', line) {
            Some(i) => (&line[..i], trim(&line[i + 1..])),
            None => (line, &[][..]),
        };
        let mut verb_buf = [0u8; 8];
        let n = verb.len().min(verb_buf.len());
        verb_buf[..n].copy_from_slice(&verb[..n]);
        verb_buf.make_ascii_uppercase();
        let verb = if verb.len() <= verb_buf.len() {
            &verb_buf[..n]
        } else {
            &b""[..]
        };
        let mut cmd = Cmd::Other;
        match verb {
            b"HELO" | b"EHLO" => self.helo = Some(truncated(arg)),
            b"MAIL" => {
                if self.tx.is_open() {
                    self.log(out);
                }
                self.tx.mail_from = path_arg(arg, b"FROM:");
            }
            b"RCPT" => {
                if let Some(to) = path_arg(arg, b"TO:") {
                    if self.tx.rcpt_to.len() < MAX_RCPT {
                        self.tx.rcpt_to.push(to);
                    }
                }
            }
            b"DATA" => {
                cmd = Cmd::Data;
                // With no server side in the capture, nobody will say 354: assume it.
                if !self.server_seen {
                    self.client = ClientState::Data { mid_line: false };
                }
            }
            b"BDAT" => {
                let mut words = arg.split(|&b| b == b' ').filter(|w| !w.is_empty());
                let size = words
                    .next()
                    .and_then(|w| std::str::from_utf8(w).ok())
                    .and_then(|w| w.parse::<u64>().ok());
                let last = words
                    .next()
                    .is_some_and(|w| w.eq_ignore_ascii_case(b"LAST"));
                if let Some(remaining) = size {
                    self.client = ClientState::Bdat { remaining, last };
                    self.tx.message_size = Some(self.tx.message_size.unwrap_or(0));
                }
            }
            b"STARTTLS" => cmd = Cmd::StartTls,
            b"RSET" => self.close_tx(false, out),
            b"QUIT" => self.close_tx(true, out),
            _ => {}
        }
        self.push(cmd);
    }

    /// A whole reply (its last line's code). Returns true when the flow turns to TLS.
    fn reply(&mut self, code: u16, out: &mut Out<'_>) -> bool {
        if !self.greeting_done {
            self.greeting_done = true;
            if matches!(code, 220 | 421 | 554) {
                return false;
            }
        }
        match self.pending.pop_front() {
            Some(Cmd::Data) if code == 354 && self.client == ClientState::Commands => {
                self.client = ClientState::Data { mid_line: false };
            }
            Some(Cmd::StartTls) if code == 220 => {
                self.starttls = true;
                self.close_tx(true, out);
                if !self.logged {
                    self.log(out);
                }
                self.upgraded = true;
                out.upgrade("tls");
                return true;
            }
            _ => {}
        }
        false
    }

    /// Message bytes of a DATA transaction: returns bytes consumed.
    fn data(&mut self, data: &[u8], mut mid_line: bool, out: &mut Out<'_>) -> usize {
        let mut at = 0;
        while at < data.len() {
            let rest = &data[at..];
            let Some(i) = memchr::memchr(b'\n', rest) else {
                // Keep a possible start of the final dot for the next bytes.
                if !mid_line && rest.len() <= 2 && b".\r".starts_with(rest) {
                    break;
                }
                at = data.len();
                mid_line = true;
                break;
            };
            let line = &rest[..i];
            if !mid_line && (line == b"." || line == b".\r") {
                self.add_size(at as u64);
                self.client = ClientState::Commands;
                self.push(Cmd::DataEnd);
                self.log(out);
                return at + i + 1;
            }
            at += i + 1;
            mid_line = false;
        }
        self.add_size(at as u64);
        self.client = ClientState::Data { mid_line };
        at
    }

    fn add_size(&mut self, n: u64) {
        self.tx.message_size = Some(self.tx.message_size.unwrap_or(0).saturating_add(n));
    }

    fn parse_client(&mut self, data: &[u8], out: &mut Out<'_>) -> usize {
        let mut at = 0;
        while at < data.len() && !self.upgraded {
            let rest = &data[at..];
            match self.client {
                ClientState::Data { mid_line } => {
                    let n = self.data(rest, mid_line, out);
                    if n == 0 {
                        break;
                    }
                    at += n;
                }
                ClientState::Bdat { remaining, last } => {
                    let n = remaining.min(rest.len() as u64);
                    self.add_size(n);
                    at += n as usize;
                    let remaining = remaining - n;
                    if remaining == 0 {
                        self.client = ClientState::Commands;
                        if last {
                            self.log(out);
                        }
                    } else {
                        self.client = ClientState::Bdat { remaining, last };
                    }
                }
                ClientState::Commands => match next_line(rest, &mut self.skipping[0], MAX_LINE) {
                    Step::Line(line, n) => {
                        at += n;
                        self.command(line, out);
                    }
                    Step::Skip(n) => at += n,
                    Step::Wait => break,
                },
            }
        }
        at
    }

    fn parse_server(&mut self, data: &[u8], out: &mut Out<'_>) -> usize {
        self.server_seen = true;
        let mut at = 0;
        while at < data.len() && !self.upgraded {
            match next_line(&data[at..], &mut self.skipping[1], MAX_LINE) {
                Step::Line(line, n) => {
                    at += n;
                    let code = line
                        .get(..3)
                        .filter(|c| c.iter().all(u8::is_ascii_digit))
                        .map(|c| c.iter().fold(0u16, |a, &d| a * 10 + u16::from(d - b'0')));
                    let last = line.get(3) != Some(&b'-');
                    if let (Some(code), true) = (code, last) {
                        if self.reply(code, out) {
                            break;
                        }
                    }
                }
                Step::Skip(n) => at += n,
                Step::Wait => break,
            }
        }
        at
    }
}

impl Parser for SmtpParser {
    fn parse(&mut self, dir: Dir, data: &[u8], out: &mut Out<'_>) -> usize {
        if self.upgraded {
            return data.len();
        }
        match dir {
            Dir::ToServer => self.parse_client(data, out),
            Dir::ToClient => self.parse_server(data, out),
        }
    }

    fn gap(&mut self, dir: Dir, len: u64, _out: &mut Out<'_>) -> bool {
        match (dir, self.client) {
            (Dir::ToServer, ClientState::Data { .. }) => {
                self.add_size(len);
                self.client = ClientState::Data { mid_line: true };
            }
            (Dir::ToServer, ClientState::Bdat { remaining, last }) => {
                self.add_size(len.min(remaining));
                let left = remaining.saturating_sub(len);
                // Past the chunk's end the gap swallowed commands too: resync on a line.
                self.client = if left == 0 {
                    self.skipping[0] = len > remaining;
                    ClientState::Commands
                } else {
                    ClientState::Bdat {
                        remaining: left,
                        last,
                    }
                };
            }
            (Dir::ToServer, ClientState::Commands) => self.skipping[0] = true,
            (Dir::ToClient, _) => {
                // Replies lost: which command each later reply answers is unknown.
                self.skipping[1] = true;
                self.pending.clear();
            }
        }
        true
    }

    fn finish(&mut self, out: &mut Out<'_>) {
        if !self.upgraded {
            self.close_tx(true, out);
        }
    }
}
