//! The HTTP calls the tests make as the installation page and the app's client make them:
//! one helper per call, so that a test file says what it checks rather than how a request
//! is shaped (each file had its own copy of these).

use std::time::Duration;

use reqwest::blocking::{Client, Response};
use serde_json::Value;

use super::Server;

/// The tests' blocking client. Its time limit turns a server that hangs into a failed test
/// that names the call, not a suite that runs into CI's limit.
pub fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("HTTP client")
}

impl Server {
    /// `POST /custom_configs/store` from our own origin, as the installation page sends it.
    pub fn post_iparams(&self, values: &Value) -> Response {
        client()
            .post(self.url("/custom_configs/store"))
            .header("Origin", self.url(""))
            .json(values)
            .send()
            .expect("POST /custom_configs/store")
    }

    /// Installs the app with `values`; fails the test with the server's answer if it
    /// refused them.
    pub fn install(&self, values: &Value) {
        let resp = self.post_iparams(values);
        let status = resp.status();
        assert!(
            status.is_success(),
            "storing the installation parameters failed: {status} {}",
            resp.text().unwrap_or_default()
        );
    }

    /// One `POST /dprouter{query}` on `route` (the `MKP-ROUTE` header), from our own origin
    /// as the app's client sends it: the HTTP status and the JSON body (`Null` when the body
    /// is not JSON, so a test can assert on the status).
    pub fn dprouter(&self, route: &str, query: &str, body: &Value) -> (u16, Value) {
        let resp = client()
            .post(self.url(&format!("/dprouter{query}")))
            .header("MKP-ROUTE", route)
            .header("Origin", self.url(""))
            .json(body)
            .send()
            .unwrap_or_else(|e| panic!("POST /dprouter (MKP-ROUTE: {route}): {e}"));
        let status = resp.status().as_u16();
        let text = resp.text().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// One invokeTemplate call (the `proxy` route): its envelope. The route answers 200
    /// whatever the upstream said; the upstream's status is in the envelope.
    pub fn proxy(&self, body: &Value) -> Value {
        let (status, envelope) = self.dprouter("proxy", "", body);
        assert_eq!(
            status, 200,
            "/dprouter answers 200 with the envelope: {envelope}"
        );
        envelope
    }
}
