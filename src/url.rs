//! Small pieces of URL and host-name handling shared by the config reader, the rules, the
//! Host check and the proxy.

/// `scheme://authority/rest` split into its three parts; `rest` starts at the first `/`, `?`
/// or `#` after the authority (or is empty). `None` without `://`.
pub(crate) fn split(url: &str) -> Option<(&str, &str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    Some((scheme, authority, tail))
}

/// A host without the brackets of an IPv6 literal.
pub(crate) fn unbracket(host: &str) -> &str {
    host.trim_start_matches('[').trim_end_matches(']')
}

/// Whether `host` is a loopback name under RFC 6761 (`localhost`, `*.localhost`).
pub(crate) fn is_localhost(host: &str) -> bool {
    let host = host.trim_end_matches('.');
    host.eq_ignore_ascii_case("localhost")
        || host
            .len()
            .checked_sub(".localhost".len())
            .and_then(|i| host.get(i..))
            .is_some_and(|end| end.eq_ignore_ascii_case(".localhost"))
}

/// A DNS name or IPv4 literal as hosts are written: letters, digits, `.`, `-`, `_`.
pub(crate) fn is_host_name(host: &str) -> bool {
    !host.is_empty()
        && host
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_'))
}

/// The request target's path and query, or `/` when it has none (`OPTIONS *` aside).
pub(crate) fn path_and_query(uri: &http::Uri) -> &str {
    uri.path_and_query().map_or("/", |p| p.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits() {
        assert_eq!(split("http://h:1/a?b"), Some(("http", "h:1", "/a?b")));
        assert_eq!(split("https://h"), Some(("https", "h", "")));
        assert_eq!(split("h:1"), None);
    }

    #[test]
    fn loopback_names() {
        assert!(is_localhost("localhost"));
        assert!(is_localhost("LOCALHOST."));
        assert!(is_localhost("api.localhost"));
        assert!(!is_localhost("localhost.example.com"));
        assert!(!is_localhost("mylocalhost"));
    }
}
