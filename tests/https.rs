//! `--https` on real sockets: HTTP/1.1 and HTTP/2 (ALPN) clients, a WebSocket and an event
//! stream through TLS, plain http on the https port redirected, the certificate from files or
//! from devproxy's own CA (trusted by a client that trusts that CA, for localhost), and bad
//! certificate files named in the error.

mod common;

use std::sync::Arc;

use common::bin::{devproxy, serve_env, text};
use common::*;
use futures_util::{SinkExt, StreamExt};
use http::{Request, Response};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// A CA and a certificate it signed for localhost and the loopback addresses, as PEM files.
struct Certs {
    dir: tempfile::TempDir,
    ca: CertificateDer<'static>,
}

impl Certs {
    fn new() -> Certs {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = ca.self_signed(&ca_key).unwrap();
        let key = KeyPair::generate().unwrap();
        let names = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
        let leaf = CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &ca, &ca_key)
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cert.pem"), leaf.pem()).unwrap();
        std::fs::write(dir.path().join("key.pem"), key.serialize_pem()).unwrap();
        Certs {
            dir,
            ca: ca.der().clone(),
        }
    }

    fn https(&self) -> devproxy::Https {
        devproxy::Https::Files {
            cert: self.dir.path().join("cert.pem"),
            key: self.dir.path().join("key.pem"),
        }
    }
}

/// A TLS connection to 127.0.0.1:`port` for `name`, trusting `ca`, offering `alpn`.
async fn tls(
    port: u16,
    name: &str,
    ca: &CertificateDer<'static>,
    alpn: &[&[u8]],
) -> std::io::Result<TlsStream<TcpStream>> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.clone()).unwrap();
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(("127.0.0.1", port)).await?;
    let name = ServerName::try_from(name.to_string()).unwrap();
    connector.connect(name, tcp).await
}

/// Sends `req` over HTTP/1.1 or HTTP/2 on `stream`: (version, status, headers, body).
async fn exchange(
    stream: TlsStream<TcpStream>,
    h2: bool,
    req: Request<body::Body>,
) -> (http::Version, u16, http::HeaderMap, String) {
    let res = if h2 {
        let (mut send, conn) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(conn);
        send.send_request(req).await.unwrap()
    } else {
        let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(conn);
        send.send_request(req).await.unwrap()
    };
    let (parts, body) = res.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    (
        parts.version,
        parts.status.as_u16(),
        parts.headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

fn get(uri: &str, h2: bool) -> Request<body::Body> {
    let mut b = Request::get(uri);
    if !h2 {
        b = b.header("host", uri.split('/').nth(2).unwrap());
    }
    b.body(body::empty()).unwrap()
}

#[tokio::test]
async fn http1_and_http2_clients_get_files_and_proxied_answers_over_tls() {
    let certs = Certs::new();
    let b = echo_backend().await;
    let config = format!(
        r#"{{ "/api": {{ "target": "{}", "xfwd": true }} }}"#,
        b.url()
    );
    let p = proxy_with(Some(&config), |o| o.https = Some(certs.https())).await;
    let port = p.port();
    let origin = format!("https://localhost:{port}");

    let s = tls(port, "localhost", &certs.ca, &[b"http/1.1"])
        .await
        .unwrap();
    let (version, status, _, body) =
        exchange(s, false, get(&format!("{origin}/api/x"), false)).await;
    assert_eq!((version, status), (http::Version::HTTP_11, 200));
    assert!(body.contains("x-forwarded-proto: https"), "{body}");

    let s = tls(port, "localhost", &certs.ca, &[b"h2", b"http/1.1"])
        .await
        .unwrap();
    assert_eq!(s.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (version, status, _, body) =
        exchange(s, true, get(&format!("{origin}/assets/app.js"), true)).await;
    assert_eq!((version, status), (http::Version::HTTP_2, 200));
    assert!(body.starts_with("console.log('app');"));
    let s = tls(port, "localhost", &certs.ca, &[b"h2"]).await.unwrap();
    let (version, status, _, body) = exchange(s, true, get(&format!("{origin}/api/y"), true)).await;
    assert_eq!((version, status), (http::Version::HTTP_2, 200));
    assert!(body.starts_with("GET /api/y"), "{body}");

    // The same certificate answers for 127.0.0.1.
    let s = tls(port, "127.0.0.1", &certs.ca, &[b"h2"]).await.unwrap();
    let (_, status, _, _) =
        exchange(s, true, get(&format!("https://127.0.0.1:{port}/"), true)).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn plain_http_on_the_https_port_is_redirected_to_https() {
    let certs = Certs::new();
    let p = proxy_with(None, |o| o.https = Some(certs.https())).await;
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], p.port()));
    let head = raw(
        addr,
        format!(
            "GET /orders?id=1 HTTP/1.1\r\nHost: localhost:{}\r\n\r\n",
            p.port()
        )
        .as_bytes(),
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 308"), "{head}");
    assert!(
        head.to_ascii_lowercase().contains(&format!(
            "location: https://localhost:{}/orders?id=1",
            p.port()
        )),
        "{head}"
    );
    assert!(head.contains("This port speaks HTTPS"), "{head}");
    // The Host check still comes first: a foreign name gets no redirect to itself.
    let head = raw(addr, b"GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n").await;
    assert!(head.starts_with("HTTP/1.1 403"), "{head}");
}

#[tokio::test]
async fn websockets_and_event_streams_pass_through_tls() {
    let certs = Certs::new();
    let (ws, _) = ws_echo().await;
    let events = backend(|_req: Request<Incoming>| async move {
        let (tx, rx) = tokio::sync::mpsc::channel::<
            Result<hyper::body::Frame<bytes::Bytes>, std::convert::Infallible>,
        >(4);
        tokio::spawn(async move {
            let _ = tx
                .send(Ok(hyper::body::Frame::data(bytes::Bytes::from(
                    "data: one\n\n",
                ))))
                .await;
            // The stream stays open: the first event must arrive without the end.
            tokio::time::sleep(std::time::Duration::from_secs(30)).await;
        });
        let stream = http_body_util::StreamBody::new(tokio_stream_from(rx));
        Response::builder()
            .header("content-type", "text/event-stream")
            .body(body::boxed(stream))
            .unwrap()
    })
    .await;
    let config = format!(
        r#"{{ "/socket": {{ "target": "ws://{ws}", "ws": true }}, "/events": {{ "target": "{}" }} }}"#,
        events.url()
    );
    let p = proxy_with(Some(&config), |o| o.https = Some(certs.https())).await;
    let port = p.port();

    let s = tls(port, "localhost", &certs.ca, &[b"http/1.1"])
        .await
        .unwrap();
    let (mut socket, res) =
        tokio_tungstenite::client_async(format!("wss://localhost:{port}/socket"), s)
            .await
            .unwrap();
    assert_eq!(res.status(), 101);
    socket.send("over tls".into()).await.unwrap();
    let echoed = socket.next().await.unwrap().unwrap();
    assert_eq!(echoed.into_text().unwrap().as_str(), "over tls");

    let s = tls(port, "localhost", &certs.ca, &[b"h2"]).await.unwrap();
    let (mut send, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(s))
            .await
            .unwrap();
    tokio::spawn(conn);
    let res = send
        .send_request(get(&format!("https://localhost:{port}/events"), true))
        .await
        .unwrap();
    let mut body = res.into_body();
    let frame = tokio::time::timeout(std::time::Duration::from_secs(10), body.frame())
        .await
        .expect("the first event arrives while the stream is open")
        .unwrap()
        .unwrap();
    assert_eq!(frame.into_data().unwrap(), "data: one\n\n");
}

/// An mpsc receiver as a stream of body frames.
fn tokio_stream_from<T: Send + 'static>(
    mut rx: tokio::sync::mpsc::Receiver<T>,
) -> impl futures_util::Stream<Item = T> + Send {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

#[tokio::test]
async fn the_binary_makes_its_own_ca_once_and_a_client_that_trusts_it_connects() {
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("index.html"), "<!doctype html>HOME").unwrap();
    let cache = tempfile::tempdir().unwrap();
    let envs = [
        ("DEVPROXY_CACHE_DIR", cache.path().to_str().unwrap()),
        // No mkcert on this PATH: devproxy's own CA is used.
        ("PATH", ""),
    ];
    let args = ["--https", "-p", "0", "--no-live-reload"];
    let s = serve_env(site.path(), &args, &envs);
    let banner = s.banner.join("\n");
    assert!(banner.contains("Local:   https://localhost:"), "{banner}");
    assert!(banner.contains("devproxy's local CA"), "{banner}");
    assert!(
        banner.contains("browsers warn until you trust devproxy's CA once"),
        "{banner}"
    );
    let ca_file = cache.path().join("ca.pem");
    let pem = std::fs::read(&ca_file).unwrap();
    let ca = CertificateDer::pem_slice_iter(&pem)
        .next()
        .unwrap()
        .unwrap();
    let port = s.port();
    let stream = tls(port, "localhost", &ca, &[b"h2"]).await.unwrap();
    let (version, status, _, body) = exchange(
        stream,
        true,
        get(&format!("https://localhost:{port}/"), true),
    )
    .await;
    assert_eq!((version, status), (http::Version::HTTP_2, 200));
    assert!(body.contains("HOME"));
    drop(s);

    // A second start keeps the CA the browser was told to trust.
    let s = serve_env(site.path(), &args, &envs);
    assert_eq!(std::fs::read(&ca_file).unwrap(), pem);
    let port = s.port();
    assert!(tls(port, "localhost", &ca, &[b"http/1.1"]).await.is_ok());
}

#[test]
fn unusable_certificate_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), "x").unwrap();
    std::fs::write(dir.path().join("cert.pem"), "not a certificate").unwrap();
    let out = devproxy(
        dir.path(),
        &[
            "serve", "-p", "0", "--cert", "cert.pem", "--key", "cert.pem",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("--cert cert.pem: no certificate in it"),
        "{err}"
    );
    let out = devproxy(dir.path(), &["serve", "-p", "0", "--cert", "cert.pem"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("--cert needs --key FILE"));
    let out = devproxy(
        dir.path(),
        &[
            "serve",
            "-p",
            "0",
            "--cert",
            "missing.pem",
            "--key",
            "missing.pem",
        ],
    );
    assert!(
        text(&out.stderr).contains("--cert missing.pem: cannot read"),
        "{}",
        text(&out.stderr)
    );
}

/// With mkcert on PATH, its certificate is used (made once, then kept), and the banner says
/// to run `mkcert -install` while its CA is not installed. The stand-in `mkcert` hands out a
/// certificate the test made, and notes how it was called.
#[cfg(unix)]
#[tokio::test]
async fn mkcert_is_preferred_when_installed() {
    use std::os::unix::fs::PermissionsExt as _;
    let certs = Certs::new();
    let bin = tempfile::tempdir().unwrap();
    let log = bin.path().join("calls");
    let script = format!(
        "#!/bin/sh\nif [ \"$1\" = -CAROOT ]; then echo {caroot}; exit 0; fi\necho \"$@\" >> {log}\ncp {cert} \"$2\"\ncp {key} \"$4\"\n",
        caroot = bin.path().join("caroot").display(),
        log = log.display(),
        cert = certs.dir.path().join("cert.pem").display(),
        key = certs.dir.path().join("key.pem").display(),
    );
    let mkcert = bin.path().join("mkcert");
    std::fs::write(&mkcert, script).unwrap();
    std::fs::set_permissions(&mkcert, std::fs::Permissions::from_mode(0o755)).unwrap();
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("index.html"), "<!doctype html>HOME").unwrap();
    let cache = tempfile::tempdir().unwrap();
    let path = format!("{}:/usr/bin:/bin", bin.path().display());
    let envs = [
        ("DEVPROXY_CACHE_DIR", cache.path().to_str().unwrap()),
        ("PATH", path.as_str()),
    ];
    let args = ["--https", "-p", "0", "--no-live-reload"];
    for _ in 0..2 {
        let s = serve_env(site.path(), &args, &envs);
        let banner = s.banner.join("\n");
        assert!(
            banner.contains("certificate from mkcert's local CA"),
            "{banner}"
        );
        assert!(banner.contains("run mkcert -install once"), "{banner}");
        let stream = tls(s.port(), "localhost", &certs.ca, &[b"h2"])
            .await
            .unwrap();
        let (_, status, _, body) = exchange(stream, true, get("https://localhost/", true)).await;
        assert_eq!((status, body.contains("HOME")), (200, true));
    }
    let calls = std::fs::read_to_string(&log).unwrap();
    assert_eq!(calls.lines().count(), 1, "made once, then kept: {calls}");
    assert!(
        calls.trim_end().ends_with("localhost 127.0.0.1 ::1"),
        "{calls}"
    );
    assert!(
        !cache.path().join("ca.pem").exists(),
        "devproxy's own CA is not made"
    );
}
