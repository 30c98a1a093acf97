//! One exchange as the inspector shows it: the request as the browser sent it and as devproxy
//! sent it upstream, the response as the backend sent it and as the browser got it, and a
//! preview of the response body.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use http::HeaderMap;
use serde_json::{json, Value};

/// Headers whose values are hidden in summaries until asked for (the page masks them).
const SECRET: [&str; 4] = [
    "authorization",
    "cookie",
    "set-cookie",
    "proxy-authorization",
];

/// What the inspector knows of one exchange.
#[derive(Debug)]
pub(crate) struct Record {
    pub id: u64,
    /// Milliseconds since the epoch, when the request arrived.
    pub time_ms: u128,
    pub started: Instant,
    pub method: String,
    pub path: String,
    /// The rule's name, or how the request was answered without one ("static", …).
    pub route: String,
    pub proxied: bool,
    pub upstream: String,
    pub status: u16,
    /// Until the head is answered, then until the body ends.
    pub head_ms: Option<f64>,
    pub total_ms: Option<f64>,
    pub size: u64,
    pub failure: Option<String>,
    pub browser_request: Vec<(String, String)>,
    pub upstream_request: Vec<(String, String)>,
    pub backend_response: Vec<(String, String)>,
    pub browser_response: Vec<(String, String)>,
    /// The first bytes of the response body, as they passed.
    pub preview: BytesMut,
    /// The first bytes of the request body, as they passed upstream.
    pub request_preview: BytesMut,
    /// Whether the body ended (or was cut) and how.
    pub ended: Option<String>,
    /// Why no rule took it, when it looked as if one should have.
    pub note: Option<String>,
    /// Server-sent events counted in the body.
    pub events: u64,
    /// Left the inspector: previews are no longer kept (nor counted).
    released: bool,
}

pub(crate) fn headers(h: &HeaderMap) -> Vec<(String, String)> {
    h.iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

impl Record {
    pub(crate) fn new(id: u64, method: &str, path: &str, browser: &HeaderMap) -> Record {
        Record {
            id,
            time_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis()),
            started: Instant::now(),
            method: method.to_string(),
            path: path.to_string(),
            route: String::new(),
            proxied: false,
            upstream: String::new(),
            status: 0,
            head_ms: None,
            total_ms: None,
            size: 0,
            failure: None,
            browser_request: headers(browser),
            upstream_request: Vec::new(),
            backend_response: Vec::new(),
            browser_response: Vec::new(),
            preview: BytesMut::new(),
            request_preview: BytesMut::new(),
            ended: None,
            note: None,
            events: 0,
            released: false,
        }
    }

    /// Keeps up to `limit` bytes of the body in the preview; returns the bytes kept.
    pub(crate) fn keep(&mut self, data: &Bytes, limit: usize) -> usize {
        self.size += data.len() as u64;
        self.events += data.windows(2).filter(|w| w == b"\n\n").count() as u64;
        Self::append(&mut self.preview, data, limit, self.released)
    }

    /// Keeps up to `limit` bytes of the request body; returns the bytes kept.
    pub(crate) fn keep_request(&mut self, data: &Bytes, limit: usize) -> usize {
        Self::append(&mut self.request_preview, data, limit, self.released)
    }

    fn append(preview: &mut BytesMut, data: &Bytes, limit: usize, released: bool) -> usize {
        if released {
            return 0;
        }
        let n = limit.saturating_sub(preview.len()).min(data.len());
        preview.extend_from_slice(&data[..n]);
        n
    }

    /// Drops the previews (the record leaves the inspector); the bytes they held.
    pub(crate) fn release(&mut self) -> usize {
        let held = self.preview.len() + self.request_preview.len();
        self.released = true;
        self.preview = BytesMut::new();
        self.request_preview = BytesMut::new();
        held
    }

    /// The line of the list.
    pub(crate) fn summary(&self) -> Value {
        json!({
            "id": self.id,
            "time": self.time_ms as u64,
            "method": self.method,
            "path": self.path,
            "route": self.route,
            "proxied": self.proxied,
            "upstream": self.upstream,
            "status": self.status,
            "ms": self.total_ms.or(self.head_ms),
            "size": self.size,
            "failure": self.failure,
            "ended": self.ended,
            "note": self.note,
            "events": self.events,
        })
    }

    /// Everything, for the detail view.
    pub(crate) fn detail(&self) -> Value {
        let pairs = |h: &[(String, String)]| -> Value {
            h.iter()
                .map(|(k, v)| json!([k, v, SECRET.contains(&k.as_str())]))
                .collect()
        };
        let mut v = self.summary();
        v["headMs"] = json!(self.head_ms);
        v["browserRequest"] = pairs(&self.browser_request);
        v["upstreamRequest"] = pairs(&self.upstream_request);
        v["backendResponse"] = pairs(&self.backend_response);
        v["browserResponse"] = pairs(&self.browser_response);
        v["preview"] = preview(&self.preview);
        v["requestPreview"] = preview(&self.request_preview);
        v
    }
}

/// The preview as text when it is UTF-8, else as hex.
fn preview(bytes: &[u8]) -> Value {
    match std::str::from_utf8(bytes) {
        Ok(text) => json!({ "text": text }),
        Err(e) if e.valid_up_to() + 4 >= bytes.len() => {
            // Cut in the middle of a character at the preview's end.
            json!({ "text": String::from_utf8_lossy(&bytes[..e.valid_up_to()]) })
        }
        Err(_) => {
            let hex: String = bytes
                .iter()
                .take(4096)
                .map(|b| format!("{b:02x}"))
                .collect();
            json!({ "hex": hex })
        }
    }
}
