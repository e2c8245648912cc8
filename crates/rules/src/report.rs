//! What loaded and why the rest did not, grouped by reason.

use std::collections::HashMap;

use serde::Serialize;

use crate::loader::RuleSet;

/// A load summary: counts, and the skip reasons with their count and one example each.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Rules loaded.
    pub loaded: usize,
    /// Rules skipped.
    pub skipped: usize,
    /// Commented-out rules (not counted as skipped).
    pub commented: usize,
    /// Skip reasons, most frequent first.
    pub reasons: Vec<ReasonCount>,
}

/// One skip reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReasonCount {
    /// The stable category (`"unsupported keyword: lua"`).
    pub reason: String,
    /// How many rules.
    pub count: usize,
    /// `FILE:LINE` of the first one.
    pub example: String,
    /// The first one's message.
    pub message: String,
}

impl Report {
    /// Summarises a rule set.
    pub fn new(set: &RuleSet) -> Self {
        let mut index: HashMap<&str, usize> = HashMap::new();
        let mut reasons: Vec<ReasonCount> = Vec::new();
        for s in &set.skipped {
            match index.get(s.reason.category.as_str()) {
                Some(&i) => reasons[i].count += 1,
                None => {
                    index.insert(&s.reason.category, reasons.len());
                    reasons.push(ReasonCount {
                        reason: s.reason.category.clone(),
                        count: 1,
                        example: format!("{}:{}", s.file.display(), s.line),
                        message: s.reason.message.clone(),
                    });
                }
            }
        }
        reasons.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.reason.cmp(&b.reason)));
        Report {
            loaded: set.rules.len(),
            skipped: set.skipped.len(),
            commented: set.commented,
            reasons,
        }
    }

    /// Share of the active rules that loaded, in percent (100 when there is none).
    pub fn loaded_percent(&self) -> f64 {
        let total = self.loaded + self.skipped;
        if total == 0 {
            100.0
        } else {
            self.loaded as f64 * 100.0 / total as f64
        }
    }

    /// For people:
    ///
    /// ```text
    /// rules: 17300 loaded, 117 skipped (99.33% loaded), 0 commented out
    ///     45  unsupported keyword: asn1  e.g. emerging-exploit.rules:123: unsupported keyword `asn1`
    /// ```
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "rules: {} loaded, {} skipped ({:.2}% loaded), {} commented out\n",
            self.loaded,
            self.skipped,
            self.loaded_percent(),
            self.commented
        );
        let width = self
            .reasons
            .iter()
            .map(|r| r.reason.len())
            .max()
            .unwrap_or(0);
        for r in &self.reasons {
            out.push_str(&format!(
                "{:>7}  {:<width$}  e.g. {}: {}\n",
                r.count, r.reason, r.example, r.message
            ));
        }
        out
    }

    /// As JSON: `{"loaded":…,"skipped":…,"commented":…,"reasons":[{"reason":…,"count":…,
    /// "example":…,"message":…}]}`.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_string())
    }
}
