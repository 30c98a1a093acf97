//! Live reload: DIR is watched; once a build's writes have settled, every open page of the app
//! reloads (or, when only stylesheets changed, swaps them in place). While a build is writing,
//! requests for files wait for it to settle, so a page never sees a 404 or a half-written file.

mod inject;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use notify::{RecursiveMode, Watcher};
use tokio::sync::{mpsc, watch};

pub(crate) use inject::inject;

use crate::body::{self, Body};

/// The script pages load; served under the reserved prefix.
pub(crate) const SCRIPT: &str = include_str!("live.js");
/// The tag added to HTML pages.
pub(crate) const TAG: &str = r#"<script src="/__devproxy/live.js" defer></script>"#;
/// A build has settled when nothing changed in DIR for this long.
const SETTLE: Duration = Duration::from_millis(150);
/// The longest a request waits for a build to settle before it is answered anyway.
const HOLD: Duration = Duration::from_secs(3);

/// The watcher's state, shared with the file server and the event stream.
pub(crate) struct LiveReload {
    /// `true` while a build is writing DIR.
    building: watch::Receiver<bool>,
    /// Open pages' event streams.
    pages: Mutex<Vec<mpsc::Sender<Bytes>>>,
}

impl LiveReload {
    /// Watches `dir` until `stop` turns true; then the pages' streams end.
    pub(crate) fn start(dir: &Path, stop: watch::Receiver<bool>) -> anyhow::Result<Arc<Self>> {
        let (building_tx, building) = watch::channel(false);
        let (events_tx, events) = mpsc::unbounded_channel::<PathBuf>();
        let building_now = building_tx.clone();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                let Ok(event) = event else { return };
                if matches!(event.kind, notify::EventKind::Access(_)) {
                    return;
                }
                // Said at once, on the watcher's thread: requests from now on wait.
                building_now.send_replace(true);
                for p in event.paths {
                    let _ = events_tx.send(p);
                }
            })
            .context("cannot start the file watcher")?;
        watcher
            .watch(dir, RecursiveMode::Recursive)
            .with_context(|| format!("cannot watch {}", dir.display()))?;
        let live = Arc::new(LiveReload {
            building,
            pages: Mutex::new(Vec::new()),
        });
        tokio::spawn(settle_loop(
            live.clone(),
            watcher,
            events,
            building_tx,
            stop,
        ));
        Ok(live)
    }

    /// Waits while a build is writing DIR (at most [`HOLD`]).
    pub(crate) async fn settled(&self) {
        if !*self.building.borrow() {
            return;
        }
        let mut building = self.building.clone();
        let _ = tokio::time::timeout(HOLD, building.wait_for(|b| !*b)).await;
    }

    /// Whether a build starts within `within` (a file just vanished or emptied: probably a
    /// build at work, whose first event is on its way).
    pub(crate) async fn build_starts(&self, within: Duration) -> bool {
        let mut building = self.building.clone();
        let started = tokio::time::timeout(within, building.wait_for(|b| *b)).await;
        started.is_ok_and(|r| r.is_ok())
    }

    /// `/__devproxy/events`: the stream a page listens to.
    pub(crate) fn events(&self) -> Response<Body> {
        let (tx, rx) = mpsc::channel(8);
        let _ = tx.try_send(Bytes::from_static(b": devproxy live reload\n\n"));
        self.pages
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(tx);
        let mut res = Response::new(body::boxed(Events(rx)));
        let h = res.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        res
    }

    /// `/__devproxy/live.js`.
    pub(crate) fn script() -> Response<Body> {
        let mut res = Response::new(body::full(SCRIPT));
        *res.status_mut() = StatusCode::OK;
        let h = res.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/javascript; charset=utf-8"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        res
    }

    /// Sends `event` to every open page; returns how many got it.
    fn tell(&self, event: &'static str) -> usize {
        let message = Bytes::from(format!("event: {event}\ndata: {event}\n\n"));
        let mut pages = self.pages.lock().unwrap_or_else(|e| e.into_inner());
        pages.retain(|p| p.try_send(message.clone()).is_ok() || !p.is_closed());
        pages.iter().filter(|p| !p.is_closed()).count()
    }
}

/// Collects changes until DIR is quiet for [`SETTLE`], then tells the pages.
async fn settle_loop(
    live: Arc<LiveReload>,
    watcher: notify::RecommendedWatcher,
    mut events: mpsc::UnboundedReceiver<PathBuf>,
    building: watch::Sender<bool>,
    mut stop: watch::Receiver<bool>,
) {
    let _watcher = watcher;
    loop {
        let first = tokio::select! {
            first = events.recv() => first,
            _ = stop.wait_for(|s| *s) => None,
        };
        let Some(first) = first else { break };
        let mut changed: HashSet<PathBuf> = HashSet::from([first]);
        loop {
            while let Ok(Some(p)) = tokio::time::timeout(SETTLE, events.recv()).await {
                changed.insert(p);
            }
            // The flag is set by the watcher's thread: clear it only with nothing pending.
            building.send_replace(false);
            if events.is_empty() {
                break;
            }
            building.send_replace(true);
        }
        let css_only = changed
            .iter()
            .all(|p| p.extension().is_some_and(|e| e == "css"));
        let event = if css_only { "css" } else { "reload" };
        let pages = live.tell(event);
        let what = if css_only {
            "stylesheets swapped"
        } else {
            "pages reloaded"
        };
        tracing::info!(
            "rebuild detected: {} file{} changed, {what} ({pages} open)",
            changed.len(),
            if changed.len() == 1 { "" } else { "s" }
        );
    }
    // Stopping: the pages' streams end.
    live.pages.lock().unwrap_or_else(|e| e.into_inner()).clear();
}

/// A page's event stream: what [`LiveReload::tell`] sends, until the page or devproxy goes.
struct Events(mpsc::Receiver<Bytes>);

impl http_body::Body for Events {
    type Data = Bytes;
    type Error = body::BoxError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|m| m.map(|b| Ok(http_body::Frame::data(b))))
    }
}
