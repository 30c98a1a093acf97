//! Keep-alive connections between requests: devproxy lets go of hyper's buffers while a
//! connection is idle and takes it up again on the next byte. Nothing a browser sends may be
//! lost or misread across that: requests split by pauses, pipelined requests, slow uploads,
//! a body the app never read, and a WebSocket opened on a reused connection.

mod common;

use std::time::Duration;

use common::*;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{protocol::Role, Message};

/// Long enough for every connection to have gone idle in between.
const PAUSE: Duration = Duration::from_millis(150);

/// Reads one response with a `Content-Length`: its head (lower-cased) and body.
async fn response(s: &mut TcpStream) -> (String, String) {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut byte))
            .await
            .expect("a response within 5 s")
            .expect("read");
        assert_eq!(n, 1, "closed after {:?}", String::from_utf8_lossy(&head));
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .unwrap_or_else(|| panic!("no content-length in {head}"))
        .trim()
        .parse()
        .expect("a number");
    let mut body = vec![0u8; length];
    s.read_exact(&mut body).await.expect("the body");
    (head, String::from_utf8_lossy(&body).into_owned())
}

async fn send_in_pieces(s: &mut TcpStream, pieces: &[&[u8]]) {
    for piece in pieces {
        s.write_all(piece).await.expect("write");
        tokio::time::sleep(PAUSE).await;
    }
}

/// devproxy with `/api` forwarded to an echo backend, one connection to it, and its Host line.
async fn api_connection() -> (Backend, Proxy, TcpStream, String) {
    let b = echo_backend().await;
    let p = proxy(&format!(r#"{{ "/api": "{}" }}"#, b.url())).await;
    let s = TcpStream::connect(("127.0.0.1", p.port())).await.unwrap();
    let host = format!("Host: 127.0.0.1:{}\r\n", p.port());
    (b, p, s, host)
}

#[tokio::test]
async fn requests_split_by_pauses_and_pipelined_are_all_answered_in_order() {
    let (b, _p, mut s, host) = api_connection().await;

    // One whole request, then idle.
    let first = format!("GET /api/one HTTP/1.1\r\n{host}\r\n");
    s.write_all(first.as_bytes()).await.unwrap();
    let (head, body) = response(&mut s).await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(body.starts_with("GET /api/one\n"), "{body}");
    tokio::time::sleep(PAUSE).await;

    // A head in three pieces, with the connection idle before each.
    let second = format!("GET /api/two HTTP/1.1\r\n{host}\r\n");
    let (a, rest) = second.as_bytes().split_at(7);
    let (b2, c) = rest.split_at(12);
    send_in_pieces(&mut s, &[a, b2, c]).await;
    let (_, body) = response(&mut s).await;
    assert!(body.starts_with("GET /api/two\n"), "{body}");

    // Two requests at once and half of a third: the half waits for the rest.
    let third = format!(
        "GET /assets/app.js HTTP/1.1\r\n{host}\r\nGET /api/four HTTP/1.1\r\n{host}\r\nGET /api/fi"
    );
    let rest = format!("ve HTTP/1.1\r\n{host}\r\n");
    send_in_pieces(&mut s, &[third.as_bytes(), rest.as_bytes()]).await;
    let (_, body) = response(&mut s).await;
    assert!(body.starts_with("console.log('app');"), "{body}");
    let (_, body) = response(&mut s).await;
    assert!(body.starts_with("GET /api/four\n"), "{body}");
    let (_, body) = response(&mut s).await;
    assert!(body.starts_with("GET /api/five\n"), "{body}");
    assert_eq!(b.hits(), 4);
}

#[tokio::test]
async fn a_slow_upload_on_a_reused_connection_arrives_whole() {
    let (b, _p, mut s, host) = api_connection().await;
    s.write_all(format!("GET /api/first HTTP/1.1\r\n{host}\r\n").as_bytes())
        .await
        .unwrap();
    response(&mut s).await;
    tokio::time::sleep(PAUSE).await;

    // Content-Length, sent in pauses longer than the connection takes to go idle.
    let head = format!("POST /api/up HTTP/1.1\r\n{host}Content-Length: 30\r\n\r\n");
    let parts: [&[u8]; 4] = [head.as_bytes(), b"0123456789", b"abcdefghij", b"KLMNOPQRST"];
    send_in_pieces(&mut s, &parts).await;
    let (_, body) = response(&mut s).await;
    assert!(body.starts_with("POST /api/up\n"), "{body}");
    assert!(body.ends_with("\n0123456789abcdefghijKLMNOPQRST"), "{body}");

    // Chunked, the same way.
    let head = format!("POST /api/chunked HTTP/1.1\r\n{host}Transfer-Encoding: chunked\r\n\r\n");
    let parts: [&[u8]; 4] = [
        head.as_bytes(),
        b"5\r\nhello\r\n",
        b"6\r\n world\r\n",
        b"0\r\n\r\n",
    ];
    send_in_pieces(&mut s, &parts).await;
    let (_, body) = response(&mut s).await;
    assert!(body.ends_with("\nhello world"), "{body}");

    // And the connection is still good for the next request.
    s.write_all(format!("GET /api/last HTTP/1.1\r\n{host}\r\n").as_bytes())
        .await
        .unwrap();
    let (_, body) = response(&mut s).await;
    assert!(body.starts_with("GET /api/last\n"), "{body}");
    assert_eq!(b.hits(), 4);
}

#[tokio::test]
async fn a_body_the_app_never_reads_is_never_read_as_a_request() {
    let p = proxy("{}").await;
    let mut s = TcpStream::connect(("127.0.0.1", p.port())).await.unwrap();
    let host = format!("Host: 127.0.0.1:{}\r\n", p.port());
    // The body, once it all arrives, looks like a request for a file.
    let smuggled = format!("GET /assets/app.js HTTP/1.1\r\n{host}\r\n");
    let head = format!(
        "POST /nothing-here HTTP/1.1\r\n{host}Content-Length: {}\r\n\r\n",
        smuggled.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let (answer, _) = response(&mut s).await;
    assert!(answer.starts_with("http/1.1 404"), "{answer}");
    tokio::time::sleep(PAUSE).await;
    let _ = s.write_all(smuggled.as_bytes()).await;
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), s.read_to_end(&mut rest)).await;
    let rest = String::from_utf8_lossy(&rest);
    assert!(
        !rest.contains("console.log"),
        "the body was served as a request: {rest}"
    );
}

#[tokio::test]
async fn a_websocket_opens_on_a_connection_that_served_requests_before() {
    let (ws, _) = ws_echo().await;
    let p = proxy(&format!(
        r#"{{ "/socket": {{ "target": "ws://{ws}", "ws": true }} }}"#
    ))
    .await;
    let mut s = TcpStream::connect(("127.0.0.1", p.port())).await.unwrap();
    let host = format!("Host: 127.0.0.1:{}\r\n", p.port());
    s.write_all(format!("GET /index.html HTTP/1.1\r\n{host}\r\n").as_bytes())
        .await
        .unwrap();
    let (_, body) = response(&mut s).await;
    assert!(body.contains("INDEX"), "{body}");
    tokio::time::sleep(PAUSE).await;

    let upgrade = format!(
        "GET /socket HTTP/1.1\r\n{host}Upgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    s.write_all(upgrade.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        assert_eq!(
            s.read(&mut byte).await.unwrap(),
            1,
            "closed during the handshake"
        );
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    let mut socket =
        tokio_tungstenite::WebSocketStream::from_raw_socket(s, Role::Client, None).await;
    socket
        .send(Message::text("over a reused connection"))
        .await
        .unwrap();
    tokio::time::sleep(PAUSE).await;
    socket
        .send(Message::text("and after a pause"))
        .await
        .unwrap();
    for expected in ["over a reused connection", "and after a pause"] {
        let got = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("an echo within 5 s")
            .expect("a message")
            .expect("not an error");
        assert_eq!(got.into_text().unwrap().as_str(), expected);
    }
}

#[tokio::test]
async fn a_busy_connection_that_pauses_is_answered_after_the_pause() {
    let (b, _p, mut s, host) = api_connection().await;
    // Requests back to back: the connection counts as busy and lingers between them.
    for i in 0..20 {
        s.write_all(format!("GET /api/burst/{i} HTTP/1.1\r\n{host}\r\n").as_bytes())
            .await
            .unwrap();
        let (_, body) = response(&mut s).await;
        assert!(body.starts_with(&format!("GET /api/burst/{i}\n")), "{body}");
    }
    // Longer than the linger: the session ends while the browser is silent.
    tokio::time::sleep(PAUSE * 2).await;
    let late = format!("POST /api/late HTTP/1.1\r\n{host}Content-Length: 4\r\n\r\n");
    send_in_pieces(&mut s, &[late.as_bytes(), b"ab", b"cd"]).await;
    let (_, body) = response(&mut s).await;
    assert!(body.starts_with("POST /api/late\n"), "{body}");
    assert!(body.ends_with("\nabcd"), "{body}");
    assert_eq!(b.hits(), 21);
}

#[tokio::test]
async fn a_request_head_sent_a_byte_at_a_time_still_meets_the_header_timeout() {
    let p = proxy_with(None, |o| {
        o.limits.header_timeout = Duration::from_millis(300);
    })
    .await;
    let mut s = TcpStream::connect(("127.0.0.1", p.port())).await.unwrap();
    s.write_all(b"GET /index").await.unwrap();
    // One byte every 100 ms, each arriving before any single wait would time out.
    let started = std::time::Instant::now();
    let mut closed = false;
    for byte in b".html?a-very-long-query-string-sent-slowly-to-hold-the-connection"
        .iter()
        .cycle()
    {
        if started.elapsed() > Duration::from_secs(5) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        if s.write_all(&[*byte]).await.is_err() {
            closed = true;
            break;
        }
        let mut buf = [0u8; 512];
        if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(1), s.read(&mut buf)).await {
            // 0: closed; anything else: the timeout's answer (408) before closing.
            closed = n == 0 || String::from_utf8_lossy(&buf[..n]).contains(" 408 ");
            if closed {
                break;
            }
        }
    }
    assert!(closed, "a head dribbled in for 5 s was still being read");
}
