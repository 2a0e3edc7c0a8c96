//! The token panel and `fdk-emu oauth refresh|expire|revoke` against a running server whose
//! integration is authorized at a real provider (`oidc-provider-mock`, hour-long tokens, so
//! nothing expires unless the test says so).

mod common;
#[path = "support/console.rs"]
mod console;
#[path = "support/oauth_app.rs"]
mod oauth_app;
#[path = "support/peers.rs"]
mod peers;

use console::{authorize_alice, client, get_text, records};
use oauth_app::{integration_status, single_form_app};
use serde_json::Value;

fn userinfo(provider: &peers::OidcProvider, token: &str) -> u16 {
    client()
        .get(format!("{}/userinfo", provider.base))
        .bearer_auth(token)
        .send()
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

fn oauth_cli(action: &str, base: &str, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec!["oauth", action, "--url", base];
    args.extend_from_slice(extra);
    common::run_cli(&args)
}

#[test]
fn the_token_panel_and_the_command_line_act_on_the_tokens() {
    let provider = peers::OidcProvider::start(3600);
    let tmp = tempfile::tempdir().expect("tmp");
    let app = single_form_app(
        tmp.path(),
        &format!("{}/oauth2/authorize", provider.base),
        &format!("{}/oauth2/token", provider.base),
    );
    let idp = format!("idp.test={}", provider.base);
    let server = common::Server::start(&app, &["--upstream", &idp]);
    let base = server.url("");
    let store = fdk_emu::store::Store::open_with_key(
        &app.join(".fdk/localstore.sqlite"),
        oauth_app::test_key(),
    )
    .expect("store");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let token = || {
        rt.block_on(store.tokens("default"))
            .expect("read")
            .map(|t| t.access_token)
    };

    // Before the handshake: nothing to act on, and the panel says so.
    let panel = get_text(&format!("{base}/_fdk-emu/oauth"));
    assert!(panel.contains("not authorized yet"), "{panel}");
    assert!(
        panel.contains(r#"<button class="secondary expire" disabled>"#),
        "{panel}"
    );
    let (code, _, err) = oauth_cli("expire", &base, &[]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("is not authorized yet"), "{err}");

    authorize_alice(&base, "default");
    let panel = get_text(&format!("{base}/_fdk-emu/oauth"));
    assert!(
        panel.contains(r#"<dd class="state ok">authorized</dd>"#),
        "{panel}"
    );
    assert!(
        panel.contains("<code>openid</code> <code>profile</code>"),
        "{panel}"
    );
    assert!(panel.contains("data-expires-at="), "{panel}");
    assert!(panel.contains("Re-authorize"), "{panel}");
    let first = token().expect("authorized");

    // Expire now: the next call refreshes first, at the provider, and the inspector shows it.
    let (code, out, err) = oauth_cli("expire", &base, &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("marked expired: the next call refreshes it first"),
        "{out}"
    );
    let status = integration_status(&base, "default");
    assert!(
        status["expires_in"].as_i64().is_some_and(|s| s < 0),
        "{status}"
    );
    assert_eq!(
        token().as_deref(),
        Some(first.as_str()),
        "expiring keeps the token"
    );
    let env = oauth_app::invoke(&base, "userinfo");
    assert_eq!(env["status"], 200, "{env}");
    let second = token().expect("tokens");
    assert_ne!(second, first, "refreshed before the call");
    assert_eq!(
        userinfo(&provider, &second),
        200,
        "the provider accepts the new token"
    );
    let call = records(&base).pop().expect("the call is recorded");
    assert_eq!(call["name"], "userinfo");
    let refresh = &call["refreshes"][0];
    assert_eq!(
        (
            refresh["integration"].as_str(),
            refresh["trigger"].as_str(),
            refresh["ok"].as_bool()
        ),
        (Some("default"), Some("expiring"), Some(true)),
        "{call}"
    );

    // Refresh now.
    let (code, out, err) = oauth_cli("refresh", &base, &["--integration", "default"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("was refreshed"), "{out}");
    let third = token().expect("tokens");
    assert_ne!(third, second);
    assert_eq!(userinfo(&provider, &third), 200);
    let status = integration_status(&base, "default");
    assert_eq!(status["last_refresh"]["ok"], true, "{status}");
    let panel = get_text(&format!("{base}/_fdk-emu/oauth"));
    assert!(
        panel.contains(r#"<dd class="last-refresh" data-at="#),
        "{panel}"
    );
    assert!(panel.contains(">succeeded</dd>"), "{panel}");

    // The panel's own form: the browser comes back to the panel with a notice.
    let r = client()
        .post(format!("{base}/_fdk-emu/oauth/expire"))
        .header("Origin", &base)
        .form(&[("integration", "default")])
        .send()
        .expect("form");
    assert_eq!(r.status(), 303);
    let to = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert_eq!(to, "/_fdk-emu/oauth?done=expire&integration=default");
    let panel = get_text(&format!("{base}{to}"));
    assert!(
        panel.contains(r#"<div id="notice" class="notice ok" role="status">"#),
        "{panel}"
    );
    // Another site cannot act on the tokens.
    let r = client()
        .post(format!("{base}/_fdk-emu/oauth/revoke"))
        .header("Origin", "https://evil.example")
        .form(&[("integration", "default")])
        .send()
        .expect("cross-site");
    assert_eq!(r.status(), 403);
    assert_eq!(integration_status(&base, "default")["authorized"], true);

    // Wrong names and no server are told apart.
    let (code, _, err) = oauth_cli("refresh", &base, &["--integration", "nope"]);
    assert_eq!(code, 1);
    assert!(err.contains("has no integration \"nope\""), "{err}");
    let (code, _, err) = oauth_cli(
        "refresh",
        &format!("http://127.0.0.1:{}", common::free_port()),
        &[],
    );
    assert_eq!(code, 2);
    assert!(err.contains("no fdk-emu answers at"), "{err}");

    // Revoke: the tokens are gone and the app's next call says where to re-authorize.
    let (code, out, err) = oauth_cli("revoke", &base, &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("needs re-authorization"), "{out}");
    assert_eq!(token(), None, "the tokens are forgotten");
    let status = integration_status(&base, "default");
    assert_eq!(
        (
            status["authorized"].as_bool(),
            status["needs_reauth"].as_bool()
        ),
        (Some(false), Some(true)),
        "{status}"
    );
    let env: Value = oauth_app::invoke(&base, "userinfo");
    assert_eq!(env["status"], 401, "{env}");
    assert!(
        env["response"]
            .as_str()
            .unwrap_or("")
            .contains("re-authorize"),
        "{env}"
    );
    let panel = get_text(&format!("{base}/_fdk-emu/oauth"));
    assert!(
        panel.contains("needs re-authorization: the tokens were revoked"),
        "{panel}"
    );
    // Re-authorize brings it back.
    authorize_alice(&base, "default");
    assert_eq!(integration_status(&base, "default")["authorized"], true);
}
