//! A real browser (headless Chromium) on a page devproxy serves with live reload: a rebuild
//! reloads the page once and it never shows a 404; a stylesheet change restyles the page
//! without reloading it, so its state survives.

mod common;

use std::time::Duration;

use common::browser::Browser;
use common::*;

/// The app: counts its loads in sessionStorage, has a stylesheet and an input.
fn page(version: &str) -> String {
    format!(
        r#"<!doctype html><html><head><link rel="stylesheet" href="/app.css"></head>
<body><h1>{version}</h1><input id="field">
<script>sessionStorage.loads = String(Number(sessionStorage.loads || 0) + 1);</script>
</body></html>"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_reload_once_per_rebuild_and_restyle_in_place() {
    let Some(mut browser) =
        Browser::launch("pages_reload_once_per_rebuild_and_restyle_in_place").await
    else {
        return;
    };
    let p = proxy_with(Some("{}"), |o| o.live_reload = true).await;
    std::fs::write(p.site.join("index.html"), page("v1")).unwrap();
    std::fs::write(p.site.join("app.css"), "h1 { color: rgb(0, 0, 255) }").unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    browser.goto(&p.url("/")).await;
    assert!(
        browser
            .wait_for("document.querySelector('h1').textContent === 'v1'")
            .await
    );
    // The page's stream is open before anything changes.
    assert!(browser.wait_for("sessionStorage.loads === '1'").await);
    tokio::time::sleep(Duration::from_millis(300)).await;

    // A watch build: the folder is emptied, then written again.
    let site = p.site.clone();
    tokio::task::spawn_blocking(move || {
        for f in ["index.html", "app.css"] {
            std::fs::remove_file(site.join(f)).unwrap();
        }
        std::thread::sleep(Duration::from_millis(80));
        std::fs::write(site.join("app.css"), "h1 { color: rgb(0, 0, 255) }").unwrap();
        std::fs::write(site.join("index.html"), page("v2")).unwrap();
    })
    .await
    .unwrap();
    assert!(
        browser
            .wait_for("document.querySelector('h1')?.textContent === 'v2'")
            .await,
        "the page reloaded with the new build: {}",
        browser.eval("document.body.innerText").await
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        browser.eval("sessionStorage.loads").await,
        "2",
        "one reload"
    );

    // Only the stylesheet changes: restyled in place, the typed text stays.
    browser
        .eval("document.getElementById('field').value = 'typed'; window.marker = 7; true")
        .await;
    std::fs::write(p.site.join("app.css"), "h1 { color: rgb(255, 0, 0) }").unwrap();
    assert!(
        browser
            .wait_for("getComputedStyle(document.querySelector('h1')).color === 'rgb(255, 0, 0)'")
            .await,
        "the new style applies"
    );
    assert_eq!(browser.eval("window.marker").await, 7, "no reload");
    assert_eq!(
        browser.eval("document.getElementById('field').value").await,
        "typed"
    );
    assert_eq!(browser.eval("sessionStorage.loads").await, "2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inspector_shows_the_apps_calls_and_replays_one() {
    let Some(mut browser) =
        Browser::launch("the_inspector_shows_the_apps_calls_and_replays_one").await
    else {
        return;
    };
    let b = echo_backend().await;
    let p = proxy_with(
        Some(&format!(
            r#"{{ "/api": {{ "target": "{}", "changeOrigin": true }} }}"#,
            b.url()
        )),
        |o| o.inspector = true,
    )
    .await;
    browser.goto(&p.url("/")).await;
    let answer = browser
        .eval("fetch('/api/users?id=7', { method: 'POST', body: 'hello' }).then((r) => r.text())")
        .await;
    assert!(
        answer
            .as_str()
            .unwrap_or("")
            .starts_with("POST /api/users?id=7\n"),
        "{answer}"
    );

    browser.goto(&p.url("/__devproxy/")).await;
    let row = "[...document.querySelectorAll('#rows tr')].find((tr) => tr.textContent.includes('/api/users?id=7'))";
    assert!(
        browser.wait_for(&format!("!!{row}")).await,
        "the call is listed"
    );
    let cells = browser.eval(&format!("{row}.textContent")).await;
    let cells = cells.as_str().unwrap_or("");
    assert!(
        cells.contains("POST") && cells.contains("/api") && cells.contains(&b.url()),
        "{cells}"
    );
    browser.eval(&format!("{row}.click(); true")).await;
    assert!(
        browser
            .wait_for(&format!(
                "document.getElementById('detail').textContent.includes('127.0.0.1:{}')",
                b.addr.port()
            ))
            .await,
        "the detail shows the Host sent upstream: {}",
        browser
            .eval("document.getElementById('detail').textContent")
            .await
    );
    assert!(
        browser
            .wait_for("document.getElementById('detail').textContent.includes('hello')")
            .await
    );
    let hits = b.hits();
    browser
        .eval("[...document.querySelectorAll('#detail button')].find((b) => b.textContent === 'Replay').click(); true")
        .await;
    assert!(
        browser
            .wait_for("!!document.getElementById('replayed')")
            .await,
        "replayed"
    );
    assert_eq!(b.hits(), hits + 1);
    let replayed = browser
        .eval("document.getElementById('replayed').textContent")
        .await;
    assert!(
        replayed.as_str().unwrap_or("").contains("replayed (#"),
        "{replayed}"
    );
}

/// Issue 12: a page on one devproxy origin calls a second devproxy whose rules answer CORS.
/// Chromium itself decides what passes: with and without credentials, a preflighted call, and
/// a rule without `cors`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_calls_another_devproxy_that_answers_cors() {
    let Some(mut browser) =
        Browser::launch("a_page_calls_another_devproxy_that_answers_cors").await
    else {
        return;
    };
    let b = echo_backend().await;
    let page = proxy_with(Some("{}"), |_| {}).await;
    let origin = format!("http://127.0.0.1:{}", page.port());
    let api = proxy(&format!(
        r#"{{
            "/open": {{ "target": "{b}", "cors": ["{origin}"] }},
            "/cred": {{ "target": "{b}", "cors": {{ "origins": ["{origin}"], "credentials": true }} }},
            "/none": {{ "target": "{b}" }}
        }}"#,
        b = b.url()
    ))
    .await;
    browser.goto(&page.url("/")).await;
    // A cookie of the page's host, which the other port shares (cookies have no port).
    browser
        .eval("document.cookie = 'sid=abc; path=/'; true")
        .await;
    let call = |path: &str, init: &str| {
        format!(
            "fetch('{}', {init}).then(r => r.text()).catch(e => 'blocked: ' + e.message)",
            api.url(path)
        )
    };
    let text = |v: serde_json::Value| v.as_str().unwrap_or_default().to_string();

    let open = text(browser.eval(&call("/open/a", "{}")).await);
    assert!(open.starts_with("GET /open/a"), "allowed: {open}");
    assert!(
        !open.contains("sid=abc"),
        "no credentials, no cookie: {open}"
    );
    let refused = text(
        browser
            .eval(&call("/open/b", "{credentials: 'include'}"))
            .await,
    );
    assert!(
        refused.starts_with("blocked"),
        "credentials not allowed there: {refused}"
    );
    let cred = text(
        browser
            .eval(&call("/cred/c", "{credentials: 'include'}"))
            .await,
    );
    assert!(
        cred.contains("cookie: sid=abc"),
        "credentials allowed, cookie sent: {cred}"
    );
    let put = text(
        browser
            .eval(&call(
                "/cred/d",
                "{method: 'PUT', credentials: 'include', headers: {'Content-Type': 'application/json', 'X-Token': 't'}, body: '{}'}",
            ))
            .await,
    );
    assert!(
        put.starts_with("PUT /cred/d"),
        "preflighted call allowed: {put}"
    );
    assert!(put.contains("x-token: t"), "{put}");
    let none = text(browser.eval(&call("/none/e", "{}")).await);
    assert!(none.starts_with("blocked"), "no cors on the rule: {none}");
    assert_eq!(
        b.hits(),
        5,
        "every call but the preflight reached the backend (blocked ones too: the browser withholds the answer)"
    );
}
