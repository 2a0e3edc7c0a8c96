//! `config/requests.json`: the request templates `invokeTemplate` renders and sends.

use indexmap::IndexMap;
use serde_json::Value;

use super::manifest::escape;

/// Delivery options of a template (`options` in requests.json).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RequestOptions {
    /// Total attempts, clamped to 1..=5 as FDK does (validation reports values outside).
    pub max_attempts: u32,
    /// Delay between attempts in milliseconds, clamped to 0..=1500.
    pub retry_delay_ms: u64,
    /// Platform 2.3 single-config OAuth.
    pub is_oauth: bool,
    /// Platform 3.x: the name of the integration in oauth_config.json.
    pub oauth: Option<String>,
}

/// One request template. Strings are kept unrendered; `<%= … %>` is filled per call.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RequestTemplate {
    pub name: String,
    /// JSON pointer of the template in requests.json.
    pub pointer: String,
    pub method: String,
    pub protocol: String,
    pub host: String,
    pub path: String,
    /// Header values; non-string values are kept as their JSON text (validation flags them).
    pub headers: IndexMap<String, String>,
    pub query: IndexMap<String, String>,
    pub options: RequestOptions,
}

impl RequestTemplate {
    /// The template uses OAuth when it names an integration or sets `isOAuth`.
    pub fn uses_oauth(&self) -> bool {
        self.integration().is_some()
    }

    /// The OAuth integration it uses: the one `options.oauth` names, or the single form's
    /// with `isOAuth`.
    pub fn integration(&self) -> Option<&str> {
        match (&self.options.oauth, self.options.is_oauth) {
            (Some(i), _) => Some(i),
            (None, true) => Some(super::oauth_config::SINGLE_INTEGRATION),
            (None, false) => None,
        }
    }
}

/// Reads every template leniently: anything of the wrong shape becomes a default and is
/// reported by validation.
pub fn templates_from_value(v: Option<&Value>) -> IndexMap<String, RequestTemplate> {
    let mut out = IndexMap::new();
    let Some(obj) = v.and_then(Value::as_object) else {
        return out;
    };
    for (name, body) in obj {
        let schema = body.get("schema");
        let s = |k: &str| schema.and_then(|s| s.get(k)).and_then(Value::as_str);
        let strings = |k: &str| -> IndexMap<String, String> {
            schema
                .and_then(|s| s.get(k))
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), value_text(v)))
                        .collect::<IndexMap<_, _>>()
                })
                .unwrap_or_default()
        };
        let opts = body.get("options");
        let o = |k: &str| opts.and_then(|o| o.get(k));
        let int = |k: &str, default: i64, lo: i64, hi: i64| -> i64 {
            o(k).and_then(Value::as_i64)
                .unwrap_or(default)
                .clamp(lo, hi)
        };
        let template = RequestTemplate {
            name: name.clone(),
            pointer: format!("/{}", escape(name)),
            method: s("method").unwrap_or("GET").to_ascii_uppercase(),
            protocol: s("protocol").unwrap_or("https").to_ascii_lowercase(),
            host: s("host").unwrap_or_default().to_string(),
            path: s("path").unwrap_or("/").to_string(),
            headers: strings("headers"),
            query: strings("query"),
            options: RequestOptions {
                max_attempts: int("maxAttempts", 1, 1, 5) as u32,
                retry_delay_ms: int("retryDelay", 0, 0, 1500) as u64,
                is_oauth: o("isOAuth").and_then(Value::as_bool).unwrap_or(false),
                oauth: o("oauth").and_then(Value::as_str).map(str::to_string),
            },
        };
        out.insert(name.clone(), template);
    }
    out
}

/// A string as is; any other JSON value as its JSON text.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
