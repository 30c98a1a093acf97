//! The two halves of an upgraded connection joined byte for byte, with WebSocket frame
//! headers followed on the way (RFC 6455 §5.2, bytes untouched) so the end can be logged with
//! messages counted and who closed it.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};

use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::stream::{Stopping, StreamLog};
use crate::inspector::Capture;

/// Which side sent the first WebSocket Close frame.
const NOBODY: u8 = 0;
const BROWSER: u8 = 1;
const BACKEND: u8 = 2;

/// What one direction has carried.
#[derive(Default)]
struct Carried {
    bytes: AtomicU64,
    messages: AtomicU64,
}

/// Joins `browser` and `backend` until both directions end (or devproxy stops), then logs.
pub(super) async fn join(
    browser: Upgraded,
    backend: Upgraded,
    mut log: StreamLog,
    mut stopping: Stopping,
) {
    let (mut br, mut bw) = tokio::io::split(TokioIo::new(browser));
    let (mut kr, mut kw) = tokio::io::split(TokioIo::new(backend));
    let (up, down) = (Carried::default(), Carried::default());
    let first_close = AtomicU8::new(NOBODY);
    let capture = log.capture().map(Capture::handle);
    let capture = capture.as_ref();
    let mut to_backend =
        std::pin::pin!(pump(&mut br, &mut kw, &up, &first_close, BROWSER, capture));
    let mut to_browser = std::pin::pin!(pump(
        &mut kr,
        &mut bw,
        &down,
        &first_close,
        BACKEND,
        capture
    ));
    let (mut up_end, mut down_end) = (None, None);
    let mut first_eof = None;
    while up_end.is_none() || down_end.is_none() {
        tokio::select! {
            r = &mut to_backend, if up_end.is_none() => {
                first_eof.get_or_insert("the browser");
                up_end = Some(r);
            }
            r = &mut to_browser, if down_end.is_none() => {
                first_eof.get_or_insert("the backend");
                down_end = Some(r);
            }
            _ = &mut stopping => {
                first_eof = Some("devproxy (stopping)");
                break;
            }
        }
    }
    let error = [up_end, down_end]
        .into_iter()
        .flatten()
        .find_map(Result::err);
    let closed_by = match (first_close.load(Ordering::Relaxed), first_eof, error) {
        (_, Some(by @ "devproxy (stopping)"), _) => by.to_string(),
        (BROWSER, _, _) => "the browser".to_string(),
        (BACKEND, _, _) => "the backend".to_string(),
        (_, _, Some(e)) => format!("an error ({e})"),
        (_, by, None) => by.unwrap_or("the browser").to_string(),
    };
    log.up = up.bytes.load(Ordering::Relaxed);
    log.down = down.bytes.load(Ordering::Relaxed);
    let messages = (
        up.messages.load(Ordering::Relaxed),
        down.messages.load(Ordering::Relaxed),
    );
    log.end_with_messages(&closed_by, messages);
}

/// Copies `from` to `to` until `from` ends, following frame headers; shuts `to` down after.
async fn pump<R, W>(
    from: &mut R,
    to: &mut W,
    carried: &Carried,
    first_close: &AtomicU8,
    side: u8,
    capture: Option<&Capture>,
) -> std::io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; 16 * 1024];
    let mut frames = Frames::default();
    loop {
        let n = from.read(&mut buf).await?;
        if n == 0 {
            return to.shutdown().await;
        }
        to.write_all(&buf[..n]).await?;
        carried.bytes.fetch_add(n as u64, Ordering::Relaxed);
        let fed = frames.feed(&buf[..n]);
        carried.messages.fetch_add(fed.messages, Ordering::Relaxed);
        if let Some(c) = capture {
            let arrow = if side == BROWSER { "→" } else { "←" };
            for text in &fed.texts {
                c.message(arrow, text);
            }
        }
        if fed.closed {
            let _ =
                first_close.compare_exchange(NOBODY, side, Ordering::Relaxed, Ordering::Relaxed);
        }
    }
}

/// The longest message shown in the inspector, in bytes.
const SHOWN: usize = 1024;

/// What one chunk carried: messages completed, whether a Close frame began, and the text of
/// the short text messages among them.
#[derive(Debug, Default, PartialEq, Eq)]
struct Fed {
    messages: u64,
    closed: bool,
    texts: Vec<String>,
}

/// A reader of WebSocket frames across chunk boundaries. What is not a WebSocket is read as
/// frames too; the counts are then meaningless but harmless.
#[derive(Default)]
struct Frames {
    header: Vec<u8>,
    /// Payload bytes of the current frame still to come.
    payload_left: u64,
    /// The current frame: whether it ends a data message, and its mask key.
    ends_message: bool,
    data_frame: bool,
    mask: Option<[u8; 4]>,
    offset: usize,
    /// The current text message while it is short enough to show.
    text: Option<Vec<u8>>,
}

impl Frames {
    /// Follows `data`.
    fn feed(&mut self, mut data: &[u8]) -> Fed {
        let mut fed = Fed::default();
        while !data.is_empty() {
            if self.payload_left > 0 {
                let n = self.payload_left.min(data.len() as u64) as usize;
                self.collect(&data[..n]);
                self.payload_left -= n as u64;
                data = &data[n..];
                if self.payload_left == 0 {
                    self.frame_done(&mut fed);
                }
                continue;
            }
            self.header.push(data[0]);
            data = &data[1..];
            if let Some(h) = parse_header(&self.header) {
                self.header.clear();
                self.begin(h, &mut fed);
            }
        }
        fed
    }

    fn begin(&mut self, h: Header, fed: &mut Fed) {
        self.payload_left = h.len;
        self.mask = h.mask;
        self.offset = 0;
        // 0x8 is Close; control frames (0x8 and up) may come between a message's frames.
        fed.closed |= h.opcode == 8;
        self.data_frame = h.opcode <= 2;
        self.ends_message = h.fin && self.data_frame;
        match h.opcode {
            1 => self.text = (h.len as usize <= SHOWN).then(Vec::new),
            2 => self.text = None,
            _ => {}
        }
        if h.len == 0 {
            self.frame_done(fed);
        }
    }

    /// Keeps the (unmasked) payload of a short text message.
    fn collect(&mut self, payload: &[u8]) {
        let Some(text) = self.text.as_mut().filter(|_| self.data_frame) else {
            return;
        };
        if text.len() + payload.len() > SHOWN {
            self.text = None;
            return;
        }
        for &b in payload {
            let key = self.mask.map_or(0, |m| m[self.offset % 4]);
            text.push(b ^ key);
            self.offset += 1;
        }
    }

    fn frame_done(&mut self, fed: &mut Fed) {
        if self.ends_message {
            fed.messages += 1;
            if let Some(text) = self.text.take() {
                fed.texts.push(String::from_utf8_lossy(&text).into_owned());
            }
        }
    }
}

/// A frame's header, once complete.
struct Header {
    fin: bool,
    opcode: u8,
    len: u64,
    mask: Option<[u8; 4]>,
}

fn parse_header(h: &[u8]) -> Option<Header> {
    let (&b0, &b1) = (h.first()?, h.get(1)?);
    let ext = match b1 & 0x7f {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let masked = b1 & 0x80 != 0;
    let need = 2 + ext + if masked { 4 } else { 0 };
    if h.len() < need {
        return None;
    }
    let len = match ext {
        0 => u64::from(b1 & 0x7f),
        2 => u64::from(u16::from_be_bytes([h[2], h[3]])),
        _ => u64::from_be_bytes(h[2..10].try_into().ok()?),
    };
    let mask = masked.then(|| [h[need - 4], h[need - 3], h[need - 2], h[need - 1]]);
    Some(Header {
        fin: b0 & 0x80 != 0,
        opcode: b0 & 0x0f,
        len,
        mask,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_followed_across_chunks() {
        let mut f = Frames::default();
        let counts = |fed: Fed| (fed.messages, fed.closed);
        // A masked text frame "hi" split in three, then a 300-byte binary frame, then Close.
        let text = [0x81, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2];
        assert_eq!(counts(f.feed(&text[..1])), (0, false));
        assert_eq!(counts(f.feed(&text[1..5])), (0, false));
        let fed = f.feed(&text[5..]);
        assert_eq!(fed.texts, ["hi"]);
        assert_eq!(fed.messages, 1);
        let mut binary = vec![0x82, 126, 1, 44];
        binary.extend([0u8; 300]);
        assert_eq!(
            f.feed(&binary),
            Fed {
                messages: 1,
                closed: false,
                texts: vec![]
            }
        );
        assert_eq!(counts(f.feed(&[0x88, 0x00])), (0, true));
        // A fragmented message counts once, at its final frame, with its whole text.
        let fed = f.feed(&[0x01, 0x01, b'a', 0x80, 0x01, b'b']);
        assert_eq!((fed.messages, fed.texts), (1, vec!["ab".to_string()]));
    }
}
