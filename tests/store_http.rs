//! The store seen over HTTP and from the command line, against the real binary: FDK's JSON
//! API and its error answers, the request guard, secrets at rest, `store show`/`reset`, and
//! crash safety under SIGKILL.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use common::{Server, copy_app, run_cli};
use serde_json::{Value, json};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

fn db_path(app: &std::path::Path) -> std::path::PathBuf {
    app.join(".fdk").join("localstore.sqlite")
}

fn valid(i: i64) -> Value {
    json!({"company_name": format!("c{i}"), "support_email": "ops@acme.test", "api_token": format!("T-SECRET-{i}")})
}

#[tokio::test]
async fn json_api_stores_validates_and_refuses_bad_bodies() {
    let (_tmp, app) = copy_app("demo");
    let server = Server::start(&app, &[]);
    let c = client();
    let fetch = || async {
        c.get(server.url("/custom_configs/fetch"))
            .send()
            .await
            .expect("fetch")
            .json::<Value>()
            .await
            .expect("json")
    };
    assert_eq!(
        fetch().await,
        json!({"hasIParam": true, "customIParams": {}})
    );

    let r = c
        .post(server.url("/custom_configs/store"))
        .json(&valid(1))
        .send()
        .await
        .expect("store");
    assert_eq!(r.status(), 200);
    let f = fetch().await;
    assert_eq!(f["customIParams"]["company_name"], "c1");
    assert!(
        !f.to_string().contains("T-SECRET-1"),
        "secure value masked: {f}"
    );

    // Per-field errors.
    let r = c
        .post(server.url("/custom_configs/store"))
        .json(&json!({"company_name": 5, "support_email": "nope", "plan": "gold", "bogus": 1}))
        .send()
        .await
        .expect("store");
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["error"], "validation_failed");
    assert_eq!(
        body["fields"]["support_email"],
        "Enter a valid email address, e.g. name@example.com."
    );
    assert!(
        body["fields"].get("api_token").is_none(),
        "a secure value left out keeps the stored one"
    );
    assert!(
        body["fields"]["company_name"]
            .as_str()
            .expect("msg")
            .contains("Expected text")
    );
    assert!(body["fields"]["plan"].is_string() && body["fields"]["bogus"].is_string());
    assert_eq!(
        fetch().await["customIParams"]["company_name"],
        "c1",
        "a refused body changes nothing"
    );

    // Malformed, wrongly typed, oversized: 4xx with a JSON error, never 500.
    let cases: Vec<(reqwest::RequestBuilder, u16)> = vec![
        (
            c.post(server.url("/custom_configs/store"))
                .header("content-type", "application/json")
                .body("{\"a\": "),
            400,
        ),
        (
            c.post(server.url("/custom_configs/store"))
                .header("content-type", "application/json")
                .body("[1,2]"),
            400,
        ),
        (
            c.post(server.url("/custom_configs/store"))
                .header("content-type", "text/plain")
                .body("hello"),
            400,
        ),
        (
            c.post(server.url("/custom_configs/store"))
                .header("content-type", "application/json")
                .body(format!("{{\"company_name\": \"{}\"}}", "x".repeat(200_000))),
            413,
        ),
    ];
    for (req, status) in cases {
        let r = req.send().await.expect("send");
        assert_eq!(r.status().as_u16(), status);
        let body: Value = r.json().await.expect("a JSON error body");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}"
        );
    }
}

#[tokio::test]
async fn guard_refuses_foreign_hosts_and_cross_site_writes() {
    let (_tmp, app) = copy_app("demo");
    let server = Server::start(&app, &[]);
    let c = client();
    // DNS rebinding: a foreign Host name is refused.
    let r = c
        .get(server.url("/api/status"))
        .header("host", "evil.example:10001")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 421);
    let own = format!("http://localhost:{}", server.port);
    let text = r.text().await.expect("text");
    assert!(
        text.contains(&format!("Open the page as {own}/ instead")),
        "{text}"
    );
    for host in [
        "localhost",
        &format!("localhost:{}", server.port),
        &format!("127.0.0.1:{}", server.port),
    ] {
        let r = c
            .get(server.url("/api/status"))
            .header("host", host)
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), 200, "{host}");
    }
    // A write from another site is refused and changes nothing.
    let r = c
        .post(server.url("/custom_configs/store"))
        .header("origin", "https://evil.example")
        .json(&valid(2))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 403);
    let body: Value = r.json().await.expect("json");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("evil.example") && m.contains(&format!("({own})"))),
        "{body}"
    );
    let r = c
        .post(server.url("/system_settings"))
        .header("origin", "https://acme.freshdesk.com")
        .form(&[
            ("modules", "support_ticket"),
            ("url:support_ticket", "https://a.freshdesk.com"),
        ])
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 403, "product pages may only use /dprouter");
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["error"], "cross_site_request", "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("product pages may only call /dprouter")),
        "{body}"
    );
    let f: Value = c
        .get(server.url("/custom_configs/fetch"))
        .send()
        .await
        .expect("f")
        .json()
        .await
        .expect("j");
    assert_eq!(f["customIParams"], json!({}));
    // Our own origin is fine.
    let r = c
        .post(server.url("/custom_configs/store"))
        .header("origin", format!("http://localhost:{}", server.port))
        .json(&valid(3))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn raw_database_holds_no_secret_and_cli_shows_and_resets() {
    let (_tmp, app) = copy_app("demo");
    let server = Server::start(&app, &[]);
    let c = client();
    let r = c
        .post(server.url("/custom_configs/store"))
        .json(&valid(77))
        .send()
        .await
        .expect("store");
    assert_eq!(r.status(), 200);
    let r = c
        .post(server.url("/oauth_configs?integration=demo"))
        .form(&[
            ("client_id", "my-client"),
            ("client_secret", "CLIENT-SECRET-55"),
        ])
        .send()
        .await
        .expect("creds");
    assert_eq!(r.status(), 303);
    drop(server);

    let mut raw = std::fs::read(db_path(&app)).expect("db");
    raw.extend(std::fs::read(app.join(".fdk/localstore.sqlite-wal")).unwrap_or_default());
    let has = |s: &str| raw.windows(s.len()).any(|w| w == s.as_bytes());
    assert!(
        has("ops@acme.test") && has("my-client"),
        "plain values are there, so the search works"
    );
    assert!(
        !has("T-SECRET-77") && !has("CLIENT-SECRET-55"),
        "no secret in plain text"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(db_path(&app))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_eq!(
        std::fs::read_to_string(app.join(".fdk/.gitignore"))
            .expect("gitignore")
            .lines()
            .last(),
        Some("*")
    );

    let dir = app.to_str().expect("utf-8 path");
    let (code, out, err) = run_cli(&["store", "--app-dir", dir, "show"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("company_name = \"c77\"") && out.contains("my-client"),
        "{out}"
    );
    assert!(
        !out.contains("T-SECRET-77") && !out.contains("CLIENT-SECRET-55"),
        "{out}"
    );
    let (code, out, _) = run_cli(&["store", "--app-dir", dir, "reset", "--iparams"]);
    assert_eq!(code, 0);
    assert!(out.contains("Cleared installation parameters"));
    let (_, out, _) = run_cli(&["store", "--app-dir", dir, "show"]);
    assert!(
        out.contains("(not installed yet)") && out.contains("my-client"),
        "{out}"
    );
    let (code, _, _) = run_cli(&["store", "--app-dir", dir, "reset", "--all"]);
    assert_eq!(code, 0);
    let (_, out, _) = run_cli(&["store", "--app-dir", dir, "show"]);
    assert!(
        !out.contains("my-client") && out.contains("(nothing stored)"),
        "{out}"
    );

    // A damaged store stops `run` with a message naming the file; the file is kept.
    std::fs::write(db_path(&app), b"this is not a database, but it is mine").expect("write");
    let (code, _, err) = run_cli(&[
        "run",
        "--app-dir",
        dir,
        "--port",
        &common::free_port().to_string(),
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("localstore.sqlite") && err.contains("move it aside"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(db_path(&app)).expect("db"),
        b"this is not a database, but it is mine"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_sigkill() {
    let (_tmp, app) = copy_app("demo");
    let mut server = Server::start(&app, &[]);
    let url = server.url("/custom_configs/store");
    let last_acked = Arc::new(AtomicI64::new(-1));
    // One writer sending back to back: each write replaces the whole set, so after the
    // crash the store must hold exactly the last acknowledged write, or the one in flight.
    let writer = {
        let last = last_acked.clone();
        tokio::spawn(async move {
            let c = client();
            for i in 0.. {
                match c.post(&url).json(&valid(i)).send().await {
                    Ok(r) if r.status() == 200 => last.store(i, Ordering::SeqCst),
                    _ => break,
                }
            }
        })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while last_acked.load(Ordering::SeqCst) < 40 {
        assert!(Instant::now() < deadline, "the burst did not get going");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    server.child.kill().expect("SIGKILL");
    let _ = server.child.wait();
    writer.await.expect("writer");
    let acked = last_acked.load(Ordering::SeqCst);

    let conn = rusqlite::Connection::open(db_path(&app)).expect("open");
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("check");
    assert_eq!(check, "ok");
    drop(conn);
    let store = fdk_emu::store::Store::open_with_key(
        &db_path(&app),
        fdk_emu::store::crypto::parse_hex_key(common::TEST_KEY).expect("key"),
    )
    .expect("reopen after the crash");
    let ip = store.iparams().await.expect("read").expect("stored");
    let name = ip["company_name"].as_str().expect("company_name");
    let n: i64 = name[1..].parse().expect("number");
    assert!(
        n == acked || n == acked + 1,
        "write {n} found, but {acked} was acknowledged last"
    );
    assert_eq!(
        ip["api_token"],
        format!("T-SECRET-{n}"),
        "the fields of one write belong together"
    );
}

#[tokio::test]
async fn custom_configs_leads_through_oauth_iparams_to_authorization() {
    let (_tmp, app) = copy_app("oauth-params");
    let server = Server::start(&app, &[]);
    let c = client();
    let location = |r: &reqwest::Response| {
        r.headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    // Literal client values in the file: the client step is done, the parameters are next.
    let r = c
        .get(server.url("/custom_configs"))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 302);
    assert_eq!(location(&r), "/oauth_iparams?integration=default");
    let page = c
        .get(server.url("/oauth_iparams?integration=default"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(page.contains("Tenant") && page.contains("The subdomain of your tracker account."));
    let r = c
        .post(server.url("/oauth_iparams?integration=default"))
        .form(&[("tenant", ""), ("signing_key", "SIGN-SECRET-3")])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 422);
    let html = r.text().await.expect("html");
    assert!(html.contains("This field is required.") && !html.contains("SIGN-SECRET-3"));
    let r = c
        .post(server.url("/oauth_iparams?integration=default"))
        .form(&[("tenant", "acme"), ("signing_key", "SIGN-SECRET-3")])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 303);
    let r = c
        .get(server.url("/custom_configs"))
        .send()
        .await
        .expect("get");
    assert_eq!(
        location(&r),
        "/custom_configs/authorize?integration=default"
    );
    let page = |path: &'static str| {
        let c = c.clone();
        let url = server.url(path);
        async move {
            let r = c.get(url).send().await.expect(path);
            (r.status().as_u16(), r.text().await.expect("text"))
        }
    };
    let (status, html) = page("/custom_configs/authorize?integration=default").await;
    assert_eq!(status, 200);
    assert!(html.contains("Authorization pending"), "{html}");
    let (status, html) = page("/custom_configs/authorize?integration=gitlab").await;
    assert_eq!(status, 404);
    assert!(
        html.contains("no account-level integration named &quot;gitlab&quot; (it has: default)"),
        "{html}"
    );
    // Editing keeps the secure parameter when it is left empty.
    let r = c
        .post(server.url("/oauth_iparams?integration=default"))
        .form(&[("tenant", "acme2"), ("signing_key", "")])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 303);
    drop(server);
    let store = fdk_emu::store::Store::open_with_key(
        &db_path(&app),
        fdk_emu::store::crypto::parse_hex_key(common::TEST_KEY).expect("key"),
    )
    .expect("open");
    let v = store
        .oauth_iparams("default")
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(v["tenant"], "acme2");
    assert_eq!(v["signing_key"], "SIGN-SECRET-3");
}

/// A secure field is secret whether or not it is shown on the form, and whether it was marked
/// secure before or after its value was stored: encrypted at rest, masked in `fetch`, absent
/// from `/iframe/api`.
#[tokio::test]
async fn hidden_and_later_secure_fields_stay_secret() {
    let (_tmp, app) = copy_app("demo");
    let iparams_path = app.join("config/iparams.json");
    let mut fields: Value =
        serde_json::from_str(&std::fs::read_to_string(&iparams_path).expect("read")).expect("json");
    fields["signing_key"] = json!({"display_name": "Signing key", "type": "text",
        "visible": false, "secure": true, "default_value": "HIDDEN-SECRET-1"});
    fields["team_pin"] = json!({"display_name": "Team PIN", "type": "text"});
    std::fs::write(&iparams_path, fields.to_string()).expect("write");
    let mut server = Server::start(&app, &[]);
    let c = client();
    let mut body = valid(5);
    body["team_pin"] = json!("PIN-LATER-SECRET");
    let r = c
        .post(server.url("/custom_configs/store"))
        .json(&body)
        .send()
        .await
        .expect("store");
    assert_eq!(r.status(), 200);

    // team_pin becomes secure after it was stored.
    fields["team_pin"]["secure"] = json!(true);
    std::fs::write(&iparams_path, fields.to_string()).expect("write");
    server
        .wait_for_line(|l| l.contains("reloaded"), Duration::from_secs(10))
        .expect("reload");
    let get = |path: &'static str| {
        let c = c.clone();
        let url = server.url(path);
        async move {
            c.get(url)
                .send()
                .await
                .expect(path)
                .text()
                .await
                .expect("text")
        }
    };
    let fetched: Value = serde_json::from_str(&get("/custom_configs/fetch").await).expect("json");
    assert_eq!(
        fetched["customIParams"]["signing_key"], "••••••••",
        "{fetched}"
    );
    assert_eq!(
        fetched["customIParams"]["team_pin"], "••••••••",
        "{fetched}"
    );
    let api = get("/iframe/api").await;
    assert!(
        !api.contains("HIDDEN-SECRET-1")
            && !api.contains("PIN-LATER-SECRET")
            && api.contains("ops@acme.test"),
        "{api}"
    );
    drop(server);
    let mut raw = std::fs::read(db_path(&app)).expect("db");
    raw.extend(std::fs::read(app.join(".fdk/localstore.sqlite-wal")).unwrap_or_default());
    assert!(
        !raw.windows(15).any(|w| w == b"HIDDEN-SECRET-1"),
        "a hidden secure field is encrypted at rest"
    );
}

/// A refused account URL stays in its box, next to the reason, so the user can correct it.
#[tokio::test]
async fn system_settings_show_a_refused_url_again() {
    let (_tmp, app) = copy_app("demo");
    let server = Server::start(&app, &[]);
    let r = client()
        .post(server.url("/system_settings"))
        .form(&[
            ("modules", "support_ticket"),
            ("url:support_ticket", "acme.freshdesk.com/typo"),
        ])
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 422);
    let html = r.text().await.expect("html");
    assert!(
        html.contains("value=\"acme.freshdesk.com/typo\"")
            && html.contains("Enter a full URL starting with http:// or https://"),
        "{html}"
    );
}

/// `config/assets/` is served for the installation page, and nothing outside it: no parent
/// folders, no hidden files, no symlink that leads out.
#[tokio::test]
async fn config_assets_are_served_and_confined() {
    let (_tmp, app) = copy_app("iparams-html");
    std::fs::write(app.join("config/assets/.env"), "SECRET=1").expect("write");
    std::fs::write(app.join("outside.txt"), "outside").expect("write");
    std::os::unix::fs::symlink(app.join("outside.txt"), app.join("config/assets/link.txt"))
        .expect("symlink");
    let server = Server::start(&app, &[]);
    let c = client();
    let get = |path: &str| {
        let c = c.clone();
        let url = server.url(path);
        async move { c.get(url).send().await.expect("get").status().as_u16() }
    };
    assert_eq!(get("/custom_configs/assets/iparams.js").await, 200);
    for refused in [
        "/custom_configs/assets/.env",
        "/custom_configs/assets/link.txt",
        "/custom_configs/assets/%2e%2e/iparams.html",
        "/custom_configs/assets/..%2f..%2foutside.txt",
        "/custom_configs/assets/",
    ] {
        assert_eq!(get(refused).await, 404, "{refused}");
    }
}

/// `store show` prints token times as dates, not epoch seconds.
#[tokio::test]
async fn store_show_prints_dates() {
    let (_tmp, app) = copy_app("demo");
    std::fs::create_dir_all(app.join(".fdk")).expect(".fdk");
    {
        let store = fdk_emu::store::Store::open_with_key(
            &db_path(&app),
            fdk_emu::store::crypto::parse_hex_key(common::TEST_KEY).expect("key"),
        )
        .expect("open");
        store
            .set_tokens(
                "demo",
                &fdk_emu::store::Tokens {
                    access_token: "AT-SHOW-1".into(),
                    refresh_token: Some("RT-SHOW-1".into()),
                    token_type: Some("Bearer".into()),
                    scope: None,
                    // 2026-01-01 00:00:00 UTC and an hour later.
                    obtained_at: 1_767_225_600,
                    expires_at: Some(1_767_229_200),
                },
            )
            .await
            .expect("tokens");
    }
    let dir = app.to_str().expect("utf-8 path");
    let (code, out, err) = run_cli(&["store", "--app-dir", dir, "show"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("obtained 2026-01-01 00:00:00 UTC")
            && out.contains("expires 2026-01-01 01:00:00 UTC"),
        "{out}"
    );
    assert!(
        !out.contains("1767225600") && !out.contains("AT-SHOW-1"),
        "{out}"
    );
}

/// `/api/status` names the OAuth steps `oauth_config` and `oauth_iparams`, as the pages do.
#[tokio::test]
async fn status_names_the_oauth_steps_as_the_pages_do() {
    let (_tmp, app) = copy_app("oauth-params");
    let server = Server::start(&app, &[]);
    let status: Value = client()
        .get(server.url("/api/status"))
        .send()
        .await
        .expect("status")
        .json()
        .await
        .expect("json");
    let kinds: Vec<&str> = status["setup"]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["kind"].as_str())
        .collect();
    assert_eq!(
        kinds,
        ["oauth_config", "oauth_iparams", "authorize"],
        "{status}"
    );
}
