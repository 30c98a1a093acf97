//! The inspector, at `/__devproxy/`: every exchange that passes, as the browser sent it and as
//! devproxy sent it on, live in a page served from the binary. Capturing copies at most a
//! preview of each body as it streams past: nothing is held back or buffered on the way.

mod record;

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Request, Response, StatusCode};
use http_body::Frame;
use tokio::sync::mpsc;

use crate::body::{self, Body, BoxError};
use record::Record;

/// The page, embedded: no framework, no build step.
const PAGE: &str = include_str!("page.html");

/// How much the inspector keeps.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// The newest exchanges kept.
    pub records: usize,
    /// Body previews in all, in bytes.
    pub bytes: usize,
    /// One body's preview, in bytes.
    pub preview: usize,
}

impl Limits {
    /// Keeps the last `records` exchanges, with 32 KiB of previews each on average.
    pub(crate) fn for_records(records: usize) -> Limits {
        Limits {
            records,
            bytes: records.saturating_mul(32 * 1024),
            preview: 64 * 1024,
        }
    }
}

impl Default for Limits {
    /// The last 1,000 exchanges, 32 MiB of previews.
    fn default() -> Self {
        Limits::for_records(1000)
    }
}

/// The exchanges kept, newest last.
#[derive(Default)]
struct Kept {
    records: VecDeque<Arc<Mutex<Record>>>,
    /// Preview bytes held by `records`.
    bytes: usize,
    next_id: u64,
}

pub(crate) struct Inspector {
    kept: Mutex<Kept>,
    /// Open inspector pages' event streams.
    feed: Mutex<Vec<mpsc::Sender<Bytes>>>,
    /// How many pages listen, read on every exchange without taking the lock.
    listening: AtomicUsize,
    /// Exchanges told of before that changed since.
    dirty: Mutex<Vec<Arc<Mutex<Record>>>>,
    /// The newest exchange the open pages were told of.
    told_up_to: AtomicU64,
    limits: Limits,
}

/// How often open pages are told what changed: often enough to look live, rarely enough that
/// a busy devproxy formats each exchange once per tick, not once per change.
const FEED_EVERY: Duration = Duration::from_millis(100);
/// The most exchanges one tick tells of (the newest); a page shows 1,000 anyway.
const FEED_MAX: usize = 500;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Inspector {
    /// The inspector, and its feed's ticking task (which ends when the inspector goes).
    pub(crate) fn new(limits: Limits) -> Arc<Inspector> {
        let inspector = Arc::new(Inspector {
            kept: Mutex::new(Kept::default()),
            feed: Mutex::new(Vec::new()),
            listening: AtomicUsize::new(0),
            dirty: Mutex::new(Vec::new()),
            told_up_to: AtomicU64::new(0),
            limits,
        });
        let weak = Arc::downgrade(&inspector);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(FEED_EVERY);
            loop {
                tick.tick().await;
                let Some(inspector) = weak.upgrade() else {
                    return;
                };
                inspector.flush();
            }
        });
        inspector
    }

    /// Starts the record of one exchange.
    pub(crate) fn begin<B>(self: &Arc<Self>, req: &Request<B>) -> Capture {
        let mut kept = lock(&self.kept);
        kept.next_id += 1;
        let path = crate::url::path_and_query(req.uri());
        let record = Record::new(kept.next_id, req.method().as_str(), path, req.headers());
        let record = Arc::new(Mutex::new(record));
        kept.records.push_back(record.clone());
        while kept.records.len() > self.limits.records {
            if let Some(old) = kept.records.pop_front() {
                kept.bytes -= lock(&old).release();
            }
        }
        Capture {
            id: kept.next_id,
            record,
            inspector: self.clone(),
        }
    }

    /// Counts `n` more preview bytes, dropping the oldest exchanges while over the budget.
    fn charge(&self, n: usize) {
        if n == 0 {
            return;
        }
        let mut kept = lock(&self.kept);
        kept.bytes += n;
        while kept.bytes > self.limits.bytes && kept.records.len() > 1 {
            if let Some(old) = kept.records.pop_front() {
                kept.bytes -= lock(&old).release();
            }
        }
    }

    /// Notes that an exchange changed, for the open pages' next tick.
    fn mark(&self, id: u64, record: &Arc<Mutex<Record>>) {
        // Exchanges newer than the last tick go out with the next one anyway: only a change
        // to one already told of needs noting.
        let told = self.told_up_to.load(Ordering::Relaxed);
        if self.listening.load(Ordering::Relaxed) > 0 && id <= told {
            lock(&self.dirty).push(record.clone());
        }
    }

    /// Tells the open pages what changed since the last tick: each exchange once, in the
    /// order of its last change, the newest [`FEED_MAX`] at most.
    fn flush(&self) {
        if self.listening.load(Ordering::Relaxed) == 0 {
            return;
        }
        let mut dirty = std::mem::take(&mut *lock(&self.dirty));
        {
            // The exchanges that came since the last tick, the newest FEED_MAX.
            let kept = lock(&self.kept);
            let told = self.told_up_to.load(Ordering::Relaxed);
            let fresh = kept.records.iter().rev().take(FEED_MAX);
            let fresh: Vec<_> = fresh.take_while(|r| lock(r).id > told).cloned().collect();
            if let Some(newest) = kept.records.back() {
                self.told_up_to.store(lock(newest).id, Ordering::Relaxed);
            }
            dirty.extend(fresh.into_iter().rev());
        }
        if dirty.is_empty() {
            return;
        }
        let mut seen = HashSet::new();
        let mut newest: Vec<&Arc<Mutex<Record>>> = dirty
            .iter()
            .rev()
            .filter(|r| seen.insert(Arc::as_ptr(r)))
            .take(FEED_MAX)
            .collect();
        newest.reverse();
        let mut text = String::new();
        for r in newest {
            text.push_str("event: request\ndata: ");
            text.push_str(&lock(r).summary_json());
            text.push_str("\n\n");
        }
        let message = Bytes::from(text);
        let mut feed = lock(&self.feed);
        // A page that cannot keep up misses lines rather than slowing anything down.
        feed.retain(|page| !page.is_closed());
        for page in feed.iter() {
            let _ = page.try_send(message.clone());
        }
        self.listening.store(feed.len(), Ordering::Relaxed);
    }

    /// Answers a request under `/__devproxy/` that is the inspector's (`page` is the rest of
    /// the path), or `None`.
    pub(crate) fn answer(&self, page: &str) -> Option<Response<Body>> {
        match page {
            "" => Some(with_type(body::full(PAGE), "text/html; charset=utf-8")),
            "api/requests" => {
                let list: Vec<serde_json::Value> = lock(&self.kept)
                    .records
                    .iter()
                    .map(|r| lock(r).summary())
                    .collect();
                Some(json(&serde_json::Value::Array(list)))
            }
            "api/feed" => Some(self.subscribe()),
            _ => {
                let id: u64 = page.strip_prefix("api/requests/")?.parse().ok()?;
                let kept = lock(&self.kept);
                let record = kept.records.iter().find(|r| lock(r).id == id);
                Some(match record {
                    Some(r) => json(&lock(r).detail()),
                    None => body::text(
                        StatusCode::NOT_FOUND,
                        format!("404 Not Found: request {id} is no longer kept"),
                    ),
                })
            }
        }
    }

    fn subscribe(&self) -> Response<Body> {
        // Each message is a tick's batch (up to FEED_MAX exchanges): a page that stops reading
        // holds a few batches, never an unbounded backlog.
        let (tx, rx) = mpsc::channel(8);
        let _ = tx.try_send(Bytes::from_static(b": devproxy inspector\n\n"));
        let mut feed = lock(&self.feed);
        feed.push(tx);
        self.listening.store(feed.len(), Ordering::Relaxed);
        with_type(body::boxed(Feed(rx)), "text/event-stream")
    }
}

fn with_type(body: Body, content_type: &'static str) -> Response<Body> {
    let mut res = Response::new(body);
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn json(v: &serde_json::Value) -> Response<Body> {
    with_type(body::full(v.to_string()), "application/json")
}

/// The record of one exchange, filled in as it goes.
pub(crate) struct Capture {
    id: u64,
    record: Arc<Mutex<Record>>,
    inspector: Arc<Inspector>,
}

impl Capture {
    /// What took the request: a rule (`proxied`) or how it was answered locally.
    pub(crate) fn routed(&self, route: &str, proxied: bool) {
        let mut r = lock(&self.record);
        r.route = route.to_string();
        r.proxied = proxied;
    }

    /// The request as devproxy sent it upstream.
    pub(crate) fn sent_upstream(&self, url: &str, headers: &HeaderMap) {
        let mut r = lock(&self.record);
        r.upstream = url.to_string();
        r.upstream_request = headers.clone();
        r.sent_ms = Some(r.started.elapsed().as_secs_f64() * 1000.0);
    }

    /// Why no rule took the request, when it looks as if one should have.
    pub(crate) fn note(&self, note: &str) {
        lock(&self.record).note = Some(note.to_string());
    }

    /// The request body on its way upstream, previewed as it passes.
    pub(crate) fn tee_request(&self, inner: Body) -> Body {
        body::boxed(Tee {
            inner,
            capture: Some(self.handle()),
            limit: self.inspector.limits.preview,
            side: Side::Request,
        })
    }

    /// A handle that outlives the response, for a tunnel that ends later.
    pub(crate) fn handle(&self) -> Capture {
        Capture {
            id: self.id,
            record: self.record.clone(),
            inspector: self.inspector.clone(),
        }
    }

    /// A WebSocket message passed (`→` up, `←` down): counted, and kept among the last few.
    pub(crate) fn message(&self, direction: &str, text: &str) {
        {
            let mut r = lock(&self.record);
            r.events += 1;
            r.remember(format!("{direction} {text}"));
        }
        self.inspector.mark(self.id, &self.record);
    }

    /// The end of a tunnel or stream, said as the log says it.
    pub(crate) fn ended(&self, how: &str) {
        self.end(how);
    }

    /// The response as the backend sent it, before devproxy's rewrites.
    /// `connected` is the backend address the connection reached, when the connector says.
    pub(crate) fn backend_answered(&self, headers: &HeaderMap, connected: Option<SocketAddr>) {
        let mut r = lock(&self.record);
        r.backend_response = headers.clone();
        r.connected = connected;
        r.backend_ms = Some(r.started.elapsed().as_secs_f64() * 1000.0);
    }

    /// The answer as the browser gets it: recorded, and its body previewed as it streams.
    pub(crate) fn finish(
        self,
        res: Response<Body>,
        upstream: &str,
        failure: Option<&str>,
    ) -> Response<Body> {
        {
            let mut r = lock(&self.record);
            r.status = res.status().as_u16();
            r.browser_response = res.headers().clone();
            if let Ok(method) = http::Method::from_bytes(r.method.as_bytes()) {
                r.cors =
                    crate::cors::seen(&method, &r.browser_request, res.status(), res.headers());
            }
            r.head_ms = Some(r.started.elapsed().as_secs_f64() * 1000.0);
            if r.upstream.is_empty() {
                r.upstream = upstream.to_string();
            }
            r.failure = failure.map(str::to_string);
            r.event_stream = res
                .headers()
                .get(header::CONTENT_TYPE)
                .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
            // A body of known length ends soon and is published then, once; streams, upgrades
            // and bodies of unknown length show up at once, and again when they end.
            let known_length = http_body::Body::size_hint(res.body()).exact().is_some();
            if !known_length || res.status() == StatusCode::SWITCHING_PROTOCOLS {
                self.inspector.mark(self.id, &self.record);
            }
        }
        let (mut parts, inner) = res.into_parts();
        // The page's Replay reads which record its request became.
        let id = lock(&self.record).id;
        parts.headers.insert(
            http::HeaderName::from_static("x-devproxy-request"),
            HeaderValue::from(id),
        );
        // Files answered from DIR are on the disk already: only proxied bodies are previewed.
        let limit = match lock(&self.record).proxied {
            true => self.inspector.limits.preview,
            false => 0,
        };
        Response::from_parts(
            parts,
            body::boxed(Tee {
                inner,
                capture: Some(self),
                limit,
                side: Side::Response,
            }),
        )
    }

    fn end(&self, how: &str) {
        {
            let mut r = lock(&self.record);
            // The empty body of a 101 may go after its tunnel has ended: that end stays.
            if r.ended.is_some() && how == "complete" {
                return;
            }
            r.total_ms = Some(r.started.elapsed().as_secs_f64() * 1000.0);
            r.ended = Some(how.to_string());
        }
        self.inspector.mark(self.id, &self.record);
    }
}

/// A body previewed as it passes: a request's on its way upstream, or a response's on its
/// way to the browser (whose end also ends the record).
struct Tee {
    inner: Body,
    capture: Option<Capture>,
    limit: usize,
    side: Side,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Request,
    Response,
}

impl http_body::Body for Tee {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let (Some(data), Some(c)) = (frame.data_ref(), &self.capture) {
                    let (kept, stream) = {
                        let mut r = lock(&c.record);
                        match self.side {
                            Side::Request => (r.keep_request(data, self.limit), false),
                            Side::Response => (r.keep(data, self.limit), r.event_stream),
                        }
                    };
                    c.inspector.charge(kept);
                    if stream {
                        c.inspector.mark(c.id, &c.record);
                    }
                }
            }
            Poll::Ready(Some(Err(e))) => {
                if let Some(c) = self.take_response_capture() {
                    c.end(&format!("failed: {e}"));
                }
            }
            Poll::Ready(None) => {
                if let Some(c) = self.take_response_capture() {
                    c.end("complete");
                }
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

impl Tee {
    /// The record, when this is the response body: its end is the exchange's end.
    fn take_response_capture(&mut self) -> Option<Capture> {
        match self.side {
            Side::Response => self.capture.take(),
            Side::Request => None,
        }
    }
}

impl Drop for Tee {
    fn drop(&mut self) {
        if let Some(c) = self.take_response_capture() {
            // An empty body (HEAD, 304) is never polled: it is complete, not cut.
            let how = if http_body::Body::is_end_stream(&self.inner) {
                "complete"
            } else {
                "cut short by the browser"
            };
            c.end(how);
        }
    }
}

/// An inspector page's event stream.
struct Feed(mpsc::Receiver<Bytes>);

impl http_body::Body for Feed {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.0.poll_recv(cx).map(|m| m.map(|b| Ok(Frame::data(b))))
    }
}
