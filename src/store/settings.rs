//! The platform 3.x system settings (modules, account URLs).

use rusqlite::{OptionalExtension, params};
use serde_json::Value;

use super::worker::Db;
use super::{Store, StoreError, now};

impl Store {
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
}

impl Db {
    pub(super) fn system_settings(&mut self) -> Result<Option<Value>, StoreError> {
        let text: Option<String> = self
            .conn
            .query_row("SELECT value FROM system_settings WHERE id = 1", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.err(e))?;
        text.map(|t| self.json(&t, "system settings")).transpose()
    }
}
