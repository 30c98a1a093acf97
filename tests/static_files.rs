//! Static serving from DIR: types, caching headers, Range, conditional requests, compression,
//! the SPA fallback, and the dotfile and symlink policy.

mod common;

use common::*;

fn req(p: &Proxy, path: &str) -> http::request::Builder {
    request("GET", &p.url(path))
}

#[tokio::test]
async fn files_have_types_and_no_cache() {
    let p = proxy_with(None, |_| {}).await;
    let r = get(&p.url("/")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/html"));
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    assert!(r.text().contains("INDEX"));
    let r = get(&p.url("/assets/app.js")).await;
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-type")
            .is_some_and(|t| t.contains("javascript")),
        "{:?}",
        r.headers
    );
    assert!(r.header("last-modified").is_some());
}

#[tokio::test]
async fn range_and_conditional_requests() {
    let p = proxy_with(None, |_| {}).await;
    let full = get(&p.url("/assets/app.js")).await;
    let r = send(
        req(&p, "/assets/app.js")
            .header("range", "bytes=0-9")
            .header("accept-encoding", "gzip")
            .body(body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 206);
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes 0-9/{}", full.body.len()).as_str())
    );
    assert_eq!(&r.body[..], &full.body[..10]);
    let last_modified = full.header("last-modified").unwrap().to_string();
    let r = send(
        req(&p, "/assets/app.js")
            .header("if-modified-since", last_modified)
            .body(body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
}

#[tokio::test]
async fn precompressed_and_on_the_fly_compression() {
    let p = proxy_with(None, |_| {}).await;
    std::fs::write(p.site.join("assets/lib.js"), "plain").unwrap();
    std::fs::write(p.site.join("assets/lib.js.gz"), b"\x1f\x8bprecompressed").unwrap();
    let r = send(
        req(&p, "/assets/lib.js")
            .header("accept-encoding", "gzip")
            .body(body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert_eq!(&r.body[..], b"\x1f\x8bprecompressed");
    let r = get(&p.url("/assets/lib.js")).await;
    assert_eq!(r.text(), "plain");
    // app.js has no .gz beside it: compressed on the fly for clients that ask.
    let r = send(
        req(&p, "/assets/app.js")
            .header("accept-encoding", "gzip")
            .body(body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert_eq!(&r.body[..2], b"\x1f\x8b");
}

#[tokio::test]
async fn spa_fallback_serves_index_for_page_navigations_only() {
    let p = proxy_with(None, |_| {}).await;
    let nav = |path: &str, accept: &str| {
        req(&p, path)
            .header("accept", accept)
            .body(body::empty())
            .unwrap()
    };
    let r = send(nav(
        "/users/42/profile",
        "text/html,application/xhtml+xml,*/*;q=0.8",
    ))
    .await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("INDEX"));
    let r = send(nav("/api/missing", "application/json")).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.text(), "404 Not Found: /api/missing\n");
    let r = send(nav("/assets/missing.js", "*/*")).await;
    assert_eq!(r.status, 404);
    let r = send(
        request("POST", &p.url("/users"))
            .header("accept", "text/html")
            .body(body::empty())
            .unwrap(),
    )
    .await;
    assert_ne!(r.status, 200);
}

#[tokio::test]
async fn no_spa_turns_the_fallback_off() {
    let p = proxy_with(None, |o| o.spa = false).await;
    let r = send(
        req(&p, "/users/42")
            .header("accept", "text/html")
            .body(body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(get(&p.url("/")).await.status, 200);
}

#[tokio::test]
async fn dotfiles_are_never_served() {
    let p = proxy_with(None, |_| {}).await;
    std::fs::write(p.site.join(".env"), "SECRET=1").unwrap();
    std::fs::create_dir_all(p.site.join(".git")).unwrap();
    std::fs::write(p.site.join(".git/config"), "[core]").unwrap();
    std::fs::create_dir_all(p.site.join(".well-known")).unwrap();
    std::fs::write(p.site.join(".well-known/security.txt"), "Contact: x").unwrap();
    for path in [
        "/.env",
        "/.git/config",
        "/%2eenv",
        "/assets/../.env",
        "/.git/",
        "/%2Egit/config",
    ] {
        let r = send(
            req(&p, path)
                .header("accept", "text/html")
                .body(body::empty())
                .unwrap(),
        )
        .await;
        assert!(
            !r.text().contains("SECRET") && !r.text().contains("[core]"),
            "{path} leaked"
        );
        assert_eq!(r.status, 404, "{path}");
    }
    assert_eq!(get(&p.url("/.well-known/security.txt")).await.status, 200);
}

#[cfg(unix)]
#[tokio::test]
async fn symlinks_out_of_the_directory_are_not_followed() {
    let p = proxy_with(None, |_| {}).await;
    let outside = p.tmp.path().join("outside.txt");
    std::fs::write(&outside, "OUTSIDE").unwrap();
    std::os::unix::fs::symlink(&outside, p.site.join("leak.txt")).unwrap();
    std::os::unix::fs::symlink(p.tmp.path(), p.site.join("up")).unwrap();
    std::os::unix::fs::symlink(p.site.join("assets/app.js"), p.site.join("inside.js")).unwrap();
    for path in ["/leak.txt", "/up/outside.txt"] {
        let r = get(&p.url(path)).await;
        assert_eq!(r.status, 404, "{path}");
        assert!(!r.text().contains("OUTSIDE"));
    }
    assert_eq!(get(&p.url("/inside.js")).await.status, 200);
}

fn with(p: &Proxy, path: &str, headers: &[(&str, &str)]) -> http::Request<Body> {
    let mut b = req(p, path);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(body::empty()).unwrap()
}

#[tokio::test]
async fn a_rebuilt_file_is_served_new_at_once() {
    let p = proxy_with(None, |_| {}).await;
    let file = p.site.join("assets/chunk.js");
    // Same length each time, rewritten in place (same inode), as fast as possible: the
    // cache must never hand out the old bytes.
    for i in 0..50 {
        let text = format!("export const v = {i:04};");
        std::fs::write(&file, &text).unwrap();
        let r = get(&p.url("/assets/chunk.js")).await;
        assert_eq!(r.text(), text, "round {i}");
        let r = send(with(
            &p,
            "/assets/chunk.js",
            &[("accept-encoding", "gzip, br")],
        ))
        .await;
        assert_eq!(r.text(), text, "round {i} (compressible? then too short)");
    }
    // A large file replaced by a different one keeps no stale compressed form either.
    let big = |c: &str| c.repeat(5000);
    std::fs::write(&file, big("a")).unwrap();
    let r = send(with(&p, "/assets/chunk.js", &[("accept-encoding", "gzip")])).await;
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert_eq!(gunzip(&r.body), big("a").as_bytes());
    std::fs::write(&file, big("b")).unwrap();
    let r = send(with(&p, "/assets/chunk.js", &[("accept-encoding", "gzip")])).await;
    assert_eq!(gunzip(&r.body), big("b").as_bytes());
    std::fs::remove_file(&file).unwrap();
    assert_eq!(get(&p.url("/assets/chunk.js")).await.status, 404);
}

fn gunzip(data: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data)
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[tokio::test]
async fn etags_revalidate_every_form_of_a_file() {
    let p = proxy_with(None, |_| {}).await;
    let plain = get(&p.url("/assets/app.js")).await;
    let tag = plain.header("etag").unwrap().to_string();
    assert!(tag.starts_with('"'), "{tag}");
    let r = send(with(&p, "/assets/app.js", &[("if-none-match", &tag)])).await;
    assert_eq!(r.status, 304);
    assert_eq!(r.header("etag"), Some(tag.as_str()));
    // A 304 carries validators and caching fields, not the representation's own.
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    assert_eq!(r.header("content-type"), None);
    let br = send(with(
        &p,
        "/assets/app.js",
        &[("accept-encoding", "gzip, deflate, br")],
    ))
    .await;
    assert_eq!(br.header("content-encoding"), Some("br"));
    assert_eq!(br.header("vary"), Some("accept-encoding"));
    let mut out = Vec::new();
    brotli::BrotliDecompress(&mut &br.body[..], &mut out).unwrap();
    assert_eq!(out, plain.body);
    let br_tag = br.header("etag").unwrap().to_string();
    assert_ne!(br_tag, tag);
    let r = send(with(
        &p,
        "/assets/app.js",
        &[
            ("if-none-match", &format!("W/{br_tag}")),
            ("accept-encoding", "br"),
        ],
    ))
    .await;
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
    // A changed file no longer matches.
    std::fs::write(p.site.join("assets/app.js"), "console.log('v2');").unwrap();
    let r = send(with(&p, "/assets/app.js", &[("if-none-match", &tag)])).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "console.log('v2');");
    // If-Match with another tag: 412.
    let r = send(with(&p, "/assets/app.js", &[("if-match", "\"other\"")])).await;
    assert_eq!(r.status, 412);
    // Changed since the date the client last saw: 412 as well.
    let r = send(with(
        &p,
        "/assets/app.js",
        &[("if-unmodified-since", "Thu, 01 Jan 2015 00:00:00 GMT")],
    ))
    .await;
    assert_eq!(r.status, 412);
}

#[tokio::test]
async fn ranges_suffixes_unsatisfiable_and_if_range() {
    let p = proxy_with(None, |_| {}).await;
    let full = get(&p.url("/assets/app.js")).await;
    let len = full.body.len();
    let r = send(with(&p, "/assets/app.js", &[("range", "bytes=-5")])).await;
    assert_eq!(r.status, 206);
    assert_eq!(&r.body[..], &full.body[len - 5..]);
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes {}-{}/{len}", len - 5, len - 1).as_str())
    );
    let r = send(with(&p, "/assets/app.js", &[("range", "bytes=10-")])).await;
    assert_eq!(&r.body[..], &full.body[10..]);
    let r = send(with(
        &p,
        "/assets/app.js",
        &[("range", &format!("bytes={len}-"))],
    ))
    .await;
    assert_eq!(r.status, 416);
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes */{len}").as_str())
    );
    // Several ranges, or a stale If-Range: the whole file.
    let r = send(with(&p, "/assets/app.js", &[("range", "bytes=0-1,4-5")])).await;
    assert_eq!((r.status, r.body.len()), (200, len));
    let r = send(with(
        &p,
        "/assets/app.js",
        &[("range", "bytes=0-1"), ("if-range", "\"stale\"")],
    ))
    .await;
    assert_eq!((r.status, r.body.len()), (200, len));
    let tag = full.header("etag").unwrap();
    let r = send(with(
        &p,
        "/assets/app.js",
        &[("range", "bytes=0-1"), ("if-range", tag)],
    ))
    .await;
    assert_eq!((r.status, &r.body[..]), (206, &full.body[..2]));
    // HEAD: the length, no body.
    let r = send(
        request("HEAD", &p.url("/assets/app.js"))
            .body(body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.header("content-length"), Some(len.to_string().as_str()));
    assert!(r.body.is_empty());
}

#[tokio::test]
async fn files_too_large_to_keep_stream_from_disk() {
    let p = proxy_with(None, |_| {}).await;
    let data: Vec<u8> = (0..9 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(p.site.join("video.mp4"), &data).unwrap();
    let r = get(&p.url("/video.mp4")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("video/mp4"));
    assert!(r.body == data[..], "9 MiB file differs");
    let r = send(with(
        &p,
        "/video.mp4",
        &[("range", "bytes=5000000-5000099")],
    ))
    .await;
    assert_eq!(r.status, 206);
    assert_eq!(&r.body[..], &data[5_000_000..5_000_100]);
}

#[tokio::test]
async fn directories_redirect_and_serve_their_index() {
    let p = proxy_with(None, |_| {}).await;
    std::fs::create_dir_all(p.site.join("docs/a b")).unwrap();
    std::fs::write(p.site.join("docs/a b/index.html"), "DOCS").unwrap();
    let r = send(with(&p, "/docs/a%20b?x=1", &[])).await;
    assert_eq!(r.status, 307);
    assert_eq!(r.header("location"), Some("/docs/a%20b/?x=1"));
    let r = get(&p.url("/docs/a%20b/")).await;
    assert_eq!((r.status, r.text().as_str()), (200, "DOCS"));
    // A directory without an index is not a file: the SPA fallback answers navigations.
    let r = send(with(&p, "/docs/", &[("accept", "text/html")])).await;
    assert!(r.text().contains("INDEX"), "{}", r.text());
}

/// Files last written long ago are served from memory; any change to them — rewritten in
/// place, or replaced by another file with the same length and an old mtime — is seen at once.
#[tokio::test]
async fn cached_files_follow_the_disk() {
    let p = proxy_with(None, |_| {}).await;
    let file = p.site.join("assets/vendor.js");
    let long_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    let write_old = |path: &std::path::Path, text: &str| {
        std::fs::write(path, text).unwrap();
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(long_ago)
            .unwrap();
    };
    write_old(&file, "export default 'one';");
    for _ in 0..3 {
        assert_eq!(
            get(&p.url("/assets/vendor.js")).await.text(),
            "export default 'one';"
        );
    }
    // Rewritten in place: the mtime moves.
    std::fs::write(&file, "export default 'two';").unwrap();
    assert_eq!(
        get(&p.url("/assets/vendor.js")).await.text(),
        "export default 'two';"
    );
    // Let it settle as an old file again, then replace it by rename with the same length and
    // the same old mtime: only the inode tells.
    write_old(&file, "export default 'two';");
    assert_eq!(
        get(&p.url("/assets/vendor.js")).await.text(),
        "export default 'two';"
    );
    let tmp = p.site.join("assets/vendor.js.tmp");
    write_old(&tmp, "export default 'six';");
    std::fs::rename(&tmp, &file).unwrap();
    assert_eq!(
        get(&p.url("/assets/vendor.js")).await.text(),
        "export default 'six';"
    );
    std::fs::remove_file(&file).unwrap();
    assert_eq!(get(&p.url("/assets/vendor.js")).await.status, 404);
}

/// `warm`: DIR is read at start, before any request. Seen through the cache: a file rewritten
/// afterwards in place, to the same length and with its old mtime restored, looks unchanged to
/// the one `stat` a request makes, so a warmed server still answers with what it read at start,
/// and one that was not warmed reads the new bytes.
#[tokio::test]
async fn warming_reads_the_folder_before_the_first_request() {
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    for warm in [true, false] {
        let p = proxy_with(None, |o| {
            o.warm = warm;
            let file = o.dir.join("assets/vendor.js");
            std::fs::write(&file, "const before = 1;\n").unwrap();
            let f = std::fs::File::options().write(true).open(&file).unwrap();
            f.set_modified(old).unwrap();
        })
        .await;
        tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
        let file = p.site.join("assets/vendor.js");
        std::fs::write(&file, "const after_ = 2;\n").unwrap();
        let f = std::fs::File::options().write(true).open(&file).unwrap();
        f.set_modified(old).unwrap();
        let body = get(&p.url("/assets/vendor.js")).await.text();
        let expected = if warm {
            "const before = 1;\n"
        } else {
            "const after_ = 2;\n"
        };
        assert_eq!(body, expected, "warm: {warm}");
    }
}
