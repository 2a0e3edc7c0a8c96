//! The inspector records more than templates: SMI calls, `db` operations (from the page and
//! from `server.js`'s `$db`) and the templates `server.js` calls with `$request`, each with
//! who called, what was asked, the status and what came back; the list filters them by
//! kind; a secure iparam that `server.js` returns or stores is masked in every one of them.
//! Real Node runs the `serverless` fixture app; its templates go to a real httpbin.

mod common;
#[path = "support/console.rs"]
mod console;

use common::httpbin::Httpbin;
use common::{Server, copy_app};
use console::{EventStream, client, get_json, store_iparams, wait_records};
use serde_json::{Value, json};

const SECRET: &str = "sk-SECRET-4242";

fn post(base: &str, route: &str, body: Value) -> (u16, Value) {
    let resp = client()
        .post(format!("{base}/dprouter"))
        .header("MKP-ROUTE", route)
        .header("Referer", format!("{base}/iframe/index.html"))
        .json(&body)
        .send()
        .expect("POST /dprouter");
    let status = resp.status().as_u16();
    (status, resp.json().expect("JSON body"))
}

fn smi(base: &str, name: &str, params: Value) -> (u16, Value) {
    post(
        base,
        "smi",
        json!({"action": "invoke", "methodName": name, "methodParams": params}),
    )
}

fn find<'a>(records: &'a [Value], kind: &str, name: &str) -> &'a Value {
    records
        .iter()
        .find(|r| r["kind"] == kind && r["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} record named {name:?} in {records:#?}"))
}

#[test]
fn smi_db_and_server_js_calls_are_recorded_and_masked() {
    let httpbin = Httpbin::start();
    let (_tmp, dir) = copy_app("serverless");
    let log_dir = tempfile::tempdir().expect("tmp");
    let log = log_dir.path().join("calls.jsonl");
    let up = format!("api.httpbin.test={}", httpbin.base);
    let log_arg = log.display().to_string();
    let server = Server::start(&dir, &["--upstream", &up, "--log-file", &log_arg]);
    let base = server.url("");
    let live = EventStream::open(&base, None);
    store_iparams(&base, json!({"api_key": SECRET, "plan": "pro"}));

    // An SMI call from the page.
    let (code, body) = smi(&base, "greet", json!({"name": "ann"}));
    assert_eq!(code, 200, "{body}");
    // A renderData error: FDK answers HTTP 404 with the status in the body.
    let (code, _) = smi(&base, "fail", json!({"id": 9}));
    assert_eq!(code, 404);
    // server.js calls a template whose header holds the secure iparam; httpbin echoes it,
    // and server.js returns the echo: the secret is in the SMI answer the page gets.
    let (code, body) = smi(&base, "callApi", json!({"id": 7}));
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        body["response"]["echoed"]["headers"]["X-Api-Key"], SECRET,
        "the app gets its answer unmasked: {body}"
    );
    // The page stores a key holding the secret; server.js stores, updates and reads keys.
    let (code, body) = post(
        &base,
        "db",
        json!({"action": "store", "dbKey": "fromPage", "data": {"by": "page", "key": SECRET}}),
    );
    assert_eq!(code, 201, "{body}");
    let (code, body) = smi(&base, "useDb", json!({}));
    assert_eq!(code, 200, "{body}");

    // greet, fail, callApi (+ its $request), store fromPage, useDb (+ 4 $db calls) = 10.
    let records = wait_records(&base, 10);
    let greet = find(&records, "smi", "greet");
    assert_eq!(
        (&greet["status"], &greet["ok"], &greet["caller"]),
        (&json!(200), &json!(true), &json!("front end"))
    );
    assert!(
        greet["request"]["body"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("\"name\":\"ann\"")),
        "{greet}"
    );
    assert!(
        greet["result"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("Hello, ann!")),
        "{greet}"
    );
    assert!(greet["duration_ms"].as_f64().is_some_and(|d| d > 0.0));
    // Copy as curl repeats the call on /dprouter.
    let full = get_json(&format!(
        "{base}/_fdk-emu/inspector/records/{}",
        greet["id"]
    ));
    let curl = full["curl"].as_str().unwrap_or_default();
    assert!(
        curl.starts_with("curl -X 'POST' 'http://")
            && curl.contains(&format!(":{}/dprouter'", server.port))
            && curl.contains("-H 'MKP-ROUTE: smi'")
            && curl.contains("\"methodName\":\"greet\""),
        "{curl}"
    );
    let fail = find(&records, "smi", "fail");
    assert_eq!((&fail["status"], &fail["ok"]), (&json!(404), &json!(false)));

    let from_js = find(&records, "invokeTemplate", "echo");
    assert_eq!(from_js["caller"], "server.js (callApi)", "{from_js}");
    assert_eq!(from_js["response"]["status"], 200, "{from_js}");
    let call_api = find(&records, "smi", "callApi");
    assert!(
        call_api["result"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("****")),
        "the secret the app returned is masked: {call_api}"
    );

    let page_db = find(&records, "db", "store fromPage");
    assert_eq!(
        (&page_db["status"], &page_db["caller"]),
        (&json!(201), &json!("front end"))
    );
    for name in [
        "store visits",
        "update visits",
        "fetch visits",
        "fetch fromPage",
    ] {
        let r = find(&records, "db", name);
        assert_eq!(r["caller"], "server.js (useDb)", "{r}");
        assert_eq!(r["ok"], true, "{r}");
    }
    assert!(
        find(&records, "db", "fetch fromPage")["result"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("\"by\":\"page\"") && t.contains("****")),
        "{records:#?}"
    );

    // The list filters by kind.
    let kinds = |kind: &str| -> Vec<String> {
        get_json(&format!("{base}/_fdk-emu/inspector/records?kind={kind}"))["records"]
            .as_array()
            .map(|a| a.iter().map(|r| r["kind"].to_string()).collect())
            .unwrap_or_default()
    };
    assert_eq!(kinds("smi").len(), 4);
    assert!(kinds("smi").iter().all(|k| k == "\"smi\""));
    assert_eq!(kinds("db").len(), 5);
    assert_eq!(kinds("invokeTemplate").len(), 1);

    // The secret is nowhere: not in the list, the stream, nor the log file.
    let listed = get_json(&format!("{base}/_fdk-emu/inspector/records?full=1")).to_string();
    assert!(!listed.contains(SECRET), "{listed}");
    let streamed = live.wait(10);
    assert!(
        !serde_json::to_string(&streamed)
            .unwrap_or_default()
            .contains(SECRET)
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let written = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.lines().count() >= 10 || std::time::Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(written.lines().count(), 10, "{written}");
    assert!(!written.contains(SECRET), "{written}");
}

/// Events join the list: what fired them and which handler ran, the args the handler got,
/// its status and what it answered; a failing handler's message. The `events` fixture app
/// runs in real Node.
#[test]
fn fired_events_are_recorded_with_their_handler_args_and_outcome() {
    let (_tmp, dir) = copy_app("events");
    let server = Server::start(&dir, &[]);
    let base = server.url("");
    // Installing fires onAppInstall.
    store_iparams(&base, json!({"api_key": "k-77"}));
    let fire = |event: &str| {
        let r = client()
            .post(format!("{base}/web/events/{event}"))
            .header("Origin", &base)
            .send()
            .expect("fire");
        assert_eq!(r.status().as_u16(), 200, "{event}");
    };
    fire("onTicketCreate");
    fire("onConversationCreate");

    let records = wait_records(&base, 3);
    let install = find(&records, "event", "onAppInstall");
    assert_eq!(
        install["caller"], "install → onAppInstallHandler",
        "{install}"
    );
    assert_eq!(install["ok"], true, "{install}");

    let ticket = find(&records, "event", "onTicketCreate");
    assert_eq!(ticket["caller"], "simulator → onTicketCreateHandler");
    assert_eq!(
        (ticket["status"].as_u64(), ticket["ok"].as_bool()),
        (Some(200), Some(true))
    );
    let sent = ticket["request"]["body"]["text"]
        .as_str()
        .expect("the args, as text");
    assert!(
        sent.contains("\"ticket\"") && sent.contains("k-77"),
        "{sent}"
    );
    let got = ticket["result"]["text"]
        .as_str()
        .expect("the handler's data");
    assert!(got.contains("\"ticket\":1001"), "{got}");

    let failed = find(&records, "event", "onConversationCreate");
    assert_eq!(failed["ok"], false, "{failed}");
    assert_eq!(failed["status"], 500, "{failed}");
    assert!(
        failed["error"]
            .as_str()
            .is_some_and(|e| e.contains("boom in conversation")),
        "{failed}"
    );
    // The kind filter keeps only them.
    let only: Vec<Value> =
        get_json(&format!("{base}/_fdk-emu/inspector/records?kind=event"))["records"]
            .as_array()
            .cloned()
            .unwrap_or_default();
    assert!(
        only.len() >= 3 && only.iter().all(|r| r["kind"] == "event"),
        "{only:#?}"
    );
}
