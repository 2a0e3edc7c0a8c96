//! What `invokeTemplate` and the app descriptor need from the rest of the server: stored
//! iparams and system settings (the store) and OAuth tokens (the token lifecycle).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use serde_json::{Map, Value, json};

use crate::app::{App, Generation, TokenType};
use crate::invoke::{Iparams, Sources, TokenProblem};
use crate::oauth::{TokenError, TokenManager};
use crate::store::Store;

/// What `invokeTemplate` reads from the store on every call.
#[derive(Debug)]
struct StoreSnapshot {
    iparams: Iparams,
    current_host: Option<Value>,
}

/// Identity of the store's files: path, then size and modification time of the database and
/// of its write-ahead log.
type FileKey = (
    PathBuf,
    Option<(u64, SystemTime)>,
    Option<(u64, SystemTime)>,
);

static SNAPSHOT: Mutex<Option<(FileKey, Arc<StoreSnapshot>)>> = Mutex::new(None);

fn file_key(path: &Path) -> Option<FileKey> {
    let stat = |p: &Path| {
        std::fs::metadata(p)
            .ok()
            .and_then(|m| Some((m.len(), m.modified().ok()?)))
    };
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let db = stat(path)?;
    Some((path.to_path_buf(), Some(db), stat(Path::new(&wal))))
}

/// Borrowed per request from the server's shared state.
pub struct ServerSources<'a> {
    store: &'a Store,
    /// The store snapshot as first read by this request: one call asks for iparams and
    /// current_host separately, and the files need not be checked twice.
    memo: std::cell::OnceCell<Arc<StoreSnapshot>>,
    /// The token lifecycle; `None` only where a handler has no use for tokens.
    tokens: Option<&'a TokenManager>,
}

impl<'a> ServerSources<'a> {
    pub fn new(store: &'a Store) -> ServerSources<'a> {
        ServerSources {
            store,
            memo: std::cell::OnceCell::new(),
            tokens: None,
        }
    }

    /// Adds the token lifecycle (OAuth templates).
    pub fn with_tokens(mut self, tokens: &'a TokenManager) -> ServerSources<'a> {
        self.tokens = Some(tokens);
        self
    }

    /// Whether an account-level integration has a usable grant: tokens stored and not marked
    /// "needs re-authorization".
    pub async fn is_authorized(&self, _app: &Arc<App>, integration: &str) -> bool {
        let has_tokens = matches!(self.store.tokens(integration).await, Ok(Some(_)));
        let needs_reauth = self
            .store
            .oauth_status(integration)
            .await
            .map(|s| s.needs_reauth.is_some())
            .unwrap_or(true);
        has_tokens && !needs_reauth
    }

    /// The stored iparams and system settings, read through a cache that is valid while the
    /// SQLite file and its WAL are unchanged (any commit, by this process or another, such as
    /// `fdk-emu store reset`, changes the WAL's size or time). Saves two trips to the store
    /// thread on every `invokeTemplate` call.
    async fn snapshot(&self) -> Result<Arc<StoreSnapshot>, String> {
        if let Some(snap) = self.memo.get() {
            return Ok(snap.clone());
        }
        let snap = self.read_snapshot().await?;
        let _ = self.memo.set(snap.clone());
        Ok(snap)
    }

    async fn read_snapshot(&self) -> Result<Arc<StoreSnapshot>, String> {
        let key = file_key(self.store.path());
        if let Some(key) = &key
            && let Some(hit) = SNAPSHOT.lock().ok().and_then(|c| {
                c.as_ref()
                    .filter(|(k, _)| k == key)
                    .map(|(_, snap)| snap.clone())
            })
        {
            return Ok(hit);
        }
        let values = self
            .store
            .iparams()
            .await
            .map_err(|e| e.to_string())?
            .unwrap_or_default();
        let secure = if values.is_empty() {
            Vec::new()
        } else {
            self.store
                .secure_iparam_names()
                .await
                .map_err(|e| e.to_string())?
        };
        let current_host = self.store.system_settings().await.ok().flatten();
        let snap = Arc::new(StoreSnapshot {
            iparams: Iparams { values, secure },
            current_host,
        });
        // The key was taken before reading, so a write in between only makes the next call
        // read again.
        if let (Some(key), Ok(mut c)) = (key, SNAPSHOT.lock()) {
            *c = Some((key, snap.clone()));
        }
        Ok(snap)
    }

    /// FDK's `/iframe/api` (FDK 9 shape): non-secure iparams only.
    pub async fn descriptor(&self, app: &Arc<App>) -> Value {
        let iparams = self.iparams().await.unwrap_or_default();
        let configs: Map<String, Value> = iparams
            .values
            .iter()
            .filter(|(k, _)| !iparams.secure.contains(k) && k.as_str() != "__meta")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let current_host = self.current_host().await;
        let mut list = Vec::new();
        let mut all_authorized = true;
        for i in app.oauth.iter().flat_map(|o| o.integrations.values()) {
            let agent = i.token_type == Some(TokenType::Agent);
            let ok = if agent {
                false
            } else {
                self.is_authorized(app, &i.name).await
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

impl Sources for ServerSources<'_> {
    async fn iparams(&self) -> Result<Iparams, String> {
        Ok(self.snapshot().await?.iparams.clone())
    }

    async fn current_host(&self) -> Option<Value> {
        self.snapshot().await.ok()?.current_host.clone()
    }

    async fn oauth_iparams(&self, integration: &str) -> Option<Map<String, Value>> {
        self.store.oauth_iparams(integration).await.ok().flatten()
    }

    async fn access_token(
        &self,
        app: &Arc<App>,
        integration: &str,
    ) -> Result<String, TokenProblem> {
        match self.tokens {
            Some(tm) => tm
                .access_token(app, integration)
                .await
                .map_err(token_problem),
            None => Err(TokenProblem::NeedsAuthorization(format!(
                "integration '{integration}' is not authorized yet: open /custom_configs to authorize it"
            ))),
        }
    }

    async fn refresh_after_unauthorized(
        &self,
        app: &Arc<App>,
        integration: &str,
        used: &str,
    ) -> Result<String, TokenProblem> {
        match self.tokens {
            Some(tm) => tm
                .refresh_after_unauthorized(app, integration, used)
                .await
                .map_err(token_problem),
            None => Err(TokenProblem::NeedsAuthorization(format!(
                "integration '{integration}' needs to be authorized again: open /custom_configs"
            ))),
        }
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
