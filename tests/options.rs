//! The http-proxy options beyond the basics, and devproxy's own, on real sockets: cookie and
//! redirect rewrites, auth, ignorePath/prependPath, router, Origin rewriting, `${VAR}`, and
//! Next.js-style rewrites.

mod common;

use common::*;
use http::{Request, Response};
use hyper::body::Incoming;

/// A backend that answers with the given headers and status, echoing the request line.
async fn answering(status: u16, headers: &'static [(&'static str, &'static str)]) -> Backend {
    backend(move |req: Request<Incoming>| async move {
        let mut res = Response::builder().status(status);
        for (k, v) in headers {
            res = res.header(*k, *v);
        }
        res.body(body::full(format!("{} {}", req.method(), req.uri())))
            .unwrap()
    })
    .await
}

fn cookies(r: &Reply) -> Vec<String> {
    r.headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn cookie_domain_and_path_rewrites() {
    let b = answering(
        200,
        &[
            (
                "set-cookie",
                "sid=1; Domain=api.example.com; Path=/api; HttpOnly",
            ),
            ("set-cookie", "theme=dark; domain=other.example; path=/"),
            ("set-cookie", "plain=1"),
        ],
    )
    .await;
    let p = proxy(&format!(
        r#"{{
            "/map": {{ "target": "{0}", "cookieDomainRewrite": {{ "api.example.com": "localhost", "*": "" }}, "cookiePathRewrite": {{ "/api": "/" }} }},
            "/str": {{ "target": "{0}", "cookieDomainRewrite": "localhost" }},
            "/off": {{ "target": "{0}", "cookieDomainRewrite": false }}
        }}"#,
        b.url()
    ))
    .await;
    assert_eq!(
        cookies(&get(&p.url("/map")).await),
        vec![
            "sid=1; Domain=localhost; Path=/; HttpOnly",
            "theme=dark; path=/",
            "plain=1"
        ]
    );
    assert_eq!(
        cookies(&get(&p.url("/str")).await),
        vec![
            "sid=1; Domain=localhost; Path=/api; HttpOnly",
            "theme=dark; domain=localhost; path=/",
            "plain=1"
        ]
    );
    assert_eq!(
        cookies(&get(&p.url("/off")).await)[0],
        "sid=1; Domain=api.example.com; Path=/api; HttpOnly"
    );
}

#[tokio::test]
async fn cookies_option_makes_backend_cookies_work_on_http_localhost() {
    let b = answering(
        200,
        &[
            (
                "set-cookie",
                "sid=abc; Domain=.example.com; Path=/; Secure; HttpOnly; SameSite=None",
            ),
            ("set-cookie", "csrf=x; Secure; SameSite=Strict"),
        ],
    )
    .await;
    let p = proxy(&format!(
        r#"{{
            "/all": {{ "target": "{0}", "cookies": true }},
            "/custom": {{ "target": "{0}", "cookies": {{ "domain": "", "secure": false, "sameSite": "Strict" }} }}
        }}"#,
        b.url()
    ))
    .await;
    assert_eq!(
        cookies(&get(&p.url("/all")).await),
        vec![
            "sid=abc; Path=/; HttpOnly; SameSite=Lax",
            "csrf=x; SameSite=Lax"
        ]
    );
    assert_eq!(
        cookies(&get(&p.url("/custom")).await),
        vec![
            "sid=abc; Path=/; HttpOnly; SameSite=Strict",
            "csrf=x; SameSite=Strict"
        ]
    );
}

#[tokio::test]
async fn redirects_to_the_backend_come_back_to_devproxy() {
    // A backend that redirects to its own address (as it knows it), or elsewhere on /away.
    let own = std::sync::Arc::new(std::sync::OnceLock::<String>::new());
    let own2 = own.clone();
    let b = backend(move |req: Request<Incoming>| {
        let own = own2.clone();
        async move {
            let location = if req.uri().path().ends_with("/away") {
                "http://elsewhere.example/x".to_string()
            } else {
                format!("{}/done?x=1", own.get().cloned().unwrap_or_default())
            };
            Response::builder()
                .status(if req.uri().path().contains("see-other") {
                    303
                } else {
                    301
                })
                .header("location", location)
                .body(body::empty())
                .unwrap()
        }
    })
    .await;
    own.set(format!("http://127.0.0.1:{}", b.addr.port()))
        .unwrap();
    let u = b.url();
    let p = proxy(&format!(
        r#"{{
            "/auto": {{ "target": "{u}", "autoRewrite": true }},
            "/host": {{ "target": "{u}", "hostRewrite": "localhost:9999", "protocolRewrite": "https" }},
            "/none": {{ "target": "{u}" }}
        }}"#
    ))
    .await;
    let loc = |path: &'static str| {
        let p = &p;
        async move {
            let r = send(
                request("GET", &p.url(path))
                    .header("host", "localhost:4280")
                    .body(body::empty())
                    .unwrap(),
            )
            .await;
            r.header("location").unwrap_or("").to_string()
        }
    };
    assert_eq!(loc("/auto").await, "http://localhost:4280/done?x=1");
    assert_eq!(loc("/host").await, "https://localhost:9999/done?x=1");
    assert_eq!(loc("/none").await, format!("{u}/done?x=1"));
    assert_eq!(
        loc("/auto/away").await,
        "http://elsewhere.example/x",
        "other hosts are left alone"
    );
    assert_eq!(
        loc("/auto/see-other").await,
        format!("{u}/done?x=1"),
        "303 is not rewritten, as in http-proxy"
    );
}

#[tokio::test]
async fn auth_ignore_path_and_prepend_path() {
    let b = echo_backend().await;
    let u = b.url();
    let p = proxy(&format!(
        r#"{{
            "/auth": {{ "target": "{u}", "auth": "alice:s3cret" }},
            "/fixed": {{ "target": "{u}/always/here", "ignorePath": true }},
            "/noprefix": {{ "target": "{u}/base", "prependPath": false }}
        }}"#
    ))
    .await;
    let r = get(&p.url("/auth/x")).await;
    assert_eq!(
        seen(&r, "authorization").as_deref(),
        Some("Basic YWxpY2U6czNjcmV0")
    );
    assert_eq!(
        get(&p.url("/fixed/a/b?q=1")).await.text().lines().next(),
        Some("GET /always/here")
    );
    assert_eq!(
        get(&p.url("/noprefix/x")).await.text().lines().next(),
        Some("GET /noprefix/x")
    );
}

#[tokio::test]
async fn router_picks_the_target_by_host_and_path_longest_first() {
    let (a, b, c, d) = (
        answering(200, &[]).await,
        answering(201, &[]).await,
        answering(202, &[]).await,
        answering(203, &[]).await,
    );
    let p = proxy(&format!(
        r#"{{ "/api": {{
            "target": "{}",
            "router": {{
                "staging.localhost": "{}",
                "staging.localhost/api/v2": "{}",
                "/api/admin": "{}"
            }}
        }} }}"#,
        a.url(),
        b.url(),
        c.url(),
        d.url()
    ))
    .await;
    let status = |host: &'static str, path: &'static str| {
        let p = &p;
        async move {
            send(
                request("GET", &p.url(path))
                    .header("host", host)
                    .body(body::empty())
                    .unwrap(),
            )
            .await
            .status
        }
    };
    assert_eq!(status("localhost:4280", "/api/x").await, 200);
    assert_eq!(status("staging.localhost:4280", "/api/x").await, 201);
    assert_eq!(status("staging.localhost:4280", "/api/v2/x").await, 202);
    assert_eq!(status("localhost:4280", "/api/admin/users").await, 203);
}

#[tokio::test]
async fn rewrite_origin_for_http_and_websocket_handshakes() {
    let b = echo_backend().await;
    let u = b.url();
    let p = proxy(&format!(
        r#"{{ "/csrf": {{ "target": "{u}", "rewriteOrigin": true }}, "/plain": "{u}" }}"#
    ))
    .await;
    let req = |path: &str| {
        request("POST", &p.url(path))
            .header("host", format!("localhost:{}", p.port()))
            .header("origin", format!("http://localhost:{}", p.port()))
            .header("referer", format!("http://localhost:{}/page?x=1", p.port()))
            .body(body::empty())
            .unwrap()
    };
    let r = send(req("/csrf")).await;
    assert_eq!(seen(&r, "origin"), Some(u.clone()));
    assert_eq!(seen(&r, "referer"), Some(format!("{u}/page?x=1")));
    let r = send(req("/plain")).await;
    assert_eq!(
        seen(&r, "origin"),
        Some(format!("http://localhost:{}", p.port()))
    );
}

#[tokio::test]
async fn variables_from_the_environment_and_dotenv() {
    let b = echo_backend().await;
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join(".env"),
        format!("DEVPROXY_TEST_BACKEND={}\n", b.url()),
    )
    .unwrap();
    std::env::set_var("DEVPROXY_TEST_PREFIX_2417", "/v9");
    let config = tmp.path().join("proxy.conf.json");
    std::fs::write(
        &config,
        r#"{
            "/api": { "target": "${DEVPROXY_TEST_BACKEND}${DEVPROXY_TEST_PREFIX_2417}" },
            "/dflt": { "target": "${DEVPROXY_TEST_UNSET_2417:-http://127.0.0.1:1}" },
            "/missing": { "target": "${DEVPROXY_TEST_UNSET_2417}" }
        }"#,
    )
    .unwrap();
    let set = devproxy::RuleSet::load(&config).unwrap();
    assert_eq!(
        set.rules()[1].upstream_url("/dflt").as_deref(),
        Some("http://127.0.0.1:1/dflt")
    );
    let messages: Vec<String> = set.diagnostics().iter().map(|d| d.to_string()).collect();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(
        messages[0].contains(
            "rule \"/missing\": environment variable DEVPROXY_TEST_UNSET_2417 is not set"
        ),
        "{messages:?}"
    );
    let p = proxy_with(None, |o| o.config = Some(config.clone())).await;
    assert_eq!(
        get(&p.url("/api/x")).await.text().lines().next(),
        Some("GET /v9/api/x")
    );
    let r = get(&p.url("/missing")).await;
    assert_eq!(r.status, 502);
    assert!(
        r.text().contains("DEVPROXY_TEST_UNSET_2417 is not set"),
        "{}",
        r.text()
    );
}

#[tokio::test]
async fn next_js_rewrites() {
    let b = echo_backend().await;
    let u = b.url();
    let p = proxy(&format!(
        r#"{{ "rewrites": [
            {{ "source": "/api/:path*", "destination": "{u}/backend/:path*" }},
            {{ "source": "/users/:id(\\d+)", "destination": "{u}/people/:id" }},
            {{ "source": "/docs/:slug?", "destination": "{u}/d/:slug" }}
        ] }}"#
    ))
    .await;
    let line = |path: &'static str| {
        let p = &p;
        async move {
            get(&p.url(path))
                .await
                .text()
                .lines()
                .next()
                .unwrap_or("")
                .to_string()
        }
    };
    assert_eq!(line("/api/a/b?q=1").await, "GET /backend/a/b?q=1");
    assert_eq!(line("/api").await, "GET /backend/");
    assert_eq!(line("/users/42").await, "GET /people/42");
    assert_eq!(line("/docs").await, "GET /d/");
    assert_eq!(line("/docs/intro").await, "GET /d/intro");
    assert_eq!(
        get(&p.url("/users/abc")).await.status,
        404,
        "the parameter pattern must match"
    );
    // Next.js sends the destination's Host.
    assert_eq!(
        seen(&get(&p.url("/api/x")).await, "host"),
        Some(u.trim_start_matches("http://").to_string())
    );
}

#[tokio::test]
async fn command_line_rules_come_after_the_file_and_survive_reloads() {
    let (a, b) = (answering(200, &[]).await, answering(201, &[]).await);
    let p = proxy_with(Some(&format!(r#"{{ "/api": "{}" }}"#, a.url())), |o| {
        o.cli_rules = vec![format!("/api={}", b.url()), format!("/extra={}", b.url())];
    })
    .await;
    assert_eq!(
        get(&p.url("/api/x")).await.status,
        200,
        "the file's rule is tried first"
    );
    assert_eq!(get(&p.url("/extra/x")).await.status, 201);
    std::fs::write(&p.config, format!(r#"{{ "/other": "{}" }}"#, a.url())).unwrap();
    assert!(eventually(|| async { get(&p.url("/other")).await.status == 200 }).await);
    assert_eq!(
        get(&p.url("/api/x")).await.status,
        201,
        "now the --proxy rule takes /api"
    );
    assert_eq!(get(&p.url("/extra/x")).await.status, 201);
}

#[tokio::test]
async fn proxy_fallback_follows_create_react_apps_rules() {
    let b = echo_backend().await;
    let tmp = tempfile::tempdir().unwrap();
    let pkg = tmp.path().join("package.json");
    std::fs::write(
        &pkg,
        format!(r#"{{ "name": "app", "proxy": "{}" }}"#, b.url()),
    )
    .unwrap();
    for fallback in [b.url(), pkg.display().to_string()] {
        let p = proxy_with(None, |o| o.fallback = Some(fallback.clone())).await;
        let with_accept = |method: &str, path: &str, accept: &str| {
            request(method, &p.url(path))
                .header("accept", accept)
                .body(body::empty())
                .unwrap()
        };
        let r = send(with_accept("GET", "/todos?done=1", "application/json")).await;
        assert_eq!(
            r.text().lines().next(),
            Some("GET /todos?done=1"),
            "{fallback}"
        );
        let r = send(with_accept("POST", "/assets/app.js", "*/*")).await;
        assert_eq!(
            r.text().lines().next(),
            Some("POST /assets/app.js"),
            "other methods always go to the backend"
        );
        let r = send(with_accept("GET", "/todos", "text/html")).await;
        assert!(r.text().contains("INDEX"), "page navigations get the app");
        let r = send(with_accept("GET", "/assets/app.js", "*/*")).await;
        assert!(r.text().contains("console.log"), "files are served");
    }
    let start_with_fallback = |fallback: String| {
        let site = tmp.path().to_path_buf();
        async move {
            let options = devproxy::Options {
                dir: site,
                port: 0,
                fallback: Some(fallback),
                ..devproxy::Options::default()
            };
            devproxy::start(options)
                .await
                .err()
                .expect("devproxy refuses to start")
        }
    };
    let missing = tmp.path().join("missing.json");
    let err = start_with_fallback(missing.display().to_string()).await;
    assert!(format!("{err:#}").contains("not a URL, and"), "{err:#}");
    std::fs::write(&pkg, r#"{ "name": "app" }"#).unwrap();
    let err = start_with_fallback(pkg.display().to_string()).await;
    assert_eq!(
        format!("{err:#}"),
        format!("{}: has no \"proxy\" field", pkg.display())
    );
}

#[tokio::test]
async fn follow_redirects_fetches_the_final_answer_for_requests_without_a_body() {
    let b = backend(|req: Request<Incoming>| async move {
        let path = req.uri().path().to_string();
        let res = match path.as_str() {
            "/r/start" => Response::builder()
                .status(302)
                .header("location", "/r/middle?x=1"),
            "/r/middle" => Response::builder().status(307).header("location", "end"),
            _ => Response::builder().status(200),
        };
        res.body(body::full(format!("{} {}", req.method(), req.uri())))
            .unwrap()
    })
    .await;
    let p = proxy(&format!(
        r#"{{ "/r": {{ "target": "{0}", "followRedirects": true }}, "/n": {{ "target": "{0}", "pathRewrite": {{ "^/n": "/r" }} }} }}"#,
        b.url()
    ))
    .await;
    let r = get(&p.url("/r/start")).await;
    assert_eq!((r.status, r.text().as_str()), (200, "GET /r/end"));
    // Without the option the browser sees the redirect.
    let r = get(&p.url("/n/start")).await;
    assert_eq!(
        (r.status, r.header("location")),
        (302, Some("/r/middle?x=1"))
    );
    // A request with a body cannot be replayed: its redirect is passed on.
    let r = send(
        request("POST", &p.url("/r/start"))
            .body(body::full("data"))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 302);
}

/// A backend that sends one chunk, then waits `pause` before the second and last.
async fn stalling(pause: std::time::Duration) -> Backend {
    backend(move |_req: Request<Incoming>| async move {
        let chunks = futures_util::stream::unfold(0u8, move |n| async move {
            match n {
                0 => Some((
                    Ok::<_, std::convert::Infallible>(hyper::body::Frame::data(
                        bytes::Bytes::from_static(b"first "),
                    )),
                    1,
                )),
                1 => {
                    tokio::time::sleep(pause).await;
                    Some((
                        Ok(hyper::body::Frame::data(bytes::Bytes::from_static(
                            b"second",
                        ))),
                        2,
                    ))
                }
                _ => None,
            }
        });
        Response::new(body::boxed(http_body_util::StreamBody::new(chunks)))
    })
    .await
}

#[tokio::test]
async fn timeout_cuts_a_stalled_response_and_nothing_cuts_a_slow_one_by_default() {
    use http_body_util::BodyExt;
    let stalled = stalling(std::time::Duration::from_secs(30)).await;
    let slow = stalling(std::time::Duration::from_millis(2500)).await;
    let p = proxy(&format!(
        r#"{{ "/stalled": {{ "target": "{}", "timeout": 300 }}, "/slow": "{}" }}"#,
        stalled.url(),
        slow.url()
    ))
    .await;
    let res = client()
        .request(Request::get(p.url("/stalled")).body(body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        res.into_body().collect(),
    )
    .await;
    assert!(
        matches!(read, Ok(Err(_))),
        "the stalled body is cut, not left hanging"
    );
    // Without proxyTimeout, `timeout` also bounds the wait for the response headers.
    let (silent, _heads) = raw_backend(b"", true).await;
    let q = proxy(&format!(
        r#"{{ "/silent": {{ "target": "http://{silent}", "timeout": 300 }} }}"#
    ))
    .await;
    let r = get(&q.url("/silent")).await;
    assert_eq!(r.status, 504);
    assert!(
        r.text().contains("no response within timeout (300 ms)"),
        "{}",
        r.text()
    );
    // No default timeout: a response that pauses for seconds arrives whole.
    let r = get(&p.url("/slow")).await;
    assert_eq!((r.status, r.text().as_str()), (200, "first second"));
}

#[tokio::test]
async fn rewrite_ws_origin_applies_to_upgrade_handshakes_only() {
    let b = echo_backend().await; // answers the handshake with 200 and echoes what it saw
    let u = b.url();
    let p = proxy(&format!(
        r#"{{ "/ws": {{ "target": "{u}", "ws": true, "rewriteWsOrigin": true }}, "/both": {{ "target": "{u}", "ws": true, "rewriteOrigin": true }} }}"#
    ))
    .await;
    let handshake = |path: &str| {
        format!(
            "GET {path} HTTP/1.1\r\nHost: localhost:{0}\r\nOrigin: http://localhost:{0}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
            p.port()
        )
    };
    for path in ["/ws", "/both"] {
        let reply = raw(p.server.local_addr(), handshake(path).as_bytes()).await;
        assert!(reply.contains(&format!("origin: {u}\n")), "{path}: {reply}");
    }
    // A plain request on the ws-only rule keeps the browser's Origin.
    let r = send(
        request("POST", &p.url("/ws"))
            .header("origin", format!("http://localhost:{}", p.port()))
            .body(body::empty())
            .unwrap(),
    )
    .await;
    assert!(
        r.text()
            .contains(&format!("origin: http://localhost:{}\n", p.port())),
        "{}",
        r.text()
    );
}

#[tokio::test]
async fn object_targets_with_hostname_port_and_path() {
    let b = echo_backend().await;
    let p = proxy(&format!(
        r#"{{ "/obj": {{ "target": {{ "protocol": "http:", "hostname": "127.0.0.1", "port": {}, "path": "/base" }} }} }}"#,
        b.addr.port()
    ))
    .await;
    assert_eq!(
        get(&p.url("/obj/x")).await.text().lines().next(),
        Some("GET /base/obj/x")
    );
}

#[tokio::test]
async fn editing_dotenv_reloads_the_rules() {
    let (a, b) = (answering(200, &[]).await, answering(201, &[]).await);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(
        dir.join(".env"),
        format!("DEVPROXY_TEST_DOTENV_TARGET={}\n", a.url()),
    )
    .unwrap();
    let config = dir.join("proxy.conf.json");
    std::fs::write(&config, r#"{ "/api": "${DEVPROXY_TEST_DOTENV_TARGET}" }"#).unwrap();
    let p = proxy_with(None, |o| o.config = Some(config.clone())).await;
    assert_eq!(get(&p.url("/api")).await.status, 200);
    std::fs::write(
        dir.join(".env"),
        format!("DEVPROXY_TEST_DOTENV_TARGET={}\n", b.url()),
    )
    .unwrap();
    assert!(eventually(|| async { get(&p.url("/api")).await.status == 201 }).await);
}
