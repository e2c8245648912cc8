//! Running a definition over a flow: cutting the TCP stream into messages (the framing), and
//! decoding each message's fields into a `custom` event.
//!
//! While detection inspects the flow, every field logged is also handed over as the buffer
//! `custom.<protocol>.<field>` (a dotted path inside groups, one instance per group entry),
//! in the message's direction: integers and bit fields as decimal text, named values as
//! their name (and `<field>_code` as decimal text), strings and bytes as the raw bytes.
//!
//! Safety contract: every read of message bytes goes through [`Cursor::take`] or
//! [`Cursor::take_len`], which check the bounds; lengths and counts taken off the wire are
//! checked before use, and every loop consumes bytes or ends.

use std::ops::Range;
use std::sync::Arc;

use memchr::memmem;
use nta_event::JsonOut;

use super::definition::{Definition, Endian, Framing};
use super::fields::{Count, Field, Kind, Len};
use super::{MAX_GROUP_ENTRIES, MAX_LOGGED_BYTES, MAX_MESSAGES, MAX_MESSAGE_ENTRIES};
use crate::parser::{Buffer, Dir, Out, Parser, Transport, MAX_BUFFER_LEN};

/// The length-field framing's verdict on the start of a stream.
enum Header {
    /// The header has not all arrived.
    Short,
    /// The message's whole length.
    Length(usize),
    /// A length that cannot be: shorter than its own header, or over `max_message`.
    Bad,
}

fn length_header(def: &Definition, data: &[u8]) -> Header {
    let Framing::Length {
        offset,
        size,
        endian,
        adjust,
    } = def.framing
    else {
        return Header::Bad;
    };
    let Some(end) = offset.checked_add(size) else {
        return Header::Bad;
    };
    let Some(field) = data.get(offset..end) else {
        return Header::Short;
    };
    let total = i128::from(read_uint(field, endian)) + i128::from(adjust);
    if total < end as i128 || total > def.max_message as i128 {
        return Header::Bad;
    }
    Header::Length(total as usize)
}

/// Whether the first bytes of a direction could start a stream of this framing (the probe
/// rejects a stream whose first length field is impossible).
pub(super) fn plausible(def: &Definition, data: &[u8]) -> bool {
    match &def.framing {
        Framing::Length { .. } => !matches!(length_header(def, data), Header::Bad),
        Framing::Delimiter(d) => {
            let limit = def.max_message.saturating_add(d.len());
            data.len() < limit || memmem::find(data.get(..limit).unwrap_or(data), d).is_some()
        }
        Framing::Fixed(_) | Framing::Datagram => true,
    }
}

/// Where the message at the start of the bytes ends.
enum Cut {
    /// A whole message: its body (what the fields decode) and what it takes of the stream
    /// (the body and its delimiter).
    Message { body: usize, total: usize },
    /// Not all there yet.
    Incomplete,
    /// The stream cannot be this protocol from here on.
    Bad,
}

/// Parses one flow of a user-defined protocol.
pub(super) struct CustomParser {
    def: Arc<Definition>,
    /// Messages seen (the next one's `tx_id`).
    messages: u64,
    /// Parsing ended: a bad length, an oversized message, too many messages, or a gap the
    /// framing cannot recover from. Everything is consumed unread.
    stopped: bool,
    /// Per direction, after a gap (delimiter framing): skip to past the next delimiter.
    resync: [bool; 2],
    /// Per direction (delimiter framing): how much of the pending message was already
    /// searched for the delimiter, so a message arriving in many segments is searched once.
    scanned: [usize; 2],
    /// Integer values of the message being decoded, for references.
    slots: Vec<Option<i128>>,
    /// While detection inspects the flow: the message's event members, written before the
    /// event so that its buffers can be handed over first, and those buffers.
    json: Vec<u8>,
    kept: Kept,
}

/// The fields of one message kept for detection.
#[derive(Debug, Default)]
struct Kept {
    /// The group path being decoded (`items.sub.`), empty at the message's level.
    prefix: String,
    /// Each field's path and its bytes in `data`.
    fields: Vec<(String, Range<usize>)>,
    data: Vec<u8>,
}

impl Kept {
    fn clear(&mut self) {
        self.prefix.clear();
        self.fields.clear();
        self.data.clear();
    }

    fn add(&mut self, name: &str, value: &[u8]) {
        let value = value.get(..MAX_BUFFER_LEN).unwrap_or(value);
        let start = self.data.len();
        self.data.extend_from_slice(value);
        let mut path = String::with_capacity(self.prefix.len() + name.len());
        path.push_str(&self.prefix);
        path.push_str(name);
        self.fields.push((path, start..self.data.len()));
    }

    fn add_int(&mut self, name: &str, v: i128) {
        self.add(name, itoa::Buffer::new().format(v).as_bytes());
    }
}

impl CustomParser {
    pub(super) fn new(def: Arc<Definition>) -> Self {
        let slots = vec![None; def.slots];
        CustomParser {
            def,
            messages: 0,
            stopped: false,
            resync: [false; 2],
            scanned: [0; 2],
            slots,
            json: Vec::new(),
            kept: Kept::default(),
        }
    }

    fn cut(&mut self, dir: Dir, data: &[u8]) -> Cut {
        let whole = |n: usize| {
            if data.len() >= n {
                Cut::Message { body: n, total: n }
            } else {
                Cut::Incomplete
            }
        };
        match &self.def.framing {
            Framing::Datagram => whole(data.len()),
            Framing::Fixed(n) => whole(*n),
            Framing::Length { .. } => match length_header(&self.def, data) {
                Header::Short => Cut::Incomplete,
                Header::Bad => Cut::Bad,
                Header::Length(n) => whole(n),
            },
            Framing::Delimiter(d) => {
                let i = dir.index();
                let limit = data.len().min(self.def.max_message.saturating_add(d.len()));
                let from = self.scanned[i].min(limit);
                if let Some(p) = data.get(from..limit).and_then(|s| memmem::find(s, d)) {
                    self.scanned[i] = 0;
                    let body = from + p;
                    return Cut::Message {
                        body,
                        total: body + d.len(),
                    };
                }
                if data.len() >= self.def.max_message.saturating_add(d.len()) {
                    return Cut::Bad;
                }
                // A delimiter may be cut in two: search its first bytes again next time.
                self.scanned[i] = data.len().saturating_sub(d.len().saturating_sub(1));
                Cut::Incomplete
            }
        }
    }

    fn message(&mut self, dir: Dir, body: &[u8], out: &mut Out<'_>) {
        if self.messages >= MAX_MESSAGES {
            self.stopped = true;
            return;
        }
        let tx = self.messages;
        self.messages += 1;
        if !out.logging() && !out.inspecting() {
            return;
        }
        let def = &*self.def;
        let slots = &mut self.slots;
        let to_server = dir == Dir::ToServer;
        if !out.inspecting() {
            out.event("custom", to_server, Some(tx), |w| {
                write_message(def, dir, body, slots, w, None)
            });
            return;
        }
        // Decoded once: the event's members go to a scratch buffer while the fields are
        // kept, the fields are handed over, then the members are spliced into the event.
        self.json.clear();
        self.kept.clear();
        let mut w = JsonOut::members(&mut self.json);
        write_message(def, dir, body, slots, &mut w, Some(&mut self.kept));
        for (field, range) in &self.kept.fields {
            let buffer = Buffer::Custom {
                protocol: def.name.clone(),
                field: field.clone(),
            };
            out.buffer(
                dir,
                buffer,
                self.kept.data.get(range.clone()).unwrap_or_default(),
            );
        }
        let json = &self.json;
        out.event("custom", to_server, Some(tx), |w| w.raw_members(json));
        // A large message's scratch space is not held on to.
        if self.json.capacity() > MAX_BUFFER_LEN {
            self.json = Vec::new();
        }
        if self.kept.data.capacity() > MAX_BUFFER_LEN {
            self.kept = Kept::default();
        }
    }
}

impl Parser for CustomParser {
    fn parse(&mut self, dir: Dir, data: &[u8], out: &mut Out<'_>) -> usize {
        if self.stopped {
            return data.len();
        }
        if self.def.transport == Transport::Udp {
            // An oversized datagram is skipped, the next one may be fine.
            if data.len() <= self.def.max_message {
                self.message(dir, data, out);
            }
            return data.len();
        }
        let mut at = 0;
        let i = dir.index();
        if self.resync[i] {
            if let Framing::Delimiter(d) = &self.def.framing {
                match memmem::find(data, d) {
                    Some(p) => {
                        at = p + d.len();
                        self.resync[i] = false;
                    }
                    // Keep what may be the start of a delimiter.
                    None => return data.len().saturating_sub(d.len().saturating_sub(1)),
                }
            }
        }
        while let Some(rest) = data.get(at..).filter(|r| !r.is_empty()) {
            match self.cut(dir, rest) {
                Cut::Message { body, total } => {
                    self.message(dir, rest.get(..body).unwrap_or_default(), out);
                    at += total;
                    if self.stopped {
                        return data.len();
                    }
                }
                Cut::Incomplete => break,
                Cut::Bad => {
                    self.stopped = true;
                    return data.len();
                }
            }
        }
        at
    }

    fn gap(&mut self, dir: Dir, _len: u64, _out: &mut Out<'_>) -> bool {
        // Only a delimiter can be found again after missing bytes; a length or a fixed size
        // would be counted from an unknown place.
        if !self.stopped && matches!(self.def.framing, Framing::Delimiter(_)) {
            self.resync[dir.index()] = true;
            self.scanned[dir.index()] = 0;
            return true;
        }
        self.stopped = true;
        false
    }
}

/// The message was shorter than its fields.
struct Short;

/// A message being decoded.
struct Cursor<'a, 's> {
    dir: Dir,
    body: &'a [u8],
    pos: usize,
    slots: &'s mut [Option<i128>],
    /// Group entries logged so far in this message.
    entries: usize,
}

impl<'a> Cursor<'a, '_> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Short> {
        let end = self.pos.checked_add(n).ok_or(Short)?;
        let v = self.body.get(self.pos..end).ok_or(Short)?;
        self.pos = end;
        Ok(v)
    }

    fn slot(&self, slot: usize) -> Option<i128> {
        self.slots.get(slot).copied().flatten()
    }

    fn set(&mut self, slot: usize, v: i128) {
        if let Some(s) = self.slots.get_mut(slot) {
            *s = Some(v);
        }
    }

    fn take_len(&mut self, len: &Len) -> Result<&'a [u8], Short> {
        match len {
            Len::Fixed(n) => self.take(*n),
            // A referenced field that was not decoded (its condition did not hold) counts as 0.
            Len::From(slot) => {
                let n = usize::try_from(self.slot(*slot).unwrap_or(0)).map_err(|_| Short)?;
                self.take(n)
            }
            Len::Rest => self.take(self.body.len().saturating_sub(self.pos)),
            Len::Delimiter(d) => {
                let rest = self.body.get(self.pos..).unwrap_or_default();
                match memmem::find(rest, d) {
                    Some(p) => {
                        self.pos = self.pos.saturating_add(p + d.len());
                        Ok(rest.get(..p).unwrap_or_default())
                    }
                    // No delimiter: the string runs to the end of the message.
                    None => {
                        self.pos = self.body.len();
                        Ok(rest)
                    }
                }
            }
        }
    }
}

/// Writes the message's `custom` member to `w`, and keeps its fields in `kept` when given.
fn write_message(
    def: &Definition,
    dir: Dir,
    body: &[u8],
    slots: &mut Vec<Option<i128>>,
    w: &mut JsonOut<'_>,
    kept: Option<&mut Kept>,
) {
    slots.clear();
    slots.resize(def.slots, None);
    w.object("custom");
    w.str("protocol", &def.name);
    let mut c = Cursor {
        dir,
        body,
        pos: 0,
        slots,
        entries: 0,
    };
    if decode_fields(&def.fields, &mut c, Some(&mut *w), kept).is_err() {
        w.bool("truncated", true);
    }
    w.close();
}

/// Decodes one level of fields (the message's, or one entry of a group), writing them when
/// `w` is given and keeping them when `k` is.
fn decode_fields(
    fields: &[Field],
    c: &mut Cursor<'_, '_>,
    mut w: Option<&mut JsonOut<'_>>,
    mut k: Option<&mut Kept>,
) -> Result<(), Short> {
    // Alternatives (fields sharing a name) already decoded, by the index of the first one.
    let mut done = 0u64;
    for f in fields {
        let alt = 1u64.checked_shl(f.alt_of as u32).unwrap_or(0);
        if done & alt != 0 || f.direction.is_some_and(|d| d != c.dir) {
            continue;
        }
        let holds = f
            .when
            .iter()
            .all(|(slot, allowed)| c.slot(*slot).is_some_and(|v| allowed.contains(&v)));
        if !holds {
            continue;
        }
        done |= alt;
        decode_field(f, c, w.as_deref_mut(), k.as_deref_mut())?;
    }
    Ok(())
}

fn decode_field(
    f: &Field,
    c: &mut Cursor<'_, '_>,
    mut w: Option<&mut JsonOut<'_>>,
    mut k: Option<&mut Kept>,
) -> Result<(), Short> {
    match &f.kind {
        Kind::Int(i) => {
            let raw = read_uint(c.take(i.size)?, i.endian);
            let v = if i.signed {
                i128::from(sign_extend(raw, i.size))
            } else {
                i128::from(raw)
            };
            c.set(i.slot, v);
            let named = !i.values.is_empty();
            let label = i
                .values
                .binary_search_by_key(&v, |(n, _)| *n)
                .ok()
                .and_then(|at| i.values.get(at))
                .map(|(_, s)| s.as_str());
            if let Some(w) = w.as_deref_mut() {
                if named {
                    match label {
                        Some(s) => w.str(&f.name, s),
                        None => w.str(&f.name, &v.to_string()),
                    }
                    write_int(w, &i.code_name, v);
                } else {
                    write_int(w, &f.name, v);
                }
            }
            if let Some(k) = k.as_deref_mut() {
                match label {
                    Some(s) => k.add(&f.name, s.as_bytes()),
                    None => k.add_int(&f.name, v),
                }
                if named {
                    k.add_int(&i.code_name, v);
                }
            }
            for b in &i.bits {
                let bv = (raw & b.mask) >> b.shift;
                c.set(b.slot, i128::from(bv));
                if let Some(w) = w.as_deref_mut() {
                    w.u64(&b.name, bv);
                }
                if let Some(k) = k.as_deref_mut() {
                    k.add_int(&b.name, i128::from(bv));
                }
            }
        }
        Kind::Bytes(len) => {
            let v = c.take_len(len)?;
            if let Some(w) = w {
                w.plain(&f.name, &hex(v.get(..MAX_LOGGED_BYTES).unwrap_or(v)));
            }
            if let Some(k) = k {
                k.add(&f.name, v);
            }
        }
        Kind::Str(len) => {
            let v = c.take_len(len)?;
            if let Some(w) = w {
                w.bytes(&f.name, v.get(..MAX_LOGGED_BYTES).unwrap_or(v));
            }
            if let Some(k) = k {
                k.add(&f.name, v);
            }
        }
        Kind::Skip(len) => {
            c.take_len(len)?;
        }
        Kind::Group {
            count,
            fields,
            slots,
        } => {
            let n = match count {
                Count::Fixed(n) => *n,
                Count::From(slot) => c.slot(*slot).map_or(0, |v| u64::try_from(v).unwrap_or(0)),
                Count::UntilEnd => u64::MAX,
            };
            if let Some(w) = w.as_deref_mut() {
                w.array(&f.name);
            }
            let mut result = Ok(());
            let mut i = 0u64;
            while i < n {
                if matches!(count, Count::UntilEnd) && c.pos >= c.body.len() {
                    break;
                }
                let start = c.pos;
                for s in c.slots.get_mut(slots.clone()).unwrap_or_default() {
                    *s = None;
                }
                // Entries past the cap are decoded (what follows the group depends on them)
                // but not logged.
                let logged = i < MAX_GROUP_ENTRIES as u64 && c.entries < MAX_MESSAGE_ENTRIES;
                let (mut ew, mut ek) = if logged {
                    c.entries += 1;
                    (w.as_deref_mut(), k.as_deref_mut())
                } else {
                    (None, None)
                };
                if let Some(ew) = ew.as_deref_mut() {
                    ew.element();
                    ew.open();
                }
                // The entry's fields are kept under `<group>.`.
                let outer = ek.as_deref().map_or(0, |k| k.prefix.len());
                if let Some(ek) = ek.as_deref_mut() {
                    ek.prefix.push_str(&f.name);
                    ek.prefix.push('.');
                }
                let r = decode_fields(fields, c, ew.as_deref_mut(), ek.as_deref_mut());
                if let Some(ek) = ek {
                    ek.prefix.truncate(outer);
                }
                if let Some(ew) = ew {
                    ew.close();
                }
                if r.is_err() {
                    result = r;
                    break;
                }
                i += 1;
                // An entry that took no bytes would repeat identically: stop.
                if c.pos == start {
                    break;
                }
            }
            if let Some(w) = w {
                w.end_array();
            }
            return result;
        }
    }
    Ok(())
}

fn write_int(w: &mut JsonOut<'_>, name: &str, v: i128) {
    match u64::try_from(v) {
        Ok(u) => w.u64(name, u),
        Err(_) => w.i64(name, i64::try_from(v).unwrap_or(i64::MIN)),
    }
}

/// An unsigned integer of up to 8 bytes.
fn read_uint(b: &[u8], endian: Endian) -> u64 {
    let fold = |acc: u64, x: &u8| acc << 8 | u64::from(*x);
    match endian {
        Endian::Big => b.iter().fold(0, fold),
        Endian::Little => b.iter().rev().fold(0, fold),
    }
}

/// The signed value of the low `size` bytes of `raw`.
fn sign_extend(raw: u64, size: usize) -> i64 {
    let shift = 64u32.saturating_sub((size as u32).saturating_mul(8));
    if shift == 0 || shift >= 64 {
        return raw as i64;
    }
    ((raw << shift) as i64) >> shift
}

fn hex(b: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for &x in b {
        s.push(char::from(D[usize::from(x >> 4)]));
        s.push(char::from(D[usize::from(x & 15)]));
    }
    s
}
