//! Proxying on real sockets: routing by every pattern kind and config shape, headers, bodies,
//! streaming, and the 502/504 answers.

mod common;

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn first_line(r: &Reply) -> String {
    r.text().lines().next().unwrap_or("").to_string()
}

#[tokio::test]
async fn object_form_patterns_route_in_file_order() {
    let b = echo_backend().await;
    let u = b.url();
    let p = proxy(&format!(
        r#"{{
            // comments and trailing commas are fine
            "^/v[0-9]+/": {{ "target": "{u}/regex" }},
            "/api/special": "{u}/special",
            "/api": {{ "target": "{u}/prefix" }},
            "/files/*.txt": {{ "target": "{u}/glob1" }},
            "/deep/**": {{ "target": "{u}/glob2" }},
            "/angular/*": {{ "target": "{u}/ng" }},
        }}"#
    ))
    .await;
    let cases = [
        ("/v2/users", "GET /regex/v2/users"),
        ("/api/special/x", "GET /special/api/special/x"),
        ("/api/users?id=1&x=%20", "GET /prefix/api/users?id=1&x=%20"),
        ("/apiv2", "GET /prefix/apiv2"),
        ("/files/a.txt", "GET /glob1/files/a.txt"),
        ("/deep/a/b/c", "GET /glob2/deep/a/b/c"),
        // webpack-dev-server drops a trailing "/*" from object keys: a prefix, as in Angular.
        ("/angular/a/b", "GET /ng/angular/a/b"),
    ];
    for (path, want) in cases {
        let r = get(&p.url(path)).await;
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(first_line(&r), want, "{path}");
    }
    // `*` stays within one segment, so this falls through to static files.
    let r = get(&p.url("/files/a/b.txt")).await;
    assert_eq!(r.status, 404);
    assert_eq!(b.hits(), cases.len());
}

#[tokio::test]
async fn array_form_with_context_lists_and_exclusions() {
    let b = echo_backend().await;
    let u = b.url();
    let p = proxy(&format!(
        r#"[
            {{ "context": ["/auth", "/api/**", "!/api/internal/**"], "target": "{u}/one" }},
            {{ "pathFilter": "/other", "target": "{u}/two" }}
        ]"#
    ))
    .await;
    assert_eq!(
        first_line(&get(&p.url("/auth/login")).await),
        "GET /one/auth/login"
    );
    assert_eq!(
        first_line(&get(&p.url("/api/x/y")).await),
        "GET /one/api/x/y"
    );
    assert_eq!(first_line(&get(&p.url("/other")).await), "GET /two/other");
    assert_eq!(get(&p.url("/api/internal/secret")).await.status, 404);
    assert_eq!(b.hits(), 3);
}

#[tokio::test]
async fn single_rule_object_form() {
    let b = echo_backend().await;
    let p = proxy(&format!(
        r#"{{ "context": ["/api", "/r"], "target": "{}", "secure": false, "changeOrigin": true }}"#,
        b.url()
    ))
    .await;
    assert_eq!(first_line(&get(&p.url("/r/1")).await), "GET /r/1");
    assert_eq!(first_line(&get(&p.url("/api")).await), "GET /api");
}

#[tokio::test]
async fn change_origin_off_keeps_the_browser_host_and_on_uses_the_target() {
    let b = echo_backend().await;
    let u = b.url();
    let p = proxy(&format!(
        r#"{{ "/keep": {{ "target": "{u}" }}, "/change": {{ "target": "{u}", "changeOrigin": true }}, "/short": "{u}" }}"#
    ))
    .await;
    let proxy_host = format!("127.0.0.1:{}", p.port());
    let backend_host = format!("127.0.0.1:{}", b.addr.port());
    assert_eq!(seen(&get(&p.url("/keep")).await, "host"), Some(proxy_host));
    assert_eq!(
        seen(&get(&p.url("/change")).await, "host"),
        Some(backend_host.clone())
    );
    // Vite's string shorthand turns changeOrigin on.
    assert_eq!(
        seen(&get(&p.url("/short")).await, "host"),
        Some(backend_host)
    );
}

#[tokio::test]
async fn path_rewrite_base_path_and_query() {
    let b = echo_backend().await;
    let u = b.url();
    let p = proxy(&format!(
        r#"{{
            "/api": {{ "target": "{u}/backend/", "pathRewrite": {{ "^/api": "" }} }},
            "/users": {{ "target": "{u}", "pathRewrite": {{ "^/users/(\\d+)": "/people/$1/profile" }} }}
        }}"#
    ))
    .await;
    assert_eq!(
        first_line(&get(&p.url("/api/items?page=2")).await),
        "GET /backend/items?page=2"
    );
    assert_eq!(first_line(&get(&p.url("/api")).await), "GET /backend/");
    assert_eq!(
        first_line(&get(&p.url("/users/42?x=1")).await),
        "GET /people/42/profile?x=1"
    );
}

#[tokio::test]
async fn methods_statuses_and_bodies_pass_unchanged() {
    let b = backend(|req: Request<Incoming>| async move {
        let method = req.method().clone();
        let body = read_body(req).await;
        let mut res = Response::new(body::full(format!(
            "{method} {}",
            String::from_utf8_lossy(&body)
        )));
        *res.status_mut() = if method == http::Method::PUT {
            StatusCode::CREATED
        } else {
            StatusCode::IM_A_TEAPOT
        };
        res
    })
    .await;
    let p = proxy(&format!(r#"{{ "/api": "{}" }}"#, b.url())).await;
    let r = send(
        request("PUT", &p.url("/api/x"))
            .body(body::full("hello"))
            .unwrap(),
    )
    .await;
    assert_eq!((r.status, r.text().as_str()), (201, "PUT hello"));
    let r = send(
        request("DELETE", &p.url("/api/x"))
            .body(body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!((r.status, r.text().as_str()), (418, "DELETE "));
    // Preflights are the backend's business: forwarded, never answered by devproxy.
    let r = send(
        request("OPTIONS", &p.url("/api/x"))
            .header("origin", "http://localhost:3000")
            .header("access-control-request-method", "POST")
            .body(body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!((r.status, r.text().as_str()), (418, "OPTIONS "));
    assert!(r.header("access-control-allow-origin").is_none());
    assert_eq!(b.hits(), 3);
}

#[tokio::test]
async fn several_set_cookie_headers_survive() {
    let b = backend(|_req: Request<Incoming>| async move {
        Response::builder()
            .header("set-cookie", "a=1; Path=/")
            .header("set-cookie", "b=2; HttpOnly")
            .header("set-cookie", "c=3; SameSite=Lax")
            .body(body::empty())
            .unwrap()
    })
    .await;
    let p = proxy(&format!(r#"{{ "/api": "{}" }}"#, b.url())).await;
    let r = get(&p.url("/api")).await;
    let cookies: Vec<&str> = r
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(
        cookies,
        vec!["a=1; Path=/", "b=2; HttpOnly", "c=3; SameSite=Lax"]
    );
}

#[tokio::test]
async fn rule_headers_and_xfwd() {
    let b = echo_backend().await;
    let p = proxy(&format!(
        r#"{{ "/api": {{ "target": "{}", "xfwd": true, "headers": {{ "X-Api-Key": "dev-key", "Authorization": "Bearer t" }} }} }}"#,
        b.url()
    ))
    .await;
    let r = send(
        request("GET", &p.url("/api"))
            .header("x-forwarded-for", "6.6.6.6")
            .header("authorization", "from-browser")
            .body(body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(seen(&r, "x-api-key").as_deref(), Some("dev-key"));
    assert_eq!(seen(&r, "authorization").as_deref(), Some("Bearer t"));
    assert_eq!(
        seen(&r, "x-forwarded-for").as_deref(),
        Some("127.0.0.1"),
        "replaced, not appended"
    );
    assert_eq!(seen(&r, "x-forwarded-proto").as_deref(), Some("http"));
    assert_eq!(seen(&r, "x-forwarded-port"), Some(p.port().to_string()));
    assert_eq!(
        seen(&r, "x-forwarded-host"),
        Some(format!("127.0.0.1:{}", p.port()))
    );
}

#[tokio::test]
async fn hop_by_hop_headers_are_stripped_both_ways() {
    let (addr, mut heads) = raw_backend(
        b"HTTP/1.1 200 OK\r\nConnection: close, X-Backend-Hop\r\nX-Backend-Hop: 1\r\nKeep-Alive: timeout=5\r\nProxy-Authenticate: Basic\r\nX-End: ok\r\nContent-Length: 2\r\n\r\nok",
        false,
    )
    .await;
    let p = proxy(&format!(r#"{{ "/api": "http://{addr}" }}"#)).await;
    let reply = raw(
        p.server.local_addr(),
        format!(
            "GET /api HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: keep-alive, X-Browser-Hop\r\nX-Browser-Hop: 1\r\nKeep-Alive: 300\r\nProxy-Authorization: Basic eA==\r\nTE: trailers\r\nX-End: kept\r\n\r\n",
            p.port()
        )
        .as_bytes(),
    )
    .await
    .to_lowercase();
    let head = heads.recv().await.unwrap();
    assert!(head.contains("x-end: kept"), "{head}");
    for gone in ["x-browser-hop", "keep-alive", "proxy-authorization", "te:"] {
        assert!(!head.contains(gone), "{gone} reached the backend:\n{head}");
    }
    assert!(reply.starts_with("http/1.1 200 ok"), "{reply}");
    assert!(reply.contains("x-end: ok"), "{reply}");
    for gone in ["x-backend-hop", "keep-alive: timeout", "proxy-authenticate"] {
        assert!(
            !reply.contains(gone),
            "{gone} reached the browser:\n{reply}"
        );
    }
}

#[tokio::test]
async fn large_uploads_and_downloads_stream() {
    const CHUNK: usize = 64 * 1024;
    const CHUNKS: usize = 512; // 32 MiB each way
    let b = backend(|req: Request<Incoming>| async move {
        if req.method() == http::Method::POST {
            let mut body = req.into_body();
            let mut n = 0usize;
            while let Some(frame) = body.frame().await {
                if let Ok(data) = frame.map(|f| f.into_data()) {
                    n += data.map(|d| d.len()).unwrap_or(0);
                } else {
                    break;
                }
            }
            return Response::new(body::full(n.to_string()));
        }
        let stream =
            futures_util::stream::iter((0..CHUNKS).map(|i| {
                Ok::<_, Infallible>(Frame::data(Bytes::from(vec![(i % 251) as u8; CHUNK])))
            }));
        Response::new(body::boxed(StreamBody::new(stream)))
    })
    .await;
    let p = proxy(&format!(r#"{{ "/big": "{}" }}"#, b.url())).await;

    // Upload without Content-Length (chunked).
    let upload = futures_util::stream::iter(
        (0..CHUNKS).map(|_| Ok::<_, Infallible>(Frame::data(Bytes::from(vec![7u8; CHUNK])))),
    );
    let r = send(
        request("POST", &p.url("/big"))
            .body(body::boxed(StreamBody::new(upload)))
            .unwrap(),
    )
    .await;
    assert_eq!(r.text(), (CHUNK * CHUNKS).to_string());

    let res = client()
        .request(Request::get(p.url("/big")).body(body::empty()).unwrap())
        .await
        .unwrap();
    assert!(res.headers().get("content-encoding").is_none());
    let mut body = res.into_body();
    let (mut n, mut sum) = (0usize, 0u64);
    while let Some(frame) = body.frame().await {
        if let Some(d) = frame.unwrap().data_ref() {
            n += d.len();
            sum += d.iter().map(|b| u64::from(*b)).sum::<u64>();
        }
    }
    let want: u64 = (0..CHUNKS).map(|i| (i % 251) as u64 * CHUNK as u64).sum();
    assert_eq!((n, sum), (CHUNK * CHUNKS, want));
}

#[tokio::test]
async fn server_sent_events_arrive_before_the_stream_ends() {
    let (release_tx, release_rx) = tokio::sync::watch::channel(false);
    let b = backend(move |_req: Request<Incoming>| {
        let mut release = release_rx.clone();
        async move {
            let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, Infallible>>(4);
            tokio::spawn(async move {
                let _ = tx
                    .send(Ok(Frame::data(Bytes::from_static(b"data: first\n\n"))))
                    .await;
                // The second event waits until the test has seen the first one.
                let _ = release.wait_for(|r| *r).await;
                let _ = tx
                    .send(Ok(Frame::data(Bytes::from_static(b"data: second\n\n"))))
                    .await;
            });
            Response::builder()
                .header("content-type", "text/event-stream")
                .header("cache-control", "no-cache")
                .body(body::boxed(StreamBody::new(tokio_stream(rx))))
                .unwrap()
        }
    })
    .await;
    let p = proxy(&format!(r#"{{ "/events": "{}" }}"#, b.url())).await;
    let res = client()
        .request(
            Request::get(p.url("/events"))
                .header("accept", "text/event-stream")
                .header("accept-encoding", "gzip, br")
                .body(body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        res.headers().get("content-type").unwrap(),
        "text/event-stream"
    );
    assert!(res.headers().get("content-encoding").is_none());
    let mut body = res.into_body();
    let first = tokio::time::timeout(Duration::from_secs(5), body.frame())
        .await
        .expect("the first event arrives while the backend still holds the stream open")
        .unwrap()
        .unwrap();
    assert_eq!(
        first.into_data().unwrap(),
        Bytes::from_static(b"data: first\n\n")
    );
    release_tx.send(true).unwrap();
    let rest = body.collect().await.unwrap().to_bytes();
    assert_eq!(rest, Bytes::from_static(b"data: second\n\n"));
}

/// An mpsc receiver as a stream, without pulling in tokio-stream.
fn tokio_stream<T: Send + 'static>(
    mut rx: tokio::sync::mpsc::Receiver<T>,
) -> impl futures_util::Stream<Item = T> + Send {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

#[tokio::test]
async fn refused_backend_gets_a_502_that_says_why() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let p = proxy(&format!(r#"{{ "/api": {{ "target": "http://127.0.0.1:{port}", "pathRewrite": {{ "^/api": "/v1" }} }} }}"#)).await;
    let r = send(
        request("POST", &p.url("/api/users?x=1"))
            .body(body::full("x"))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 502);
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    let text = r.text();
    for want in [
        "POST /api/users?x=1".to_string(),
        format!("upstream: http://127.0.0.1:{port}/v1/users?x=1"),
        "rule:     /api →".to_string(),
        format!("connection refused: nothing is listening on 127.0.0.1:{port}"),
    ] {
        assert!(text.contains(&want), "missing {want:?} in:\n{text}");
    }
}

#[tokio::test]
async fn silent_backend_gets_a_504_after_proxy_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s); // accept, read nothing, answer nothing
        }
    });
    let p = proxy(&format!(
        r#"{{ "/slow": {{ "target": "http://{addr}", "proxyTimeout": 200 }} }}"#
    ))
    .await;
    let r = get(&p.url("/slow/x")).await;
    assert_eq!(r.status, 504);
    assert!(
        r.text()
            .contains("no response within proxyTimeout (200 ms)"),
        "{}",
        r.text()
    );
    assert!(r.text().contains("GET /slow/x"), "{}", r.text());
}

#[tokio::test]
async fn backend_that_closes_early_gets_a_502() {
    let (addr, _heads) = raw_backend(b"", false).await;
    let p = proxy(&format!(r#"{{ "/api": "http://{addr}" }}"#)).await;
    let r = get(&p.url("/api")).await;
    assert_eq!(r.status, 502);
    assert!(
        r.text()
            .contains("closed the connection before sending a complete response"),
        "{}",
        r.text()
    );
}

#[tokio::test]
async fn a_broken_rule_answers_502_and_the_others_still_work() {
    let b = echo_backend().await;
    let p = proxy(&format!(
        r#"{{ "/bad": {{ "target": "localhost:8080" }}, "/good": "{}" }}"#,
        b.url()
    ))
    .await;
    let r = get(&p.url("/bad/x")).await;
    assert_eq!(r.status, 502);
    assert!(
        r.text().contains(
            "target \"localhost:8080\" has no scheme; did you mean \"http://localhost:8080\"?"
        ),
        "{}",
        r.text()
    );
    assert_eq!(get(&p.url("/good")).await.status, 200);
}

#[tokio::test]
async fn upgrade_on_a_rule_without_ws_is_refused_with_advice() {
    let b = echo_backend().await;
    let p = proxy(&format!(r#"{{ "/socket": "{}" }}"#, b.url())).await;
    let reply = raw(
        p.server.local_addr(),
        format!(
            "GET /socket HTTP/1.1\r\nHost: localhost:{}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
            p.port()
        )
        .as_bytes(),
    )
    .await;
    assert!(reply.starts_with("HTTP/1.1 400"), "{reply}");
    assert!(reply.contains("add \"ws\": true"), "{reply}");
    assert_eq!(b.hits(), 0);
}

#[tokio::test]
async fn host_check_refuses_foreign_names() {
    let b = echo_backend().await;
    let p = proxy_with(Some(&format!(r#"{{ "/api": "{}" }}"#, b.url())), |o| {
        o.allowed_hosts = vec!["dev.example.test".into()];
    })
    .await;
    let with_host = |h: &'static str| {
        request("GET", &p.url("/api"))
            .header("host", h)
            .body(body::empty())
            .unwrap()
    };
    let r = send(with_host("evil.example")).await;
    assert_eq!(r.status, 403);
    assert!(
        r.text().contains("--allowed-host evil.example"),
        "{}",
        r.text()
    );
    assert_eq!(send(with_host("dev.example.test:4280")).await.status, 200);
    assert_eq!(send(with_host("localhost")).await.status, 200);
    assert_eq!(send(with_host("app.localhost:1")).await.status, 200);
    assert_eq!(b.hits(), 3);
    // Absolute-form requests for another host are not forwarded anywhere.
    let reply = raw(
        p.server.local_addr(),
        format!(
            "GET http://example.com/api HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\r\n",
            p.port()
        )
        .as_bytes(),
    )
    .await;
    assert!(reply.starts_with("HTTP/1.1 400"), "{reply}");
    assert_eq!(b.hits(), 3);
}

#[tokio::test]
async fn no_cors_headers_are_added() {
    let b = echo_backend().await;
    let p = proxy(&format!(r#"{{ "/api": "{}" }}"#, b.url())).await;
    for path in ["/api/x", "/", "/assets/app.js"] {
        let r = send(
            request("GET", &p.url(path))
                .header("origin", "http://evil.example")
                .body(body::empty())
                .unwrap(),
        )
        .await;
        assert!(r.header("access-control-allow-origin").is_none(), "{path}");
    }
}

#[tokio::test]
async fn two_host_headers_are_refused() {
    let b = echo_backend().await;
    let p = proxy(&format!(r#"{{ "/api": "{}" }}"#, b.url())).await;
    let reply = raw(
        p.server.local_addr(),
        b"GET /api HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(reply.starts_with("HTTP/1.1 400"), "{reply}");
    assert_eq!(b.hits(), 0);
}

#[tokio::test]
async fn localhost_targets_reach_an_ipv6_only_backend() {
    // The backend listens on ::1 only; `localhost` must be tried on every address it has.
    let Ok(listener) = tokio::net::TcpListener::bind("[::1]:0").await else {
        eprintln!("skipped: no IPv6 loopback on this machine");
        return;
    };
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let _ = s
                    .write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\nIPv6",
                    )
                    .await;
            });
        }
    });
    let p = proxy(&format!(r#"{{ "/api": "http://localhost:{port}" }}"#)).await;
    let r = get(&p.url("/api")).await;
    assert_eq!((r.status, r.text().as_str()), (200, "IPv6"));
}

#[tokio::test]
async fn refused_localhost_names_both_addresses_tried() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let p = proxy(&format!(r#"{{ "/api": "http://localhost:{port}" }}"#)).await;
    let r = get(&p.url("/api")).await;
    assert_eq!(r.status, 502);
    let want = format!("nothing is listening on localhost:{port} (tried 127.0.0.1:{port} and [::1]:{port}); is the backend running?");
    assert!(r.text().contains(&want), "{}", r.text());
}
