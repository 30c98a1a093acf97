//! The frontend directory: files from an in-memory cache checked against the disk with one
//! `stat` per request, Range and conditional requests, precompressed `.br`/`.gz` files and
//! compression (done once per file version), the SPA fallback, and the dotfile and symlink
//! policy. ARCHITECTURE.md says why this is not tower-http's `ServeDir`.

mod cache;
mod conditional;
mod encoding;
mod file_body;
mod policy;
mod range;
mod respond;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{Method, Request, Response, StatusCode};

pub(crate) use policy::wants_html;

use crate::body::{self, Body};
use crate::live::LiveReload;
use cache::{Cache, Entry, FileId};
use policy::{redirect_to_directory, segments, Segments};
use respond::respond;

/// What the directory has for a GET or HEAD.
pub(crate) enum Served {
    /// The file's response (200, 206, 304, 412, 416) or a directory's redirect.
    Found(Response<Body>),
    /// No such file: the SPA fallback, a fallback rule or a 404 may answer.
    Missing,
    /// A dotfile, or a symlink out of the directory: a plain 404 and nothing else.
    Hidden,
}

/// How many bytes of DIR [`StaticFiles::warm`] reads ahead: half the cache, so the files a
/// page asks for first are never pushed out by warming.
const WARM_BYTES: u64 = 32 * 1024 * 1024;
/// A DIR with more files than this is not a built app (a source tree, node_modules): it is not
/// warmed, so devproxy stays idle on it.
const WARM_FILES: usize = 2000;

/// The files under `root` as request paths with their sizes: `index.html` first, then by
/// path; dotfiles, directories starting with a dot and symlinks left out.
fn files_under(root: &Path) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let mut dirs = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if name.starts_with('.') || kind.is_symlink() {
                continue;
            }
            let path = format!("{prefix}/{name}");
            if kind.is_dir() {
                dirs.push((entry.path(), path));
            } else if let Ok(meta) = entry.metadata() {
                out.push((path, meta.len()));
            }
        }
        // Enough to know it will not be warmed.
        if out.len() > WARM_FILES {
            return out;
        }
    }
    out.sort_by(|a, b| (a.0 != "/index.html", &a.0).cmp(&(b.0 != "/index.html", &b.0)));
    out
}

/// Serves files from one directory.
///
/// - `Cache-Control: no-cache` and an `ETag` on every file, so a rebuilt bundle shows up on
///   reload and an unchanged one costs a 304.
/// - 404 for any path with a segment starting with `.` (except `/.well-known/`), and for
///   symlinks that resolve outside the directory.
/// - With the SPA fallback on, a GET/HEAD that accepts `text/html` and finds no file gets
///   `index.html`.
/// - With a base (`--base /app/`), DIR is served under it: `/app/x` is `DIR/x`, `/` redirects
///   to `/app/`, and other paths are outside the app (404 with a hint).
#[derive(Clone)]
pub(crate) struct StaticFiles {
    root: PathBuf,
    spa: bool,
    cache: Arc<Cache>,
    /// `/`, or the sub-path the app is served under, with both slashes (`/app/`).
    base: String,
    /// What a 404 for the app's `/` adds (DIR has no index.html).
    root_hint: Option<String>,
    /// Live reload: HTML pages get its script, and requests wait while a build writes DIR.
    live: Option<Arc<LiveReload>>,
}

impl StaticFiles {
    /// `root` must exist; it is canonicalised so symlink checks compare real paths. `base`
    /// is normalised to start and end with `/`.
    pub(crate) fn new(
        root: &Path,
        spa: bool,
        base: &str,
        root_hint: Option<String>,
        live: Option<Arc<LiveReload>>,
    ) -> std::io::Result<Self> {
        let root = std::fs::canonicalize(root)?;
        let base = format!("/{}/", base.trim_matches('/')).replace("//", "/");
        Ok(StaticFiles {
            root,
            spa,
            cache: Arc::default(),
            base,
            root_hint,
            live,
        })
    }

    /// Reads and compresses DIR's files ahead of the first page load, one at a time and up
    /// to [`WARM_BYTES`], so the first load after start-up finds them ready. Files come in
    /// the order a page needs them least late: `index.html` first, then by path.
    pub(crate) async fn warm(&self) {
        let root = self.root.clone();
        let Ok(files) = tokio::task::spawn_blocking(move || files_under(&root)).await else {
            return;
        };
        if files.len() > WARM_FILES {
            return;
        }
        let mut bytes = 0u64;
        for (path, len) in files {
            if bytes + len > WARM_BYTES {
                break;
            }
            bytes += len;
            let Ok(req) = Request::get(path.as_str())
                .header(http::header::ACCEPT_ENCODING, "br, gzip")
                .body(())
            else {
                continue;
            };
            let _ = self.serve_path(&req, &path).await;
        }
    }

    /// The path under the base (`/app/x` → `/x`), or `None` outside it.
    fn local<'a>(&self, path: &'a str) -> Option<&'a str> {
        if self.base == "/" {
            return Some(path);
        }
        match path.strip_prefix(self.base.trim_end_matches('/'))? {
            "" => Some("/"),
            rest if rest.starts_with('/') => Some(rest),
            _ => None,
        }
    }

    /// Whether the request names a dotfile or a symlink out of the directory: such paths get
    /// a plain 404, never the SPA fallback or a backend.
    pub(crate) fn hidden<B>(&self, req: &Request<B>) -> bool {
        let path = req.uri().path();
        match segments(self.local(path).unwrap_or(path)) {
            Segments::Hidden => true,
            Segments::Missing => false,
            Segments::Path(segs) => !self.inside(&self.file_for(&segs)),
        }
    }

    /// The file (or directory index) a GET or HEAD names.
    pub(crate) async fn serve<B>(&self, req: &Request<B>) -> Served {
        let path = req.uri().path();
        match self.local(path) {
            Some(local) => self.serve_path(req, local).await,
            // The site's root is the app's: go there.
            None if path == "/" => {
                Served::Found(redirect_to_directory(&self.base, &[], req.uri().query()))
            }
            None => Served::Missing,
        }
    }

    /// `index.html` for a page navigation, when the SPA fallback is on.
    pub(crate) async fn spa_fallback<B>(&self, req: &Request<B>) -> Option<Response<Body>> {
        let in_app = self.local(req.uri().path()).is_some();
        if !(self.spa && in_app && wants_html(req)) {
            return None;
        }
        match self.serve_path(req, "/index.html").await {
            Served::Found(res)
                if res.status() == StatusCode::OK || res.status() == StatusCode::NOT_MODIFIED =>
            {
                Some(res)
            }
            _ => None,
        }
    }

    pub(crate) fn not_found<B>(&self, req: &Request<B>) -> Response<Body> {
        let path = req.uri().path();
        let mut text = format!("404 Not Found: {path}");
        match self.local(path) {
            None => text.push_str(&format!(
                "\nThe app is served under {0} (--base); did you mean {0}{1}?",
                self.base,
                path.trim_start_matches('/')
            )),
            Some("/") => {
                if let Some(hint) = &self.root_hint {
                    text.push('\n');
                    text.push_str(hint);
                }
            }
            Some(_) => {}
        }
        let mut res = body::text(StatusCode::NOT_FOUND, text);
        if req.method() == Method::HEAD {
            *res.body_mut() = body::empty();
        }
        res
    }

    /// The file at `path` (under the base). With live reload, a build writing DIR is waited
    /// for, and a file that was there a moment ago but is gone or empty now is given a moment
    /// for the build to show itself.
    async fn serve_path<B>(&self, req: &Request<B>, path: &str) -> Served {
        let Some(live) = &self.live else {
            return self.serve_once(req, path).await;
        };
        live.settled().await;
        let before = self.cache.get(path).map(|e| e.id.disk_len());
        let served = self.serve_once(req, path).await;
        let now = self.cache.get(path).map(|e| e.id.disk_len());
        let vanished = match &served {
            Served::Missing => before.is_some(),
            // Written in place: emptied first, then filled.
            Served::Found(_) => before.is_some_and(|len| len > 0) && now == Some(0),
            Served::Hidden => false,
        };
        if vanished && live.build_starts(Duration::from_millis(100)).await {
            live.settled().await;
            return self.serve_once(req, path).await;
        }
        served
    }

    async fn serve_once<B>(&self, req: &Request<B>, path: &str) -> Served {
        // A file served before under this very path: one stat says whether it is unchanged.
        if let Some(entry) = self.cache.get(path) {
            if entry.trusted
                && std::fs::metadata(&entry.path).is_ok_and(|m| FileId::of(&m) == entry.id)
            {
                return Served::Found(respond(&entry, req, &self.cache).await);
            }
        }
        let segs = match segments(path) {
            Segments::Path(s) => s,
            Segments::Missing => return Served::Missing,
            Segments::Hidden => return Served::Hidden,
        };
        let mut file = self.file_for(&segs);
        let Ok(mut meta) = std::fs::metadata(&file) else {
            self.cache.forget(path);
            return Served::Missing;
        };
        if meta.is_dir() {
            if !path.ends_with('/') {
                let to = redirect_to_directory(&self.base, &segs, req.uri().query());
                return Served::Found(to);
            }
            file.push("index.html");
            match std::fs::metadata(&file) {
                Ok(m) if m.is_file() => meta = m,
                _ => return Served::Missing,
            }
        } else if !meta.is_file() {
            return Served::Missing;
        }
        let entry = match self.load(path, file.clone(), FileId::of(&meta)).await {
            Ok(Some(entry)) => entry,
            Ok(None) => return Served::Hidden,
            Err(e) => {
                // Gone since the stat is a plain 404; anything else is worth saying.
                if e.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!("{} exists but cannot be read: {e}", file.display());
                }
                return Served::Missing;
            }
        };
        Served::Found(respond(&entry, req, &self.cache).await)
    }

    /// Reads a file into the cache (on the blocking pool: this happens once per file
    /// version). `None` when it is a symlink out of the directory.
    async fn load(
        &self,
        key: &str,
        file: PathBuf,
        id: FileId,
    ) -> std::io::Result<Option<Arc<Entry>>> {
        let asked = Instant::now();
        // One read at a time: the first page load after a rebuild asks for each file many
        // times at once, and one read serves them all.
        let _one_at_a_time = self.cache.loading.lock().await;
        if let Some(entry) = self.cache.get(key) {
            if entry.id == id && (entry.trusted || entry.loaded >= asked) {
                return Ok(Some(entry));
            }
        }
        let key = key.to_string();
        let this = self.clone();
        let loaded = tokio::task::spawn_blocking(move || {
            if !this.inside(&file) {
                return Ok(None);
            }
            let inject = this.live.is_some();
            let entry = Entry::read(&file, id, inject, |p| this.inside(p))?;
            let entry = Arc::new(entry);
            this.cache.insert(key, entry.clone());
            Ok(Some(entry))
        })
        .await;
        loaded.unwrap_or_else(|e| Err(std::io::Error::other(e)))
    }

    /// The path under the directory that decoded request segments name.
    fn file_for(&self, segs: &[String]) -> PathBuf {
        segs.iter().fold(self.root.clone(), |p, s| p.join(s))
    }

    /// Whether `path` (once symlinks are resolved) is inside the directory. Missing files
    /// count as inside: they are a 404 anyway.
    fn inside(&self, path: &Path) -> bool {
        match std::fs::canonicalize(path) {
            Ok(real) => real.starts_with(&self.root),
            Err(_) => true,
        }
    }
}

#[cfg(test)]
mod warm_tests {
    use super::*;

    #[test]
    fn warming_lists_the_pages_files_index_first_without_dotfiles() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("assets/deep")).unwrap();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        for f in [
            "index.html",
            "a.js",
            "assets/b.css",
            "assets/deep/c.js",
            ".env",
            ".git/config",
        ] {
            std::fs::write(root.join(f), "x").unwrap();
        }
        let paths: Vec<String> = files_under(root).into_iter().map(|(p, _)| p).collect();
        assert_eq!(
            paths,
            ["/index.html", "/a.js", "/assets/b.css", "/assets/deep/c.js"]
        );
    }
}
