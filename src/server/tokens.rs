//! The token panel: per OAuth integration, whether it is authorized, the token's type,
//! scopes, expiry (with a countdown), the last refresh and how it ended, and the actions
//! **Refresh now**, **Expire now**, **Revoke** and **Re-authorize**.
//!
//! * `GET /_fdk-emu/oauth`: the page (`assets/pages/tokens.hbs`);
//! * `POST /_fdk-emu/oauth/{refresh|expire|revoke}` with the integration in the form, the
//!   JSON body (`{"integration": NAME}`) or the query; without one, the app's only
//!   integration. A form gets the page back (303); a JSON caller (`fdk-emu oauth …`) gets
//!   `{ok, action, integration, message}`. Re-authorize is `/auth/index?integration=NAME`.
//!
//! Writes come from our own pages or from tools without an `Origin` (the command line): the
//! CORS middleware refuses them from any other site ([`super::cors`]).

use actix_web::http::{StatusCode, header};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::Shared;
use super::pages::see_other;
use super::render;
use crate::oauth::{Expired, RefreshError, TokenError, TokenManager, resolve};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/_fdk-emu/oauth", web::get().to(page))
        .route("/_fdk-emu/oauth/{action}", web::post().to(action));
}

/// A panel action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Refresh,
    Expire,
    Revoke,
}

impl Action {
    fn parse(s: &str) -> Option<Action> {
        match s {
            "refresh" => Some(Action::Refresh),
            "expire" => Some(Action::Expire),
            "revoke" => Some(Action::Revoke),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Action::Refresh => "refresh",
            Action::Expire => "expire",
            Action::Revoke => "revoke",
        }
    }
}

#[derive(Debug, serde::Deserialize)]
struct PageQuery {
    done: Option<String>,
    integration: Option<String>,
    expired: Option<String>,
}

async fn page(
    shared: web::Data<Shared>,
    tokens: web::Data<TokenManager>,
    q: web::Query<PageQuery>,
) -> HttpResponse {
    let app = shared.app();
    // The notice is built from known words only: nothing from the query is shown as is.
    let notice = match (
        q.done.as_deref().and_then(Action::parse),
        q.integration.as_deref().and_then(|n| {
            app.oauth
                .as_ref()
                .and_then(|o| o.integrations.get_key_value(n))
                .map(|(k, _)| k.as_str())
        }),
    ) {
        (Some(a), Some(name)) => Some((
            "ok",
            done_message(a, name, q.expired.as_deref() == Some("no-refresh-token")),
        )),
        _ => None,
    };
    panel(&app, &tokens, StatusCode::OK, notice).await
}

/// The panel, with a notice (`ok` or `error`) above the integrations.
async fn panel(
    app: &crate::app::App,
    tokens: &TokenManager,
    status: StatusCode,
    notice: Option<(&str, String)>,
) -> HttpResponse {
    let integrations = tokens.status(app).await;
    let list: Vec<Value> = integrations
        .iter()
        .map(|i| {
            let agent = i.token_type == Some(crate::app::TokenType::Agent);
            json!({
                "name": i.name,
                "display_name": i.display_name,
                "level": if agent { "agent" } else { "account" },
                "agent": agent,
                "authorized": i.authorized.unwrap_or(false),
                "needs_reauth": i.needs_reauth,
                "reason": i.reason,
                "access_token_type": i.access_token_type,
                "scopes": i.scope.as_deref().map(|s| s.split_whitespace().collect::<Vec<_>>()),
                "expires_at": i.expires_at,
                "has_refresh_token": i.has_refresh_token,
                "obtained_at": i.obtained_at,
                "last_refresh_at": i.last_refresh.as_ref().map(|l| l.at).or(i.last_refresh_at),
                "last_refresh": i.last_refresh,
                "authorize_url": i.authorize_url,
            })
        })
        .collect();
    let html = render::render(
        "tokens",
        &json!({
            "app_name": app.name,
            "integrations": list,
            "has_oauth": app.oauth.is_some(),
            "notice": notice.map(|(kind, text)| json!({"kind": kind, "text": text})),
            "now": crate::oauth::manager::unix_now(),
        }),
    )
    .unwrap_or_else(|e| {
        tracing::error!("the token panel cannot be rendered: {e}");
        format!(
            "<!doctype html><title>fdk-emu</title><p>fdk-emu could not render the token panel: {}</p>",
            handlebars::html_escape(&e.to_string())
        )
    });
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(html)
}

fn done_message(a: Action, integration: &str, no_refresh_token: bool) -> String {
    match a {
        Action::Refresh => format!("The access token of {integration} was refreshed."),
        Action::Expire if no_refresh_token => format!(
            "The access token of {integration} is marked expired. The provider gave no refresh token: the next call sends the expired token, and if the API refuses it, {integration} needs re-authorization."
        ),
        Action::Expire => format!(
            "The access token of {integration} is marked expired: the next call refreshes it first (see it in the inspector)."
        ),
        Action::Revoke => {
            format!("The tokens of {integration} are forgotten; it needs re-authorization.")
        }
    }
}

/// Whether the caller wants JSON (the command line) rather than a page (a form).
fn wants_json(req: &HttpRequest) -> bool {
    let says = |h: header::HeaderName| {
        req.headers()
            .get(h)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("application/json"))
    };
    says(header::ACCEPT) || says(header::CONTENT_TYPE)
}

/// The integration named by the form, the JSON body or the query.
fn requested(req: &HttpRequest, body: &[u8]) -> Option<String> {
    if let Ok(v) = serde_json::from_slice::<Value>(body)
        && let Some(n) = v.get("integration").and_then(Value::as_str)
    {
        return Some(n.to_string());
    }
    let from_form = url::form_urlencoded::parse(body)
        .find(|(k, _)| k == "integration")
        .map(|(_, v)| v.into_owned());
    from_form.or_else(|| {
        url::form_urlencoded::parse(req.query_string().as_bytes())
            .find(|(k, _)| k == "integration")
            .map(|(_, v)| v.into_owned())
    })
}

async fn action(
    req: HttpRequest,
    path: web::Path<String>,
    body: Bytes,
    shared: web::Data<Shared>,
    tokens: web::Data<TokenManager>,
) -> HttpResponse {
    let json = wants_json(&req);
    let app = shared.app();
    let fail = async |status: StatusCode, message: String| {
        if json {
            HttpResponse::build(status).json(json!({"ok": false, "message": message}))
        } else {
            panel(&app, &tokens, status, Some(("error", message))).await
        }
    };
    let Some(action) = Action::parse(&path) else {
        return fail(
            StatusCode::NOT_FOUND,
            format!(
                "`{}` is not a token action: use refresh, expire or revoke",
                crate::inspect::text::clean(&path, 64)
            ),
        )
        .await;
    };
    let name = match which(&app, requested(&req, &body).as_deref()) {
        Ok(n) => n,
        Err(m) => return fail(StatusCode::BAD_REQUEST, m).await,
    };
    let result: Result<Option<Expired>, (StatusCode, String)> = match action {
        Action::Refresh => {
            if let Err(e) = account_level(&app, &name) {
                Err(e)
            } else {
                tokens
                    .refresh_now(&app, &name)
                    .await
                    .map(|()| None)
                    .map_err(|e| refresh_failure(&name, &e))
            }
        }
        Action::Expire => tokens
            .expire_now(&app, &name)
            .await
            .map(Some)
            .map_err(|e| token_failure(&e)),
        Action::Revoke => tokens
            .revoke(&app, &name)
            .await
            .map(|()| None)
            .map_err(|e| token_failure(&e)),
    };
    match result {
        Err((status, message)) => fail(status, message).await,
        Ok(expired) => {
            let no_refresh = expired == Some(Expired::NoRefreshToken);
            if json {
                HttpResponse::Ok().json(json!({
                    "ok": true,
                    "action": action.name(),
                    "integration": name,
                    "message": done_message(action, &name, no_refresh),
                }))
            } else {
                let mut to = format!(
                    "/_fdk-emu/oauth?done={}&integration={}",
                    action.name(),
                    resolve::enc(&name)
                );
                if no_refresh {
                    to.push_str("&expired=no-refresh-token");
                }
                see_other(&to)
            }
        }
    }
}

/// The integration an action is for: the one named, or else the app's only account-level
/// one (agent-level tokens are not the server's to act on).
fn which(app: &crate::app::App, requested: Option<&str>) -> Result<String, String> {
    if let Some(name) = requested.filter(|n| !n.is_empty()) {
        return resolve::integration_name(app, Some(name)).map_err(|e| e.to_string());
    }
    let Some(oauth) = app.oauth.as_ref() else {
        return Err(resolve::ResolveError::NoOAuth.to_string());
    };
    let account: Vec<&String> = oauth
        .integrations
        .iter()
        .filter(|(_, i)| !i.is_agent())
        .map(|(n, _)| n)
        .collect();
    match account.as_slice() {
        [only] => Ok((*only).clone()),
        [] => Err(
            "the app's OAuth integrations are all agent-level: their tokens live in the browser, not in fdk-emu".into(),
        ),
        several => Err(format!(
            "config/oauth_config.json has several account-level integrations ({}): name one (`--integration NAME` on the command line)",
            several.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
        )),
    }
}

/// Refreshing is for account-level integrations, whose tokens the server holds.
fn account_level(app: &crate::app::App, name: &str) -> Result<(), (StatusCode, String)> {
    let agent = app
        .oauth
        .as_ref()
        .and_then(|o| o.integrations.get(name))
        .is_some_and(|i| i.is_agent());
    if agent {
        return Err((
            StatusCode::BAD_REQUEST,
            format!(
                "the OAuth integration \"{name}\" is agent-level (token_type \"agent\"): its tokens live in the browser, which refreshes them through /dprouter"
            ),
        ));
    }
    Ok(())
}

fn token_failure(e: &TokenError) -> (StatusCode, String) {
    let status = match e {
        TokenError::Transient { .. } => StatusCode::SERVICE_UNAVAILABLE,
        TokenError::NotAuthorized { .. } | TokenError::NeedsReauthorization { .. } => {
            StatusCode::CONFLICT
        }
        TokenError::UnknownIntegration { .. } | TokenError::Setup { .. } => StatusCode::BAD_REQUEST,
    };
    (status, e.to_string())
}

fn refresh_failure(name: &str, e: &RefreshError) -> (StatusCode, String) {
    let status = match e {
        RefreshError::NotAuthorized { .. } | RefreshError::NoRefreshToken => StatusCode::CONFLICT,
        RefreshError::Resolve(_) => StatusCode::BAD_REQUEST,
        RefreshError::Endpoint(_) => StatusCode::BAD_GATEWAY,
        RefreshError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    (
        status,
        format!("the access token of \"{name}\" could not be refreshed: {e}"),
    )
}
