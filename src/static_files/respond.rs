//! The answer for one request to one cached file version: 200, 206, 304, 412 or 416, in the
//! encoding the client prefers, from memory or streamed from the disk.

use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Method, Request, Response, StatusCode};

use super::cache::{Cache, Entry};
use super::conditional::{self, Verdict};
use super::encoding::Encoding;
use super::file_body::FileBody;
use super::range::{parse_range, Unsatisfiable};
use crate::body::{self, Body};

pub(super) async fn respond<B>(entry: &Entry, req: &Request<B>, cache: &Cache) -> Response<Body> {
    let h = req.headers();
    let verdict = conditional::evaluate(h, entry);
    if verdict == Verdict::Failed {
        return finish(
            StatusCode::PRECONDITION_FAILED,
            HeaderMap::new(),
            body::empty(),
        );
    }
    // A Range is served from the plain file; otherwise the client's preferred encoding.
    let range = match h.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        Some(r) if req.method() == Method::GET && conditional::if_range_holds(h, entry) => {
            Some(parse_range(r, entry.len))
        }
        _ => None,
    };
    let accept = h.get(header::ACCEPT_ENCODING).and_then(|v| v.to_str().ok());
    let encoded = match range {
        Some(_) => None,
        None => entry.compressed(accept, cache).await,
    };
    let mut headers = entry.headers.clone();
    if let Some((enc, _)) = &encoded {
        if let Ok(v) = HeaderValue::from_str(entry.variant_etag(*enc)) {
            headers.insert(header::ETAG, v);
        }
    }
    if verdict == Verdict::NotModified {
        // A 304 carries the validators and caching fields, not the representation's.
        headers.remove(header::CONTENT_TYPE);
        headers.remove(header::ACCEPT_RANGES);
        return finish(StatusCode::NOT_MODIFIED, headers, body::empty());
    }
    let len = entry.len;
    let (status, start, count) = match range {
        Some(Ok(Some((start, end)))) => {
            if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{end}/{len}")) {
                headers.insert(header::CONTENT_RANGE, v);
            }
            (StatusCode::PARTIAL_CONTENT, start, end - start + 1)
        }
        Some(Err(Unsatisfiable)) => {
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                headers.insert(header::CONTENT_RANGE, v);
            }
            headers.remove(header::CONTENT_TYPE);
            return finish(StatusCode::RANGE_NOT_SATISFIABLE, headers, body::empty());
        }
        _ => (StatusCode::OK, 0, len),
    };
    let head = req.method() == Method::HEAD;
    let part = Part {
        status,
        headers,
        start,
        count,
        head,
    };
    send(entry, req, part, encoded).await
}

/// The part of the file to send, with the headers so far.
struct Part {
    status: StatusCode,
    headers: HeaderMap,
    start: u64,
    count: u64,
    head: bool,
}

/// The body: the compressed form, a slice of the bytes in memory, or the file from the disk.
async fn send<B>(
    entry: &Entry,
    req: &Request<B>,
    part: Part,
    encoded: Option<(Encoding, Bytes)>,
) -> Response<Body> {
    let Part {
        status,
        mut headers,
        start,
        count,
        head,
    } = part;
    let bytes = match (encoded, &entry.data) {
        (Some((enc, bytes)), _) => {
            headers.insert(
                header::CONTENT_ENCODING,
                HeaderValue::from_static(enc.name()),
            );
            bytes
        }
        (None, Some(data)) => data.slice(start as usize..(start + count) as usize),
        (None, None) => {
            // Too large to keep: streamed from the disk.
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(count));
            if head {
                return finish(status, headers, body::empty());
            }
            return match FileBody::open(&entry.path, start, count).await {
                Ok(b) => finish(status, headers, body::boxed(b)),
                Err(e) => {
                    tracing::warn!("cannot read {}: {e}", entry.path.display());
                    body::text(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        format!(
                            "500 Internal Server Error: cannot read {}: {e}",
                            req.uri().path()
                        ),
                    )
                }
            };
        }
    };
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    let body = if head {
        body::empty()
    } else {
        body::full(bytes)
    };
    finish(status, headers, body)
}

fn finish(status: StatusCode, headers: HeaderMap, body: Body) -> Response<Body> {
    let mut res = Response::new(body);
    *res.status_mut() = status;
    *res.headers_mut() = headers;
    res
}
