//! The frontend directory: files from an in-memory cache checked against the disk with one
//! `stat` per request, Range and conditional requests, precompressed `.br`/`.gz` files and
//! compression (done once per file version), the SPA fallback, and the dotfile and symlink
//! policy.
//!
//! Why not tower-http's `ServeDir`: it does every file operation on tokio's blocking pool
//! (several thread hand-offs per small file) and compresses on every request. A dev server
//! answers the same few dozen files over and over while the build rewrites them now and then,
//! so the file's identity (device, inode, length, mtime) is checked on every request and its
//! bytes — and its compressed forms — are kept until that identity changes.

use std::collections::HashMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use http::{header, HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body::Frame;
use tokio::io::AsyncRead;
use tokio::sync::OnceCell;

use crate::body::{self, Body, BoxError};

/// Files up to this size are kept in memory; larger ones stream from the disk.
const CACHE_FILE_MAX: u64 = 8 * 1024 * 1024;
/// The most file bytes (plain and compressed) kept in memory at once.
const CACHE_TOTAL_MAX: usize = 64 * 1024 * 1024;
/// Smaller files are not worth compressing (nginx and tower-http use a similar floor).
const COMPRESS_MIN: usize = 256;
/// Chunk size when streaming a file too large for the cache.
const STREAM_CHUNK: usize = 256 * 1024;
/// How long a file must have been left alone before its cached copy is trusted.
const RACY: Duration = Duration::from_secs(2);
/// brotli quality for compression done once per file version: far better than gzip, still
/// only milliseconds for a large bundle.
const BROTLI_QUALITY: i32 = 5;

/// What the directory has for a GET or HEAD.
pub enum Served {
    /// The file's response (200, 206, 304, 412, 416) or a directory's redirect.
    Found(Response<Body>),
    /// No such file: the SPA fallback, a fallback rule or a 404 may answer.
    Missing,
    /// A dotfile, or a symlink out of the directory: a plain 404 and nothing else.
    Hidden,
}

/// Serves files from one directory.
///
/// - `Cache-Control: no-cache` and an `ETag` on every file, so a rebuilt bundle shows up on
///   reload and an unchanged one costs a 304.
/// - 404 for any path with a segment starting with `.` (except `/.well-known/`), and for
///   symlinks that resolve outside the directory.
/// - With the SPA fallback on, a GET/HEAD that accepts `text/html` and finds no file gets
///   `index.html`.
#[derive(Clone)]
pub struct StaticFiles {
    root: PathBuf,
    spa: bool,
    cache: Arc<Cache>,
}

impl StaticFiles {
    /// `root` must exist; it is canonicalised so symlink checks compare real paths.
    pub fn new(root: &Path, spa: bool) -> std::io::Result<Self> {
        let root = std::fs::canonicalize(root)?;
        Ok(StaticFiles {
            root,
            spa,
            cache: Arc::default(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether the request names a dotfile or a symlink out of the directory: such paths get
    /// a plain 404, never the SPA fallback or a backend.
    pub fn hidden<B>(&self, req: &Request<B>) -> bool {
        match segments(req.uri().path()) {
            Segments::Hidden => true,
            Segments::Missing => false,
            Segments::Path(segs) => !self.inside(&self.file_for(&segs)),
        }
    }

    /// The file (or directory index) a GET or HEAD names.
    pub async fn serve<B>(&self, req: &Request<B>) -> Served {
        self.serve_path(req, req.uri().path()).await
    }

    /// `index.html` for a page navigation, when the SPA fallback is on.
    pub async fn spa_fallback<B>(&self, req: &Request<B>) -> Option<Response<Body>> {
        if !(self.spa && wants_html(req)) {
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

    async fn serve_path<B>(&self, req: &Request<B>, path: &str) -> Served {
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
                return Served::Found(redirect_to_directory(&segs, req.uri().query()));
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
            let entry = Entry::read(&file, id, |p| this.inside(p))?;
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

enum Segments {
    Path(Vec<String>),
    Missing,
    Hidden,
}

/// The decoded, non-empty segments of a request path. Dotfiles (and `.`/`..`), NULs and
/// backslashes are hidden; `/.well-known/` is the one dot-directory served.
fn segments(path: &str) -> Segments {
    let Ok(decoded) = percent_encoding::percent_decode_str(path).decode_utf8() else {
        return Segments::Missing;
    };
    if decoded.contains(['\\', '\0']) {
        return Segments::Hidden;
    }
    let mut out = Vec::new();
    for (i, s) in decoded.split('/').filter(|s| !s.is_empty()).enumerate() {
        if s.starts_with('.') && !(i == 0 && s == ".well-known") {
            return Segments::Hidden;
        }
        out.push(s.to_string());
    }
    Segments::Path(out)
}

/// `/dir` → `/dir/`, built from the decoded segments so the target is always a path on this
/// host (never `//name/`, which a browser reads as another host).
fn redirect_to_directory(segs: &[String], query: Option<&str>) -> Response<Body> {
    let mut location = String::from("/");
    for s in segs {
        location.push_str(
            &percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC)
                .to_string(),
        );
        location.push('/');
    }
    if let Some(q) = query {
        location.push('?');
        location.push_str(q);
    }
    let mut res = Response::new(body::empty());
    *res.status_mut() = StatusCode::TEMPORARY_REDIRECT;
    if let Ok(v) = HeaderValue::from_str(&location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

/// What identifies one version of a file: any change to it (a rebuild, a replaced symlink, a
/// different file moved in) changes one of these.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
    len: u64,
    modified: SystemTime,
}

impl FileId {
    fn of(meta: &std::fs::Metadata) -> Self {
        #[cfg(unix)]
        let (dev, ino) = {
            use std::os::unix::fs::MetadataExt;
            (meta.dev(), meta.ino())
        };
        #[cfg(not(unix))]
        let (dev, ino) = (0, 0);
        FileId {
            dev,
            ino,
            len: meta.len(),
            modified: meta.modified().unwrap_or(UNIX_EPOCH),
        }
    }
}

/// The files in memory, by the request path that named them (a file asked for by two
/// spellings of its path is kept twice; browsers use one).
#[derive(Default)]
struct Cache {
    entries: RwLock<HashMap<String, Arc<Entry>>>,
    bytes: AtomicUsize,
    loading: tokio::sync::Mutex<()>,
}

impl Cache {
    fn get(&self, key: &str) -> Option<Arc<Entry>> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries.get(key).cloned()
    }

    fn insert(&self, key: String, entry: Arc<Entry>) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if let Some(old) = self.remove(&mut entries, &key) {
            if old.etag == entry.etag {
                // Read again but unchanged (a fresh file is re-read until it is trusted): its
                // compressed forms still hold.
                for enc in [Encoding::Br, Encoding::Gzip] {
                    if let Some(made) = old.cell(enc).get() {
                        let _ = entry.cell(enc).set(made.clone());
                    }
                }
            }
        }
        let size = entry.size();
        entry.charged.store(size, Ordering::Relaxed);
        // Over budget: drop other files (they are read again when next asked for).
        while self.bytes.load(Ordering::Relaxed) + size > CACHE_TOTAL_MAX {
            let Some(victim) = entries.keys().next().cloned() else {
                break;
            };
            self.remove(&mut entries, &victim);
        }
        self.bytes.fetch_add(size, Ordering::Relaxed);
        entries.insert(key, entry);
    }

    fn forget(&self, key: &str) {
        let present = self
            .entries
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(key);
        if present {
            let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
            self.remove(&mut entries, key);
        }
    }

    fn remove(&self, entries: &mut HashMap<String, Arc<Entry>>, key: &str) -> Option<Arc<Entry>> {
        let old = entries.remove(key)?;
        self.bytes.fetch_sub(old.uncharge(), Ordering::Relaxed);
        Some(old)
    }
}

/// [`Entry::charged`] once the entry has left the cache.
const REMOVED: usize = usize::MAX;

/// One version of one file, ready to answer with.
struct Entry {
    id: FileId,
    /// Whether the file was last modified well before it was read. Timestamps are coarse
    /// (a few milliseconds on ext4, seconds elsewhere), so a file rewritten again just after
    /// being read — same inode, same length — may keep its mtime; such entries are read
    /// again on every request until the file has been quiet for [`RACY`] (git's "racily
    /// clean" rule).
    trusted: bool,
    /// When its reading began.
    loaded: Instant,
    /// The length served: the bytes read (a file being written may not match its stat).
    len: u64,
    path: PathBuf,
    /// The whole file, or `None` when it is too large to keep and streams from the disk.
    data: Option<Bytes>,
    content_type: HeaderValue,
    last_modified: HeaderValue,
    /// Strong: a hash of the content, or mtime and length (as nginx makes them) for files
    /// too large to keep; compressed forms add a suffix.
    etag: String,
    /// The ETags of the br and gzip forms (the plain one with a suffix), made once.
    variant_etags: [String; 2],
    compressible: bool,
    br: OnceCell<Option<Bytes>>,
    gzip: OnceCell<Option<Bytes>>,
    /// The bytes this entry counts for in the cache's total (compressed forms are added as
    /// they are made).
    charged: AtomicUsize,
    /// [`Entry::header_template`].
    headers: HeaderMap,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Br,
    Gzip,
}

impl Encoding {
    fn name(self) -> &'static str {
        match self {
            Encoding::Br => "br",
            Encoding::Gzip => "gzip",
        }
    }

    fn suffix(self) -> &'static str {
        match self {
            Encoding::Br => "br",
            Encoding::Gzip => "gz",
        }
    }
}

impl Entry {
    /// Reads the file and any precompressed `.br`/`.gz` beside it (blocking).
    fn read(file: &Path, id: FileId, inside: impl Fn(&Path) -> bool) -> std::io::Result<Self> {
        let loaded = Instant::now();
        let trusted = SystemTime::now()
            .duration_since(id.modified)
            .is_ok_and(|age| age > RACY);
        let data = if id.len <= CACHE_FILE_MAX {
            let mut buf = Vec::with_capacity(id.len as usize);
            std::fs::File::open(file)?
                .take(id.len)
                .read_to_end(&mut buf)?;
            Some(Bytes::from(buf))
        } else {
            None
        };
        let content_type = mime_guess::from_path(file)
            .first_raw()
            .unwrap_or("application/octet-stream");

        let etag = match &data {
            // From the content: exact however coarse the file system's timestamps are.
            Some(bytes) => {
                use std::hash::{Hash as _, Hasher as _};
                let mut h = std::collections::hash_map::DefaultHasher::new();
                bytes.hash(&mut h);
                format!("\"{:016x}\"", h.finish())
            }
            None => format!("\"{:x}-{:x}\"", unix_secs(id.modified), id.len),
        };
        let entry = Entry {
            trusted,
            loaded,
            len: data.as_ref().map_or(id.len, |d| d.len() as u64),
            path: file.to_path_buf(),
            data,
            content_type: HeaderValue::from_static(content_type),
            last_modified: HeaderValue::from_str(&httpdate::fmt_http_date(id.modified))
                .unwrap_or(HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT")),
            variant_etags: [Encoding::Br, Encoding::Gzip]
                .map(|enc| format!("{}-{}\"", etag.trim_end_matches('"'), enc.suffix())),
            etag,
            compressible: id.len >= COMPRESS_MIN as u64 && compressible(content_type),
            br: OnceCell::new(),
            gzip: OnceCell::new(),
            charged: AtomicUsize::new(0),
            headers: HeaderMap::new(),
            id,
        };
        let mut entry = entry;
        if entry.data.is_some() {
            for enc in [Encoding::Br, Encoding::Gzip] {
                let mut name = file.as_os_str().to_owned();
                name.push(".");
                name.push(enc.suffix());
                let sibling = PathBuf::from(name);
                let fits = std::fs::metadata(&sibling)
                    .is_ok_and(|m| m.is_file() && m.len() <= CACHE_FILE_MAX);
                if fits && inside(&sibling) {
                    if let Ok(bytes) = std::fs::read(&sibling) {
                        let _ = entry.cell(enc).set(Some(Bytes::from(bytes)));
                    }
                }
            }
        }
        entry.headers = entry.header_template();
        Ok(entry)
    }

    /// The headers every 200 of the plain file carries, made once.
    fn header_template(&self) -> HeaderMap {
        let mut h = HeaderMap::with_capacity(8);
        h.insert(header::LAST_MODIFIED, self.last_modified.clone());
        if let Ok(v) = HeaderValue::from_str(&self.etag) {
            h.insert(header::ETAG, v);
        }
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        // Other sites may not embed the app's files (no-cors reads of scripts, images, …).
        h.insert(
            header::HeaderName::from_static("cross-origin-resource-policy"),
            HeaderValue::from_static("same-origin"),
        );
        if self.compressible || self.br.get().is_some() || self.gzip.get().is_some() {
            h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        }
        h.insert(header::CONTENT_TYPE, self.content_type.clone());
        h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        h
    }

    /// What this entry counted for in the cache, now that it leaves it.
    fn uncharge(&self) -> usize {
        match self.charged.swap(REMOVED, Ordering::Relaxed) {
            REMOVED => 0,
            c => c,
        }
    }

    fn size(&self) -> usize {
        let variant =
            |c: &OnceCell<Option<Bytes>>| c.get().and_then(|b| b.as_ref()).map_or(0, |b| b.len());
        self.data.as_ref().map_or(0, |b| b.len()) + variant(&self.br) + variant(&self.gzip)
    }

    fn cell(&self, enc: Encoding) -> &OnceCell<Option<Bytes>> {
        match enc {
            Encoding::Br => &self.br,
            Encoding::Gzip => &self.gzip,
        }
    }

    /// Whether any form of this file has one of the tags (`If-None-Match`, weak comparison).
    fn any_tag_in(&self, list: &str) -> bool {
        list.split(',').map(str::trim).any(|t| {
            let t = t.strip_prefix("W/").unwrap_or(t);
            t == "*"
                || t == self.etag
                || [Encoding::Br, Encoding::Gzip]
                    .iter()
                    .any(|e| t == self.variant_etag(*e))
        })
    }

    fn variant_etag(&self, enc: Encoding) -> &str {
        match enc {
            Encoding::Br => &self.variant_etags[0],
            Encoding::Gzip => &self.variant_etags[1],
        }
    }

    /// The compressed form the client prefers, made once per file version. `None` when the
    /// client takes none, the file does not compress, or compressing does not make it smaller.
    async fn compressed(&self, accept: Option<&str>, cache: &Cache) -> Option<(Encoding, Bytes)> {
        let data = self.data.as_ref()?;
        for enc in preferred_encodings(accept?) {
            let cell = self.cell(enc);
            if cell.get().is_none() && !self.compressible {
                continue;
            }
            let made = cell
                .get_or_init(|| async {
                    let input = data.clone();
                    let made = tokio::task::spawn_blocking(move || compress(enc, &input))
                        .await
                        .ok()
                        .flatten();
                    let size = made.as_ref().map_or(0, |b| b.len());
                    // Counted only while the entry is still in the cache.
                    let still_cached = self
                        .charged
                        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |c| {
                            (c != REMOVED).then_some(c + size)
                        })
                        .is_ok();
                    if still_cached {
                        cache.bytes.fetch_add(size, Ordering::Relaxed);
                    }
                    made
                })
                .await;
            if let Some(bytes) = made {
                return Some((enc, bytes.clone()));
            }
        }
        None
    }
}

/// Text-like types gain from compression; images, fonts, media and archives do not.
fn compressible(content_type: &str) -> bool {
    content_type.starts_with("text/")
        || content_type == "image/svg+xml"
        || content_type == "application/wasm"
        || content_type.contains("javascript")
        || content_type.contains("json")
        || content_type.contains("xml")
}

fn compress(enc: Encoding, input: &[u8]) -> Option<Bytes> {
    use std::io::Write as _;
    let out = match enc {
        Encoding::Gzip => {
            let mut w = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            w.write_all(input).ok()?;
            w.finish().ok()?
        }
        Encoding::Br => {
            let params = brotli::enc::BrotliEncoderParams {
                quality: BROTLI_QUALITY,
                size_hint: input.len(),
                ..Default::default()
            };
            let mut out = Vec::new();
            brotli::BrotliCompress(&mut &input[..], &mut out, &params).ok()?;
            out
        }
    };
    (out.len() < input.len()).then(|| Bytes::from(out))
}

/// The encodings the client accepts, best first (br before gzip at equal weight).
fn preferred_encodings(accept: &str) -> Vec<Encoding> {
    let mut weights: Vec<(Encoding, f32)> = Vec::new();
    let mut star = None;
    for part in accept.split(',') {
        let mut fields = part.split(';');
        let name = fields.next().unwrap_or("").trim();
        let q = fields
            .filter_map(|f| f.trim().strip_prefix("q=").or(f.trim().strip_prefix("Q=")))
            .find_map(|v| v.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        let enc = if name.eq_ignore_ascii_case("br") {
            Encoding::Br
        } else if name.eq_ignore_ascii_case("gzip") || name.eq_ignore_ascii_case("x-gzip") {
            Encoding::Gzip
        } else {
            if name == "*" {
                star = Some(q);
            }
            continue;
        };
        // Listed twice: the first mention counts.
        if !weights.iter().any(|(e, _)| *e == enc) {
            weights.push((enc, q));
        }
    }
    if let Some(q) = star {
        for enc in [Encoding::Br, Encoding::Gzip] {
            if !weights.iter().any(|(e, _)| *e == enc) {
                weights.push((enc, q));
            }
        }
    }
    weights.retain(|(_, q)| *q > 0.0);
    weights.sort_by(|a, b| {
        b.1.partial_cmp(&a.1)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| (a.0 == Encoding::Gzip).cmp(&(b.0 == Encoding::Gzip)))
    });
    weights.into_iter().map(|(e, _)| e).collect()
}

/// The answer for one request to one cached file.
async fn respond<B>(entry: &Entry, req: &Request<B>, cache: &Cache) -> Response<Body> {
    let h = req.headers();
    let get = |name: header::HeaderName| h.get(name).and_then(|v| v.to_str().ok());
    let modified = unix_secs(entry.id.modified);

    // Preconditions, in RFC 9110 §13.2.2's order.
    let failed = match get(header::IF_MATCH) {
        Some(list) => !list
            .split(',')
            .map(str::trim)
            .any(|t| t == "*" || t == entry.etag),
        None => get(header::IF_UNMODIFIED_SINCE)
            .and_then(http_date)
            .is_some_and(|d| modified > d),
    };
    if failed {
        return finish(
            StatusCode::PRECONDITION_FAILED,
            HeaderMap::new(),
            body::empty(),
        );
    }
    let not_modified = match get(header::IF_NONE_MATCH) {
        Some(list) => entry.any_tag_in(list),
        None => get(header::IF_MODIFIED_SINCE)
            .and_then(http_date)
            .is_some_and(|d| modified <= d),
    };

    // A Range is served from the plain file; otherwise the client's preferred encoding.
    let range = match (get(header::RANGE), req.method() == Method::GET) {
        (Some(r), true) if if_range_holds(get(header::IF_RANGE), entry, modified) => {
            Some(parse_range(r, entry.len))
        }
        _ => None,
    };
    let encoded = match range {
        Some(_) => None,
        None => entry.compressed(get(header::ACCEPT_ENCODING), cache).await,
    };

    let mut headers = entry.headers.clone();
    if let Some((enc, _)) = &encoded {
        if let Ok(v) = HeaderValue::from_str(entry.variant_etag(*enc)) {
            headers.insert(header::ETAG, v);
        }
    }
    if not_modified {
        // A 304 carries the validators and caching fields, not the representation's.
        headers.remove(header::CONTENT_TYPE);
        headers.remove(header::ACCEPT_RANGES);
        return finish(StatusCode::NOT_MODIFIED, headers, body::empty());
    }
    let len = entry.len;
    let (status, start, count) = match range {
        Some(Ok(Some((start, end)))) => {
            if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{end}/{len}")) {
                headers.insert(header::CONTENT_RANGE, v);
            }
            (StatusCode::PARTIAL_CONTENT, start, end - start + 1)
        }
        Some(Err(Unsatisfiable)) => {
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                headers.insert(header::CONTENT_RANGE, v);
            }
            headers.remove(header::CONTENT_TYPE);
            return finish(StatusCode::RANGE_NOT_SATISFIABLE, headers, body::empty());
        }
        _ => (StatusCode::OK, 0, len),
    };
    let head = req.method() == Method::HEAD;
    let bytes = match (encoded, &entry.data) {
        (Some((enc, bytes)), _) => {
            headers.insert(
                header::CONTENT_ENCODING,
                HeaderValue::from_static(enc.name()),
            );
            bytes
        }
        (None, Some(data)) => data.slice(start as usize..(start + count) as usize),
        (None, None) => {
            // Too large to keep: streamed from the disk.
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(count));
            if head {
                return finish(status, headers, body::empty());
            }
            return match FileBody::open(&entry.path, start, count).await {
                Ok(b) => finish(status, headers, body::boxed(b)),
                Err(e) => {
                    tracing::warn!("cannot read {}: {e}", entry.path.display());
                    body::text(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        format!(
                            "500 Internal Server Error: cannot read {}: {e}",
                            req.uri().path()
                        ),
                    )
                }
            };
        }
    };
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    let body = if head {
        body::empty()
    } else {
        body::full(bytes)
    };
    finish(status, headers, body)
}

fn finish(status: StatusCode, headers: HeaderMap, body: Body) -> Response<Body> {
    let mut res = Response::new(body);
    *res.status_mut() = status;
    *res.headers_mut() = headers;
    res
}

/// `If-Range`: the Range applies only if the client's copy is this version (strong ETag, or
/// the exact Last-Modified date).
fn if_range_holds(if_range: Option<&str>, entry: &Entry, modified: u64) -> bool {
    match if_range {
        None => true,
        Some(v) if v.starts_with('"') => v == entry.etag,
        Some(v) if v.starts_with("W/") => false,
        Some(v) => http_date(v) == Some(modified),
    }
}

/// An HTTP date as seconds since the epoch (the resolution of `Last-Modified`).
fn http_date(v: &str) -> Option<u64> {
    httpdate::parse_http_date(v).ok().map(unix_secs)
}

fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

struct Unsatisfiable;

/// One `bytes=` range as (first, last) inclusive. `Ok(None)` for a header that is ignored
/// (malformed, another unit, or several ranges: the whole file is sent, as RFC 9110 allows).
fn parse_range(value: &str, len: u64) -> Result<Option<(u64, u64)>, Unsatisfiable> {
    let Some(spec) = value
        .trim()
        .get(..6)
        .filter(|u| u.eq_ignore_ascii_case("bytes="))
        .map(|_| value.trim()[6..].trim())
    else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((first, last)) = spec.split_once('-') else {
        return Ok(None);
    };
    let (first, last) = (first.trim(), last.trim());
    let num = |s: &str| {
        s.parse::<u64>()
            .ok()
            .filter(|_| s.bytes().all(|b| b.is_ascii_digit()))
    };
    match (first.is_empty(), last.is_empty()) {
        (true, false) => {
            let Some(n) = num(last) else { return Ok(None) };
            if n == 0 || len == 0 {
                return Err(Unsatisfiable);
            }
            Ok(Some((len.saturating_sub(n), len - 1)))
        }
        (false, _) => {
            let Some(a) = num(first) else { return Ok(None) };
            let b = if last.is_empty() {
                u64::MAX
            } else {
                match num(last) {
                    Some(b) if b >= a => b,
                    _ => return Ok(None),
                }
            };
            if a >= len {
                return Err(Unsatisfiable);
            }
            Ok(Some((a, b.min(len - 1))))
        }
        (true, true) => Ok(None),
    }
}

/// A file too large for the cache, streamed from the disk in chunks.
struct FileBody {
    file: tokio::fs::File,
    remaining: u64,
    buf: BytesMut,
}

impl FileBody {
    async fn open(path: &Path, start: u64, count: u64) -> std::io::Result<Self> {
        use tokio::io::AsyncSeekExt as _;
        let mut file = tokio::fs::File::open(path).await?;
        if start > 0 {
            file.seek(std::io::SeekFrom::Start(start)).await?;
        }
        Ok(FileBody {
            file,
            remaining: count,
            buf: BytesMut::new(),
        })
    }
}

impl http_body::Body for FileBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if this.remaining == 0 {
            return Poll::Ready(None);
        }
        let want = (this.remaining as usize).min(STREAM_CHUNK);
        this.buf.resize(want, 0);
        let mut read = tokio::io::ReadBuf::new(&mut this.buf[..]);
        match Pin::new(&mut this.file).poll_read(cx, &mut read) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(Ok(())) => {
                let n = read.filled().len();
                if n == 0 {
                    let e = format!(
                        "the file shrank by {} bytes while being sent",
                        this.remaining
                    );
                    return Poll::Ready(Some(Err(e.into())));
                }
                this.remaining -= n as u64;
                this.buf.truncate(n);
                Poll::Ready(Some(Ok(Frame::data(this.buf.split().freeze()))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert!(matches!(parse_range("bytes=0-9", 100), Ok(Some((0, 9)))));
        assert!(matches!(parse_range("bytes=90-", 100), Ok(Some((90, 99)))));
        assert!(matches!(parse_range("bytes=-10", 100), Ok(Some((90, 99)))));
        assert!(matches!(parse_range("bytes=-200", 100), Ok(Some((0, 99)))));
        assert!(matches!(
            parse_range("bytes=50-500", 100),
            Ok(Some((50, 99)))
        ));
        assert!(matches!(parse_range("bytes=100-", 100), Err(Unsatisfiable)));
        assert!(matches!(parse_range("bytes=-0", 100), Err(Unsatisfiable)));
        assert!(matches!(parse_range("bytes=9-1", 100), Ok(None)));
        assert!(matches!(parse_range("bytes=0-1,5-6", 100), Ok(None)));
        assert!(matches!(parse_range("items=0-1", 100), Ok(None)));
        assert!(matches!(parse_range("bytes=+1-2", 100), Ok(None)));
    }

    #[test]
    fn encodings() {
        let names = |a: &str| {
            preferred_encodings(a)
                .into_iter()
                .map(Encoding::name)
                .collect::<Vec<_>>()
        };
        assert_eq!(names("gzip, deflate, br, zstd"), ["br", "gzip"]);
        assert_eq!(names("gzip;q=1, br;q=0.5"), ["gzip", "br"]);
        assert_eq!(names("br;q=0, gzip"), ["gzip"]);
        assert_eq!(names("identity"), Vec::<&str>::new());
        assert_eq!(names("*"), ["br", "gzip"]);
        assert_eq!(names("*;q=0, gzip"), ["gzip"]);
        assert_eq!(names("br, br;q=0, gzip, x-gzip"), ["br", "gzip"]);
    }

    proptest::proptest! {
        #[test]
        fn ranges_stay_inside_the_file(
            spec in "(bytes|BYTES|items)=[ ]?[0-9]{0,5}[-,]?[0-9]{0,5}|\\PC{0,16}",
            len in 0u64..20_000,
        ) {
            if let Ok(Some((first, last))) = parse_range(&spec, len) {
                proptest::prop_assert!(first <= last && last < len, "{spec} on {len}: {first}-{last}");
            }
        }

        #[test]
        fn any_accept_encoding_is_read(value in "\\PC{0,40}") {
            let encodings = preferred_encodings(&value);
            proptest::prop_assert!(encodings.len() <= 2);
        }
    }
}
