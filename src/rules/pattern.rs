//! Request-path patterns: plain prefixes (Vite, http-proxy-middleware), `^` regular
//! expressions (Vite), and micromatch-style globs with `!` exclusions (webpack-dev-server).

use globset::{GlobBuilder, GlobMatcher};
use regex::Regex;

/// Regexes from the file are bounded so a pathological pattern cannot eat the machine.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// The patterns of one rule. A path matches when any include matches (or there are only
/// excludes) and no exclude does.
#[derive(Debug, Default)]
pub(crate) struct Matcher {
    include: Vec<Pattern>,
    exclude: Vec<Pattern>,
}

#[derive(Debug)]
pub(crate) enum Pattern {
    Prefix(String),
    Regex(Regex),
    /// The glob, and the path `/x/**` also takes (`/x` itself).
    Glob(Glob),
}

impl Pattern {
    fn matches(&self, path: &str) -> bool {
        match self {
            Pattern::Prefix(p) => path.starts_with(p.as_str()),
            Pattern::Regex(r) => r.is_match(path),
            Pattern::Glob(g) => g.matches(path),
        }
    }
}

/// A glob with micromatch's (and so http-proxy-middleware's) readings that globset lacks.
#[derive(Debug)]
pub(crate) struct Glob {
    /// As written (after webpack's key reading).
    text: String,
    matcher: GlobMatcher,
    /// `/api/**` also takes `/api` itself.
    base: Option<String>,
    /// A pattern ending in `*` also takes the path with one trailing slash (picomatch's
    /// default, `strictSlashes: false`): `/burst*` takes `/burst/`.
    trailing_star: bool,
}

impl Glob {
    fn matches(&self, path: &str) -> bool {
        self.matcher.is_match(path)
            || self.base.as_deref() == Some(path)
            || (self.trailing_star
                && path
                    .strip_suffix('/')
                    .is_some_and(|p| !p.ends_with('/') && self.matcher.is_match(p)))
    }
}

impl Matcher {
    pub(crate) fn matches(&self, path: &str) -> bool {
        if self.include.is_empty() && self.exclude.is_empty() {
            return false;
        }
        let included = self.include.is_empty() || self.include.iter().any(|p| p.matches(path));
        included && !self.exclude.iter().any(|p| p.matches(path))
    }

    /// Adds a pattern as written: a leading `!` excludes.
    pub(crate) fn add(&mut self, written: &str) -> Result<(), String> {
        match written.strip_prefix('!') {
            Some(rest) => self.exclude.push(compile(rest)?),
            None => self.include.push(compile(written)?),
        }
        Ok(())
    }

    pub(crate) fn include(&mut self, p: Pattern) {
        self.include.push(p);
    }

    /// The patterns as regular expressions anchored at the start, which PCRE (nginx) and RE2
    /// (Caddy) read as devproxy does: (includes, excludes).
    pub(crate) fn exported(&self) -> (Vec<String>, Vec<String>) {
        let each = |ps: &[Pattern]| ps.iter().map(Pattern::regex_source).collect();
        (each(&self.include), each(&self.exclude))
    }
}

impl Pattern {
    fn regex_source(&self) -> String {
        match self {
            Pattern::Prefix(p) => format!("^{}", regex::escape(p)),
            Pattern::Regex(r) => r.as_str().to_string(),
            Pattern::Glob(g) => glob_regex(&g.text),
        }
    }
}

/// A glob as micromatch reads it, as a regular expression: `*` within a segment (a whole-segment
/// `*` takes at least one character), `**` across segments (`/x/**` takes `/x` too), `?`, `[…]`,
/// `{a,b}`; a trailing `*` also takes one trailing slash.
fn glob_regex(glob: &str) -> String {
    let mut out = String::from("^");
    for (i, seg) in glob.split('/').enumerate() {
        match (i, seg) {
            (0, "**") => out.push_str(".*"),
            // Any number of segments, none included.
            (_, "**") => out.push_str("(?:/.*)?"),
            (_, "*") => out.push_str("/[^/]+"),
            (0, _) => glob_segment(seg, &mut out),
            _ => {
                out.push('/');
                glob_segment(seg, &mut out);
            }
        }
    }
    if glob.ends_with('*') {
        out.push_str("/?");
    }
    out.push('$');
    out
}

fn glob_segment(seg: &str, out: &mut String) {
    let mut chars = seg.chars().peekable();
    let mut in_class = false;
    let mut braces = 0;
    while let Some(c) = chars.next() {
        match c {
            _ if in_class => {
                out.push(c);
                in_class = c != ']';
            }
            '[' => {
                out.push('[');
                if chars.peek() == Some(&'!') {
                    chars.next();
                    out.push('^');
                }
                in_class = true;
            }
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                out.push_str(".*");
            }
            '*' => out.push_str("[^/]*"),
            '?' => out.push_str("[^/]"),
            '{' => {
                braces += 1;
                out.push_str("(?:");
            }
            ',' if braces > 0 => out.push('|'),
            '}' if braces > 0 => {
                braces -= 1;
                out.push(')');
            }
            '\\' => {
                if let Some(n) = chars.next() {
                    out.push_str(&regex::escape(&n.to_string()));
                }
            }
            _ => out.push_str(&regex::escape(&c.to_string())),
        }
    }
}

/// webpack-dev-server (and so Angular CLI) rewrites object-form keys before matching, "for
/// backwards compatibility": a lone `*` means every path and a trailing `/*` is dropped, so
/// `"/api/*"` takes `/api/users/1` like the prefix `/api`. Array-form contexts are kept as they
/// are, as there.
pub(crate) fn webpack_key(key: &str) -> String {
    if key == "*" {
        return "**".to_string();
    }
    match key.strip_suffix("/*") {
        Some(prefix) if !prefix.is_empty() => prefix.to_string(),
        _ => key.to_string(),
    }
}

fn is_glob(p: &str) -> bool {
    p.contains(['*', '?', '[', '{'])
}

fn compile(p: &str) -> Result<Pattern, String> {
    if p.starts_with('^') {
        return regex(p)
            .map(Pattern::Regex)
            .map_err(|e| format!("pattern \"{p}\" is not a valid regular expression: {e}"));
    }
    if is_glob(p) {
        // In micromatch a star that is a whole segment matches at least one character
        // (`/api/*` takes `/api/x`, not `/api/`); in globset it may match none.
        let text = p
            .split('/')
            .map(|seg| if seg == "*" { "?*" } else { seg })
            .collect::<Vec<_>>()
            .join("/");
        let glob = GlobBuilder::new(&text)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .map_err(|e| format!("pattern \"{p}\" is not a valid glob: {}", e.kind()))?;
        return Ok(Pattern::Glob(Glob {
            text: p.to_string(),
            matcher: glob.compile_matcher(),
            base: p.strip_suffix("/**").map(str::to_string),
            trailing_star: p.ends_with('*'),
        }));
    }
    Ok(Pattern::Prefix(p.to_string()))
}

/// A regular expression from the file, size-bounded; the error is one line.
pub(crate) fn regex(source: &str) -> Result<Regex, String> {
    regex::RegexBuilder::new(source)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| one_line(&e.to_string()))
}

/// Regex errors span several lines with a caret diagram; logs want one line.
fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty() && !l.chars().all(|c| c == '^' || c == ' '))
        .unwrap_or(s)
        .trim_start_matches("error: ")
        .to_string()
}

/// The literal start of a pattern as written (`/api` for `^/api/(.*)` or `/api/**`), for
/// "did you mean" hints; `None` when the pattern has no literal start.
pub(crate) fn literal_prefix(pattern: &str) -> Option<&str> {
    let plain = pattern
        .trim_start_matches('^')
        .split(['*', '?', '[', '{', '('])
        .next()
        .unwrap_or("")
        .trim_end_matches('/');
    (!plain.is_empty()).then_some(plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every exported regex takes exactly the paths the pattern takes.
    #[test]
    fn exported_regexes_match_what_the_patterns_match() {
        let paths = [
            "/api",
            "/api/",
            "/api/users",
            "/api/v1/users.json",
            "/apiv2",
            "/x/y.json",
            "/burst",
            "/burst/",
            "/burst/x",
            "/static/a.js",
            "/static/a.css",
            "/static/a.json",
            "/static/x/y/a.json",
            "/",
            "/v12/x",
        ];
        let globs = [
            "/api",
            "/api/*.json",
            "/api/**",
            "/burst*",
            "/static/*.{js,css}",
            "**",
            "^/v[0-9]+/",
            "/api/*",
            "/static/**/*.json",
        ];
        for written in globs {
            let mut m = Matcher::default();
            m.add(written).unwrap();
            let (inc, _) = m.exported();
            let re = Regex::new(&inc[0]).unwrap();
            for p in paths {
                assert_eq!(
                    re.is_match(p),
                    m.matches(p),
                    "{written} ({}) on {p}",
                    inc[0]
                );
            }
        }
    }
}
