//! The installation parameters, secure ones sealed.

use rusqlite::{OptionalExtension, params};
use serde_json::{Map, Value};

use super::worker::Db;
use super::{Store, StoreError, iparam_aad, now};

/// Stored iparam values (secure ones decrypted) and the names of the secure ones.
type IparamsAndSecure = (Map<String, Value>, Vec<String>);

impl Store {
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
}

impl Db {
    fn iparams(&mut self) -> Result<Option<Map<String, Value>>, StoreError> {
        Ok(self.iparams_and_secure()?.map(|(values, _)| values))
    }

    /// The stored iparams (secure ones decrypted) and the names of the secure ones, read
    /// together so that the two always agree.
    pub(super) fn iparams_and_secure(&mut self) -> Result<Option<IparamsAndSecure>, StoreError> {
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
}
