//! What may be served: request paths decoded into segments with dotfiles hidden, directory
//! redirects that stay on this host, and which requests are page navigations (SPA fallback).

use http::{header, HeaderValue, Method, Request, Response, StatusCode};

use crate::body::{self, Body};

/// A page navigation: GET or HEAD whose Accept includes `text/html`.
pub(crate) fn wants_html<B>(req: &Request<B>) -> bool {
    (req.method() == Method::GET || req.method() == Method::HEAD)
        && req
            .headers()
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.contains("text/html"))
}

pub(super) enum Segments {
    Path(Vec<String>),
    Missing,
    Hidden,
}

/// The decoded, non-empty segments of a request path. Dotfiles (and `.`/`..`), NULs and
/// backslashes are hidden; `/.well-known/` is the one dot-directory served.
pub(super) fn segments(path: &str) -> Segments {
    let Ok(decoded) = percent_encoding::percent_decode_str(path).decode_utf8() else {
        return Segments::Missing;
    };
    if decoded.contains(['\\', '\0']) {
        return Segments::Hidden;
    }
    let mut out = Vec::new();
    for (i, s) in decoded.split('/').filter(|s| !s.is_empty()).enumerate() {
        if s.starts_with('.') && !(i == 0 && s == ".well-known") {
            return Segments::Hidden;
        }
        out.push(s.to_string());
    }
    Segments::Path(out)
}

/// `/dir` → `/dir/`, built from the decoded segments so the target is always a path on this
/// host (never `//name/`, which a browser reads as another host).
pub(super) fn redirect_to_directory(
    base: &str,
    segs: &[String],
    query: Option<&str>,
) -> Response<Body> {
    let mut location = String::from(base);
    for s in segs {
        location.push_str(
            &percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC)
                .to_string(),
        );
        location.push('/');
    }
    if let Some(q) = query {
        location.push('?');
        location.push_str(q);
    }
    let mut res = Response::new(body::empty());
    *res.status_mut() = StatusCode::TEMPORARY_REDIRECT;
    if let Ok(v) = HeaderValue::from_str(&location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}
