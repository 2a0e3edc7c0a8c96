//! Faults of the token endpoint, against npm `oauth2-mock-server` 8.2.3 (through
//! `tests/peers/oauth2-mock.mjs`, which injects faults with the server's hooks and counts
//! every token request it receives): Basic fallback, forged/reused/expired states,
//! `invalid_grant`, no `expires_in`, a slow endpoint under 50 concurrent requests, a provider
//! that is down, garbage answers.

mod common;
#[path = "support/oauth_app.rs"]
mod oauth_app;
#[path = "support/peers.rs"]
mod peers;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use fdk_emu::config::Config;
use fdk_emu::oauth::{TokenError, TokenManager};
use fdk_emu::store::{Store, Tokens};
use oauth_app::*;
use peers::MockServer;
use serde_json::{Value, json};

/// A platform 3.0 app with three integrations on the same provider: `alpha` (account
/// level), `beta` (agent level) and `gamma` (account level, URLs and headers templated with
/// `oauth_iparams`).
fn multi_app(root: &Path, provider: &str) -> PathBuf {
    let integration = |name: &str, token_type: &str| {
        json!({
            "display_name": name,
            "client_id": format!("{name}-client"),
            "client_secret": format!("{name}-secret-0815"),
            "authorize_url": format!("{provider}/authorize"),
            "token_url": format!("{provider}/token"),
            "token_type": token_type,
            "options": {"scope": "read", "customHeaders": {"X-Fdk-Emu-Test": name}}
        })
    };
    write_app(
        root,
        "oauth-multi",
        &json!({
            "platform-version": "3.0",
            "modules": {
                "common": {"location": {"full_page_app": {
                    "url": "index.html", "icon": "styles/images/icon.svg"}}},
                "support_ticket": {}
            },
            "engines": {"node": "18.20.8", "fdk": "9.8.1"}
        }),
        &json!({"integrations": {
            "alpha": integration("alpha", "account"),
            "beta": integration("beta", "agent"),
            "gamma": {
                "display_name": "Gamma (per-tenant URLs)",
                "client_id": "gamma-file-client",
                "client_secret": "gamma-file-secret",
                "authorize_url": format!("{provider}/authorize?tenant=<%= oauth_iparams.tenant %>"),
                "token_url": format!("{provider}/token"),
                "token_type": "account",
                "options": {"scope": "read", "customHeaders": {"X-Tenant": "<%= oauth_iparams.tenant %>"}},
                "oauth_iparams": {"tenant": {"display_name": "Tenant", "description": "Your tenant's name", "type": "text", "required": true}}
            },
        }}),
    )
}

/// `/auth/index` → provider (which redirects at once with a code) → our callback.
/// Returns the callback's answer.
fn handshake(server: &common::Server, integration: &str) -> reqwest::blocking::Response {
    let http = http();
    let r = http
        .get(server.url(&format!("/auth/index?integration={integration}")))
        .send()
        .expect("/auth/index");
    assert_eq!(r.status(), 302, "{:?}", r.text());
    let authorize = location(&r, &server.base);
    let r = http.get(&authorize).send().expect("provider /authorize");
    assert_eq!(r.status(), 302);
    let callback = location(&r, &server.base);
    http.get(&callback).send().expect("callback")
}

#[test]
fn handshake_falls_back_to_basic_and_keeps_integrations_apart() {
    let mock = MockServer::start();
    mock.set(json!({"require_basic": true}));
    let tmp = tempfile::tempdir().expect("tmp");
    let app = multi_app(tmp.path(), &mock.base);
    let server = common::Server::start(&app, &[]);

    let r = handshake(&server, "alpha");
    assert_eq!(r.status(), 302, "{:?}", r.text());
    assert_eq!(location(&r, &server.base), server.url("/custom_configs"));
    let codes: Vec<Value> = mock
        .token_requests()
        .into_iter()
        .filter(|r| r["grant_type"] == "authorization_code")
        .collect();
    assert_eq!(codes.len(), 2, "body first, then Basic once: {codes:?}");
    assert_eq!(
        (codes[0]["basic"].clone(), codes[0]["body_secret"].clone()),
        (false.into(), true.into())
    );
    assert_eq!(
        (codes[1]["basic"].clone(), codes[1]["body_secret"].clone()),
        (true.into(), false.into())
    );
    assert_eq!(
        codes[1]["headers"]["x-fdk-emu-test"], "alpha",
        "customHeaders go on token requests"
    );

    let alpha = integration_status(&server.base, "alpha");
    assert_eq!(alpha["authorized"], true);
    assert_eq!(
        alpha["client_auth_method"], "basic",
        "the method that worked is remembered"
    );
    let beta = integration_status(&server.base, "beta");
    assert_eq!(
        beta["authorized"],
        Value::Null,
        "agent tokens are not the server's"
    );
    assert_eq!(beta["token_type"], "agent");

    // The remembered method is used first next time: one request, Basic.
    let before = mock.token_requests().len();
    let (code, body) = dprouter_oauth(
        &server.base,
        &json!({"action": "refresh", "integration": "alpha"}),
    );
    assert_eq!((code, body), (200, json!({"success": true})));
    let after = mock.token_requests();
    assert_eq!(after.len(), before + 1);
    assert_eq!(after[before]["basic"], true);

    // Agent level: the callback page hands the tokens to the opener, only on our origin,
    // and the server stores nothing.
    mock.set(json!({"require_basic": false}));
    let r = handshake(&server, "beta");
    assert_eq!(r.status(), 200);
    let page = r.text().expect("landing page");
    assert!(page.contains("agent_oauth_handshake") && page.contains("window.location.origin"));
    assert!(!page.contains("postMessage(message, \"*\")") && !page.contains("'*'"));
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let store =
        Store::open_with_key(&app.join(".fdk/localstore.sqlite"), test_key()).expect("store");
    assert!(rt.block_on(store.tokens("beta")).expect("read").is_none());
    // Agent refresh through /dprouter: new tokens back to the browser.
    let (code, body) = dprouter_oauth(
        &server.base,
        &json!({"action": "refresh", "integration": "beta", "tokens": {"access_token": "x", "refresh_token": "agent-rt"}}),
    );
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["action"], "refresh");
    assert!(
        body["tokens"]["access_token"]
            .as_str()
            .is_some_and(|t| t.len() > 20)
    );
    let (code, body) = dprouter_oauth(
        &server.base,
        &json!({"action": "refresh", "integration": "beta", "tokens": {"access_token": "x"}}),
    );
    assert_eq!(
        (code, body["response"].clone()),
        (210, json!("Access token cannot be refreshed"))
    );
}

#[test]
fn states_forged_reused_and_expired_are_refused_without_a_token_request() {
    let mock = MockServer::start();
    let tmp = tempfile::tempdir().expect("tmp");
    let app = multi_app(tmp.path(), &mock.base);
    let server = common::Server::start(&app, &[]);
    let http = http();

    for (query, words) in [
        ("code=c", "has no state"),
        (
            "code=c&state=forged-state-value",
            "Unknown authorization state",
        ),
    ] {
        let r = http
            .get(server.url(&format!("/auth/callback?{query}")))
            .send()
            .expect("callback");
        assert_eq!(r.status(), 400);
        let text = r.text().unwrap_or_default();
        assert!(text.contains(words), "{query}: {text}");
    }
    assert_eq!(
        mock.token_requests().len(),
        0,
        "no token request for a bad state"
    );

    // Reused: the second use of a callback URL is refused and makes no second request.
    let r = http
        .get(server.url("/auth/index?integration=alpha"))
        .send()
        .expect("/auth/index");
    let authorize = location(&r, &server.base);
    let callback = location(
        &http.get(&authorize).send().expect("authorize"),
        &server.base,
    );
    assert_eq!(http.get(&callback).send().expect("first").status(), 302);
    let again = http.get(&callback).send().expect("second");
    assert_eq!(again.status(), 400);
    assert!(
        again
            .text()
            .unwrap_or_default()
            .contains("already been used")
    );
    assert_eq!(mock.count("authorization_code"), 1);

    // The provider's ?error= is shown with its description and a link to try again.
    let r = http
        .get(server.url("/auth/index?integration=alpha"))
        .send()
        .expect("index");
    let state = url::Url::parse(&location(&r, &server.base))
        .expect("url")
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .expect("state");
    let r = http
        .get(server.url(&format!(
            "/auth/callback?error=access_denied&error_description=The+user+said+no&state={state}"
        )))
        .send()
        .expect("error callback");
    assert_eq!(r.status(), 400);
    let text = r.text().unwrap_or_default();
    assert!(text.contains("access_denied") && text.contains("The user said no"));
    assert!(
        text.contains("/auth/index?integration"),
        "retry link: {text}"
    );

    // In an agent-level popup, the failure is also posted to the opener (our origin only).
    let r = http
        .get(server.url("/auth/index?integration=beta"))
        .send()
        .expect("index");
    let state = url::Url::parse(&location(&r, &server.base))
        .expect("url")
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .expect("state");
    let text = http
        .get(server.url(&format!("/auth/callback?error=access_denied&state={state}")))
        .send()
        .and_then(|r| r.text())
        .expect("agent error callback");
    assert!(text.contains(r#""type":"agent_oauth_handshake""#), "{text}");
    assert!(text.contains(r#""error":{"message":"#) && text.contains("access_denied"));
    assert!(text.contains("window.location.origin"));

    // Garbage from the token endpoint during the code exchange: a clear error page.
    mock.set(json!({"code": "garbage"}));
    let r = handshake(&server, "alpha");
    assert_eq!(r.status(), 502);
    assert!(r.text().unwrap_or_default().contains("not with a token"));
    mock.set(json!({"code": "ok"}));

    // Expired: a server whose states live 0 seconds.
    drop(server);
    let server =
        common::Server::start_with_env(&app, &[], &[("FDK_EMU_OAUTH_STATE_TTL_SECS", "0")]);
    let before = mock.token_requests().len();
    let r = handshake(&server, "alpha");
    assert_eq!(r.status(), 400);
    assert!(r.text().unwrap_or_default().contains("took too long"));
    assert_eq!(mock.token_requests().len(), before);
}

/// A lifecycle fixture: the app, a real store file, a TokenManager on it, and alpha's tokens
/// seeded as expired (or as given).
struct Lifecycle {
    _tmp: tempfile::TempDir,
    app: fdk_emu::app::App,
    store: Store,
    manager: Arc<TokenManager>,
    rt: tokio::runtime::Runtime,
}

impl Lifecycle {
    fn new(mock: &MockServer) -> Lifecycle {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = multi_app(tmp.path(), &mock.base);
        let app = fdk_emu::app::load(&dir).expect("load").app;
        let store_path = dir.join(".fdk/localstore.sqlite");
        let store = Store::open_with_key(&store_path, test_key()).expect("store");
        let config = Config {
            app_dir: dir.clone(),
            host: "127.0.0.1".into(),
            port: 10001,
            store_path,
            demo_provider: false,
            upstreams: vec![],
            request_timeout: Duration::from_secs(5),
            rate_limit: true,
            response_limit: true,
            db_limits: true,
            refresh_margin: Duration::from_secs(60),
            oauth_state_ttl: fdk_emu::config::OAUTH_STATE_TTL,
            inspector: Default::default(),
            state_file: None,
            body_timeout: fdk_emu::config::BODY_TIMEOUT,
            node: None,
        };
        let http = reqwest::Client::new();
        let manager = Arc::new(TokenManager::new(store.clone(), config, http));
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        Lifecycle {
            _tmp: tmp,
            app,
            store,
            manager,
            rt,
        }
    }

    fn seed_expired(&self) {
        let now = fdk_emu::oauth::manager::unix_now();
        let t = Tokens {
            access_token: "old-access".into(),
            refresh_token: Some("old-refresh".into()),
            token_type: Some("Bearer".into()),
            scope: Some("read".into()),
            expires_at: Some(now - 10),
            obtained_at: now - 3610,
        };
        self.rt
            .block_on(self.store.set_tokens("alpha", &t))
            .expect("seed");
    }

    fn tokens(&self) -> Option<Tokens> {
        self.rt.block_on(self.store.tokens("alpha")).expect("read")
    }

    fn access_token(&self) -> Result<String, TokenError> {
        self.rt
            .block_on(self.manager.access_token(&self.app, "alpha"))
    }
}

#[test]
fn fifty_concurrent_requests_needing_a_refresh_make_exactly_one() {
    let mock = MockServer::start();
    mock.set(json!({"delay_ms": 800}));
    let l = Lifecycle::new(&mock);
    l.seed_expired();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let m = l.manager.clone();
            let app = l.app.clone();
            l.rt.spawn(async move { m.access_token(&app, "alpha").await })
        })
        .collect();
    let tokens: Vec<String> = l.rt.block_on(async {
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.expect("task").expect("token"));
        }
        out
    });
    assert_eq!(
        mock.count("refresh_token"),
        1,
        "single flight: one refresh for 50 callers"
    );
    assert!(tokens.iter().all(|t| t == &tokens[0] && t != "old-access"));
    let stored = l.tokens().expect("stored");
    assert_eq!(stored.access_token, tokens[0]);
    assert!(
        stored
            .expires_at
            .is_some_and(|e| e > fdk_emu::oauth::manager::unix_now() + 3000)
    );

    // After a 401 with a token another caller already replaced: no second refresh.
    let t =
        l.rt.block_on(
            l.manager
                .refresh_after_unauthorized(&l.app, "alpha", "old-access"),
        )
        .expect("token");
    assert_eq!(t, tokens[0]);
    assert_eq!(mock.count("refresh_token"), 1);
    // After a 401 with the current token: exactly one refresh.
    // (oauth2-mock-server signs the same claims within one second into the same JWT, so
    // the count at the server is what shows the refresh.)
    l.rt.block_on(l.manager.refresh_after_unauthorized(&l.app, "alpha", &t))
        .expect("token");
    assert_eq!(mock.count("refresh_token"), 2);
}

#[test]
fn invalid_grant_on_refresh_needs_reauthorization() {
    let mock = MockServer::start();
    mock.set(json!({"refresh": "invalid_grant"}));
    let l = Lifecycle::new(&mock);
    l.seed_expired();
    let err = l.access_token().expect_err("refresh must fail");
    match &err {
        TokenError::NeedsReauthorization {
            integration,
            reason,
            ..
        } => {
            assert_eq!(integration, "alpha");
            assert!(reason.contains("invalid_grant"), "{reason}");
        }
        other => panic!("expected NeedsReauthorization, got {other:?}"),
    }
    assert!(
        err.to_string()
            .contains("http://localhost:10001/custom_configs")
    );
    assert!(l.tokens().is_none(), "the dead grant is dropped");
    // Later requests fail at once, without asking the provider again.
    let again = l.access_token().expect_err("still needs re-authorization");
    assert!(matches!(again, TokenError::NeedsReauthorization { .. }));
    assert_eq!(mock.count("refresh_token"), 1);
    let status = l.rt.block_on(l.manager.status(&l.app));
    let alpha = status.iter().find(|s| s.name == "alpha").expect("alpha");
    assert!(alpha.needs_reauth && alpha.authorized == Some(false));
}

#[test]
fn without_expires_in_the_expiry_is_unknown_and_no_refresh_happens_before_use() {
    let mock = MockServer::start();
    mock.set(json!({"expires_in": null, "no_refresh_token": true}));
    let l = Lifecycle::new(&mock);
    l.seed_expired();
    // The seeded token is due: refreshed once; the answer has no expires_in and no
    // refresh_token, so the expiry becomes unknown and the old refresh token is kept.
    let t = l.access_token().expect("token");
    let stored = l.tokens().expect("stored");
    assert_eq!(stored.access_token, t);
    assert_eq!(stored.expires_at, None);
    assert_eq!(stored.refresh_token.as_deref(), Some("old-refresh"));
    // Unknown expiry: used as is, no further refresh.
    for _ in 0..3 {
        assert_eq!(l.access_token().expect("token"), t);
    }
    assert_eq!(mock.count("refresh_token"), 1);
    let status = l.rt.block_on(l.manager.status(&l.app));
    let alpha = status.iter().find(|s| s.name == "alpha").expect("alpha");
    assert_eq!((alpha.expires_at, alpha.authorized), (None, Some(true)));
}

#[test]
fn provider_down_or_garbage_is_transient_and_keeps_the_tokens() {
    let mut mock = MockServer::start();
    mock.set(json!({"refresh": "garbage"}));
    let l = Lifecycle::new(&mock);
    l.seed_expired();
    let err = l.access_token().expect_err("garbage is no token");
    assert!(matches!(err, TokenError::Transient { .. }), "{err:?}");
    assert!(err.to_string().contains("not with a token"), "{err}");
    assert_eq!(
        l.tokens().map(|t| t.access_token).as_deref(),
        Some("old-access")
    );

    mock.set(json!({"refresh": "server_error"}));
    let err = l.access_token().expect_err("503");
    assert!(matches!(err, TokenError::Transient { .. }), "{err:?}");
    assert!(l.tokens().is_some());

    mock.stop();
    let err = l.access_token().expect_err("provider down");
    assert!(matches!(err, TokenError::Transient { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("could not be reached (connection refused: nothing listens at that address)"),
        "{err}"
    );
    let kept = l.tokens().expect("tokens kept");
    assert_eq!(kept.refresh_token.as_deref(), Some("old-refresh"));
    let status = l.rt.block_on(l.manager.status(&l.app));
    assert!(!status.iter().any(|s| s.needs_reauth));
}

#[test]
fn oauth_iparams_render_the_config_and_setup_credentials_override_the_file() {
    let mock = MockServer::start();
    let tmp = tempfile::tempdir().expect("tmp");
    let app = multi_app(tmp.path(), &mock.base);
    let server = common::Server::start(&app, &[]);
    let http = http();

    // Without the tenant, the handshake cannot start and says where to enter it.
    let r = http
        .get(server.url("/auth/index?integration=gamma"))
        .send()
        .expect("index");
    assert_eq!(r.status(), 400);
    let text = r.text().unwrap_or_default();
    assert!(text.contains("oauth_iparams.tenant"), "{text}");
    assert!(text.contains("/oauth_iparams?integration"), "{text}");

    // Values entered on the setup pages (written here through the store, as those pages do).
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let store =
        Store::open_with_key(&app.join(".fdk/localstore.sqlite"), test_key()).expect("store");
    let mut iparams = serde_json::Map::new();
    iparams.insert("tenant".into(), json!("acme"));
    rt.block_on(store.set_oauth_iparams("gamma", iparams))
        .expect("oauth_iparams");
    rt.block_on(store.set_credentials(
        "gamma",
        &fdk_emu::store::Credentials {
            client_id: "gamma-page-client".into(),
            client_secret: "gamma-page-secret".into(),
        },
    ))
    .expect("credentials");

    let r = handshake(&server, "gamma");
    assert_eq!(r.status(), 302, "{:?}", r.text());
    let req = mock
        .token_requests()
        .into_iter()
        .find(|r| r["grant_type"] == "authorization_code")
        .expect("code exchange");
    assert_eq!(
        req["client_id"], "gamma-page-client",
        "setup-page credentials win"
    );
    assert_eq!(req["headers"]["x-tenant"], "acme", "customHeaders rendered");
    let r = http
        .get(server.url("/auth/index?integration=gamma"))
        .send()
        .expect("index");
    let authorize = location(&r, &server.base);
    assert!(authorize.contains("tenant=acme"), "{authorize}");
    assert!(
        authorize.contains("client_id=gamma-page-client"),
        "{authorize}"
    );
    // Each integration has its own tokens.
    assert_eq!(
        integration_status(&server.base, "gamma")["authorized"],
        true
    );
    assert_eq!(
        integration_status(&server.base, "alpha")["authorized"],
        false
    );
}

/// `--upstream` reaches the OAuth URLs: with the provider's host routed to a local provider,
/// the browser is sent to the local authorize URL and the code is exchanged there, with no
/// edit of oauth_config.json. The provider sees its own host name, as the real one would.
#[test]
fn upstream_overrides_reach_the_authorize_and_token_urls() {
    let mock = MockServer::start();
    let tmp = tempfile::tempdir().expect("tmp");
    let app = single_form_app(
        tmp.path(),
        "https://auth.provider.test/authorize",
        "https://auth.provider.test/token",
    );
    let up = format!("auth.provider.test={}", mock.base);
    let server = common::Server::start(&app, &["--upstream", &up]);
    let http = http();
    let r = http
        .get(server.url("/auth/index"))
        .send()
        .expect("/auth/index");
    assert_eq!(r.status(), 302, "{:?}", r.text());
    let authorize = location(&r, &server.base);
    assert!(
        authorize.starts_with(&format!("{}/authorize?", mock.base)),
        "{authorize}"
    );
    let r = http.get(&authorize).send().expect("provider /authorize");
    assert_eq!(r.status(), 302);
    let callback = location(&r, &server.base);
    let r = http.get(&callback).send().expect("callback");
    assert_eq!(r.status(), 302, "{:?}", r.text());
    let exchange = mock
        .token_requests()
        .into_iter()
        .find(|r| r["grant_type"] == "authorization_code")
        .expect("the code was exchanged at the local provider");
    assert_eq!(exchange["headers"]["host"], "auth.provider.test");
    assert_eq!(
        integration_status(&server.base, "default")["authorized"],
        true
    );
}
