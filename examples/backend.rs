//! A demo backend for trying devproxy: `cargo run --example backend` listens on
//! 127.0.0.1:8080 (or the port given as the first argument) and serves
//!
//! - `GET /hello`: a small JSON document that echoes the Host it was asked for;
//! - `GET /events`: server-sent events, one a second;
//! - `/socket`: a WebSocket that echoes every message;
//! - `GET /download/N`: N bytes, streamed in 64 KiB chunks;
//! - `POST /upload`: reads the whole body and answers with its length.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{header, Request, Response, StatusCode};
use http_body_util::StreamBody;
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::protocol::Role;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    println!(
        "demo backend on http://127.0.0.1:{port}  (GET /hello, GET /events, WebSocket /socket)"
    );
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(async move {
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection_with_upgrades(TokioIo::new(stream), service_fn(handle))
                .await;
        });
    }
}

async fn handle(mut req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    println!("{} {}", req.method(), req.uri());
    let res = match req.uri().path() {
        "/hello" => {
            let host = req
                .headers()
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("");
            Response::builder()
                .header(header::CONTENT_TYPE, "application/json")
                .body(body::full(format!(
                    "{{\"message\":\"hello from the backend\",\"host\":\"{host}\"}}\n"
                )))
        }
        "/events" => {
            let ticks = futures_util::stream::unfold(0u64, |n| async move {
                if n > 0 {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                let event = format!("data: tick {n}\n\n");
                Some((Ok::<_, Infallible>(Frame::data(Bytes::from(event))), n + 1))
            });
            Response::builder()
                .header(header::CONTENT_TYPE, "text/event-stream")
                .header(header::CACHE_CONTROL, "no-cache")
                .body(body::boxed(StreamBody::new(ticks)))
        }
        "/socket" => {
            let key = req.headers().get("sec-websocket-key").cloned();
            let Some(key) = key else {
                return Ok(plain(
                    StatusCode::BAD_REQUEST,
                    "expected a WebSocket handshake",
                ));
            };
            let accept =
                tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
            let upgrade = hyper::upgrade::on(&mut req);
            tokio::spawn(async move {
                let Ok(io) = upgrade.await else { return };
                let mut ws = tokio_tungstenite::WebSocketStream::from_raw_socket(
                    TokioIo::new(io),
                    Role::Server,
                    None,
                )
                .await;
                while let Some(Ok(msg)) = ws.next().await {
                    if (msg.is_text() || msg.is_binary()) && ws.send(msg).await.is_err() {
                        break;
                    }
                }
            });
            Response::builder()
                .status(StatusCode::SWITCHING_PROTOCOLS)
                .header(header::CONNECTION, "upgrade")
                .header(header::UPGRADE, "websocket")
                .header("sec-websocket-accept", accept)
                .body(body::empty())
        }
        "/upload" => {
            use http_body_util::BodyExt;
            let mut body = req.into_body();
            let mut n = 0u64;
            while let Some(Ok(frame)) = body.frame().await {
                n += frame.data_ref().map_or(0, |d| d.len() as u64);
            }
            Response::builder().body(body::full(format!("{n}\n")))
        }
        path if path.starts_with("/download/") => {
            let Ok(total) = path["/download/".len()..].parse::<u64>() else {
                return Ok(plain(StatusCode::BAD_REQUEST, "expected /download/<bytes>"));
            };
            const CHUNK: u64 = 64 * 1024;
            let chunk = Bytes::from(vec![b'x'; CHUNK as usize]);
            let chunks = futures_util::stream::unfold(total, move |left| {
                let chunk = chunk.clone();
                async move {
                    (left > 0).then(|| {
                        let n = left.min(CHUNK);
                        (
                            Ok::<_, Infallible>(Frame::data(chunk.slice(..n as usize))),
                            left - n,
                        )
                    })
                }
            });
            Response::builder()
                .header(header::CONTENT_LENGTH, total)
                .header(header::CONTENT_TYPE, "application/octet-stream")
                .body(body::boxed(StreamBody::new(chunks)))
        }
        _ => return Ok(plain(StatusCode::NOT_FOUND, "not found")),
    };
    Ok(res.unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR, "error")))
}

fn plain(status: StatusCode, text: &str) -> Response<Body> {
    let mut res = Response::new(body::full(format!("{text}\n")));
    *res.status_mut() = status;
    res.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    res
}

type Body = http_body_util::combinators::UnsyncBoxBody<bytes::Bytes, body::BoxError>;

/// Building response bodies of one type.
mod body {
    use bytes::Bytes;
    use http_body_util::{BodyExt, Empty, Full};

    pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

    pub fn boxed<B>(b: B) -> super::Body
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        b.map_err(Into::into).boxed_unsync()
    }

    pub fn empty() -> super::Body {
        Empty::new().map_err(|never| match never {}).boxed_unsync()
    }

    pub fn full(bytes: impl Into<Bytes>) -> super::Body {
        Full::new(bytes.into())
            .map_err(|never| match never {})
            .boxed_unsync()
    }
}
