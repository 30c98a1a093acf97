//! Forwarding: a request that a rule took goes to the rule's backend through the shared pooled
//! client, streaming both ways, with headers, cookies and redirects rewritten as the rule says;
//! upgrades are tunnelled; failures become 502/504 answers that say what went wrong.

mod attempt;
mod cookies;
mod failure;
mod headers;
mod location;
mod origin;
mod stream;
mod tunnel;
mod upgrade;
mod upstream;

use http::{header, Method, Request, Response, Uri};
use hyper::body::Incoming;
use tokio::sync::watch;

pub(crate) use attempt::Attempt;
pub(crate) use upstream::Connector;
pub use upstream::ProxySettings;
use upstream::Upstream;

use crate::body::{self, Body};
use crate::inspector::Capture;
use crate::rules::Rule;
use crate::server::{Peer, RequestBody};

/// The result of forwarding, for the request log.
pub(crate) struct Outcome {
    pub response: Response<Body>,
    pub upstream: String,
    /// The cause, when devproxy answered for a backend that failed.
    pub failure: Option<String>,
}

/// How many redirects `followRedirects` follows before handing the last one to the browser.
const MAX_REDIRECTS: usize = 10;

/// The forwarding side: the pools, and the signal that devproxy is stopping (streams end
/// then).
pub(crate) struct Proxy {
    upstream: Upstream,
    stop: watch::Receiver<bool>,
}

impl Proxy {
    /// Pools for `proxies`; open streams end when `stop` turns true.
    pub(crate) fn new(
        proxies: &ProxySettings,
        stop: watch::Receiver<bool>,
    ) -> anyhow::Result<Self> {
        Ok(Proxy {
            upstream: Upstream::new(proxies)?,
            stop,
        })
    }

    /// Forwards one request a rule took: upgrades are tunnelled (or refused), everything
    /// else is sent through the pool and the answer streamed back.
    pub(crate) async fn handle(
        &self,
        rule: &Rule,
        req: Request<RequestBody>,
        peer: Peer,
        capture: Option<&Capture>,
    ) -> Outcome {
        if let Some(problem) = &rule.problem {
            let cause = format!("the rule cannot be used: {problem}");
            return Attempt::new(rule, &req).fail(http::StatusCode::BAD_GATEWAY, cause);
        }
        if let Some(refused) = origin::refuse_cross_site(rule, &req) {
            return refused;
        }
        // tower-http takes every OPTIONS for a preflight; one without
        // Access-Control-Request-Method is not, and is the backend's.
        let preflight_or_other = req.method() != http::Method::OPTIONS
            || req
                .headers()
                .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
        match &rule.cors {
            Some(cors) if preflight_or_other => {
                self.with_cors(cors, rule, req, peer, capture).await
            }
            _ => self.pass(rule, req, peer, capture).await,
        }
    }

    /// Tunnels an upgrade, or forwards a plain request.
    async fn pass(
        &self,
        rule: &Rule,
        req: Request<RequestBody>,
        peer: Peer,
        capture: Option<&Capture>,
    ) -> Outcome {
        match upgrade::dispatch_upgrade(self, rule, req, peer, capture).await {
            Ok(outcome) => outcome,
            Err(req) => self.forward(rule, req, peer, capture).await,
        }
    }

    /// `cors`: tower-http's CORS layer around the exchange. Preflights are answered here and
    /// never reach the backend; on other answers the backend's own CORS headers are replaced.
    async fn with_cors(
        &self,
        cors: &tower_http::cors::CorsLayer,
        rule: &Rule,
        req: Request<RequestBody>,
        peer: Peer,
        capture: Option<&Capture>,
    ) -> Outcome {
        use tower::{Layer as _, ServiceExt as _};
        let passed: std::sync::Mutex<Option<(String, Option<String>)>> = Default::default();
        let inner = tower::service_fn(|req: Request<RequestBody>| {
            let passed = &passed;
            async move {
                let mut outcome = self.pass(rule, req, peer, capture).await;
                let h = outcome.response.headers_mut();
                let theirs: Vec<http::HeaderName> = h
                    .keys()
                    .filter(|k| k.as_str().starts_with("access-control-"))
                    .cloned()
                    .collect();
                for name in theirs {
                    h.remove(name);
                }
                if let Ok(mut p) = passed.lock() {
                    *p = Some((outcome.upstream, outcome.failure));
                }
                Ok::<_, std::convert::Infallible>(outcome.response)
            }
        });
        let response = match cors.layer(inner).oneshot(req).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let (upstream, failure) = passed
            .into_inner()
            .ok()
            .flatten()
            .unwrap_or_else(|| (String::new(), None));
        Outcome {
            response,
            upstream,
            failure,
        }
    }

    /// Forwards one plain request and returns the backend's response, streaming, or a 502/504.
    async fn forward(
        &self,
        rule: &Rule,
        req: Request<RequestBody>,
        peer: Peer,
        capture: Option<&Capture>,
    ) -> Outcome {
        let upstream = &self.upstream;
        let mut attempt = Attempt::new(rule, &req);
        attempt.capture = capture;
        attempt.tls = peer.tls;
        let mut out = match attempt.request(req, peer, false) {
            Ok(r) => r,
            Err(failed) => return *failed,
        };
        let pool = upstream.pool_for(rule);
        attempt.via = pool.connector.describe_route(out.uri());
        if let Some(auth) = pool.connector.forward_auth(out.uri()) {
            out.headers_mut().insert(header::PROXY_AUTHORIZATION, auth);
        }
        // Only a request without a body can be sent again to a redirect's target: a streamed
        // body is gone once sent.
        let replay = (rule.follow_redirects && http_body::Body::is_end_stream(out.body()))
            .then(|| (out.method().clone(), out.headers().clone()));
        let mut res = match attempt.respond(pool.client.request(out)).await {
            Ok(res) => res,
            Err(failed) => return *failed,
        };
        if let Some((method, headers)) = replay {
            res = match follow(&mut attempt, &pool.client, res, method, headers).await {
                Ok(res) => res,
                Err(failed) => return *failed,
            };
        }
        attempt.relay(res, &self.stop)
    }
}

/// A client for devproxy's own requests (the CORS doctor): HTTP(S)_PROXY and `localhost`
/// read as for rules; `secure: false` accepts any certificate.
pub(crate) fn client(
    secure: bool,
) -> anyhow::Result<hyper_util::client::legacy::Client<Connector, Body>> {
    let upstream = Upstream::new(&ProxySettings::from_env())?;
    Ok(upstream.pool(secure).client.clone())
}

/// Why a request to `target` failed, in the words of the 502 page, with `advice` after a
/// refused certificate.
pub(crate) fn explain(
    e: &(dyn std::error::Error + 'static),
    target: &crate::rules::Target,
    advice: &str,
) -> String {
    failure::Failure::of(e).describe_with(Some(target), advice)
}

/// `followRedirects`: sends the request again to each redirect's target, up to
/// [`MAX_REDIRECTS`] times, and returns the last answer.
async fn follow(
    attempt: &mut Attempt<'_>,
    client: &hyper_util::client::legacy::Client<Connector, Body>,
    mut res: Response<Incoming>,
    mut method: Method,
    headers: http::HeaderMap,
) -> Result<Response<Incoming>, Box<Outcome>> {
    for _ in 0..MAX_REDIRECTS {
        let status = res.status().as_u16();
        if !matches!(status, 301 | 302 | 303 | 307 | 308) {
            break;
        }
        let Some(next) = res
            .headers()
            .get(header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .and_then(|l| location::resolve(&attempt.url, l))
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
        res = attempt.respond(client.request(again)).await?;
    }
    Ok(res)
}
