//! Upstream connections through a corporate proxy (HTTP_PROXY, HTTPS_PROXY, NO_PROXY), against
//! a small forward proxy on loopback. The backends are named `backend.test`, a name only the
//! proxy can reach (it sends every name to 127.0.0.1), so an answer proves the route.

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use devproxy::ProxySettings;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;

/// A forward proxy: CONNECT tunnels and absolute-form requests, to 127.0.0.1 on the port
/// asked for. Records each request head it gets.
async fn forward_proxy() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                let end = loop {
                    match client.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                    if let Some(i) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                };
                let text = String::from_utf8_lossy(&head[..end]).to_string();
                log.lock().unwrap().push(text.clone());
                let first = text.lines().next().unwrap_or("").to_string();
                let mut parts = first.split(' ');
                let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
                let authority = if method == "CONNECT" {
                    target.to_string()
                } else {
                    target
                        .trim_start_matches("http://")
                        .split('/')
                        .next()
                        .unwrap_or("")
                        .to_string()
                };
                let port = authority.rsplit(':').next().unwrap_or("80");
                let Ok(mut upstream) = TcpStream::connect(format!("127.0.0.1:{port}")).await else {
                    let _ = client
                        .write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
                        .await;
                    return;
                };
                if method == "CONNECT" {
                    let _ = client
                        .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                        .await;
                    let _ = upstream.write_all(&head[end..]).await;
                } else {
                    // Origin-form for the backend; the rest of the head as it came.
                    let path = target
                        .trim_start_matches("http://")
                        .trim_start_matches(&authority);
                    let rewritten =
                        text.replacen(target, if path.is_empty() { "/" } else { path }, 1);
                    let _ = upstream.write_all(rewritten.as_bytes()).await;
                    let _ = upstream.write_all(&head[end..]).await;
                }
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    (url, seen)
}

fn heads(seen: &Arc<Mutex<Vec<String>>>) -> Vec<String> {
    seen.lock()
        .unwrap()
        .iter()
        .map(|h| h.to_lowercase())
        .collect()
}

#[tokio::test]
async fn http_targets_go_through_http_proxy_with_credentials() {
    let b = echo_backend().await;
    let (proxy_url, seen) = forward_proxy().await;
    let port = b.addr.port();
    let with_auth = proxy_url.replace("http://", "http://user:pw@");
    let p = proxy_with(
        Some(&format!(r#"{{ "/api": "http://backend.test:{port}" }}"#)),
        |o| {
            o.proxies = ProxySettings {
                http: Some(with_auth),
                https: None,
                no_proxy: String::new(),
            };
        },
    )
    .await;
    let r = get(&p.url("/api/x?y=1")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().starts_with("GET /api/x?y=1\n"), "{}", r.text());
    assert!(
        r.text().contains(&format!("host: backend.test:{port}")),
        "{}",
        r.text()
    );
    let heads = heads(&seen);
    assert!(
        heads[0].starts_with(&format!(
            "get http://backend.test:{port}/api/x?y=1 http/1.1"
        )),
        "{heads:?}"
    );
    assert!(
        heads[0].contains("proxy-authorization: basic dxnlcjpwdw=="),
        "{heads:?}"
    );
}

#[tokio::test]
async fn https_targets_and_websockets_go_through_connect_tunnels() {
    let (proxy_url, seen) = forward_proxy().await;
    let (ws_addr, _paths) = ws_echo().await;
    let tls_port = https_backend("backend.test").await;
    let p = proxy_with(
        Some(&format!(
            r#"{{
                "/socket": "ws://backend.test:{}",
                "/secure": {{ "target": "https://backend.test:{tls_port}", "secure": false }}
            }}"#,
            ws_addr.port()
        )),
        |o| {
            o.proxies = ProxySettings {
                http: Some(proxy_url.clone()),
                https: Some(proxy_url.replace("http://", "http://user:pw@")),
                no_proxy: String::new(),
            };
        },
    )
    .await;
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{}/socket", p.port()))
            .await
            .expect("WebSocket through the proxy");
    ws.send(Message::text("hi")).await.unwrap();
    assert_eq!(ws.next().await.unwrap().unwrap(), Message::text("hi"));
    let r = get(&p.url("/secure/x")).await;
    assert_eq!((r.status, r.text().as_str()), (200, "secure /secure/x"));
    let heads = heads(&seen);
    assert!(
        heads[0].starts_with(&format!("connect backend.test:{} http/1.1", ws_addr.port())),
        "{heads:?}"
    );
    assert!(
        heads[1].starts_with(&format!("connect backend.test:{tls_port} http/1.1")),
        "{heads:?}"
    );
    // The tunnel through HTTPS_PROXY carries its credentials; HTTP_PROXY has none.
    assert!(
        heads[1].contains("proxy-authorization: basic dxnlcjpwdw=="),
        "{heads:?}"
    );
    assert!(!heads[0].contains("proxy-authorization"), "{heads:?}");
}

#[tokio::test]
async fn loopback_no_proxy_and_opted_out_rules_go_direct() {
    let b = echo_backend().await;
    let (proxy_url, seen) = forward_proxy().await;
    let port = b.addr.port();
    let p = proxy_with(
        Some(&format!(
            r#"{{
                "/local": "http://127.0.0.1:{port}",
                "/named": "http://localhost:{port}",
                "/excluded": "http://backend.test:{port}",
                "/optout": {{ "target": "http://other.test:{port}", "envProxy": false }}
            }}"#
        )),
        |o| {
            o.proxies = ProxySettings {
                http: Some(proxy_url.clone()),
                https: Some(proxy_url.clone()),
                no_proxy: ".backend.test".into(),
            };
        },
    )
    .await;
    assert_eq!(get(&p.url("/local")).await.status, 200);
    assert_eq!(get(&p.url("/named")).await.status, 200);
    // Neither name resolves without the proxy: a 502 that says so proves it went direct.
    for path in ["/excluded", "/optout"] {
        let r = get(&p.url(path)).await;
        assert_eq!(r.status, 502, "{path}");
        assert!(
            r.text().contains("could not resolve the host name"),
            "{}",
            r.text()
        );
    }
    assert!(
        heads(&seen).is_empty(),
        "nothing went through the proxy: {:?}",
        heads(&seen)
    );
}

#[tokio::test]
async fn a_refusing_proxy_is_named_in_the_502() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let p = proxy_with(Some(r#"{ "/api": "https://backend.test" }"#), |o| {
        o.proxies = ProxySettings {
            http: None,
            https: Some(format!("http://127.0.0.1:{closed}")),
            no_proxy: String::new(),
        };
    })
    .await;
    let r = get(&p.url("/api")).await;
    assert_eq!(r.status, 502);
    assert!(
        r.text().contains(&format!(
            "(connecting through the proxy http://127.0.0.1:{closed}/)"
        )),
        "{}",
        r.text()
    );
}
