//! MQTT 3.1, 3.1.1 and 5 (TCP 1883): connections, publishes and subscriptions, as Suricata's
//! EVE has them: `mqtt: {connect: {…}, connack: {…}}`, `mqtt: {publish: {…}}`,
//! `mqtt: {subscribe: {…, topics: [{topic, qos}]}, suback: {…, message_id, qos_granted}}`,
//! `mqtt: {unsubscribe: {…, topics: [topic]}, unsuback: {…, message_id}}`.
//! Passwords are not logged (`connect.flags.password` says one was sent).
//!
//! Each message's first bytes are read (at most [`MAX_LOOK`]); the rest of a large PUBLISH is
//! skipped as it streams by.

use std::collections::VecDeque;

use crate::framing::Frames;
use crate::parser::{Dir, Out, Parser, Probe, ProbeInput, Transport};
use crate::Builtin;

#[cfg(test)]
mod tests;

/// Bytes of a message read; topics, ids and the logged start of a payload sit inside it.
const MAX_LOOK: usize = 4096;
/// Longest topic, client id or user name kept.
const MAX_FIELD: usize = 1024;
/// Bytes of a PUBLISH payload logged.
const MAX_MESSAGE: usize = 1024;
/// Topics kept per SUBSCRIBE / UNSUBSCRIBE, and codes per SUBACK.
const MAX_TOPICS: usize = 64;
/// Subscriptions awaiting their acknowledgement.
const MAX_PENDING: usize = 32;
/// Events written per flow: a chatty device publishes all day on one connection.
const MAX_EVENTS: u64 = 4096;

const CONNECT: u8 = 1;
const CONNACK: u8 = 2;
const PUBLISH: u8 = 3;
const SUBSCRIBE: u8 = 8;
const SUBACK: u8 = 9;
const UNSUBSCRIBE: u8 = 10;
const UNSUBACK: u8 = 11;

pub(crate) fn protocol() -> Builtin {
    Builtin {
        info: Builtin::info(
            "mqtt",
            "MQTT publish/subscribe messaging: clients, topics, subscriptions",
            &[Transport::Tcp],
            &[1883],
            Some("mqtt"),
        ),
        probe,
        parser: || Box::<MqttParser>::default(),
    }
}

/// The remaining-length varint at the start of `d`: `Some(Ok((value, bytes)))`, `None` when
/// more bytes are needed, `Some(Err(()))` when malformed (over 4 bytes).
fn varint(d: &[u8]) -> Option<Result<(usize, usize), ()>> {
    let mut v = 0usize;
    for i in 0..4 {
        let b = *d.get(i)?;
        v |= usize::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some(Ok((v, i + 1)));
        }
    }
    Some(Err(()))
}

/// A CONNECT with the protocol name `MQTT` (3.1.1, 5) or `MQIsdp` (3.1) and a known level.
fn probe(input: &ProbeInput<'_>) -> Probe {
    let d = input.data;
    if input.dir != Dir::ToServer {
        return Probe::NoMatch;
    }
    match d.first() {
        None => return Probe::NeedMore,
        Some(&0x10) => {}
        Some(_) => return Probe::NoMatch,
    }
    let (len, h) = match varint(&d[1..]) {
        None => return Probe::NeedMore,
        Some(Err(())) => return Probe::NoMatch,
        Some(Ok((len, n))) => (len, 1 + n),
    };
    let body = &d[h..];
    for (name, levels) in [
        (&b"\x00\x04MQTT"[..], &[4u8, 5][..]),
        (b"\x00\x06MQIsdp", &[3]),
    ] {
        let n = body.len().min(name.len());
        if body[..n] != name[..n] {
            continue;
        }
        // Name, level, flags, keep-alive, and a client id length at least.
        if len < name.len() + 6 {
            return Probe::NoMatch;
        }
        return match body.get(name.len()) {
            None => Probe::NeedMore,
            Some(level) if levels.contains(level) => Probe::Match,
            Some(_) => Probe::NoMatch,
        };
    }
    Probe::NoMatch
}

/// Reads the fields of one message body, front to back.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    fn u16(&mut self) -> Option<u16> {
        let v = self.0.get(..2)?;
        let v = u16::from_be_bytes([v[0], v[1]]);
        self.0 = &self.0[2..];
        Some(v)
    }

    /// A length-prefixed string or binary field.
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let len = usize::from(self.u16()?);
        let v = self.0.get(..len)?;
        self.0 = &self.0[len..];
        Some(v)
    }

    /// MQTT 5 properties: skipped.
    fn properties(&mut self) -> Option<()> {
        let Ok((len, n)) = varint(self.0)? else {
            return None;
        };
        self.0 = self.0.get(n.checked_add(len)?..)?;
        Some(())
    }
}

fn truncated(v: &[u8]) -> Vec<u8> {
    v[..v.len().min(MAX_FIELD)].to_vec()
}

/// The fixed header's flag bits, logged with every message.
#[derive(Clone, Copy, Debug, Default)]
struct Fixed {
    qos: u8,
    retain: bool,
    dup: bool,
}

impl Fixed {
    fn from(b: u8) -> Fixed {
        Fixed {
            qos: (b >> 1) & 3,
            retain: b & 1 != 0,
            dup: b & 8 != 0,
        }
    }

    fn write(&self, w: &mut nta_event::JsonOut<'_>) {
        w.u64("qos", u64::from(self.qos));
        w.bool("retain", self.retain);
        w.bool("dup", self.dup);
    }
}

#[derive(Debug, Default)]
struct Connect {
    fixed: Fixed,
    protocol_string: Vec<u8>,
    protocol_version: u8,
    flags: u8,
    client_id: Vec<u8>,
    username: Option<Vec<u8>>,
}

/// A SUBSCRIBE or UNSUBSCRIBE waiting for its acknowledgement.
#[derive(Debug)]
struct Subscription {
    unsubscribe: bool,
    fixed: Fixed,
    message_id: u16,
    topics: Vec<(Vec<u8>, Option<u8>)>,
}

/// Follows one MQTT connection.
#[derive(Default)]
pub(crate) struct MqttParser {
    /// Frame skipping and lost framing, per direction.
    frames: Frames,
    /// Protocol level from the CONNECT (properties exist from 5 on).
    version: u8,
    connect: Option<Connect>,
    pending: VecDeque<Subscription>,
    tx_id: u64,
}

impl MqttParser {
    fn v5(&self) -> bool {
        self.version >= 5
    }

    fn event(
        &mut self,
        out: &mut Out<'_>,
        to_server: bool,
        write: impl FnOnce(&mut nta_event::JsonOut<'_>),
    ) {
        if self.tx_id >= MAX_EVENTS {
            return;
        }
        out.event("mqtt", to_server, Some(self.tx_id), |w| {
            w.object("mqtt");
            write(w);
            w.close();
        });
        self.tx_id += 1;
    }

    fn log_connect(&mut self, connack: Option<(Fixed, bool, u8)>, out: &mut Out<'_>) {
        let c = self.connect.take();
        self.event(out, true, |w| {
            if let Some(c) = &c {
                w.object("connect");
                c.fixed.write(w);
                w.bytes("protocol_string", &c.protocol_string);
                w.u64("protocol_version", u64::from(c.protocol_version));
                w.object("flags");
                w.bool("username", c.flags & 0x80 != 0);
                w.bool("password", c.flags & 0x40 != 0);
                w.bool("will_retain", c.flags & 0x20 != 0);
                w.bool("will", c.flags & 0x04 != 0);
                w.bool("clean_session", c.flags & 0x02 != 0);
                w.close();
                w.bytes("client_id", &c.client_id);
                if let Some(u) = &c.username {
                    w.bytes("username", u);
                }
                w.close();
            }
            if let Some((fixed, session_present, code)) = connack {
                w.object("connack");
                fixed.write(w);
                w.bool("session_present", session_present);
                w.u64("return_code", u64::from(code));
                w.close();
            }
        });
    }

    fn log_subscription(
        &mut self,
        s: Option<Subscription>,
        ack: Option<(Fixed, u16, Vec<u8>)>,
        out: &mut Out<'_>,
    ) {
        let unsubscribe = s.as_ref().is_some_and(|s| s.unsubscribe);
        let ack_kind = if unsubscribe { "unsuback" } else { "suback" };
        self.event(out, true, |w| {
            if let Some(s) = &s {
                w.object(if s.unsubscribe {
                    "unsubscribe"
                } else {
                    "subscribe"
                });
                s.fixed.write(w);
                w.u64("message_id", u64::from(s.message_id));
                // As Suricata: `{topic, qos}` objects for SUBSCRIBE, plain topic strings for
                // UNSUBSCRIBE (which has no QoS).
                w.array("topics");
                for (topic, qos) in &s.topics {
                    if s.unsubscribe {
                        w.str_element(topic);
                        continue;
                    }
                    w.element();
                    w.open();
                    w.bytes("topic", topic);
                    if let Some(q) = qos {
                        w.u64("qos", u64::from(*q));
                    }
                    w.close();
                }
                w.end_array();
                w.close();
            }
            if let Some((fixed, message_id, codes)) = &ack {
                w.object(ack_kind);
                fixed.write(w);
                w.u64("message_id", u64::from(*message_id));
                if !unsubscribe || !codes.is_empty() {
                    w.array(if unsubscribe {
                        "reason_codes"
                    } else {
                        "qos_granted"
                    });
                    for c in codes {
                        w.u64_element(u64::from(*c));
                    }
                    w.end_array();
                }
                w.close();
            }
        });
    }

    /// One message: `kind` and `flags` from its first byte, `body` its first bytes.
    fn message(&mut self, dir: Dir, first: u8, body: &[u8], out: &mut Out<'_>) -> Option<()> {
        let fixed = Fixed::from(first);
        let mut r = Reader(body);
        match first >> 4 {
            CONNECT if dir == Dir::ToServer => {
                let protocol_string = truncated(r.bytes()?);
                let version = r.u8()?;
                self.version = version;
                let flags = r.u8()?;
                let _keep_alive = r.u16()?;
                if self.v5() {
                    r.properties()?;
                }
                let client_id = truncated(r.bytes()?);
                let mut c = Connect {
                    fixed,
                    protocol_string,
                    protocol_version: version,
                    flags,
                    client_id,
                    username: None,
                };
                if flags & 0x04 != 0 {
                    if self.v5() {
                        r.properties()?;
                    }
                    let _will_topic = r.bytes()?;
                    let _will_payload = r.bytes()?;
                }
                if flags & 0x80 != 0 {
                    c.username = r.bytes().map(truncated);
                }
                if self.connect.is_some() {
                    self.log_connect(None, out);
                }
                self.connect = Some(c);
            }
            CONNACK if dir == Dir::ToClient => {
                let ack_flags = r.u8()?;
                let code = r.u8()?;
                self.log_connect(Some((fixed, ack_flags & 1 != 0, code)), out);
            }
            PUBLISH => {
                let topic = r.bytes()?;
                let message_id = if fixed.qos > 0 { Some(r.u16()?) } else { None };
                if self.v5() {
                    r.properties()?;
                }
                let message = &r.0[..r.0.len().min(MAX_MESSAGE)];
                let topic = &topic[..topic.len().min(MAX_FIELD)];
                self.event(out, dir == Dir::ToServer, |w| {
                    w.object("publish");
                    fixed.write(w);
                    w.bytes("topic", topic);
                    if let Some(id) = message_id {
                        w.u64("message_id", u64::from(id));
                    }
                    w.bytes("message", message);
                    w.close();
                });
            }
            SUBSCRIBE | UNSUBSCRIBE if dir == Dir::ToServer => {
                let unsubscribe = first >> 4 == UNSUBSCRIBE;
                let message_id = r.u16()?;
                if self.v5() {
                    r.properties()?;
                }
                let mut topics = Vec::new();
                while topics.len() < MAX_TOPICS {
                    let Some(t) = r.bytes() else { break };
                    let qos = if unsubscribe {
                        None
                    } else {
                        r.u8().map(|o| o & 3)
                    };
                    topics.push((truncated(t), qos));
                }
                if self.pending.len() >= MAX_PENDING {
                    let old = self.pending.pop_front();
                    self.log_subscription(old, None, out);
                }
                self.pending.push_back(Subscription {
                    unsubscribe,
                    fixed,
                    message_id,
                    topics,
                });
            }
            SUBACK | UNSUBACK if dir == Dir::ToClient => {
                let unsubscribe = first >> 4 == UNSUBACK;
                let message_id = r.u16()?;
                if self.v5() {
                    r.properties()?;
                }
                let codes = r.0[..r.0.len().min(MAX_TOPICS)].to_vec();
                let i = self
                    .pending
                    .iter()
                    .position(|s| s.message_id == message_id && s.unsubscribe == unsubscribe);
                let s = i.and_then(|i| self.pending.remove(i));
                if s.is_some() {
                    self.log_subscription(s, Some((fixed, message_id, codes)), out);
                }
            }
            _ => {}
        }
        Some(())
    }
}

impl Parser for MqttParser {
    fn parse(&mut self, dir: Dir, data: &[u8], out: &mut Out<'_>) -> usize {
        let d = dir.index();
        let mut at = 0;
        while at < data.len() && !self.frames.dead[d] {
            let rest = &data[at..];
            if self.frames.skip[d] > 0 {
                at += self.frames.skip_bytes(d, rest.len());
                continue;
            }
            let (len, n) = match varint(&rest[1..]) {
                None => break,
                Some(Err(())) => {
                    self.frames.dead[d] = true;
                    break;
                }
                Some(Ok(v)) => v,
            };
            let head = 1 + n;
            let total = head + len;
            let want = total.min(head + MAX_LOOK);
            let Some(body) = rest.get(head..want) else {
                break;
            };
            let _ = self.message(dir, rest[0], body, out);
            at += want;
            self.frames.skip[d] = total - want;
        }
        self.frames.consumed(d, at, data.len())
    }

    fn gap(&mut self, dir: Dir, len: u64, _out: &mut Out<'_>) -> bool {
        // A gap inside a frame being skipped costs nothing; elsewhere the framing is lost.
        self.frames.gap(dir.index(), len)
    }

    fn finish(&mut self, out: &mut Out<'_>) {
        if self.connect.is_some() {
            self.log_connect(None, out);
        }
        while let Some(s) = self.pending.pop_front() {
            self.log_subscription(Some(s), None, out);
        }
    }
}
