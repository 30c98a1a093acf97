//! Plain HTTP/1.1 connections that hold no buffers while idle.
//!
//! hyper keeps a connection's parser state, an 8 KiB header buffer and its read buffer for as
//! long as the connection is open: about 27 KiB for every keep-alive connection a browser
//! leaves idle. Here a connection is served in *sessions*. When nothing is in flight, the
//! socket has nothing more to read and everything written has gone out, the session ends: the
//! hyper connection is taken apart (`into_parts`, which hands back any bytes read but not yet
//! parsed) and only the socket is kept, until it is readable again. An idle connection then
//! costs its socket and a small task.
//!
//! What must not happen is a session ending with part of a request still unread on the
//! socket, so that the next session reads a body as a request head. A request body dropped
//! before its end therefore keeps the connection in its session (hyper closes it), and so
//! does an upgrade.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use http::Request;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::body::Body;

/// What one session's requests and socket are doing. The socket side is touched only by the
/// connection's task; bodies may end on other tasks (a request body is read by the task that
/// sends it upstream).
#[derive(Default)]
pub(crate) struct Activity {
    /// Request and response bodies still in use.
    busy: AtomicUsize,
    /// A request body dropped before its end, or an upgrade: the session must run to its end.
    pinned: AtomicBool,
    /// The last read from the socket found nothing to read.
    read_blocked: AtomicBool,
    /// The last write could not take everything.
    write_blocked: AtomicBool,
    /// The session has read bytes from the socket.
    read_any: AtomicBool,
    /// Requests received in this session.
    requests: AtomicUsize,
}

impl Activity {
    /// Whether the session can end now without losing or splitting anything. `fresh`: the
    /// session began with no bytes left over from the one before.
    pub(crate) fn idle(&self, fresh: bool) -> bool {
        self.busy.load(Relaxed) == 0
            && !self.pinned.load(Relaxed)
            && self.read_blocked.load(Relaxed)
            && !self.write_blocked.load(Relaxed)
            // Left-over bytes are part of a request: wait for the rest inside the session.
            && (fresh || self.read_any.load(Relaxed))
    }

    /// Called for each request the session receives; wraps its body.
    pub(crate) fn begin(self: &Arc<Self>, req: Request<Incoming>) -> Request<RequestBody> {
        self.requests.fetch_add(1, Relaxed);
        let upgrade = req.headers().contains_key(http::header::UPGRADE)
            || req.method() == http::Method::CONNECT;
        if upgrade {
            self.pinned.store(true, Relaxed);
        }
        req.map(|inner| {
            let busy = match http_body::Body::is_end_stream(&inner) {
                true => None,
                false => Some(self.busy()),
            };
            RequestBody { inner, busy }
        })
    }

    /// How many requests the session has received.
    pub(crate) fn requests(&self) -> usize {
        self.requests.load(Relaxed)
    }

    /// A guard counting as in use until dropped.
    pub(crate) fn busy(self: &Arc<Self>) -> Busy {
        self.busy.fetch_add(1, Relaxed);
        Busy(self.clone())
    }
}

/// Keeps its session from ending while it lives.
pub(crate) struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Relaxed);
    }
}

/// A request body as the app sees it: hyper's, counted while it is read.
pub(crate) struct RequestBody {
    inner: Incoming,
    busy: Option<Busy>,
}

impl RequestBody {
    /// A body that no session waits for (HTTP/2, TLS).
    pub(crate) fn untracked(inner: Incoming) -> RequestBody {
        RequestBody { inner, busy: None }
    }
}

impl http_body::Body for RequestBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(None) = polled {
            self.busy = None;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for RequestBody {
    fn drop(&mut self) {
        if let Some(busy) = self.busy.take() {
            if !http_body::Body::is_end_stream(&self.inner) {
                // The rest of this body may still arrive: only hyper knows to skip it.
                busy.0.pinned.store(true, Relaxed);
            }
        }
    }
}

/// A response body, counted until hyper is done with it.
pub(crate) struct ResponseBody {
    inner: Body,
    _busy: Option<Busy>,
}

impl ResponseBody {
    pub(crate) fn new(inner: Body, busy: Option<Busy>) -> ResponseBody {
        ResponseBody { inner, _busy: busy }
    }
}

impl http_body::Body for ResponseBody {
    type Data = Bytes;
    type Error = crate::body::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The socket as one session sees it: first the bytes the session before left unparsed,
/// then the socket, with what each read and write found recorded in the [`Activity`].
pub(crate) struct SessionIo {
    stream: TcpStream,
    left_over: Bytes,
    activity: Arc<Activity>,
}

impl SessionIo {
    pub(crate) fn new(stream: TcpStream, left_over: Bytes, activity: Arc<Activity>) -> Self {
        SessionIo {
            stream,
            left_over,
            activity,
        }
    }

    /// The socket back, with every byte read from it that hyper did not parse: `unparsed`
    /// (hyper's read buffer) and then whatever of the left-over bytes hyper never read.
    pub(crate) fn into_parts(self, unparsed: Bytes) -> (TcpStream, Bytes) {
        let rest = match (unparsed.is_empty(), self.left_over.is_empty()) {
            // An empty `Bytes` from hyper still holds its whole read buffer.
            (true, true) => Bytes::new(),
            (false, true) => unparsed,
            (true, false) => self.left_over,
            (false, false) => {
                let mut both = BytesMut::with_capacity(unparsed.len() + self.left_over.len());
                both.extend_from_slice(&unparsed);
                both.extend_from_slice(&self.left_over);
                both.freeze()
            }
        };
        (self.stream, rest)
    }
}

impl AsyncRead for SessionIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.left_over.is_empty() {
            let n = self.left_over.len().min(buf.remaining());
            buf.put_slice(&self.left_over[..n]);
            self.left_over.advance(n);
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        let activity = &self.activity;
        activity.read_blocked.store(polled.is_pending(), Relaxed);
        if buf.filled().len() > before {
            activity.read_any.store(true, Relaxed);
        }
        polled
    }
}

impl AsyncWrite for SessionIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write(cx, buf);
        self.activity
            .write_blocked
            .store(polled.is_pending(), Relaxed);
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        self.activity
            .write_blocked
            .store(polled.is_pending(), Relaxed);
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
