//! Real configs that load in webpack-dev-server and Angular work in devproxy too: the cases the
//! side-by-side run over public proxy.conf.json files found (issue 10, part 2).

mod common;

use common::*;

#[tokio::test]
async fn a_path_rewrite_to_an_absolute_url_keeps_only_its_path() {
    let b = echo_backend().await;
    let config = format!(
        r#"{{ "/api": {{ "target": "{}", "pathRewrite": {{ "^/api": "http://localhost:8080" }} }} }}"#,
        b.url()
    );
    let p = proxy(&config).await;
    let r = get(&p.url("/api/x?y=1")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().starts_with("GET /x?y=1\n"), "{}", r.text());
    let r = get(&p.url("/api")).await;
    assert!(r.text().starts_with("GET /\n"), "{}", r.text());
    let fixed = r#"{ "/api": { "target": "http://localhost:1", "pathRewrite": { "^/api": "http://localhost:8080" } } }"#;
    assert_eq!(
        diagnostics(fixed),
        [
            "p.json:1:62: warning: rule \"/api\": pathRewrite \"^/api\": the replacement \"http://localhost:8080\" is a URL; as in http-proxy, only its path is used (the target decides where requests go)"
        ]
        .map(str::to_string)
    );
}

#[tokio::test]
async fn an_empty_auth_sends_no_credentials() {
    let b = echo_backend().await;
    let config = format!(r#"{{ "/api": {{ "target": "{}", "auth": "" }} }}"#, b.url());
    let p = proxy(&config).await;
    let r = get(&p.url("/api/x")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(seen(&r, "authorization"), None);
    let w = diagnostics(&config);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].ends_with("\"auth\" is empty, so no credentials are sent"),
        "{w:?}"
    );
}

#[tokio::test]
async fn array_entries_that_are_not_rules_are_passed_over() {
    let b = echo_backend().await;
    let config = format!(
        r#"[
  {{ "name": "users", "url": "/users", "method": "GET" }},
  "not an object",
  {{ "context": ["/api"], "target": "{}" }}
]"#,
        b.url()
    );
    let p = proxy(&config).await;
    let r = get(&p.url("/")).await;
    assert_eq!(r.status, 200);
    assert!(
        r.text().contains("INDEX"),
        "the app is served: {}",
        r.text()
    );
    assert_eq!(get(&p.url("/api/x")).await.status, 200);
    assert_eq!(b.hits(), 1);
    assert_eq!(
        diagnostics(&config),
        [
            "p.json:2:3: warning: this entry has neither \"context\" nor \"target\", so it is not a proxy rule; ignored",
            "p.json:3:3: warning: expected a rule object with \"context\" and \"target\", found a string; it is not a rule, so it is ignored",
        ]
        .map(str::to_string)
    );
    assert_eq!(p.server.rules().rules().len(), 1);
}

#[tokio::test]
async fn a_glob_ending_in_a_star_also_takes_a_trailing_slash() {
    let b = echo_backend().await;
    let p = proxy(&format!(
        r#"[{{ "context": ["/burst*", "/api/auth/tokens*"], "target": "{}" }}]"#,
        b.url()
    ))
    .await;
    for path in [
        "/burst",
        "/burst/",
        "/bursts",
        "/api/auth/tokens/",
        "/api/auth/tokens2",
    ] {
        let r = get(&p.url(path)).await;
        assert!(
            r.text().starts_with(&format!("GET {path}\n")),
            "{path}: {}",
            r.text()
        );
    }
    // Still one segment: a star never crosses a slash inside the path, and a star that is a
    // whole segment takes at least one character (micromatch).
    for path in ["/burst/x", "/api/auth/tokens/x"] {
        let r = get(&p.url(path)).await;
        assert!(!r.text().starts_with("GET "), "{path}: {}", r.text());
    }
    let p = proxy(&format!(
        r#"[{{ "context": ["/api/*"], "target": "{}" }}]"#,
        b.url()
    ))
    .await;
    assert!(get(&p.url("/api/x/"))
        .await
        .text()
        .starts_with("GET /api/x/\n"));
    assert!(!get(&p.url("/api/")).await.text().starts_with("GET "));
}

#[test]
fn comment_keys_and_stray_scalars_are_not_rules() {
    let w = diagnostics(
        r#"{
  "_comment": "Copy this file to proxy.conf.json",
  "//": "local backends",
  "optimization": false,
  "secure": false,
  "/api": { "target": "http://localhost:8080" }
}"#,
    );
    assert_eq!(
        w,
        [
            "p.json:2:3: warning: \"_comment\" is not a rule (a comment?); ignored",
            "p.json:3:3: warning: \"//\" is not a rule (a comment?); ignored",
            "p.json:4:3: warning: \"optimization\": false is not a rule; ignored",
            "p.json:5:3: warning: \"secure\" is an option, not a path pattern; options belong inside a rule, so it is ignored here",
        ]
        .map(str::to_string)
    );
}

#[test]
fn a_trailing_star_key_says_how_angular_reads_it() {
    let w = diagnostics(r#"{ "/api/*": { "target": "http://localhost:8080" } }"#);
    assert_eq!(
        w,
        ["p.json:1:3: warning: rule \"/api/*\": read as webpack-dev-server 4 reads it: /api and everything under it. Angular 17+ and webpack-dev-server 5 match exactly one more segment (/api/x, not /api/x/y); write \"/api/**\" to say everything under /api"]
            .map(str::to_string)
    );
}

#[test]
fn a_single_rule_object_without_context_says_it_is_devprox_s_reading() {
    let w = diagnostics(r#"{ "target": "http://localhost:8080" }"#);
    assert_eq!(
        w,
        ["p.json:1:1: warning: rule has no \"context\", so it takes every request (devproxy's reading; http-proxy-middleware 2 refuses such a file with \"Invalid context\")"]
            .map(str::to_string)
    );
}
