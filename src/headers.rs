//! Header handling between browser and backend: hop-by-hop stripping, Host and
//! `changeOrigin`, `X-Forwarded-*`, and the rule's extra headers.

use std::net::SocketAddr;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

use crate::rules::{Rule, Target};

/// Hop-by-hop headers (RFC 9110 §7.6.1) that are never forwarded, plus the de-facto ones
/// (`Keep-Alive`, `Proxy-Connection`) that older clients still send.
const HOP_BY_HOP: [HeaderName; 6] = [
    header::CONNECTION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    HeaderName::from_static("keep-alive"),
];

/// Does this request ask to switch protocols (`Connection: upgrade` plus `Upgrade`)?
pub fn is_upgrade(headers: &HeaderMap) -> bool {
    headers.contains_key(header::UPGRADE) && connection_has(headers, "upgrade")
}

fn connection_has(headers: &HeaderMap, token: &str) -> bool {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// Removes hop-by-hop headers: the fixed list, `Proxy-*`, and every header that `Connection`
/// names. With `keep_upgrade`, the handshake's `Connection: upgrade` and `Upgrade` survive.
pub fn strip_hop_by_hop(headers: &mut HeaderMap, keep_upgrade: bool) {
    // A message framed by Transfer-Encoding must not also carry Content-Length onwards:
    // the length no longer describes what we forward (RFC 9112 §6.3).
    if headers.contains_key(header::TRANSFER_ENCODING) {
        headers.remove(header::CONTENT_LENGTH);
    }
    let named: Vec<HeaderName> = if headers.contains_key(header::CONNECTION) {
        headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|t| HeaderName::from_bytes(t.trim().as_bytes()).ok())
            .collect()
    } else {
        Vec::new()
    };
    let upgrade = if keep_upgrade {
        headers.get(header::UPGRADE).cloned()
    } else {
        None
    };
    for name in named.iter().chain(HOP_BY_HOP.iter()) {
        headers.remove(name);
    }
    let is_proxy_header = |k: &HeaderName| k.as_str().starts_with("proxy-");
    if headers.keys().any(is_proxy_header) {
        let proxy_headers: Vec<HeaderName> = headers
            .keys()
            .filter(|k| is_proxy_header(k))
            .cloned()
            .collect();
        for name in proxy_headers {
            headers.remove(name);
        }
    }
    if let Some(up) = upgrade {
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, up);
    }
}

/// What the proxy knows about the browser's side of a request.
#[derive(Debug, Clone, Copy)]
pub struct Peer {
    pub remote: SocketAddr,
    /// The port devproxy accepted the request on.
    pub local_port: u16,
    /// How long the browser may leave a request body without sending a byte.
    pub body_idle: std::time::Duration,
}

/// Turns the browser's request headers into the backend's.
pub fn to_upstream(
    headers: &mut HeaderMap,
    rule: &Rule,
    target: Option<&Target>,
    peer: Peer,
    upgrade: bool,
) {
    let original_host = headers.get(header::HOST).cloned();
    strip_hop_by_hop(headers, upgrade);
    if let Some(t) = target {
        if rule.change_origin || original_host.is_none() {
            if let Ok(v) = HeaderValue::from_str(&t.authority()) {
                headers.insert(header::HOST, v);
            }
        }
        if rule.rewrite_origin || (upgrade && rule.rewrite_ws_origin) {
            rewrite_origin(headers, t, original_host.as_ref());
        }
    }
    if rule.xfwd {
        // Replace, never append: a page must not be able to choose the address a backend sees.
        let ip = peer.remote.ip().to_canonical();
        if let Ok(v) = HeaderValue::from_str(&ip.to_string()) {
            headers.insert(HeaderName::from_static("x-forwarded-for"), v);
        }
        headers.insert(
            HeaderName::from_static("x-forwarded-proto"),
            HeaderValue::from_static(if upgrade { "ws" } else { "http" }),
        );
        headers.insert(
            HeaderName::from_static("x-forwarded-port"),
            HeaderValue::from(peer.local_port),
        );
        match original_host {
            Some(h) => {
                headers.insert(HeaderName::from_static("x-forwarded-host"), h);
            }
            None => {
                headers.remove(HeaderName::from_static("x-forwarded-host"));
            }
        }
    }
    for (name, value) in &rule.headers {
        headers.insert(name.clone(), value.clone());
    }
}

/// `rewriteOrigin`: the backend sees requests as coming from its own origin, so CSRF and
/// WebSocket origin checks pass. `Referer` keeps its path, under the target's origin.
fn rewrite_origin(headers: &mut HeaderMap, target: &Target, browser_host: Option<&HeaderValue>) {
    let origin = format!("{}://{}", target.scheme(), target.authority());
    if headers.contains_key(header::ORIGIN) {
        if let Ok(v) = HeaderValue::from_str(&origin) {
            headers.insert(header::ORIGIN, v);
        }
    }
    let browser_origin = browser_host
        .and_then(|h| h.to_str().ok())
        .map(|h| format!("http://{h}"));
    let referer = headers.get(header::REFERER).and_then(|v| v.to_str().ok());
    if let (Some(referer), Some(browser_origin)) = (referer, browser_origin) {
        if let Some(rest) = referer.strip_prefix(&browser_origin) {
            if rest.is_empty() || rest.starts_with('/') {
                if let Ok(v) = HeaderValue::from_str(&format!("{origin}{rest}")) {
                    headers.insert(header::REFERER, v);
                }
            }
        }
    }
}

/// Applies `cookieDomainRewrite`, `cookiePathRewrite` and `cookies` to every `Set-Cookie`.
pub fn rewrite_set_cookies(headers: &mut HeaderMap, rule: &Rule) {
    if rule.cookie_domain.is_empty() && rule.cookie_path.is_empty() && rule.cookies.is_none() {
        return;
    }
    let rewritten: Vec<HeaderValue> = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| match v.to_str() {
            Ok(text) => {
                HeaderValue::from_str(&rewrite_cookie(text, rule)).unwrap_or_else(|_| v.clone())
            }
            Err(_) => v.clone(),
        })
        .collect();
    headers.remove(header::SET_COOKIE);
    for v in rewritten {
        headers.append(header::SET_COOKIE, v);
    }
}

/// One `Set-Cookie` value, rewritten. The `name=value` pair is never touched.
pub fn rewrite_cookie(cookie: &str, rule: &Rule) -> String {
    let mut parts = cookie.split(';');
    let pair = parts.next().unwrap_or("").trim().to_string();
    let mut attrs: Vec<(String, Option<String>)> = parts
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(|a| match a.split_once('=') {
            Some((k, v)) => (k.trim().to_string(), Some(v.trim().to_string())),
            None => (a.to_string(), None),
        })
        .collect();
    // http-proxy's rewriteCookieProperty: the mapping for the value, else "*"; "" removes.
    let mut map_attr = |name: &str, map: &[(String, String)]| {
        if map.is_empty() {
            return;
        }
        attrs.retain_mut(|(k, v)| {
            if !k.eq_ignore_ascii_case(name) {
                return true;
            }
            let current = v.clone().unwrap_or_default().to_ascii_lowercase();
            let new = map
                .iter()
                .find(|(from, _)| *from == current)
                .or_else(|| map.iter().find(|(from, _)| from == "*"))
                .map(|(_, to)| to.clone());
            match new {
                Some(to) if to.is_empty() => false,
                Some(to) => {
                    *v = Some(to);
                    true
                }
                None => true,
            }
        });
    };
    map_attr("domain", &rule.cookie_domain);
    map_attr("path", &rule.cookie_path);
    if let Some(c) = &rule.cookies {
        if let Some(domain) = &c.domain {
            attrs.retain(|(k, _)| !k.eq_ignore_ascii_case("domain"));
            if !domain.is_empty() {
                attrs.push(("Domain".into(), Some(domain.clone())));
            }
        }
        match c.secure {
            Some(false) => {
                attrs.retain(|(k, _)| !k.eq_ignore_ascii_case("secure"));
                // Chrome drops SameSite=None without Secure; on http it cannot be Secure.
                for (k, v) in attrs.iter_mut() {
                    if k.eq_ignore_ascii_case("samesite")
                        && v.as_deref().is_some_and(|v| v.eq_ignore_ascii_case("none"))
                        && c.same_site.is_none()
                    {
                        *v = Some("Lax".into());
                    }
                }
                // __Secure- and __Host- prefixed cookies are dropped by browsers without Secure;
                // their names are the backend's business, so they are left as they are.
            }
            Some(true) if !attrs.iter().any(|(k, _)| k.eq_ignore_ascii_case("secure")) => {
                attrs.push(("Secure".into(), None));
            }
            _ => {}
        }
        if let Some(same_site) = &c.same_site {
            attrs.retain(|(k, _)| !k.eq_ignore_ascii_case("samesite"));
            attrs.push(("SameSite".into(), Some(same_site.clone())));
        }
    }
    let mut out = pair;
    for (k, v) in attrs {
        out.push_str("; ");
        out.push_str(&k);
        if let Some(v) = v {
            out.push('=');
            out.push_str(&v);
        }
    }
    out
}

/// `autoRewrite`, `hostRewrite`, `protocolRewrite`: a redirect from the backend to its own
/// host is turned into one to devproxy (or the given host), as http-proxy does on
/// 201/301/302/307/308. With `autoRewrite` the scheme becomes http, which is what devproxy serves.
pub fn rewrite_location(
    headers: &mut HeaderMap,
    status: http::StatusCode,
    rule: &Rule,
    target: &Target,
    browser_host: Option<&str>,
) {
    if !matches!(status.as_u16(), 201 | 301 | 302 | 307 | 308) {
        return;
    }
    if !(rule.auto_rewrite || rule.host_rewrite.is_some() || rule.protocol_rewrite.is_some()) {
        return;
    }
    let Some(location) = headers.get(header::LOCATION).and_then(|v| v.to_str().ok()) else {
        return;
    };
    let Some((scheme, rest)) = location.split_once("://") else {
        return; // a relative redirect already lands on devproxy
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let default_port = if scheme.eq_ignore_ascii_case("https") {
        443
    } else {
        80
    };
    let same = authority.eq_ignore_ascii_case(&target.authority())
        || authority.eq_ignore_ascii_case(&format!("{}:{}", target.host, target.port))
        || (target.port == default_port && authority.eq_ignore_ascii_case(&target.host));
    if !same {
        return;
    }
    let host = match (&rule.host_rewrite, rule.auto_rewrite, browser_host) {
        (Some(h), _, _) => h.as_str(),
        (None, true, Some(b)) => b,
        _ => authority,
    };
    let scheme = match (&rule.protocol_rewrite, rule.auto_rewrite) {
        (Some(p), _) => p.as_str(),
        (None, true) => "http",
        (None, false) => scheme,
    };
    if let Ok(v) = HeaderValue::from_str(&format!("{scheme}://{host}{tail}")) {
        headers.insert(header::LOCATION, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_listed_and_named_headers() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("close, x-secret"),
        );
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert("proxy-authorization", HeaderValue::from_static("x"));
        h.insert(
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
        h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("3"));
        h.insert("x-keep", HeaderValue::from_static("1"));
        strip_hop_by_hop(&mut h, false);
        let left: Vec<&str> = h.keys().map(|k| k.as_str()).collect();
        assert_eq!(left, vec!["x-keep"]);
    }

    #[test]
    fn keeps_the_upgrade_handshake() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, Upgrade"),
        );
        h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        assert!(is_upgrade(&h));
        strip_hop_by_hop(&mut h, true);
        assert_eq!(
            h.get(header::CONNECTION).map(|v| v.as_bytes()),
            Some(&b"upgrade"[..])
        );
        assert_eq!(
            h.get(header::UPGRADE).map(|v| v.as_bytes()),
            Some(&b"websocket"[..])
        );
    }
}
