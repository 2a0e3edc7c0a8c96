//! App set-up events and the event simulator in real Chromium: the installation page's
//! Install runs onAppInstall, whose renderData error blocks the install and is shown on the
//! page; a good key installs. On `/web/test`, Fire runs onTicketCreate and shows its result
//! and logs.

mod common;

use std::time::Duration;

use common::browser::Browser;
use common::{Server, copy_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_app_install_blocks_the_install_and_the_simulator_fires() {
    let (_tmp, dir) = copy_app("events");
    let server = Server::start(&dir, &[]);
    let b = Browser::start("events_install").await;

    b.goto(&server.url("/custom_configs/install")).await;
    let key = b.css("#f-api-key").await;
    key.send_keys("bad").await.expect("type");
    b.click("form.setup button[type=submit]").await;
    let shown = b
        .wait_js(
            "(function(){var n=document.querySelector('.notice.error');return n?n.textContent:false;})()",
            Duration::from_secs(20),
        )
        .await;
    let shown = shown.as_str().unwrap_or_default().to_string();
    assert!(
        shown.contains(
            "onAppInstall refused the installation: The API key was refused by the service"
        ),
        "{shown}"
    );
    b.screenshot("01-install-refused").await;
    let fetched: serde_json::Value = reqwest::get(server.url("/custom_configs/fetch"))
        .await
        .expect("fetch")
        .json()
        .await
        .expect("json");
    assert_eq!(
        fetched["customIParams"],
        serde_json::json!({}),
        "nothing stored"
    );

    let key = b.css("#f-api-key").await;
    key.clear().await.expect("clear");
    key.send_keys("good").await.expect("type");
    b.click("form.setup button[type=submit]").await;
    b.wait_js(
        "!!document.getElementById('open-app')",
        Duration::from_secs(20),
    )
    .await;
    b.screenshot("02-installed").await;

    b.goto(&server.url("/web/test")).await;
    b.wait_js(
        "!!document.querySelector('#ev-select option[value=onTicketCreate]')",
        Duration::from_secs(20),
    )
    .await;
    b.select("#ev-select", "onTicketCreate").await;
    b.wait_js(
        "document.getElementById('ev-payload').value.indexOf('\"ticket\"') >= 0",
        Duration::from_secs(20),
    )
    .await;
    b.click("#ev-fire").await;
    let line = b
        .wait_js(
            "(function(){var c=document.getElementById('ev-result-card');return c.hidden?false:document.getElementById('ev-result-line').textContent;})()",
            Duration::from_secs(20),
        )
        .await;
    let line = line.as_str().unwrap_or_default().to_string();
    assert!(
        line.starts_with("onTicketCreate → onTicketCreateHandler: succeeded"),
        "{line}"
    );
    let logs = b
        .wait_js(
            "document.getElementById('ev-logs').textContent",
            Duration::from_secs(5),
        )
        .await;
    assert!(
        logs.as_str()
            .unwrap_or_default()
            .contains("ticket 1001 from customer@example.com"),
        "{logs}"
    );
    b.screenshot("03-simulator-fired").await;
    b.close().await;
}
