//! Listening: binding loopback (or `--host`) with port fallback, the accept loop with header
//! timeouts and upgrades, and graceful shutdown with a deadline.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::headers::Peer;
use crate::service::App;

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
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
/// The longest request target accepted: 414 beyond it (nginx answers 414 past 8 KiB).
pub const MAX_URI_BYTES: usize = 16 * 1024;
/// hyper's read buffer: large enough that the two limits above are checked (and answered
/// with the right status) by devproxy rather than cut short by the parser.
const READ_BUFFER: usize = 128 * 1024;
/// How long in-flight requests may run after Ctrl-C.
pub const DRAIN: Duration = Duration::from_secs(5);
/// How many ports after the requested one are tried when it is taken.
pub const PORT_TRIES: u16 = 10;

/// Binds the listeners: 127.0.0.1 and ::1 by default, or every address `host` resolves to.
/// When the port is taken and `strict` is off, the next ports are tried.
pub async fn bind(host: Option<&str>, port: u16, strict: bool) -> anyhow::Result<Vec<TcpListener>> {
    let loopback = [
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(Ipv6Addr::LOCALHOST),
    ];
    let ips: Vec<IpAddr> = match host {
        None => loopback.to_vec(),
        Some(h) if h.eq_ignore_ascii_case("localhost") => loopback.to_vec(),
        Some(h) => {
            let bare = h.trim_start_matches('[').trim_end_matches(']');
            match bare.parse::<IpAddr>() {
                Ok(ip) => vec![ip],
                Err(_) => tokio::net::lookup_host((bare, 0))
                    .await
                    .with_context(|| format!("--host {h}: cannot resolve this name"))?
                    .map(|a| a.ip())
                    .collect(),
            }
        }
    };
    let last = if strict || port == 0 {
        port
    } else {
        port.saturating_add(PORT_TRIES)
    };
    let mut tried = port;
    loop {
        match bind_all(&ips, tried).await {
            Ok(listeners) => return Ok(listeners),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && tried < last => tried += 1,
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                let hint = if strict {
                    " (--strict-port is set)"
                } else {
                    ""
                };
                anyhow::bail!(
                    "port {tried} is already in use{}{hint}; choose another with --port",
                    if tried != port {
                        format!(", and so are ports {port}-{}", tried - 1)
                    } else {
                        String::new()
                    }
                );
            }
            Err(e) => {
                return Err(anyhow::Error::new(e).context(format!(
                    "cannot listen on {} port {tried}",
                    ips.iter()
                        .map(|i| i.to_string())
                        .collect::<Vec<_>>()
                        .join(" and ")
                )))
            }
        }
    }
}

/// Binds every address on one port. The first address decides the port when it is 0; the
/// others are best-effort (a machine without IPv6 still serves on IPv4).
async fn bind_all(ips: &[IpAddr], port: u16) -> std::io::Result<Vec<TcpListener>> {
    let mut listeners: Vec<TcpListener> = Vec::new();
    for ip in ips {
        let port = match listeners.first() {
            Some(l) => l.local_addr()?.port(),
            None => port,
        };
        match TcpListener::bind(SocketAddr::new(*ip, port)).await {
            Ok(l) => listeners.push(l),
            Err(e) if listeners.is_empty() => return Err(e),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => return Err(e),
            Err(e) => tracing::debug!("not listening on {ip}: {e}"),
        }
    }
    Ok(listeners)
}

/// Serves connections from `listener` until `stop` turns true, then drains for [`DRAIN`].
pub async fn accept_loop(
    listener: TcpListener,
    app: Arc<App>,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) {
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
    let local_port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    let graceful = GracefulShutdown::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, remote) = match accepted {
                    Ok(x) => x,
                    Err(e) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let peer = Peer {
                    remote,
                    local_port,
                    body_idle: limits.body_idle,
                };
                let app = app.clone();
                let service = service_fn(move |req| {
                    let app = app.clone();
                    async move { Ok::<_, Infallible>(app.handle(req, peer).await) }
                });
                let conn = builder
                    .serve_connection_with_upgrades(TokioIo::new(stream), service)
                    .into_owned();
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!("connection from {remote}: {e}");
                    }
                });
            }
            _ = stop.changed() => break,
        }
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(DRAIN) => {
            tracing::info!("closing connections still open after {} s", DRAIN.as_secs());
        }
    }
}
