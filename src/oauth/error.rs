//! Errors of the OAuth layer, worded for the developer: which integration, what happened,
//! and where to fix it. None of them ever holds a token or a client secret.

/// Why no access token can be had for an integration. Returned by
/// [`TokenManager`](super::TokenManager) to the request layer, which shows it in FDK's error
/// envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error(
        "the OAuth integration \"{integration}\" is not authorized yet: open {setup_url} and complete the authorization step, then send the request again"
    )]
    NotAuthorized {
        integration: String,
        setup_url: String,
    },
    #[error(
        "the OAuth integration \"{integration}\" needs to be authorized again ({reason}): open {setup_url} to re-authorize it"
    )]
    NeedsReauthorization {
        integration: String,
        reason: String,
        setup_url: String,
    },
    /// The provider could not be reached or answered with a server error; the stored tokens
    /// are kept and the next request tries again.
    #[error(
        "the access token of the OAuth integration \"{integration}\" could not be refreshed right now: {message}. The stored tokens were kept; try again"
    )]
    Transient {
        integration: String,
        message: String,
    },
    #[error(
        "the app has no OAuth integration \"{integration}\" in config/oauth_config.json{}",
        known_list(known)
    )]
    UnknownIntegration {
        integration: String,
        known: Vec<String>,
    },
    /// The integration's configuration cannot be used as it is (a template in
    /// oauth_config.json that does not render, a missing client ID, an agent-level
    /// integration asked for a server-side token, a store that cannot be read).
    #[error("the OAuth integration \"{integration}\" cannot be used: {message}")]
    Setup {
        integration: String,
        message: String,
    },
}

fn known_list(known: &[String]) -> String {
    if known.is_empty() {
        " (the file has none; add it, or remove options.oauth from the template)".to_string()
    } else {
        format!(" (it has: {})", known.join(", "))
    }
}

impl TokenError {
    pub fn integration(&self) -> &str {
        match self {
            TokenError::NotAuthorized { integration, .. }
            | TokenError::NeedsReauthorization { integration, .. }
            | TokenError::Transient { integration, .. }
            | TokenError::UnknownIntegration { integration, .. }
            | TokenError::Setup { integration, .. } => integration,
        }
    }
}
