//! The local store: one SQLite file (`<app>/.fdk/localstore.sqlite` by default) holding system
//! settings, installation parameters, OAuth client credentials and oauth_iparams, tokens and
//! OAuth status.
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

pub mod crypto;
mod error;
pub mod reads;
mod schema;
mod types;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use serde_json::{Map, Value};

pub use crypto::Cipher;
pub use error::StoreError;
pub use reads::Reads;
pub use types::{ClientAuthMethod, Credentials, OAuthStatus, ResetScope, Tokens};

/// Value sealed under `meta.key_check` to recognise the right key at open time.
const KEY_CHECK: &[u8] = b"fdk-emu store key check";

/// How long to wait for another process's write lock before reporting the file as locked.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A handle to the store. Cheap to clone; all clones talk to the same worker thread.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

/// A sealed token row: the sealed JSON and the two plain columns.
struct TokensRow {
    sealed: Vec<u8>,
    expires_at: Option<i64>,
    obtained_at: i64,
}

fn put_tokens(
    tx: &rusqlite::Transaction<'_>,
    integration: &str,
    row: &TokensRow,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO tokens (integration, sealed, expires_at, obtained_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (integration) DO UPDATE SET sealed = excluded.sealed,
             expires_at = excluded.expires_at, obtained_at = excluded.obtained_at",
        params![integration, row.sealed, row.expires_at, row.obtained_at],
    )?;
    Ok(())
}

fn drop_tokens(tx: &rusqlite::Transaction<'_>, integration: &str) -> rusqlite::Result<()> {
    tx.execute(
        "DELETE FROM tokens WHERE integration = ?1",
        params![integration],
    )?;
    Ok(())
}

fn put_status(
    tx: &rusqlite::Transaction<'_>,
    integration: &str,
    s: &OAuthStatus,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO oauth_status (integration, needs_reauth, auth_method, last_refresh_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (integration) DO UPDATE SET needs_reauth = excluded.needs_reauth,
             auth_method = excluded.auth_method, last_refresh_at = excluded.last_refresh_at",
        params![
            integration,
            s.needs_reauth,
            s.auth_method.map(ClientAuthMethod::as_str),
            s.last_refresh_at
        ],
    )?;
    Ok(())
}

/// Stored iparam values (secure ones decrypted) and the names of the secure ones.
type IparamsAndSecure = (Map<String, Value>, Vec<String>);

struct Inner {
    path: PathBuf,
    jobs: mpsc::Sender<Job>,
    reads: reads::ReadCache,
    /// Bumped by the store thread after each committed write.
    generation: Arc<AtomicU64>,
}

type Job = Box<dyn FnOnce(&mut Db) + Send>;

/// What the worker thread owns.
struct Db {
    conn: Connection,
    cipher: Cipher,
    path: PathBuf,
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
    async fn call<T, F>(&self, f: F) -> Result<T, StoreError>
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

    pub async fn system_settings(&self) -> Result<Option<Value>, StoreError> {
        self.call(|db| db.system_settings()).await
    }

    pub async fn set_system_settings(&self, v: Value) -> Result<(), StoreError> {
        self.call(move |db| {
            let text = v.to_string();
            db.write(|tx| {
                tx.execute(
                    "INSERT INTO system_settings (id, value, saved_at) VALUES (1, ?1, ?2)
                     ON CONFLICT (id) DO UPDATE SET value = excluded.value, saved_at = excluded.saved_at",
                    params![text, now()],
                )?;
                Ok(())
            })
        })
        .await
    }

    /// All stored iparams, secure ones decrypted (only the server uses them: templates).
    /// `None` when the installation page was never saved.
    pub async fn iparams(&self) -> Result<Option<Map<String, Value>>, StoreError> {
        self.call(|db| db.iparams()).await
    }

    /// Replaces the stored iparams; `secure` names the keys to encrypt.
    pub async fn set_iparams(
        &self,
        values: Map<String, Value>,
        secure: &[String],
    ) -> Result<(), StoreError> {
        let secure = secure.to_vec();
        self.call(move |db| {
            let mut rows = Vec::with_capacity(values.len());
            for (i, (name, value)) in values.iter().enumerate() {
                let text = value.to_string();
                if secure.iter().any(|s| s == name) {
                    let sealed = db.cipher.seal(&iparam_aad(name), text.as_bytes());
                    rows.push((name.clone(), i as i64, 1, None, Some(sealed)));
                } else {
                    rows.push((name.clone(), i as i64, 0, Some(text), None));
                }
            }
            db.write(|tx| {
                tx.execute("DELETE FROM iparams", [])?;
                let mut ins = tx.prepare(
                    "INSERT INTO iparams (name, position, secure, value, sealed) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?;
                for (name, pos, sec, value, sealed) in &rows {
                    ins.execute(params![name, pos, sec, value, sealed])?;
                }
                tx.execute(
                    "INSERT INTO iparams_saved (id, saved_at) VALUES (1, ?1)
                     ON CONFLICT (id) DO UPDATE SET saved_at = excluded.saved_at",
                    params![now()],
                )?;
                Ok(())
            })
        })
        .await
    }

    /// Names of the stored iparams that are kept encrypted.
    pub async fn secure_iparam_names(&self) -> Result<Vec<String>, StoreError> {
        self.call(|db| {
            let mut st = db
                .conn
                .prepare("SELECT name FROM iparams WHERE secure = 1 ORDER BY position")
                .map_err(|e| db.err(e))?;
            let names = st
                .query_map([], |r| r.get::<_, String>(0))
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map_err(|e| StoreError::sqlite(&db.path, e))?;
            Ok(names)
        })
        .await
    }

    pub async fn credentials(&self, integration: &str) -> Result<Option<Credentials>, StoreError> {
        let integration = integration.to_string();
        self.call(move |db| {
            let row: Option<(String, Vec<u8>)> = db
                .conn
                .query_row(
                    "SELECT client_id, client_secret FROM credentials WHERE integration = ?1",
                    params![integration],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(|e| db.err(e))?;
            let Some((client_id, sealed)) = row else {
                return Ok(None);
            };
            let what = format!("client secret of integration {integration}");
            let secret = db.open_text(&secret_aad(&integration), &sealed, &what)?;
            Ok(Some(Credentials {
                client_id,
                client_secret: secret,
            }))
        })
        .await
    }

    pub async fn set_credentials(
        &self,
        integration: &str,
        c: &Credentials,
    ) -> Result<(), StoreError> {
        let integration = integration.to_string();
        let c = c.clone();
        self.call(move |db| {
            let sealed = db
                .cipher
                .seal(&secret_aad(&integration), c.client_secret.as_bytes());
            db.write(|tx| {
                tx.execute(
                    "INSERT INTO credentials (integration, client_id, client_secret) VALUES (?1, ?2, ?3)
                     ON CONFLICT (integration) DO UPDATE SET client_id = excluded.client_id, client_secret = excluded.client_secret",
                    params![integration, c.client_id, sealed],
                )?;
                Ok(())
            })
        })
        .await
    }

    pub async fn oauth_iparams(
        &self,
        integration: &str,
    ) -> Result<Option<Map<String, Value>>, StoreError> {
        let integration = integration.to_string();
        self.call(move |db| {
            let what = format!("oauth_iparams of integration {integration}");
            db.sealed_json(
                "SELECT sealed FROM oauth_iparams WHERE integration = ?1",
                &integration,
                &oauth_iparams_aad(&integration),
                &what,
            )
        })
        .await
    }

    pub async fn set_oauth_iparams(
        &self,
        integration: &str,
        v: Map<String, Value>,
    ) -> Result<(), StoreError> {
        let integration = integration.to_string();
        self.call(move |db| {
            let text = Value::Object(v).to_string();
            let sealed = db
                .cipher
                .seal(&oauth_iparams_aad(&integration), text.as_bytes());
            db.write(|tx| {
                tx.execute(
                    "INSERT INTO oauth_iparams (integration, sealed) VALUES (?1, ?2)
                     ON CONFLICT (integration) DO UPDATE SET sealed = excluded.sealed",
                    params![integration, sealed],
                )?;
                Ok(())
            })
        })
        .await
    }

    pub async fn tokens(&self, integration: &str) -> Result<Option<Tokens>, StoreError> {
        let integration = integration.to_string();
        self.call(move |db| {
            let what = format!("tokens of integration {integration}");
            db.sealed_json(
                "SELECT sealed FROM tokens WHERE integration = ?1",
                &integration,
                &tokens_aad(&integration),
                &what,
            )
        })
        .await
    }

    pub async fn set_tokens(&self, integration: &str, t: &Tokens) -> Result<(), StoreError> {
        let integration = integration.to_string();
        let t = t.clone();
        self.call(move |db| {
            let row = db.tokens_row(&integration, &t);
            db.write(|tx| put_tokens(tx, &integration, &row))
        })
        .await
    }

    pub async fn delete_tokens(&self, integration: &str) -> Result<(), StoreError> {
        let integration = integration.to_string();
        self.call(move |db| db.write(|tx| drop_tokens(tx, &integration)))
            .await
    }

    /// The outcome of a handshake or a refresh in one transaction: the tokens (or, with
    /// `None`, their removal) and the status, so that "authorized" and "needs
    /// re-authorization" can never disagree with the tokens stored.
    pub async fn save_grant(
        &self,
        integration: &str,
        tokens: Option<&Tokens>,
        status: &OAuthStatus,
    ) -> Result<(), StoreError> {
        let integration = integration.to_string();
        let tokens = tokens.cloned();
        let status = status.clone();
        self.call(move |db| {
            let row = tokens.map(|t| db.tokens_row(&integration, &t));
            db.write(|tx| {
                match &row {
                    Some(row) => put_tokens(tx, &integration, row)?,
                    None => drop_tokens(tx, &integration)?,
                }
                put_status(tx, &integration, &status)
            })
        })
        .await
    }

    /// Per-integration OAuth state that is not secret (default when nothing is stored).
    pub async fn oauth_status(&self, integration: &str) -> Result<OAuthStatus, StoreError> {
        let integration = integration.to_string();
        self.call(move |db| db.oauth_status(&integration)).await
    }

    /// Whether an integration has a usable grant: tokens stored and not marked "needs
    /// re-authorization". Read without decrypting the tokens.
    pub async fn is_authorized(&self, integration: &str) -> Result<bool, StoreError> {
        let integration = integration.to_string();
        self.call(move |db| {
            db.conn
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM tokens WHERE integration = ?1)
                        AND NOT EXISTS (SELECT 1 FROM oauth_status
                                        WHERE integration = ?1 AND needs_reauth IS NOT NULL)",
                    params![integration],
                    |r| r.get(0),
                )
                .map_err(|e| db.err(e))
        })
        .await
    }

    pub async fn set_oauth_status(
        &self,
        integration: &str,
        s: &OAuthStatus,
    ) -> Result<(), StoreError> {
        let integration = integration.to_string();
        let s = s.clone();
        self.call(move |db| db.write(|tx| put_status(tx, &integration, &s)))
            .await
    }

    /// Deletes for real: rows are removed with `secure_delete` on and the WAL is truncated,
    /// so the cleared values are gone from the files, not only unlinked.
    pub async fn reset(&self, what: ResetScope) -> Result<(), StoreError> {
        self.call(move |db| {
            db.write(|tx| {
                let tables: &[&str] = match what {
                    ResetScope::Iparams => &["iparams", "iparams_saved"],
                    ResetScope::OAuth => {
                        &["credentials", "oauth_iparams", "tokens", "oauth_status"]
                    }
                    ResetScope::All => &[
                        "iparams",
                        "iparams_saved",
                        "credentials",
                        "oauth_iparams",
                        "tokens",
                        "oauth_status",
                        "system_settings",
                    ],
                };
                for t in tables {
                    tx.execute(&format!("DELETE FROM {t}"), [])?;
                }
                Ok(())
            })?;
            db.conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                .map_err(|e| db.err(e))
        })
        .await
    }

    /// A summary of everything stored, secrets replaced by [`MASK`]; for `store show` and
    /// status pages.
    pub async fn summary(&self) -> Result<Summary, StoreError> {
        self.call(|db| db.summary()).await
    }
}

/// What a masked secret looks like wherever the store is displayed.
pub const MASK: &str = "••••••••";

/// Everything stored, secrets masked.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Summary {
    pub path: PathBuf,
    pub schema_version: i64,
    pub system_settings: Option<Value>,
    /// `None` when the installation page was never saved.
    pub iparams: Option<Map<String, Value>>,
    pub secure_iparams: Vec<String>,
    pub integrations: Vec<IntegrationSummary>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct IntegrationSummary {
    pub name: String,
    pub client_id: Option<String>,
    pub has_client_secret: bool,
    /// Names of the stored oauth_iparams (values may be secret).
    pub oauth_iparams: Vec<String>,
    pub has_access_token: bool,
    pub has_refresh_token: bool,
    pub expires_at: Option<i64>,
    pub obtained_at: Option<i64>,
    pub status: OAuthStatus,
}

fn iparam_aad(name: &str) -> String {
    format!("iparam:{name}")
}
fn secret_aad(integration: &str) -> String {
    format!("client_secret:{integration}")
}
fn oauth_iparams_aad(integration: &str) -> String {
    format!("oauth_iparams:{integration}")
}
fn tokens_aad(integration: &str) -> String {
    format!("tokens:{integration}")
}

/// Unix seconds now.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
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
    fn err(&self, e: rusqlite::Error) -> StoreError {
        StoreError::sqlite(&self.path, e)
    }

    /// Runs `f` in one IMMEDIATE transaction (the write lock is taken up front, so two
    /// processes never deadlock upgrading a read lock).
    fn write<T>(
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
        self.generation.fetch_add(1, Ordering::Release);
        Ok(out)
    }

    fn json(&self, text: &str, what: &str) -> Result<Value, StoreError> {
        serde_json::from_str(text).map_err(|e| StoreError::BadValue {
            path: self.path.clone(),
            what: what.to_string(),
            detail: e.to_string(),
        })
    }

    /// The integration's non-secret OAuth state (default when nothing is stored).
    fn oauth_status(&self, integration: &str) -> Result<OAuthStatus, StoreError> {
        let row = self
            .conn
            .query_row("SELECT needs_reauth, auth_method, last_refresh_at FROM oauth_status WHERE integration = ?1",
                params![integration],
                |r| {
                    Ok(OAuthStatus {
                        needs_reauth: r.get(0)?,
                        auth_method: r
                            .get::<_, Option<String>>(1)?
                            .as_deref()
                            .and_then(ClientAuthMethod::parse),
                        last_refresh_at: r.get(2)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.err(e))?;
        Ok(row.unwrap_or_default())
    }

    /// Reads the sealed JSON value of `integration` with `sql` (one `sealed` column), opens
    /// and parses it: what oauth_iparams and tokens have in common.
    fn sealed_json<T: serde::de::DeserializeOwned>(
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

    fn open_text(&self, aad: &str, sealed: &[u8], what: &str) -> Result<String, StoreError> {
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

    fn tokens_row(&self, integration: &str, t: &Tokens) -> TokensRow {
        let text = serde_json::to_string(t).unwrap_or_default();
        TokensRow {
            sealed: self.cipher.seal(&tokens_aad(integration), text.as_bytes()),
            expires_at: t.expires_at,
            obtained_at: t.obtained_at,
        }
    }

    fn iparams(&mut self) -> Result<Option<Map<String, Value>>, StoreError> {
        Ok(self.iparams_and_secure()?.map(|(values, _)| values))
    }

    /// The stored iparams (secure ones decrypted) and the names of the secure ones, read
    /// together so that the two always agree.
    fn iparams_and_secure(&mut self) -> Result<Option<IparamsAndSecure>, StoreError> {
        let saved: Option<i64> = self
            .conn
            .query_row("SELECT saved_at FROM iparams_saved WHERE id = 1", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.err(e))?;
        if saved.is_none() {
            return Ok(None);
        }
        type Row = (String, bool, Option<String>, Option<Vec<u8>>);
        let rows: Vec<Row> = {
            let mut st = self
                .conn
                .prepare("SELECT name, secure, value, sealed FROM iparams ORDER BY position")
                .map_err(|e| self.err(e))?;
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map_err(|e| StoreError::sqlite(&self.path, e))?
        };
        let mut out = Map::new();
        let mut secure_names = Vec::new();
        for (name, secure, value, sealed) in rows {
            let what = format!("iparam {name}");
            let text = if secure {
                secure_names.push(name.clone());
                self.open_text(
                    &iparam_aad(&name),
                    sealed.as_deref().unwrap_or_default(),
                    &what,
                )?
            } else {
                value.unwrap_or_default()
            };
            out.insert(name, self.json(&text, &what)?);
        }
        Ok(Some((out, secure_names)))
    }

    fn system_settings(&mut self) -> Result<Option<Value>, StoreError> {
        let text: Option<String> = self
            .conn
            .query_row("SELECT value FROM system_settings WHERE id = 1", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.err(e))?;
        text.map(|t| self.json(&t, "system settings")).transpose()
    }

    /// Iparams, their secure names and the system settings in one job of the store thread.
    pub(super) fn reads(&mut self) -> Result<reads::Reads, StoreError> {
        let (iparams, secure) = self.iparams_and_secure()?.unwrap_or_default();
        Ok(reads::Reads {
            iparams,
            secure,
            system_settings: self.system_settings()?,
        })
    }

    fn summary(&mut self) -> Result<Summary, StoreError> {
        let schema_version: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|e| self.err(e))?;
        let system_settings = self.system_settings()?;
        // Reading decrypts the secure values (which also proves the key); they are masked.
        let (iparams, secure_iparams) = match self.iparams_and_secure()? {
            Some((mut values, secure)) => {
                for name in &secure {
                    if let Some(v) = values.get_mut(name) {
                        *v = Value::String(MASK.into());
                    }
                }
                (Some(values), secure)
            }
            None => (None, Vec::new()),
        };
        let names: Vec<String> = {
            let mut st = self
                .conn
                .prepare(
                    "SELECT integration FROM credentials UNION SELECT integration FROM oauth_iparams
                     UNION SELECT integration FROM tokens UNION SELECT integration FROM oauth_status
                     ORDER BY 1",
                )
                .map_err(|e| self.err(e))?;
            st.query_map([], |r| r.get(0))
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map_err(|e| StoreError::sqlite(&self.path, e))?
        };
        let mut integrations = Vec::new();
        for name in names {
            integrations.push(self.integration_summary(&name)?);
        }
        Ok(Summary {
            path: self.path.clone(),
            schema_version,
            system_settings,
            iparams,
            secure_iparams,
            integrations,
        })
    }

    fn integration_summary(&mut self, name: &str) -> Result<IntegrationSummary, StoreError> {
        let err = |e| StoreError::sqlite(&self.path, e);
        let client_id: Option<String> = self
            .conn
            .query_row(
                "SELECT client_id FROM credentials WHERE integration = ?1",
                params![name],
                |r| r.get(0),
            )
            .optional()
            .map_err(err)?;
        let oauth_iparams: Vec<String> = self
            .sealed_json::<Map<String, Value>>(
                "SELECT sealed FROM oauth_iparams WHERE integration = ?1",
                name,
                &oauth_iparams_aad(name),
                &format!("oauth_iparams of integration {name}"),
            )?
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        let tokens: Option<Tokens> = self.sealed_json(
            "SELECT sealed FROM tokens WHERE integration = ?1",
            name,
            &tokens_aad(name),
            &format!("tokens of integration {name}"),
        )?;
        let status = self.oauth_status(name)?;
        Ok(IntegrationSummary {
            name: name.to_string(),
            has_client_secret: client_id.is_some(),
            client_id,
            oauth_iparams,
            has_access_token: tokens.is_some(),
            has_refresh_token: tokens.as_ref().is_some_and(|t| t.refresh_token.is_some()),
            expires_at: tokens.as_ref().and_then(|t| t.expires_at),
            obtained_at: tokens.as_ref().map(|t| t.obtained_at),
            status,
        })
    }
}

#[cfg(test)]
mod tests;
