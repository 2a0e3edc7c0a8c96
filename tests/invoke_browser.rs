//! The app's front end in a real browser: headless Chromium opens fdk-emu's home page, which
//! shows the fixture app's location in an iframe; the app's script calls
//! `client.request.invokeTemplate('echo', …)` through our client script, fdk-emu sends it to a
//! real httpbin, and the echoed request appears on the page.

mod common;

use std::time::{Duration, Instant};

use common::browser::Browser;
use common::httpbin::Httpbin;
use common::{Server, copy_app};
use fantoccini::{Client, Locator};
use serde_json::json;

/// Polls the text of `css` until `pred` holds; returns the last text seen.
async fn wait_text(c: &Client, css: &str, within: Duration, pred: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + within;
    let mut last = String::new();
    while Instant::now() < deadline {
        if let Ok(el) = c.find(Locator::Css(css)).await
            && let Ok(t) = el.text().await
        {
            if pred(&t) {
                return t;
            }
            last = t;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    last
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_calls_invoke_template_from_the_home_page() {
    let httpbin = Httpbin::start();
    let (_tmp, dir) = copy_app("invoke");
    let up = format!("api.httpbin.test={}", httpbin.base);
    let server = Server::start(&dir, &["--upstream", &up]);
    let resp = reqwest::Client::new()
        .post(server.url("/custom_configs/store"))
        .header("Origin", server.url(""))
        .json(&json!({"user": "ann", "api_key": "browser-secret-9", "plan": "pro"}))
        .send()
        .await
        .expect("store iparams");
    assert!(
        resp.status().is_success(),
        "store iparams: {}",
        resp.status()
    );

    let browser = Browser::start("invoke_from_home_page").await;
    let c = &browser.client;
    browser.goto(&server.url("/")).await;
    let title = c
        .find(Locator::Css("h1"))
        .await
        .expect("h1")
        .text()
        .await
        .unwrap_or_default();
    assert_eq!(title, "invoke");
    let frame = c
        .find(Locator::Css("iframe[data-location=full_page_app]"))
        .await
        .expect("the location's iframe");
    frame.enter_frame().await.expect("enter the app's iframe");

    let result = wait_text(c, "#result", Duration::from_secs(20), |t| {
        t.starts_with("status") || t.starts_with("failed")
    })
    .await;
    assert!(result.starts_with("status 200"), "{result}");
    assert!(
        result.contains("/anything/items/7?plan=pro&fixed=template&extra=yes"),
        "{result}"
    );
    assert!(result.contains("note from the browser"), "{result}");
    assert!(result.contains(r#"body {"hello":"world"}"#), "{result}");

    let iparams = wait_text(c, "#iparams", Duration::from_secs(5), |t| {
        t.starts_with('{')
    })
    .await;
    assert!(iparams.contains("\"user\":\"ann\""), "{iparams}");
    assert!(!iparams.contains("browser-secret-9"), "{iparams}");
    let ctx = wait_text(c, "#context", Duration::from_secs(5), |t| {
        t.starts_with("location")
    })
    .await;
    assert_eq!(ctx, "location=full_page_app");
    browser.screenshot("app-result").await;
    browser.close().await;
}
