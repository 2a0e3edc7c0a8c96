//! The Freshworks products an app is built for, and which product a 2.x product name or a
//! 3.x module belongs to. The simulator shows each location in its product; the event
//! simulator gives each product event the payload of its product.

/// The products the simulator knows, by the name FDK gives them in 2.x manifests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Product {
    Freshdesk,
    Freshservice,
    Freshsales,
    Freshchat,
    Freshcaller,
}

impl Product {
    pub const ALL: [Product; 5] = [
        Product::Freshdesk,
        Product::Freshservice,
        Product::Freshsales,
        Product::Freshchat,
        Product::Freshcaller,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Product::Freshdesk => "freshdesk",
            Product::Freshservice => "freshservice",
            Product::Freshsales => "freshsales",
            Product::Freshchat => "freshchat",
            Product::Freshcaller => "freshcaller",
        }
    }

    pub fn from_key(key: &str) -> Option<Product> {
        Product::ALL.into_iter().find(|p| p.key() == key)
    }

    /// The product a 2.x product name or a 3.x module belongs to; `None` for `common` and
    /// modules the simulator does not know.
    pub fn of_module(module: &str) -> Option<Product> {
        let m = module.to_ascii_lowercase();
        let is = |names: &[&str], prefixes: &[&str]| {
            names.contains(&m.as_str()) || prefixes.iter().any(|p| m.starts_with(p))
        };
        if is(&["freshdesk"], &["support_"]) {
            Some(Product::Freshdesk)
        } else if is(&["freshservice"], &["service_"]) {
            Some(Product::Freshservice)
        } else if is(
            &[
                "freshsales",
                "freshworks_crm",
                "deal",
                "contact",
                "sales_account",
                "lead",
                "task",
                "appointment",
                "phone",
                "product",
            ],
            &["sales_", "cpq_", "crm_"],
        ) {
            Some(Product::Freshsales)
        } else if is(&["freshchat"], &["chat_"]) {
            Some(Product::Freshchat)
        } else if is(&["freshcaller", "call", "caller"], &["call_", "caller_"]) {
            Some(Product::Freshcaller)
        } else {
            None
        }
    }

    /// The product a location or handler of module `owner` runs in: its own module's, or
    /// for `common` (3.x) the first product module of the manifest.
    pub fn of_owner(app: &super::App, owner: &str) -> Option<Product> {
        Product::of_module(owner).or_else(|| {
            app.manifest
                .modules
                .iter()
                .find_map(|m| Product::of_module(&m.name))
        })
    }
}
