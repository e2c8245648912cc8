//! The DNS wire format (RFC 1035 §4): pure functions from one message's bytes to what is
//! logged of it.
//!
//! Parsed by hand rather than with `simple-dns`: that crate fails the whole message on one
//! record it dislikes (an unknown class, a bad TXT string), so a response with a broken
//! trailing record would log nothing, and it reserves `Vec` capacity straight from the
//! header's counts (up to 65535 records before a byte is read). Here every count, name and
//! string is bounded by a named limit, and a message that goes wrong part-way keeps what was
//! read before the fault.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// DNS header length.
pub(super) const HEADER_LEN: usize = 12;
/// Compression pointers followed for one name. Real names use one or two; a loop of pointers
/// (which never ends the name) stops here.
const MAX_POINTERS: usize = 16;
/// Longest name kept, in text form (RFC 1035 allows 255 bytes on the wire; dnsmasq accepts up
/// to 1025 characters, and so does Suricata). Longer names are an error.
const MAX_NAME_TEXT: usize = 1025;
/// Questions kept per message (a real one has one).
pub(super) const MAX_QUESTIONS: usize = 16;
/// Records kept per section; the rest are skipped (and still counted by the header).
pub(super) const MAX_RECORDS: usize = 64;
/// Longest text kept for one TXT string or one presentation-form rdata.
const MAX_TEXT: usize = 1024;

/// The fixed header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Header {
    pub(super) id: u16,
    pub(super) flags: u16,
    pub(super) qdcount: u16,
    pub(super) ancount: u16,
    pub(super) nscount: u16,
    pub(super) arcount: u16,
}

impl Header {
    pub(super) fn parse(msg: &[u8]) -> Option<Header> {
        Some(Header {
            id: be16(msg, 0)?,
            flags: be16(msg, 2)?,
            qdcount: be16(msg, 4)?,
            ancount: be16(msg, 6)?,
            nscount: be16(msg, 8)?,
            arcount: be16(msg, 10)?,
        })
    }

    /// QR: the message is a response.
    pub(super) fn is_response(&self) -> bool {
        self.flags & 0x8000 != 0
    }

    pub(super) fn opcode(&self) -> u16 {
        (self.flags >> 11) & 0xf
    }

    pub(super) fn rcode(&self) -> u16 {
        self.flags & 0xf
    }
}

/// One entry of the question section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Question {
    pub(super) name: Vec<u8>,
    pub(super) rrtype: u16,
    pub(super) rrclass: u16,
}

/// What a record says, in the forms EVE logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum RData {
    /// A, AAAA.
    Addr(IpAddr),
    /// CNAME, NS, PTR, DNAME, and MX (its exchange; EVE leaves the preference out).
    Name(Vec<u8>),
    /// One TXT (or SPF) string; a record with several gives one entry per string.
    Text(Vec<u8>),
    Soa(Soa),
    Srv(Srv),
    Sshfp(Sshfp),
    /// SVCB / HTTPS in presentation form (RFC 9460): `1 . alpn=h2,h3 ipv4hint=192.0.2.1`.
    Svcb(String),
    /// Any other type: logged by name and TTL only.
    Other,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Soa {
    pub(super) mname: Vec<u8>,
    pub(super) rname: Vec<u8>,
    pub(super) serial: u32,
    pub(super) refresh: u32,
    pub(super) retry: u32,
    pub(super) expire: u32,
    pub(super) minimum: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Srv {
    pub(super) priority: u16,
    pub(super) weight: u16,
    pub(super) port: u16,
    pub(super) name: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Sshfp {
    pub(super) algo: u8,
    pub(super) fp_type: u8,
    /// Hex, colon-separated, as Suricata logs it.
    pub(super) fingerprint: String,
}

/// One resource record (one TXT string, for TXT).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Record {
    pub(super) name: Vec<u8>,
    pub(super) rrtype: u16,
    pub(super) ttl: u32,
    pub(super) rdata: RData,
}

/// A parsed message: the header, and as much of the question, answer and authority sections
/// as could be read (additional records are not logged, as in Suricata).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Message {
    pub(super) header: Header,
    pub(super) questions: Vec<Question>,
    pub(super) answers: Vec<Record>,
    pub(super) authorities: Vec<Record>,
    /// The message ended, or went wrong, before every section the header announced was read.
    pub(super) malformed: bool,
    /// Bytes the sections announced by the header took (when not `malformed`).
    pub(super) len: usize,
}

/// Reads a whole message. `None` when even the header and question section cannot be read
/// (nothing worth logging); later faults keep what came before them (`malformed`).
pub(super) fn parse_message(msg: &[u8]) -> Option<Message> {
    let header = Header::parse(msg)?;
    let mut m = Message {
        header,
        ..Message::default()
    };
    let (questions, mut pos) = parse_questions(msg, header.qdcount, MAX_QUESTIONS)?;
    m.questions = questions;
    for (count, section) in [(header.ancount, 0), (header.nscount, 1)] {
        let into = if section == 0 {
            &mut m.answers
        } else {
            &mut m.authorities
        };
        match parse_records(msg, pos, count, into) {
            Some(next) => pos = next,
            None => {
                m.malformed = true;
                return Some(m);
            }
        }
    }
    // The additional section is walked only to tell whether the message is whole.
    for _ in 0..header.arcount {
        match skip_record(msg, pos) {
            Some(next) => pos = next,
            None => {
                m.malformed = true;
                return Some(m);
            }
        }
    }
    m.len = pos;
    Some(m)
}

/// Reads `count` questions from the start of the question section, keeping at most `keep`.
/// Returns them and where the section ends; `None` if one cannot be read or looks wrong.
pub(super) fn parse_questions(
    msg: &[u8],
    count: u16,
    keep: usize,
) -> Option<(Vec<Question>, usize)> {
    let mut pos = HEADER_LEN;
    let mut out = Vec::new();
    for _ in 0..count {
        let mut name = Vec::new();
        let next = read_name(msg, pos, Some(&mut name))?;
        let rrtype = be16(msg, next)?;
        let rrclass = be16(msg, next + 2)?;
        pos = next + 4;
        if out.len() < keep {
            out.push(Question {
                name,
                rrtype,
                rrclass,
            });
        }
    }
    Some((out, pos))
}

/// Whether a question's class is one seen in real traffic: IN, CH, HS, NONE, ANY (the top
/// bit is mDNS's "unicast response" flag).
pub(super) fn plausible_class(class: u16) -> bool {
    matches!(class & 0x7fff, 1 | 3 | 4 | 254 | 255)
}

/// Reads `count` records at `pos` into `into` (at most [`MAX_RECORDS`] entries in all).
/// Returns where the section ends.
fn parse_records(msg: &[u8], mut pos: usize, count: u16, into: &mut Vec<Record>) -> Option<usize> {
    for _ in 0..count {
        if into.len() >= MAX_RECORDS {
            pos = skip_record(msg, pos)?;
            continue;
        }
        let mut name = Vec::new();
        let next = read_name(msg, pos, Some(&mut name))?;
        let rrtype = be16(msg, next)?;
        let ttl = be32(msg, next + 4)?;
        let rdlen = usize::from(be16(msg, next + 8)?);
        let start = next + 10;
        let end = start.checked_add(rdlen)?;
        let rdata = msg.get(start..end)?;
        pos = end;
        if rrtype == TXT || rrtype == SPF {
            // One entry per character-string, as Suricata logs them.
            let mut at = 0;
            while at < rdata.len() && into.len() < MAX_RECORDS {
                let n = usize::from(rdata[at]);
                let s = rdata.get(at + 1..at + 1 + n)?;
                into.push(Record {
                    name: name.clone(),
                    rrtype,
                    ttl,
                    rdata: RData::Text(s[..s.len().min(MAX_TEXT)].to_vec()),
                });
                at += 1 + n;
            }
            continue;
        }
        into.push(Record {
            name,
            rrtype,
            ttl,
            rdata: parse_rdata(msg, start, rdata, rrtype)?,
        });
    }
    Some(pos)
}

/// Steps over one record without reading it.
fn skip_record(msg: &[u8], pos: usize) -> Option<usize> {
    let next = read_name(msg, pos, None)?;
    let rdlen = usize::from(be16(msg, next + 8)?);
    let end = (next + 10).checked_add(rdlen)?;
    if end > msg.len() {
        return None;
    }
    Some(end)
}

const A: u16 = 1;
const NS: u16 = 2;
const CNAME: u16 = 5;
const SOA: u16 = 6;
const PTR: u16 = 12;
const MX: u16 = 15;
const TXT: u16 = 16;
const AAAA: u16 = 28;
const SRV: u16 = 33;
const DNAME: u16 = 39;
const SSHFP: u16 = 44;
const SVCB: u16 = 64;
const HTTPS: u16 = 65;
const SPF: u16 = 99;

/// `rdata` is the record's data, found at `start` in `msg` (names in it may point anywhere
/// earlier in the message).
fn parse_rdata(msg: &[u8], start: usize, rdata: &[u8], rrtype: u16) -> Option<RData> {
    let name_at = |at: usize| -> Option<Vec<u8>> {
        let mut name = Vec::new();
        read_name(msg, start + at, Some(&mut name))?;
        Some(name)
    };
    Some(match rrtype {
        A => {
            let b: [u8; 4] = rdata.try_into().ok()?;
            RData::Addr(IpAddr::V4(Ipv4Addr::from(b)))
        }
        AAAA => {
            let b: [u8; 16] = rdata.try_into().ok()?;
            RData::Addr(IpAddr::V6(Ipv6Addr::from(b)))
        }
        CNAME | NS | PTR | DNAME => RData::Name(name_at(0)?),
        MX => {
            if rdata.len() < 3 {
                return None;
            }
            RData::Name(name_at(2)?)
        }
        SOA => {
            let mut mname = Vec::new();
            let after_m = read_name(msg, start, Some(&mut mname))?;
            let mut rname = Vec::new();
            let after_r = read_name(msg, after_m, Some(&mut rname))?;
            RData::Soa(Soa {
                mname,
                rname,
                serial: be32(msg, after_r)?,
                refresh: be32(msg, after_r + 4)?,
                retry: be32(msg, after_r + 8)?,
                expire: be32(msg, after_r + 12)?,
                minimum: be32(msg, after_r + 16)?,
            })
        }
        SRV => RData::Srv(Srv {
            priority: be16(rdata, 0)?,
            weight: be16(rdata, 2)?,
            port: be16(rdata, 4)?,
            name: name_at(6)?,
        }),
        SSHFP => {
            let (&algo, rest) = rdata.split_first()?;
            let (&fp_type, fp) = rest.split_first()?;
            let fp = &fp[..fp.len().min(MAX_TEXT / 3)];
            let mut fingerprint = String::with_capacity(fp.len() * 3);
            for (i, b) in fp.iter().enumerate() {
                if i > 0 {
                    fingerprint.push(':');
                }
                push_hex(&mut fingerprint, *b);
            }
            RData::Sshfp(Sshfp {
                algo,
                fp_type,
                fingerprint,
            })
        }
        SVCB | HTTPS => RData::Svcb(svcb_text(msg, start, rdata)?),
        _ => RData::Other,
    })
}

/// Reads the name at `pos`, appending its text (labels joined by dots; the root is empty)
/// to `text` when given. Returns the position after the name where it started (after the
/// first compression pointer, if it has one). `None` on a name that runs off the message,
/// uses a reserved label type, follows more than [`MAX_POINTERS`] pointers (a loop) or grows
/// past [`MAX_NAME_TEXT`].
pub(super) fn read_name(
    msg: &[u8],
    mut pos: usize,
    mut text: Option<&mut Vec<u8>>,
) -> Option<usize> {
    let mut end = None;
    let mut pointers = 0;
    let mut len = 0usize;
    loop {
        let b = *msg.get(pos)?;
        match b & 0xc0 {
            0x00 if b == 0 => {
                return Some(end.unwrap_or(pos + 1));
            }
            0x00 => {
                let n = usize::from(b);
                let label = msg.get(pos + 1..pos + 1 + n)?;
                len += n + usize::from(len > 0);
                if len > MAX_NAME_TEXT {
                    return None;
                }
                if let Some(t) = text.as_deref_mut() {
                    if !t.is_empty() {
                        t.push(b'.');
                    }
                    t.extend_from_slice(label);
                }
                pos += 1 + n;
            }
            0xc0 => {
                let target = usize::from(be16(msg, pos)? & 0x3fff);
                pointers += 1;
                if pointers > MAX_POINTERS {
                    return None;
                }
                if end.is_none() {
                    end = Some(pos + 2);
                }
                pos = target;
            }
            // 0x40 and 0x80: extended label types (RFC 6891 §5), never deployed.
            _ => return None,
        }
    }
}

/// SVCB / HTTPS rdata in presentation form.
fn svcb_text(msg: &[u8], start: usize, rdata: &[u8]) -> Option<String> {
    use std::fmt::Write;
    let priority = be16(rdata, 0)?;
    let mut target = Vec::new();
    let after = read_name(msg, start + 2, Some(&mut target))?;
    let mut s = format!("{priority} ");
    if target.is_empty() {
        s.push('.');
    } else {
        s.push_str(&String::from_utf8_lossy(&target));
    }
    let mut at = after.checked_sub(start)?;
    while at < rdata.len() && s.len() < MAX_TEXT {
        let key = be16(rdata, at)?;
        let n = usize::from(be16(rdata, at + 2)?);
        let v = rdata.get(at + 4..at + 4 + n)?;
        at += 4 + n;
        s.push(' ');
        match key {
            0 => {
                s.push_str("mandatory=");
                for (i, k) in v.chunks_exact(2).enumerate() {
                    if i > 0 {
                        s.push(',');
                    }
                    s.push_str(svc_key_name(u16::from_be_bytes([k[0], k[1]])).as_ref());
                }
            }
            1 => {
                s.push_str("alpn=");
                let mut i = 0;
                let mut first = true;
                while i < v.len() {
                    let l = usize::from(v[i]);
                    let id = v.get(i + 1..i + 1 + l)?;
                    if !first {
                        s.push(',');
                    }
                    first = false;
                    s.push_str(&String::from_utf8_lossy(id));
                    i += 1 + l;
                }
            }
            2 => s.push_str("no-default-alpn"),
            3 => {
                let _ = write!(s, "port={}", be16(v, 0)?);
            }
            4 | 6 => {
                s.push_str(if key == 4 { "ipv4hint=" } else { "ipv6hint=" });
                let width = if key == 4 { 4 } else { 16 };
                for (i, a) in v.chunks_exact(width).enumerate() {
                    if i > 0 {
                        s.push(',');
                    }
                    let ip = match <[u8; 4]>::try_from(a) {
                        Ok(b) => IpAddr::V4(Ipv4Addr::from(b)),
                        Err(_) => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(a).ok()?)),
                    };
                    let _ = write!(s, "{ip}");
                }
            }
            5 => {
                s.push_str("ech=");
                base64_into(&mut s, &v[..v.len().min(MAX_TEXT)]);
            }
            _ => {
                let _ = write!(s, "key{key}=");
                for b in v.iter().take(MAX_TEXT / 2) {
                    push_hex(&mut s, *b);
                }
            }
        }
    }
    if s.len() > MAX_TEXT {
        let mut cut = MAX_TEXT;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    Some(s)
}

fn svc_key_name(key: u16) -> std::borrow::Cow<'static, str> {
    match key {
        0 => "mandatory".into(),
        1 => "alpn".into(),
        2 => "no-default-alpn".into(),
        3 => "port".into(),
        4 => "ipv4hint".into(),
        5 => "ech".into(),
        6 => "ipv6hint".into(),
        k => format!("key{k}").into(),
    }
}

fn push_hex(s: &mut String, b: u8) {
    const D: &[u8; 16] = b"0123456789abcdef";
    s.push(char::from(D[usize::from(b >> 4)]));
    s.push(char::from(D[usize::from(b & 15)]));
}

fn base64_into(s: &mut String, v: &[u8]) {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for c in v.chunks(3) {
        let b = [
            c[0],
            c.get(1).copied().unwrap_or(0),
            c.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= c.len() {
                s.push(char::from(T[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                s.push('=');
            }
        }
    }
}

pub(super) fn be16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([s[0], s[1]]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// The mnemonic of a record type (IANA's registry), or its number.
/// The number of a record type named as [`rrtype_name`] writes it (`TXT` → 16, `99` → 99).
pub fn rrtype_code(name: &str) -> Option<u16> {
    use std::collections::HashMap;
    use std::sync::OnceLock;
    if let Ok(n) = name.parse() {
        return Some(n);
    }
    static NAMES: OnceLock<HashMap<&'static str, u16>> = OnceLock::new();
    NAMES
        .get_or_init(|| {
            (0..=u16::MAX)
                .filter_map(|t| match rrtype_name(t) {
                    std::borrow::Cow::Borrowed(n) => Some((n, t)),
                    std::borrow::Cow::Owned(_) => None,
                })
                .collect()
        })
        .get(name)
        .copied()
}

pub(super) fn rrtype_name(t: u16) -> std::borrow::Cow<'static, str> {
    let s = match t {
        1 => "A",
        2 => "NS",
        3 => "MD",
        4 => "MF",
        5 => "CNAME",
        6 => "SOA",
        7 => "MB",
        8 => "MG",
        9 => "MR",
        10 => "NULL",
        11 => "WKS",
        12 => "PTR",
        13 => "HINFO",
        14 => "MINFO",
        15 => "MX",
        16 => "TXT",
        17 => "RP",
        18 => "AFSDB",
        19 => "X25",
        20 => "ISDN",
        21 => "RT",
        22 => "NSAP",
        23 => "NSAP-PTR",
        24 => "SIG",
        25 => "KEY",
        26 => "PX",
        27 => "GPOS",
        28 => "AAAA",
        29 => "LOC",
        30 => "NXT",
        33 => "SRV",
        34 => "ATMA",
        35 => "NAPTR",
        36 => "KX",
        37 => "CERT",
        38 => "A6",
        39 => "DNAME",
        41 => "OPT",
        42 => "APL",
        43 => "DS",
        44 => "SSHFP",
        45 => "IPSECKEY",
        46 => "RRSIG",
        47 => "NSEC",
        48 => "DNSKEY",
        49 => "DHCID",
        50 => "NSEC3",
        51 => "NSEC3PARAM",
        52 => "TLSA",
        53 => "SMIMEA",
        55 => "HIP",
        59 => "CDS",
        60 => "CDNSKEY",
        61 => "OPENPGPKEY",
        62 => "CSYNC",
        63 => "ZONEMD",
        64 => "SVCB",
        65 => "HTTPS",
        99 => "SPF",
        249 => "TKEY",
        250 => "TSIG",
        251 => "IXFR",
        252 => "AXFR",
        253 => "MAILB",
        254 => "MAILA",
        255 => "ANY",
        256 => "URI",
        257 => "CAA",
        _ => return t.to_string().into(),
    };
    s.into()
}

/// The name of a header response code, or its number.
pub(super) fn rcode_name(rcode: u16) -> std::borrow::Cow<'static, str> {
    let s = match rcode {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        _ => return rcode.to_string().into(),
    };
    s.into()
}
