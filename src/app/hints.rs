//! "Did you mean rule …?": a warning when a request that looks like an API call (or a page
//! navigation close to a rule's pattern) matched no rule.

use http::{header, Method, Request};

use super::Local;
use crate::rules::{literal_prefix, RuleSet};

/// Warns about a request no rule took, when it looks like one should have, and about a page's
/// script or stylesheet that is not there.
/// The warning is logged, and returned for the inspector.
pub(super) fn warn_on_miss<B>(rules: &RuleSet, req: &Request<B>, local: Local) -> Option<String> {
    let (method, path) = (req.method(), req.uri().path());
    let warning = if local == Local::NotFound && is_asset(req) {
        format!("{method} {path} answered 404: no such file, so the page misses a script or stylesheet (a build made for a sub-path needs --base)")
    } else {
        let spa = local == Local::SpaFallback;
        let hint = rule_miss(rules, req, spa)?;
        let got = if spa {
            "index.html (SPA fallback)"
        } else {
            "404"
        };
        format!("{method} {path} matched no proxy rule and got {got}{hint}")
    };
    tracing::warn!("{warning}");
    Some(warning)
}

/// A script or stylesheet a page loads.
fn is_asset<B>(req: &Request<B>) -> bool {
    let dest = req
        .headers()
        .get("sec-fetch-dest")
        .and_then(|v| v.to_str().ok());
    let path = req.uri().path();
    matches!(dest, Some("script" | "style"))
        || [".js", ".mjs", ".css"]
            .iter()
            .any(|ext| path.ends_with(ext))
}

/// The text to add to the warning, naming the closest rule pattern, or `None` for no warning.
fn rule_miss<B>(rules: &RuleSet, req: &Request<B>, spa: bool) -> Option<String> {
    let path = req.uri().path();
    let closest = closest_pattern(rules, path);
    if spa {
        // Page routes look like API paths; only a near-miss of a pattern is worth a line.
        return closest
            .filter(|(d, _)| *d > 0)
            .map(|(_, p)| format!("; did you mean rule \"{p}\"?"));
    }
    let accept_json = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    let last = path.rsplit('/').next().unwrap_or("");
    let api_like = !(req.method() == Method::GET || req.method() == Method::HEAD)
        || accept_json
        || (!last.contains('.') && !path.ends_with('/'));
    if !api_like {
        return None;
    }
    Some(match closest {
        Some((_, p)) => format!(" (closest rule: \"{p}\")"),
        None if rules.rules.is_empty() => " (no proxy rules are loaded)".to_string(),
        None => String::new(),
    })
}

/// Each rule's first pattern nearest to the start of `path`, by edit distance, if it is near
/// at all.
fn closest_pattern<'a>(rules: &'a RuleSet, path: &str) -> Option<(usize, &'a str)> {
    rules
        .rules
        .iter()
        .filter_map(|r| r.patterns.first())
        .filter_map(|pattern| {
            let plain = literal_prefix(pattern)?;
            // Compare with as many path segments as the pattern has.
            let segments = plain.matches('/').count();
            let head: String = path.split_inclusive('/').take(segments + 1).collect();
            let d = strsim::levenshtein(head.trim_end_matches('/'), plain);
            (d <= 2.max(plain.len() / 4)).then_some((d, pattern.as_str()))
        })
        .min_by_key(|(d, _)| *d)
}
