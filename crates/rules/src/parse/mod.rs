//! Rule text → [`Rule`]: the header, then each option in order, tracking which buffer the
//! payload keywords apply to.
//!
//! Buffer rules (as in Suricata): a sticky buffer (`http.uri;`, `file_data;`, …) applies to
//! every payload keyword after it until the next sticky buffer (`pkt_data` returns to the
//! packet); a content modifier (`content:"x"; http_uri;`) moves the content before it, and
//! cannot be used while a sticky buffer is in force; pcre buffer letters (`/x/U`) choose the
//! pcre's buffer. Without a sticky buffer, a `relative` isdataat/byte_* applies to the buffer
//! of the payload keyword before it.

mod header;
mod keywords;
mod meta;
mod payload;
pub(crate) mod values;

pub use payload::{MAX_BYTES_BINARY, MAX_BYTES_STRING, MAX_CONTENT_LEN};

use crate::ast::{Buffer, BufferFamily, Condition, Match, Meta, Protocol, Rule, Test};
use crate::error::{ErrorKind, RuleError};
use crate::lexer::{self, RawOption};
use crate::vars::Vars;

/// Parses one rule (a single logical line, without a trailing comment).
pub fn parse_rule(text: &str, vars: &Vars) -> Result<Rule, RuleError> {
    let (tokens, options) = lexer::split(text)?;
    let h = header::parse(&tokens, vars)?;
    let mut st = State {
        rule: Rule {
            action: h.action,
            protocol: h.protocol,
            source: h.source,
            source_ports: h.source_ports,
            direction: h.direction,
            destination: h.destination,
            destination_ports: h.destination_ports,
            meta: Meta {
                gid: 1,
                ..Meta::default()
            },
            matches: Vec::new(),
            conditions: Vec::new(),
            threshold: None,
            detection_filter: None,
            tags: Vec::new(),
            noalert: false,
            location: None,
        },
        sticky: None,
        last_content: None,
        last_payload: None,
        byte_vars: Vec::new(),
        seen: Vec::new(),
        fast_pattern_at: None,
    };
    for opt in &options {
        st.option(opt)?;
    }
    st.finish(text.len())
}

/// Parser state while the options are read.
pub(crate) struct State {
    pub rule: Rule,
    /// The sticky buffer in force (`None`: the packet, no sticky buffer).
    pub sticky: Option<Buffer>,
    /// Index in `rule.matches` of the content that modifiers apply to; cleared when the
    /// sticky buffer changes.
    pub last_content: Option<usize>,
    /// Index of the last payload keyword (for `relative` without a sticky buffer).
    pub last_payload: Option<usize>,
    /// byte_extract variables defined so far.
    pub byte_vars: Vec<String>,
    /// Single-use keywords seen (sid, rev, msg, …).
    pub seen: Vec<&'static str>,
    /// Offset of the first fast_pattern (only one content may have it).
    pub fast_pattern_at: Option<usize>,
}

impl State {
    fn option(&mut self, o: &RawOption<'_>) -> Result<(), RuleError> {
        let name = o.name.to_ascii_lowercase();
        if payload::option(self, &name, o)?
            || meta::option(self, &name, o)?
            || keywords::option(self, &name, o)?
        {
            return Ok(());
        }
        if let Some(buffer) = Buffer::from_sticky(&name) {
            return self.sticky_buffer(buffer, &name, o);
        }
        if name.starts_with("custom.") {
            return Err(RuleError::syntax(
                o.name_at,
                format!(
                    "invalid custom buffer `{}`: write custom.<protocol>.<field> with lowercase names",
                    o.name
                ),
            ));
        }
        if let Some(buffer) = Buffer::from_modifier(&name) {
            no_value(o)?;
            return self.content_modifier(buffer, o);
        }
        Err(RuleError::new(
            ErrorKind::UnsupportedKeyword(name.clone()),
            o.name_at,
            format!("unsupported keyword `{}`", o.name),
        ))
    }

    fn sticky_buffer(
        &mut self,
        buffer: Buffer,
        name: &str,
        o: &RawOption<'_>,
    ) -> Result<(), RuleError> {
        self.sticky = (buffer != Buffer::Packet).then_some(buffer);
        self.last_content = None;
        match (o.value, name) {
            (None, _) => Ok(()),
            // Legacy value forms: `tls.subject:"CN=x"` is a content in the buffer.
            (Some(v), "tls.subject" | "tls.issuerdn") => {
                payload::content(self, v, o.value_at, false)
            }
            (Some(_), _) => Err(RuleError::value(
                name,
                o.value_at,
                format!("`{name}` is a sticky buffer and takes no value"),
            )),
        }
    }

    fn content_modifier(&mut self, buffer: Buffer, o: &RawOption<'_>) -> Result<(), RuleError> {
        if let Some(s) = &self.sticky {
            return Err(RuleError::conflict(
                o.name_at,
                format!(
                    "`{}` cannot modify a content while the sticky buffer `{s}` is in force (use `pkt_data;` first, or the sticky `{}`)",
                    o.name, buffer
                ),
            ));
        }
        let idx = self.last_content.ok_or_else(|| {
            RuleError::syntax(o.name_at, format!("`{}` needs a content before it", o.name))
        })?;
        let m = &mut self.rule.matches[idx];
        if m.buffer != Buffer::Packet && m.buffer != buffer {
            return Err(RuleError::conflict(
                o.name_at,
                format!(
                    "`{}` follows a content that is already in `{}`",
                    o.name, m.buffer
                ),
            ));
        }
        m.buffer = buffer;
        Ok(())
    }

    /// Adds a payload match in `buffer`.
    pub(crate) fn push_match(&mut self, buffer: Buffer, test: Test) -> usize {
        self.rule.matches.push(Match { buffer, test });
        let idx = self.rule.matches.len() - 1;
        self.last_payload = Some(idx);
        idx
    }

    /// The buffer for a non-content payload keyword: the sticky buffer, else (when
    /// relative) the buffer of the previous payload keyword, else the packet.
    pub(crate) fn payload_buffer(&self, relative: bool) -> Buffer {
        if let Some(s) = &self.sticky {
            return s.clone();
        }
        if relative {
            if let Some(m) = self.last_payload.and_then(|i| self.rule.matches.get(i)) {
                return m.buffer.clone();
            }
        }
        Buffer::Packet
    }

    /// Marks a single-use keyword; an error when it was already given.
    pub(crate) fn once(&mut self, kw: &'static str, at: usize) -> Result<(), RuleError> {
        if self.seen.contains(&kw) {
            return Err(RuleError::conflict(at, format!("`{kw}` is given twice")));
        }
        self.seen.push(kw);
        Ok(())
    }

    fn finish(mut self, end: usize) -> Result<Rule, RuleError> {
        if !self.seen.contains(&"sid") {
            return Err(RuleError::new(
                ErrorKind::MissingSid,
                end,
                "the rule has no `sid`",
            ));
        }
        payload::finish(&mut self)?;
        check_families(&self.rule, end)?;
        Ok(self.rule)
    }
}

/// The header protocol and the buffers must agree on the application protocol.
fn check_families(rule: &Rule, end: usize) -> Result<(), RuleError> {
    let mut family: Option<(BufferFamily, &Buffer)> = None;
    for m in &rule.matches {
        let f = m.buffer.family();
        if let Protocol::App(p) = rule.protocol {
            if !p.has(f) {
                return Err(RuleError::conflict(
                    end,
                    format!(
                        "`{}` cannot be inspected in a `{}` rule",
                        m.buffer,
                        p.name()
                    ),
                ));
            }
        }
        if matches!(
            f,
            BufferFamily::Any | BufferFamily::File | BufferFamily::Custom
        ) {
            continue;
        }
        match family {
            Some((g, b)) if g != f => {
                return Err(RuleError::conflict(
                    end,
                    format!("`{b}` and `{}` belong to different protocols", m.buffer),
                ))
            }
            _ => family = Some((f, &m.buffer)),
        }
    }
    let has_custom_field = rule
        .conditions
        .iter()
        .any(|c| matches!(c, Condition::CustomField(_)));
    if has_custom_field {
        if let Protocol::App(p) = rule.protocol {
            return Err(RuleError::conflict(
                end,
                format!(
                    "`custom_field` applies to user-defined protocols: use `tcp`, `udp` or `ip` in the header, not `{}`",
                    p.name()
                ),
            ));
        }
    }
    Ok(())
}

/// Errors when a keyword that takes no value has one.
pub(crate) fn no_value(o: &RawOption<'_>) -> Result<(), RuleError> {
    match o.value {
        Some(_) => Err(RuleError::value(
            &o.name.to_ascii_lowercase(),
            o.value_at,
            format!("`{}` takes no value", o.name),
        )),
        None => Ok(()),
    }
}

/// The value of a keyword that needs one.
pub(crate) fn need_value<'a>(o: &RawOption<'a>) -> Result<&'a str, RuleError> {
    match o.value {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(RuleError::value(
            &o.name.to_ascii_lowercase(),
            o.value_at,
            format!("`{}` needs a value", o.name),
        )),
    }
}
