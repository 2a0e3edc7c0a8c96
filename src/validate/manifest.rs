//! `manifest.json`: its schema per generation, the platform version, products and modules,
//! locations and the files they name, `whitelisted-domains`.

use serde_json::Value;

use super::position::{Target, pointer};
use super::schema::{self, SchemaKind};
use super::{Ctx, Severity};
use crate::app::{Generation, MANIFEST};

/// Platform versions FDK 9 knows (2.0–2.2 are legacy but still run).
const PLATFORMS: &[&str] = &["2.0", "2.1", "2.2", "2.3", "3.0", "3.1"];

/// Products of the 2.x `product` form (FDK addon `product_locations`).
pub(super) const PRODUCTS: &[&str] = &[
    "freshdesk",
    "freshservice",
    "freshsales",
    "freshchat",
    "freshcaller",
    "freshteam",
    "freshworks_crm",
    "freshconnect",
];

/// Placeholders that need no icon (FDK addon `location_without_icons`, all products).
const NO_ICON: &[&str] = &[
    "ticket_requester_info",
    "new_ticket_requester_info",
    "new_email_requester_info",
    "job_boards",
];

pub(crate) fn check(ctx: &mut Ctx<'_>) {
    let app = ctx.app;
    let Some(file) = &app.manifest_file else {
        return;
    };
    let Some(value) = &file.value else { return };
    let manifest = &app.manifest;
    let kind = match manifest.generation {
        Generation::V2 => SchemaKind::ManifestV2,
        Generation::V3 => SchemaKind::ManifestV3,
    };
    schema::check(ctx, MANIFEST, kind, value);
    let Some(obj) = value.as_object() else { return };

    if let Some(v) = manifest.platform_version.as_deref()
        && !PLATFORMS.contains(&v.trim())
    {
        ctx.push(
            Severity::Error,
            MANIFEST,
            "/platform-version",
            Target::Value,
            "platform-version",
            format!("Invalid platform version mentioned in manifest.json - {v}"),
            Some("use \"3.0\" (or 3.1) for a new app; 2.3 apps declare templates under product.<name>.requests".into()),
        );
    }

    match manifest.generation {
        Generation::V2 => {
            if obj.contains_key("modules") {
                ctx.push(
                    Severity::Warning,
                    MANIFEST,
                    "/modules",
                    Target::Key,
                    "manifest-generation",
                    format!(
                        "`modules` is a platform 3.x key, but platform-version is {}: it is ignored and the app is read from `product`",
                        manifest.platform_version.as_deref().unwrap_or("?")
                    ),
                    Some("remove `modules`, or move the app to platform 3.0 and its products into `modules`".into()),
                );
            }
            let products = obj.get("product").and_then(Value::as_object);
            if products.is_none_or(|p| p.is_empty()) {
                ctx.push(
                    Severity::Error,
                    MANIFEST,
                    if products.is_some() { "/product" } else { "" },
                    Target::Value,
                    "manifest-no-product",
                    "Atleast one product must be mentioned in manifest.json".into(),
                    Some("add \"product\": {\"freshdesk\": {\"location\": {…}}}".into()),
                );
            }
            let unknown: Vec<&str> = manifest
                .modules
                .iter()
                .map(|m| m.name.as_str())
                .filter(|n| !PRODUCTS.contains(n))
                .collect();
            if let Some(first) = unknown.first() {
                ctx.push(
                    Severity::Warning,
                    MANIFEST,
                    &pointer(&["product", first]),
                    Target::Key,
                    "manifest-unknown-product",
                    format!(
                        "Invalid product(s) mentioned in manifest.json: {}",
                        unknown.join(",")
                    ),
                    Some(format!("use one of {}", PRODUCTS.join(", "))),
                );
            }
        }
        Generation::V3 => {
            if obj.contains_key("product") {
                ctx.push(
                    Severity::Warning,
                    MANIFEST,
                    "/product",
                    Target::Key,
                    "manifest-generation",
                    "`product` is a platform 2.x key; platform 3.x reads `modules` and ignores it".into(),
                    Some("move each product's locations and events into a module, e.g. modules.support_ticket.location".into()),
                );
            }
            if let Some(mods) = obj.get("modules").and_then(Value::as_object)
                && manifest.modules.is_empty()
            {
                let _ = mods;
                ctx.push(
                    Severity::Error,
                    MANIFEST,
                    "/modules",
                    Target::Key,
                    "manifest-no-module",
                    "At least one module apart from common must be mentioned".into(),
                    Some("add the product module the app runs in, e.g. \"support_ticket\": {} (it may be empty)".into()),
                );
            }
        }
    }

    empty_locations(ctx, obj, manifest.generation);
    locations(ctx);
    whitelisted_domains(ctx, obj);
}

fn empty_locations(
    ctx: &mut Ctx<'_>,
    obj: &serde_json::Map<String, Value>,
    generation: Generation,
) {
    let container = match generation {
        Generation::V2 => "product",
        Generation::V3 => "modules",
    };
    let Some(parts) = obj.get(container).and_then(Value::as_object) else {
        return;
    };
    for (name, body) in parts {
        if body
            .get("location")
            .and_then(Value::as_object)
            .is_some_and(|l| l.is_empty())
        {
            ctx.push(
                Severity::Error,
                MANIFEST,
                &pointer(&[container, name, "location"]),
                Target::Value,
                "location-empty",
                format!("Missing locations for product: {name}"),
                Some(
                    "add a placeholder with url and icon, or remove the empty \"location\"".into(),
                ),
            );
        }
    }
}

/// `url` and `icon` of every location: present, and (unless `--config-only`) files under `app/`.
fn locations(ctx: &mut Ctx<'_>) {
    let app = ctx.app;
    let locs = &app.manifest.locations;
    let check_files = !ctx.opts.config_only;
    let app_dir = app.app_dir();
    if check_files && !locs.is_empty() && !app_dir.is_dir() {
        let first = &locs[0];
        ctx.push(
            Severity::Error,
            MANIFEST,
            &first.pointer,
            Target::Key,
            "app-dir-missing",
            "Mandatory folder(s) missing: app".into(),
            Some(format!(
                "create {} with the pages the locations name",
                app_dir.display()
            )),
        );
        return;
    }
    for loc in locs {
        let at = format!("{}/{}", loc.owner, loc.placeholder);
        match loc.url.as_deref() {
            None | Some("") => ctx.push(
                Severity::Error,
                MANIFEST,
                &loc.pointer,
                Target::Key,
                "location-url",
                format!("Url is either not mentioned or empty in {at}"),
                Some("add \"url\": \"index.html\" (a file under app/)".into()),
            ),
            Some(url) if check_files && !exists_under(&app_dir, url) => ctx.push(
                Severity::Error,
                MANIFEST,
                &format!("{}/url", loc.pointer),
                Target::Value,
                "location-file-missing",
                format!("Template file '{url}' mentioned in {at} is not found in app folder"),
                Some(format!(
                    "create app/{url} or correct the url (it is relative to the app/ folder)"
                )),
            ),
            Some(_) => {}
        }
        let needs_icon = !(loc.placeholder.contains("background")
            || NO_ICON.contains(&loc.placeholder.as_str()));
        // `/styles/images/icon.svg` is found under app/ as `styles/images/icon.svg` (the
        // platform joins the two paths; Pomodoro and customer_interactions_app write it so).
        let written = loc.icon.as_deref().unwrap_or_default();
        let icon = loc.icon.as_deref().map(|i| i.trim_start_matches('/'));
        match icon {
            None | Some("") if needs_icon => ctx.push(
                Severity::Warning,
                MANIFEST,
                &loc.pointer,
                Target::Key,
                "location-icon",
                format!("Icon is either not mentioned or empty in {at}"),
                Some("add \"icon\": \"styles/images/icon.svg\" (a 64x64 image under app/)".into()),
            ),
            Some(icon) if !icon.is_empty() && check_files && !exists_under(&app_dir, icon) => {
                ctx.push(
                    Severity::Error,
                    MANIFEST,
                    &format!("{}/icon", loc.pointer),
                    Target::Value,
                    "location-file-missing",
                    format!("Icon '{written}' mentioned in {at} is not found in app folder"),
                    Some(format!(
                        "add the image at app/{icon} or correct the path (it is relative to the app/ folder)"
                    )),
                )
            }
            Some(icon) if !icon.is_empty() && check_files => {
                let file = app_dir.join(icon.split(['?', '#']).next().unwrap_or(icon));
                if let Some((w, h)) = super::icon::size(&file)
                    && (w != 64.0 || h != 64.0)
                {
                    ctx.push(
                        Severity::Error,
                        MANIFEST,
                        &format!("{}/icon", loc.pointer),
                        Target::Value,
                        "location-icon-size",
                        format!("Invalid dimension of icon '{written}' for {at}: it is {w}x{h}, and the marketplace takes 64x64"),
                        Some("resize the image to 64x64 pixels (for an SVG: width=\"64\" height=\"64\" on the <svg> element)".into()),
                    );
                }
            }
            _ => {}
        }
    }
}

/// Whether `rel` (a url of the manifest, maybe with `?query` or `#fragment`) names a file
/// inside `dir`. A path that climbs out of `dir` (`../x`) does not count.
fn exists_under(dir: &std::path::Path, rel: &str) -> bool {
    let clean = rel
        .split(['?', '#'])
        .next()
        .unwrap_or(rel)
        .trim_start_matches("./");
    let path = std::path::Path::new(clean);
    if path.is_absolute()
        || path
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return false;
    }
    dir.join(path).is_file()
}

/// `whitelisted-domains`: rejected from 2.3 on; before that, FDK 6.9's rules per entry
/// (warnings here: fdk-emu does not serve the legacy request API they configure).
fn whitelisted_domains(ctx: &mut Ctx<'_>, obj: &serde_json::Map<String, Value>) {
    let Some(list) = obj.get("whitelisted-domains") else {
        return;
    };
    let version = ctx.app.manifest.version();
    if version.is_some_and(|v| v >= (2, 3)) {
        ctx.push(
            Severity::Error,
            MANIFEST,
            "/whitelisted-domains",
            Target::Key,
            "whitelisted-domains-deprecated",
            "\"whitelisted-domains\" has been deprecated".into(),
            Some(
                "remove it and call APIs through request templates in config/requests.json".into(),
            ),
        );
        return;
    }
    let Some(items) = list.as_array() else { return };
    for (i, item) in items.iter().enumerate() {
        let Some(d) = item.as_str() else { continue };
        let problem = domain_problem(d);
        if let Some(p) = problem {
            ctx.push(
                Severity::Warning,
                MANIFEST,
                &format!("/whitelisted-domains/{i}"),
                Target::Value,
                "whitelisted-domain",
                format!("Whitelisted domains {p}: {d}"),
                Some("write an https origin without path, e.g. \"https://api.example.com\" or \"https://*.example.com\"".into()),
            );
        }
    }
}

fn domain_problem(d: &str) -> Option<&'static str> {
    let rest = d.strip_prefix("https://");
    let Some(rest) = rest else {
        return Some("must use HTTPS");
    };
    if rest.ends_with('/') {
        return Some("must not end with a '/'");
    }
    if rest.contains('/') {
        return Some("must not have path");
    }
    let host = rest.split(':').next().unwrap_or(rest);
    if host == "localhost" {
        return Some("must not be localhost");
    }
    if host.parse::<std::net::Ipv4Addr>().is_ok() {
        return Some("must not contain IP addresses");
    }
    if host.contains('*') && (!host.starts_with("*.") || host[2..].contains('*')) {
        return Some("must not have more than one subdomain");
    }
    None
}
