//! Edge cases of the OAuth path that a real API cannot be made to produce on demand: a token
//! refused with 401, refreshed once, and the request sent once more. (The main proof of the
//! module is `tests/invoke.rs` against a real httpbin.)

use std::sync::Mutex;

use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;
use crate::app;

struct Fake {
    refreshed: Mutex<Vec<String>>,
    fresh: &'static str,
}

impl Sources for Fake {
    async fn iparams(&self) -> Result<Iparams, String> {
        Ok(Iparams::default())
    }
    async fn current_host(&self) -> Option<Value> {
        None
    }
    async fn oauth_iparams(&self, _i: &str) -> Option<Map<String, Value>> {
        None
    }
    async fn access_token(&self, _a: &Arc<App>, _i: &str) -> Result<String, TokenProblem> {
        Ok("old-token".into())
    }
    async fn refresh_after_unauthorized(
        &self,
        _a: &Arc<App>,
        i: &str,
        used: &str,
    ) -> Result<String, TokenProblem> {
        self.refreshed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(format!("{i}:{used}"));
        Ok(self.fresh.into())
    }
}

fn config() -> Config {
    Config {
        request_timeout: Duration::from_secs(5),
        ..Config::for_tests(10001)
    }
}

fn oauth_app() -> Arc<App> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/apps/invoke");
    Arc::new(app::load(&dir).expect("fixture loads").app)
}

async fn run(fresh: &'static str, server: &MockServer) -> (Outcome, Vec<String>) {
    let up = Upstreams::new([(
        "api.httpbin.test".to_string(),
        url::Url::parse(&server.uri()).expect("mock url"),
    )]);
    let inv = Invoker::with_upstreams(&config(), up);
    let fake = Fake {
        refreshed: Mutex::new(vec![]),
        fresh,
    };
    let call = InvokeRequest {
        template: "account".into(),
        ..Default::default()
    };
    let out = inv.invoke(&oauth_app(), call, &fake).await;
    let refreshed = fake.refreshed.lock().map(|v| v.clone()).unwrap_or_default();
    (out, refreshed)
}

#[tokio::test]
async fn a_401_refreshes_once_and_resends_once() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/bearer"))
        .and(header("authorization", "Bearer old-token"))
        .respond_with(ResponseTemplate::new(401).set_body_string("expired"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/bearer"))
        .and(header("authorization", "Bearer new-token"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .expect(1)
        .mount(&server)
        .await;
    let (out, refreshed) = run("new-token", &server).await;
    assert_eq!(out.envelope.status, 200, "{:?}", out.envelope);
    assert_eq!(out.envelope.response, "ok");
    assert_eq!(out.envelope.attempts, 2);
    assert_eq!(refreshed, vec!["acct:old-token".to_string()]);
}

#[tokio::test]
async fn a_second_401_goes_back_to_the_app() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/bearer"))
        .respond_with(ResponseTemplate::new(401).set_body_string("no"))
        .expect(2)
        .mount(&server)
        .await;
    let (out, refreshed) = run("still-bad", &server).await;
    assert_eq!(out.envelope.status, 401);
    assert_eq!(out.envelope.error_source, Some(ErrorSource::App));
    assert_eq!(out.envelope.attempts, 2);
    assert_eq!(refreshed.len(), 1, "one refresh only");
    // The log line never shows a token.
    let line = out.log_line("account");
    assert!(
        !line.contains("old-token") && !line.contains("still-bad"),
        "{line}"
    );
}
