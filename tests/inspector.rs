//! The inspector on real sockets: what passes is listed with its rule, upstream URL and
//! headers on both sides; new exchanges are pushed to open pages; only the app's own pages may
//! read it; streams pass undelayed; memory stays bounded.

mod common;

use std::time::Duration;

use common::*;
use http::{Request, Response};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde_json::Value;

async fn inspected(config: &str) -> Proxy {
    proxy_with(Some(config), |o| o.inspector = true).await
}

async fn json(p: &Proxy, path: &str) -> Value {
    let r = get(&p.url(path)).await;
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    serde_json::from_slice(&r.body).unwrap()
}

fn header<'a>(pairs: &'a Value, name: &str) -> Option<&'a str> {
    pairs
        .as_array()?
        .iter()
        .find(|p| p[0] == name)
        .and_then(|p| p[1].as_str())
}

#[tokio::test]
async fn proxied_and_static_requests_are_listed_with_both_sides() {
    let b = backend(|_req: Request<Incoming>| async {
        Response::builder()
            .header("content-type", "application/json")
            .header("set-cookie", "sid=1; Domain=api.example.test; Secure")
            .body(body::full(r#"{"users":[1,2]}"#))
            .unwrap()
    })
    .await;
    let p = inspected(&format!(
        r#"{{ "/api": {{ "target": "{}", "changeOrigin": true, "cookies": true }} }}"#,
        b.url()
    ))
    .await;
    assert_eq!(get(&p.url("/api/users?page=2")).await.status, 200);
    assert_eq!(get(&p.url("/assets/app.js")).await.status, 200);
    let list = json(&p, "/__devproxy/api/requests").await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2, "{list:?}");
    let api = &list[0];
    assert_eq!(api["path"], "/api/users?page=2");
    assert_eq!(api["route"], "/api");
    assert_eq!(api["proxied"], true);
    assert_eq!(api["upstream"], format!("{}/api/users?page=2", b.url()));
    assert_eq!(api["status"], 200);
    assert_eq!(list[1]["route"], "static");
    let d = json(&p, &format!("/__devproxy/api/requests/{}", api["id"])).await;
    // The Host as the browser sent it, and as changeOrigin sent it upstream.
    assert_eq!(
        header(&d["browserRequest"], "host"),
        Some(format!("127.0.0.1:{}", p.port()).as_str())
    );
    assert_eq!(
        header(&d["upstreamRequest"], "host"),
        Some(format!("127.0.0.1:{}", b.addr.port()).as_str())
    );
    // Set-Cookie as the backend sent it, and as the browser got it.
    assert_eq!(
        header(&d["backendResponse"], "set-cookie"),
        Some("sid=1; Domain=api.example.test; Secure")
    );
    assert_eq!(
        header(&d["browserResponse"], "set-cookie"),
        Some("sid=1; SameSite=Lax")
    );
    assert_eq!(d["preview"]["text"], r#"{"users":[1,2]}"#);
    assert_eq!(d["ended"], "complete");
    // The page itself, from the binary.
    let page = get(&p.url("/__devproxy/")).await;
    assert!(page.text().contains("devproxy inspector"));
}

#[tokio::test]
async fn open_pages_hear_of_new_requests() {
    let p = inspected("{}").await;
    let res = client()
        .request(
            Request::get(p.url("/__devproxy/api/feed"))
                .body(body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let mut feed = res.into_body();
    get(&p.url("/index.html")).await;
    let mut seen = String::new();
    // Told of within a tick or two: at the tick after it came, and again once it is done if
    // it was still going then.
    while !seen.contains(r#""ended":"complete""#) {
        let frame = tokio::time::timeout(Duration::from_secs(5), feed.frame())
            .await
            .expect("an event within 5 s")
            .unwrap()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(frame.data_ref().unwrap()));
    }
    assert!(seen.contains("event: request\ndata: {"), "{seen}");
    assert!(seen.contains(r#""ended":"complete""#), "{seen}");
    assert!(seen.contains(r#""path":"/index.html""#), "{seen}");
}

#[tokio::test]
async fn only_the_apps_own_pages_may_read_it() {
    let p = inspected("{}").await;
    for (name, value) in [
        ("origin", "https://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ] {
        for path in [
            "/__devproxy/api/requests",
            "/__devproxy/api/feed",
            "/__devproxy/",
        ] {
            let r = send(
                request("GET", &p.url(path))
                    .header(name, value)
                    .body(body::empty())
                    .unwrap(),
            )
            .await;
            assert_eq!(r.status, 403, "{path} with {name}: {}", r.text());
        }
    }
    let own = send(
        request("GET", &p.url("/__devproxy/api/requests"))
            .header("origin", format!("http://127.0.0.1:{}", p.port()))
            .body(body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(own.status, 200);
}

#[tokio::test]
async fn streams_pass_undelayed_while_captured() {
    let (tx, rx) = tokio::sync::mpsc::channel::<()>(1);
    let rx = std::sync::Arc::new(tokio::sync::Mutex::new(Some(rx)));
    let b = backend(move |_req: Request<Incoming>| {
        let rx = rx.clone();
        async move {
            let mut rx = rx.lock().await.take().unwrap();
            let stream = async_stream(move |yield_| async move {
                yield_("data: first\n\n").await;
                rx.recv().await;
                yield_("data: last\n\n").await;
            });
            Response::builder()
                .header("content-type", "text/event-stream")
                .body(stream)
                .unwrap()
        }
    })
    .await;
    let p = inspected(&format!(r#"{{ "/events": "{}" }}"#, b.url())).await;
    let res = client()
        .request(Request::get(p.url("/events")).body(body::empty()).unwrap())
        .await
        .unwrap();
    let mut body = res.into_body();
    let first = tokio::time::timeout(Duration::from_secs(5), body.frame())
        .await
        .expect("the first event arrives while the stream is open")
        .unwrap()
        .unwrap();
    assert_eq!(first.data_ref().unwrap(), "data: first\n\n");
    tx.send(()).await.unwrap();
    let rest = body.collect().await.unwrap().to_bytes();
    assert_eq!(rest, "data: last\n\n");
}

/// A streaming body from an async closure that yields text chunks.
fn async_stream<F, Fut>(f: F) -> Body
where
    F: FnOnce(
        Box<dyn Fn(&'static str) -> futures_util::future::BoxFuture<'static, ()> + Send + Sync>,
    ) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel::<&'static str>(1);
    let yield_ = Box::new(move |s: &'static str| {
        let tx = tx.clone();
        Box::pin(async move {
            let _ = tx.send(s).await;
        }) as futures_util::future::BoxFuture<'static, ()>
    });
    tokio::spawn(f(yield_));
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|s| {
            (
                Ok::<_, std::convert::Infallible>(hyper::body::Frame::data(
                    bytes::Bytes::from_static(s.as_bytes()),
                )),
                rx,
            )
        })
    });
    body::boxed(http_body_util::StreamBody::new(stream))
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_stays_bounded_over_ten_thousand_large_requests() {
    let big = bytes::Bytes::from(vec![b'x'; 96 * 1024]);
    let b = backend(move |_req: Request<Incoming>| {
        let big = big.clone();
        async move { Response::new(body::full(big)) }
    })
    .await;
    let p = inspected(&format!(r#"{{ "/big": "{}" }}"#, b.url())).await;
    let c = client();
    for _ in 0..500 {
        let res = c
            .request(Request::get(p.url("/big")).body(body::empty()).unwrap())
            .await
            .unwrap();
        res.into_body().collect().await.unwrap();
    }
    let before = rss_kib();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (c, url) = (c.clone(), p.url("/big"));
        tasks.push(tokio::spawn(async move {
            for _ in 0..2375 {
                let res = c
                    .request(Request::get(&url).body(body::empty()).unwrap())
                    .await
                    .unwrap();
                assert_eq!(
                    res.into_body().collect().await.unwrap().to_bytes().len(),
                    96 * 1024
                );
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let after = rss_kib();
    let list = json(&p, "/__devproxy/api/requests").await;
    let kept = list.as_array().unwrap().len();
    // 32 MiB of previews at most, 64 KiB each: 512 records (fewer than the 1,000 kept when
    // bodies are small).
    assert!((450..=512).contains(&kept), "{kept} kept");
    assert!(
        after < before + 48 * 1024,
        "RSS grew from {before} KiB to {after} KiB over 9,500 more requests"
    );
}

#[tokio::test]
async fn the_limit_bounds_what_is_kept_and_timings_are_recorded() {
    let b = echo_backend().await;
    let p = proxy_with(Some(&format!(r#"{{ "/api": "{}" }}"#, b.url())), |o| {
        o.inspector = true;
        o.inspector_limit = 5;
    })
    .await;
    for i in 0..8 {
        get(&p.url(&format!("/api/{i}"))).await;
    }
    let list = json(&p, "/__devproxy/api/requests").await;
    let paths: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["/api/3", "/api/4", "/api/5", "/api/6", "/api/7"]);
    let id = list[4]["id"].as_u64().unwrap();
    let d = json(&p, &format!("/__devproxy/api/requests/{id}")).await;
    let (sent, backend, head) = (
        d["sentMs"].as_f64().unwrap(),
        d["backendMs"].as_f64().unwrap(),
        d["headMs"].as_f64().unwrap(),
    );
    assert!(
        sent <= backend && backend <= head,
        "{sent} {backend} {head}"
    );
    // Which address the connection reached.
    assert_eq!(d["connected"], format!("127.0.0.1:{}", b.addr.port()));
    let gone = get(&p.url("/__devproxy/api/requests/1")).await;
    assert_eq!(gone.status, 404);
    assert!(gone.text().contains("no longer kept"));
}

#[tokio::test]
async fn websockets_and_event_streams_show_their_last_messages() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let (addr, _paths) = ws_echo().await;
    let events = backend(|_req: Request<Incoming>| async {
        let text: String = (1..=7).map(|i| format!("data: e{i}\n\n")).collect();
        Response::builder()
            .header("content-type", "text/event-stream")
            .body(body::full(text))
            .unwrap()
    })
    .await;
    let p = inspected(&format!(
        r#"{{ "/socket": {{ "target": "http://{addr}", "ws": true }}, "/events": "{}" }}"#,
        events.url()
    ))
    .await;
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{}/socket", p.port()))
            .await
            .unwrap();
    for i in 1..=3 {
        ws.send(Message::text(format!("hello {i}"))).await.unwrap();
        assert_eq!(
            ws.next().await.unwrap().unwrap(),
            Message::text(format!("hello {i}"))
        );
    }
    ws.close(None).await.unwrap();
    while ws.next().await.is_some() {}
    drop(ws);
    get(&p.url("/events")).await;
    let list = json(&p, "/__devproxy/api/requests").await;
    let id_of = |path: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|r| r["path"] == path)
            .map(|r| r["id"].as_u64().unwrap())
            .unwrap()
    };
    let (socket, stream) = (id_of("/socket"), id_of("/events"));
    let mut d = Value::Null;
    for _ in 0..100 {
        d = json(&p, &format!("/__devproxy/api/requests/{socket}")).await;
        if d["ended"]
            .as_str()
            .is_some_and(|e| e.starts_with("WebSocket closed"))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(d["status"], 101);
    assert_eq!(d["events"], 6, "{d}");
    let last: Vec<&str> = d["last"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(last.last(), Some(&"← hello 3"), "{last:?}");
    assert!(last.contains(&"→ hello 3"), "{last:?}");
    assert!(
        d["ended"]
            .as_str()
            .unwrap()
            .contains("3 messages up, 3 down"),
        "{d}"
    );
    let d = json(&p, &format!("/__devproxy/api/requests/{stream}")).await;
    assert_eq!(d["events"], 7);
    let last: Vec<&str> = d["last"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        last,
        ["data: e3", "data: e4", "data: e5", "data: e6", "data: e7"]
    );
}
