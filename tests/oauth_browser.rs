//! The handshake in real headless Chromium, against the built-in demo provider: an
//! account-level authorization by clicking (the consent button used with the keyboard), and
//! the agent-level popup that hands the tokens to the page that opened it.

mod common;

use std::time::Duration;

use common::browser::Browser;
use fantoccini::Locator;
use serde_json::{Value, json};

async fn status(port: u16, integration: &str) -> Value {
    let v: Value = reqwest::get(format!("http://127.0.0.1:{port}/api/status"))
        .await
        .expect("/api/status")
        .json()
        .await
        .expect("json");
    v["integrations"]
        .as_array()
        .and_then(|a| a.iter().find(|i| i["name"] == integration).cloned())
        .unwrap_or(Value::Null)
}

/// The demo app with a second, agent-level integration on the demo provider.
fn demo_with_agent() -> (tempfile::TempDir, std::path::PathBuf) {
    let (tmp, dir) = common::copy_app("demo");
    let path = dir.join("config/oauth_config.json");
    let mut v: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
    let mut agent = v["integrations"]["demo"].clone();
    agent["display_name"] = json!("Demo provider, agent level");
    agent["token_type"] = json!("agent");
    v["integrations"]["agentdemo"] = agent;
    std::fs::write(&path, serde_json::to_string_pretty(&v).expect("json")).expect("write");
    // A template using the agent's token, declared in the manifest.
    let path = dir.join("config/requests.json");
    let mut r: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
    let mut t = r["getProfile"].clone();
    t["options"]["oauth"] = json!("agentdemo");
    r["getProfileAgent"] = t;
    std::fs::write(&path, serde_json::to_string_pretty(&r).expect("json")).expect("write");
    let path = dir.join("manifest.json");
    let mut m: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
    m["modules"]["common"]["requests"]["getProfileAgent"] = json!({});
    std::fs::write(&path, serde_json::to_string_pretty(&m).expect("json")).expect("write");
    (tmp, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_handshake_by_clicking_and_agent_popup() {
    let (_tmp, dir) = demo_with_agent();
    let server =
        tokio::task::spawn_blocking(move || common::Server::start(&dir, &["--demo-provider"]))
            .await
            .expect("server");
    let port = server.port;
    // `localhost`, the origin of the redirect URI, so the popup and its opener share it.
    let base = format!("http://localhost:{port}");
    let b = Browser::start("oauth_browser").await;

    // Account level: the authorization step page → the demo provider's consent page.
    b.goto(&format!("{base}/custom_configs/authorize?integration=demo"))
        .await;
    b.css(r#"a[href^="/auth/index"]"#)
        .await
        .click()
        .await
        .expect("click Authorize link");
    let consent = b.css("#authorize").await;
    b.screenshot("demo-consent").await;
    assert_eq!(
        b.path().await.split('?').next(),
        Some("/_demo/oauth/authorize")
    );
    // The consent button has the focus and works with the keyboard.
    let focused = b
        .client
        .execute(
            "return document.activeElement && document.activeElement.id",
            vec![],
        )
        .await
        .expect("js");
    assert_eq!(focused, json!("authorize"));
    consent.send_keys("\u{E007}").await.expect("press Enter");
    b.wait_js(
        "!location.pathname.startsWith('/_demo')",
        Duration::from_secs(10),
    )
    .await;
    b.screenshot("after-authorize").await;
    let s = status(port, "demo").await;
    assert_eq!(s["authorized"], true, "{s}");
    assert_eq!(s["expires_in"].as_i64().map(|e| e <= 120), Some(true));

    // The app's OAuth template now works from the app page (client.js → /dprouter).
    b.goto(&format!("{base}/iframe/index.html")).await;
    b.wait_js(
        "document.getElementById('result').textContent === 'Ready.'",
        Duration::from_secs(10),
    )
    .await;
    b.css("#profile")
        .await
        .click()
        .await
        .expect("click profile");
    let shown = b
        .wait_js(
            "(function(t){return t.indexOf('getProfile 200') === 0 && t})(document.getElementById('result').textContent)",
            Duration::from_secs(10),
        )
        .await;
    assert!(
        shown.as_str().unwrap_or("").contains("Demo User"),
        "{shown}"
    );
    b.screenshot("get-profile").await;

    // Agent level: a page of ours opens the handshake in a popup and listens for the tokens.
    b.goto(&format!("{base}/custom_configs/authorize?integration=demo"))
        .await;
    let opener = b.client.window().await.expect("window");
    b.client
        .execute(
            r#"window.__msgs = [];
               window.addEventListener('message', function (e) {
                 window.__msgs.push({origin: e.origin, data: e.data});
               });
               window.__popup = window.open('/auth/index?integration=agentdemo', 'fdk_oauth', 'width=500,height=600');
               return true;"#,
            vec![],
        )
        .await
        .expect("open popup");
    let popup = {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let windows = b.client.windows().await.expect("windows");
            if let Some(w) = windows.into_iter().find(|w| *w != opener) {
                break w;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the popup did not open"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    b.client
        .switch_to_window(popup)
        .await
        .expect("switch to popup");
    b.client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#authorize"))
        .await
        .expect("consent page in the popup")
        .click()
        .await
        .expect("click Authorize");
    // The landing page posts the tokens and closes itself.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while b.client.windows().await.expect("windows").len() > 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "the popup did not close"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    b.client
        .switch_to_window(opener)
        .await
        .expect("back to the opener");
    let msgs = b
        .wait_js(
            "window.__msgs.length > 0 && window.__msgs",
            Duration::from_secs(10),
        )
        .await;
    let m = &msgs[0];
    assert_eq!(m["origin"], json!(base), "posted to our own origin only");
    assert_eq!(m["data"]["type"], "agent_oauth_handshake");
    assert_eq!(m["data"]["integration"], "agentdemo");
    let access = m["data"]["tokens"]["access_token"]
        .as_str()
        .expect("access token")
        .to_string();
    let refresh = m["data"]["tokens"]["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_string();
    // The agent's token works against the provider's protected API, from the page.
    let me = b
        .wait_js(
            &format!(
                "window.__me || (fetch('/_demo/api/me', {{headers: {{Authorization: 'Bearer {access}'}}}}).then(function (r) {{ window.__me = r.status; }}), false)"
            ),
            Duration::from_secs(10),
        )
        .await;
    assert_eq!(me, json!(200));
    // The server stored nothing for the agent integration…
    let s = status(port, "agentdemo").await;
    assert_eq!(s["authorized"], Value::Null, "{s}");
    // …and refreshes the agent's tokens on request, answering them to the browser.
    let r: Value = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/dprouter"))
        .header("MKP-ROUTE", "oauth")
        .json(&json!({"action": "refresh", "integration": "agentdemo",
                      "tokens": {"access_token": access, "refresh_token": refresh}}))
        .send()
        .await
        .expect("refresh")
        .json()
        .await
        .expect("json");
    assert_eq!(r["action"], "refresh", "{r}");
    assert_ne!(r["tokens"]["access_token"], json!(access));

    // The same through the client script: reAuthorize opens the popup, the tokens land in
    // localStorage for this app and integration, and the agent template sends them.
    b.goto(&format!("{base}/iframe/index.html")).await;
    b.wait_js(
        "document.getElementById('result').textContent === 'Ready.'",
        Duration::from_secs(10),
    )
    .await;
    let opener = b.client.window().await.expect("window");
    b.client
        .execute(
            r#"window.app.initialized().then(function (c) {
                 window.__c = c;
                 return c.interface.trigger('reAuthorize', {integration: 'agentdemo'});
               }).then(function (r) { window.__reauth = r; });
               return true;"#,
            vec![],
        )
        .await
        .expect("reAuthorize");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let popup = loop {
        let windows = b.client.windows().await.expect("windows");
        if let Some(w) = windows.into_iter().find(|w| *w != opener) {
            break w;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "reAuthorize opened no popup"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    b.client.switch_to_window(popup).await.expect("popup");
    b.css("#authorize")
        .await
        .click()
        .await
        .expect("click Authorize");
    b.client.switch_to_window(opener).await.expect("opener");
    b.wait_js(
        "window.__reauth && window.__reauth.integration === 'agentdemo'",
        Duration::from_secs(10),
    )
    .await;
    let stored = b
        .wait_js(
            "Object.keys(localStorage).filter(function (k) { return /^fdk-emu:tokens:.*:agentdemo$/.test(k); }).map(function (k) { return JSON.parse(localStorage.getItem(k)); })[0]",
            Duration::from_secs(5),
        )
        .await;
    assert!(
        stored["access_token"]
            .as_str()
            .is_some_and(|t| t.starts_with("demoat_")),
        "{stored}"
    );
    b.client
        .execute(
            r#"window.__c.request.invokeTemplate('getProfileAgent', {}).then(
                 function (r) { window.__agent = r; }, function (e) { window.__agent = e; });
               return true;"#,
            vec![],
        )
        .await
        .expect("invoke agent template");
    let env = b.wait_js("window.__agent", Duration::from_secs(10)).await;
    assert_eq!(env["status"], 200, "{env}");
    assert!(
        env["response"].as_str().unwrap_or("").contains("Demo User"),
        "{env}"
    );
    b.close().await;
    drop(server);
}

/// An agent-level integration has a way in: its `oauth_iparams` can be entered on the setup
/// pages (a step of `/custom_configs`), and the home page lists it with an Authorize button
/// that runs the popup flow and keeps the tokens in this browser for the app's pages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_integrations_are_authorized_from_the_home_page() {
    let (_tmp, dir) = demo_with_agent();
    // The agent integration takes a region from its oauth_iparams.
    let path = dir.join("config/oauth_config.json");
    let mut v: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
    v["integrations"]["agentdemo"]["authorize_url"] =
        json!("http://localhost:10001/_demo/oauth/authorize?region=<%= oauth_iparams.region %>");
    v["integrations"]["agentdemo"]["oauth_iparams"] = json!({"region": {
        "display_name": "Region", "description": "Your account's region", "type": "text",
        "required": true}});
    std::fs::write(&path, serde_json::to_string_pretty(&v).expect("json")).expect("write");
    let server =
        tokio::task::spawn_blocking(move || common::Server::start(&dir, &["--demo-provider"]))
            .await
            .expect("server");
    let port = server.port;
    let base = format!("http://localhost:{port}");
    let b = Browser::start("agent_home").await;

    // The parameters of the agent integration are a setup step with their own page.
    let status: Value = reqwest::get(format!("{base}/api/status"))
        .await
        .expect("status")
        .json()
        .await
        .expect("json");
    let step = status["setup"]["steps"]
        .as_array()
        .and_then(|s| {
            s.iter()
                .find(|s| s["id"] == "oauth_iparams:agentdemo")
                .cloned()
        })
        .unwrap_or_default();
    assert_eq!(step["state"], "todo", "{status}");
    b.goto(&format!("{base}/oauth_iparams?integration=agentdemo"))
        .await;
    let field = b.css("#f-region").await;
    field.send_keys("eu").await.expect("type");
    b.screenshot("01-agent-parameters").await;
    b.click("form button[type=submit]").await;
    b.wait_js(
        "location.pathname !== '/oauth_iparams'",
        Duration::from_secs(10),
    )
    .await;

    // The home page lists the agent integration with an Authorize button.
    b.goto(&format!("{base}/")).await;
    let button = b
        .css("#agent-integrations button[data-integration=agentdemo]")
        .await;
    assert!(
        button
            .text()
            .await
            .expect("text")
            .contains("Demo provider, agent level")
    );
    b.screenshot("02-home").await;
    let opener = b.client.window().await.expect("window");
    button.click().await.expect("click Authorize");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let popup = loop {
        let windows = b.client.windows().await.expect("windows");
        if let Some(w) = windows.into_iter().find(|w| *w != opener) {
            break w;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "Authorize opened no popup"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    b.client.switch_to_window(popup).await.expect("popup");
    let consent = b.css("#authorize").await;
    let url = b.client.current_url().await.expect("url");
    assert!(
        url.query().unwrap_or_default().contains("region=eu"),
        "the agent's oauth_iparams are used: {url}"
    );
    consent.click().await.expect("click Authorize");
    b.client.switch_to_window(opener).await.expect("opener");
    b.wait_js(
        "document.querySelector('#agent-integrations [data-state=agentdemo]').textContent.indexOf('Authorized') === 0",
        Duration::from_secs(10),
    )
    .await;
    b.screenshot("03-authorized").await;
    // The tokens are where the app's pages look for them.
    let stored = b
        .wait_js(
            "Object.keys(localStorage).filter(function (k) { return /^fdk-emu:tokens:.*:agentdemo$/.test(k); }).map(function (k) { return JSON.parse(localStorage.getItem(k)); })[0]",
            Duration::from_secs(5),
        )
        .await;
    assert!(
        stored["access_token"]
            .as_str()
            .is_some_and(|t| t.starts_with("demoat_")),
        "{stored}"
    );
    b.close().await;
    drop(server);
}
