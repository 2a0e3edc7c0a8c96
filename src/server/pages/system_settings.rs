//! `/system_settings`: platform 3.x apps choose the modules to test and enter the account
//! URL of each; 2.x apps with several products choose one. Stored as
//! `{"subscribed_modules": [..], "endpoint_urls": {"<module>": "<url>"}}` (3.x) or
//! `{"product": "<name>"}` (2.x).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, web};
use indexmap::IndexMap;
use serde_json::{Map, Value, json};

use super::render::{page_with_status, with};
use super::{PageError, form_pairs, form_value, page_context, see_other};
use crate::app::Generation;
use crate::server::Shared;
use crate::store::Store;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(show)
        .service(web::resource("/system_settings").route(web::post().to(submit)));
}

fn view(
    name: &str,
    label: &str,
    help: &str,
    kind: &str,
    extra: Value,
    error: Option<&String>,
) -> Value {
    with(
        json!({
            "name": name,
            "id": super::field_id(name),
            "label": label,
            "help": help,
            "kind": kind,
            "error": error,
        }),
        extra,
    )
}

async fn render(
    shared: &Shared,
    store: &Store,
    current: &Map<String, Value>,
    errors: &IndexMap<String, String>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let app = shared.app();
    let ctx = page_context(&app, store, "System settings", Some("system_settings")).await?;
    let modules: Vec<String> = app
        .manifest
        .modules
        .iter()
        .map(|m| m.name.clone())
        .collect();
    let mut fields = Vec::new();
    let intro;
    match app.manifest.generation {
        Generation::V3 => {
            intro = "Choose the modules to test and the account URL of each, as the product would pass them to the app (currentHost).";
            let chosen: Vec<String> = current
                .get("subscribed_modules")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_else(|| modules.clone());
            let choices: Vec<Value> = modules
                .iter()
                .map(|m| json!({"value": m, "checked": chosen.contains(m)}))
                .collect();
            fields.push(view(
                "modules",
                "Modules to test",
                "The manifest's modules. The app's locations and events of the chosen modules are active.",
                "multiselect",
                json!({"group": true, "input_type": "checkbox", "choices": choices, "required": true}),
                errors.get("modules"),
            ));
            let urls = current.get("endpoint_urls").and_then(Value::as_object);
            for m in &modules {
                let key = format!("url:{m}");
                let value = urls
                    .and_then(|u| u.get(m))
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                fields.push(view(
                    &key,
                    &format!("Account URL for {m}"),
                    "The product account you test with, e.g. https://yourcompany.freshdesk.com. Needed for each chosen module.",
                    "url",
                    // Required for each chosen module (the server checks that): marked like
                    // every required field, without the browser requiring it for a module
                    // left out.
                    json!({"input_type": "url", "value": value, "placeholder": "https://yourcompany.freshdesk.com", "mark_required": true}),
                    errors.get(&key),
                ));
            }
        }
        Generation::V2 => {
            intro = "The app supports several products; choose the one to test with.";
            let chosen = current
                .get("product")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let choices: Vec<Value> = modules
                .iter()
                .map(|m| json!({"value": m, "checked": m == chosen}))
                .collect();
            fields.push(view(
                "product",
                "Product",
                "The product whose pages load the app.",
                "radio",
                json!({"group": true, "input_type": "radio", "choices": choices, "required": true}),
                errors.get("product"),
            ));
        }
    }
    let ctx = with(
        ctx,
        json!({
            "intro": intro,
            "action": "/system_settings",
            "fields": fields,
            "form_error": (!errors.is_empty()).then_some("Please correct the fields marked below."),
            "submit_label": "Save and continue",
        }),
    );
    page_with_status("form_page", &ctx, status)
}

#[get("/system_settings")]
async fn show(
    shared: web::Data<Shared>,
    store: web::Data<Store>,
) -> Result<HttpResponse, PageError> {
    let current = store
        .system_settings()
        .await?
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default();
    render(&shared, &store, &current, &IndexMap::new(), StatusCode::OK).await
}

async fn submit(
    req: HttpRequest,
    shared: web::Data<Shared>,
    store: web::Data<Store>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let body = super::read_form(&req, payload).await?;
    let app = shared.app();
    let pairs = form_pairs(&body);
    let modules: Vec<String> = app
        .manifest
        .modules
        .iter()
        .map(|m| m.name.clone())
        .collect();
    let mut errors = IndexMap::new();
    // What the form shows again when something is refused: what the user typed, valid or not.
    let mut shown = None;
    let value = match app.manifest.generation {
        Generation::V3 => {
            let chosen: Vec<String> = pairs
                .iter()
                .filter(|(k, v)| k == "modules" && modules.contains(v))
                .map(|(_, v)| v.clone())
                .collect();
            if chosen.is_empty() {
                errors.insert(
                    "modules".to_string(),
                    "Choose at least one module to test.".to_string(),
                );
            }
            let mut urls = Map::new();
            let mut typed = Map::new();
            for m in &modules {
                let key = format!("url:{m}");
                let v = form_value(&pairs, &key).unwrap_or_default();
                if v.is_empty() {
                    if chosen.contains(m) {
                        errors.insert(key, super::check::REQUIRED.to_string());
                    }
                    continue;
                }
                typed.insert(m.clone(), Value::String(v.to_string()));
                if super::check::valid_url(v) {
                    urls.insert(
                        m.clone(),
                        Value::String(v.trim_end_matches('/').to_string()),
                    );
                } else {
                    errors.insert(key, super::check::URL.to_string());
                }
            }
            shown = Some(json!({"subscribed_modules": chosen, "endpoint_urls": typed}));
            json!({"subscribed_modules": chosen, "endpoint_urls": urls})
        }
        Generation::V2 => {
            let p = form_value(&pairs, "product").unwrap_or_default();
            if !modules.iter().any(|m| m == p) {
                errors.insert(
                    "product".to_string(),
                    "Choose one of the products.".to_string(),
                );
            }
            json!({"product": p})
        }
    };
    if !errors.is_empty() {
        let current = shown
            .as_ref()
            .unwrap_or(&value)
            .as_object()
            .cloned()
            .unwrap_or_default();
        return render(
            &shared,
            &store,
            &current,
            &errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    store.set_system_settings(value).await?;
    Ok(see_other("/custom_configs"))
}
