//! `<%= … %>` expressions in `requests.json` and `oauth_config.json`: each must parse in the
//! project's template language ([`crate::template`]) and refer only to variables that exist
//! where it is used. Positions point at the tag inside the JSON string.

use serde_json::Value;

use super::position::pointer;
use super::{Ctx, Severity};
use crate::app::{IPARAMS_JSON, OAUTH_CONFIG, REQUESTS, RequestTemplate};
use crate::template;

/// Roots a request template may use. `app_settings` appears in Freshworks' 2026 samples.
const REQUEST_ROOTS: &[&str] = &[
    "iparam",
    "context",
    "access_token",
    "oauth_iparams",
    "current_host",
    "app_settings",
];

/// Where in a template a string sits: decides which variables belong there.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Host,
    Path,
    HeaderValue,
    Query,
    Other,
}

impl Field {
    fn name(self) -> &'static str {
        match self {
            Field::Host => "host",
            Field::Path => "path",
            Field::HeaderValue => "a header value",
            Field::Query => "a query value",
            Field::Other => "this field",
        }
    }
}

pub(crate) fn check(ctx: &mut Ctx<'_>) {
    requests(ctx);
    oauth_config(ctx);
}

fn requests(ctx: &mut Ctx<'_>) {
    let app = ctx.app;
    let Some(obj) = app.requests_file.as_ref().and_then(|f| f.object()) else {
        return;
    };
    for (name, body) in obj {
        let Some(schema) = body.get("schema").and_then(Value::as_object) else {
            continue;
        };
        let tmpl = app.templates.get(name);
        let mut strings: Vec<(String, &str, Field)> = Vec::new();
        for (key, field) in [("host", Field::Host), ("path", Field::Path)] {
            if let Some(s) = schema.get(key).and_then(Value::as_str) {
                strings.push((pointer(&[name, "schema", key]), s, field));
            }
        }
        for (section, field) in [("headers", Field::HeaderValue), ("query", Field::Query)] {
            if let Some(m) = schema.get(section).and_then(Value::as_object) {
                for (k, v) in m {
                    if let Some(s) = v.as_str() {
                        strings.push((pointer(&[name, "schema", section, k]), s, field));
                    }
                }
            }
        }
        if let Some(sec) = body.pointer("/options/security").and_then(Value::as_object) {
            for (k, v) in sec {
                if let Some(s) = v.as_str() {
                    strings.push((pointer(&[name, "options", "security", k]), s, Field::Other));
                }
            }
        }
        for (ptr, s, field) in strings {
            if !s.contains("<%") {
                continue;
            }
            request_string(ctx, name, tmpl, &ptr, s, field);
        }
    }
}

fn request_string(
    ctx: &mut Ctx<'_>,
    name: &str,
    tmpl: Option<&RequestTemplate>,
    ptr: &str,
    s: &str,
    field: Field,
) {
    let app = ctx.app;
    let Some(parsed) = parse(ctx, REQUESTS, ptr, s, &format!("request template '{name}'")) else {
        return;
    };
    let iparam_fields = if ctx.usable(IPARAMS_JSON) {
        app.iparams.fields()
    } else {
        None
    };
    let uses_oauth = tmpl.is_some_and(RequestTemplate::uses_oauth);
    for r in parsed.references() {
        let tag = s.get(r.span.clone()).unwrap_or("").to_string();
        let root = r.root().to_string();
        match root.as_str() {
            "iparam" => {
                let Some(key) = r.path.get(1) else { continue };
                match iparam_fields.map(|f| f.get(key)) {
                    Some(None) => ctx.push_in_string(
                        Severity::Error,
                        REQUESTS,
                        ptr,
                        r.span.start,
                        "iparam-undefined",
                        format!("request template '{name}': `{tag}` uses the iparam '{key}', which config/iparams.json does not define"),
                        Some(suggest(key, iparam_fields.map(|f| f.keys().map(String::as_str).collect()).unwrap_or_default(), "add the field to config/iparams.json")),
                    ),
                    Some(Some(f)) if f.secure && field != Field::HeaderValue => ctx.push_in_string(
                        Severity::Warning,
                        REQUESTS,
                        ptr,
                        r.span.start,
                        "secure-iparam-placement",
                        format!("request template '{name}': the secure iparam '{key}' is used in {}; secure iparams may only be used in header values", field.name()),
                        Some("send the secret in a header (e.g. Authorization), or remove \"secure\" if the value is not secret".into()),
                    ),
                    _ => {}
                }
            }
            "access_token" if !uses_oauth => ctx.push_in_string(
                Severity::Error,
                REQUESTS,
                ptr,
                r.span.start,
                "access-token-without-oauth",
                format!("OAuth request missing options: request template '{name}' uses `{tag}` but sets neither options.oauth nor options.isOAuth"),
                Some(match app.oauth.as_ref().map(|o| o.form) {
                    Some(crate::app::oauth_config::OAuthForm::Integrations) => format!(
                        "add \"options\": {{\"oauth\": \"{}\"}} to the template",
                        app.oauth.as_ref().and_then(|o| o.integrations.keys().next()).map_or("name", String::as_str)
                    ),
                    _ => "add \"options\": {\"isOAuth\": true} (platform 2.3) or {\"oauth\": \"<integration>\"} (platform 3.x)".into(),
                }),
            ),
            "oauth_iparams" => {
                let Some(key) = r.path.get(1) else { continue };
                let Some(cfg) = app.oauth.as_ref().filter(|_| ctx.usable(OAUTH_CONFIG)) else {
                    continue;
                };
                let wanted = tmpl.and_then(|t| t.options.oauth.as_deref());
                let defined = cfg
                    .integrations
                    .values()
                    .filter(|i| wanted.is_none_or(|w| i.name == w))
                    .any(|i| i.oauth_iparams.contains_key(key));
                if !defined {
                    ctx.push_in_string(
                        Severity::Warning,
                        REQUESTS,
                        ptr,
                        r.span.start,
                        "oauth-iparam-undefined",
                        format!("request template '{name}': `{tag}` uses the OAuth parameter '{key}', which no oauth_iparams in config/oauth_config.json defines"),
                        Some(format!("add \"{key}\" to oauth_iparams of the integration")),
                    );
                }
            }
            r if REQUEST_ROOTS.contains(&r) => {}
            other => ctx.push_in_string(
                Severity::Error,
                REQUESTS,
                ptr,
                r.span.start,
                "expression-unknown-root",
                format!("request template '{name}': `{tag}` refers to `{other}`, which does not exist in request templates"),
                Some(suggest(other, REQUEST_ROOTS.to_vec(), &format!("use one of {}, or encode(…)", REQUEST_ROOTS.join(", ")))),
            ),
        }
    }
}

/// `oauth_config.json` is rendered as a whole with `oauth_iparams` (FDK 6.9): every string
/// may hold tags that use them.
fn oauth_config(ctx: &mut Ctx<'_>) {
    let app = ctx.app;
    let Some(value) = app.oauth_file.as_ref().and_then(|f| f.value.as_ref()) else {
        return;
    };
    let mut strings = Vec::new();
    collect_strings(value, &mut Vec::new(), &mut strings);
    for (tokens, s) in strings {
        if !s.contains("<%") {
            continue;
        }
        let ptr = pointer(&tokens);
        let Some(parsed) = parse(ctx, OAUTH_CONFIG, &ptr, s, "oauth_config.json") else {
            continue;
        };
        // The integration the string belongs to decides which oauth_iparams exist.
        let integration = if tokens.first().map(String::as_str) == Some("integrations") {
            tokens
                .get(1)
                .and_then(|n| app.oauth.as_ref()?.integrations.get(n))
        } else {
            app.oauth
                .as_ref()
                .and_then(|o| o.integrations.values().next())
        };
        for r in parsed.references() {
            let tag = s.get(r.span.clone()).unwrap_or("").to_string();
            match r.root() {
                "oauth_iparams" => {
                    let Some(key) = r.path.get(1) else { continue };
                    if integration.is_some_and(|i| !i.oauth_iparams.contains_key(key)) {
                        ctx.push_in_string(
                            Severity::Warning,
                            OAUTH_CONFIG,
                            &ptr,
                            r.span.start,
                            "oauth-iparam-undefined",
                            format!("`{tag}` uses the OAuth parameter '{key}', which this configuration's oauth_iparams does not define"),
                            Some(format!("add \"{key}\": {{\"display_name\": …, \"description\": …, \"type\": \"text\"}} to oauth_iparams")),
                        );
                    }
                }
                "iparam" => ctx.push_in_string(
                    Severity::Warning,
                    OAUTH_CONFIG,
                    &ptr,
                    r.span.start,
                    "iparam-in-oauth-config",
                    format!("`{tag}` uses an installation parameter; FDK renders oauth_config.json with oauth_iparams only, so this may be empty there"),
                    Some("collect the value as an oauth_iparams field and use <%= oauth_iparams.name %>".into()),
                ),
                other => ctx.push_in_string(
                    Severity::Error,
                    OAUTH_CONFIG,
                    &ptr,
                    r.span.start,
                    "expression-unknown-root",
                    format!("`{tag}` refers to `{other}`, which does not exist in oauth_config.json"),
                    Some(suggest(other, vec!["oauth_iparams"], "use <%= oauth_iparams.name %> or encode(…)")),
                ),
            }
        }
    }
}

fn collect_strings<'v>(
    v: &'v Value,
    path: &mut Vec<String>,
    out: &mut Vec<(Vec<String>, &'v str)>,
) {
    match v {
        Value::String(s) => out.push((path.clone(), s)),
        Value::Array(a) => {
            for (i, item) in a.iter().enumerate() {
                path.push(i.to_string());
                collect_strings(item, path, out);
                path.pop();
            }
        }
        Value::Object(m) => {
            for (k, item) in m {
                path.push(k.clone());
                collect_strings(item, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

/// Parses one string, reporting a syntax error at its position.
fn parse(
    ctx: &mut Ctx<'_>,
    file: &str,
    ptr: &str,
    s: &str,
    what: &str,
) -> Option<template::Template> {
    match template::parse(s) {
        Ok(t) => Some(t),
        Err(e) => {
            ctx.push_in_string(
                Severity::Error,
                file,
                ptr,
                e.offset.min(s.len()),
                "expression-syntax",
                format!("{what}: the <%= %> expression cannot be read: {}", e.kind),
                Some("write <%= path.to.value %>, e.g. <%= iparam.api_key %> or <%= encode(iparam.key + ':X') %>".into()),
            );
            None
        }
    }
}

/// A hint naming the closest known name, when one is close.
fn suggest(got: &str, known: Vec<&str>, fallback: &str) -> String {
    let best = known
        .iter()
        .map(|k| (crate::template::edit_distance(got, k), *k))
        .min_by_key(|(d, _)| *d)
        .filter(|(d, k)| *d <= 2.max(k.len() / 4));
    match best {
        Some((_, k)) => format!("did you mean `{k}`? ({fallback})"),
        None => fallback.to_string(),
    }
}
