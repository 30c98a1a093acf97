//! A headless Chromium driven over the DevTools protocol, for tests that need a real browser.
//! `Browser::launch` gives `None` when no Chromium is installed, and the test says loudly that
//! it checked nothing; with `DEVPROXY_BROWSER=required` (CI sets it) a missing browser fails.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub struct Browser {
    child: Child,
    page: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next: u64,
    _profile: tempfile::TempDir,
}

/// The Chromium on PATH, by the names Debian and others give it.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|p| p.is_file())
}

impl Browser {
    /// Starts Chromium on a blank page; `None` (said loudly) when there is none.
    pub async fn launch(test: &str) -> Option<Browser> {
        let Some(exe) = chromium() else {
            let required = std::env::var("DEVPROXY_BROWSER").is_ok_and(|v| v == "required");
            assert!(
                !required,
                "DEVPROXY_BROWSER=required but no Chromium is on PATH"
            );
            eprintln!("SKIPPED {test}: no Chromium on PATH (apt-get install chromium); NOTHING WAS CHECKED");
            return None;
        };
        let profile = tempfile::tempdir().unwrap();
        let child = Command::new(exe)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--remote-debugging-port=0",
                "--remote-debugging-address=127.0.0.1",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start Chromium");
        let port_file = profile.path().join("DevToolsActivePort");
        let mut port = None;
        for _ in 0..400 {
            if let Some(p) = std::fs::read_to_string(&port_file)
                .ok()
                .and_then(|t| t.lines().next().and_then(|l| l.parse::<u16>().ok()))
            {
                port = Some(p);
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let port = port.expect("Chromium says its DevTools port");
        let list = super::client()
            .request(
                http::Request::get(format!("http://127.0.0.1:{port}/json/list"))
                    .body(super::body::empty())
                    .unwrap(),
            )
            .await
            .expect("DevTools answers");
        let list: Value =
            serde_json::from_slice(&list.into_body().collect().await.unwrap().to_bytes()).unwrap();
        let url = list
            .as_array()
            .and_then(|pages| pages.iter().find(|p| p["type"] == "page"))
            .and_then(|p| p["webSocketDebuggerUrl"].as_str())
            .expect("a page to drive")
            .to_string();
        let (page, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("DevTools socket");
        Some(Browser {
            child,
            page,
            next: 0,
            _profile: profile,
        })
    }

    /// One DevTools command; its result.
    pub async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next += 1;
        let id = self.next;
        let msg = json!({ "id": id, "method": method, "params": params }).to_string();
        self.page.send(Message::text(msg)).await.unwrap();
        loop {
            let Some(Ok(Message::Text(text))) = self.page.next().await else {
                panic!("DevTools socket closed");
            };
            let v: Value = serde_json::from_str(&text).unwrap();
            if v["id"] == id {
                return v["result"].clone();
            }
        }
    }

    /// Opens `url` and waits for it to load.
    pub async fn goto(&mut self, url: &str) {
        self.call("Page.navigate", json!({ "url": url })).await;
        assert!(
            self.wait_for("document.readyState === 'complete' && location.href !== 'about:blank'")
                .await,
            "{url} loads"
        );
    }

    /// The value of a JavaScript expression in the page.
    pub async fn eval(&mut self, expression: &str) -> Value {
        let r = self
            .call(
                "Runtime.evaluate",
                json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
            )
            .await;
        r["result"]["value"].clone()
    }

    /// Whether `expression` turns true within 10 s.
    pub async fn wait_for(&mut self, expression: &str) -> bool {
        for _ in 0..200 {
            if self.eval(expression).await == Value::Bool(true) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
