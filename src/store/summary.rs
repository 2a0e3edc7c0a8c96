//! Everything stored, secrets masked: for `store show` and status pages.

use std::path::PathBuf;

use rusqlite::{OptionalExtension, params};
use serde_json::{Map, Value};

use super::worker::Db;
use super::{OAuthStatus, Store, StoreError, Tokens, oauth_iparams_aad, tokens_aad};

impl Store {
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

impl Db {
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
