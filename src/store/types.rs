//! The values the store keeps, as the rest of fdk-emu sees them.

use serde::{Deserialize, Serialize};

/// An integration's OAuth client, as entered on `/oauth_configs` (overrides the file).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: String,
}

/// Debug never prints the secret.
impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<masked>")
            .finish()
    }
}

/// An account-level token set with what we know about its lifetime.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub token_type: Option<String>,
    pub scope: Option<String>,
    /// Unix seconds; `None` when the provider gave no `expires_in`.
    pub expires_at: Option<i64>,
    /// Unix seconds.
    pub obtained_at: i64,
}

/// Debug never prints a token.
impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("access_token", &"<masked>")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<masked>"),
            )
            .field("token_type", &self.token_type)
            .field("scope", &self.scope)
            .field("expires_at", &self.expires_at)
            .field("obtained_at", &self.obtained_at)
            .finish()
    }
}

/// How the token endpoint accepted the client's credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientAuthMethod {
    /// `client_id`/`client_secret` in the form body (`client_secret_post`).
    Body,
    /// HTTP Basic (`client_secret_basic`).
    Basic,
}

impl ClientAuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientAuthMethod::Body => "body",
            ClientAuthMethod::Basic => "basic",
        }
    }

    pub fn parse(s: &str) -> Option<ClientAuthMethod> {
        match s {
            "body" => Some(ClientAuthMethod::Body),
            "basic" => Some(ClientAuthMethod::Basic),
            _ => None,
        }
    }
}

/// Per-integration OAuth state that is not secret. The default is "nothing known yet".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthStatus {
    /// `Some(reason)` when the stored grant is dead (e.g. `invalid_grant` on refresh) and the
    /// user has to authorize again.
    pub needs_reauth: Option<String>,
    /// The client authentication method that worked last.
    pub auth_method: Option<ClientAuthMethod>,
    /// Unix seconds of the last successful refresh.
    pub last_refresh_at: Option<i64>,
}

/// What `reset` clears.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetScope {
    /// The installation parameters.
    Iparams,
    /// Client credentials, oauth_iparams, tokens and OAuth status of every integration.
    OAuth,
    /// The key-value store (`client.db`, `$db`).
    Db,
    /// The schedules of `$schedule`.
    Schedules,
    /// Everything, system settings included.
    All,
}
