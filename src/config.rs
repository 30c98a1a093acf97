//! The proxy file as users write it: JSONC in Angular's, webpack's, umi's or Vite's shape,
//! read into plain rule specs with every value's position and every warning.
//!
//! Nothing here compiles a pattern or parses a URL; [`crate::rules`] does that.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::env::{self, Vars};
use crate::jsonc::{self, Kind, Member, Pos, Value};

/// How bad a diagnostic is: a warning leaves the rule working, an error breaks the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Warning,
    Error,
}

/// One thing worth telling the user about the file, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: PathBuf,
    pub pos: Pos,
    /// The rule's display name, when the diagnostic belongs to one rule.
    pub rule: Option<String>,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        // Rules from the command line have no line and column (line 0).
        if self.pos.line == 0 {
            write!(f, "{}: {sev}: ", self.file.display())?;
        } else {
            write!(f, "{}:{}: {sev}: ", self.file.display(), self.pos)?;
        }
        if let Some(rule) = &self.rule {
            write!(f, "rule \"{rule}\": ")?;
        }
        f.write_str(&self.message)
    }
}

/// A file that cannot be used at all: unreadable, not JSON, or not a proxy config's shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    #[error("{}: {reason}", file.display())]
    Read { file: PathBuf, reason: String },
    #[error("{}:{pos}: {message}", file.display())]
    Syntax {
        file: PathBuf,
        pos: Pos,
        message: String,
    },
}

/// A value together with where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct At<T> {
    pub value: T,
    pub pos: Pos,
}

/// One rule as written, before patterns are compiled and the target is parsed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RuleSpec {
    /// The key (object form) or the context list (array form), as shown in logs.
    pub name: String,
    pub pos: Pos,
    pub patterns: Vec<At<String>>,
    pub target: Option<At<TargetSpec>>,
    /// Boolean options by name (`changeOrigin`, `ws`, `secure`, …).
    pub flags: BTreeMap<&'static str, bool>,
    /// String options by name (`logLevel`, `auth`, `hostRewrite`, …).
    pub texts: BTreeMap<&'static str, At<String>>,
    /// Millisecond options by name (`proxyTimeout`, `timeout`).
    pub numbers: BTreeMap<&'static str, At<f64>>,
    /// Object options of strings by name (`pathRewrite`, `headers`, cookie rewrites), in order.
    pub maps: BTreeMap<&'static str, Vec<(At<String>, String)>>,
    /// `router`: host and/or path keys to targets.
    pub router: Vec<(At<String>, At<TargetSpec>)>,
    /// `cookies`: rewrite Set-Cookie for local use.
    pub cookies: Option<CookieSpec>,
    /// A Next.js-style rewrite: the destination URL with `:param` placeholders.
    pub destination: Option<At<String>>,
    /// Problems that make this rule unusable (wrong types); requests it takes get a 502.
    pub errors: Vec<String>,
    /// Unexpandable `${VAR}`s: already reported at their own position; they make the rule
    /// unusable, and the values they left behind are not checked further.
    pub unexpanded: Vec<String>,
}

impl RuleSpec {
    pub fn flag(&self, name: &str) -> Option<bool> {
        self.flags.get(name).copied()
    }

    pub fn text(&self, name: &str) -> Option<&At<String>> {
        self.texts.get(name)
    }

    pub fn map(&self, name: &str) -> &[(At<String>, String)] {
        self.maps.get(name).map_or(&[], Vec::as_slice)
    }
}

/// The `cookies` option: what to change in every `Set-Cookie` so a browser on
/// `http://localhost` keeps the cookie.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CookieSpec {
    /// `Some("")` removes `Domain`; another value replaces it.
    pub domain: Option<String>,
    /// `Some(false)` removes `Secure`; `Some(true)` adds it.
    pub secure: Option<bool>,
    /// Replaces (or adds) `SameSite`.
    pub same_site: Option<String>,
}

/// `target` as a URL string or as Node's `{ protocol, host, hostname, port, path }` object.
#[derive(Debug, Clone, PartialEq)]
pub enum TargetSpec {
    Url(String),
    Parts {
        protocol: Option<String>,
        host: Option<String>,
        hostname: Option<String>,
        port: Option<String>,
        path: Option<String>,
    },
}

/// A rule given on the command line as `PATTERN=TARGET` (Vite's shorthand: changeOrigin on).
pub fn cli_rule(arg: &str) -> Result<RuleSpec, String> {
    let Some((pattern, target)) = arg.split_once('=') else {
        return Err(format!(
            "\"{arg}\" is not PATTERN=TARGET, e.g. /api=http://localhost:8080"
        ));
    };
    let (pattern, target) = (pattern.trim(), target.trim());
    if pattern.is_empty() || target.is_empty() {
        return Err(format!(
            "\"{arg}\" is not PATTERN=TARGET, e.g. /api=http://localhost:8080"
        ));
    }
    let at = |value: String| At {
        value,
        pos: Pos::default(),
    };
    let mut spec = RuleSpec {
        name: pattern.to_string(),
        patterns: vec![at(pattern.to_string())],
        target: Some(At {
            value: TargetSpec::Url(target.to_string()),
            pos: Pos::default(),
        }),
        ..RuleSpec::default()
    };
    spec.flags.insert("changeOrigin", true);
    Ok(spec)
}

/// The whole file, read.
#[derive(Debug, Clone, Default)]
pub struct ConfigSpec {
    pub rules: Vec<RuleSpec>,
    pub diagnostics: Vec<Diagnostic>,
}

/// The JSON type an option takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Bool,
    Text,
    Millis,
    /// An object of strings.
    Map,
    /// A string (meaning `{ "*": value }`), `false`, or an object of strings.
    TextOrMap,
    Target,
    Context,
    Cookies,
    Router,
}

/// Options devproxy implements, with the JSON type each takes.
const OPTIONS: &[(&str, Shape)] = &[
    ("target", Shape::Target),
    ("changeOrigin", Shape::Bool),
    ("pathRewrite", Shape::Map),
    ("ws", Shape::Bool),
    ("secure", Shape::Bool),
    ("headers", Shape::Map),
    ("xfwd", Shape::Bool),
    ("logLevel", Shape::Text),
    ("proxyTimeout", Shape::Millis),
    ("timeout", Shape::Millis),
    ("context", Shape::Context),
    ("pathFilter", Shape::Context),
    ("cookieDomainRewrite", Shape::TextOrMap),
    ("cookiePathRewrite", Shape::TextOrMap),
    ("cookies", Shape::Cookies),
    ("autoRewrite", Shape::Bool),
    ("hostRewrite", Shape::Text),
    ("protocolRewrite", Shape::Text),
    ("followRedirects", Shape::Bool),
    ("auth", Shape::Text),
    ("ignorePath", Shape::Bool),
    ("prependPath", Shape::Bool),
    ("router", Shape::Router),
    ("rewriteOrigin", Shape::Bool),
    ("rewriteWsOrigin", Shape::Bool),
    ("envProxy", Shape::Bool),
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

/// Reads and parses `file`, with `${VAR}` taken from the environment and the `.env` beside it.
/// Only an unreadable file or a syntax error is fatal; everything else becomes a diagnostic.
pub fn load(file: &Path) -> Result<ConfigSpec, LoadError> {
    let bytes = std::fs::read(file).map_err(|e| LoadError::Read {
        file: file.to_path_buf(),
        reason: match e.kind() {
            std::io::ErrorKind::NotFound => "file not found".to_string(),
            std::io::ErrorKind::IsADirectory => "is a directory, not a file".to_string(),
            _ => e.to_string(),
        },
    })?;
    let text = String::from_utf8(bytes).map_err(|e| LoadError::Read {
        file: file.to_path_buf(),
        reason: format!(
            "not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ),
    })?;
    let dir = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    parse_with(file, &text, &Vars::for_dir(dir))
}

/// Parses the text of a config file with the process environment; `file` is only used in
/// messages.
pub fn parse(file: &Path, text: &str) -> Result<ConfigSpec, LoadError> {
    parse_with(file, text, &Vars::default())
}

/// Parses the text of a config file, expanding `${VAR}` from `vars`.
pub fn parse_with(file: &Path, text: &str, vars: &Vars) -> Result<ConfigSpec, LoadError> {
    let mut root = jsonc::parse(text).map_err(|e| LoadError::Syntax {
        file: file.to_path_buf(),
        pos: e.pos,
        message: e.message,
    })?;
    let mut env_failures = HashMap::new();
    env::expand_tree(&mut root, vars, &mut env_failures);
    let mut r = Reader {
        file: file.to_path_buf(),
        out: ConfigSpec::default(),
        env_failures,
    };
    match &root.kind {
        Kind::Array(items) => {
            for item in items {
                r.array_item(item);
            }
        }
        Kind::Object(members) if is_single_rule(members) => {
            // Some projects write one webpack-style rule without wrapping it in an array.
            r.array_item(&root);
        }
        Kind::Object(members) if members.iter().any(|m| m.key == "rewrites") => {
            r.next_rewrites(members);
        }
        Kind::Object(members) => r.object_form(members),
        _ => {
            return Err(LoadError::Syntax {
                file: file.to_path_buf(),
                pos: root.pos,
                message: format!(
                    "expected an object of rules or an array of rules, found {}",
                    root.type_name()
                ),
            })
        }
    }
    Ok(r.out)
}

/// The URL behind `--proxy-fallback`: the value itself, or the `"proxy"` field of the
/// package.json it names (Create React App's setting).
pub fn fallback_url(value: &str) -> anyhow::Result<String> {
    if value.contains("://") {
        return Ok(value.to_string());
    }
    let mut path = PathBuf::from(value);
    if path.is_dir() {
        path.push("package.json");
    }
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "--proxy-fallback {value}: not a URL, and {} cannot be read",
            path.display()
        )
    })?;
    let root = jsonc::parse(&text).map_err(|e| anyhow::anyhow!("{}:{e}", path.display()))?;
    let proxy = match &root.kind {
        jsonc::Kind::Object(members) => members.iter().rev().find(|m| m.key == "proxy"),
        _ => None,
    };
    match proxy.map(|m| &m.value) {
        Some(v) => match v.as_str() {
            Some(url) => Ok(url.to_string()),
            None => anyhow::bail!(
                "{}:{}: \"proxy\" must be a URL string, found {}",
                path.display(),
                v.pos,
                v.type_name()
            ),
        },
        None => anyhow::bail!("{}: has no \"proxy\" field", path.display()),
    }
}

/// webpack-dev-server reads a top-level object with `target` as one rule (no key of the object
/// form can be "target": patterns start with `/`, `^` or `*`).
fn is_single_rule(members: &[Member]) -> bool {
    members.iter().any(|m| m.key == "target")
}

/// Keeps the last of each duplicated key (as JSON.parse does) and warns about the others.
fn dedup(members: &[Member], mut warn: impl FnMut(Pos, String)) -> Vec<&Member> {
    let mut out: Vec<&Member> = Vec::new();
    for m in members {
        if let Some(i) = out.iter().position(|o| o.key == m.key) {
            warn(
                out[i].key_pos,
                format!(
                    "key \"{}\" appears again at {}; the later one wins",
                    m.key, m.key_pos
                ),
            );
            out.remove(i);
        }
        out.push(m);
    }
    out
}

struct Reader {
    file: PathBuf,
    out: ConfigSpec,
    /// Strings whose `${VAR}` could not be expanded, by position.
    env_failures: HashMap<Pos, String>,
}

impl Reader {
    fn diag(&mut self, severity: Severity, pos: Pos, rule: Option<&str>, message: String) {
        self.out.diagnostics.push(Diagnostic {
            severity,
            file: self.file.clone(),
            pos,
            rule: rule.map(str::to_string),
            message,
        });
    }

    fn object_form(&mut self, members: &[Member]) {
        let mut warnings = Vec::new();
        let members = dedup(members, |p, m| warnings.push((p, m)));
        for (p, m) in warnings {
            self.diag(Severity::Warning, p, None, m);
        }
        for m in members {
            let looks_like_path = m.key.starts_with(['/', '^', '*', '!']);
            if !looks_like_path && is_known(&m.key) {
                self.diag(
                    Severity::Warning,
                    m.key_pos,
                    None,
                    format!(
                        "\"{}\" is an option, not a path pattern; options belong inside a rule, so it is ignored here",
                        m.key
                    ),
                );
                continue;
            }
            let mut spec = RuleSpec {
                name: m.key.clone(),
                pos: m.key_pos,
                patterns: vec![At {
                    value: webpack_key(&m.key),
                    pos: m.key_pos,
                }],
                ..RuleSpec::default()
            };
            self.env_errors(Some(m.key_pos), &m.value, &mut spec);
            match &m.value.kind {
                Kind::Object(opts) => self.options(&mut spec, opts, false),
                Kind::String(s) => {
                    // Vite's shorthand: `"/api": "http://localhost:8080"` with changeOrigin on.
                    spec.target = Some(At {
                        value: TargetSpec::Url(s.clone()),
                        pos: m.value.pos,
                    });
                    spec.flags.insert("changeOrigin", true);
                }
                _ => spec.errors.push(format!(
                    "expected an object of options or a target URL string, found {}",
                    m.value.type_name()
                )),
            }
            self.finish(spec);
        }
    }

    fn array_item(&mut self, item: &Value) {
        let Kind::Object(opts) = &item.kind else {
            self.diag(
                Severity::Error,
                item.pos,
                None,
                format!(
                    "expected a rule object with \"context\" and \"target\", found {}; it is ignored",
                    item.type_name()
                ),
            );
            return;
        };
        let mut spec = RuleSpec {
            pos: item.pos,
            ..RuleSpec::default()
        };
        self.options(&mut spec, opts, true);
        if spec.name.is_empty() {
            spec.name = spec
                .patterns
                .iter()
                .map(|p| p.value.as_str())
                .collect::<Vec<_>>()
                .join(", ");
        }
        self.env_errors(None, item, &mut spec);
        spec.name = match spec.patterns.as_slice() {
            [] => {
                // webpack-dev-server hands a rule without a context to http-proxy-middleware,
                // which then takes every request.
                spec.patterns.push(At {
                    value: "/".into(),
                    pos: item.pos,
                });
                self.diag(
                    Severity::Warning,
                    item.pos,
                    None,
                    "rule has no \"context\", so it takes every request (as webpack-dev-server does)".into(),
                );
                "/".into()
            }
            [one] => one.value.clone(),
            many => many
                .iter()
                .map(|p| p.value.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        };
        self.finish(spec);
    }

    /// Reports the `${VAR}` failures inside `v` (and at `key`), and marks the rule with them.
    fn env_errors(&mut self, key: Option<Pos>, v: &Value, spec: &mut RuleSpec) {
        let mut found = Vec::new();
        if let Some(e) = key.and_then(|k| self.env_failures.get(&k)) {
            found.push((key.unwrap_or_default(), e.clone()));
        }
        self.collect_env(v, &mut found);
        let name = spec.name.clone();
        for (pos, e) in found {
            self.diag(Severity::Error, pos, Some(&name), e.clone());
            spec.unexpanded.push(e);
        }
    }

    fn collect_env(&self, v: &Value, out: &mut Vec<(Pos, String)>) {
        if let Some(e) = self.env_failures.get(&v.pos) {
            out.push((v.pos, e.clone()));
        }
        match &v.kind {
            Kind::Array(items) => items.iter().for_each(|i| self.collect_env(i, out)),
            Kind::Object(members) => {
                for m in members {
                    if let Some(e) = self.env_failures.get(&m.key_pos) {
                        out.push((m.key_pos, e.clone()));
                    }
                    self.collect_env(&m.value, out);
                }
            }
            _ => {}
        }
    }

    /// Next.js `rewrites`: `{ "rewrites": [ { "source": "/api/:path*", "destination":
    /// "http://localhost:8080/:path*" } ] }`, or the object with `beforeFiles`, `afterFiles`
    /// and `fallback` lists.
    fn next_rewrites(&mut self, members: &[Member]) {
        for m in members {
            if m.key != "rewrites" {
                self.diag(
                    Severity::Warning,
                    m.key_pos,
                    None,
                    format!("\"{}\" beside \"rewrites\" is ignored", m.key),
                );
                continue;
            }
            let lists: Vec<&Value> = match &m.value.kind {
                Kind::Array(_) => vec![&m.value],
                Kind::Object(phases) => ["beforeFiles", "afterFiles", "fallback"]
                    .iter()
                    .filter_map(|p| phases.iter().find(|x| x.key == *p).map(|x| &x.value))
                    .collect(),
                _ => Vec::new(),
            };
            for list in lists {
                let Kind::Array(items) = &list.kind else {
                    self.diag(
                        Severity::Error,
                        list.pos,
                        None,
                        format!("rewrites must be an array, found {}", list.type_name()),
                    );
                    continue;
                };
                for item in items {
                    self.next_rewrite(item);
                }
            }
        }
    }

    fn next_rewrite(&mut self, item: &Value) {
        let Kind::Object(fields) = &item.kind else {
            self.diag(
                Severity::Error,
                item.pos,
                None,
                format!(
                    "a rewrite must be an object with \"source\" and \"destination\", found {}",
                    item.type_name()
                ),
            );
            return;
        };
        let get = |k: &str| fields.iter().rev().find(|f| f.key == k);
        let mut spec = RuleSpec {
            pos: item.pos,
            ..RuleSpec::default()
        };
        match get("source").map(|f| &f.value) {
            Some(Value {
                kind: Kind::String(s),
                pos,
            }) => {
                spec.name = s.clone();
                spec.patterns.push(At {
                    value: s.clone(),
                    pos: *pos,
                });
            }
            _ => spec
                .errors
                .push("a rewrite needs \"source\": \"/path/:param*\"".into()),
        }
        match get("destination").map(|f| &f.value) {
            Some(Value {
                kind: Kind::String(d),
                pos,
            }) => {
                match d.split_once("://") {
                    Some((scheme, rest)) => {
                        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
                        spec.target = Some(At {
                            value: TargetSpec::Url(format!("{scheme}://{authority}")),
                            pos: *pos,
                        });
                    }
                    None => spec.errors.push(format!(
                        "destination \"{d}\" is a path inside the app; devproxy only proxies to external URLs (http://…)"
                    )),
                }
                spec.destination = Some(At {
                    value: d.clone(),
                    pos: *pos,
                });
                // Next.js sends the destination's host, as changeOrigin does.
                spec.flags.insert("changeOrigin", true);
            }
            _ => spec
                .errors
                .push("a rewrite needs \"destination\": \"http://host/path/:param*\"".into()),
        }
        self.env_errors(None, item, &mut spec);
        for f in fields {
            if !matches!(f.key.as_str(), "source" | "destination") {
                self.diag(
                    Severity::Warning,
                    f.key_pos,
                    Some(&spec.name),
                    format!(
                        "\"{}\" in a rewrite is not supported by devproxy; ignored",
                        f.key
                    ),
                );
            }
        }
        self.finish(spec);
    }

    fn finish(&mut self, spec: RuleSpec) {
        for p in &spec.patterns {
            let body = p.value.strip_prefix('!').unwrap_or(&p.value);
            if !body.starts_with(['/', '^', '*']) {
                let hint = if body.contains("://") {
                    "; patterns match the request path, not a URL"
                } else {
                    ""
                };
                self.diag(
                    Severity::Warning,
                    p.pos,
                    Some(&spec.name),
                    format!("pattern \"{}\" does not start with '/', so it never matches a request path{hint}", p.value),
                );
            }
        }
        if spec.target.is_none()
            && spec.router.is_empty()
            && spec.errors.is_empty()
            && spec.unexpanded.is_empty()
        {
            self.diag(
                Severity::Error,
                spec.pos,
                Some(&spec.name),
                "has no \"target\"".into(),
            );
        }
        for e in &spec.errors {
            self.diag(Severity::Error, spec.pos, Some(&spec.name), e.clone());
        }
        self.out.rules.push(spec);
    }

    fn options(&mut self, spec: &mut RuleSpec, opts: &[Member], array_form: bool) {
        let mut pending = Vec::new();
        let opts = dedup(opts, |p, m| pending.push((p, m)));
        for m in opts {
            let key = m.key.as_str();
            match OPTIONS.iter().find(|(k, _)| *k == key) {
                Some((_, Shape::Context)) if !array_form => pending.push((
                    m.key_pos,
                    format!("\"{key}\" is ignored in the object form: the key of the rule is its pattern"),
                )),
                Some((name, shape)) => {
                    if let Err(e) = read_option(spec, name, *shape, &m.value, &mut pending) {
                        spec.errors.push(e);
                    }
                }
                None => {
                    if let Some((_, what)) = JS_ONLY.iter().find(|(k, _)| *k == key) {
                        let instead = if key == "rewrite" {
                            "; use \"pathRewrite\": { \"^/from\": \"/to\" } instead"
                        } else {
                            ""
                        };
                        pending.push((
                            m.key_pos,
                            format!("\"{key}\" is {what}, which JSON cannot express; ignored{instead}"),
                        ));
                    } else if NOT_YET.contains(&key) {
                        pending.push((
                            m.key_pos,
                            format!("\"{key}\" is not supported by devproxy; ignored"),
                        ));
                    } else {
                        let hint = did_you_mean(key)
                            .map(|s| format!("; did you mean \"{s}\"?"))
                            .unwrap_or_default();
                        pending.push((
                            m.key_pos,
                            format!("unknown option \"{key}\" is ignored{hint}"),
                        ));
                    }
                }
            }
        }
        // Array-form names are known only once the context is read.
        let rule_name = if spec.name.is_empty() {
            spec.patterns
                .iter()
                .map(|p| p.value.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        } else {
            spec.name.clone()
        };
        for (p, m) in pending {
            self.diag(Severity::Warning, p, Some(&rule_name), m);
        }
    }
}

/// Reads one option's value into `spec`; warnings go to `pending`; a wrong type is an error.
fn read_option(
    spec: &mut RuleSpec,
    key: &'static str,
    shape: Shape,
    v: &Value,
    pending: &mut Vec<(Pos, String)>,
) -> Result<(), String> {
    match shape {
        Shape::Target => {
            spec.target = Some(At {
                value: target_spec(v)?,
                pos: v.pos,
            });
        }
        Shape::Context => match &v.kind {
            Kind::String(s) => spec.patterns.push(At {
                value: s.clone(),
                pos: v.pos,
            }),
            Kind::Array(items) => {
                for it in items {
                    let Kind::String(s) = &it.kind else {
                        return Err(format!(
                            "{key} entries must be strings, found {} at {}",
                            it.type_name(),
                            it.pos
                        ));
                    };
                    spec.patterns.push(At {
                        value: s.clone(),
                        pos: it.pos,
                    });
                }
            }
            _ => {
                return Err(format!(
                    "{key} must be a string or an array of strings, found {}",
                    v.type_name()
                ))
            }
        },
        Shape::Bool => {
            let b = match &v.kind {
                Kind::Bool(b) => *b,
                Kind::String(s) if s == "true" || s == "false" => {
                    pending.push((
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
            spec.flags.insert(key, b);
        }
        Shape::Text => match &v.kind {
            Kind::String(s) => {
                spec.texts.insert(
                    key,
                    At {
                        value: s.clone(),
                        pos: v.pos,
                    },
                );
            }
            _ => return Err(format!("{key} must be a string, found {}", shown(v))),
        },
        Shape::Millis => {
            let n = match &v.kind {
                Kind::Number(_, n) => *n,
                Kind::String(s) if s.trim().parse::<f64>().is_ok() => {
                    pending.push((
                        v.pos,
                        format!("\"{key}\": \"{s}\" is a string; read as the number {s}"),
                    ));
                    s.trim().parse::<f64>().unwrap_or_default()
                }
                _ => {
                    return Err(format!(
                        "{key} must be a number of milliseconds, found {}",
                        shown(v)
                    ))
                }
            };
            spec.numbers.insert(
                key,
                At {
                    value: n,
                    pos: v.pos,
                },
            );
        }
        Shape::Map | Shape::TextOrMap => {
            let entries = match &v.kind {
                Kind::Object(map) => string_map(key, map, pending)?,
                Kind::String(s) if shape == Shape::TextOrMap => vec![(
                    At {
                        value: "*".to_string(),
                        pos: v.pos,
                    },
                    s.clone(),
                )],
                Kind::Bool(false) if shape == Shape::TextOrMap => Vec::new(),
                _ => {
                    let wanted = match key {
                        "headers" => "an object of header names to values",
                        "pathRewrite" => "an object of regular expressions to replacements",
                        _ if shape == Shape::TextOrMap => {
                            "a string, false, or an object of strings"
                        }
                        _ => "an object of strings",
                    };
                    return Err(format!("{key} must be {wanted}, found {}", v.type_name()));
                }
            };
            spec.maps.insert(key, entries);
        }
        Shape::Cookies => {
            spec.cookies = Some(match &v.kind {
                Kind::Bool(true) => CookieSpec {
                    domain: Some(String::new()),
                    secure: Some(false),
                    same_site: Some("Lax".into()),
                },
                Kind::Bool(false) => return Ok(()),
                Kind::Object(members) => {
                    let mut c = CookieSpec::default();
                    for m in members {
                        match (m.key.as_str(), &m.value.kind) {
                            ("domain", Kind::String(s)) => c.domain = Some(s.clone()),
                            ("secure", Kind::Bool(b)) => c.secure = Some(*b),
                            ("sameSite", Kind::String(s)) => {
                                let norm = match s.to_ascii_lowercase().as_str() {
                                    "lax" => "Lax",
                                    "strict" => "Strict",
                                    "none" => "None",
                                    _ => {
                                        return Err(format!(
                                            "cookies.sameSite must be \"Lax\", \"Strict\" or \"None\", found \"{s}\""
                                        ))
                                    }
                                };
                                c.same_site = Some(norm.into());
                            }
                            ("domain" | "secure" | "sameSite", _) => {
                                return Err(format!(
                                    "cookies.{} has the wrong type ({}) at {}",
                                    m.key,
                                    m.value.type_name(),
                                    m.value.pos
                                ))
                            }
                            (other, _) => pending.push((
                                m.key_pos,
                                format!("unknown key \"{other}\" in cookies is ignored (known: domain, secure, sameSite)"),
                            )),
                        }
                    }
                    c
                }
                _ => {
                    return Err(format!(
                        "cookies must be true or an object {{ \"domain\", \"secure\", \"sameSite\" }}, found {}",
                        v.type_name()
                    ))
                }
            });
        }
        Shape::Router => {
            let Kind::Object(members) = &v.kind else {
                return Err(format!(
                    "router must be an object of \"host/path\" keys to targets, found {}",
                    v.type_name()
                ));
            };
            for m in members {
                spec.router.push((
                    At {
                        value: m.key.clone(),
                        pos: m.key_pos,
                    },
                    At {
                        value: target_spec(&m.value)?,
                        pos: m.value.pos,
                    },
                ));
            }
        }
    }
    Ok(())
}

/// An object whose values must all be strings (numbers are taken as written).
fn string_map(
    key: &str,
    map: &[Member],
    pending: &mut Vec<(Pos, String)>,
) -> Result<Vec<(At<String>, String)>, String> {
    let mut out = Vec::new();
    for e in dedup(map, |p, m| pending.push((p, m))) {
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
        out.push((
            At {
                value: e.key.clone(),
                pos: e.key_pos,
            },
            value,
        ));
    }
    Ok(out)
}

/// webpack-dev-server (and so Angular CLI) rewrites object-form keys before matching, "for
/// backwards compatibility": a lone `*` means every path and a trailing `/*` is dropped, so
/// `"/api/*"` takes `/api/users/1` like the prefix `/api`. Array-form contexts are kept as they
/// are, as there.
fn webpack_key(key: &str) -> String {
    if key == "*" {
        return "**".to_string();
    }
    match key.strip_suffix("/*") {
        Some(prefix) if !prefix.is_empty() => prefix.to_string(),
        _ => key.to_string(),
    }
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

fn target_spec(v: &Value) -> Result<TargetSpec, String> {
    match &v.kind {
        Kind::String(s) => Ok(TargetSpec::Url(s.clone())),
        Kind::Object(members) => {
            let get = |name: &str| -> Result<Option<String>, String> {
                match members.iter().rev().find(|m| m.key == name) {
                    None => Ok(None),
                    Some(m) => match &m.value.kind {
                        Kind::String(s) => Ok(Some(s.clone())),
                        Kind::Number(raw, _) => Ok(Some(raw.clone())),
                        _ => Err(format!(
                            "target.{name} must be a string, found {} at {}",
                            m.value.type_name(),
                            m.value.pos
                        )),
                    },
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

fn is_known(key: &str) -> bool {
    OPTIONS.iter().any(|(k, _)| *k == key)
        || NOT_YET.contains(&key)
        || JS_ONLY.iter().any(|(k, _)| *k == key)
}

/// The closest known option, when the key looks like a typo of it.
fn did_you_mean(key: &str) -> Option<&'static str> {
    let all = OPTIONS
        .iter()
        .map(|(k, _)| k)
        .chain(NOT_YET)
        .chain(JS_ONLY.iter().map(|(k, _)| k));
    let lower = key.to_ascii_lowercase();
    let mut best: Option<(usize, &'static str)> = None;
    for &cand in all {
        let d = if cand.to_ascii_lowercase() == lower {
            0
        } else {
            strsim::levenshtein(&lower, &cand.to_ascii_lowercase())
        };
        if d <= 2.max(cand.len() / 5) && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, cand));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> ConfigSpec {
        parse(Path::new("p.json"), text).unwrap()
    }

    fn messages(c: &ConfigSpec) -> Vec<String> {
        c.diagnostics.iter().map(|d| d.to_string()).collect()
    }

    #[test]
    fn object_form_with_shorthand() {
        let c = read(
            r#"{ "/api": { "target": "http://localhost:8080", "ws": true }, "/s": "http://localhost:9000" }"#,
        );
        assert_eq!(c.rules.len(), 2);
        assert_eq!(c.rules[0].flag("ws"), Some(true));
        assert_eq!(c.rules[0].flag("changeOrigin"), None);
        assert_eq!(c.rules[1].flag("changeOrigin"), Some(true));
        assert!(c.diagnostics.is_empty(), "{:?}", messages(&c));
    }

    #[test]
    fn array_form_and_single_rule_object() {
        let c = read(
            r#"[{ "context": ["/auth", "/api"], "target": "http://localhost:1" }, { "pathFilter": "/x", "target": "http://localhost:2" }]"#,
        );
        assert_eq!(c.rules[0].name, "/auth, /api");
        assert_eq!(c.rules[0].patterns.len(), 2);
        assert_eq!(c.rules[1].name, "/x");
        let c = read(r#"{ "context": ["/a"], "target": "http://localhost:1" }"#);
        assert_eq!(c.rules.len(), 1);
        assert_eq!(c.rules[0].name, "/a");
        // Without a context it takes every request, with a warning saying so.
        let c = read(r#"{ "target": "http://localhost:1", "changeOrigin": true }"#);
        assert_eq!(c.rules.len(), 1);
        assert_eq!(c.rules[0].name, "/");
        assert!(messages(&c)[0].contains("takes every request"));
    }

    #[test]
    fn string_booleans_warn_and_wrong_types_fail() {
        let c =
            read("{\n \"/a\": { \"target\": \"http://h\", \"secure\": \"false\", \"ws\": 1 }\n}");
        assert_eq!(c.rules[0].flag("secure"), Some(false));
        assert_eq!(
            messages(&c),
            vec![
                "p.json:2:42: warning: rule \"/a\": \"secure\": \"false\" is a string; read as the boolean false (write it without quotes)",
                "p.json:2:2: error: rule \"/a\": ws must be true or false, found 1 at 2:57",
            ]
        );
    }

    #[test]
    fn unknown_keys_suggest() {
        let c = read(
            r#"{ "/a": { "target": "http://h", "changeOrgin": true, "loglevel": "debug", "bypass": 1, "zzz": 1 } }"#,
        );
        let m = messages(&c);
        assert!(
            m[0].ends_with(
                "unknown option \"changeOrgin\" is ignored; did you mean \"changeOrigin\"?"
            ),
            "{m:?}"
        );
        assert!(
            m[1].ends_with("unknown option \"loglevel\" is ignored; did you mean \"logLevel\"?"),
            "{m:?}"
        );
        assert!(
            m[2].ends_with(
                "\"bypass\" is a JavaScript function, which JSON cannot express; ignored"
            ),
            "{m:?}"
        );
        assert!(m[3].ends_with("unknown option \"zzz\" is ignored"), "{m:?}");
    }

    #[test]
    fn duplicate_keys_last_wins() {
        let c = read("{\"/a\": \"http://one\",\n\"/a\": \"http://two\"}");
        assert_eq!(c.rules.len(), 1);
        assert_eq!(
            c.rules[0].target.as_ref().map(|t| t.value.clone()),
            Some(TargetSpec::Url("http://two".into()))
        );
        assert_eq!(
            messages(&c),
            vec!["p.json:1:2: warning: key \"/a\" appears again at 2:1; the later one wins"]
        );
    }

    #[test]
    fn top_level_option_is_not_a_rule() {
        let c = read(r#"{ "/p": { "target": "http://h" }, "logLevel": "debug" }"#);
        assert_eq!(c.rules.len(), 1);
        assert!(messages(&c)[0].contains("\"logLevel\" is an option, not a path pattern"));
    }

    #[test]
    fn non_path_pattern_warns() {
        let c = read(r#"{ "https://maps.example.com/*": { "target": "http://localhost:1" } }"#);
        assert!(messages(&c)[0]
            .contains("never matches a request path; patterns match the request path, not a URL"));
    }

    #[test]
    fn top_level_scalar_is_fatal() {
        let e = parse(Path::new("p.json"), "\"x\"").unwrap_err();
        assert_eq!(
            e.to_string(),
            "p.json:1:1: expected an object of rules or an array of rules, found a string"
        );
    }

    #[test]
    fn suggestions() {
        assert_eq!(did_you_mean("changeOrgin"), Some("changeOrigin"));
        assert_eq!(did_you_mean("pathrewrite"), Some("pathRewrite"));
        assert_eq!(did_you_mean("wss"), Some("ws"));
        assert_eq!(did_you_mean("completelydifferent"), None);
    }
}
