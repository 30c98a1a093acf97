//! A rule in one line, as the banner, `check`, 502 pages and reload messages show it, and what
//! changed between two versions of a rule.

use std::fmt;

use super::{LogLevel, Rule};

/// What a rule does, without its name: `→ target  [options]  (broken: why)`. Two versions of
/// a rule with equal summaries behave the same.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Summary {
    target: String,
    options: Vec<Opt>,
    problem: Option<String>,
}

/// One option that differs from its default.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Opt {
    /// The option's name (with its key for maps: `pathRewrite ^/api`), to compare versions.
    key: String,
    value: String,
    /// The value when the option is not set, for "off → on".
    default: &'static str,
    /// As the rules table shows it.
    shown: String,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "→ {}", self.target)?;
        if !self.options.is_empty() {
            let shown: Vec<&str> = self.options.iter().map(|o| o.shown.as_str()).collect();
            write!(f, "  [{}]", shown.join(", "))?;
        }
        if let Some(p) = &self.problem {
            write!(f, "  (broken: {p})")?;
        }
        Ok(())
    }
}

impl Summary {
    /// What changed from `self` to `new`, as `name old → new` parts joined with ", ".
    pub(crate) fn changes_to(&self, new: &Summary) -> String {
        let mut out = Vec::new();
        if self.target != new.target {
            out.push(format!("target {} → {}", self.target, new.target));
        }
        let find = |s: &'_ Summary, key: &str| s.options.iter().find(|o| o.key == key).cloned();
        let mut keys: Vec<&str> = Vec::new();
        for o in self.options.iter().chain(&new.options) {
            if !keys.contains(&o.key.as_str()) {
                keys.push(&o.key);
            }
        }
        // In the order the rules table shows options.
        keys.sort_by_key(|k| rank(k));
        for key in keys {
            let (old, now) = (find(self, key), find(new, key));
            let value = |o: &Option<Opt>, other: &Option<Opt>| match (o, other) {
                (Some(o), _) => o.value.clone(),
                (None, Some(other)) => other.default.to_string(),
                (None, None) => String::new(),
            };
            let (before, after) = (value(&old, &now), value(&now, &old));
            if before != after {
                out.push(format!("{key} {before} → {after}"));
            }
        }
        match (&self.problem, &new.problem) {
            (None, Some(p)) => out.push(format!("now broken: {p}")),
            (Some(_), None) => out.push("now usable".into()),
            (Some(a), Some(b)) if a != b => out.push(format!("broken: {b}")),
            _ => {}
        }
        out.join(", ")
    }
}

/// The options in the order the rules table shows them.
const ORDER: [&str; 23] = [
    "changeOrigin",
    "ws",
    "secure",
    "xfwd",
    "autoRewrite",
    "followRedirects",
    "ignorePath",
    "prependPath",
    "rewriteOrigin",
    "rewriteWsOrigin",
    "envProxy",
    "cookies",
    "cors",
    "pathRewrite",
    "router",
    "header",
    "cookieDomainRewrite",
    "cookiePathRewrite",
    "hostRewrite",
    "protocolRewrite",
    "proxyTimeout",
    "timeout",
    "logLevel",
];

fn rank(key: &str) -> usize {
    let name = key.split(' ').next().unwrap_or(key);
    ORDER.iter().position(|o| *o == name).unwrap_or(ORDER.len())
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

/// A boolean option that is not at its default.
fn flag(key: &str, on: bool, default: bool, shown: &str) -> Option<Opt> {
    let word = |b: bool| if b { "on" } else { "off" };
    (on != default).then(|| Opt {
        key: key.to_string(),
        value: word(on).to_string(),
        default: word(default),
        shown: shown.to_string(),
    })
}

/// The boolean options that differ from their defaults.
fn flags(rule: &Rule) -> Vec<Opt> {
    let tls = rule.target.as_ref().is_some_and(|t| t.tls);
    [
        flag("changeOrigin", rule.change_origin, false, "changeOrigin"),
        flag("ws", rule.ws, false, "ws"),
        flag("secure", rule.secure || !tls, true, "insecure"),
        flag("xfwd", rule.xfwd, false, "xfwd"),
        flag("autoRewrite", rule.location.auto, false, "autoRewrite"),
        flag(
            "followRedirects",
            rule.follow_redirects,
            false,
            "followRedirects",
        ),
        flag("ignorePath", rule.ignore_path, false, "ignorePath"),
        flag("prependPath", rule.prepend_path, true, "prependPath false"),
        flag("rewriteOrigin", rule.rewrite_origin, false, "rewriteOrigin"),
        flag(
            "rewriteWsOrigin",
            rule.rewrite_ws_origin && !rule.rewrite_origin,
            false,
            "rewriteWsOrigin",
        ),
        flag("envProxy", rule.env_proxy, true, "envProxy false"),
        flag("cookies", rule.cookies.local.is_some(), false, "cookies"),
        flag("cors", rule.cors.is_some(), false, "cors"),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// An option with a value; `shown` is how the rules table writes it.
fn valued_opt(key: String, value: String, shown: String) -> Opt {
    Opt {
        key,
        value,
        default: "none",
        shown,
    }
}

/// The options with values.
fn valued(rule: &Rule) -> Vec<Opt> {
    let mut out = Vec::new();
    let mut add = |key: String, value: String, shown: String| {
        out.push(valued_opt(key, value, shown));
    };
    for (re, to) in &rule.path_rewrite {
        let re = re.as_str();
        add(
            format!("pathRewrite {re}"),
            format!("\"{to}\""),
            format!("rewrite {re} → \"{to}\""),
        );
    }
    for r in &rule.router {
        let t = r.target.display();
        add(
            format!("router {}", r.key),
            t.clone(),
            format!("router {} → {t}", r.key),
        );
    }
    for (n, v) in &rule.headers {
        // Credentials stay out of logs.
        let shown = if n == http::header::AUTHORIZATION {
            "…"
        } else {
            v.to_str().unwrap_or("…")
        };
        add(
            format!("header {n}"),
            shown.to_string(),
            format!("{n}: {shown}"),
        );
    }
    for (from, to) in &rule.cookies.domain {
        let shown = format!("cookie domain {from} → \"{to}\"");
        add(
            format!("cookieDomainRewrite {from}"),
            format!("\"{to}\""),
            shown,
        );
    }
    for (from, to) in &rule.cookies.path {
        let shown = format!("cookie path {from} → \"{to}\"");
        add(
            format!("cookiePathRewrite {from}"),
            format!("\"{to}\""),
            shown,
        );
    }
    if let Some(h) = &rule.location.host {
        add("hostRewrite".into(), h.clone(), format!("hostRewrite {h}"));
    }
    if let Some(p) = rule.location.protocol {
        let p = p.as_str();
        add(
            "protocolRewrite".into(),
            p.into(),
            format!("protocolRewrite {p}"),
        );
    }
    if let Some(t) = rule.proxy_timeout {
        let ms = format!("{}ms", t.as_millis());
        add(
            "proxyTimeout".into(),
            ms.clone(),
            format!("proxyTimeout {ms}"),
        );
    }
    if let Some(t) = rule.idle_timeout {
        let ms = format!("{}ms", t.as_millis());
        add("timeout".into(), ms.clone(), format!("timeout {ms}"));
    }
    if rule.log_level != LogLevel::Info {
        let level = rule.log_level.name();
        add("logLevel".into(), level.into(), format!("logLevel {level}"));
    }
    out
}
