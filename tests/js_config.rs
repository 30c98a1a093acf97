//! JavaScript configs through the real `node`: CommonJS and ES modules, object and array
//! form, functions reported (and a prefix-replacing rewrite function read as pathRewrite), a
//! local module required, errors with their line, no Node at all, the default search, and hot
//! reload when the config or a module it requires changes.

mod common;

use std::path::Path;

use common::bin::{devproxy, read_until, save, serve, text};
use common::*;

fn write(dir: &Path, name: &str, body: &str) {
    std::fs::write(dir.join(name), body).unwrap();
}

/// `devproxy check -c FILE PATH...` in `dir`: (exit code, stdout, stderr).
fn check(dir: &Path, file: &str, paths: &[&str]) -> (i32, String, String) {
    let mut args = vec!["check", "-c", file];
    args.extend_from_slice(paths);
    let out = devproxy(dir, &args);
    (
        out.status.code().unwrap(),
        text(&out.stdout),
        text(&out.stderr),
    )
}

const ANGULAR_STYLE: &str = r#"// Angular's proxy.conf.js, as its docs suggest for anything dynamic.
const { api } = require('./targets');
const PROXY_CONFIG = {
  '/api': {
    target: api,
    changeOrigin: true,
    pathRewrite: (path) => path.replace(/^\/api/, ''),
    bypass: function (req) {
      if (req.headers.accept && req.headers.accept.includes('html')) return '/index.html';
    },
  },
  '/events': { target: api, on: { proxyRes: (res) => res } },
  '/odd': { target: api, rewrite: (p) => p.toUpperCase() },
};
module.exports = PROXY_CONFIG;
"#;

#[test]
fn commonjs_object_form_with_functions_and_a_local_module() {
    if !has_node("commonjs_object_form_with_functions_and_a_local_module") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "proxy.conf.js", ANGULAR_STYLE);
    write(
        dir.path(),
        "targets.js",
        "module.exports = { api: 'http://localhost:8080' };\n",
    );
    let (code, out, err) = check(dir.path(), "proxy.conf.js", &["/api/users?id=1"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("proxy.conf.js: 3 rules"), "{out}");
    let at = |name: &str| out.find(&format!("    {name} ")).unwrap_or(usize::MAX);
    assert!(
        at("/api") < at("/events") && at("/events") < at("/odd") && at("/odd") < usize::MAX,
        "the rules keep the file's order (the first match wins): {out}"
    );
    assert!(
        out.contains("/api/users?id=1 → http://localhost:8080/users?id=1"),
        "the rewrite function became pathRewrite: {out}"
    );
    let said = |want: &str| assert!(err.contains(want), "{want}\n{err}");
    said(
        r#"proxy.conf.js: warning: rule "/api": "bypass" is a function, which devproxy cannot run; ignored: page navigations"#,
    );
    said(
        r#"rule "/api": "pathRewrite" is a function that replaces a prefix; used as "pathRewrite": {"^/api":""}"#,
    );
    said(r#"rule "/events": "on.proxyRes" is a function, which devproxy cannot run"#);
    said(
        r#"rule "/odd": "rewrite" is a function devproxy could not read as a prefix replacement; ignored: write it as "pathRewrite": { "^/odd": "" }"#,
    );
}

#[test]
fn es_modules_array_form_and_export_default_function() {
    if !has_node("es_modules_array_form_and_export_default_function") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "t.mjs",
        "export const auth = 'http://localhost:9001';\n",
    );
    write(
        dir.path(),
        "proxy.conf.mjs",
        "import { auth } from './t.mjs';\nexport default [{ context: ['/auth', '/login'], target: auth, secure: false }];\n",
    );
    let (code, out, err) = check(dir.path(), "proxy.conf.mjs", &["/login/x"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("/login/x → http://localhost:9001/login/x"),
        "{out}"
    );
    // A .cjs file exporting a function: called, its value used.
    write(
        dir.path(),
        "proxy.conf.cjs",
        "module.exports = async () => ({ '/api': { target: process.env.API || 'http://localhost:8081' } });\n",
    );
    let (code, out, _) = check(dir.path(), "proxy.conf.cjs", &["/api/a"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("/api/a → http://localhost:8081/api/a"),
        "{out}"
    );
}

#[test]
fn a_throwing_file_is_named_with_its_line_and_a_bad_value_with_its_rule() {
    if !has_node("a_throwing_file_is_named_with_its_line_and_a_bad_value_with_its_rule") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "throws.js",
        "const x = 1;\nmodule.exports = { '/a': { target: nope } };\n",
    );
    let (code, _, err) = check(dir.path(), "throws.js", &[]);
    assert_eq!(code, 1);
    assert!(err.contains("throws.js:2:"), "{err}");
    assert!(err.contains("ReferenceError: nope is not defined"), "{err}");
    write(
        dir.path(),
        "syntax.js",
        "module.exports = {\n  '/a': { target: 'x' \n};\n",
    );
    let (code, _, err) = check(dir.path(), "syntax.js", &[]);
    assert_eq!(code, 1);
    assert!(err.contains("syntax.js:3:"), "{err}");
    assert!(err.contains("SyntaxError"), "{err}");
    write(
        dir.path(),
        "wrong.js",
        "module.exports = { '/a': { target: 'localhost:8080', secure: 'no' } };\n",
    );
    let (code, _, err) = check(dir.path(), "wrong.js", &[]);
    assert_eq!(code, 1);
    assert!(
        err.contains("wrong.js: error: rule \"/a\":"),
        "no line:col of JSON devproxy made: {err}"
    );
}

#[test]
fn without_node_the_error_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "proxy.conf.js", "module.exports = {};\n");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_devproxy"))
        .args(["check", "-c", "proxy.conf.js"])
        .current_dir(dir.path())
        .env("PATH", "")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("proxy.conf.js: is JavaScript, and there is no `node` on PATH"),
        "{err}"
    );
    assert!(
        err.contains("install Node.js, or write the rules as proxy.conf.json"),
        "{err}"
    );
}

#[test]
fn serve_finds_proxy_conf_js_and_reloads_it_when_a_required_module_changes() {
    if !has_node("serve_finds_proxy_conf_js_and_reloads_it_when_a_required_module_changes") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("dist")).unwrap();
    write(&dir.path().join("dist"), "index.html", "<!doctype html>app");
    write(
        dir.path(),
        "proxy.conf.js",
        "const t = require('./targets.js');\nmodule.exports = { '/api': { target: t.api } };\n",
    );
    write(
        dir.path(),
        "targets.js",
        "module.exports = { api: 'http://localhost:8080' };\n",
    );
    let mut s = serve(dir.path(), &["dist", "-p", "0", "--no-live-reload"]);
    let banner = s.banner.join("\n");
    assert!(banner.contains("Rules from proxy.conf.js"), "{banner}");
    let table = read_until(&mut s, "http://localhost:8080").join("\n");
    assert!(table.contains("/api → http://localhost:8080"), "{table}");

    save(
        &dir.path().join("targets.js"),
        "module.exports = { api: 'http://localhost:9090' };\n",
    );
    let seen = read_until(&mut s, "~ ").join("\n");
    assert!(seen.contains("reloaded"), "{seen}");
    assert!(seen.contains("http://localhost:9090"), "{seen}");

    // A broken edit keeps the rules in force and says where.
    save(
        &dir.path().join("targets.js"),
        "module.exports = { api: };\n",
    );
    let seen = read_until(&mut s, "keeping the previous rules").join("\n");
    assert!(seen.contains("targets.js:1:"), "{seen}");
}
