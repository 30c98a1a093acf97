//! The nginx config: a `map` for WebSocket upgrades and one `server`, to include in the
//! `http { }` block. Rules become regex locations in file order (nginx tries those in order
//! and takes the first, as devproxy does), ahead of the hashed-asset and page locations.

use std::fmt::Write as _;

use super::{hashed, whole_path_rewrite, Exported, Plan, Site};

pub(super) fn write(site: &Site<'_>, plans: &[Plan]) -> Exported {
    let mut s = String::new();
    let mut warnings = Vec::new();
    let _ = writeln!(
        s,
        "# devproxy export nginx: {} served as devproxy serves it, with the rules of {}.\n# Include this file in the http {{ }} block of nginx.conf.\n",
        site.dir.display(),
        site.source
    );
    s.push_str(
        "map $http_upgrade $connection_upgrade {\n    default upgrade;\n    ''      close;\n}\n\n",
    );
    let _ = writeln!(s, "server {{\n    listen {};", site.port);
    let _ = writeln!(s, "    root {};", quote(&site.dir.display().to_string()));
    s.push_str("    index index.html;\n");
    s.push_str("    # x.js.gz beside x.js is sent to browsers that accept gzip (devproxy compresses on the fly).\n    gzip_static on;\n");
    for p in plans {
        s.push('\n');
        location(&mut s, p, &mut warnings);
    }
    files(&mut s, site);
    s.push_str("}\n");
    Exported { text: s, warnings }
}

fn location(s: &mut String, p: &Plan, warnings: &mut Vec<String>) {
    let _ = writeln!(s, "    # rule \"{}\"", p.name);
    for gap in &p.gaps {
        let _ = writeln!(s, "    # not carried over: {gap}");
    }
    if !p.usable() {
        return;
    }
    let _ = writeln!(s, "    location ~ {} {{", quote(&p.pattern()));
    for (re, to) in &p.rewrites {
        match whole_path_rewrite(re, to, &p.base_path) {
            Some((re, to)) => {
                if to.starts_with('$') {
                    // A path rewritten to nothing is "/", as devproxy sends it.
                    let whole = re.replace("(.*)$", "$");
                    let _ = writeln!(s, "        rewrite {} / break;", quote(&whole));
                }
                let _ = writeln!(s, "        rewrite {} {} break;", quote(&re), quote(&to));
            }
            None => {
                let gap = format!("pathRewrite \"{re}\": \"{to}\" uses JavaScript's $&, $` or $'");
                let _ = writeln!(s, "        # not carried over: {gap}");
                warnings.push(format!("rule \"{}\": {gap}", p.name));
            }
        }
    }
    if !p.base_path.is_empty() {
        let base = p.base_path.trim_end_matches('/');
        let _ = writeln!(
            s,
            "        rewrite ^(.*)$ {} break;",
            quote(&format!("{base}$1"))
        );
    }
    let written = p.upstream.as_deref().unwrap_or_default();
    // envsubst (the nginx image's /etc/nginx/templates) fills ${NAME}; it has no defaults.
    let upstream = super::placeholders(written, |name, _| format!("${{{name}}}"));
    if upstream != written {
        let _ = writeln!(s, "        # written as {written}: ${{NAME}} is for envsubst (the nginx image's templates), which has no defaults");
    }
    let _ = writeln!(s, "        proxy_pass {upstream};");
    let host = if p.change_origin {
        "$proxy_host"
    } else {
        "$http_host"
    };
    let _ = writeln!(s, "        proxy_set_header Host {host};");
    s.push_str("        proxy_http_version 1.1;\n");
    if p.ws {
        s.push_str("        proxy_set_header Upgrade $http_upgrade;\n        proxy_set_header Connection $connection_upgrade;\n        proxy_read_timeout 1d;\n        proxy_send_timeout 1d;\n");
    } else {
        s.push_str("        proxy_set_header Connection \"\";\n");
    }
    s.push_str("        # Stream both ways (event streams, uploads), as devproxy does.\n        proxy_buffering off;\n        proxy_request_buffering off;\n");
    if p.tls {
        s.push_str("        proxy_ssl_server_name on;\n");
        if p.secure {
            s.push_str("        proxy_ssl_verify on;\n        proxy_ssl_trusted_certificate /etc/ssl/certs/ca-certificates.crt;\n");
        }
    }
    for (k, v) in &p.headers {
        let _ = writeln!(s, "        proxy_set_header {k} {};", quote(v));
    }
    if p.rewrite_origin {
        let scheme = if p.tls { "https" } else { "http" };
        let _ = writeln!(
            s,
            "        proxy_set_header Origin {};",
            quote(&format!("{scheme}://{}", p.authority))
        );
    }
    if p.xfwd {
        s.push_str("        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n        proxy_set_header X-Forwarded-Proto $scheme;\n        proxy_set_header X-Forwarded-Host $http_host;\n        proxy_set_header X-Forwarded-Port $server_port;\n");
    }
    if let Some(ms) = p.read_timeout_ms {
        let _ = writeln!(s, "        proxy_read_timeout {ms}ms;");
    }
    if let Some(ms) = p.idle_timeout_ms {
        let _ = writeln!(
            s,
            "        client_body_timeout {ms}ms;\n        send_timeout {ms}ms;"
        );
    }
    for (from, to) in &p.cookie_domains {
        let from = if from == "*" {
            "~.*".to_string()
        } else {
            from.clone()
        };
        if to.is_empty() {
            let gap = format!(
                "cookieDomainRewrite {from} → \"\" (removing Domain): nginx can only replace it"
            );
            let _ = writeln!(s, "        # not carried over: {gap}");
            warnings.push(format!("rule \"{}\": {gap}", p.name));
            continue;
        }
        let _ = writeln!(s, "        proxy_cookie_domain {from} {to};");
    }
    for (from, to) in &p.cookie_paths {
        let from = if from == "*" {
            "~.*".to_string()
        } else {
            from.clone()
        };
        let _ = writeln!(s, "        proxy_cookie_path {from} {};", quote(to));
    }
    match &p.location {
        Some((host, scheme)) => {
            let to = match (host, scheme) {
                (Some(h), Some(sc)) => format!("{sc}://{h}/"),
                (Some(h), None) => format!("$scheme://{h}/"),
                (None, Some(sc)) => format!("{sc}://$http_host/"),
                (None, None) => "/".to_string(),
            };
            for scheme in ["http", "https"] {
                let _ = writeln!(
                    s,
                    "        proxy_redirect {scheme}://{}/ {to};",
                    p.authority
                );
            }
        }
        None => s.push_str("        proxy_redirect off;\n"),
    }
    s.push_str("    }\n");
}

/// DIR: hashed assets cached for a year, the rest revalidated; page navigations that match no
/// file get index.html, other misses 404 (as devproxy's SPA fallback).
fn files(s: &mut String, site: &Site<'_>) {
    let base = site.base.trim_end_matches('/');
    s.push('\n');
    let _ = writeln!(
        s,
        "    location ~* {} {{\n        add_header Cache-Control \"public, max-age=31536000, immutable\";\n{}        try_files $uri =404;\n    }}",
        quote(&hashed()),
        strip_base(base)
    );
    if !base.is_empty() {
        let _ = writeln!(
            s,
            "    location = / {{\n        return 302 {base}/;\n    }}"
        );
    }
    let prefix = if base.is_empty() {
        "/".to_string()
    } else {
        format!("{base}/")
    };
    let fallback = if site.spa { "@page" } else { "=404" };
    let _ = writeln!(
        s,
        "    location {prefix} {{\n        add_header Cache-Control \"no-cache\";\n{}        try_files $uri $uri/ {fallback};\n    }}",
        strip_base(base)
    );
    if site.spa {
        let _ = writeln!(
            s,
            "    location @page {{\n        # Only page navigations get index.html; a missing script or API call stays a 404.\n        if ($http_accept !~* \"text/html\") {{\n            return 404;\n        }}\n        add_header Cache-Control \"no-cache\";\n        rewrite ^ /index.html break;\n    }}"
        );
    }
}

fn strip_base(base: &str) -> String {
    match base.is_empty() {
        true => String::new(),
        false => format!("        rewrite ^{base}(/.*)$ $1 break;\n"),
    }
}

/// A value as an nginx token: quoted when it holds spaces, quotes, braces or semicolons.
fn quote(v: &str) -> String {
    if !v.is_empty() && !v.contains(|c: char| c.is_whitespace() || "\"'{};#".contains(c)) {
        return v.to_string();
    }
    format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
}
