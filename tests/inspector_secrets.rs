//! No secret reaches the developer console: after calls that use a secure iparam (as is and
//! base64-encoded inside a header), an OAuth access token (in a header and in the URL) and a
//! refresh (which uses the refresh token and the client secret), against a real OAuth
//! provider (`oidc-provider-mock`) and a real httpbin that echoes every request back, none of
//! these values appears, in any form they were sent in, in the inspector's pages and API,
//! its live stream, the `--log-file` JSON lines, the token panel, `/api/status` or the
//! terminal.

mod common;
#[path = "support/console.rs"]
mod console;
#[path = "support/oauth_app.rs"]
mod oauth_app;
#[path = "support/peers.rs"]
mod peers;

use std::time::Duration;

use base64::Engine;
use common::httpbin::Httpbin;
use console::{EventStream, authorize_alice, get_text, invoke, store_iparams, wait_records};
use serde_json::json;

const CLIENT_SECRET: &str = "cl13nt-S3CRET-7788";
const API_KEY: &str = "k3y/SECRET+99 x";
const USER: &str = "ann";

fn write_app(root: &std::path::Path, provider: &str) -> std::path::PathBuf {
    let dir = oauth_app::write_app(
        root,
        "secrets",
        &json!({
            "platform-version": "2.3",
            "product": {"freshdesk": {
                "location": {"ticket_sidebar": {
                    "url": "index.html", "icon": "styles/images/icon.svg"}},
                "requests": {"userinfo": {}, "echoToken": {}, "echoKey": {}}}},
            "engines": {"node": "18.20.8", "fdk": "9.8.1"}
        }),
        &json!({
            "client_id": "fdk-emu-test",
            "client_secret": CLIENT_SECRET,
            "authorize_url": format!("{provider}/oauth2/authorize"),
            "token_url": format!("{provider}/oauth2/token"),
            "token_type": "account",
            "options": {"scope": "openid profile"}
        }),
    );
    let requests = json!({
        "userinfo": {
            "schema": {"method": "GET", "host": "idp.test", "path": "/userinfo",
                       "headers": {"Authorization": "Bearer <%= access_token %>"}},
            "options": {"isOAuth": true}
        },
        "echoToken": {
            "schema": {"method": "GET", "host": "api.httpbin.test", "path": "/anything/token",
                       "headers": {"Authorization": "Bearer <%= access_token %>"},
                       "query": {"t": "<%= access_token %>"}},
            "options": {"isOAuth": true}
        },
        "echoKey": {
            "schema": {"method": "POST", "host": "api.httpbin.test", "path": "/anything/key",
                       "headers": {
                           "X-Key": "<%= iparam.api_key %>",
                           "Authorization": "Basic <%= encode(iparam.user + ':' + iparam.api_key) %>",
                           "Content-Type": "application/json"}}
        }
    });
    std::fs::write(
        dir.join("config/requests.json"),
        serde_json::to_string_pretty(&requests).expect("json"),
    )
    .expect("requests");
    let iparams = json!({
        "user": {"display_name": "User", "type": "text", "required": true},
        "api_key": {"display_name": "API key", "type": "text", "required": true, "secure": true}
    });
    std::fs::write(
        dir.join("config/iparams.json"),
        serde_json::to_string_pretty(&iparams).expect("json"),
    )
    .expect("iparams");
    dir
}

/// The forms a secret travels in: as is, form- and percent-encoded.
fn forms(secret: &str) -> Vec<String> {
    vec![
        secret.to_string(),
        url::form_urlencoded::byte_serialize(secret.as_bytes()).collect(),
        percent_encoding::utf8_percent_encode(secret, percent_encoding::NON_ALPHANUMERIC)
            .to_string(),
    ]
}

#[test]
fn no_secret_reaches_the_pages_the_stream_or_the_log_file() {
    let provider = peers::OidcProvider::start(3600);
    let httpbin = Httpbin::start();
    let tmp = tempfile::tempdir().expect("tmp");
    let app = write_app(tmp.path(), &provider.base);
    let log = tmp.path().join("calls.jsonl");
    let idp = format!("idp.test={}", provider.base);
    let api = format!("api.httpbin.test={}", httpbin.base);
    let log_arg = log.display().to_string();
    let mut server = common::Server::start(
        &app,
        &[
            "--upstream",
            &idp,
            "--upstream",
            &api,
            "--log-file",
            &log_arg,
        ],
    );
    let base = server.url("");
    let live = EventStream::open(&base, None);
    store_iparams(&base, json!({"user": USER, "api_key": API_KEY}));
    authorize_alice(&base, "default");

    let store_path = app.join(".fdk/localstore.sqlite");
    let store = fdk_emu::store::Store::open_with_key(&store_path, oauth_app::test_key())
        .expect("open the store");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let tokens = |rt: &tokio::runtime::Runtime| {
        rt.block_on(store.tokens("default"))
            .expect("read tokens")
            .expect("tokens stored")
    };
    let first = tokens(&rt);

    for t in ["userinfo", "echoToken", "echoKey"] {
        let env = invoke(&base, t, json!({}));
        assert_eq!(env["status"], 200, "{t}: {env}");
    }
    // httpbin really received (and echoed) the secrets: what the app gets is not masked.
    let echoed = invoke(&base, "echoToken", json!({}));
    assert!(
        echoed["response"]
            .as_str()
            .unwrap_or("")
            .contains(&first.access_token)
    );
    // A refresh: the refresh token and the client secret go to the provider.
    let (code, out, err) = common::run_cli(&["oauth", "expire", "--url", &base]);
    assert_eq!(code, 0, "{out}{err}");
    let env = invoke(&base, "echoToken", json!({}));
    assert_eq!(env["status"], 200, "{env}");
    let second = tokens(&rt);
    assert_ne!(second.access_token, first.access_token, "refreshed");

    let records = wait_records(&base, 5);
    assert_eq!(
        records[4]["refreshes"][0]["trigger"], "expiring",
        "{}",
        records[4]
    );
    assert_eq!(records[4]["refreshes"][0]["ok"], true);

    // Everything the console shows, streams or writes.
    let mut seen = vec![
        (
            "the inspector page",
            get_text(&format!("{base}/_fdk-emu/inspector")),
        ),
        (
            "the token panel",
            get_text(&format!("{base}/_fdk-emu/oauth")),
        ),
        ("/api/status", get_text(&format!("{base}/api/status"))),
        (
            "the list",
            get_text(&format!("{base}/_fdk-emu/inspector/records")),
        ),
        (
            "the full list",
            get_text(&format!("{base}/_fdk-emu/inspector/records?full=1")),
        ),
    ];
    for r in &records {
        let id = r["id"].as_u64().unwrap_or(0);
        seen.push((
            "a record with its curl command",
            get_text(&format!("{base}/_fdk-emu/inspector/records/{id}")),
        ));
    }
    live.wait(5);
    seen.push(("the live stream", live.text()));
    let lines = peers::poll(Duration::from_secs(10), || {
        let text = std::fs::read_to_string(&log).ok()?;
        (text.lines().count() >= 5).then_some(text)
    })
    .expect("five lines in the log file");
    seen.push(("the log file", lines));
    seen.push(("the terminal", server.drain().join("\n")));

    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{API_KEY}"));
    let mut secrets = vec![
        ("the client secret", CLIENT_SECRET.to_string()),
        ("the secure iparam", API_KEY.to_string()),
        ("the secure iparam in base64", basic),
        ("the first access token", first.access_token.clone()),
        ("the second access token", second.access_token.clone()),
    ];
    for (what, t) in [
        ("a refresh token", &first.refresh_token),
        ("a refresh token", &second.refresh_token),
    ] {
        if let Some(t) = t {
            secrets.push((what, t.clone()));
        }
    }
    for (where_, text) in &seen {
        assert!(!text.is_empty(), "{where_} is empty");
        for (what, secret) in &secrets {
            for form in forms(secret) {
                assert!(
                    !text.contains(&form),
                    "{what} ({form}) appears in {where_}:\n{text}"
                );
            }
        }
    }
    // What was masked is still there to read.
    let key_call = &records[2];
    assert!(
        key_call.to_string().contains("\"Basic ****\""),
        "{key_call}"
    );
    assert!(
        records[1]["request"]["url"]
            .as_str()
            .unwrap_or("")
            .ends_with("?t=****")
    );
}
