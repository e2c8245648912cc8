//! `[rules]`: the signature rule files, their classification file and their variables.

use std::collections::BTreeMap;
use std::path::PathBuf;

use nta_detect::Engine;
use nta_rules::{load_files, RuleSet, Vars};
use serde::Deserialize;

/// `[rules]`
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RulesSection {
    /// Rule files (Suricata syntax), loaded in order.
    pub files: Vec<PathBuf>,
    /// `classification.config` (class types and their priorities); default: the one beside
    /// the first rule file, if there is one.
    pub classification: Option<PathBuf>,
    /// `[rules.address-groups]`: `HOME_NET = "[10.0.0.0/8]"`, … (Suricata's defaults for the
    /// rest).
    #[serde(rename = "address-groups")]
    pub address_groups: BTreeMap<String, String>,
    /// `[rules.port-groups]`: `HTTP_PORTS = "[80,8080]"`, …
    #[serde(rename = "port-groups")]
    pub port_groups: BTreeMap<String, String>,
}

/// Why rules could not be loaded at all (a rule that does not parse is skipped, not an error).
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// A variable does not parse.
    #[error("[rules] variable `{name}`: {message}")]
    Var {
        /// The variable.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A file could not be read.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl RulesSection {
    /// Suricata's default variables with this section's overrides, checked.
    pub fn vars(&self) -> Result<Vars, RulesError> {
        let mut vars = Vars::default();
        for (k, v) in &self.address_groups {
            vars.set_address(k, v);
        }
        for (k, v) in &self.port_groups {
            vars.set_port(k, v);
        }
        vars.check().map_err(|(name, e)| RulesError::Var {
            name,
            message: e.to_string(),
        })?;
        Ok(vars)
    }

    /// Loads `files` (or this section's files when empty), with the classification file
    /// given, else the section's, else a `classification.config` beside the first file.
    pub fn load(
        &self,
        files: &[PathBuf],
        classification: Option<&PathBuf>,
    ) -> Result<RuleSet, RulesError> {
        let files = if files.is_empty() { &self.files } else { files };
        let beside = files
            .first()
            .and_then(|f| f.parent())
            .map(|d| d.join("classification.config"))
            .filter(|p| p.is_file());
        let class = classification
            .cloned()
            .or_else(|| self.classification.clone())
            .or(beside);
        Ok(load_files(files, &self.vars()?, class.as_deref())?)
    }

    /// Loads the rules and compiles them: the engine, and the set as it ended up (rules the
    /// engine cannot evaluate moved from `rules` to `skipped`, so that its report counts
    /// what will really match).
    pub fn compile(
        &self,
        files: &[PathBuf],
        classification: Option<&PathBuf>,
    ) -> Result<(Engine, RuleSet), RulesError> {
        let mut set = self.load(files, classification)?;
        let engine = Engine::build(&set);
        if !engine.skipped().is_empty() {
            let ids: std::collections::HashSet<(u32, u32)> =
                engine.skipped_ids().iter().copied().collect();
            set.rules
                .retain(|r| !ids.contains(&(r.meta.gid, r.meta.sid)));
            set.skipped.extend(engine.skipped().iter().cloned());
            set.skipped
                .sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        }
        Ok((engine, set))
    }
}

/// Rule files from paths given by the user: a file as is, a directory as its `*.rules` files
/// (sorted). The error names the directory.
pub fn expand_rule_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        if !p.is_dir() {
            out.push(p.clone());
            continue;
        }
        let mut found: Vec<PathBuf> = std::fs::read_dir(p)
            .map_err(|e| format!("reading the rule directory {}: {e}", p.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|f| f.is_file() && f.extension().is_some_and(|x| x == "rules"))
            .collect();
        if found.is_empty() {
            return Err(format!(
                "{}: no *.rules file in this directory",
                p.display()
            ));
        }
        found.sort();
        out.extend(found);
    }
    Ok(out)
}
