//! The Host check: DNS-rebinding protection, and no forward proxying by absolute-form targets.

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;

use http::{header, Request, Response, StatusCode};

use crate::body::{self, Body};

/// DNS-rebinding protection: only requests addressed to this machine by a local name, an IP
/// literal, or a name the user allowed are served (as Vite's and webpack's `allowedHosts`).
#[derive(Debug, Clone, Default)]
pub(crate) struct HostCheck {
    /// Lower-cased names; a leading `.` allows the name and all its subdomains; `all` allows any.
    allowed: Vec<String>,
}

impl HostCheck {
    pub(crate) fn new(allowed: &[String]) -> Self {
        HostCheck {
            allowed: allowed
                .iter()
                .map(|h| h.trim().to_ascii_lowercase())
                .collect(),
        }
    }

    /// The host name the request is addressed to (Host header, or the HTTP/2 authority),
    /// lower-cased, without the port. Borrowed from the request in the usual case.
    fn host_of<B>(req: &Request<B>) -> Result<Option<Cow<'_, str>>, ()> {
        let mut hosts = req.headers().get_all(header::HOST).iter();
        let raw = match (hosts.next(), hosts.next()) {
            // Two Host headers make the request ambiguous (RFC 9112 §3.2): refuse it.
            (Some(_), Some(_)) => return Err(()),
            (Some(v), None) => v.to_str().map_err(|_| ())?,
            (None, _) => match req.uri().authority() {
                Some(a) => a.as_str(),
                None => return Ok(None),
            },
        };
        let raw = raw.trim();
        let (host, port) = match raw.strip_prefix('[') {
            Some(v6) => {
                let (addr, _) = v6.split_once(']').ok_or(())?;
                if addr.parse::<std::net::Ipv6Addr>().is_err() {
                    return Err(());
                }
                raw.split_at(addr.len() + 2)
            }
            None => match raw.rfind(':') {
                Some(i) => raw.split_at(i),
                None => (raw, ""),
            },
        };
        if !(port.is_empty() || port_ok(port)) {
            return Err(());
        }
        if !host.starts_with('[') && !crate::url::is_host_name(host) {
            return Err(());
        }
        Ok(Some(if host.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(host.to_ascii_lowercase())
        } else {
            Cow::Borrowed(host)
        }))
    }

    fn allows(&self, host: &str) -> bool {
        let bare = host.trim_end_matches('.');
        if crate::url::is_localhost(bare) {
            return true;
        }
        if host.starts_with('[') || bare.parse::<IpAddr>().is_ok() {
            return true;
        }
        self.allowed.iter().any(|a| {
            a == "all"
                || a == bare
                || a.strip_prefix('.')
                    .is_some_and(|d| bare == d || bare.ends_with(a.as_str()))
        })
    }

    /// `Ok` when the request is addressed to this machine, else why it is refused.
    pub(crate) fn check<B>(&self, req: &Request<B>) -> Result<(), Refusal> {
        let host = Self::host_of(req)
            .map_err(|()| Refusal::Malformed)?
            .ok_or(Refusal::NoHost)?;
        if !self.allows(&host) {
            return Err(Refusal::NotAllowed(host.into_owned()));
        }
        // An absolute-form target must name the same host: devproxy is no forward proxy.
        match req.uri().host() {
            Some(uh) if req.version() < http::Version::HTTP_2 && !same_host(uh, &host) => {
                Err(Refusal::ForwardProxy)
            }
            _ => Ok(()),
        }
    }
}

/// Why a request is refused by the Host check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Two Host headers, or one that is not `name[:port]`.
    Malformed,
    NoHost,
    /// An absolute-form target naming another host than Host.
    ForwardProxy,
    /// A name that is not local and not allowed: DNS rebinding, or a name to allow.
    NotAllowed(String),
}

impl fmt::Display for Refusal {
    /// The reason, for the log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Malformed => f.write_str("malformed Host header"),
            Refusal::NoHost => f.write_str("no Host header"),
            Refusal::ForwardProxy => f.write_str("request target names another host"),
            Refusal::NotAllowed(h) => {
                write!(f, "host \"{h}\" is not allowed (use --allowed-host {h})")
            }
        }
    }
}

impl Refusal {
    /// The answer the client gets.
    pub(crate) fn response(&self) -> Response<Body> {
        match self {
            Refusal::Malformed => body::text(
                StatusCode::BAD_REQUEST,
                "400 Bad Request: the Host header is malformed",
            ),
            Refusal::NoHost => body::text(
                StatusCode::BAD_REQUEST,
                "400 Bad Request: the request has no Host header",
            ),
            Refusal::ForwardProxy => body::text(
                StatusCode::BAD_REQUEST,
                "400 Bad Request: the request target names another host than Host; devproxy is not a forward proxy",
            ),
            Refusal::NotAllowed(h) => body::text(
                StatusCode::FORBIDDEN,
                format!(
                    "403 Forbidden: requests for host \"{h}\" are refused (DNS-rebinding protection).\n\
                     If you reach devproxy by this name on purpose, start it with --allowed-host {h}"
                ),
            ),
        }
    }
}

fn port_ok(rest: &str) -> bool {
    rest.strip_prefix(':')
        .is_some_and(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()))
}

fn same_host(a: &str, b: &str) -> bool {
    crate::url::unbracket(a).eq_ignore_ascii_case(crate::url::unbracket(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(host: &str) -> Request<()> {
        Request::builder()
            .uri("/")
            .header(header::HOST, host)
            .body(())
            .unwrap()
    }

    fn status(check: &HostCheck, host: &str) -> u16 {
        match check.check(&req(host)) {
            Ok(()) => 200,
            Err(r) => r.response().status().as_u16(),
        }
    }

    #[test]
    fn host_check() {
        let c = HostCheck::new(&["dev.example.test".into(), ".corp.test".into()]);
        for ok in [
            "localhost:4280",
            "LOCALHOST",
            "app.localhost",
            "127.0.0.1:1",
            "[::1]:4280",
            "192.168.1.9",
            "dev.example.test",
            "a.corp.test",
            "corp.test",
        ] {
            assert_eq!(status(&c, ok), 200, "{ok}");
        }
        for bad in ["evil.test", "example.test", "xcorp.test"] {
            assert_eq!(status(&c, bad), 403, "{bad}");
        }
        for malformed in ["[::1", "a b", "host:port", "[zz]:1", ""] {
            assert_eq!(status(&c, malformed), 400, "{malformed}");
        }
    }
}
