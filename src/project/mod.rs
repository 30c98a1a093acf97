//! What folder devproxy was pointed at: a build output, a project's source, an Angular
//! workspace, or a mistake; where the project's build output is; and the sub-path a build was
//! made for. Everything here only advises: devproxy serves what it is told to.

mod angular;

use std::path::{Path, PathBuf};

/// The script types browsers cannot run as they are: a page that loads them is a source tree.
const SOURCE_SCRIPTS: [&str; 6] = [".ts", ".tsx", ".mts", ".jsx", ".vue", ".svelte"];

/// What was found about DIR, for the user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Advice {
    /// Warnings to print at start.
    pub notes: Vec<String>,
    /// What a 404 for `/` should add (DIR has no index.html).
    pub root_hint: Option<String>,
}

/// Checks DIR: an error for a DIR that cannot be served at all (missing, a file), advice for
/// one that is probably not what the user meant.
pub(crate) fn check(dir: &Path) -> Result<Advice, String> {
    let shown = dir.display();
    if dir.is_file() {
        let folder = match dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(p) if dir.file_name().is_some_and(|n| n == "index.html") => {
                format!("did you mean {}?", p.display())
            }
            _ => "for example dist/".to_string(),
        };
        return Err(format!(
            "{shown} is a file, not a directory; serve the folder that holds the built app ({folder})"
        ));
    }
    if !dir.is_dir() {
        return Err(format!("{shown}: directory not found{}", suggestion(dir)));
    }
    let mut advice = Advice::default();
    if !dir.join("index.html").is_file() {
        let note = missing_index(dir);
        advice.root_hint = Some(note.clone());
        advice.notes.push(note);
    }
    if let Some(reason) = source_reason(dir) {
        advice.notes.push(format!(
            "{shown} looks like a project's source, not its build: {reason}. Build it (for example `npm run build`) and serve what the build writes: {}",
            outputs_text(dir)
        ));
    }
    Ok(advice)
}

/// With no DIR given: the project's build output when there is exactly one (and a note saying
/// so), else `.`.
pub(crate) fn default_dir() -> (PathBuf, Option<String>) {
    let here = Path::new(".");
    let project = here.join("package.json").is_file() || here.join("angular.json").is_file();
    // A page that loads no source scripts is a site of its own, served as it is.
    let plain_site = std::fs::read_to_string(here.join("index.html"))
        .is_ok_and(|html| source_script(&html).is_none());
    if !project || plain_site {
        return (PathBuf::from("."), None);
    }
    match build_outputs(here).as_slice() {
        [one] => {
            let note = format!(
                "serving {}, this project's build output (give DIR to serve another folder)",
                one.display()
            );
            (one.clone(), Some(note))
        }
        _ => (PathBuf::from("."), None),
    }
}

/// The proxy file `ng serve` uses (angular.json's `proxyConfig`), when there is one.
pub(crate) fn angular_proxy_config() -> Option<PathBuf> {
    angular::apps(Path::new("."))
        .into_iter()
        .filter_map(|a| a.proxy_config)
        .find(|p| p.is_file())
}

/// The sub-path the build in DIR was made for: `<base href>` in its index.html, else
/// angular.json's `baseHref`; `None` for `/`.
pub(crate) fn base_href(dir: &Path) -> Option<String> {
    let from_page = std::fs::read_to_string(dir.join("index.html"))
        .ok()
        .and_then(|html| attribute_after(&html, "<base", "href"));
    let from_angular = || {
        angular::apps(Path::new("."))
            .into_iter()
            .find_map(|a| a.base_href)
    };
    from_page
        .or_else(from_angular)
        .filter(|b| b.starts_with('/') && b != "/")
}

/// Why DIR looks like a source tree, if it does.
fn source_reason(dir: &Path) -> Option<String> {
    if let Ok(html) = std::fs::read_to_string(dir.join("index.html")) {
        if let Some(script) = source_script(&html) {
            return Some(format!(
                "index.html loads {script}, which browsers cannot run as it is"
            ));
        }
    }
    let listed: Vec<&str> = ["package.json", "node_modules"]
        .into_iter()
        .filter(|n| dir.join(n).exists())
        .collect();
    match listed.as_slice() {
        [] => None,
        [one] => Some(format!("{one} is in it (and would be served)")),
        _ => Some("package.json and node_modules are in it (and would be served)".into()),
    }
}

/// The first `src="…"` in `html` that names a TypeScript, JSX, Vue or Svelte file.
fn source_script(html: &str) -> Option<&str> {
    html.match_indices("src=")
        .filter_map(|(i, _)| quoted(&html[i + 4..]))
        .find(|src| SOURCE_SCRIPTS.iter().any(|ext| src.ends_with(ext)))
}

/// The value of `name="…"` in the first tag starting with `tag`.
fn attribute_after(html: &str, tag: &str, name: &str) -> Option<String> {
    let start = html.find(tag)?;
    let end = html[start..].find('>')? + start;
    let attrs = &html[start..end];
    let at = attrs.find(&format!("{name}="))?;
    quoted(&attrs[at + name.len() + 1..]).map(str::to_string)
}

/// The contents of a quoted attribute value at the start of `s`.
fn quoted(s: &str) -> Option<&str> {
    let quote = s.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let rest = &s[1..];
    rest.find(quote).map(|end| &rest[..end])
}

/// Folders under `root` that hold a built app (an index.html), most likely first: angular.json's
/// output paths, then the usual names.
fn build_outputs(root: &Path) -> Vec<PathBuf> {
    let mut candidates: Vec<PathBuf> = angular::apps(root)
        .into_iter()
        .filter_map(|a| a.output)
        .flat_map(|o| [o.join("browser"), o])
        .collect();
    for name in ["dist", "build", "www", "out"] {
        candidates.push(PathBuf::from(name));
        if let Ok(entries) = std::fs::read_dir(root.join(name)) {
            let mut subs: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|e| PathBuf::from(name).join(e.file_name()))
                .collect();
            subs.sort();
            for sub in subs {
                candidates.push(sub.join("browser"));
                candidates.push(sub);
            }
        }
    }
    let mut found: Vec<PathBuf> = Vec::new();
    for c in candidates {
        if root.join(&c).join("index.html").is_file() && !found.contains(&c) {
            found.push(c);
        }
    }
    found
}

/// The build outputs of the project in the current folder, for advice.
fn outputs_text(dir: &Path) -> String {
    let root = if dir.join("package.json").is_file() {
        dir
    } else {
        Path::new(".")
    };
    let found = build_outputs(root);
    if found.is_empty() {
        return "dist/, build/ or www/, once it is built".into();
    }
    let shown: Vec<String> = found
        .iter()
        .map(|p| root.join(p).display().to_string())
        .collect();
    shown.join(" or ")
}

/// What to say about a DIR without index.html.
fn missing_index(dir: &Path) -> String {
    let shown = dir.display();
    if dir.join("browser/index.html").is_file() {
        return format!(
            "{shown} has no index.html, but {shown}/browser has one (Angular builds go there); did you mean `devproxy serve {}`?",
            dir.join("browser").display()
        );
    }
    let empty = std::fs::read_dir(dir).map_or(true, |mut e| e.next().is_none());
    if empty {
        return format!(
            "{shown} is empty: build the app first (for example `npm run build`), then serve the folder the build writes"
        );
    }
    format!("{shown} has no index.html, so / answers 404; is it the folder your build writes?")
}

/// "; did you mean X?" for a DIR that does not exist: a sibling with a close name, or the
/// build outputs of the project here.
fn suggestion(dir: &Path) -> String {
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let close = std::fs::read_dir(parent).ok().and_then(|entries| {
        entries
            .filter_map(Result::ok)
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .map(|n| (strsim::levenshtein(&n, &name), n))
            .filter(|(d, _)| *d <= 2)
            .min()
    });
    if let Some((_, n)) = close {
        return format!("; did you mean {}?", parent.join(n).display());
    }
    let outputs = build_outputs(Path::new("."));
    if outputs.is_empty() {
        String::new()
    } else {
        let shown: Vec<String> = outputs.iter().map(|p| p.display().to_string()).collect();
        format!("; the build output here is {}", shown.join(" or "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_scripts_and_base_hrefs() {
        let vite = r#"<script type="module" src="/src/main.tsx"></script>"#;
        assert_eq!(source_script(vite), Some("/src/main.tsx"));
        assert_eq!(
            source_script(r#"<script src="/assets/index-abc.js">"#),
            None
        );
        assert_eq!(
            attribute_after(r#"<head><base href="/app/"><title>"#, "<base", "href").as_deref(),
            Some("/app/")
        );
        assert_eq!(attribute_after("<head>", "<base", "href"), None);
    }
}
