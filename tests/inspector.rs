//! The request inspector over HTTP, as a script or CI job reads it: every `invokeTemplate`
//! call of the real binary against a real httpbin is recorded with its rendered request
//! (secrets masked), where each variable came from, each attempt with its time, the
//! upstream's answer and the envelope; the list filters by kind, name and status; the live
//! stream and the `--log-file` JSON lines carry the same records; memory is bounded.

mod common;
#[path = "support/console.rs"]
mod console;

use common::httpbin::Httpbin;
use common::{Server, copy_app};
use console::{EventStream, get_json, get_text, invoke, records, store_iparams, wait_records};
use serde_json::{Value, json};

const SECRET: &str = "sk-live-4f1d9e2a";

fn start(httpbin: &Httpbin, extra: &[&str]) -> (tempfile::TempDir, Server) {
    let (tmp, dir) = copy_app("invoke");
    let up = format!("api.httpbin.test={}", httpbin.base);
    let mut args = vec!["--upstream", up.as_str(), "--no-rate-limit"];
    args.extend_from_slice(extra);
    let server = Server::start(&dir, &args);
    (tmp, server)
}

/// The substitution of `variable` in `field`.
fn substitution<'a>(r: &'a Value, field: &str, variable: &str) -> &'a Value {
    r["substitutions"]
        .as_array()
        .and_then(|s| {
            s.iter()
                .find(|s| s["field"] == field && s["variable"] == variable)
        })
        .unwrap_or_else(|| panic!("no substitution of {variable} in {field}: {r}"))
}

fn header<'a>(m: &'a Value, name: &str) -> &'a str {
    m["headers"]
        .as_array()
        .and_then(|h| h.iter().find(|p| p[0] == name))
        .and_then(|p| p[1].as_str())
        .unwrap_or_else(|| panic!("no header {name}: {m}"))
}

fn ids(v: &Value) -> Vec<u64> {
    v["records"]
        .as_array()
        .map(|a| a.iter().filter_map(|r| r["id"].as_u64()).collect())
        .unwrap_or_default()
}

#[test]
fn every_call_is_recorded_with_where_its_values_came_from() {
    let httpbin = Httpbin::start();
    let log_dir = tempfile::tempdir().expect("tmp");
    let log = log_dir.path().join("calls.jsonl");
    let log_arg = log.display().to_string();
    let (_tmp, mut server) = start(&httpbin, &["--log-file", &log_arg]);
    let base = server.url("");
    let live = EventStream::open(&base, None);
    store_iparams(
        &base,
        json!({"user": "ann", "api_key": SECRET, "plan": "pro"}),
    );

    let env = invoke(
        &base,
        "echo",
        json!({"context": {"id": 7, "note": "from the test"}, "body": "{\"n\":1}"}),
    );
    assert_eq!(env["status"], 200, "{env}");
    let env = invoke(&base, "status", json!({"context": {"code": 503}}));
    assert_eq!(
        (env["status"].as_u64(), env["attempts"].as_u64()),
        (Some(503), Some(3))
    );
    let env = invoke(&base, "nope", json!({}));
    assert_eq!(env["status"], 400, "{env}");

    let all = wait_records(&base, 3);
    let (echo, retried, unknown) = (&all[0], &all[1], &all[2]);

    // The rendered request, secrets masked as in the terminal line.
    assert_eq!(echo["kind"], "invokeTemplate");
    assert_eq!(echo["name"], "echo");
    assert_eq!(echo["caller"], "front end");
    assert_eq!(
        (echo["status"].as_u64(), echo["ok"].as_bool()),
        (Some(200), Some(true))
    );
    let req = &echo["request"];
    assert_eq!(req["method"], "POST");
    assert_eq!(
        req["url"],
        format!("{}/anything/items/7?plan=pro&fixed=template", httpbin.base)
    );
    assert_eq!(header(req, "x-api-key"), "****");
    assert_eq!(
        header(req, "authorization"),
        "Basic ****",
        "computed from a secret"
    );
    assert_eq!(header(req, "x-note"), "from the test");
    assert_eq!(req["body"]["text"], "{\"n\":1}");
    // Where each value came from.
    let s = substitution(echo, "path", "context.id");
    assert_eq!(
        (s["source"].as_str(), s["value"].as_str()),
        (Some("context"), Some("7"))
    );
    let s = substitution(echo, "headers.X-Api-Key", "iparam.api_key");
    assert_eq!(
        (
            s["source"].as_str(),
            s["secret"].as_bool(),
            s["value"].as_str()
        ),
        (Some("iparam"), Some(true), Some("****"))
    );
    let s = substitution(echo, "query.plan", "iparam.plan");
    assert_eq!(
        (s["source"].as_str(), s["value"].as_str()),
        (Some("iparam"), Some("pro"))
    );
    // The upstream's answer (httpbin echoes the request, masked here too) and the envelope.
    let resp = &echo["response"];
    assert_eq!(resp["status"], 200);
    assert_eq!(header(resp, "content-type"), "application/json");
    let echoed: Value =
        serde_json::from_str(resp["body"]["text"].as_str().unwrap_or("")).expect("httpbin JSON");
    assert_eq!(echoed["headers"]["X-Note"], "from the test");
    assert_eq!(echoed["headers"]["X-Api-Key"], "****");
    let envelope: Value =
        serde_json::from_str(echo["result"]["text"].as_str().unwrap_or("")).expect("envelope");
    assert_eq!(
        (envelope["status"].as_u64(), envelope["attempts"].as_u64()),
        (Some(200), Some(1))
    );
    assert_eq!(echo["attempts"].as_array().map(Vec::len), Some(1));
    assert_eq!(echo["attempts"][0]["status"], 200);

    // Each attempt, with its time: three 503s, retryDelay (100 ms) apart.
    assert_eq!(
        (retried["status"].as_u64(), retried["ok"].as_bool()),
        (Some(503), Some(false))
    );
    assert_eq!(retried["error_source"], "APP");
    let attempts = retried["attempts"].as_array().cloned().unwrap_or_default();
    assert_eq!(attempts.len(), 3, "{retried}");
    for (i, a) in attempts.iter().enumerate() {
        assert_eq!(
            (a["number"].as_u64(), a["status"].as_u64()),
            (Some(i as u64 + 1), Some(503))
        );
        assert!(a["duration_ms"].as_f64().is_some_and(|d| d > 0.0), "{a}");
    }
    let start = |i: usize| attempts[i]["start_ms"].as_f64().unwrap_or(0.0);
    assert!(
        start(1) - start(0) >= 100.0 && start(2) - start(1) >= 100.0,
        "{attempts:?}"
    );

    // A call that never reached the network: no request, the message of the envelope.
    assert_eq!(unknown["status"], 400);
    assert!(unknown["request"].is_null(), "{unknown}");
    assert!(
        unknown["error"]
            .as_str()
            .unwrap_or("")
            .contains("'nope' not found"),
        "{unknown}"
    );

    // Filters: by status, name and kind.
    let base_list = format!("{base}/_fdk-emu/inspector/records");
    let id = |r: &Value| r["id"].as_u64().unwrap_or(0);
    assert_eq!(
        ids(&get_json(&format!("{base_list}?status=error"))),
        [id(retried), id(unknown)]
    );
    assert_eq!(
        ids(&get_json(&format!("{base_list}?status=5xx"))),
        [id(retried)]
    );
    assert_eq!(
        ids(&get_json(&format!("{base_list}?name=echo"))),
        [id(echo)]
    );
    assert_eq!(
        ids(&get_json(&format!(
            "{base_list}?kind=invokeTemplate&status=ok"
        ))),
        [id(echo)]
    );
    assert!(ids(&get_json(&format!("{base_list}?kind=db"))).is_empty());
    let bad = console::client()
        .get(format!("{base_list}?kind=nonsense"))
        .send()
        .expect("GET");
    assert_eq!(bad.status(), 400);
    assert!(
        bad.text()
            .unwrap_or_default()
            .contains("not one of invokeTemplate, smi, db, event")
    );

    // One call in full, with its request as a curl command (secrets stay masked).
    let full = get_json(&format!("{base}/_fdk-emu/inspector/records/{}", id(echo)));
    let curl = full["curl"].as_str().expect("curl");
    assert!(
        curl.starts_with(&format!(
            "curl -X 'POST' '{}/anything/items/7?plan=pro&fixed=template'",
            httpbin.base
        )),
        "{curl}"
    );
    assert!(curl.contains("-H 'x-api-key: ****'") && curl.contains("--data-raw '{\"n\":1}'"));
    assert!(!curl.contains("-H 'host:"), "curl sets Host itself: {curl}");

    // The live stream and the log file carry the same records, in order.
    let streamed = live.wait(3);
    assert_eq!(
        streamed.iter().map(id).collect::<Vec<_>>(),
        all.iter().map(id).collect::<Vec<_>>()
    );
    assert_eq!(streamed[0]["substitutions"], echo["substitutions"]);
    // The file is written by a thread of its own, within 25 ms of each call.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let lines: Vec<Value> = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.lines().count() >= 3 || std::time::Instant::now() > deadline {
            break text
                .lines()
                .map(|l| serde_json::from_str(l).expect("each line is one JSON record"))
                .collect();
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(lines.iter().map(id).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(lines[1]["attempts"], retried["attempts"]);

    // Clearing forgets the kept calls; the file keeps its lines.
    let r = console::client()
        .post(format!("{base}/_fdk-emu/inspector/clear"))
        .send()
        .expect("clear");
    assert_eq!(r.status(), 204);
    assert!(records(&base).is_empty());
    assert_eq!(
        std::fs::read_to_string(&log)
            .map(|t| t.lines().count())
            .ok(),
        Some(3)
    );

    let out = server.drain().join("\n");
    assert!(!out.contains(SECRET), "{out}");
}

#[test]
fn the_inspector_keeps_a_bounded_number_and_can_be_off() {
    let httpbin = Httpbin::start();
    let (_tmp, server) = start(&httpbin, &["--inspector-records", "2"]);
    let base = server.url("");
    for _ in 0..4 {
        let env = invoke(&base, "ping", json!({}));
        assert_eq!(env["status"], 200, "{env}");
    }
    let list = get_json(&format!("{base}/_fdk-emu/inspector/records"));
    assert_eq!(ids(&list), [3, 4], "the newest two are kept: {list}");
    assert_eq!(
        (list["kept"].as_u64(), list["limit"].as_u64()),
        (Some(2), Some(2))
    );
    let gone = console::client()
        .get(format!("{base}/_fdk-emu/inspector/records/1"))
        .send()
        .expect("GET");
    assert_eq!(gone.status(), 404);
    assert!(
        gone.text()
            .unwrap_or_default()
            .contains("keeps the last 2 calls")
    );
    drop(server);

    let (_tmp, server) = start(&httpbin, &["--inspector-records", "0"]);
    let base = server.url("");
    assert_eq!(invoke(&base, "ping", json!({}))["status"], 200);
    let list = get_json(&format!("{base}/_fdk-emu/inspector/records"));
    assert_eq!(
        (list["recording"].as_bool(), ids(&list).len()),
        (Some(false), 0)
    );
    let page = get_text(&format!("{base}/_fdk-emu/inspector"));
    assert!(page.contains("Recording is off"), "{page}");
}
