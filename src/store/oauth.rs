//! Each integration's OAuth client credentials, oauth_iparams, tokens and status.

use rusqlite::{OptionalExtension, params};
use serde_json::{Map, Value};

use super::worker::Db;
use super::{
    ClientAuthMethod, Credentials, OAuthStatus, Store, StoreError, Tokens, oauth_iparams_aad,
    secret_aad, tokens_aad,
};

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

impl Store {
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
}

impl Db {
    /// The integration's non-secret OAuth state (default when nothing is stored).
    pub(super) fn oauth_status(&self, integration: &str) -> Result<OAuthStatus, StoreError> {
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

    fn tokens_row(&self, integration: &str, t: &Tokens) -> TokensRow {
        let text = serde_json::to_string(t).unwrap_or_default();
        TokensRow {
            sealed: self.cipher.seal(&tokens_aad(integration), text.as_bytes()),
            expires_at: t.expires_at,
            obtained_at: t.obtained_at,
        }
    }
}
