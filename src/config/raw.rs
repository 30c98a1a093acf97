//! One rule as written: a typed, positioned field per option, before anything is compiled.
//! Defaults are not here: each is stated once, where [`crate::rules`] compiles its option.

use super::diagnostic::At;
use super::jsonc::Pos;

/// An entry of an object of strings (`pathRewrite`, `headers`, cookie rewrites), in file order.
pub(crate) type Entry = (At<String>, String);

/// A `router` key and its target.
pub(crate) type Route = (At<String>, At<TargetSpec>);

/// One rule as read from the file, with every option it set.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct RawRule {
    /// The key (object form) or the context list (array form), as shown in logs.
    pub name: String,
    pub pos: Pos,
    /// `context` / `pathFilter` entries, or the object form's key.
    pub patterns: Vec<At<String>>,
    /// The pattern is an object-form key (webpack-dev-server reads those its own way).
    pub object_key: bool,
    pub target: Option<At<TargetSpec>>,
    pub change_origin: Option<At<bool>>,
    pub ws: Option<At<bool>>,
    pub secure: Option<At<bool>>,
    pub xfwd: Option<At<bool>>,
    pub auto_rewrite: Option<At<bool>>,
    pub follow_redirects: Option<At<bool>>,
    pub ignore_path: Option<At<bool>>,
    pub prepend_path: Option<At<bool>>,
    pub rewrite_origin: Option<At<bool>>,
    pub rewrite_ws_origin: Option<At<bool>>,
    pub env_proxy: Option<At<bool>>,
    pub log_level: Option<At<String>>,
    pub auth: Option<At<String>>,
    pub host_rewrite: Option<At<String>>,
    pub protocol_rewrite: Option<At<String>>,
    pub proxy_timeout: Option<At<f64>>,
    pub timeout: Option<At<f64>>,
    pub path_rewrite: Vec<Entry>,
    pub headers: Vec<Entry>,
    /// `cookieDomainRewrite` / `cookiePathRewrite`: a string `s` is read as `{ "*": s }`.
    pub cookie_domain_rewrite: Vec<Entry>,
    pub cookie_path_rewrite: Vec<Entry>,
    pub cookies: Option<CookieSpec>,
    /// `cors`: answer CORS for other origins on this rule.
    pub cors: Option<At<CorsSpec>>,
    /// `router`: host and/or path keys to targets.
    pub router: Vec<Route>,
    /// A Next.js-style rewrite: the destination URL with `:param` placeholders.
    pub destination: Option<At<String>>,
    /// Problems that make this rule unusable (wrong types); requests it takes get a 502.
    pub errors: Vec<String>,
    /// Unexpandable `${VAR}`s: already reported at their own position; they make the rule
    /// unusable, and the values they left behind are not checked further.
    pub unexpanded: Vec<String>,
}

/// The `cookies` option: what to change in every `Set-Cookie` so a browser on
/// `http://localhost` keeps the cookie.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct CookieSpec {
    /// `Some("")` removes `Domain`; another value replaces it.
    pub domain: Option<String>,
    /// `Some(false)` removes `Secure`; `Some(true)` adds it.
    pub secure: Option<bool>,
    /// Replaces (or adds) `SameSite`.
    pub same_site: Option<SameSite>,
}

/// The `cors` option: which other origins may call this rule, and how.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct CorsSpec {
    /// Exact origins; `None` for the page's own origin and loopback origins (`"cors": true`).
    pub origins: Option<Vec<String>>,
    pub methods: Vec<String>,
    pub headers: Vec<String>,
    pub expose_headers: Vec<String>,
    pub credentials: bool,
    pub max_age: Option<f64>,
    pub private_network: bool,
}

/// A cookie's `SameSite` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SameSite {
    Lax,
    Strict,
    None,
}

impl SameSite {
    pub(crate) fn parse(s: &str) -> Option<SameSite> {
        match s.to_ascii_lowercase().as_str() {
            "lax" => Some(SameSite::Lax),
            "strict" => Some(SameSite::Strict),
            "none" => Some(SameSite::None),
            _ => None,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SameSite::Lax => "Lax",
            SameSite::Strict => "Strict",
            SameSite::None => "None",
        }
    }
}

/// `target` as a URL string or as Node's `{ protocol, host, hostname, port, path }` object.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TargetSpec {
    Url(String),
    Parts {
        protocol: Option<String>,
        host: Option<String>,
        hostname: Option<String>,
        port: Option<String>,
        path: Option<String>,
    },
}

/// A value set on the command line, which has no position in a file.
pub(crate) fn given<T>(value: T) -> Option<At<T>> {
    Some(At::new(value, Pos::default()))
}

/// A rule given on the command line as `PATTERN=TARGET` (Vite's shorthand: changeOrigin on).
pub(crate) fn cli_rule(arg: &str) -> Result<RawRule, String> {
    let usage = || format!("\"{arg}\" is not PATTERN=TARGET, e.g. /api=http://localhost:8080");
    let (pattern, target) = arg.split_once('=').ok_or_else(usage)?;
    let (pattern, target) = (pattern.trim(), target.trim());
    if pattern.is_empty() || target.is_empty() {
        return Err(usage());
    }
    Ok(RawRule {
        name: pattern.to_string(),
        patterns: vec![At::new(pattern.to_string(), Pos::default())],
        target: given(TargetSpec::Url(target.to_string())),
        change_origin: given(true),
        ..RawRule::default()
    })
}
