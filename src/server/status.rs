//! `GET /api/status`: the app, its validation state, setup and OAuth state and the Node
//! worker's, as JSON. Never a secret.

use actix_web::{HttpResponse, get, web};
use serde_json::json;

use super::Shared;
use crate::store::Store;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(status);
}

#[get("/api/status")]
async fn status(
    shared: web::Data<Shared>,
    store: web::Data<Store>,
    tokens: web::Data<crate::oauth::TokenManager>,
    serverless: Option<web::Data<crate::serverless::Runtime>>,
) -> HttpResponse {
    let app = shared.app();
    // Per OAuth integration: authorized, expiry, last refresh, needs re-authorization.
    let integrations = tokens.status(&app).await;
    // Setup progress holds no secret: step names, pages and done/todo.
    let setup = match super::pages::setup_progress(&app, &store).await {
        Ok(p) => serde_json::to_value(p).unwrap_or_default(),
        Err(e) => json!({"error": e.to_string()}),
    };
    let report = shared.report();
    HttpResponse::Ok().json(json!({
        "app": app.name,
        "platform_version": app.manifest.platform_version,
        "templates": app.templates.keys().collect::<Vec<_>>(),
        "serving": if shared.is_stale() { "last good snapshot (the files on disk have errors)" } else { "current files" },
        "setup": setup,
        "integrations": integrations,
        // The Node worker of server/server.js: running (with its exports), starting, or down
        // and why.
        "serverless": serverless.map(|s| s.status()),
        "validation": {
            "valid": !report.has_errors(),
            "errors": report.errors().count(),
            "warnings": report.warnings().count(),
            "diagnostics": report.diagnostics,
        },
    }))
}
