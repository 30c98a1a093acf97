//! The Fetch standard's safelists: which methods and request headers (with which values) a
//! page may send without a preflight, which headers a page cannot set at all, and a header
//! name as people write it.

use http::{HeaderName, Method};

pub(super) fn safelisted_method(m: &Method) -> bool {
    matches!(*m, Method::GET | Method::HEAD | Method::POST)
}

/// The Fetch standard's CORS-safelisted request-headers (by name and value).
pub(super) fn safelisted_header(name: &HeaderName, value: &str) -> bool {
    use http::header::{ACCEPT, ACCEPT_LANGUAGE, CONTENT_LANGUAGE, CONTENT_TYPE, RANGE};
    let unsafe_byte =
        |b: u8| (b < 0x20 && b != b'\t') || b"\"():<>?@[\\]{}".contains(&b) || b == 0x7f;
    if value.len() > 128 {
        return false;
    }
    match *name {
        ACCEPT => !value.bytes().any(unsafe_byte),
        ACCEPT_LANGUAGE | CONTENT_LANGUAGE => value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b" *,-.;=".contains(&b)),
        CONTENT_TYPE => {
            let essence = value.split(';').next().unwrap_or("").trim();
            !value.bytes().any(unsafe_byte)
                && [
                    "application/x-www-form-urlencoded",
                    "multipart/form-data",
                    "text/plain",
                ]
                .iter()
                .any(|e| e.eq_ignore_ascii_case(essence))
        }
        RANGE => simple_range(value),
        _ => false,
    }
}

/// `bytes=N-` or `bytes=N-M`: the only Range a page may send without a preflight.
fn simple_range(value: &str) -> bool {
    let Some(spec) = value.strip_prefix("bytes=") else {
        return false;
    };
    let Some((first, last)) = spec.split_once('-') else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(first) && (last.is_empty() || digits(last))
}

/// Headers a page cannot set: the browser drops them from `fetch`.
pub(crate) fn forbidden_header(name: &HeaderName) -> bool {
    let n = name.as_str();
    n.starts_with("proxy-")
        || n.starts_with("sec-")
        || [
            "accept-charset",
            "accept-encoding",
            "access-control-request-headers",
            "access-control-request-method",
            "connection",
            "content-length",
            "cookie",
            "cookie2",
            "date",
            "dnt",
            "expect",
            "host",
            "keep-alive",
            "origin",
            "referer",
            "te",
            "trailer",
            "transfer-encoding",
            "upgrade",
            "via",
        ]
        .contains(&n)
}

/// A header name as people write it (`x-api-key` → `X-Api-Key`).
pub(crate) fn display(name: &HeaderName) -> String {
    name.as_str()
        .split('-')
        .map(|part| {
            let mut c = part.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_simple_ranges_are_safelisted() {
        assert!(simple_range("bytes=0-99"));
        assert!(simple_range("bytes=100-"));
        assert!(!simple_range("bytes=0-1,5-6"));
        assert!(!simple_range("bytes=-5"));
    }
}
