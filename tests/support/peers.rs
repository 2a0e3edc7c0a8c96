//! Real third-party OAuth providers for the tests, started on free 127.0.0.1 ports and
//! stopped on drop: PyPI `oidc-provider-mock` 0.3.4 and npm `oauth2-mock-server` 8.2.3
//! (through `tests/peers/oauth2-mock.mjs`). Installed by `./scripts/test` into `.test-peers/`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The `.test-peers` folder, or a panic that says how to get it.
pub fn peers_dir() -> PathBuf {
    let dir = std::env::var_os("FDK_EMU_TEST_PEERS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".test-peers"));
    if !dir.join("venv/bin/oidc-provider-mock").exists()
        || !dir.join("node/node_modules/oauth2-mock-server").exists()
    {
        panic!(
            "the test peers are not installed in {} (oidc-provider-mock, oauth2-mock-server); run ./scripts/test, which installs them",
            dir.display()
        );
    }
    std::fs::canonicalize(&dir).unwrap_or(dir)
}

/// Polls `f` every 50 ms until it returns `Some` or `within` has passed.
pub fn poll<T>(within: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn blocking_client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}

/// `oidc-provider-mock --port P --token-max-age SECS`.
pub struct OidcProvider {
    child: Child,
    pub port: u16,
    pub base: String,
}

impl OidcProvider {
    pub fn start(token_max_age: u64) -> OidcProvider {
        let dir = peers_dir();
        let port = free_port();
        let child = Command::new(dir.join("venv/bin/oidc-provider-mock"))
            .args([
                "--port",
                &port.to_string(),
                "--token-max-age",
                &token_max_age.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start oidc-provider-mock");
        let base = format!("http://127.0.0.1:{port}");
        let p = OidcProvider { child, port, base };
        let http = blocking_client();
        let url = format!("{}/.well-known/openid-configuration", p.base);
        poll(Duration::from_secs(30), || {
            http.get(&url)
                .send()
                .ok()
                .filter(|r| r.status().is_success())
        })
        .unwrap_or_else(|| panic!("oidc-provider-mock did not start on port {port}"));
        p
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// npm `oauth2-mock-server` behind `tests/peers/oauth2-mock.mjs`.
pub struct MockServer {
    child: Child,
    pub port: u16,
    pub base: String,
}

impl MockServer {
    pub fn start() -> MockServer {
        let dir = peers_dir();
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/oauth2-mock.mjs");
        let mut child = Command::new("node")
            .arg(script)
            .env("FDK_EMU_TEST_PEERS", &dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start node (oauth2-mock-server); run ./scripts/test to install node");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(p) = line.strip_prefix("LISTENING ") {
                    let _ = tx.send(p.trim().parse::<u16>().ok());
                }
            }
        });
        let port = rx
            .recv_timeout(Duration::from_secs(30))
            .ok()
            .flatten()
            .expect("oauth2-mock-server did not start");
        MockServer {
            child,
            port,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Changes the fault mode (fields merge into the current mode).
    pub fn set(&self, mode: serde_json::Value) {
        let r = blocking_client()
            .post(format!("{}/_control", self.base))
            .json(&mode)
            .send()
            .expect("control oauth2-mock-server");
        assert!(r.status().is_success());
    }

    /// Every token request the server received, in order.
    pub fn token_requests(&self) -> Vec<serde_json::Value> {
        let v: serde_json::Value = blocking_client()
            .get(format!("{}/_stats", self.base))
            .send()
            .and_then(|r| r.json())
            .expect("oauth2-mock-server stats");
        v["token_requests"].as_array().cloned().unwrap_or_default()
    }

    /// Token requests of one grant type.
    pub fn count(&self, grant_type: &str) -> usize {
        self.token_requests()
            .iter()
            .filter(|r| r["grant_type"] == grant_type)
            .count()
    }

    /// Stops the server (the "provider down" case).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}
