//! What `invokeTemplate` reads on every call (iparams and system settings), cached in the
//! store until something writes.
//!
//! Writes through this process bump the store's write generation, so the next call reads
//! again at once. Writes by another process, such as `fdk-emu store reset` while the server
//! runs, change the size or modification time of the database or its write-ahead log; those
//! are checked at most every [`RECHECK`], which keeps the two `stat` calls off the path of
//! nearly every call (they were a fifth of the system time of a proxied call).

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Map, Value};

use super::worker::Db;
use super::{Store, StoreError};

/// How stale a reading may be after another process wrote to the database.
pub const RECHECK: Duration = Duration::from_millis(200);

/// The stored iparams (secure ones decrypted), which of them are secure, and the system
/// settings, as one consistent reading.
#[derive(Debug, Default)]
pub struct Reads {
    /// Whether the installation page was saved (even with no values): the `db` route of
    /// `/dprouter` is closed until then on an app with settings, as in FDK.
    pub installed: bool,
    pub iparams: Map<String, Value>,
    pub secure: Vec<String>,
    pub system_settings: Option<Value>,
}

type FileKey = (Option<(u64, SystemTime)>, Option<(u64, SystemTime)>);

/// The last reading and what it was taken from.
struct Entry {
    generation: u64,
    files: FileKey,
    checked: Instant,
    reads: Arc<Reads>,
}

#[derive(Default)]
pub(super) struct ReadCache(Mutex<Option<Entry>>);

fn file_key(path: &Path) -> Option<FileKey> {
    let stat = |p: &Path| {
        std::fs::metadata(p)
            .ok()
            .and_then(|m| Some((m.len(), m.modified().ok()?)))
    };
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    Some((Some(stat(path)?), stat(Path::new(&wal))))
}

impl ReadCache {
    /// The cached reading if nothing wrote since it was taken.
    fn hit(&self, generation: u64, path: &Path) -> Option<Arc<Reads>> {
        let mut guard = self.0.lock().ok()?;
        let entry = guard.as_mut().filter(|e| e.generation == generation)?;
        if entry.checked.elapsed() >= RECHECK {
            if file_key(path)? != entry.files {
                return None;
            }
            entry.checked = Instant::now();
        }
        Some(entry.reads.clone())
    }
}

impl Store {
    /// Iparams, secure names and system settings, from the cache while nothing wrote.
    pub async fn reads(&self) -> Result<Arc<Reads>, StoreError> {
        let cache = &self.inner.reads;
        // Generation and files are taken before reading, so a write in between only makes
        // the next call read again.
        let generation = self.inner.generation.load(Ordering::Acquire);
        if let Some(hit) = cache.hit(generation, self.path()) {
            return Ok(hit);
        }
        let files = file_key(self.path());
        let checked = Instant::now();
        let reads = Arc::new(self.call(|db| db.reads()).await?);
        if let (Some(files), Ok(mut c)) = (files, cache.0.lock()) {
            *c = Some(Entry {
                generation,
                files,
                checked,
                reads: reads.clone(),
            });
        }
        Ok(reads)
    }
}

impl Db {
    /// Iparams, their secure names and the system settings in one job of the store thread.
    fn reads(&mut self) -> Result<Reads, StoreError> {
        let saved = self.iparams_and_secure()?;
        let installed = saved.is_some();
        let (iparams, secure) = saved.unwrap_or_default();
        Ok(Reads {
            installed,
            iparams,
            secure,
            system_settings: self.system_settings()?,
        })
    }
}
