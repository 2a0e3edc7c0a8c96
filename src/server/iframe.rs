//! The app's front end: `GET /iframe/<path>` serves `app/`, `GET /iframe/api` is FDK's app
//! descriptor for product pages, and `/_fdk-emu/app/client.js` is the script `{{{appclient}}}`
//! stands for.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use super::Shared;
use super::live::RELOAD_HOOK;
use crate::app::{App, Generation};
use crate::invoke::Sources;
use crate::sources::StoreSources;
use crate::store::Store;

/// The client script, embedded in the binary.
pub const CLIENT_JS: &str = include_str!("../../assets/app-client.js");
/// Where the client script is served; what `{{{appclient}}}` becomes.
pub const CLIENT_PATH: &str = "/_fdk-emu/app/client.js";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/iframe/api", web::get().to(api))
        .route(CLIENT_PATH, web::get().to(client_js))
        .route("/_fdk-emu/app/config.json", web::get().to(client_config))
        .route("/iframe/{path:.*}", web::get().to(file));
}

async fn client_js() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/javascript; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(CLIENT_JS)
}

/// What the client script needs to know about the app: which templates use an agent-level
/// integration (their calls carry the browser's tokens) and the integrations to authorize.
async fn client_config(shared: web::Data<Shared>) -> HttpResponse {
    let app = shared.app();
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .json(client_config_value(&app))
}

pub fn client_config_value(app: &App) -> Value {
    let agent: Vec<&str> = app
        .oauth
        .iter()
        .flat_map(|o| o.integrations.values())
        .filter(|i| i.is_agent())
        .map(|i| i.name.as_str())
        .collect();
    let mut agent_templates = Map::new();
    for t in app.templates.values() {
        if let Some(i) = t.integration().filter(|i| agent.contains(i)) {
            agent_templates.insert(t.name.clone(), Value::String(i.to_string()));
        }
    }
    let integrations: Vec<Value> = app
        .oauth
        .iter()
        .flat_map(|o| o.integrations.values())
        .map(|i| {
            json!({
                "name": i.name,
                "type": if i.is_agent() { "agent" } else { "account" },
            })
        })
        .collect();
    json!({
        "app": app.name,
        "platform": app.manifest.platform_version,
        "agentTemplates": agent_templates,
        "integrations": integrations,
    })
}

/// FDK's `/iframe/api` (FDK 9 shape): non-secure iparams only.
async fn api(
    shared: web::Data<Shared>,
    store: web::Data<Store>,
    tokens: web::Data<crate::oauth::TokenManager>,
) -> HttpResponse {
    let app = shared.app();
    let sources = StoreSources::new(&store, &tokens);
    let descriptor = descriptor(&sources, &app).await;
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .json(descriptor)
}

/// Serves a file of `app/`. HTML gets `{{{appclient}}}` replaced and the live-reload hook.
async fn file(req: HttpRequest, shared: web::Data<Shared>) -> HttpResponse {
    let app = shared.app();
    let rel = req.match_info().get("path").unwrap_or_default();
    let root = app.app_dir();
    let Some(path) = safe_join(&root, rel) else {
        return not_found(rel);
    };
    let path = if path.is_dir() {
        path.join("index.html")
    } else {
        path
    };
    // Symlinks must not lead out of app/ either.
    let (Ok(canon), Ok(canon_root)) = (
        tokio::fs::canonicalize(&path).await,
        tokio::fs::canonicalize(&root).await,
    ) else {
        return not_found(rel);
    };
    if !canon.starts_with(&canon_root) {
        return not_found(rel);
    }
    let Ok(bytes) = tokio::fs::read(&canon).await else {
        return not_found(rel);
    };
    let mime = mime_guess::from_path(&canon).first_or_octet_stream();
    let is_html = mime.subtype() == "html";
    let mut resp = HttpResponse::Ok();
    resp.insert_header((header::CACHE_CONTROL, "no-cache"));
    if is_html {
        let text = String::from_utf8_lossy(&bytes);
        let mut page = text.replace("{{{appclient}}}", CLIENT_PATH);
        page.push_str(RELOAD_HOOK);
        resp.insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
            .body(page)
    } else {
        let ct = match (mime.type_().as_str(), mime.subtype().as_str()) {
            ("text", _) | ("application", "javascript") | ("application", "json") => {
                format!("{mime}; charset=utf-8")
            }
            _ => mime.to_string(),
        };
        resp.insert_header((header::CONTENT_TYPE, ct)).body(bytes)
    }
}

fn not_found(rel: &str) -> HttpResponse {
    HttpResponse::NotFound()
        .insert_header((header::CONTENT_TYPE, "text/plain; charset=utf-8"))
        .body(format!(
            "app/{rel} does not exist (the app's front-end files are served from its app/ folder)"
        ))
}

/// `root` joined with a request path, or `None` when the path tries to leave `root`
/// (`..`, absolute paths, backslashes, NUL).
pub fn safe_join(root: &Path, rel: &str) -> Option<PathBuf> {
    if rel.contains('\\') || rel.contains('\0') {
        return None;
    }
    let mut out = root.to_path_buf();
    for c in Path::new(rel).components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// FDK's `/iframe/api` (FDK 9 shape): non-secure iparams only.
async fn descriptor(sources: &StoreSources<'_>, app: &Arc<App>) -> Value {
    let iparams = sources.iparams().await.unwrap_or_default();
    // Secure by the store's flag or by the app's current iparams.json.
    let by_app = app.iparams.secure_names();
    let configs: Map<String, Value> = iparams
        .values
        .iter()
        .filter(|(k, _)| {
            !iparams.secure.contains(k) && !by_app.contains(k) && k.as_str() != "__meta"
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let current_host = sources.current_host().await;
    let is_install = sources.is_install(app).await;
    let mut list = Vec::new();
    let mut all_authorized = true;
    for i in app.oauth.iter().flat_map(|o| o.integrations.values()) {
        let agent = i.is_agent();
        let ok = if agent {
            false
        } else {
            sources
                .store()
                .is_authorized(&i.name)
                .await
                .unwrap_or(false)
        };
        if !agent && !ok {
            all_authorized = false;
        }
        list.push(json!({
            "name": i.name,
            "type": if agent { "agent" } else { "account" },
            "isAuthorized": ok,
        }));
    }
    let modules: Vec<&str> = app
        .manifest
        .modules
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    let host_field = |k: &str| {
        current_host
            .as_ref()
            .and_then(|h| h.get(k))
            .cloned()
            .unwrap_or(Value::Null)
    };
    let mut d = json!({
        "configs": configs,
        "displayName": app.name,
        "features": [],
        "actions": false,
        "platform": app.manifest.platform_version,
        "isInstall": is_install,
        "oauth_configs_list": list,
        "isAuthorized": all_authorized,
        "v2": [],
    });
    match app.manifest.generation {
        Generation::V2 => {
            d["product"] = json!(modules.first());
            d["products"] = json!(modules);
            d["omni"] = json!(modules.len() > 1);
        }
        Generation::V3 => {
            d["modules"] = json!(modules);
            d["omni"] = json!(false);
            d["subscribed_modules"] = host_field("subscribed_modules");
            d["endpoint_urls"] = host_field("endpoint_urls");
            d["product_types"] = host_field("product_types");
            d["currentHost"] = current_host.clone().unwrap_or(Value::Null);
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_join_refuses_escapes() {
        let root = Path::new("/app");
        assert_eq!(
            safe_join(root, "scripts/app.js"),
            Some(PathBuf::from("/app/scripts/app.js"))
        );
        assert_eq!(safe_join(root, "../secret"), None);
        assert_eq!(safe_join(root, "a/../../b"), None);
        assert_eq!(safe_join(root, "/etc/passwd"), None);
        assert_eq!(safe_join(root, "a\\..\\b"), None);
    }
}
