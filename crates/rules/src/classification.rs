//! `classification.config`: `config classification: shortname,description,priority`.

use std::collections::HashMap;
use std::fmt;

use crate::ast::Classification;

/// The classes of a classification file, by short name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Classifications {
    by_name: HashMap<String, Classification>,
}

/// A line of a classification file that cannot be read: `LINE:COL: message`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClassificationError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ClassificationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

impl std::error::Error for ClassificationError {}

impl Classifications {
    /// Parses a classification file. Blank lines, `#` comments and other `config` lines
    /// (such as `config reference:`) are skipped; a class defined twice keeps the last
    /// definition, as in Suricata.
    ///
    /// ```
    /// let c = nta_rules::Classifications::parse(
    ///     "config classification: trojan-activity,A Network Trojan was detected, 1\n",
    /// ).unwrap();
    /// assert_eq!(c.get("trojan-activity").unwrap().priority, 1);
    /// ```
    pub fn parse(text: &str) -> Result<Self, ClassificationError> {
        let mut by_name = HashMap::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let t = raw.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            let col = |s: &str| raw.len() - s.len() + 1;
            let err = |s: &str, message: String| ClassificationError {
                line,
                column: col(s),
                message,
            };
            let Some(rest) = t.strip_prefix("config") else {
                return Err(err(
                    raw.trim_start(),
                    "expected `config classification: name,description,priority`".into(),
                ));
            };
            let rest = rest.trim_start();
            let Some(rest) = rest.strip_prefix("classification") else {
                continue; // another config directive
            };
            let rest = rest.trim_start();
            let Some(body) = rest.strip_prefix(':') else {
                return Err(err(
                    rest,
                    "expected `:` after `config classification`".into(),
                ));
            };
            let (name, tail) = body
                .split_once(',')
                .ok_or_else(|| err(body, "expected `name,description,priority`".into()))?;
            let (description, prio) = tail
                .rsplit_once(',')
                .ok_or_else(|| err(tail, "expected `name,description,priority`".into()))?;
            let name = name.trim();
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(err(
                    body.trim_start(),
                    format!("invalid class name `{name}`"),
                ));
            }
            let priority: u8 = prio.trim().parse().ok().filter(|&p| p > 0).ok_or_else(|| {
                err(
                    prio.trim_start(),
                    format!("invalid priority `{}` (1 to 255)", prio.trim()),
                )
            })?;
            by_name.insert(
                name.to_string(),
                Classification {
                    name: name.to_string(),
                    description: description.trim().to_string(),
                    priority,
                },
            );
        }
        Ok(Classifications { by_name })
    }

    /// The class of a short name.
    pub fn get(&self, name: &str) -> Option<&Classification> {
        self.by_name.get(name)
    }

    /// How many classes there are.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// Whether there is no class.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}
