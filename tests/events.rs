//! Serverless events through the real binary and real Node, against the `events` fixture app
//! (its handlers answer with the args they got): product events from FDK's JSON routes of
//! `/web/test` with their test data, app set-up events from the installation API and
//! `store reset --iparams`, schedules created by server.js that fire (also after a restart),
//! external events posted to the URL of `generateTargetUrl()`, and `fdk-emu trigger` used as
//! a CI job uses it.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::calls::client;
use common::{Server, copy_app, run_cli};
use serde_json::{Value, json};

fn get(server: &Server, path: &str) -> (u16, Value) {
    let r = client().get(server.url(path)).send().expect("GET");
    let status = r.status().as_u16();
    (status, r.json().expect("JSON"))
}

fn post(server: &Server, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = client()
        .post(server.url(path))
        .header("Origin", server.url(""));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().expect("POST");
    let status = r.status().as_u16();
    (status, r.json().expect("JSON"))
}

/// Stores iparams through FDK's installation API (fires onAppInstall / afterAppUpdate).
fn install(server: &Server, api_key: &str) -> (u16, Value) {
    let r = server.post_iparams(&json!({"api_key": api_key}));
    let status = r.status().as_u16();
    let text = r.text().expect("text");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn smi(server: &Server, name: &str, params: Value) -> Value {
    let (_, body) = server.dprouter(
        "smi",
        "",
        &json!({"action": "invoke", "methodName": name, "methodParams": params}),
    );
    assert!(body.get("errorSource").is_none(), "{name}: {body}");
    body["response"].clone()
}

/// Polls the simulator's state until `pred` finds what it looks for.
fn wait_state(server: &Server, within: Duration, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let (_, state) = get(server, "/_fdk-emu/events/api/state");
        if pred(&state) {
            return state;
        }
        assert!(
            Instant::now() < deadline,
            "not reached; last state: {state}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn fired_scheduled(state: &Value, n: i64) -> bool {
    state["history"].as_array().is_some_and(|h| {
        h.iter().any(|f| {
            f["event"] == "onScheduledEvent"
                && f["outcome"]["status"] == "ok"
                && f["logs"].as_array().is_some_and(|l| {
                    l.iter()
                        .any(|l| l["text"] == format!("scheduled {{\"n\":{n}}}"))
                })
        })
    })
}

#[test]
fn product_events_fire_with_the_platforms_args_and_their_test_data() {
    let (_tmp, dir) = copy_app("events");
    let server = Server::start(&dir, &[]);
    assert_eq!(install(&server, "k-123").0, 200);

    let (code, list) = get(&server, "/web/eventsList");
    assert_eq!(code, 200);
    let names: Vec<&str> = list["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for e in [
        "onTicketCreate",
        "onConversationCreate",
        "onAppInstall",
        "onScheduledEvent",
        "onExternalEvent",
    ] {
        assert!(names.contains(&e), "{e} missing from {names:?}");
    }

    // The payload is seeded into server/test_data as FDK does, then fired as it is.
    let (code, payload) = get(&server, "/web/events/onTicketCreate");
    assert_eq!(code, 200, "{payload}");
    assert!(dir.join("server/test_data/onTicketCreate.json").is_file());
    assert_eq!(payload["data"]["ticket"]["id"], 1001);
    let (code, fired) = post(&server, "/web/events/onTicketCreate", None);
    assert_eq!(code, 200);
    assert_eq!(fired["outcome"]["status"], "ok", "{fired}");
    let data = &fired["outcome"]["data"];
    assert_eq!(data["ticket"], 1001);
    assert_eq!(data["requester"], "customer@example.com");
    assert_eq!(data["iparams"], json!({"api_key": "k-123"}));
    assert_eq!(data["event"], "onTicketCreate");
    assert_eq!(data["region"], "US");
    assert_eq!(data["timestamp"], "number");
    assert!(data["domain"].as_str().is_some_and(|d| !d.is_empty()));
    assert_eq!(
        fired["logs"][0]["text"],
        "ticket 1001 from customer@example.com"
    );

    // An edited payload is saved to the test data and fired.
    let mut edited = payload.clone();
    edited["data"]["ticket"]["subject"] = json!("Edited on the page");
    let (_, fired) = post(&server, "/web/events/onTicketCreate", Some(edited));
    assert_eq!(fired["outcome"]["data"]["subject"], "Edited on the page");
    let saved: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("server/test_data/onTicketCreate.json")).expect("read"),
    )
    .expect("json");
    assert_eq!(saved["data"]["ticket"]["subject"], "Edited on the page");
    let (_, reset) = post(&server, "/web/events/reset/onTicketCreate", None);
    assert_ne!(reset["data"]["ticket"]["subject"], "Edited on the page");

    // A handler that throws is reported with its message and place.
    let (_, fired) = post(&server, "/web/events/onConversationCreate", None);
    assert_eq!(fired["outcome"]["status"], "failed");
    let message = fired["outcome"]["message"].as_str().expect("message");
    assert!(message.contains("boom in conversation 5001"), "{message}");
    assert!(message.contains("server/server.js:"), "{message}");
    // An event nobody subscribes to says how to subscribe.
    let (_, fired) = post(&server, "/web/events/onDealCreate", None);
    assert!(
        fired["outcome"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("does not subscribe to onDealCreate")
    );

    // The history keeps them, newest first; the page itself is served at FDK's path.
    let (_, state) = get(&server, "/_fdk-emu/events/api/state");
    assert_eq!(state["history"][0]["event"], "onDealCreate");
    let page = client().get(server.url("/web/test")).send().expect("page");
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().expect("text").contains("/_fdk-emu/events.js"));
}

#[test]
fn app_setup_events_guard_install_update_and_uninstall() {
    let (_tmp, dir) = copy_app("events");
    let server = Server::start(&dir, &[]);
    // onAppInstall's renderData error refuses the values: nothing is stored.
    let (code, body) = install(&server, "bad");
    assert_eq!(code, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or("")
            .contains("The API key was refused by the service"),
        "{body}"
    );
    let (_, fetched) = get(&server, "/custom_configs/fetch");
    assert_eq!(fetched["customIParams"], json!({}));
    assert_eq!(install(&server, "good").0, 200);
    // Saved again: afterAppUpdate with the new values.
    assert_eq!(install(&server, "keep").0, 200);
    let (_, state) = get(&server, "/_fdk-emu/events/api/state");
    let h = state["history"].as_array().expect("history");
    assert_eq!(h[0]["event"], "afterAppUpdate");
    assert_eq!(h[0]["logs"][0]["text"], "updated to keep");
    assert_eq!(h[1]["event"], "onAppInstall");
    assert_eq!(h[1]["logs"][0]["text"], "installed with good");

    // The home page's Uninstall: the handler refuses with 'keep', the values stay.
    let (code, body) = post(&server, "/_fdk-emu/events/api/uninstall", None);
    assert_eq!(code, 409, "{body}");
    let (_, fetched) = get(&server, "/custom_configs/fetch");
    assert_eq!(fetched["customIParams"]["api_key"], "keep");
    assert_eq!(install(&server, "other").0, 200);
    let (code, body) = post(&server, "/_fdk-emu/events/api/uninstall", None);
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["fired"]["logs"][0]["text"], "uninstalled other");
    let (_, fetched) = get(&server, "/custom_configs/fetch");
    assert_eq!(fetched["customIParams"], json!({}));
    let home = client()
        .get(server.url("/"))
        .send()
        .expect("home")
        .text()
        .expect("text");
    assert!(
        home.contains("href=\"/web/test\""),
        "home links the simulator"
    );
}

#[test]
fn store_reset_iparams_runs_on_app_uninstall() {
    let (_tmp, dir) = copy_app("events");
    let d = dir.to_str().expect("utf-8");
    {
        let server = Server::start(&dir, &[]);
        assert_eq!(install(&server, "keep").0, 200);
    }
    let (code, _, err) = run_cli(&["store", "--app-dir", d, "reset", "--iparams"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("cannot uninstall while jobs run"), "{err}");
    let (_, out, _) = run_cli(&["store", "--app-dir", d, "show"]);
    assert!(out.contains("api_key = \"keep\""), "{out}");
    {
        let server = Server::start(&dir, &[]);
        assert_eq!(install(&server, "bye").0, 200);
    }
    let (code, out, err) = run_cli(&["store", "--app-dir", d, "reset", "--iparams"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("onAppUninstall ran"), "{out}");
    let (_, out, _) = run_cli(&["store", "--app-dir", d, "show"]);
    assert!(out.contains("(not installed yet)"), "{out}");
}

/// A platform 2.0 app subscribes in server.js (`exports.events`), not in the manifest: its
/// handlers are listed and fire as the manifest's do, `store reset --iparams` included.
#[test]
fn exports_events_of_a_platform_2_0_app_fire_like_the_manifests() {
    let (_tmp, dir) = copy_app("events-legacy");
    let d = dir.to_str().expect("utf-8");
    {
        let server = Server::start(&dir, &[]);
        server.install(&json!({"owner": "keep"}));
        let (_, list) = get(&server, "/web/eventsList");
        let names = list["events"].as_array().expect("events");
        assert!(names.contains(&json!("onTicketCreate")), "{list}");
        assert!(names.contains(&json!("onAppUninstall")), "{list}");
        let (code, fired) = post(&server, "/web/events/onTicketCreate", None);
        assert_eq!(code, 200);
        assert_eq!(fired["outcome"]["status"], "ok", "{fired}");
        assert_eq!(
            fired["outcome"]["data"],
            json!({"ticket": 1001, "owner": "keep"})
        );
    }
    // The uninstall handler runs first and may refuse; then the parameters stay.
    let (code, out, err) = run_cli(&["store", "--app-dir", d, "reset", "--iparams"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("the legacy app refuses to go"), "{err}");
    let (_, out, _) = run_cli(&["store", "--app-dir", d, "show"]);
    assert!(out.contains("owner = \"keep\""), "{out}");
    {
        let server = Server::start(&dir, &[]);
        server.install(&json!({"owner": "bye"}));
    }
    let (code, out, err) = run_cli(&["store", "--app-dir", d, "reset", "--iparams"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("onAppUninstall ran"), "{out}");
    let (_, out, _) = run_cli(&["store", "--app-dir", d, "show"]);
    assert!(out.contains("(not installed yet)"), "{out}");

    // server.js that names onAppUninstall without subscribing to it: the reset clears the
    // parameters and does not claim that a handler ran.
    let js = dir.join("server/server.js");
    let source = std::fs::read_to_string(&js).expect("server.js");
    let unsubscribed = source.replace(
        "{ event: 'onAppUninstall', callback: 'uninstalled' }",
        "// onAppUninstall: not subscribed",
    );
    assert_ne!(
        source, unsubscribed,
        "the fixture's subscription line changed"
    );
    std::fs::write(&js, unsubscribed).expect("write server.js");
    {
        let server = Server::start(&dir, &[]);
        server.install(&json!({"owner": "keep"}));
    }
    let (code, out, err) = run_cli(&["store", "--app-dir", d, "reset", "--iparams"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("Cleared installation parameters"), "{out}");
    let (_, out, _) = run_cli(&["store", "--app-dir", d, "show"]);
    assert!(out.contains("(not installed yet)"), "{out}");
}

#[test]
fn schedules_created_by_server_js_fire_and_survive_a_restart() {
    let (_tmp, dir) = copy_app("events");
    let server = Server::start(&dir, &[]);
    assert_eq!(install(&server, "k").0, 200);
    // Two seconds ahead: sooner than production's 5 minutes, accepted locally with a warning.
    let created = smi(
        &server,
        "makeSchedule",
        json!({"name": "soon", "n": 7, "in_ms": 2000}),
    );
    assert_eq!(created["status"], 200, "{created}");
    let state = wait_state(&server, Duration::from_secs(30), |s| {
        s["schedules"].as_array().is_some_and(|a| !a.is_empty()) || fired_scheduled(s, 7)
    });
    assert!(state["schedules"].is_array());
    wait_state(&server, Duration::from_secs(30), |s| fired_scheduled(s, 7));
    // A one-time schedule is used up once it fired.
    let (_, state) = get(&server, "/_fdk-emu/events/api/state");
    assert_eq!(state["schedules"], json!([]));

    // Fire now, from the page.
    smi(
        &server,
        "makeSchedule",
        json!({"name": "later", "n": 8, "in_ms": 3_600_000}),
    );
    let (code, fired) = post(&server, "/_fdk-emu/events/api/schedules/later/fire", None);
    assert_eq!(code, 200, "{fired}");
    assert_eq!(fired["logs"][0]["text"], "scheduled {\"n\":8}");

    // Kept in the store: a schedule created before a restart fires after it.
    smi(
        &server,
        "makeSchedule",
        json!({"name": "restart", "n": 9, "in_ms": 4000}),
    );
    drop(server);
    let server = Server::start(&dir, &[]);
    let (_, state) = get(&server, "/_fdk-emu/events/api/state");
    assert!(
        fired_scheduled(&state, 9)
            || state["schedules"]
                .as_array()
                .is_some_and(|a| a.iter().any(|s| s["name"] == "restart")),
        "{state}"
    );
    wait_state(&server, Duration::from_secs(30), |s| fired_scheduled(s, 9));
}

#[test]
fn a_post_to_the_target_url_fires_on_external_event() {
    let (_tmp, dir) = copy_app("events");
    let server = Server::start(&dir, &[]);
    assert_eq!(install(&server, "k").0, 200);
    let url = smi(&server, "targetUrl", json!({}))["url"]
        .as_str()
        .expect("url")
        .to_string();
    assert!(
        url.starts_with(&format!("http://localhost:{}/event/hook/", server.port))
            || url.starts_with(&format!("http://127.0.0.1:{}/event/hook/", server.port)),
        "{url}"
    );
    let r = client()
        .post(&url)
        .header("x-test", "from-the-webhook")
        .json(&json!({"order": 42}))
        .send()
        .expect("hook");
    assert_eq!(r.status().as_u16(), 200);
    let fired: Value = r.json().expect("JSON");
    let data = &fired["outcome"]["data"];
    assert_eq!(data["data"], json!({"order": 42}));
    assert_eq!(data["header"], "from-the-webhook");
    assert_eq!(data["event"], "onExternalEvent");
    // Form bodies arrive as fields.
    let r = client()
        .post(&url)
        .form(&[("a", "1"), ("b", "two")])
        .send()
        .expect("hook");
    let fired: Value = r.json().expect("JSON");
    assert_eq!(
        fired["outcome"]["data"]["data"],
        json!({"a": "1", "b": "two"})
    );
}

fn write(path: &Path, v: &Value) {
    std::fs::write(path, v.to_string()).expect("write");
}

/// As a CI job: no server running, `fdk-emu trigger` starts the worker, fires, stops, and
/// its exit code says whether the handler succeeded.
#[test]
fn trigger_fires_as_a_ci_job_would() {
    let (tmp, dir) = copy_app("events");
    let d = dir.to_str().expect("utf-8");
    let (code, out, err) = run_cli(&["trigger", "onTicketCreate", "--app-dir", d, "--port", "1"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("onTicketCreate → onTicketCreateHandler: ok"),
        "{out}"
    );
    assert!(
        out.contains("ticket 1001 from customer@example.com"),
        "{out}"
    );
    assert!(dir.join("server/test_data/onTicketCreate.json").is_file());

    let (code, _, err) = run_cli(&[
        "trigger",
        "onConversationCreate",
        "--app-dir",
        d,
        "--port",
        "1",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("boom in conversation"), "{err}");

    let file = tmp.path().join("payload.json");
    write(
        &file,
        &json!({"data": {"ticket": {"id": 77, "subject": "from CI"}, "requester": {"email": "ci@example.com"}}}),
    );
    let f = file.to_str().expect("utf-8");
    let (code, out, err) = run_cli(&[
        "trigger",
        "onTicketCreate",
        "--payload",
        f,
        "--app-dir",
        d,
        "--port",
        "1",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let fired: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(fired["outcome"]["data"]["ticket"], 77);
    assert_eq!(fired["outcome"]["data"]["subject"], "from CI");

    let (code, _, err) = run_cli(&[
        "trigger",
        "onTicketCreate",
        "--payload",
        "/nonexistent.json",
        "--app-dir",
        d,
    ]);
    assert_eq!(code, 2, "{err}");

    // With fdk-emu running for the app, the event goes to it and shows in its history.
    let server = Server::start(&dir, &[]);
    let port = server.port.to_string();
    let (code, out, err) = run_cli(&[
        "trigger",
        "onTicketCreate",
        "--payload",
        f,
        "--app-dir",
        d,
        "--port",
        &port,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let (_, state) = get(&server, "/_fdk-emu/events/api/state");
    assert_eq!(state["history"][0]["event"], "onTicketCreate");
    assert_eq!(state["history"][0]["outcome"]["data"]["ticket"], 77);
    // --payload is not saved over the test data.
    let saved: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("server/test_data/onTicketCreate.json")).expect("read"),
    )
    .expect("json");
    assert_eq!(saved["data"]["ticket"]["id"], 1001);
}
