//! Requests devproxy refuses before routing, whatever the rules say: forward-proxy `CONNECT`,
//! oversized targets and heads, and cross-site pages loading devproxy's answers as scripts.
//! A server-wide `OPTIONS *` is answered here.

use http::{header, HeaderValue, Method, Request, Response, StatusCode};

use super::{MAX_HEADER_BYTES, MAX_URI_BYTES};
use crate::body::{self, Body};

/// The answer for a request that must not reach the app, or `None`.
pub(super) fn refusal<B>(req: &Request<B>) -> Option<Response<Body>> {
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
            HeaderValue::from_static("GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"),
        );
        return Some(res);
    }
    // Request smuggling is hyper's parser's to stop: it refuses bad or duplicate lengths and
    // unknown codings with 400, and reads Content-Length plus Transfer-Encoding as chunked,
    // dropping the length and closing the connection after (RFC 9112 §6.1).
    let target_len = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if target_len > MAX_URI_BYTES {
        return refuse(StatusCode::URI_TOO_LONG, "the request target is too long");
    }
    let h = req.headers();
    let head: usize = h.iter().map(|(k, v)| k.as_str().len() + v.len() + 4).sum();
    if head > MAX_HEADER_BYTES {
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

/// A plain-text refusal; the connection is closed after it.
fn refuse(status: StatusCode, text: &str) -> Option<Response<Body>> {
    let reason = status.canonical_reason().unwrap_or("");
    let mut res = body::text(status, format!("{} {reason}: {text}", status.as_u16()));
    body::close_after(&mut res);
    Some(res)
}
