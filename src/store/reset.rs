//! Clearing what the store holds.

use super::{ResetScope, Store, StoreError};

impl Store {
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
                    ResetScope::Db => &["kv"],
                    ResetScope::Schedules => &["schedules"],
                    ResetScope::All => &[
                        "iparams",
                        "iparams_saved",
                        "credentials",
                        "oauth_iparams",
                        "tokens",
                        "oauth_status",
                        "system_settings",
                        "kv",
                        "schedules",
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
}
