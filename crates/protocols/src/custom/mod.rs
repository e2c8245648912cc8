//! User-defined protocols: a protocol described in one TOML file, without writing Rust.
//!
//! A definition says how to recognise the protocol (transport, ports, a byte signature or a
//! regex at an offset — like nDPI's `protos.txt`), how a TCP stream is cut into messages (fixed
//! size, a length field, or a delimiter; over UDP a datagram is a message), and the fields of a
//! message, in order (integers, bit fields, named values, bytes, strings, repeated groups —
//! like a Wireshark dissector or a Spicy unit, declared rather than programmed). Every message
//! becomes one `custom` event:
//!
//! ```toml
//! [protocol]
//! name = "hello"
//! transport = "tcp"
//! ports = ["7000-7010"]
//!
//! [match]
//! regex = '^(HELLO|PING) '
//!
//! [framing]
//! kind = "delimiter"
//! delimiter = "\r\n"
//!
//! [[field]]
//! name = "command"
//! type = "string"
//! delimiter = " "
//! ```
//!
//! gives, for `HELLO alice\r\n`, `{"event_type":"custom","custom":{"protocol":"hello",
//! "command":"HELLO"}, …}`. The format is documented for users in `docs/protocols.md`.
//!
//! Layout: `schema.rs` is the file as written; `definition.rs` (with `fields.rs` for the
//! `[[field]]` tables) checks it into the compiled `Definition`, every error pointing at its
//! key (`FILE:LINE:COL: message`); `decode.rs` cuts messages and decodes fields; this file is
//! the [`Protocol`] the application layer runs (info, probe, parser) and the loaders.
//!
//! Everything is bounded: messages by `max_message` (at most [`MAX_MESSAGE_LIMIT`]), logged
//! strings and bytes by [`MAX_LOGGED_BYTES`], logged group entries by [`MAX_GROUP_ENTRIES`] per group and
//! [`MAX_MESSAGE_ENTRIES`] per message,
//! messages logged per flow by [`MAX_MESSAGES`], and the definition itself by
//! [`MAX_FIELDS`] fields nested at most [`MAX_DEPTH`] groups deep.

mod decode;
mod definition;
mod fields;
mod schema;
#[cfg(test)]
mod tests;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::parser::{Parser, Probe, ProbeInput, Transport};
use crate::registry::{Info, Protocol};

use definition::Definition;

/// Longest protocol, field or bit-field name.
pub const MAX_NAME_LEN: usize = 32;
/// How far into a direction's first bytes `[match]` looks: `offset`, `min_length` and a
/// signature stay within it, and a regex is run over at most this many bytes from `offset`.
pub const MATCH_WINDOW: usize = 1024;
/// Compiled size limit of a `[match]` regex (the regex crate's `size_limit`), so a definition
/// cannot make the probe slow or large.
pub const MAX_REGEX_SIZE: usize = 1 << 20;
/// Largest `max_message` a definition may set: a TCP message is buffered whole before it is
/// decoded.
pub const MAX_MESSAGE_LIMIT: usize = 1 << 20;
/// Fields in one table or group (alternatives are tracked in a 64-bit set while decoding).
pub const MAX_FIELDS_PER_LEVEL: usize = 64;
/// Fields in a whole definition, groups' fields included.
pub const MAX_FIELDS: usize = 256;
/// Groups nest at most this deep.
pub const MAX_DEPTH: usize = 4;
/// Entries of one group logged per message (the rest are decoded, to find what follows, but
/// not logged).
pub const MAX_GROUP_ENTRIES: usize = 256;
/// Group entries logged per message over all groups (nested groups would otherwise multiply
/// [`MAX_GROUP_ENTRIES`]).
pub const MAX_MESSAGE_ENTRIES: usize = 4096;
/// Bytes of a string or bytes field logged (bytes are logged as hex: twice as many digits).
pub const MAX_LOGGED_BYTES: usize = 1024;
/// Messages logged per flow; after that the flow is no longer parsed.
pub const MAX_MESSAGES: u64 = 10_000;

/// A definition file that cannot be used, and where: displayed as `FILE:LINE:COL: message`
/// (or `FILE: message` when the problem is the file as a whole, such as a read error).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DefinitionError {
    /// The definition file (or directory).
    pub path: PathBuf,
    /// 1-based line of the offending key or value; 0 when there is none.
    pub line: usize,
    /// 1-based column (in characters); 0 when there is no line.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for DefinitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.path.display(), self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.path.display(),
                self.line,
                self.column,
                self.message
            )
        }
    }
}

impl std::error::Error for DefinitionError {}

impl DefinitionError {
    fn whole(path: &Path, message: String) -> Self {
        DefinitionError {
            path: path.to_path_buf(),
            line: 0,
            column: 0,
            message,
        }
    }

    fn at(path: &Path, text: &str, offset: usize, message: String) -> Self {
        let (line, column) = position(text, offset);
        DefinitionError {
            path: path.to_path_buf(),
            line,
            column,
            message,
        }
    }
}

/// 1-based line and column (in characters) of byte `offset` of `text`.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let mut off = offset.min(text.len());
    while !text.is_char_boundary(off) {
        off -= 1;
    }
    let before = &text[..off];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.matches('\n').count() + 1;
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// A protocol defined by the user in a TOML file.
pub struct CustomProtocol {
    info: Info,
    def: Arc<Definition>,
    /// Line and column of the name, for "defined twice" errors.
    name_at: (usize, usize),
}

impl fmt::Debug for CustomProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CustomProtocol")
            .field("info", &self.info)
            .finish()
    }
}

impl CustomProtocol {
    /// Reads and checks a definition given as text; `path` is where it came from (for errors
    /// and `info.source`).
    fn from_text(path: &Path, text: &str, builtin_names: &[&str]) -> Result<Self, DefinitionError> {
        let def = definition::compile(text, builtin_names)
            .map_err(|e| DefinitionError::at(path, text, e.span.start, e.message))?;
        let name_at = position(text, def.name_span.start);
        let info = Info {
            name: def.name.clone(),
            description: def.description.clone(),
            transports: vec![def.transport],
            ports: def.ports.clone(),
            port_gated: !def.ports.is_empty() && !def.matcher.has_signature(),
            event_type: Some("custom"),
            source: path.display().to_string(),
            first: def.first,
        };
        Ok(CustomProtocol {
            info,
            def: Arc::new(def),
            name_at,
        })
    }
}

impl Protocol for CustomProtocol {
    fn info(&self) -> &Info {
        &self.info
    }

    fn probe(&self, input: &ProbeInput<'_>) -> Probe {
        let d = &*self.def;
        let m = &d.matcher;
        if input.transport != d.transport || m.direction.is_some_and(|dir| dir != input.dir) {
            return Probe::NoMatch;
        }
        // A port-gated protocol (ports, no signature) is only probed on its ports: the
        // application layer checks them, against the ports the configuration may have set.
        let data = input.data;
        let mut need = m.min_length.max(1);
        if let Some(sig) = &m.bytes {
            // What has arrived of the signature must already agree.
            let at = data.get(m.offset..).unwrap_or(&[]);
            let n = at.len().min(sig.len());
            if at.get(..n) != sig.get(..n) {
                return Probe::NoMatch;
            }
            need = need.max(m.offset.saturating_add(sig.len()));
        }
        if !decode::plausible(d, data) {
            return Probe::NoMatch;
        }
        if m.regex.is_some() {
            need = need.max(m.offset.saturating_add(1));
        }
        if data.len() < need {
            // A datagram is all there is of its message.
            return match d.transport {
                Transport::Tcp => Probe::NeedMore,
                Transport::Udp => Probe::NoMatch,
            };
        }
        if let Some(re) = &m.regex {
            let end = data.len().min(m.offset.saturating_add(MATCH_WINDOW));
            let window = data.get(m.offset..end).unwrap_or(&[]);
            if !re.is_match(window) {
                return Probe::NoMatch;
            }
        }
        Probe::Match
    }

    fn parser(&self) -> Box<dyn Parser> {
        Box::new(decode::CustomParser::new(Arc::clone(&self.def)))
    }
}

/// Reads one definition file. `builtin_names`: the built-in protocols' names, which a
/// definition may not take.
pub fn load_file(path: &Path, builtin_names: &[&str]) -> Result<CustomProtocol, DefinitionError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| DefinitionError::whole(path, format!("cannot read: {e}")))?;
    CustomProtocol::from_text(path, &text, builtin_names)
}

/// Reads every `*.toml` file of `dir`, in the order of their names. Two files defining the
/// same protocol name is an error (pointing at the second one's name).
pub fn load_dir(
    dir: &Path,
    builtin_names: &[&str],
) -> Result<Vec<CustomProtocol>, DefinitionError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| DefinitionError::whole(dir, format!("cannot read the directory: {e}")))?;
    let mut files = Vec::new();
    for e in entries {
        let e =
            e.map_err(|e| DefinitionError::whole(dir, format!("cannot read the directory: {e}")))?;
        let path = e.path();
        if path.extension().is_some_and(|x| x == "toml") && path.is_file() {
            files.push(path);
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    let mut out: Vec<CustomProtocol> = Vec::new();
    for path in files {
        let p = load_file(&path, builtin_names)?;
        if let Some(first) = out.iter().find(|q| q.info.name == p.info.name) {
            return Err(DefinitionError {
                path,
                line: p.name_at.0,
                column: p.name_at.1,
                message: format!(
                    "protocol `{}` is already defined in {}",
                    p.info.name, first.info.source
                ),
            });
        }
        out.push(p);
    }
    Ok(out)
}
