//! http-proxy-middleware's `router`: a target chosen by the request's host and path.

use super::target::Target;

/// A `router` key, `host[:port]`, `host[:port]/path` or `/path`, with its target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RouterEntry {
    /// The key as written, for logs.
    pub key: String,
    host: Option<String>,
    path: Option<String>,
    pub target: Target,
}

impl RouterEntry {
    pub(crate) fn new(key: &str, target: Target) -> RouterEntry {
        let trimmed = key.trim();
        let (host, path) = match trimmed.find('/') {
            Some(0) => (None, Some(trimmed.to_string())),
            Some(i) => (
                Some(trimmed[..i].to_ascii_lowercase()),
                Some(trimmed[i..].to_string()),
            ),
            None => (Some(trimmed.to_ascii_lowercase()), None),
        };
        RouterEntry {
            key: key.to_string(),
            host,
            path,
            target,
        }
    }

    fn matches(&self, host: Option<&str>, path: &str) -> bool {
        let host_ok = match (&self.host, host) {
            (None, _) => true,
            (Some(want), Some(have)) => {
                let have = have.to_ascii_lowercase();
                // A key without a port matches the name on any port.
                *want == have
                    || (!want.contains(':')
                        && have.rsplit_once(':').is_some_and(|(h, _)| h == want))
            }
            (Some(_), None) => false,
        };
        host_ok && self.path.as_deref().is_none_or(|p| path.starts_with(p))
    }
}

/// The target of the longest key that matches the request's host and path.
pub(crate) fn pick<'a>(
    entries: &'a [RouterEntry],
    host: Option<&str>,
    path: &str,
) -> Option<&'a Target> {
    entries
        .iter()
        .filter(|e| e.matches(host, path))
        .max_by_key(|e| e.key.len())
        .map(|e| &e.target)
}
