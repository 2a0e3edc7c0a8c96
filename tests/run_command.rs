//! `fdk-emu run` as a developer meets it: refuses to start on errors, explains a busy port,
//! serves /api/status, and follows edits to the app's files without a restart.

mod common;

use std::time::{Duration, Instant};

use common::{Server, copy_app, run_cli};
use serde_json::Value;

fn status(server: &Server) -> Value {
    reqwest::blocking::get(server.url("/api/status"))
        .expect("GET /api/status")
        .json()
        .expect("status JSON")
}

/// Polls /api/status until `pred` holds or `within` passes; returns the last status.
fn wait_status(server: &Server, within: Duration, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let s = status(server);
        if pred(&s) || Instant::now() > deadline {
            return s;
        }
        std::thread::yield_now();
    }
}

#[test]
fn status_reports_app_and_validation() {
    let (_tmp, dir) = copy_app("demo");
    let server = Server::start(&dir, &[]);
    let s = status(&server);
    assert_eq!(s["app"], "demo");
    assert_eq!(s["platform_version"], "3.0");
    assert_eq!(s["validation"]["valid"], true);
    assert_eq!(
        s["templates"],
        serde_json::json!(["getProfile", "echoTicket"])
    );
}

#[test]
fn refuses_to_start_with_errors_and_prints_them() {
    let (_tmp, dir) = copy_app("demo");
    std::fs::write(
        dir.join("config/requests.json"),
        "{\n  \"getProfile\": {,\n}",
    )
    .unwrap();
    let (code, stdout, stderr) =
        run_cli(&["run", "--app-dir", dir.to_str().unwrap(), "--port", "0"]);
    assert_eq!(code, 1, "stdout: {stdout}\nstderr: {stderr}");
    assert!(stderr.contains("config/requests.json:2:"), "{stderr}");
    assert!(stderr.contains("could not be started"), "{stderr}");
    assert!(!stdout.contains("fdk-emu serving"), "{stdout}");
}

#[test]
fn busy_port_suggests_another() {
    let (_tmp, dir) = copy_app("demo");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let (code, _out, stderr) =
        run_cli(&["run", "--app-dir", dir.to_str().unwrap(), "--port", &port]);
    assert_eq!(code, 1);
    assert!(stderr.contains(&format!("port {port}")), "{stderr}");
    assert!(stderr.contains("already in use"), "{stderr}");
    assert!(stderr.contains("--port"), "{stderr}");
}

#[test]
fn missing_app_folder_exits_2() {
    let (code, _out, stderr) = run_cli(&["run", "--app-dir", "/nonexistent/app/folder"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("/nonexistent/app/folder"), "{stderr}");
}

#[test]
fn hot_reload_keeps_last_good_snapshot_until_fixed() {
    let (_tmp, dir) = copy_app("demo");
    let mut server = Server::start(&dir, &[]);
    let requests = dir.join("config/requests.json");
    let good = std::fs::read_to_string(&requests).unwrap();

    // A half-saved file: a new template, but the JSON is cut off.
    let broken = good.replacen("{\n", "{\n  \"listTickets\": {\"schema\": {\"method\": \"GET\", \"host\": \"api.demo-provider.test\"\n", 1);
    std::fs::write(&requests, &broken).unwrap();
    let s = wait_status(&server, Duration::from_secs(10), |s| {
        s["validation"]["valid"] == false
    });
    assert_eq!(s["validation"]["valid"], false, "{s}");
    let first = &s["validation"]["diagnostics"][0];
    assert_eq!(first["file"], "config/requests.json", "{s}");
    assert!(first["line"].as_u64().unwrap() >= 2, "{s}");
    // Still serving the previous snapshot: its templates, not the half-written one.
    assert_eq!(
        s["templates"],
        serde_json::json!(["getProfile", "echoTicket"])
    );
    assert!(s["serving"].as_str().unwrap().contains("last good"), "{s}");
    assert!(
        server
            .wait_for_line(
                |l| l.contains("still serving the previous version"),
                Duration::from_secs(5)
            )
            .is_some(),
        "the terminal shows the errors: {:?}",
        server.drain()
    );

    // Fixed: the new template is declared and defined, and the new snapshot is served.
    let fixed = good.replacen(
        "{\n",
        "{\n  \"listTickets\": {\"schema\": {\"method\": \"GET\", \"host\": \"api.demo-provider.test\", \"path\": \"/tickets\"}},\n",
        1,
    );
    let manifest = dir.join("manifest.json");
    let m = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        m.replacen(
            "\"getProfile\": {},",
            "\"getProfile\": {},\n        \"listTickets\": {},",
            1,
        ),
    )
    .unwrap();
    std::fs::write(&requests, fixed).unwrap();
    let s = wait_status(&server, Duration::from_secs(10), |s| {
        s["validation"]["valid"] == true && s["templates"].as_array().is_some_and(|t| t.len() == 3)
    });
    assert_eq!(s["validation"]["valid"], true, "{s}");
    assert_eq!(
        s["templates"],
        serde_json::json!(["listTickets", "getProfile", "echoTicket"])
    );
    assert!(s["serving"].as_str().unwrap().contains("current"), "{s}");
}

/// The iparam_test_data.json warning names the port the server runs on.
#[test]
fn test_data_warning_names_the_real_port() {
    let (_tmp, dir) = copy_app("valid-v3");
    std::fs::write(dir.join("config/iparam_test_data.json"), "{}").expect("write");
    let mut server = Server::start(&dir, &[]);
    let port = server.port;
    let all = server.drain().join("\n");
    assert!(all.contains("iparam_test_data.json is deprecated"), "{all}");
    assert!(
        all.contains(&format!("http://localhost:{port}/custom_configs")) && !all.contains("10001"),
        "{all}"
    );
}
