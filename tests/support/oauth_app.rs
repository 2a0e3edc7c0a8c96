//! Apps written on the fly for the OAuth tests (the provider's port is known only at run
//! time), and small HTTP helpers that drive our server like a browser without following
//! redirects by themselves.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// Writes a minimal app with `manifest` and `oauth_config` into `root/name`.
pub fn write_app(root: &Path, name: &str, manifest: &Value, oauth_config: &Value) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(dir.join("config")).expect("config dir");
    std::fs::create_dir_all(dir.join("app/styles/images")).expect("app dir");
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/apps/demo/app");
    std::fs::copy(demo.join("index.html"), dir.join("app/index.html")).expect("index.html");
    std::fs::copy(
        demo.join("styles/images/icon.svg"),
        dir.join("app/styles/images/icon.svg"),
    )
    .expect("icon");
    let pretty = |v: &Value| serde_json::to_string_pretty(v).expect("json");
    std::fs::write(dir.join("manifest.json"), pretty(manifest)).expect("manifest");
    std::fs::write(dir.join("config/oauth_config.json"), pretty(oauth_config)).expect("oauth");
    dir
}

/// A platform 2.3 single-product app (no system settings step) with the single-form
/// `oauth_config.json`, account level.
pub fn single_form_app(root: &Path, authorize_url: &str, token_url: &str) -> PathBuf {
    let dir = write_app(
        root,
        "oauth-single",
        &json!({
            "platform-version": "2.3",
            "product": {"freshdesk": {
                "location": {"ticket_sidebar": {
                    "url": "index.html", "icon": "styles/images/icon.svg"}},
                "requests": {"userinfo": {}}}},
            "engines": {"node": "18.20.8", "fdk": "9.8.1"}
        }),
        &json!({
            "client_id": "fdk-emu-test",
            "client_secret": "s3cret-value-4711",
            "authorize_url": authorize_url,
            "token_url": token_url,
            "token_type": "account",
            "options": {"scope": "openid profile", "customHeaders": {"X-Fdk-Emu-Test": "yes"}}
        }),
    );
    // An OAuth template against the provider's protected /userinfo; the tests route the
    // host idp.test to the provider with --upstream.
    let requests = json!({"userinfo": {
        "schema": {
            "method": "GET",
            "host": "idp.test",
            "path": "/userinfo",
            "headers": {"Authorization": "Bearer <%= access_token %>"}
        },
        "options": {"isOAuth": true}
    }});
    std::fs::write(
        dir.join("config/requests.json"),
        serde_json::to_string_pretty(&requests).expect("json"),
    )
    .expect("requests");
    dir
}

/// `POST /dprouter` with `MKP-ROUTE: proxy`: invokes `template` and returns the envelope.
pub fn invoke(base: &str, template: &str) -> Value {
    http()
        .post(format!("{base}/dprouter"))
        .header("MKP-ROUTE", "proxy")
        .json(
            &json!({"action": "invokeTemplate", "templateName": template,
                      "data": {"context": {}}}),
        )
        .send()
        .and_then(|r| r.json())
        .expect("/dprouter proxy")
}

pub fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}

/// The `Location` of a redirect, made absolute against `base`. `localhost` becomes
/// 127.0.0.1, where the server listens.
pub fn location(resp: &reqwest::blocking::Response, base: &str) -> String {
    let loc = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no Location in a {} answer", resp.status()))
        .to_string();
    let abs = if loc.starts_with('/') {
        format!("{base}{loc}")
    } else {
        loc
    };
    abs.replacen("http://localhost:", "http://127.0.0.1:", 1)
}

/// The built-in demo provider's consent for `state` (as a user allowing it): the callback
/// URL with the code, made absolute.
pub fn demo_consent(server: &super::common::Server, state: &str) -> String {
    let r = http()
        .post(server.url("/_demo/oauth/authorize"))
        .form(&[
            ("client_id", "demo-client"),
            (
                "redirect_uri",
                &format!("http://localhost:{}/auth/callback", server.port),
            ),
            ("state", state),
            ("scope", "profile"),
            ("decision", "allow"),
        ])
        .send()
        .expect("consent");
    assert_eq!(
        r.status(),
        302,
        "the demo provider redirects back after consent"
    );
    location(&r, &server.base)
}

/// The test key of `tests/common` as bytes.
pub fn test_key() -> [u8; 32] {
    let hex = super::common::TEST_KEY;
    let mut key = [0u8; 32];
    for (i, b) in key.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex key");
    }
    key
}

/// Every byte of the SQLite store (main file, WAL and shared memory), to look for secrets.
pub fn store_bytes(store_path: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let p = PathBuf::from(format!("{}{suffix}", store_path.display()));
        if let Ok(b) = std::fs::read(&p) {
            all.extend(b);
        }
    }
    all
}

pub fn contains(haystack: &[u8], needle: &str) -> bool {
    !needle.is_empty()
        && haystack
            .windows(needle.len())
            .any(|w| w == needle.as_bytes())
}

/// `GET /api/status` → the entry of `integration`.
pub fn integration_status(base: &str, integration: &str) -> Value {
    let v: Value = http()
        .get(format!("{base}/api/status"))
        .send()
        .and_then(|r| r.json())
        .expect("/api/status");
    v["integrations"]
        .as_array()
        .and_then(|a| a.iter().find(|i| i["name"] == integration).cloned())
        .unwrap_or_else(|| panic!("no integration {integration} in /api/status: {v}"))
}

/// `POST /dprouter` with `MKP-ROUTE: oauth` and `body`: (status, JSON answer).
pub fn dprouter_oauth(base: &str, body: &Value) -> (u16, Value) {
    let r = http()
        .post(format!("{base}/dprouter"))
        .header("MKP-ROUTE", "oauth")
        .json(body)
        .send()
        .expect("/dprouter");
    let status = r.status().as_u16();
    (status, r.json().unwrap_or(Value::Null))
}
