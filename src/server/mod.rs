//! Listening: binding, the accept loop (header timeouts, upgrades, graceful shutdown with a
//! deadline), and what is refused before any request reaches the app: requests not addressed
//! to this machine (the Host check) and requests no browser should send (the guards).
//!
//! The accept loop takes any handler, so this module knows nothing of rules or files.

mod bind;
mod guards;
mod host;
mod origin;
mod tls;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub(crate) use bind::bind;
pub(crate) use host::HostCheck;
pub(crate) use origin::{sender, Sender};
pub(crate) use tls::Tls;

use crate::body::Body;

/// Limits on what a browser (or anything else on this machine) may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// How long a client may take to send a request's headers.
    pub header_timeout: Duration,
    /// How long a request body may go without a byte before it is cut.
    pub body_idle: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(30),
            body_idle: Duration::from_secs(120),
        }
    }
}

/// The largest request head accepted (request line plus headers): 431 beyond it.
const MAX_HEADER_BYTES: usize = 64 * 1024;
/// The longest request target accepted: 414 beyond it (nginx answers 414 past 8 KiB).
const MAX_URI_BYTES: usize = 16 * 1024;
/// hyper's read buffer: large enough that the two limits above are checked (and answered
/// with the right status) by devproxy rather than cut short by the parser.
const READ_BUFFER: usize = 128 * 1024;
/// How long in-flight requests may run after Ctrl-C.
pub(crate) const DRAIN: Duration = Duration::from_secs(5);

/// What the server knows about the browser's side of a request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Peer {
    pub remote: SocketAddr,
    /// The port devproxy accepted the request on.
    pub local_port: u16,
    /// How long the browser may leave a request body without sending a byte.
    pub body_idle: Duration,
    /// The connection is HTTPS.
    pub tls: bool,
}

/// Who may talk to the server, and how: shared by every connection.
pub(crate) struct Gate {
    pub hosts: HostCheck,
    pub limits: Limits,
    /// `--https`: connections are TLS; plain HTTP is redirected to https.
    pub tls: Option<Tls>,
}

/// Serves connections from `listener` with `handler` until `stop` turns true, then drains
/// for [`DRAIN`]. Requests the [`Gate`] refuses never reach the handler.
pub(crate) async fn accept_loop<H, F>(
    listener: TcpListener,
    gate: Arc<Gate>,
    handler: H,
    mut stop: watch::Receiver<bool>,
) where
    H: Fn(Request<Incoming>, Peer) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Body>> + Send + 'static,
{
    let builder = Arc::new(connection_builder(gate.limits));
    let local_port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        let peer = Peer {
            remote,
            local_port,
            body_idle: gate.limits.body_idle,
            tls: gate.tls.is_some(),
        };
        let (gate, handler, builder) = (gate.clone(), handler.clone(), builder.clone());
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let Some(tls) = &gate.tls else {
                return serve(&builder, watcher, stream, &gate, handler, peer).await;
            };
            match tls.accept(stream, gate.limits.header_timeout).await {
                Some(tls::Accepted::Tls(stream)) => {
                    serve(&builder, watcher, *stream, &gate, handler, peer).await;
                }
                Some(tls::Accepted::Plain(stream)) => {
                    let to_https =
                        |req: Request<Incoming>, _: Peer| std::future::ready(tls::to_https(&req));
                    let peer = Peer { tls: false, ..peer };
                    serve(&builder, watcher, stream, &gate, to_https, peer).await;
                }
                None => {}
            }
        });
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(DRAIN) => {
            tracing::info!("closing connections still open after {} s", DRAIN.as_secs());
        }
    }
}

/// Serves one connection with `handler` behind the gate, until it closes or the server stops.
async fn serve<I, H, F>(
    builder: &auto::Builder<TokioExecutor>,
    watcher: hyper_util::server::graceful::Watcher,
    io: I,
    gate: &Arc<Gate>,
    handler: H,
    peer: Peer,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    H: Fn(Request<Incoming>, Peer) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Body>> + Send + 'static,
{
    let gate = gate.clone();
    let service = service_fn(move |req: Request<Incoming>| {
        let (gate, handler) = (gate.clone(), handler.clone());
        async move {
            Ok::<_, Infallible>(match gate.refusal(&req) {
                Some(res) => res,
                None => handler(req, peer).await,
            })
        }
    });
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
    if let Err(e) = watcher.watch(conn.into_owned()).await {
        tracing::debug!("connection from {}: {e}", peer.remote);
    }
}

/// HTTP/1.1 with a header read timeout, and HTTP/2 with the same header size limit.
fn connection_builder(limits: Limits) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(READ_BUFFER);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(MAX_HEADER_BYTES as u32);
    builder
}

impl Gate {
    /// The answer for a request the server refuses, logged, or `None` to hand it on.
    fn refusal<B>(&self, req: &Request<B>) -> Option<Response<Body>> {
        let (res, why) = match self.hosts.check(req) {
            Err(refusal) => (refusal.response(), refusal.to_string()),
            Ok(()) => {
                let res = guards::refusal(req)?;
                let why = res.status().to_string();
                (res, why)
            }
        };
        tracing::warn!("refused {} {}: {why}", req.method(), req.uri().path());
        Some(res)
    }
}
