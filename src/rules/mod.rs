//! The checked rule set: compiled patterns, parsed targets and path rewrites; matching a
//! request path to a rule and building the upstream URL.

mod compile;
mod next;
mod pattern;
mod rewrite;
mod router;
mod summary;
mod target;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use http::{HeaderName, HeaderValue};
use regex::Regex;

pub(crate) use pattern::literal_prefix;
pub(crate) use summary::Summary;
pub(crate) use target::{Scheme, Target};

use crate::config::{self, CookieSpec, Diagnostic, LoadError, RawRule, Severity};
use next::Destination;
use rewrite::{apply_path_rewrite, join_path};
use router::RouterEntry;

/// All rules from one version of the config file (then `--proxy` rules), in order, with what
/// was found wrong in them.
#[derive(Debug, Default)]
pub struct RuleSet {
    pub(crate) rules: Vec<Rule>,
    pub(crate) diagnostics: Vec<Diagnostic>,
    /// Files the config read besides itself (a JavaScript config's local modules).
    pub(crate) sources: Vec<PathBuf>,
    /// Strings written with `${VAR}`: (the value they had, as written), for `export`.
    pub(crate) placeholders: Vec<(String, String)>,
}

/// One proxy rule, ready to use.
#[derive(Debug)]
pub struct Rule {
    /// The pattern (or the context list) as written, for logs.
    pub(crate) name: String,
    /// The patterns as written, in order.
    pub(crate) patterns: Vec<String>,
    pub(crate) matcher: pattern::Matcher,
    /// Why this rule cannot forward; requests it takes get a 502 that says so.
    pub(crate) problem: Option<String>,
    pub(crate) target: Option<Target>,
    /// `router`: targets chosen by the request's host and path; the longest matching key wins.
    pub(crate) router: Vec<RouterEntry>,
    /// A Next.js-style rewrite: the whole upstream URL comes from this template.
    pub(crate) destination: Option<Destination>,
    pub(crate) change_origin: bool,
    pub(crate) path_rewrite: Vec<(Regex, String)>,
    pub(crate) ws: bool,
    pub(crate) secure: bool,
    /// Extra request headers (`headers`, and `auth` as Authorization).
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    pub(crate) xfwd: bool,
    pub(crate) log_level: LogLevel,
    pub(crate) proxy_timeout: Option<Duration>,
    /// `timeout`: how long the exchange may sit idle before it is cut.
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) cookies: CookieRewrite,
    /// `cors`: devproxy answers CORS (preflights included) for the origins named.
    pub(crate) cors: Option<tower_http::cors::CorsLayer>,
    pub(crate) location: LocationRewrite,
    pub(crate) follow_redirects: bool,
    pub(crate) ignore_path: bool,
    pub(crate) prepend_path: bool,
    /// Set Origin and Referer to the target's origin: on every request, or on upgrades only.
    pub(crate) rewrite_origin: bool,
    pub(crate) rewrite_ws_origin: bool,
    /// Honour HTTP(S)_PROXY for this rule's connections.
    pub(crate) env_proxy: bool,
    /// Compared on reload to tell what changed.
    pub(crate) summary: Summary,
}

/// What to change in the backend's `Set-Cookie` headers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CookieRewrite {
    /// `cookieDomainRewrite`: lower-cased from → to, `*` for any, `""` removes.
    pub domain: Vec<(String, String)>,
    /// `cookiePathRewrite`, the same for `Path`.
    pub path: Vec<(String, String)>,
    /// `cookies`: devproxy's settings for keeping a remote backend's cookies on localhost.
    pub local: Option<CookieSpec>,
}

impl CookieRewrite {
    pub(crate) fn is_empty(&self) -> bool {
        self.domain.is_empty() && self.path.is_empty() && self.local.is_none()
    }
}

/// What to change in a redirect's `Location` that points at the target.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LocationRewrite {
    /// `autoRewrite`: back to devproxy's host, over http.
    pub auto: bool,
    /// `hostRewrite`.
    pub host: Option<String>,
    /// `protocolRewrite`.
    pub protocol: Option<Scheme>,
}

impl LocationRewrite {
    pub(crate) fn is_active(&self) -> bool {
        self.auto || self.host.is_some() || self.protocol.is_some()
    }
}

/// A rule's own log threshold (`logLevel`), as in http-proxy-middleware.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
    Silent,
}

impl LogLevel {
    fn parse(s: &str) -> Option<LogLevel> {
        Some(match s.to_ascii_lowercase().as_str() {
            "debug" | "trace" => LogLevel::Debug,
            "info" | "log" => LogLevel::Info,
            "warn" => LogLevel::Warn,
            "error" => LogLevel::Error,
            "silent" => LogLevel::Silent,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
            LogLevel::Silent => "silent",
        }
    }
}

impl RuleSet {
    /// Loads and checks a config file. Only a file that cannot be read or parsed is an error;
    /// problems with single rules are in [`RuleSet::diagnostics`].
    pub fn load(file: &Path) -> Result<RuleSet, LoadError> {
        Ok(Self::from_raw(file, config::load(file)?))
    }

    /// Checks the text of a config file; `file` names it in diagnostics. `${VAR}` comes from
    /// the environment only.
    pub fn parse(file: &Path, text: &str) -> Result<RuleSet, LoadError> {
        Ok(Self::from_raw(file, config::parse(file, text)?))
    }

    fn from_raw(file: &Path, raw: config::RawConfig) -> RuleSet {
        let mut diagnostics = raw.diagnostics;
        let rules = raw
            .rules
            .into_iter()
            .map(|r| compile::compile(file, r, &mut diagnostics))
            .collect();
        RuleSet {
            rules,
            diagnostics,
            sources: raw.sources,
            placeholders: raw.placeholders,
        }
    }

    /// Appends rules given on the command line (`--proxy PATTERN=TARGET`), after the file's.
    pub(crate) fn with_cli_rules(mut self, args: &[String]) -> RuleSet {
        for arg in args {
            let label = PathBuf::from(format!("--proxy {arg}"));
            match config::cli_rule(arg) {
                Ok(raw) => {
                    let rule = compile::compile(&label, raw, &mut self.diagnostics);
                    self.rules.push(rule);
                }
                Err(message) => self.diagnostics.push(Diagnostic {
                    severity: Severity::Error,
                    file: label,
                    pos: Default::default(),
                    rule: None,
                    message,
                }),
            }
        }
        self
    }

    /// The rules, in the order they are tried.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Everything found wrong or doubtful, in file order.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
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
    /// The pattern, or the patterns joined with ", ", as written.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Why the rule cannot forward, if it cannot (it answers 502 with this).
    pub fn problem(&self) -> Option<&str> {
        self.problem.as_deref()
    }

    /// The rule in one line: name, target, options and problem.
    pub fn describe(&self) -> String {
        format!("{} {}", self.name, self.summary)
    }

    /// The target for a request: the longest matching `router` key's, else `target`.
    pub(crate) fn route(&self, host: Option<&str>, path: &str) -> Option<&Target> {
        router::pick(&self.router, host, path).or(self.target.as_ref())
    }

    /// The path and query to request upstream, for a request's path and query:
    /// `pathRewrite` (first matching key), then the target's base path prepended.
    fn upstream_path(&self, target: &Target, path_and_query: &str) -> String {
        let mut p = rewrite::path_only(apply_path_rewrite(&self.path_rewrite, path_and_query));
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
    pub(crate) fn upstream_url_for(
        &self,
        host: Option<&str>,
        path_and_query: &str,
    ) -> Option<String> {
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

    /// Where a request for `path_and_query` would go, ignoring host-based routing.
    pub fn upstream_url(&self, path_and_query: &str) -> Option<String> {
        self.upstream_url_for(None, path_and_query)
    }
}

/// The rules in force, swapped whole when the file changes; `--proxy` rules are appended to
/// every version.
pub(crate) struct LiveRules {
    current: ArcSwap<RuleSet>,
    cli_rules: Vec<String>,
    /// `--cors ORIGIN`: CORS for these origins on every rule without its own `cors`.
    cors: Option<tower_http::cors::CorsLayer>,
}

impl LiveRules {
    /// `cors` are the `--cors` origins; an unusable one is an error.
    pub(crate) fn new(
        first: RuleSet,
        cli_rules: Vec<String>,
        cors: &[String],
    ) -> Result<LiveRules, String> {
        let cors = match cors {
            [] => None,
            origins => Some(
                compile::cors_layer(&config::CorsSpec {
                    origins: Some(origins.to_vec()),
                    ..config::CorsSpec::default()
                })
                .map_err(|e| {
                    format!(
                        "--cors {}: {}",
                        origins.join(","),
                        e.trim_start_matches("cors: ")
                    )
                })?,
            ),
        };
        let first = with_cors(first.with_cli_rules(&cli_rules), cors.as_ref());
        Ok(LiveRules {
            current: ArcSwap::from_pointee(first),
            cli_rules,
            cors,
        })
    }

    /// The rules in force now; a request keeps the version it got to its end.
    pub(crate) fn current(&self) -> Arc<RuleSet> {
        self.current.load_full()
    }

    /// Loads `file` (plus the `--proxy` rules) without putting it in force.
    pub(crate) fn load(&self, file: &Path) -> Result<RuleSet, LoadError> {
        RuleSet::load(file)
            .map(|set| with_cors(set.with_cli_rules(&self.cli_rules), self.cors.as_ref()))
    }

    pub(crate) fn replace(&self, new: RuleSet) {
        self.current.store(Arc::new(new));
    }
}

/// Gives every rule without its own `cors` the `--cors` one.
fn with_cors(mut set: RuleSet, cors: Option<&tower_http::cors::CorsLayer>) -> RuleSet {
    if let Some(cors) = cors {
        for rule in set.rules.iter_mut().filter(|r| r.cors.is_none()) {
            rule.cors = Some(cors.clone());
            rule.summary = summary::of(rule);
        }
    }
    set
}

/// The rule behind `--proxy-fallback URL`, with Create React App's settings: every path,
/// changeOrigin, WebSockets, X-Forwarded-*, and no certificate check.
pub(crate) fn fallback_rule(url: &str) -> Result<Rule, String> {
    let raw = RawRule {
        name: "--proxy-fallback".into(),
        ws: config::given(true),
        xfwd: config::given(true),
        secure: config::given(false),
        ..config::cli_rule(&format!("/={url}"))?
    };
    let mut diagnostics = Vec::new();
    let rule = compile::compile(Path::new("--proxy-fallback"), raw, &mut diagnostics);
    match diagnostics.first() {
        Some(d) => Err(format!("--proxy-fallback {url}: {}", d.message)),
        None => Ok(rule),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(text: &str) -> RuleSet {
        RuleSet::parse(Path::new("p.json"), text).unwrap()
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
