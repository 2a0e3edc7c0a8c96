//! The token lifecycle of account-level integrations: hand out a valid access token,
//! refreshing it first when it is about to expire, or after the API answered 401.
//!
//! Single flight: each integration has one async lock held across "read tokens → refresh →
//! store". Whoever gets the lock first refreshes; the others wait, then re-read the store and
//! use the token it left (the pattern of Nango and oauth2-proxy, peers.md §3.5). A refresh
//! that failed is not repeated by the callers that were already waiting for it: they get its
//! error, so a provider that is down sees one request, not fifty.
//!
//! The token panel's actions live here too: refresh now, expire now (the next call
//! refreshes: the way to test refresh without waiting), revoke (forget the tokens). Each
//! takes the integration's lock, so none of them interleaves with a refresh.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::client::{self, AuthMethod, EndpointError, Grant, TokenResponse};
use super::error::TokenError;
use super::resolve::{self, ResolveError, Resolved};
use super::state::StateStore;
use crate::app::{App, TokenType};
use crate::config::Config;
use crate::inspect::{Refresh, RefreshTrigger};
use crate::store::{ClientAuthMethod, OAuthStatus, Store, Tokens};
use crate::term;

/// How much of a provider's error text a log line shows (it quotes the provider's answer).
const LOGGED_ERROR_CHARS: usize = 500;

/// Now, in Unix seconds.
pub use crate::store::now as unix_now;

/// Whether a token should be refreshed before use. The margin is capped at half the token's
/// lifetime, so that a provider issuing 5-second tokens with the default 60-second margin does
/// not cause a refresh before every request.
pub fn is_due(t: &Tokens, margin: Duration, now: i64) -> bool {
    let Some(exp) = t.expires_at else {
        return false;
    };
    let lifetime = (exp - t.obtained_at).max(0);
    let margin = (margin.as_secs() as i64).min(lifetime / 2);
    now >= exp - margin
}

/// Why a refresh did not happen; the `/dprouter` oauth route answers each in FDK's shape.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RefreshError {
    /// No tokens are stored (never authorized, or dropped after a permanent failure).
    #[error("no tokens are stored{}", reason.as_ref().map(|r| format!(" ({r})")).unwrap_or_default())]
    NotAuthorized { reason: Option<String> },
    /// Tokens are stored but the provider gave no refresh token.
    #[error("the provider gave no refresh token")]
    NoRefreshToken,
    #[error(transparent)]
    Resolve(ResolveError),
    #[error(transparent)]
    Endpoint(EndpointError),
    #[error("the store could not be read or written ({0})")]
    Store(String),
}

/// The outcome of the last refresh of an integration, for callers that waited for it.
#[derive(Debug, Clone)]
struct Outcome {
    finished: Instant,
    result: Result<(), RefreshError>,
}

/// One integration's lock. The value inside is the last refresh outcome.
#[derive(Default)]
struct Flight {
    lock: tokio::sync::Mutex<Option<Outcome>>,
    /// The last refresh of this run, for the token panel, readable without waiting for a
    /// refresh in progress.
    last: std::sync::Mutex<Option<LastRefresh>>,
}

/// The last refresh of an integration in this run and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LastRefresh {
    /// Unix seconds.
    pub at: i64,
    pub ok: bool,
    /// Why it failed (never a token or a secret).
    pub error: Option<String>,
}

/// What "Expire now" did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expired {
    /// The next call refreshes first.
    WillRefresh,
    /// The provider gave no refresh token: the next call sends the expired token, and when
    /// the API refuses it the integration needs re-authorization.
    NoRefreshToken,
}

/// Per-integration status for `/api/status`. Never a token or a secret.
#[derive(Debug, Clone, Serialize)]
pub struct IntegrationStatus {
    pub name: String,
    pub display_name: String,
    /// `account`, `agent`, or null when the file does not say.
    pub token_type: Option<TokenType>,
    /// Whether the server holds an access token; null for agent-level integrations, whose
    /// tokens live in the browser.
    pub authorized: Option<bool>,
    /// Unix seconds; null when unknown (the provider gave no `expires_in`).
    pub expires_at: Option<i64>,
    /// Seconds from now (negative once expired).
    pub expires_in: Option<i64>,
    pub has_refresh_token: bool,
    pub scope: Option<String>,
    pub obtained_at: Option<i64>,
    pub last_refresh_at: Option<i64>,
    /// How the last refresh of this run ended; null before the first.
    pub last_refresh: Option<LastRefresh>,
    /// The token's own type (`Bearer`), as the provider gave it.
    pub access_token_type: Option<String>,
    pub needs_reauth: bool,
    pub reason: Option<String>,
    /// How the token endpoint accepted the client credentials last time (`body`/`basic`).
    pub client_auth_method: Option<&'static str>,
    /// Where to (re-)authorize.
    pub authorize_url: String,
}

/// Owns the account-level tokens of every integration, and the pending handshake states.
/// Shared by all workers as `web::Data<TokenManager>`.
pub struct TokenManager {
    store: Store,
    config: Config,
    http: reqwest::Client,
    flights: std::sync::Mutex<HashMap<String, Arc<Flight>>>,
    /// The pending handshakes (`state` values).
    pub states: StateStore,
}

impl TokenManager {
    pub fn new(store: Store, config: Config, http: reqwest::Client) -> TokenManager {
        let states = StateStore::with_ttl(config.oauth_state_ttl);
        TokenManager {
            store,
            config,
            http,
            flights: Default::default(),
            states,
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    fn setup_url(&self) -> String {
        format!("{}/custom_configs", self.config.base_url())
    }

    fn flight(&self, integration: &str) -> Arc<Flight> {
        let mut flights = self.flights.lock().unwrap_or_else(|p| p.into_inner());
        flights.entry(integration.to_string()).or_default().clone()
    }

    /// Resolves an integration of `app` for use now (rendered config, setup-page credentials).
    pub async fn resolve(&self, app: &App, integration: &str) -> Result<Resolved, ResolveError> {
        resolve::resolve(app, integration, &self.store, &self.config).await
    }

    /// Checks the integration exists and is account-level.
    fn account_integration(&self, app: &App, integration: &str) -> Result<(), TokenError> {
        let known = || {
            app.oauth
                .as_ref()
                .map(|o| o.integrations.keys().cloned().collect())
                .unwrap_or_default()
        };
        let Some(i) = app
            .oauth
            .as_ref()
            .and_then(|o| o.integrations.get(integration))
        else {
            return Err(TokenError::UnknownIntegration {
                integration: integration.to_string(),
                known: known(),
            });
        };
        if i.is_agent() {
            return Err(TokenError::Setup {
                integration: integration.to_string(),
                message: "it is agent-level (token_type \"agent\"): its tokens live in the browser and come with each request, not from the server's store".into(),
            });
        }
        Ok(())
    }

    /// The stored tokens, or why there are none.
    async fn stored(&self, integration: &str) -> Result<Tokens, RefreshError> {
        let store_error = |e: crate::store::StoreError| RefreshError::Store(e.to_string());
        match self.store.tokens(integration).await.map_err(store_error)? {
            Some(t) => Ok(t),
            None => {
                let status = self
                    .store
                    .oauth_status(integration)
                    .await
                    .map_err(store_error)?;
                Err(RefreshError::NotAuthorized {
                    reason: status.needs_reauth,
                })
            }
        }
    }

    /// The stored tokens, or why there are none, as the app is told.
    async fn current(&self, integration: &str) -> Result<Tokens, TokenError> {
        self.stored(integration)
            .await
            .map_err(|e| self.token_error(integration, &e))
    }

    /// A valid access token for an account-level integration: refreshes first when it
    /// expires within the margin (`Config::refresh_margin`); single flight per integration.
    pub async fn access_token(&self, app: &App, integration: &str) -> Result<String, TokenError> {
        self.access_token_noted(app, integration).await.0
    }

    /// [`TokenManager::access_token`], and the refresh it did or waited for (the inspector
    /// shows it with the call).
    pub async fn access_token_noted(
        &self,
        app: &App,
        integration: &str,
    ) -> (Result<String, TokenError>, Option<Refresh>) {
        let mut note = None;
        let r = self.access_token_inner(app, integration, &mut note).await;
        (r, note)
    }

    async fn access_token_inner(
        &self,
        app: &App,
        integration: &str,
        note: &mut Option<Refresh>,
    ) -> Result<String, TokenError> {
        self.account_integration(app, integration)?;
        let margin = self.config.refresh_margin;
        let tokens = self.current(integration).await?;
        if !is_due(&tokens, margin, unix_now()) || tokens.refresh_token.is_none() {
            // Without a refresh token there is nothing to do but try the token we have.
            return Ok(tokens.access_token);
        }
        let started = Instant::now();
        let flight = self.flight(integration);
        let mut last = flight.lock.lock().await;
        let waited = last.as_ref().filter(|o| o.finished > started).cloned();
        if let Some(o) = &waited {
            *note = Some(shared_note(
                integration,
                RefreshTrigger::Expiring,
                o,
                started,
            ));
        }
        let tokens = self.current(integration).await?;
        if !is_due(&tokens, margin, unix_now()) || tokens.refresh_token.is_none() {
            return Ok(tokens.access_token);
        }
        let still_valid = tokens.expires_at.is_some_and(|e| unix_now() < e);
        if let Some(o) = &waited
            && let Err(e) = &o.result
        {
            // The refresh we waited for failed: share its outcome rather than try again.
            if is_transient(e) && still_valid {
                return Ok(tokens.access_token);
            }
            return Err(self.token_error(integration, e));
        }
        let old_token = tokens.access_token.clone();
        let began = Instant::now();
        let result = self.refresh_locked(app, integration, tokens).await;
        *note = Some(own_note(
            integration,
            RefreshTrigger::Expiring,
            &result,
            began,
        ));
        self.finish_refresh(&flight, &mut last, &result);
        match result {
            Ok(t) => Ok(t.access_token),
            // The provider is down but the token has not expired yet: use it.
            Err(e) if is_transient(&e) && still_valid => {
                tracing::warn!(
                    integration,
                    "using the current token until it expires: {}",
                    term::cut(&e.to_string(), LOGGED_ERROR_CHARS)
                );
                Ok(old_token)
            }
            Err(e) => Err(self.token_error(integration, &e)),
        }
    }

    /// After a 401 from the API with token `used`: refresh once (unless another caller has
    /// already replaced `used`) and return the new token.
    pub async fn refresh_after_unauthorized(
        &self,
        app: &App,
        integration: &str,
        used: &str,
    ) -> Result<String, TokenError> {
        self.refresh_after_unauthorized_noted(app, integration, used)
            .await
            .0
    }

    /// [`TokenManager::refresh_after_unauthorized`], and the refresh it did or waited for.
    pub async fn refresh_after_unauthorized_noted(
        &self,
        app: &App,
        integration: &str,
        used: &str,
    ) -> (Result<String, TokenError>, Option<Refresh>) {
        let mut note = None;
        let r = self
            .refresh_after_unauthorized_inner(app, integration, used, &mut note)
            .await;
        (r, note)
    }

    async fn refresh_after_unauthorized_inner(
        &self,
        app: &App,
        integration: &str,
        used: &str,
        note: &mut Option<Refresh>,
    ) -> Result<String, TokenError> {
        self.account_integration(app, integration)?;
        let started = Instant::now();
        let flight = self.flight(integration);
        let mut last = flight.lock.lock().await;
        let waited = last.as_ref().filter(|o| o.finished > started).cloned();
        if let Some(o) = &waited {
            *note = Some(shared_note(
                integration,
                RefreshTrigger::Unauthorized,
                o,
                started,
            ));
        }
        let tokens = self.current(integration).await?;
        if tokens.access_token != used {
            return Ok(tokens.access_token);
        }
        if let Some(o) = &waited
            && let Err(e) = &o.result
        {
            return Err(self.token_error(integration, e));
        }
        if tokens.refresh_token.is_none() {
            // Not persisted: a 401 may also come from a template that sends the token in the
            // wrong format, which re-authorizing would not fix.
            return Err(TokenError::NeedsReauthorization {
                integration: integration.to_string(),
                reason: "the API answered 401 to the stored access token and the provider gave no refresh token; if the header format in the template is right, the token was revoked or has expired".into(),
                setup_url: self.setup_url(),
            });
        }
        let began = Instant::now();
        let result = self.refresh_locked(app, integration, tokens).await;
        *note = Some(own_note(
            integration,
            RefreshTrigger::Unauthorized,
            &result,
            began,
        ));
        self.finish_refresh(&flight, &mut last, &result);
        result
            .map(|t| t.access_token)
            .map_err(|e| self.token_error(integration, &e))
    }

    /// Keeps the outcome of a refresh for the callers waiting on the lock and the panel.
    fn finish_refresh(
        &self,
        flight: &Flight,
        slot: &mut Option<Outcome>,
        result: &Result<Tokens, RefreshError>,
    ) {
        let result = result.as_ref().map(|_| ()).map_err(Clone::clone);
        let public = LastRefresh {
            at: unix_now(),
            ok: result.is_ok(),
            error: result.as_ref().err().map(ToString::to_string),
        };
        *flight.last.lock().unwrap_or_else(|p| p.into_inner()) = Some(public);
        *slot = Some(Outcome {
            finished: Instant::now(),
            result,
        });
    }

    /// The last refresh of `integration` in this run, if any.
    pub fn last_refresh(&self, integration: &str) -> Option<LastRefresh> {
        let flights = self.flights.lock().unwrap_or_else(|p| p.into_inner());
        let flight = flights.get(integration)?;
        flight
            .last
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// "Expire now": marks the stored access token expired, so that the next call refreshes
    /// it first (the way to test refresh without waiting for the real expiry).
    pub async fn expire_now(&self, app: &App, integration: &str) -> Result<Expired, TokenError> {
        self.account_integration(app, integration)?;
        let flight = self.flight(integration);
        let _guard = flight.lock.lock().await;
        let mut tokens = self.current(integration).await?;
        // A second ago, and never after it was obtained: `is_due` then has no margin left.
        let now = unix_now();
        tokens.expires_at = Some(now - 1);
        tokens.obtained_at = tokens.obtained_at.min(now - 1);
        self.store
            .set_tokens(integration, &tokens)
            .await
            .map_err(|e| TokenError::Transient {
                integration: integration.to_string(),
                message: format!("the store could not be written ({e})"),
            })?;
        tracing::info!(integration, "access token marked expired");
        Ok(if tokens.refresh_token.is_some() {
            Expired::WillRefresh
        } else {
            Expired::NoRefreshToken
        })
    }

    /// "Revoke": forgets the stored tokens; the integration needs re-authorization. (The
    /// provider is not told: `oauth_config.json` names no revocation endpoint.)
    pub async fn revoke(&self, app: &App, integration: &str) -> Result<(), TokenError> {
        self.account_integration(app, integration)?;
        let flight = self.flight(integration);
        let _guard = flight.lock.lock().await;
        let store_error = |e: crate::store::StoreError| TokenError::Transient {
            integration: integration.to_string(),
            message: format!("the store could not be read or written ({e})"),
        };
        let mut status = self
            .store
            .oauth_status(integration)
            .await
            .map_err(store_error)?;
        status.needs_reauth = Some("the tokens were revoked from the token panel".into());
        self.store
            .save_grant(integration, None, &status)
            .await
            .map_err(store_error)?;
        tracing::info!(
            integration,
            "tokens revoked; the integration needs re-authorization"
        );
        Ok(())
    }

    /// Refreshes now (the `/dprouter` oauth route). Callers that arrive while a refresh is
    /// running share its outcome instead of refreshing again.
    pub async fn refresh_now(&self, app: &App, integration: &str) -> Result<(), RefreshError> {
        let started = Instant::now();
        let flight = self.flight(integration);
        let mut last = flight.lock.lock().await;
        if let Some(o) = last.as_ref().filter(|o| o.finished > started) {
            return o.result.clone();
        }
        let tokens = self.stored(integration).await?;
        let result = self.refresh_locked(app, integration, tokens).await;
        self.finish_refresh(&flight, &mut last, &result);
        result.map(|_| ())
    }

    fn token_error(&self, integration: &str, e: &RefreshError) -> TokenError {
        let integration_s = integration.to_string();
        match e {
            RefreshError::NotAuthorized { reason: Some(r) } => TokenError::NeedsReauthorization {
                integration: integration_s,
                reason: r.clone(),
                setup_url: self.setup_url(),
            },
            RefreshError::NotAuthorized { reason: None } => TokenError::NotAuthorized {
                integration: integration_s,
                setup_url: self.setup_url(),
            },
            RefreshError::NoRefreshToken => TokenError::NeedsReauthorization {
                integration: integration_s,
                reason: "the access token expired and the provider gave no refresh token".into(),
                setup_url: self.setup_url(),
            },
            RefreshError::Resolve(r) => TokenError::Setup {
                integration: integration_s,
                message: r.to_string(),
            },
            RefreshError::Endpoint(ep) if ep.is_permanent() => TokenError::NeedsReauthorization {
                integration: integration_s,
                reason: format!("refreshing the token failed: {ep}"),
                setup_url: self.setup_url(),
            },
            RefreshError::Endpoint(ep) => TokenError::Transient {
                integration: integration_s,
                message: ep.to_string(),
            },
            RefreshError::Store(m) => TokenError::Transient {
                integration: integration_s,
                message: format!("the store could not be read or written ({m})"),
            },
        }
    }

    /// The client authentication method that worked last for `integration`.
    async fn preferred_method(&self, integration: &str) -> (OAuthStatus, AuthMethod) {
        let status = self
            .store
            .oauth_status(integration)
            .await
            .unwrap_or_default();
        let method = match status.auth_method {
            Some(ClientAuthMethod::Basic) => AuthMethod::Basic,
            _ => AuthMethod::Body,
        };
        (status, method)
    }

    /// Refreshes with the lock held. Success stores the new tokens (keeping the old refresh
    /// token when none comes back); a permanent failure drops the tokens and marks the
    /// integration "needs re-authorization"; a transient one changes nothing.
    async fn refresh_locked(
        &self,
        app: &App,
        integration: &str,
        old: Tokens,
    ) -> Result<Tokens, RefreshError> {
        let Some(refresh_token) = old.refresh_token.clone() else {
            return Err(RefreshError::NoRefreshToken);
        };
        let resolved = self
            .resolve(app, integration)
            .await
            .map_err(RefreshError::Resolve)?;
        let (mut status, preferred) = self.preferred_method(integration).await;
        let grant = Grant::RefreshToken {
            refresh_token: &refresh_token,
        };
        match client::request_tokens(&self.http, &resolved.endpoint, &grant, preferred).await {
            Ok((resp, method)) => {
                let now = unix_now();
                let tokens = tokens_from(&resp, Some(&old), now);
                status.auth_method = Some(to_store_method(method));
                status.last_refresh_at = Some(now);
                status.needs_reauth = None;
                self.store
                    .save_grant(integration, Some(&tokens), &status)
                    .await
                    .map_err(|e| RefreshError::Store(e.to_string()))?;
                tracing::info!(integration, "access token refreshed");
                Ok(tokens)
            }
            Err(e) if e.is_permanent() => {
                let reason = format!("refreshing the token failed: {e}");
                tracing::warn!(
                    integration,
                    "{}; the integration needs re-authorization",
                    term::cut(&reason, LOGGED_ERROR_CHARS)
                );
                status.needs_reauth = Some(reason);
                if let Err(se) = self.store.save_grant(integration, None, &status).await {
                    tracing::warn!(integration, "could not drop the dead tokens: {se}");
                }
                Err(RefreshError::Endpoint(e))
            }
            Err(e) => {
                tracing::warn!(
                    integration,
                    "refresh failed, tokens kept: {}",
                    term::cut(&e.to_string(), LOGGED_ERROR_CHARS)
                );
                Err(RefreshError::Endpoint(e))
            }
        }
    }

    /// Refreshes an agent's tokens sent by the browser; nothing is stored but the client
    /// authentication method that worked.
    pub async fn refresh_agent(
        &self,
        app: &App,
        integration: &str,
        refresh_token: &str,
    ) -> Result<TokenResponse, RefreshError> {
        let resolved = self
            .resolve(app, integration)
            .await
            .map_err(RefreshError::Resolve)?;
        let (mut status, preferred) = self.preferred_method(integration).await;
        let grant = Grant::RefreshToken { refresh_token };
        let (resp, method) =
            client::request_tokens(&self.http, &resolved.endpoint, &grant, preferred)
                .await
                .map_err(RefreshError::Endpoint)?;
        if status.auth_method != Some(to_store_method(method)) {
            status.auth_method = Some(to_store_method(method));
            let _ = self.store.set_oauth_status(integration, &status).await;
        }
        Ok(resp)
    }

    /// Exchanges an authorization code. Account level: the tokens are stored and the
    /// integration's "needs re-authorization" mark is cleared. Agent level: the tokens are
    /// returned for the browser and not stored.
    pub async fn exchange_code(
        &self,
        resolved: &Resolved,
        code: &str,
    ) -> Result<TokenResponse, RefreshError> {
        let integration = resolved.name.as_str();
        let (mut status, preferred) = self.preferred_method(integration).await;
        let redirect_uri = self.config.redirect_uri();
        let grant = Grant::AuthorizationCode {
            code,
            redirect_uri: &redirect_uri,
        };
        let (resp, method) =
            client::request_tokens(&self.http, &resolved.endpoint, &grant, preferred)
                .await
                .map_err(RefreshError::Endpoint)?;
        if !resolved.agent {
            let now = unix_now();
            let tokens = tokens_from(&resp, None, now);
            let flight = self.flight(integration);
            let _guard = flight.lock.lock().await;
            // Read again under the lock: a refresh may have recorded its time meanwhile.
            let mut status = self.store.oauth_status(integration).await.unwrap_or(status);
            status.auth_method = Some(to_store_method(method));
            status.needs_reauth = None;
            self.store
                .save_grant(integration, Some(&tokens), &status)
                .await
                .map_err(|e| RefreshError::Store(e.to_string()))?;
            tracing::info!(integration, "authorized; tokens stored");
        } else {
            status.auth_method = Some(to_store_method(method));
            if let Err(e) = self.store.set_oauth_status(integration, &status).await {
                tracing::warn!(integration, "could not record the OAuth status: {e}");
            }
        }
        Ok(resp)
    }

    /// Per-integration state for `/api/status`: token type, authorized, expiry, last
    /// refresh, needs re-authorization (with the reason). Never a token or a secret.
    pub async fn status(&self, app: &App) -> Vec<IntegrationStatus> {
        let Some(oauth) = app.oauth.as_ref() else {
            return Vec::new();
        };
        let now = unix_now();
        let mut out = Vec::with_capacity(oauth.integrations.len());
        for (name, i) in &oauth.integrations {
            let authorize_url = format!(
                "{}/auth/index?integration={}",
                self.config.base_url(),
                resolve::enc(name)
            );
            let status = self.store.oauth_status(name).await.unwrap_or_default();
            let mut s = IntegrationStatus {
                name: name.clone(),
                display_name: i.display_name.clone(),
                token_type: i.token_type,
                authorized: None,
                expires_at: None,
                expires_in: None,
                has_refresh_token: false,
                scope: None,
                obtained_at: None,
                last_refresh_at: status.last_refresh_at,
                last_refresh: self.last_refresh(name),
                access_token_type: None,
                needs_reauth: status.needs_reauth.is_some(),
                reason: status.needs_reauth.clone(),
                client_auth_method: status.auth_method.map(ClientAuthMethod::as_str),
                authorize_url,
            };
            if !i.is_agent() {
                let tokens = self.store.tokens(name).await.ok().flatten();
                s.authorized = Some(tokens.is_some());
                if let Some(t) = tokens {
                    s.expires_at = t.expires_at;
                    s.expires_in = t.expires_at.map(|e| e - now);
                    s.has_refresh_token = t.refresh_token.is_some();
                    s.scope = t.scope;
                    s.access_token_type = t.token_type;
                    s.obtained_at = Some(t.obtained_at);
                }
            }
            out.push(s);
        }
        out
    }
}

/// The inspector's note of a refresh this caller did.
fn own_note(
    integration: &str,
    trigger: RefreshTrigger,
    result: &Result<Tokens, RefreshError>,
    began: Instant,
) -> Refresh {
    Refresh {
        integration: integration.to_string(),
        trigger,
        ok: result.is_ok(),
        error: result.as_ref().err().map(ToString::to_string),
        duration_ms: began.elapsed().as_secs_f64() * 1000.0,
        shared: false,
    }
}

/// The inspector's note of a refresh another caller did while this one waited.
fn shared_note(
    integration: &str,
    trigger: RefreshTrigger,
    o: &Outcome,
    started: Instant,
) -> Refresh {
    Refresh {
        integration: integration.to_string(),
        trigger,
        ok: o.result.is_ok(),
        error: o.result.as_ref().err().map(ToString::to_string),
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        shared: true,
    }
}

/// A failure that says nothing about the grant (network, timeout, 5xx, nonsense answer).
fn is_transient(e: &RefreshError) -> bool {
    matches!(e, RefreshError::Endpoint(ep) if !ep.is_permanent())
}

fn to_store_method(m: AuthMethod) -> ClientAuthMethod {
    match m {
        AuthMethod::Body => ClientAuthMethod::Body,
        AuthMethod::Basic => ClientAuthMethod::Basic,
    }
}

/// What is stored of a token answer received at `now`. A refresh answer may leave out the
/// refresh token, type and scope: then the `old` ones stay.
fn tokens_from(resp: &TokenResponse, old: Option<&Tokens>, now: i64) -> Tokens {
    let keep = |new: &Option<String>, old_value: fn(&Tokens) -> &Option<String>| {
        new.clone()
            .or_else(|| old.and_then(|o| old_value(o).clone()))
    };
    Tokens {
        access_token: resp.access_token.clone(),
        refresh_token: keep(&resp.refresh_token, |o| &o.refresh_token),
        token_type: keep(&resp.token_type, |o| &o.token_type),
        scope: keep(&resp.scope, |o| &o.scope),
        expires_at: resp.expires_in.map(|s| now + s),
        obtained_at: now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refresh_answer_keeps_what_it_leaves_out() {
        let resp = TokenResponse {
            access_token: "new".into(),
            refresh_token: None,
            token_type: None,
            scope: Some("read write".into()),
            expires_in: Some(60),
        };
        let old = Tokens {
            token_type: Some("Bearer".into()),
            scope: Some("read".into()),
            ..tokens(1, None)
        };
        let t = tokens_from(&resp, Some(&old), 1000);
        assert_eq!(t.access_token, "new");
        assert_eq!(
            t.refresh_token.as_deref(),
            Some("r"),
            "the old refresh token stays"
        );
        assert_eq!(t.token_type.as_deref(), Some("Bearer"));
        assert_eq!(
            t.scope.as_deref(),
            Some("read write"),
            "what came back wins"
        );
        assert_eq!((t.expires_at, t.obtained_at), (Some(1060), 1000));
        let first = tokens_from(&resp, None, 1000);
        assert_eq!((first.refresh_token, first.token_type), (None, None));
    }

    fn tokens(obtained: i64, expires: Option<i64>) -> Tokens {
        Tokens {
            access_token: "a".into(),
            refresh_token: Some("r".into()),
            token_type: None,
            scope: None,
            expires_at: expires,
            obtained_at: obtained,
        }
    }

    #[test]
    fn due_within_the_margin() {
        let t = tokens(1000, Some(4600));
        let m = Duration::from_secs(60);
        assert!(!is_due(&t, m, 4000));
        assert!(!is_due(&t, m, 4539));
        assert!(is_due(&t, m, 4540));
        assert!(is_due(&t, m, 5000));
    }

    #[test]
    fn margin_is_capped_at_half_the_lifetime() {
        // A 5-second token with a 60-second margin is not refreshed before every use.
        let t = tokens(1000, Some(1005));
        let m = Duration::from_secs(60);
        assert!(!is_due(&t, m, 1000));
        assert!(!is_due(&t, m, 1002));
        assert!(is_due(&t, m, 1003));
    }

    #[test]
    fn unknown_expiry_is_never_due() {
        assert!(!is_due(&tokens(0, None), Duration::from_secs(60), i64::MAX));
    }
}
