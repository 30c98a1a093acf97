//! HTTP/2 with prior knowledge (what `curl --http2-prior-knowledge` and gRPC tools send):
//! files and proxied requests are answered over one connection, and the Host check reads
//! `:authority`.

mod common;

use common::*;
use http::{Request, Version};
use http_body_util::BodyExt;
use hyper_util::rt::{TokioExecutor, TokioIo};

/// Sends `req` on one HTTP/2 connection to devproxy; the status and body as text.
async fn h2(p: &Proxy, req: Request<Body>) -> (u16, String) {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", p.port()))
        .await
        .unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let res = sender.send_request(req).await.unwrap();
    assert_eq!(res.version(), Version::HTTP_2);
    let status = res.status().as_u16();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn http2_prior_knowledge_serves_files_and_rules() {
    let b = echo_backend().await;
    let p = proxy(&format!(r#"{{ "/api": "{}" }}"#, b.url())).await;
    let get = |url: String| {
        Request::get(url)
            .version(Version::HTTP_2)
            .body(body::empty())
            .unwrap()
    };
    let (status, text) = h2(&p, get(p.url("/assets/app.js"))).await;
    assert_eq!(status, 200);
    assert!(text.starts_with("console.log('app');"), "{text}");
    let (status, text) = h2(&p, get(p.url("/api/users?x=1"))).await;
    assert_eq!(status, 200);
    assert!(text.starts_with("GET /api/users?x=1\n"), "{text}");
    assert_eq!(b.hits(), 1);
    let other = format!("http://evil.example:{}/assets/app.js", p.port());
    let (status, text) = h2(&p, get(other)).await;
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("DNS-rebinding protection"), "{text}");
}
