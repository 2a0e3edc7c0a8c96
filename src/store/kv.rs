//! The rows of the key-value store (`client.db`, `$db`): one per key of a scope, its value
//! as JSON text, its times in Unix milliseconds.
//!
//! What a key may hold and how an update changes it is the business of [`crate::kv`]; this
//! file only reads and writes rows, each write in one transaction on the store thread. That
//! is what makes a read-modify-write atomic: [`Store::kv_modify`] runs the caller's pure
//! function between the read and the write of one IMMEDIATE transaction, so 64 concurrent
//! increments of one key end at +64 and a `setIf` sees the row it is about to replace.
//!
//! Expiry: a row whose `expires_at` has passed is invisible to every read (each query
//! filters on it) and is deleted by the next write, whichever key that write is for.

use rusqlite::{OptionalExtension, Transaction, params};

use super::worker::Db;
use super::{Store, StoreError};

/// A stored key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KvRecord {
    pub scope: String,
    pub key: String,
    /// The JSON text of the object the app stored.
    pub value: String,
    /// Unix milliseconds.
    pub created_at: i64,
    pub updated_at: i64,
    /// Unix milliseconds; `None` when the key does not expire.
    pub expires_at: Option<i64>,
}

/// What a read-modify-write does with the key once the caller has seen it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KvWrite {
    /// Store this JSON text, with this expiry. A key that existed keeps its `created_at`.
    Put {
        value: String,
        expires_at: Option<i64>,
    },
    /// Remove the key.
    Delete,
    /// Leave it as it is.
    Keep,
}

/// The answer of a read of one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KvFetch {
    Found(KvRecord),
    /// Not in this scope; `elsewhere` names the other scopes that hold a live key of that
    /// name (so that the miss can say why).
    Missing {
        elsewhere: Vec<String>,
    },
}

const COLUMNS: &str = "scope, key, value, created_at, updated_at, expires_at";
const LIVE: &str = "(expires_at IS NULL OR expires_at > :now)";

fn record(r: &rusqlite::Row<'_>) -> rusqlite::Result<KvRecord> {
    Ok(KvRecord {
        scope: r.get(0)?,
        key: r.get(1)?,
        value: r.get(2)?,
        created_at: r.get(3)?,
        updated_at: r.get(4)?,
        expires_at: r.get(5)?,
    })
}

/// Deletes the rows that expired by `now`; every write starts with it.
fn sweep(tx: &Transaction<'_>, now: i64) -> rusqlite::Result<()> {
    tx.execute(
        "DELETE FROM kv WHERE expires_at IS NOT NULL AND expires_at <= ?1",
        params![now],
    )?;
    Ok(())
}

fn live_row(
    conn: &rusqlite::Connection,
    scope: &str,
    key: &str,
    now: i64,
) -> rusqlite::Result<Option<KvRecord>> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM kv WHERE scope = :scope AND key = :key AND {LIVE}"
    ))?
    .query_row(
        rusqlite::named_params! {":scope": scope, ":key": key, ":now": now},
        record,
    )
    .optional()
}

impl Store {
    /// The live value of `key` in `scope` at `now` (Unix ms), or where else it lives.
    pub async fn kv_fetch(&self, scope: &str, key: &str, now: i64) -> Result<KvFetch, StoreError> {
        let (scope, key) = (scope.to_string(), key.to_string());
        self.call(move |db| db.kv_fetch(&scope, &key, now)).await
    }

    /// Reads `key` of `scope`, lets `decide` choose what to write, and writes it, all in one
    /// transaction. `decide` runs on the store thread: it must be quick and must not block.
    /// Its error (a refused `setIf`, an update that does not apply) leaves the key as it was
    /// and comes back as the inner `Err`; the outer one is the store's own.
    pub async fn kv_modify<T, E, F>(
        &self,
        scope: &str,
        key: &str,
        now: i64,
        decide: F,
    ) -> Result<Result<T, E>, StoreError>
    where
        T: Send + 'static,
        E: Send + 'static,
        F: FnOnce(Option<&KvRecord>) -> Result<(KvWrite, T), E> + Send + 'static,
    {
        let (scope, key) = (scope.to_string(), key.to_string());
        self.call(move |db| {
            db.write_data(|tx| {
                sweep(tx, now)?;
                let current = live_row(tx, &scope, &key, now)?;
                let (write, answer) = match decide(current.as_ref()) {
                    Ok(pair) => pair,
                    Err(e) => return Ok(Err(e)),
                };
                match write {
                    KvWrite::Put { value, expires_at } => {
                        tx.prepare_cached(
                            "INSERT INTO kv (scope, key, value, created_at, updated_at, expires_at)
                             VALUES (?1, ?2, ?3, ?4, ?4, ?5)
                             ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value,
                                 updated_at = excluded.updated_at, expires_at = excluded.expires_at",
                        )?
                        .execute(params![scope, key, value, now, expires_at])?;
                    }
                    KvWrite::Delete => {
                        tx.prepare_cached("DELETE FROM kv WHERE scope = ?1 AND key = ?2")?
                            .execute(params![scope, key])?;
                    }
                    KvWrite::Keep => {}
                }
                Ok(Ok(answer))
            })
        })
        .await
    }

    /// Deletes `key` of `scope`; whether a live key was there.
    pub async fn kv_delete(&self, scope: &str, key: &str, now: i64) -> Result<bool, StoreError> {
        let (scope, key) = (scope.to_string(), key.to_string());
        self.call(move |db| {
            db.write_data(|tx| {
                sweep(tx, now)?;
                let n = tx
                    .prepare_cached("DELETE FROM kv WHERE scope = ?1 AND key = ?2")?
                    .execute(params![scope, key])?;
                Ok(n > 0)
            })
        })
        .await
    }

    /// Every live key at `now`, by scope and key.
    pub async fn kv_list(&self, now: i64) -> Result<Vec<KvRecord>, StoreError> {
        self.call(move |db| {
            let mut st = db
                .conn
                .prepare(&format!(
                    "SELECT {COLUMNS} FROM kv WHERE {LIVE} ORDER BY scope, key"
                ))
                .map_err(|e| db.err(e))?;
            st.query_map(rusqlite::named_params! {":now": now}, record)
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map_err(|e| StoreError::sqlite(&db.path, e))
        })
        .await
    }

    /// Writes `records` as they are (replacing keys of the same scope and name) in one
    /// transaction: all of them or none. For imports.
    pub async fn kv_import(&self, records: Vec<KvRecord>) -> Result<usize, StoreError> {
        self.call(move |db| {
            db.write_data(|tx| {
                let mut ins = tx.prepare(&format!(
                    "INSERT OR REPLACE INTO kv ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
                ))?;
                for r in &records {
                    ins.execute(params![
                        r.scope,
                        r.key,
                        r.value,
                        r.created_at,
                        r.updated_at,
                        r.expires_at
                    ])?;
                }
                Ok(records.len())
            })
        })
        .await
    }
}

impl Db {
    fn kv_fetch(&mut self, scope: &str, key: &str, now: i64) -> Result<KvFetch, StoreError> {
        if let Some(r) = live_row(&self.conn, scope, key, now).map_err(|e| self.err(e))? {
            return Ok(KvFetch::Found(r));
        }
        let elsewhere = self
            .conn
            .prepare_cached(&format!(
                "SELECT scope FROM kv WHERE key = :key AND scope <> :scope AND {LIVE} ORDER BY scope"
            ))
            .and_then(|mut st| {
                st.query_map(
                    rusqlite::named_params! {":scope": scope, ":key": key, ":now": now},
                    |r| r.get::<_, String>(0),
                )?
                .collect::<Result<Vec<_>, _>>()
            })
            .map_err(|e| self.err(e))?;
        Ok(KvFetch::Missing { elsewhere })
    }
}
