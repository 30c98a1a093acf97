//! The real binary: `check` output and exit codes, `serve` start-up, banner, port fallback,
//! start-up errors, and Ctrl-C.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::bin::*;

#[test]
fn check_prints_rules_and_where_paths_go() {
    let d = dir_with(
        r#"{
  "/api": { "target": "http://localhost:8080/v1", "changeOrigin": true, "pathRewrite": { "^/api": "" } },
  "/ws": { "target": "ws://localhost:9000" }
}"#,
    );
    let out = devproxy(
        d.path(),
        &["check", "/api/users?id=1", "/ws/chat", "/about"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("proxy.conf.json: 2 rules\n"), "{stdout}");
    assert!(
        stdout.contains("/api → http://localhost:8080/v1  [changeOrigin, rewrite ^/api → \"\"]"),
        "{stdout}"
    );
    assert!(
        stdout.contains("/ws  → ws://localhost:9000  [ws]"),
        "{stdout}"
    );
    assert!(
        stdout.contains("/api/users?id=1 → http://localhost:8080/v1/users?id=1  (rule \"/api\")"),
        "{stdout}"
    );
    assert!(
        stdout.contains("/ws/chat → http://localhost:9000/ws/chat  (rule \"/ws\")"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "/about → no rule: a static file, or index.html for page navigations (SPA fallback)"
        ),
        "{stdout}"
    );
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
}

#[test]
fn check_allows_warnings() {
    let d = dir_with("{\n  \"/api\": { \"target\": \"http://localhost:1\", \"secure\": \"false\", \"changeOrgin\": true }\n}\n");
    let out = devproxy(d.path(), &["check"]);
    assert_eq!(out.status.code(), Some(0));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("proxy.conf.json:2:55: warning: rule \"/api\": \"secure\": \"false\" is a string; read as the boolean false"), "{stderr}");
    assert!(stderr.contains("proxy.conf.json:2:64: warning: rule \"/api\": unknown option \"changeOrgin\" is ignored; did you mean \"changeOrigin\"?"), "{stderr}");
    assert!(stderr.contains("0 error(s), 2 warning(s)"), "{stderr}");
}

#[test]
fn check_fails_on_a_broken_rule_naming_it() {
    let d = dir_with("{\n  \"/ok\": \"http://localhost:1\",\n  \"/api\": { \"target\": \"localhost:8080\" }\n}\n");
    let out = devproxy(d.path(), &["check", "/api/x"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("proxy.conf.json:3:23: error: rule \"/api\": target \"localhost:8080\" has no scheme; did you mean \"http://localhost:8080\"?"),
        "{stderr}"
    );
    assert!(text(&out.stdout).contains("/api/x → 502 from rule \"/api\""));
}

#[test]
fn check_reports_syntax_errors_with_line_and_column() {
    let d = dir_with(
        "{\n  \"/api\": {\n    \"target\": \"http://localhost:1\"\n    \"ws\": true\n  }\n}\n",
    );
    let out = devproxy(d.path(), &["check"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: proxy.conf.json:4:5: expected ',' or '}', found '\"'\n"
    );
}

#[test]
fn check_finds_the_default_files_and_the_environment() {
    let d = tempfile::tempdir().unwrap();
    let out = devproxy(d.path(), &["check"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no config file found"));
    std::fs::create_dir(d.path().join("src")).unwrap();
    std::fs::write(
        d.path().join("src/proxy.conf.json"),
        r#"{ "/s": "http://localhost:1" }"#,
    )
    .unwrap();
    let out = devproxy(d.path(), &["check"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).starts_with("src/proxy.conf.json: 1 rule"));
    std::fs::write(
        d.path().join("other.json"),
        r#"[{ "context": "/o", "target": "http://localhost:2" }]"#,
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_devproxy"))
        .arg("check")
        .current_dir(d.path())
        .env("DEVPROXY_CONFIG", "other.json")
        .output()
        .unwrap();
    assert!(
        text(&out.stdout).starts_with("other.json: 1 rule"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn usage_errors_exit_2_and_version_exits_0() {
    let d = tempfile::tempdir().unwrap();
    assert_eq!(
        devproxy(d.path(), &["check", "--bogus"]).status.code(),
        Some(2)
    );
    assert_eq!(
        devproxy(d.path(), &["serve", "--port", "x"]).status.code(),
        Some(2)
    );
    let out = devproxy(d.path(), &["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).starts_with("devproxy "));
}

#[test]
fn serve_refuses_an_unparsable_file_and_a_missing_directory() {
    let d = dir_with("{ \"/api\": ");
    std::fs::create_dir(d.path().join("dist")).unwrap();
    let out = devproxy(d.path(), &["serve", "dist", "--port", "0"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: proxy.conf.json:1:11: expected a value, found the end of the file\n"
    );
    let out = devproxy(
        d.path(),
        &["serve", "nope", "-c", "proxy.conf.json", "--port", "0"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr), "error: nope: directory not found\n");
    let out = devproxy(
        d.path(),
        &["serve", "dist", "-c", "missing.json", "--port", "0"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr), "error: missing.json: file not found\n");
}

#[test]
fn serve_prints_a_banner_logs_requests_and_stops_on_ctrl_c() {
    let d = dir_with(r#"{ "/api": { "target": "http://127.0.0.1:9", "changeOrigin": true } }"#);
    std::fs::create_dir(d.path().join("dist")).unwrap();
    std::fs::write(d.path().join("dist/index.html"), "HELLO").unwrap();
    let mut s = serve(d.path(), &["dist", "--port", "0"]);
    let banner = s.banner.join("\n");
    assert!(
        banner.starts_with(&format!(
            "devproxy {}  serving dist",
            env!("CARGO_PKG_VERSION")
        )),
        "{banner}"
    );
    assert!(
        banner.contains("Rules from proxy.conf.json, watching for changes:"),
        "{banner}"
    );
    let port = s.port();
    assert!(http_get(port, "/").contains("HELLO"));
    let reply = http_get(port, "/api/x");
    assert!(reply.starts_with("HTTP/1.1 502"), "{reply}");
    let table = s.lines.next().unwrap().unwrap();
    assert_eq!(table, "    /api → http://127.0.0.1:9  [changeOrigin]");
    let log = s.lines.next().unwrap().unwrap();
    assert!(
        log.contains("GET /api/x → http://127.0.0.1:9/api/x 502")
            && log.contains("[/api] connection refused"),
        "{log}"
    );
    let pid = s.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let status = s.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

#[test]
fn serve_moves_to_the_next_free_port_unless_strict() {
    let d = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let s = serve(d.path(), &[".", "--port", &port]);
    let banner = s.banner.join("\n");
    assert!(
        banner.contains(&format!("(port {port} was in use, so ")),
        "{banner}"
    );
    assert!(
        banner.contains("No proxy.conf.json found: serving files only"),
        "{banner}"
    );
    assert_ne!(s.port().to_string(), port);
    drop(s);
    let out = devproxy(d.path(), &["serve", ".", "--port", &port, "--strict-port"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!("error: port {port} is already in use (--strict-port is set); choose another with --port\n")
    );
}

#[test]
fn serve_reports_reloads_and_broken_edits() {
    let d = dir_with(r#"{ "/api": "http://127.0.0.1:9" }"#);
    let mut s = serve(d.path(), &[".", "--port", "0"]);
    let config = d.path().join("proxy.conf.json");
    save(&config, "{\n  \"/api\": \"http://127.0.0.1:9\",\n  \"/new\": { \"target\": \"http://127.0.0.1:10\" }\n}\n");
    let lines = read_until(&mut s, "+ /new").join("\n");
    assert!(
        lines.contains("proxy.conf.json reloaded: 2 rules"),
        "{lines}"
    );
    assert!(lines.contains("  + /new → http://127.0.0.1:10"), "{lines}");

    save(
        &config,
        "{\n  \"/api\": \"http://127.0.0.1:9\"\n  \"/new\": 1\n}\n",
    );
    let lines = read_until(&mut s, "keeping the previous rules").join("\n");
    assert!(
        lines.contains("error: proxy.conf.json:3:3: expected ',' or '}', found '\"'"),
        "{lines}"
    );
    let port = s.port();
    assert!(
        http_get(port, "/new").starts_with("HTTP/1.1 502"),
        "the last good rules stay"
    );

    save(
        &config,
        r#"{ "/api": { "target": "http://127.0.0.1:9", "changeOrgin": true, "proxyTimeout": 100 } }"#,
    );
    let lines = read_until(&mut s, "~ /api").join("\n");
    assert!(
        lines.contains("warning: proxy.conf.json:1:45: rule \"/api\": unknown option \"changeOrgin\" is ignored; did you mean \"changeOrigin\"?"),
        "one severity prefix: {lines}"
    );
    assert!(
        lines.contains("  ~ /api: changeOrigin on → off, proxyTimeout none → 100ms"),
        "{lines}"
    );

    save(&config, r#"{ "/api": "http://127.0.0.1:11" }"#);
    let lines = read_until(&mut s, "~ /api").join("\n");
    assert!(
        lines.contains(
            "  ~ /api: target http://127.0.0.1:9 → http://127.0.0.1:11, changeOrigin off → on, proxyTimeout 100ms → none"
        ),
        "{lines}"
    );
}

#[test]
fn a_missed_rule_is_logged_with_the_closest_pattern() {
    let d = dir_with(r#"{ "/api": "http://127.0.0.1:9", "/auth": "http://127.0.0.1:9" }"#);
    let mut s = serve(
        d.path(),
        &[".", "--port", "0", "--proxy", "/extra=http://127.0.0.1:9"],
    );
    assert!(s
        .banner
        .iter()
        .any(|l| l.contains("Rules from proxy.conf.json")));
    let _table = read_until(&mut s, "/extra");
    let port = s.port();
    http_get(port, "/aip/users");
    let lines = read_until(&mut s, "matched no proxy rule").join("\n");
    assert!(
        lines.contains(
            "warning: GET /aip/users matched no proxy rule and got 404 (closest rule: \"/api\")"
        ),
        "{lines}"
    );
}

#[test]
fn serve_rejects_a_malformed_proxy_flag() {
    let d = tempfile::tempdir().unwrap();
    let out = devproxy(d.path(), &["serve", ".", "--proxy", "/api"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("\"/api\" is not PATTERN=TARGET"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_config_file_created_later_is_picked_up() {
    let d = tempfile::tempdir().unwrap();
    let mut s = serve(d.path(), &[".", "--port", "0"]);
    let banner = s.banner.join("\n");
    assert!(banner.contains("No proxy.conf.json found"), "{banner}");
    let more = read_until(&mut s, "Create proxy.conf.json").join("\n");
    assert!(
        more.contains("Create proxy.conf.json or src/proxy.conf.json and its rules apply at once."),
        "{more}"
    );
    let port = s.port();
    assert!(http_get(port, "/api/x").starts_with("HTTP/1.1 404"));
    save(
        &d.path().join("proxy.conf.json"),
        r#"{ "/api": "http://127.0.0.1:9" }"#,
    );
    let lines = read_until(&mut s, "+ /api").join("\n");
    assert!(
        lines.contains("proxy.conf.json reloaded: 1 rule"),
        "{lines}"
    );
    assert!(
        http_get(port, "/api/x").starts_with("HTTP/1.1 502"),
        "the new rule is in force"
    );
}

/// A backend on a thread that answers every request with 200 "ok".
fn ok_backend() -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0
                        || s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                            .is_err()
                    {
                        break;
                    }
                }
            });
        }
    });
    port
}

#[test]
fn log_levels_per_rule_and_on_the_command_line() {
    let ok = ok_backend();
    let d = dir_with(&format!(
        r#"{{
            "/silent": {{ "target": "http://127.0.0.1:9", "logLevel": "silent" }},
            "/errors": {{ "target": "http://127.0.0.1:{ok}", "logLevel": "error" }},
            "/broken": {{ "target": "http://127.0.0.1:9", "logLevel": "error" }},
            "/info": "http://127.0.0.1:{ok}"
        }}"#
    ));
    std::fs::write(d.path().join("page.html"), "hi").unwrap();
    let mut s = serve(d.path(), &[".", "--port", "0"]);
    let port = s.port();
    for path in [
        "/silent/x",
        "/errors/ok",
        "/broken/x",
        "/page.html",
        "/info/end",
    ] {
        http_get(port, path);
    }
    let lines = read_until(&mut s, "/info/end").join("\n");
    assert!(
        lines.contains("GET /broken/x → http://127.0.0.1:9/broken/x 502"),
        "{lines}"
    );
    for hidden in ["/silent/x", "/errors/ok", "/page.html"] {
        assert!(!lines.contains(hidden), "{hidden} was logged:\n{lines}");
    }
    drop(s);

    // -q: only failures; -v: static files too.
    let mut s = serve(d.path(), &[".", "--port", "0", "-q"]);
    let port = s.port();
    for path in ["/info/quiet", "/broken/end"] {
        http_get(port, path);
    }
    let lines = read_until(&mut s, "/broken/end").join("\n");
    assert!(!lines.contains("/info/quiet"), "{lines}");
    drop(s);
    let mut s = serve(d.path(), &[".", "--port", "0", "-v"]);
    let port = s.port();
    http_get(port, "/page.html");
    let lines = read_until(&mut s, "/page.html").join("\n");
    assert!(lines.contains("GET /page.html 200"), "{lines}");
    assert!(lines.contains("[static]"), "{lines}");
}

/// A stop signal sent the moment the port accepts is never lost, and SIGTERM stops as
/// gracefully as Ctrl-C (exit 0).
#[test]
fn serve_stops_on_a_signal_sent_as_soon_as_the_port_accepts() {
    let d = dir_with(r#"{ "/api": "http://127.0.0.1:9" }"#);
    for signal in ["-INT", "-TERM", "-INT", "-TERM", "-INT"] {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
            .to_string();
        let mut child = Command::new(env!("CARGO_BIN_EXE_devproxy"))
            .args(["serve", ".", "--strict-port", "-q", "--port", &port])
            .current_dir(d.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port.parse::<u16>().unwrap())).is_err() {
            assert!(Instant::now() < deadline, "devproxy never listened");
            std::thread::sleep(Duration::from_millis(1));
        }
        let pid = child.id().to_string();
        assert!(Command::new("kill")
            .args([signal, &pid])
            .status()
            .unwrap()
            .success());
        let deadline = Instant::now() + Duration::from_secs(15);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("devproxy ignored kill {signal} sent as the port opened");
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        assert!(status.success(), "{signal}: {status:?}");
    }
}

/// Reading the config (devproxy's own reads included) is not an edit: one save is one
/// reload, and an idle devproxy reads nothing (it used to reload every 40 ms, forever).
#[test]
fn one_save_is_one_reload() {
    let d = dir_with(r#"{ "/api": "http://127.0.0.1:9" }"#);
    let mut s = serve(d.path(), &[".", "--port", "0", "-vv"]);
    save(
        &d.path().join("proxy.conf.json"),
        r#"{ "/api": "http://127.0.0.1:10" }"#,
    );
    let mut lines = read_until(&mut s, "~ /api");
    let deadline = Instant::now() + Duration::from_millis(1500);
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match s.lines.0.recv_timeout(left) {
            Ok(line) => lines.push(line),
            Err(_) => break,
        }
    }
    let reads = lines
        .iter()
        .filter(|l| l.contains("changed on disk; reading it"))
        .count();
    assert!(
        (1..=2).contains(&reads),
        "{reads} reads for one save:\n{}",
        lines.join("\n")
    );
}

#[test]
fn check_passes_files_angular_loads_and_prefixes_errors() {
    let d = dir_with(
        r#"{
  "_comment": "Copy this file to proxy.conf.json",
  "optimization": false,
  "/api": { "target": "http://localhost:8080", "auth": "" }
}"#,
    );
    let out = devproxy(d.path(), &["check"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("0 error(s), 3 warning(s)"),
        "{}",
        text(&out.stderr)
    );
    let out = devproxy(d.path(), &["check", "-c", "nope.json"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr), "error: nope.json: file not found\n");
}

#[test]
fn a_config_created_where_angular_keeps_it_is_picked_up() {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir(d.path().join("src")).unwrap();
    let mut s = serve(d.path(), &[".", "--port", "0"]);
    let _ = read_until(&mut s, "Create proxy.conf.json");
    let port = s.port();
    assert!(http_get(port, "/api/x").starts_with("HTTP/1.1 404"));
    save(
        &d.path().join("src/proxy.conf.json"),
        r#"{ "/api": "http://127.0.0.1:9" }"#,
    );
    let lines = read_until(&mut s, "+ /api").join("\n");
    assert!(
        lines.contains("src/proxy.conf.json reloaded: 1 rule"),
        "{lines}"
    );
    assert!(http_get(port, "/api/x").starts_with("HTTP/1.1 502"));
}

#[test]
fn repeated_polls_fold_into_one_line_and_the_query_is_shown_once() {
    let ok = ok_backend();
    let d = dir_with(&format!(r#"{{ "/socket.io": "http://127.0.0.1:{ok}" }}"#));
    let mut s = serve(d.path(), &[".", "--port", "0"]);
    let port = s.port();
    for t in 1..=4 {
        http_get(
            port,
            &format!("/socket.io/?EIO=4&transport=polling&t=abc{t}"),
        );
    }
    http_get(port, "/nothing/here");
    let lines = read_until(&mut s, "matched no proxy rule");
    let polls: Vec<&String> = lines.iter().filter(|l| l.contains("/socket.io/")).collect();
    assert_eq!(polls.len(), 2, "{lines:#?}");
    assert!(
        polls[0].contains(&format!(
            "GET /socket.io/?EIO=4&transport=polling&t=abc1 → http://127.0.0.1:{ok}/socket.io/ 200"
        )),
        "the query once: {}",
        polls[0]
    );
    assert!(polls[1].contains("(×3 more since "), "{}", polls[1]);
}

/// A backend on a thread: WebSocket handshakes get 101, anything else an event stream with one
/// event; both are then held open until the other side goes away.
fn streaming_backend() -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let reply: &[u8] = if String::from_utf8_lossy(&head)
                    .to_ascii_lowercase()
                    .contains("upgrade: websocket")
                {
                    b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
                } else {
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\nb\r\ndata: one\n\n\r\n"
                };
                if s.write_all(reply).is_err() {
                    return;
                }
                // Held open: whatever comes is read and dropped until the peer closes.
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 {
                        return;
                    }
                }
            });
        }
    });
    port
}

/// Sends `head` to devproxy and reads until `want` has arrived; the connection stays open.
fn open_stream(port: u16, head: &str, want: &str) -> std::net::TcpStream {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(head.as_bytes()).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains(want) {
        let n = s.read(&mut buf).unwrap();
        assert!(
            n > 0,
            "closed before {want:?}: {}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
    }
    s
}

#[test]
fn streams_log_their_end_and_ctrl_c_does_not_wait_for_them() {
    let b = streaming_backend();
    let d = dir_with(&format!(
        r#"{{ "/events": "http://127.0.0.1:{b}", "/ws": {{ "target": "http://127.0.0.1:{b}", "ws": true }} }}"#
    ));
    std::fs::write(d.path().join("index.html"), "HELLO").unwrap();
    let mut s = serve(d.path(), &[".", "--port", "0"]);
    let port = s.port();
    let get = |path: &str| format!("GET {path} HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n");
    let ws = format!(
        "GET /ws HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    );
    // A stream the browser leaves: one line says so.
    let left = open_stream(port, &get("/events"), "data: one");
    drop(left);
    let lines = read_until(&mut s, "event stream /events closed").join("\n");
    assert!(
        lines.contains("event stream /events closed by the browser after "),
        "{lines}"
    );
    assert!(lines.contains("(1 event, "), "{lines}");

    // Open when Ctrl-C comes: an event stream, a WebSocket, an idle keep-alive connection.
    let _events = open_stream(port, &get("/events"), "data: one");
    let _socket = open_stream(port, &ws, "101 Switching Protocols");
    let _idle = open_stream(port, &get("/index.html"), "HELLO");
    let pid = s.child.id().to_string();
    let start = Instant::now();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let lines = read_until(&mut s, "WebSocket /ws closed").join("\n");
    let status = s.child.wait().unwrap();
    let took = start.elapsed();
    assert!(status.success(), "{status:?}");
    assert!(
        took < Duration::from_secs(3),
        "stopping took {took:?}, as if open streams waited out the 5 s drain"
    );
    assert!(
        lines.contains("WebSocket /ws closed by devproxy (stopping) after "),
        "{lines}"
    );
}
