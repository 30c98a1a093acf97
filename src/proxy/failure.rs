//! Why a backend exchange failed, classified by the error's type, and said in words for the
//! 502/504 page and the log line.

use http::StatusCode;

use super::upstream::{ResolveError, CONNECT_TIMEOUT};
use crate::rules::Target;

/// A failed exchange with a backend, by cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The TLS handshake failed; `bad_certificate` when the certificate was refused.
    Tls {
        reason: String,
        bad_certificate: bool,
    },
    /// Nothing listens on the port.
    Refused,
    /// Connecting took longer than [`CONNECT_TIMEOUT`].
    ConnectTimeout,
    /// The connection was reset or aborted.
    Reset,
    /// The backend closed the connection before a complete response.
    Incomplete,
    /// The backend's answer was not HTTP.
    InvalidResponse(String),
    /// The target's host name does not resolve.
    UnknownHost(String),
    /// Anything else: the error chain as text.
    Other(String),
}

impl Failure {
    /// Classifies an error from the connector or the connection.
    pub(crate) fn of(e: &(dyn std::error::Error + 'static)) -> Failure {
        let layers = layers(e);
        // A TLS error wins: it is often wrapped in an io::Error of another kind.
        if let Some(tls) = layers
            .iter()
            .find_map(|l| l.downcast_ref::<rustls::Error>())
        {
            return Failure::Tls {
                reason: tls.to_string(),
                bad_certificate: matches!(tls, rustls::Error::InvalidCertificate(_)),
            };
        }
        layers
            .iter()
            .find_map(|l| Self::of_layer(*l))
            .unwrap_or_else(|| Failure::Other(chain_text(&layers)))
    }

    fn of_layer(err: &(dyn std::error::Error + 'static)) -> Option<Failure> {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            match io.kind() {
                ConnectionRefused => return Some(Failure::Refused),
                TimedOut => return Some(Failure::ConnectTimeout),
                ConnectionReset | BrokenPipe | ConnectionAborted => return Some(Failure::Reset),
                _ => {}
            }
        }
        if let Some(h) = err.downcast_ref::<hyper::Error>() {
            if h.is_incomplete_message() {
                return Some(Failure::Incomplete);
            }
            if h.is_parse() || h.is_parse_status() {
                return Some(Failure::InvalidResponse(h.to_string()));
            }
        }
        err.downcast_ref::<ResolveError>()
            .map(|r| Failure::UnknownHost(r.host.clone()))
    }

    /// 504 for a connect timeout, else 502.
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Failure::ConnectTimeout => StatusCode::GATEWAY_TIMEOUT,
            _ => StatusCode::BAD_GATEWAY,
        }
    }

    /// The cause in words; `target` is the rule's, named as `host:port`.
    pub(crate) fn describe(&self, target: Option<&Target>) -> String {
        self.describe_with(
            target,
            " (set \"secure\": false on this rule to accept self-signed certificates)",
        )
    }

    /// [`Failure::describe`], with `advice` after a refused certificate.
    pub(crate) fn describe_with(&self, target: Option<&Target>, advice: &str) -> String {
        let at = target
            .map(|t| format!("{}:{}", t.host, t.port))
            .unwrap_or_default();
        match self {
            Failure::Tls {
                reason,
                bad_certificate,
            } => {
                let advice = if *bad_certificate { advice } else { "" };
                format!("TLS handshake with {at} failed: {reason}{advice}")
            }
            Failure::Refused => {
                let tried = match target {
                    Some(t) if crate::url::is_localhost(&t.host) => {
                        format!(" (tried 127.0.0.1:{0} and [::1]:{0})", t.port)
                    }
                    _ => String::new(),
                };
                format!("connection refused: nothing is listening on {at}{tried}; is the backend running?")
            }
            Failure::ConnectTimeout => format!(
                "could not connect to {at} within {} s",
                CONNECT_TIMEOUT.as_secs()
            ),
            Failure::Reset => format!("the backend at {at} reset the connection"),
            Failure::Incomplete => format!(
                "the backend at {at} closed the connection before sending a complete response"
            ),
            Failure::InvalidResponse(e) => {
                format!("the backend at {at} sent an invalid HTTP response ({e})")
            }
            Failure::UnknownHost(host) => format!("could not resolve the host name \"{host}\""),
            Failure::Other(text) => text.clone(),
        }
    }
}

/// Every error in a chain, including the one an `io::Error` wraps: its `source()` skips the
/// wrapped error itself, which is the one that names the cause.
fn layers<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> Vec<&'a (dyn std::error::Error + 'static)> {
    const MAX: usize = 32;
    let mut out = Vec::new();
    let mut next = Some(e);
    while let Some(err) = next.filter(|_| out.len() < MAX) {
        out.push(err);
        let wrapped = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .map(|i| i as &(dyn std::error::Error + 'static));
        next = wrapped.or_else(|| err.source());
    }
    out
}

/// The messages of a chain joined with ": ", each said once.
fn chain_text(layers: &[&(dyn std::error::Error + 'static)]) -> String {
    let mut messages: Vec<String> = Vec::new();
    for err in layers {
        let text = err.to_string();
        if !messages.iter().any(|m| m.contains(&text)) {
            messages.push(text);
        }
    }
    messages.join(": ")
}
