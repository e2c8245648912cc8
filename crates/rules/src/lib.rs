//! The rule language: Suricata-compatible rule text → a typed AST.
//!
//! This crate only reads rules; compiling and matching them is the detection engine's job.
//! It is pure (no I/O except [`load_files`] and [`load_classification`]) and every input
//! gives `Ok` or `Err`, never a panic (see the fuzz target `rule_parse`).
//!
//! ```
//! use nta_rules::{parse_rule, Buffer, Test, Vars};
//!
//! let rule = parse_rule(
//!     r#"alert http $HOME_NET any -> $EXTERNAL_NET $HTTP_PORTS (msg:"ET x"; flow:established,to_server; content:"/a.php"; http_uri; nocase; sid:1; rev:2;)"#,
//!     &Vars::default(),
//! )
//! .unwrap();
//! assert_eq!(rule.meta.sid, 1);
//! assert_eq!(rule.matches[0].buffer, Buffer::HttpUri);
//! let Test::Content(c) = &rule.matches[0].test else { panic!() };
//! assert!(c.nocase);
//! assert!(rule.destination_ports.contains(80));
//! ```
//!
//! * Header: action, protocol ([`Protocol`]), addresses and ports resolved through [`Vars`]
//!   into [`AddressSet`] / [`PortSet`], direction.
//! * Payload keywords become [`Match`]es: a [`Buffer`] (from a sticky buffer, a content
//!   modifier, or a pcre letter: both spellings give the same buffer) and a [`Test`].
//! * Everything else is a typed [`Condition`], or a field of [`Rule`] (threshold,
//!   detection_filter, tags, noalert) or of [`Meta`].
//! * A rule that cannot be used is a [`RuleError`] with a stable category
//!   ([`ErrorKind::category`]); the loader turns it into a [`Skipped`] entry with
//!   file:line:col, and [`Report`] groups them.
//!
//! The language is documented for users in `docs/rules.md`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod ast;
mod classification;
mod error;
mod groups;
mod lexer;
mod loader;
mod parse;
mod pcre;
mod report;
mod sets;
mod vars;

#[cfg(test)]
mod tests_content;
#[cfg(test)]
mod tests_header;
#[cfg(test)]
mod tests_keywords;
#[cfg(test)]
mod tests_loader;
#[cfg(test)]
mod tests_meta;
#[cfg(test)]
mod tests_payload;
#[cfg(test)]
mod tests_props;
#[cfg(test)]
mod tests_util;

pub use ast::*;
pub use classification::{ClassificationError, Classifications};
pub use error::{ErrorKind, RuleError};
pub use groups::{AddressSet, PortSet, MAX_GROUP_DEPTH};
pub use lexer::MAX_RULE_LEN;
pub use loader::{load_classification, load_files, RuleSet, SkipReason, Skipped};
pub use parse::{parse_rule, MAX_BYTES_BINARY, MAX_BYTES_STRING, MAX_CONTENT_LEN};
pub use pcre::MAX_REGEX_SIZE;
pub use report::{ReasonCount, Report};
pub use sets::{Point, RangeSet};
pub use vars::Vars;
