//! Reading proxy files as users write them: JSONC in Angular's, webpack's, umi's, Vite's or
//! Next.js's shape, with `${VAR}` expanded, into [`RawRule`]s that keep every value's position,
//! plus every diagnostic worth showing.
//!
//! Nothing here compiles a pattern or parses a URL; [`crate::rules`] does that.

mod diagnostic;
mod env;
pub(crate) mod js;
pub(crate) mod jsonc;
mod options;
mod package_json;
mod raw;
mod shapes;

use std::collections::HashMap;
use std::path::Path;

pub(crate) use diagnostic::At;
pub use diagnostic::{Diagnostic, LoadError, Severity};
pub(crate) use package_json::fallback_url;
pub(crate) use raw::{cli_rule, given, CookieSpec, CorsSpec, Entry, RawRule, TargetSpec};

use env::Vars;
use jsonc::{Kind, Member, Pos};
use shapes::Reader;

/// The whole file, read.
#[derive(Debug, Clone, Default)]
pub(crate) struct RawConfig {
    pub rules: Vec<RawRule>,
    pub diagnostics: Vec<Diagnostic>,
    /// Other files the config read (a JavaScript config's local modules), for the watcher.
    pub sources: Vec<std::path::PathBuf>,
    /// Strings written with `${VAR}`: (the value they had, as written).
    pub placeholders: Vec<(String, String)>,
}

/// Reads and parses `file`, with `${VAR}` taken from the environment and the `.env` beside it.
/// Only an unreadable file or a syntax error is fatal; everything else becomes a diagnostic.
pub(crate) fn load(file: &Path) -> Result<RawConfig, LoadError> {
    let read_error = |reason: String| LoadError::Read {
        file: file.to_path_buf(),
        reason,
    };
    if js::is_js(file) {
        return load_js(file);
    }
    let bytes = std::fs::read(file).map_err(|e| {
        read_error(match e.kind() {
            std::io::ErrorKind::NotFound => "file not found".to_string(),
            std::io::ErrorKind::IsADirectory => "is a directory, not a file".to_string(),
            _ => e.to_string(),
        })
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        read_error(format!(
            "not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ))
    })?;
    let dir = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    parse_with(file, &text, &Vars::for_dir(dir))
}

/// A JavaScript config: evaluated by Node, then read as JSON. Positions in the JSON mean
/// nothing to the user, so diagnostics name the file and the rule instead.
fn load_js(file: &Path) -> Result<RawConfig, LoadError> {
    let evaluated = js::evaluate(file)?;
    let mut root = jsonc::parse(&evaluated.json).map_err(|e| LoadError::Read {
        file: file.to_path_buf(),
        reason: format!("node's answer is not JSON: {}", e.message),
    })?;
    jsonc::forget_positions(&mut root);
    let mut config = read_tree(file, root, &Vars::default())?;
    config.diagnostics.extend(evaluated.diagnostics);
    config.sources = evaluated.files;
    Ok(config)
}

/// Parses the text of a config file with the process environment; `file` is only used in
/// messages.
pub(crate) fn parse(file: &Path, text: &str) -> Result<RawConfig, LoadError> {
    parse_with(file, text, &Vars::default())
}

/// Parses the text of a config file, expanding `${VAR}` from `vars`.
fn parse_with(file: &Path, text: &str, vars: &Vars) -> Result<RawConfig, LoadError> {
    let syntax = |pos: Pos, message: String| LoadError::Syntax {
        file: file.to_path_buf(),
        pos,
        message,
    };
    let root = jsonc::parse(text).map_err(|e| syntax(e.pos, e.message))?;
    read_tree(file, root, vars)
}

/// Reads a parsed config into rules and diagnostics.
fn read_tree(file: &Path, mut root: jsonc::Value, vars: &Vars) -> Result<RawConfig, LoadError> {
    // Line 0: a value with no position in the file (a JavaScript config's).
    let syntax = |pos: Pos, message: String| match pos.line {
        0 => LoadError::Read {
            file: file.to_path_buf(),
            reason: message,
        },
        _ => LoadError::Syntax {
            file: file.to_path_buf(),
            pos,
            message,
        },
    };
    let mut env_failures = HashMap::new();
    let mut placeholders = Vec::new();
    env::expand_tree(&mut root, vars, &mut env_failures, &mut placeholders);
    let mut r = Reader {
        file: file.to_path_buf(),
        out: RawConfig {
            placeholders,
            ..RawConfig::default()
        },
        env_failures,
    };
    match &root.kind {
        Kind::Array(items) => items.iter().for_each(|item| r.array_item(item, false)),
        // Some projects write one webpack-style rule without wrapping it in an array.
        Kind::Object(members) if shapes::is_single_rule(members) => r.array_item(&root, true),
        Kind::Object(members) if members.iter().any(|m| m.key == "rewrites") => {
            r.next_rewrites(members)
        }
        Kind::Object(members) => r.object_form(members),
        _ => {
            return Err(syntax(
                root.pos,
                format!(
                    "expected an object of rules or an array of rules, found {}",
                    root.type_name()
                ),
            ))
        }
    }
    Ok(r.out)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> RawConfig {
        parse(Path::new("p.json"), text).unwrap()
    }

    fn messages(c: &RawConfig) -> Vec<String> {
        c.diagnostics.iter().map(|d| d.to_string()).collect()
    }

    #[test]
    fn object_form_with_shorthand() {
        let c = read(
            r#"{ "/api": { "target": "http://localhost:8080", "ws": true }, "/s": "http://localhost:9000" }"#,
        );
        assert_eq!(c.rules.len(), 2);
        assert_eq!(c.rules[0].ws.as_ref().map(|b| b.value), Some(true));
        assert_eq!(c.rules[0].change_origin, None);
        assert_eq!(
            c.rules[1].change_origin.as_ref().map(|b| b.value),
            Some(true)
        );
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
        assert_eq!(c.rules[0].secure.as_ref().map(|b| b.value), Some(false));
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
}
