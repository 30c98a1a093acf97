//! The checked rule set: compiled patterns, parsed targets and path rewrites; matching a request
//! path to a rule and building the upstream URL.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use globset::{GlobBuilder, GlobMatcher};
use http::{HeaderName, HeaderValue};
use regex::Regex;

pub use crate::rewrite::{join_path, next_source_regex, Destination};
pub use crate::target::{parse_target, Target};

use crate::config::{self, At, ConfigSpec, CookieSpec, Diagnostic, LoadError, RuleSpec, Severity};
use crate::jsonc::Pos;
use crate::rewrite::apply_path_rewrite;

/// Regexes from the file are bounded so a pathological pattern cannot eat the machine.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// All rules from one version of the config file, in file order.
#[derive(Debug, Default)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    pub diagnostics: Vec<Diagnostic>,
    /// The file the rules came from; `None` when running without one.
    pub source: Option<PathBuf>,
}

/// One proxy rule, ready to use.
#[derive(Debug)]
pub struct Rule {
    /// The pattern (or the context list) as written, for logs.
    pub name: String,
    pub matcher: Matcher,
    /// Why this rule cannot forward; requests it takes get a 502 that says so.
    pub problem: Option<String>,
    pub target: Option<Target>,
    /// `router`: targets chosen by the request's host and path; the longest matching key wins.
    pub router: Vec<(Route, Target)>,
    /// A Next.js-style rewrite: the whole upstream URL comes from this template.
    pub destination: Option<Destination>,
    pub change_origin: bool,
    pub path_rewrite: Vec<(Regex, String)>,
    pub ws: bool,
    pub secure: bool,
    /// Extra request headers (`headers`, and `auth` as Authorization).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub xfwd: bool,
    pub log_level: LogLevel,
    pub proxy_timeout: Option<Duration>,
    /// `timeout`: how long the exchange may sit idle before it is cut.
    pub idle_timeout: Option<Duration>,
    /// `cookieDomainRewrite`, `cookiePathRewrite`: from → to, `*` for any, "" removes.
    pub cookie_domain: Vec<(String, String)>,
    pub cookie_path: Vec<(String, String)>,
    pub cookies: Option<CookieSpec>,
    pub auto_rewrite: bool,
    pub host_rewrite: Option<String>,
    pub protocol_rewrite: Option<String>,
    pub follow_redirects: bool,
    pub ignore_path: bool,
    pub prepend_path: bool,
    /// Set Origin and Referer to the target's origin: on every request, or on upgrades only.
    pub rewrite_origin: bool,
    pub rewrite_ws_origin: bool,
    /// Honour HTTP(S)_PROXY for this rule's connections.
    pub env_proxy: bool,
    /// The normalised form shown by the banner and `check`, and compared on reload.
    pub summary: String,
}

/// A `router` key: `host[:port]`, `host[:port]/path` or `/path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub key: String,
    host: Option<String>,
    path: Option<String>,
}

impl Route {
    pub fn parse(key: &str) -> Route {
        let lower = key.trim().to_ascii_lowercase();
        let (host, path) = match lower.find('/') {
            Some(0) => (None, Some(key.trim()[..].to_string())),
            Some(i) => (
                Some(lower[..i].to_string()),
                Some(key.trim()[i..].to_string()),
            ),
            None => (Some(lower), None),
        };
        Route {
            key: key.to_string(),
            host,
            path,
        }
    }

    fn matches(&self, host: Option<&str>, path: &str) -> bool {
        let host_ok = match (&self.host, host) {
            (None, _) => true,
            (Some(want), Some(have)) => {
                let have = have.to_ascii_lowercase();
                // A key without a port matches the name on any port.
                *want == have
                    || (!want.contains(':')
                        && have.rsplit_once(':').is_some_and(|(h, _)| h == want))
            }
            (Some(_), None) => false,
        };
        host_ok && self.path.as_deref().is_none_or(|p| path.starts_with(p))
    }
}

/// A rule's own log threshold (`logLevel`), as in http-proxy-middleware.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
    Silent,
}

impl LogLevel {
    pub fn name(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
            LogLevel::Silent => "silent",
        }
    }
}

/// The patterns of one rule. A path matches when any include matches (or there are only
/// excludes) and no exclude does.
#[derive(Debug, Default)]
pub struct Matcher {
    include: Vec<Pattern>,
    exclude: Vec<Pattern>,
}

#[derive(Debug)]
enum Pattern {
    Prefix(String),
    Regex(Regex),
    Glob(GlobMatcher, Option<String>),
}

impl Pattern {
    fn matches(&self, path: &str) -> bool {
        match self {
            Pattern::Prefix(p) => path.starts_with(p.as_str()),
            Pattern::Regex(r) => r.is_match(path),
            // micromatch lets `/api/**` match `/api` itself; globset does not.
            Pattern::Glob(g, base) => g.is_match(path) || base.as_deref() == Some(path),
        }
    }
}

impl Matcher {
    pub fn matches(&self, path: &str) -> bool {
        if self.include.is_empty() && self.exclude.is_empty() {
            return false;
        }
        let included = self.include.is_empty() || self.include.iter().any(|p| p.matches(path));
        included && !self.exclude.iter().any(|p| p.matches(path))
    }
}

impl RuleSet {
    /// Loads and checks a config file. Only a file that cannot be read or parsed is an error;
    /// problems with single rules are in [`RuleSet::diagnostics`].
    pub fn load(file: &Path) -> Result<RuleSet, LoadError> {
        let spec = config::load(file)?;
        Ok(Self::from_spec(file, spec))
    }

    /// Checks parsed specs; `file` is used in diagnostics.
    pub fn from_spec(file: &Path, spec: ConfigSpec) -> RuleSet {
        let mut diagnostics = spec.diagnostics;
        let rules = spec
            .rules
            .into_iter()
            .map(|r| compile(file, r, &mut diagnostics))
            .collect();
        RuleSet {
            rules,
            diagnostics,
            source: Some(file.to_path_buf()),
        }
    }

    /// Appends rules given on the command line (`--proxy PATTERN=TARGET`), after the file's.
    pub fn with_cli_rules(mut self, args: &[String]) -> RuleSet {
        for arg in args {
            let label = PathBuf::from(format!("--proxy {arg}"));
            match config::cli_rule(arg) {
                Ok(spec) => {
                    let rule = compile(&label, spec, &mut self.diagnostics);
                    self.rules.push(rule);
                }
                Err(message) => self.diagnostics.push(Diagnostic {
                    severity: Severity::Error,
                    file: label,
                    pos: Pos::default(),
                    rule: None,
                    message,
                }),
            }
        }
        self
    }

    /// The first rule whose patterns match `path` (without the query).
    pub fn find(&self, path: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.matcher.matches(path))
    }

    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }
}

impl Rule {
    /// The target for a request: the longest matching `router` key's, else `target`.
    pub fn route(&self, host: Option<&str>, path: &str) -> Option<&Target> {
        self.router
            .iter()
            .filter(|(r, _)| r.matches(host, path))
            .max_by_key(|(r, _)| r.key.len())
            .map(|(_, t)| t)
            .or(self.target.as_ref())
    }

    /// The path and query to request upstream, for a request's path and query:
    /// `pathRewrite` (first matching key), then the target's base path prepended.
    pub fn upstream_path(&self, target: &Target, path_and_query: &str) -> String {
        let mut p = apply_path_rewrite(&self.path_rewrite, path_and_query);
        if self.ignore_path {
            // http-proxy's ignorePath: the request's path is dropped, the target's kept.
            p = std::borrow::Cow::Borrowed("");
        }
        let base = if self.prepend_path {
            target.base_path.as_str()
        } else {
            ""
        };
        join_path(base, &p)
    }

    /// The full upstream URL for a request's path and query (and Host, for `router`).
    pub fn upstream_url_for(&self, host: Option<&str>, path_and_query: &str) -> Option<String> {
        if let Some(d) = &self.destination {
            return Some(d.url(path_and_query));
        }
        let path = path_and_query.split('?').next().unwrap_or("");
        let t = self.route(host, path)?;
        let path = self.upstream_path(t, path_and_query);
        let mut url = String::with_capacity(t.host.len() + path.len() + 16);
        url.push_str(t.scheme());
        url.push_str("://");
        t.push_authority(&mut url);
        url.push_str(&path);
        Some(url)
    }

    /// The upstream URL for a path, ignoring host-based routing (for `check`).
    pub fn upstream_url(&self, path_and_query: &str) -> Option<String> {
        self.upstream_url_for(None, path_and_query)
    }
}

/// The rule behind `--proxy-fallback URL`, with Create React App's settings: every path,
/// changeOrigin, WebSockets, X-Forwarded-*, and no certificate check.
pub fn fallback_rule(url: &str) -> Result<Rule, String> {
    let mut spec = config::cli_rule(&format!("/={url}"))?;
    spec.name = "--proxy-fallback".into();
    for (flag, on) in [("ws", true), ("xfwd", true), ("secure", false)] {
        spec.flags.insert(flag, on);
    }
    let mut diagnostics = Vec::new();
    let rule = compile(Path::new("--proxy-fallback"), spec, &mut diagnostics);
    match diagnostics.first() {
        Some(d) => Err(format!("--proxy-fallback {url}: {}", d.message)),
        None => Ok(rule),
    }
}

fn is_glob(p: &str) -> bool {
    p.contains(['*', '?', '[', '{'])
}

fn compile_pattern(p: &str) -> Result<Pattern, String> {
    if p.starts_with('^') {
        return regex::RegexBuilder::new(p)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map(Pattern::Regex)
            .map_err(|e| {
                format!(
                    "pattern \"{p}\" is not a valid regular expression: {}",
                    one_line(&e.to_string())
                )
            });
    }
    if is_glob(p) {
        let glob = GlobBuilder::new(p)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .map_err(|e| format!("pattern \"{p}\" is not a valid glob: {}", glob_reason(&e)))?;
        let base = p.strip_suffix("/**").map(str::to_string);
        return Ok(Pattern::Glob(glob.compile_matcher(), base));
    }
    Ok(Pattern::Prefix(p.to_string()))
}

fn glob_reason(e: &globset::Error) -> String {
    e.kind().to_string()
}

/// Regex errors span several lines with a caret diagram; logs want one line.
fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty() && !l.chars().all(|c| c == '^' || c == ' '))
        .unwrap_or(s)
        .trim_start_matches("error: ")
        .to_string()
}

fn compile(file: &Path, spec: RuleSpec, diagnostics: &mut Vec<Diagnostic>) -> Rule {
    let mut problems: Vec<String> = spec
        .unexpanded
        .iter()
        .chain(&spec.errors)
        .cloned()
        .collect();
    let expanded = spec.unexpanded.is_empty();
    let mut error = |pos: Pos, message: String, problems: &mut Vec<String>| {
        diagnostics.push(Diagnostic {
            severity: Severity::Error,
            file: file.to_path_buf(),
            pos,
            rule: Some(spec.name.clone()),
            message: message.clone(),
        });
        problems.push(message);
    };

    let mut matcher = Matcher::default();
    let mut destination = None;
    if let Some(At { value: dest, pos }) = &spec.destination {
        // Next.js rewrites: the pattern is a path-to-regexp source, the target a URL template.
        let source = spec.patterns.first();
        match source.map(|p| next_source_regex(&p.value)) {
            Some(Ok(re)) => match regex::RegexBuilder::new(&re)
                .size_limit(REGEX_SIZE_LIMIT)
                .build()
            {
                Ok(re) => {
                    matcher.include.push(Pattern::Regex(re.clone()));
                    destination = Some(Destination {
                        template: dest.clone(),
                        source: re,
                    });
                }
                Err(e) => error(
                    source.map_or(*pos, |p| p.pos),
                    format!(
                        "source is not a valid pattern: {}",
                        one_line(&e.to_string())
                    ),
                    &mut problems,
                ),
            },
            Some(Err(e)) => error(source.map_or(*pos, |p| p.pos), e, &mut problems),
            None => error(*pos, "rewrite has no \"source\"".into(), &mut problems),
        }
    } else {
        for At { value, pos } in &spec.patterns {
            let (negated, body) = match value.strip_prefix('!') {
                Some(rest) => (true, rest),
                None => (false, value.as_str()),
            };
            match compile_pattern(body) {
                Ok(p) if negated => matcher.exclude.push(p),
                Ok(p) => matcher.include.push(p),
                Err(e) => error(*pos, e, &mut problems),
            }
        }
    }

    let target = match spec.target.as_ref().filter(|_| expanded) {
        Some(At { value, pos }) => match parse_target(value) {
            Ok(t) => Some(t),
            Err(e) => {
                error(*pos, e, &mut problems);
                None
            }
        },
        None => {
            if problems.is_empty() && spec.router.is_empty() {
                problems.push("the rule has no \"target\"".into());
            }
            None
        }
    };

    let mut router = Vec::new();
    for (key, At { value, pos }) in spec.router.iter().filter(|_| expanded) {
        match parse_target(value) {
            Ok(t) => router.push((Route::parse(&key.value), t)),
            Err(e) => error(
                *pos,
                format!("router \"{}\": {e}", key.value),
                &mut problems,
            ),
        }
    }

    let mut path_rewrite = Vec::new();
    for (At { value, pos }, replacement) in spec.map("pathRewrite") {
        match regex::RegexBuilder::new(value)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
        {
            Ok(re) => path_rewrite.push((re, replacement.clone())),
            Err(e) => error(
                *pos,
                format!(
                    "pathRewrite key \"{value}\" is not a valid regular expression: {}",
                    one_line(&e.to_string())
                ),
                &mut problems,
            ),
        }
    }

    let mut headers = Vec::new();
    for (At { value, pos }, v) in spec.map("headers") {
        match (
            HeaderName::from_bytes(value.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            (Ok(n), Ok(v)) => headers.push((n, v)),
            (Err(_), _) => error(
                *pos,
                format!("headers: \"{value}\" is not a valid header name"),
                &mut problems,
            ),
            (_, Err(_)) => error(
                *pos,
                format!("headers: the value of \"{value}\" is not a valid header value: \"{v}\""),
                &mut problems,
            ),
        }
    }
    if let Some(At { value, pos }) = spec.text("auth") {
        // http-proxy's `auth: "user:password"` is Basic authentication to the backend.
        if !value.contains(':') {
            error(
                *pos,
                format!("auth \"{value}\" must be \"user:password\""),
                &mut problems,
            );
        } else if let Ok(v) = HeaderValue::from_str(&format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(value)
        )) {
            if !headers
                .iter()
                .any(|(n, _)| n == http::header::AUTHORIZATION)
            {
                headers.push((http::header::AUTHORIZATION, v));
            }
        }
    }

    let log_level = match spec.text("logLevel") {
        None => LogLevel::Info,
        Some(At { value, pos }) => match value.to_ascii_lowercase().as_str() {
            "debug" | "trace" => LogLevel::Debug,
            "info" | "log" => LogLevel::Info,
            "warn" => LogLevel::Warn,
            "error" => LogLevel::Error,
            "silent" => LogLevel::Silent,
            _ => {
                error(
                    *pos,
                    format!("logLevel \"{value}\" is not one of \"debug\", \"info\", \"warn\", \"error\", \"silent\""),
                    &mut problems,
                );
                LogLevel::Info
            }
        },
    };

    let mut millis = |name: &str, problems: &mut Vec<String>| match spec.numbers.get(name) {
        None => None,
        Some(At { value, pos }) => {
            if value.is_finite() && *value > 0.0 && *value <= 86_400_000.0 {
                Some(Duration::from_micros((*value * 1000.0) as u64))
            } else if *value == 0.0 {
                None
            } else {
                error(
                    *pos,
                    format!(
                        "{name} {value} is not a number of milliseconds between 0 and 86400000"
                    ),
                    problems,
                );
                None
            }
        }
    };
    let proxy_timeout = millis("proxyTimeout", &mut problems);
    let idle_timeout = millis("timeout", &mut problems);

    let mut text = |name: &str, allowed: &[&str], problems: &mut Vec<String>| -> Option<String> {
        let At { value, pos } = spec.text(name)?;
        let v = value.trim_end_matches(':').to_ascii_lowercase();
        if !allowed.is_empty() && !allowed.contains(&v.as_str()) {
            error(
                *pos,
                format!("{name} \"{value}\" must be one of {}", allowed.join(", ")),
                problems,
            );
            return None;
        }
        Some(if allowed.is_empty() { value.clone() } else { v })
    };
    let host_rewrite = text("hostRewrite", &[], &mut problems);
    let protocol_rewrite = text("protocolRewrite", &["http", "https"], &mut problems);

    let pairs = |name: &str| -> Vec<(String, String)> {
        spec.map(name)
            .iter()
            .map(|(k, v)| (k.value.to_ascii_lowercase(), v.clone()))
            .collect()
    };

    let flag = |name: &str, default: bool| spec.flag(name).unwrap_or(default);
    let ws = flag("ws", false) || target.as_ref().is_some_and(|t| t.ws_scheme);
    let mut rule = Rule {
        name: spec.name.clone(),
        matcher,
        problem: if problems.is_empty() {
            None
        } else {
            Some(problems.join("; "))
        },
        target,
        router,
        destination,
        change_origin: flag("changeOrigin", false),
        path_rewrite,
        ws,
        secure: flag("secure", true),
        headers,
        xfwd: flag("xfwd", false),
        log_level,
        proxy_timeout,
        idle_timeout,
        cookie_domain: pairs("cookieDomainRewrite"),
        cookie_path: pairs("cookiePathRewrite"),
        cookies: spec.cookies.clone(),
        auto_rewrite: flag("autoRewrite", false),
        host_rewrite,
        protocol_rewrite,
        follow_redirects: flag("followRedirects", false),
        ignore_path: flag("ignorePath", false),
        prepend_path: flag("prependPath", true),
        rewrite_origin: flag("rewriteOrigin", false),
        rewrite_ws_origin: flag("rewriteWsOrigin", false),
        env_proxy: flag("envProxy", true),
        summary: String::new(),
    };
    rule.summary = summarize(&rule);
    rule
}

fn summarize(rule: &Rule) -> String {
    let mut s = format!("{} → ", rule.name);
    match (&rule.destination, &rule.target) {
        (Some(d), _) => s.push_str(&d.template),
        (None, Some(t)) => s.push_str(&t.display()),
        (None, None) if !rule.router.is_empty() => s.push_str("(router)"),
        (None, None) => s.push_str("(no usable target)"),
    }
    let mut flags = Vec::new();
    let mut on = |cond: bool, name: &str| {
        if cond {
            flags.push(name.to_string());
        }
    };
    on(rule.change_origin, "changeOrigin");
    on(rule.ws, "ws");
    on(
        !rule.secure && rule.target.as_ref().is_some_and(|t| t.tls),
        "insecure",
    );
    on(rule.xfwd, "xfwd");
    on(rule.auto_rewrite, "autoRewrite");
    on(rule.follow_redirects, "followRedirects");
    on(rule.ignore_path, "ignorePath");
    on(!rule.prepend_path, "prependPath false");
    on(rule.rewrite_origin, "rewriteOrigin");
    on(
        rule.rewrite_ws_origin && !rule.rewrite_origin,
        "rewriteWsOrigin",
    );
    on(!rule.env_proxy, "envProxy false");
    on(rule.cookies.is_some(), "cookies");
    for (re, to) in &rule.path_rewrite {
        flags.push(format!("rewrite {} → \"{to}\"", re.as_str()));
    }
    for (route, t) in &rule.router {
        flags.push(format!("router {} → {}", route.key, t.display()));
    }
    for (n, v) in &rule.headers {
        let shown = if n == http::header::AUTHORIZATION {
            "…"
        } else {
            v.to_str().unwrap_or("…")
        };
        flags.push(format!("{n}: {shown}"));
    }
    for (from, to) in &rule.cookie_domain {
        flags.push(format!("cookie domain {from} → \"{to}\""));
    }
    for (from, to) in &rule.cookie_path {
        flags.push(format!("cookie path {from} → \"{to}\""));
    }
    if let Some(h) = &rule.host_rewrite {
        flags.push(format!("hostRewrite {h}"));
    }
    if let Some(p) = &rule.protocol_rewrite {
        flags.push(format!("protocolRewrite {p}"));
    }
    if let Some(t) = rule.proxy_timeout {
        flags.push(format!("proxyTimeout {}ms", t.as_millis()));
    }
    if let Some(t) = rule.idle_timeout {
        flags.push(format!("timeout {}ms", t.as_millis()));
    }
    if rule.log_level != LogLevel::Info {
        flags.push(format!("logLevel {}", rule.log_level.name()));
    }
    if !flags.is_empty() {
        let _ = write!(s, "  [{}]", flags.join(", "));
    }
    if let Some(p) = &rule.problem {
        let _ = write!(s, "  (broken: {p})");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(text: &str) -> RuleSet {
        let file = Path::new("p.json");
        RuleSet::from_spec(file, config::parse(file, text).unwrap())
    }

    fn url(s: &RuleSet, path: &str) -> Option<String> {
        let p = path.split('?').next().unwrap_or(path);
        s.find(p).and_then(|r| r.upstream_url(path))
    }

    #[test]
    fn prefix_regex_and_glob_patterns() {
        let s = set(r#"{
            "^/v[0-9]+/": "http://localhost:1",
            "/api/*.json": "http://localhost:2",
            "/deep/**": "http://localhost:3",
            "/plain": "http://localhost:4"
        }"#);
        assert_eq!(url(&s, "/v2/x").as_deref(), Some("http://localhost:1/v2/x"));
        assert_eq!(
            url(&s, "/api/users.json?q=1").as_deref(),
            Some("http://localhost:2/api/users.json?q=1")
        );
        assert_eq!(
            url(&s, "/api/v1/users.json"),
            None,
            "* stays within one segment"
        );
        assert_eq!(
            url(&s, "/deep/a/b").as_deref(),
            Some("http://localhost:3/deep/a/b")
        );
        assert_eq!(url(&s, "/deep").as_deref(), Some("http://localhost:3/deep"));
        assert_eq!(
            url(&s, "/plainer").as_deref(),
            Some("http://localhost:4/plainer"),
            "prefix like Vite"
        );
        assert_eq!(url(&s, "/other"), None);
    }

    #[test]
    fn webpack_object_keys_drop_a_trailing_star() {
        let s = set(r#"{ "/api/*": "http://localhost:1", "*": "http://localhost:2" }"#);
        assert_eq!(s.rules[0].name, "/api/*");
        assert_eq!(
            url(&s, "/api/users/1").as_deref(),
            Some("http://localhost:1/api/users/1")
        );
        assert_eq!(url(&s, "/api").as_deref(), Some("http://localhost:1/api"));
        assert_eq!(
            url(&s, "/other/x").as_deref(),
            Some("http://localhost:2/other/x")
        );
        // In a context array the glob is a glob.
        let s = set(r#"[{ "context": ["/api/*"], "target": "http://localhost:1" }]"#);
        assert!(s.find("/api/users").is_some());
        assert!(s.find("/api/users/1").is_none());
    }

    #[test]
    fn exclusions_in_context() {
        let s =
            set(r#"[{ "context": ["/api/**", "!/api/auth/**"], "target": "http://localhost:1" }]"#);
        assert!(s.find("/api/x").is_some());
        assert!(s.find("/api/auth/login").is_none());
        let s = set(r#"[{ "context": ["!/static/**"], "target": "http://localhost:1" }]"#);
        assert!(s.find("/api").is_some());
        assert!(s.find("/static/a.js").is_none());
    }

    #[test]
    fn first_match_wins() {
        let s = set(r#"{ "/api/special": "http://localhost:1", "/api": "http://localhost:2" }"#);
        assert_eq!(
            url(&s, "/api/special/x").as_deref(),
            Some("http://localhost:1/api/special/x")
        );
        assert_eq!(
            url(&s, "/api/other").as_deref(),
            Some("http://localhost:2/api/other")
        );
    }

    #[test]
    fn rewrite_and_base_path() {
        let s = set(r#"{
            "/consumer-localhost": { "target": "http://localhost:8080/", "pathRewrite": { "^/consumer-localhost": "/consumer" } },
            "/rest/consumer": { "target": "https://localhost/spline/rest/consumer", "pathRewrite": { "^/rest/consumer": "" } },
            "/loc": { "target": "http://localhost:80", "pathRewrite": { "^/loc": "api" } },
            "/v": { "target": "http://localhost:9", "pathRewrite": { "^/v/(\\w+)/(\\d+)": "/$2/$1$$", "^/never": "x" } },
            "/n": { "target": "http://localhost:9", "pathRewrite": { "^/n/(?<id>\\d+)": "/id/$<id>/$&/$9" } }
        }"#);
        assert_eq!(
            url(&s, "/consumer-localhost/a?b=1").as_deref(),
            Some("http://localhost:8080/consumer/a?b=1")
        );
        assert_eq!(
            url(&s, "/rest/consumer/x").as_deref(),
            Some("https://localhost/spline/rest/consumer/x")
        );
        assert_eq!(
            url(&s, "/rest/consumer").as_deref(),
            Some("https://localhost/spline/rest/consumer")
        );
        assert_eq!(
            url(&s, "/rest/consumer?q").as_deref(),
            Some("https://localhost/spline/rest/consumer?q")
        );
        assert_eq!(url(&s, "/loc/a").as_deref(), Some("http://localhost/api/a"));
        assert_eq!(
            url(&s, "/v/abc/12/rest").as_deref(),
            Some("http://localhost:9/12/abc$/rest")
        );
        assert_eq!(
            url(&s, "/n/7").as_deref(),
            Some("http://localhost:9/id/7//n/7/$9")
        );
    }

    #[test]
    fn broken_rules_are_kept_and_named() {
        let s = set("{\n  \"/a\": { \"target\": \"localhost\" },\n  \"/b\": { \"target\": \"http://h\", \"pathRewrite\": { \"^/b(\": \"\" } },\n  \"/c\": \"http://ok\"\n}");
        assert_eq!(s.rules.len(), 3);
        assert!(s
            .find("/a")
            .and_then(|r| r.problem.as_deref())
            .is_some_and(|p| p.contains("has no scheme")));
        let msgs: Vec<String> = s.diagnostics.iter().map(|d| d.to_string()).collect();
        assert_eq!(msgs[0], "p.json:2:21: error: rule \"/a\": target \"localhost\" has no scheme; did you mean \"http://localhost\"?");
        assert!(msgs[1].starts_with("p.json:3:50: error: rule \"/b\": pathRewrite key \"^/b(\" is not a valid regular expression: "), "{}", msgs[1]);
        assert!(s.find("/c").is_some_and(|r| r.problem.is_none()));
        assert!(s.has_errors());
    }

    #[test]
    fn huge_regex_is_refused() {
        let s = set(r#"{ "^/(?:a{1000}){1000}": "http://h" }"#);
        assert!(s.has_errors());
        assert!(s.find("/a").is_none());
    }
}
