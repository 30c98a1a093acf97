//! Header handling between browser and backend: hop-by-hop stripping, Host and
//! `changeOrigin`, `X-Forwarded-*`, `rewriteOrigin`, and the rule's extra headers.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

use crate::rules::{Rule, Target};
use crate::server::Peer;

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
pub(crate) fn is_upgrade(headers: &HeaderMap) -> bool {
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
pub(crate) fn strip_hop_by_hop(headers: &mut HeaderMap, keep_upgrade: bool) {
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

/// Turns the browser's request headers into the backend's.
pub(crate) fn to_upstream(
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
            rewrite_origin(headers, t, original_host.as_ref(), peer.tls);
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
            HeaderValue::from_static(match (upgrade, peer.tls) {
                (true, true) => "wss",
                (true, false) => "ws",
                (false, true) => "https",
                (false, false) => "http",
            }),
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
fn rewrite_origin(
    headers: &mut HeaderMap,
    target: &Target,
    browser_host: Option<&HeaderValue>,
    tls: bool,
) {
    let origin = format!("{}://{}", target.scheme(), target.authority());
    if headers.contains_key(header::ORIGIN) {
        if let Ok(v) = HeaderValue::from_str(&origin) {
            headers.insert(header::ORIGIN, v);
        }
    }
    let browser_origin = browser_host
        .and_then(|h| h.to_str().ok())
        .map(|h| format!("{}://{h}", if tls { "https" } else { "http" }));
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
