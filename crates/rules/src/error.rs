//! Why a rule cannot be used: a typed kind (with a stable short category for reports), a
//! precise message, and where in the rule text the problem is.

use std::fmt;

/// What kind of problem a rule has. [`ErrorKind::category`] is the stable short string
/// reports group by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The rule is not shaped like a rule (header, parentheses, option separators).
    Syntax,
    /// A keyword NTA does not support (or does not know); holds the keyword.
    UnsupportedKeyword(String),
    /// A keyword's value cannot be parsed or is out of range; holds the keyword.
    InvalidValue(String),
    /// The header names a protocol NTA does not know; holds the name.
    UnknownProtocol(String),
    /// An address or port variable that is not defined; holds the name with its `$`.
    UnknownVariable(String),
    /// A byte_extract variable used before (or without) being extracted; holds the name.
    UnknownByteVariable(String),
    /// The source or destination address is malformed or empty.
    InvalidAddress,
    /// The source or destination port is malformed or empty.
    InvalidPort,
    /// Neither the `regex` nor the `fancy-regex` crate compiles the pcre.
    PcreUnsupported,
    /// The rule has no `sid`.
    MissingSid,
    /// Keywords that cannot be used together (or not in this order, or not with the
    /// header's protocol).
    Conflict,
    /// The classtype is not in the classification file; holds the name.
    UnknownClasstype(String),
}

impl ErrorKind {
    /// Stable short category, e.g. `"unsupported keyword: lua"`, `"syntax error"`,
    /// `"pcre: unsupported regex feature"`.
    pub fn category(&self) -> String {
        match self {
            ErrorKind::Syntax => "syntax error".to_string(),
            ErrorKind::UnsupportedKeyword(k) => format!("unsupported keyword: {k}"),
            ErrorKind::InvalidValue(k) => format!("invalid value: {k}"),
            ErrorKind::UnknownProtocol(p) => format!("unknown protocol: {p}"),
            ErrorKind::UnknownVariable(v) => format!("unknown variable: {v}"),
            ErrorKind::UnknownByteVariable(v) => format!("unknown byte variable: {v}"),
            ErrorKind::InvalidAddress => "invalid address".to_string(),
            ErrorKind::InvalidPort => "invalid port".to_string(),
            ErrorKind::PcreUnsupported => "pcre: unsupported regex feature".to_string(),
            ErrorKind::MissingSid => "missing sid".to_string(),
            ErrorKind::Conflict => "conflicting keywords".to_string(),
            ErrorKind::UnknownClasstype(c) => format!("unknown classtype: {c}"),
        }
    }
}

/// A rule that cannot be used. Displays as its message; `offset` is the byte offset in the
/// rule text where the problem starts (the loader turns it into a file line and column).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleError {
    /// What kind of problem.
    pub kind: ErrorKind,
    /// What is wrong, for people.
    pub message: String,
    /// Byte offset in the rule text.
    pub offset: usize,
}

impl RuleError {
    /// A new error at byte `offset` of the rule text.
    pub fn new(kind: ErrorKind, offset: usize, message: impl Into<String>) -> Self {
        RuleError {
            kind,
            message: message.into(),
            offset,
        }
    }

    pub(crate) fn syntax(offset: usize, message: impl Into<String>) -> Self {
        RuleError::new(ErrorKind::Syntax, offset, message)
    }

    pub(crate) fn value(keyword: &str, offset: usize, message: impl Into<String>) -> Self {
        RuleError::new(
            ErrorKind::InvalidValue(keyword.to_string()),
            offset,
            message,
        )
    }

    pub(crate) fn conflict(offset: usize, message: impl Into<String>) -> Self {
        RuleError::new(ErrorKind::Conflict, offset, message)
    }

    /// The same error, moved by `by` bytes (for errors found in a part of the rule).
    pub(crate) fn shifted(mut self, by: usize) -> Self {
        self.offset = self.offset.saturating_add(by);
        self
    }

    /// Stable short category (see [`ErrorKind::category`]).
    pub fn category(&self) -> String {
        self.kind.category()
    }
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RuleError {}
