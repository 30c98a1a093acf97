//! One request on its way to a backend: building the upstream request, waiting for the
//! answer within the rule's limits, relaying it, and the 502/504 page when it fails.

use std::future::Future;

use http::{header, Method, Request, Response, StatusCode, Uri, Version};
use hyper::body::Incoming;

use hyper_util::client::legacy::connect::HttpInfo;
use tokio::sync::watch;

use super::failure::Failure;
use super::stream::{self, EventStream, StreamLog};
use super::{cookies, headers, location, Outcome};
use crate::body::{self, Body};
use crate::inspector::Capture;
use crate::rules::{Rule, Target};
use crate::server::{Peer, RequestBody};

/// What a request's 502/504 answer and its log line name.
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
    /// The inspector's record of this exchange, when the inspector is on.
    pub capture: Option<&'a Capture>,
    /// The browser reached devproxy over HTTPS.
    pub tls: bool,
}

impl<'a> Attempt<'a> {
    pub(crate) fn new<B>(rule: &'a Rule, req: &Request<B>) -> Self {
        let path = crate::url::path_and_query(req.uri()).to_string();
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
            capture: None,
            tls: false,
        }
    }

    /// Builds the backend request: URL, headers, streaming body.
    pub(crate) fn request(
        &self,
        req: Request<RequestBody>,
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
        if let Some(c) = self.capture {
            c.sent_upstream(&self.url, &parts.headers);
        }
        // Keep the extensions behind: the upgrade handle belongs to the browser's connection.
        parts.extensions = http::Extensions::new();
        // A browser that stops sending mid-body must not hold a backend connection forever.
        let body = if http_body::Body::is_end_stream(&incoming) {
            body::boxed(incoming)
        } else {
            let body = body::boxed(body::IdleTimeout::new(incoming, peer.body_idle));
            match self.capture {
                Some(c) => c.tee_request(body),
                None => body,
            }
        };
        Ok(Request::from_parts(parts, body))
    }

    /// Awaits the backend's response headers, within `proxyTimeout` when the rule sets one.
    pub(crate) async fn respond<E>(
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

    /// The backend's response as the browser gets it: hop-by-hop headers gone, cookies and
    /// redirects rewritten as the rule says, body streaming.
    pub(crate) fn relay(&self, res: Response<Incoming>, stop: &watch::Receiver<bool>) -> Outcome {
        let (mut parts, incoming) = res.into_parts();
        if let Some(c) = self.capture {
            let connected = parts
                .extensions
                .get::<HttpInfo>()
                .map(HttpInfo::remote_addr);
            c.backend_answered(&parts.headers, connected);
        }
        headers::strip_hop_by_hop(&mut parts.headers, false);
        cookies::rewrite_set_cookies(&mut parts.headers, &self.rule.cookies);
        if let Some(t) = self.target {
            location::rewrite(
                &mut parts.headers,
                parts.status,
                &self.rule.location,
                t,
                self.host.as_deref(),
                self.tls,
            );
        }
        let events = parts
            .headers
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
        let body = match (self.rule.idle_timeout, events) {
            (Some(limit), _) => body::boxed(body::IdleTimeout::new(incoming, limit)),
            (None, true) => {
                let log = StreamLog::new("event stream", &self.path, &self.rule.name);
                body::boxed(EventStream::new(incoming, log, stream::stopping(stop)))
            }
            (None, false) => body::boxed(incoming),
        };
        Outcome {
            response: Response::from_parts(parts, body),
            upstream: self.url.clone(),
            failure: None,
        }
    }

    /// A 502/504 for an error from the connector or the connection.
    pub(crate) fn fail_with(&self, e: &(dyn std::error::Error + 'static)) -> Outcome {
        let failure = Failure::of(e);
        let mut cause = failure.describe(self.rule.target.as_ref());
        if let Some(via) = &self.via {
            cause.push_str(&format!(" (connecting {via})"));
        }
        self.fail(failure.status(), cause)
    }

    /// A 502/504 generated by devproxy: the body names method, path, upstream, rule and cause.
    pub(crate) fn fail(&self, status: StatusCode, cause: String) -> Outcome {
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
            self.rule.describe()
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
