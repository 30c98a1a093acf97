//! Every real-world config in the corpus loads: no file is rejected as a whole, and each yields
//! rules. The corpus is `$DEVPROXY_CORPUS` (CI sets it, and a named folder that is missing
//! fails the test), else `../shared/corpus` when present; without either the test says loudly
//! that it checked nothing.

use std::path::{Path, PathBuf};

use devproxy::RuleSet;

/// The corpus folder, or `None` when none is named and the default is absent.
fn corpus() -> Option<PathBuf> {
    if let Some(named) = std::env::var_os("DEVPROXY_CORPUS") {
        let dir = PathBuf::from(named);
        assert!(
            dir.is_dir(),
            "DEVPROXY_CORPUS={} is not a folder: the corpus check cannot run",
            dir.display()
        );
        return Some(dir);
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    dir.is_dir().then_some(dir)
}

#[test]
fn every_corpus_file_loads() {
    let Some(dir) = corpus() else {
        eprintln!(
            "SKIPPED every_corpus_file_loads: no corpus (set DEVPROXY_CORPUS, or put it in ../shared/corpus); NOTHING WAS CHECKED"
        );
        return;
    };
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut files: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let mut usable = 0;
    for f in &files {
        let set = RuleSet::load(f).unwrap_or_else(|e| panic!("{e}"));
        assert!(!set.rules().is_empty(), "{}: no rules", f.display());
        if set.rules().iter().any(|r| r.problem().is_none()) {
            usable += 1;
        }
    }
    // A few files are broken on purpose upstream (no scheme, bad port); all others work.
    assert!(
        usable + 4 >= files.len(),
        "only {usable} of {} usable",
        files.len()
    );
}

#[test]
fn bundled_configs_load_without_diagnostics() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for file in ["proxy.conf.example.json", "fixtures/proxy.conf.json"] {
        let set = RuleSet::load(&root.join(file)).unwrap_or_else(|e| panic!("{e}"));
        let messages: Vec<String> = set.diagnostics().iter().map(|d| d.to_string()).collect();
        assert!(messages.is_empty(), "{file}: {messages:?}");
        assert!(set.rules().len() >= 3, "{file}");
    }
}
