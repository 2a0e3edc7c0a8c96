//! Checks about which files exist: the manifest, the `config/` folder's entries, the choice
//! between `iparams.json` and `iparams.html`, and the functions an `iparams.html` must define.

use std::sync::LazyLock;

use regex::Regex;

use super::{Ctx, Severity};
use crate::app::{IPARAMS_HTML, IPARAMS_JSON, MANIFEST};

/// Entries FDK accepts in `config/` (FDK 6.9 list plus FDK 9's `requests.json`).
const CONFIG_ENTRIES: &[&str] = &[
    "iparams.html",
    "iparams.json",
    "iparam_test_data.json",
    "oauth_config.json",
    "assets",
    "entities.json",
    "requests.json",
];

pub(crate) fn check(ctx: &mut Ctx<'_>) {
    let app = ctx.app;
    if app.manifest_file.is_none() && !ctx.broken.contains(MANIFEST) {
        ctx.push_file(
            Severity::Error,
            MANIFEST,
            1,
            "manifest-missing",
            "Could not find the app manifest file in the current/specified directory.".into(),
            Some(missing_manifest_hint(&app.root)),
        );
    }
    config_dir(ctx);
    let has_json = app.iparams_file.is_some() || ctx.broken.contains(IPARAMS_JSON);
    if has_json && app.has_iparams_html {
        ctx.push_file(
            Severity::Error,
            IPARAMS_JSON,
            1,
            "iparams-both",
            "Unsupported File(s). Specify either iparams.html or iparams.json".into(),
            Some("keep one installation page: delete config/iparams.html to use the generated page, or config/iparams.json to use your own".into()),
        );
    }
    if app.has_iparams_html {
        iparams_html(ctx);
    } else if !has_json && !ctx.opts.config_only && app.root.join("config").is_dir() {
        ctx.push_file(
            Severity::Warning,
            IPARAMS_JSON,
            1,
            "iparams-missing",
            "iparams.json is mandatory. (the app has neither config/iparams.json nor config/iparams.html)".into(),
            Some("add config/iparams.json with the app's installation parameters (it may be {})".into()),
        );
    }
}

/// Where the app probably is: a developer who runs fdk-emu one folder too high (the folder of
/// a repository with several apps, say) is told the app folders below.
fn missing_manifest_hint(root: &std::path::Path) -> String {
    let mut apps: Vec<String> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join(MANIFEST).is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    apps.sort();
    match apps.as_slice() {
        [] => "run fdk-emu in the app folder (the one with manifest.json) or pass --app-dir".into(),
        [one] => format!(
            "the app seems to be in the folder {one:?} here: pass --app-dir {}",
            root.join(one).display()
        ),
        [first, ..] => format!(
            "{} folders here hold a manifest.json ({}): pass one of them with --app-dir, e.g. --app-dir {}",
            apps.len(),
            if apps.len() <= 5 {
                apps.join(", ")
            } else {
                format!("{}, …", apps[..5].join(", "))
            },
            root.join(first).display()
        ),
    }
}

/// Unknown entries of `config/` (FDK: "Config directory has invalid file(s)").
fn config_dir(ctx: &mut Ctx<'_>) {
    let dir = ctx.app.root.join("config");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    let mut unknown: Vec<String> = Vec::new();
    let mut test_data = false;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name == "Thumbs.db" || name == "desktop.ini" {
            continue;
        }
        if name == "iparam_test_data.json" {
            test_data = true;
        }
        if !CONFIG_ENTRIES.contains(&name.as_str()) {
            unknown.push(name);
        }
    }
    unknown.sort();
    if !unknown.is_empty() {
        ctx.push_file(
            Severity::Warning,
            &format!("config/{}", unknown[0]),
            1,
            "config-dir-entry",
            format!("Config directory has invalid file(s) - {}", unknown.join(", ")),
            Some(format!(
                "config/ may hold only {}; move other files elsewhere (FDK refuses them when packing)",
                CONFIG_ENTRIES.join(", ")
            )),
        );
    }
    if test_data {
        ctx.push_file(
            Severity::Warning,
            "config/iparam_test_data.json",
            1,
            "iparam-test-data-deprecated",
            format!(
                "iparam_test_data.json is deprecated, to test the installation page, visit - {}/custom_configs",
                ctx.base_url()
            ),
            Some("delete config/iparam_test_data.json and enter the values on the installation page".into()),
        );
    }
}

static SCRIPT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?is)<script\b([^>]*)>(.*?)</script\s*>").unwrap_or_else(|e| panic!("{e}"))
});
static SRC_ATTR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?i)\bsrc\s*="#).unwrap_or_else(|e| panic!("{e}")));
static SRC_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)\bsrc\s*=\s*(?:"([^"]*)"|'([^']*)'|([^"'\s>]+))"#)
        .unwrap_or_else(|e| panic!("{e}"))
});

/// The path under `config/assets/` of a script `src` of iparams.html: the page is served at
/// `/custom_configs/form`, so `./assets/x.js`, `assets/x.js` and `/custom_configs/assets/x.js`
/// all name `config/assets/x.js`. Other sources (the app client, CDNs) are not the app's.
fn config_asset(src: &str) -> Option<String> {
    let path = src.split(['?', '#']).next().unwrap_or(src).trim();
    let rel = path
        .strip_prefix("./assets/")
        .or_else(|| path.strip_prefix("assets/"))
        .or_else(|| path.strip_prefix("/custom_configs/assets/"))?;
    (!rel.is_empty() && !rel.split('/').any(|p| p == ".." || p.starts_with('.')))
        .then(|| rel.to_string())
}

static TYPE_ATTR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)\btype\s*=\s*["']?([^"'\s>]+)"#).unwrap_or_else(|e| panic!("{e}"))
});

/// `getConfigs` and `postConfigs` must be function declarations, in inline scripts (all FDK
/// 6.9 read) or in a script the page loads from `config/assets/` (the layout current FDK
/// documents, e.g. request-method-samples/sample-app's `<script src="./assets/iparams.js">`);
/// `validate` is called mandatory by the docs but not checked by FDK, so its absence is a
/// warning. With `settings.iparams.hideStandardButtons` the page must call
/// `client.iparams.apply` itself.
fn iparams_html(ctx: &mut Ctx<'_>) {
    let path = ctx.app.root.join(IPARAMS_HTML);
    let Ok(bytes) = std::fs::read(&path) else {
        return;
    };
    let html = String::from_utf8_lossy(&bytes);
    let mut inline = String::new();
    // Scripts of config/assets/ the page loads; with --config-only they cannot be read, and
    // the methods they may define cannot be looked for.
    let mut unread_assets = false;
    for cap in SCRIPT.captures_iter(&html) {
        let attrs = cap.get(1).map_or("", |m| m.as_str());
        if SRC_ATTR.is_match(attrs) {
            let Some(rel) = SRC_VALUE
                .captures(attrs)
                .and_then(|c| c.get(1).or_else(|| c.get(2)).or_else(|| c.get(3)))
                .and_then(|m| config_asset(m.as_str()))
            else {
                continue;
            };
            if ctx.opts.config_only {
                unread_assets = true;
            } else if let Some(base) =
                std::fs::canonicalize(ctx.app.root.join("config/assets")).ok()
                && let Ok(file) = std::fs::canonicalize(base.join(&rel))
                && file.starts_with(&base)
                && let Ok(js) = std::fs::read(&file)
            {
                inline.push_str(&String::from_utf8_lossy(&js));
                inline.push('\n');
            }
            continue;
        }
        let js_type = TYPE_ATTR
            .captures(attrs)
            .and_then(|c| c.get(1))
            .map(|m| m.as_str().to_ascii_lowercase());
        if js_type.is_some_and(|t| t != "text/javascript" && t != "module") {
            continue;
        }
        inline.push_str(cap.get(2).map_or("", |m| m.as_str()));
        inline.push('\n');
    }
    let declares = |name: &str| {
        Regex::new(&format!(r"\bfunction\s+{name}\s*\("))
            .map(|re| re.is_match(&inline))
            .unwrap_or(false)
    };
    let missing: Vec<&str> = ["getConfigs", "postConfigs"]
        .into_iter()
        .filter(|m| !declares(m))
        .collect();
    if !missing.is_empty() && !unread_assets {
        ctx.push_file(
            Severity::Error,
            IPARAMS_HTML,
            1,
            "iparams-html-methods",
            format!("Mandatory method(s) missing in iparams.html: {}.", missing.join(",")),
            Some(format!(
                "define {} as top-level function declarations in an inline <script> of iparams.html or in a script it loads from config/assets/ (<script src=\"./assets/iparams.js\">), e.g. `function getConfigs(configs) {{ … }}`",
                missing.join(" and ")
            )),
        );
    }
    if !declares("validate") && !unread_assets {
        ctx.push_file(
            Severity::Warning,
            IPARAMS_HTML,
            1,
            "iparams-html-validate",
            "iparams.html defines no validate() function; the docs call it mandatory".into(),
            Some("add `function validate() { return true; }` (return false to keep the installer on the page)".into()),
        );
    }
    let hides_buttons = ctx
        .app
        .manifest_file
        .as_ref()
        .and_then(|f| f.value.as_ref())
        .and_then(|v| v.pointer("/settings/iparams/hideStandardButtons"))
        .is_some_and(truthy);
    if hides_buttons {
        // Without the front-end files (--config-only) the call cannot be looked for there.
        let js = ctx.iparams_js().map(str::to_owned);
        let calls = |s: &str| {
            Regex::new(r"\b[A-Za-z_$][\w$]*\s*\.\s*iparams\s*\.\s*apply\b")
                .map(|re| re.is_match(s))
                .unwrap_or(false)
        };
        if !calls(&inline) && !unread_assets && js.is_some_and(|js| !calls(&js)) {
            ctx.push_file(
                Severity::Error,
                IPARAMS_HTML,
                1,
                "iparams-html-apply",
                "Mandatory method call(s) missing in iparams.html for custom settings: client.iparams.apply".into(),
                Some("with settings.iparams.hideStandardButtons the page must save the settings itself: call client.iparams.apply() from iparams.html or config/assets/iparams.js".into()),
            );
        }
    }
}

/// JavaScript truthiness of a JSON value.
pub(crate) fn truthy(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Null => false,
        serde_json::Value::Bool(b) => *b,
        serde_json::Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        serde_json::Value::String(s) => !s.is_empty(),
        _ => true,
    }
}
