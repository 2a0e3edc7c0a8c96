//! What a call of the app needs from the rest of fdk-emu: stored iparams and system settings
//! (the store) and OAuth tokens (the token lifecycle). The HTTP edge (`invokeTemplate`, the
//! app descriptor, SMI payloads) and the Node worker (`$request.invokeTemplate` of
//! `server.js`) read them the same way, so this sits below both.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::app::App;
use crate::invoke::{Iparams, Sources, TokenProblem};
use crate::oauth::{TokenError, TokenManager};
use crate::store::{Reads, Store};

/// Borrowed per request from the server's shared state.
pub struct StoreSources<'a> {
    store: &'a Store,
    /// The store's reads as first taken by this request: one call asks for iparams and
    /// current_host separately, and the files need not be checked twice.
    memo: std::sync::OnceLock<Arc<Reads>>,
    /// The token lifecycle (OAuth templates).
    tokens: &'a TokenManager,
}

impl<'a> StoreSources<'a> {
    pub fn new(store: &'a Store, tokens: &'a TokenManager) -> StoreSources<'a> {
        StoreSources {
            store,
            memo: std::sync::OnceLock::new(),
            tokens,
        }
    }

    /// The stored iparams and system settings ([`Store::reads`], cached by the store).
    async fn snapshot(&self) -> Result<Arc<Reads>, String> {
        if let Some(r) = self.memo.get() {
            return Ok(r.clone());
        }
        let r = self.store.reads().await.map_err(|e| e.to_string())?;
        let _ = self.memo.set(r.clone());
        Ok(r)
    }

    /// The store behind these sources.
    pub fn store(&self) -> &Store {
        self.store
    }

    /// Whether the app is in FDK's "install" state: it has installation parameters and none
    /// are stored yet (the installation page is open). SMI payloads carry it as `isInstall`,
    /// and the app descriptor as `isInstall`.
    pub async fn is_install(&self, app: &App) -> bool {
        app.iparams.has_iparams()
            && self
                .iparams()
                .await
                .map(|i| i.values.is_empty())
                .unwrap_or(true)
    }
}

impl Sources for StoreSources<'_> {
    async fn iparams(&self) -> Result<Iparams, String> {
        let r = self.snapshot().await?;
        Ok(Iparams {
            values: r.iparams.clone(),
            secure: r.secure.clone(),
        })
    }

    async fn current_host(&self) -> Option<Value> {
        self.snapshot().await.ok()?.system_settings.clone()
    }

    async fn oauth_iparams(&self, integration: &str) -> Option<Map<String, Value>> {
        self.store.oauth_iparams(integration).await.ok().flatten()
    }

    async fn access_token(
        &self,
        app: &Arc<App>,
        integration: &str,
    ) -> Result<String, TokenProblem> {
        self.tokens
            .access_token(app, integration)
            .await
            .map_err(token_problem)
    }

    async fn refresh_after_unauthorized(
        &self,
        app: &Arc<App>,
        integration: &str,
        used: &str,
    ) -> Result<String, TokenProblem> {
        self.tokens
            .refresh_after_unauthorized(app, integration, used)
            .await
            .map_err(token_problem)
    }
}

/// The OAuth layer's error as the request layer classifies it; the message says which
/// integration and where to (re-)authorize.
fn token_problem(e: TokenError) -> TokenProblem {
    let message = e.to_string();
    match e {
        TokenError::NotAuthorized { .. } | TokenError::NeedsReauthorization { .. } => {
            TokenProblem::NeedsAuthorization(message)
        }
        TokenError::Transient { .. } => TokenProblem::Transient(message),
        TokenError::UnknownIntegration { .. } | TokenError::Setup { .. } => {
            TokenProblem::Unknown(message)
        }
    }
}
