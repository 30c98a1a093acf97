//! Forwarding a request to a rule's backend through the shared pooled client, streaming both
//! ways, and turning failures into 502/504 answers that say what went wrong.

use std::sync::Arc;
use std::time::Duration;

use std::future::Future;

use http::{header, Method, Request, Response, StatusCode, Uri, Version};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::body::{self, Body};
use crate::connect::{Connector, ProxySettings};
use crate::headers::{self, Peer};
use crate::rules::{Rule, Target};

/// How long connecting to a backend may take before the request gets a 504.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A client and the connector behind it (upgrades connect on their own).
#[derive(Clone)]
pub(crate) struct Route {
    pub client: Client<Connector, Body>,
    pub connector: Connector,
}

impl Route {
    fn new(connector: Connector) -> Route {
        Route {
            client: client(connector.clone()),
            connector,
        }
    }
}

/// The upstream side: pooled keep-alive clients built once and kept across reloads: one
/// pair verifies certificates, the other serves rules with `secure: false`; each has a
/// variant that ignores HTTP(S)_PROXY, for rules with `"envProxy": false`.
#[derive(Clone)]
pub struct Upstream {
    verified: Route,
    insecure: Route,
    verified_direct: Route,
    insecure_direct: Route,
}

impl Upstream {
    /// Clients for `proxies` (empty settings: always direct).
    pub fn new(proxies: &ProxySettings) -> anyhow::Result<Self> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        // A machine without a CA bundle can still reach http and `secure: false` targets.
        let native = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(native.certs);
        let verified = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let insecure = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCert(provider)))
            .with_no_client_auth();
        let verified = Connector::new(verified, proxies).map_err(anyhow::Error::msg)?;
        let insecure = Connector::new(insecure, proxies).map_err(anyhow::Error::msg)?;
        let (verified_direct, insecure_direct) = (verified.direct_only(), insecure.direct_only());
        let verified = Route::new(verified);
        let insecure = Route::new(insecure);
        // Without proxies the direct variants share the same pools.
        let (verified_direct, insecure_direct) = if proxies.is_empty() {
            (verified.clone(), insecure.clone())
        } else {
            (Route::new(verified_direct), Route::new(insecure_direct))
        };
        Ok(Upstream {
            verified,
            insecure,
            verified_direct,
            insecure_direct,
        })
    }

    pub(crate) fn route_for(&self, rule: &Rule) -> &Route {
        match (rule.secure, rule.env_proxy) {
            (true, true) => &self.verified,
            (false, true) => &self.insecure,
            (true, false) => &self.verified_direct,
            (false, false) => &self.insecure_direct,
        }
    }
}

fn client(connector: Connector) -> Client<Connector, Body> {
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(60))
        .pool_timer(TokioTimer::new())
        .timer(TokioTimer::new())
        // Body chunks of at most 128 KiB: as fast as hyper's ~400 KiB default on a 1 GiB
        // download here, with a third less peak memory. Response heads are limited to this
        // too (nginx's default is 4-8 KiB).
        .http1_max_buf_size(128 * 1024)
        .build(connector)
}

/// The result of forwarding, for the request log.
pub struct Outcome {
    pub response: Response<Body>,
    pub upstream: String,
    /// The cause, when devproxy answered for a backend that failed.
    pub failure: Option<String>,
}

/// One request on its way to a backend: what its 502/504 answer and its log line name.
pub(crate) struct Attempt<'a> {
    pub rule: &'a Rule,
    /// The target chosen for this request (by `router`, else the rule's `target`).
    pub target: Option<&'a Target>,
    pub method: Method,
    /// Path and query as the browser sent them.
    pub path: String,
    /// The Host the browser addressed.
    pub host: Option<String>,
    /// The upstream URL, once known.
    pub url: String,
    /// "through the proxy …" when the connection goes through HTTP(S)_PROXY.
    pub via: Option<String>,
}

impl<'a> Attempt<'a> {
    pub fn new<B>(rule: &'a Rule, req: &Request<B>) -> Self {
        let path = req
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_string();
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_string)
            .or_else(|| req.uri().authority().map(|a| a.to_string()));
        let target = match &rule.destination {
            Some(_) => rule.target.as_ref(),
            None => rule.route(host.as_deref(), req.uri().path()),
        };
        Attempt {
            url: rule
                .upstream_url_for(host.as_deref(), &path)
                .unwrap_or_default(),
            rule,
            target,
            method: req.method().clone(),
            path,
            host,
            via: None,
        }
    }

    /// Builds the backend request: URL, headers, streaming body.
    pub fn request(
        &self,
        req: Request<Incoming>,
        peer: Peer,
        upgrade: bool,
    ) -> Result<Request<Body>, Box<Outcome>> {
        let uri = self.url.parse::<Uri>().map_err(|_| {
            let cause = format!("the rewritten path does not make a valid URL: {}", self.url);
            Box::new(self.fail(StatusCode::BAD_GATEWAY, cause))
        })?;
        let (mut parts, incoming) = req.into_parts();
        parts.uri = uri;
        parts.version = Version::HTTP_11;
        headers::to_upstream(&mut parts.headers, self.rule, self.target, peer, upgrade);
        // Keep the extensions behind: the upgrade handle belongs to the browser's connection.
        parts.extensions = http::Extensions::new();
        // A browser that stops sending mid-body must not hold a backend connection forever.
        let body = if http_body::Body::is_end_stream(&incoming) {
            body::boxed(incoming)
        } else {
            body::boxed(body::IdleTimeout::new(incoming, peer.body_idle))
        };
        Ok(Request::from_parts(parts, body))
    }

    /// Awaits the backend's response headers, within `proxyTimeout` when the rule sets one.
    pub async fn respond<E>(
        &self,
        send: impl Future<Output = Result<Response<Incoming>, E>>,
    ) -> Result<Response<Incoming>, Box<Outcome>>
    where
        E: std::error::Error + 'static,
    {
        // `timeout` (idle) also bounds the wait for headers when `proxyTimeout` is not set.
        let limit = match (self.rule.proxy_timeout, self.rule.idle_timeout) {
            (Some(l), _) => Some((l, "proxyTimeout")),
            (None, Some(l)) => Some((l, "timeout")),
            (None, None) => None,
        };
        let result = match limit {
            Some((limit, name)) => tokio::time::timeout(limit, send).await.map_err(|_| {
                let cause = format!("no response within {name} ({} ms)", limit.as_millis());
                Box::new(self.fail(StatusCode::GATEWAY_TIMEOUT, cause))
            })?,
            None => send.await,
        };
        result.map_err(|e| Box::new(self.fail_with(&e)))
    }

    /// The backend's response as the browser gets it: hop-by-hop headers gone, body streaming.
    pub fn relay(&self, res: Response<Incoming>) -> Outcome {
        let (mut parts, incoming) = res.into_parts();
        headers::strip_hop_by_hop(&mut parts.headers, false);
        headers::rewrite_set_cookies(&mut parts.headers, self.rule);
        if let Some(t) = self.target {
            headers::rewrite_location(
                &mut parts.headers,
                parts.status,
                self.rule,
                t,
                self.host.as_deref(),
            );
        }
        let body = match self.rule.idle_timeout {
            Some(limit) => body::boxed(body::IdleTimeout::new(incoming, limit)),
            None => body::boxed(incoming),
        };
        Outcome {
            response: Response::from_parts(parts, body),
            upstream: self.url.clone(),
            failure: None,
        }
    }

    /// A 502/504 for an error from the connector or the connection.
    pub fn fail_with(&self, e: &(dyn std::error::Error + 'static)) -> Outcome {
        let (status, mut cause) = describe_error(e, self.rule);
        if let Some(via) = &self.via {
            cause.push_str(&format!(" (connecting {via})"));
        }
        self.fail(status, cause)
    }

    /// A 502/504 generated by devproxy: the body names method, path, upstream, rule and cause.
    pub fn fail(&self, status: StatusCode, cause: String) -> Outcome {
        let what = if status == StatusCode::GATEWAY_TIMEOUT {
            "the backend did not answer in time"
        } else {
            "devproxy could not get a response from the backend"
        };
        let mut text = format!(
            "{} {}\n{what} for {} {}\n\n  rule:     {}\n",
            status.as_u16(),
            status.canonical_reason().unwrap_or(""),
            self.method,
            self.path,
            self.rule.summary
        );
        if !self.url.is_empty() {
            text.push_str(&format!("  upstream: {}\n", self.url));
        }
        text.push_str(&format!("  cause:    {cause}\n"));
        let mut response = body::text(status, text);
        response.headers_mut().insert(
            header::HeaderName::from_static("x-devproxy-error"),
            header::HeaderValue::from_static("1"),
        );
        Outcome {
            response,
            upstream: self.url.clone(),
            failure: Some(cause),
        }
    }
}

/// How many redirects `followRedirects` follows before handing the last one to the browser.
const MAX_REDIRECTS: usize = 10;

/// Forwards one request and returns the backend's response, streaming, or a 502/504.
pub async fn forward(
    upstream: &Upstream,
    rule: &Rule,
    req: Request<Incoming>,
    peer: Peer,
) -> Outcome {
    let mut attempt = Attempt::new(rule, &req);
    let mut out = match attempt.request(req, peer, false) {
        Ok(r) => r,
        Err(failed) => return *failed,
    };
    let route = upstream.route_for(rule);
    attempt.via = route.connector.describe_route(out.uri());
    if let Some(auth) = route.connector.forward_auth(out.uri()) {
        out.headers_mut().insert(header::PROXY_AUTHORIZATION, auth);
    }
    // Only a request without a body can be sent again to a redirect's target: a streamed
    // body is gone once sent.
    let replay = (rule.follow_redirects && http_body::Body::is_end_stream(out.body()))
        .then(|| (out.method().clone(), out.headers().clone()));
    let client = &route.client;
    let mut res = match attempt.respond(client.request(out)).await {
        Ok(res) => res,
        Err(failed) => return *failed,
    };
    if let Some((mut method, headers)) = replay {
        for _ in 0..MAX_REDIRECTS {
            let status = res.status().as_u16();
            if !matches!(status, 301 | 302 | 303 | 307 | 308) {
                break;
            }
            let Some(next) = res
                .headers()
                .get(header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| resolve_location(&attempt.url, l))
            else {
                break;
            };
            if status == 303 || (matches!(status, 301 | 302) && method == Method::POST) {
                method = Method::GET;
            }
            let Ok(uri) = next.parse::<Uri>() else { break };
            let mut again = Request::new(body::empty());
            *again.method_mut() = method.clone();
            *again.headers_mut() = headers.clone();
            if let Some(authority) = uri.authority() {
                if let Ok(v) = header::HeaderValue::from_str(authority.as_str()) {
                    again.headers_mut().insert(header::HOST, v);
                }
            }
            *again.uri_mut() = uri;
            attempt.url = next;
            res = match attempt.respond(client.request(again)).await {
                Ok(res) => res,
                Err(failed) => return *failed,
            };
        }
    }
    attempt.relay(res)
}

/// A `Location` resolved against the URL that answered with it.
fn resolve_location(base: &str, location: &str) -> Option<String> {
    if location.contains("://") {
        return Some(location.to_string());
    }
    let (scheme, rest) = base.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    if let Some(net) = location.strip_prefix("//") {
        return Some(format!("{scheme}://{net}"));
    }
    if location.starts_with('/') {
        return Some(format!("{scheme}://{authority}{location}"));
    }
    let path = rest[authority.len()..]
        .split(['?', '#'])
        .next()
        .unwrap_or("/");
    let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
    let dir = if dir.is_empty() { "/" } else { dir };
    Some(format!("{scheme}://{authority}{dir}{location}"))
}

/// Every error in a chain, including the one an `io::Error` wraps: its `source()` skips the
/// wrapped error itself, which is the one that names the cause.
fn error_layers<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> Vec<&'a (dyn std::error::Error + 'static)> {
    let mut out = Vec::new();
    let mut next = Some(e);
    while let Some(err) = next {
        out.push(err);
        let inner = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .map(|i| i as &(dyn std::error::Error + 'static));
        next = match inner {
            Some(i) if out.len() < 32 => Some(i),
            _ => err.source(),
        };
        if out.len() >= 32 {
            break;
        }
    }
    out
}

/// Names a client error in words, and picks 502 or 504.
pub(crate) fn describe_error(
    e: &(dyn std::error::Error + 'static),
    rule: &Rule,
) -> (StatusCode, String) {
    let where_ = rule
        .target
        .as_ref()
        .map(|t| format!("{}:{}", t.host, t.port))
        .unwrap_or_default();
    let layers = error_layers(e);
    for err in &layers {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            let advice = if matches!(tls, rustls::Error::InvalidCertificate(_)) {
                " (set \"secure\": false on this rule to accept self-signed certificates)"
            } else {
                ""
            };
            return (
                StatusCode::BAD_GATEWAY,
                format!("TLS handshake with {where_} failed: {tls}{advice}"),
            );
        }
    }
    for err in &layers {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            match io.kind() {
                ConnectionRefused => {
                    let tried = match &rule.target {
                        Some(t) if crate::resolve::is_localhost(&t.host) => {
                            format!(" (tried 127.0.0.1:{0} and [::1]:{0})", t.port)
                        }
                        _ => String::new(),
                    };
                    return (
                        StatusCode::BAD_GATEWAY,
                        format!("connection refused: nothing is listening on {where_}{tried}; is the backend running?"),
                    );
                }
                TimedOut => {
                    return (
                        StatusCode::GATEWAY_TIMEOUT,
                        format!(
                            "could not connect to {where_} within {} s",
                            CONNECT_TIMEOUT.as_secs()
                        ),
                    )
                }
                ConnectionReset | BrokenPipe | ConnectionAborted => {
                    return (
                        StatusCode::BAD_GATEWAY,
                        format!("the backend at {where_} reset the connection"),
                    )
                }
                _ => {}
            }
        }
        if let Some(h) = err.downcast_ref::<hyper::Error>() {
            if h.is_incomplete_message() {
                return (
                    StatusCode::BAD_GATEWAY,
                    format!("the backend at {where_} closed the connection before sending a complete response"),
                );
            }
            if h.is_parse() || h.is_parse_status() {
                return (
                    StatusCode::BAD_GATEWAY,
                    format!("the backend at {where_} sent an invalid HTTP response ({h})"),
                );
            }
        }
        let text = err.to_string();
        if text.contains("dns error") || text.contains("failed to lookup address") {
            let host = rule.target.as_ref().map(|t| t.host.as_str()).unwrap_or("");
            return (
                StatusCode::BAD_GATEWAY,
                format!("could not resolve the host name \"{host}\""),
            );
        }
    }
    let mut messages: Vec<String> = Vec::new();
    for err in &layers {
        let text = err.to_string();
        if !messages.iter().any(|m| m.contains(&text)) {
            messages.push(text);
        }
    }
    (StatusCode::BAD_GATEWAY, messages.join(": "))
}

#[cfg(test)]
mod tests {
    use super::resolve_location;

    #[test]
    fn locations_resolve_like_a_browser() {
        let base = "http://h:1/a/b?q";
        assert_eq!(
            resolve_location(base, "https://x/y").as_deref(),
            Some("https://x/y")
        );
        assert_eq!(
            resolve_location(base, "//x/y").as_deref(),
            Some("http://x/y")
        );
        assert_eq!(
            resolve_location(base, "/y").as_deref(),
            Some("http://h:1/y")
        );
        assert_eq!(
            resolve_location(base, "c").as_deref(),
            Some("http://h:1/a/c")
        );
        assert_eq!(
            resolve_location("http://h", "c").as_deref(),
            Some("http://h/c")
        );
    }
}

/// A verifier for `secure: false`: accepts any certificate, still checks handshake signatures
/// so the connection is at least consistent.
#[derive(Debug)]
struct AcceptAnyCert(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
