//! WebSocket (and any `Upgrade`) tunnelling: the handshake goes to the backend on a connection
//! of its own; after its 101 both sides are joined byte for byte.

use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tower::ServiceExt;

use crate::body;
use crate::headers::{self, Peer};
use crate::proxy::{self, Attempt, Outcome, Upstream};
use crate::rules::Rule;

/// Sends the upgrade request to the backend and, on 101, tunnels the two connections.
/// Any other answer from the backend is relayed as it is.
pub async fn tunnel(
    upstream: &Upstream,
    rule: &Rule,
    mut req: Request<Incoming>,
    peer: Peer,
) -> Outcome {
    let mut attempt = Attempt::new(rule, &req);
    let browser_side = hyper::upgrade::on(&mut req);
    let mut out = match attempt.request(req, peer, true) {
        Ok(r) => r,
        Err(failed) => return *failed,
    };
    let connector = upstream.route_for(rule).connector.for_upgrades();
    attempt.via = connector.describe_route(out.uri());
    let connect = connector.oneshot(out.uri().clone());
    let io = match tokio::time::timeout(proxy::CONNECT_TIMEOUT, connect).await {
        Ok(Ok(io)) => io,
        Ok(Err(e)) => return attempt.fail_with(e.as_ref()),
        Err(_) => return attempt.fail_with(&std::io::Error::from(std::io::ErrorKind::TimedOut)),
    };
    // On a connection of our own the request line carries the path only (origin-form).
    if let Ok(uri) = out
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .parse::<http::Uri>()
    {
        *out.uri_mut() = uri;
    }
    let (mut sender, conn) = match hyper::client::conn::http1::Builder::new()
        .handshake::<_, body::Body>(io)
        .await
    {
        Ok(x) => x,
        Err(e) => return attempt.fail_with(&e),
    };
    tokio::spawn(async move {
        // Ends when the tunnel closes; errors here are the tunnel's and are logged there.
        let _ = conn.with_upgrades().await;
    });
    let mut res = match attempt.respond(sender.send_request(out)).await {
        Ok(r) => r,
        Err(failed) => return *failed,
    };
    if res.status() != StatusCode::SWITCHING_PROTOCOLS {
        // The browser asked to leave HTTP on this connection; after a refusal it is closed.
        let mut outcome = attempt.relay(res);
        outcome.response.headers_mut().insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        );
        return outcome;
    }
    let backend_side = hyper::upgrade::on(&mut res);
    let rule_name = rule.name.clone();
    let shown = attempt.url.clone();
    tokio::spawn(async move {
        let (browser, backend) = match tokio::try_join!(browser_side, backend_side) {
            Ok(pair) => pair,
            Err(e) => {
                tracing::warn!(rule = %rule_name, "WebSocket to {shown} did not start: {e}");
                return;
            }
        };
        let mut browser = TokioIo::new(browser);
        let mut backend = TokioIo::new(backend);
        match tokio::io::copy_bidirectional(&mut browser, &mut backend).await {
            Ok((up, down)) => {
                tracing::debug!(rule = %rule_name, "WebSocket to {shown} closed ({up} B up, {down} B down)")
            }
            Err(e) => tracing::debug!(rule = %rule_name, "WebSocket to {shown} ended: {e}"),
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
