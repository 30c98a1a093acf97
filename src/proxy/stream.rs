//! Long-lived exchanges: server-sent events and WebSocket tunnels. Each says in one log line
//! when it ends (how long it lasted, how much passed, who closed it), and each ends at once
//! when devproxy stops, so Ctrl-C never waits on a stream that never finishes.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body::Frame;
use tokio::sync::watch;

use crate::body::BoxError;
use crate::inspector::Capture;

/// A future that is ready once devproxy is stopping.
pub(crate) type Stopping = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The future for `stop` turning true (or its sender going away).
pub(crate) fn stopping(stop: &watch::Receiver<bool>) -> Stopping {
    let mut stop = stop.clone();
    Box::pin(async move {
        let _ = stop.wait_for(|s| *s).await;
    })
}

/// What one stream did, logged when it ends.
pub(crate) struct StreamLog {
    kind: &'static str,
    path: String,
    rule: String,
    start: Instant,
    /// What passed: (bytes up, bytes down); SSE counts events down instead of bytes up.
    pub up: u64,
    pub down: u64,
    events: Option<u64>,
    /// The inspector's record, told of the end too.
    capture: Option<Capture>,
}

impl StreamLog {
    pub(crate) fn new(kind: &'static str, path: &str, rule: &str) -> StreamLog {
        StreamLog {
            kind,
            path: path.to_string(),
            rule: rule.to_string(),
            start: Instant::now(),
            up: 0,
            down: 0,
            events: None,
            capture: None,
        }
    }

    /// The inspector's record, when there is one.
    pub(crate) fn capture(&self) -> Option<&Capture> {
        self.capture.as_ref()
    }

    /// Tells the inspector's record of the end as well.
    pub(crate) fn with_capture(mut self, capture: Option<Capture>) -> Self {
        self.capture = capture;
        self
    }

    /// Logs the end: `closed_by` is "the browser", "the backend", "devproxy (stopping)", or
    /// an error.
    pub(crate) fn end(&self, closed_by: &str) {
        let what = match self.events {
            Some(n) => format!("{n} event{}, {}", plural(n), size(self.down)),
            None => format!("{} up, {} down", size(self.up), size(self.down)),
        };
        self.write(closed_by, &what);
    }

    /// Logs the end of a WebSocket: messages (up, down) and bytes.
    pub(crate) fn end_with_messages(&self, closed_by: &str, (up, down): (u64, u64)) {
        let what = format!(
            "{up} message{} up, {down} down; {} up, {} down",
            plural(up),
            size(self.up),
            size(self.down)
        );
        self.write(closed_by, &what);
    }

    fn write(&self, closed_by: &str, what: &str) {
        if let Some(c) = &self.capture {
            let took = duration(self.start.elapsed());
            c.ended(&format!(
                "{} closed by {closed_by} after {took} ({what})",
                self.kind
            ));
        }
        tracing::info!(
            rule = %self.rule,
            "{} {} closed by {closed_by} after {} ({what})",
            self.kind,
            self.path,
            duration(self.start.elapsed()),
        );
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn size(bytes: u64) -> String {
    match bytes {
        0..1024 => format!("{bytes} B"),
        1024..1_048_576 => format!("{:.1} KiB", bytes as f64 / 1024.0),
        _ => format!("{:.1} MiB", bytes as f64 / 1_048_576.0),
    }
}

fn duration(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// A server-sent events body: counted as it passes, logged when it ends, and ended when
/// devproxy stops.
pub(crate) struct EventStream<B> {
    inner: B,
    log: Option<StreamLog>,
    stopping: Stopping,
}

impl<B> EventStream<B> {
    pub(crate) fn new(inner: B, mut log: StreamLog, stopping: Stopping) -> Self {
        log.events = Some(0);
        EventStream {
            inner,
            log: Some(log),
            stopping,
        }
    }

    fn end(&mut self, closed_by: &str) {
        if let Some(log) = self.log.take() {
            log.end(closed_by);
        }
    }
}

impl<B> http_body::Body for EventStream<B>
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if this.log.is_some() && this.stopping.as_mut().poll(cx).is_ready() {
            this.end("devproxy (stopping)");
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let (Some(data), Some(log)) = (frame.data_ref(), this.log.as_mut()) {
                    log.down += data.len() as u64;
                    // An event ends with a blank line.
                    let events = data.windows(2).filter(|w| w == b"\n\n").count() as u64;
                    log.events = log.events.map(|n| n + events);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => {
                let e: BoxError = e.into();
                this.end(&format!("an error ({e})"));
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(None) => {
                this.end("the backend");
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
}

impl<B> Drop for EventStream<B> {
    fn drop(&mut self) {
        // Dropped before its end: the browser went away.
        self.end("the browser");
    }
}
