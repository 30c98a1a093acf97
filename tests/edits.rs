//! Edits that go wrong: truncated, empty, deleted, replaced by a directory, pathological
//! patterns, impossible targets; and a thousand reloads while connections are open.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use devproxy::RuleSet;
use futures_util::{SinkExt, StreamExt};
use http::{Request, Response};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use tokio_tungstenite::tungstenite::Message;

fn save(path: &Path, text: &str) {
    let tmp = path.with_extension("json.swp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn load_error(text: Option<&str>, dir: bool) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("proxy.conf.json");
    if dir {
        std::fs::create_dir(&file).unwrap();
    } else if let Some(t) = text {
        std::fs::write(&file, t).unwrap();
    }
    let err = RuleSet::load(&file).expect_err("not loadable");
    err.to_string()
        .replace(&tmp.path().display().to_string(), "DIR")
}

#[test]
fn broken_files_say_what_is_wrong() {
    assert_eq!(
        load_error(Some(""), false),
        "DIR/proxy.conf.json:1:1: the file is empty; expected a JSON object or array"
    );
    assert_eq!(
        load_error(Some("{ \"/api\": { \"target\": \"http://loc"), false),
        "DIR/proxy.conf.json:1:23: this string is never closed (missing \")"
    );
    assert_eq!(
        load_error(None, false),
        "DIR/proxy.conf.json: file not found"
    );
    assert_eq!(
        load_error(None, true),
        "DIR/proxy.conf.json: is a directory, not a file"
    );
    assert_eq!(
        load_error(Some("{ \"/a\": \"\u{0}\" }"), false),
        "DIR/proxy.conf.json:1:10: control character U+0000 inside a string"
    );
}

#[test]
fn pathological_patterns_and_impossible_targets_break_only_their_rule() {
    let started = std::time::Instant::now();
    let errors = diagnostics(
        r#"{
  "^(?:){4294967295}": "http://localhost:1",
  "^/(a{1000}){1000}": "http://localhost:1",
  "/r": { "target": "http://localhost:1", "pathRewrite": { "((a+)+)+{99999}": "" } },
  "/file": "file:///etc/passwd",
  "/ftp": "ftp://localhost/x",
  "/unix": "unix:/var/run/docker.sock",
  "/port": "http://localhost:99999",
  "/ok": "http://localhost:2"
}"#,
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "compiling took {:?}",
        started.elapsed()
    );
    // `(?:){4294967295}` repeats nothing: harmless, so it compiles (and matches every path).
    let want = [
        "p.json:3:3: error: rule \"^/(a{1000}){1000}\": pattern \"^/(a{1000}){1000}\" is not a valid regular expression",
        "p.json:4:60: error: rule \"/r\": pathRewrite key \"((a+)+)+{99999}\" is not a valid regular expression",
        "p.json:5:12: error: rule \"/file\": target \"file:///etc/passwd\": scheme \"file:\" is not supported",
        "p.json:6:11: error: rule \"/ftp\": target \"ftp://localhost/x\": scheme \"ftp:\" is not supported",
        "p.json:7:12: error: rule \"/unix\": target \"unix:/var/run/docker.sock\": scheme \"unix:\" is not supported",
        "p.json:8:12: error: rule \"/port\": target \"http://localhost:99999\": port 99999 is out of range (1-65535)",
    ];
    assert_eq!(errors.len(), want.len(), "{errors:#?}");
    for (e, w) in errors.iter().zip(want) {
        assert!(e.starts_with(w), "{e}\n  does not start with\n{w}");
    }
}

#[tokio::test]
async fn bad_edits_keep_the_last_good_rules_serving() {
    let good = backend(|_req: Request<Incoming>| async { Response::new(body::full("good")) }).await;
    let p = proxy(&format!(r#"{{ "/api": "{}" }}"#, good.url())).await;
    let bad_edits: [&dyn Fn(&Path); 5] = [
        &|f| std::fs::write(f, "{ \"/api\": { \"tar").unwrap(),
        &|f| std::fs::write(f, "").unwrap(),
        &|f| std::fs::remove_file(f).unwrap(),
        &|f| std::fs::create_dir(f).unwrap(),
        &|f| {
            std::fs::remove_dir(f).unwrap();
            save(f, "[1, 2, 3")
        },
    ];
    for (i, edit) in bad_edits.iter().enumerate() {
        edit(&p.config);
        tokio::time::sleep(Duration::from_millis(200)).await;
        let r = get(&p.url("/api")).await;
        assert_eq!(
            (r.status, r.text().as_str()),
            (200, "good"),
            "after bad edit {i}"
        );
    }
    let other =
        backend(|_req: Request<Incoming>| async { Response::new(body::full("other")) }).await;
    save(&p.config, &format!(r#"{{ "/api": "{}" }}"#, other.url()));
    assert!(eventually(|| async { get(&p.url("/api")).await.text() == "other" }).await);
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("VmRSS:")
                    .map(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
            })
        })
        .flatten()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_reloads_with_connections_open() {
    let (ws_addr, _paths) = ws_echo().await;
    let (release_tx, release_rx) = tokio::sync::watch::channel(false);
    let download = backend(move |_req: Request<Incoming>| {
        let release = release_rx.clone();
        async move {
            let chunks = futures_util::stream::unfold(0u8, move |n| {
                let mut release = release.clone();
                async move {
                    match n {
                        0 => Some((
                            Ok::<_, std::convert::Infallible>(hyper::body::Frame::data(
                                bytes::Bytes::from_static(b"start,"),
                            )),
                            1,
                        )),
                        1 => {
                            let _ = release.wait_for(|r| *r).await;
                            Some((
                                Ok(hyper::body::Frame::data(bytes::Bytes::from_static(b"end"))),
                                2,
                            ))
                        }
                        _ => None,
                    }
                }
            });
            Response::new(body::boxed(http_body_util::StreamBody::new(chunks)))
        }
    })
    .await;
    let config_a = format!(
        r#"{{ "/ws": "ws://{ws_addr}", "/dl": "{}", "/v": "http://localhost:1" }}"#,
        download.url()
    );
    let config_b = format!(
        r#"{{ "/ws": "ws://{ws_addr}", "/dl": "{}", "/v": "http://localhost:2" }}"#,
        download.url()
    );
    let p = proxy_with(Some(&config_a), |o| o.watch = false).await;

    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{}/ws", p.port()))
        .await
        .unwrap();
    let res = client()
        .request(Request::get(p.url("/dl")).body(body::empty()).unwrap())
        .await
        .unwrap();
    let mut dl = res.into_body();
    assert_eq!(
        dl.frame().await.unwrap().unwrap().into_data().unwrap(),
        bytes::Bytes::from_static(b"start,")
    );

    let rss_before = rss_kib();
    for i in 0..1000 {
        let text = match i % 3 {
            0 => config_a.as_str(),
            1 => config_b.as_str(),
            _ => "{ broken",
        };
        std::fs::write(&p.config, text).unwrap();
        p.server.reload();
        if i % 100 == 0 {
            ws.send(Message::text(format!("ping {i}"))).await.unwrap();
            assert_eq!(
                ws.next().await.unwrap().unwrap(),
                Message::text(format!("ping {i}"))
            );
        }
    }
    let rss_after = rss_kib();
    // The last write was a good one (i = 999 → config_a); the broken ones never took.
    let upstream = p.server.rules().rules()[2].upstream_url("/v").unwrap();
    assert_eq!(upstream, "http://localhost:1/v");
    release_tx.send(true).unwrap();
    let rest = dl.collect().await.unwrap().to_bytes();
    assert_eq!(
        rest,
        bytes::Bytes::from_static(b"end"),
        "the download opened before finishes"
    );
    ws.send(Message::text("after")).await.unwrap();
    assert_eq!(ws.next().await.unwrap().unwrap(), Message::text("after"));
    assert!(
        rss_after < rss_before + 20 * 1024,
        "memory grew from {rss_before} KiB to {rss_after} KiB over 1000 reloads"
    );
}
