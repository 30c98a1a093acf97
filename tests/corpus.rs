//! Every real-world config in `../shared/corpus` loads: no file is rejected as a whole, and
//! each yields rules. Skipped (with a note) where that folder is absent.

use std::path::Path;

use devproxy::RuleSet;

#[test]
fn every_corpus_file_loads() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("skipped: {} is absent", dir.display());
        return;
    };
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
