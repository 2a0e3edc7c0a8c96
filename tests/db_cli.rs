//! The key-value store on the command line: `fdk-emu store show` lists the keys (values cut,
//! caller text escaped), `store reset --db` clears them, and `store import` brings over the
//! data of an FDK `.fdk/localstore`.

mod common;

use common::calls::client;
use common::{Server, copy_app, run_cli};
use serde_json::{Value, json};

/// One db call; returns (status, body).
fn db(server: &Server, query: &str, body: Value) -> (u16, Value) {
    server.dprouter("db", query, &body)
}

fn store(key: &str, data: Value) -> Value {
    json!({"action": "store", "dbKey": key, "data": data})
}

fn fetch(key: &str) -> Value {
    json!({"action": "fetch", "dbKey": key})
}

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
fn store_show_lists_the_keys_and_reset_db_clears_them() {
    let (_tmp, server) = started(&[]);
    db(&server, "", store("ticket:1", json!({"issue": 7})));
    db(&server, "", store("long", json!({"text": "y".repeat(500)})));
    db(
        &server,
        "?module=service_ticket",
        store("esc", json!({"t": "a\u{1b}[2Jb"})),
    );
    let dir = server.app_dir.clone();
    drop(server);
    let app = dir.to_string_lossy().to_string();
    let (code, out, err) = run_cli(&["store", "--app-dir", &app, "show"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Key-value store (client.db, $db):"), "{out}");
    assert!(out.contains("  freshdesk:\n"), "{out}");
    assert!(out.contains(r#"    ticket:1 = {"issue":7}"#), "{out}");
    let long = out
        .lines()
        .find(|l| l.contains("long ="))
        .expect("long key listed");
    assert!(
        long.contains('…') && long.contains("bytes)") && long.len() < 200,
        "{long}"
    );
    assert!(out.contains("  freshservice:\n"), "{out}");
    assert!(
        !out.contains('\u{1b}'),
        "a control character reached the terminal: {out:?}"
    );
    // Secrets stay masked in the same output.
    assert!(!out.contains("kv-secret-4711"), "{out}");

    let (code, out, err) = run_cli(&["store", "--app-dir", &app, "reset", "--db"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("key-value store"), "{out}");
    let (_, out, _) = run_cli(&["store", "--app-dir", &app, "show"]);
    assert!(out.contains("  (no keys)"), "{out}");
    assert!(out.contains("team = \"blue\""), "iparams are kept: {out}");
}

/// `fdk-emu store import` of an FDK 6.9 `.fdk/localstore`, written here as the oracle notes
/// show it: the keys come over without FDK's bookkeeping, expired ones are left out, and the
/// secure iparam is encrypted in the store.
#[test]
fn an_fdk_localstore_is_imported() {
    let (_tmp, dir) = copy_app("kv");
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    let fdk = json!({
        "kv_101_101_modules": {
            "kv_101_101_custom_iparams": {"__meta": {"secure": ["api_key"]}, "team": "green", "api_key": "imported-secret-99"},
            "kv_101_101_oauth_github": {"access_token": "AT-plain", "refresh_token": "RT-plain"}
        },
        "kv:ticket:7_modules": {"issue": 42, "createdAt": now_ms - 5000, "updatedAt": now_ms - 1000},
        "kv:session_modules": {"s": 1, "createdAt": now_ms, "updatedAt": now_ms, "__expireAfter": now_ms + 3_600_000},
        "kv:old_modules": {"s": 1, "createdAt": 1, "updatedAt": 1, "__expireAfter": 2},
        "report_hash": "abc"
    });
    let file = dir.join(".fdk").join("localstore");
    std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
    std::fs::write(&file, fdk.to_string()).expect("write localstore");
    let app = dir.to_string_lossy().to_string();
    let (code, out, err) = run_cli(&[
        "store",
        "--app-dir",
        &app,
        "import",
        &file.to_string_lossy(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("2 key(s) of the key-value store (freshdesk: 2)"),
        "{out}"
    );
    assert!(
        out.contains("2 installation parameter(s), 1 secure (encrypted): api_key"),
        "{out}"
    );
    assert!(out.contains("left out 1 expired key(s)"), "{out}");
    assert!(out.contains("OAuth tokens were not copied"), "{out}");

    let raw = std::fs::read(dir.join(".fdk").join("localstore.sqlite")).expect("read store");
    let mut wal = std::fs::read(dir.join(".fdk").join("localstore.sqlite-wal")).unwrap_or_default();
    wal.extend(raw);
    assert!(
        !wal.windows(18).any(|w| w == b"imported-secret-99"),
        "the secure iparam is in the file in clear text"
    );

    // The app runs installed, with its keys, as they were.
    let server = Server::start(&dir, &[]);
    assert_eq!(
        db(&server, "", fetch("ticket:7")),
        (200, json!({"issue": 42}))
    );
    assert_eq!(db(&server, "", fetch("session")), (200, json!({"s": 1})));
    assert_eq!(db(&server, "", fetch("old")).0, 404);
    let keys: Value = client()
        .get(server.url("/_fdk-emu/db/api/keys"))
        .send()
        .expect("list")
        .json()
        .expect("json");
    let ticket = keys["keys"]
        .as_array()
        .and_then(|a| a.iter().find(|k| k["key"] == "ticket:7"))
        .expect("ticket:7 listed");
    assert_eq!(ticket["created_at"], json!(now_ms - 5000));
    assert_eq!(ticket["updated_at"], json!(now_ms - 1000));

    // A file that is not a localstore changes nothing and says so.
    let bad = dir.join("bad.json");
    std::fs::write(&bad, "[1, 2]").expect("write");
    let (code, _, err) = run_cli(&["store", "--app-dir", &app, "import", &bad.to_string_lossy()]);
    assert_eq!(code, 1);
    assert!(err.contains("is not an FDK localstore"), "{err}");
}
