//! The app's front end: `GET /iframe/<path>` serves `app/`, `GET /iframe/api` is FDK's app
//! descriptor for product pages, and `/_fdk-emu/app/client.js` is the script `{{{appclient}}}`
//! stands for.
//!
//! Every HTML page of `app/` gets fdk-emu's bootstrap (`assets/app-boot.js`) at the top of its
//! `<head>`, so `app` exists before any of the app's scripts runs, and both `{{{appclient}}}`
//! and the fixed URLs of Freshworks' published client are pointed at fdk-emu's client. The
//! bootstrap decides in the browser whether the page runs under a real product page (then it
//! loads Freshworks' client instead), in the home page's simulator, or on its own.

use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, LazyLock};

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use super::Shared;
use super::live::RELOAD_HOOK;
use super::render;
use crate::app::{App, Generation};
use crate::invoke::Sources;
use crate::sources::StoreSources;
use crate::store::Store;

/// The client script, embedded in the binary.
pub const CLIENT_JS: &str = include_str!("../../assets/app-client.js");
/// The bootstrap inlined in every page (see the module's doc).
const BOOT_JS: &str = include_str!("../../assets/app-boot.js");
/// Where the client script is served; what `{{{appclient}}}` becomes.
pub const CLIENT_PATH: &str = "/_fdk-emu/app/client.js";
/// Freshworks' published client, loaded under a product page when the page itself named no
/// other (`{{{appclient}}}`).
pub const FRESHWORKS_CLIENT: &str = "https://static.freshdev.io/fdk/2.0/assets/fresh_client.js";

/// The fixed URLs under which Freshworks publishes its client, as real apps write them:
/// `https://static.freshdev.io/fdk/2.0/assets/fresh_client.js`,
/// `https://cdn.freshdev.io/assets/app-client@2.js`, with or without the scheme, other
/// versions alike.
static FRESHWORKS_CLIENT_URL: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(
        r"(?:https?:)?//(?:static|cdn)\.freshdev\.io/[A-Za-z0-9_./-]*?(?:fresh_client|app-client(?:@[0-9][0-9.]*)?)\.js",
    )
    .expect("a valid pattern")
});

/// Where the bootstrap goes: right after `<head>`, else after `<html>`, else after the
/// doctype (a script before the doctype would put the page in quirks mode).
static HEAD_OPEN: LazyLock<[regex::Regex; 3]> = LazyLock::new(|| {
    [
        r"(?i)<head(?:\s[^>]*)?>",
        r"(?i)<html(?:\s[^>]*)?>",
        r"(?i)<!doctype[^>]*>",
    ]
    .map(|p| regex::Regex::new(p).expect("a valid pattern"))
});

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
        "routes": super::dprouter::Route::ALL.map(|r| r.name()),
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
    if !servable(&canon_root, &canon) {
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
        let page = rewrite_page(&String::from_utf8_lossy(&bytes));
        resp.insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
            .body(page)
    } else if mime.subtype() == "javascript" {
        // Apps that add the client's <script> at run time (React and Vue builds) name its
        // fixed URL in their bundle.
        let text = String::from_utf8_lossy(&bytes);
        let script = FRESHWORKS_CLIENT_URL.replace_all(&text, CLIENT_PATH);
        resp.insert_header((header::CONTENT_TYPE, "text/javascript; charset=utf-8"))
            .body(script.into_owned())
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

/// An HTML page of the app as fdk-emu serves it: the bootstrap at the top of `<head>`,
/// `{{{appclient}}}` and Freshworks' fixed client URLs pointed at fdk-emu's client, and the
/// live-reload hook at the end.
pub fn rewrite_page(text: &str) -> String {
    // Under a product page the bootstrap loads the Freshworks client the page asked for.
    let freshworks = FRESHWORKS_CLIENT_URL
        .find(text)
        .map(|m| {
            let url = m.as_str();
            if url.starts_with("//") {
                format!("https:{url}")
            } else {
                url.to_string()
            }
        })
        .unwrap_or_else(|| FRESHWORKS_CLIENT.to_string());
    // The file's leading comment is for its readers, not for every page.
    let code = BOOT_JS.split_once("*/").map_or(BOOT_JS, |(_, code)| code);
    let boot = code
        .trim()
        .replace(
            "__FRESHWORKS_CLIENT__",
            &render::script_json(&Value::String(freshworks)),
        )
        .replace(
            "__CLIENT_PATH__",
            &render::script_json(&Value::String(CLIENT_PATH.to_string())),
        );
    let boot = format!("<script>{boot}</script>");
    let body = FRESHWORKS_CLIENT_URL
        .replace_all(&text.replace("{{{appclient}}}", CLIENT_PATH), CLIENT_PATH)
        .into_owned();
    let at = HEAD_OPEN
        .iter()
        .find_map(|r| r.find(&body))
        .map(|m| m.end())
        .unwrap_or(0);
    let mut page = String::with_capacity(body.len() + boot.len() + RELOAD_HOOK.len());
    page.push_str(&body[..at]);
    page.push_str(&boot);
    page.push_str(&body[at..]);
    page.push_str(RELOAD_HOOK);
    page
}

fn not_found(rel: &str) -> HttpResponse {
    HttpResponse::NotFound()
        .insert_header((header::CONTENT_TYPE, "text/plain; charset=utf-8"))
        .body(format!(
            "app/{rel} does not exist (the app's front-end files are served from its app/ folder)"
        ))
}

/// `root` joined with a request path, or `None` when the path tries to leave `root`
/// (`..`, absolute paths, backslashes, NUL) or names a hidden file or folder.
///
/// Hidden names (`.env`, `.git/config`, `.npmrc`) are never the app's front end but often
/// hold secrets, so neither `/iframe/` nor `/custom_configs/assets/` serves them.
pub fn safe_join(root: &Path, rel: &str) -> Option<PathBuf> {
    if rel.contains('\\') || rel.contains('\0') {
        return None;
    }
    let mut out = root.to_path_buf();
    for c in Path::new(rel).components() {
        match c {
            Component::Normal(p) if is_hidden(p) => return None,
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

fn is_hidden(name: &std::ffi::OsStr) -> bool {
    name.as_encoded_bytes().first() == Some(&b'.')
}

/// Whether `real` (a resolved path) lies inside `real_root` without passing through a hidden
/// name: the check for what a symbolic link points to, after [`safe_join`] checked the
/// path as asked (`app/public -> app/.git` must not serve `.git`).
pub fn servable(real_root: &Path, real: &Path) -> bool {
    real.strip_prefix(real_root).is_ok_and(|rel| {
        rel.components()
            .all(|c| matches!(c, Component::Normal(p) if !is_hidden(p)))
    })
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
    fn pages_get_the_bootstrap_first_and_our_client_for_every_known_url() {
        let page = rewrite_page(
            "<!DOCTYPE html>\n<html><HEAD lang=x><script async src=\"{{{appclient}}}\"></script>\
             <script src=\"https://static.freshdev.io/fdk/2.0/assets/fresh_client.js\"></script>\
             <script src=\"//cdn.freshdev.io/assets/app-client@2.js\"></script></HEAD></html>",
        );
        let boot = page.find("__fdkEmuBoot").expect("bootstrap injected");
        assert!(
            page.starts_with("<!DOCTYPE html>\n<html><HEAD lang=x><script>"),
            "{page}"
        );
        assert!(
            boot < page.find(&format!("src=\"{CLIENT_PATH}")).expect("client"),
            "{page}"
        );
        assert_eq!(
            page.matches(&format!("src=\"{CLIENT_PATH}\"")).count(),
            3,
            "{page}"
        );
        assert!(!page.contains("{{{appclient}}}"));
        // The first fixed URL is what the page would load under a product page.
        assert!(
            page.contains(r#"var FRESHWORKS_CLIENT = "https://static.freshdev.io/fdk/2.0/assets/fresh_client.js";"#),
            "{page}"
        );
        assert!(page.ends_with(RELOAD_HOOK));
        // No head: after the doctype, never before it.
        let page = rewrite_page("<!doctype html><p>hi");
        assert!(page.starts_with("<!doctype html><script>"), "{page}");
        let page = rewrite_page(
            "<p>hi <script src=\"https://cdn.freshdev.io/assets/app-client@2.js\"></script>",
        );
        assert!(page.starts_with("<script>"), "{page}");
        assert!(page.contains(
            r#"var FRESHWORKS_CLIENT = "https://cdn.freshdev.io/assets/app-client@2.js";"#
        ));
    }

    #[test]
    fn fixed_urls_in_scripts_are_recognised_and_others_are_not() {
        for url in [
            "https://static.freshdev.io/fdk/2.0/assets/fresh_client.js",
            "https://cdn.freshdev.io/assets/app-client@2.js",
            "https://cdn.freshdev.io/assets/app-client@2.1.js",
            "//static.freshdev.io/fdk/2.0/assets/fresh_client.js",
        ] {
            assert_eq!(FRESHWORKS_CLIENT_URL.replace_all(url, "X"), "X", "{url}");
        }
        for other in [
            "https://static.freshdev.io/fdk/2.0/assets/freshapps.css",
            "https://example.com/fresh_client.js",
        ] {
            assert_eq!(
                FRESHWORKS_CLIENT_URL.replace_all(other, "X"),
                other,
                "{other}"
            );
        }
    }

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
        assert_eq!(safe_join(root, ".env"), None);
        assert_eq!(safe_join(root, "scripts/.git/config"), None);
        assert_eq!(
            safe_join(root, "./app.js"),
            Some(PathBuf::from("/app/app.js"))
        );
        assert!(servable(root, Path::new("/app/scripts/app.js")));
        assert!(!servable(root, Path::new("/app/.git/config")));
        assert!(!servable(root, Path::new("/elsewhere/app.js")));
    }
}
