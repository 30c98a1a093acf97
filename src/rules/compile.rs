//! Compiling one [`RawRule`] into a [`Rule`]: one small function per option, each stating the
//! option's default (http-proxy's, unless said otherwise). A value that cannot be used becomes
//! an error diagnostic at its position and a problem that makes the rule answer 502.

use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use http::{HeaderName, HeaderValue};
use regex::Regex;
use tower_http::cors::{AllowHeaders, AllowMethods, AllowOrigin, CorsLayer, ExposeHeaders};

use super::next::{self, Destination};
use super::pattern::{self, Matcher, Pattern};
use super::router::RouterEntry;
use super::summary;
use super::target::{parse_target, Scheme, Target};
use super::{CookieRewrite, LocationRewrite, LogLevel, Rule};
use crate::config::{At, CorsSpec, Diagnostic, Entry, RawRule, Severity};

/// Where the errors of one rule go: the diagnostics (with positions) and the rule's problems.
struct Errors<'a> {
    file: &'a Path,
    rule: &'a str,
    diagnostics: &'a mut Vec<Diagnostic>,
    problems: Vec<String>,
}

impl Errors<'_> {
    /// A warning: the rule still works.
    fn warning(&mut self, pos: crate::config::jsonc::Pos, message: String) {
        self.diagnostics.push(Diagnostic {
            severity: Severity::Warning,
            file: self.file.to_path_buf(),
            pos,
            rule: Some(self.rule.to_string()),
            message,
        });
    }

    fn at(&mut self, pos: crate::config::jsonc::Pos, message: String) {
        self.diagnostics.push(Diagnostic {
            severity: Severity::Error,
            file: self.file.to_path_buf(),
            pos,
            rule: Some(self.rule.to_string()),
            message: message.clone(),
        });
        self.problems.push(message);
    }
}

/// Compiles `raw`; errors are added to `diagnostics` (the rule is kept, marked unusable).
pub(crate) fn compile(file: &Path, raw: RawRule, diagnostics: &mut Vec<Diagnostic>) -> Rule {
    let mut e = Errors {
        file,
        rule: &raw.name,
        diagnostics,
        problems: raw.unexpanded.iter().chain(&raw.errors).cloned().collect(),
    };
    // Values left with an unexpanded `${VAR}` were reported already; they are not checked.
    let expanded = raw.unexpanded.is_empty();
    let (matcher, destination) = match &raw.destination {
        Some(dest) => next_rewrite(&raw, dest, &mut e),
        None => (patterns(&raw, &mut e), None),
    };
    let target = target(&raw, expanded, &mut e);
    let router = router(&raw, expanded, &mut e);
    let path_rewrite = path_rewrite(&raw.path_rewrite, &mut e);
    let headers = headers(&raw, &mut e);
    let log_level = log_level(&raw.log_level, &mut e);
    let proxy_timeout = millis("proxyTimeout", &raw.proxy_timeout, &mut e);
    let idle_timeout = millis("timeout", &raw.timeout, &mut e);
    let location = location_rewrite(&raw, &mut e);
    let cors = cors(&raw, &mut e);
    let problem = (!e.problems.is_empty()).then(|| e.problems.join("; "));
    let ws = flag(&raw.ws, false) || target.as_ref().is_some_and(|t| t.ws_scheme);
    let mut rule = Rule {
        name: raw.name.clone(),
        patterns: raw.patterns.iter().map(|p| p.value.clone()).collect(),
        matcher,
        problem,
        target,
        router,
        destination,
        change_origin: flag(&raw.change_origin, false),
        path_rewrite,
        ws,
        secure: flag(&raw.secure, true),
        headers,
        xfwd: flag(&raw.xfwd, false),
        log_level,
        proxy_timeout,
        idle_timeout,
        cookies: cookie_rewrite(&raw),
        cors,
        location,
        follow_redirects: flag(&raw.follow_redirects, false),
        ignore_path: flag(&raw.ignore_path, false),
        prepend_path: flag(&raw.prepend_path, true),
        rewrite_origin: flag(&raw.rewrite_origin, false),
        rewrite_ws_origin: flag(&raw.rewrite_ws_origin, false),
        // devproxy's own option: HTTP(S)_PROXY applies unless a rule opts out.
        env_proxy: flag(&raw.env_proxy, true),
        summary: summary::Summary::default(),
    };
    rule.summary = summary::of(&rule);
    rule
}

fn flag(value: &Option<At<bool>>, default: bool) -> bool {
    value.as_ref().map_or(default, |b| b.value)
}

fn patterns(raw: &RawRule, e: &mut Errors<'_>) -> Matcher {
    let mut matcher = Matcher::default();
    for At { value, pos } in &raw.patterns {
        let pattern = if raw.object_key {
            pattern::webpack_key(value)
        } else {
            value.clone()
        };
        if let Err(message) = matcher.add(&pattern) {
            e.at(*pos, message);
        }
    }
    matcher
}

/// Next.js rewrites: the pattern is a path-to-regexp source, the target a URL template.
fn next_rewrite(
    raw: &RawRule,
    dest: &At<String>,
    e: &mut Errors<'_>,
) -> (Matcher, Option<Destination>) {
    let mut matcher = Matcher::default();
    let Some(source) = raw.patterns.first() else {
        e.at(dest.pos, "rewrite has no \"source\"".into());
        return (matcher, None);
    };
    let compiled = next::source_regex(&source.value).and_then(|re| {
        pattern::regex(&re).map_err(|m| format!("source is not a valid pattern: {m}"))
    });
    match compiled {
        Ok(re) => {
            matcher.include(Pattern::Regex(re.clone()));
            let destination = Destination {
                template: dest.value.clone(),
                source: re,
            };
            (matcher, Some(destination))
        }
        Err(message) => {
            e.at(source.pos, message);
            (matcher, None)
        }
    }
}

fn target(raw: &RawRule, expanded: bool, e: &mut Errors<'_>) -> Option<Target> {
    let Some(At { value, pos }) = raw.target.as_ref().filter(|_| expanded) else {
        if e.problems.is_empty() && raw.router.is_empty() {
            e.problems.push("the rule has no \"target\"".into());
        }
        return None;
    };
    parse_target(value)
        .map_err(|message| e.at(*pos, message))
        .ok()
}

fn router(raw: &RawRule, expanded: bool, e: &mut Errors<'_>) -> Vec<RouterEntry> {
    if !expanded {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (key, At { value, pos }) in &raw.router {
        match parse_target(value) {
            Ok(t) => out.push(RouterEntry::new(&key.value, t)),
            Err(message) => e.at(*pos, format!("router \"{}\": {message}", key.value)),
        }
    }
    out
}

fn path_rewrite(entries: &[Entry], e: &mut Errors<'_>) -> Vec<(Regex, String)> {
    let mut out = Vec::new();
    for (At { value, pos }, replacement) in entries {
        if replacement.contains("://") {
            e.warning(
                *pos,
                format!(
                    "pathRewrite \"{value}\": the replacement \"{replacement}\" is a URL; as in http-proxy, only its path is used (the target decides where requests go)"
                ),
            );
        }
        match pattern::regex(value) {
            Ok(re) => out.push((re, replacement.clone())),
            Err(m) => e.at(
                *pos,
                format!("pathRewrite key \"{value}\" is not a valid regular expression: {m}"),
            ),
        }
    }
    out
}

/// `headers`, then `auth` as `Authorization` unless `headers` sets one.
fn headers(raw: &RawRule, e: &mut Errors<'_>) -> Vec<(HeaderName, HeaderValue)> {
    let mut out = Vec::new();
    for (At { value: name, pos }, value) in &raw.headers {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            (Ok(n), Ok(v)) => out.push((n, v)),
            (Err(_), _) => e.at(
                *pos,
                format!("headers: \"{name}\" is not a valid header name"),
            ),
            (_, Err(_)) => e.at(
                *pos,
                format!(
                    "headers: the value of \"{name}\" is not a valid header value: \"{value}\""
                ),
            ),
        }
    }
    if let Some(v) = raw.auth.as_ref().and_then(|a| basic_auth(a, e)) {
        if !out.iter().any(|(n, _)| n == http::header::AUTHORIZATION) {
            out.push((http::header::AUTHORIZATION, v));
        }
    }
    out
}

/// http-proxy's `auth: "user:password"` is Basic authentication to the backend.
fn basic_auth(auth: &At<String>, e: &mut Errors<'_>) -> Option<HeaderValue> {
    if !auth.value.contains(':') {
        e.at(
            auth.pos,
            format!("auth \"{}\" must be \"user:password\"", auth.value),
        );
        return None;
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(&auth.value);
    HeaderValue::from_str(&format!("Basic {encoded}")).ok()
}

fn log_level(value: &Option<At<String>>, e: &mut Errors<'_>) -> LogLevel {
    let Some(At { value, pos }) = value else {
        return LogLevel::Info;
    };
    LogLevel::parse(value).unwrap_or_else(|| {
        e.at(
            *pos,
            format!("logLevel \"{value}\" is not one of \"debug\", \"info\", \"warn\", \"error\", \"silent\""),
        );
        LogLevel::Info
    })
}

/// Milliseconds up to a day; 0 (as in http-proxy) means no limit.
fn millis(name: &str, value: &Option<At<f64>>, e: &mut Errors<'_>) -> Option<Duration> {
    let At { value, pos } = value.as_ref()?;
    if value.is_finite() && *value > 0.0 && *value <= 86_400_000.0 {
        Some(Duration::from_micros((*value * 1000.0) as u64))
    } else if *value == 0.0 {
        None
    } else {
        e.at(
            *pos,
            format!("{name} {value} is not a number of milliseconds between 0 and 86400000"),
        );
        None
    }
}

/// tower-http's CORS layer for `cors`, or an error (at the option) for a set-up browsers
/// refuse.
fn cors(raw: &RawRule, e: &mut Errors<'_>) -> Option<CorsLayer> {
    let At { value: spec, pos } = raw.cors.as_ref()?;
    cors_layer(spec).map_err(|m| e.at(*pos, m)).ok()
}

/// The layer for a `cors` set-up.
pub(crate) fn cors_layer(spec: &CorsSpec) -> Result<CorsLayer, String> {
    let any_origin = spec
        .origins
        .as_ref()
        .is_some_and(|o| o.iter().any(|o| o == "*"));
    let stars = [&spec.methods, &spec.headers, &spec.expose_headers]
        .iter()
        .any(|list| list.iter().any(|x| x == "*"));
    if spec.credentials && (any_origin || stars) {
        return Err("cors: \"credentials\": true cannot go with \"*\" (browsers refuse it); name the origins, e.g. \"origins\": [\"http://localhost:5173\"]".into());
    }
    let origins = match &spec.origins {
        None => AllowOrigin::predicate(own_or_loopback),
        Some(_) if any_origin => AllowOrigin::any(),
        Some(list) => {
            let values = list
                .iter()
                .map(|o| origin(o))
                .collect::<Result<Vec<_>, _>>()?;
            AllowOrigin::list(values)
        }
    };
    let mut layer = CorsLayer::new()
        .allow_origin(origins)
        .allow_credentials(spec.credentials)
        .allow_private_network(spec.private_network);
    let methods: Vec<http::Method> = match spec.methods.as_slice() {
        [] => vec![
            http::Method::GET,
            http::Method::HEAD,
            http::Method::POST,
            http::Method::PUT,
            http::Method::PATCH,
            http::Method::DELETE,
            http::Method::OPTIONS,
        ],
        list => list
            .iter()
            .filter_map(|m| http::Method::from_bytes(m.to_ascii_uppercase().as_bytes()).ok())
            .collect(),
    };
    layer = layer.allow_methods(AllowMethods::list(methods));
    layer = match spec.headers.as_slice() {
        [] => layer.allow_headers(AllowHeaders::mirror_request()),
        list => layer.allow_headers(AllowHeaders::list(
            list.iter()
                .filter_map(|h| HeaderName::from_bytes(h.as_bytes()).ok()),
        )),
    };
    layer = layer.expose_headers(ExposeHeaders::list(
        spec.expose_headers
            .iter()
            .filter_map(|h| HeaderName::from_bytes(h.as_bytes()).ok()),
    ));
    if let Some(secs) = spec.max_age.filter(|s| s.is_finite() && *s >= 0.0) {
        layer = layer.max_age(Duration::from_secs(secs as u64));
    }
    Ok(layer)
}

/// An origin as browsers send it: `scheme://host[:port]`, nothing after. Anything else would
/// never match, silently.
fn origin(o: &str) -> Result<HeaderValue, String> {
    let value = HeaderValue::from_str(o).ok();
    match crate::url::split(o) {
        Some((_, authority, "")) if !authority.is_empty() && value.is_some() => {
            value.ok_or_else(|| format!("cors: origin \"{o}\" is not a valid header value"))
        }
        Some((scheme, authority, _)) if !authority.is_empty() => Err(format!(
            "cors: \"{o}\" is not an origin (scheme://host[:port], no path); did you mean \"{scheme}://{authority}\"?"
        )),
        _ => Err(format!(
            "cors: \"{o}\" is not an origin; write it as scheme://host[:port], e.g. \"http://localhost:5173\""
        )),
    }
}

/// `"cors": true`: the page's own origin (devproxy's, as the request addressed it) and
/// loopback origins on any port.
fn own_or_loopback(origin: &HeaderValue, parts: &http::request::Parts) -> bool {
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let Some((_, authority, "")) = crate::url::split(origin) else {
        return false;
    };
    let host = authority.rsplit_once(':').map_or(authority, |(h, p)| {
        if p.bytes().all(|b| b.is_ascii_digit()) {
            h
        } else {
            authority
        }
    });
    let own = parts
        .headers
        .get(http::header::HOST)
        .is_some_and(|h| h.as_bytes().eq_ignore_ascii_case(authority.as_bytes()));
    own || crate::url::is_localhost(host)
        || matches!(crate::url::unbracket(host), "127.0.0.1" | "::1")
}

fn cookie_rewrite(raw: &RawRule) -> CookieRewrite {
    let lower = |entries: &[Entry]| {
        entries
            .iter()
            .map(|(k, v)| (k.value.to_ascii_lowercase(), v.clone()))
            .collect()
    };
    CookieRewrite {
        domain: lower(&raw.cookie_domain_rewrite),
        path: lower(&raw.cookie_path_rewrite),
        local: raw.cookies.clone(),
    }
}

fn location_rewrite(raw: &RawRule, e: &mut Errors<'_>) -> LocationRewrite {
    let protocol = raw.protocol_rewrite.as_ref().and_then(|At { value, pos }| {
        let scheme = Scheme::parse(value.trim_end_matches(':'));
        if scheme.is_none() {
            e.at(
                *pos,
                format!("protocolRewrite \"{value}\" must be one of http, https"),
            );
        }
        scheme
    });
    LocationRewrite {
        auto: flag(&raw.auto_rewrite, false),
        host: raw.host_rewrite.as_ref().map(|h| h.value.clone()),
        protocol,
    }
}
