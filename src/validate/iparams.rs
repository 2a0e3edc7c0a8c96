//! `config/iparams.json`, with FDK 6.9's rules and wording (`lib/validations/iparam.js`):
//! reserved keys, options and default values, regex patterns and their messages,
//! `type_attributes.product`, `data-bind`, events, and the secure-looking-name warning.

use serde_json::{Map, Value};

use super::files::truthy;
use super::manifest::PRODUCTS;
use super::position::{Target, pointer};
use super::schema::{self, SchemaKind, describe};
use super::{Ctx, Severity};
use crate::app::{Generation, IPARAMS_JSON, IparamType, MANIFEST};

/// Attribute names FDK forbids as iparam names (and allows inside a field).
const KEYWORDS: &[&str] = &[
    "display_name",
    "description",
    "type",
    "required",
    "visible",
    "default_value",
    "options",
    "regex",
    "secure",
    "data-bind",
    "type_attributes",
    "events",
];
const REGEX_TYPES: &[&str] = &["text", "email", "phone_number", "url"];

pub(crate) fn check(ctx: &mut Ctx<'_>) {
    let app = ctx.app;
    let Some(file) = &app.iparams_file else {
        return;
    };
    let Some(value) = &file.value else { return };
    schema::check(ctx, IPARAMS_JSON, SchemaKind::Iparams, value);
    let Some(obj) = value.as_object() else { return };

    let reserved: Vec<&str> = KEYWORDS
        .iter()
        .copied()
        .filter(|k| obj.contains_key(*k))
        .collect();
    if !reserved.is_empty() {
        ctx.push(
            Severity::Error,
            IPARAMS_JSON,
            &pointer(&[reserved[0]]),
            Target::Key,
            "iparam-reserved-key",
            format!(
                "Do not use reserved keywords, {}, as keys.",
                reserved.join(",")
            ),
            Some("iparams.json maps each iparam name to its field: {\"api_key\": {\"display_name\": …, \"type\": \"text\"}}; rename the key".into()),
        );
    }
    let v3 = ctx.usable(MANIFEST) && app.manifest.generation == Generation::V3;
    for (key, field) in obj {
        if key.is_empty() {
            ctx.push(
                Severity::Error,
                IPARAMS_JSON,
                "/",
                Target::Key,
                "iparam-keys",
                "The iparam key should be a non-empty string.".into(),
                Some("name the iparam".into()),
            );
            continue;
        }
        let Some(f) = field.as_object() else { continue };
        let base = pointer(&[key]);
        let ty = f.get("type").and_then(Value::as_str).unwrap_or_default();
        if f.contains_key("modules") && !v3 {
            ctx.push(
                Severity::Error,
                IPARAMS_JSON,
                &format!("{base}/modules"),
                Target::Key,
                "iparam-keys",
                format!("Invalid key(s), modules, found in the '{key}' field."),
                Some("`modules` on an iparam is a platform 3.x feature; remove it".into()),
            );
        } else if let Some(mods) = f.get("modules").and_then(Value::as_array) {
            for (i, m) in mods.iter().enumerate() {
                let Some(m) = m.as_str() else { continue };
                if !app.manifest.modules.iter().any(|x| x.name == m) {
                    ctx.push(
                        Severity::Warning,
                        IPARAMS_JSON,
                        &format!("{base}/modules/{i}"),
                        Target::Value,
                        "iparam-modules",
                        format!("iparam '{key}' is mapped to the module '{m}', which manifest.json does not have"),
                        Some(format!(
                            "use one of the manifest's modules: {}",
                            app.manifest.modules.iter().map(|x| x.name.as_str()).collect::<Vec<_>>().join(", ")
                        )),
                    );
                }
            }
        }
        let with_options = IparamType::parse(ty).is_some_and(IparamType::has_options);
        if !with_options && f.contains_key("options") && !ty.is_empty() {
            ctx.push(
                Severity::Error,
                IPARAMS_JSON,
                &format!("{base}/options"),
                Target::Key,
                "iparam-options",
                format!("Options must not be specified for {ty} type in the '{key}' field."),
                Some("remove options, or use type dropdown, radio or multiselect".into()),
            );
        }
        if with_options {
            options(ctx, key, ty, f);
        }
        if ty == "checkbox"
            && let Some(d) = f.get("default_value")
            && !d.is_boolean()
        {
            ctx.push(
                Severity::Error,
                IPARAMS_JSON,
                &format!("{base}/default_value"),
                Target::Value,
                "iparam-boolean",
                format!(
                    "Specify either true or false for the default_value key in the '{key}' field."
                ),
                Some("write true or false without quotes".into()),
            );
        }
        if ty == "domain" || ty == "api_key" {
            type_attributes(ctx, key, ty, f);
        }
        if let Some(regex) = f.get("regex")
            && truthy(regex)
        {
            regexes(ctx, key, ty, regex);
        }
        if let Some(events) = f.get("events").and_then(Value::as_array) {
            self::events(ctx, key, events);
        }
        data_bind(ctx, key, ty, f);
        let lower = key.to_lowercase();
        if ["auth", "token", "key", "secret"]
            .iter()
            .any(|s| lower.contains(s))
            && !lower.contains("api_domain")
            && !f.get("secure").is_some_and(truthy)
        {
            ctx.push(
                Severity::Warning,
                IPARAMS_JSON,
                &base,
                Target::Key,
                "iparam-secure-name",
                format!("iparam '{key}' appears to be a secure param but it isn't marked as secure."),
                Some("add \"secure\": true so the value is stored encrypted and never sent to the browser (use it in header values only)".into()),
            );
        }
    }
}

fn options(ctx: &mut Ctx<'_>, key: &str, ty: &str, f: &Map<String, Value>) {
    let base = pointer(&[key]);
    if !f.contains_key("default_value") {
        ctx.push(
            Severity::Error,
            IPARAMS_JSON,
            &base,
            Target::Key,
            "iparam-default",
            format!("In the '{key}' field, specify the default value for the {ty} type."),
            Some("add \"default_value\" with one of the options".into()),
        );
    }
    let Some(opts) = f.get("options") else {
        ctx.push(
            Severity::Error,
            IPARAMS_JSON,
            &base,
            Target::Key,
            "iparam-options",
            format!("In the '{key}' field, specify options for the {ty} type."),
            Some("add \"options\": [\"first\", \"second\"]".into()),
        );
        return;
    };
    let Some(opts) = opts.as_array() else {
        return; // reported by the schema
    };
    if let Some((i, o)) = opts.iter().enumerate().find(|(_, o)| !o.is_string()) {
        ctx.push(
            Severity::Warning,
            IPARAMS_JSON,
            &format!("{base}/options/{i}"),
            Target::Value,
            "iparam-options-format",
            format!(
                "In the '{key}' field, option {i} is {}; FDK's generated page shows plain strings",
                describe(o)
            ),
            Some("write the options as strings, e.g. [\"low\", \"high\"]".into()),
        );
    }
    let Some(default) = f.get("default_value") else {
        return;
    };
    let listed = match default {
        Value::Array(items) => items.iter().all(|d| opts.contains(d)),
        d => opts.contains(d),
    };
    if !listed {
        ctx.push(
            Severity::Error,
            IPARAMS_JSON,
            &format!("{base}/default_value"),
            Target::Value,
            "iparam-default",
            format!("The default value specified for the '{key}' {ty} type is not listed in the options."),
            Some(format!(
                "use one of: {}",
                opts.iter().map(|o| o.to_string()).collect::<Vec<_>>().join(", ")
            )),
        );
    }
}

fn type_attributes(ctx: &mut Ctx<'_>, key: &str, ty: &str, f: &Map<String, Value>) {
    let base = pointer(&[key]);
    let Some(ta) = f.get("type_attributes") else {
        ctx.push(
            Severity::Error,
            IPARAMS_JSON,
            &base,
            Target::Key,
            "iparam-type-attributes",
            format!("type_attributes must be specified for type {ty} in iparams.json."),
            Some("add \"type_attributes\": {\"product\": \"freshdesk\"} (the product whose account it belongs to, or \"current\")".into()),
        );
        return;
    };
    let Some(product) = ta.get("product") else {
        ctx.push(
            Severity::Error,
            IPARAMS_JSON,
            &format!("{base}/type_attributes"),
            Target::Value,
            "iparam-type-attributes",
            format!(
                "Mandatory key(s) product missing in type_attributes for {key} in iparams.json."
            ),
            Some("add \"product\": \"freshdesk\" (or \"current\")".into()),
        );
        return;
    };
    let p = product.as_str().unwrap_or_default();
    if ty == "domain" && !PRODUCTS.contains(&p) && p != "current" {
        ctx.push(
            Severity::Error,
            IPARAMS_JSON,
            &format!("{base}/type_attributes/product"),
            Target::Value,
            "iparam-type-attributes",
            format!(
                "Invalid product name format '{}'. Use lowercase without space",
                match product {
                    Value::String(s) => s.clone(),
                    v => v.to_string(),
                }
            ),
            Some(format!("use \"current\" or one of {}", PRODUCTS.join(", "))),
        );
    } else if ty == "domain" && p == "freshchat" {
        ctx.push(
            Severity::Error,
            IPARAMS_JSON,
            &format!("{base}/type_attributes/product"),
            Target::Value,
            "iparam-type-attributes",
            "Invalid type 'domain' for freshchat product found in iparams.json.".into(),
            Some("use a text or url field for the Freshchat URL".into()),
        );
    } else if ty == "api_key" && !PRODUCTS.contains(&p) && p != "current" {
        ctx.push(
            Severity::Warning,
            IPARAMS_JSON,
            &format!("{base}/type_attributes/product"),
            Target::Value,
            "iparam-type-attributes-product",
            format!("iparam '{key}': '{p}' is not a Freshworks product, so the installation page cannot verify this API key against it"),
            Some("for another service's key use \"type\": \"text\" with \"secure\": true".into()),
        );
    }
}

fn regexes(ctx: &mut Ctx<'_>, key: &str, ty: &str, regex: &Value) {
    let ptr = pointer(&[key, "regex"]);
    if !REGEX_TYPES.contains(&ty) {
        ctx.push(
            Severity::Error,
            IPARAMS_JSON,
            &ptr,
            Target::Key,
            "iparam-regex",
            format!("Regex for {ty} type is not supported."),
            Some("regex works on text, email, phone_number and url fields; remove it".into()),
        );
        return;
    }
    let Some(map) = regex.as_object() else { return };
    if map.is_empty() {
        ctx.push(
            Severity::Error,
            IPARAMS_JSON,
            &ptr,
            Target::Value,
            "iparam-regex",
            format!("For the '{key}' field, regex should not be empty."),
            Some(
                "add {\"name\": \"^pattern$\", \"name-error\": \"message\"} or remove regex".into(),
            ),
        );
    }
    for (name, pattern) in map {
        if name.ends_with("-error") {
            continue;
        }
        let pptr = format!("{ptr}/{}", crate::app::manifest::escape(name));
        if !map.contains_key(&format!("{name}-error")) {
            ctx.push(
                Severity::Error,
                IPARAMS_JSON,
                &pptr,
                Target::Key,
                "iparam-regex",
                format!("In the '{key}' field, error message is missing for '{name}'."),
                Some(format!(
                    "add \"{name}-error\": \"the message shown when the value does not match\""
                )),
            );
        }
        let Some(p) = pattern.as_str() else { continue };
        if fancy_regex::Regex::new(p).is_err() {
            // JavaScript's RegExp and Rust's engine differ at the edges: a warning, not FDK's error.
            ctx.push(
                Severity::Warning,
                IPARAMS_JSON,
                &pptr,
                Target::Value,
                "iparam-regex-pattern",
                format!("Invalid regex entered for '{name}' in the '{key}' field."),
                Some("check the pattern (it is a JavaScript regular expression without the / delimiters)".into()),
            );
        }
    }
}

/// `events`: only `change`, and (unless `--config-only`) the handler must be a function
/// declared in `config/assets/iparams.js`.
fn events(ctx: &mut Ctx<'_>, key: &str, events: &[Value]) {
    let js = ctx.iparams_js().map(str::to_owned);
    for (i, ev) in events.iter().enumerate() {
        let Some(ev) = ev.as_object() else { continue };
        let ptr = pointer(&[key, "events", &i.to_string()]);
        for (name, handler) in ev {
            if name != "change" {
                ctx.push(
                    Severity::Error,
                    IPARAMS_JSON,
                    &format!("{ptr}/{}", crate::app::manifest::escape(name)),
                    Target::Key,
                    "iparam-events",
                    format!("The {name} event is not supported in the '{key}' field"),
                    Some("only {\"change\": \"functionName\"} is supported".into()),
                );
                continue;
            }
            let (Some(js), Some(handler)) = (&js, handler.as_str()) else {
                continue;
            };
            let declared =
                regex::Regex::new(&format!(r"\bfunction\s+{}\s*\(", regex::escape(handler)))
                    .map(|re| re.is_match(js))
                    .unwrap_or(false);
            if !declared {
                ctx.push(
                    Severity::Error,
                    IPARAMS_JSON,
                    &format!("{ptr}/change"),
                    Target::Value,
                    "iparam-events",
                    format!("The {handler} function does not exist for the '{key}' field."),
                    Some(format!("declare `function {handler}(newValue) {{ … }}` at the top level of config/assets/iparams.js")),
                );
            }
        }
    }
}

/// `data-bind` on a domain/api_key field: the product must be `current` in an omni app, or
/// the manifest's product (platform 2.x; FDK 6.9 reads `product` only).
fn data_bind(ctx: &mut Ctx<'_>, key: &str, ty: &str, f: &Map<String, Value>) {
    let app = ctx.app;
    if !(ty == "domain" || ty == "api_key")
        || !f.get("data-bind").is_some_and(truthy)
        || !ctx.usable(MANIFEST)
        || app.manifest.generation != Generation::V2
    {
        return;
    }
    let Some(product) = f
        .get("type_attributes")
        .and_then(|t| t.get("product"))
        .and_then(Value::as_str)
    else {
        return;
    };
    if product == "current" {
        return;
    }
    let products: Vec<&str> = app
        .manifest
        .modules
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    let ptr = pointer(&[key, "type_attributes", "product"]);
    if products.len() > 1 {
        ctx.push(
            Severity::Error,
            IPARAMS_JSON,
            &ptr,
            Target::Value,
            "iparam-data-bind",
            "In iparams.json, the type_attributes.product value must be \"current\", as your app supports multiple products. Please modify it.".into(),
            Some("write \"product\": \"current\"".into()),
        );
    } else if products.first().is_some_and(|p| *p != product) {
        ctx.push(
            Severity::Error,
            IPARAMS_JSON,
            &ptr,
            Target::Value,
            "iparam-data-bind",
            format!("In iparams.json, type_attributes.product is \"{product}\". It must be the same as the product name mentioned in manifest.json. Please modify it."),
            Some(format!("write \"product\": \"{}\" or \"current\"", products[0])),
        );
    }
}
