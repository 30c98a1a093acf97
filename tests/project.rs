//! Pointing devproxy at the wrong folder: a project's source, a typo, a file, an empty or
//! Angular build folder, a build made for a sub-path. Each gets advice naming what to serve.

mod common;

use std::path::Path;

use common::bin::*;

fn write(root: &Path, path: &str, text: &str) {
    let file = root.join(path);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(file, text).unwrap();
}

/// A Vite project: source index.html, package.json, node_modules, and a build in dist/.
fn vite_project() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    write(
        root,
        "index.html",
        r#"<div id="root"></div><script type="module" src="/src/main.tsx"></script>"#,
    );
    write(root, "src/main.tsx", "export {}");
    write(root, "package.json", r#"{ "name": "app" }"#);
    write(root, "node_modules/react/index.js", "");
    write(root, "dist/index.html", "BUILT");
    d
}

#[test]
fn a_source_tree_is_named_and_its_build_output_suggested() {
    let d = vite_project();
    let mut s = serve(d.path(), &[".", "--port", "0"]);
    let lines = read_until(&mut s, "looks like").join("\n");
    assert!(
        lines.contains("warning: . looks like a project's source, not its build: index.html loads /src/main.tsx, which browsers cannot run as it is. Build it (for example `npm run build`) and serve what the build writes: ./dist"),
        "{lines}"
    );
}

#[test]
fn with_no_dir_the_projects_build_output_is_served() {
    let d = vite_project();
    let mut s = serve(d.path(), &["--port", "0"]);
    assert!(s.banner[0].ends_with("serving dist"), "{:?}", s.banner);
    let lines = read_until(&mut s, "build output").join("\n");
    assert!(
        lines.contains(
            "serving dist, this project's build output (give DIR to serve another folder)"
        ),
        "{lines}"
    );
    assert!(http_get(s.port(), "/").contains("BUILT"));
}

#[test]
fn typos_files_and_empty_folders_get_advice() {
    let d = vite_project();
    let out = devproxy(d.path(), &["serve", "./dits", "--port", "0"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: ./dits: directory not found; did you mean ./dist?\n"
    );
    let out = devproxy(d.path(), &["serve", "src/main.tsx", "--port", "0"]);
    assert_eq!(
        text(&out.stderr),
        "error: src/main.tsx is a file, not a directory; serve the folder that holds the built app (for example dist/)\n"
    );
    std::fs::create_dir(d.path().join("empty")).unwrap();
    let mut s = serve(d.path(), &["empty", "--port", "0"]);
    let lines = read_until(&mut s, "is empty").join("\n");
    assert!(
        lines.contains("warning: empty is empty: build the app first (for example `npm run build`), then serve the folder the build writes"),
        "{lines}"
    );
    let reply = http_get(s.port(), "/");
    assert!(reply.starts_with("HTTP/1.1 404"), "{reply}");
    assert!(reply.contains("build the app first"), "{reply}");
}

#[test]
fn angular_builds_and_settings_are_found() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    write(
        root,
        "angular.json",
        r#"{ "projects": { "web": { "architect": {
            "build": { "options": { "outputPath": "dist/web" } },
            "serve": { "options": { "proxyConfig": "proxy.dev.json" } } } } } }"#,
    );
    write(root, "package.json", "{}");
    write(root, "dist/web/browser/index.html", "NG");
    write(
        root,
        "proxy.dev.json",
        r#"{ "/api": "http://127.0.0.1:9" }"#,
    );
    // `ng build` says "dist/web"; the app is in dist/web/browser.
    let mut s = serve(root, &["dist/web", "--port", "0"]);
    assert!(
        s.banner
            .iter()
            .any(|l| l.contains("Rules from proxy.dev.json")),
        "{:?}",
        s.banner
    );
    let lines = read_until(&mut s, "did you mean").join("\n");
    assert!(
        lines.contains("dist/web has no index.html, but dist/web/browser has one (Angular builds go there); did you mean `devproxy serve dist/web/browser`?"),
        "{lines}"
    );
    drop(s);
    let s = serve(root, &["--port", "0"]);
    assert!(
        s.banner[0].ends_with("serving dist/web/browser"),
        "{:?}",
        s.banner
    );
    assert!(http_get(s.port(), "/").contains("NG"));
}

#[test]
fn a_build_for_a_sub_path_is_served_under_it() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    write(
        root,
        "dist/index.html",
        r#"<head><base href="/app/"><link rel="stylesheet" href="styles.css"></head>APP"#,
    );
    write(root, "dist/main.js", "console.log(1)");
    let mut s = serve(root, &["dist", "--port", "0"]);
    let banner = s.banner.join("\n");
    assert!(banner.contains("/app/"), "{banner}");
    assert!(
        banner.contains(
            "(served under /app/, from the build's <base href>; --base / serves it at the root)"
        ),
        "{banner}"
    );
    let port = s.port();
    assert!(http_get(port, "/app/main.js").starts_with("HTTP/1.1 200"));
    let root_reply = http_get(port, "/");
    assert!(root_reply.starts_with("HTTP/1.1 307"), "{root_reply}");
    assert!(root_reply.contains("location: /app/\r\n"), "{root_reply}");
    let outside = http_get(port, "/main.js");
    assert!(outside.starts_with("HTTP/1.1 404"), "{outside}");
    assert!(outside.contains("did you mean /app/main.js?"), "{outside}");
    let missing = http_get(port, "/app/styles.css");
    assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");
    let lines = read_until(&mut s, "styles.css").join("\n");
    assert!(
        lines.contains("warning: GET /app/styles.css answered 404: no such file"),
        "{lines}"
    );
    drop(s);
    // --base on the command line wins; a navigation under it gets the app.
    let s = serve(root, &["dist", "--port", "0", "--base", "/shop"]);
    let port = s.port();
    assert!(http_get(port, "/shop/main.js").starts_with("HTTP/1.1 200"));
    let nav = http_get_html(port, "/shop/orders/7");
    assert!(nav.contains("APP"), "{nav}");
}

/// CPU time (user + system, in clock ticks) the process has used.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The fields after the command name (which may hold spaces) end at ')'.
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split(' ').collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

#[test]
fn live_reload_on_a_large_folder_uses_no_cpu_while_idle() {
    let d = tempfile::tempdir().unwrap();
    let dist = d.path().join("dist");
    for dir in 0..100 {
        let sub = dist.join(format!("chunk{dir}"));
        std::fs::create_dir_all(&sub).unwrap();
        for f in 0..100 {
            std::fs::write(sub.join(format!("f{f}.js")), "x").unwrap();
        }
    }
    std::fs::write(dist.join("index.html"), "APP").unwrap();
    let s = serve(d.path(), &["dist", "--port", "0"]);
    assert!(
        s.banner.iter().any(|l| l.contains("Live reload")),
        "{:?}",
        s.banner
    );
    assert!(http_get(s.port(), "/").contains("APP"));
    std::thread::sleep(std::time::Duration::from_millis(500));
    let before = cpu_ticks(s.child.id());
    std::thread::sleep(std::time::Duration::from_secs(2));
    let used = cpu_ticks(s.child.id()) - before;
    // Clock ticks are 10 ms: two seconds of idling may cost one or two, never a busy loop's 200.
    assert!(
        used <= 3,
        "{used} ticks of CPU in 2 s idle over 10,000 watched files"
    );
}
