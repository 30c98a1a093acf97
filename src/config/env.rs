//! `${VAR}` and `${VAR:-default}` in config strings, from the environment and from a `.env`
//! file beside the config, so each developer can point the same file at their own backend.

use std::collections::HashMap;
use std::path::Path;

use crate::config::jsonc::{Kind, Pos, Value};

/// Where variables come from: the process environment first, then `.env`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Vars {
    dotenv: HashMap<String, String>,
    /// Values that win over everything (tests, embedding); empty in normal use.
    overrides: HashMap<String, String>,
}

impl Vars {
    /// The environment plus the `.env` in `dir`, if there is one.
    pub fn for_dir(dir: &Path) -> Vars {
        let dotenv = std::fs::read_to_string(dir.join(".env"))
            .map(|t| parse_dotenv(&t))
            .unwrap_or_default();
        Vars {
            dotenv,
            overrides: HashMap::new(),
        }
    }

    /// Variables from a map only (no environment), for tests.
    #[cfg(test)]
    pub fn from_map(map: HashMap<String, String>) -> Vars {
        Vars {
            dotenv: HashMap::new(),
            overrides: map,
        }
    }

    fn get(&self, name: &str) -> Option<String> {
        if let Some(v) = self.overrides.get(name) {
            return Some(v.clone());
        }
        if !self.overrides.is_empty() {
            return None;
        }
        std::env::var(name)
            .ok()
            .or_else(|| self.dotenv.get(name).cloned())
    }
}

/// `KEY=VALUE` lines; `#` comments, `export ` prefixes and surrounding quotes are allowed.
pub(crate) fn parse_dotenv(text: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = v.trim();
        let v = if v.len() >= 2
            && ((v.starts_with('"') && v.ends_with('"'))
                || (v.starts_with('\'') && v.ends_with('\'')))
        {
            &v[1..v.len() - 1]
        } else {
            v.split(" #").next().unwrap_or(v).trim()
        };
        out.insert(k.trim().to_string(), v.to_string());
    }
    out
}

/// Expands every string (keys too) in place. Strings that name an unset variable without a
/// default are left as written and reported by position.
pub(crate) fn expand_tree(
    v: &mut Value,
    vars: &Vars,
    failures: &mut HashMap<Pos, String>,
    expanded: &mut Vec<(String, String)>,
) {
    match &mut v.kind {
        Kind::String(s) => match expand(s, vars) {
            Ok(Some(new)) => {
                expanded.push((new.clone(), std::mem::replace(s, new)));
            }
            Ok(None) => {}
            Err(e) => {
                failures.insert(v.pos, e);
            }
        },
        Kind::Array(items) => items
            .iter_mut()
            .for_each(|i| expand_tree(i, vars, failures, expanded)),
        Kind::Object(members) => {
            for m in members {
                match expand(&m.key, vars) {
                    Ok(Some(new)) => m.key = new,
                    Ok(None) => {}
                    Err(e) => {
                        failures.insert(m.key_pos, e);
                    }
                }
                expand_tree(&mut m.value, vars, failures, expanded);
            }
        }
        _ => {}
    }
}

/// Expands `${NAME}`, `${NAME:-default}` (unset or empty) and `${NAME-default}` (unset);
/// `$${` is a literal `${`. `Ok(None)` when there is nothing to expand.
pub(crate) fn expand(s: &str, vars: &Vars) -> Result<Option<String>, String> {
    if !s.contains("${") {
        return Ok(None);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        if rest[..i].ends_with('$') {
            out.push_str(&rest[..i - 1]);
            out.push_str("${");
            rest = &rest[i + 2..];
            continue;
        }
        out.push_str(&rest[..i]);
        let Some(end) = rest[i..].find('}') else {
            return Err(format!("\"{s}\": \"${{\" is never closed with \"}}\""));
        };
        let inner = &rest[i + 2..i + end];
        let (name, default, empty_too) = match inner.find([':', '-']) {
            Some(j) if inner[j..].starts_with(":-") => (&inner[..j], Some(&inner[j + 2..]), true),
            Some(j) if inner[j..].starts_with('-') => (&inner[..j], Some(&inner[j + 1..]), false),
            Some(_) => {
                return Err(format!(
                    "\"{s}\": \"${{{inner}}}\" is not ${{NAME}}, ${{NAME:-default}} or ${{NAME-default}}"
                ))
            }
            None => (inner, None, false),
        };
        if name.is_empty()
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            || name.starts_with(|c: char| c.is_ascii_digit())
        {
            return Err(format!("\"{s}\": \"{name}\" is not a variable name"));
        }
        let value = match (vars.get(name), default) {
            (Some(v), Some(d)) if v.is_empty() && empty_too => d.to_string(),
            (Some(v), _) => v,
            (None, Some(d)) => d.to_string(),
            (None, None) => {
                return Err(format!(
                    "environment variable {name} is not set (set it, add it to .env beside the config, or write ${{{name}:-default}})"
                ))
            }
        };
        out.push_str(&value);
        rest = &rest[i + end + 1..];
    }
    out.push_str(rest);
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars {
        Vars::from_map(HashMap::from([
            ("API".to_string(), "http://localhost:9000".to_string()),
            ("EMPTY".to_string(), String::new()),
        ]))
    }

    #[test]
    fn expands_with_defaults() {
        let v = vars();
        assert_eq!(
            expand("${API}/v1", &v).unwrap().as_deref(),
            Some("http://localhost:9000/v1")
        );
        assert_eq!(
            expand("${NOPE:-http://x}", &v).unwrap().as_deref(),
            Some("http://x")
        );
        assert_eq!(expand("${EMPTY:-d}", &v).unwrap().as_deref(), Some("d"));
        assert_eq!(expand("${EMPTY-d}", &v).unwrap().as_deref(), Some(""));
        assert_eq!(expand("$${API}", &v).unwrap().as_deref(), Some("${API}"));
        assert_eq!(expand("/$1/$&", &v).unwrap(), None);
        assert_eq!(
            expand("${NOPE}", &v).unwrap_err(),
            "environment variable NOPE is not set (set it, add it to .env beside the config, or write ${NOPE:-default})"
        );
        assert!(expand("${A B}", &v).is_err());
        assert!(expand("${API", &v).is_err());
    }

    #[test]
    fn dotenv_lines() {
        let m = parse_dotenv(
            "# c\nexport A=1\nB = \"two words\"\nC='x' \nD=plain # note\nnot a line\n",
        );
        assert_eq!(m.get("A").map(String::as_str), Some("1"));
        assert_eq!(m.get("B").map(String::as_str), Some("two words"));
        assert_eq!(m.get("C").map(String::as_str), Some("x"));
        assert_eq!(m.get("D").map(String::as_str), Some("plain"));
        assert_eq!(m.len(), 4);
    }
}
