//! JavaScript configs (`proxy.conf.js`, `.mjs`, `.cjs`): evaluated by the `node` on PATH with
//! the loader embedded here (`load.mjs`, run as a child process that prints JSON), then read
//! exactly as a JSON config is. Functions cannot cross: each is reported once (file, rule,
//! option) with what devproxy does instead; a path rewrite function that behaves like an
//! anchored prefix replacement becomes that `pathRewrite`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::diagnostic::{Diagnostic, LoadError, Severity};
use super::jsonc::Pos;

const LOADER: &str = include_str!("load.mjs");

/// How long a config may take to evaluate (one that waits on the network, say).
const TIMEOUT: Duration = Duration::from_secs(15);

/// Whether `file` is a JavaScript config, by its extension.
pub(crate) fn is_js(file: &Path) -> bool {
    matches!(
        file.extension().and_then(|e| e.to_str()),
        Some("js" | "mjs" | "cjs")
    )
}

/// A JavaScript config, evaluated.
#[derive(Debug)]
pub(crate) struct Evaluated {
    /// The exported value, as JSON text.
    pub json: String,
    /// What to tell the user about functions that were taken out.
    pub diagnostics: Vec<Diagnostic>,
    /// The local modules it read (itself included), for the watcher.
    pub files: Vec<PathBuf>,
}

/// What exports the rules, by the file's name: a proxy config itself, or the config of a tool
/// that holds them (`vite.config.*`, `webpack.config.*`, umi's `.umirc.*` and
/// `config/config.*`, CRA's `setupProxy.js`).
pub(crate) fn kind_of(file: &Path) -> Option<&'static str> {
    let name = file.file_name()?.to_str()?;
    let in_config_dir = file
        .parent()
        .and_then(Path::file_name)
        .is_some_and(|d| d == "config");
    Some(match name {
        n if n.starts_with("vite.config.") => "vite",
        n if n.starts_with("webpack.config.") || n.starts_with("webpack.dev.") => "webpack",
        n if n.starts_with(".umirc.") => "umi",
        n if in_config_dir && n.starts_with("config.") => "umi",
        "setupProxy.js" | "setupProxy.cjs" | "setupProxy.mjs" => "cra",
        _ if is_js(file) => "config",
        _ => return None,
    })
}

/// Evaluates `file` with Node, as a proxy config.
pub(crate) fn evaluate(file: &Path) -> Result<Evaluated, LoadError> {
    evaluate_as(file, "config")
}

/// Evaluates `file` with Node and takes the rules from where `kind` keeps them.
pub(crate) fn evaluate_as(file: &Path, kind: &str) -> Result<Evaluated, LoadError> {
    let fail = |reason: String| LoadError::Read {
        file: file.to_path_buf(),
        reason,
    };
    if !file.is_file() {
        return Err(fail("file not found".into()));
    }
    let child = Command::new("node")
        .args(["--input-type=module", "-e", LOADER])
        .arg(file)
        .arg(kind)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(fail("is JavaScript, and there is no `node` on PATH to evaluate it; install Node.js, or write the rules as proxy.conf.json".into()));
        }
        Err(e) => return Err(fail(format!("cannot run node: {e}"))),
    };
    let (out, err) = (drain(child.stdout.take()), drain(child.stderr.take()));
    let status = wait(&mut child, TIMEOUT);
    let (out, err) = (
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default(),
    );
    let Some(status) = status else {
        return Err(fail(format!(
            "node did not finish evaluating it within {} s",
            TIMEOUT.as_secs()
        )));
    };
    // The last line is the loader's; a config may print lines of its own before it.
    let line = out.lines().rev().find(|l| l.starts_with('{'));
    let Some(answer) = line.and_then(|l| serde_json::from_str::<Value>(l).ok()) else {
        let said = err
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        return Err(fail(format!(
            "node could not evaluate it ({status}){}",
            if said.is_empty() {
                String::new()
            } else {
                format!(": {said}")
            }
        )));
    };
    if let Some(message) = answer["error"].as_str() {
        let line = answer["line"].as_u64().unwrap_or(0) as usize;
        let col = answer["column"].as_u64().unwrap_or(1) as usize;
        return Err(match line {
            0 => fail(message.to_string()),
            _ => LoadError::Syntax {
                file: answer["file"]
                    .as_str()
                    .map_or_else(|| file.to_path_buf(), |f| shown(file, Path::new(f))),
                pos: Pos { line, col },
                message: message.to_string(),
            },
        });
    }
    let diagnostics = notes(file, &answer);
    let files = answer["files"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(PathBuf::from)
                .collect()
        })
        .unwrap_or_default();
    Ok(Evaluated {
        json: answer["config"].to_string(),
        diagnostics,
        files,
    })
}

/// `module` as the user would name it: relative to the config's directory when inside it.
fn shown(config: &Path, module: &Path) -> PathBuf {
    let dir = config
        .canonicalize()
        .ok()
        .and_then(|c| c.parent().map(Path::to_path_buf));
    match dir.and_then(|d| module.strip_prefix(d).ok().map(Path::to_path_buf)) {
        Some(rel) => match config.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.join(rel),
            _ => rel,
        },
        None => module.to_path_buf(),
    }
}

/// Reads a child's pipe to its end on a thread of its own, so a chatty config never blocks on
/// a full pipe.
fn drain<R: std::io::Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_string(&mut text);
        }
        text
    })
}

/// The child's exit status, or `None` after killing it at `limit`.
fn wait(child: &mut std::process::Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(2)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

/// One warning per function taken out, and per path rewrite function (read or not).
fn notes(file: &Path, answer: &Value) -> Vec<Diagnostic> {
    let warn = |rule: &str, message: String| Diagnostic {
        severity: Severity::Warning,
        file: file.to_path_buf(),
        pos: Pos::default(),
        rule: Some(rule.to_string()),
        message,
    };
    let mut out = Vec::new();
    let text = |v: &Value| v.as_str().unwrap_or("").to_string();
    for f in answer["functions"].as_array().into_iter().flatten() {
        let (rule, option) = (text(&f["rule"]), text(&f["option"]));
        out.push(warn(
            &rule,
            format!(
                "\"{option}\" is a function, which devproxy cannot run; ignored: {}",
                instead(&option)
            ),
        ));
    }
    for n in answer["notes"].as_array().into_iter().flatten() {
        out.push(warn(&text(&n["rule"]), text(&n["message"])));
    }
    for r in answer["rewrites"].as_array().into_iter().flatten() {
        let (rule, option) = (text(&r["rule"]), text(&r["option"]));
        out.push(warn(&rule, match r["pathRewrite"].as_object() {
            Some(map) => format!(
                "\"{option}\" is a function that replaces a prefix; used as \"pathRewrite\": {}",
                Value::Object(map.clone())
            ),
            None => format!(
                "\"{option}\" is a function devproxy could not read as a prefix replacement; ignored: write it as \"pathRewrite\": {{ \"^{}\": \"\" }}",
                text(&r["prefix"])
            ),
        }));
    }
    out
}

/// What devproxy offers in place of a JavaScript hook.
fn instead(option: &str) -> &'static str {
    match option.split('.').next().unwrap_or(option) {
        "bypass" => "page navigations (Accept: text/html) already get index.html, not the backend, which is what most bypass functions do",
        "onProxyReq" | "onProxyReqWs" | "proxyReq" => "send fixed headers with \"headers\": { \"X-Name\": \"value\" }",
        "onProxyRes" | "proxyRes" => "rewrite cookies and redirects with \"cookieDomainRewrite\", \"autoRewrite\" (or \"cookies\": true)",
        "onError" | "error" => "devproxy answers 502/504 with the cause, and logs it",
        "configure" => "use \"headers\", \"cookieDomainRewrite\" and \"autoRewrite\" for what configure usually does",
        "router" => "write \"router\" as an object: { \"host/path\": \"http://target\" }",
        "on" => "use \"headers\", \"cookieDomainRewrite\" and \"autoRewrite\"",
        "(the rule itself)" => "write the rule as an object with a \"target\"",
        _ => "devproxy has no hook for it",
    }
}
