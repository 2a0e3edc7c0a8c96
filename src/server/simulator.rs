//! The product simulator's side on the server: which product each location of the manifest
//! belongs to, how its frame is laid out, and the mock product data that `client.data.get`
//! answers from on the home page.
//!
//! Mock data comes in two layers: the defaults of each product, embedded in the binary
//! (`assets/mock/<product>.json`), and the app's own `fdk-emu/data/<product>.json`, merged over
//! them (objects key by key, anything else replaced). Edits made on the home page stay in the
//! browser (see `assets/pages/simulator.js`); the file is what a developer commits.
//!
//! `GET /_fdk-emu/mock/<product>.json` answers the merged data, for tools and for the page's
//! "reload from file".

use std::path::{Path, PathBuf};

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde_json::{Map, Value, json};

use super::Shared;
use super::pages::progress::encode as enc;
use crate::app::App;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/_fdk-emu/mock/{product}.json", web::get().to(mock_route));
}

pub use crate::app::Product;

/// The product's mock data as embedded in the binary.
fn defaults(product: Product) -> &'static str {
    match product {
        Product::Freshdesk => include_str!("../../assets/mock/freshdesk.json"),
        Product::Freshservice => include_str!("../../assets/mock/freshservice.json"),
        Product::Freshsales => include_str!("../../assets/mock/freshsales.json"),
        Product::Freshchat => include_str!("../../assets/mock/freshchat.json"),
        Product::Freshcaller => include_str!("../../assets/mock/freshcaller.json"),
    }
}

/// Where an app overrides a product's mock data.
pub fn override_path(root: &Path, product: Product) -> PathBuf {
    root.join("fdk-emu")
        .join("data")
        .join(format!("{}.json", product.key()))
}

/// A product's mock data, and where it came from.
#[derive(Debug, Clone)]
pub struct Mock {
    pub value: Value,
    /// The override file, when there is one (relative to the app folder).
    pub file: Option<String>,
    /// Why the override file was not used, for the page.
    pub error: Option<String>,
}

/// The product's defaults with the app's override file merged over them. A file that cannot
/// be read or is not a JSON object leaves the defaults in place and says why.
pub async fn mock(root: &Path, product: Product) -> Mock {
    let mut value: Value =
        serde_json::from_str(defaults(product)).unwrap_or_else(|_| json!({"data": {}}));
    let path = override_path(root, product);
    let rel = format!("fdk-emu/data/{}.json", product.key());
    let text = match tokio::fs::read_to_string(&path).await {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Mock {
                value,
                file: None,
                error: None,
            };
        }
        Err(e) => {
            return Mock {
                value,
                file: Some(rel.clone()),
                error: Some(format!("{rel} cannot be read ({e}); the defaults are used")),
            };
        }
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(over @ Value::Object(_)) => {
            merge(&mut value, over);
            Mock {
                value,
                file: Some(rel),
                error: None,
            }
        }
        Ok(_) => Mock {
            value,
            file: Some(rel.clone()),
            error: Some(format!(
                "{rel} must hold a JSON object such as {{\"data\": {{\"ticket\": {{\"subject\": \"…\"}}}}}}; the defaults are used"
            )),
        },
        Err(e) => Mock {
            value,
            file: Some(rel.clone()),
            error: Some(format!(
                "{rel}:{}:{}: {e}; the defaults are used until it is fixed",
                e.line(),
                e.column()
            )),
        },
    }
}

/// Merges `over` into `base`: objects key by key, anything else replaced.
pub fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

/// How a location is framed in its product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// A sidebar widget (ticket sidebar, requester info, entity menus): 300 px wide; the app
    /// sets its height with `instance.resize`, up to 700 px.
    Sidebar,
    /// The full page app: the whole content area.
    Page,
    /// The CTI dialer: a dock at the corner of the product.
    Cti,
    /// A background app: loaded, never shown.
    Background,
    /// The top navigation bar: an icon that opens a small panel.
    TopNavigation,
    /// Inside the reply editor.
    Editor,
}

impl Frame {
    pub fn of(placeholder: &str) -> Frame {
        let p = placeholder.to_ascii_lowercase();
        if p == "full_page_app" {
            Frame::Page
        } else if p.contains("background") {
            Frame::Background
        } else if p.contains("cti") {
            Frame::Cti
        } else if p.contains("top_navigation") {
            Frame::TopNavigation
        } else if p.contains("editor") {
            Frame::Editor
        } else {
            Frame::Sidebar
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Frame::Sidebar => "sidebar",
            Frame::Page => "page",
            Frame::Cti => "cti",
            Frame::Background => "background",
            Frame::TopNavigation => "top_navigation",
            Frame::Editor => "editor",
        }
    }
}

/// The product of each location: its own module's, or for `common` (3.x) the first product
/// module of the manifest; Freshdesk when nothing says.
pub fn location_product(app: &App, owner: &str) -> Product {
    Product::of_owner(app, owner).unwrap_or(Product::Freshdesk)
}

/// What the home page's simulator script starts from: the locations with their frames and
/// products, and each product's mock data.
pub async fn config(app: &App) -> Value {
    let mut products = Map::new();
    let mut locations = Vec::new();
    for (i, loc) in app.manifest.locations.iter().enumerate() {
        let product = location_product(app, &loc.owner);
        if !products.contains_key(product.key()) {
            let m = mock(&app.root, product).await;
            products.insert(
                product.key().to_string(),
                json!({
                    "mock": m.value,
                    "file": m.file,
                    "override": override_path(Path::new(""), product).display().to_string(),
                    "error": m.error,
                }),
            );
        }
        let url = loc.url.as_deref().unwrap_or("index.html");
        locations.push(json!({
            "id": format!("loc{}", i + 1),
            "placeholder": loc.placeholder,
            "module": loc.owner,
            "product": product.key(),
            "frame": Frame::of(&loc.placeholder).name(),
            "src": format!(
                "/iframe/{}?location={}&module={}",
                url.trim_start_matches('/'),
                enc(&loc.placeholder),
                enc(&loc.owner)
            ),
        }));
    }
    json!({
        "app": app.name,
        "products": products,
        "locations": locations,
    })
}

async fn mock_route(product: web::Path<String>, shared: web::Data<Shared>) -> HttpResponse {
    let Some(p) = Product::from_key(&product) else {
        return HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body(format!(
                "fdk-emu has no mock data for the product {:?}; it knows {}",
                product.as_str(),
                Product::ALL.map(|p| p.key()).join(", ")
            ));
    };
    let app = shared.app();
    let m = mock(&app.root, p).await;
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .json(json!({"mock": m.value, "file": m.file, "error": m.error}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_product_has_valid_defaults_with_the_common_names() {
        for p in Product::ALL {
            let v: Value = serde_json::from_str(defaults(p))
                .unwrap_or_else(|e| panic!("assets/mock/{}.json: {e}", p.key()));
            let data = v["data"].as_object().expect("data");
            for name in v["everywhere"].as_array().expect("everywhere") {
                let name = name.as_str().expect("a name");
                assert!(data.contains_key(name), "{}: {name}", p.key());
            }
            for page in v["pages"].as_array().expect("pages") {
                for name in page["data"].as_array().expect("page data") {
                    let name = name.as_str().expect("a name");
                    assert!(data.contains_key(name), "{}: {name}", p.key());
                }
            }
        }
    }

    #[test]
    fn modules_and_products_map_to_their_product() {
        assert_eq!(
            Product::of_module("support_ticket"),
            Some(Product::Freshdesk)
        );
        assert_eq!(Product::of_module("freshdesk"), Some(Product::Freshdesk));
        assert_eq!(
            Product::of_module("service_ticket"),
            Some(Product::Freshservice)
        );
        assert_eq!(Product::of_module("deal"), Some(Product::Freshsales));
        assert_eq!(
            Product::of_module("chat_conversation"),
            Some(Product::Freshchat)
        );
        assert_eq!(
            Product::of_module("freshcaller"),
            Some(Product::Freshcaller)
        );
        assert_eq!(Product::of_module("common"), None);
    }

    #[test]
    fn frames_follow_the_placeholder() {
        assert_eq!(Frame::of("ticket_sidebar"), Frame::Sidebar);
        assert_eq!(Frame::of("full_page_app"), Frame::Page);
        assert_eq!(Frame::of("cti_global_sidebar"), Frame::Cti);
        assert_eq!(Frame::of("ticket_background"), Frame::Background);
        assert_eq!(Frame::of("ticket_top_navigation"), Frame::TopNavigation);
        assert_eq!(Frame::of("ticket_conversation_editor"), Frame::Editor);
    }

    #[test]
    fn overrides_merge_objects_and_replace_the_rest() {
        let mut base = json!({"data": {"ticket": {"id": 1, "subject": "a", "tags": ["x"]}, "domainName": "d"}});
        merge(
            &mut base,
            json!({"data": {"ticket": {"subject": "b", "tags": []}, "extra": 1}}),
        );
        assert_eq!(
            base,
            json!({"data": {"ticket": {"id": 1, "subject": "b", "tags": []}, "domainName": "d", "extra": 1}})
        );
    }

    #[tokio::test]
    async fn a_broken_override_file_is_named_and_the_defaults_stay() {
        let dir = tempfile::tempdir().expect("dir");
        let path = override_path(dir.path(), Product::Freshdesk);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, "{\"data\": {\"ticket\": }").expect("write");
        let m = mock(dir.path(), Product::Freshdesk).await;
        let err = m.error.expect("an error");
        assert!(err.starts_with("fdk-emu/data/freshdesk.json:1:"), "{err}");
        assert_eq!(m.value["data"]["ticket"]["id"], 1042);
        std::fs::write(&path, "{\"data\": {\"ticket\": {\"subject\": \"Mine\"}}}").expect("write");
        let m = mock(dir.path(), Product::Freshdesk).await;
        assert_eq!(m.error, None);
        assert_eq!(m.value["data"]["ticket"]["subject"], "Mine");
        assert_eq!(m.value["data"]["ticket"]["id"], 1042);
    }
}
