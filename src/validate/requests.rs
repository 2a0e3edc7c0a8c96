//! `config/requests.json`: schema, template names and count, manifest declarations, host
//! and path format, protocol, options, and the OAuth option against `oauth_config.json`.

use serde_json::Value;

use super::position::{Target, pointer};
use super::schema::{self, SchemaKind, describe};
use super::{Ctx, Severity};
use crate::app::{Generation, MANIFEST, OAUTH_CONFIG, REQUESTS, oauth_config::OAuthForm};

/// FDK's limit on templates per app (request-method docs).
pub const MAX_TEMPLATES: usize = 100;

pub(crate) fn check(ctx: &mut Ctx<'_>) {
    let app = ctx.app;
    declarations(ctx);
    let Some(file) = &app.requests_file else {
        return;
    };
    let Some(value) = &file.value else { return };
    schema::check(ctx, REQUESTS, SchemaKind::Requests, value);
    let Some(obj) = value.as_object() else { return };

    if let Some(v) = app.manifest.version()
        && v < (2, 3)
        && !obj.is_empty()
        && ctx.usable(MANIFEST)
    {
        ctx.push(
            Severity::Warning,
            REQUESTS,
            "",
            Target::Value,
            "templates-platform",
            format!(
                "request templates need platform 2.3 or later, but manifest.json says {}",
                app.manifest.platform_version.as_deref().unwrap_or("?")
            ),
            Some(
                "set \"platform-version\": \"2.3\" (or move to 3.0) to use config/requests.json"
                    .into(),
            ),
        );
    }
    if obj.len() > MAX_TEMPLATES {
        let name = obj.keys().nth(MAX_TEMPLATES).cloned().unwrap_or_default();
        ctx.push(
            Severity::Error,
            REQUESTS,
            &pointer(&[&name]),
            Target::Key,
            "template-limit",
            format!(
                "config/requests.json defines {} templates; you can configure a maximum of {MAX_TEMPLATES} templates",
                obj.len()
            ),
            Some("merge templates that differ only by values: use <%= context.x %> for the parts that vary".into()),
        );
    }

    for (name, body) in obj {
        let base = pointer(&[name]);
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            ctx.push(
                Severity::Error,
                REQUESTS,
                &base,
                Target::Key,
                "template-name",
                format!("request template name {} may contain only letters, digits, _ and -", Value::String(name.clone())),
                Some("rename the template (and its declaration in manifest.json and the invokeTemplate calls)".into()),
            );
        }
        let Some(schema) = body.get("schema").and_then(Value::as_object) else {
            continue;
        };
        if let Some(host) = schema.get("host").and_then(Value::as_str) {
            host_format(ctx, name, host);
        }
        if let Some(path) = schema.get("path").and_then(Value::as_str) {
            path_format(ctx, name, path);
        }
        if schema.get("protocol").and_then(Value::as_str) == Some("http") {
            ctx.push(
                Severity::Warning,
                REQUESTS,
                &format!("{base}/schema/protocol"),
                Target::Value,
                "protocol-http",
                format!("request template '{name}' uses protocol http: it works locally, but `fdk pack` and the Marketplace accept only https"),
                Some("use \"protocol\": \"https\" (or leave protocol out) before publishing".into()),
            );
        }
        if let Some(query) = schema.get("query").and_then(Value::as_object) {
            for (k, v) in query {
                if !(v.is_string() || v.is_number()) {
                    ctx.push(
                        Severity::Warning,
                        REQUESTS,
                        &format!("{base}/schema/query/{}", crate::app::manifest::escape(k)),
                        Target::Value,
                        "query-value-type",
                        format!("request template '{name}': query parameter '{k}' is {}; the docs allow strings and numbers", describe(v)),
                        Some(format!("write it as a string, e.g. \"{k}\": \"{}\"", match v { Value::Bool(b) => b.to_string(), _ => "…".into() })),
                    );
                }
            }
        }
        options(ctx, name, body.get("options"));
    }
}

/// Templates declared in the manifest but not defined (error), and the reverse (warning).
fn declarations(ctx: &mut Ctx<'_>) {
    let app = ctx.app;
    if !ctx.usable(MANIFEST) || ctx.broken.contains(REQUESTS) {
        return;
    }
    let defined = app.requests_file.as_ref().and_then(|f| f.object());
    for (name, ptr) in &app.manifest.declared_requests {
        if !defined.is_some_and(|d| d.contains_key(name)) {
            ctx.push(
                Severity::Error,
                MANIFEST,
                ptr,
                Target::Key,
                "template-not-defined",
                format!("Request template '{name}' is not defined in config/requests.json"),
                Some(format!(
                    "add \"{name}\": {{\"schema\": {{\"method\": \"GET\", \"host\": \"…\", \"path\": \"/…\"}}}} to config/requests.json, or remove the declaration"
                )),
            );
        }
    }
    let Some(defined) = defined else { return };
    let where_ = match app.manifest.generation {
        Generation::V2 => "product.<name>.requests",
        Generation::V3 => "modules.common.requests",
    };
    for name in defined.keys() {
        if !app.manifest.declared_requests.contains_key(name) {
            ctx.push(
                Severity::Warning,
                REQUESTS,
                &pointer(&[name]),
                Target::Key,
                "template-undeclared",
                format!("request template '{name}' is declared but not associated with any product: it is defined in config/requests.json but not declared in manifest.json, so invokeTemplate cannot call it"),
                Some(format!("add \"{name}\": {{}} to {where_} in manifest.json, or delete the template")),
            );
        }
    }
}

/// `schema.host` must be a domain name: no scheme, path, port or IP address. Text produced
/// by `<%= … %>` tags is unknown, so each tag stands for a valid label.
fn host_format(ctx: &mut Ctx<'_>, name: &str, host: &str) {
    let ptr = pointer(&[name, "schema", "host"]);
    let shape = mask_tags(host);
    let problem = if shape.contains("://") {
        Some((
            "must not have a scheme",
            format!("write only the host name: \"{}\"", strip_scheme(host)),
        ))
    } else if shape.contains('/') {
        Some((
            "must not have path",
            "put the path in \"path\" and keep only the host name here".to_string(),
        ))
    } else if shape.trim() != shape || shape.contains(char::is_whitespace) {
        Some((
            "must be FQDN (it contains spaces)",
            "remove the spaces".to_string(),
        ))
    } else if is_ip(&shape) {
        Some((
            "must not be an IP address",
            "use the server's domain name".to_string(),
        ))
    } else if shape.contains(':') {
        Some((
            "must not have a port",
            "remove the port: templates reach the standard port of the protocol".to_string(),
        ))
    } else if !shape.is_empty() && !is_fqdn(&shape) {
        Some((
            "must be FQDN",
            "write a domain name such as \"api.example.com\"".to_string(),
        ))
    } else {
        None
    };
    if let Some((what, hint)) = problem {
        ctx.push(
            Severity::Error,
            REQUESTS,
            &ptr,
            Target::Value,
            "host-format",
            format!("Request template schema/host {what}: '{name}' has host \"{host}\""),
            Some(hint),
        );
    }
}

fn strip_scheme(host: &str) -> String {
    let rest = host.split_once("://").map_or(host, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest).to_string()
}

/// `schema.path` must start with `/` (a path that starts with a tag is the tag's business).
fn path_format(ctx: &mut Ctx<'_>, name: &str, path: &str) {
    let ptr = pointer(&[name, "schema", "path"]);
    if !path.starts_with('/') && !path.starts_with("<%") {
        ctx.push(
            Severity::Error,
            REQUESTS,
            &ptr,
            Target::Value,
            "path-format",
            format!(
                "Request template schema/path must start with '/': '{name}' has path \"{path}\""
            ),
            Some(format!("write \"/{path}\"")),
        );
    } else if mask_tags(path).contains('?') {
        ctx.push(
            Severity::Warning,
            REQUESTS,
            &ptr,
            Target::Value,
            "path-query",
            format!("request template '{name}' has query parameters in its path; they belong in schema.query"),
            Some("move each parameter to \"query\": {\"name\": \"value\"}, so values are encoded for you".into()),
        );
    }
}

/// The text with every `<%= … %>` tag replaced by `x` (a stand-in DNS label).
fn mask_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("<%") {
        out.push_str(&rest[..i]);
        out.push('x');
        match rest[i..].find("%>") {
            Some(j) => rest = &rest[i + j + 2..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

fn is_ip(s: &str) -> bool {
    let bare = s.trim_start_matches('[').split(']').next().unwrap_or(s);
    bare.parse::<std::net::IpAddr>().is_ok()
        || s.rsplit_once(':').is_some_and(|(h, p)| {
            p.parse::<u16>().is_ok() && h.parse::<std::net::Ipv4Addr>().is_ok()
        })
}

fn is_fqdn(s: &str) -> bool {
    let s = s.strip_suffix('.').unwrap_or(s);
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

/// Option ranges, and the OAuth option against the app's oauth_config.json.
fn options(ctx: &mut Ctx<'_>, name: &str, opts: Option<&Value>) {
    let app = ctx.app;
    let Some(opts) = opts.and_then(Value::as_object) else {
        return;
    };
    let base = pointer(&[name, "options"]);
    let range = |k: &str, lo: i64, hi: i64| -> Option<i64> {
        let n = opts.get(k)?.as_i64()?;
        (!(lo..=hi).contains(&n)).then_some(n)
    };
    if let Some(n) = range("maxAttempts", 1, 5) {
        ctx.push(
            Severity::Warning,
            REQUESTS,
            &format!("{base}/maxAttempts"),
            Target::Value,
            "option-range",
            format!("request template '{name}': maxAttempts is {n}; FDK allows 1 to 5 and fdk-emu uses {}", n.clamp(1, 5)),
            Some("use a value from 1 to 5".into()),
        );
    }
    if let Some(n) = range("retryDelay", 0, 1500) {
        ctx.push(
            Severity::Warning,
            REQUESTS,
            &format!("{base}/retryDelay"),
            Target::Value,
            "option-range",
            format!("request template '{name}': retryDelay is {n} ms; FDK allows up to 1500 and fdk-emu uses {}", n.clamp(0, 1500)),
            Some("use a delay from 0 to 1500 milliseconds".into()),
        );
    }
    let oauth_usable = ctx.usable(OAUTH_CONFIG);
    let oauth_broken = ctx.broken.contains(OAUTH_CONFIG);
    if let Some(integration) = opts.get("oauth").and_then(Value::as_str) {
        let ptr = format!("{base}/oauth");
        match &app.oauth {
            _ if oauth_broken => {}
            None => ctx.push(
                Severity::Error,
                REQUESTS,
                &ptr,
                Target::Value,
                "oauth-integration-missing",
                format!("request template '{name}' uses the OAuth integration '{integration}', but the app has no config/oauth_config.json"),
                Some(format!("add config/oauth_config.json with \"integrations\": {{\"{integration}\": {{…}}}}, or remove options.oauth")),
            ),
            Some(cfg) if oauth_usable && cfg.form == OAuthForm::Single => ctx.push(
                Severity::Error,
                REQUESTS,
                &ptr,
                Target::Value,
                "oauth-integration-missing",
                format!("request template '{name}' names the OAuth integration '{integration}', but config/oauth_config.json has the single form, without integrations"),
                Some("use \"isOAuth\": true with a single-form config, or move the config into \"integrations\"".into()),
            ),
            Some(cfg) if oauth_usable && !cfg.integrations.contains_key(integration) => {
                let known: Vec<&str> = cfg.integrations.keys().map(String::as_str).collect();
                ctx.push(
                    Severity::Error,
                    REQUESTS,
                    &ptr,
                    Target::Value,
                    "oauth-integration-missing",
                    format!("request template '{name}' uses the OAuth integration '{integration}', which config/oauth_config.json does not define"),
                    Some(if known.is_empty() {
                        "define the integration under \"integrations\" in config/oauth_config.json".into()
                    } else {
                        format!("use one of the defined integrations: {}", known.join(", "))
                    }),
                );
            }
            Some(_) => {}
        }
    }
    if opts.get("isOAuth").and_then(Value::as_bool) == Some(true) {
        let ptr = format!("{base}/isOAuth");
        match &app.oauth {
            _ if oauth_broken => {}
            None => ctx.push(
                Severity::Error,
                REQUESTS,
                &ptr,
                Target::Value,
                "oauth-config-missing",
                format!("request template '{name}' sets isOAuth, but the app has no config/oauth_config.json"),
                Some("add config/oauth_config.json, or remove isOAuth".into()),
            ),
            Some(cfg) if cfg.form == OAuthForm::Integrations => {
                let first = cfg.integrations.keys().next().cloned().unwrap_or_else(|| "name".into());
                ctx.push(
                    Severity::Error,
                    REQUESTS,
                    &ptr,
                    Target::Key,
                    "isoauth-with-integrations",
                    format!("request template '{name}' sets isOAuth, but config/oauth_config.json uses integrations: say which one"),
                    Some(format!("replace \"isOAuth\": true with \"oauth\": \"{first}\"")),
                );
            }
            Some(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_tags() {
        assert_eq!(
            mask_tags("<%= iparam.d %>.freshdesk.com"),
            "x.freshdesk.com"
        );
        assert!(is_fqdn(&mask_tags("<%= iparam.d %>.freshdesk.com")));
        assert!(is_fqdn("00.us-west-2.api.hotelkeyapp.com"));
        assert!(!is_fqdn("a..b"));
        assert!(is_ip("10.0.0.1"));
        assert!(is_ip("10.0.0.1:80"));
        assert!(!is_ip("api.example.com"));
    }
}
