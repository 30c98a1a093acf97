//! Backend targets: `http(s)://` and `ws(s)://` URLs or Node's `{ protocol, host, port }`
//! objects, parsed with advice for the mistakes real files contain.

use crate::config::TargetSpec;

/// `http` or `https`, as `protocolRewrite` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    Http,
    Https,
}

impl Scheme {
    /// Either name, in any case.
    pub(crate) fn parse(s: &str) -> Option<Scheme> {
        if s.eq_ignore_ascii_case("http") {
            Some(Scheme::Http)
        } else if s.eq_ignore_ascii_case("https") {
            Some(Scheme::Https)
        } else {
            None
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// The backend a rule forwards to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    /// `true` for https:// and wss://.
    pub(crate) tls: bool,
    /// The target was written as ws:// or wss://.
    pub(crate) ws_scheme: bool,
    /// Host as written (IPv6 in brackets), lower-cased.
    pub(crate) host: String,
    pub(crate) port: u16,
    /// Path prefix from the target URL, as written ("" for none).
    pub(crate) base_path: String,
}

impl Target {
    pub(crate) fn scheme(&self) -> &'static str {
        if self.tls {
            "https"
        } else {
            "http"
        }
    }

    /// `host` or `host:port` when the port is not the scheme's default: the Host header value.
    pub(crate) fn authority(&self) -> String {
        let mut out = String::with_capacity(self.host.len() + 6);
        self.push_authority(&mut out);
        out
    }

    /// Appends [`Target::authority`] to `out`.
    pub(crate) fn push_authority(&self, out: &mut String) {
        use std::fmt::Write as _;
        out.push_str(&self.host);
        if self.port != if self.tls { 443 } else { 80 } {
            let _ = write!(out, ":{}", self.port);
        }
    }

    /// The target as written back, for logs (`ws://` kept for WebSocket targets).
    pub(crate) fn display(&self) -> String {
        let scheme = match (self.ws_scheme, self.tls) {
            (true, true) => "wss",
            (true, false) => "ws",
            (false, true) => "https",
            (false, false) => "http",
        };
        format!("{scheme}://{}{}", self.authority(), self.base_path)
    }
}

/// Parses a target into scheme, host, port and base path, with advice for common mistakes.
pub(crate) fn parse_target(spec: &TargetSpec) -> Result<Target, String> {
    let url = match spec {
        TargetSpec::Url(u) => u.trim().to_string(),
        TargetSpec::Parts {
            protocol,
            host,
            hostname,
            port,
            path,
        } => url_of_parts(protocol, host, hostname, port, path)?,
    };
    let Some((scheme, authority, tail)) = crate::url::split(&url) else {
        return Err(no_scheme(&url));
    };
    let (tls, ws_scheme) = match scheme.to_ascii_lowercase().as_str() {
        "http" => (false, false),
        "https" => (true, false),
        "ws" => (false, true),
        "wss" => (true, true),
        other => return Err(unsupported_scheme(&url, other)),
    };
    if authority.contains('@') {
        return Err(format!(
            "target \"{url}\": credentials in the URL are not supported"
        ));
    }
    let (host, port) = host_and_port(&url, authority)?;
    let port = match port {
        None | Some("") => {
            if tls {
                443
            } else {
                80
            }
        }
        Some(p) => port_number(&url, p)?,
    };
    let path = tail.split(['?', '#']).next().unwrap_or("");
    Ok(Target {
        tls,
        ws_scheme,
        host: host.to_ascii_lowercase(),
        port,
        base_path: path.to_string(),
    })
}

/// Node's `{ protocol, host, hostname, port, path }` as a URL.
fn url_of_parts(
    protocol: &Option<String>,
    host: &Option<String>,
    hostname: &Option<String>,
    port: &Option<String>,
    path: &Option<String>,
) -> Result<String, String> {
    let scheme = protocol
        .as_deref()
        .unwrap_or("http:")
        .trim_end_matches(':')
        .trim_end_matches("//")
        .trim_end_matches(':');
    let Some(h) = hostname.as_deref().or(host.as_deref()) else {
        return Err("target object needs \"host\" or \"hostname\"".into());
    };
    let mut u = format!("{scheme}://{h}");
    // Node's `host` may already carry the port; `hostname` never does.
    if let Some(p) = port {
        if hostname.is_some() || !h.contains(':') || h.ends_with(']') {
            u.push(':');
            u.push_str(p);
        }
    }
    if let Some(p) = path {
        if !p.starts_with('/') {
            u.push('/');
        }
        u.push_str(p);
    }
    Ok(u)
}

/// The advice for a target without `://`.
fn no_scheme(url: &str) -> String {
    if let Some((s, rest)) = url.split_once(':') {
        if ["http", "https", "ws", "wss"].contains(&s.to_ascii_lowercase().as_str()) {
            return format!(
                "target \"{url}\" is missing \"//\" after \"{s}:\"; did you mean \"{s}://{}\"?",
                rest.trim_start().trim_start_matches('/').trim_start()
            );
        }
        let looks_like_scheme = !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            && !rest.starts_with(|c: char| c.is_ascii_digit());
        if looks_like_scheme {
            return unsupported_scheme(url, s);
        }
    }
    let scheme = if url.ends_with(":443") {
        "https"
    } else {
        "http"
    };
    format!("target \"{url}\" has no scheme; did you mean \"{scheme}://{url}\"?")
}

fn unsupported_scheme(url: &str, scheme: &str) -> String {
    format!(
        "target \"{url}\": scheme \"{scheme}:\" is not supported; use http://, https://, ws:// or wss://"
    )
}

/// The host (IPv6 in brackets) and the port as written, checked.
fn host_and_port<'a>(url: &str, authority: &'a str) -> Result<(&'a str, Option<&'a str>), String> {
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let Some(close) = v6.find(']') else {
            return Err(format!("target \"{url}\": unclosed '[' in the host"));
        };
        let host = &authority[..close + 2];
        let port = match &v6[close + 1..] {
            "" => None,
            after => match after.strip_prefix(':') {
                Some(p) => Some(p),
                None => {
                    return Err(format!(
                        "target \"{url}\": unexpected \"{after}\" after the host"
                    ))
                }
            },
        };
        if crate::url::unbracket(host)
            .parse::<std::net::Ipv6Addr>()
            .is_err()
        {
            return Err(format!(
                "target \"{url}\": \"{host}\" is not an IPv6 address"
            ));
        }
        (host, port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(format!("target \"{url}\" has no host"));
    }
    if !host.starts_with('[') && !crate::url::is_host_name(host) {
        return Err(format!(
            "target \"{url}\": \"{host}\" is not a valid host name"
        ));
    }
    Ok((host, port))
}

fn port_number(url: &str, p: &str) -> Result<u16, String> {
    match p.parse::<u32>() {
        Ok(n) if (1..=65535).contains(&n) => Ok(n as u16),
        Ok(n) => Err(format!(
            "target \"{url}\": port {n} is out of range (1-65535)"
        )),
        Err(_) => Err(format!("target \"{url}\": port \"{p}\" is not a number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let t = |s: &str| parse_target(&TargetSpec::Url(s.into()));
        let ok = t("http://LocalHost:8080/base/").unwrap();
        assert_eq!(
            (ok.host.as_str(), ok.port, ok.base_path.as_str()),
            ("localhost", 8080, "/base/")
        );
        assert_eq!(t("https://h").unwrap().port, 443);
        assert!(t("ws://h:1").unwrap().ws_scheme);
        assert_eq!(t("http://[::1]:9").unwrap().authority(), "[::1]:9");
        assert_eq!(
            t("localhost").unwrap_err(),
            "target \"localhost\" has no scheme; did you mean \"http://localhost\"?"
        );
        assert_eq!(t("13.107.246.10:443").unwrap_err(), "target \"13.107.246.10:443\" has no scheme; did you mean \"https://13.107.246.10:443\"?");
        assert_eq!(
            t("http:localhost:8100").unwrap_err(),
            "target \"http:localhost:8100\" is missing \"//\" after \"http:\"; did you mean \"http://localhost:8100\"?"
        );
        assert_eq!(
            t("https: //host/path").unwrap_err(),
            "target \"https: //host/path\" is missing \"//\" after \"https:\"; did you mean \"https://host/path\"?"
        );
        assert_eq!(t("ftp://h").unwrap_err(), "target \"ftp://h\": scheme \"ftp:\" is not supported; use http://, https://, ws:// or wss://");
        assert_eq!(
            t("http://h:99999").unwrap_err(),
            "target \"http://h:99999\": port 99999 is out of range (1-65535)"
        );
        assert_eq!(t("http://").unwrap_err(), "target \"http://\" has no host");
        let parts = TargetSpec::Parts {
            protocol: Some("https:".into()),
            host: Some("example.test".into()),
            hostname: None,
            port: Some("8443".into()),
            path: None,
        };
        assert_eq!(
            parse_target(&parts).unwrap().display(),
            "https://example.test:8443"
        );
    }
}
