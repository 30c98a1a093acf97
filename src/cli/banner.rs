//! What `serve` prints at start and `check` prints first: where devproxy listens and the rules
//! as it understood them.

use std::fmt::Write as _;

use crate::rules::RuleSet;
use crate::Server;

/// The start-up banner: version, directory, URL, rules, and the watched file.
pub(super) fn banner(server: &Server) -> String {
    let mut s = String::new();
    let options = &server.options;
    let port = server.local_addr().port();
    let scheme = server.scheme();
    let _ = writeln!(
        s,
        "devproxy {}  serving {}",
        env!("CARGO_PKG_VERSION"),
        options.dir.display()
    );
    match options.host.as_deref() {
        None => {
            let _ = writeln!(s, "  Local:   {scheme}://localhost:{port}{}", server.base);
        }
        Some(_) => {
            for a in &server.addrs {
                let _ = writeln!(s, "  Listen:  {scheme}://{a}{}", server.base);
            }
        }
    }
    if let Some((about, trust)) = &server.https {
        let _ = writeln!(s, "  HTTPS: {about}; HTTP/2 on, http:// is redirected");
        if let Some(trust) = trust {
            let _ = writeln!(s, "  Note: {trust}");
        }
    }
    if let Some(from) = server.base_from {
        let _ = writeln!(
            s,
            "  (served under {}, from {from}; --base / serves it at the root)",
            server.base
        );
    }
    if options.inspector {
        let _ = writeln!(s, "  Inspector: {scheme}://localhost:{port}/__devproxy/");
    }
    if options.live_reload {
        let _ = writeln!(
            s,
            "  Live reload: pages reload when {} changes (--no-live-reload turns it off)",
            options.dir.display()
        );
    }
    if options.port != 0 && port != options.port {
        let _ = writeln!(s, "  (port {} was in use, so {port} is used)", options.port);
    }
    match (&options.config, &options.await_config) {
        (None, awaited) => {
            let _ = writeln!(
                s,
                "  No proxy.conf.json found: serving files only (name one with --config)."
            );
            if options.watch && !awaited.is_empty() {
                // The JSON names: the JavaScript ones are found too, but need no mention here.
                let names: Vec<String> = awaited
                    .iter()
                    .take(2)
                    .map(|f| f.display().to_string())
                    .collect();
                let _ = writeln!(
                    s,
                    "  Create {} and its rules apply at once.",
                    names.join(" or ")
                );
            }
        }
        (Some(file), _) => {
            let watching = if options.watch {
                ", watching for changes"
            } else {
                ""
            };
            let _ = writeln!(s, "  Rules from {}{watching}:", file.display());
            s.push_str(&rules_table(&server.rules()));
        }
    }
    s
}

/// The rules as an aligned table, one per line, problems marked.
pub(super) fn rules_table(rules: &RuleSet) -> String {
    let mut s = String::new();
    if rules.rules.is_empty() {
        s.push_str("    (no rules)\n");
    }
    let width = rules
        .rules
        .iter()
        .map(|r| r.name.chars().count())
        .max()
        .unwrap_or(0);
    for r in &rules.rules {
        let pad = width - r.name.chars().count();
        let _ = writeln!(s, "    {}{} {}", r.name, " ".repeat(pad), r.summary);
    }
    s
}
