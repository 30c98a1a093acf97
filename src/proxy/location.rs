//! Redirects: rewriting a backend's `Location` back to devproxy (`autoRewrite`, `hostRewrite`,
//! `protocolRewrite`), and resolving one for `followRedirects`.

use http::header::{self, HeaderMap, HeaderValue};
use http::StatusCode;

use crate::rules::{LocationRewrite, Target};

/// A redirect from the backend to its own host is turned into one to devproxy (or the given
/// host), as http-proxy does on 201/301/302/307/308. With `autoRewrite` the scheme becomes
/// the one devproxy serves (https with `--https`).
pub(crate) fn rewrite(
    headers: &mut HeaderMap,
    status: StatusCode,
    rewrite: &LocationRewrite,
    target: &Target,
    browser_host: Option<&str>,
    tls: bool,
) {
    if !matches!(status.as_u16(), 201 | 301 | 302 | 307 | 308) || !rewrite.is_active() {
        return;
    }
    let Some(location) = headers.get(header::LOCATION).and_then(|v| v.to_str().ok()) else {
        return;
    };
    let Some((scheme, authority, tail)) = crate::url::split(location) else {
        return; // a relative redirect already lands on devproxy
    };
    if !names_target(scheme, authority, target) {
        return;
    }
    let host = match (&rewrite.host, rewrite.auto, browser_host) {
        (Some(h), _, _) => h.as_str(),
        (None, true, Some(b)) => b,
        _ => authority,
    };
    let scheme = match (rewrite.protocol, rewrite.auto) {
        (Some(p), _) => p.as_str(),
        (None, true) if tls => "https",
        (None, true) => "http",
        (None, false) => scheme,
    };
    if let Ok(v) = HeaderValue::from_str(&format!("{scheme}://{host}{tail}")) {
        headers.insert(header::LOCATION, v);
    }
}

/// Whether `scheme://authority` is the target, with or without its default port.
fn names_target(scheme: &str, authority: &str, target: &Target) -> bool {
    let default_port = if scheme.eq_ignore_ascii_case("https") {
        443
    } else {
        80
    };
    authority.eq_ignore_ascii_case(&target.authority())
        || authority.eq_ignore_ascii_case(&format!("{}:{}", target.host, target.port))
        || (target.port == default_port && authority.eq_ignore_ascii_case(&target.host))
}

/// A `Location` resolved against the URL that answered with it, as a browser resolves it.
pub(crate) fn resolve(base: &str, location: &str) -> Option<String> {
    if location.contains("://") {
        return Some(location.to_string());
    }
    let (scheme, authority, rest) = crate::url::split(base)?;
    if let Some(net) = location.strip_prefix("//") {
        return Some(format!("{scheme}://{net}"));
    }
    if location.starts_with('/') {
        return Some(format!("{scheme}://{authority}{location}"));
    }
    let path = rest.split(['?', '#']).next().unwrap_or("/");
    let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
    let dir = if dir.is_empty() { "/" } else { dir };
    Some(format!("{scheme}://{authority}{dir}{location}"))
}

#[cfg(test)]
mod tests {
    use super::resolve;

    #[test]
    fn locations_resolve_like_a_browser() {
        let base = "http://h:1/a/b?q";
        assert_eq!(resolve(base, "https://x/y").as_deref(), Some("https://x/y"));
        assert_eq!(resolve(base, "//x/y").as_deref(), Some("http://x/y"));
        assert_eq!(resolve(base, "/y").as_deref(), Some("http://h:1/y"));
        assert_eq!(resolve(base, "c").as_deref(), Some("http://h:1/a/c"));
        assert_eq!(resolve("http://h", "c").as_deref(), Some("http://h/c"));
    }
}
