//! `rewriteOrigin` and `rewriteWsOrigin` make a request look as if it came from the backend's
//! own origin, so they are applied only to requests from the app's own pages: a page on
//! another site must not launder its requests through devproxy past the backend's CSRF or
//! WebSocket origin checks.

use http::{Request, StatusCode};

use super::{headers, Attempt, Outcome};
use crate::body;
use crate::rules::Rule;
use crate::server::{sender, Sender};

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
