//! Next.js `rewrites`: path-to-regexp sources (`/api/:path*`) and destination URL templates.

use regex::Regex;

/// A Next.js `rewrites` destination: a URL with `:name` placeholders filled from the source.
#[derive(Debug)]
pub(crate) struct Destination {
    pub(crate) template: String,
    pub(crate) source: Regex,
}

impl Destination {
    /// The destination with placeholders filled from `path_and_query`'s path; the request's
    /// query is kept (merged after the destination's own, as Next.js does).
    pub(crate) fn url(&self, path_and_query: &str) -> String {
        let (path, query) = match path_and_query.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path_and_query, None),
        };
        let caps = self.source.captures(path);
        let mut out = String::with_capacity(self.template.len() + path.len());
        let t = self.template.as_str();
        let mut i = 0;
        while i < t.len() {
            let rest = &t[i..];
            // A placeholder is `:name` after a `/` (so `http://host:8080` is left alone).
            if rest.starts_with(':') && t[..i].ends_with('/') {
                let name_len = rest[1..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len() - 1);
                if name_len > 0 {
                    let name = &rest[1..1 + name_len];
                    let value = caps
                        .as_ref()
                        .and_then(|c| c.name(name))
                        .map_or("", |m| m.as_str());
                    out.push_str(value);
                    i += 1 + name_len;
                    if t[i..].starts_with(['*', '+', '?']) {
                        i += 1;
                    }
                    continue;
                }
            }
            let ch = rest.chars().next().unwrap_or(' ');
            out.push(ch);
            i += ch.len_utf8();
        }
        if let Some(q) = query {
            out.push(if out.contains('?') { '&' } else { '?' });
            out.push_str(q);
        }
        out
    }
}

/// Compiles a Next.js (path-to-regexp) source such as `/api/:path*` or `/u/:id(\\d+)` into a
/// regex with named groups: `:x` one segment, `:x?` optional, `:x*` zero or more segments,
/// `:x+` one or more; a trailing slash is optional.
pub(crate) fn source_regex(source: &str) -> Result<String, String> {
    let mut re = String::from("^");
    let chars: Vec<char> = source.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '/' && chars.get(i + 1) == Some(&':') {
            let start = i + 2;
            let mut j = start;
            while j < chars.len() && (chars[j].is_ascii_alphanumeric() || chars[j] == '_') {
                j += 1;
            }
            let name: String = chars[start..j].iter().collect();
            if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
                return Err(format!(
                    "source \"{source}\": a parameter needs a name after ':'"
                ));
            }
            let mut inner = "[^/]+".to_string();
            if chars.get(j) == Some(&'(') {
                let mut depth = 0;
                let mut k = j;
                loop {
                    match chars.get(k) {
                        Some('(') => depth += 1,
                        Some(')') => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        Some(_) => {}
                        None => {
                            return Err(format!("source \"{source}\": unclosed '(' after :{name}"))
                        }
                    }
                    k += 1;
                }
                inner = chars[j + 1..k].iter().collect();
                j = k + 1;
            }
            match chars.get(j) {
                Some('*') => {
                    re.push_str(&format!("(?:/(?P<{name}>.*))?"));
                    j += 1;
                }
                Some('+') => {
                    re.push_str(&format!("/(?P<{name}>.+)"));
                    j += 1;
                }
                Some('?') => {
                    re.push_str(&format!("(?:/(?P<{name}>{inner}))?"));
                    j += 1;
                }
                _ => re.push_str(&format!("/(?P<{name}>{inner})")),
            }
            i = j;
            continue;
        }
        re.push_str(&regex::escape(&chars[i].to_string()));
        i += 1;
    }
    if re.ends_with('/') {
        re.pop();
    }
    re.push_str("/?$");
    Ok(re)
}
