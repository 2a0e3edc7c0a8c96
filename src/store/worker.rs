//! The store's connection and the one thread that owns it: preparing and opening the file,
//! the pragmas, the migrations, the job channel, and how a job is run and awaited.
//!
//! Why one dedicated thread owns the connection (and not `spawn_blocking` + a mutex): SQLite
//! takes one writer at a time anyway, so a single owner serialises work without lock
//! contention, a burst of requests queues on a channel instead of parking a blocking-pool
//! thread each on a mutex, and the connection never moves between threads. Async callers send
//! a closure and await its answer on a oneshot channel, so the executor never blocks on disk.
//! When the last [`Store`] clone is dropped the channel closes and the thread ends, closing
//! the database cleanly.
//!
//! Durability: WAL with `synchronous = FULL`, every write in one transaction, so a write that
//! was acknowledged survives a killed process (and a power cut); `secure_delete` overwrites
//! what `reset` deletes. Secrets are sealed by [`crypto::Cipher`] before they reach SQLite.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use serde_json::Value;

use super::{Cipher, StoreError, crypto, reads, schema};

/// Value sealed under `meta.key_check` to recognise the right key at open time.
const KEY_CHECK: &[u8] = b"fdk-emu store key check";

/// How long to wait for another process's write lock before reporting the file as locked.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A handle to the store. Cheap to clone; all clones talk to the same worker thread.
#[derive(Clone)]
pub struct Store {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    path: PathBuf,
    jobs: mpsc::Sender<Job>,
    pub(super) reads: reads::ReadCache,
    /// Bumped by the store thread after each committed write.
    pub(super) generation: Arc<AtomicU64>,
}

type Job = Box<dyn FnOnce(&mut Db) + Send>;

/// What the worker thread owns.
pub(super) struct Db {
    pub(super) conn: Connection,
    pub(super) cipher: Cipher,
    pub(super) path: PathBuf,
    generation: Arc<AtomicU64>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (or creates) the store at `path` with the key from `FDK_EMU_KEY` or the key
    /// file in the user's config folder.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let cipher = crypto::load_key()?;
        Self::open_with_cipher(path, cipher)
    }

    pub fn open_with_key(path: &Path, key: [u8; 32]) -> Result<Store, StoreError> {
        Self::open_with_cipher(path, Cipher::new(key, "the given key"))
    }

    fn open_with_cipher(path: &Path, cipher: Cipher) -> Result<Store, StoreError> {
        let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        prepare_file(&path)?;
        let conn = open_connection(&path)?;
        let generation = Arc::new(AtomicU64::new(0));
        let mut db = Db {
            conn,
            cipher,
            path: path.clone(),
            generation: generation.clone(),
        };
        db.check_key()?;
        let (jobs, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("fdk-emu-store".into())
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    job(&mut db);
                }
            })
            .map_err(|e| StoreError::Io {
                action: "start the store thread for",
                path: path.clone(),
                source: e,
            })?;
        Ok(Store {
            inner: Arc::new(Inner {
                path,
                jobs,
                reads: Default::default(),
                generation,
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` on the store thread and waits (asynchronously) for its answer.
    pub(super) async fn call<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Db) -> Result<T, StoreError> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |db| {
            let _ = tx.send(f(db));
        });
        let closed = || StoreError::Closed {
            path: self.inner.path.clone(),
        };
        self.inner.jobs.send(job).map_err(|_| closed())?;
        rx.await.map_err(|_| closed())?
    }
}

/// Creates the folder, the `.gitignore` of an `.fdk/` folder and the database file (mode
/// 0600) before SQLite sees it, so that no other mode is ever on disk.
fn prepare_file(path: &Path) -> Result<(), StoreError> {
    let io = |action, p: &Path, e| StoreError::Io {
        action,
        path: p.to_path_buf(),
        source: e,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| io("create the folder of", path, e))?;
        if dir.file_name().is_some_and(|n| n == ".fdk") {
            let ignore = dir.join(".gitignore");
            if !ignore.exists() {
                std::fs::write(
                    &ignore,
                    "# Written by fdk-emu: local state and secrets, never commit them.\n*\n",
                )
                .map_err(|e| io("write", &ignore, e))?;
            }
        }
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    match opts.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                if let Ok(meta) = std::fs::metadata(path)
                    && meta.is_file()
                    && meta.permissions().mode() & 0o077 != 0
                {
                    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
                }
            }
            if path.is_dir() {
                return Err(StoreError::Damaged {
                    path: path.to_path_buf(),
                    detail: "it is a folder".into(),
                });
            }
            Ok(())
        }
        Err(e) => Err(io("create", path, e)),
    }
}

/// Opens the existing file, refuses what it must not touch, and migrates.
fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    let err = |e| StoreError::sqlite(path, e);
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(err)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
    // Reading the version reads the header: a file that is not SQLite fails here, before
    // anything is written.
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(err)?;
    if version > schema::CURRENT {
        return Err(StoreError::NewerVersion {
            path: path.to_path_buf(),
            found: version,
            supported: schema::CURRENT,
        });
    }
    if version > 0 {
        let check: String = conn
            .pragma_query_value(None, "quick_check", |r| r.get(0))
            .map_err(err)?;
        if check != "ok" {
            return Err(StoreError::Damaged {
                path: path.to_path_buf(),
                detail: format!("integrity check: {check}"),
            });
        }
    }
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
        .map_err(err)?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!("{}: journal mode is {mode}, not WAL", path.display());
    }
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(err)?;
    conn.pragma_update(None, "secure_delete", "ON")
        .map_err(err)?;
    let mut conn = conn;
    {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        // Read again under the write lock: another process may have migrated meanwhile.
        let version: i64 = tx
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(err)?;
        if version > schema::CURRENT {
            return Err(StoreError::NewerVersion {
                path: path.to_path_buf(),
                found: version,
                supported: schema::CURRENT,
            });
        }
        if version < schema::CURRENT {
            schema::migrate(&tx, version).map_err(err)?;
        }
        tx.commit().map_err(err)?;
    }
    Ok(conn)
}

impl Db {
    pub(super) fn err(&self, e: rusqlite::Error) -> StoreError {
        StoreError::sqlite(&self.path, e)
    }

    /// Runs `f` in one IMMEDIATE transaction (the write lock is taken up front, so two
    /// processes never deadlock upgrading a read lock).
    pub(super) fn write<T>(
        &mut self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let out = self.write_data(f)?;
        self.generation.fetch_add(1, Ordering::Release);
        Ok(out)
    }

    /// [`Db::write`] for rows that are not part of the cached [`reads`] (the key-value
    /// store): the cache of iparams and system settings stays valid, so a burst of
    /// `client.db` writes does not make every `invokeTemplate` read them again.
    pub(super) fn write_data<T>(
        &mut self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let path = self.path.clone();
        let err = |e| StoreError::sqlite(&path, e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let out = f(&tx).map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(out)
    }

    pub(super) fn json(&self, text: &str, what: &str) -> Result<Value, StoreError> {
        serde_json::from_str(text).map_err(|e| StoreError::BadValue {
            path: self.path.clone(),
            what: what.to_string(),
            detail: e.to_string(),
        })
    }

    /// Reads the sealed JSON value of `integration` with `sql` (one `sealed` column), opens
    /// and parses it: what oauth_iparams and tokens have in common.
    pub(super) fn sealed_json<T: serde::de::DeserializeOwned>(
        &self,
        sql: &str,
        integration: &str,
        aad: &str,
        what: &str,
    ) -> Result<Option<T>, StoreError> {
        let sealed: Option<Vec<u8>> = self
            .conn
            .query_row(sql, params![integration], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))?;
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        let text = self.open_text(aad, &sealed, what)?;
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| StoreError::BadValue {
                path: self.path.clone(),
                what: what.to_string(),
                detail: e.to_string(),
            })
    }

    pub(super) fn open_text(
        &self,
        aad: &str,
        sealed: &[u8],
        what: &str,
    ) -> Result<String, StoreError> {
        self.cipher
            .open(aad, sealed)
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| StoreError::Undecryptable {
                path: self.path.clone(),
                what: what.to_string(),
            })
    }

    /// Verifies the key against `meta.key_check`, writing the check on a fresh store.
    fn check_key(&mut self) -> Result<(), StoreError> {
        let sealed: Option<Vec<u8>> = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'key_check'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.err(e))?;
        match sealed {
            Some(s) => match self.cipher.open("meta:key_check", &s) {
                Some(p) if p == KEY_CHECK => Ok(()),
                _ => Err(StoreError::WrongKey {
                    path: self.path.clone(),
                    key_source: self.cipher.source.clone(),
                }),
            },
            None => {
                let sealed = self.cipher.seal("meta:key_check", KEY_CHECK);
                self.write(|tx| {
                    tx.execute(
                        "INSERT OR IGNORE INTO meta (key, value) VALUES ('key_check', ?1)",
                        params![sealed],
                    )?;
                    Ok(())
                })?;
                // Another process may have won the race with its own key: check again.
                let stored: Vec<u8> = self
                    .conn
                    .query_row("SELECT value FROM meta WHERE key = 'key_check'", [], |r| {
                        r.get(0)
                    })
                    .map_err(|e| self.err(e))?;
                if self.cipher.open("meta:key_check", &stored).as_deref() == Some(KEY_CHECK) {
                    Ok(())
                } else {
                    Err(StoreError::WrongKey {
                        path: self.path.clone(),
                        key_source: self.cipher.source.clone(),
                    })
                }
            }
        }
    }
}
