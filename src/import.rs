//! `fdk-emu store import PATH`: brings the data of FDK's `.fdk/localstore` into the store, so
//! a developer switching from `fdk run` keeps their `$db` keys and installation parameters.
//!
//! The file is one JSON object (fdk-oracle §6, fdk-reference §3.8):
//!
//! ```text
//! { "<id>_<product>": { "<id>_custom_iparams": {"__meta": {"secure": [...]}, ...values},
//!                       "<id>_oauth": {...}, ... },
//!   "<folder>:<dbKey>_<product>": { ...value, "createdAt": ms, "updatedAt": ms,
//!                                   "__expireAfter": ms },
//!   ... }
//! ```
//!
//! FDK 9 (platform 3.x) uses `modules` for `<product>` in both, and very old FDKs kept
//! `<id>_custom_iparams` at the top level. Secure iparams (`__meta.secure`, or `secure` in
//! the app's `iparams.json`) are encrypted on the way in, as the installation page stores
//! them. OAuth tokens are not imported: FDK keeps them in clear text, and authorizing again
//! is safer than copying them.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::app::App;
use crate::kv::Scope;
use crate::store::{KvRecord, Store, StoreError};

/// What was found in a localstore file.
#[derive(Debug, Default, PartialEq)]
pub struct Imported {
    pub keys: Vec<KvRecord>,
    /// Installation parameters and the names of the secure ones.
    pub iparams: Option<(Map<String, Value>, Vec<String>)>,
    /// Things left out, one sentence each.
    pub skipped: Vec<String>,
    pub expired: usize,
    pub has_oauth_tokens: bool,
}

/// Why an import could not be done.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path} is not an FDK localstore: {detail}. Pass the file `.fdk/localstore` of the app folder where `fdk run` ran"
    )]
    NotLocalstore { path: PathBuf, detail: String },
}

/// FDK's products (the suffix of a key's name), longest first so that `freshworks_crm` wins
/// over a shorter match.
const FDK_SCOPES: &[&str] = &[
    "freshworks_crm",
    "freshservice",
    "freshconnect",
    "freshcaller",
    "freshdesk",
    "freshsales",
    "freshchat",
    "freshteam",
    "undefined",
    "modules",
];

/// The file to read when given the app folder or its `.fdk` folder instead of the file.
pub fn locate(path: &Path) -> PathBuf {
    if path.is_dir() {
        let direct = path.join("localstore");
        if direct.is_file() {
            return direct;
        }
        return path.join(".fdk").join("localstore");
    }
    path.to_path_buf()
}

/// Reads what an FDK localstore holds. `app` (when the app folder loads) decides which
/// product FDK 9's shared `modules` keys belong to and which iparams are secure.
pub fn parse(
    path: &Path,
    text: &str,
    app: Option<&App>,
    now_ms: i64,
) -> Result<Imported, ImportError> {
    let not = |detail: String| ImportError::NotLocalstore {
        path: path.to_path_buf(),
        detail,
    };
    let root: Value =
        serde_json::from_str(text).map_err(|e| not(format!("it is not JSON ({e})")))?;
    let Value::Object(root) = root else {
        return Err(not("it is not a JSON object".into()));
    };
    let default_scope = app
        .and_then(|a| Scope::resolve(&a.manifest, None, None).ok())
        .map(|s| s.to_string());
    let mut out = Imported::default();
    let mut products: Vec<&str> = app
        .map(|a| a.manifest.modules.iter().map(|m| m.name.as_str()).collect())
        .unwrap_or_default();
    products.extend_from_slice(FDK_SCOPES);
    products.sort_by_key(|p| std::cmp::Reverse(p.len()));
    // FDK's own scopes: `modules` (FDK 9, every module's keys together) and `undefined`
    // (no ?product) hold the keys of the app as a whole; they go to the app's first
    // product. A 2.x product is its own scope, as in a `/dprouter?product=` call.
    let scope_of = |product: &str| -> String {
        match product {
            "modules" | "undefined" => default_scope.clone().unwrap_or_else(|| product.to_string()),
            p => p.to_string(),
        }
    };

    // Installation parameters: per product scope, or at the top level in very old stores.
    let mut iparams_found: Vec<(String, Map<String, Value>)> = Vec::new();
    for (name, value) in &root {
        let Value::Object(obj) = value else { continue };
        if name.ends_with("_custom_iparams") {
            iparams_found.push((default_scope.clone().unwrap_or_default(), obj.clone()));
            continue;
        }
        let inner = obj.iter().find_map(|(k, v)| {
            let id = k.strip_suffix("_custom_iparams")?;
            Some((id, v))
        });
        if let Some((id, v)) = inner {
            let product = name
                .strip_prefix(id)
                .and_then(|r| r.strip_prefix('_'))
                .unwrap_or(name);
            match v {
                Value::Object(m) => iparams_found.push((scope_of(product), m.clone())),
                _ => out.skipped.push(format!(
                    "the installation parameters of {name} (not an object)"
                )),
            }
        }
        // `<id>_oauth` (FDK 6) or `<id>_oauth_<integration>` (FDK 9) holding tokens.
        out.has_oauth_tokens |= obj
            .iter()
            .any(|(k, v)| k.contains("_oauth") && v.get("access_token").is_some());
    }
    if !iparams_found.is_empty() {
        let pick = iparams_found
            .iter()
            .position(|(s, _)| Some(s) == default_scope.as_ref())
            .unwrap_or(0);
        let (scope, mut values) = iparams_found.swap_remove(pick);
        for (other, _) in &iparams_found {
            out.skipped.push(format!(
                "the installation parameters stored for {other} (those of {} were taken; fdk-emu keeps one set per app)",
                if scope.is_empty() { "the app" } else { &scope }
            ));
        }
        let mut secure: Vec<String> = app.map(|a| a.iparams.secure_names()).unwrap_or_default();
        if let Some(list) = values
            .shift_remove("__meta")
            .and_then(|m| m.get("secure").cloned())
            .and_then(|s| s.as_array().cloned())
        {
            for item in list.iter().filter_map(Value::as_str) {
                let top = item.split('.').next().unwrap_or(item).to_string();
                if !secure.contains(&top) {
                    secure.push(top);
                }
            }
        }
        secure.retain(|s| values.contains_key(s));
        out.iparams = Some((values, secure));
    }

    // `$db` keys: `<folder>:<dbKey>_<product>` at the top level.
    for (name, value) in &root {
        let Some((_, rest)) = name.split_once(':') else {
            continue;
        };
        let Some((key, product)) = products.iter().find_map(|p| {
            let key = rest.strip_suffix(p)?.strip_suffix('_')?;
            (!key.is_empty()).then_some((key, *p))
        }) else {
            out.skipped.push(format!(
                "{name:?}: the name does not end with a product (_freshdesk, _modules, …)"
            ));
            continue;
        };
        let Value::Object(obj) = value else {
            out.skipped
                .push(format!("the key {key:?}: its value is not an object"));
            continue;
        };
        let mut obj = obj.clone();
        let time = |v: Option<Value>| v.and_then(|v| v.as_f64()).map(|f| f as i64);
        let created_at = time(obj.shift_remove("createdAt"));
        let updated_at = time(obj.shift_remove("updatedAt"));
        let expires_at = time(obj.shift_remove("__expireAfter"));
        if expires_at.is_some_and(|t| t <= now_ms) {
            out.expired += 1;
            continue;
        }
        let created_at = created_at.unwrap_or(now_ms);
        out.keys.push(KvRecord {
            scope: scope_of(product),
            key: key.to_string(),
            value: Value::Object(obj).to_string(),
            created_at,
            updated_at: updated_at.unwrap_or(created_at),
            expires_at,
        });
    }
    Ok(out)
}

/// Writes what was found into the store: the keys in one transaction, then the iparams.
pub async fn apply(store: &Store, found: &Imported) -> Result<(), StoreError> {
    store.kv_import(found.keys.clone()).await?;
    if let Some((values, secure)) = &found.iparams {
        store.set_iparams(values.clone(), secure).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_fdk_6_store_of_a_2x_app() {
        let text = json!({
            "fdapp_101_101_freshdesk": {
                "fdapp_101_101_custom_iparams": {"__meta": {"secure": ["api_key"]}, "domain": "acme", "api_key": "s3cret"},
                "fdapp_101_101_oauth": {"access_token": "AT"}
            },
            "fdapp:k2_freshdesk": {"x": "y", "createdAt": 1000, "updatedAt": 2000, "__expireAfter": 9_000_000},
            "fdapp:old_key_freshdesk": {"x": 1, "__expireAfter": 10},
            "fdapp:crm:key_freshworks_crm": {"n": 1},
            "fdapp_101_101_schedule_s_freshdesk": {"x": 1},
            "fdapp:odd": {"x": 1}
        })
        .to_string();
        let got = parse(Path::new("localstore"), &text, None, 5_000_000).expect("parse");
        assert_eq!(got.expired, 1);
        assert!(got.has_oauth_tokens);
        let (values, secure) = got.iparams.expect("iparams");
        assert_eq!(
            Value::Object(values),
            json!({"domain": "acme", "api_key": "s3cret"})
        );
        assert_eq!(secure, vec!["api_key".to_string()]);
        let keys: Vec<(&str, &str, &str)> = got
            .keys
            .iter()
            .map(|r| (r.scope.as_str(), r.key.as_str(), r.value.as_str()))
            .collect();
        assert_eq!(
            keys,
            vec![
                ("freshdesk", "k2", r#"{"x":"y"}"#),
                ("freshworks_crm", "crm:key", r#"{"n":1}"#)
            ]
        );
        assert_eq!(
            (
                got.keys[0].created_at,
                got.keys[0].updated_at,
                got.keys[0].expires_at
            ),
            (1000, 2000, Some(9_000_000))
        );
        assert_eq!(got.skipped.len(), 1, "{:?}", got.skipped);
    }

    #[test]
    fn not_a_localstore() {
        assert!(matches!(
            parse(Path::new("x"), "[1]", None, 0),
            Err(ImportError::NotLocalstore { .. })
        ));
        assert!(matches!(
            parse(Path::new("x"), "{", None, 0),
            Err(ImportError::NotLocalstore { .. })
        ));
    }
}
