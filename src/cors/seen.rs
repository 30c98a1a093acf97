//! The verdict on one exchange the inspector saw: whether the browser let the page read it.

use http::{HeaderMap, HeaderName, Method, StatusCode};

use super::Ask;

/// The verdict on one exchange the inspector saw, when it was a cross-origin CORS request:
/// `Some(Ok(..))` allowed (with a note when credentials would change that), `Some(Err(..))`
/// blocked with Chrome's words, `None` when CORS does not apply.
pub(crate) fn seen(
    request_method: &Method,
    request: &HeaderMap,
    status: StatusCode,
    response: &HeaderMap,
) -> Option<Result<String, String>> {
    let origin = request.get(http::header::ORIGIN)?.to_str().ok()?;
    let host = request
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok());
    let mode = request.get("sec-fetch-mode").and_then(|h| h.to_str().ok());
    let site = request.get("sec-fetch-site").and_then(|h| h.to_str().ok());
    let same = crate::url::split(origin).is_some_and(|(_, a, _)| Some(a) == host);
    if same || site == Some("same-origin") || mode.is_some_and(|m| m != "cors") {
        return None;
    }
    let preflight = request_method == Method::OPTIONS
        && request.contains_key(http::header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut ask = Ask {
        url: String::new(),
        origin: origin.to_string(),
        method: request_method.clone(),
        headers: Vec::new(),
        credentials: request.contains_key(http::header::COOKIE),
    };
    if preflight {
        let asked = request.get(http::header::ACCESS_CONTROL_REQUEST_METHOD)?;
        ask.method = Method::from_bytes(asked.as_bytes()).ok()?;
        let names = request
            .get(http::header::ACCESS_CONTROL_REQUEST_HEADERS)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        ask.headers = names
            .split(',')
            .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
            .map(|n| (n, String::new()))
            .collect();
    }
    let judge = |ask: &Ask| match preflight {
        true => ask.judge_preflight(status, response).blocked,
        false => ask.judge_response(response).blocked,
    };
    let kind = if preflight { "preflight" } else { "CORS" };
    if let Some(blocked) = judge(&ask) {
        return Some(Err(format!("{kind} blocked: {}", blocked.reason)));
    }
    if !ask.credentials {
        ask.credentials = true;
        if judge(&ask).is_some() {
            return Some(Ok(format!(
                "{kind} allowed for {origin} (blocked if sent with credentials)"
            )));
        }
    }
    Some(Ok(format!("{kind} allowed for {origin}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cors::tests::map;

    #[test]
    fn the_inspector_judges_only_cross_origin_cors_requests() {
        let same = map(&[
            ("origin", "http://127.0.0.1:4280"),
            ("host", "127.0.0.1:4280"),
        ]);
        assert!(seen(&Method::POST, &same, StatusCode::OK, &map(&[])).is_none());
        let nav = map(&[
            ("origin", "http://a.test"),
            ("host", "127.0.0.1:4280"),
            ("sec-fetch-mode", "navigate"),
        ]);
        assert!(seen(&Method::POST, &nav, StatusCode::OK, &map(&[])).is_none());
        let cross = map(&[
            ("origin", "http://localhost:5173"),
            ("host", "127.0.0.1:4280"),
        ]);
        let blocked = seen(&Method::GET, &cross, StatusCode::OK, &map(&[])).unwrap();
        assert!(blocked
            .unwrap_err()
            .contains("No 'Access-Control-Allow-Origin'"));
        let star = map(&[("access-control-allow-origin", "*")]);
        let allowed = seen(&Method::GET, &cross, StatusCode::OK, &star)
            .unwrap()
            .unwrap();
        assert!(
            allowed.contains("blocked if sent with credentials"),
            "{allowed}"
        );
    }
}
