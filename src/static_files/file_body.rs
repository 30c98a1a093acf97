//! A file too large for the cache, streamed from the disk in chunks.

use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http_body::Frame;
use tokio::io::AsyncRead;

use crate::body::BoxError;

/// Chunk size when streaming a file too large for the cache.
const STREAM_CHUNK: usize = 256 * 1024;

/// A file too large for the cache, streamed from the disk in chunks.
pub(super) struct FileBody {
    file: tokio::fs::File,
    remaining: u64,
    buf: BytesMut,
}

impl FileBody {
    pub(super) async fn open(path: &Path, start: u64, count: u64) -> std::io::Result<Self> {
        use tokio::io::AsyncSeekExt as _;
        let mut file = tokio::fs::File::open(path).await?;
        if start > 0 {
            file.seek(std::io::SeekFrom::Start(start)).await?;
        }
        Ok(FileBody {
            file,
            remaining: count,
            buf: BytesMut::new(),
        })
    }
}

impl http_body::Body for FileBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if this.remaining == 0 {
            return Poll::Ready(None);
        }
        let want = (this.remaining as usize).min(STREAM_CHUNK);
        this.buf.resize(want, 0);
        let mut read = tokio::io::ReadBuf::new(&mut this.buf[..]);
        match Pin::new(&mut this.file).poll_read(cx, &mut read) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(Ok(())) => {
                let n = read.filled().len();
                if n == 0 {
                    let e = format!(
                        "the file shrank by {} bytes while being sent",
                        this.remaining
                    );
                    return Poll::Ready(Some(Err(e.into())));
                }
                this.remaining -= n as u64;
                this.buf.truncate(n);
                Poll::Ready(Some(Ok(Frame::data(this.buf.split().freeze()))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.remaining)
    }
}
