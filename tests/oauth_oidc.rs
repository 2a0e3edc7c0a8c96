//! The handshake and the token lifecycle against a real provider: PyPI `oidc-provider-mock`
//! 0.3.4 with 5-second tokens. It validates codes and refresh tokens, requires HTTP Basic
//! on refresh (so the Basic fallback is exercised for real) and can revoke a user's tokens.

mod common;
#[path = "support/oauth_app.rs"]
mod oauth_app;
#[path = "support/peers.rs"]
mod peers;

use std::time::Duration;

use fdk_emu::config::Config;
use fdk_emu::oauth::{TokenError, TokenManager};
use fdk_emu::store::Store;
use oauth_app::*;
use peers::{OidcProvider, poll};

/// Drives the setup flow from `/custom_configs` through the provider's consent form to the
/// stored tokens, as a browser would, one redirect at a time. Returns the final page.
fn handshake_from_custom_configs(server: &common::Server, provider: &OidcProvider) -> String {
    let http = http();
    // /custom_configs sends us to the first step not done: the authorization step page.
    let r = http
        .get(server.url("/custom_configs"))
        .send()
        .expect("custom_configs");
    assert_eq!(
        r.status(),
        302,
        "/custom_configs should redirect to a setup step"
    );
    let step = location(&r, &server.base);
    assert!(
        step.contains("/custom_configs/authorize"),
        "first step: {step}"
    );
    let page = http
        .get(&step)
        .send()
        .and_then(|r| r.text())
        .expect("authorize step");
    // Handlebars escapes `=` and `/` in attributes; undo that to follow the link.
    let page = page
        .replace("&#x3D;", "=")
        .replace("&#x2F;", "/")
        .replace("&amp;", "&");
    let start = page
        .find("/auth/index?integration=")
        .expect("the authorize step links to /auth/index");
    let end = start + page[start..].find('"').expect("end of link");
    let auth_index = page[start..end].to_string();
    // /auth/index → the provider's authorize URL.
    let r = http
        .get(server.url(&auth_index))
        .send()
        .expect("/auth/index");
    assert_eq!(r.status(), 302);
    let authorize = location(&r, &server.base);
    assert!(
        authorize.starts_with(&format!("{}/oauth2/authorize?", provider.base)),
        "{authorize}"
    );
    let u = url::Url::parse(&authorize).expect("authorize URL");
    let q: std::collections::HashMap<_, _> = u.query_pairs().into_owned().collect();
    assert_eq!(
        q["redirect_uri"],
        format!("http://localhost:{}/auth/callback", server.port)
    );
    assert_eq!(q["client_id"], "fdk-emu-test");
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["scope"], "openid profile");
    assert!(q["state"].len() >= 22, "state must carry at least 128 bits");
    assert!(!q.contains_key("customHeaders"));
    // The user consents as alice; the provider redirects to our callback.
    let r = http
        .post(&authorize)
        .form(&[("sub", "alice")])
        .send()
        .expect("consent");
    assert_eq!(r.status(), 302, "the provider should redirect back");
    let callback = location(&r, &server.base);
    assert!(callback.contains("/auth/callback?code="), "{callback}");
    let r = http.get(&callback).send().expect("callback");
    assert_eq!(r.status(), 302, "callback: {:?}", r.text());
    let back = location(&r, &server.base);
    assert!(
        back.ends_with("/custom_configs"),
        "returns to the setup flow: {back}"
    );
    // Replaying the callback is refused: the state was single use.
    let again = http.get(&callback).send().expect("callback again");
    assert_eq!(again.status(), 400);
    assert!(again.text().unwrap_or_default().contains("already"));
    back
}

fn config_for(server: &common::Server) -> Config {
    Config {
        app_dir: server.app_dir.clone(),
        host: "127.0.0.1".into(),
        port: server.port,
        store_path: server.app_dir.join(".fdk/localstore.sqlite"),
        demo_provider: false,
        upstreams: vec![],
        request_timeout: Duration::from_secs(10),
        rate_limit: true,
        response_limit: true,
        db_limits: true,
        refresh_margin: Duration::from_secs(1),
        oauth_state_ttl: fdk_emu::config::OAUTH_STATE_TTL,
        inspector: Default::default(),
        state_file: None,
        body_timeout: fdk_emu::config::BODY_TIMEOUT,
        node: None,
    }
}

fn userinfo(provider: &OidcProvider, token: &str) -> u16 {
    http()
        .get(format!("{}/userinfo", provider.base))
        .bearer_auth(token)
        .send()
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

#[test]
fn handshake_refresh_and_revocation_against_oidc_provider_mock() {
    let provider = OidcProvider::start(5);
    let tmp = tempfile::tempdir().expect("tmp");
    let app_dir = single_form_app(
        tmp.path(),
        &format!("{}/oauth2/authorize", provider.base),
        &format!("{}/oauth2/token", provider.base),
    );
    let upstream = format!("idp.test={}", provider.base);
    let server = common::Server::start(
        &app_dir,
        &["--refresh-margin", "1", "--upstream", &upstream],
    );

    let back = handshake_from_custom_configs(&server, &provider);
    // The setup flow has moved on past the authorization step.
    let r = http().get(&back).send().expect("custom_configs");
    assert!(!location(&r, &server.base).contains("/custom_configs/authorize"));

    let status = integration_status(&server.base, "default");
    assert_eq!(status["authorized"], true, "{status}");
    assert_eq!(status["has_refresh_token"], true);
    assert_eq!(status["needs_reauth"], false);
    assert!(
        status["expires_in"].as_i64().is_some_and(|s| s <= 5),
        "{status}"
    );
    let status_text = status.to_string();

    // The tokens are in the store, encrypted: the file never holds them in plain text.
    let store_path = app_dir.join(".fdk/localstore.sqlite");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let store = Store::open_with_key(&store_path, test_key()).expect("open store");
    let stored = rt
        .block_on(store.tokens("default"))
        .expect("read tokens")
        .expect("tokens stored");
    let raw = store_bytes(&store_path);
    assert!(
        !contains(&raw, &stored.access_token),
        "access token in plain text in the store"
    );
    let first_refresh = stored.refresh_token.clone().expect("refresh token");
    assert!(
        !contains(&raw, &first_refresh),
        "refresh token in plain text in the store"
    );
    assert!(!contains(&raw, "s3cret-value-4711"));
    assert!(!status_text.contains(&stored.access_token) && !status_text.contains(&first_refresh));
    assert_eq!(userinfo(&provider, &stored.access_token), 200);
    // An OAuth template against the provider's protected /userinfo succeeds.
    let env = invoke(&server.base, "userinfo");
    assert_eq!(env["status"], 200, "{env}");
    assert!(env["response"].to_string().contains("alice"), "{env}");

    // After expiry…
    poll(Duration::from_secs(15), || {
        (userinfo(&provider, &stored.access_token) == 401).then_some(())
    })
    .expect("the provider's 5-second token should expire");
    // The next template call refreshes first and succeeds.
    let env = invoke(&server.base, "userinfo");
    assert_eq!(env["status"], 200, "{env}");
    let status = integration_status(&server.base, "default");
    assert!(
        status["last_refresh_at"].is_i64(),
        "refreshed before the call: {status}"
    );
    assert_eq!(status["client_auth_method"], "basic", "{status}");
    let after_template = rt
        .block_on(store.tokens("default"))
        .expect("read")
        .expect("tokens");
    assert_ne!(after_template.access_token, stored.access_token);
    assert_eq!(userinfo(&provider, &after_template.access_token), 200);
    // The library API the request layer uses hands out the current, valid token.
    let app = fdk_emu::app::load(&app_dir).expect("app").app;
    let manager = TokenManager::new(store.clone(), config_for(&server), http_async());
    let fresh = rt
        .block_on(manager.access_token(&app, "default"))
        .expect("refreshed token");
    assert_ne!(fresh, stored.access_token, "the expired token was replaced");
    assert_eq!(
        userinfo(&provider, &fresh),
        200,
        "the refreshed token works"
    );
    let status = integration_status(&server.base, "default");
    assert_eq!(status["client_auth_method"], "basic", "{status}");
    assert!(status["last_refresh_at"].is_i64(), "{status}");

    // FDK's refresh route refreshes now and answers {success: true}.
    let (code, body) = dprouter_oauth(&server.base, &serde_json::json!({"action": "refresh"}));
    assert_eq!(
        (code, body.clone()),
        (200, serde_json::json!({"success": true}))
    );

    // Revocation: the provider forgets alice's tokens; the next refresh gets invalid_grant
    // and the integration needs re-authorization.
    let r = http()
        .post(format!("{}/users/alice/revoke-tokens", provider.base))
        .send()
        .expect("revoke");
    assert!(r.status().is_success());
    let (code, body) = dprouter_oauth(&server.base, &serde_json::json!({"action": "refresh"}));
    assert_eq!(code, 400, "{body}");
    assert!(
        body["response"]
            .as_str()
            .unwrap_or("")
            .contains("invalid_grant"),
        "{body}"
    );
    let status = integration_status(&server.base, "default");
    assert_eq!(status["needs_reauth"], true, "{status}");
    assert_eq!(status["authorized"], false, "{status}");
    assert!(
        status["reason"]
            .as_str()
            .unwrap_or("")
            .contains("invalid_grant")
    );
    // A template needing the token fails at once, saying where to re-authorize.
    let env = invoke(&server.base, "userinfo");
    assert_ne!(env["status"], 200, "{env}");
    assert!(env.to_string().contains("/custom_configs"), "{env}");
    let err = rt
        .block_on(manager.access_token(&app, "default"))
        .expect_err("needs re-authorization");
    assert!(
        matches!(err, TokenError::NeedsReauthorization { .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("\"default\"") && msg.contains("/custom_configs"),
        "{msg}"
    );
    // And the setup flow sends the developer back to the authorization step.
    let r = http()
        .get(server.url("/custom_configs"))
        .send()
        .expect("custom_configs");
    assert!(location(&r, &server.base).contains("/custom_configs/authorize"));
    // A second handshake repairs it.
    handshake_from_custom_configs(&server, &provider);
    let status = integration_status(&server.base, "default");
    assert_eq!(
        (status["authorized"].clone(), status["needs_reauth"].clone()),
        (true.into(), false.into())
    );
}

fn http_async() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}
