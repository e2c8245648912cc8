//! Loads every ET Open 2020 rule file with its classification.config and checks that at
//! least 97% of the active rules load (the README of the data set counts 17,417 active
//! rules), printing the skip reasons with their counts.

use std::path::{Path, PathBuf};
use std::time::Instant;

use nta_rules::{load_files, RegexEngine, Test, Vars};

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/rules/et-open-2020"
);

/// Active rules in the data set, as its README says.
const ACTIVE_RULES: usize = 17_417;

#[test]
fn et_open_2020_loads() {
    let Ok(dir) = Path::new(DIR).canonicalize() else {
        println!("SKIPPED: {DIR} is absent");
        return;
    };
    let dir = dir.as_path();
    let Ok(entries) = std::fs::read_dir(dir) else {
        println!("SKIPPED: {} cannot be read", dir.display());
        return;
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "rules"))
        .collect();
    files.sort();
    if files.is_empty() {
        println!("SKIPPED: no .rules file in {}", dir.display());
        return;
    }
    let started = Instant::now();
    let set = load_files(
        &files,
        &Vars::default(),
        Some(&dir.join("classification.config")),
    )
    .expect("the rule files are readable");
    let report = set.report();
    println!("{} files in {:.1?}", files.len(), started.elapsed());
    println!("{}", report.to_text());
    let (mut plain, mut fancy) = (0, 0);
    for m in set.rules.iter().flat_map(|r| &r.matches) {
        if let Test::Pcre(p) = &m.test {
            match p.engine {
                RegexEngine::Regex => {
                    // The load checks with the regex crate's parser; compiling every tenth
                    // shows that the engine can build what the check accepted.
                    if plain % 10 == 0 {
                        regex::bytes::RegexBuilder::new(&p.rust_pattern())
                            .unicode(false)
                            .build()
                            .unwrap_or_else(|e| panic!("/{}/: {e}", p.pattern));
                    }
                    plain += 1;
                }
                RegexEngine::Fancy => fancy += 1,
            }
        }
    }
    println!("pcre: {plain} for the regex crate, {fancy} need fancy-regex");
    for s in &set.skipped {
        println!("  {s}");
    }
    assert_eq!(report.loaded + report.skipped, ACTIVE_RULES);
    assert!(
        report.loaded * 100 >= ACTIVE_RULES * 97,
        "only {} of {ACTIVE_RULES} rules loaded",
        report.loaded
    );
}
