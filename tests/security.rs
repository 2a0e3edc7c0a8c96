//! Issue 11: what a hostile page, a bad value or a deleted folder could do to the running
//! server, each tried against the real binary. One test per point of the issue, plus the
//! properties that held and must keep holding (a 64-connection load without errors, calls
//! while `requests.json` is being edited). The third, no acknowledged write lost to a
//! SIGKILL, is `store_http::acknowledged_writes_survive_sigkill`.

mod common;
#[path = "support/oauth_app.rs"]
mod oauth_app;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::httpbin::Httpbin;
use common::nginx::Nginx;
use common::{Server, copy_app};
use oauth_app::{demo_consent, http, location};
use serde_json::{Value, json};

fn call(template: &str, data: Value) -> Value {
    json!({"action": "invokeTemplate", "templateName": template, "data": data})
}

/// What httpbin echoed, from a successful envelope.
fn echoed(env: &Value) -> Value {
    assert_eq!(env["status"], 200, "{env}");
    serde_json::from_str(env["response"].as_str().expect("response text")).expect("httpbin JSON")
}

fn query_value(url: &str, key: &str) -> String {
    url::Url::parse(url)
        .expect("url")
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no {key} in {url}"))
}

/// Starts the handshake of the demo integration (as `headers` say it was started) and
/// returns its state.
fn start_handshake(server: &Server, query: &str, headers: &[(&str, &str)]) -> String {
    let mut req = http().get(server.url(&format!("/auth/index?integration=demo{query}")));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().expect("/auth/index");
    assert_eq!(r.status(), 302, "{:?}", r.text());
    query_value(&location(&r, &server.base), "state")
}

// 1 ----------------------------------------------------------------------------------------

/// Runs the demo handshake with `callback` and returns where the callback sends the browser.
fn returned_to(server: &Server, callback: &str) -> reqwest::blocking::Response {
    let state = start_handshake(server, &format!("&callback={callback}"), &[]);
    let back = demo_consent(server, &state);
    http().get(&back).send().expect("callback")
}

/// Asserts that `r` sends the browser to a page of `server`.
fn assert_sent_home(server: &Server, callback: &str, r: reqwest::blocking::Response) {
    let own = format!("http://localhost:{}", server.port);
    assert_eq!(r.status(), 302, "callback={callback}: {:?}", r.text());
    let loc = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("Location")
        .to_string();
    assert!(
        loc.starts_with('/') && !loc.starts_with("//") && !loc.contains(['\\', '\t']),
        "callback={callback} sent the browser to {loc:?}"
    );
    let resolved = url::Url::parse(&own)
        .and_then(|b| b.join(&loc))
        .expect("a URL");
    assert_eq!(
        (resolved.host_str(), resolved.port()),
        (Some("localhost"), Some(server.port)),
        "callback={callback} -> {loc}"
    );
    assert!(r.headers().get("set-cookie").is_none());
}

/// After a successful handshake the browser is sent back to a page of this server, whatever
/// `callback` asked for.
#[test]
fn the_handshake_sends_the_browser_back_to_this_server_only() {
    let (_tmp, dir) = copy_app("demo");
    let server = Server::start(&dir, &["--demo-provider"]);
    let own = format!("http://localhost:{}", server.port);
    for callback in [
        format!("{own}//evil.example"),
        format!("{own}/%5Cevil.example"),
        format!("{own}/%5C%5Cevil.example/x"),
        "/%09/evil.example".to_string(),
        "%5C/evil.example".to_string(),
        "https://evil.example/custom_configs".to_string(),
    ] {
        let r = returned_to(&server, &callback);
        assert_sent_home(&server, &callback, r);
    }
    // A page of this server is where the browser goes back to.
    let r = returned_to(&server, "/custom_configs%3Ftab%3Doauth");
    assert_eq!(
        r.headers().get("location").and_then(|v| v.to_str().ok()),
        Some("/custom_configs?tab=oauth")
    );
}

// 2 ----------------------------------------------------------------------------------------

/// A line break in `callback` is no 500 (the tokens were stored, then the redirect failed)
/// and no header of its own.
#[test]
fn a_line_break_in_the_return_target_is_no_500() {
    let (_tmp, dir) = copy_app("demo");
    let server = Server::start(&dir, &["--demo-provider"]);
    for callback in ["/%0a/x", "/custom_configs%0d%0aSet-Cookie:%20a=b"] {
        let r = returned_to(&server, callback);
        assert_sent_home(&server, callback, r);
    }
}

// 3 ----------------------------------------------------------------------------------------

/// A template name (caller-given text) can neither forge a log line, nor send escape
/// sequences to the terminal, nor flood it.
#[test]
fn caller_text_cannot_forge_or_flood_the_log() {
    let (_tmp, dir) = copy_app("invoke");
    let mut server = Server::start(&dir, &["--no-rate-limit"]);
    let forged =
        "x\ninvokeTemplate forged GET https://api.example.com/ok -> 200 (1 attempt, 0.1 ms)";
    server.proxy(&call(forged, json!({})));
    server.proxy(&call("\u{1b}[2J\u{1b}]0;owned\u{7}t\r", json!({})));
    let long = "n".repeat(100_000);
    server.proxy(&call(&long, json!({})));
    server.proxy(&call("last-one", json!({})));
    server
        .wait_for_line(|l| l.contains("last-one"), Duration::from_secs(10))
        .expect("the last call is logged");
    let out = server.drain().to_vec();
    assert!(
        !out.iter().any(|l| l.starts_with("invokeTemplate forged")),
        "a forged line: {out:#?}"
    );
    assert!(
        out.iter()
            .any(|l| l.starts_with("invokeTemplate x\\ninvokeTemplate forged")),
        "{out:#?}"
    );
    assert!(
        !out.iter().any(|l| l.contains(['\u{1b}', '\u{7}', '\r'])),
        "control characters reached the terminal"
    );
    assert!(out.iter().any(|l| l.contains("\\u{1b}[2J")), "{out:#?}");
    let long_line = out
        .iter()
        .find(|l| l.contains("nnnnnnnn"))
        .expect("the long name's line");
    assert!(
        long_line.len() < 3000 && long_line.contains("(99800 more characters)"),
        "a line of {} bytes",
        long_line.len()
    );
}

/// The same for the db route's lines: a key is caller-given text too.
#[test]
fn db_keys_cannot_forge_or_flood_the_log() {
    let (_tmp, dir) = copy_app("kv");
    let mut server = Server::start(&dir, &[]);
    server.install(&json!({"team": "blue", "api_key": "kv-secret-4711"}));
    let db = |key: &str| {
        http()
            .post(server.url("/dprouter"))
            .header("MKP-ROUTE", "db")
            .json(&json!({"action": "store", "dbKey": key, "data": {"a": 1}}))
            .send()
            .expect("POST /dprouter")
            .status()
    };
    db("k\ndb store \"forged\" (freshdesk) → 200 in 0.1 ms");
    db("\u{1b}[2J\u{1b}]0;owned\u{7}k\r");
    db(&"n".repeat(100_000));
    db("last-one");
    server
        .wait_for_line(|l| l.contains("last-one"), Duration::from_secs(10))
        .expect("the last call is logged");
    let out = server.drain().to_vec();
    assert!(
        !out.iter().any(|l| l.starts_with("db store \"forged\"")),
        "a forged line: {out:#?}"
    );
    assert!(out.iter().any(|l| l.contains("\"k\\ndb store")), "{out:#?}");
    assert!(
        !out.iter().any(|l| l.contains(['\u{1b}', '\u{7}', '\r'])),
        "control characters reached the terminal"
    );
    let long_line = out
        .iter()
        .find(|l| l.contains("nnnnnnnn"))
        .expect("the long key's line");
    assert!(
        long_line.len() < 3000 && long_line.contains("(99800 more characters)"),
        "a line of {} bytes",
        long_line.len()
    );
}

// 4 ----------------------------------------------------------------------------------------

/// A redirect to another origin (here: the same host, another port) gets neither
/// `Authorization` nor a header holding a secure iparam; one on the same origin gets both.
#[test]
fn credentials_do_not_follow_a_redirect_to_another_origin() {
    let api = Httpbin::start();
    let elsewhere = Httpbin::start();
    let (_tmp, dir) = copy_app("invoke");
    let up = format!("api.httpbin.test={}", api.base);
    let server = Server::start(&dir, &["--upstream", &up, "--no-rate-limit"]);
    server.install(&json!({"user": "u", "api_key": "key-SECRET-7", "plan": "pro"}));

    let env = server.proxy(&call(
        "redirectKeyed",
        json!({"context": {"to": "/headers"}}),
    ));
    let same = echoed(&env);
    assert_eq!(same["headers"]["X-Api-Key"], "key-SECRET-7", "{same}");
    assert_eq!(
        same["headers"]["Authorization"],
        "Bearer redirect-secret-token"
    );

    let to = format!("http://127.0.0.1:{}/headers", elsewhere.port);
    let env = server.proxy(&call("redirectKeyed", json!({"context": {"to": to}})));
    let other = echoed(&env);
    assert!(
        other["headers"].get("Authorization").is_none(),
        "Authorization followed the redirect to another port: {other}"
    );
    assert!(
        other["headers"].get("X-Api-Key").is_none(),
        "the secure iparam followed the redirect to another port: {other}"
    );
    assert_eq!(other["headers"]["X-Plain"], "visible", "{other}");
}

// 5 ----------------------------------------------------------------------------------------

/// A context value substituted into the path can neither climb out of it, nor put a query
/// key of the template before the template's own, nor cut the URL with `#`.
#[test]
fn values_cannot_change_the_shape_of_the_request() {
    let api = Httpbin::start();
    let (_tmp, dir) = copy_app("invoke");
    let up = format!("api.httpbin.test={}", api.base);
    let server = Server::start(&dir, &["--upstream", &up, "--no-rate-limit"]);
    server.install(&json!({"user": "u", "api_key": "k-1", "plan": "pro"}));
    let echo = |id: &str| call("echo", json!({"context": {"id": id, "note": "n"}}));

    let env = server.proxy(&echo("../../status/500"));
    assert_eq!(env["status"], 400, "{env}");
    assert_eq!(env["errorSource"], "APP", "{env}");
    let msg = env["response"].as_str().unwrap_or_default();
    for part in ["'echo'", "schema.path", "`context.id`", "`..`"] {
        assert!(msg.contains(part), "{part} missing from: {msg}");
    }
    let env = server.proxy(&echo("%2e%2e/%2e%2e/status/500"));
    assert_eq!(env["status"], 400, "{env}");

    let got = echoed(&server.proxy(&echo("1?plan=enterprise")));
    assert_eq!(
        got["args"]["plan"], "pro",
        "the template's plan must win: {got}"
    );
    assert!(
        got["url"]
            .as_str()
            .unwrap_or_default()
            .contains("/anything/items/1?"),
        "{got}"
    );

    let got = echoed(&server.proxy(&echo("1#x")));
    assert_eq!(got["args"]["fixed"], "template", "the query was cut: {got}");
    assert!(
        got["url"]
            .as_str()
            .unwrap_or_default()
            .contains("/anything/items/1%23x"),
        "{got}"
    );

    // A key the template wrote in its path (`?include=requester`) wins over the value's
    // and the caller's `data.query`.
    let got = echoed(&server.proxy(&call(
        "ticketIncluding",
        json!({"context": {"id": "7?include=secrets"}, "query": {"include": "all", "extra": "1"}}),
    )));
    assert_eq!(got["args"]["include"], "requester", "{got}");
    assert_eq!(got["args"]["extra"], "1", "{got}");
    assert!(
        got["url"]
            .as_str()
            .unwrap_or_default()
            .contains("/anything/tickets/7%3Finclude=secrets?"),
        "{got}"
    );

    // A whole path from the app, with its query, still works (15 templates of the corpus).
    let got = echoed(&server.proxy(&call(
        "anyPath",
        json!({"context": {"path": "/anything/a/b?x=1&y=2"}}),
    )));
    assert_eq!(
        (got["args"]["x"].clone(), got["args"]["y"].clone()),
        ("1".into(), "2".into())
    );
}

// 6 ----------------------------------------------------------------------------------------

/// A link from `app/` to a folder elsewhere is not followed: changes over there neither
/// reload the app nor have their names announced.
#[test]
fn the_watcher_does_not_follow_links_out_of_the_app() {
    let (tmp, dir) = copy_app("invoke");
    let outside = tmp.path().join("outside");
    std::fs::create_dir_all(outside.join("deeper")).expect("outside folder");
    std::os::unix::fs::symlink(&outside, dir.join("app/dirlink")).expect("symlink");
    let mut server = Server::start(&dir, &[]);
    for i in 0..20 {
        std::fs::write(outside.join(format!("log{i}.txt")), "a log line\n").expect("write");
        std::fs::write(outside.join("deeper/more.log"), format!("{i}\n")).expect("write");
    }
    // A change of the app itself, after those: once its reload is reported, any reload the
    // writes over there caused has been reported before it.
    std::fs::write(dir.join("app/marker.txt"), "m").expect("marker");
    let line = server.wait_for_line(|l| l.contains("app/marker.txt"), Duration::from_secs(10));
    assert!(
        line.is_some(),
        "no reload for app/marker.txt: {:#?}",
        server.drain()
    );
    let out = server.drain().to_vec();
    assert!(
        !out.iter().any(|l| l.contains("dirlink")),
        "files outside the app were watched: {out:#?}"
    );
}

// 7 ----------------------------------------------------------------------------------------

/// The status line of a WebSocket handshake on `/notify-change` sent with `origin`.
fn websocket_status(server: &Server, origin: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        s,
        "GET /notify-change HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nOrigin: {origin}\r\n\
         Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n",
        server.port
    )
    .expect("send");
    let mut buf = [0u8; 512];
    let n = s.read(&mut buf).expect("answer");
    String::from_utf8_lossy(&buf[..n])
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn the_live_reload_socket_refuses_other_sites() {
    let (_tmp, dir) = copy_app("invoke");
    let server = Server::start(&dir, &[]);
    let status = websocket_status(&server, "https://evil.example");
    assert!(status.contains(" 403"), "{status}");
    let status = websocket_status(&server, &format!("http://localhost:{}", server.port));
    assert!(status.contains(" 101"), "{status}");
}

// 8 ----------------------------------------------------------------------------------------

fn db_path(app: &Path) -> std::path::PathBuf {
    app.join(".fdk").join("localstore.sqlite")
}

/// `rm -rf .fdk` while the server runs: the next write puts the store back (loudly), and
/// everything acknowledged is there after a restart.
#[test]
fn deleting_the_store_folder_loses_no_acknowledged_write() {
    let (_tmp, app) = copy_app("demo");
    let mut server = Server::start(&app, &[]);
    let values = |n: i64| json!({"company_name": format!("C{n}"), "support_email": "a@b.co", "api_token": format!("T-{n}")});
    assert_eq!(server.post_iparams(&values(1)).status(), 200);
    std::fs::remove_dir_all(app.join(".fdk")).expect("rm -rf .fdk");
    assert_eq!(server.post_iparams(&values(2)).status(), 200);
    let warning = server.wait_for_line(
        |l| l.contains("was deleted while fdk-emu was running"),
        Duration::from_secs(5),
    );
    assert!(
        warning
            .as_deref()
            .is_some_and(|w| w.contains("localstore.sqlite")),
        "{:#?}",
        server.drain()
    );
    drop(server);

    let server = Server::start(&app, &[]);
    let fetched: Value = http()
        .get(server.url("/custom_configs/fetch"))
        .send()
        .and_then(|r| r.json())
        .expect("fetch");
    assert_eq!(fetched["customIParams"]["company_name"], "C2", "{fetched}");
    drop(server);
    let store = fdk_emu::store::Store::open_with_key(&db_path(&app), oauth_app::test_key())
        .expect("reopen");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let ip = rt.block_on(store.iparams()).expect("read").expect("stored");
    assert_eq!(ip["api_token"], "T-2", "the secure value survived too");
}

// 9 ----------------------------------------------------------------------------------------

/// Thousands of handshakes started by someone else do not evict the one the developer
/// started from the setup page.
#[test]
fn a_flood_of_handshakes_does_not_evict_the_developers() {
    let (_tmp, dir) = copy_app("demo");
    let server = Server::start(&dir, &["--demo-provider"]);
    // What Chromium sends when the developer clicks "Authorize" on /custom_configs.
    let mine = start_handshake(&server, "", &[("Sec-Fetch-Site", "same-origin")]);
    let c = http();
    for _ in 0..5_000 {
        let r = c
            .get(server.url("/auth/index?integration=demo"))
            .send()
            .expect("/auth/index");
        assert_eq!(r.status(), 302);
    }
    let back = demo_consent(&server, &mine);
    let r = http().get(&back).send().expect("callback");
    assert_eq!(
        r.status(),
        302,
        "the developer's handshake was evicted: {:?}",
        r.text()
    );
}

// 10 ---------------------------------------------------------------------------------------

/// Sends the head of a POST and part of its body, then nothing.
fn stall(server: &Server, path: &str, extra: &str) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n{extra}Content-Length: 1000\r\n\r\n{{\"action\":",
        server.port
    )
    .expect("send");
    s
}

/// The whole answer on `s`, waiting at most `within`.
fn answer(mut s: TcpStream, within: Duration) -> String {
    s.set_read_timeout(Some(within)).expect("timeout");
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) => {
                assert!(!out.is_empty(), "no answer within {within:?}: {e}");
                break;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn stalled_bodies_are_answered_408() {
    let (_tmp, dir) = copy_app("demo");
    let server = Server::start_with_env(&dir, &[], &[("FDK_EMU_BODY_TIMEOUT_MS", "1000")]);
    let stalled: Vec<TcpStream> = (0..10)
        .map(|_| stall(&server, "/dprouter", "MKP-ROUTE: proxy\r\n"))
        .collect();
    let form = stall(
        &server,
        "/system_settings",
        "Content-Type: application/x-www-form-urlencoded\r\n",
    );
    let api = stall(
        &server,
        "/custom_configs/store",
        "Content-Type: application/json\r\n",
    );
    for s in stalled {
        let a = answer(s, Duration::from_secs(10));
        assert!(a.starts_with("HTTP/1.1 408"), "{a}");
        assert!(
            a.contains("\"status\":408") && a.contains("did not arrive within 1 s"),
            "{a}"
        );
    }
    let a = answer(form, Duration::from_secs(10));
    assert!(
        a.starts_with("HTTP/1.1 408") && a.contains("text/html"),
        "{a}"
    );
    let a = answer(api, Duration::from_secs(10));
    assert!(
        a.starts_with("HTTP/1.1 408") && a.contains("request_timeout"),
        "{a}"
    );
    // The server goes on serving.
    let r = http()
        .get(server.url("/api/status"))
        .send()
        .expect("status");
    assert_eq!(r.status(), 200);
}

// 11 ---------------------------------------------------------------------------------------

fn peak_rss_mb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb / 1024)
        .expect("VmHWM")
}

/// 32 bodies of almost 8 MB at once: the server's peak memory stays bounded (it was 555 MB).
#[test]
fn concurrent_large_bodies_stay_within_a_memory_budget() {
    let (_tmp, dir) = copy_app("invoke");
    // The template's host leads nowhere: each call ends once its body was read and rendered.
    let server = Server::start(
        &dir,
        &[
            "--upstream",
            "api.httpbin.test=http://127.0.0.1:1",
            "--no-rate-limit",
        ],
    );
    let filler = "x".repeat(8 * 1024 * 1024 - 200);
    let body = Arc::new(
        json!({"action": "invokeTemplate", "templateName": "big", "data": {"body": filler}})
            .to_string(),
    );
    let before = peak_rss_mb(server.child.id());
    let go = Arc::new(std::sync::Barrier::new(32));
    let threads: Vec<_> = (0..32)
        .map(|_| {
            let (body, go, url) = (body.clone(), go.clone(), server.url("/dprouter"));
            std::thread::spawn(move || {
                let c = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(120))
                    .build()
                    .expect("client");
                go.wait();
                c.post(url)
                    .header("MKP-ROUTE", "proxy")
                    .header("Content-Type", "application/json")
                    .body(body.as_str().to_owned())
                    .send()
                    .map(|r| r.status().as_u16())
            })
        })
        .collect();
    for t in threads {
        let status = t.join().expect("thread").expect("answer");
        assert_eq!(status, 200);
    }
    let peak = peak_rss_mb(server.child.id());
    assert!(
        peak < before + 200,
        "peak RSS {peak} MB (idle {before} MB) for 32 bodies of 8 MB"
    );
}

// 12 ---------------------------------------------------------------------------------------

/// An iparams.html page whose `postConfigs()` sends the mask back without `__meta` keeps
/// the stored secret, still encrypted.
#[test]
fn a_masked_value_sent_back_keeps_the_stored_secret() {
    let (_tmp, app) = copy_app("iparams-html");
    let server = Server::start(&app, &[]);
    let first = json!({"__meta": {"secure": ["api_key"]}, "tracker_url": "https://t.example.com", "api_key": "k-SECRET-12"});
    assert_eq!(server.post_iparams(&first).status(), 200);
    let fetched: Value = http()
        .get(server.url("/custom_configs/fetch"))
        .send()
        .and_then(|r| r.json())
        .expect("fetch");
    let mask = fetched["customIParams"]["api_key"].clone();
    assert_ne!(mask, "k-SECRET-12");
    // What a page that round-trips its configs sends: the mask, no __meta.
    let again = json!({"tracker_url": "https://t2.example.com", "api_key": mask});
    assert_eq!(server.post_iparams(&again).status(), 200);
    drop(server);
    let store = fdk_emu::store::Store::open_with_key(&db_path(&app), oauth_app::test_key())
        .expect("reopen");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let ip = rt.block_on(store.iparams()).expect("read").expect("stored");
    assert_eq!(ip["api_key"], "k-SECRET-12", "{ip:?}");
    assert_eq!(ip["tracker_url"], "https://t2.example.com");
    let secure = rt.block_on(store.secure_iparam_names()).expect("read");
    assert_eq!(secure, vec!["api_key".to_string()], "still encrypted");
}

// 13 ---------------------------------------------------------------------------------------

#[test]
fn hidden_files_are_served_from_neither_folder() {
    let (_tmp, app) = copy_app("iparams-html");
    std::fs::write(app.join("app/.env"), "SECRET=1").expect(".env");
    std::fs::create_dir_all(app.join("app/scripts/.git")).expect(".git");
    std::fs::write(app.join("app/scripts/.git/config"), "[core]").expect("config");
    std::os::unix::fs::symlink(".env", app.join("app/env.txt")).expect("link");
    std::fs::write(app.join("config/assets/.env"), "SECRET=1").expect(".env");
    let server = Server::start(&app, &[]);
    for path in [
        "/iframe/.env",
        "/iframe/scripts/.git/config",
        "/iframe/env.txt",
        "/custom_configs/assets/.env",
    ] {
        let r = http().get(server.url(path)).send().expect("get");
        assert_eq!(r.status(), 404, "{path}");
        assert!(!r.text().unwrap_or_default().contains("SECRET"), "{path}");
    }
    let r = http()
        .get(server.url("/iframe/index.html"))
        .send()
        .expect("get");
    assert_eq!(r.status(), 200);
}

// 14 ---------------------------------------------------------------------------------------

/// Oversized bodies are answered in each route's own format: the error page for the setup
/// forms, FDK's JSON on every `/dprouter` route.
#[test]
fn oversized_bodies_are_answered_in_each_routes_format() {
    let (_tmp, app) = copy_app("oauth-params");
    let server = Server::start(&app, &[]);
    let big = "a=".to_string() + &"x".repeat(200 * 1024);
    for path in [
        "/system_settings",
        "/custom_configs/install",
        "/oauth_configs",
        "/oauth_iparams",
    ] {
        let r = http()
            .post(server.url(path))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(big.clone())
            .send()
            .expect("post");
        assert_eq!(r.status(), 413, "{path}");
        let ct = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let text = r.text().unwrap_or_default();
        assert!(ct.starts_with("text/html"), "{path}: {ct}");
        assert!(text.contains("Nothing was saved"), "{path}: {text}");
    }
    let huge = "x".repeat(9 * 1024 * 1024);
    for route in ["oauth", "proxy", "nonsense"] {
        let r = http()
            .post(server.url("/dprouter"))
            .header("MKP-ROUTE", route)
            .body(huge.clone())
            .send()
            .expect("post");
        assert_eq!(r.status(), 413, "{route}");
        let v: Value = r.json().expect("JSON");
        assert_eq!(v["status"], 413, "{route}: {v}");
    }
}

// 15 ---------------------------------------------------------------------------------------

/// `fdk-emu validate --format json | head -c 10`: a reader that closed the pipe ends the
/// command quietly. The pipe here is closed before the command writes, every time.
#[test]
fn a_closed_stdout_ends_validate_quietly() {
    let app = common::fixture_app("bad-requests");
    for format in ["json", "text"] {
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        let out = std::process::Command::new(common::bin())
            .args(["validate", "--format", format, "--app-dir"])
            .arg(&app)
            .env("NO_COLOR", "1")
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .expect("run validate");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{format}: {stderr}");
        assert_ne!(out.status.code(), Some(101), "{format}: {stderr}");
        assert!(stderr.is_empty(), "{format}: {stderr}");
    }
}

// Properties that held and must keep holding ----------------------------------------------

/// `n` calls of `template` at `connections` at once; returns the envelopes that were not a
/// 200 from the API (with the transport errors).
async fn load(base: &str, template: &str, n: usize, connections: usize) -> Vec<String> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()
        .expect("client");
    let next = Arc::new(AtomicUsize::new(0));
    let body = call(template, json!({})).to_string();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (client, next, body) = (client.clone(), next.clone(), body.clone());
        let url = format!("{base}/dprouter");
        tasks.push(tokio::spawn(async move {
            let mut bad = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < n {
                let r = client
                    .post(&url)
                    .header("MKP-ROUTE", "proxy")
                    .header("Content-Type", "application/json")
                    .body(body.clone())
                    .send()
                    .await;
                match r {
                    Ok(r) => {
                        let text = r.text().await.unwrap_or_default();
                        let env: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                        if env["status"] != 200 {
                            bad.push(text);
                        }
                    }
                    Err(e) => bad.push(e.to_string()),
                }
            }
            bad
        }));
    }
    let mut bad = Vec::new();
    for t in tasks {
        bad.extend(t.await.expect("task"));
    }
    bad
}

fn ping_app(nginx: &Nginx) -> (tempfile::TempDir, std::path::PathBuf, Vec<String>) {
    let (tmp, dir) = copy_app("invoke");
    let args = vec![
        "--upstream".to_string(),
        format!("api.httpbin.test={}", nginx.base),
        "--no-rate-limit".to_string(),
    ];
    (tmp, dir, args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_calls_at_64_connections_all_succeed() {
    let nginx = Nginx::start();
    let (_tmp, dir, args) = ping_app(&nginx);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = Server::start(&dir, &args);
    let bad = load(&server.base, "ping", 10_000, 64).await;
    assert!(
        bad.is_empty(),
        "{} failed, e.g. {:?}",
        bad.len(),
        bad.first()
    );
}

/// 40 000 calls while `requests.json` is rewritten over and over (truncated and written in
/// place, as some editors save, so the watcher also reads half-written files): every call
/// is answered by the API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_while_requests_json_is_edited_all_succeed() {
    let nginx = Nginx::start();
    let (_tmp, dir, args) = ping_app(&nginx);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut server = Server::start(&dir, &args);
    let file = dir.join("config/requests.json");
    let original = std::fs::read_to_string(&file).expect("requests.json");
    let edited = original.replace("\"from\": \"fdk-emu\"", "\"from\": \"fdk-emu-edited\"");
    assert_ne!(original, edited);
    let done = Arc::new(AtomicBool::new(false));
    let editor = {
        let (done, file) = (done.clone(), file.clone());
        std::thread::spawn(move || {
            let mut edits = 0;
            let started = Instant::now();
            while !done.load(Ordering::Relaxed) || edits < 10 {
                let text = if edits % 2 == 0 { &edited } else { &original };
                std::fs::write(&file, text).expect("edit");
                edits += 1;
                // One save every 50 ms or so, like a developer's editor saving on each key.
                std::thread::park_timeout(Duration::from_millis(50));
                assert!(
                    started.elapsed() < Duration::from_secs(300),
                    "runaway editor"
                );
            }
            edits
        })
    };
    let bad = load(&server.base, "ping", 40_000, 64).await;
    done.store(true, Ordering::Relaxed);
    let edits = editor.join().expect("editor");
    assert!(
        bad.is_empty(),
        "{} of 40000 failed, e.g. {:?}",
        bad.len(),
        bad.first()
    );
    let reloads = server
        .drain()
        .iter()
        .filter(|l| l.contains("config/requests.json"))
        .count();
    assert!(
        edits >= 10 && reloads >= 5,
        "{edits} edits, {reloads} reloads: the calls did not run during edits"
    );
}
