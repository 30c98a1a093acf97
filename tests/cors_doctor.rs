//! `devproxy cors`, the real binary against backends with right and wrong CORS set-ups: its
//! verdict, the console line it quotes, the fix, its exit code, and what it sent.

mod common;

use std::sync::{Arc, Mutex};

use common::bin::{devproxy, text};
use common::*;
use http::{Request, Response};
use hyper::body::Incoming;

/// Runs the doctor without blocking the backends: (exit code, standard output).
async fn doctor(args: &[&str]) -> (i32, String) {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let mut all = vec!["cors".to_string()];
        all.extend(args);
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        let out = devproxy(std::env::temp_dir().as_path(), &all);
        assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
        (out.status.code().unwrap(), text(&out.stdout))
    })
    .await
    .unwrap()
}

type Seen = Arc<Mutex<Vec<String>>>;

/// A backend answering with `headers` (and `preflight_status` for OPTIONS), noting each
/// request line and its Access-Control-Request-* headers.
async fn cors_backend(
    preflight_status: u16,
    headers: &'static [(&'static str, &'static str)],
) -> (Backend, Seen) {
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let b = backend(move |req: Request<Incoming>| {
        let log = log.clone();
        async move {
            let asked = |name: &str| {
                req.headers()
                    .get(name)
                    .map(|v| v.to_str().unwrap().to_string())
                    .unwrap_or_default()
            };
            log.lock().unwrap().push(format!(
                "{} {} origin={} method={} headers={}",
                req.method(),
                req.uri().path(),
                asked("origin"),
                asked("access-control-request-method"),
                asked("access-control-request-headers"),
            ));
            let status = match req.method() == http::Method::OPTIONS {
                true => preflight_status,
                false => 200,
            };
            let mut res = Response::builder()
                .status(status)
                .header("x-total-count", "3");
            for (n, v) in headers {
                res = res.header(*n, *v);
            }
            res.body(body::full("[]")).unwrap()
        }
    })
    .await;
    (b, seen)
}

const ORIGIN: &str = "http://localhost:5173";

/// Backend headers, preflight status, extra arguments, the console's words, the likely cause.
type Case = (
    &'static [(&'static str, &'static str)],
    u16,
    &'static [&'static str],
    &'static str,
    &'static str,
);

#[tokio::test]
async fn a_backend_without_cors_is_blocked_with_chromes_words_and_the_fix() {
    let (b, seen) = cors_backend(200, &[]).await;
    let url = format!("{}/api/users", b.url());
    let (code, out) = doctor(&[&url, "--origin", ORIGIN]).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("A simple request"), "{out}");
    assert!(
        out.contains("✗ Access-Control-Allow-Origin is missing"),
        "{out}"
    );
    assert!(out.contains(&format!("Access to fetch at '{url}' from origin '{ORIGIN}' has been blocked by CORS policy: No 'Access-Control-Allow-Origin' header is present on the requested resource.")), "{out}");
    assert!(
        out.contains("app.use(cors({ origin: 'http://localhost:5173'"),
        "{out}"
    );
    assert!(
        out.contains("CORS(app, origins=['http://localhost:5173']"),
        "{out}"
    );
    assert!(
        out.contains("@CrossOrigin(origins = \"http://localhost:5173\""),
        "{out}"
    );
    assert!(
        out.contains("p.WithOrigins(\"http://localhost:5173\")"),
        "{out}"
    );
    assert!(
        out.contains("add_header Access-Control-Allow-Origin \"http://localhost:5173\" always;"),
        "{out}"
    );
    assert!(
        out.contains(&format!(r#"{{ "/api": {{ "target": "{}" }} }}"#, b.url())),
        "{out}"
    );
    assert_eq!(
        *seen.lock().unwrap(),
        vec![format!("GET /api/users origin={ORIGIN} method= headers=")],
        "a simple request goes without a preflight"
    );
}

const RIGHT: &[(&str, &str)] = &[
    ("access-control-allow-origin", ORIGIN),
    ("access-control-allow-credentials", "true"),
    ("access-control-allow-methods", "GET, POST, PUT, DELETE"),
    ("access-control-allow-headers", "Content-Type, X-Api-Key"),
];

#[tokio::test]
async fn a_right_set_up_is_allowed_after_the_preflight_browsers_send() {
    let (b, seen) = cors_backend(204, RIGHT).await;
    let url = format!("{}/api/users/7", b.url());
    let args = [
        url.as_str(),
        "--origin",
        ORIGIN,
        "-X",
        "put",
        "-H",
        "X-Api-Key: k",
        "-H",
        "Content-Type: application/json",
        "--credentials",
    ];
    let (code, out) = doctor(&args).await;
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("the method PUT is not GET, HEAD or POST"),
        "{out}"
    );
    assert!(
        out.contains("✓ Access-Control-Allow-Credentials is true"),
        "{out}"
    );
    assert!(
        out.contains("✓ Access-Control-Allow-Methods allows PUT"),
        "{out}"
    );
    assert!(
        out.contains("✓ Access-Control-Allow-Headers allows x-api-key"),
        "{out}"
    );
    assert!(
        out.contains("Allowed: the browser gives the response to the page."),
        "{out}"
    );
    assert!(
        out.contains("JavaScript cannot read x-total-count"),
        "{out}"
    );
    assert!(!out.contains('✗'), "{out}");
    assert_eq!(
        *seen.lock().unwrap(),
        vec![
            format!(
                "OPTIONS /api/users/7 origin={ORIGIN} method=PUT headers=content-type,x-api-key"
            ),
            format!("PUT /api/users/7 origin={ORIGIN} method= headers="),
        ],
        "the preflight asks as Chrome asks (lower-case, sorted, no spaces), then the call"
    );
}

#[tokio::test]
async fn wrong_set_ups_are_blocked_for_the_reason_the_browser_gives() {
    let wildcard: &[(&str, &str)] = &[
        ("access-control-allow-origin", "*"),
        ("access-control-allow-credentials", "true"),
    ];
    let other_origin: &[(&str, &str)] = &[("access-control-allow-origin", "http://localhost:3000")];
    let doubled: &[(&str, &str)] = &[
        ("access-control-allow-origin", ORIGIN),
        ("access-control-allow-origin", ORIGIN),
    ];
    let cases: [Case; 5] = [
        (wildcard, 200, &["--credentials"], "must not be the wildcard '*' when the request's credentials mode is 'include'", "name the origin instead of *"),
        (other_origin, 200, &[], "has a value 'http://localhost:3000' that is not equal to the supplied origin", "add http://localhost:5173 to its list"),
        (doubled, 200, &[], "contains multiple values", "two layers add the header"),
        (RIGHT, 401, &["-H", "Authorization: Bearer t"], "Response to preflight request doesn't pass access control check: It does not have HTTP ok status.", "preflights never carry cookies or Authorization"),
        (RIGHT, 204, &["-X", "PATCH"], "Method PATCH is not allowed by Access-Control-Allow-Methods in preflight response.", "add PATCH to the backend's allowed methods"),
    ];
    for (headers, status, extra, says, cause) in cases {
        let (b, seen) = cors_backend(status, headers).await;
        let url = format!("{}/api/x", b.url());
        let mut args = vec![url.as_str(), "--origin", ORIGIN];
        args.extend_from_slice(extra);
        let (code, out) = doctor(&args).await;
        assert_eq!(code, 1, "{out}");
        assert!(out.contains(says), "{says}: {out}");
        let likely = out.lines().find(|l| l.starts_with("Likely cause: "));
        assert!(likely.is_some_and(|l| l.contains(cause)), "{cause}: {out}");
        if out.contains("Preflight:") {
            let sent = seen.lock().unwrap();
            assert_eq!(
                sent.len(),
                1,
                "after a failed preflight the call is never sent: {sent:?}"
            );
        }
    }
}

#[tokio::test]
async fn devproxy_with_a_cors_rule_passes_its_own_doctor_and_the_inspector_agrees() {
    let b = echo_backend().await;
    let p = proxy_with(
        Some(&format!(
            r#"{{ "/api": {{ "target": "{}", "cors": {{ "origins": ["{ORIGIN}"], "credentials": true }} }} }}"#,
            b.url()
        )),
        |o| o.inspector = true,
    )
    .await;
    let url = p.url("/api/orders");
    let (code, out) = doctor(&[&url, "--origin", ORIGIN, "-X", "DELETE", "--credentials"]).await;
    assert_eq!(code, 0, "{out}");
    let (code, out) = doctor(&[&url, "--origin", "http://localhost:9999"]).await;
    assert_eq!(
        code, 1,
        "an origin the rule does not name is blocked: {out}"
    );

    // The inspector judged the same calls.
    let list = get(&p.url("/__devproxy/api/requests")).await;
    let list: serde_json::Value = serde_json::from_str(&list.text()).unwrap();
    let verdicts: Vec<(String, bool, String)> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !r["cors"].is_null())
        .map(|r| {
            (
                r["method"].as_str().unwrap().to_string(),
                r["corsOk"].as_bool().unwrap(),
                r["cors"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        verdicts
            .iter()
            .any(|(m, ok, v)| m == "OPTIONS" && *ok && v.starts_with("preflight allowed")),
        "{verdicts:?}"
    );
    assert!(
        verdicts
            .iter()
            .any(|(m, ok, v)| m == "GET" && !*ok && v.contains("No 'Access-Control-Allow-Origin'")),
        "{verdicts:?}"
    );
}

#[tokio::test]
async fn same_origin_unreachable_and_bad_arguments() {
    let (b, _) = cors_backend(200, &[]).await;
    let (code, out) = doctor(&[&format!("{}/x", b.url()), "--origin", &b.url()]).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Same origin"), "{out}");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let (code, out) = doctor(&[&format!("http://127.0.0.1:{port}/api"), "--origin", ORIGIN]).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("connection refused"), "{out}");
    assert!(out.contains("TypeError: Failed to fetch"), "{out}");

    let out = devproxy(
        std::env::temp_dir().as_path(),
        &["cors", "http://127.0.0.1:1/", "--origin", "localhost:5173"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--origin \"localhost:5173\" is not an origin"),
        "{}",
        text(&out.stderr)
    );
    let out = devproxy(
        std::env::temp_dir().as_path(),
        &["cors", "ftp://127.0.0.1/"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("not an http:// or https:// URL"));
}

#[tokio::test]
async fn an_https_backend_with_a_self_signed_certificate() {
    let port = https_backend("localhost").await;
    let url = format!("https://localhost:{port}/api");
    let (code, out) = doctor(&[&url, "--origin", ORIGIN]).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("TLS handshake with localhost"), "{out}");
    assert!(out.contains("-k accepts it here"), "{out}");
    // The same host and port over http is another origin.
    let (code, out) = doctor(&[&url, "--origin", &format!("http://localhost:{port}"), "-k"]).await;
    assert_eq!(code, 1, "{out}");
    assert!(!out.contains("Same origin"), "{out}");
    let (code, out) = doctor(&[&url, "--origin", ORIGIN, "-k"]).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("Request: GET https://localhost"), "{out}");
    assert!(
        out.contains("✗ Access-Control-Allow-Origin is missing"),
        "{out}"
    );
}
