//! The app's front end in a real browser: headless Chromium opens fdk-emu's home page, which
//! shows the fixture app's location in an iframe; the app's script calls
//! `client.request.invokeTemplate('echo', …)` through our client script, fdk-emu sends it to a
//! real httpbin, and the echoed request appears on the page.

mod common;

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::httpbin::Httpbin;
use common::{Server, copy_app, free_port};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// chromedriver on a free port, killed on drop.
struct Driver {
    child: Child,
    port: u16,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn browser() -> (Driver, Client) {
    let port = free_port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start chromedriver ({e}): run ./scripts/test, which installs chromium and chromium-driver")
        });
    let profile = tempfile::tempdir().expect("profile dir");
    let driver = Driver {
        child,
        port,
        _profile: profile,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", driver.port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "chromedriver did not listen within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let caps = json!({
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                format!("--user-data-dir={}", driver._profile.path().display()),
            ]
        }
    });
    let caps = match caps {
        serde_json::Value::Object(m) => m,
        _ => unreachable!("a JSON object literal"),
    };
    let client = ClientBuilder::rustls()
        .expect("rustls")
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("connect to chromedriver");
    (driver, client)
}

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

    let (_driver, c) = browser().await;
    c.goto(&server.url("/")).await.expect("open the home page");
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

    let result = wait_text(&c, "#result", Duration::from_secs(20), |t| {
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

    let iparams = wait_text(&c, "#iparams", Duration::from_secs(5), |t| {
        t.starts_with('{')
    })
    .await;
    assert!(iparams.contains("\"user\":\"ann\""), "{iparams}");
    assert!(!iparams.contains("browser-secret-9"), "{iparams}");
    let ctx = wait_text(&c, "#context", Duration::from_secs(5), |t| {
        t.starts_with("location")
    })
    .await;
    assert_eq!(ctx, "location=full_page_app");
    c.close().await.ok();
}
