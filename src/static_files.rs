//! The frontend directory: tower-http's `ServeDir` (types, Range, conditional requests,
//! precompressed files, compression), the SPA fallback, and the dotfile and symlink policy.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Empty;
use tower::ServiceExt;
use tower_http::compression::Compression;
use tower_http::services::ServeDir;

use crate::body::{self, Body};

/// Serves files from one directory.
///
/// - `Cache-Control: no-cache` on every file, so a rebuilt bundle shows up on reload.
/// - 404 for any path with a segment starting with `.` (except `/.well-known/`), and for
///   symlinks that resolve outside the directory.
/// - With the SPA fallback on, a GET/HEAD that accepts `text/html` and finds no file gets
///   `index.html`.
#[derive(Clone)]
pub struct StaticFiles {
    root: PathBuf,
    serve: Compression<ServeDir>,
    spa: bool,
}

impl StaticFiles {
    /// `root` must exist; it is canonicalised so symlink checks compare real paths.
    pub fn new(root: &Path, spa: bool) -> std::io::Result<Self> {
        let root = std::fs::canonicalize(root)?;
        let serve = Compression::new(
            ServeDir::new(&root)
                .append_index_html_on_directories(true)
                .precompressed_br()
                .precompressed_gzip(),
        );
        Ok(StaticFiles { root, serve, spa })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether the request names a dotfile or a symlink out of the directory: such paths get
    /// a plain 404, never the SPA fallback or a backend.
    pub async fn hidden<B>(&self, req: &Request<B>) -> bool {
        let decoded = percent_encoding::percent_decode_str(req.uri().path()).decode_utf8_lossy();
        !self.allowed(&decoded).await
    }

    /// The file (or directory index) the request names, if there is one. Callers ask
    /// [`StaticFiles::hidden`] first.
    pub async fn file<B>(&self, req: &Request<B>) -> Option<Response<Body>> {
        let res = self.call(req, req.uri().clone()).await;
        (res.status() != StatusCode::NOT_FOUND).then_some(res)
    }

    /// `index.html` for a page navigation, when the SPA fallback is on.
    pub async fn spa_fallback<B>(&self, req: &Request<B>) -> Option<Response<Body>> {
        if !(self.spa && wants_html(req)) {
            return None;
        }
        let res = self.call(req, http::Uri::from_static("/index.html")).await;
        (res.status() == StatusCode::OK || res.status() == StatusCode::NOT_MODIFIED).then_some(res)
    }

    async fn call<B>(&self, req: &Request<B>, uri: http::Uri) -> Response<Body> {
        let mut inner = Request::new(Empty::<Bytes>::new());
        *inner.method_mut() = req.method().clone();
        *inner.uri_mut() = uri;
        *inner.headers_mut() = req.headers().clone();
        let res = match self.serve.clone().oneshot(inner).await {
            Ok(r) => r,
            Err(never) => match never {},
        };
        let mut res = res.map(body::boxed);
        let h = res.headers_mut();
        h.entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("no-cache"));
        // Other sites may not embed the app's files (no-cors reads of scripts, images, …).
        h.insert(
            header::HeaderName::from_static("cross-origin-resource-policy"),
            HeaderValue::from_static("same-origin"),
        );
        // A directory redirect for `//name` would be `Location: //name/`, which a browser
        // reads as another host: keep it on this one.
        if let Some(loc) = h.get(header::LOCATION).and_then(|v| v.to_str().ok()) {
            if loc.starts_with("//") || loc.starts_with("/\\") {
                let fixed = format!("/{}", loc.trim_start_matches(['/', '\\']));
                if let Ok(v) = HeaderValue::from_str(&fixed) {
                    h.insert(header::LOCATION, v);
                }
            }
        }
        res
    }

    pub fn not_found<B>(&self, req: &Request<B>) -> Response<Body> {
        let mut res = body::text(
            StatusCode::NOT_FOUND,
            format!("404 Not Found: {}", req.uri().path()),
        );
        if req.method() == Method::HEAD {
            *res.body_mut() = body::empty();
        }
        res
    }

    /// Dotfiles and symlinks that leave the root are hidden.
    async fn allowed(&self, decoded: &str) -> bool {
        let segments: Vec<&str> = decoded
            .split(['/', '\\'])
            .filter(|s| !s.is_empty())
            .collect();
        for (i, s) in segments.iter().enumerate() {
            if s.starts_with('.') && !(i == 0 && *s == ".well-known") {
                return false;
            }
            if s.contains('\0') {
                return false;
            }
        }
        if segments.is_empty() {
            return true;
        }
        let candidate = segments.iter().fold(self.root.clone(), |p, s| p.join(s));
        // realpath(3) on cached directory entries takes microseconds: done inline rather than
        // paying a hop to the blocking pool on every request.
        match std::fs::canonicalize(&candidate) {
            Ok(real) => real.starts_with(&self.root),
            // Missing files are ServeDir's (and the SPA fallback's) business.
            Err(_) => true,
        }
    }
}

/// A page navigation: GET or HEAD whose Accept includes `text/html`.
pub fn wants_html<B>(req: &Request<B>) -> bool {
    (req.method() == Method::GET || req.method() == Method::HEAD)
        && req
            .headers()
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.contains("text/html"))
}
