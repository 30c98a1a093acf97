//! `devproxy import FILE` on real-shaped configs (tests/import/): Vite's (loaded by the real
//! Vite), webpack's, umi's (TypeScript, compiled by the real esbuild; `umi` itself is a
//! stand-in with its `defineConfig`) and CRA's setupProxy.js (devproxy's own stand-ins for
//! express and http-proxy-middleware). Vite and esbuild are installed once by npm, outside the
//! repository, into ~/.cache/devproxy-test/import.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use common::bin::{devproxy, text};
use common::*;

static INSTALL: Mutex<()> = Mutex::new(());

/// node_modules with Vite and esbuild, installed on first use; `None` (said loudly) without
/// Node or npm, fatal with `DEVPROXY_NODE=required`.
fn tools(test: &str) -> Option<PathBuf> {
    if !has_node(test) {
        return None;
    }
    let _one_at_a_time = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    // Vite 8 needs Node 20.19; older Nodes (Debian 12 has 18) get Vite 5, which reads configs
    // the same way.
    let version = std::process::Command::new("node")
        .arg("--version")
        .output()
        .map(|o| text(&o.stdout))
        .unwrap_or_default();
    let mut parts = version
        .trim()
        .trim_start_matches('v')
        .split('.')
        .map(|n| n.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    let vite = if (major, minor) >= (20, 19) {
        "vite@8"
    } else {
        "vite@5"
    };
    let dir = home.join(".cache/devproxy-test/import").join(vite);
    let modules = dir.join("node_modules");
    if modules.join("vite/package.json").is_file() && modules.join("esbuild/package.json").is_file()
    {
        return Some(modules);
    }
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("package.json"), "{ \"private\": true }\n").unwrap();
    let installed = std::process::Command::new("npm")
        .args([
            "install",
            "--no-audit",
            "--no-fund",
            "--silent",
            "vite@8",
            "esbuild@0.28",
        ])
        .current_dir(&dir)
        .status();
    match installed {
        Ok(s) if s.success() => Some(modules),
        other => {
            let required = std::env::var("DEVPROXY_NODE").is_ok_and(|v| v == "required");
            assert!(
                !required,
                "cannot install Vite and esbuild with npm: {other:?}"
            );
            eprintln!(
                "SKIPPED {test}: npm could not install Vite and esbuild; NOTHING WAS CHECKED"
            );
            None
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}

/// A project made of a fixture, with the installed packages linked into its node_modules.
fn project(fixture: &str, modules: &Path, packages: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/import")
        .join(fixture);
    copy_dir(&src, dir.path());
    let own = dir.path().join("node_modules");
    std::fs::create_dir_all(&own).unwrap();
    for p in packages {
        #[cfg(unix)]
        std::os::unix::fs::symlink(modules.join(p), own.join(p)).unwrap();
        #[cfg(not(unix))]
        copy_dir(&modules.join(p), &own.join(p));
    }
    dir
}

/// `devproxy import FILE` in `dir`: (exit code, stdout, stderr).
fn import(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["import"];
    all.extend_from_slice(args);
    let out = devproxy(dir, &all);
    (
        out.status.code().unwrap(),
        text(&out.stdout),
        text(&out.stderr),
    )
}

/// The printed file, read back by devproxy: its rules, and where paths go.
fn check(dir: &Path, json: &str, paths: &[&str]) -> String {
    std::fs::write(dir.join("imported.json"), json).unwrap();
    let mut args = vec!["check", "-c", "imported.json"];
    args.extend_from_slice(paths);
    let out = devproxy(dir, &args);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

#[test]
fn vite_config_through_the_projects_own_vite() {
    let Some(modules) = tools("vite_config_through_the_projects_own_vite") else {
        return;
    };
    let p = project("vite", &modules, &["vite"]);
    let (code, out, err) = import(p.path(), &["vite.config.ts"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("\"/foo\": \"http://localhost:4567\""), "{out}");
    assert!(
        out.contains("// \"configure\" is a function, which devproxy cannot run"),
        "{out}"
    );
    assert!(out.contains("// \"rewrite\" is a function that replaces a prefix; used as \"pathRewrite\": {\"^/api\":\"\"}"), "{out}");
    let routes = check(
        p.path(),
        &out,
        &["/api/users", "/fallback/x", "/socket.io/?EIO=4"],
    );
    assert!(
        routes.contains("/api/users → http://localhost:8080/users"),
        "{routes}"
    );
    assert!(
        routes.contains("/fallback/x → http://localhost:4568/x"),
        "{routes}"
    );
    assert!(
        routes.contains("/socket.io/?EIO=4 → http://localhost:5174/socket.io/?EIO=4"),
        "{routes}"
    );
    let at = |k: &str| out.find(k).unwrap_or(usize::MAX);
    assert!(
        at("\"/foo\"") < at("\"/api\"") && at("\"/api\"") < at("\"/custom\""),
        "in order: {out}"
    );
}

#[test]
fn webpack_dev_server_config_and_write_beside_it() {
    let Some(modules) = tools("webpack_dev_server_config_and_write_beside_it") else {
        return;
    };
    let p = project("webpack", &modules, &[]);
    let (code, out, err) = import(p.path(), &["webpack.config.js"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.trim_start().lines().nth(1) == Some("["),
        "the array form stays: {out}"
    );
    assert!(
        out.contains("// \"onProxyReqWs\" is a function, which devproxy cannot run"),
        "{out}"
    );
    let routes = check(p.path(), &out, &["/api/x", "/auth/login"]);
    assert!(
        routes.contains("/api/x → http://localhost:3001/x"),
        "{routes}"
    );
    assert!(
        routes.contains("/auth/login → http://localhost:3001/auth/login"),
        "{routes}"
    );

    let (code, _, err) = import(p.path(), &["webpack.config.js", "--write"]);
    assert_eq!(code, 0, "{err}");
    let written = std::fs::read_to_string(p.path().join("proxy.conf.json")).unwrap();
    assert_eq!(written, out);
    // Never over a file that is there.
    let (code, _, err) = import(p.path(), &["webpack.config.js", "--write"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("proxy.conf.json exists and is left as it is"),
        "{err}"
    );
}

#[test]
fn umi_typescript_config_compiled_by_the_projects_esbuild() {
    let Some(modules) = tools("umi_typescript_config_compiled_by_the_projects_esbuild") else {
        return;
    };
    let p = project("umi", &modules, &["esbuild"]);
    // A stand-in for umi: its defineConfig returns the config as given.
    let umi = p.path().join("node_modules/umi");
    std::fs::create_dir_all(&umi).unwrap();
    std::fs::write(
        umi.join("package.json"),
        r#"{ "name": "umi", "main": "index.js" }"#,
    )
    .unwrap();
    std::fs::write(umi.join("index.js"), "exports.defineConfig = (c) => c;\n").unwrap();
    let (code, out, err) = import(p.path(), &[".umirc.ts"]);
    assert_eq!(code, 0, "{out}{err}");
    let routes = check(p.path(), &out, &["/api/orders"]);
    assert!(
        routes.contains("/api/orders → http://localhost:7001/orders"),
        "{routes}"
    );
    let leftovers: Vec<_> = std::fs::read_dir(p.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".devproxy-"))
        .collect();
    assert!(leftovers.is_empty(), "the compiled file is removed");
}

#[test]
fn create_react_app_setup_proxy_with_stand_ins() {
    if !has_node("create_react_app_setup_proxy_with_stand_ins") {
        return;
    }
    let p = project("cra", Path::new("/nonexistent"), &[]);
    let (code, out, err) = import(p.path(), &["src/setupProxy.js"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("\"on.proxyReq\" is a function"), "{out}");
    assert!(
        out.contains("// mounted with app.use('/api', …): http-proxy-middleware 2"),
        "{out}"
    );
    let routes = check(p.path(), &out, &["/api/a", "/auth/b", "/socket/c"]);
    assert!(
        routes.contains("/api/a → http://localhost:5000/api/a"),
        "{routes}"
    );
    assert!(
        routes.contains("/auth/b → http://localhost:5001/auth/b"),
        "{routes}"
    );
    assert!(
        routes.contains("/socket/c → http://localhost:5002/socket/c"),
        "{routes}"
    );
}

#[test]
fn other_files_are_refused_with_the_list() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("package.json"), "{}\n").unwrap();
    let (code, _, err) = import(dir.path(), &["package.json"]);
    assert_eq!(code, 2);
    assert!(err.contains("not a config devproxy can import"), "{err}");
}
