//! `cors` on real sockets: devproxy answers CORS for the origins a rule names (tower-http's
//! layer): simple requests, preflights (answered here, never forwarded), credentials, Private
//! Network Access, a backend's own CORS headers replaced, and set-ups browsers refuse.

mod common;

use std::path::Path;

use common::*;
use http::{Request, Response};
use hyper::body::Incoming;

/// A backend that sends its own (wrong) CORS header.
async fn backend_with_its_own_cors() -> Backend {
    backend(|req: Request<Incoming>| async move {
        Response::builder()
            .header("access-control-allow-origin", "*")
            .body(body::full(format!("{} {}", req.method(), req.uri().path())))
            .unwrap()
    })
    .await
}

fn from(origin: &str, method: &str, url: &str) -> http::request::Builder {
    request(method, url).header("origin", origin)
}

#[tokio::test]
async fn named_origins_get_cors_and_others_do_not() {
    let b = backend_with_its_own_cors().await;
    let p = proxy(&format!(
        r#"{{ "/api": {{ "target": "{}", "cors": ["http://localhost:5173"] }} }}"#,
        b.url()
    ))
    .await;
    let r = send(
        from("http://localhost:5173", "GET", &p.url("/api/x"))
            .body(body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        seen_header(&r, "access-control-allow-origin"),
        vec!["http://localhost:5173"]
    );
    assert!(r
        .headers
        .get_all("vary")
        .iter()
        .any(|v| v.to_str().unwrap().contains("origin")));
    let r = send(
        from("https://evil.example", "GET", &p.url("/api/x"))
            .body(body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(
        r.status, 200,
        "the request still passes; the browser withholds the answer"
    );
    assert!(
        seen_header(&r, "access-control-allow-origin").is_empty(),
        "not mirrored, and the backend's * is gone"
    );
}

/// A GET of `url` from a page on `origin`: the Access-Control-Allow-Origin values it got.
async fn allowed_for(origin: &str, url: &str) -> Vec<String> {
    let r = send(from(origin, "GET", url).body(body::empty()).unwrap()).await;
    seen_header(&r, "access-control-allow-origin")
}

fn seen_header(r: &Reply, name: &str) -> Vec<String> {
    r.headers
        .get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn preflights_are_answered_here_and_plain_options_are_forwarded() {
    let b = backend_with_its_own_cors().await;
    let p = proxy(&format!(
        r#"{{ "/api": {{ "target": "{}", "cors": {{ "origins": ["http://localhost:5173"], "credentials": true, "privateNetwork": true, "maxAge": 600 }} }} }}"#,
        b.url()
    ))
    .await;
    let r = send(
        from("http://localhost:5173", "OPTIONS", &p.url("/api/orders"))
            .header("access-control-request-method", "PUT")
            .header("access-control-request-headers", "content-type, x-token")
            .header("access-control-request-private-network", "true")
            .body(body::empty())
            .unwrap(),
    )
    .await;
    assert!(r.status < 300, "{}", r.status);
    assert_eq!(b.hits(), 0, "a preflight never reaches the backend");
    assert_eq!(
        seen_header(&r, "access-control-allow-origin"),
        vec!["http://localhost:5173"]
    );
    assert_eq!(
        seen_header(&r, "access-control-allow-credentials"),
        vec!["true"]
    );
    assert_eq!(
        seen_header(&r, "access-control-allow-private-network"),
        vec!["true"]
    );
    assert_eq!(seen_header(&r, "access-control-max-age"), vec!["600"]);
    assert!(seen_header(&r, "access-control-allow-methods")[0].contains("PUT"));
    assert!(seen_header(&r, "access-control-allow-headers")[0].contains("x-token"));
    // An OPTIONS that is no preflight is the backend's.
    let r = send(
        request("OPTIONS", &p.url("/api/orders"))
            .body(body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.text(), "OPTIONS /api/orders");
    assert_eq!(b.hits(), 1);
    // With credentials, the origin is named exactly, never "*".
    let r = send(
        from("http://localhost:5173", "POST", &p.url("/api/orders"))
            .body(body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(
        seen_header(&r, "access-control-allow-origin"),
        vec!["http://localhost:5173"]
    );
    assert_eq!(
        seen_header(&r, "access-control-allow-credentials"),
        vec!["true"]
    );
}

#[tokio::test]
async fn cors_true_allows_loopback_origins_only() {
    let b = backend_with_its_own_cors().await;
    let p = proxy(&format!(
        r#"{{ "/api": {{ "target": "{}", "cors": true }} }}"#,
        b.url()
    ))
    .await;
    for origin in [
        "http://localhost:6006",
        "http://127.0.0.1:3000",
        "capacitor://localhost",
        "http://[::1]:8100",
    ] {
        assert_eq!(allowed_for(origin, &p.url("/api/x")).await, vec![origin]);
    }
    for origin in [
        "https://evil.example",
        "http://localhost.evil.example",
        "null",
    ] {
        assert!(
            allowed_for(origin, &p.url("/api/x")).await.is_empty(),
            "{origin}"
        );
    }
}

#[test]
fn credentials_with_a_star_is_refused_at_load() {
    let set = devproxy::RuleSet::parse(
        Path::new("p.json"),
        "{\n  \"/api\": { \"target\": \"http://localhost:1\", \"cors\": { \"origins\": \"*\", \"credentials\": true } }\n}",
    )
    .unwrap();
    let messages: Vec<String> = set.diagnostics().iter().map(|d| d.to_string()).collect();
    assert_eq!(
        messages,
        ["p.json:2:53: error: rule \"/api\": cors: \"credentials\": true cannot go with \"*\" (browsers refuse it); name the origins, e.g. \"origins\": [\"http://localhost:5173\"]"]
    );
    assert!(set.rules()[0].problem().is_some());
}

#[tokio::test]
async fn the_command_line_names_origins_for_every_rule_without_its_own() {
    let b = backend_with_its_own_cors().await;
    let config = format!(
        r#"{{ "/api": "{0}", "/own": {{ "target": "{0}", "cors": ["http://localhost:6006"] }} }}"#,
        b.url()
    );
    let p = proxy_with(Some(&config), |o| {
        o.cors = vec!["http://localhost:5173".into()]
    })
    .await;
    let ui = "http://localhost:5173";
    assert_eq!(allowed_for(ui, &p.url("/api/x")).await, vec![ui]);
    assert!(
        allowed_for(ui, &p.url("/own/x")).await.is_empty(),
        "a rule's own cors wins"
    );
    let storybook = "http://localhost:6006";
    assert_eq!(
        allowed_for(storybook, &p.url("/own/x")).await,
        vec![storybook]
    );
    // Reloads keep it.
    std::fs::write(
        &p.config,
        format!(r#"{{ "/api": "{}", "/more": "{0}" }}"#, b.url()),
    )
    .unwrap();
    p.server.reload();
    assert_eq!(allowed_for(ui, &p.url("/more/x")).await, vec![ui]);
}

#[tokio::test]
async fn origins_that_could_never_match_are_refused_with_the_fix() {
    let set = devproxy::RuleSet::parse(
        Path::new("p.json"),
        r#"{ "/api": { "target": "http://localhost:1", "cors": ["http://localhost:5173/", "localhost:3000"] } }"#,
    )
    .unwrap();
    let messages: Vec<String> = set.diagnostics().iter().map(|d| d.to_string()).collect();
    assert_eq!(
        messages,
        ["p.json:1:53: error: rule \"/api\": cors: \"http://localhost:5173/\" is not an origin (scheme://host[:port], no path); did you mean \"http://localhost:5173\"?"]
    );
    let tmp = tempfile::tempdir().unwrap();
    let err = devproxy::start(devproxy::Options {
        dir: tmp.path().to_path_buf(),
        port: 0,
        cors: vec!["localhost:3000".into()],
        ..devproxy::Options::default()
    })
    .await
    .err()
    .expect("refused");
    assert_eq!(
        err.to_string(),
        "--cors localhost:3000: \"localhost:3000\" is not an origin; write it as scheme://host[:port], e.g. \"http://localhost:5173\""
    );
}
