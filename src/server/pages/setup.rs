//! `GET /custom_configs`: the entry of the setup flow, and the authorization step page.

use actix_web::{HttpResponse, get, web};
use serde_json::json;

use super::progress::{encode, find_account_integration};
use super::render::{page, with};
use super::{IntegrationQuery, PageError, page_context};
use crate::server::Shared;
use crate::store::Store;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(entry).service(authorize);
}

/// Sends the browser to the first step not done, or to the installation page.
#[get("/custom_configs")]
async fn entry(
    shared: web::Data<Shared>,
    store: web::Data<Store>,
) -> Result<HttpResponse, PageError> {
    let app = shared.app();
    let progress = super::setup_progress(&app, &store).await?;
    let target = progress
        .next
        .unwrap_or_else(|| "/custom_configs/install".to_string());
    Ok(HttpResponse::Found()
        .insert_header(("Location", target))
        .insert_header(("Cache-Control", "no-store"))
        .finish())
}

/// The authorization step of one integration: explains the redirect URI and links to the
/// handshake (`/auth/index`, served by the OAuth module).
#[get("/custom_configs/authorize")]
async fn authorize(
    shared: web::Data<Shared>,
    store: web::Data<Store>,
    q: web::Query<IntegrationQuery>,
) -> Result<HttpResponse, PageError> {
    let app = shared.app();
    let integration =
        find_account_integration(&app, q.integration.as_deref()).map_err(PageError::NotFound)?;
    let name = integration.name.clone();
    let label = integration.display_name.clone();
    let id = format!("authorize:{name}");
    let ctx = page_context(&app, &store, &format!("Authorize {label}"), Some(&id)).await?;
    let status = store.oauth_status(&name).await?;
    let authorized = store.is_authorized(&name).await?;
    let notice = authorized.then(|| {
        json!({"kind": "ok", "text": format!("{label} is authorized. Authorize again to replace the stored token.")})
    });
    let ctx = with(
        ctx,
        json!({
            "intro": "Account-level OAuth: fdk-emu keeps the token and uses it for the app's requests.",
            "integration_label": label,
            "redirect_uri": shared.config.redirect_uri(),
            "auth_url": format!("/auth/index?integration={}&callback={}", encode(&name), encode("/custom_configs")),
            "needs_reauth": status.needs_reauth,
            "notice": notice,
        }),
    );
    page("authorize", &ctx)
}
