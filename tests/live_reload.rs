//! Live reload on real sockets: the script is added to the app's HTML pages only, pages hear
//! one reload per build (or a stylesheet swap when only CSS changed), and requests made while a
//! build empties and rewrites DIR never see a 404 or an empty file.

mod common;

use std::time::Duration;

use common::*;
use http_body_util::BodyExt;

const TAG: &str = r#"<script src="/__devproxy/live.js" defer></script>"#;

async fn live_proxy(config: &str) -> Proxy {
    proxy_with(Some(config), |o| o.live_reload = true).await
}

#[tokio::test]
async fn the_script_goes_into_the_apps_pages_only() {
    let b = backend(|_req: http::Request<hyper::body::Incoming>| async {
        let mut res = http::Response::new(body::full("<html><body>API</body></html>"));
        res.headers_mut()
            .insert("content-type", http::HeaderValue::from_static("text/html"));
        res
    })
    .await;
    let p = live_proxy(&format!(r#"{{ "/api": "{}" }}"#, b.url())).await;
    std::fs::write(p.site.join("page.html"), "<html><body>PAGE</body></html>").unwrap();
    let r = get(&p.url("/page.html")).await;
    let page = format!("<html><body>PAGE{TAG}</body></html>");
    assert_eq!(r.text(), page);
    assert_eq!(
        seen(&r, "content-length").or_else(|| r
            .headers
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)),
        Some(page.len().to_string())
    );
    // The ETag is the page's with the script: a conditional request still gets a 304.
    let etag = r.headers.get("etag").unwrap().clone();
    let again = send(
        request("GET", &p.url("/page.html"))
            .header("if-none-match", etag)
            .body(body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(again.status, 304);
    // SPA fallback pages too; scripts, proxied pages and other types never.
    let nav = send(
        request("GET", &p.url("/some/route"))
            .header("accept", "text/html")
            .body(body::empty())
            .unwrap(),
    )
    .await;
    assert!(
        nav.text().ends_with(&format!("INDEX{TAG}")),
        "{}",
        nav.text()
    );
    assert!(!get(&p.url("/assets/app.js"))
        .await
        .text()
        .contains("__devproxy"));
    assert_eq!(
        get(&p.url("/api/x")).await.text(),
        "<html><body>API</body></html>"
    );
    let script = get(&p.url("/__devproxy/live.js")).await;
    assert_eq!(script.status, 200);
    assert!(script
        .text()
        .contains("EventSource(\"/__devproxy/events\")"));
    // Without live reload, pages are served as they are.
    let plain = proxy("{}").await;
    assert_eq!(
        get(&plain.url("/")).await.text(),
        "<!doctype html><title>app</title>INDEX"
    );
    assert_eq!(get(&plain.url("/__devproxy/live.js")).await.status, 404);
}

#[tokio::test]
async fn the_reserved_prefix_cannot_be_shadowed() {
    let b = echo_backend().await;
    let p = live_proxy(&format!(r#"{{ "/": "{}" }}"#, b.url())).await;
    assert_eq!(get(&p.url("/__devproxy/live.js")).await.status, 200);
    assert_eq!(get(&p.url("/__devproxy/nothing")).await.status, 404);
    assert_eq!(b.hits(), 0);
}

/// Reads the event stream until `want` arrives (or 10 s pass); what was read.
async fn events_until(stream: &mut hyper::body::Incoming, want: &str) -> String {
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !seen.contains(want) {
        let frame = tokio::time::timeout_at(deadline, stream.frame()).await;
        match frame {
            Ok(Some(Ok(f))) => {
                if let Some(d) = f.data_ref() {
                    seen.push_str(&String::from_utf8_lossy(d));
                }
            }
            _ => break,
        }
    }
    seen
}

async fn open_events(p: &Proxy) -> hyper::body::Incoming {
    let res = client()
        .request(
            http::Request::get(p.url("/__devproxy/events"))
                .body(body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        res.headers().get("content-type").unwrap(),
        "text/event-stream"
    );
    res.into_body()
}

#[tokio::test]
async fn one_reload_per_build_and_a_swap_for_css() {
    let p = live_proxy("{}").await;
    let mut events = open_events(&p).await;
    assert!(events_until(&mut events, "live reload")
        .await
        .contains("live reload"));
    // A build writes many files: one reload.
    for i in 0..20 {
        std::fs::write(p.site.join(format!("chunk-{i}.js")), "x").unwrap();
    }
    let seen = events_until(&mut events, "event: reload").await;
    assert!(seen.contains("event: reload"), "{seen}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Only a stylesheet: swapped in place.
    std::fs::write(p.site.join("assets/app.css"), "body { color: red }").unwrap();
    let seen = events_until(&mut events, "event: ").await;
    assert_eq!(seen.matches("event: ").count(), 1, "one event: {seen}");
    assert!(seen.contains("event: css"), "{seen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuild_never_shows_a_404_or_an_empty_page() {
    let p = live_proxy("{}").await;
    let index = p.site.join("index.html");
    assert!(get(&p.url("/index.html")).await.text().contains("INDEX"));
    // A watch build: empties DIR, then writes the new files a little later, in place.
    let site = p.site.clone();
    let build = tokio::task::spawn_blocking(move || {
        for round in 0..3 {
            std::fs::remove_file(site.join("index.html")).unwrap();
            std::thread::sleep(Duration::from_millis(60));
            std::fs::write(site.join("index.html"), "").unwrap();
            std::thread::sleep(Duration::from_millis(40));
            std::fs::write(site.join("index.html"), format!("BUILD {round}")).unwrap();
            std::thread::sleep(Duration::from_millis(300));
        }
    });
    let mut answers = Vec::new();
    while !build.is_finished() {
        let r = get(&p.url("/index.html")).await;
        answers.push((r.status, r.text()));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    build.await.unwrap();
    let bad: Vec<_> = answers
        .iter()
        .filter(|(status, text)| *status != 200 || text.replace(TAG, "").trim().is_empty())
        .collect();
    assert!(answers.len() > 50, "{} requests", answers.len());
    assert!(
        bad.is_empty(),
        "{} of {} bad: {:?}",
        bad.len(),
        answers.len(),
        &bad[..bad.len().min(5)]
    );
    assert!(std::fs::read_to_string(&index).unwrap().contains("BUILD 2"));
}
