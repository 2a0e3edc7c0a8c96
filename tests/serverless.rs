//! `server/server.js` in real Node, through the real binary: SMI on `POST /dprouter`
//! (`MKP-ROUTE: smi`) against the `serverless` fixture app, whose functions answer with data,
//! with renderData errors, throw, loop, never answer, write to the terminal, and call
//! templates with `$request.invokeTemplate` (against a real httpbin, with an OAuth token from
//! the real npm `oauth2-mock-server`). Edits under `server/` restart the worker.

mod common;
#[path = "support/oauth_app.rs"]
mod oauth_app;
#[path = "support/peers.rs"]
mod peers;

use std::path::Path;
use std::time::{Duration, Instant};

use common::calls::client;
use common::httpbin::Httpbin;
use common::{Server, copy_app};
use serde_json::{Value, json};

const TIMEOUT: &str = "Timeout error while processing the request.";

/// `client.request.invoke(name, params)` as the app client sends it: (HTTP status, body).
fn smi(server: &Server, name: &str, params: Value) -> (u16, Value) {
    smi_at(&server.base, name, params)
}

fn smi_at(base: &str, name: &str, params: Value) -> (u16, Value) {
    let resp = client()
        .post(format!("{base}/dprouter"))
        .header("MKP-ROUTE", "smi")
        .json(&json!({"action": "invoke", "methodName": name, "methodParams": params}))
        .send()
        .expect("POST /dprouter");
    let status = resp.status().as_u16();
    (status, resp.json().expect("JSON body"))
}

/// The `response` of a successful call, after checking FDK's success shape.
fn response(server: &Server, name: &str, params: Value) -> Value {
    let (code, body) = smi(server, name, params);
    assert_eq!(code, 200, "{name}: {body}");
    assert!(body.get("errorSource").is_none(), "{name}: {body}");
    assert_uuid(&body["requestID"]);
    body["response"].clone()
}

fn assert_uuid(v: &Value) {
    let id = v
        .as_str()
        .unwrap_or_else(|| panic!("requestID missing: {v}"));
    assert_eq!(id.len(), 36, "{id}");
    assert_eq!(id.matches('-').count(), 4, "{id}");
}

/// 1-based line and column where `needle` (once in the file) starts.
fn position(file: &Path, needle: &str) -> (usize, usize) {
    let text = std::fs::read_to_string(file).expect("read");
    let at = text.find(needle).expect("needle");
    let line = text[..at].matches('\n').count() + 1;
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    (line, text[start..at].chars().count() + 1)
}

fn output_has(server: &mut Server, needle: &str) -> bool {
    server.drain().iter().any(|l| l.contains(needle))
}

fn wait_output(server: &mut Server, needle: &str) {
    let found = server.wait_for_line(|l| l.contains(needle), Duration::from_secs(30));
    assert!(
        found.is_some(),
        "no line with {needle:?}; output:\n{}",
        server.output.join("\n")
    );
}

/// Waits for a line with `needle` after the first `seen` lines of output.
fn wait_next(server: &mut Server, seen: usize, needle: &str) {
    let found = server.wait_for_line_after(seen, |l| l.contains(needle), Duration::from_secs(60));
    assert!(
        found.is_some(),
        "no new line with {needle:?}; output:\n{}",
        server.output.join("\n")
    );
}

#[test]
fn smi_answers_in_the_platforms_shapes() {
    let (_tmp, dir) = copy_app("serverless");
    let mut server = Server::start(&dir, &[]);

    // Before anything is stored the app is being installed: isInstall, no iparams.
    let r = response(&server, "greet", json!({"name": "ann"}));
    assert_eq!(
        r,
        json!({"message": "Hello, ann!", "apiKey": "missing", "isInstall": true})
    );
    let (code, body) = smi(&server, "useDb", json!({}));
    assert_eq!(code, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("$db is not available while the app is being installed")),
        "{body}"
    );

    // Installed: every iparam, the secure one too, reaches server.js.
    server.install(&json!({"api_key": "sk-SECRET-77", "plan": "pro"}));
    let r = response(&server, "greet", json!({"name": "ann"}));
    assert_eq!(
        r,
        json!({"message": "Hello, ann!", "plan": "pro", "apiKey": "present", "isInstall": false})
    );
    wait_output(&mut server, "[greet] greeting ann");
    wait_output(&mut server, "smi greet -> 200");

    // renderData({status, message}): that status, FDK's error body.
    let (code, body) = smi(&server, "fail", json!({"id": 42}));
    assert_eq!(code, 404);
    assert_uuid(&body["requestID"]);
    assert_eq!(body["status"], 404);
    assert_eq!(body["message"], "no such ticket: 42");
    assert_eq!(body["errorSource"], "APP");

    // renderData with something that is not an error object.
    let (code, body) = smi(&server, "badError", json!({}));
    assert_eq!(code, 400);
    assert_eq!(
        body["message"],
        "The error should be a JSON Object with a message or a status parameter."
    );

    // renderData() without data: only the requestID.
    let (code, body) = smi(&server, "noData", json!({}));
    assert_eq!(code, 200);
    assert_eq!(body.as_object().map(|o| o.len()), Some(1), "{body}");
    assert_uuid(&body["requestID"]);

    // Timers work; the answer comes when renderData is called.
    assert_eq!(
        response(&server, "later", json!({"ms": 50})),
        json!({"waited": 50})
    );

    // Exported but not in the manifest's functions: refused, as on the platform.
    let (code, body) = smi(&server, "hidden", json!({}));
    assert_eq!(code, 200);
    assert_eq!(body["status"], 404);
    let m = body["message"].as_str().unwrap_or_default();
    assert!(
        m.starts_with("Requested function not found or registered") && m.contains("hidden"),
        "{body}"
    );
    assert!(!body.to_string().contains("not declared in the manifest"));

    // An exception: FDK's 200 with status 500; the place in server.js in the message and an
    // excerpt with the stack on the terminal.
    let (line, col) = position(&dir.join("server/server.js"), "args.missing.field");
    let at = format!("server/server.js:{line}:{}", col + "args.missing.".len());
    let (code, body) = smi(&server, "boom", json!({}));
    assert_eq!(code, 200);
    assert_eq!(body["status"], 500);
    assert_eq!(body["errorSource"], "APP");
    let m = body["message"].as_str().unwrap_or_default();
    assert!(
        m.starts_with("Error while executing App server script! - TypeError: Cannot read properties of undefined")
            && m.contains(&at),
        "{body}"
    );
    wait_output(&mut server, &format!("--> {at}"));
    wait_output(&mut server, "|     return args.missing.field;");
    wait_output(&mut server, &format!("at Object.boom ({at})"));
    // A rejected promise of an async function is an exception too.
    let (_, body) = smi(&server, "asyncBoom", json!({}));
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("Error: async trouble")),
        "{body}"
    );

    // console.* is prefixed with the handler; what the app writes to stdout itself does not
    // disturb the channel and shows as server.js's.
    assert_eq!(response(&server, "chatty", json!({})), json!({"ok": true}));
    wait_output(&mut server, "[chatty] to the terminal { n: 1 }");
    wait_output(&mut server, "[chatty] error: an error line");
    wait_output(&mut server, "[server.js] raw stdout line");
    assert_eq!(
        response(&server, "greet", json!({"name": "bo"}))["message"],
        "Hello, bo!"
    );

    // $db is the key-value store of client.db: what the page stored (the db route's wire
    // call, as client.db sends it) is read in server.js, and what server.js stored is read
    // by the page.
    let db = |body: Value| {
        let resp = client()
            .post(server.url("/dprouter"))
            .header("MKP-ROUTE", "db")
            .json(&body)
            .send()
            .expect("post");
        (resp.status().as_u16(), resp.json::<Value>().expect("json"))
    };
    let (code, body) = db(json!({"action": "store", "dbKey": "fromPage", "data": {"by": "page"}}));
    assert_eq!(code, 201, "{body}");
    let (code, body) = smi(&server, "useDb", json!({}));
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        body["response"],
        json!({"stored": true, "visits": {"count": 2}, "fromPage": {"by": "page"}})
    );
    assert_eq!(
        db(json!({"action": "fetch", "dbKey": "visits"})),
        (200, json!({"count": 2}))
    );

    // A body that is not an SMI call.
    let resp = client()
        .post(server.url("/dprouter"))
        .header("MKP-ROUTE", "smi")
        .json(&json!({"action": "execute", "methodName": "greet"}))
        .send()
        .expect("post");
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().expect("json");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("invoke")),
        "{body}"
    );

    // The platform's 100 KB limit on what the front end sends.
    let (code, body) = smi(&server, "greet", json!({"name": "x".repeat(150 * 1024)}));
    assert_eq!(code, 413, "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("at most 100 KB")),
        "{body}"
    );

    let status: Value = client()
        .get(server.url("/api/status"))
        .send()
        .and_then(|r| r.json())
        .expect("status");
    assert_eq!(status["serverless"]["state"], "running", "{status}");
    assert!(
        status["serverless"]["exports"]
            .as_array()
            .is_some_and(|e| e.contains(&json!("greet"))),
        "{status}"
    );
    // The secure iparam went to server.js, never to the terminal or the status.
    assert!(!output_has(&mut server, "sk-SECRET-77"));
    assert!(!status.to_string().contains("sk-SECRET-77"));
}

/// `$request.invokeTemplate` from server.js goes through fdk-emu's own invoker: the template,
/// the secure iparam, the OAuth token of the store (from a real handshake), the log line
/// with secrets masked.
#[test]
fn server_js_calls_templates_through_the_invoker() {
    let httpbin = Httpbin::start();
    let mock = peers::MockServer::start();
    let (_tmp, dir) = copy_app("serverless");
    let oauth = json!({"integrations": {"acct": {
        "display_name": "Account-level test provider",
        "client_id": "acct-client",
        "client_secret": "acct-secret",
        "authorize_url": format!("{}/authorize", mock.base),
        "token_url": format!("{}/token", mock.base),
        "token_type": "account",
        "options": {"scope": "read"}
    }}});
    std::fs::write(
        dir.join("config/oauth_config.json"),
        serde_json::to_string_pretty(&oauth).expect("json"),
    )
    .expect("write oauth_config");
    let up = format!("api.httpbin.test={}", httpbin.base);
    let mut server = Server::start(&dir, &["--upstream", &up]);
    server.install(&json!({"api_key": "sk-SECRET-77", "plan": "pro"}));

    let r = response(&server, "callApi", json!({"id": 7}));
    assert_eq!(r["status"], 200, "{r}");
    let echoed = &r["echoed"];
    assert_eq!(echoed["headers"]["X-Api-Key"], "sk-SECRET-77", "{echoed}");
    assert!(
        echoed["url"]
            .as_str()
            .is_some_and(|u| u.ends_with("/anything/items/7")),
        "{echoed}"
    );
    assert_eq!(echoed["json"], json!({"hello": "from server.js"}));
    wait_output(&mut server, "[callApi] invokeTemplate echo POST");

    // No grant yet: the token lifecycle's answer reaches server.js as a rejection.
    let (code, body) = smi(&server, "callAuthed", json!({}));
    assert_eq!(code, 401, "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("acct") && m.contains("/custom_configs")),
        "{body}"
    );

    // Authorize against the provider, as a browser would.
    let http = oauth_app::http();
    let r = http
        .get(server.url("/auth/index?integration=acct"))
        .send()
        .expect("/auth/index");
    assert_eq!(r.status(), 302);
    let r = http
        .get(oauth_app::location(&r, &server.base))
        .send()
        .expect("provider /authorize");
    assert_eq!(r.status(), 302);
    let r = http
        .get(oauth_app::location(&r, &server.base))
        .send()
        .expect("callback");
    assert!(r.status().is_success() || r.status().is_redirection());

    let r = response(&server, "callAuthed", json!({}));
    assert_eq!(r["status"], 200, "{r}");
    let auth = r["echoed"]["headers"]["Authorization"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        auth.starts_with("Bearer ") && auth.len() > "Bearer ".len() + 20,
        "{r}"
    );
    assert_eq!(r["echoed"]["headers"]["X-Api-Key"], "sk-SECRET-77");
    wait_output(&mut server, "[callAuthed] invokeTemplate authed GET");
    // Neither the secure iparam nor the token reaches the terminal.
    assert!(!output_has(&mut server, "sk-SECRET-77"));
    assert!(!output_has(&mut server, &auth["Bearer ".len()..]));
}

/// A handler that never answers gets FDK's timeout and the worker goes on; one that loops
/// blocks Node, so the worker is replaced: calls running in it fail saying why, later calls
/// work.
#[test]
fn time_limits_end_calls_and_a_stuck_worker_is_replaced() {
    let (_tmp, dir) = copy_app("serverless");
    let mut server = Server::start(&dir, &[]);
    assert_eq!(
        response(&server, "greet", json!({"name": "a"}))["message"],
        "Hello, a!"
    );

    // `silent` never calls renderData: its 5 s (manifest) limit ends it.
    let started = Instant::now();
    let (code, body) = smi(&server, "silent", json!({}));
    let took = started.elapsed();
    assert_eq!(code, 200);
    assert_eq!(body["status"], 504);
    assert_eq!(body["message"], TIMEOUT);
    assert_eq!(body["errorSource"], "APP");
    assert!(
        took >= Duration::from_secs(5) && took < Duration::from_secs(10),
        "{took:?}"
    );
    assert_eq!(
        response(&server, "greet", json!({"name": "b"}))["message"],
        "Hello, b!"
    );
    assert!(!output_has(&mut server, "starting the Node worker again"));

    // `spin` loops: Node answers nothing until fdk-emu replaces it.
    let seen = server.drain().len();
    let base = server.base.clone();
    let spin = std::thread::spawn(move || smi_at(&base, "spin", json!({})));
    wait_next(&mut server, seen, "[spin] spinning");
    // A call sent while spin holds Node is cut off with it, and says so.
    let (code, body) = smi(&server, "greet", json!({"name": "caught"}));
    assert_eq!(code, 200);
    assert_eq!(body["status"], 500);
    assert!(
        body["message"].as_str().is_some_and(|m| m.contains(
            "fdk-emu restarted its Node worker: spin (smi) kept Node busy past its 5 s limit"
        )),
        "{body}"
    );
    let (code, body) = spin.join().expect("spin thread");
    assert_eq!(code, 200);
    assert_eq!(body["status"], 504);
    assert_eq!(body["message"], TIMEOUT);
    wait_next(
        &mut server,
        seen,
        "starting the Node worker again after spin (smi) kept Node busy",
    );
    // The next call goes to the new worker.
    assert_eq!(
        response(&server, "greet", json!({"name": "c"}))["message"],
        "Hello, c!"
    );

    // A handler that kills Node: its call fails saying so, and a new worker takes over.
    let seen = server.drain().len();
    let (code, body) = smi(&server, "crash", json!({}));
    assert_eq!(code, 200);
    assert_eq!(body["status"], 500);
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("Node worker exited") && m.contains("SIGKILL")),
        "{body}"
    );
    wait_next(&mut server, seen, "the Node worker exited unexpectedly");
    assert_eq!(
        response(&server, "greet", json!({"name": "d"}))["message"],
        "Hello, d!"
    );
}

/// Edits under server/ start the worker again: a syntax error is shown with its place and
/// answered until fixed; the fix, and an edit of a module server.js requires, are picked
/// up; a call running during a restart finishes on the old worker; node_modules is not
/// watched.
#[test]
fn edits_under_server_restart_the_worker() {
    let (_tmp, dir) = copy_app("serverless");
    // A Node of another major version than the manifest names: a warning, and it runs.
    let manifest = dir.join("manifest.json");
    let text = std::fs::read_to_string(&manifest).expect("read");
    std::fs::write(&manifest, text.replace("\"18.20.8\"", "\"1.0.0\"")).expect("write");
    let mut server = Server::start(&dir, &[]);
    wait_output(
        &mut server,
        "serverless: warning: manifest.json names Node 1.0.0 (engines.node)",
    );
    wait_output(&mut server, "server/server.js loaded by Node");
    assert_eq!(
        response(&server, "greet", json!({"name": "a"}))["message"],
        "Hello, a!"
    );
    let server_js = dir.join("server/server.js");
    let good = std::fs::read_to_string(&server_js).expect("read");

    // A call in flight while the file changes finishes on the worker it started on.
    let seen = server.drain().len();
    let base = server.base.clone();
    let slow = std::thread::spawn(move || smi_at(&base, "later", json!({"ms": 1500})));
    wait_next(&mut server, seen, "[later] waiting 1500");
    std::fs::write(
        &server_js,
        good.replace("return args.missing.field;", "return args.missing.field +;"),
    )
    .expect("write");
    wait_next(&mut server, seen, "server/server.js could not be loaded");
    let (line, col) = position(&server_js, "+;");
    let at = format!("server/server.js:{line}:{}", col + 1);
    wait_next(&mut server, seen, &format!("--> {at}"));
    wait_next(&mut server, seen, "|     return args.missing.field +;");
    let (code, body) = slow.join().expect("slow thread");
    assert_eq!(code, 200);
    assert_eq!(body["response"], json!({"waited": 1500}), "{body}");

    let (code, body) = smi(&server, "greet", json!({"name": "b"}));
    assert_eq!(code, 200);
    assert_eq!(body["status"], 500);
    let m = body["message"].as_str().unwrap_or_default();
    assert!(m.contains("SyntaxError") && m.contains(&at), "{body}");

    // The fix is picked up.
    let seen = server.drain().len();
    std::fs::write(&server_js, &good).expect("write");
    wait_next(&mut server, seen, "server/server.js loaded by Node");
    assert_eq!(
        response(&server, "greet", json!({"name": "c"}))["message"],
        "Hello, c!"
    );

    // So is an edit of a module server.js requires.
    let seen = server.drain().len();
    let format = dir.join("server/lib/format.js");
    let text = std::fs::read_to_string(&format).expect("read");
    std::fs::write(&format, text.replace("'Hello, '", "'Hi, '")).expect("write");
    wait_next(&mut server, seen, "server/server.js loaded by Node");
    assert_eq!(
        response(&server, "greet", json!({"name": "d"}))["message"],
        "Hi, d!"
    );

    // node_modules is the packages' business: a write there restarts nothing. The edit after
    // it is seen first, so no line may mention node_modules before it.
    let seen = server.drain().len();
    std::fs::create_dir_all(dir.join("server/node_modules/junk")).expect("mkdir");
    std::fs::write(dir.join("server/node_modules/junk/index.js"), "x").expect("write");
    std::fs::write(dir.join("server/lib/extra.js"), "exports = {};\n").expect("write");
    wait_next(&mut server, seen, "after a change to server/lib/extra.js");
    let lines = server.drain()[seen..].to_vec();
    assert!(
        !lines.iter().any(|l| l.contains("node_modules")),
        "{lines:#?}"
    );
}

/// Node is needed only for server.js: without it the app runs, and SMI says what to
/// install; an app without server.js never looks for Node.
#[test]
fn without_node_the_rest_of_the_app_runs() {
    let (_tmp, dir) = copy_app("serverless");
    let mut server = Server::start_with_env(&dir, &[], &[("PATH", "/nonexistent")]);
    let (code, body) = smi(&server, "greet", json!({"name": "a"}));
    assert_eq!(code, 200);
    assert_eq!(body["status"], 500);
    let m = body["message"].as_str().unwrap_or_default();
    assert!(
        m.contains("no `node` was found on PATH")
            && m.contains("apt-get install nodejs npm")
            && m.contains("--node"),
        "{body}"
    );
    wait_output(
        &mut server,
        "serverless: server/server.js runs in Node.js, and no `node` was found",
    );
    let home = client().get(server.url("/")).send().expect("home");
    assert_eq!(home.status(), 200);
    let page = client()
        .get(server.url("/iframe/index.html"))
        .send()
        .expect("app page");
    assert_eq!(page.status(), 200);

    let (_tmp2, plain) = copy_app("invoke");
    let mut server = Server::start_with_env(&plain, &[], &[("PATH", "/nonexistent")]);
    let (code, body) = smi(&server, "anything", json!({}));
    assert_eq!(code, 200);
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("Requested function not found or registered")),
        "{body}"
    );
    assert!(!output_has(&mut server, "serverless:"));
}
