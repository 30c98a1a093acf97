//! The shapes a proxy file comes in, read into [`RawRule`]s: the object form (Angular, Vite,
//! umi), the array form (webpack-dev-server), a single rule object, and Next.js `rewrites`.

use std::collections::HashMap;
use std::path::PathBuf;

use super::diagnostic::{At, Diagnostic, Severity};
use super::jsonc::{Kind, Member, Pos, Value};
use super::raw::{RawRule, TargetSpec};
use super::{dedup, options, RawConfig};

/// Reads rules out of a parsed document, collecting diagnostics as it goes.
pub(super) struct Reader {
    pub file: PathBuf,
    pub out: RawConfig,
    /// Strings whose `${VAR}` could not be expanded, by position.
    pub env_failures: HashMap<Pos, String>,
}

/// webpack-dev-server reads a top-level object with `target` as one rule (no key of the object
/// form can be "target": patterns start with `/`, `^` or `*`).
pub(super) fn is_single_rule(members: &[Member]) -> bool {
    members.iter().any(|m| m.key == "target")
}

/// Why a member of the object form is not a rule, if it is not: an option written outside a
/// rule, a comment key, or a scalar that cannot be a target. Angular loads such files.
fn not_a_rule(m: &Member) -> Option<String> {
    let key = m.key.as_str();
    if key.starts_with("//") {
        return Some(format!("\"{key}\" is not a rule (a comment?); ignored"));
    }
    if key.starts_with(['/', '^', '*', '!']) {
        return None;
    }
    if options::is_known(key) {
        return Some(format!(
            "\"{key}\" is an option, not a path pattern; options belong inside a rule, so it is ignored here"
        ));
    }
    let comment = key.starts_with(['_', '#', '$'])
        || ["comment", "comments", "description", "note", "notes"]
            .iter()
            .any(|c| key.eq_ignore_ascii_case(c));
    if comment {
        return Some(format!("\"{key}\" is not a rule (a comment?); ignored"));
    }
    let scalar = match &m.value.kind {
        Kind::Bool(b) => b.to_string(),
        Kind::Number(raw, _) => raw.clone(),
        Kind::Null => "null".to_string(),
        _ => return None,
    };
    Some(format!("\"{key}\": {scalar} is not a rule; ignored"))
}

/// The display name of a rule with several patterns.
fn joined(patterns: &[At<String>]) -> String {
    patterns
        .iter()
        .map(|p| p.value.as_str())
        .collect::<Vec<_>>()
        .join(", ")
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

    pub(super) fn object_form(&mut self, members: &[Member]) {
        let mut warnings = Vec::new();
        let members = dedup(members, |p, m| warnings.push((p, m)));
        for (p, m) in warnings {
            self.diag(Severity::Warning, p, None, m);
        }
        for m in members {
            match not_a_rule(m) {
                Some(why) => self.diag(Severity::Warning, m.key_pos, None, why),
                None => self.object_rule(m),
            }
        }
    }

    fn object_rule(&mut self, m: &Member) {
        let one_segment = m.key.strip_suffix("/*").filter(|p| p.starts_with('/'));
        if let Some(one_segment) = one_segment {
            self.diag(
                Severity::Warning,
                m.key_pos,
                Some(&m.key),
                format!(
                    "read as webpack-dev-server 4 reads it: {one_segment} and everything under it. \
                     Angular 17+ and webpack-dev-server 5 match exactly one more segment \
                     ({one_segment}/x, not {one_segment}/x/y); write \"{one_segment}/**\" to say everything under {one_segment}"
                ),
            );
        }
        let mut rule = RawRule {
            name: m.key.clone(),
            pos: m.key_pos,
            patterns: vec![At::new(m.key.clone(), m.key_pos)],
            object_key: true,
            ..RawRule::default()
        };
        self.env_errors(Some(m.key_pos), &m.value, &mut rule);
        match &m.value.kind {
            Kind::Object(opts) => self.options(&mut rule, opts, false),
            Kind::String(s) => {
                // Vite's shorthand: `"/api": "http://localhost:8080"` with changeOrigin on.
                rule.target = Some(At::new(TargetSpec::Url(s.clone()), m.value.pos));
                rule.change_origin = Some(At::new(true, m.value.pos));
            }
            _ => rule.errors.push(format!(
                "expected an object of options or a target URL string, found {}",
                m.value.type_name()
            )),
        }
        self.finish(rule);
    }

    /// One entry of the array form, or the single top-level rule object (`single`).
    pub(super) fn array_item(&mut self, item: &Value, single: bool) {
        let Kind::Object(opts) = &item.kind else {
            self.diag(
                Severity::Warning,
                item.pos,
                None,
                format!(
                    "expected a rule object with \"context\" and \"target\", found {}; it is not a rule, so it is ignored",
                    item.type_name()
                ),
            );
            return;
        };
        let is_rule = |k: &str| matches!(k, "context" | "pathFilter" | "target" | "router");
        if !opts.iter().any(|m| is_rule(&m.key)) {
            // Both webpack-dev-server and Angular pass over such entries (a list of other
            // records, say): they would take every request here.
            self.diag(
                Severity::Warning,
                item.pos,
                None,
                "this entry has neither \"context\" nor \"target\", so it is not a proxy rule; ignored".into(),
            );
            return;
        }
        let mut rule = RawRule {
            pos: item.pos,
            ..RawRule::default()
        };
        self.options(&mut rule, opts, true);
        rule.name = joined(&rule.patterns);
        self.env_errors(None, item, &mut rule);
        if rule.patterns.is_empty() {
            // webpack-dev-server hands a rule without a context to http-proxy-middleware,
            // which then takes every request.
            rule.patterns.push(At::new("/".into(), item.pos));
            let whose = if single {
                "devproxy's reading; http-proxy-middleware 2 refuses such a file with \"Invalid context\""
            } else {
                "as webpack-dev-server does"
            };
            self.diag(
                Severity::Warning,
                item.pos,
                None,
                format!("rule has no \"context\", so it takes every request ({whose})"),
            );
            rule.name = "/".into();
        }
        self.finish(rule);
    }

    /// Reports the `${VAR}` failures inside `v` (and at `key`), and marks the rule with them.
    fn env_errors(&mut self, key: Option<Pos>, v: &Value, rule: &mut RawRule) {
        let mut found = Vec::new();
        if let Some(k) = key {
            if let Some(e) = self.env_failures.get(&k) {
                found.push((k, e.clone()));
            }
        }
        self.collect_env(v, &mut found);
        let name = rule.name.clone();
        for (pos, e) in found {
            self.diag(Severity::Error, pos, Some(&name), e.clone());
            rule.unexpanded.push(e);
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
    pub(super) fn next_rewrites(&mut self, members: &[Member]) {
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
        let get = |k: &str| fields.iter().rev().find(|f| f.key == k).map(|f| &f.value);
        let mut rule = RawRule {
            pos: item.pos,
            ..RawRule::default()
        };
        match get("source") {
            Some(Value {
                kind: Kind::String(s),
                pos,
            }) => {
                rule.name = s.clone();
                rule.patterns.push(At::new(s.clone(), *pos));
            }
            _ => rule
                .errors
                .push("a rewrite needs \"source\": \"/path/:param*\"".into()),
        }
        match get("destination") {
            Some(Value {
                kind: Kind::String(d),
                pos,
            }) => next_destination(&mut rule, d, *pos),
            _ => rule
                .errors
                .push("a rewrite needs \"destination\": \"http://host/path/:param*\"".into()),
        }
        self.env_errors(None, item, &mut rule);
        for f in fields {
            if !matches!(f.key.as_str(), "source" | "destination") {
                self.diag(
                    Severity::Warning,
                    f.key_pos,
                    Some(&rule.name),
                    format!(
                        "\"{}\" in a rewrite is not supported by devproxy; ignored",
                        f.key
                    ),
                );
            }
        }
        self.finish(rule);
    }

    fn finish(&mut self, rule: RawRule) {
        for p in &rule.patterns {
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
                    Some(&rule.name),
                    format!("pattern \"{}\" does not start with '/', so it never matches a request path{hint}", p.value),
                );
            }
        }
        if rule.target.is_none()
            && rule.router.is_empty()
            && rule.errors.is_empty()
            && rule.unexpanded.is_empty()
        {
            self.diag(
                Severity::Error,
                rule.pos,
                Some(&rule.name),
                "has no \"target\"".into(),
            );
        }
        for e in &rule.errors {
            self.diag(Severity::Error, rule.pos, Some(&rule.name), e.clone());
        }
        self.out.rules.push(rule);
    }

    fn options(&mut self, rule: &mut RawRule, opts: &[Member], array_form: bool) {
        let mut warnings = Vec::new();
        let opts = dedup(opts, |p, m| warnings.push((p, m)));
        for m in opts {
            if let Err(e) = options::read(rule, m, array_form, &mut warnings) {
                rule.errors.push(e);
            }
        }
        // Array-form names are known only once the context is read.
        let rule_name = if rule.name.is_empty() {
            joined(&rule.patterns)
        } else {
            rule.name.clone()
        };
        for (p, m) in warnings {
            self.diag(Severity::Warning, p, Some(&rule_name), m);
        }
    }
}

/// A Next.js destination: the target is its scheme and authority; the whole URL is a template.
fn next_destination(rule: &mut RawRule, d: &str, pos: Pos) {
    match crate::url::split(d) {
        Some((scheme, authority, _)) => {
            rule.target = Some(At::new(
                TargetSpec::Url(format!("{scheme}://{authority}")),
                pos,
            ));
        }
        None => rule.errors.push(format!(
            "destination \"{d}\" is a path inside the app; devproxy only proxies to external URLs (http://…)"
        )),
    }
    rule.destination = Some(At::new(d.to_string(), pos));
    // Next.js sends the destination's host, as changeOrigin does.
    rule.change_origin = Some(At::new(true, pos));
}
