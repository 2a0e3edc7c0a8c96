//! The key-value store end to end: the real binary answers `POST /dprouter` with
//! `MKP-ROUTE: db` in FDK's wire format, keeps the keys in its SQLite file, and enforces the
//! platform's limits, scope and route permission.

mod common;

use std::time::{Duration, Instant};

use common::calls::client;
use common::{Server, copy_app};
use serde_json::{Value, json};

/// One db call; returns (status, body).
fn db(server: &Server, query: &str, body: Value) -> (u16, Value) {
    db_raw(server, query, body.to_string())
}

fn db_raw(server: &Server, query: &str, body: String) -> (u16, Value) {
    let resp = client()
        .post(server.url(&format!("/dprouter{query}")))
        .header("MKP-ROUTE", "db")
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .expect("POST /dprouter");
    let status = resp.status().as_u16();
    let text = resp.text().unwrap_or_default();
    let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    (status, v)
}

fn store(key: &str, data: Value) -> Value {
    json!({"action": "store", "dbKey": key, "data": data})
}

fn fetch(key: &str) -> Value {
    json!({"action": "fetch", "dbKey": key})
}

fn update(key: &str, kind: &str, attributes: Value) -> Value {
    json!({"action": "update", "dbKey": key, "type": kind, "attributes": attributes})
}

/// Saves the installation page of the `kv` fixture, which opens the db route.
fn install(server: &Server) {
    server.install(&json!({"team": "blue", "api_key": "kv-secret-4711"}));
}

fn started(extra: &[&str]) -> (tempfile::TempDir, Server) {
    let (tmp, dir) = copy_app("kv");
    let server = Server::start(&dir, extra);
    install(&server);
    (tmp, server)
}

#[test]
fn every_action_answers_as_fdk_and_the_platform_do() {
    let (_tmp, server) = started(&[]);
    assert_eq!(
        db(
            &server,
            "",
            store(
                "ticket:101",
                json!({"issue": 15213, "note": "", "tags": ["a"]})
            )
        ),
        (201, json!({"Created": true}))
    );
    // Empty strings are stored as null (platform docs).
    assert_eq!(
        db(&server, "", fetch("ticket:101")),
        (200, json!({"issue": 15213, "note": null, "tags": ["a"]}))
    );
    assert_eq!(
        db(
            &server,
            "",
            update("ticket:101", "increment", json!({"issue": 2, "views": 1}))
        ),
        (200, json!({"Updated": true}))
    );
    assert_eq!(
        db(
            &server,
            "",
            update("ticket:101", "append", json!({"tags": ["b", "c"]}))
        )
        .0,
        200
    );
    assert_eq!(
        db(
            &server,
            "",
            update("ticket:101", "set", json!({"logs": {"t1": {"time": 1}}}))
        )
        .0,
        200
    );
    assert_eq!(
        db(
            &server,
            "",
            update(
                "ticket:101",
                "set",
                json!({"logs.t1.time": 500, "logs.t1.done": true, "tags[1]": "B"})
            )
        )
        .0,
        200
    );
    assert_eq!(
        db(
            &server,
            "",
            update("ticket:101", "remove", json!(["note", "tags[0]"]))
        )
        .0,
        200
    );
    assert_eq!(
        db(&server, "", fetch("ticket:101")),
        (
            200,
            json!({"issue": 15215, "tags": ["B", "c"], "views": 1, "logs": {"t1": {"time": 500, "done": true}}})
        )
    );
    // An update of a key that does not exist creates it; remove of one is refused.
    assert_eq!(
        db(&server, "", update("counter", "increment", json!({"n": 5}))).0,
        200
    );
    assert_eq!(db(&server, "", fetch("counter")), (200, json!({"n": 5})));
    assert_eq!(
        db(&server, "", update("nothing", "remove", json!(["a"]))),
        (
            400,
            json!({"status": 400, "message": "The specified key for remove operation does not exist in the data store",
                   "detail": "remove: there is no key \"nothing\" to remove attributes from"})
        )
    );
    assert_eq!(
        db(
            &server,
            "",
            json!({"action": "delete", "dbKey": "ticket:101"})
        ),
        (200, json!({"Deleted": true}))
    );
    assert_eq!(
        db(&server, "", fetch("ticket:101")),
        (404, json!({"status": 404, "message": "Record not found"}))
    );
    // Deleting what is not there succeeds, as in FDK.
    assert_eq!(
        db(
            &server,
            "",
            json!({"action": "delete", "dbKey": "ticket:101"})
        ),
        (200, json!({"Deleted": true}))
    );
    // The MKP-ROUTE header is case-insensitive, like the other routes.
    let resp = client()
        .post(server.url("/dprouter"))
        .header("mkp-route", "DB")
        .json(&fetch("counter"))
        .send()
        .expect("post");
    assert_eq!(resp.status(), 200);
}

#[test]
fn set_if_and_type_errors_answer_with_the_platform_messages_and_change_nothing() {
    let (_tmp, server) = started(&[]);
    let with = |key: &str, data: Value, options: Value| json!({"action": "store", "dbKey": key, "data": data, "options": options});
    assert_eq!(
        db(
            &server,
            "",
            with("k", json!({"v": 1}), json!({"setIf": "exist"}))
        ),
        (
            400,
            json!({"status": 400, "message": "The setIf conditional request failed",
                   "detail": "setIf \"exist\": the key \"k\" does not exist"})
        )
    );
    assert_eq!(
        db(
            &server,
            "",
            with("k", json!({"v": 1}), json!({"setIf": "not_exist"}))
        )
        .0,
        201
    );
    let (status, body) = db(
        &server,
        "",
        with("k", json!({"v": 2}), json!({"setIf": "not_exist"})),
    );
    assert_eq!(
        (status, &body["message"]),
        (400, &json!("The setIf conditional request failed"))
    );
    assert_eq!(
        db(
            &server,
            "",
            with("k", json!({"v": 3}), json!({"setIf": "exist"}))
        )
        .0,
        201
    );
    assert_eq!(db(&server, "", fetch("k")), (200, json!({"v": 3})));
    // setIf on an update, as apps use it.
    let mut u = update("other", "set", json!({"a": 1}));
    u["options"] = json!({"setIf": "exist"});
    assert_eq!(db(&server, "", u).0, 400);
    assert_eq!(db(&server, "", fetch("other")).0, 404);

    db(
        &server,
        "",
        store("t", json!({"name": "x", "n": 1, "list": [1]})),
    );
    let (status, body) = db(&server, "", update("t", "increment", json!({"name": 1})));
    assert_eq!(status, 400);
    assert_eq!(body["message"], "Mandatory attributes missing");
    assert_eq!(
        body["detail"],
        "increment: the attribute \"name\" holds a string; increment adds to numbers only"
    );
    let (status, body) = db(&server, "", update("t", "append", json!({"n": [2]})));
    assert_eq!(
        (status, body["message"].as_str()),
        (400, Some("Mandatory attributes missing"))
    );
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("append adds to arrays only")),
        "{body}"
    );
    // A path whose parent is missing, overlapping paths, a nested increment.
    for bad in [
        update("t", "set", json!({"missing.x": 1})),
        update("t", "set", json!({"list": [], "list[0]": 1})),
        update("t", "increment", json!({"list.n": 1})),
        update("t", "remove", json!(["missing.x"])),
    ] {
        let (status, body) = db(&server, "", bad.clone());
        assert_eq!(status, 400, "{bad} → {body}");
        assert_eq!(
            body["message"],
            "One or more paths in the attributes are invalid or overlapping with each other",
            "{bad}"
        );
    }
    assert_eq!(
        db(&server, "", fetch("t")),
        (200, json!({"name": "x", "n": 1, "list": [1]})),
        "refused updates changed nothing"
    );
}

#[test]
fn bad_input_gets_a_4xx_naming_the_problem_and_loses_nothing() {
    let (_tmp, server) = started(&[]);
    db(&server, "", store("keep", json!({"v": 1})));
    let cases: Vec<(String, &str)> = vec![
        ("not json".into(), "not JSON"),
        (json!([1]).to_string(), "JSON object"),
        (json!({"dbKey": "keep"}).to_string(), "no \"action\""),
        (json!({"action": "list", "dbKey": "keep"}).to_string(), "unknown action \"list\""),
        (json!({"action": "fetch"}).to_string(), "no \"dbKey\""),
        (json!({"action": "store", "dbKey": "keep"}).to_string(), "no \"data\""),
        (json!({"action": "update", "dbKey": "keep", "type": "merge", "attributes": {"v": 1}}).to_string(), "unknown update type \"merge\""),
        (json!({"action": "update", "dbKey": "keep", "type": "set"}).to_string(), "no \"attributes\""),
        (json!({"action": "update", "dbKey": "keep", "type": "remove", "attributes": {"v": 1}}).to_string(), "a list of paths"),
        (json!({"action": "update", "dbKey": "keep", "type": "increment", "attributes": {"v": "1"}}).to_string(), "must be a number"),
        (json!({"action": "store", "dbKey": "keep", "data": {"v": 2}, "options": {"ttl": "soon"}}).to_string(), "ttl"),
        (json!({"action": "store", "dbKey": "keep", "data": {"v": 2}, "options": {"setIf": "maybe"}}).to_string(), "setIf"),
    ];
    for (body, expected) in cases {
        let (status, answer) = db_raw(&server, "", body.clone());
        assert_eq!(status, 400, "{body} → {answer}");
        assert_eq!(answer["status"], 400);
        let message = answer["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(expected),
            "{body}: {message:?} lacks {expected:?}"
        );
    }
    for (value, found) in [
        (json!([1, 2]), "got an array"),
        (json!("text"), "got a string"),
        (json!({}), "got an empty object"),
    ] {
        let (status, answer) = db(&server, "", store("keep", value));
        assert_eq!(status, 400);
        assert_eq!(
            answer["message"],
            "The value should be of type JSON and not blank or empty \"{}\""
        );
        assert!(
            answer["detail"]
                .as_str()
                .is_some_and(|d| d.ends_with(found)),
            "{answer}"
        );
    }
    assert_eq!(db(&server, "", fetch("keep")), (200, json!({"v": 1})));
}

#[test]
fn the_platform_limits_apply_by_default_and_switch_off() {
    let (_tmp, server) = started(&[]);
    let long_key = "k".repeat(61);
    let (status, body) = db(&server, "", store(&long_key, json!({"v": 1})));
    assert_eq!(status, 400);
    assert_eq!(
        body["message"],
        "The key should not be blank and its length should not exceed 60 characters"
    );
    assert_eq!(
        db(&server, "", store(&"k".repeat(60), json!({"v": 1}))).0,
        201
    );
    assert_eq!(db(&server, "", store("  ", json!({"v": 1}))).0, 400);

    db(&server, "", store("big", json!({"v": 1})));
    let big = json!({"s": "x".repeat(40 * 1024)});
    let (status, body) = db(&server, "", store("big", big.clone()));
    assert_eq!(status, 400);
    assert_eq!(
        body["message"],
        "Item size exceeded the maximum limit of 40 KB"
    );
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("40960 bytes")),
        "{body}"
    );
    // An update that would grow the value past the limit is refused too.
    db(
        &server,
        "",
        store("grow", json!({"s": "x".repeat(30 * 1024)})),
    );
    let (status, _) = db(
        &server,
        "",
        update("grow", "set", json!({"t": "y".repeat(11 * 1024)})),
    );
    assert_eq!(status, 400);
    assert_eq!(db(&server, "", fetch("big")), (200, json!({"v": 1})));

    // 33 levels of objects; 32 are allowed.
    let mut deep = json!(1);
    for _ in 0..33 {
        deep = json!({"n": deep});
    }
    let (status, body) = db(&server, "", store("deep", deep.clone()));
    assert_eq!(
        (status, body["message"].as_str()),
        (400, Some("Nesting Levels have exceeded supported limits"))
    );

    drop(server);
    let (_tmp, server) = started(&["--no-db-limits"]);
    assert_eq!(db(&server, "", store(&long_key, json!({"v": 1}))).0, 201);
    assert_eq!(db(&server, "", store("big", big.clone())).0, 201);
    assert_eq!(db(&server, "", store("deep", deep)).0, 201);
    assert_eq!(db(&server, "", fetch("big")), (200, big));
}

#[test]
fn fifty_requests_a_minute_then_429_unless_switched_off() {
    let (_tmp, server) = started(&[]);
    db(&server, "", store("n", json!({"v": 1})));
    for i in 1..50 {
        let (status, body) = db(&server, "", fetch("n"));
        assert_eq!(status, 200, "request {} of 50: {body}", i + 1);
    }
    let (status, body) = db(&server, "", fetch("n"));
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["message"], "Rate limit exceeded");
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("50 a minute") && detail.contains("--no-rate-limit"),
        "{detail}"
    );
    // The rate limit is the store's own: invokeTemplate's is counted apart.
    drop(server);
    let (_tmp, server) = started(&["--no-rate-limit"]);
    for _ in 0..60 {
        assert_eq!(db(&server, "", store("n", json!({"v": 1}))).0, 201);
    }
}

#[test]
fn sixty_four_concurrent_increments_of_one_key_add_up() {
    let (_tmp, server) = started(&["--no-rate-limit"]);
    db(&server, "", store("hits", json!({"n": 1000})));
    let url = server.url("/dprouter");
    let threads: Vec<_> = (0..64)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || {
                client()
                    .post(&url)
                    .header("MKP-ROUTE", "db")
                    .json(&update("hits", "increment", json!({"n": 1})))
                    .send()
                    .map(|r| r.status().as_u16())
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().expect("thread").expect("request"), 200);
    }
    assert_eq!(db(&server, "", fetch("hits")), (200, json!({"n": 1064})));
}

#[test]
fn a_key_with_a_ttl_is_gone_for_every_read_once_it_expires() {
    let (_tmp, server) = started(&[]);
    let before = Instant::now();
    let mut body = store("short", json!({"v": 1}));
    body["options"] = json!({"ttl": 1});
    assert_eq!(db(&server, "", body).0, 201);
    let mut forever = store("forever", json!({"v": 2}));
    forever["options"] = json!({"ttl": -5});
    assert_eq!(db(&server, "", forever).0, 201);
    let listed = |server: &Server| -> Vec<String> {
        let v: Value = client()
            .get(server.url("/_fdk-emu/db/api/keys"))
            .send()
            .expect("list")
            .json()
            .expect("json");
        v["keys"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|k| k["key"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(listed(&server), vec!["forever", "short"]);
    // Poll (the TTL itself is the only wait) until the key is gone.
    let deadline = before + Duration::from_secs(10);
    let gone_at = loop {
        let (status, _) = db(&server, "", fetch("short"));
        if status == 404 {
            break Instant::now();
        }
        assert_eq!(status, 200);
        assert!(
            Instant::now() < deadline,
            "the key did not expire within 10 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        gone_at.duration_since(before) >= Duration::from_secs(1),
        "expired after {:?}, before its TTL of 1 s",
        gone_at.duration_since(before)
    );
    // Gone for every other read too: the viewer, setIf, update, `store show`.
    assert_eq!(listed(&server), vec!["forever"]);
    let mut again = store("short", json!({"v": 3}));
    again["options"] = json!({"setIf": "not_exist"});
    assert_eq!(
        db(&server, "", again).0,
        201,
        "an expired key does not exist for setIf"
    );
    assert_eq!(db(&server, "", fetch("short")), (200, json!({"v": 3})));
    assert_eq!(db(&server, "", fetch("forever")), (200, json!({"v": 2})));
}

#[test]
fn the_route_is_closed_until_the_app_is_installed_as_in_fdk() {
    let (_tmp, dir) = copy_app("kv");
    let server = Server::start(&dir, &[]);
    let (status, body) = db(&server, "", store("k", json!({"v": 1})));
    assert_eq!(status, 404);
    assert_eq!(body["message"], "Route not allowed");
    assert_eq!(body["status"], 404);
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("/custom_configs"), "{detail}");
    install(&server);
    assert_eq!(db(&server, "", store("k", json!({"v": 1}))).0, 201);
    drop(server);

    // An app without settings has nothing to install: the route is open at once.
    let (_tmp, dir) = copy_app("kv");
    std::fs::remove_file(dir.join("config").join("iparams.json")).expect("remove iparams");
    let server = Server::start(&dir, &[]);
    assert_eq!(db(&server, "", store("k", json!({"v": 1}))).0, 201);
}

#[test]
fn each_product_keeps_its_keys_and_a_miss_says_where_the_key_is() {
    let (_tmp, server) = started(&[]);
    assert_eq!(
        db(
            &server,
            "?module=support_ticket",
            store("shared", json!({"from": "desk"}))
        )
        .0,
        201
    );
    // support_ticket is Freshdesk, the app's first product: the default scope.
    assert_eq!(
        db(&server, "", fetch("shared")),
        (200, json!({"from": "desk"}))
    );
    assert_eq!(
        db(&server, "?product=freshdesk", fetch("shared")),
        (200, json!({"from": "desk"}))
    );
    let (status, body) = db(&server, "?module=service_ticket", fetch("shared"));
    assert_eq!(status, 404);
    assert_eq!(
        body["message"], "Record not found",
        "the platform's message, unchanged"
    );
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("stored for freshdesk")
            && detail.contains("reads the keys of freshservice"),
        "{detail}"
    );
    assert_eq!(
        db(
            &server,
            "?module=service_ticket",
            store("shared", json!({"from": "service"}))
        )
        .0,
        201
    );
    assert_eq!(
        db(&server, "?product=freshservice", fetch("shared")),
        (200, json!({"from": "service"}))
    );
    assert_eq!(
        db(&server, "", fetch("shared")),
        (200, json!({"from": "desk"}))
    );
    // A key in no product: no detail.
    assert_eq!(
        db(&server, "?module=service_ticket", fetch("nowhere")),
        (404, json!({"status": 404, "message": "Record not found"}))
    );
    let (status, body) = db(&server, "?module=deal", fetch("shared"));
    assert_eq!(status, 400);
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("\"deal\"")),
        "{body}"
    );
}

/// A write that was acknowledged survives `kill -9` in the middle of a burst of writes
/// (WAL, synchronous=FULL, one transaction per write).
#[test]
fn sigkill_during_a_write_burst_loses_no_acknowledged_write() {
    let (_tmp, dir) = copy_app("kv");
    let mut server = Server::start(&dir, &["--no-rate-limit"]);
    install(&server);
    let url = server.url("/dprouter");
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (url, acked, stop) = (url.clone(), acked.clone(), stop.clone());
            std::thread::spawn(move || {
                let c = client();
                let mut i = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let key = format!("w{w}-{i}");
                    let sent = c
                        .post(&url)
                        .header("MKP-ROUTE", "db")
                        .json(&json!({"action": "store", "dbKey": key, "data": {"i": i, "w": w}}))
                        .send();
                    match sent {
                        Ok(r) if r.status() == 201 => {
                            acked.lock().expect("lock").push(key);
                        }
                        // The server died under this request: it was not acknowledged.
                        _ => break,
                    }
                    i += 1;
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.lock().expect("lock").len() < 300 {
        assert!(Instant::now() < deadline, "the burst did not get going");
        std::thread::sleep(Duration::from_millis(10));
    }
    // SIGKILL while the writers are still sending.
    server.child.kill().expect("kill -9");
    server.child.wait().expect("wait");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in writers {
        w.join().expect("writer");
    }
    let acked = acked.lock().expect("lock").clone();
    let db_file = dir.join(".fdk").join("localstore.sqlite");
    let conn = rusqlite::Connection::open(&db_file).expect("open the store after the kill");
    let mut stored = std::collections::HashSet::new();
    let mut st = conn.prepare("SELECT key, value FROM kv").expect("select");
    let rows = st
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .expect("rows");
    for row in rows {
        let (key, value) = row.expect("row");
        let v: Value = serde_json::from_str(&value).expect("stored JSON");
        let (w, i) = key[1..].split_once('-').expect("key shape");
        assert_eq!(
            v,
            json!({"i": i.parse::<i64>().expect("i"), "w": w.parse::<i64>().expect("w")})
        );
        stored.insert(key);
    }
    let lost: Vec<&String> = acked.iter().filter(|k| !stored.contains(*k)).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged writes lost, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
    assert!(acked.len() >= 300);
    // And the server starts again on the same file.
    let server = Server::start(&dir, &["--no-rate-limit"]);
    assert_eq!(db(&server, "", fetch(&acked[0])).0, 200);
}
