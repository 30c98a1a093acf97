//! The request log: one line per request, at a level set by its status and by the rule's
//! `logLevel`.

use std::time::Instant;

use http::{Method, Request, Response};

use super::Local;
use crate::body::Body;
use crate::inspector::Capture;
use crate::log::ACCESS;
use crate::proxy::Outcome;
use crate::rules::{LogLevel, Rule};

/// Logs a request answered from the directory (at debug: `-v` shows them) and returns the
/// answer.
pub(super) fn local<B>(
    req: &Request<B>,
    res: Response<Body>,
    local: Local,
    start: Instant,
    capture: Option<&Capture>,
) -> Response<Body> {
    if let Some(c) = capture {
        c.routed(local.name(), false);
    }
    tracing::debug!(
        target: ACCESS,
        method = %req.method(),
        path = %req.uri().path(),
        status = u64::from(res.status().as_u16()),
        ms = start.elapsed().as_millis() as u64,
        rule = local.name(),
    );
    res
}

/// Logs a proxied request: errors and 5xx at error, 4xx at warn, the rest at info, unless the
/// rule's `logLevel` is above that.
pub(super) fn proxied(rule: &Rule, method: &Method, path: &str, outcome: &Outcome, start: Instant) {
    let status = outcome.response.status().as_u16();
    let level = if outcome.failure.is_some() || status >= 500 {
        LogLevel::Error
    } else if status >= 400 {
        LogLevel::Warn
    } else {
        LogLevel::Info
    };
    if level < rule.log_level {
        return;
    }
    let ms = start.elapsed().as_millis() as u64;
    let cause = outcome.failure.as_deref().unwrap_or("");
    let upstream = without_same_query(&outcome.upstream, path);
    macro_rules! access {
        ($mac:ident) => {
            tracing::$mac!(
                target: ACCESS,
                method = %method,
                path = %path,
                upstream = %upstream,
                status = u64::from(status),
                ms,
                rule = %rule.name,
                cause,
            )
        };
    }
    match level {
        LogLevel::Error => access!(error),
        LogLevel::Warn => access!(warn),
        _ => access!(info),
    }
}

/// The upstream URL without its query when it is the request's, so a line says it once.
fn without_same_query<'a>(upstream: &'a str, path: &str) -> &'a str {
    match path.split_once('?') {
        Some((_, query)) => upstream
            .strip_suffix(query)
            .and_then(|u| u.strip_suffix('?'))
            .unwrap_or(upstream),
        None => upstream,
    }
}
