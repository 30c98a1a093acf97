//! Hot reload of proxy.conf.json: edits apply without a restart, broken edits keep the last
//! good rules, rename-saves are seen, in-flight requests finish, and nothing fails under load.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use http::{Request, Response};
use hyper::body::Incoming;

async fn named_backend(name: &'static str) -> Backend {
    backend(move |_req: Request<Incoming>| async move { Response::new(body::full(name)) }).await
}

fn rule(url: &str) -> String {
    format!(r#"{{ "/api": {{ "target": "{url}" }} }}"#)
}

async fn answer(p: &Proxy) -> String {
    get(&p.url("/api")).await.text()
}

#[tokio::test]
async fn an_edit_applies_without_restart() {
    let (a, b) = (named_backend("A").await, named_backend("B").await);
    let p = proxy(&rule(&a.url())).await;
    assert_eq!(answer(&p).await, "A");
    std::fs::write(&p.config, rule(&b.url())).unwrap();
    assert!(eventually(|| async { answer(&p).await == "B" }).await);
    // A rule added by an edit works too.
    std::fs::write(
        &p.config,
        format!(r#"{{ "/api": "{}", "/new": "{}" }}"#, b.url(), a.url()),
    )
    .unwrap();
    assert!(eventually(|| async { get(&p.url("/new")).await.text() == "A" }).await);
}

#[tokio::test]
async fn a_broken_edit_keeps_the_last_good_rules() {
    let (a, b) = (named_backend("A").await, named_backend("B").await);
    let p = proxy(&rule(&a.url())).await;
    std::fs::write(&p.config, "{ \"/api\": { \"target\": ").unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(answer(&p).await, "A");
    std::fs::remove_file(&p.config).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(answer(&p).await, "A");
    std::fs::write(&p.config, rule(&b.url())).unwrap();
    assert!(eventually(|| async { answer(&p).await == "B" }).await);
}

#[tokio::test]
async fn rename_saves_are_seen() {
    let (a, b) = (named_backend("A").await, named_backend("B").await);
    let p = proxy(&rule(&a.url())).await;
    for (i, next) in [&b, &a, &b].into_iter().enumerate() {
        let tmp = p.tmp.path().join(format!(".proxy.conf.json.{i}.swp"));
        std::fs::write(&tmp, rule(&next.url())).unwrap();
        std::fs::rename(&tmp, &p.config).unwrap();
        let want = if std::ptr::eq(next, &a) { "A" } else { "B" };
        assert!(
            eventually(|| async { answer(&p).await == want }).await,
            "save {i}"
        );
    }
}

#[tokio::test]
async fn in_flight_requests_finish_on_the_rules_they_started_with() {
    let (release_tx, release_rx) = tokio::sync::watch::channel(false);
    let slow = backend(move |_req: Request<Incoming>| {
        let mut release = release_rx.clone();
        async move {
            let _ = release.wait_for(|r| *r).await;
            Response::new(body::full("slow A"))
        }
    })
    .await;
    let b = named_backend("B").await;
    let p = proxy(&rule(&slow.url())).await;
    let url = p.url("/api");
    let pending = tokio::spawn(async move { get(&url).await });
    assert!(eventually(|| async { slow.hits() == 1 }).await);
    // Probe a path the old rules do not proxy, so no probe waits on the slow backend.
    std::fs::write(
        &p.config,
        format!(r#"{{ "/api": "{0}", "/probe": "{0}" }}"#, b.url()),
    )
    .unwrap();
    assert!(eventually(|| async { get(&p.url("/probe")).await.text() == "B" }).await);
    assert_eq!(answer(&p).await, "B");
    release_tx.send(true).unwrap();
    let r = pending.await.unwrap();
    assert_eq!((r.status, r.text().as_str()), (200, "slow A"));
}

#[tokio::test]
async fn no_request_fails_while_the_file_is_rewritten_under_load() {
    let (a, b) = (named_backend("A").await, named_backend("B").await);
    let p = Arc::new(proxy(&rule(&a.url())).await);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut workers = Vec::new();
    for _ in 0..8 {
        let (p, stop, ok, failed) = (p.clone(), stop.clone(), ok.clone(), failed.clone());
        workers.push(tokio::spawn(async move {
            let c = client();
            while !stop.load(Ordering::SeqCst) {
                let req = Request::get(p.url("/api")).body(body::empty()).unwrap();
                match c.request(req).await {
                    Ok(r) if r.status() == 200 => ok.fetch_add(1, Ordering::SeqCst),
                    _ => failed.fetch_add(1, Ordering::SeqCst),
                };
            }
        }));
    }
    for i in 0..40 {
        let target = if i % 2 == 0 { b.url() } else { a.url() };
        if i % 3 == 0 {
            let tmp = p.tmp.path().join("proxy.conf.json.tmp");
            std::fs::write(&tmp, rule(&target)).unwrap();
            std::fs::rename(&tmp, &p.config).unwrap();
        } else {
            // A plain write truncates first: the watcher may see an empty or half file.
            std::fs::write(&p.config, rule(&target)).unwrap();
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    // The writes alternate faster than the debounce, so which versions were read depends on
    // timing; end on B and let it take over while the load goes on.
    let tmp = p.tmp.path().join("proxy.conf.json.tmp");
    std::fs::write(&tmp, rule(&b.url())).unwrap();
    std::fs::rename(&tmp, &p.config).unwrap();
    assert!(eventually(|| async { b.hits() > 0 }).await);
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        w.await.unwrap();
    }
    assert!(ok.load(Ordering::SeqCst) > 100, "load was generated");
    assert_eq!(failed.load(Ordering::SeqCst), 0);
    assert!(
        a.hits() > 0 && b.hits() > 0,
        "both rule versions served requests: A {} B {}",
        a.hits(),
        b.hits()
    );
}
