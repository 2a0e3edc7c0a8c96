//! Real headless Chromium driven through chromedriver (WebDriver) with fantoccini.
//!
//! Each [`Browser`] starts its own `chromedriver` on a free port and one Chromium session
//! with a fresh profile; both end when it is dropped (or [`Browser::close`]d). Screenshots
//! land in `test-artifacts/<test>/<name>.png` at the crate root.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

pub const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "chromedriver";

/// The arguments that keep headless Chromium quiet on a closed network.
pub const CHROMIUM_ARGS: [&str; 9] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1200,1000",
];

pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
    artifacts: PathBuf,
}

impl Browser {
    /// Starts chromedriver and a Chromium session. `test` names the artifacts folder.
    pub async fn start(test: &str) -> Browser {
        if !Path::new(CHROMIUM).exists() {
            panic!(
                "{CHROMIUM} is missing: run ./scripts/test, which installs chromium and chromium-driver"
            );
        }
        // Two TLS providers are compiled in (see Cargo.toml); choose one for the process.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let port = super::free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {CHROMEDRIVER} ({e}): run ./scripts/test, which installs chromium-driver"));
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on port {port} within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile = tempfile::tempdir().expect("profile dir");
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|s| s.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({"binary": CHROMIUM, "args": args}),
        );
        let client = ClientBuilder::rustls()
            .expect("rustls connector")
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("new Chromium session through chromedriver");
        let artifacts = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("test-artifacts")
            .join(test);
        std::fs::create_dir_all(&artifacts).expect("artifacts dir");
        Browser {
            client,
            driver,
            _profile: profile,
            artifacts,
        }
    }

    /// Saves a screenshot of the whole viewport as `<name>.png` and returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("screenshot");
        let path = self.artifacts.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }

    /// Navigates and waits until the document has loaded.
    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("goto {url}: {e}"));
    }

    pub async fn css(&self, selector: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(selector))
            .await
            .unwrap_or_else(|e| panic!("element {selector} not found: {e}"))
    }

    /// Polls `script` (a JS expression) until it is truthy, up to `within`.
    /// Clicks the element `selector` names (waiting for it to appear).
    pub async fn click(&self, selector: &str) {
        self.css(selector)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("cannot click {selector}: {e}"));
    }

    /// Chooses `value` in the `<select>` element `selector` names.
    pub async fn select(&self, selector: &str, value: &str) {
        self.css(selector)
            .await
            .select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("cannot select {value} in {selector}: {e}"));
    }

    pub async fn wait_js(&self, script: &str, within: Duration) -> serde_json::Value {
        let deadline = Instant::now() + within;
        loop {
            let v = self
                .client
                .execute(&format!("return ({script});"), vec![])
                .await
                .unwrap_or(serde_json::Value::Null);
            let truthy = !matches!(&v, serde_json::Value::Null | serde_json::Value::Bool(false))
                && v != serde_json::json!("")
                && v != serde_json::json!(0);
            if truthy {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "condition `{script}` not met within {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The page's current path and query.
    pub async fn path(&self) -> String {
        let u = self.client.current_url().await.expect("url");
        match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_string(),
        }
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
