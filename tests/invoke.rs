//! `invokeTemplate` end to end: the real binary renders templates of the `invoke` fixture app
//! and sends them to a real httpbin through `--upstream`; httpbin echoes what it received,
//! so the assertions see the outgoing request exactly as the API saw it.

mod common;

use std::path::Path;
use std::time::Duration;

use common::calls::client;
use common::httpbin::Httpbin;
use common::{Server, copy_app, free_port};
use serde_json::{Value, json};

fn call(template: &str, data: Value) -> Value {
    json!({"action": "invokeTemplate", "templateName": template, "data": data})
}

/// What httpbin echoed, from a successful envelope.
fn echoed(env: &Value) -> Value {
    assert_eq!(env["status"], 200, "{env}");
    let text = env["response"].as_str().expect("response is a string");
    serde_json::from_str(text).expect("httpbin JSON")
}

fn start(app: &Path, httpbin: &Httpbin, extra: &[&str]) -> Server {
    let up = format!("api.httpbin.test={}", httpbin.base);
    let mut args = vec!["--upstream", up.as_str()];
    args.extend_from_slice(extra);
    Server::start(app, &args)
}

const API_KEY: &str = r#"k"e\y<%= x %>"#;

#[test]
fn substitution_lands_exactly_in_the_outgoing_request() {
    let httpbin = Httpbin::start();
    let (_tmp, dir) = copy_app("invoke");
    let mut server = start(&dir, &httpbin, &["--no-rate-limit"]);
    server.install(&json!({"user": "ann", "api_key": API_KEY, "plan": "pro"}));
    let note = r#"quote " backslash \ tag <%= iparam.api_key %> done"#;
    let env = server.proxy(&call(
        "echo",
        json!({
            "context": {"id": 7, "note": note},
            "body": {"hello": "wörld", "n": 1},
            "query": {"plan": "call-loses", "extra": "call wins here"}
        }),
    ));
    let got = echoed(&env);
    assert_eq!(env["attempts"], 1);
    assert!(env.get("errorSource").is_none(), "{env}");
    assert_eq!(got["method"], "POST");
    // Path from context, query merged with the template winning on `plan`.
    let url = url::Url::parse(got["url"].as_str().unwrap_or_default()).expect("url");
    assert_eq!(url.path(), "/anything/items/7");
    let q: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    assert_eq!(
        q,
        vec![
            ("plan".into(), "pro".into()),
            ("fixed".into(), "template".into()),
            ("extra".into(), "call wins here".into()),
        ]
    );
    // Secure iparam, encode(), context: verbatim, the quote and `<%` included.
    let h = &got["headers"];
    assert_eq!(h["X-Api-Key"], API_KEY);
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("ann:{API_KEY}"));
    assert_eq!(h["Authorization"], format!("Basic {basic}"));
    assert_eq!(
        h["X-Note"], note,
        "a value is inserted as is, never rendered again"
    );
    assert_eq!(h["X-Plan"], "pro");
    // The body: an object is sent as its JSON text.
    assert_eq!(got["json"], json!({"hello": "wörld", "n": 1}));
    // The response headers come back with lower-case names.
    assert_eq!(env["headers"]["content-type"], "application/json");

    // A string body is sent as is.
    let env = server.proxy(&call(
        "echo",
        json!({"context": {"id": 1, "note": "n"}, "body": "raw \"text\""}),
    ));
    assert_eq!(echoed(&env)["data"], "raw \"text\"");

    // Agent-level OAuth: the token the browser sent is the access_token.
    let env = server.proxy(
        &json!({"action": "invokeTemplate", "templateName": "agent", "data": {},
               "tokens": {"access_token": "agent-token-123456", "refresh_token": "r"}}),
    );
    assert_eq!(
        echoed(&env)["headers"]["Authorization"],
        "Bearer agent-token-123456"
    );

    // The terminal log: template, method, URL, status, attempts, time; no secret.
    let line = server
        .wait_for_line(
            |l| l.starts_with("invokeTemplate echo POST"),
            Duration::from_secs(5),
        )
        .expect("log line of the echo call");
    assert!(line.contains("/anything/items/7?plan=pro"), "{line}");
    assert!(line.contains("-> 200 (1 attempt,"), "{line}");
    server.wait_for_line(
        |l| l.starts_with("invokeTemplate agent"),
        Duration::from_secs(5),
    );
    let all = server.drain().join("\n");
    assert!(!all.contains("agent-token-123456"), "token leaked: {all}");
    assert!(!all.contains(API_KEY), "secure iparam leaked: {all}");
}

#[test]
fn secure_iparams_never_reach_the_browser() {
    let httpbin = Httpbin::start();
    let (_tmp, dir) = copy_app("invoke");
    let server = start(&dir, &httpbin, &[]);
    server.install(&json!({"user": "ann", "api_key": "very-secret-key", "plan": "pro"}));
    let api = client()
        .get(server.url("/iframe/api"))
        .send()
        .expect("GET /iframe/api");
    assert_eq!(api.status(), 200);
    let text = api.text().unwrap_or_default();
    assert!(!text.contains("very-secret-key"), "{text}");
    let v: Value = serde_json::from_str(&text).expect("descriptor JSON");
    assert_eq!(v["configs"], json!({"user": "ann", "plan": "pro"}));
    assert_eq!(v["displayName"], "invoke");
    assert_eq!(v["platform"], "3.0");
    assert_eq!(v["isInstall"], false);
    let list = v["oauth_configs_list"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let names: Vec<&str> = list.iter().filter_map(|i| i["name"].as_str()).collect();
    assert_eq!(names, ["acct", "agentside"]);
    assert_eq!(v["isAuthorized"], false, "acct is not authorized yet");

    // A secure iparam in the URL is refused before anything is sent, as in production.
    let env = server.proxy(&call("leaky", json!({})));
    assert_eq!(env["status"], 400, "{env}");
    assert_eq!(env["errorSource"], "APP", "{env}");
    assert_eq!(env["attempts"], 0, "{env}");
    let msg = env["response"].as_str().unwrap_or_default();
    for w in [
        "Invalid iparam substitution",
        "'leaky'",
        "schema.query.key",
        "'api_key'",
    ] {
        assert!(msg.contains(w), "{w:?} not in {msg:?}");
    }
    assert!(!env.to_string().contains("very-secret-key"), "{env}");
}

#[test]
fn retries_count_attempts_and_timeouts_give_504() {
    let httpbin = Httpbin::start();
    let (_tmp, dir) = copy_app("invoke");
    let server = start(&dir, &httpbin, &["--request-timeout", "700"]);
    server.install(&json!({"user": "u", "api_key": "key-1", "plan": "free"}));

    // 503 is retried: maxAttempts 3 in the template.
    let env = server.proxy(&call("status", json!({"context": {"code": 503}})));
    assert_eq!(env["status"], 503);
    assert_eq!(env["attempts"], 3);
    assert_eq!(env["errorSource"], "APP");
    // 429 is retried too; a 404 is not.
    let env = server.proxy(&call("status", json!({"context": {"code": 429}})));
    assert_eq!(
        (env["status"].clone(), env["attempts"].clone()),
        (json!(429), json!(3))
    );
    let env = server.proxy(&call("status", json!({"context": {"code": 404}})));
    assert_eq!(
        (env["status"].clone(), env["attempts"].clone()),
        (json!(404), json!(1))
    );
    assert_eq!(env["errorSource"], "APP");

    // /delay/3 with a 700 ms timeout per attempt, maxAttempts 2.
    let env = server.proxy(&call("delay", json!({"context": {"seconds": 3}})));
    assert_eq!(env["status"], 504, "{env}");
    assert_eq!(env["errorSource"], "PLATFORM");
    assert_eq!(env["attempts"], 2);
    let msg = env["response"].as_str().unwrap_or_default();
    assert!(msg.contains("did not answer within 700 ms"), "{msg}");
    assert!(msg.contains("--request-timeout"), "{msg}");
}

/// Apart from the timeout test: echoing 6.5 MB through httpbin can take longer than that
/// test's 700 ms per attempt on a loaded 2-core machine.
#[test]
fn responses_over_the_limit_are_stopped() {
    let httpbin = Httpbin::start();
    let (_tmp, dir) = copy_app("invoke");
    let server = start(&dir, &httpbin, &[]);
    server.install(&json!({"user": "u", "api_key": "key-1", "plan": "free"}));
    // Over 6 MB (httpbin echoes the 6.5 MB body back): stopped, 400 PLATFORM.
    let env = server.proxy(&call("big", json!({"body": big_body()})));
    assert_eq!(env["status"], 400, "{env}");
    assert_eq!(env["errorSource"], "PLATFORM");
    assert!(
        env["response"]
            .as_str()
            .unwrap_or_default()
            .contains("larger than the 6 MB limit"),
        "{env}"
    );
}

/// A body whose echo is larger than 6 MB.
fn big_body() -> String {
    "x".repeat(6_500_000)
}

#[test]
fn response_limit_can_be_switched_off() {
    let httpbin = Httpbin::start();
    let (_tmp, dir) = copy_app("invoke");
    let server = start(&dir, &httpbin, &["--no-response-limit"]);
    let env = server.proxy(&call("big", json!({"body": big_body()})));
    assert_eq!(
        env["status"],
        200,
        "{}",
        env["response"].as_str().unwrap_or("")
    );
    assert!(
        echoed(&env)["data"]
            .as_str()
            .is_some_and(|d| d == big_body())
    );
}

#[test]
fn rate_limit_gives_429_after_50_a_minute() {
    let httpbin = Httpbin::start();
    let (_tmp, dir) = copy_app("invoke");
    let server = start(&dir, &httpbin, &[]);
    for i in 0..50 {
        let env = server.proxy(&call("ping", json!({})));
        assert_eq!(env["status"], 200, "call {i}: {env}");
    }
    let env = server.proxy(&call("ping", json!({})));
    assert_eq!(env["status"], 429, "{env}");
    assert_eq!(env["errorSource"], "PLATFORM");
    let msg = env["response"].as_str().unwrap_or_default();
    assert!(msg.contains("Rate limit exceeded"), "{msg}");
    assert!(msg.contains("--no-rate-limit"), "{msg}");
}

/// A self-signed certificate for 127.0.0.1, made with openssl.
fn self_signed(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let st = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=127.0.0.1", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl (apt install openssl)");
    assert!(st.status.success(), "openssl failed: {st:?}");
    (cert, key)
}

#[test]
fn each_error_row_of_the_envelope_table() {
    let httpbin = Httpbin::start();
    let tls_dir = tempfile::tempdir().expect("tmp");
    let (cert, key) = self_signed(tls_dir.path());
    let tls = Httpbin::start_tls(&cert, &key);
    let (_tmp, dir) = copy_app("invoke");
    let refused = format!("refused.example.test=http://127.0.0.1:{}", free_port());
    let tls_up = format!("tls.example.test={}", tls.base);
    let server = start(
        &dir,
        &httpbin,
        &["--upstream", &refused, "--upstream", &tls_up],
    );
    server.install(&json!({"user": "u", "api_key": "key-1", "plan": "free"}));

    let check = |env: &Value, status: u16, source: &str, words: &[&str]| {
        assert_eq!(env["status"], status, "{env}");
        assert_eq!(env["errorSource"], source, "{env}");
        let msg = env["response"].as_str().unwrap_or_default();
        for w in words {
            assert!(msg.contains(w), "{w:?} not in {msg:?}");
        }
    };
    // Unknown and undeclared templates name it and list the declared ones.
    let env = server.proxy(&call("nope", json!({})));
    check(
        &env,
        400,
        "APP",
        &["'nope'", "not found", "declared templates: echo, status"],
    );
    let env = server.proxy(&call("notDeclared", json!({})));
    check(
        &env,
        400,
        "APP",
        &[
            "'notDeclared'",
            "not declared in manifest.json",
            "modules.common.requests",
        ],
    );
    // Substitution error: template, field and variable.
    let env = server.proxy(&call("echo", json!({"context": {"id": 1}})));
    check(
        &env,
        400,
        "APP",
        &[
            "Error while substituting the templates",
            "'echo'",
            "headers.X-Note",
            "context.note",
        ],
    );
    // Host rules without override.
    let env = server.proxy(&call("anyHost", json!({"context": {"host": "127.0.0.1"}})));
    check(
        &env,
        400,
        "APP",
        &["Invalid URL - IP is disallowed", "--upstream"],
    );
    let env = server.proxy(&call("anyHost", json!({"context": {"host": "localhost"}})));
    check(&env, 400, "APP", &["Invalid URL - Must be FQDN"]);
    // Network failures, each named.
    let env = server.proxy(&call(
        "anyHost",
        json!({"context": {"host": "no-such-host.invalid"}}),
    ));
    check(
        &env,
        502,
        "PLATFORM",
        &["DNS failure", "no-such-host.invalid"],
    );
    let env = server.proxy(&call("refused", json!({})));
    check(&env, 502, "PLATFORM", &["connection refused"]);
    assert_eq!(env["attempts"], 2, "network errors are retried");
    let env = server.proxy(&call("tls", json!({})));
    check(&env, 502, "PLATFORM", &["TLS failure"]);
    // OAuth integration without a grant: 401 PLATFORM naming it and where to authorize.
    let env = server.proxy(&call("account", json!({})));
    check(&env, 401, "PLATFORM", &["acct", "/custom_configs"]);
    // Agent-level template without browser tokens.
    let env = server.proxy(&call("agent", json!({})));
    check(&env, 401, "PLATFORM", &["agentside", "reAuthorize"]);
    // The API's own error: its status and body.
    let env = server.proxy(&call("status", json!({"context": {"code": 418}})));
    assert_eq!(env["status"], 418);
    assert_eq!(env["errorSource"], "APP");
    assert!(
        env["response"]
            .as_str()
            .unwrap_or_default()
            .contains("teapot"),
        "{env}"
    );
    // A response type the platform does not pass to apps: 415, the type named, no body.
    let env = server.proxy(&call("anyPath", json!({"context": {"path": "/image/png"}})));
    check(
        &env,
        415,
        "APP",
        &["Unsupported content type", "image/png", "application/json"],
    );
    // Allowed types, and an answer without body, pass.
    let env = server.proxy(&call("anyPath", json!({"context": {"path": "/xml"}})));
    assert_eq!(env["status"], 200, "{env}");
    assert!(env.get("errorSource").is_none(), "{env}");
    let env = server.proxy(&call(
        "anyPath",
        json!({"context": {"path": "/status/204"}}),
    ));
    assert_eq!(env["status"], 204, "{env}");
    assert!(env.get("errorSource").is_none(), "{env}");
}

#[test]
fn malformed_calls_get_a_clear_4xx() {
    let httpbin = Httpbin::start();
    let (_tmp, dir) = copy_app("invoke");
    let server = start(&dir, &httpbin, &[]);
    let post = |route: &str, body: &str| {
        let r = client()
            .post(server.url("/dprouter"))
            .header("MKP-ROUTE", route)
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
            .expect("POST /dprouter");
        let status = r.status().as_u16();
        (status, r.json::<Value>().unwrap_or(Value::Null))
    };
    for body in [
        "not json",
        "[]",
        "{}",
        r#"{"action":"execute","data":{}}"#,
        r#"{"action":"invokeTemplate"}"#,
        r#"{"action":"invokeTemplate","templateName":"ping","data":[1]}"#,
        r#"{"action":"invokeTemplate","templateName":"ping","data":{"query":"a=b"}}"#,
    ] {
        let (status, v) = post("proxy", body);
        assert_eq!(status, 400, "{body} → {v}");
        assert_eq!(v["status"], 400);
        assert!(v["message"].as_str().is_some_and(|m| m.len() > 20), "{v}");
    }
    // A body over the limit is refused in FDK's shape, without reading all of it.
    let (status, v) = post("proxy", &" ".repeat(8 * 1024 * 1024 + 1));
    assert_eq!(status, 413, "{v}");
    assert_eq!(
        v["message"],
        "the body of POST /dprouter is larger than 8 MB"
    );
    // The route header is case-insensitive; routes the server does not know are not allowed.
    let (status, v) = post(
        "PROXY",
        r#"{"action":"invokeTemplate","templateName":"ping"}"#,
    );
    assert_eq!(status, 200, "{v}");
    let (status, v) = post("nosuchroute", "{}");
    assert_eq!(
        (status, v),
        (404, json!({"message":"Route not allowed","status":404}))
    );
    // ... and the browser's connection stays open for its next call.
    let r = client()
        .post(server.url("/dprouter"))
        .header("MKP-ROUTE", "nosuchroute")
        .body(r#"{"action":"get","data":{"key":"k"}}"#)
        .send()
        .expect("POST /dprouter");
    assert_eq!(r.status(), 404);
    assert_ne!(
        r.headers().get("connection").map(|v| v.as_bytes()),
        Some(&b"close"[..])
    );
}

#[test]
fn front_end_files_client_script_and_home_page() {
    let httpbin = Httpbin::start();
    let (_tmp, dir) = copy_app("invoke");
    std::fs::write(dir.join("secret.txt"), "outside app/").expect("write");
    let server = start(&dir, &httpbin, &[]);
    let c = client();
    let get = |path: &str| c.get(server.url(path)).send().expect("GET");

    // HTML: {{{appclient}}} replaced, live-reload hook appended.
    let r = get("/iframe/index.html");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
    let html = r.text().unwrap_or_default();
    assert!(
        html.contains(r#"<script src="/_fdk-emu/app/client.js"></script>"#),
        "{html}"
    );
    assert!(!html.contains("{{{appclient}}}"));
    assert!(html.contains("/notify-change"), "{html}");
    // Other files with their content types; a folder serves its index.html.
    let r = get("/iframe/scripts/app.js");
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap_or_default()
            .contains("javascript"),
        "{:?}",
        r.headers()
    );
    assert_eq!(
        get("/iframe/icon.svg").headers()["content-type"],
        "image/svg+xml"
    );
    assert_eq!(get("/iframe/").status(), 200);
    // Nothing outside app/.
    for path in [
        "/iframe/../secret.txt",
        "/iframe/%2e%2e/secret.txt",
        "/iframe/..%2fsecret.txt",
        "/iframe/nope.js",
    ] {
        let r = get(path);
        assert_eq!(r.status(), 404, "{path}");
        assert!(
            !r.text().unwrap_or_default().contains("outside app/"),
            "{path}"
        );
    }
    // The client script.
    let r = get("/_fdk-emu/app/client.js");
    assert_eq!(r.status(), 200);
    let js = r.text().unwrap_or_default();
    assert!(
        js.contains("invokeTemplate") && js.contains("initialized"),
        "{js}"
    );

    // Home page: name, validation, setup links, and each location for the simulator's
    // script, which frames it (JSON in a script element: `&` is written \u0026 there).
    let home = get("/").text().unwrap_or_default();
    assert!(home.contains("<h1>invoke</h1>"), "{home}");
    assert!(home.contains("Valid"), "{home}");
    assert!(home.contains("/custom_configs"), "{home}");
    // Attribute values are HTML-escaped (handlebars' escaper writes `=` as `&#x3D;`).
    assert!(
        home.contains("/oauth_configs?integration&#x3D;acct"),
        "{home}"
    );
    assert!(
        home.contains(r#""src":"/iframe/index.html?location=full_page_app\u0026module=common""#),
        "{home}"
    );
    assert!(home.contains(r#"<script src="/_fdk-emu/simulator.js">"#));
}

#[test]
fn cors_for_product_pages_and_our_own_only() {
    let httpbin = Httpbin::start();
    let (_tmp, dir) = copy_app("invoke");
    let server = start(&dir, &httpbin, &[]);
    let c = client();
    // A product page's private-network preflight before POST /dprouter.
    let r = c
        .request(reqwest::Method::OPTIONS, server.url("/dprouter"))
        .header("Origin", "https://acme.freshdesk.com")
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "content-type,mkp-route")
        .header("Access-Control-Request-Private-Network", "true")
        .send()
        .expect("preflight");
    assert!(r.status().is_success(), "{}", r.status());
    let h = r.headers();
    assert_eq!(
        h["access-control-allow-origin"],
        "https://acme.freshdesk.com"
    );
    assert_eq!(h["access-control-allow-private-network"], "true");
    assert_eq!(h["access-control-allow-headers"], "content-type,mkp-route");
    assert_eq!(h["access-control-allow-credentials"], "true");
    // The real request gets the header too.
    let r = c
        .post(server.url("/dprouter"))
        .header("Origin", "https://acme.freshdesk.com")
        .header("MKP-ROUTE", "proxy")
        .json(&call("ping", json!({})))
        .send()
        .expect("POST");
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://acme.freshdesk.com"
    );
    let env: Value = r.json().expect("envelope");
    assert_eq!(env["status"], 200);
    let r = c
        .get(server.url("/iframe/api"))
        .header("Origin", "https://acme.freshworks.com")
        .send()
        .expect("GET /iframe/api");
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://acme.freshworks.com"
    );
    // Any other origin is refused.
    let r = c
        .request(reqwest::Method::OPTIONS, server.url("/dprouter"))
        .header("Origin", "https://evil.example.com")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .expect("preflight");
    assert_eq!(r.status(), 403);
    assert!(r.headers().get("access-control-allow-origin").is_none());
    let r = c
        .post(server.url("/dprouter"))
        .header("Origin", "https://evil.example.com")
        .header("MKP-ROUTE", "proxy")
        .json(&call("ping", json!({})))
        .send()
        .expect("POST");
    assert_eq!(r.status(), 403);
}

#[test]
fn the_next_call_uses_iparams_stored_just_before() {
    let httpbin = Httpbin::start();
    let (_tmp, dir) = copy_app("invoke");
    let server = start(&dir, &httpbin, &["--no-rate-limit"]);
    for (i, plan) in ["pro", "free", "pro", "free", "pro", "free"]
        .iter()
        .enumerate()
    {
        server.install(&json!({"user": format!("user-{i}"), "api_key": "key-1", "plan": plan}));
        let env = server.proxy(&call("echo", json!({"context": {"id": i, "note": "n"}})));
        let got = echoed(&env);
        assert_eq!(got["headers"]["X-Plan"], *plan, "round {i}");
        let basic = got["headers"]["Authorization"].as_str().unwrap_or_default();
        use base64::Engine as _;
        let want = base64::engine::general_purpose::STANDARD.encode(format!("user-{i}:key-1"));
        assert_eq!(basic, format!("Basic {want}"), "round {i}");
    }
}

#[test]
fn get_redirects_are_followed_like_fdk_and_credentials_stay_on_their_host() {
    let httpbin = Httpbin::start();
    let (_tmp, dir) = copy_app("invoke");
    let server = start(&dir, &httpbin, &["--no-rate-limit"]);

    // Same host: followed, the Authorization header goes along.
    let env = server.proxy(&call("redirect", json!({"context": {"to": "/headers"}})));
    let got = echoed(&env);
    assert_eq!(
        got["headers"]["Authorization"], "Bearer redirect-secret-token",
        "{env}"
    );

    // Another host (localhost instead of 127.0.0.1): followed, without the credentials.
    let port = httpbin.base.rsplit(':').next().unwrap_or_default();
    let elsewhere = format!("http://localhost:{port}/headers");
    let env = server.proxy(&call("redirect", json!({"context": {"to": elsewhere}})));
    let got = echoed(&env);
    assert!(
        got["headers"].get("Authorization").is_none(),
        "credentials followed a redirect to another host: {env}"
    );

    // POST: like FDK's HTTP library, the redirect itself is the answer.
    let env = server.proxy(&call(
        "redirectPost",
        json!({"context": {"to": "/anything"}}),
    ));
    assert_eq!(env["status"], 302, "{env}");
    assert_eq!(env["headers"]["location"], "/anything", "{env}");
    assert!(env.get("errorSource").is_none(), "{env}");
}

/// With a host routed elsewhere by `--upstream`, the API still receives the template's host
/// in `Host`, as the real API would.
#[test]
fn overridden_hosts_keep_the_templates_host_header() {
    let httpbin = Httpbin::start();
    let (_tmp, dir) = copy_app("invoke");
    let server = start(&dir, &httpbin, &["--no-rate-limit"]);
    let env = server.proxy(&call("ping", json!({})));
    let got = echoed(&env);
    assert_eq!(got["headers"]["Host"], "api.httpbin.test", "{got}");
}
