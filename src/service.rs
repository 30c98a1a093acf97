//! Per-request routing: Host check, then the first matching proxy rule, then static files,
//! then the SPA fallback, else 404; and the one-line request log.

use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwap;
use http::{header, Method, Request, Response, StatusCode};
use hyper::body::Incoming;

use crate::body::{self, Body};
use crate::headers::{self, Peer};
use crate::host::HostCheck;
use crate::log::ACCESS;
use crate::proxy::{self, Attempt, Outcome, Upstream};
use crate::rules::{LogLevel, Rule, RuleSet};
use crate::static_files::{self, Served, StaticFiles};
use crate::upgrade;

/// Everything a request needs, shared by all connections.
pub struct App {
    /// The rules in force; swapped whole on reload.
    pub rules: ArcSwap<RuleSet>,
    /// `--proxy PATTERN=TARGET` rules, appended to the file's on every load.
    pub cli_rules: Vec<String>,
    /// `--proxy-fallback`: where requests go that no rule, file or page navigation takes.
    pub fallback: Option<Rule>,
    pub upstream: Upstream,
    pub statics: StaticFiles,
    pub hosts: HostCheck,
}

impl App {
    pub async fn handle(self: Arc<Self>, req: Request<Incoming>, peer: Peer) -> Response<Body> {
        let start = Instant::now();
        if let Some(res) = self.hosts.refusal(&req) {
            tracing::warn!(
                "refused {} {}: {}",
                req.method(),
                req.uri().path(),
                self.hosts.reason(&req)
            );
            return res;
        }
        if let Some(res) = refuse_request(&req) {
            tracing::warn!(
                "refused {} {}: {}",
                req.method(),
                req.uri().path(),
                res.status()
            );
            return res;
        }
        // The request keeps this version of the rules to the end, whatever reloads happen.
        let rules = self.rules.load_full();
        let path = req.uri().path().to_string();
        if let Some(rule) = rules.find(&path) {
            return self.proxy_and_log(rule, req, peer, start).await;
        }
        let method = req.method().clone();
        let get_or_head = method == Method::GET || method == Method::HEAD;
        let hidden = if get_or_head {
            match self.statics.serve(&req).await {
                Served::Found(res) => {
                    log_static(&method, &path, &res, "static", start);
                    return res;
                }
                Served::Hidden => true,
                Served::Missing => false,
            }
        } else {
            self.statics.hidden(&req)
        };
        if hidden {
            let res = self.statics.not_found(&req);
            log_static(&method, &path, &res, "hidden", start);
            return res;
        }
        if let Some(fallback) = &self.fallback {
            // Create React App's rule: what is not a file and not a page navigation goes to
            // the backend.
            if !get_or_head || !static_files::wants_html(&req) {
                return self.proxy_and_log(fallback, req, peer, start).await;
            }
        }
        let (res, what) = match self.statics.spa_fallback(&req).await {
            Some(res) => (res, "spa fallback"),
            None => (self.statics.not_found(&req), "no rule, no file"),
        };
        if let Some(hint) = rule_miss(&rules, &req, what == "spa fallback") {
            tracing::warn!(
                "{method} {path} matched no proxy rule and got {}{hint}",
                match what {
                    "spa fallback" => "index.html (SPA fallback)",
                    _ => "404",
                }
            );
        }
        log_static(&method, &path, &res, what, start);
        res
    }

    async fn proxy_and_log(
        &self,
        rule: &Rule,
        req: Request<Incoming>,
        peer: Peer,
        start: Instant,
    ) -> Response<Body> {
        let method = req.method().clone();
        let shown = req
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_string();
        let outcome = self.proxy(rule, req, peer).await;
        log_proxied(rule, &method, &shown, &outcome, start);
        outcome.response
    }

    async fn proxy(&self, rule: &Rule, req: Request<Incoming>, peer: Peer) -> Outcome {
        if let Some(problem) = &rule.problem {
            let cause = format!("the rule cannot be used: {problem}");
            return Attempt::new(rule, &req).fail(StatusCode::BAD_GATEWAY, cause);
        }
        let mut req = req;
        if headers::is_upgrade(req.headers()) && upgrade_protocol(&req).eq_ignore_ascii_case("h2c")
        {
            // h2c is an upgrade to HTTP/2 over cleartext, which no browser sends: the request
            // is forwarded as the plain HTTP/1.1 request it also is.
            headers::strip_hop_by_hop(req.headers_mut(), false);
        }
        if headers::is_upgrade(req.headers()) {
            if let Some(problem) = bad_websocket_handshake(&req) {
                return refused_upgrade(
                    format!("bad WebSocket handshake: {problem}"),
                    String::new(),
                );
            }
            if rule.ws {
                return upgrade::tunnel(&self.upstream, rule, req, peer).await;
            }
            let cause = format!(
                "a {} upgrade reached rule \"{}\", which does not tunnel upgrades; add \"ws\": true to it",
                upgrade_protocol(&req),
                rule.name
            );
            return refused_upgrade(cause, Attempt::new(rule, &req).url);
        }
        proxy::forward(&self.upstream, rule, req, peer).await
    }
}

/// Requests devproxy refuses before routing, whatever the rules say.
fn refuse_request<B>(req: &Request<B>) -> Option<Response<Body>> {
    let refuse = |status: StatusCode, text: &str| {
        let mut res = body::text(
            status,
            format!(
                "{} {}: {text}",
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            ),
        );
        res.headers_mut()
            .insert(header::CONNECTION, http::HeaderValue::from_static("close"));
        Some(res)
    };
    if req.method() == Method::CONNECT {
        return refuse(
            StatusCode::METHOD_NOT_ALLOWED,
            "devproxy is not a forward proxy",
        );
    }
    if req.method() == Method::OPTIONS && req.uri().path() == "*" {
        // A server-wide OPTIONS (RFC 9110 §9.3.7) is answered here, never forwarded.
        let mut res = Response::new(body::empty());
        *res.status_mut() = StatusCode::NO_CONTENT;
        res.headers_mut().insert(
            header::ALLOW,
            http::HeaderValue::from_static("GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"),
        );
        return Some(res);
    }
    // Request smuggling is hyper's parser's to stop: it refuses bad or duplicate lengths and
    // unknown codings with 400, and reads Content-Length plus Transfer-Encoding as chunked,
    // dropping the length and closing the connection after (RFC 9112 §6.1).
    let h = req.headers();
    let target_len = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if target_len > crate::server::MAX_URI_BYTES {
        return refuse(StatusCode::URI_TOO_LONG, "the request target is too long");
    }
    let head: usize = h.iter().map(|(k, v)| k.as_str().len() + v.len() + 4).sum();
    if head > crate::server::MAX_HEADER_BYTES {
        return refuse(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "the request headers are too large",
        );
    }
    // A cross-site page including devproxy's files (or APIs) as a script, to read them
    // (the attack behind Vite's CVE-2025-30208 family): refused. Same-site and navigations pass.
    let fetch = |name: &str| h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
    if fetch("sec-fetch-site") == "cross-site"
        && fetch("sec-fetch-mode") == "no-cors"
        && fetch("sec-fetch-dest") == "script"
    {
        return refuse(
            StatusCode::FORBIDDEN,
            "cross-site scripts may not load from devproxy",
        );
    }
    None
}

fn log_static(method: &Method, path: &str, res: &Response<Body>, what: &str, start: Instant) {
    tracing::debug!(
        target: ACCESS,
        method = %method,
        path = %path,
        status = u64::from(res.status().as_u16()),
        ms = start.elapsed().as_millis() as u64,
        rule = what,
    );
}

/// For a request no rule took: if it looks like an API call (or a page navigation close to a
/// rule's pattern), the text to add to a warning, naming the closest rule pattern.
fn rule_miss<B>(rules: &RuleSet, req: &Request<B>, spa: bool) -> Option<String> {
    let path = req.uri().path();
    let closest = closest_pattern(rules, path);
    if spa {
        // Page routes look like API paths; only a near-miss of a pattern is worth a line.
        return closest
            .filter(|(d, _)| *d > 0)
            .map(|(_, p)| format!("; did you mean rule \"{p}\"?"));
    }
    let accept_json = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    let last = path.rsplit('/').next().unwrap_or("");
    let api_like = !(req.method() == Method::GET || req.method() == Method::HEAD)
        || accept_json
        || (!last.contains('.') && !path.ends_with('/'));
    if !api_like {
        return None;
    }
    Some(match closest {
        Some((_, p)) => format!(" (closest rule: \"{p}\")"),
        None if rules.rules.is_empty() => " (no proxy rules are loaded)".to_string(),
        None => String::new(),
    })
}

/// The rule pattern nearest to the start of `path`, by edit distance, if it is near at all.
fn closest_pattern(rules: &RuleSet, path: &str) -> Option<(usize, String)> {
    rules
        .rules
        .iter()
        .map(|r| r.name.split(", ").next().unwrap_or(&r.name).to_string())
        .filter_map(|pattern| {
            let plain: String = pattern
                .trim_start_matches('^')
                .split(['*', '?', '[', '{', '('])
                .next()
                .unwrap_or("")
                .trim_end_matches('/')
                .to_string();
            if plain.is_empty() {
                return None;
            }
            // Compare with as many path segments as the pattern has.
            let segments = plain.matches('/').count();
            let head: String = path
                .split_inclusive('/')
                .take(segments + 1)
                .collect::<String>()
                .trim_end_matches('/')
                .to_string();
            let d = strsim::levenshtein(&head, &plain);
            (d <= 2.max(plain.len() / 4)).then_some((d, pattern))
        })
        .min_by_key(|(d, _)| *d)
}

/// A 400 for an upgrade devproxy will not tunnel; the connection is closed after it.
fn refused_upgrade(cause: String, upstream: String) -> Outcome {
    let mut response = body::text(StatusCode::BAD_REQUEST, format!("400 Bad Request\n{cause}"));
    response
        .headers_mut()
        .insert(header::CONNECTION, http::HeaderValue::from_static("close"));
    Outcome {
        response,
        upstream,
        failure: Some(cause),
    }
}

fn upgrade_protocol<B>(req: &Request<B>) -> &str {
    req.headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim()
}

/// What is wrong with a WebSocket handshake (RFC 6455 §4.1), if anything. Other upgrade
/// protocols are passed on as they are.
fn bad_websocket_handshake<B>(req: &Request<B>) -> Option<&'static str> {
    if !upgrade_protocol(req).eq_ignore_ascii_case("websocket") {
        return None;
    }
    if req.method() != Method::GET {
        return Some("the method must be GET");
    }
    let key = req
        .headers()
        .get(header::SEC_WEBSOCKET_KEY)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if key.len() != 24
        || !key
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
    {
        return Some("Sec-WebSocket-Key is missing or not 16 bytes in base64");
    }
    if req
        .headers()
        .get(header::SEC_WEBSOCKET_VERSION)
        .map(|v| v.as_bytes())
        != Some(b"13")
    {
        return Some("Sec-WebSocket-Version must be 13");
    }
    None
}

fn log_proxied(rule: &Rule, method: &Method, path: &str, outcome: &Outcome, start: Instant) {
    let status = outcome.response.status().as_u16();
    let level = if outcome.failure.is_some() || status >= 500 {
        LogLevel::Error
    } else if status >= 400 {
        LogLevel::Warn
    } else {
        LogLevel::Info
    };
    if level < rule.log_level {
        return;
    }
    let ms = start.elapsed().as_millis() as u64;
    let cause = outcome.failure.as_deref().unwrap_or("");
    macro_rules! access {
        ($mac:ident) => {
            tracing::$mac!(
                target: ACCESS,
                method = %method,
                path = %path,
                upstream = %outcome.upstream,
                status = u64::from(status),
                ms,
                rule = %rule.name,
                cause,
            )
        };
    }
    match level {
        LogLevel::Error => access!(error),
        LogLevel::Warn => access!(warn),
        _ => access!(info),
    }
}
