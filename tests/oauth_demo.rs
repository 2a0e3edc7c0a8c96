//! The built-in demo provider (`--demo-provider`) behaves like a strict real provider:
//! client credentials, single-use codes, redirect URI match, refresh token rotation, a
//! protected API and an echo endpoint; and the demo app's README flow works end to end.

mod common;
#[path = "support/oauth_app.rs"]
mod oauth_app;

use oauth_app::{demo_consent, http, integration_status, invoke, location};
use serde_json::Value;

fn token(server: &common::Server, form: &[(&str, &str)]) -> (u16, Value) {
    let r = http()
        .post(server.url("/_demo/oauth/token"))
        .form(form)
        .send()
        .expect("token");
    (r.status().as_u16(), r.json().unwrap_or(Value::Null))
}

#[test]
fn the_demo_provider_checks_what_a_real_provider_checks() {
    let (_tmp, dir) = common::copy_app("demo");
    let server = common::Server::start(&dir, &["--demo-provider"]);
    let redirect = format!("http://localhost:{}/auth/callback", server.port);

    // The consent page refuses unknown clients and unregistered redirect URIs.
    let bad = http()
        .get(server.url("/_demo/oauth/authorize?response_type=code&client_id=demo-client&redirect_uri=http://evil.test/cb"))
        .send()
        .expect("authorize");
    assert_eq!(bad.status(), 400);
    let bad = http()
        .get(server.url(&format!(
            "/_demo/oauth/authorize?response_type=code&client_id=other&redirect_uri={redirect}"
        )))
        .send()
        .expect("authorize");
    assert_eq!(bad.status(), 400);

    let callback = demo_consent(&server, "s1");
    let code = url::Url::parse(&callback)
        .expect("url")
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("code");
    // Wrong secret → invalid_client; wrong redirect_uri → invalid_grant (and the code is spent).
    let (s, b) = token(
        &server,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &redirect),
            ("client_id", "demo-client"),
            ("client_secret", "nope"),
        ],
    );
    assert_eq!((s, b["error"].clone()), (401, "invalid_client".into()));
    let (s, b) = token(
        &server,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://localhost:1/x"),
            ("client_id", "demo-client"),
            ("client_secret", "demo-secret"),
        ],
    );
    assert_eq!((s, b["error"].clone()), (400, "invalid_grant".into()));
    let (s, _) = token(
        &server,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &redirect),
            ("client_id", "demo-client"),
            ("client_secret", "demo-secret"),
        ],
    );
    assert_eq!(s, 400, "a code works once");

    // A fresh code: tokens, 120-second expiry, rotation of refresh tokens.
    let callback = demo_consent(&server, "s2");
    let code = url::Url::parse(&callback)
        .expect("url")
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("code");
    let (s, t) = token(
        &server,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &redirect),
            ("client_id", "demo-client"),
            ("client_secret", "demo-secret"),
        ],
    );
    assert_eq!(s, 200, "{t}");
    assert_eq!(t["expires_in"], 120);
    let rt = t["refresh_token"].as_str().expect("refresh").to_string();
    let (s, t2) = token(
        &server,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt),
            ("client_id", "demo-client"),
            ("client_secret", "demo-secret"),
        ],
    );
    assert_eq!(s, 200);
    let (s, _) = token(
        &server,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt),
            ("client_id", "demo-client"),
            ("client_secret", "demo-secret"),
        ],
    );
    assert_eq!(s, 400, "a used refresh token is rotated out");

    // The protected API wants a live token.
    let me = |tok: &str| {
        http()
            .get(server.url("/_demo/api/me"))
            .bearer_auth(tok)
            .send()
            .expect("me")
            .status()
            .as_u16()
    };
    assert_eq!(me(t2["access_token"].as_str().unwrap_or("")), 200);
    assert_eq!(me("made-up"), 401);
    // The echo endpoint answers what it got.
    let echo: Value = http()
        .post(server.url("/_demo/api/echo/tickets/42?plan=pro"))
        .header("X-Test", "1")
        .body("hello")
        .send()
        .and_then(|r| r.json())
        .expect("echo");
    assert_eq!(
        (echo["method"].clone(), echo["path"].clone()),
        ("POST".into(), "/echo/tickets/42".into())
    );
    assert_eq!(
        (
            echo["query"]["plan"].clone(),
            echo["headers"]["x-test"].clone(),
            echo["body"].clone()
        ),
        ("pro".into(), "1".into(), "hello".into())
    );
}

#[test]
fn the_demo_app_flow_works_offline() {
    let (_tmp, dir) = common::copy_app("demo");
    let server = common::Server::start(&dir, &["--demo-provider"]);
    // Before authorizing, the OAuth template says where to authorize.
    let env = invoke(&server.base, "getProfile");
    assert!(env.to_string().contains("/custom_configs"), "{env}");
    // /auth/index → consent → callback → tokens.
    let r = http()
        .get(server.url("/auth/index?integration=demo"))
        .send()
        .expect("index");
    let authorize = location(&r, &server.base);
    assert!(
        authorize.contains("/_demo/oauth/authorize?"),
        "follows --port: {authorize}"
    );
    let state = url::Url::parse(&authorize)
        .expect("url")
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .expect("state");
    let callback = demo_consent(&server, &state);
    let r = http().get(&callback).send().expect("callback");
    assert_eq!(r.status(), 302);
    assert_eq!(integration_status(&server.base, "demo")["authorized"], true);
    // The template reaches api.demo-provider.test, routed to the demo API.
    let env = invoke(&server.base, "getProfile");
    assert_eq!(env["status"], 200, "{env}");
    assert!(env["response"].as_str().unwrap_or("").contains("Demo User"));
}
