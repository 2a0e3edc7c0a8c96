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
    /// Which file `conn` has open (device and inode), to notice when the file at `path` is
    /// no longer it. `None` where the platform has no such numbers.
    opened: Option<FileId>,
}

/// A file's device and inode numbers.
type FileId = (u64, u64);

#[cfg(unix)]
fn file_id(path: &Path) -> std::io::Result<Option<FileId>> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).map(|m| Some((m.dev(), m.ino())))
}

#[cfg(not(unix))]
fn file_id(path: &Path) -> std::io::Result<Option<FileId>> {
    // Windows does not let a file that is open be deleted; nothing to check.
    std::fs::metadata(path).map(|_| None)
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
        let opened = file_id(&path).map_err(|e| StoreError::Io {
            action: "read the metadata of",
            path: path.clone(),
            source: e,
        })?;
        let generation = Arc::new(AtomicU64::new(0));
        let mut db = Db {
            conn,
            cipher,
            path: path.clone(),
            generation: generation.clone(),
            opened,
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

/// Creates the folder of the database file and, for an `.fdk/` folder, its `.gitignore`.
fn prepare_folder(path: &Path) -> Result<(), StoreError> {
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
    Ok(())
}

/// Creates the folder, the `.gitignore` of an `.fdk/` folder and the database file (mode
/// 0600) before SQLite sees it, so that no other mode is ever on disk.
fn prepare_file(path: &Path) -> Result<(), StoreError> {
    let io = |action, p: &Path, e| StoreError::Io {
        action,
        path: p.to_path_buf(),
        source: e,
    };
    prepare_folder(path)?;
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
    refuse_newer(path, version)?;
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
        refuse_newer(path, version)?;
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
    ///
    /// First it makes sure the write lands in the file at `path` (see
    /// [`ensure_file`](Self::ensure_file)): a write into a deleted file would be acknowledged
    /// and lost at the next start.
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
        self.ensure_file()?;
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

    /// Checks that the file at `path` is still the one the connection has open.
    ///
    /// Deleting `.fdk/` while the server runs (`rm -rf .fdk`, a `git clean -X`) leaves the
    /// connection writing into a file that no longer has a name: every write succeeded and
    /// was gone at the next start. When the file is missing, it is written again from the
    /// copy still open, so nothing is lost, and a warning says so. When another file has
    /// taken its place (a backup copied over it), writes are refused with a message naming
    /// it: which of the two is right is for the developer to say, by restarting.
    fn ensure_file(&mut self) -> Result<(), StoreError> {
        let Some(opened) = self.opened else {
            return Ok(());
        };
        match file_id(&self.path) {
            Ok(id) if id == Some(opened) => Ok(()),
            Ok(_) => Err(StoreError::Replaced {
                path: self.path.clone(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.restore().map_err(|e| StoreError::Deleted {
                    path: self.path.clone(),
                    detail: e.to_string(),
                })?;
                tracing::warn!(
                    "{} was deleted while fdk-emu was running; it has been written again from the copy fdk-emu still had open, so nothing was lost. To start from an empty store, stop fdk-emu before deleting it, or run `fdk-emu store reset`",
                    self.path.display()
                );
                Ok(())
            }
            Err(e) => Err(StoreError::Io {
                action: "check",
                path: self.path.clone(),
                source: e,
            }),
        }
    }

    /// Writes the open database to `path` again and reopens it there.
    ///
    /// The copy is made beside it under another name and renamed into place only after the
    /// old connection is closed: closing a connection in WAL mode deletes `<path>-wal` and
    /// `<path>-shm` by name, which must not hit the new file's.
    fn restore(&mut self) -> Result<(), StoreError> {
        let io = |action, p: &Path, e| StoreError::Io {
            action,
            path: p.to_path_buf(),
            source: e,
        };
        prepare_folder(&self.path)?;
        let mut copy = self.path.as_os_str().to_owned();
        copy.push(".restoring");
        let copy = PathBuf::from(copy);
        let _ = std::fs::remove_file(&copy);
        prepare_file(&copy)?;
        let copy_text = copy.to_string_lossy().into_owned();
        self.conn
            .execute("VACUUM INTO ?1", params![copy_text])
            .map_err(|e| self.err(e))?;
        // VACUUM INTO does not sync what it wrote.
        std::fs::File::open(&copy)
            .and_then(|f| f.sync_all())
            .map_err(|e| io("sync", &copy, e))?;
        let closed = Connection::open_in_memory().map_err(|e| self.err(e))?;
        drop(std::mem::replace(&mut self.conn, closed));
        std::fs::rename(&copy, &self.path).map_err(|e| io("rename", &copy, e))?;
        if let Some(dir) = self.path.parent() {
            let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
        }
        self.conn = open_connection(&self.path)?;
        self.opened = file_id(&self.path).map_err(|e| io("check", &self.path, e))?;
        Ok(())
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

/// A store written by a newer fdk-emu is left alone: its tables may mean what this version
/// cannot know.
fn refuse_newer(path: &Path, version: i64) -> Result<(), StoreError> {
    if version > schema::CURRENT {
        return Err(StoreError::NewerVersion {
            path: path.to_path_buf(),
            found: version,
            supported: schema::CURRENT,
        });
    }
    Ok(())
}
