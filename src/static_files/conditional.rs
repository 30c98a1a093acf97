//! Conditional requests (RFC 9110 §13): `If-Match`, `If-Unmodified-Since`, `If-None-Match`,
//! `If-Modified-Since` and `If-Range`, against one file version.

use std::time::{SystemTime, UNIX_EPOCH};

use http::{header, HeaderMap};

use super::cache::Entry;

/// What the preconditions say about a request for `entry`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    /// `If-Match` or `If-Unmodified-Since` failed: 412.
    Failed,
    /// The client's copy is current: 304.
    NotModified,
    Serve,
}

/// Evaluates the preconditions in RFC 9110 §13.2.2's order.
pub(super) fn evaluate(h: &HeaderMap, entry: &Entry) -> Verdict {
    let get = |name: header::HeaderName| h.get(name).and_then(|v| v.to_str().ok());
    let modified = unix_secs(entry.id.modified);
    let failed = match get(header::IF_MATCH) {
        Some(list) => !list
            .split(',')
            .map(str::trim)
            .any(|t| t == "*" || t == entry.etag),
        None => get(header::IF_UNMODIFIED_SINCE)
            .and_then(http_date)
            .is_some_and(|d| modified > d),
    };
    let not_modified = match get(header::IF_NONE_MATCH) {
        Some(list) => entry.any_tag_in(list),
        None => get(header::IF_MODIFIED_SINCE)
            .and_then(http_date)
            .is_some_and(|d| modified <= d),
    };
    match (failed, not_modified) {
        (true, _) => Verdict::Failed,
        (false, true) => Verdict::NotModified,
        (false, false) => Verdict::Serve,
    }
}

/// `If-Range`: the Range applies only if the client's copy is this version (strong ETag, or
/// the exact Last-Modified date).
pub(super) fn if_range_holds(h: &HeaderMap, entry: &Entry) -> bool {
    match h.get(header::IF_RANGE).and_then(|v| v.to_str().ok()) {
        None => true,
        Some(v) if v.starts_with('"') => v == entry.etag,
        Some(v) if v.starts_with("W/") => false,
        Some(v) => http_date(v) == Some(unix_secs(entry.id.modified)),
    }
}

/// An HTTP date as seconds since the epoch (the resolution of `Last-Modified`).
fn http_date(v: &str) -> Option<u64> {
    httpdate::parse_http_date(v).ok().map(unix_secs)
}

pub(super) fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
