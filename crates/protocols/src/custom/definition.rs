//! A definition checked and compiled into the form the probe and the parser run on
//! ([`Definition`]), from the file as written (`schema.rs`). Every error points at the key it
//! is about.

use std::ops::Range;

use regex::bytes::{Regex, RegexBuilder};
use toml::Spanned;

pub(super) use super::schema::Endian;
use super::schema::{
    DirName, FramingKind, IntOrStr, Priority, RawFile, RawFraming, RawMatch, TransportName,
};

use super::fields::{self, Field};
use super::{MATCH_WINDOW, MAX_MESSAGE_LIMIT, MAX_NAME_LEN, MAX_REGEX_SIZE};
use crate::parser::{Dir, Transport};
use crate::registry::PortRange;

/// What a definition file says wrong, and where (a byte range of the file).
pub(super) struct SpanError {
    pub(super) span: Range<usize>,
    pub(super) message: String,
}

pub(super) fn fail<T>(span: Range<usize>, message: impl Into<String>) -> Result<T, SpanError> {
    Err(SpanError {
        span,
        message: message.into(),
    })
}

// ---------------------------------------------------------------------------------------------
// The compiled definition.

/// A checked definition, ready to probe and parse with.
pub(super) struct Definition {
    pub(super) name: String,
    /// Byte offset of the name's value in the file (for "already defined" errors).
    pub(super) name_span: Range<usize>,
    pub(super) description: String,
    pub(super) transport: Transport,
    pub(super) ports: Vec<PortRange>,
    pub(super) first: bool,
    pub(super) matcher: Matcher,
    pub(super) framing: Framing,
    pub(super) max_message: usize,
    pub(super) fields: Vec<Field>,
    /// Integer values kept while a message is decoded, for references (`length_from`, …).
    pub(super) slots: usize,
}

/// The `[match]` conditions.
pub(super) struct Matcher {
    pub(super) offset: usize,
    pub(super) bytes: Option<Vec<u8>>,
    pub(super) regex: Option<Regex>,
    pub(super) min_length: usize,
    pub(super) direction: Option<Dir>,
}

impl Matcher {
    /// Whether the content is checked (not only the ports).
    pub(super) fn has_signature(&self) -> bool {
        self.bytes.is_some() || self.regex.is_some()
    }
}

/// How a TCP stream is cut into messages.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Framing {
    /// UDP: a datagram is a message.
    Datagram,
    /// Every message has this size.
    Fixed(usize),
    /// A length field in a header.
    Length {
        offset: usize,
        size: usize,
        endian: Endian,
        adjust: i64,
    },
    /// Messages end with these bytes (not part of the message).
    Delimiter(Vec<u8>),
}

// ---------------------------------------------------------------------------------------------
// Checking.

/// Reads and checks a definition. `builtin_names`: names it may not take.
pub(super) fn compile(text: &str, builtin_names: &[&str]) -> Result<Definition, SpanError> {
    let raw: RawFile = toml::from_str(text).map_err(|e| SpanError {
        span: e.span().unwrap_or(0..0),
        message: e.message().trim().to_string(),
    })?;
    let p = raw.protocol;

    let name = p.name.get_ref();
    if !valid_protocol_name(name) {
        return fail(
            p.name.span(),
            format!(
                "protocol name `{name}` must be 1 to {MAX_NAME_LEN} characters of a-z, 0-9, `_` \
                 and `-`, starting with a letter"
            ),
        );
    }
    if builtin_names.contains(&name.as_str()) {
        return fail(
            p.name.span(),
            format!("protocol name `{name}` is taken by a built-in protocol"),
        );
    }
    // What EVE logs as `app_proto` for flows no protocol was found for.
    if ["unknown", "failed"].contains(&name.as_str()) {
        return fail(p.name.span(), format!("protocol name `{name}` is reserved"));
    }

    let transport = match *p.transport.get_ref() {
        TransportName::Tcp => Transport::Tcp,
        TransportName::Udp => Transport::Udp,
    };

    let mut ports = Vec::new();
    for port in &p.ports {
        let r = match port.get_ref() {
            IntOrStr::Int(n) => match u16::try_from(*n) {
                Ok(n) => PortRange::one(n),
                Err(_) => return fail(port.span(), format!("port {n} is not in 0-65535")),
            },
            IntOrStr::Str(s) => match s.parse::<PortRange>() {
                Ok(r) => r,
                Err(e) => return fail(port.span(), e),
            },
        };
        ports.push(r);
    }

    let matcher = compile_match(raw.matching)?;
    if ports.is_empty() && !matcher.has_signature() {
        return fail(
            p.name.span(),
            "the protocol can be recognised neither by `ports` nor by a `[match]` signature \
             (`bytes` or `regex`): give at least one",
        );
    }

    let (framing, max_message) = compile_framing(raw.framing, transport, &p.transport, p.endian)?;

    let (fields, slots) = fields::compile(&raw.field, p.endian)?;

    Ok(Definition {
        name: name.clone(),
        name_span: p.name.span(),
        description: if p.description.is_empty() {
            "user-defined protocol".to_string()
        } else {
            p.description
        },
        transport,
        ports,
        first: p.priority == Priority::High,
        matcher,
        framing,
        max_message,
        fields,
        slots,
    })
}

fn valid_protocol_name(s: &str) -> bool {
    s.len() <= MAX_NAME_LEN
        && s.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

fn compile_match(m: Option<RawMatch>) -> Result<Matcher, SpanError> {
    let Some(m) = m else {
        return Ok(Matcher {
            offset: 0,
            bytes: None,
            regex: None,
            min_length: 0,
            direction: None,
        });
    };
    let offset = match &m.offset {
        Some(o) => limited(o, MATCH_WINDOW as u64, "offset")?,
        None => 0,
    };
    let min_length = match &m.min_length {
        Some(o) => limited(o, MATCH_WINDOW as u64, "min_length")?,
        None => 0,
    };
    let bytes = match &m.bytes {
        Some(b) => {
            let v = parse_hex(b.get_ref()).map_err(|message| SpanError {
                span: b.span(),
                message,
            })?;
            if v.is_empty() || v.len() > 64 {
                return fail(b.span(), "`bytes` must hold 1 to 64 bytes");
            }
            if offset + v.len() > MATCH_WINDOW {
                return fail(
                    b.span(),
                    format!(
                        "`offset` + the signature must stay within the first {MATCH_WINDOW} bytes"
                    ),
                );
            }
            Some(v)
        }
        None => None,
    };
    let regex = match &m.regex {
        Some(r) => match RegexBuilder::new(r.get_ref())
            .size_limit(MAX_REGEX_SIZE)
            .dfa_size_limit(MAX_REGEX_SIZE)
            .build()
        {
            Ok(re) => Some(re),
            Err(e) => {
                let detail = e.to_string();
                // The regex crate's message spans several lines (pattern, caret, error): keep
                // its last line, which says what is wrong.
                let last = detail
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("");
                let last = last.trim().trim_start_matches("error: ");
                return fail(r.span(), format!("invalid regex: {last}"));
            }
        },
        None => None,
    };
    Ok(Matcher {
        offset,
        bytes,
        regex,
        min_length,
        direction: m.direction.and_then(DirName::dir),
    })
}

/// A number checked against a maximum.
pub(super) fn limited(v: &Spanned<u64>, max: u64, what: &str) -> Result<usize, SpanError> {
    let n = *v.get_ref();
    if n > max {
        return fail(v.span(), format!("`{what}` must be at most {max}"));
    }
    usize::try_from(n).or_else(|_| fail(v.span(), format!("`{what}` is too large")))
}

/// Hex digits, optionally separated by spaces, `:` or `-` between bytes (`"00 00"`, `"0a0b"`).
fn parse_hex(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut high: Option<u8> = None;
    for c in s.chars() {
        if matches!(c, ' ' | ':' | '-' | '\t') {
            if high.is_some() {
                return Err(format!(
                    "`{s}` is not hex bytes: a byte needs two hex digits"
                ));
            }
            continue;
        }
        let Some(d) = c.to_digit(16) else {
            return Err(format!("`{s}` is not hex bytes: `{c}` is not a hex digit"));
        };
        let d = d as u8;
        match high.take() {
            Some(h) => out.push(h << 4 | d),
            None => high = Some(d),
        }
    }
    if high.is_some() {
        return Err(format!("`{s}` is not hex bytes: odd number of hex digits"));
    }
    Ok(out)
}

fn compile_framing(
    f: Option<RawFraming>,
    transport: Transport,
    transport_key: &Spanned<TransportName>,
    default_endian: Endian,
) -> Result<(Framing, usize), SpanError> {
    let Some(f) = f else {
        return match transport {
            Transport::Udp => Ok((Framing::Datagram, DEFAULT_MAX_MESSAGE)),
            Transport::Tcp => fail(
                transport_key.span(),
                "a TCP protocol needs a [framing] table saying how the stream is cut into \
                 messages (kind = \"fixed\", \"length\" or \"delimiter\")",
            ),
        };
    };
    let kind = *f.kind.get_ref();
    let max_message = match &f.max_message {
        Some(m) if *m.get_ref() == 0 => return fail(m.span(), "`max_message` must be at least 1"),
        Some(m) => limited(m, MAX_MESSAGE_LIMIT as u64, "max_message")?,
        None => DEFAULT_MAX_MESSAGE,
    };

    match (transport, kind) {
        (Transport::Udp, FramingKind::Datagram) => {}
        (Transport::Udp, _) => {
            return fail(
                f.kind.span(),
                "over UDP a datagram is a message: kind must be \"datagram\"",
            )
        }
        (Transport::Tcp, FramingKind::Datagram) => {
            return fail(
                f.kind.span(),
                "kind = \"datagram\" is for UDP; a TCP stream is cut by \"fixed\", \"length\" or \
                 \"delimiter\"",
            )
        }
        (Transport::Tcp, _) => {}
    }

    // Keys that belong to another kind are an error: they would be silently ignored.
    let only = |key: &str, at: Option<Range<usize>>, owner: FramingKind, owner_name: &str| match at
    {
        Some(at) if kind != owner => {
            fail(at, format!("`{key}` is only for kind = \"{owner_name}\""))
        }
        _ => Ok(()),
    };
    only(
        "size",
        f.size.as_ref().map(Spanned::span),
        FramingKind::Fixed,
        "fixed",
    )?;
    for (key, at) in [
        ("length_offset", f.length_offset.as_ref().map(Spanned::span)),
        ("length_size", f.length_size.as_ref().map(Spanned::span)),
        ("length_adjust", f.length_adjust.as_ref().map(Spanned::span)),
        ("endian", f.endian.as_ref().map(Spanned::span)),
    ] {
        only(key, at, FramingKind::Length, "length")?;
    }
    only(
        "delimiter",
        f.delimiter.as_ref().map(Spanned::span),
        FramingKind::Delimiter,
        "delimiter",
    )?;

    let framing = match kind {
        FramingKind::Fixed => {
            let Some(size) = &f.size else {
                return fail(f.kind.span(), "kind = \"fixed\" needs `size`");
            };
            let n = *size.get_ref();
            if n == 0 || n > max_message as u64 {
                return fail(
                    size.span(),
                    format!("`size` must be 1 to max_message ({max_message})"),
                );
            }
            Framing::Fixed(n as usize)
        }
        FramingKind::Length => {
            let Some(size) = &f.length_size else {
                return fail(
                    f.kind.span(),
                    "kind = \"length\" needs `length_size` (1, 2, 4 or 8)",
                );
            };
            let n = *size.get_ref();
            if ![1, 2, 4, 8].contains(&n) {
                return fail(size.span(), "`length_size` must be 1, 2, 4 or 8");
            }
            let offset = match &f.length_offset {
                Some(o) => limited(o, MATCH_WINDOW as u64, "length_offset")?,
                None => 0,
            };
            let adjust = f.length_adjust.as_ref().map_or(0, |a| *a.get_ref());
            Framing::Length {
                offset,
                size: n as usize,
                endian: f.endian.as_ref().map_or(default_endian, |e| *e.get_ref()),
                adjust,
            }
        }
        FramingKind::Delimiter => {
            let Some(d) = &f.delimiter else {
                return fail(f.kind.span(), "kind = \"delimiter\" needs `delimiter`");
            };
            let b = d.get_ref().as_bytes();
            if b.is_empty() || b.len() > 16 {
                return fail(d.span(), "`delimiter` must be 1 to 16 bytes");
            }
            Framing::Delimiter(b.to_vec())
        }
        FramingKind::Datagram => Framing::Datagram,
    };
    Ok((framing, max_message))
}

/// `max_message` when not given.
pub(super) const DEFAULT_MAX_MESSAGE: usize = 65535;
