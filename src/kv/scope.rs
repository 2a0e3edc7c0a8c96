//! Which keys a call sees: those of one product, as in production.
//!
//! Data is stored per installation, and an installation belongs to one product: the docs of
//! platform 3.x warn that a global app's module cannot read a key that a module of another
//! product (SKU) stored, although FDK lets it locally (FDK 9 keeps every module's keys in one
//! `<app>_modules` scope). fdk-emu keeps them apart: the modules of one product share keys
//! (`support_ticket` and `support_contact` are both Freshdesk), those of different products
//! do not. Platform 2.x apps name the product itself (`product.freshdesk`), and FDK 6.9
//! already kept those apart (`<folder>:<key>_<product>`).

use std::fmt;

use super::KvError;
use crate::app::{Generation, Manifest};

/// The product whose keys a call reads and writes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scope(String);

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The product a platform 3.x module belongs to. A module fdk-emu does not know is a product
/// of its own (its keys are shared with no other module).
pub fn product_of_module(module: &str) -> &str {
    const CRM: &[&str] = &[
        "appointment",
        "contact",
        "cpq_document",
        "deal",
        "lead",
        "phone",
        "product",
        "sales_account",
        "sales_activities",
        "task",
        "user_agent_availability",
    ];
    if module.starts_with("support_") {
        "freshdesk"
    } else if module.starts_with("service_") {
        "freshservice"
    } else if module.starts_with("chat_") {
        "freshchat"
    } else if module == "call" || module == "notification" || module.starts_with("caller_") {
        "freshcaller"
    } else if CRM.contains(&module) {
        "freshsales"
    } else {
        module
    }
}

impl Scope {
    /// A scope by its product name (imports, the data viewer, tests).
    pub fn named(product: &str) -> Scope {
        Scope(product.to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The scope of a call from the app, by the `product` and `module` it names (the
    /// `/dprouter` query, or the context of a serverless event). With neither, the app's
    /// first product (2.x) or the product of its first module (3.x), as FDK defaults to the
    /// first product of the manifest.
    pub fn resolve(
        manifest: &Manifest,
        product: Option<&str>,
        module: Option<&str>,
    ) -> Result<Scope, KvError> {
        let product = product.map(str::trim).filter(|p| !p.is_empty());
        let module = module.map(str::trim).filter(|m| !m.is_empty());
        let declared: Vec<&str> = manifest.modules.iter().map(|m| m.name.as_str()).collect();
        match manifest.generation {
            Generation::V2 => {
                let name = product.or(module);
                match name {
                    Some(p) if declared.contains(&p) => Ok(Scope::named(p)),
                    Some(p) => Err(KvError::BadRequest(format!(
                        "the call names the product {p:?}, which manifest.json does not declare (it declares: {}); call from one of the app's products",
                        list(&declared)
                    ))),
                    None => Ok(Scope::named(declared.first().copied().unwrap_or("default"))),
                }
            }
            Generation::V3 => {
                if let Some(m) = module {
                    if m == "common" || declared.contains(&m) {
                        return Ok(match m {
                            // `common` runs for every module; it sees the first product's keys.
                            "common" => default_v3(&declared),
                            m => Scope::named(product_of_module(m)),
                        });
                    }
                    return Err(KvError::BadRequest(format!(
                        "the call names the module {m:?}, which manifest.json does not declare (it declares: {})",
                        list(&declared)
                    )));
                }
                if let Some(p) = product {
                    if declared.iter().any(|m| product_of_module(m) == p) {
                        return Ok(Scope::named(p));
                    }
                    if declared.contains(&p) {
                        return Ok(Scope::named(product_of_module(p)));
                    }
                    let products: Vec<&str> =
                        declared.iter().map(|m| product_of_module(m)).collect();
                    return Err(KvError::BadRequest(format!(
                        "the call names the product {p:?}, but the app's modules ({}) belong to {}",
                        list(&declared),
                        list(&products)
                    )));
                }
                Ok(default_v3(&declared))
            }
        }
    }
}

fn default_v3(declared: &[&str]) -> Scope {
    Scope::named(declared.first().map_or("common", |m| product_of_module(m)))
}

fn list(names: &[&str]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn manifest(v: serde_json::Value) -> Manifest {
        Manifest::from_value(Some(&v))
    }

    #[test]
    fn modules_of_one_product_share_keys_and_products_do_not() {
        let m = manifest(json!({"platform-version": "3.0", "modules": {
            "common": {}, "support_ticket": {}, "support_contact": {}, "service_ticket": {}}}));
        let of = |p: Option<&str>, module: Option<&str>| {
            Scope::resolve(&m, p, module).map(|s| s.to_string())
        };
        assert_eq!(of(None, Some("support_ticket")), Ok("freshdesk".into()));
        assert_eq!(of(None, Some("support_contact")), Ok("freshdesk".into()));
        assert_eq!(of(None, Some("service_ticket")), Ok("freshservice".into()));
        assert_eq!(of(None, None), Ok("freshdesk".into()));
        assert_eq!(of(Some("freshservice"), None), Ok("freshservice".into()));
        assert_eq!(of(Some("service_ticket"), None), Ok("freshservice".into()));
        assert_eq!(of(None, Some("common")), Ok("freshdesk".into()));
        assert!(of(Some("freshsales"), None).is_err());
        assert!(of(None, Some("deal")).is_err());
    }

    #[test]
    fn platform_2_products_are_named_by_the_call() {
        let m = manifest(json!({"platform-version": "2.3", "product": {
            "freshdesk": {}, "freshservice": {}}}));
        let of = |p: Option<&str>| Scope::resolve(&m, p, None).map(|s| s.to_string());
        assert_eq!(of(None), Ok("freshdesk".into()));
        assert_eq!(of(Some("freshservice")), Ok("freshservice".into()));
        assert!(of(Some("freshchat")).is_err());
    }
}
