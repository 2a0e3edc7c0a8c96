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

    /// Where the client ID and the client secret come from, in that order.
    pub fn credentials(&self) -> [Credential; 2] {
        [
            Credential::of(&self.client_id),
            Credential::of(&self.client_secret),
        ]
    }

    /// Whether the client ID and secret must be entered on the client page: the file leaves
    /// one of them empty, writes a placeholder, or takes it from something other than
    /// `oauth_iparams` (which the parameters page asks for).
    pub fn needs_client_page(&self) -> bool {
        self.credentials().iter().any(|c| {
            matches!(
                c,
                Credential::Empty | Credential::Placeholder | Credential::Template
            )
        })
    }

    /// Whether both credentials come from the integration's `oauth_iparams`, or one from there
    /// and the other written out: then the parameters page is the one place to enter them.
    pub fn credentials_from_oauth_iparams(&self) -> bool {
        !self.needs_client_page() && self.credentials().contains(&Credential::OAuthIparams)
    }
}

/// Where a client credential of `oauth_config.json` comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// Written out in the file.
    Literal,
    /// `<%= oauth_iparams.x %>`: entered on the integration's OAuth parameters page.
    OAuthIparams,
    /// Another `<%= %>` template, which nothing fills in for OAuth (only `oauth_iparams` is
    /// in scope when the file is rendered).
    Template,
    /// Empty, or only spaces.
    Empty,
    /// Text standing for the value, such as `YOUR_CLIENT_ID`, `<client_id>` or `xxx`: sample
    /// apps ship their files like that.
    Placeholder,
}

impl Credential {
    pub fn of(value: &str) -> Credential {
        let v = value.trim();
        if v.is_empty() {
            Credential::Empty
        } else if v.contains("<%") {
            if v.contains("oauth_iparams") {
                Credential::OAuthIparams
            } else {
                Credential::Template
            }
        } else if is_placeholder(v) {
            Credential::Placeholder
        } else {
            Credential::Literal
        }
    }
}

/// Whether a written-out credential is a stand-in rather than a value a provider issued. The
/// forms seen in real apps (the corpus): `YOUR_CLIENT_ID`, `your_asana_client_id`, `Enter
/// your app's client id here`, `<GITHUB_CLIENT_ID>`, `<Client_id>`, `xxx`,
/// `CLIENT_IDXXXXXXXX`, `replace_your_client_id`. Provider-issued IDs are random strings,
/// so the test errs on the side of asking: a wrong guess costs one warning and a page to
/// confirm the value on.
pub fn is_placeholder(value: &str) -> bool {
    let v = value.trim();
    let wrapped =
        |open: char, close: char| v.len() > 2 && v.starts_with(open) && v.ends_with(close);
    if wrapped('<', '>') || wrapped('{', '}') || wrapped('[', ']') {
        return true;
    }
    let n: String = v
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    let xs = |s: &str| s.chars().all(|c| c == 'x');
    n.is_empty()
        || (n.len() >= 3 && xs(&n))
        || n.contains("your")
        || ["replace", "insert", "changeme", "placeholder", "todo"]
            .iter()
            .any(|p| n.starts_with(p))
        || ["clientid", "clientsecret", "secret"].iter().any(|p| {
            n.strip_prefix(p)
                .is_some_and(|rest| xs(rest) || rest == "here")
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_told_apart() {
        for placeholder in [
            "YOUR_CLIENT_ID",
            "your_asana_client_secret",
            "YOUR SECRET ID HERE",
            "Enter your app's client id here",
            "<GITHUB_CLIENT_ID>",
            "<Client_id>",
            "{{client_id}}",
            "xxx",
            "xxxxxxxxxxxxx",
            "CLIENT_IDXXXXXXXXXXXXXXXX",
            "replace_your_client_id",
            "client_secret",
            "TODO",
            "\\",
        ] {
            assert_eq!(
                Credential::of(placeholder),
                Credential::Placeholder,
                "{placeholder}"
            );
        }
        for literal in [
            "demo-client",
            "redacted-client-id",
            "Iv1.8a61f9b3a7aba766",
            "1000.ABCDEF123",
            "f7eb56ad6d0b37f12afb3c006cce5d5a815b39bb00d02a351ec9f69d527cd020",
        ] {
            assert_eq!(Credential::of(literal), Credential::Literal, "{literal}");
        }
        assert_eq!(Credential::of("  "), Credential::Empty);
        assert_eq!(
            Credential::of("<%= oauth_iparams.client_id || 'xxx' %>"),
            Credential::OAuthIparams
        );
        assert_eq!(
            Credential::of("<%= iparam.client_id %>"),
            Credential::Template
        );
    }
}
