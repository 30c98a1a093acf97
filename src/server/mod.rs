//! Listening: binding, the accept loop (header timeouts, upgrades, graceful shutdown with a
//! deadline), and what is refused before any request reaches the app: requests not addressed
//! to this machine (the Host check) and requests no browser should send (the guards).
//!
//! The accept loop takes any handler, so this module knows nothing of rules or files.

mod bind;
mod guards;
mod host;
mod idle;
mod origin;
mod tls;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

pub(crate) use bind::bind;
pub(crate) use host::HostCheck;
pub(crate) use idle::RequestBody;
use idle::{Activity, ResponseBody, SessionIo};
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
/// A connection whose next request came within this of its last answer is busy: its
/// sessions linger instead of ending at every pause (see [`idle`]).
const BUSY: Duration = Duration::from_millis(10);
/// How long a busy connection stays in its session without a request before it parks.
const LINGER: Duration = Duration::from_millis(100);
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

/// How connections are served: plain HTTP/1.1 in sessions ([`idle`]), everything else
/// (TLS, prior-knowledge HTTP/2) by hyper-util's version-detecting builder.
struct Builders {
    auto: auto::Builder<TokioExecutor>,
    h1: http1::Builder,
}

/// One accepted connection, before its protocol is known.
struct Conn<H> {
    gate: Arc<Gate>,
    handler: H,
    peer: Peer,
    builders: Arc<Builders>,
    stop: Stop,
    /// Dropped when the connection ends: the drain waits for every one.
    _alive: mpsc::Sender<()>,
}

/// Serves connections from `listener` with `handler` until `stop` turns true, then drains
/// for [`DRAIN`]. Requests the [`Gate`] refuses never reach the handler.
pub(crate) async fn accept_loop<H, F>(
    listener: TcpListener,
    gate: Arc<Gate>,
    handler: H,
    mut stop: watch::Receiver<bool>,
) where
    H: Fn(Request<RequestBody>, Peer) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Body>> + Send + 'static,
{
    let builders = Arc::new(Builders {
        auto: connection_builder(gate.limits),
        h1: http1_builder(gate.limits),
    });
    let local_port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    let (alive, mut all_closed) = mpsc::channel::<()>(1);
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
        let conn = Conn {
            gate: gate.clone(),
            handler: handler.clone(),
            peer,
            builders: builders.clone(),
            stop: Stop::new(stop.clone()),
            _alive: alive.clone(),
        };
        tokio::spawn(conn.serve(stream));
    }
    drop(listener);
    drop(alive);
    tokio::select! {
        _ = all_closed.recv() => {}
        _ = tokio::time::sleep(DRAIN) => {
            tracing::info!("closing connections still open after {} s", DRAIN.as_secs());
        }
    }
}

impl<H, F> Conn<H>
where
    H: Fn(Request<RequestBody>, Peer) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Body>> + Send + 'static,
{
    /// Serves one connection. The task lives as long as the connection, most of that time
    /// idle, so whatever is large (TLS, hyper's connections) is boxed and dropped when done:
    /// a parked connection's task stays a few hundred bytes.
    async fn serve(self, stream: TcpStream) {
        let Some(tls) = &self.gate.tls else {
            return self.serve_plain(stream).await;
        };
        let accepted = Box::pin(tls.accept(stream, self.gate.limits.header_timeout)).await;
        match accepted {
            Some(tls::Accepted::Tls(stream)) => Box::pin(self.serve_auto(*stream)).await,
            Some(tls::Accepted::Plain(stream)) => {
                let to_https =
                    |req: Request<RequestBody>, _: Peer| std::future::ready(tls::to_https(&req));
                let conn = Conn {
                    handler: to_https,
                    peer: Peer {
                        tls: false,
                        ..self.peer
                    },
                    gate: self.gate,
                    builders: self.builders,
                    stop: self.stop,
                    _alive: self._alive,
                };
                Box::pin(conn.serve_auto(stream)).await;
            }
            None => {}
        }
    }

    /// Plain HTTP: HTTP/1.1 in sessions that end whenever the connection goes idle, with
    /// only the socket kept between them. Prior-knowledge HTTP/2 starts with `PRI`.
    async fn serve_plain(mut self, stream: TcpStream) {
        let limit = self.gate.limits.header_timeout;
        let mut first = [0u8; 3];
        let n = match tokio::time::timeout(limit, stream.peek(&mut first)).await {
            Ok(Ok(n)) if n > 0 => n,
            _ => return,
        };
        if b"PRI".starts_with(&first[..n]) {
            return Box::pin(self.serve_auto(stream)).await;
        }
        // One timer for the connection's life: the idle limit while parked, the linger while a
        // busy connection waits between requests. It is moved, not set anew, at each pause:
        // moving a deadline later is one atomic store.
        let mut timer = std::pin::pin!(tokio::time::sleep(limit));
        let (mut stream, mut left_over, mut busy) = (stream, Bytes::new(), false);
        // Since when the sessions have ended with part of a request head read: each session
        // times its head afresh, so a head sent a byte at a time is bounded here.
        let mut partial_since = None;
        loop {
            let linger = busy.then_some(timer.as_mut());
            let session = Box::pin(self.session(stream, left_over, linger)).await;
            let Some(parked) = session else { return };
            (stream, left_over) = parked;
            if !left_over.is_empty() {
                let since = *partial_since.get_or_insert_with(tokio::time::Instant::now);
                if since.elapsed() >= limit {
                    tracing::debug!("{}: request head too slow", self.peer.remote);
                    return;
                }
                continue;
            }
            partial_since = None;
            // Idle: nothing but the socket, until the browser sends again or `limit` passes.
            let parked_at = tokio::time::Instant::now();
            let due = parked_at + limit;
            loop {
                tokio::select! {
                    biased;
                    readable = stream.readable() => match readable {
                        Ok(()) => break,
                        Err(_) => return,
                    },
                    () = timer.as_mut() => {
                        if tokio::time::Instant::now() >= due {
                            return;
                        }
                        timer.as_mut().reset(due);
                    }
                    () = self.stop.fired() => return,
                }
            }
            busy = parked_at.elapsed() < BUSY;
        }
    }

    /// Serves HTTP/1.1 until the connection closes (`None`) or goes idle: then the socket
    /// and the bytes read from it but not yet parsed. With `linger`, a busy connection stays
    /// in its session until it has been idle for [`LINGER`]: re-creating hyper's connection
    /// between every two requests would cost more than the requests.
    async fn session(
        &mut self,
        stream: TcpStream,
        left_over: Bytes,
        mut linger: Option<Pin<&mut tokio::time::Sleep>>,
    ) -> Option<(TcpStream, Bytes)> {
        let fresh = left_over.is_empty();
        let activity = Arc::new(Activity::default());
        let io = SessionIo::new(stream, left_over, activity.clone());
        let service = self.service(Some(activity.clone()));
        let mut conn = self
            .builders
            .h1
            .serve_connection(TokioIo::new(io), service)
            .with_upgrades();
        let mut shut = false;
        // The number of requests at the last idle moment: a new idle moment moves the linger.
        let mut idle_after = usize::MAX;
        let stop = &mut self.stop;
        let ended = std::future::poll_fn(|cx| {
            let stopping = stop.poll_fired(cx);
            if stopping && !shut {
                Pin::new(&mut conn).graceful_shutdown();
                shut = true;
            }
            if let Poll::Ready(result) = Pin::new(&mut conn).poll(cx) {
                return Poll::Ready(Some(result));
            }
            if stopping || !activity.idle(fresh) {
                return Poll::Pending;
            }
            let Some(timer) = linger.as_mut() else {
                return Poll::Ready(None);
            };
            let requests = activity.requests();
            if requests != idle_after {
                idle_after = requests;
                timer.as_mut().reset(tokio::time::Instant::now() + LINGER);
            }
            match timer.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            }
        })
        .await;
        match ended {
            Some(result) => {
                if let Err(e) = result {
                    tracing::debug!("connection from {}: {e}", self.peer.remote);
                }
                None
            }
            None => {
                let parts = conn.into_parts()?;
                Some(parts.io.into_inner().into_parts(parts.read_buf))
            }
        }
    }

    /// Serves one connection with hyper-util's builder (HTTP/1.1 or HTTP/2, as the browser
    /// speaks), until it closes or the server stops.
    async fn serve_auto<I>(mut self, io: I)
    where
        I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let service = self.service(None);
        let conn = self
            .builders
            .auto
            .serve_connection_with_upgrades(TokioIo::new(io), service);
        let mut conn = std::pin::pin!(conn);
        let result = tokio::select! {
            result = conn.as_mut() => result,
            () = self.stop.fired() => {
                conn.as_mut().graceful_shutdown();
                conn.await
            }
        };
        if let Err(e) = result {
            tracing::debug!("connection from {}: {e}", self.peer.remote);
        }
    }

    /// The handler behind the gate, with each request's bodies counted in `activity`.
    fn service(
        &self,
        activity: Option<Arc<Activity>>,
    ) -> impl hyper::service::Service<
        Request<Incoming>,
        Response = Response<ResponseBody>,
        Error = Infallible,
        Future = impl Future<Output = Result<Response<ResponseBody>, Infallible>> + Send,
    > + Clone {
        let (gate, handler, peer) = (self.gate.clone(), self.handler.clone(), self.peer);
        service_fn(move |req: Request<Incoming>| {
            let (gate, handler) = (gate.clone(), handler.clone());
            let (req, busy) = match &activity {
                Some(activity) => (activity.begin(req), Some(activity.busy())),
                None => (req.map(RequestBody::untracked), None),
            };
            async move {
                let res = match gate.refusal(&req) {
                    Some(res) => res,
                    None => handler(req, peer).await,
                };
                Ok::<_, Infallible>(res.map(|body| ResponseBody::new(body, busy)))
            }
        })
    }
}

/// The server's stop signal as one connection waits for it: one waiter, registered once for
/// the connection's life rather than at every request. Polling a registered waiter takes
/// the signal's lock, so after the first poll it is polled again only once the signal has
/// changed, which a second receiver reads with one atomic load.
struct Stop {
    signal: Pin<Box<dyn Future<Output = ()> + Send>>,
    changed: watch::Receiver<bool>,
    registered: bool,
    fired: bool,
}

impl Stop {
    fn new(stop: watch::Receiver<bool>) -> Stop {
        let changed = stop.clone();
        let mut stop = stop;
        let signal = async move {
            // A dropped sender means the server is gone: stop as well.
            let _ = stop.wait_for(|stopping| *stopping).await;
        };
        Stop {
            signal: Box::pin(signal),
            changed,
            registered: false,
            fired: false,
        }
    }

    /// Whether the server is stopping; wakes the task when it starts to. The task's waker
    /// stays the same for its life, so the first registration holds.
    fn poll_fired(&mut self, cx: &mut std::task::Context<'_>) -> bool {
        if self.fired {
            return true;
        }
        if !self.registered || self.changed.has_changed().unwrap_or(true) {
            self.registered = true;
            self.fired = self.signal.as_mut().poll(cx).is_ready();
        }
        self.fired
    }

    async fn fired(&mut self) {
        std::future::poll_fn(|cx| match self.poll_fired(cx) {
            true => Poll::Ready(()),
            false => Poll::Pending,
        })
        .await
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

/// The same HTTP/1.1 settings as [`connection_builder`]'s.
fn http1_builder(limits: Limits) -> http1::Builder {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(READ_BUFFER);
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
