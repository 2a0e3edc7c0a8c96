//! One integration as it is used at this moment: `oauth_config.json` rendered with the
//! integration's stored `oauth_iparams`, the client ID and secret from the setup page when
//! entered there (unless the file takes them from `oauth_iparams`), URLs checked and routed
//! by the host overrides (`--upstream`), like the app's requests.
//!
//! Resolved afresh for every handshake and refresh (a few microseconds), so edits to the file
//! and to the setup pages apply at once, unlike FDK, which caches the file until a restart.

use serde_json::{Map, Value};

use super::authorize;
use super::client::Endpoint;
use crate::app::App;
use crate::app::oauth_config::{Credential, Integration, OAuthForm};
use crate::config::Config;
use crate::store::Store;

/// A usable integration.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub name: String,
    pub display_name: String,
    pub agent: bool,
    pub authorize_url: url::Url,
    pub options: Map<String, Value>,
    pub endpoint: Endpoint,
}

/// Why an integration cannot be used; each says where to fix it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ResolveError {
    #[error("the app has no config/oauth_config.json, so it has no OAuth integration to authorize")]
    NoOAuth,
    #[error(
        "config/oauth_config.json has several integrations ({}); say which one with ?integration=NAME",
        known.join(", ")
    )]
    WhichIntegration { known: Vec<String> },
    #[error(
        "config/oauth_config.json has no integration \"{name}\" (it has: {})",
        known.join(", ")
    )]
    Unknown { name: String, known: Vec<String> },
    #[error(
        "config/oauth_config.json{pointer} does not render: {message}. Enter the integration's OAuth parameters at {fix_url}"
    )]
    Render {
        name: String,
        pointer: String,
        message: String,
        fix_url: String,
    },
    #[error(
        "the integration \"{name}\" has no {what}: enter it at {fix_url} or set {what} in config/oauth_config.json"
    )]
    MissingClient {
        name: String,
        what: &'static str,
        fix_url: String,
    },
    #[error(
        "{field} of the integration \"{name}\" in config/oauth_config.json is not a usable http(s) URL after rendering (\"{value}\"): {reason}"
    )]
    BadUrl {
        name: String,
        field: &'static str,
        value: String,
        reason: String,
    },
    #[error("the store cannot be read: {message}")]
    Store { message: String },
}

impl ResolveError {
    /// The integration the error is about, when there is one.
    pub fn integration(&self) -> Option<&str> {
        match self {
            ResolveError::Unknown { name, .. }
            | ResolveError::Render { name, .. }
            | ResolveError::MissingClient { name, .. }
            | ResolveError::BadUrl { name, .. } => Some(name),
            _ => None,
        }
    }
}

/// The name an `/auth/index` request means: the given one, or the only one.
pub fn integration_name(app: &App, requested: Option<&str>) -> Result<String, ResolveError> {
    let oauth = app.oauth.as_ref().ok_or(ResolveError::NoOAuth)?;
    let known: Vec<String> = oauth.integrations.keys().cloned().collect();
    match requested.filter(|s| !s.is_empty()) {
        Some(n) if oauth.integrations.contains_key(n) => Ok(n.to_string()),
        Some(n) => Err(ResolveError::Unknown {
            name: n.to_string(),
            known,
        }),
        None => oauth
            .integration(None)
            .map(|i| i.name.clone())
            .ok_or(ResolveError::WhichIntegration { known }),
    }
}

/// The raw (unrendered) JSON of one integration from the app's file.
fn raw_integration<'a>(app: &'a App, name: &str) -> Option<&'a Value> {
    let oauth = app.oauth.as_ref()?;
    let value = app.oauth_file.as_ref()?.value.as_ref()?;
    match oauth.form {
        OAuthForm::Single => Some(value),
        OAuthForm::Integrations => value.get("integrations")?.get(name),
    }
}

/// Resolves integration `name` of `app` for use now.
pub async fn resolve(
    app: &App,
    name: &str,
    store: &Store,
    config: &Config,
) -> Result<Resolved, ResolveError> {
    let oauth = app.oauth.as_ref().ok_or(ResolveError::NoOAuth)?;
    let known: Vec<String> = oauth.integrations.keys().cloned().collect();
    let loaded = oauth.integrations.get(name).ok_or(ResolveError::Unknown {
        name: name.to_string(),
        known,
    })?;
    let store_err = |e: crate::store::StoreError| ResolveError::Store {
        message: e.to_string(),
    };
    let oauth_iparams = store
        .oauth_iparams(name)
        .await
        .map_err(store_err)?
        .unwrap_or_default();
    let integration = match raw_integration(app, name) {
        Some(raw) => {
            let mut scope = Map::new();
            scope.insert("oauth_iparams".into(), Value::Object(oauth_iparams));
            let rendered =
                crate::template::render_value(raw, &scope).map_err(|e| ResolveError::Render {
                    name: name.to_string(),
                    pointer: format!("{}{}", loaded.pointer, e.pointer),
                    message: e.error.to_string(),
                    fix_url: format!(
                        "{}/oauth_iparams?integration={}",
                        config.base_url(),
                        enc(name)
                    ),
                })?;
            Integration::from_value(name, &loaded.pointer, &rendered)
        }
        None => loaded.clone(),
    };
    // The setup page's credentials override the file's, except where the file takes them
    // from oauth_iparams: those are entered on the parameters page, the one place to ask.
    let stored = store.credentials(name).await.map_err(store_err)?;
    let [id_source, secret_source] = loaded.credentials();
    let pick = |source: Credential, rendered: &str, entered: Option<&String>| match entered {
        Some(v) if source != Credential::OAuthIparams => Some(v.clone()),
        _ if matches!(source, Credential::Literal | Credential::OAuthIparams) => {
            Some(rendered.to_string())
        }
        _ => None,
    };
    // Where to enter a missing one: the page the file's choice leads to.
    let missing = |what: &'static str, source: Credential| ResolveError::MissingClient {
        name: name.to_string(),
        what,
        fix_url: format!(
            "{}/{}?integration={}",
            config.base_url(),
            if source == Credential::OAuthIparams {
                "oauth_iparams"
            } else {
                "oauth_configs"
            },
            enc(name)
        ),
    };
    let client_id = pick(
        id_source,
        &integration.client_id,
        stored.as_ref().map(|c| &c.client_id),
    )
    .filter(|v| !v.trim().is_empty())
    .ok_or_else(|| missing("client_id", id_source))?;
    let client_secret = pick(
        secret_source,
        &integration.client_secret,
        stored.as_ref().map(|c| &c.client_secret),
    )
    .ok_or_else(|| missing("client_secret", secret_source))?;
    let (authorize_url, _) = parse_url(name, "authorize_url", &integration.authorize_url, config)?;
    let (token_url, token_host) = parse_url(name, "token_url", &integration.token_url, config)?;
    Ok(Resolved {
        name: name.to_string(),
        display_name: integration.display_name.clone(),
        agent: integration.is_agent(),
        authorize_url,
        endpoint: Endpoint {
            integration: name.to_string(),
            token_url,
            client_id,
            client_secret,
            headers: authorize::custom_headers(&integration.options),
            host: token_host,
            timeout: config.request_timeout,
        },
        options: integration.options,
    })
}

/// A URL of the file, checked, and routed when its host is overridden; with the `Host`
/// header to send there.
fn parse_url(
    name: &str,
    field: &'static str,
    value: &str,
    config: &Config,
) -> Result<(url::Url, Option<String>), ResolveError> {
    let value = config.demo_url(value.trim());
    let bad = |reason: String| ResolveError::BadUrl {
        name: name.to_string(),
        field,
        value: value.clone(),
        reason,
    };
    let url = url::Url::parse(&value).map_err(|e| bad(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(bad(
            "it must start with https:// (or http:// for a local provider)".into(),
        ));
    }
    Ok(match config.route(&url) {
        Some(routed) => (routed.url, routed.host),
        None => (url, None),
    })
}

/// Percent-encodes a query value.
pub fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
