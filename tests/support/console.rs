//! Helpers of the developer console's tests: the inspector's API and its live stream read
//! like a script or a page would, and the OAuth handshake driven without a browser.
#![allow(dead_code)]

use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

pub fn get_text(url: &str) -> String {
    client()
        .get(url)
        .send()
        .and_then(|r| r.text())
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

pub fn get_json(url: &str) -> Value {
    let text = get_text(url);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("GET {url}: not JSON ({e}): {text}"))
}

/// The inspector's kept records, whole, oldest first.
pub fn records(base: &str) -> Vec<Value> {
    get_json(&format!("{base}/_fdk-emu/inspector/records?full=1"))["records"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Polls the inspector until it keeps `n` records (or fails after 10 s).
pub fn wait_records(base: &str, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = records(base);
        if r.len() >= n {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "the inspector kept {} records, expected {n}: {r:?}",
            r.len()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One `invokeTemplate` call through `/dprouter`, as the client script sends it (with the
/// `Referer` of an app page); returns the envelope.
pub fn invoke(base: &str, template: &str, data: Value) -> Value {
    client()
        .post(format!("{base}/dprouter"))
        .header("MKP-ROUTE", "proxy")
        .header("Referer", format!("{base}/iframe/index.html"))
        .json(&json!({"action": "invokeTemplate", "templateName": template, "data": data}))
        .send()
        .and_then(|r| r.json())
        .expect("POST /dprouter")
}

/// Stores the installation parameters the way the installation page does.
pub fn store_iparams(base: &str, values: Value) {
    let resp = client()
        .post(format!("{base}/custom_configs/store"))
        .header("Origin", base)
        .json(&values)
        .send()
        .expect("POST /custom_configs/store");
    assert!(
        resp.status().is_success(),
        "storing iparams failed: {}",
        resp.status()
    );
}

/// The inspector's live stream, read by a thread into a buffer, as an `EventSource` would.
pub struct EventStream {
    text: Arc<Mutex<String>>,
}

impl EventStream {
    /// Opens `/_fdk-emu/inspector/stream` (from now on, or after the record `after`).
    pub fn open(base: &str, after: Option<u64>) -> EventStream {
        let url = match after {
            Some(a) => format!("{base}/_fdk-emu/inspector/stream?after={a}"),
            None => format!("{base}/_fdk-emu/inspector/stream"),
        };
        let mut resp = reqwest::blocking::Client::builder()
            .timeout(None)
            .build()
            .expect("client")
            .get(&url)
            .send()
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        assert_eq!(resp.status(), 200);
        assert_eq!(
            resp.headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("text/event-stream")
        );
        let text = Arc::new(Mutex::new(String::new()));
        let sink = text.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = resp.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if let Ok(mut t) = sink.lock() {
                    t.push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            }
        });
        EventStream { text }
    }

    /// Everything read so far.
    pub fn text(&self) -> String {
        self.text.lock().map(|t| t.clone()).unwrap_or_default()
    }

    /// The records received so far (`data:` lines of `record` events).
    pub fn records(&self) -> Vec<Value> {
        self.text()
            .lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .filter_map(|d| serde_json::from_str(d.trim()).ok())
            .collect()
    }

    /// Waits until `n` records have arrived (fails after 10 s).
    pub fn wait(&self, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let r = self.records();
            if r.len() >= n {
                return r;
            }
            assert!(
                Instant::now() < deadline,
                "the stream brought {} records, expected {n}:\n{}",
                r.len(),
                self.text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The OAuth handshake as a browser does it, against `oidc-provider-mock`: `/auth/index` →
/// the provider's consent form (alice consents) → our callback, which stores the tokens.
pub fn authorize_alice(base: &str, integration: &str) {
    let http = client();
    let r = http
        .get(format!("{base}/auth/index?integration={integration}"))
        .send()
        .expect("/auth/index");
    assert_eq!(r.status(), 302, "/auth/index redirects to the provider");
    let authorize = header(&r, "location");
    let r = http
        .post(&authorize)
        .form(&[("sub", "alice")])
        .send()
        .expect("consent");
    assert_eq!(r.status(), 302, "the provider redirects back");
    let callback = header(&r, "location").replacen("http://localhost:", "http://127.0.0.1:", 1);
    let r = http.get(&callback).send().expect("callback");
    assert_eq!(
        r.status(),
        302,
        "the callback stores the tokens: {:?}",
        r.text()
    );
}

fn header(r: &reqwest::blocking::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no {name} in a {} answer", r.status()))
        .to_string()
}
