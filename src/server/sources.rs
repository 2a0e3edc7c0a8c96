//! What `invokeTemplate` and the app descriptor need from the rest of the server: stored
//! iparams and system settings (the store) and OAuth tokens (the token lifecycle).

use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::app::{App, Generation};
use crate::inspect::Refresh;
use crate::invoke::{Iparams, Sources, TokenProblem};
use crate::oauth::{TokenError, TokenManager};
use crate::store::{Reads, Store};

/// Borrowed per request from the server's shared state.
pub struct ServerSources<'a> {
    store: &'a Store,
    /// The store's reads as first taken by this request: one call asks for iparams and
    /// current_host separately, and the files need not be checked twice.
    memo: std::cell::OnceCell<Arc<Reads>>,
    /// The token lifecycle (OAuth templates).
    tokens: &'a TokenManager,
    /// The refreshes the token lifecycle did for this request, for the inspector.
    refreshes: std::cell::RefCell<Vec<Refresh>>,
}

impl<'a> ServerSources<'a> {
    pub fn new(store: &'a Store, tokens: &'a TokenManager) -> ServerSources<'a> {
        ServerSources {
            store,
            memo: std::cell::OnceCell::new(),
            tokens,
            refreshes: Default::default(),
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

    /// FDK's `/iframe/api` (FDK 9 shape): non-secure iparams only.
    pub async fn descriptor(&self, app: &Arc<App>) -> Value {
        let iparams = self.iparams().await.unwrap_or_default();
        // Secure by the store's flag or by the app's current iparams.json.
        let by_app = app.iparams.secure_names();
        let configs: Map<String, Value> = iparams
            .values
            .iter()
            .filter(|(k, _)| {
                !iparams.secure.contains(k) && !by_app.contains(k) && k.as_str() != "__meta"
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let current_host = self.current_host().await;
        let mut list = Vec::new();
        let mut all_authorized = true;
        for i in app.oauth.iter().flat_map(|o| o.integrations.values()) {
            let agent = i.is_agent();
            let ok = if agent {
                false
            } else {
                self.store.is_authorized(&i.name).await.unwrap_or(false)
            };
            if !agent && !ok {
                all_authorized = false;
            }
            list.push(json!({
                "name": i.name,
                "type": if agent { "agent" } else { "account" },
                "isAuthorized": ok,
            }));
        }
        let modules: Vec<&str> = app
            .manifest
            .modules
            .iter()
            .map(|m| m.name.as_str())
            .collect();
        let host_field = |k: &str| {
            current_host
                .as_ref()
                .and_then(|h| h.get(k))
                .cloned()
                .unwrap_or(Value::Null)
        };
        let mut d = json!({
            "configs": configs,
            "displayName": app.name,
            "features": [],
            "actions": false,
            "platform": app.manifest.platform_version,
            "isInstall": app.iparams.has_iparams() && iparams.values.is_empty(),
            "oauth_configs_list": list,
            "isAuthorized": all_authorized,
            "v2": [],
        });
        match app.manifest.generation {
            Generation::V2 => {
                d["product"] = json!(modules.first());
                d["products"] = json!(modules);
                d["omni"] = json!(modules.len() > 1);
            }
            Generation::V3 => {
                d["modules"] = json!(modules);
                d["omni"] = json!(false);
                d["subscribed_modules"] = host_field("subscribed_modules");
                d["endpoint_urls"] = host_field("endpoint_urls");
                d["product_types"] = host_field("product_types");
                d["currentHost"] = current_host.clone().unwrap_or(Value::Null);
            }
        }
        d
    }
}

impl ServerSources<'_> {
    fn note(&self, refresh: Option<Refresh>) {
        if let Some(r) = refresh {
            self.refreshes.borrow_mut().push(r);
        }
    }
}

impl Sources for ServerSources<'_> {
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
        let (r, note) = self.tokens.access_token_noted(app, integration).await;
        self.note(note);
        r.map_err(token_problem)
    }

    async fn refresh_after_unauthorized(
        &self,
        app: &Arc<App>,
        integration: &str,
        used: &str,
    ) -> Result<String, TokenProblem> {
        let (r, note) = self
            .tokens
            .refresh_after_unauthorized_noted(app, integration, used)
            .await;
        self.note(note);
        r.map_err(token_problem)
    }

    fn refreshes(&self) -> Vec<Refresh> {
        self.refreshes.take()
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
