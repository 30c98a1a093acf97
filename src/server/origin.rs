//! Who sent a request, as far as the browser says (`Origin`, `Sec-Fetch-Site`): the app's own
//! pages, or a page of another origin. `rewriteOrigin` and devproxy's own pages serve only the
//! former.

use http::{header, HeaderMap};

/// Who sent a request, as far as the browser says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Sender {
    /// A page of the origin devproxy was addressed by, or no browser page at all (no `Origin`
    /// and no `Sec-Fetch-Site`: curl, a test, a server).
    SameOrigin,
    /// Another origin: the `Origin` value, or what `Sec-Fetch-Site` says.
    Other(String),
}

pub(crate) fn sender(h: &HeaderMap) -> Sender {
    let host = h
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if let Some(origin) = h.get(header::ORIGIN) {
        let origin = String::from_utf8_lossy(origin.as_bytes()).into_owned();
        let own = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
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
