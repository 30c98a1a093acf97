//! `rewriteOrigin` and `rewriteWsOrigin` make a request look as if it came from the backend's
//! own origin, so they are applied only to requests from the app's own pages: a page on
//! another site must not launder its requests through devproxy past the backend's CSRF or
//! WebSocket origin checks.

use http::{header, HeaderMap, Request, StatusCode};

use super::{headers, Attempt, Outcome};
use crate::body;
use crate::rules::Rule;

/// Who sent a request, as far as the browser says.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Sender {
    /// A page of the origin devproxy was addressed by, or no browser page at all (no `Origin`
    /// and no `Sec-Fetch-Site`: curl, a test, a server).
    SameOrigin,
    /// Another origin: the `Origin` value, or what `Sec-Fetch-Site` says.
    Other(String),
}

fn sender(h: &HeaderMap) -> Sender {
    let host = h
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if let Some(origin) = h.get(header::ORIGIN) {
        let origin = String::from_utf8_lossy(origin.as_bytes()).into_owned();
        let own = origin
            .strip_prefix("http://")
            .is_some_and(|o| !host.is_empty() && o.eq_ignore_ascii_case(host));
        return if own {
            Sender::SameOrigin
        } else {
            Sender::Other(origin)
        };
    }
    match h.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some(site @ ("cross-site" | "same-site")) => {
            Sender::Other(format!("a {site} page (Sec-Fetch-Site: {site})"))
        }
        _ => Sender::SameOrigin,
    }
}

/// The 403 for a request from another origin on a rule that would rewrite its `Origin`, or
/// `None` when the request may go on.
pub(super) fn refuse_cross_site<B>(rule: &Rule, req: &Request<B>) -> Option<Outcome> {
    let upgrade = headers::is_upgrade(req.headers());
    let option = if rule.rewrite_origin {
        "rewriteOrigin"
    } else if rule.rewrite_ws_origin && upgrade {
        "rewriteWsOrigin"
    } else {
        return None;
    };
    let Sender::Other(from) = sender(req.headers()) else {
        return None;
    };
    let cause = format!(
        "refused a request from {from}: rule \"{}\" has {option}, which only serves the app's own pages",
        rule.name
    );
    let text = format!(
        "403 Forbidden\n{cause}.\n\n{option} makes requests look as if they came from the backend's own origin, \
         so a page on another origin could use it to pass the backend's CSRF or origin checks. \
         Requests from another origin reach the backend only through rules without it, with their real Origin.\n"
    );
    let mut response = body::text(StatusCode::FORBIDDEN, text);
    if upgrade {
        body::close_after(&mut response);
    }
    Some(Outcome {
        response,
        upstream: Attempt::new(rule, req).url,
        failure: Some(cause),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Sender {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        sender(&h)
    }

    #[test]
    fn senders() {
        let host = ("host", "localhost:4280");
        assert_eq!(
            from(&[host, ("origin", "http://localhost:4280")]),
            Sender::SameOrigin
        );
        assert_eq!(
            from(&[host, ("origin", "https://evil.example")]),
            Sender::Other("https://evil.example".into())
        );
        assert_eq!(
            from(&[host, ("origin", "null")]),
            Sender::Other("null".into())
        );
        assert_eq!(
            from(&[host, ("origin", "http://localhost:3000")]),
            Sender::Other("http://localhost:3000".into())
        );
        assert_eq!(
            from(&[host, ("sec-fetch-site", "same-origin")]),
            Sender::SameOrigin
        );
        assert_eq!(
            from(&[host, ("sec-fetch-site", "none")]),
            Sender::SameOrigin
        );
        assert!(matches!(
            from(&[host, ("sec-fetch-site", "cross-site")]),
            Sender::Other(_)
        ));
        assert_eq!(from(&[host]), Sender::SameOrigin, "curl and servers");
    }
}
