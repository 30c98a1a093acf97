//! `Set-Cookie` rewrites: http-proxy's `cookieDomainRewrite` and `cookiePathRewrite`, and
//! devproxy's `cookies`, which make a remote backend's cookies stick on `http://localhost`.

use http::header::{self, HeaderMap, HeaderValue};

use crate::rules::CookieRewrite;

/// Applies `cookieDomainRewrite`, `cookiePathRewrite` and `cookies` to every `Set-Cookie`.
pub(crate) fn rewrite_set_cookies(headers: &mut HeaderMap, rewrite: &CookieRewrite) {
    if rewrite.is_empty() {
        return;
    }
    let rewritten: Vec<HeaderValue> = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| match v.to_str() {
            Ok(text) => {
                HeaderValue::from_str(&rewrite_cookie(text, rewrite)).unwrap_or_else(|_| v.clone())
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
fn rewrite_cookie(cookie: &str, rewrite: &CookieRewrite) -> String {
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
    map_attr("domain", &rewrite.domain);
    map_attr("path", &rewrite.path);
    if let Some(c) = &rewrite.local {
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
            attrs.push(("SameSite".into(), Some(same_site.as_str().into())));
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
