//! Rule files → [`RuleSet`]: logical lines (trailing `\` continues a rule), comments,
//! classification, duplicate sids, and a [`Skipped`] entry with file:line:col for every rule
//! that cannot be used.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::ast::{Action, Location, Rule};
use crate::classification::Classifications;
use crate::error::ErrorKind;
use crate::parse::parse_rule;
use crate::vars::Vars;

/// Why a rule was skipped: a stable short category (what reports group by) and a precise
/// message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkipReason {
    /// E.g. `"unsupported keyword: lua"`, `"syntax error"`, `"duplicate sid"`.
    pub category: String,
    /// What is wrong with this rule.
    pub message: String,
}

/// A rule that was not loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// The rule file.
    pub file: PathBuf,
    /// 1-based line of the problem (the rule's first line when there is no better place).
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// Why.
    pub reason: SkipReason,
}

impl fmt::Display for Skipped {
    /// `FILE:LINE:COL: message`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.line,
            self.column,
            self.reason.message
        )
    }
}

/// The rules loaded and the rules skipped.
#[derive(Clone, Debug, Default)]
pub struct RuleSet {
    /// Rules that loaded, in file order.
    pub rules: Vec<Rule>,
    /// Rules that did not, with the reason.
    pub skipped: Vec<Skipped>,
    /// Commented-out rules (`#alert …`) seen; they are ignored.
    pub commented: usize,
    /// (gid, sid) → index in `rules`.
    sids: HashMap<(u32, u32), usize>,
}

impl RuleSet {
    /// An empty set.
    pub fn new() -> Self {
        RuleSet::default()
    }

    /// Adds the rules of one file's text. `file` is only used for locations. With
    /// `classes`, a rule's classtype must be in it and fills [`crate::Meta::class`].
    pub fn add_text(
        &mut self,
        file: &Path,
        text: &str,
        vars: &Vars,
        classes: Option<&Classifications>,
    ) {
        for l in logical_lines(text) {
            let trimmed = l.text.trim_start();
            let lead = l.text.len() - trimmed.len();
            let body = trimmed.trim_end();
            if body.is_empty() {
                continue;
            }
            if let Some(c) = body.strip_prefix('#') {
                if looks_like_rule(c) {
                    self.commented += 1;
                }
                continue;
            }
            let (first_line, _) = l.position(lead);
            let skip = |offset: usize, category: String, message: String| {
                let (line, column) = l.position(lead + offset);
                Skipped {
                    file: file.to_path_buf(),
                    line,
                    column,
                    reason: SkipReason { category, message },
                }
            };
            let mut rule = match parse_rule(body, vars) {
                Ok(r) => r,
                Err(e) => {
                    self.skipped
                        .push(skip(e.offset, e.category(), e.message.clone()));
                    continue;
                }
            };
            if let (Some(classes), Some(ct)) = (classes, &rule.meta.classtype) {
                match classes.get(ct) {
                    Some(c) => rule.meta.class = Some(c.clone()),
                    None => {
                        let at = body.find("classtype").unwrap_or(0);
                        self.skipped.push(skip(
                            at,
                            ErrorKind::UnknownClasstype(ct.clone()).category(),
                            format!("classtype `{ct}` is not in the classification file"),
                        ));
                        continue;
                    }
                }
            }
            let key = (rule.meta.gid, rule.meta.sid);
            if let Some(&first) = self.sids.get(&key) {
                let at = body.find("sid").unwrap_or(0);
                let prev = self.rules[first]
                    .location
                    .as_ref()
                    .map_or_else(|| "an earlier rule".to_string(), |l| l.to_string());
                self.skipped.push(skip(
                    at,
                    "duplicate sid".to_string(),
                    format!("sid {}:{} is already used by {prev}", key.0, key.1),
                ));
                continue;
            }
            rule.location = Some(Location {
                file: file.to_path_buf(),
                line: first_line,
            });
            self.sids.insert(key, self.rules.len());
            self.rules.push(rule);
        }
    }

    /// A summary of what loaded and why the rest did not.
    pub fn report(&self) -> crate::Report {
        crate::Report::new(self)
    }
}

/// Whether the text after a `#` is a disabled rule rather than a comment.
fn looks_like_rule(s: &str) -> bool {
    let t = s.trim_start();
    Action::ALL.iter().any(|(name, _)| {
        t.strip_prefix(name)
            .is_some_and(|r| r.starts_with(char::is_whitespace))
    })
}

/// Loads rule files. An unreadable file (or classification file) is an error; a rule that
/// cannot be used is recorded in [`RuleSet::skipped`] and the loading goes on.
///
/// ```no_run
/// use std::path::{Path, PathBuf};
/// let set = nta_rules::load_files(
///     &[PathBuf::from("rules/emerging-dns.rules")],
///     &nta_rules::Vars::default(),
///     Some(Path::new("rules/classification.config")),
/// ).unwrap();
/// println!("{}", set.report().to_text());
/// ```
pub fn load_files(
    paths: &[PathBuf],
    vars: &Vars,
    classification: Option<&Path>,
) -> io::Result<RuleSet> {
    let classes = match classification {
        Some(p) => Some(load_classification(p)?),
        None => None,
    };
    let mut set = RuleSet::new();
    for path in paths {
        let bytes = std::fs::read(path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        // Rule files are ASCII in practice; other bytes are replaced, never a reason to
        // fail the whole file.
        let text = String::from_utf8_lossy(&bytes);
        set.add_text(path, &text, vars, classes.as_ref());
    }
    Ok(set)
}

/// Reads a classification file; a malformed line is an `InvalidData` error naming
/// `FILE:LINE:COL`.
pub fn load_classification(path: &Path) -> io::Result<Classifications> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    Classifications::parse(&text).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}:{e}", path.display()),
        )
    })
}

/// A rule as one line, with where each piece came from.
struct Logical {
    text: String,
    /// (offset in `text`, file line, byte offset of that piece in its physical line).
    pieces: Vec<(usize, usize, usize)>,
    /// The physical lines, for columns in characters.
    lines: Vec<String>,
}

impl Logical {
    /// File line and 1-based character column of byte `offset` of `text`.
    fn position(&self, offset: usize) -> (usize, usize) {
        let idx = self
            .pieces
            .partition_point(|&(start, _, _)| start <= offset)
            .saturating_sub(1);
        let Some(&(start, line, col0)) = self.pieces.get(idx) else {
            return (1, 1);
        };
        let phys = self.lines.get(idx).map_or("", String::as_str);
        let mut byte = (offset - start + col0).min(phys.len());
        while !phys.is_char_boundary(byte) {
            byte -= 1;
        }
        (line, phys[..byte].chars().count() + 1)
    }
}

/// Joins lines ending in `\` with the next one (the backslash is removed, as in Suricata).
fn logical_lines(text: &str) -> Vec<Logical> {
    let mut out = Vec::new();
    let mut cur: Option<Logical> = None;
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let l = cur.get_or_insert_with(|| Logical {
            text: String::new(),
            pieces: Vec::new(),
            lines: Vec::new(),
        });
        l.pieces.push((l.text.len(), i + 1, 0));
        l.lines.push(line.to_string());
        let content = line.trim_end();
        if let Some(head) = content.strip_suffix('\\') {
            l.text.push_str(head);
            continue;
        }
        l.text.push_str(line);
        if let Some(done) = cur.take() {
            out.push(done);
        }
    }
    if let Some(done) = cur.take() {
        if !done.text.trim().is_empty() {
            out.push(done);
        }
    }
    out
}
