//! The database layout and its migrations, numbered by `PRAGMA user_version`.
//!
//! A migration runs in the same transaction as the version bump, so a crash leaves the
//! file at the old version or the new one, never between. A file with a higher version
//! than [`CURRENT`] was written by a newer fdk-emu and is refused, not "repaired".

use rusqlite::Transaction;

/// Migration `n` (1-based) takes the schema from version `n-1` to `n`.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: the first layout.
    r#"
    -- Non-secret bookkeeping, including `key_check`: a value sealed with the key so that a
    -- wrong key is detected when the store is opened, not on the first secret read.
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value BLOB NOT NULL
    ) STRICT;

    -- Platform 3.x system settings (modules, account URLs) as one JSON object.
    CREATE TABLE system_settings (
        id       INTEGER PRIMARY KEY CHECK (id = 1),
        value    TEXT NOT NULL,
        saved_at INTEGER NOT NULL
    ) STRICT;

    -- One row when the installation page has been saved (even with no values), so that
    -- "installed with nothing" differs from "never installed".
    CREATE TABLE iparams_saved (
        id       INTEGER PRIMARY KEY CHECK (id = 1),
        saved_at INTEGER NOT NULL
    ) STRICT;

    -- Installation parameters, one row each, in the order they were saved. A secure value
    -- is sealed in `sealed` and `value` is NULL; otherwise `value` holds the JSON text.
    CREATE TABLE iparams (
        name     TEXT PRIMARY KEY,
        position INTEGER NOT NULL,
        secure   INTEGER NOT NULL CHECK (secure IN (0, 1)),
        value    TEXT,
        sealed   BLOB,
        CHECK ((secure = 1 AND sealed IS NOT NULL AND value IS NULL)
            OR (secure = 0 AND value IS NOT NULL AND sealed IS NULL))
    ) STRICT;

    CREATE TABLE credentials (
        integration   TEXT PRIMARY KEY,
        client_id     TEXT NOT NULL,
        client_secret BLOB NOT NULL
    ) STRICT;

    -- Sealed as a whole: an oauth_iparam may be a secret (a tenant key, a private domain).
    CREATE TABLE oauth_iparams (
        integration TEXT PRIMARY KEY,
        sealed      BLOB NOT NULL
    ) STRICT;

    -- The token set is sealed; its timestamps are copied in clear for status displays.
    CREATE TABLE tokens (
        integration TEXT PRIMARY KEY,
        sealed      BLOB NOT NULL,
        expires_at  INTEGER,
        obtained_at INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE oauth_status (
        integration     TEXT PRIMARY KEY,
        needs_reauth    TEXT,
        auth_method     TEXT CHECK (auth_method IN ('body', 'basic')),
        last_refresh_at INTEGER
    ) STRICT;
    "#,
    // 2: the key-value store of `client.db` and `$db`.
    r#"
    -- One row per key of a scope (the product whose modules share keys in production).
    -- `value` is the JSON object the app stored; the times are Unix milliseconds, and
    -- `expires_at` is NULL for a key without a TTL. Values are not secret: they are shown by
    -- `store show` and the data viewer.
    CREATE TABLE kv (
        scope      TEXT NOT NULL,
        key        TEXT NOT NULL,
        value      TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        expires_at INTEGER,
        PRIMARY KEY (scope, key)
    ) STRICT, WITHOUT ROWID;

    -- A miss in one scope looks for the key in the others, to say where it is.
    CREATE INDEX kv_by_key ON kv (key);
    -- Expired keys are swept by the next write.
    CREATE INDEX kv_expiring ON kv (expires_at) WHERE expires_at IS NOT NULL;
    "#,
    // 3: the schedules of `$schedule`.
    r#"
    -- One row per schedule, by the name the app gave it. `data` is the JSON text of the
    -- object passed to onScheduledEvent; times are Unix milliseconds. `schedule_at` is the
    -- time the app asked for; `next_at` when the timer fires next (NULL while paused). A
    -- one-time schedule is deleted when it fires; a recurring one moves `next_at` on by its
    -- period.
    CREATE TABLE schedules (
        name             TEXT PRIMARY KEY,
        data             TEXT NOT NULL,
        schedule_at      INTEGER NOT NULL,
        repeat_unit      TEXT CHECK (repeat_unit IN ('minutes', 'hours', 'days')),
        repeat_frequency INTEGER CHECK (repeat_frequency > 0),
        paused           INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
        next_at          INTEGER,
        created_at       INTEGER NOT NULL,
        updated_at       INTEGER NOT NULL,
        last_fired_at    INTEGER,
        fired            INTEGER NOT NULL DEFAULT 0,
        CHECK ((repeat_unit IS NULL) = (repeat_frequency IS NULL))
    ) STRICT;

    CREATE INDEX schedules_due ON schedules (next_at) WHERE next_at IS NOT NULL;
    "#,
];

/// The schema version this build writes.
pub const CURRENT: i64 = MIGRATIONS.len() as i64;

/// Brings a database at `from` up to [`CURRENT`] inside `tx`.
pub fn migrate(tx: &Transaction<'_>, from: i64) -> rusqlite::Result<()> {
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(from.max(0) as usize) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
    }
    Ok(())
}
