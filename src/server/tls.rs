//! HTTPS on the listening port: each connection's first byte says whether it is a TLS
//! handshake or plain HTTP. TLS is accepted (ALPN offers h2 and http/1.1); plain HTTP gets a
//! redirect to the same URL over https, so a typed `http://localhost:4280` still lands.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http::{header, Request, Response, StatusCode};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::body::{self, Body};

/// The TLS side of a listening port.
pub(crate) struct Tls {
    acceptor: TlsAcceptor,
    /// A browser refused the certificate: said once, with what to do.
    told_untrusted: AtomicBool,
}

/// A connection after its first byte was read.
pub(crate) enum Accepted {
    Tls(Box<TlsStream<TcpStream>>),
    /// Plain HTTP on the https port.
    Plain(TcpStream),
}

/// The first byte of every TLS connection: a handshake record.
const HANDSHAKE: u8 = 0x16;

impl Tls {
    pub(crate) fn new(config: Arc<rustls::ServerConfig>) -> Tls {
        Tls {
            acceptor: TlsAcceptor::from(config),
            told_untrusted: AtomicBool::new(false),
        }
    }

    /// Reads the first byte and completes the handshake when it is TLS, within `limit`.
    pub(crate) async fn accept(&self, stream: TcpStream, limit: Duration) -> Option<Accepted> {
        let mut first = [0u8; 1];
        let peeked = tokio::time::timeout(limit, stream.peek(&mut first)).await;
        if !matches!(peeked, Ok(Ok(1))) {
            return None;
        }
        if first[0] != HANDSHAKE {
            return Some(Accepted::Plain(stream));
        }
        match tokio::time::timeout(limit, self.acceptor.accept(stream)).await {
            Ok(Ok(tls)) => Some(Accepted::Tls(Box::new(tls))),
            Ok(Err(e)) => {
                self.refused(&e);
                None
            }
            Err(_) => None,
        }
    }

    /// Says once when a client refused the certificate (the usual first HTTPS surprise).
    fn refused(&self, e: &std::io::Error) {
        use rustls::AlertDescription as A;
        let untrusted = e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            .is_some_and(|r| {
                matches!(
                    r,
                    rustls::Error::AlertReceived(
                        A::BadCertificate | A::UnknownCA | A::CertificateUnknown
                    )
                )
            });
        if untrusted && !self.told_untrusted.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "a client refused devproxy's certificate (not trusted yet): see the start-up banner for how to trust it"
            );
        } else {
            tracing::debug!("TLS handshake failed: {e}");
        }
    }
}

/// The answer to plain HTTP on the https port: a redirect to the same URL over https (308
/// keeps the method and body), with a line that says so for clients that do not follow.
pub(crate) fn to_https<B>(req: &Request<B>) -> Response<Body> {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()));
    let Some(host) = host else {
        return body::text(
            StatusCode::BAD_REQUEST,
            "400 Bad Request: this port speaks HTTPS; use https://\n".to_string(),
        );
    };
    let url = format!("https://{host}{}", crate::url::path_and_query(req.uri()));
    let mut res = body::text(
        StatusCode::PERMANENT_REDIRECT,
        format!("This port speaks HTTPS: {url}\n"),
    );
    if let Ok(v) = http::HeaderValue::from_str(&url) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}
