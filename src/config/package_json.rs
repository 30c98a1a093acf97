//! Create React App's `"proxy"` field in package.json, behind `--proxy-fallback`.

use std::path::PathBuf;

use anyhow::Context as _;

use super::jsonc::{self, Kind};

/// The URL behind `--proxy-fallback`: the value itself, or the `"proxy"` field of the
/// package.json it names (a file, or a directory holding one).
pub(crate) fn fallback_url(value: &str) -> anyhow::Result<String> {
    if value.contains("://") {
        return Ok(value.to_string());
    }
    let mut path = PathBuf::from(value);
    if path.is_dir() {
        path.push("package.json");
    }
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "--proxy-fallback {value}: not a URL, and {} cannot be read",
            path.display()
        )
    })?;
    let root = jsonc::parse(&text).map_err(|e| anyhow::anyhow!("{}:{e}", path.display()))?;
    let proxy = match &root.kind {
        Kind::Object(members) => members.iter().rev().find(|m| m.key == "proxy"),
        _ => None,
    };
    let Some(v) = proxy.map(|m| &m.value) else {
        anyhow::bail!("{}: has no \"proxy\" field", path.display());
    };
    match v.as_str() {
        Some(url) => Ok(url.to_string()),
        None => anyhow::bail!(
            "{}:{}: \"proxy\" must be a URL string, found {}",
            path.display(),
            v.pos,
            v.type_name()
        ),
    }
}
