//! The files in memory: one entry per file version, checked against the disk by its identity
//! (device, inode, length, mtime), with its compressed forms made once, within a byte budget.

use std::collections::HashMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue};
use tokio::sync::OnceCell;

use super::conditional::unix_secs;
use super::encoding::{compress, compressible, preferred_encodings, Encoding, COMPRESS_MIN};

/// Files up to this size are kept in memory; larger ones stream from the disk.
const CACHE_FILE_MAX: u64 = 8 * 1024 * 1024;
/// The most file bytes (plain and compressed) kept in memory at once.
const CACHE_TOTAL_MAX: usize = 64 * 1024 * 1024;
/// How long a file must have been left alone before its cached copy is trusted.
const RACY: Duration = Duration::from_secs(2);

/// What identifies one version of a file: any change to it (a rebuild, a replaced symlink, a
/// different file moved in) changes one of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FileId {
    dev: u64,
    ino: u64,
    len: u64,
    pub(super) modified: SystemTime,
}

impl FileId {
    /// The file's length on the disk.
    pub(super) fn disk_len(&self) -> u64 {
        self.len
    }

    pub(super) fn of(meta: &std::fs::Metadata) -> Self {
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
pub(super) struct Cache {
    entries: RwLock<HashMap<String, Arc<Entry>>>,
    bytes: AtomicUsize,
    /// Held while a file is read, so that one read serves many requests for it.
    pub(super) loading: tokio::sync::Mutex<()>,
}

impl Cache {
    pub(super) fn get(&self, key: &str) -> Option<Arc<Entry>> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries.get(key).cloned()
    }

    pub(super) fn insert(&self, key: String, entry: Arc<Entry>) {
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

    pub(super) fn forget(&self, key: &str) {
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
pub(super) struct Entry {
    pub(super) id: FileId,
    /// Whether the file was last modified well before it was read. Timestamps are coarse
    /// (a few milliseconds on ext4, seconds elsewhere), so a file rewritten again just after
    /// being read — same inode, same length — may keep its mtime; such entries are read
    /// again on every request until the file has been quiet for [`RACY`] (git's "racily
    /// clean" rule).
    pub(super) trusted: bool,
    /// When its reading began.
    pub(super) loaded: Instant,
    /// The length served: the bytes read (a file being written may not match its stat).
    pub(super) len: u64,
    pub(super) path: PathBuf,
    /// The whole file, or `None` when it is too large to keep and streams from the disk.
    pub(super) data: Option<Bytes>,
    content_type: HeaderValue,
    last_modified: HeaderValue,
    /// Strong: a hash of the content, or mtime and length (as nginx makes them) for files
    /// too large to keep; compressed forms add a suffix.
    pub(super) etag: String,
    /// The ETags of the br and gzip forms (the plain one with a suffix), made once.
    variant_etags: [String; 2],
    compressible: bool,
    br: OnceCell<Option<Bytes>>,
    gzip: OnceCell<Option<Bytes>>,
    /// The bytes this entry counts for in the cache's total (compressed forms are added as
    /// they are made).
    charged: AtomicUsize,
    /// [`Entry::header_template`].
    pub(super) headers: HeaderMap,
}

impl Entry {
    /// Reads the file and any precompressed `.br`/`.gz` beside it (blocking).
    /// With `live`, an HTML page gets the live-reload script (its ETag and length are the
    /// page's with the script).
    pub(super) fn read(
        file: &Path,
        id: FileId,
        live: bool,
        inside: impl Fn(&Path) -> bool,
    ) -> std::io::Result<Self> {
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
        let inject = live && content_type.starts_with("text/html");
        let data = match data {
            Some(page) if inject => Some(crate::live::inject(&page)),
            other => other,
        };

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
        // Precompressed siblings of a page would lack the live-reload script: made from the page.
        if entry.data.is_some() && !inject {
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
    pub(super) fn any_tag_in(&self, list: &str) -> bool {
        list.split(',').map(str::trim).any(|t| {
            let t = t.strip_prefix("W/").unwrap_or(t);
            t == "*"
                || t == self.etag
                || [Encoding::Br, Encoding::Gzip]
                    .iter()
                    .any(|e| t == self.variant_etag(*e))
        })
    }

    pub(super) fn variant_etag(&self, enc: Encoding) -> &str {
        match enc {
            Encoding::Br => &self.variant_etags[0],
            Encoding::Gzip => &self.variant_etags[1],
        }
    }

    /// The compressed form the client prefers, made once per file version. `None` when the
    /// client takes none, the file does not compress, or compressing does not make it smaller.
    pub(super) async fn compressed(
        &self,
        accept: Option<&str>,
        cache: &Cache,
    ) -> Option<(Encoding, Bytes)> {
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
