//! Hostile requests: traversal and disclosure, Host tricks, cross-site reads, smuggling,
//! forward-proxy abuse, bad WebSocket handshakes, and oversized or slow requests.

mod common;

use std::time::{Duration, Instant};

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// devproxy with a counting backend on `/api` and `**`-style catch-alls that must never be
/// reached by the requests below, plus secrets beside and inside the site.
async fn setup() -> (Proxy, Backend) {
    let b = echo_backend().await;
    let p = proxy(&format!(
        r#"{{ "/api": {{ "target": "{}", "ws": true }} }}"#,
        b.url()
    ))
    .await;
    std::fs::write(p.tmp.path().join("secret.txt"), "TOPSECRET").unwrap();
    std::fs::write(p.site.join(".env"), "DOTSECRET=1").unwrap();
    std::fs::create_dir_all(p.site.join(".git")).unwrap();
    std::fs::write(p.site.join(".git/config"), "[core] GITSECRET").unwrap();
    (p, b)
}

/// One request on its own connection, sent byte for byte as given.
async fn once(p: &Proxy, head: &str) -> String {
    raw(p.server.local_addr(), head.as_bytes()).await
}

fn status(reply: &str) -> u16 {
    reply
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn get_raw(target: &str, extra: &str) -> String {
    format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{extra}\r\n")
}

#[tokio::test]
async fn traversal_and_disclosure_never_leak_a_byte() {
    let (p, b) = setup().await;
    let targets = [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2e%2e%2fsecret.txt",
        "/%252e%252e/secret.txt",
        "/..%5csecret.txt",
        "/%5c..%5csecret.txt",
        "/%c0%ae%c0%ae/secret.txt",
        "//etc/passwd",
        "/assets/../../secret.txt",
        "/.env",
        "/.env%00",
        "/.env%00.js",
        "/.env#fragment",
        "/.ENV",
        "/.env?raw??",
        "/.env?import&raw",
        "/.git/config",
        "/%2egit/config",
        "/index.html/.",
        "/assets/.",
    ];
    for target in targets {
        for accept in ["", "Accept: text/html\r\n"] {
            let reply = once(&p, &get_raw(target, accept)).await;
            for secret in ["TOPSECRET", "DOTSECRET", "GITSECRET", "root:x:0"] {
                assert!(
                    !reply.contains(secret),
                    "{target} leaked {secret}:\n{reply}"
                );
            }
            if accept.is_empty() {
                assert!(matches!(status(&reply), 400 | 404), "{target}: {reply}");
            }
        }
    }
    assert_eq!(b.hits(), 0);
}

#[tokio::test]
async fn generated_pages_are_plain_text_that_cannot_be_sniffed() {
    let (p, _b) = setup().await;
    for head in [
        get_raw("/missing%3Cscript%3Ealert(1)%3C/script%3E", ""),
        "GET / HTTP/1.1\r\nHost: evil<b>.example\r\nConnection: close\r\n\r\n".to_string(),
        "GET / HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n".to_string(),
    ] {
        let reply = once(&p, &head).await.to_lowercase();
        assert!(matches!(status(&reply), 400 | 403 | 404), "{reply}");
        // hyper's own parse errors carry no body at all; everything devproxy writes is text.
        if !reply.contains("content-length: 0") {
            assert!(
                reply.contains("content-type: text/plain; charset=utf-8"),
                "{reply}"
            );
            assert!(reply.contains("x-content-type-options: nosniff"), "{reply}");
        }
    }
}

#[tokio::test]
async fn directory_redirects_stay_on_this_host() {
    let (p, _b) = setup().await;
    for (target, want) in [
        ("/assets", "/assets/"),
        ("//assets", "/assets/"),
        ("///assets", "/assets/"),
    ] {
        let reply = once(&p, &get_raw(target, "")).await.to_lowercase();
        let location = reply
            .lines()
            .find_map(|l| l.strip_prefix("location: "))
            .unwrap_or("")
            .trim()
            .to_string();
        assert_eq!(location, want, "{target}: {reply}");
    }
}

#[tokio::test]
async fn malformed_and_foreign_hosts_are_refused_and_the_connection_lives_on() {
    let (p, b) = setup().await;
    let mut s = TcpStream::connect(p.server.local_addr()).await.unwrap();
    // Pipelined: a malformed Host, then a good request on the same connection.
    s.write_all(b"GET /api/a HTTP/1.1\r\nHost: [::1\r\n\r\nGET /api/b HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut reply = String::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_string(&mut reply)).await;
    assert!(reply.starts_with("HTTP/1.1 400"), "{reply}");
    assert!(
        reply.contains("HTTP/1.1 200"),
        "the next request is served: {reply}"
    );
    assert_eq!(b.hits(), 1);
    for head in [
        "GET /api HTTP/1.1\r\nHost: attacker.example\r\nConnection: close\r\n\r\n",
        "GET /api HTTP/1.1\r\nHost: localhost\r\nHost: attacker.example\r\nConnection: close\r\n\r\n",
        "GET http://attacker.example/api HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        "GET /api HTTP/1.1\r\nHost: \r\nConnection: close\r\n\r\n",
    ] {
        let reply = once(&p, head).await;
        assert!(matches!(status(&reply), 400 | 403), "{head}: {reply}");
    }
    assert_eq!(b.hits(), 1);
}

#[tokio::test]
async fn cross_site_reads_of_the_apps_files_are_refused() {
    let (p, _b) = setup().await;
    let reply = once(
        &p,
        &get_raw("/assets/app.js", "Origin: http://evil.example\r\n"),
    )
    .await
    .to_lowercase();
    assert_eq!(status(&reply), 200);
    assert!(
        reply.contains("cross-origin-resource-policy: same-origin"),
        "{reply}"
    );
    assert!(!reply.contains("access-control-allow-origin"), "{reply}");
    let cross =
        "Sec-Fetch-Site: cross-site\r\nSec-Fetch-Mode: no-cors\r\nSec-Fetch-Dest: script\r\n";
    assert_eq!(
        status(&once(&p, &get_raw("/assets/app.js", cross)).await),
        403
    );
    assert_eq!(status(&once(&p, &get_raw("/api/data", cross)).await), 403);
    let same =
        "Sec-Fetch-Site: same-origin\r\nSec-Fetch-Mode: no-cors\r\nSec-Fetch-Dest: script\r\n";
    assert_eq!(
        status(&once(&p, &get_raw("/assets/app.js", same)).await),
        200
    );
    let navigation =
        "Sec-Fetch-Site: cross-site\r\nSec-Fetch-Mode: navigate\r\nSec-Fetch-Dest: document\r\n";
    assert_eq!(status(&once(&p, &get_raw("/", navigation)).await), 200);
}

#[tokio::test]
async fn smuggling_attempts_are_refused_before_the_backend() {
    let (p, b) = setup().await;
    let smuggled = "GET /api/smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n";
    let heads = [
        format!("POST /api HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\nContent-Length: 40\r\n\r\nabc{smuggled}"),
        format!("POST /api HTTP/1.1\r\nHost: localhost\r\nContent-Length: +3\r\n\r\nabc{smuggled}"),
        format!("POST /api HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n{smuggled}"),
        format!("POST /api HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n{smuggled}"),
        format!("POST /api HTTP/1.0\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{smuggled}"),
    ];
    for head in &heads {
        let reply = once(&p, head).await;
        assert!(
            reply.starts_with("HTTP/1.1 400") || reply.starts_with("HTTP/1.0 400"),
            "{head}\n→ {reply}"
        );
        assert!(!reply.contains("smuggled"), "{reply}");
    }
    assert_eq!(b.hits(), 0, "the backend never saw a request");
    // Both framings: read as chunked (RFC 9112 §6.1), the length dropped, the connection
    // closed after the answer, so the bytes after the body are never read as a request.
    let head = format!("POST /api HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{smuggled}");
    let reply = once(&p, &head).await.to_lowercase();
    assert!(reply.contains("connection: close"), "{reply}");
    assert!(!reply.contains("smuggled"), "{reply}");
    assert!(!reply.contains("content-length: 4\n"), "{reply}");
    assert_eq!(b.hits(), 1, "one request, never a second");
}

#[tokio::test]
async fn devproxy_is_no_forward_proxy() {
    let b = echo_backend().await;
    // A catch-all rule: still nothing below may reach the backend.
    let p = proxy(&format!(r#"{{ "**": "{}" }}"#, b.url())).await;
    let reply = once(
        &p,
        "CONNECT localhost:22 HTTP/1.1\r\nHost: localhost:22\r\n\r\n",
    )
    .await;
    assert_eq!(status(&reply), 405, "{reply}");
    let reply = once(
        &p,
        "OPTIONS * HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status(&reply), 204, "{reply}");
    assert!(reply.to_lowercase().contains("allow: get"), "{reply}");
    let reply = once(
        &p,
        "GET http://example.com/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status(&reply), 400, "{reply}");
    assert_eq!(b.hits(), 0);
}

#[tokio::test]
async fn websocket_handshakes_are_checked_and_h2c_is_not_an_upgrade() {
    let (p, b) = setup().await;
    let key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    for (method, headers) in [
        ("GET", "Sec-WebSocket-Version: 13\r\n".to_string()),
        ("GET", format!("{key}Sec-WebSocket-Version: 8\r\n")),
        (
            "POST",
            format!("{key}Sec-WebSocket-Version: 13\r\nContent-Length: 0\r\n"),
        ),
        (
            "GET",
            "Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n".to_string(),
        ),
    ] {
        let head = format!("{method} /api/ws HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n{headers}\r\n");
        let reply = once(&p, &head).await;
        assert_eq!(status(&reply), 400, "{head}\n→ {reply}");
    }
    assert_eq!(b.hits(), 0);
    let reply = once(
        &p,
        "GET /api/h2 HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n",
    )
    .await
    .to_lowercase();
    assert_eq!(status(&reply), 200, "{reply}");
    assert!(
        !reply.contains("upgrade: h2c") && !reply.contains("http2-settings"),
        "{reply}"
    );
    // A backend that answers a good handshake with 200 closes the browser's connection.
    let head = format!("GET /api/ws HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n{key}Sec-WebSocket-Version: 13\r\n\r\n");
    let mut s = TcpStream::connect(p.server.local_addr()).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    let mut reply = String::new();
    let read = tokio::time::timeout(Duration::from_secs(10), s.read_to_string(&mut reply)).await;
    assert!(read.is_ok(), "the server closes the connection: {reply}");
    let reply = reply.to_lowercase();
    assert_eq!(status(&reply), 200);
    assert!(reply.contains("connection: close"), "{reply}");
}

#[tokio::test]
async fn oversized_requests_get_431_and_414() {
    let (p, b) = setup().await;
    let big = format!(
        "GET /api HTTP/1.1\r\nHost: localhost\r\nX-Big: {}\r\nConnection: close\r\n\r\n",
        "a".repeat(100_000)
    );
    assert_eq!(status(&once(&p, &big).await), 431);
    let many: String = (0..10_000).map(|i| format!("X-{i}: 1\r\n")).collect();
    let many = format!("GET /api HTTP/1.1\r\nHost: localhost\r\n{many}Connection: close\r\n\r\n");
    assert_eq!(status(&once(&p, &many).await), 431);
    let long = format!(
        "GET /api/{} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        "a".repeat(70_000)
    );
    assert_eq!(status(&once(&p, &long).await), 414);
    assert_eq!(b.hits(), 0);
}

#[tokio::test]
async fn slow_header_floods_are_cut_while_others_are_served() {
    let b = echo_backend().await;
    let p = proxy_with(Some(&format!(r#"{{ "/api": "{}" }}"#, b.url())), |o| {
        o.limits.header_timeout = Duration::from_secs(1);
    })
    .await;
    let mut slow = Vec::new();
    for _ in 0..1000 {
        let mut s = TcpStream::connect(p.server.local_addr()).await.unwrap();
        s.write_all(b"GET /api HTTP/1.1\r\nHost: local")
            .await
            .unwrap();
        slow.push(s);
    }
    // Normal requests are served while a thousand connections dribble their headers.
    for _ in 0..20 {
        assert_eq!(get(&p.url("/api")).await.status, 200);
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut closed = 0;
    for s in &mut slow {
        let mut buf = [0u8; 512];
        match tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf)).await {
            Ok(Ok(_)) | Ok(Err(_)) => closed += 1, // 408/EOF/reset: the server gave up on it
            Err(_) => {}
        }
    }
    assert_eq!(
        closed, 1000,
        "every slow connection is closed at the header timeout"
    );
    assert_eq!(b.hits(), 20);
}

#[tokio::test]
async fn a_stalled_request_body_is_cut_at_the_idle_limit() {
    let b = echo_backend().await;
    let p = proxy_with(Some(&format!(r#"{{ "/api": "{}" }}"#, b.url())), |o| {
        o.limits.body_idle = Duration::from_millis(500);
    })
    .await;
    let mut s = TcpStream::connect(p.server.local_addr()).await.unwrap();
    s.write_all(b"POST /api HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\nonly ten b")
        .await
        .unwrap();
    let started = Instant::now();
    let mut reply = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut reply)).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "cut, not left hanging"
    );
    let reply = String::from_utf8_lossy(&reply);
    assert!(
        reply.is_empty() || reply.starts_with("HTTP/1.1 502"),
        "{reply}"
    );
}

#[tokio::test]
async fn cross_site_pages_cannot_launder_requests_through_rewrite_origin() {
    let b = echo_backend().await;
    let u = b.url();
    let p = proxy(&format!(
        r#"{{ "/api/socket": {{ "target": "{u}", "ws": true, "rewriteWsOrigin": true }},
             "/api": {{ "target": "{u}", "ws": true, "rewriteOrigin": true }},
             "/plain": "{u}" }}"#
    ))
    .await;
    let port = p.port();
    let post = |path: &str, extra: &str| {
        format!("POST {path} HTTP/1.1\r\nHost: localhost:{port}\r\nContent-Length: 0\r\nConnection: close\r\n{extra}\r\n")
    };
    let handshake = |path: &str, origin: &str| {
        format!(
            "GET {path} HTTP/1.1\r\nHost: localhost:{port}\r\nOrigin: {origin}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        )
    };
    // A form post from another site, and a handshake from another site: 403, never sent on.
    for (head, what) in [
        (
            post("/api/transfer", "Origin: https://evil.example\r\n"),
            "form post",
        ),
        (post("/api/transfer", "Origin: null\r\n"), "sandboxed page"),
        (
            post(
                "/api/transfer",
                &format!("Origin: http://localhost:{}\r\n", port + 1),
            ),
            "another local port",
        ),
        (
            post("/api/transfer", "Sec-Fetch-Site: cross-site\r\n"),
            "no Origin, cross-site",
        ),
        (
            handshake("/api/socket", "https://evil.example"),
            "WebSocket (rewriteWsOrigin)",
        ),
        (
            handshake("/api/other", "https://evil.example"),
            "WebSocket (rewriteOrigin)",
        ),
    ] {
        let reply = once(&p, &head).await;
        assert_eq!(status(&reply), 403, "{what}: {reply}");
        assert!(
            reply.contains("only serves the app's own pages"),
            "{what}: {reply}"
        );
    }
    assert_eq!(b.hits(), 0, "no cross-site request reached the backend");
    // The app's own pages (and clients that are no browser page) are rewritten as before.
    for extra in [
        format!("Origin: http://localhost:{port}\r\n"),
        "Sec-Fetch-Site: same-origin\r\n".to_string(),
        String::new(),
    ] {
        let reply = once(&p, &post("/api/transfer", &extra)).await;
        assert_eq!(status(&reply), 200, "{extra}: {reply}");
    }
    let reply = once(
        &p,
        &handshake("/api/socket", &format!("http://localhost:{port}")),
    )
    .await;
    assert!(reply.contains(&format!("origin: {u}\n")), "{reply}");
    // Without the option, a cross-site post reaches the backend with its real Origin.
    let reply = once(&p, &post("/plain", "Origin: https://evil.example\r\n")).await;
    assert_eq!(status(&reply), 200, "{reply}");
    assert!(reply.contains("origin: https://evil.example\n"), "{reply}");
}
