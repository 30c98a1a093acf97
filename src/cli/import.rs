//! `devproxy import FILE`: the proxy rules of a Vite, webpack, umi, CRA or Angular JavaScript
//! config, evaluated by the project's own Node (and Vite), printed as proxy.conf.json with a
//! comment at each rule for what was not carried over. `--write` saves it beside FILE.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use serde_json::Value;

use super::ImportArgs;
use crate::config::js;
use crate::config::Severity;
use crate::rules::RuleSet;

pub(super) fn run(args: ImportArgs) -> ExitCode {
    let file = &args.file;
    let Some(kind) = js::kind_of(file) else {
        eprintln!(
            "error: {}: not a config devproxy can import; it reads vite.config.{{js,ts,mjs}}, webpack.config.js, .umirc.ts or config/config.ts, src/setupProxy.js and proxy.conf.{{js,mjs,cjs}}",
            file.display()
        );
        return ExitCode::from(2);
    };
    let evaluated = match js::evaluate_as(file, kind) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let rules: Value = serde_json::from_str(&evaluated.json).unwrap_or(Value::Null);
    let notes: Vec<(String, String)> = evaluated
        .diagnostics
        .iter()
        .map(|d| (d.rule.clone().unwrap_or_default(), d.message.clone()))
        .collect();
    let text = render(file, &rules, &notes);
    // What devproxy makes of it, said before it is used.
    let out_name = Path::new("proxy.conf.json");
    match RuleSet::parse(out_name, &text) {
        Ok(set) => {
            for d in set
                .diagnostics
                .iter()
                .filter(|d| d.severity == Severity::Error)
            {
                eprintln!("{d}");
            }
        }
        Err(e) => eprintln!("error: {e}"),
    }
    for d in &evaluated.diagnostics {
        eprintln!("{d}");
    }
    if !args.write {
        print!("{text}");
        return ExitCode::SUCCESS;
    }
    let dest = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join(out_name);
    if dest.exists() {
        eprintln!(
            "error: {} exists and is left as it is; print the rules instead (devproxy import {}) and merge them",
            dest.display(),
            file.display()
        );
        return ExitCode::FAILURE;
    }
    match std::fs::write(&dest, text) {
        Ok(()) => {
            eprintln!("wrote {}", dest.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: cannot write {}: {e}", dest.display());
            ExitCode::FAILURE
        }
    }
}

/// The rules as JSONC: the object or array form as the source had it, two-space indented, with
/// `// not carried over:` lines above the rules they concern.
fn render(file: &Path, rules: &Value, notes: &[(String, String)]) -> String {
    let mut s = format!(
        "// Imported by devproxy from {}; devproxy, Angular and webpack-dev-server read it.\n",
        file.display()
    );
    let comments = |s: &mut String, rule: &str| {
        for (_, message) in notes.iter().filter(|(r, _)| r == rule) {
            let _ = writeln!(s, "  // {message}");
        }
    };
    let indented = |v: &Value| {
        serde_json::to_string_pretty(v)
            .unwrap_or_default()
            .replace('\n', "\n  ")
    };
    match rules {
        Value::Object(map) => {
            s.push_str("{\n");
            let n = map.len();
            for (i, (key, rule)) in map.iter().enumerate() {
                comments(&mut s, key);
                let comma = if i + 1 < n { "," } else { "" };
                let _ = writeln!(
                    s,
                    "  {}: {}{comma}",
                    Value::String(key.clone()),
                    indented(rule)
                );
            }
            s.push_str("}\n");
        }
        Value::Array(items) => {
            s.push_str("[\n");
            let n = items.len();
            for (i, rule) in items.iter().enumerate() {
                let name = match &rule["context"] {
                    Value::Array(c) => c
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(", "),
                    Value::String(c) => c.clone(),
                    _ => String::new(),
                };
                comments(&mut s, &name);
                let comma = if i + 1 < n { "," } else { "" };
                let _ = writeln!(s, "  {}{comma}", indented(rule));
            }
            s.push_str("]\n");
        }
        _ => s.push_str("{}\n"),
    }
    s
}
