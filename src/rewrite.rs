//! Building the upstream path: JavaScript-style `pathRewrite` replacements, joining the
//! target's base path, and Next.js `:param` sources and destinations.

use regex::Regex;

/// Applies the first `pathRewrite` whose regex matches `path_and_query`, as
/// http-proxy-middleware does: to the whole request URL (query included), replacing the first
/// match as JavaScript's `replace` does.
pub fn apply_path_rewrite<'a>(
    rules: &[(Regex, String)],
    path_and_query: &'a str,
) -> std::borrow::Cow<'a, str> {
    for (re, replacement) in rules {
        if let Some(caps) = re.captures(path_and_query) {
            let mut out = String::with_capacity(path_and_query.len() + replacement.len());
            let m = caps.get(0).map_or(0..0, |m| m.range());
            out.push_str(&path_and_query[..m.start]);
            expand_js(&caps, replacement, path_and_query, &mut out);
            out.push_str(&path_and_query[m.end..]);
            return std::borrow::Cow::Owned(out);
        }
    }
    std::borrow::Cow::Borrowed(path_and_query)
}

/// Joins a base path and a request path with exactly one slash between them, as http-proxy's
/// `urlJoin` does at the seam (it keeps the rest of the path as the browser sent it).
pub fn join_path(base: &str, path: &str) -> String {
    let (path, query) = match path.find('?') {
        Some(i) => (&path[..i], Some(&path[i..])),
        None => (path, None),
    };
    let mut out = String::with_capacity(base.len() + path.len() + 2);
    out.push_str(base.trim_end_matches('/'));
    if path.is_empty() {
        if base.ends_with('/') || out.is_empty() {
            out.push('/');
        }
    } else {
        out.push('/');
        out.push_str(path.trim_start_matches('/'));
    }
    if let Some(q) = query {
        out.push_str(q);
    }
    out
}

/// JavaScript's `String.prototype.replace` replacement patterns: `$1`…`$99`, `$&`, `` $` ``,
/// `$'`, `$$` and `$<name>`. Unknown `$` sequences stay as written, as in JavaScript.
fn expand_js(caps: &regex::Captures<'_>, replacement: &str, input: &str, out: &mut String) {
    let whole = caps.get(0).map_or(0..0, |m| m.range());
    let bytes = replacement.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' || i + 1 >= bytes.len() {
            let ch = replacement[i..].chars().next().unwrap_or('$');
            out.push(ch);
            i += ch.len_utf8();
            continue;
        }
        let next = bytes[i + 1];
        match next {
            b'$' => {
                out.push('$');
                i += 2;
            }
            b'&' => {
                out.push_str(&input[whole.clone()]);
                i += 2;
            }
            b'`' => {
                out.push_str(&input[..whole.start]);
                i += 2;
            }
            b'\'' => {
                out.push_str(&input[whole.end..]);
                i += 2;
            }
            b'0'..=b'9' => {
                // Two digits if that names a group, else one (JavaScript's rule).
                let one = usize::from(next - b'0');
                let two = bytes
                    .get(i + 2)
                    .filter(|b| b.is_ascii_digit())
                    .map(|b| one * 10 + usize::from(b - b'0'));
                let groups = caps.len() - 1;
                if let Some(n) = two.filter(|n| *n >= 1 && *n <= groups) {
                    out.push_str(caps.get(n).map_or("", |m| m.as_str()));
                    i += 3;
                } else if one >= 1 && one <= groups {
                    out.push_str(caps.get(one).map_or("", |m| m.as_str()));
                    i += 2;
                } else {
                    out.push('$');
                    i += 1;
                }
            }
            b'<' => match replacement[i + 2..].find('>') {
                Some(end) => {
                    let name = &replacement[i + 2..i + 2 + end];
                    out.push_str(caps.name(name).map_or("", |m| m.as_str()));
                    i += 3 + end;
                }
                None => {
                    out.push('$');
                    i += 1;
                }
            },
            _ => {
                out.push('$');
                i += 1;
            }
        }
    }
}

/// A Next.js `rewrites` destination: a URL with `:name` placeholders filled from the source.
#[derive(Debug)]
pub struct Destination {
    pub template: String,
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
pub fn next_source_regex(source: &str) -> Result<String, String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join() {
        assert_eq!(join_path("", ""), "/");
        assert_eq!(join_path("", "?a"), "/?a");
        assert_eq!(join_path("/base", ""), "/base");
        assert_eq!(join_path("/base/", ""), "/base/");
        assert_eq!(join_path("/base", "/x//y"), "/base/x//y");
        assert_eq!(join_path("", "x"), "/x");
    }
}
