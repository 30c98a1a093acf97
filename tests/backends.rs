//! Backends that misbehave: each gets the right 502/504 or an aborted stream, nothing panics,
//! and open file descriptors and tasks return to their baseline afterwards. One test, so no
//! other test in this binary moves the counts.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use http::{Request, Response};
use http_body_util::BodyExt;
use hyper::body::{Frame, Incoming};

async fn raw_backend_addr(reply: impl AsRef<[u8]>, hold: bool) -> std::net::SocketAddr {
    raw_backend(reply.as_ref(), hold).await.0
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Starts one backend of each bad kind and devproxy with a rule for each; the flag turns true
/// when the endless backend's stream is let go.
async fn misbehaving_backends() -> (Proxy, Arc<AtomicBool>, Backend) {
    let refused = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let closes = raw_backend_addr(Vec::new(), false).await;
    let silent = raw_backend_addr(Vec::new(), true).await;
    let garbage = raw_backend_addr(
        b"HTTP/1.1 2OO OK\r\nContent-Length: 0\r\n\r\n".to_vec(),
        false,
    )
    .await;
    let mut huge = b"HTTP/1.1 200 OK\r\nX-Huge: ".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 600_000));
    huge.extend_from_slice(b"\r\nContent-Length: 0\r\n\r\n");
    let huge = raw_backend_addr(huge, false).await;
    let resets = raw_backend_addr(
        b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nonly ten b".to_vec(),
        false,
    )
    .await;
    let sse_closes = raw_backend_addr(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\nb\r\ndata: one\n\n\r\n".to_vec(),
        false,
    )
    .await;
    let dropped = Arc::new(AtomicBool::new(false));
    let flag = dropped.clone();
    let endless = backend(move |_req: Request<Incoming>| {
        let flag = flag.clone();
        async move {
            let (tx, rx) =
                tokio::sync::mpsc::channel::<Result<Frame<Bytes>, std::convert::Infallible>>(1);
            tokio::spawn(async move {
                while tx
                    .send(Ok(Frame::data(Bytes::from(vec![0u8; 65536]))))
                    .await
                    .is_ok()
                {}
                flag.store(true, Ordering::SeqCst); // the proxy let go of the stream
            });
            let stream = futures_util::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|x| (x, rx))
            });
            Response::new(body::boxed(http_body_util::StreamBody::new(stream)))
        }
    })
    .await;
    let p = proxy(&format!(
        r#"{{
            "/refused": "http://{refused}",
            "/closes": "http://{closes}",
            "/silent": {{ "target": "http://{silent}", "proxyTimeout": 300 }},
            "/garbage": "http://{garbage}",
            "/huge": "http://{huge}",
            "/resets": "http://{resets}",
            "/sse": "http://{sse_closes}",
            "/endless": "{}"
        }}"#,
        endless.url()
    ))
    .await;
    (p, dropped, endless)
}

/// One round of requests to every bad backend, each answered as it should be.
async fn one_round(p: &Proxy, dropped: &AtomicBool, round: usize) {
    for (path, status, cause) in [
        ("/refused", 502, "connection refused"),
        (
            "/closes",
            502,
            "closed the connection before sending a complete response",
        ),
        ("/silent", 504, "no response within proxyTimeout (300 ms)"),
        ("/garbage", 502, "sent an invalid HTTP response"),
        ("/huge", 502, "sent an invalid HTTP response"),
    ] {
        let r = get(&p.url(path)).await;
        assert_eq!(r.status, status, "round {round} {path}: {}", r.text());
        assert!(r.text().contains(cause), "{path}: {}", r.text());
    }
    // A body cut short upstream is cut short for the browser too: never passed off as whole.
    // When the backend dies before hyper has flushed the head (it happens under load), the
    // browser sees the connection close instead of a 200 with a cut body: incomplete either way.
    let sent = client()
        .request(Request::get(p.url("/resets")).body(body::empty()).unwrap())
        .await;
    if let Ok(res) = sent {
        assert_eq!(res.status(), 200);
        assert!(
            res.into_body().collect().await.is_err(),
            "a truncated body is an error"
        );
    }
    let sent = client()
        .request(Request::get(p.url("/sse")).body(body::empty()).unwrap())
        .await;
    if let Ok(res) = sent {
        let mut body = res.into_body();
        let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
        assert_eq!(first, Bytes::from_static(b"data: one\n\n"));
        assert!(
            tokio::time::timeout(Duration::from_secs(5), body.collect())
                .await
                .is_ok(),
            "the stream ends"
        );
    }
    // The browser gives up on a download half-way: the backend's stream is let go.
    dropped.store(false, Ordering::SeqCst);
    let res = client()
        .request(Request::get(p.url("/endless")).body(body::empty()).unwrap())
        .await
        .unwrap();
    let mut body = res.into_body();
    for _ in 0..10 {
        body.frame().await.unwrap().unwrap();
    }
    drop(body);
    assert!(
        eventually(|| async { dropped.load(Ordering::SeqCst) }).await,
        "round {round}: the backend stream was released"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misbehaving_backends_never_hurt_devproxy() {
    let (p, dropped, _endless) = misbehaving_backends().await;
    // Warm up, then take the baseline.
    for _ in 0..3 {
        get(&p.url("/assets/app.js")).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let fds_before = open_fds();
    let tasks_before = tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks();

    for round in 0..5 {
        one_round(&p, &dropped, round).await;
    }

    // Everything opened for those requests is closed again (idle pooled connections aside).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let fds_after = open_fds();
    let tasks_after = tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks();
    assert!(
        fds_after <= fds_before + 8,
        "file descriptors: {fds_before} before, {fds_after} after"
    );
    assert!(
        tasks_after <= tasks_before + 8,
        "tasks: {tasks_before} before, {tasks_after} after"
    );
}
