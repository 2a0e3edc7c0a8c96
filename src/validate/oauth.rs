//! `config/oauth_config.json`: schema per form, FDK 6.9's mandatory keys (empty counts as
//! missing), `oauth_iparams`, the form a platform expects and the integration limits.

use serde_json::{Map, Value};

use super::position::{Target, pointer};
use super::schema::{self, SchemaKind};
use super::{Ctx, Severity};
use crate::app::oauth_config::Credential;
use crate::app::{Generation, MANIFEST, OAUTH_CONFIG};

const MANDATORY: &[&str] = &[
    "client_id",
    "client_secret",
    "authorize_url",
    "token_url",
    "token_type",
];
const IPARAM_KEYWORDS: &[&str] = &["display_name", "description", "type", "required"];
const IPARAM_MANDATORY: &[&str] = &["display_name", "description", "type"];

pub(crate) fn check(ctx: &mut Ctx<'_>) {
    let app = ctx.app;
    let Some(file) = &app.oauth_file else { return };
    let Some(value) = &file.value else { return };
    let integrations = value.get("integrations");
    let kind = if integrations.is_some() {
        SchemaKind::OAuthIntegrations
    } else {
        SchemaKind::OAuthSingle
    };
    schema::check(ctx, OAUTH_CONFIG, kind, value);
    let Some(obj) = value.as_object() else { return };

    let generation = ctx.usable(MANIFEST).then_some(app.manifest.generation);
    match (integrations, generation) {
        (None, Some(Generation::V3)) => ctx.push(
            Severity::Error,
            OAUTH_CONFIG,
            "",
            Target::Value,
            "oauth-form-platform",
            format!(
                "OAuth config must have required property 'integrations': platform {} names each OAuth configuration",
                app.manifest.platform_version.as_deref().unwrap_or("3.x")
            ),
            Some("wrap the settings: {\"integrations\": {\"myprovider\": {\"display_name\": \"…\", \"client_id\": …}}} and use \"oauth\": \"myprovider\" in the templates".into()),
        ),
        (Some(_), Some(Generation::V2)) => ctx.push(
            Severity::Warning,
            OAUTH_CONFIG,
            "/integrations",
            Target::Key,
            "oauth-integrations-platform",
            format!(
                "`integrations` (several OAuth configurations) needs platform 3.x; manifest.json says {}",
                app.manifest.platform_version.as_deref().unwrap_or("?")
            ),
            Some("set \"platform-version\": \"3.0\", or use the single form (client_id … at the top level) with isOAuth".into()),
        ),
        _ => {}
    }

    match integrations {
        None => integration(ctx, "", None, obj),
        Some(ints) => {
            let Some(ints) = ints.as_object() else { return };
            for (name, body) in ints {
                if let Some(body) = body.as_object() {
                    integration(ctx, &pointer(&["integrations", name]), Some(name), body);
                }
            }
            limits(ctx, ints);
        }
    }
}

fn present(v: Option<&Value>) -> bool {
    !matches!(v, None | Some(Value::Null)) && v != Some(&Value::String(String::new()))
}

fn integration(ctx: &mut Ctx<'_>, base: &str, name: Option<&str>, body: &Map<String, Value>) {
    let mut mandatory: Vec<&str> = MANDATORY.to_vec();
    if name.is_some() {
        mandatory.insert(0, "display_name");
    }
    // fdk-emu asks for the client credentials on /oauth_configs when the file leaves them
    // empty (Freshworks' samples ship them as ""), so an empty credential is a warning; a
    // missing key, or any other empty mandatory key, is FDK's error.
    let is_empty_credential = |k: &str| {
        (k == "client_id" || k == "client_secret")
            && matches!(body.get(k), Some(Value::String(s)) if s.is_empty())
    };
    let missing: Vec<&str> = mandatory
        .into_iter()
        .filter(|k| !present(body.get(*k)) && !is_empty_credential(k))
        .collect();
    let empty: Vec<&str> = ["client_id", "client_secret"]
        .into_iter()
        .filter(|k| is_empty_credential(k))
        .collect();
    if !empty.is_empty() {
        let which = name.map_or(String::new(), |n| format!(" of integration '{n}'"));
        ctx.push(
            Severity::Warning,
            OAUTH_CONFIG,
            &format!("{base}/{}", empty[0]),
            Target::Value,
            "oauth-credentials-empty",
            format!(
                "{}{which} is empty in oauth_config.json; `fdk run` refuses this (\"Mandatory key(s) missing\"), fdk-emu asks for it on the OAuth setup page",
                empty.join(" and ")
            ),
            Some(format!(
                "enter the credentials on {}/oauth_configs, or write them (or <%= oauth_iparams.x %>) in the file",
                ctx.base_url()
            )),
        );
    }
    let placeholders: Vec<&str> = ["client_id", "client_secret"]
        .into_iter()
        .filter(|k| {
            body.get(*k)
                .and_then(Value::as_str)
                .is_some_and(|v| Credential::of(v) == Credential::Placeholder)
        })
        .collect();
    if let Some(first) = placeholders.first() {
        let which = name.map_or(String::new(), |n| format!(" of integration '{n}'"));
        // The client ID is quoted to say which text is meant; a secret never is.
        let what: Vec<String> = placeholders
            .iter()
            .map(|k| match (*k, body.get(*k).and_then(Value::as_str)) {
                ("client_id", Some(v)) => format!("client_id \"{v}\""),
                (k, _) => k.to_string(),
            })
            .collect();
        let page = format!(
            "{}/oauth_configs{}",
            ctx.base_url(),
            name.map_or(String::new(), |n| format!(
                "?integration={}",
                url::form_urlencoded::byte_serialize(n.as_bytes()).collect::<String>()
            ))
        );
        ctx.push(
            Severity::Warning,
            OAUTH_CONFIG,
            &format!("{base}/{first}"),
            Target::Value,
            "oauth-credentials-placeholder",
            format!(
                "{}{which} {}, not what the provider issued; fdk-emu asks for the client on the OAuth setup page",
                what.join(" and "),
                if what.len() == 1 { "looks like a placeholder" } else { "look like placeholders" }
            ),
            Some(format!(
                "enter the client ID and secret of your OAuth app on {page} (kept on this machine), or write them in the file"
            )),
        );
    }
    if !missing.is_empty() {
        let which = name.map_or(String::new(), |n| format!(" (integration '{n}')"));
        ctx.push(
            Severity::Error,
            OAUTH_CONFIG,
            base,
            Target::Key,
            "oauth-mandatory-keys",
            format!(
                "Mandatory key(s) missing in oauth_config.json - {}.{which}",
                missing.join(", ")
            ),
            Some(format!(
                "add {} (empty strings count as missing; token_type is \"account\" or \"agent\")",
                missing
                    .iter()
                    .map(|k| format!("\"{k}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        );
    }
    let Some(iparams) = body.get("oauth_iparams").and_then(Value::as_object) else {
        return;
    };
    let iparams_ptr = format!("{base}/oauth_iparams");
    let reserved: Vec<&str> = IPARAM_KEYWORDS
        .iter()
        .copied()
        .filter(|k| iparams.contains_key(*k))
        .collect();
    if !reserved.is_empty() {
        ctx.push(
            Severity::Error,
            OAUTH_CONFIG,
            &format!("{iparams_ptr}/{}", reserved[0]),
            Target::Key,
            "oauth-iparams",
            format!(
                "Reserved keywords {} used as keys in oauth_config.json.",
                reserved.join(",")
            ),
            Some("oauth_iparams holds one object per parameter: {\"shop\": {\"display_name\": …, \"description\": …, \"type\": \"text\"}}".into()),
        );
        return;
    }
    for (key, field) in iparams {
        let ptr = format!("{iparams_ptr}/{}", crate::app::manifest::escape(key));
        if key.is_empty() {
            ctx.push(
                Severity::Error,
                OAUTH_CONFIG,
                &ptr,
                Target::Key,
                "oauth-iparams",
                "The oauth_iparams key should be a non-empty string.".into(),
                Some("name the parameter".into()),
            );
            continue;
        }
        let Some(field) = field.as_object() else {
            continue;
        };
        let missing: Vec<&str> = IPARAM_MANDATORY
            .iter()
            .copied()
            .filter(|k| !present(field.get(*k)))
            .collect();
        if !missing.is_empty() {
            ctx.push(
                Severity::Error,
                OAUTH_CONFIG,
                &ptr,
                Target::Key,
                "oauth-iparams",
                format!(
                    "Mandatory key(s) {} missing for {key} in oauth_config.json.",
                    missing.join(",")
                ),
                Some(format!("add {} to oauth_iparams.{key}", missing.join(", "))),
            );
        }
    }
}

/// Platform 3.0: at most 3 integrations, at most 1 agent-level; 3.1+: at most 5, account only.
fn limits(ctx: &mut Ctx<'_>, ints: &Map<String, Value>) {
    let app = ctx.app;
    if !ctx.usable(MANIFEST) {
        return;
    }
    let Some(version) = app.manifest.version() else {
        return;
    };
    if version.0 != 3 {
        return;
    }
    let (max, agents_allowed) = if version >= (3, 1) { (5, 0) } else { (3, 1) };
    let v = app.manifest.platform_version.as_deref().unwrap_or("3.x");
    if ints.len() > max {
        let extra = ints.keys().nth(max).cloned().unwrap_or_default();
        ctx.push(
            Severity::Error,
            OAUTH_CONFIG,
            &pointer(&["integrations", &extra]),
            Target::Key,
            "oauth-integration-limit",
            format!(
                "platform {v} allows at most {max} OAuth integrations; config/oauth_config.json has {}",
                ints.len()
            ),
            Some(format!("remove integrations until {max} remain")),
        );
    }
    let agents: Vec<&String> = ints
        .iter()
        .filter(|(_, b)| b.get("token_type").and_then(Value::as_str) == Some("agent"))
        .map(|(k, _)| k)
        .collect();
    if agents.len() > agents_allowed {
        let offending = agents[agents_allowed];
        let message = if agents_allowed == 0 {
            format!(
                "platform {v} supports account-level OAuth only; integration '{offending}' has token_type \"agent\""
            )
        } else {
            format!(
                "platform {v} allows at most {agents_allowed} agent-level OAuth integration; {} have token_type \"agent\"",
                agents.len()
            )
        };
        ctx.push(
            Severity::Error,
            OAUTH_CONFIG,
            &pointer(&["integrations", offending, "token_type"]),
            Target::Value,
            "oauth-integration-limit",
            message,
            Some("use \"token_type\": \"account\"".into()),
        );
    }
}
