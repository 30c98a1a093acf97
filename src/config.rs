//! The proxy file as users write it: JSONC in Angular's, webpack's, umi's or Vite's shape,
//! read into plain rule specs with every value's position and every warning.
//!
//! Nothing here compiles a pattern or parses a URL; [`crate::rules`] does that.

use std::fmt;
use std::path::{Path, PathBuf};

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
        write!(f, "{}:{}: {sev}: ", self.file.display(), self.pos)?;
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
    pub change_origin: Option<bool>,
    pub path_rewrite: Vec<(At<String>, String)>,
    pub ws: Option<bool>,
    pub secure: Option<bool>,
    pub headers: Vec<(At<String>, String)>,
    pub xfwd: Option<bool>,
    pub log_level: Option<At<String>>,
    pub proxy_timeout: Option<At<f64>>,
    /// Problems that make this rule unusable (wrong types); requests it takes get a 502.
    pub errors: Vec<String>,
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

/// The whole file, read.
#[derive(Debug, Clone, Default)]
pub struct ConfigSpec {
    pub rules: Vec<RuleSpec>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Options devproxy implements, with the JSON type each takes.
const OPTIONS: &[&str] = &[
    "target",
    "changeOrigin",
    "pathRewrite",
    "ws",
    "secure",
    "headers",
    "xfwd",
    "logLevel",
    "proxyTimeout",
    "context",
    "pathFilter",
];

/// http-proxy options that are valid but that devproxy does not act on yet.
const NOT_YET: &[&str] = &[
    "cookieDomainRewrite",
    "cookiePathRewrite",
    "autoRewrite",
    "hostRewrite",
    "protocolRewrite",
    "followRedirects",
    "timeout",
    "auth",
    "ignorePath",
    "prependPath",
    "router",
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

/// Reads and parses `file`. Only an unreadable file or a syntax error is fatal; everything
/// else becomes a diagnostic.
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
    parse(file, &text)
}

/// Parses the text of a config file; `file` is only used in messages.
pub fn parse(file: &Path, text: &str) -> Result<ConfigSpec, LoadError> {
    let root = jsonc::parse(text).map_err(|e| LoadError::Syntax {
        file: file.to_path_buf(),
        pos: e.pos,
        message: e.message,
    })?;
    let mut r = Reader {
        file: file.to_path_buf(),
        out: ConfigSpec::default(),
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

fn is_single_rule(members: &[Member]) -> bool {
    let has = |k: &str| members.iter().any(|m| m.key == k);
    (has("context") || has("pathFilter")) && has("target")
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
            if !looks_like_path && (OPTIONS.contains(&m.key.as_str()) || is_known(&m.key)) {
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
                    value: m.key.clone(),
                    pos: m.key_pos,
                }],
                ..RuleSpec::default()
            };
            match &m.value.kind {
                Kind::Object(opts) => self.options(&mut spec, opts, false),
                Kind::String(s) => {
                    // Vite's shorthand: `"/api": "http://localhost:8080"` with changeOrigin on.
                    spec.target = Some(At {
                        value: TargetSpec::Url(s.clone()),
                        pos: m.value.pos,
                    });
                    spec.change_origin = Some(true);
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
        if spec.target.is_none() && spec.errors.is_empty() {
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
            let v = &m.value;
            let key = m.key.as_str();
            match key {
                "target" => match target_spec(v) {
                    Ok(t) => {
                        spec.target = Some(At {
                            value: t,
                            pos: v.pos,
                        })
                    }
                    Err(e) => spec.errors.push(e),
                },
                "context" | "pathFilter" if array_form => match &v.kind {
                    Kind::String(s) => spec.patterns.push(At {
                        value: s.clone(),
                        pos: v.pos,
                    }),
                    Kind::Array(items) => {
                        for it in items {
                            match &it.kind {
                                Kind::String(s) => spec.patterns.push(At {
                                    value: s.clone(),
                                    pos: it.pos,
                                }),
                                _ => spec.errors.push(format!(
                                    "{key} entries must be strings, found {} at {}",
                                    it.type_name(),
                                    it.pos
                                )),
                            }
                        }
                    }
                    _ => spec.errors.push(format!(
                        "{key} must be a string or an array of strings, found {}",
                        v.type_name()
                    )),
                },
                "changeOrigin" | "ws" | "secure" | "xfwd" => {
                    let b = match &v.kind {
                        Kind::Bool(b) => Some(*b),
                        Kind::String(s) if s == "true" || s == "false" => {
                            pending.push((
                                v.pos,
                                format!(
                                    "\"{key}\": \"{s}\" is a string; read as the boolean {s} (write it without quotes)"
                                ),
                            ));
                            Some(s == "true")
                        }
                        _ => {
                            spec.errors.push(format!(
                                "{key} must be true or false, found {} at {}",
                                shown(v),
                                v.pos
                            ));
                            None
                        }
                    };
                    match key {
                        "changeOrigin" => spec.change_origin = b,
                        "ws" => spec.ws = b,
                        "secure" => spec.secure = b,
                        _ => spec.xfwd = b,
                    }
                }
                "pathRewrite" | "headers" => match &v.kind {
                    Kind::Object(map) => {
                        let mut dup_warnings = Vec::new();
                        let map = dedup(map, |p, m| dup_warnings.push((p, m)));
                        pending.extend(dup_warnings);
                        for e in map {
                            let value = match &e.value.kind {
                                Kind::String(s) => s.clone(),
                                Kind::Number(raw, _) if key == "headers" => raw.clone(),
                                _ => {
                                    spec.errors.push(format!(
                                        "{key} \"{}\" must map to a string, found {} at {}",
                                        e.key,
                                        e.value.type_name(),
                                        e.value.pos
                                    ));
                                    continue;
                                }
                            };
                            let k = At {
                                value: e.key.clone(),
                                pos: e.key_pos,
                            };
                            if key == "headers" {
                                spec.headers.push((k, value));
                            } else {
                                spec.path_rewrite.push((k, value));
                            }
                        }
                    }
                    _ => spec.errors.push(format!(
                        "{key} must be an object of {}, found {}",
                        if key == "headers" {
                            "header names to values"
                        } else {
                            "regular expressions to replacements"
                        },
                        v.type_name()
                    )),
                },
                "logLevel" => match &v.kind {
                    Kind::String(s) => {
                        spec.log_level = Some(At {
                            value: s.clone(),
                            pos: v.pos,
                        })
                    }
                    _ => spec.errors.push(format!(
                        "logLevel must be one of \"debug\", \"info\", \"warn\", \"error\", \"silent\", found {}",
                        v.type_name()
                    )),
                },
                "proxyTimeout" => match &v.kind {
                    Kind::Number(_, n) => {
                        spec.proxy_timeout = Some(At {
                            value: *n,
                            pos: v.pos,
                        })
                    }
                    Kind::String(s) if s.trim().parse::<f64>().is_ok() => {
                        pending.push((
                            v.pos,
                            format!("\"{key}\": \"{s}\" is a string; read as the number {s}"),
                        ));
                        spec.proxy_timeout = s.trim().parse::<f64>().ok().map(|n| At {
                            value: n,
                            pos: v.pos,
                        });
                    }
                    _ => spec.errors.push(format!(
                        "{key} must be a number of milliseconds, found {}",
                        shown(v)
                    )),
                },
                _ => {
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
                            format!("\"{key}\" is not supported by devproxy yet; ignored"),
                        ));
                    } else if !array_form && (key == "context" || key == "pathFilter") {
                        pending.push((
                            m.key_pos,
                            format!("\"{key}\" is ignored in the object form: the key of the rule is its pattern"),
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
    OPTIONS.contains(&key) || NOT_YET.contains(&key) || JS_ONLY.iter().any(|(k, _)| *k == key)
}

/// The closest known option, when the key looks like a typo of it.
fn did_you_mean(key: &str) -> Option<&'static str> {
    let all = OPTIONS
        .iter()
        .chain(NOT_YET)
        .chain(JS_ONLY.iter().map(|(k, _)| k));
    let lower = key.to_ascii_lowercase();
    let mut best: Option<(usize, &'static str)> = None;
    for &cand in all {
        let d = if cand.to_ascii_lowercase() == lower {
            0
        } else {
            edit_distance(&lower, &cand.to_ascii_lowercase())
        };
        if d <= 2.max(cand.len() / 5) && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, cand));
        }
    }
    best.map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
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
        assert_eq!(c.rules[0].ws, Some(true));
        assert_eq!(c.rules[0].change_origin, None);
        assert_eq!(c.rules[1].change_origin, Some(true));
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
    }

    #[test]
    fn string_booleans_warn_and_wrong_types_fail() {
        let c =
            read("{\n \"/a\": { \"target\": \"http://h\", \"secure\": \"false\", \"ws\": 1 }\n}");
        assert_eq!(c.rules[0].secure, Some(false));
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
