//! Hot reload: a small actor that watches the config file's directory, debounces, loads,
//! checks, and swaps the whole rule set at once, keeping the last good one on error.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;

use crate::config::{LoadError, Severity};
use crate::rules::{LiveRules, RuleSet, Summary};

/// Editors write a file in several steps; wait this long after the last event before loading.
const DEBOUNCE: Duration = Duration::from_millis(40);

/// Starts watching `files`: the config file, or the places one may be created (then the first
/// that exists is loaded), and the local modules a JavaScript config reads. The watcher lives
/// as long as the returned task.
pub(crate) fn spawn(
    files: Vec<PathBuf>,
    rules: Arc<LiveRules>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let (tx, mut rx) = mpsc::unbounded_channel::<()>();
    // `.env` beside the config feeds its ${VAR}s, so it counts as part of it.
    let fixed: Vec<OsString> = files
        .iter()
        .filter_map(|f| f.file_name().map(OsString::from))
        .chain([OsString::from(".env")])
        .collect();
    let names = Arc::new(Mutex::new(fixed.clone()));
    let ours = names.clone();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        // Reading the file (ours included) is not a change: reacting to it would reload
        // forever.
        if matches!(event.kind, notify::EventKind::Access(_)) {
            return;
        }
        let names = ours.lock().unwrap_or_else(|e| e.into_inner());
        let ours = |p: &PathBuf| p.file_name().is_some_and(|n| names.iter().any(|m| m == n));
        if event.paths.iter().any(ours) {
            let _ = tx.send(());
        }
    })
    .context("cannot start the file watcher")?;
    // Editors that save by writing a new file and renaming it over the old one replace the
    // inode, so directories are watched, not files. Only the first must exist.
    let mut watched: Vec<PathBuf> = Vec::new();
    for dir in files.iter().map(|f| parent(f)) {
        if watched.contains(&dir) || (!watched.is_empty() && !dir.is_dir()) {
            continue;
        }
        watcher
            .watch(&dir, RecursiveMode::NonRecursive)
            .with_context(|| format!("cannot watch {}", dir.display()))?;
        watched.push(dir);
    }
    let mut sources = Sources {
        fixed,
        names,
        watched,
    };
    sources.follow(&mut watcher, &rules.current().sources);
    Ok(tokio::spawn(async move {
        let mut last_error: Option<LoadError> = None;
        while rx.recv().await.is_some() {
            tokio::time::sleep(DEBOUNCE).await;
            while rx.try_recv().is_ok() {}
            let Some(file) = files
                .iter()
                .find(|f| f.is_file())
                .or(files.first())
                .cloned()
            else {
                continue;
            };
            tracing::debug!("{} changed on disk; reading it", file.display());
            // A JavaScript config runs Node: off the runtime's threads.
            let live = rules.clone();
            let job = tokio::task::spawn_blocking(move || {
                reload(&file, &live, &mut last_error);
                last_error
            });
            last_error = job.await.unwrap_or(None);
            sources.follow(&mut watcher, &rules.current().sources);
        }
    }))
}

/// The files beyond the config that count as part of it (a JavaScript config's modules), kept
/// in step with the rules in force.
struct Sources {
    /// The config's own names and `.env`.
    fixed: Vec<OsString>,
    /// What the watcher reacts to: `fixed` and the sources' names.
    names: Arc<Mutex<Vec<OsString>>>,
    watched: Vec<PathBuf>,
}

impl Sources {
    fn follow(&mut self, watcher: &mut notify::RecommendedWatcher, sources: &[PathBuf]) {
        let mut names = self.fixed.clone();
        for file in sources {
            if let Some(n) = file.file_name() {
                names.push(n.to_os_string());
            }
            let dir = parent(file);
            if !self.watched.contains(&dir)
                && watcher.watch(&dir, RecursiveMode::NonRecursive).is_ok()
            {
                self.watched.push(dir);
            }
        }
        *self.names.lock().unwrap_or_else(|e| e.into_inner()) = names;
    }
}

/// The directory holding `file` (`.` for a bare name).
fn parent(file: &Path) -> PathBuf {
    match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Loads the file once and swaps it in if it is usable and different.
pub(crate) fn reload(file: &Path, rules: &LiveRules, last_error: &mut Option<LoadError>) {
    match rules.load(file) {
        Ok(new) => {
            let old = rules.current();
            let changes = diff(&old, &new);
            let same_diagnostics = old.diagnostics == new.diagnostics;
            if changes.is_empty() && same_diagnostics && last_error.is_none() {
                return;
            }
            for d in &new.diagnostics {
                if !old.diagnostics.contains(d) {
                    match d.severity {
                        Severity::Error => tracing::error!("{}", d.located()),
                        Severity::Warning => tracing::warn!("{}", d.located()),
                    }
                }
            }
            let count = new.rules.len();
            rules.replace(new);
            *last_error = None;
            if changes.is_empty() {
                tracing::info!("{} reloaded, rules unchanged", file.display());
            } else {
                tracing::info!(
                    "{} reloaded: {count} rule{}",
                    file.display(),
                    if count == 1 { "" } else { "s" }
                );
                for c in changes {
                    tracing::info!("  {c}");
                }
            }
        }
        Err(e) => {
            if last_error.as_ref() != Some(&e) {
                tracing::error!("{e}");
                tracing::error!("keeping the previous rules until the file is fixed");
            }
            *last_error = Some(e);
        }
    }
}

/// Lines saying what changed between two rule sets: `+ added`, `- removed`, `~ changed`.
fn diff(old: &RuleSet, new: &RuleSet) -> Vec<String> {
    let before: HashMap<&str, &Summary> = old
        .rules
        .iter()
        .map(|r| (r.name.as_str(), &r.summary))
        .collect();
    let after: HashMap<&str, &Summary> = new
        .rules
        .iter()
        .map(|r| (r.name.as_str(), &r.summary))
        .collect();
    let mut out = Vec::new();
    for r in &new.rules {
        match before.get(r.name.as_str()) {
            None => out.push(format!("+ {}", r.describe())),
            Some(s) if **s != r.summary => {
                out.push(format!("~ {}: {}", r.name, s.changes_to(&r.summary)));
            }
            _ => {}
        }
    }
    for r in &old.rules {
        if !after.contains_key(r.name.as_str()) {
            out.push(format!("- {}", r.name));
        }
    }
    let order = |s: &RuleSet| s.rules.iter().map(|r| r.name.clone()).collect::<Vec<_>>();
    if out.is_empty() && order(old) != order(new) {
        out.push("rules reordered (the first match wins)".into());
    }
    out
}
