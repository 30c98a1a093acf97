//! `devproxy export nginx|caddy`: the same rules, and DIR served the way devproxy serves it,
//! written as a production server's config. Each rule becomes a [`Plan`] first (what both
//! servers need, in their terms of regular expressions and headers); what a server cannot
//! express becomes a comment in its output and a warning on stderr.

mod caddy;
mod nginx;

use std::path::PathBuf;

use crate::rules::{Rule, RuleSet};

/// Which server to write for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Server {
    Nginx,
    Caddy,
}

/// What is served, and where.
pub(crate) struct Site<'a> {
    /// The frontend directory, absolute.
    pub dir: PathBuf,
    pub port: u16,
    /// `/` or `/app/`.
    pub base: String,
    pub spa: bool,
    pub rules: &'a RuleSet,
    /// `${VAR}` placeholders as written, with the value they had here: targets written with
    /// one keep it in the output.
    pub placeholders: &'a [(String, String)],
    /// Where the rules came from, for the header comment.
    pub source: String,
}

/// A written config and what it could not express.
pub(crate) struct Exported {
    pub text: String,
    pub warnings: Vec<String>,
}

pub(crate) fn export(server: Server, site: &Site<'_>) -> Exported {
    let plans: Vec<Plan> = site.rules.rules.iter().map(|r| Plan::of(r, site)).collect();
    let mut out = match server {
        Server::Nginx => nginx::write(site, &plans),
        Server::Caddy => caddy::write(site, &plans),
    };
    for p in &plans {
        for gap in &p.gaps {
            out.warnings.push(format!("rule \"{}\": {gap}", p.name));
        }
    }
    out
}

/// Files whose names carry a content hash (`main.3f2a9c1b.js`, `index-BxK2a9_Z.css`): cached
/// for a year, as bundlers intend. Everything else is revalidated, as devproxy does.
///
/// The hash is 8 or more of `[0-9A-Za-z_-]` after a `.` or `-`, with at least one digit: a
/// word (`my-component.js`, `polyfills.js`) is a name that may be rebuilt with new content, and
/// a year in the browser's cache would keep the old. Caddy's RE2 has no look-ahead, so "at
/// least one digit" is one branch per place of the first digit.
fn hashed() -> String {
    const ANY: &str = "[0-9A-Za-z_-]";
    const NOT_DIGIT: &str = "[A-Za-z_-]";
    let mut branches: Vec<String> = (0..8)
        .map(|k| format!("{NOT_DIGIT}{{{k}}}[0-9]{ANY}{{{},}}", 7 - k))
        .collect();
    branches.push(format!("{NOT_DIGIT}{{8,}}[0-9]{ANY}*"));
    format!(
        r"[.-](?:{})\.(?:js|mjs|css|woff2?|ttf|otf|eot|png|jpe?g|gif|svg|webp|avif|ico|wasm|map)$",
        branches.join("|")
    )
}

/// One rule, in the terms both servers use.
struct Plan {
    name: String,
    /// Regular expressions on the path, any of which takes the request.
    includes: Vec<String>,
    /// The upstream: `scheme://authority`, or a `${VAR}` placeholder as written.
    upstream: Option<String>,
    /// The target's host:port, for Host and Location rewrites.
    authority: String,
    tls: bool,
    /// The target's base path, prepended after pathRewrite ("" for none).
    base_path: String,
    /// `pathRewrite`, in order: (regex, replacement with `$n` references).
    rewrites: Vec<(String, String)>,
    change_origin: bool,
    ws: bool,
    secure: bool,
    headers: Vec<(String, String)>,
    xfwd: bool,
    read_timeout_ms: Option<u128>,
    idle_timeout_ms: Option<u128>,
    cookie_domains: Vec<(String, String)>,
    cookie_paths: Vec<(String, String)>,
    /// Location rewrite: (host to put, scheme to put) when active.
    location: Option<(Option<String>, Option<&'static str>)>,
    rewrite_origin: bool,
    /// What this server config cannot say, one line each.
    gaps: Vec<String>,
}

impl Plan {
    fn of(rule: &Rule, site: &Site<'_>) -> Plan {
        let (includes, excludes) = rule.matcher.exported();
        let mut gaps = Vec::new();
        if let Some(problem) = &rule.problem {
            gaps.push(format!("left out: it cannot be used ({problem})"));
        }
        if !excludes.is_empty() {
            gaps.push(
                "\"!\" exclusions are not carried over: the location takes those paths too".into(),
            );
        }
        if !rule.router.is_empty() {
            gaps.push("\"router\" is not carried over: every request goes to \"target\"".into());
        }
        if rule.destination.is_some() {
            gaps.push("Next.js destinations are not carried over".into());
        }
        if rule.cors.is_some() {
            gaps.push("\"cors\" is not carried over: in production the page and the API usually share an origin; else answer CORS in the backend (devproxy cors URL prints the lines)".into());
        }
        if rule.follow_redirects {
            gaps.push(
                "\"followRedirects\" is not carried over: redirects go to the browser".into(),
            );
        }
        if rule.ignore_path {
            gaps.push("\"ignorePath\" is not carried over".into());
        }
        if rule.cookies.local.is_some() {
            gaps.push("\"cookies\" (devproxy's localhost cookie fixes) is left out: in production the cookies' Domain and Secure are right as they are".into());
        }
        let target = rule.target.as_ref();
        let upstream = target.map(|t| {
            let url = format!("{}://{}", t.scheme(), t.authority());
            let written = format!("{url}{}", t.base_path);
            site.placeholders
                .iter()
                .find(|(value, _)| value.trim_end_matches('/') == written.trim_end_matches('/'))
                .map(|(_, raw)| raw.clone())
                .unwrap_or(url)
        });
        let rewrites = rule
            .path_rewrite
            .iter()
            .map(|(re, to)| (re.as_str().to_string(), to.clone()))
            .collect();
        Plan {
            name: rule.name.clone(),
            includes,
            upstream,
            authority: target.map(|t| t.authority()).unwrap_or_default(),
            tls: target.is_some_and(|t| t.tls),
            base_path: match rule.prepend_path {
                true => target.map(|t| t.base_path.clone()).unwrap_or_default(),
                false => String::new(),
            },
            rewrites,
            change_origin: rule.change_origin,
            ws: rule.ws,
            secure: rule.secure,
            headers: rule
                .headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            xfwd: rule.xfwd,
            read_timeout_ms: rule.proxy_timeout.map(|d| d.as_millis()),
            idle_timeout_ms: rule.idle_timeout.map(|d| d.as_millis()),
            cookie_domains: rule.cookies.domain.clone(),
            cookie_paths: rule.cookies.path.clone(),
            location: rule.location.is_active().then(|| {
                let scheme = match (rule.location.protocol, rule.location.auto) {
                    (Some(p), _) => Some(p.as_str()),
                    (None, true) => Some("http"),
                    (None, false) => None,
                };
                (rule.location.host.clone(), scheme)
            }),
            rewrite_origin: rule.rewrite_origin,
            gaps,
        }
    }

    /// Whether the rule forwards at all in the exported config.
    fn usable(&self) -> bool {
        self.upstream.is_some() && !self.includes.is_empty()
    }

    /// One regex for all the rule's patterns.
    fn pattern(&self) -> String {
        match self.includes.as_slice() {
            [one] => one.clone(),
            many => format!(
                "^(?:{})",
                many.iter()
                    .map(|p| p.trim_start_matches('^').to_string())
                    .collect::<Vec<_>>()
                    .join("|")
            ),
        }
    }
}

/// A `pathRewrite` entry as an anchored regex over the whole path and its replacement, the
/// way nginx's `rewrite` and Caddy's `uri path_regexp` need it: `(regex, replacement)` where
/// the regex takes the whole path and the replacement rebuilds it, the base path in front.
/// `None` when the replacement uses something only JavaScript has (`$&`, `` $` ``, `$'`).
fn whole_path_rewrite(re: &str, to: &str, base: &str) -> Option<(String, String)> {
    if to.contains("$&") || to.contains("$`") || to.contains("$'") {
        return None;
    }
    let groups = regex::Regex::new(re).ok()?.captures_len() - 1;
    let base = base.trim_end_matches('/');
    Some(match re.strip_prefix('^') {
        Some(anchored) => (
            format!("^(?:{anchored})(.*)$"),
            format!("{base}{to}${}", groups + 1),
        ),
        None => {
            // The first match anywhere: what comes before it is a group of its own.
            let shifted = shift_groups(to);
            (
                format!("^(.*?)(?:{re})(.*)$"),
                format!("{base}$1{shifted}${}", groups + 2),
            )
        }
    })
}

/// `${NAME}` and `${NAME:-default}` in `raw`, each replaced by `with(name, default)`.
fn placeholders(raw: &str, with: impl Fn(&str, Option<&str>) -> String) -> String {
    let mut out = String::new();
    let mut rest = raw;
    while let Some(start) = rest.find("${") {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        out.push_str(&rest[..start]);
        let inner = &rest[start + 2..start + len];
        let (name, default) = match inner.split_once(":-").or_else(|| inner.split_once('-')) {
            Some((n, d)) => (n, Some(d)),
            None => (inner, None),
        };
        out.push_str(&with(name, default));
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    out
}

/// `$1` → `$2` and so on, for a replacement under one more group.
fn shift_groups(to: &str) -> String {
    let mut out = String::new();
    let mut chars = to.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' {
            if let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                chars.next();
                out.push_str(&format!("${}", d + 1));
                continue;
            }
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn hashed_names_need_a_digit_in_the_hash() {
        let re = regex::Regex::new(&hashed()).expect("compiles");
        for name in [
            "/assets/app.3f2a9c1b.js",
            "/assets/index-BkJ3x_9a.js",
            "/main.0123456789abcdef.css",
            "/chunk-2ABCDEFG.js",
            "/fonts/inter-abcdefgh1.woff2",
        ] {
            assert!(re.is_match(name), "{name} should count as hashed");
        }
        for name in [
            "/assets/my-component.js",
            "/polyfills.js",
            "/jquery-3.6.0.min.js",
            "/assets/app.3f2a9c1.js",
            "/index.html",
            "/assets/app.3f2a9c1b.js.txt",
        ] {
            assert!(!re.is_match(name), "{name} should not count as hashed");
        }
    }

    use super::*;

    #[test]
    fn rewrites_become_whole_path_replacements() {
        let (re, to) = whole_path_rewrite("^/api", "", "").unwrap();
        assert_eq!((re.as_str(), to.as_str()), ("^(?:/api)(.*)$", "$1"));
        let (re, to) = whole_path_rewrite("^/v(\\d)/", "/version$1/", "/base/").unwrap();
        assert_eq!(
            (re.as_str(), to.as_str()),
            ("^(?:/v(\\d)/)(.*)$", "/base/version$1/$2")
        );
        let (re, to) = whole_path_rewrite("/old/", "/new/", "").unwrap();
        assert_eq!(
            (re.as_str(), to.as_str()),
            ("^(.*?)(?:/old/)(.*)$", "$1/new/$2")
        );
        assert_eq!(shift_groups("/a$1/b$2"), "/a$2/b$3");
        let caddy = |n: &str, d: Option<&str>| match d {
            Some(d) => format!("{{${n}:{d}}}"),
            None => format!("{{${n}}}"),
        };
        assert_eq!(
            placeholders("${API:-http://localhost:8080}/x${B}", caddy),
            "{$API:http://localhost:8080}/x{$B}"
        );
        assert!(whole_path_rewrite("^/a", "$&x", "").is_none());
    }
}
