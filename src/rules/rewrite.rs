//! Building the upstream path: JavaScript-style `pathRewrite` replacements and joining the
//! target's base path.

use std::borrow::Cow;

use regex::Regex;

/// Applies the first `pathRewrite` whose regex matches `path_and_query`, as
/// http-proxy-middleware does: to the whole request URL (query included), replacing the first
/// match as JavaScript's `replace` does.
pub(crate) fn apply_path_rewrite<'a>(
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

/// What http-proxy sends for a rewritten URL: `url.parse(result).path`, so a rewrite to an
/// absolute URL (`"^/api": "http://localhost:8080"`) keeps only its path and query.
pub(crate) fn path_only(rewritten: Cow<'_, str>) -> Cow<'_, str> {
    let Some((scheme, _, rest)) = crate::url::split(&rewritten) else {
        return rewritten;
    };
    let is_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !is_scheme {
        return rewritten;
    }
    let rest = rest.split('#').next().unwrap_or("");
    if rest.starts_with('/') {
        Cow::Owned(rest.to_string())
    } else {
        Cow::Owned(format!("/{rest}"))
    }
}

/// Joins a base path and a request path with exactly one slash between them, as http-proxy's
/// `urlJoin` does at the seam (it keeps the rest of the path as the browser sent it).
pub(crate) fn join_path(base: &str, path: &str) -> String {
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
