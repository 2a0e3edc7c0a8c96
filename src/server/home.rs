//! `GET /`: the home page. It is a list of panels, each its own template
//! `assets/pages/home_<name>.hbs` rendered with the data of its own function below: the app's
//! validation state, the setup steps, and the product simulator, in which each location of the
//! manifest runs in a frame placed as in its product beside an activity panel.
//!
//! A new panel is a new template plus one line in [`home`].

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::Shared;
use super::pages::progress::{StepState, encode as enc};
use super::pages::setup_progress;
use super::render::{self, script_json};
use super::simulator;
use crate::app::App;
use crate::kv::Kv;
use crate::store::Store;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home));
}

async fn home(
    shared: web::Data<Shared>,
    store: web::Data<Store>,
    kv: web::Data<Kv>,
) -> HttpResponse {
    let app = shared.app();
    let mut panels = vec![
        panel("validation", validation(&shared)),
        panel("setup", setup(&app, &store).await),
    ];
    if let Some(agents) = agent_integrations(&app, &store).await {
        panels.push(panel("agent_integrations", agents));
    }
    panels.push(panel("data", data(&kv).await));
    panels.push(panel(
        "events",
        json!({"installed": store.iparams().await.ok().flatten().is_some()}),
    ));
    panels.push(panel("simulator", simulator_panel(&app).await));
    let page = render::render(
        "home",
        &json!({
            "app_name": app.name,
            "platform": app.manifest.platform_version.as_deref().unwrap_or("?"),
            "panels": panels,
            "reload_hook": super::live::RELOAD_HOOK,
        }),
    )
    .unwrap_or_else(|e| {
        tracing::error!("the home page cannot be rendered: {e}");
        format!(
            "<!doctype html><title>fdk-emu</title><p>fdk-emu could not render its home page: {}</p>",
            handlebars::html_escape(&e.to_string())
        )
    });
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(page)
}

/// One panel: its template `home_<name>` rendered with `data`, or the reason it could not be.
fn panel(name: &str, data: Value) -> Value {
    let html = render::render(&format!("home_{name}"), &data).unwrap_or_else(|e| {
        tracing::error!("the home page's {name} panel cannot be rendered: {e}");
        format!(
            "<section class=\"card\"><p class=\"bad\">The {name} panel could not be rendered: {}</p></section>",
            handlebars::html_escape(&e.to_string())
        )
    });
    json!({ "name": name, "html": html })
}

/// How many keys the home page lists; the data viewer has them all.
const DATA_KEYS_SHOWN: usize = 10;

/// The keys the app stored, newest first, each a link that opens it in the data viewer.
async fn data(kv: &Kv) -> Value {
    match kv.list().await {
        Ok(mut rows) => {
            rows.sort_by_key(|r| std::cmp::Reverse(r.updated_at));
            let keys: Vec<Value> = rows
                .iter()
                .take(DATA_KEYS_SHOWN)
                .map(|r| {
                    json!({
                        "scope": r.scope,
                        "key": r.key,
                        "value": crate::term::cut(&r.value, 80),
                        "href": format!("/_fdk-emu/db?scope={}&key={}", enc(&r.scope), enc(&r.key)),
                    })
                })
                .collect();
            json!({"count": rows.len(), "keys": keys, "more": rows.len().saturating_sub(DATA_KEYS_SHOWN)})
        }
        Err(e) => json!({"error": e.to_string()}),
    }
}

fn validation(shared: &Shared) -> Value {
    let report = shared.report();
    let diagnostics: Vec<Value> = report
        .diagnostics
        .iter()
        .take(50)
        .map(|d| {
            json!({
                "where": format!("{}:{}:{}", d.file, d.line, d.column),
                "message": d.message,
            })
        })
        .collect();
    json!({
        "errors": report.errors().count(),
        "warnings": report.warnings().count(),
        "stale": shared.is_stale(),
        "diagnostics": diagnostics,
    })
}

async fn setup(app: &App, store: &Store) -> Value {
    match setup_progress(app, store).await {
        Ok(progress) => {
            let steps: Vec<Value> = progress
                .steps
                .iter()
                .map(|s| {
                    json!({
                        "url": s.url,
                        "title": s.title,
                        "done": s.state == StepState::Done,
                        "note": s.note,
                    })
                })
                .collect();
            json!({ "steps": steps })
        }
        Err(e) => json!({ "store_error": e.to_string() }),
    }
}

async fn simulator_panel(app: &App) -> Value {
    let config = simulator::config(app).await;
    json!({
        "has_locations": !app.manifest.locations.is_empty(),
        "config_json": script_json(&config),
    })
}

/// The agent-level integrations, each with an Authorize button, when the app has any.
async fn agent_integrations(app: &App, store: &Store) -> Option<Value> {
    let mut list = Vec::new();
    for i in app
        .oauth
        .iter()
        .flat_map(|o| o.integrations.values())
        .filter(|i| i.is_agent())
    {
        // Required parameters not entered yet: the handshake would stop at them.
        let entered = store.oauth_iparams(&i.name).await.ok().flatten();
        let needs_setup = i.oauth_iparams.values().any(|p| {
            let value = entered.as_ref().and_then(|e| e.get(&p.name));
            p.required && value.is_none_or(|v| v.as_str().is_some_and(|s| s.trim().is_empty()))
        });
        list.push(json!({
            "name": i.name,
            "display_name": i.display_name,
            "needs_setup": needs_setup,
            "setup_url": format!("/oauth_iparams?integration={}", enc(&i.name)),
        }));
    }
    (!list.is_empty()).then(|| json!({"app": app.name, "integrations": list}))
}
