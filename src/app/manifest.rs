//! `manifest.json` in both generations: platform 2.x (`product.<name>`) and 3.x (`modules`).

use indexmap::IndexMap;
use serde_json::{Map, Value};

use super::pointer;

/// Which shape of manifest the app uses, decided by `platform-version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Generation {
    /// Platform 1.x/2.x: `product.<name>.{location, events, requests, functions}`.
    V2,
    /// Platform 3.x: `modules.common.{requests, functions, events}` plus product modules.
    V3,
}

/// A placeholder (location) of a product or module, where the app's page appears.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Location {
    /// The product (2.x) or module (3.x) that holds it.
    pub owner: String,
    pub placeholder: String,
    pub url: Option<String>,
    pub icon: Option<String>,
    /// JSON pointer of the location object, for diagnostics.
    pub pointer: String,
}

/// The values `functions.<name>.timeout` may take, in seconds (what real manifests use;
/// FDK 9 refuses others: "/timeout must be equal to one of the allowed values").
pub const SMI_TIMEOUTS: &[u64] = &[5, 10, 15, 20];

/// An SMI function the front end may call (`functions`, the platform's allow-list).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Function {
    pub name: String,
    /// `timeout` in seconds, when it reads as a whole number (`10` or `"10"`, as the docs
    /// write it); validation reports values of another shape.
    pub timeout_secs: Option<u64>,
    /// JSON pointer of the declaration, for diagnostics.
    pub pointer: String,
}

/// An event subscription: `events.<name>.handler` of a product (2.x) or module (3.x).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Event {
    /// The product or module that declares it (`common` for app set-up, external and
    /// scheduled events in 3.x).
    pub owner: String,
    pub name: String,
    /// The exported function of `server.js` that handles it; `None` when not a string.
    pub handler: Option<String>,
    pub pointer: String,
}

/// A product (2.x) or a module other than `common` (3.x).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Module {
    pub name: String,
    pub pointer: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Manifest {
    /// `platform-version` as written, when it is a string.
    pub platform_version: Option<String>,
    pub generation: Generation,
    /// 2.x products, or 3.x modules other than `common`.
    pub modules: Vec<Module>,
    pub locations: Vec<Location>,
    /// Template names declared in the manifest, with the pointer of each declaration.
    pub declared_requests: IndexMap<String, String>,
    /// SMI functions by name (first declaration wins).
    pub functions: IndexMap<String, Function>,
    /// Event subscriptions in file order.
    pub events: Vec<Event>,
    /// npm `dependencies` of `server.js`, name → version (entries whose version is not a
    /// string are left to validation).
    pub dependencies: IndexMap<String, String>,
    /// `engines.node`, the Node version the app was built for.
    pub engines_node: Option<String>,
}

impl Manifest {
    /// Reads what fdk-emu needs from the manifest. Lenient: anything of the wrong shape is
    /// skipped here and reported by validation, so a half-written manifest still loads.
    pub fn from_value(v: Option<&Value>) -> Manifest {
        let obj = v.and_then(Value::as_object);
        let platform_version = obj
            .and_then(|o| o.get("platform-version"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let generation = match platform_version.as_deref() {
            Some(p) if p.trim_start().starts_with('3') => Generation::V3,
            // A 2.x manifest that carries `modules` and no `product` is a 3.x app with a
            // wrong version string; read what is there.
            _ if obj.is_some_and(|o| o.contains_key("modules") && !o.contains_key("product")) => {
                Generation::V3
            }
            _ => Generation::V2,
        };
        let mut m = Manifest {
            platform_version,
            generation,
            modules: Vec::new(),
            locations: Vec::new(),
            declared_requests: IndexMap::new(),
            functions: IndexMap::new(),
            events: Vec::new(),
            dependencies: IndexMap::new(),
            engines_node: None,
        };
        let Some(obj) = obj else { return m };
        if let Some(deps) = obj.get("dependencies").and_then(Value::as_object) {
            for (name, version) in deps {
                if let Some(v) = version.as_str() {
                    m.dependencies.insert(name.clone(), v.to_string());
                }
            }
        }
        m.engines_node = obj
            .get("engines")
            .and_then(|e| e.get("node"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let container = match generation {
            Generation::V2 => "product",
            Generation::V3 => "modules",
        };
        let Some(parts) = obj.get(container).and_then(Value::as_object) else {
            return m;
        };
        for (name, body) in parts {
            let base = pointer(&[container, name]);
            if !(generation == Generation::V3 && name == "common") {
                m.modules.push(Module {
                    name: name.clone(),
                    pointer: base.clone(),
                });
            }
            let Some(body) = body.as_object() else {
                continue;
            };
            m.read_part(name, &base, body);
        }
        m
    }

    fn read_part(&mut self, name: &str, base: &str, body: &Map<String, Value>) {
        if let Some(locs) = body.get("location").and_then(Value::as_object) {
            for (placeholder, loc) in locs {
                let field = |k: &str| loc.get(k).and_then(Value::as_str).map(str::to_string);
                self.locations.push(Location {
                    owner: name.to_string(),
                    placeholder: placeholder.clone(),
                    url: field("url"),
                    icon: field("icon"),
                    pointer: format!("{base}/location/{}", escape(placeholder)),
                });
            }
        }
        if let Some(reqs) = body.get("requests").and_then(Value::as_object) {
            for key in reqs.keys() {
                self.declared_requests
                    .entry(key.clone())
                    .or_insert_with(|| format!("{base}/requests/{}", escape(key)));
            }
        }
        if let Some(fns) = body.get("functions").and_then(Value::as_object) {
            for (key, decl) in fns {
                let timeout_secs = decl.get("timeout").and_then(|t| match t {
                    Value::Number(n) => n.as_u64(),
                    Value::String(s) => s.trim().parse().ok(),
                    _ => None,
                });
                self.functions
                    .entry(key.clone())
                    .or_insert_with(|| Function {
                        name: key.clone(),
                        timeout_secs,
                        pointer: format!("{base}/functions/{}", escape(key)),
                    });
            }
        }
        if let Some(events) = body.get("events").and_then(Value::as_object) {
            for (key, decl) in events {
                self.events.push(Event {
                    owner: name.to_string(),
                    name: key.clone(),
                    handler: decl
                        .get("handler")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    pointer: format!("{base}/events/{}", escape(key)),
                });
            }
        }
    }

    /// The platform version as a (major, minor) pair, when it reads as one.
    pub fn version(&self) -> Option<(u32, u32)> {
        let v = self.platform_version.as_deref()?.trim();
        let (major, minor) = v.split_once('.').unwrap_or((v, "0"));
        Some((major.parse().ok()?, minor.parse().ok()?))
    }
}

/// Escapes one JSON-pointer reference token (RFC 6901).
pub fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}
