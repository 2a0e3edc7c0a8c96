//! What `invokeTemplate` reads on every call (iparams and system settings), cached in the
//! store while its files are unchanged.
//!
//! The key is the size and modification time of the database and of its write-ahead log: any
//! commit, by this process or by another one such as `fdk-emu store reset`, changes the WAL.
//! Checking it costs two `stat` calls instead of three round trips to the store thread.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use serde_json::{Map, Value};

use super::{Store, StoreError};

/// The stored iparams (secure ones decrypted), which of them are secure, and the system
/// settings, as one consistent reading.
#[derive(Debug, Default)]
pub struct Reads {
    pub iparams: Map<String, Value>,
    pub secure: Vec<String>,
    pub system_settings: Option<Value>,
}

type FileKey = (Option<(u64, SystemTime)>, Option<(u64, SystemTime)>);

/// The last reading and the state of the files it was taken from.
#[derive(Default)]
pub(super) struct ReadCache(Mutex<Option<(FileKey, Arc<Reads>)>>);

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

impl Store {
    /// Iparams, secure names and system settings, from the cache while the files are
    /// unchanged.
    pub async fn reads(&self) -> Result<Arc<Reads>, StoreError> {
        let cache = &self.inner.reads;
        // The key is taken before reading, so a write in between only makes the next call
        // read again.
        let key = file_key(self.path());
        if let Some(key) = &key
            && let Some(hit) = cache
                .0
                .lock()
                .ok()
                .and_then(|c| c.as_ref().filter(|(k, _)| k == key).map(|(_, r)| r.clone()))
        {
            return Ok(hit);
        }
        let iparams = self.iparams().await?.unwrap_or_default();
        let secure = if iparams.is_empty() {
            Vec::new()
        } else {
            self.secure_iparam_names().await?
        };
        let system_settings = self.system_settings().await?;
        let reads = Arc::new(Reads {
            iparams,
            secure,
            system_settings,
        });
        if let (Some(key), Ok(mut c)) = (key, cache.0.lock()) {
            *c = Some((key, reads.clone()));
        }
        Ok(reads)
    }
}
