//! Which setup steps an app needs and which are done, in FDK's order: system settings, then
//! per integration its client credentials (unless the file takes them from `oauth_iparams`;
//! for an agent-level one only when the file lacks them), its oauth_iparams (when it has
//! any) and, for an account-level one, its authorization; then the installation page.
//! Agents authorize agent-level integrations themselves, from the home page.
//!
//! Used by `/custom_configs` (go to the first step not done), by the step navigation of every
//! page, and by `/api/status`.

use serde::Serialize;

use crate::app::{App, Generation, Integration};
use crate::store::{Store, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    SystemSettings,
    /// Named like its page and its step id (`oauth_config:NAME`), not `o_auth_config`.
    #[serde(rename = "oauth_config")]
    OAuthConfig,
    #[serde(rename = "oauth_iparams")]
    OAuthIparams,
    Authorize,
    Install,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    Done,
    Todo,
}

#[derive(Debug, Clone, Serialize)]
pub struct SetupStep {
    /// Stable id, e.g. `system_settings`, `oauth_config:github`, `install`.
    pub id: String,
    pub kind: StepKind,
    pub integration: Option<String>,
    pub title: String,
    /// Where the step's page is.
    pub url: String,
    pub state: StepState,
    /// Why the step is not done, when there is more to say than "not yet".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SetupProgress {
    pub steps: Vec<SetupStep>,
    /// Every step done.
    pub complete: bool,
    /// The page of the first step not done.
    pub next: Option<String>,
}

pub fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Integrations whose tokens the server keeps (account level), in file order.
pub fn account_integrations(app: &App) -> Vec<&Integration> {
    app.oauth
        .as_ref()
        .map(|o| o.integrations.values().filter(|i| !i.is_agent()).collect())
        .unwrap_or_default()
}

/// The account-level integration a setup page is about: the one named in the query, or the
/// first when none is named.
pub fn find_account_integration<'a>(
    app: &'a App,
    name: Option<&str>,
) -> Result<&'a Integration, String> {
    let list = account_integrations(app);
    let found = match name {
        Some(n) => list.iter().find(|i| i.name == n),
        None => list.first(),
    };
    found.copied().ok_or_else(|| match (name, list.is_empty()) {
        (_, true) => "config/oauth_config.json has no account-level integration, so there is nothing to authorize here".to_string(),
        (Some(n), false) => format!(
            "config/oauth_config.json has no account-level integration named {n:?} (it has: {})",
            list.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join(", ")
        ),
        (None, false) => unreachable!("a non-empty list has a first"),
    })
}

/// The integration, of either level, whose client or parameters page is asked for: the one
/// named, or the first when none is named.
pub fn find_integration<'a>(app: &'a App, name: Option<&str>) -> Result<&'a Integration, String> {
    let all: Vec<&Integration> = app
        .oauth
        .as_ref()
        .map(|o| o.integrations.values().collect())
        .unwrap_or_default();
    let found = match name {
        Some(n) => all.iter().find(|i| i.name == n),
        None => all.first(),
    };
    found.copied().ok_or_else(|| match name {
        _ if all.is_empty() => {
            "the app has no OAuth integration (no config/oauth_config.json)".to_string()
        }
        Some(n) => format!(
            "config/oauth_config.json has no integration named {n:?} (it has: {})",
            all.iter()
                .map(|i| i.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => unreachable!("a non-empty list has a first"),
    })
}

/// What the system settings step asks for, if anything: the 3.x modules, or the 2.x
/// products when there are several to choose from.
pub fn needs_system_settings(app: &App) -> bool {
    match app.manifest.generation {
        Generation::V3 => !app.manifest.modules.is_empty(),
        Generation::V2 => app.manifest.modules.len() > 1,
    }
}

/// The setup steps of `app` and their state in `store`.
pub async fn setup_progress(app: &App, store: &Store) -> Result<SetupProgress, StoreError> {
    let mut steps = Vec::new();
    let state = |done: bool| {
        if done {
            StepState::Done
        } else {
            StepState::Todo
        }
    };
    if needs_system_settings(app) {
        let done = store.system_settings().await?.is_some();
        steps.push(SetupStep {
            id: "system_settings".into(),
            kind: StepKind::SystemSettings,
            integration: None,
            title: match app.manifest.generation {
                Generation::V3 => "System settings".into(),
                Generation::V2 => "Product".into(),
            },
            url: "/system_settings".into(),
            state: state(done),
            note: None,
        });
    }
    let integrations = app.oauth.iter().flat_map(|o| o.integrations.values());
    for integration in integrations {
        let name = &integration.name;
        let q = encode(name);
        let label = &integration.display_name;
        let agent = integration.is_agent();
        // Written out in the file: the page only overrides them, so the step is done. Taken
        // from oauth_iparams: the parameters page asks for them, so there is no step.
        let from_file = !integration.needs_client_page();
        let client_step = if agent {
            !from_file
        } else {
            !integration.credentials_from_oauth_iparams()
        };
        if client_step {
            let stored = store.credentials(name).await?.is_some();
            steps.push(SetupStep {
                id: format!("oauth_config:{name}"),
                kind: StepKind::OAuthConfig,
                integration: Some(name.clone()),
                title: format!("{label}: client"),
                url: format!("/oauth_configs?integration={q}"),
                state: state(stored || from_file),
                note: None,
            });
        }
        if !integration.oauth_iparams.is_empty() {
            let values = store.oauth_iparams(name).await?;
            let done = values.as_ref().is_some_and(|v| {
                integration.oauth_iparams.values().all(|p| {
                    !p.required
                        || v.get(&p.name)
                            .is_some_and(|x| !x.as_str().is_some_and(|s| s.trim().is_empty()))
                })
            });
            steps.push(SetupStep {
                id: format!("oauth_iparams:{name}"),
                kind: StepKind::OAuthIparams,
                integration: Some(name.clone()),
                title: format!("{label}: parameters"),
                url: format!("/oauth_iparams?integration={q}"),
                state: state(done),
                note: None,
            });
        }
        if agent {
            continue;
        }
        let done = store.is_authorized(name).await?;
        let status = store.oauth_status(name).await?;
        steps.push(SetupStep {
            id: format!("authorize:{name}"),
            kind: StepKind::Authorize,
            integration: Some(name.clone()),
            title: format!("{label}: authorize"),
            url: format!("/custom_configs/authorize?integration={q}"),
            state: state(done),
            note: status
                .needs_reauth
                .map(|r| format!("needs authorizing again: {r}")),
        });
    }
    if app.iparams.has_iparams() {
        let done = store.iparams().await?.is_some();
        steps.push(SetupStep {
            id: "install".into(),
            kind: StepKind::Install,
            integration: None,
            title: "Installation".into(),
            url: "/custom_configs/install".into(),
            state: state(done),
            note: None,
        });
    }
    let next = steps
        .iter()
        .find(|s| s.state == StepState::Todo)
        .map(|s| s.url.clone());
    Ok(SetupProgress {
        complete: next.is_none(),
        next,
        steps,
    })
}
