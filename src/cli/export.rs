//! `devproxy export nginx|caddy`: the rules and DIR as a production server's config, on
//! standard output; what it cannot express on standard error.

use std::process::ExitCode;

use super::ExportArgs;
use crate::config::Severity;
use crate::export::{Server, Site};
use crate::rules::RuleSet;

pub(super) fn run(args: ExportArgs) -> ExitCode {
    let server = match args.server.as_str() {
        "nginx" => Server::Nginx,
        "caddy" => Server::Caddy,
        other => {
            eprintln!("error: cannot export for \"{other}\"; say nginx or caddy");
            return ExitCode::from(2);
        }
    };
    let file = super::config_file(args.config.as_deref());
    let rules = match &file {
        Some(f) => match RuleSet::load(f) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        },
        None => RuleSet::default(),
    };
    for d in &rules.diagnostics {
        if d.severity == Severity::Error {
            eprintln!("{d}");
        }
    }
    let dir = match args.dir {
        Some(d) => d,
        None => crate::project::default_dir().0,
    };
    let dir = std::path::absolute(&dir).unwrap_or(dir);
    let base = args
        .base
        .or_else(|| crate::project::base_href(&dir))
        .unwrap_or_else(|| "/".into());
    let site = Site {
        dir,
        port: args.port,
        base: format!("/{}/", base.trim_matches('/')).replace("//", "/"),
        spa: !args.no_spa,
        rules: &rules,
        placeholders: &rules.placeholders,
        source: file.map_or_else(|| "no config file".into(), |f| f.display().to_string()),
    };
    let exported = crate::export::export(server, &site);
    print!("{}", exported.text);
    for w in &exported.warnings {
        eprintln!("warning: {w}");
    }
    ExitCode::SUCCESS
}
