//! One exchange as the inspector shows it: the request as the browser sent it and as devproxy
//! sent it upstream, the response as the backend sent it and as the browser got it, and a
//! preview of the response body.

use std::collections::VecDeque;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use http::HeaderMap;
use serde_json::{json, Value};

/// How many of the last events or messages are kept, and how long each may be.
const LAST: usize = 5;
const LAST_LEN: usize = 300;

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
    /// Until the request went upstream, and until the backend's head came back.
    pub sent_ms: Option<f64>,
    /// The backend address the connection reached (which of 127.0.0.1 and ::1, say).
    pub connected: Option<std::net::SocketAddr>,
    pub backend_ms: Option<f64>,
    /// Until the head is answered, then until the body ends.
    pub head_ms: Option<f64>,
    pub total_ms: Option<f64>,
    pub size: u64,
    pub failure: Option<String>,
    // Header maps are cloned as they are (values share their bytes): text is made only when
    // a page asks for the detail.
    pub browser_request: HeaderMap,
    pub upstream_request: HeaderMap,
    pub backend_response: HeaderMap,
    pub browser_response: HeaderMap,
    /// The first bytes of the response body, as they passed.
    pub preview: BytesMut,
    /// The first bytes of the request body, as they passed upstream.
    pub request_preview: BytesMut,
    /// Whether the body ended (or was cut) and how.
    pub ended: Option<String>,
    /// Why no rule took it, when it looked as if one should have.
    pub note: Option<String>,
    /// The browser's CORS verdict on a cross-origin call: `Ok` allowed, `Err` blocked.
    pub cors: Option<Result<String, String>>,
    /// Server-sent events in the body, or WebSocket messages, counted.
    pub events: u64,
    /// The last few events or messages, newest last.
    pub last: VecDeque<String>,
    /// An event stream: events are read out of the body as it passes.
    pub event_stream: bool,
    /// The part of an event not yet complete.
    pending: String,
    /// Left the inspector: previews are no longer kept (nor counted).
    released: bool,
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
            sent_ms: None,
            connected: None,
            backend_ms: None,
            head_ms: None,
            total_ms: None,
            size: 0,
            failure: None,
            browser_request: browser.clone(),
            upstream_request: HeaderMap::new(),
            backend_response: HeaderMap::new(),
            browser_response: HeaderMap::new(),
            preview: BytesMut::new(),
            request_preview: BytesMut::new(),
            ended: None,
            note: None,
            cors: None,
            events: 0,
            last: VecDeque::new(),
            event_stream: false,
            pending: String::new(),
            released: false,
        }
    }

    /// Keeps up to `limit` bytes of the body in the preview; returns the bytes kept.
    pub(crate) fn keep(&mut self, data: &Bytes, limit: usize) -> usize {
        self.size += data.len() as u64;
        if self.event_stream {
            self.read_events(data);
        }
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

    /// Counts the events completed in `data` and keeps the last few.
    fn read_events(&mut self, data: &[u8]) {
        self.pending.push_str(&String::from_utf8_lossy(data));
        while let Some(end) = self.pending.find("\n\n") {
            let event: String = self.pending.drain(..end + 2).collect();
            self.events += 1;
            self.remember(event.trim_end().to_string());
        }
        // An "event" that never ends is not kept whole.
        if self.pending.len() > 8 * 1024 {
            self.pending.clear();
        }
    }

    /// Keeps `item` among the last few shown, shortened.
    pub(crate) fn remember(&mut self, mut item: String) {
        if item.len() > LAST_LEN {
            let cut = (0..=LAST_LEN)
                .rev()
                .find(|i| item.is_char_boundary(*i))
                .unwrap_or(0);
            item.truncate(cut);
            item.push('…');
        }
        self.last.push_back(item);
        while self.last.len() > LAST {
            self.last.pop_front();
        }
    }

    /// Drops the previews (the record leaves the inspector); the bytes they held.
    pub(crate) fn release(&mut self) -> usize {
        let held = self.preview.len() + self.request_preview.len();
        self.released = true;
        self.preview = BytesMut::new();
        self.request_preview = BytesMut::new();
        held
    }

    /// The line of the list, as JSON text. Written by hand: with a page listening, one is made
    /// per request, and building a `Value` first costs several times more.
    pub(crate) fn summary_json(&self) -> String {
        use std::fmt::Write as _;
        let mut s = String::with_capacity(256);
        let _ = write!(s, r#"{{"id":{},"time":{},"method":"#, self.id, self.time_ms);
        quote(&mut s, &self.method);
        s.push_str(r#","path":"#);
        quote(&mut s, &self.path);
        s.push_str(r#","route":"#);
        quote(&mut s, &self.route);
        let _ = write!(s, r#","proxied":{},"upstream":"#, self.proxied);
        quote(&mut s, &self.upstream);
        let _ = write!(s, r#","status":{},"ms":"#, self.status);
        match self.total_ms.or(self.head_ms) {
            Some(ms) => {
                let _ = write!(s, "{ms:.3}");
            }
            None => s.push_str("null"),
        }
        let _ = write!(s, r#","size":{},"events":{}"#, self.size, self.events);
        for (name, value) in [
            ("failure", &self.failure),
            ("ended", &self.ended),
            ("note", &self.note),
        ] {
            let _ = write!(s, r#","{name}":"#);
            match value {
                Some(v) => quote(&mut s, v),
                None => s.push_str("null"),
            }
        }
        match &self.cors {
            Some(verdict) => {
                let _ = write!(s, r#","corsOk":{},"cors":"#, verdict.is_ok());
                quote(&mut s, verdict.as_ref().unwrap_or_else(|e| e));
            }
            None => s.push_str(r#","corsOk":null,"cors":null"#),
        }
        s.push('}');
        s
    }

    /// The line of the list.
    pub(crate) fn summary(&self) -> Value {
        serde_json::from_str(&self.summary_json()).unwrap_or(Value::Null)
    }

    /// Everything, for the detail view.
    pub(crate) fn detail(&self) -> Value {
        let pairs = |h: &HeaderMap| -> Value {
            h.iter()
                .map(|(k, v)| {
                    let v = String::from_utf8_lossy(v.as_bytes());
                    json!([k.as_str(), v, SECRET.contains(&k.as_str())])
                })
                .collect()
        };
        let mut v = self.summary();
        v["headMs"] = json!(self.head_ms);
        v["sentMs"] = json!(self.sent_ms);
        v["connected"] = json!(self.connected.map(|a| a.to_string()));
        v["backendMs"] = json!(self.backend_ms);
        v["browserRequest"] = pairs(&self.browser_request);
        v["upstreamRequest"] = pairs(&self.upstream_request);
        v["backendResponse"] = pairs(&self.backend_response);
        v["browserResponse"] = pairs(&self.browser_response);
        v["preview"] = preview(&self.preview);
        v["requestPreview"] = preview(&self.request_preview);
        v["last"] = json!(self.last);
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

/// `text` as a JSON string.
fn quote(out: &mut String, text: &str) {
    use std::fmt::Write as _;
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_are_json() {
        let mut r = Record::new(7, "GET", "/a?q=\"x\"\n", &HeaderMap::new());
        r.failure = Some("tab\there".into());
        let v: Value = serde_json::from_str(&r.summary_json()).unwrap();
        assert_eq!(v["path"], "/a?q=\"x\"\n");
        assert_eq!(v["failure"], "tab\there");
        assert_eq!(v["ms"], Value::Null);
        assert_eq!(v["id"], 7);
    }
}
