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
        Self::start_with(test, &[]).await
    }

    /// Like [`Browser::start`], with more Chromium arguments (e.g. `--host-resolver-rules`).
    pub async fn start_with(test: &str, extra_args: &[String]) -> Browser {
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
        args.extend(extra_args.iter().cloned());
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

/// A stand-in for everything outside the machine: Chromium is told to resolve every host name
/// but the ones a test maps itself to this listener, which records what reached it (a TLS
/// ClientHello names its host in the clear). A test then asserts that nothing left the
/// machine, or that a request for a given host was made, while the machine has no internet.
pub struct OutsideWorld {
    pub port: u16,
    seen: std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
}

impl OutsideWorld {
    pub fn start() -> OutsideWorld {
        use std::io::Read;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the outside world");
        let port = listener.local_addr().expect("addr").port();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let record = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                let mut buf = vec![0u8; 8192];
                let n = stream.read(&mut buf).unwrap_or(0);
                buf.truncate(n);
                if let Ok(mut seen) = record.lock() {
                    seen.push(buf);
                }
            }
        });
        OutsideWorld { port, seen }
    }

    /// `--host-resolver-rules` sending `mapped` hosts to their local ports and every other
    /// name here; the machine's own addresses are left alone.
    pub fn resolver_rules(&self, mapped: &[(&str, u16)]) -> String {
        let mut rules: Vec<String> = mapped
            .iter()
            .map(|(host, port)| format!("MAP {host} 127.0.0.1:{port}"))
            .collect();
        rules.push(format!("MAP * 127.0.0.1:{}", self.port));
        rules.push("EXCLUDE 127.0.0.1".into());
        rules.push("EXCLUDE localhost".into());
        format!("--host-resolver-rules={}", rules.join(", "))
    }

    /// The host names of the connections that reached the outside world: the server name of
    /// a TLS ClientHello, or the `Host` of a plain HTTP request.
    pub fn hosts(&self) -> Vec<String> {
        self.seen
            .lock()
            .map(|s| s.iter().filter_map(|c| host_of(c)).collect())
            .unwrap_or_default()
    }

    /// The hosts that reached the outside world other than Chromium's own background services
    /// (clock, component updates, sign-in, autofill, its default search engine), which a page does not
    /// cause: what a page of the test made leave the machine.
    pub fn caused_by_pages(&self) -> Vec<String> {
        self.hosts()
            .into_iter()
            .filter(|h| !CHROMIUM_OWN_HOSTS.contains(&h.as_str()))
            .collect()
    }

    /// Whether a connection for `host` arrived.
    pub fn saw(&self, host: &str) -> bool {
        self.hosts().iter().any(|h| h == host)
    }
}

/// Where headless Chromium connects by itself, whatever page it shows (seen on Debian's
/// chromium with [`CHROMIUM_ARGS`]).
const CHROMIUM_OWN_HOSTS: [&str; 10] = [
    "content-autofill.googleapis.com",
    "clients2.google.com",
    "update.googleapis.com",
    "accounts.google.com",
    "start.duckduckgo.com",
    "www.google.com",
    "clientservices.googleapis.com",
    "optimizationguide-pa.googleapis.com",
    "safebrowsing.googleapis.com",
    "redirector.gvt1.com",
];

/// The host a connection's first bytes name: TLS SNI or HTTP `Host`.
fn host_of(bytes: &[u8]) -> Option<String> {
    if bytes.first() == Some(&0x16) {
        return sni(bytes);
    }
    let text = String::from_utf8_lossy(bytes);
    text.lines()
        .find_map(|l| {
            l.strip_prefix("Host: ")
                .or_else(|| l.strip_prefix("host: "))
        })
        .map(|h| h.split(':').next().unwrap_or(h).trim().to_string())
}

/// The server name of a TLS ClientHello (RFC 8446 4.1.2, RFC 6066 3).
fn sni(b: &[u8]) -> Option<String> {
    let u16at = |i: usize| -> Option<usize> {
        Some(((*b.get(i)? as usize) << 8) | *b.get(i + 1)? as usize)
    };
    // record header (5), handshake header (4), version (2), random (32)
    let mut i = 5 + 4 + 2 + 32;
    i += 1 + *b.get(i)? as usize; // session id
    i += 2 + u16at(i)?; // cipher suites
    i += 1 + *b.get(i)? as usize; // compression methods
    let end = i + 2 + u16at(i)?;
    i += 2;
    while i + 4 <= end.min(b.len()) {
        let (kind, len) = (u16at(i)?, u16at(i + 2)?);
        if kind == 0 {
            // list length (2), name type (1), name length (2), name
            let n = u16at(i + 4 + 3)?;
            let start = i + 4 + 5;
            return b
                .get(start..start + n)
                .map(|s| String::from_utf8_lossy(s).into_owned());
        }
        i += 4 + len;
    }
    None
}
