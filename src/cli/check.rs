//! `devproxy check`: load a config, show the normalised rules and every diagnostic, and say
//! where given paths would go.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use super::CheckArgs;
use crate::config::Severity;
use crate::rules::RuleSet;

pub(super) fn run(args: CheckArgs) -> ExitCode {
    let file = super::config_file(args.config.as_deref());
    let code = check(
        file.as_deref(),
        &args.paths,
        &mut std::io::stdout(),
        &mut std::io::stderr(),
    );
    ExitCode::from(code)
}

/// Runs the check and returns the exit code: 0 usable (warnings allowed), 1 errors.
fn check(file: Option<&Path>, paths: &[String], out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let Some(file) = file else {
        let _ = writeln!(
            err,
            "error: no config file found (looked for proxy.conf.json, .js, .mjs and .cjs, here and in src/); name one with --config"
        );
        return 1;
    };
    let rules = match RuleSet::load(file) {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return 1;
        }
    };
    let n = rules.rules.len();
    let _ = writeln!(
        out,
        "{}: {n} rule{}",
        file.display(),
        if n == 1 { "" } else { "s" }
    );
    let _ = write!(out, "{}", super::banner::rules_table(&rules));
    for d in &rules.diagnostics {
        let _ = writeln!(err, "{d}");
    }
    for p in paths {
        let path = p.split(['?', '#']).next().unwrap_or(p);
        match rules.find(path) {
            Some(rule) => match (&rule.problem, rule.upstream_url(p)) {
                (None, Some(url)) => {
                    let _ = writeln!(out, "{p} → {url}  (rule \"{}\")", rule.name);
                }
                (problem, _) => {
                    let _ = writeln!(
                        out,
                        "{p} → 502 from rule \"{}\": {}",
                        rule.name,
                        problem.as_deref().unwrap_or("no usable target")
                    );
                }
            },
            None => {
                let _ = writeln!(
                    out,
                    "{p} → no rule: a static file, or index.html for page navigations (SPA fallback)"
                );
            }
        }
    }
    let errors = rules
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let warnings = rules.diagnostics.len() - errors;
    if errors > 0 || warnings > 0 {
        let _ = writeln!(err, "{errors} error(s), {warnings} warning(s)");
    }
    u8::from(rules.has_errors())
}
