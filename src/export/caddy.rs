//! The Caddyfile: one site. Rules become `handle` blocks with regex matchers in file order
//! (Caddy keeps that order for matchers that are not plain paths, and takes the first), then
//! one `handle` for DIR.

use std::fmt::Write as _;

use super::{hashed, whole_path_rewrite, Exported, Plan, Site};

pub(super) fn write(site: &Site<'_>, plans: &[Plan]) -> Exported {
    let mut s = String::new();
    let mut warnings = Vec::new();
    let _ = writeln!(
        s,
        "# devproxy export caddy: {} served as devproxy serves it, with the rules of {}.\n",
        site.dir.display(),
        site.source
    );
    let _ = writeln!(s, ":{} {{", site.port);
    let _ = writeln!(s, "\troot * {}", quote(&site.dir.display().to_string()));
    for (i, p) in plans.iter().enumerate() {
        s.push('\n');
        rule(&mut s, i + 1, p, &mut warnings);
    }
    files(&mut s, site);
    s.push_str("}\n");
    Exported { text: s, warnings }
}

fn rule(s: &mut String, n: usize, p: &Plan, warnings: &mut Vec<String>) {
    let _ = writeln!(s, "\t# rule \"{}\"", p.name);
    for gap in &p.gaps {
        let _ = writeln!(s, "\t# not carried over: {gap}");
    }
    if !p.usable() {
        return;
    }
    let _ = writeln!(s, "\t@rule{n} path_regexp rule{n} {}", quote(&p.pattern()));
    let _ = writeln!(s, "\thandle @rule{n} {{\n\t\troute {{");
    let mut rewritten = false;
    for (re, to) in &p.rewrites {
        match whole_path_rewrite(re, to, &p.base_path) {
            Some((re, to)) if !rewritten => {
                let _ = writeln!(
                    s,
                    "\t\t\turi path_regexp {} {}",
                    quote(&re),
                    quote(&braced(&to))
                );
                rewritten = true;
            }
            Some(_) => {
                let gap = format!("pathRewrite \"{re}\" after the first: Caddy would apply every entry, devproxy only the first that matches");
                let _ = writeln!(s, "\t\t\t# not carried over: {gap}");
                warnings.push(format!("rule \"{}\": {gap}", p.name));
            }
            None => {
                let gap = format!("pathRewrite \"{re}\": \"{to}\" uses JavaScript's $&, $` or $'");
                let _ = writeln!(s, "\t\t\t# not carried over: {gap}");
                warnings.push(format!("rule \"{}\": {gap}", p.name));
            }
        }
    }
    if !p.base_path.is_empty() && !rewritten {
        let base = p.base_path.trim_end_matches('/');
        let _ = writeln!(
            s,
            "\t\t\trewrite * {}",
            quote(&format!("{base}{{path}}?{{query}}"))
        );
    }
    let upstream = p.upstream.as_deref().unwrap_or_default();
    // `${VAR}` as written becomes Caddy's own environment placeholder.
    let upstream = super::placeholders(upstream, |name, default| match default {
        Some(d) => format!("{{${name}:{d}}}"),
        None => format!("{{${name}}}"),
    });
    let _ = writeln!(s, "\t\t\treverse_proxy {upstream} {{");
    if p.change_origin {
        s.push_str("\t\t\t\theader_up Host {upstream_hostport}\n");
    }
    if !p.xfwd {
        s.push_str("\t\t\t\theader_up -X-Forwarded-For\n\t\t\t\theader_up -X-Forwarded-Proto\n\t\t\t\theader_up -X-Forwarded-Host\n");
    }
    for (k, v) in &p.headers {
        let _ = writeln!(s, "\t\t\t\theader_up {k} {}", quote(v));
    }
    if p.rewrite_origin {
        let scheme = if p.tls { "https" } else { "http" };
        let _ = writeln!(
            s,
            "\t\t\t\theader_up Origin {}",
            quote(&format!("{scheme}://{}", p.authority))
        );
    }
    for (from, to) in &p.cookie_domains {
        let find = match from.as_str() {
            "*" => "(?i)domain=[^;]*".to_string(),
            f => format!("(?i)domain={}", regex::escape(f)),
        };
        let (find, to) = match to.is_empty() {
            true => (
                format!("(?i);\\s*{}", find.trim_start_matches("(?i)")),
                String::new(),
            ),
            false => (find, format!("Domain={to}")),
        };
        let _ = writeln!(
            s,
            "\t\t\t\theader_down Set-Cookie {} {}",
            quote(&find),
            quote(&to)
        );
    }
    for (from, to) in &p.cookie_paths {
        let find = match from.as_str() {
            "*" => "(?i)path=[^;]*".to_string(),
            f => format!("(?i)path={}", regex::escape(f)),
        };
        let _ = writeln!(
            s,
            "\t\t\t\theader_down Set-Cookie {} {}",
            quote(&find),
            quote(&format!("Path={to}"))
        );
    }
    if let Some((host, scheme)) = &p.location {
        let to = match (host, scheme) {
            (Some(h), Some(sc)) => format!("{sc}://{h}/"),
            (Some(h), None) => format!("{{scheme}}://{h}/"),
            (None, Some(sc)) => format!("{sc}://{{host}}/"),
            (None, None) => "/".to_string(),
        };
        let find = format!("^https?://{}/", regex::escape(&p.authority));
        let _ = writeln!(
            s,
            "\t\t\t\theader_down Location {} {}",
            quote(&find),
            quote(&to)
        );
    }
    s.push_str("\t\t\t\t# Stream responses as they come (event streams), as devproxy does.\n\t\t\t\tflush_interval -1\n");
    let mut transport = Vec::new();
    if p.tls && !p.secure {
        transport.push("tls_insecure_skip_verify".to_string());
    }
    if let Some(ms) = p.read_timeout_ms {
        transport.push(format!("response_header_timeout {ms}ms"));
    }
    if !transport.is_empty() {
        s.push_str("\t\t\t\ttransport http {\n");
        for t in transport {
            let _ = writeln!(s, "\t\t\t\t\t{t}");
        }
        s.push_str("\t\t\t\t}\n");
    }
    if p.idle_timeout_ms.is_some() {
        s.push_str("\t\t\t\t# \"timeout\" (browser idle) has no per-route setting in Caddy: see the server's timeouts\n");
    }
    s.push_str("\t\t\t}\n\t\t}\n\t}\n");
}

/// DIR: hashed assets cached for a year, the rest revalidated, precompressed files used;
/// page navigations that match no file get index.html (as devproxy's SPA fallback).
fn files(s: &mut String, site: &Site<'_>) {
    let base = site.base.trim_end_matches('/');
    s.push('\n');
    if !base.is_empty() {
        let _ = writeln!(s, "\tredir / {base}/ 302");
    }
    let open = match base.is_empty() {
        true => "\thandle {".to_string(),
        false => format!("\thandle_path {base}/* {{"),
    };
    let _ = writeln!(s, "{open}");
    let _ = writeln!(s, "\t\t@hashed path_regexp hashed {}", quote(&hashed()));
    s.push_str("\t\theader @hashed Cache-Control \"public, max-age=31536000, immutable\"\n");
    let _ = writeln!(s, "\t\t@fresh not path_regexp {}", quote(&hashed()));
    s.push_str("\t\theader @fresh Cache-Control \"no-cache\"\n");
    if site.spa {
        s.push_str("\t\t# Only page navigations get index.html; a missing script or API call stays a 404.\n\t\t@page {\n\t\t\tnot file\n\t\t\theader Accept *text/html*\n\t\t}\n\t\trewrite @page /index.html\n");
    }
    s.push_str(
        "\t\tencode zstd gzip\n\t\tfile_server {\n\t\t\tprecompressed br gzip\n\t\t}\n\t}\n",
    );
}

/// `$1` → `${1}`: Go's replacement syntax reads `$1x` as a group named `1x`.
fn braced(to: &str) -> String {
    let mut out = String::new();
    let mut chars = to.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek().copied()) {
            ('$', Some(d)) if d.is_ascii_digit() => {
                chars.next();
                out.push_str(&format!("${{{d}}}"));
            }
            _ => out.push(c),
        }
    }
    out
}

/// A value as a Caddyfile token: quoted when it holds spaces, quotes or braces, or is empty.
fn quote(v: &str) -> String {
    if !v.is_empty() && !v.contains(|c: char| c.is_whitespace() || "\"{}#".contains(c)) {
        return v.to_string();
    }
    format!("\"{}\"", v.replace('"', "\\\""))
}
