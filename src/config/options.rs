//! The option table: every key a rule may hold, how its JSON value is read into [`RawRule`],
//! and what is said about keys devproxy does not act on (JavaScript-only, not supported,
//! typos).

use super::dedup;
use super::diagnostic::At;
use super::jsonc::{Kind, Member, Pos, Value};
use super::raw::{CookieSpec, CorsSpec, Entry, RawRule, Route, SameSite, TargetSpec};

/// Warnings met while reading a rule's options; reported once the rule's name is known.
pub(crate) type Warnings = Vec<(Pos, String)>;

type Read = fn(&mut RawRule, &Value, &mut Warnings) -> Result<(), String>;

/// An option devproxy implements.
struct Known {
    name: &'static str,
    read: Read,
    /// `context` and `pathFilter`: in the object form the key is the pattern.
    array_form_only: bool,
}

/// An option read by `$read($name, value, warnings)` into `Some(..)` of a field.
macro_rules! option {
    ($name:literal, $field:ident, $read:path) => {
        Known {
            name: $name,
            read: |r, v, w| {
                r.$field = Some($read($name, v, w)?);
                Ok(())
            },
            array_form_only: false,
        }
    };
}

/// An object of strings read into a list of entries.
macro_rules! entries {
    ($name:literal, $field:ident, $wanted:literal) => {
        Known {
            name: $name,
            read: |r, v, w| {
                r.$field = object_of_strings($name, $wanted, v, w)?;
                Ok(())
            },
            array_form_only: false,
        }
    };
}

/// `cookieDomainRewrite` / `cookiePathRewrite`: a string, `false`, or an object of strings.
macro_rules! cookie_rewrite {
    ($name:literal, $field:ident) => {
        Known {
            name: $name,
            read: |r, v, w| {
                r.$field = match &v.kind {
                    Kind::String(s) => vec![(At::new("*".to_string(), v.pos), s.clone())],
                    Kind::Bool(false) => Vec::new(),
                    _ => {
                        object_of_strings($name, "a string, false, or an object of strings", v, w)?
                    }
                };
                Ok(())
            },
            array_form_only: false,
        }
    };
}

const OPTIONS: &[Known] = &[
    Known {
        name: "target",
        read: |r, v, _| {
            r.target = Some(At::new(target_spec(v)?, v.pos));
            Ok(())
        },
        array_form_only: false,
    },
    option!("changeOrigin", change_origin, boolean),
    entries!(
        "pathRewrite",
        path_rewrite,
        "an object of regular expressions to replacements"
    ),
    option!("ws", ws, boolean),
    option!("secure", secure, boolean),
    entries!("headers", headers, "an object of header names to values"),
    option!("xfwd", xfwd, boolean),
    option!("logLevel", log_level, text),
    option!("proxyTimeout", proxy_timeout, millis),
    option!("timeout", timeout, millis),
    Known {
        name: "context",
        read: |r, v, _| context("context", r, v),
        array_form_only: true,
    },
    Known {
        name: "pathFilter",
        read: |r, v, _| context("pathFilter", r, v),
        array_form_only: true,
    },
    cookie_rewrite!("cookieDomainRewrite", cookie_domain_rewrite),
    cookie_rewrite!("cookiePathRewrite", cookie_path_rewrite),
    Known {
        name: "cookies",
        read: |r, v, w| {
            r.cookies = cookies(v, w)?;
            Ok(())
        },
        array_form_only: false,
    },
    Known {
        name: "cors",
        read: |r, v, w| {
            r.cors = cors(v, w)?.map(|spec| At::new(spec, v.pos));
            Ok(())
        },
        array_form_only: false,
    },
    option!("autoRewrite", auto_rewrite, boolean),
    option!("hostRewrite", host_rewrite, text),
    option!("protocolRewrite", protocol_rewrite, text),
    option!("followRedirects", follow_redirects, boolean),
    Known {
        name: "auth",
        read: |r, v, w| {
            let auth = text("auth", v, w)?;
            if auth.value.is_empty() {
                // http-proxy sends no credentials for an empty string.
                w.push((
                    v.pos,
                    "\"auth\" is empty, so no credentials are sent".into(),
                ));
            } else {
                r.auth = Some(auth);
            }
            Ok(())
        },
        array_form_only: false,
    },
    option!("ignorePath", ignore_path, boolean),
    option!("prependPath", prepend_path, boolean),
    Known {
        name: "router",
        read: |r, v, _| {
            r.router = router(v)?;
            Ok(())
        },
        array_form_only: false,
    },
    option!("rewriteOrigin", rewrite_origin, boolean),
    option!("rewriteWsOrigin", rewrite_ws_origin, boolean),
    option!("envProxy", env_proxy, boolean),
];

/// http-proxy options that are valid but that devproxy does not act on.
const NOT_YET: &[&str] = &[
    "toProxy",
    "preserveHeaderKeyCase",
    "localAddress",
    "agent",
    "ssl",
    "forward",
    "selfHandleResponse",
    "buffer",
    "method",
    "logProvider",
    "logger",
];

/// Options that only exist as JavaScript functions or objects and cannot be written in JSON.
const JS_ONLY: &[(&str, &str)] = &[
    ("bypass", "a JavaScript function"),
    ("rewrite", "Vite's JavaScript function"),
    ("configure", "Vite's JavaScript function"),
    ("onProxyReq", "a JavaScript function"),
    ("onProxyReqWs", "a JavaScript function"),
    ("onProxyRes", "a JavaScript function"),
    ("onError", "a JavaScript function"),
    ("onOpen", "a JavaScript function"),
    ("onClose", "a JavaScript function"),
    ("on", "an object of JavaScript functions"),
    ("plugins", "a list of JavaScript functions"),
    ("ejectPlugins", "about JavaScript plugins"),
    ("filter", "a JavaScript function"),
];

/// Reads one member of a rule object into `rule`. A wrong type is an error (the rule becomes
/// unusable); anything else worth saying goes to `warnings`.
pub(crate) fn read(
    rule: &mut RawRule,
    m: &Member,
    array_form: bool,
    warnings: &mut Warnings,
) -> Result<(), String> {
    let key = m.key.as_str();
    match OPTIONS.iter().find(|o| o.name == key) {
        Some(o) if o.array_form_only && !array_form => warnings.push((
            m.key_pos,
            format!("\"{key}\" is ignored in the object form: the key of the rule is its pattern"),
        )),
        Some(o) => (o.read)(rule, &m.value, warnings)?,
        None => warnings.push((m.key_pos, unknown_key(key))),
    }
    Ok(())
}

/// What to say about a key that is not an option devproxy implements.
fn unknown_key(key: &str) -> String {
    if let Some((_, what)) = JS_ONLY.iter().find(|(k, _)| *k == key) {
        let instead = if key == "rewrite" {
            "; use \"pathRewrite\": { \"^/from\": \"/to\" } instead"
        } else {
            ""
        };
        return format!("\"{key}\" is {what}, which JSON cannot express; ignored{instead}");
    }
    if NOT_YET.contains(&key) {
        return format!("\"{key}\" is not supported by devproxy; ignored");
    }
    let hint = did_you_mean(key)
        .map(|s| format!("; did you mean \"{s}\"?"))
        .unwrap_or_default();
    format!("unknown option \"{key}\" is ignored{hint}")
}

/// Whether `key` names an option (implemented, JavaScript-only or not supported).
pub(crate) fn is_known(key: &str) -> bool {
    all_names().any(|k| k == key)
}

fn all_names() -> impl Iterator<Item = &'static str> {
    OPTIONS
        .iter()
        .map(|o| o.name)
        .chain(NOT_YET.iter().copied())
        .chain(JS_ONLY.iter().map(|(k, _)| *k))
}

/// The closest known option, when the key looks like a typo of it.
fn did_you_mean(key: &str) -> Option<&'static str> {
    let lower = key.to_ascii_lowercase();
    let mut best: Option<(usize, &'static str)> = None;
    for cand in all_names() {
        let d = strsim::levenshtein(&lower, &cand.to_ascii_lowercase());
        if d <= 2.max(cand.len() / 5) && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, cand));
        }
    }
    best.map(|(_, c)| c)
}

/// A value as written, for messages: strings quoted, others by type and value.
fn shown(v: &Value) -> String {
    match &v.kind {
        Kind::String(s) => format!("\"{s}\""),
        Kind::Number(raw, _) => raw.clone(),
        Kind::Bool(b) => b.to_string(),
        _ => v.type_name().to_string(),
    }
}

/// `true`/`false`; the strings "true" and "false" are read as booleans, with a warning.
fn boolean(key: &str, v: &Value, warnings: &mut Warnings) -> Result<At<bool>, String> {
    let b = match &v.kind {
        Kind::Bool(b) => *b,
        Kind::String(s) if s == "true" || s == "false" => {
            warnings.push((
                v.pos,
                format!("\"{key}\": \"{s}\" is a string; read as the boolean {s} (write it without quotes)"),
            ));
            s == "true"
        }
        _ => {
            return Err(format!(
                "{key} must be true or false, found {} at {}",
                shown(v),
                v.pos
            ))
        }
    };
    Ok(At::new(b, v.pos))
}

fn text(key: &str, v: &Value, _: &mut Warnings) -> Result<At<String>, String> {
    match &v.kind {
        Kind::String(s) => Ok(At::new(s.clone(), v.pos)),
        _ => Err(format!("{key} must be a string, found {}", shown(v))),
    }
}

/// A number of milliseconds; a string holding a number is read as one, with a warning.
fn millis(key: &str, v: &Value, warnings: &mut Warnings) -> Result<At<f64>, String> {
    let n = match &v.kind {
        Kind::Number(_, n) => *n,
        Kind::String(s) => match s.trim().parse::<f64>() {
            Ok(n) => {
                warnings.push((
                    v.pos,
                    format!("\"{key}\": \"{s}\" is a string; read as the number {s}"),
                ));
                n
            }
            Err(_) => return Err(not_millis(key, v)),
        },
        _ => return Err(not_millis(key, v)),
    };
    Ok(At::new(n, v.pos))
}

fn not_millis(key: &str, v: &Value) -> String {
    format!("{key} must be a number of milliseconds, found {}", shown(v))
}

fn context(key: &str, rule: &mut RawRule, v: &Value) -> Result<(), String> {
    match &v.kind {
        Kind::String(s) => rule.patterns.push(At::new(s.clone(), v.pos)),
        Kind::Array(items) => {
            for it in items {
                let Kind::String(s) = &it.kind else {
                    return Err(format!(
                        "{key} entries must be strings, found {} at {}",
                        it.type_name(),
                        it.pos
                    ));
                };
                rule.patterns.push(At::new(s.clone(), it.pos));
            }
        }
        _ => {
            return Err(format!(
                "{key} must be a string or an array of strings, found {}",
                v.type_name()
            ))
        }
    }
    Ok(())
}

/// An object whose values must all be strings (numbers are taken as written).
fn object_of_strings(
    key: &str,
    wanted: &str,
    v: &Value,
    warnings: &mut Warnings,
) -> Result<Vec<Entry>, String> {
    let Kind::Object(map) = &v.kind else {
        return Err(format!("{key} must be {wanted}, found {}", v.type_name()));
    };
    let mut out = Vec::new();
    for e in dedup(map, |p, m| warnings.push((p, m))) {
        let value = match &e.value.kind {
            Kind::String(s) => s.clone(),
            Kind::Number(raw, _) => raw.clone(),
            _ => {
                return Err(format!(
                    "{key} \"{}\" must map to a string, found {} at {}",
                    e.key,
                    e.value.type_name(),
                    e.value.pos
                ))
            }
        };
        out.push((At::new(e.key.clone(), e.key_pos), value));
    }
    Ok(out)
}

/// `cookies`: `true` for the settings a remote backend's cookies need on `http://localhost`,
/// or an object choosing each.
fn cookies(v: &Value, warnings: &mut Warnings) -> Result<Option<CookieSpec>, String> {
    let members = match &v.kind {
        Kind::Bool(true) => {
            return Ok(Some(CookieSpec {
                domain: Some(String::new()),
                secure: Some(false),
                same_site: Some(SameSite::Lax),
            }))
        }
        Kind::Bool(false) => return Ok(None),
        Kind::Object(members) => members,
        _ => {
            return Err(format!(
                "cookies must be true or an object {{ \"domain\", \"secure\", \"sameSite\" }}, found {}",
                v.type_name()
            ))
        }
    };
    let mut c = CookieSpec::default();
    for m in members {
        match (m.key.as_str(), &m.value.kind) {
            ("domain", Kind::String(s)) => c.domain = Some(s.clone()),
            ("secure", Kind::Bool(b)) => c.secure = Some(*b),
            ("sameSite", Kind::String(s)) => {
                c.same_site = Some(SameSite::parse(s).ok_or_else(|| {
                    format!("cookies.sameSite must be \"Lax\", \"Strict\" or \"None\", found \"{s}\"")
                })?);
            }
            ("domain" | "secure" | "sameSite", _) => {
                return Err(format!(
                    "cookies.{} has the wrong type ({}) at {}",
                    m.key,
                    m.value.type_name(),
                    m.value.pos
                ))
            }
            (other, _) => warnings.push((
                m.key_pos,
                format!("unknown key \"{other}\" in cookies is ignored (known: domain, secure, sameSite)"),
            )),
        }
    }
    Ok(Some(c))
}

/// `cors`: `true` (the page's own and loopback origins), `false`, a list of origins, or an
/// object `{ origins, methods, headers, exposeHeaders, credentials, maxAge, privateNetwork }`.
fn cors(v: &Value, warnings: &mut Warnings) -> Result<Option<CorsSpec>, String> {
    let members = match &v.kind {
        Kind::Bool(true) => return Ok(Some(CorsSpec::default())),
        Kind::Bool(false) => return Ok(None),
        Kind::Array(_) => {
            let origins = strings("cors", v)?;
            return Ok(Some(CorsSpec {
                origins: Some(origins),
                ..CorsSpec::default()
            }));
        }
        Kind::Object(members) => members,
        _ => {
            return Err(format!(
                "cors must be true, a list of origins, or an object {{ \"origins\", \"methods\", \"headers\", \"exposeHeaders\", \"credentials\", \"maxAge\", \"privateNetwork\" }}, found {}",
                v.type_name()
            ))
        }
    };
    let mut spec = CorsSpec::default();
    for m in members {
        let key = format!("cors.{}", m.key);
        match m.key.as_str() {
            "origins" => spec.origins = Some(strings(&key, &m.value)?),
            "methods" => spec.methods = strings(&key, &m.value)?,
            "headers" => spec.headers = strings(&key, &m.value)?,
            "exposeHeaders" => spec.expose_headers = strings(&key, &m.value)?,
            "credentials" => spec.credentials = boolean(&key, &m.value, warnings)?.value,
            "privateNetwork" => spec.private_network = boolean(&key, &m.value, warnings)?.value,
            "maxAge" => match &m.value.kind {
                Kind::Number(_, n) => spec.max_age = Some(*n),
                _ => return Err(format!("{key} must be a number of seconds, found {}", shown(&m.value))),
            },
            other => warnings.push((
                m.key_pos,
                format!("unknown key \"{other}\" in cors is ignored (known: origins, methods, headers, exposeHeaders, credentials, maxAge, privateNetwork)"),
            )),
        }
    }
    Ok(Some(spec))
}

/// A string or a list of strings.
fn strings(key: &str, v: &Value) -> Result<Vec<String>, String> {
    match &v.kind {
        Kind::String(s) => Ok(vec![s.clone()]),
        Kind::Array(items) => items
            .iter()
            .map(|it| {
                it.as_str().map(str::to_string).ok_or_else(|| {
                    format!(
                        "{key} entries must be strings, found {} at {}",
                        it.type_name(),
                        it.pos
                    )
                })
            })
            .collect(),
        _ => Err(format!(
            "{key} must be a string or a list of strings, found {}",
            v.type_name()
        )),
    }
}

fn router(v: &Value) -> Result<Vec<Route>, String> {
    let Kind::Object(members) = &v.kind else {
        return Err(format!(
            "router must be an object of \"host/path\" keys to targets, found {}",
            v.type_name()
        ));
    };
    members
        .iter()
        .map(|m| {
            Ok((
                At::new(m.key.clone(), m.key_pos),
                At::new(target_spec(&m.value)?, m.value.pos),
            ))
        })
        .collect()
}

fn target_spec(v: &Value) -> Result<TargetSpec, String> {
    match &v.kind {
        Kind::String(s) => Ok(TargetSpec::Url(s.clone())),
        Kind::Object(members) => {
            let get = |name: &str| -> Result<Option<String>, String> {
                let Some(m) = members.iter().rev().find(|m| m.key == name) else {
                    return Ok(None);
                };
                match &m.value.kind {
                    Kind::String(s) => Ok(Some(s.clone())),
                    Kind::Number(raw, _) => Ok(Some(raw.clone())),
                    _ => Err(format!(
                        "target.{name} must be a string, found {} at {}",
                        m.value.type_name(),
                        m.value.pos
                    )),
                }
            };
            Ok(TargetSpec::Parts {
                protocol: get("protocol")?,
                host: get("host")?,
                hostname: get("hostname")?,
                port: get("port")?,
                path: get("path")?,
            })
        }
        _ => Err(format!(
            "target must be a URL string or an object {{ protocol, host, port }}, found {}",
            v.type_name()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(did_you_mean("changeOrgin"), Some("changeOrigin"));
        assert_eq!(did_you_mean("pathrewrite"), Some("pathRewrite"));
        assert_eq!(did_you_mean("wss"), Some("ws"));
        assert_eq!(did_you_mean("completelydifferent"), None);
    }
}
