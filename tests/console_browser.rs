//! The developer console in real headless Chromium: the inspector shows a call made by the
//! app's page (its substitutions, the upstream's answer, a curl command with the secrets left
//! masked), adds calls live and filters them; the token panel's **Expire now** followed by a
//! call shows a refresh in the inspector, made at a real provider (`oidc-provider-mock`).

mod common;
#[path = "support/console.rs"]
mod console;
#[path = "support/oauth_app.rs"]
mod oauth_app;
#[path = "support/peers.rs"]
mod peers;

use std::time::Duration;

use common::browser::Browser;
use common::httpbin::Httpbin;
use common::{Server, copy_app};
use console::{authorize_alice, invoke, store_iparams};
use fantoccini::Locator;
use serde_json::json;

const SECRET: &str = "browser-secret-9";

async fn text(b: &Browser, css: &str) -> String {
    b.css(css).await.text().await.unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inspector_shows_a_call_made_from_the_app_page() {
    let httpbin = Httpbin::start();
    let (_tmp, dir) = copy_app("invoke");
    let up = format!("api.httpbin.test={}", httpbin.base);
    let server = Server::start(&dir, &["--upstream", &up]);
    let base = server.url("");
    let b2 = base.clone();
    tokio::task::spawn_blocking(move || {
        store_iparams(
            &b2,
            json!({"user": "ann", "api_key": SECRET, "plan": "pro"}),
        )
    })
    .await
    .expect("store iparams");

    let browser = Browser::start("console_inspector").await;
    // The home page shows the app, whose script calls invokeTemplate('echo', …) on load.
    browser.goto(&server.url("/")).await;
    browser
        .wait_js(
            "document.querySelector('a[href=\"/_fdk-emu/inspector\"]') !== null",
            Duration::from_secs(5),
        )
        .await;
    let frame = browser.css("iframe[data-location=full_page_app]").await;
    frame.enter_frame().await.expect("enter the app's frame");
    browser
        .wait_js(
            "document.getElementById('result').textContent.startsWith('status 200')",
            Duration::from_secs(20),
        )
        .await;
    browser
        .client
        .enter_parent_frame()
        .await
        .expect("leave the frame");

    browser.goto(&server.url("/_fdk-emu/inspector")).await;
    browser.click("#calls tr[data-name=echo]").await;
    browser
        .wait_js(
            "document.querySelector('#detail .substitutions') !== null",
            Duration::from_secs(10),
        )
        .await;
    let meta = text(&browser, "#detail .meta").await;
    assert!(
        meta.contains("status 200") && meta.contains("from the front end"),
        "{meta}"
    );
    let subs = text(&browser, "#detail .substitutions").await;
    for expected in [
        "context.id",
        "context",
        "7",
        "iparam.api_key",
        "****",
        "iparam.plan",
        "pro",
    ] {
        assert!(subs.contains(expected), "{expected} missing in:\n{subs}");
    }
    assert_eq!(text(&browser, "#detail .response-status").await, "HTTP 200");
    let answer = text(&browser, "#detail .response .body").await;
    assert!(
        answer.contains("\"X-Note\": \"from the browser\""),
        "{answer}"
    );
    let request = text(&browser, "#detail .request").await;
    assert!(
        request.contains("POST http://127.0.0.1:") && request.contains("/anything/items/7"),
        "{request}"
    );
    // Copy as curl: the command, with the secrets left masked.
    browser.click("#copy-curl").await;
    browser
        .wait_js(
            "!document.getElementById('curl').hidden && document.getElementById('curl').textContent.length > 0",
            Duration::from_secs(5),
        )
        .await;
    let curl = text(&browser, "#curl").await;
    assert!(
        curl.starts_with("curl -X 'POST' 'http://127.0.0.1:"),
        "{curl}"
    );
    assert!(
        curl.contains("-H 'x-api-key: ****'") && curl.contains("authorization: Basic ****"),
        "{curl}"
    );
    browser.screenshot("inspector-detail").await;

    // A new call appears without a reload (server push).
    let b2 = base.clone();
    tokio::task::spawn_blocking(move || invoke(&b2, "status", json!({"context": {"code": 404}})))
        .await
        .expect("call");
    browser
        .wait_js(
            "document.querySelector('#calls tr[data-name=status]') !== null",
            Duration::from_secs(10),
        )
        .await;
    // Filters: errors only hides the successful call.
    browser.select("#f-status", "error").await;
    let hidden = browser
        .wait_js(
            "document.querySelector('#calls tr[data-name=echo]').hidden && !document.querySelector('#calls tr[data-name=status]').hidden",
            Duration::from_secs(5),
        )
        .await;
    assert_eq!(hidden, json!(true));
    browser.select("#f-status", "").await;
    browser.select("#f-name", "status").await;
    browser
        .wait_js(
            "document.querySelector('#calls tr[data-name=echo]').hidden",
            Duration::from_secs(5),
        )
        .await;
    browser.select("#f-name", "").await;
    // A db operation joins the list live; the kind filter keeps only it.
    let b2 = base.clone();
    tokio::task::spawn_blocking(move || {
        console::client()
            .post(format!("{b2}/dprouter"))
            .header("MKP-ROUTE", "db")
            .json(&json!({"action": "store", "dbKey": "seen", "data": {"by": "test"}}))
            .send()
            .map(|r| r.status().as_u16())
    })
    .await
    .expect("call")
    .expect("db store");
    browser
        .wait_js(
            "document.querySelector('#calls tr[data-kind=db]') !== null",
            Duration::from_secs(10),
        )
        .await;
    browser.select("#f-kind", "db").await;
    let only_db = browser
        .wait_js(
            "document.querySelector('#calls tr[data-name=echo]').hidden && !document.querySelector('#calls tr[data-kind=db]').hidden",
            Duration::from_secs(5),
        )
        .await;
    assert_eq!(only_db, json!(true));
    browser.screenshot("inspector-filtered").await;
    let page = browser
        .client
        .execute("return document.documentElement.outerHTML;", vec![])
        .await
        .expect("page");
    assert!(
        !page.to_string().contains(SECRET),
        "the secure iparam is on the page"
    );
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expire_now_in_the_token_panel_makes_the_next_call_refresh() {
    // Its start polls with a blocking client, which must not run on the async threads.
    let provider = tokio::task::spawn_blocking(|| peers::OidcProvider::start(3600))
        .await
        .expect("oidc-provider-mock");
    let tmp = tempfile::tempdir().expect("tmp");
    let app = oauth_app::single_form_app(
        tmp.path(),
        &format!("{}/oauth2/authorize", provider.base),
        &format!("{}/oauth2/token", provider.base),
    );
    let idp = format!("idp.test={}", provider.base);
    let server = Server::start(&app, &["--upstream", &idp]);
    let base = server.url("");
    let b2 = base.clone();
    tokio::task::spawn_blocking(move || authorize_alice(&b2, "default"))
        .await
        .expect("handshake");
    let store = fdk_emu::store::Store::open_with_key(
        &app.join(".fdk/localstore.sqlite"),
        oauth_app::test_key(),
    )
    .expect("store");
    let token = async || {
        store
            .tokens("default")
            .await
            .expect("read")
            .expect("tokens")
            .access_token
    };
    let first = token().await;

    let browser = Browser::start("console_tokens").await;
    browser.goto(&server.url("/_fdk-emu/oauth")).await;
    let state = text(&browser, "[data-integration=default] .state").await;
    assert_eq!(state, "authorized");
    browser
        .wait_js(
            "document.querySelector('[data-integration=default] .expiry').textContent.startsWith('in ')",
            Duration::from_secs(5),
        )
        .await;
    browser
        .click("[data-integration=default] button.expire")
        .await;
    browser
        .wait_js(
            "document.getElementById('notice') !== null",
            Duration::from_secs(10),
        )
        .await;
    let notice = text(&browser, "#notice").await;
    assert!(notice.contains("marked expired"), "{notice}");
    browser
        .wait_js(
            "document.querySelector('[data-integration=default] .expiry').textContent.startsWith('expired')",
            Duration::from_secs(5),
        )
        .await;
    browser.screenshot("tokens-expired").await;
    assert_eq!(token().await, first, "expiring does not refresh by itself");

    // The inspector is open while the app calls the API.
    browser.goto(&server.url("/_fdk-emu/inspector")).await;
    browser
        .wait_js(
            "document.getElementById('live').textContent === 'live'",
            Duration::from_secs(10),
        )
        .await;
    let b2 = base.clone();
    let env = tokio::task::spawn_blocking(move || oauth_app::invoke(&b2, "userinfo"))
        .await
        .expect("call");
    assert_eq!(env["status"], 200, "{env}");
    browser
        .wait_js(
            "document.querySelector('#calls tr[data-name=userinfo] .badge') !== null",
            Duration::from_secs(10),
        )
        .await;
    browser.click("#calls tr[data-name=userinfo]").await;
    browser
        .wait_js(
            "document.querySelector('#detail .refreshes') !== null",
            Duration::from_secs(10),
        )
        .await;
    let refresh = text(&browser, "#detail .refreshes").await;
    assert!(
        refresh.contains("default")
            && refresh.contains("the token was expiring")
            && refresh.contains("refreshed"),
        "{refresh}"
    );
    let authorization = browser
        .client
        .find(Locator::Css("#detail .request table"))
        .await
        .expect("request headers")
        .text()
        .await
        .unwrap_or_default();
    assert!(authorization.contains("Bearer ****"), "{authorization}");
    browser.screenshot("inspector-refresh").await;

    // The refresh happened at the provider: a new token, which the provider accepts.
    let second = token().await;
    assert_ne!(second, first);
    let status = reqwest::Client::new()
        .get(format!("{}/userinfo", provider.base))
        .bearer_auth(&second)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0);
    assert_eq!(status, 200);
    let page = browser
        .client
        .execute("return document.documentElement.outerHTML;", vec![])
        .await
        .expect("page");
    assert!(!page.to_string().contains(&second) && !page.to_string().contains(&first));

    browser.goto(&server.url("/_fdk-emu/oauth")).await;
    browser
        .wait_js(
            "document.querySelector('[data-integration=default] .last-refresh').textContent.startsWith('succeeded, ')",
            Duration::from_secs(5),
        )
        .await;
    browser.close().await;
}
