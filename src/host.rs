//! The Host check: DNS-rebinding protection, and no forward proxying by absolute-form targets.

use std::borrow::Cow;
use std::net::IpAddr;

use http::{header, Request, Response, StatusCode};

use crate::body::{self, Body};

/// DNS-rebinding protection: only requests addressed to this machine by a local name, an IP
/// literal, or a name the user allowed are served (as Vite's and webpack's `allowedHosts`).
#[derive(Debug, Clone, Default)]
pub struct HostCheck {
    /// Lower-cased names; a leading `.` allows the name and all its subdomains; `all` allows any.
    allowed: Vec<String>,
}

impl HostCheck {
    pub fn new(allowed: &[String]) -> Self {
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
        let name_ok = |h: &str| {
            !h.is_empty()
                && h.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_'))
        };
        if !host.starts_with('[') && !name_ok(host) {
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
        if bare == "localhost" || bare.ends_with(".localhost") {
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

    /// The refusal for a request that is not addressed to us, or `None` to serve it.
    pub fn refusal<B>(&self, req: &Request<B>) -> Option<Response<Body>> {
        match Self::host_of(req) {
            Err(()) => Some(body::text(
                StatusCode::BAD_REQUEST,
                "400 Bad Request: the Host header is malformed",
            )),
            Ok(None) => Some(body::text(
                StatusCode::BAD_REQUEST,
                "400 Bad Request: the request has no Host header",
            )),
            Ok(Some(h)) if self.allows(&h) => {
                // An absolute-form target must name the same host: devproxy is no forward proxy.
                match req.uri().host() {
                    Some(uh) if req.version() < http::Version::HTTP_2 && !same_host(uh, &h) => Some(body::text(
                        StatusCode::BAD_REQUEST,
                        "400 Bad Request: the request target names another host than Host; devproxy is not a forward proxy",
                    )),
                    _ => None,
                }
            }
            Ok(Some(h)) => Some(body::text(
                StatusCode::FORBIDDEN,
                format!(
                    "403 Forbidden: requests for host \"{h}\" are refused (DNS-rebinding protection).\n\
                     If you reach devproxy by this name on purpose, start it with --allowed-host {h}"
                ),
            )),
        }
    }

    /// Why a request was refused, for the log.
    pub fn reason<B>(&self, req: &Request<B>) -> String {
        match Self::host_of(req) {
            Ok(Some(h)) if self.allows(&h) => "request target names another host".into(),
            Ok(Some(h)) => format!("host \"{h}\" is not allowed (use --allowed-host {h})"),
            Ok(None) => "no Host header".into(),
            Err(()) => "malformed Host header".into(),
        }
    }
}

fn port_ok(rest: &str) -> bool {
    rest.strip_prefix(':')
        .is_some_and(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()))
}

fn same_host(a: &str, b: &str) -> bool {
    a.trim_start_matches('[')
        .trim_end_matches(']')
        .eq_ignore_ascii_case(b.trim_start_matches('[').trim_end_matches(']'))
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
        match check.refusal(&req(host)) {
            None => 200,
            Some(r) => r.status().as_u16(),
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
