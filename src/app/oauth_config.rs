//! `config/oauth_config.json`: one provider (the single form of platform 2.x) or several
//! named `integrations` (platform 3.x).

use indexmap::IndexMap;
use serde_json::{Map, Value};

use super::manifest::escape;

/// Name under which the single-form configuration is known (FDK 9 calls its account
/// `default` too). `/auth/index` needs no `integration` parameter for it.
pub const SINGLE_INTEGRATION: &str = "default";

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OAuthForm {
    /// `client_id`, `token_url`, … at the top level.
    Single,
    /// `{"integrations": {"<name>": {…}}}`.
    Integrations,
}

/// Who owns the tokens: the account (stored by the server) or each agent (kept in the browser).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenType {
    Account,
    Agent,
}

/// One field of the OAuth parameters page (`oauth_iparams`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct OAuthIparam {
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub kind: String,
    pub required: bool,
    pub secure: bool,
}

/// One OAuth provider configuration, unrendered: its strings may hold `<%= oauth_iparams.x %>`.
#[derive(Debug, Clone)]
pub struct Integration {
    pub name: String,
    pub pointer: String,
    pub display_name: String,
    pub client_id: String,
    pub client_secret: String,
    pub authorize_url: String,
    pub token_url: String,
    /// `None` when missing or not one of `account`/`agent` (validation reports it).
    pub token_type: Option<TokenType>,
    /// Every key but `customHeaders` goes on the authorization URL; `customHeaders` are sent
    /// as headers of the token requests.
    pub options: Map<String, Value>,
    pub oauth_iparams: IndexMap<String, OAuthIparam>,
}

impl Integration {
    /// Reads one integration object leniently. Used on load and again after the file has
    /// been rendered with the stored `oauth_iparams`.
    pub fn from_value(name: &str, pointer: &str, v: &Value) -> Integration {
        let s = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let token_type = match v.get("token_type").and_then(Value::as_str) {
            Some("account") => Some(TokenType::Account),
            Some("agent") => Some(TokenType::Agent),
            _ => None,
        };
        let oauth_iparams = v
            .get("oauth_iparams")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, f)| {
                        let fs = |key: &str| {
                            f.get(key)
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_string()
                        };
                        let fb = |key: &str| f.get(key).and_then(Value::as_bool).unwrap_or(false);
                        (
                            k.clone(),
                            OAuthIparam {
                                name: k.clone(),
                                display_name: fs("display_name"),
                                description: fs("description"),
                                kind: fs("type"),
                                required: fb("required"),
                                secure: fb("secure"),
                            },
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        Integration {
            name: name.to_string(),
            pointer: pointer.to_string(),
            display_name: v
                .get("display_name")
                .and_then(Value::as_str)
                .unwrap_or(name)
                .to_string(),
            client_id: s("client_id"),
            client_secret: s("client_secret"),
            authorize_url: s("authorize_url"),
            token_url: s("token_url"),
            token_type,
            options: v
                .get("options")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default(),
            oauth_iparams,
        }
    }

    pub fn is_agent(&self) -> bool {
        self.token_type == Some(TokenType::Agent)
    }
}

#[derive(Debug, Clone)]
pub struct OAuthConfig {
    pub form: OAuthForm,
    pub integrations: IndexMap<String, Integration>,
}

impl OAuthConfig {
    pub fn from_value(v: &Value) -> Option<OAuthConfig> {
        let obj = v.as_object()?;
        if let Some(ints) = obj.get("integrations") {
            let integrations = ints
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(name, body)| {
                            let ptr = format!("/integrations/{}", escape(name));
                            (name.clone(), Integration::from_value(name, &ptr, body))
                        })
                        .collect()
                })
                .unwrap_or_default();
            return Some(OAuthConfig {
                form: OAuthForm::Integrations,
                integrations,
            });
        }
        let mut integrations = IndexMap::new();
        integrations.insert(
            SINGLE_INTEGRATION.to_string(),
            Integration::from_value(SINGLE_INTEGRATION, "", v),
        );
        Some(OAuthConfig {
            form: OAuthForm::Single,
            integrations,
        })
    }

    /// The integration an `/auth/index` request means: the named one, or the only one of the
    /// single form when no name is given.
    pub fn integration(&self, name: Option<&str>) -> Option<&Integration> {
        match (name, self.form) {
            (Some(n), _) => self.integrations.get(n),
            (None, OAuthForm::Single) => self.integrations.get(SINGLE_INTEGRATION),
            (None, OAuthForm::Integrations) if self.integrations.len() == 1 => {
                self.integrations.values().next()
            }
            (None, OAuthForm::Integrations) => None,
        }
    }
}
