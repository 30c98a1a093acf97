//! Static serving from DIR: types, caching headers, Range, conditional requests, compression,
//! the SPA fallback, and the dotfile and symlink policy.

mod common;

use common::*;

fn req(p: &Proxy, path: &str) -> http::request::Builder {
    request("GET", &p.url(path))
}

#[tokio::test]
async fn files_have_types_and_no_cache() {
    let p = proxy_with(None, |_| {}).await;
    let r = get(&p.url("/")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/html"));
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    assert!(r.text().contains("INDEX"));
    let r = get(&p.url("/assets/app.js")).await;
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-type")
            .is_some_and(|t| t.contains("javascript")),
        "{:?}",
        r.headers
    );
    assert!(r.header("last-modified").is_some());
}

#[tokio::test]
async fn range_and_conditional_requests() {
    let p = proxy_with(None, |_| {}).await;
    let full = get(&p.url("/assets/app.js")).await;
    let r = send(
        req(&p, "/assets/app.js")
            .header("range", "bytes=0-9")
            .header("accept-encoding", "gzip")
            .body(body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 206);
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes 0-9/{}", full.body.len()).as_str())
    );
    assert_eq!(&r.body[..], &full.body[..10]);
    let last_modified = full.header("last-modified").unwrap().to_string();
    let r = send(
        req(&p, "/assets/app.js")
            .header("if-modified-since", last_modified)
            .body(body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
}

#[tokio::test]
async fn precompressed_and_on_the_fly_compression() {
    let p = proxy_with(None, |_| {}).await;
    std::fs::write(p.site.join("assets/lib.js"), "plain").unwrap();
    std::fs::write(p.site.join("assets/lib.js.gz"), b"\x1f\x8bprecompressed").unwrap();
    let r = send(
        req(&p, "/assets/lib.js")
            .header("accept-encoding", "gzip")
            .body(body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert_eq!(&r.body[..], b"\x1f\x8bprecompressed");
    let r = get(&p.url("/assets/lib.js")).await;
    assert_eq!(r.text(), "plain");
    // app.js has no .gz beside it: compressed on the fly for clients that ask.
    let r = send(
        req(&p, "/assets/app.js")
            .header("accept-encoding", "gzip")
            .body(body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert_eq!(&r.body[..2], b"\x1f\x8b");
}

#[tokio::test]
async fn spa_fallback_serves_index_for_page_navigations_only() {
    let p = proxy_with(None, |_| {}).await;
    let nav = |path: &str, accept: &str| {
        req(&p, path)
            .header("accept", accept)
            .body(body::empty())
            .unwrap()
    };
    let r = send(nav(
        "/users/42/profile",
        "text/html,application/xhtml+xml,*/*;q=0.8",
    ))
    .await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("INDEX"));
    let r = send(nav("/api/missing", "application/json")).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.text(), "404 Not Found: /api/missing\n");
    let r = send(nav("/assets/missing.js", "*/*")).await;
    assert_eq!(r.status, 404);
    let r = send(
        request("POST", &p.url("/users"))
            .header("accept", "text/html")
            .body(body::empty())
            .unwrap(),
    )
    .await;
    assert_ne!(r.status, 200);
}

#[tokio::test]
async fn no_spa_turns_the_fallback_off() {
    let p = proxy_with(None, |o| o.spa = false).await;
    let r = send(
        req(&p, "/users/42")
            .header("accept", "text/html")
            .body(body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(get(&p.url("/")).await.status, 200);
}

#[tokio::test]
async fn dotfiles_are_never_served() {
    let p = proxy_with(None, |_| {}).await;
    std::fs::write(p.site.join(".env"), "SECRET=1").unwrap();
    std::fs::create_dir_all(p.site.join(".git")).unwrap();
    std::fs::write(p.site.join(".git/config"), "[core]").unwrap();
    std::fs::create_dir_all(p.site.join(".well-known")).unwrap();
    std::fs::write(p.site.join(".well-known/security.txt"), "Contact: x").unwrap();
    for path in [
        "/.env",
        "/.git/config",
        "/%2eenv",
        "/assets/../.env",
        "/.git/",
        "/%2Egit/config",
    ] {
        let r = send(
            req(&p, path)
                .header("accept", "text/html")
                .body(body::empty())
                .unwrap(),
        )
        .await;
        assert!(
            !r.text().contains("SECRET") && !r.text().contains("[core]"),
            "{path} leaked"
        );
        assert_eq!(r.status, 404, "{path}");
    }
    assert_eq!(get(&p.url("/.well-known/security.txt")).await.status, 200);
}

#[cfg(unix)]
#[tokio::test]
async fn symlinks_out_of_the_directory_are_not_followed() {
    let p = proxy_with(None, |_| {}).await;
    let outside = p.tmp.path().join("outside.txt");
    std::fs::write(&outside, "OUTSIDE").unwrap();
    std::os::unix::fs::symlink(&outside, p.site.join("leak.txt")).unwrap();
    std::os::unix::fs::symlink(p.tmp.path(), p.site.join("up")).unwrap();
    std::os::unix::fs::symlink(p.site.join("assets/app.js"), p.site.join("inside.js")).unwrap();
    for path in ["/leak.txt", "/up/outside.txt"] {
        let r = get(&p.url(path)).await;
        assert_eq!(r.status, 404, "{path}");
        assert!(!r.text().contains("OUTSIDE"));
    }
    assert_eq!(get(&p.url("/inside.js")).await.status, 200);
}
