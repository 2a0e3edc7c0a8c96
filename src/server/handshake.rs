//! The OAuth handshake's HTTP surface: `GET /auth/index` sends the browser to the provider,
//! `GET /auth/callback` takes the code back and exchanges it for tokens.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::Shared;
use super::origin::{self, OriginKind};
use super::render::{self, ErrorPage};
use crate::oauth::client::EndpointError;
use crate::oauth::resolve::{self, ResolveError};
use crate::oauth::state::{Pending, Started, StateError};
use crate::oauth::{RefreshError, TokenManager};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/auth/index", web::get().to(auth_index))
        .route("/auth/callback", web::get().to(auth_callback));
}

pub(super) fn query(req: &HttpRequest) -> HashMap<String, String> {
    url::form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .collect()
}

/// The page to return to after the handshake: a path on this server only (never another
/// site: an open redirect would let any page bounce the developer's browser through us).
///
/// The value is read the way a browser reads a `Location`: as a URL relative to our own
/// origin (`http://localhost:PORT`), with the WHATWG parser, which drops tabs and line
/// breaks and reads `\` as `/`. It is kept only when the result has our origin, and then as
/// its normalised path and query, with leading slashes folded into one: `//evil.example`,
/// `/\evil.example`, `/%09/evil.example` and `http://localhost:PORT//evil.example` all name
/// another host to a browser, and none survives this. What comes out is ASCII without
/// control characters, so it is always a valid `Location` header.
fn return_to(callback: Option<&str>, shared: &Shared) -> String {
    const DEFAULT: &str = "/custom_configs";
    let Some(cb) = callback.map(str::trim).filter(|c| !c.is_empty()) else {
        return DEFAULT.to_string();
    };
    let Ok(base) = url::Url::parse(&shared.config.base_url()) else {
        return DEFAULT.to_string();
    };
    let Ok(target) = base.join(cb) else {
        return DEFAULT.to_string();
    };
    let origin = target.origin().ascii_serialization();
    if origin::classify(&origin, &shared.config) != OriginKind::Own {
        return DEFAULT.to_string();
    }
    let mut path = format!("/{}", target.path().trim_start_matches('/'));
    if let Some(q) = target.query() {
        path.push('?');
        path.push_str(q);
    }
    path
}

/// Whether the browser vouches that the developer started this handshake: it came from one
/// of our pages or straight from the address bar (see [`Started`]).
fn started_by(req: &HttpRequest) -> Started {
    let site = req
        .headers()
        .get("sec-fetch-site")
        .map(|v| v.as_bytes().to_ascii_lowercase());
    match site.as_deref() {
        Some(b"same-origin" | b"none") => Started::ByDeveloper,
        _ => Started::Unvouched,
    }
}

fn retry_url(integration: &str, return_to: &str) -> String {
    format!(
        "/auth/index?integration={}&callback={}",
        resolve::enc(integration),
        resolve::enc(return_to)
    )
}

fn resolve_error_page(e: &ResolveError, return_to: &str) -> HttpResponse {
    let status = match e {
        ResolveError::Unknown { .. } | ResolveError::NoOAuth => StatusCode::NOT_FOUND,
        ResolveError::Store { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    ErrorPage {
        status,
        title: "The authorization cannot start",
        message: format!("{e}."),
        hint: None,
        retry_url: e.integration().map(|i| retry_url(i, return_to)),
        provider_error: None,
    }
    .render()
}

/// `GET /auth/index?integration=NAME[&callback=PATH]`: 302 to the provider.
async fn auth_index(
    req: HttpRequest,
    shared: web::Data<Shared>,
    tm: web::Data<TokenManager>,
) -> HttpResponse {
    let q = query(&req);
    let back = return_to(q.get("callback").map(String::as_str), &shared);
    let app = shared.app();
    let name = match resolve::integration_name(&app, q.get("integration").map(String::as_str)) {
        Ok(n) => n,
        Err(e) => return resolve_error_page(&e, &back),
    };
    let resolved = match tm.resolve(&app, &name).await {
        Ok(r) => r,
        Err(e) => return resolve_error_page(&e, &back),
    };
    let state = tm.states.issue(
        Pending {
            integration: name.clone(),
            return_to: back,
            agent: resolved.agent,
        },
        started_by(&req),
    );
    let url = crate::oauth::authorize::authorize_url(
        &resolved.authorize_url,
        &resolved.options,
        &resolved.endpoint.client_id,
        &tm.config().redirect_uri(),
        &state,
    );
    tracing::info!(integration = %name, "starting the OAuth handshake");
    HttpResponse::Found()
        .insert_header(("Location", url.as_str()))
        .insert_header(("Cache-Control", "no-store"))
        .finish()
}

fn state_error_page(e: StateError) -> HttpResponse {
    let (title, hint) = match e {
        StateError::Missing => (
            "The callback has no state",
            "Open /custom_configs and start the authorization from there; the provider must send back the state it was given.",
        ),
        StateError::Unknown => (
            "Unknown authorization state",
            "This callback was not started by this server (it may be forged, or fdk-emu was restarted since). No token was requested. Start the authorization again.",
        ),
        StateError::Expired => (
            "The authorization took too long",
            "An authorization must finish within 10 minutes of starting it. No token was requested. Start it again.",
        ),
        StateError::Reused => (
            "This authorization was already completed",
            "Each callback URL works once (it was reloaded, or opened twice). No token was requested. If the integration is not authorized, start again.",
        ),
    };
    ErrorPage {
        status: StatusCode::BAD_REQUEST,
        title,
        message: format!("Refused: {e}."),
        hint: Some(hint.to_string()),
        retry_url: None,
        provider_error: None,
    }
    .render()
}

/// `GET /auth/callback?code=…&state=…` (or `?error=…`).
async fn auth_callback(
    req: HttpRequest,
    shared: web::Data<Shared>,
    tm: web::Data<TokenManager>,
) -> HttpResponse {
    let q = query(&req);
    let pending = match tm.states.take(q.get("state").map(String::as_str)) {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!("OAuth callback refused: {e}");
            return state_error_page(e);
        }
    };
    let retry = retry_url(&pending.integration, &pending.return_to);
    if let Some(error) = q.get("error") {
        return ErrorPage {
            status: StatusCode::BAD_REQUEST,
            title: "The provider did not authorize the app",
            message: format!(
                "The provider answered the authorization of \"{}\" with an error.",
                pending.integration
            ),
            hint: Some("Check the client ID, the scopes (options.scope) and that http://localhost:PORT/auth/callback is registered as redirect URI with the provider, then try again.".replace("http://localhost:PORT/auth/callback", &tm.config().redirect_uri())),
            retry_url: Some(retry),
            provider_error: Some((
                error.clone(),
                q.get("error_description").cloned(),
                q.get("error_uri").cloned(),
            )),
        }
        .render_for_opener(opener_error(&pending, error).as_ref());
    }
    let Some(code) = q.get("code").filter(|c| !c.is_empty()) else {
        return ErrorPage {
            status: StatusCode::BAD_REQUEST,
            title: "The callback has no code",
            message: "The provider redirected back without an authorization code or an error."
                .into(),
            hint: None,
            retry_url: Some(retry),
            provider_error: None,
        }
        .render();
    };
    let app = shared.app();
    let resolved = match tm.resolve(&app, &pending.integration).await {
        Ok(r) => r,
        Err(e) => return resolve_error_page(&e, &pending.return_to),
    };
    match tm.exchange_code(&resolved, code).await {
        Ok(tokens) if pending.agent => {
            let message = json!({
                "type": "agent_oauth_handshake",
                "integration": pending.integration,
                "tokens": {
                    "access_token": tokens.access_token,
                    "refresh_token": tokens.refresh_token,
                },
            });
            render::sealed_page(
                StatusCode::OK,
                "agent_landing",
                &json!({
                    "display_name": resolved.display_name,
                    "message_json": render::script_json(&message),
                }),
            )
        }
        Ok(_) => HttpResponse::Found()
            .insert_header(("Location", pending.return_to.as_str()))
            .insert_header(("Cache-Control", "no-store"))
            .finish(),
        Err(e) => {
            tracing::warn!(
                integration = %pending.integration,
                "code exchange failed: {}",
                crate::term::cut(&e.to_string(), 500)
            );
            let provider_error = match &e {
                RefreshError::Endpoint(EndpointError::Provider {
                    error: Some(err),
                    description,
                    ..
                }) => Some((err.clone(), description.clone(), None)),
                _ => None,
            };
            ErrorPage {
                status: StatusCode::BAD_GATEWAY,
                title: "The token request failed",
                message: format!(
                    "The code of \"{}\" could not be exchanged for tokens: {e}.",
                    pending.integration
                ),
                hint: Some(format!(
                    "Check token_url and the client ID and secret (config/oauth_config.json, or {}/oauth_configs?integration={}).",
                    tm.config().base_url(),
                    resolve::enc(&pending.integration)
                )),
                retry_url: Some(retry),
                provider_error,
            }
            .render_for_opener(opener_error(&pending, &e.to_string()).as_ref())
        }
    }
}

/// For agent-level popups: the failure message for the opener (`error.message`, the shape
/// the client script expects).
fn opener_error(pending: &Pending, message: &str) -> Option<Value> {
    pending.agent.then(|| {
        json!({
            "type": "agent_oauth_handshake",
            "integration": pending.integration,
            "error": {"message": format!("authorizing \"{}\" failed: {message}", pending.integration)},
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared() -> Shared {
        let config = crate::config::Config::for_tests(10001);
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/apps/demo");
        let loaded = crate::app::load(&root).expect("demo app");
        let snapshot = crate::snapshot::Snapshot::new(loaded.app, Default::default());
        Shared::new(config, std::sync::Arc::new(snapshot))
    }

    #[test]
    fn return_pages_stay_on_this_server() {
        let s = shared();
        assert_eq!(return_to(None, &s), "/custom_configs");
        assert_eq!(
            return_to(Some("/custom_configs?x=1"), &s),
            "/custom_configs?x=1"
        );
        assert_eq!(
            return_to(
                Some("http://localhost:10001/custom_configs?product=freshdesk"),
                &s
            ),
            "/custom_configs?product=freshdesk"
        );
        assert_eq!(
            return_to(Some("https://evil.test/x"), &s),
            "/custom_configs"
        );
        assert_eq!(return_to(Some("//evil.test/x"), &s), "/custom_configs");
        assert_eq!(return_to(Some("/\\evil.test"), &s), "/custom_configs");
        assert_eq!(
            return_to(Some("http://localhost:9999/x"), &s),
            "/custom_configs"
        );
    }

    /// Each of these reads as another host to a browser when sent back as `Location`; and
    /// line breaks must never reach the header (it made the callback answer 500).
    #[test]
    fn no_target_leads_a_browser_elsewhere() {
        let s = shared();
        for cb in [
            "http://localhost:10001//evil.example",
            "http://localhost:10001/\\evil.example",
            "http://localhost:10001/%5Cevil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "\\/evil.example",
            "/ /evil.example",
            "http://127.0.0.1:10001///evil.example/x?y=1",
        ] {
            let back = return_to(Some(cb), &s);
            assert!(
                back.starts_with('/') && !back.starts_with("//"),
                "{cb:?} -> {back:?}"
            );
            let Ok(resolved) =
                url::Url::parse("http://localhost:10001").and_then(|b| b.join(&back))
            else {
                panic!("{back:?} is no URL");
            };
            assert_eq!(resolved.host_str(), Some("localhost"), "{cb:?} -> {back:?}");
            assert!(
                actix_web::http::header::HeaderValue::from_str(&back).is_ok(),
                "{cb:?} -> {back:?}"
            );
        }
        assert_eq!(
            return_to(Some("/custom_configs?a=%0a"), &s),
            "/custom_configs?a=%0a"
        );
    }
}
