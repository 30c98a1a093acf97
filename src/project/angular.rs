//! What angular.json says about where the build goes, which proxy file `ng serve` uses, and
//! the base href, so devproxy's defaults match `ng serve`'s.

use std::path::{Path, PathBuf};

use crate::config::jsonc::{self, Kind, Value};

/// One application of an Angular workspace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct App {
    /// `build.options.outputPath` (or its `base`), relative to the workspace.
    pub output: Option<PathBuf>,
    /// `serve.options.proxyConfig`.
    pub proxy_config: Option<PathBuf>,
    /// `build.options.baseHref`.
    pub base_href: Option<String>,
}

/// The applications in `root/angular.json`, in file order; empty when there is none or it
/// cannot be read (Angular itself reports that).
pub(crate) fn apps(root: &Path) -> Vec<App> {
    let Ok(text) = std::fs::read_to_string(root.join("angular.json")) else {
        return Vec::new();
    };
    let Ok(doc) = jsonc::parse(&text) else {
        return Vec::new();
    };
    let Some(Kind::Object(projects)) = get(&doc, &["projects"]).map(|v| &v.kind) else {
        return Vec::new();
    };
    projects.iter().map(|p| app(&p.value)).collect()
}

fn app(project: &Value) -> App {
    let build = get(project, &["architect", "build", "options"]);
    let output = build.and_then(|b| get(b, &["outputPath"])).and_then(|o| {
        // Angular 17+: a string, or { "base": …, "browser": … }.
        o.as_str()
            .or_else(|| get(o, &["base"]).and_then(Value::as_str))
            .map(PathBuf::from)
    });
    let serve = get(project, &["architect", "serve", "options"]);
    App {
        output,
        proxy_config: serve
            .and_then(|s| get(s, &["proxyConfig"]))
            .and_then(Value::as_str)
            .map(PathBuf::from),
        base_href: build
            .and_then(|b| get(b, &["baseHref"]))
            .and_then(Value::as_str)
            .map(str::to_string),
    }
}

/// The value at `path` in nested objects.
fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, key| match &v.kind {
        Kind::Object(members) => members
            .iter()
            .rev()
            .find(|m| m.key == *key)
            .map(|m| &m.value),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_output_proxy_and_base() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("angular.json"),
            r#"{ "projects": {
                "web": { "architect": {
                    "build": { "options": { "outputPath": "dist/web", "baseHref": "/app/" } },
                    "serve": { "options": { "proxyConfig": "src/proxy.conf.json" } } } },
                "admin": { "architect": { "build": { "options": { "outputPath": { "base": "dist/admin" } } } } }
            } }"#,
        )
        .unwrap();
        let apps = apps(d.path());
        assert_eq!(apps.len(), 2);
        assert_eq!(apps[0].output.as_deref(), Some(Path::new("dist/web")));
        assert_eq!(
            apps[0].proxy_config.as_deref(),
            Some(Path::new("src/proxy.conf.json"))
        );
        assert_eq!(apps[0].base_href.as_deref(), Some("/app/"));
        assert_eq!(apps[1].output.as_deref(), Some(Path::new("dist/admin")));
    }
}
