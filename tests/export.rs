//! `devproxy export nginx|caddy`: the output is accepted by the real servers (`nginx -t`,
//! `caddy validate`), what cannot be expressed is said, and the exported nginx config, run
//! against test backends, sends the same requests where devproxy sends them (path, query,
//! Host, added headers) and serves DIR the same way.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::bin::{devproxy, dir_with, text};
use common::*;

/// The server's binary, or `None` (said loudly; fatal with `DEVPROXY_EXPORT=required`).
fn server(name: &str, test: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/sbin")])
        .map(|d| d.join(name))
        .find(|p| p.is_file());
    if found.is_none() {
        let required = std::env::var("DEVPROXY_EXPORT").is_ok_and(|v| v == "required");
        assert!(!required, "DEVPROXY_EXPORT=required but there is no {name}");
        eprintln!("SKIPPED {test}: no {name} (apt-get install {name}); NOTHING WAS CHECKED");
    }
    found
}

/// nginx.conf around an exported file, for a run as this user in `dir`.
fn nginx_conf(dir: &Path, exported: &Path) -> PathBuf {
    let d = dir.display();
    let conf = format!(
        "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{}}\nhttp {{\n  access_log off;\n  client_body_temp_path {d};\n  proxy_temp_path {d};\n  fastcgi_temp_path {d};\n  uwsgi_temp_path {d};\n  scgi_temp_path {d};\n  include {};\n}}\n",
        exported.display()
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf).unwrap();
    path
}

fn export(dir: &Path, args: &[&str]) -> (String, String) {
    let mut all = vec!["export"];
    all.extend_from_slice(args);
    let out = devproxy(dir, &all);
    assert!(out.status.success(), "{}", text(&out.stderr));
    (text(&out.stdout), text(&out.stderr))
}

const EVERYTHING: &str = r#"{
  "/api/v1": { "target": "${API_URL:-http://127.0.0.1:8080}", "pathRewrite": { "^/api/v1": "/v1" }, "changeOrigin": true },
  "/socket": { "target": "ws://127.0.0.1:8081", "ws": true },
  "^/v[0-9]+/(.*)": { "target": "https://127.0.0.1:8443/base", "secure": false, "xfwd": true, "autoRewrite": true, "cookieDomainRewrite": { "api.test": "localhost" } },
  "/assets/**/*.json": { "target": "http://127.0.0.1:8082", "proxyTimeout": 5000, "timeout": 60000, "headers": { "X-Env": "dev" } },
  "/routed": { "target": "http://127.0.0.1:8083", "router": { "/routed/b": "http://127.0.0.1:8084" }, "cors": true }
}"#;

#[test]
fn exported_configs_are_accepted_by_nginx_and_caddy() {
    let dir = dir_with(EVERYTHING);
    std::fs::create_dir(dir.path().join("dist")).unwrap();
    std::fs::write(dir.path().join("dist/index.html"), "<!doctype html>app").unwrap();
    let (conf, warnings) = export(dir.path(), &["nginx", "dist", "-p", "18080"]);
    assert!(conf.contains("location ~ ^/api/v1 {"), "{conf}");
    assert!(
        conf.contains("proxy_pass ${API_URL};"),
        "the placeholder stays: {conf}"
    );
    assert!(
        warnings.contains("rule \"/routed\": \"router\" is not carried over"),
        "{warnings}"
    );
    assert!(
        warnings.contains("rule \"/routed\": \"cors\" is not carried over"),
        "{warnings}"
    );
    assert!(conf.contains("# not carried over: \"router\""), "{conf}");
    if let Some(nginx) = server("nginx", "exported_configs_are_accepted_by_nginx_and_caddy") {
        // envsubst's part, done here: the variable gets a value.
        let filled = conf.replace("${API_URL}", "http://127.0.0.1:8080");
        let exported = dir.path().join("site.conf");
        std::fs::write(&exported, filled).unwrap();
        let conf = nginx_conf(dir.path(), &exported);
        let out = Command::new(nginx)
            .arg("-t")
            .arg("-c")
            .arg(&conf)
            .arg("-p")
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "nginx -t: {}", text(&out.stderr));
    }
    let (caddyfile, _) = export(dir.path(), &["caddy", "dist", "-p", "18081"]);
    assert!(
        caddyfile.contains("reverse_proxy {$API_URL:http://127.0.0.1:8080} {"),
        "{caddyfile}"
    );
    if let Some(caddy) = server("caddy", "exported_configs_are_accepted_by_nginx_and_caddy") {
        let file = dir.path().join("Caddyfile");
        std::fs::write(&file, caddyfile).unwrap();
        let out = Command::new(caddy)
            .args(["validate", "--adapter", "caddyfile", "--config"])
            .arg(&file)
            .env("HOME", dir.path())
            .env("XDG_DATA_HOME", dir.path())
            .env("XDG_CONFIG_HOME", dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "caddy validate: {}",
            text(&out.stderr)
        );
    }
}

/// Kills the server when the test ends.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// What a backend saw for one request: its request line, Host, and the headers named.
fn arrival(reply: &str, headers: &[&str]) -> (String, String, Vec<Option<String>>) {
    let mut lines = reply.lines();
    let first = lines.next().unwrap_or_default().to_string();
    let mut found = std::collections::HashMap::new();
    for l in lines.take_while(|l| !l.is_empty()) {
        if let Some((k, v)) = l.split_once(": ") {
            found.insert(k.to_string(), v.to_string());
        }
    }
    let host = found.get("host").cloned().unwrap_or_default();
    let named = headers.iter().map(|h| found.get(*h).cloned()).collect();
    (first, host, named)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_sends_each_request_where_devproxy_sends_it() {
    let Some(nginx) = server("nginx", "nginx_sends_each_request_where_devproxy_sends_it") else {
        return;
    };
    let (a, b) = (echo_backend().await, echo_backend().await);
    let config = format!(
        r#"{{
          "/api/v1": {{ "target": "{a}", "pathRewrite": {{ "^/api/v1": "/v1" }}, "changeOrigin": true }},
          "/api": {{ "target": "{a}/base", "headers": {{ "X-Env": "dev" }} }},
          "^/files/[0-9]+": {{ "target": "{b}", "pathRewrite": {{ "^/files/([0-9]+)": "/f/$1" }} }},
          "/assets/**/*.json": {{ "target": "{b}", "xfwd": true }}
        }}"#,
        a = a.url(),
        b = b.url()
    );
    let p = proxy(&config).await;
    std::fs::write(p.site.join("assets/app.3f2a9c1b.js"), "hashed").unwrap();
    std::fs::write(p.site.join("assets/my-component.js"), "named").unwrap();
    let port = free_port();
    let site = p.site.display().to_string();
    let (conf, warnings) = tokio::task::spawn_blocking({
        let dir = p.tmp.path().to_path_buf();
        let port = port.to_string();
        move || export(&dir, &["nginx", &site, "-p", &port])
    })
    .await
    .unwrap();
    assert!(warnings.is_empty(), "{warnings}");
    let work = tempfile::tempdir().unwrap();
    let exported = work.path().join("site.conf");
    std::fs::write(&exported, &conf).unwrap();
    let nginx_conf = nginx_conf(work.path(), &exported);
    let _nginx = Running(
        Command::new(nginx)
            .arg("-c")
            .arg(&nginx_conf)
            .arg("-p")
            .arg(work.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let nginx_url = format!("http://127.0.0.1:{port}");
    assert!(
        eventually(|| async { std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() }).await,
        "nginx starts: {}",
        std::fs::read_to_string(work.path().join("error.log")).unwrap_or_default()
    );

    let named = ["x-env", "x-forwarded-for"];
    for path in [
        "/api/v1/users?id=1",
        "/api/items/7",
        "/apiv2/x",
        "/files/12/a.txt?download=1",
        "/assets/x/y/data.json",
        "/assets/data.json",
    ] {
        let via_devproxy = get(&p.url(path)).await;
        let via_nginx = get(&format!("{nginx_url}{path}")).await;
        assert_eq!(via_devproxy.status, 200, "{path}");
        assert_eq!(via_nginx.status, 200, "{path}: {}", via_nginx.text());
        let (dp_line, dp_host, dp_headers) = arrival(&via_devproxy.text(), &named);
        let (ng_line, ng_host, ng_headers) = arrival(&via_nginx.text(), &named);
        assert_eq!(dp_line, ng_line, "{path}: the same upstream path and query");
        assert_eq!(
            dp_headers.iter().map(Option::is_some).collect::<Vec<_>>(),
            ng_headers.iter().map(Option::is_some).collect::<Vec<_>>(),
            "{path}: the same added headers"
        );
        assert_eq!(dp_headers[0], ng_headers[0], "{path}");
        // Host: the target's with changeOrigin, else the one each server was addressed by.
        let own = |h: &str, url: &str| url.ends_with(h);
        assert_eq!(
            own(&dp_host, &p.url("")),
            own(&ng_host, &nginx_url),
            "{path}: Host {dp_host} / {ng_host}"
        );
    }
    assert_eq!(a.hits() + b.hits(), 12);

    // DIR: the page for navigations, 404 for a missing script, hashed files cached for a year.
    for (path, accept, status) in [
        ("/deep/link", "text/html", 200),
        ("/missing.js", "*/*", 404),
    ] {
        for base in [p.url(""), nginx_url.clone()] {
            let r = send(
                request("GET", &format!("{base}{path}"))
                    .header("accept", accept)
                    .body(body::empty())
                    .unwrap(),
            )
            .await;
            assert_eq!(r.status, status, "{base}{path}");
            if status == 200 {
                assert!(r.text().contains("INDEX"), "{base}{path}");
            }
        }
    }
    let hashed = get(&format!("{nginx_url}/assets/app.3f2a9c1b.js")).await;
    assert_eq!(
        hashed.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    // A name that only looks like it has a hash is revalidated, as devproxy serves it.
    let named = get(&format!("{nginx_url}/assets/my-component.js")).await;
    assert_eq!(named.status, 200);
    assert_eq!(named.header("cache-control"), Some("no-cache"));
}
