//! Shared test parts: devproxy started in-process on 127.0.0.1:0, real backends, a client.
#![allow(dead_code)]

pub mod bin;
pub mod browser;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, Response};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub use body::Body;

/// Bodies for test backends and clients: one boxed type, as devproxy uses.
pub mod body {
    use bytes::Bytes;
    use http_body_util::{combinators::UnsyncBoxBody, BodyExt, Empty, Full};

    pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
    pub type Body = UnsyncBoxBody<Bytes, BoxError>;

    pub fn boxed<B>(body: B) -> Body
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        body.map_err(Into::into).boxed_unsync()
    }

    pub fn empty() -> Body {
        Empty::new().map_err(|never| match never {}).boxed_unsync()
    }

    pub fn full(bytes: impl Into<Bytes>) -> Body {
        Full::new(bytes.into())
            .map_err(|never| match never {})
            .boxed_unsync()
    }
}

/// devproxy running in this process, with its site and config in a temporary folder.
pub struct Proxy {
    pub server: devproxy::Server,
    pub tmp: tempfile::TempDir,
    pub site: PathBuf,
    pub config: PathBuf,
    pub base: String,
}

impl Proxy {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn port(&self) -> u16 {
        self.server.local_addr().port()
    }
}

/// Starts devproxy with `config` as its proxy.conf.json (watched) and a small site.
pub async fn proxy(config: &str) -> Proxy {
    proxy_with(Some(config), |_| {}).await
}

pub async fn proxy_with(
    config: Option<&str>,
    adjust: impl FnOnce(&mut devproxy::Options),
) -> Proxy {
    let tmp = tempfile::tempdir().expect("temp dir");
    let site = tmp.path().join("site");
    std::fs::create_dir_all(site.join("assets")).expect("site dir");
    std::fs::write(
        site.join("index.html"),
        "<!doctype html><title>app</title>INDEX",
    )
    .expect("index");
    std::fs::write(
        site.join("assets/app.js"),
        "console.log('app');\n".repeat(20),
    )
    .expect("js");
    let config_path = tmp.path().join("proxy.conf.json");
    if let Some(text) = config {
        std::fs::write(&config_path, text).expect("config");
    }
    let mut options = devproxy::Options {
        dir: site.clone(),
        config: config.map(|_| config_path.clone()),
        port: 0,
        ..devproxy::Options::default()
    };
    adjust(&mut options);
    let server = devproxy::start(options).await.expect("devproxy starts");
    let base = format!("http://127.0.0.1:{}", server.local_addr().port());
    Proxy {
        server,
        tmp,
        site,
        config: config_path,
        base,
    }
}

/// A backend on 127.0.0.1:0 answering with `handler`; counts the requests it gets.
pub struct Backend {
    pub addr: SocketAddr,
    pub hits: Arc<AtomicUsize>,
}

impl Backend {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.addr.port())
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

pub async fn backend<F, Fut>(handler: F) -> Backend
where
    F: Fn(Request<Incoming>) -> Fut + Send + Sync + Clone + 'static,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind backend");
    let addr = listener.local_addr().expect("addr");
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let handler = handler.clone();
            let counter = counter.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req| {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let fut = handler(req);
                    async move { Ok::<_, Infallible>(fut.await) }
                });
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection_with_upgrades(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    Backend { addr, hits }
}

/// A backend that answers with what it received: request line, headers (one per line), a
/// blank line, then the body.
pub async fn echo_backend() -> Backend {
    backend(|req: Request<Incoming>| async move {
        let mut text = format!(
            "{} {}\n",
            req.method(),
            req.uri().path_and_query().map_or("", |p| p.as_str())
        );
        for (k, v) in req.headers() {
            text.push_str(&format!("{k}: {}\n", v.to_str().unwrap_or("?")));
        }
        text.push('\n');
        let body = read_body(req).await;
        let mut out = text.into_bytes();
        out.extend_from_slice(&body);
        Response::new(body::full(out))
    })
    .await
}

/// Every diagnostic for a config text (named `p.json`), as printed.
pub fn diagnostics(text: &str) -> Vec<String> {
    devproxy::RuleSet::parse(std::path::Path::new("p.json"), text)
        .expect("parses")
        .diagnostics()
        .iter()
        .map(|d| d.to_string())
        .collect()
}

/// A request's whole body, for backends that answer with what they got.
pub async fn read_body(req: Request<Incoming>) -> Bytes {
    req.into_body()
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default()
}

/// What came back.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub fn client() -> Client<hyper_util::client::legacy::connect::HttpConnector, Body> {
    Client::builder(TokioExecutor::new()).build_http()
}

pub async fn send(req: Request<Body>) -> Reply {
    let res = tokio::time::timeout(Duration::from_secs(20), client().request(req))
        .await
        .expect("response within 20 s")
        .expect("request succeeds");
    let (parts, body) = res.into_parts();
    let body = body.collect().await.expect("body").to_bytes();
    Reply {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body,
    }
}

pub async fn get(url: &str) -> Reply {
    send(Request::get(url).body(body::empty()).expect("request")).await
}

pub fn request(method: &str, url: &str) -> http::request::Builder {
    Request::builder().method(method).uri(url)
}

/// A header as the echo backend saw it, or None.
pub fn seen(r: &Reply, name: &str) -> Option<String> {
    let prefix = format!("{name}: ");
    r.text()
        .lines()
        .take_while(|l| !l.is_empty())
        .find_map(|l| l.strip_prefix(&prefix).map(str::to_string))
}

/// Sends raw bytes and returns everything the server sends until it closes or goes quiet.
pub async fn raw(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(bytes).await.expect("write");
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match tokio::time::timeout(Duration::from_millis(1500), s.read(&mut buf)).await {
            Ok(Ok(0)) | Err(_) | Ok(Err(_)) => break,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A backend on raw TCP for replies no HTTP library would write: reads the request head,
/// records it (lower-cased), writes `reply`, then closes the connection, or holds it open
/// without a word when `hold` is set.
pub async fn raw_backend(
    reply: &[u8],
    hold: bool,
) -> (SocketAddr, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind backend");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let reply = reply.to_vec();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let (reply, tx) = (reply.clone(), tx.clone());
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 8192];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = tx.send(String::from_utf8_lossy(&head).to_lowercase());
                let _ = s.write_all(&reply).await;
                if hold {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                }
                let _ = s.shutdown().await;
            });
        }
    });
    (addr, rx)
}

/// Polls `cond` every 10 ms for up to 10 s; returns whether it became true.
pub async fn eventually<F, Fut>(mut cond: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    for _ in 0..1000 {
        if cond().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

/// A WebSocket server that echoes text and binary messages; records the path it was asked for.
#[allow(clippy::result_large_err)] // tungstenite's handshake callback type
pub async fn ws_echo() -> (
    std::net::SocketAddr,
    tokio::sync::mpsc::UnboundedReceiver<String>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let callback =
                    |req: &tokio_tungstenite::tungstenite::handshake::server::Request, res| {
                        let _ = tx.send(req.uri().to_string());
                        Ok(res)
                    };
                let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
                    return;
                };
                while let Some(Ok(msg)) = futures_util::StreamExt::next(&mut ws).await {
                    // Close frames need no answer here: tungstenite replies on the next poll.
                    if (msg.is_text() || msg.is_binary())
                        && futures_util::SinkExt::send(&mut ws, msg).await.is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    (addr, rx)
}

/// An https backend with a self-signed certificate for `name`; answers `secure <path>`.
pub async fn https_backend(name: &str) -> u16 {
    let cert = rcgen::generate_simple_self_signed(vec![name.to_string()]).unwrap();
    let der = rustls::pki_types::CertificateDer::from(cert.cert.der().to_vec());
    let key = rustls::pki_types::PrivateKeyDer::try_from(cert.key_pair.serialize_der()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![der], key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let svc = service_fn(|req: Request<Incoming>| async move {
                    Ok::<_, Infallible>(Response::new(body::full(format!(
                        "secure {}",
                        req.uri().path()
                    ))))
                });
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    port
}

/// Whether `node` is on PATH. Without it a test says loudly that it checked nothing, and with
/// `DEVPROXY_NODE=required` (CI sets it) it fails instead.
pub fn has_node(test: &str) -> bool {
    let found = std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        let required = std::env::var("DEVPROXY_NODE").is_ok_and(|v| v == "required");
        assert!(
            !required,
            "DEVPROXY_NODE=required but there is no node on PATH"
        );
        eprintln!("SKIPPED {test}: no node on PATH (apt-get install nodejs); NOTHING WAS CHECKED");
    }
    found
}
