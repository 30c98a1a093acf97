//! A rule in one line, as the banner, `check`, 502 pages and reload messages show it.

use std::fmt;

use super::{LogLevel, Rule};

/// What a rule does, without its name: `→ target  [options]  (broken: why)`. Two versions of
/// a rule with equal summaries behave the same.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Summary {
    target: String,
    options: Vec<String>,
    problem: Option<String>,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "→ {}", self.target)?;
        if !self.options.is_empty() {
            write!(f, "  [{}]", self.options.join(", "))?;
        }
        if let Some(p) = &self.problem {
            write!(f, "  (broken: {p})")?;
        }
        Ok(())
    }
}

pub(super) fn of(rule: &Rule) -> Summary {
    let target = match (&rule.destination, &rule.target) {
        (Some(d), _) => d.template.clone(),
        (None, Some(t)) => t.display(),
        (None, None) if !rule.router.is_empty() => "(router)".into(),
        (None, None) => "(no usable target)".into(),
    };
    let mut options = flags(rule);
    options.extend(valued(rule));
    Summary {
        target,
        options,
        problem: rule.problem.clone(),
    }
}

/// The boolean options that differ from their defaults.
fn flags(rule: &Rule) -> Vec<String> {
    let insecure = !rule.secure && rule.target.as_ref().is_some_and(|t| t.tls);
    [
        (rule.change_origin, "changeOrigin"),
        (rule.ws, "ws"),
        (insecure, "insecure"),
        (rule.xfwd, "xfwd"),
        (rule.location.auto, "autoRewrite"),
        (rule.follow_redirects, "followRedirects"),
        (rule.ignore_path, "ignorePath"),
        (!rule.prepend_path, "prependPath false"),
        (rule.rewrite_origin, "rewriteOrigin"),
        (
            rule.rewrite_ws_origin && !rule.rewrite_origin,
            "rewriteWsOrigin",
        ),
        (!rule.env_proxy, "envProxy false"),
        (rule.cookies.local.is_some(), "cookies"),
    ]
    .into_iter()
    .filter(|(on, _)| *on)
    .map(|(_, name)| name.to_string())
    .collect()
}

/// The options with values, as `name value`.
fn valued(rule: &Rule) -> Vec<String> {
    let mut out = Vec::new();
    for (re, to) in &rule.path_rewrite {
        out.push(format!("rewrite {} → \"{to}\"", re.as_str()));
    }
    for r in &rule.router {
        out.push(format!("router {} → {}", r.key, r.target.display()));
    }
    for (n, v) in &rule.headers {
        // Credentials stay out of logs.
        let shown = if n == http::header::AUTHORIZATION {
            "…"
        } else {
            v.to_str().unwrap_or("…")
        };
        out.push(format!("{n}: {shown}"));
    }
    for (from, to) in &rule.cookies.domain {
        out.push(format!("cookie domain {from} → \"{to}\""));
    }
    for (from, to) in &rule.cookies.path {
        out.push(format!("cookie path {from} → \"{to}\""));
    }
    if let Some(h) = &rule.location.host {
        out.push(format!("hostRewrite {h}"));
    }
    if let Some(p) = rule.location.protocol {
        out.push(format!("protocolRewrite {}", p.as_str()));
    }
    if let Some(t) = rule.proxy_timeout {
        out.push(format!("proxyTimeout {}ms", t.as_millis()));
    }
    if let Some(t) = rule.idle_timeout {
        out.push(format!("timeout {}ms", t.as_millis()));
    }
    if rule.log_level != LogLevel::Info {
        out.push(format!("logLevel {}", rule.log_level.name()));
    }
    out
}
