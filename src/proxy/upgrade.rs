//! Upgrades (WebSocket and any other `Upgrade`): the handshake is checked, refused with a 400
//! that says why, or sent to the backend on a connection of its own; after the backend's 101
//! the two connections are handed to [`super::tunnel`].

use http::{header, Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use tower::ServiceExt;

use super::stream::{self, StreamLog};
use super::upstream::{Upstream, CONNECT_TIMEOUT};
use super::{headers, tunnel, Attempt, Outcome, Proxy};
use crate::body;
use crate::inspector::Capture;
use crate::rules::Rule;
use crate::server::{Peer, RequestBody};

/// Handles `req` if it asks to switch protocols: tunnelled when the rule has `ws`, else
/// refused with a 400 that says why. `Err(req)` gives back a request that is no upgrade.
pub(super) async fn dispatch_upgrade(
    proxy: &Proxy,
    rule: &Rule,
    mut req: Request<RequestBody>,
    peer: Peer,
    capture: Option<&Capture>,
) -> Result<Outcome, Request<RequestBody>> {
    if headers::is_upgrade(req.headers()) && protocol(&req).eq_ignore_ascii_case("h2c") {
        // h2c is an upgrade to HTTP/2 over cleartext, which no browser sends: the request
        // is forwarded as the plain HTTP/1.1 request it also is.
        headers::strip_hop_by_hop(req.headers_mut(), false);
    }
    if !headers::is_upgrade(req.headers()) {
        return Err(req);
    }
    if let Some(problem) = bad_websocket_handshake(&req) {
        let cause = format!("bad WebSocket handshake: {problem}");
        return Ok(refused(cause, String::new()));
    }
    if rule.ws {
        return Ok(tunnel(proxy, rule, req, peer, capture).await);
    }
    let cause = format!(
        "a {} upgrade reached rule \"{}\", which does not tunnel upgrades; add \"ws\": true to it",
        protocol(&req),
        rule.name
    );
    Ok(refused(cause, Attempt::new(rule, &req).url))
}

/// A 400 for an upgrade devproxy will not tunnel; the connection is closed after it.
fn refused(cause: String, upstream: String) -> Outcome {
    let mut response = body::text(StatusCode::BAD_REQUEST, format!("400 Bad Request\n{cause}"));
    body::close_after(&mut response);
    Outcome {
        response,
        upstream,
        failure: Some(cause),
    }
}

fn protocol<B>(req: &Request<B>) -> &str {
    upgrade_header(req.headers())
}

fn upgrade_header(h: &http::HeaderMap) -> &str {
    h.get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim()
}

/// What is wrong with a WebSocket handshake (RFC 6455 §4.1), if anything. Other upgrade
/// protocols are passed on as they are.
fn bad_websocket_handshake<B>(req: &Request<B>) -> Option<&'static str> {
    if !protocol(req).eq_ignore_ascii_case("websocket") {
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

/// Sends the upgrade request to the backend and, on 101, tunnels the two connections.
/// Any other answer from the backend is relayed as it is.
async fn tunnel(
    proxy: &Proxy,
    rule: &Rule,
    mut req: Request<RequestBody>,
    peer: Peer,
    capture: Option<&Capture>,
) -> Outcome {
    let mut attempt = Attempt::new(rule, &req);
    attempt.capture = capture;
    attempt.tls = peer.tls;
    let browser_side = hyper::upgrade::on(&mut req);
    let out = match attempt.request(req, peer, true) {
        Ok(r) => r,
        Err(failed) => return *failed,
    };
    let mut res = match handshake(&proxy.upstream, &mut attempt, out).await {
        Ok(r) => r,
        Err(failed) => return *failed,
    };
    if res.status() != StatusCode::SWITCHING_PROTOCOLS {
        // The browser asked to leave HTTP on this connection; after a refusal it is closed.
        let mut outcome = attempt.relay(res, &proxy.stop);
        body::close_after(&mut outcome.response);
        return outcome;
    }
    if let Some(c) = attempt.capture {
        c.backend_answered(res.headers(), None);
    }
    let backend_side = hyper::upgrade::on(&mut res);
    let kind = if upgrade_header(res.headers()).eq_ignore_ascii_case("websocket") {
        "WebSocket"
    } else {
        "upgraded connection"
    };
    let log = StreamLog::new(kind, &attempt.path, &rule.name)
        .with_capture(attempt.capture.map(Capture::handle));
    let (stopping, shown) = (stream::stopping(&proxy.stop), attempt.url.clone());
    let rule_name = rule.name.clone();
    tokio::spawn(async move {
        match tokio::try_join!(browser_side, backend_side) {
            Ok((browser, backend)) => tunnel::join(browser, backend, log, stopping).await,
            Err(e) => tracing::warn!(rule = %rule_name, "{kind} to {shown} did not start: {e}"),
        }
    });
    let (mut parts, _) = res.into_parts();
    headers::strip_hop_by_hop(&mut parts.headers, true);
    Outcome {
        response: Response::from_parts(parts, body::empty()),
        upstream: attempt.url,
        failure: None,
    }
}

/// Sends the handshake to the backend on a connection of its own (an upgraded connection
/// never goes back to a pool) and returns the backend's answer.
async fn handshake(
    upstream: &Upstream,
    attempt: &mut Attempt<'_>,
    mut out: Request<body::Body>,
) -> Result<Response<Incoming>, Box<Outcome>> {
    let connector = upstream.pool_for(attempt.rule).connector.for_upgrades();
    attempt.via = connector.describe_route(out.uri());
    let connect = connector.oneshot(out.uri().clone());
    let io = match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
        Ok(Ok(io)) => io,
        Ok(Err(e)) => return Err(Box::new(attempt.fail_with(e.as_ref()))),
        Err(_) => {
            let timed_out = std::io::Error::from(std::io::ErrorKind::TimedOut);
            return Err(Box::new(attempt.fail_with(&timed_out)));
        }
    };
    // On a connection of our own the request line carries the path only (origin-form).
    if let Ok(uri) = crate::url::path_and_query(out.uri()).parse::<http::Uri>() {
        *out.uri_mut() = uri;
    }
    let (mut sender, conn) = hyper::client::conn::http1::Builder::new()
        .handshake::<_, body::Body>(io)
        .await
        .map_err(|e| Box::new(attempt.fail_with(&e)))?;
    tokio::spawn(async move {
        // Ends when the tunnel closes; errors here are the tunnel's and are logged there.
        let _ = conn.with_upgrades().await;
    });
    attempt.respond(sender.send_request(out)).await
}
