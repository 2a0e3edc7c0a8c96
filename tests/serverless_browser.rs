//! SMI from a real browser: headless Chromium opens the home page, the `serverless` fixture
//! app's button calls `client.request.invoke('greet', …)`, server.js answers in Node and the
//! result appears; a renderData error rejects. On the generated installation page, a field's
//! change handler (config/assets/iparams.js) calls `client.request.invoke` too, before
//! anything is stored (`isInstall`).

mod common;

use std::time::Duration;

use common::browser::Browser;
use common::{Server, copy_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_and_the_installation_page_call_server_js() {
    let (_tmp, dir) = copy_app("serverless");
    let server = Server::start(&dir, &[]);
    let b = Browser::start("serverless_smi").await;

    // The installation page: the change handler of api_key asks server.js.
    b.goto(&server.url("/custom_configs/install")).await;
    b.wait_js(
        "!!window.client && typeof window.checkKey === 'function'",
        Duration::from_secs(10),
    )
    .await;
    let key = b.css("#f-api-key").await;
    key.send_keys("bad-key").await.expect("type");
    b.click("#f-plan").await;
    b.wait_js(
        "document.getElementById('f-api-key-error').textContent === 'server.js refused the key (isInstall: true)'",
        Duration::from_secs(20),
    )
    .await;
    b.screenshot("01-install-page-refused").await;
    let key = b.css("#f-api-key").await;
    key.clear().await.expect("clear");
    key.send_keys("good-key").await.expect("type");
    b.click("#f-plan").await;
    b.wait_js(
        "!document.querySelector('[data-field=api_key]').dataset.eventPending && document.getElementById('f-api-key-error').hidden",
        Duration::from_secs(20),
    )
    .await;

    // The app on the home page: a button calls client.request.invoke.
    b.goto(&server.url("/")).await;
    b.css("iframe[data-location=full_page_app]")
        .await
        .enter_frame()
        .await
        .expect("enter the app's iframe");
    b.wait_js("!!window.app", Duration::from_secs(10)).await;
    b.click("#greet").await;
    let shown = b
        .wait_js(
            "(function(){var t=document.getElementById('result').textContent;return t.indexOf('resolved')===0||t.indexOf('rejected')===0?t:false;})()",
            Duration::from_secs(20),
        )
        .await;
    let shown = shown.as_str().unwrap_or_default().to_string();
    assert!(
        shown.starts_with("resolved ")
            && shown.contains("\"message\":\"Hello, browser!\"")
            && shown.contains("\"requestID\":"),
        "{shown}"
    );
    b.screenshot("02-greet-resolved").await;

    b.click("#fail").await;
    let shown = b
        .wait_js(
            "(function(){var t=document.getElementById('result').textContent;return t.indexOf('rejected')===0?t:false;})()",
            Duration::from_secs(20),
        )
        .await;
    let shown = shown.as_str().unwrap_or_default().to_string();
    assert!(
        shown.contains("\"status\":404")
            && shown.contains("\"message\":\"no such ticket: 42\"")
            && shown.contains("\"errorSource\":\"APP\""),
        "{shown}"
    );
    b.screenshot("03-fail-rejected").await;
    b.close().await;
}
