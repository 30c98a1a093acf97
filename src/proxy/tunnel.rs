//! The two halves of an upgraded connection joined byte for byte, with WebSocket frame
//! headers followed on the way (RFC 6455 §5.2, bytes untouched) so the end can be logged with
//! messages counted and who closed it.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};

use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::stream::{Stopping, StreamLog};

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
    let mut to_backend = std::pin::pin!(pump(&mut br, &mut kw, &up, &first_close, BROWSER));
    let mut to_browser = std::pin::pin!(pump(&mut kr, &mut bw, &down, &first_close, BACKEND));
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
        let (messages, closed) = frames.feed(&buf[..n]);
        carried.messages.fetch_add(messages, Ordering::Relaxed);
        if closed {
            let _ =
                first_close.compare_exchange(NOBODY, side, Ordering::Relaxed, Ordering::Relaxed);
        }
    }
}

/// A reader of WebSocket frame headers across chunk boundaries. What is not a WebSocket is
/// read as frames too; the counts are then meaningless but harmless.
#[derive(Default)]
struct Frames {
    header: Vec<u8>,
    /// Payload bytes of the current frame still to come.
    payload_left: u64,
}

impl Frames {
    /// Follows `data`; returns the messages completed in it and whether a Close frame began.
    fn feed(&mut self, mut data: &[u8]) -> (u64, bool) {
        let (mut messages, mut closed) = (0, false);
        while !data.is_empty() {
            if self.payload_left > 0 {
                let n = self.payload_left.min(data.len() as u64);
                self.payload_left -= n;
                data = &data[n as usize..];
                continue;
            }
            self.header.push(data[0]);
            data = &data[1..];
            if let Some((fin, opcode, len)) = parse_header(&self.header) {
                self.header.clear();
                self.payload_left = len;
                // Text, binary or a continuation that ends a message; 0x8 is Close.
                messages += u64::from(fin && opcode <= 2);
                closed |= opcode == 8;
            }
        }
        (messages, closed)
    }
}

/// FIN, opcode and payload length, once the header is complete.
fn parse_header(h: &[u8]) -> Option<(bool, u8, u64)> {
    let (&b0, &b1) = (h.first()?, h.get(1)?);
    let ext = match b1 & 0x7f {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let mask = if b1 & 0x80 != 0 { 4 } else { 0 };
    if h.len() < 2 + ext + mask {
        return None;
    }
    let len = match ext {
        0 => u64::from(b1 & 0x7f),
        2 => u64::from(u16::from_be_bytes([h[2], h[3]])),
        _ => u64::from_be_bytes(h[2..10].try_into().ok()?),
    };
    Some((b0 & 0x80 != 0, b0 & 0x0f, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_followed_across_chunks() {
        let mut f = Frames::default();
        // A masked text frame "hi" split in three, then a 300-byte binary frame, then Close.
        let text = [0x81, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2];
        assert_eq!(f.feed(&text[..1]), (0, false));
        assert_eq!(f.feed(&text[1..5]), (0, false));
        assert_eq!(f.feed(&text[5..]), (1, false));
        let mut binary = vec![0x82, 126, 1, 44];
        binary.extend([0u8; 300]);
        assert_eq!(f.feed(&binary), (1, false));
        assert_eq!(f.feed(&[0x88, 0x00]), (0, true));
        // A fragmented message counts once, at its final frame.
        assert_eq!(f.feed(&[0x01, 0x01, b'a', 0x80, 0x01, b'b']), (1, false));
    }
}
