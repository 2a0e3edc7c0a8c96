//! CI mode: `fdk-emu exec -- COMMAND` starts the server, runs the command with
//! `FDK_EMU_URL` once the server answers, stops the server and exits with the command's
//! status; `store export` writes the installation and `--state FILE` brings it back into a
//! fresh store (secure iparams from the environment, never from the file).

mod common;
#[path = "support/console.rs"]
mod console;

use std::path::Path;
use std::process::Command;

use common::httpbin::Httpbin;
use common::{Server, TEST_KEY, bin, copy_app};
use serde_json::{Value, json};

/// `fdk-emu ARGS` with `env`: (status, stdout, stderr).
fn run(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .env("NO_COLOR", "1")
        .env("FDK_EMU_KEY", TEST_KEY)
        .env_remove("FDK_EMU_URL");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run fdk-emu");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn exec(app: &Path, extra: &[&str], script: &str, env: &[(&str, &str)]) -> (i32, String, String) {
    let app = app.display().to_string();
    let mut args = vec!["exec", "--app-dir", app.as_str(), "--port", "0"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--", "sh", "-c", script]);
    run(&args, env)
}

#[test]
fn exec_runs_the_command_against_the_server_and_passes_its_status_through() {
    let (tmp, app) = copy_app("invoke");
    let out = tmp.path().join("status.json");
    let url_file = tmp.path().join("url.txt");
    let script = format!(
        "echo \"$FDK_EMU_URL\" > '{}' && curl -fsS \"$FDK_EMU_URL/api/status\" > '{}'",
        url_file.display(),
        out.display()
    );
    let (code, stdout, stderr) = exec(&app, &[], &script, &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let status: Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("the command wrote"))
            .expect("JSON");
    assert_eq!(status["app"], "invoke");
    // --port 0 chose a free port, and FDK_EMU_URL named it; the server is gone afterwards.
    let url = std::fs::read_to_string(&url_file)
        .expect("url")
        .trim()
        .to_string();
    let port: u16 = url
        .strip_prefix("http://localhost:")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("FDK_EMU_URL={url}"));
    assert_ne!(port, 0);
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the server still listens on {port}"
    );
    assert!(
        stderr.contains(&format!("fdk-emu serving invoke (platform 3.0) at {url}")),
        "{stderr}"
    );
    assert!(stdout.is_empty(), "stdout belongs to the command: {stdout}");

    // The command's status is passed through.
    let (code, _, _) = exec(&app, &[], "exit 7", &[]);
    assert_eq!(code, 7);
    let (code, _, _) = exec(&app, &[], "kill -TERM $$", &[]);
    assert_eq!(code, 128 + 15, "a signal is reported as shells do");
    let app_s = app.display().to_string();
    let (code, _, err) = run(
        &[
            "exec",
            "--app-dir",
            &app_s,
            "--port",
            "0",
            "--",
            "no-such-command-4711",
        ],
        &[],
    );
    assert_eq!(code, 127, "{err}");
    assert!(err.contains("cannot run `no-such-command-4711`"), "{err}");
    let (code, _, err) = run(&["exec", "--app-dir", &app_s, "--port", "0"], &[]);
    assert_eq!(code, 2, "a command is required: {err}");
}

#[test]
fn export_then_state_reproduces_the_installation() {
    const SECRET: &str = "ci-secret-31337";
    let httpbin = Httpbin::start();
    let (_tmp, first) = copy_app("invoke");
    let server = Server::start(&first, &[]);
    let base = server.url("");
    console::store_iparams(
        &base,
        json!({"user": "ann", "api_key": SECRET, "plan": "free"}),
    );
    let r = console::client()
        .post(server.url("/system_settings"))
        .header("Origin", &base)
        .form(&[
            ("modules", "support_ticket"),
            ("url:support_ticket", "https://acme.freshdesk.com"),
        ])
        .send()
        .expect("system settings");
    assert!(
        r.status().is_success() || r.status() == 303,
        "{}",
        r.status()
    );
    // A key of the key-value store, as client.db.set writes it.
    let r = console::client()
        .post(server.url("/dprouter"))
        .header("MKP-ROUTE", "db")
        .json(&json!({"action": "store", "dbKey": "ticket:1", "data": {"seen": true}}))
        .send()
        .expect("db store");
    assert_eq!(r.status(), 201);
    drop(server);

    let dir = tempfile::tempdir().expect("tmp");
    let state = dir.path().join("state.json");
    let first_s = first.display().to_string();
    let state_s = state.display().to_string();
    let (code, _, err) = run(
        &["store", "export", "--app-dir", &first_s, "-o", &state_s],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("'api_key' is not written; --state reads it from $FDK_EMU_IPARAM_API_KEY"),
        "{err}"
    );
    let text = std::fs::read_to_string(&state).expect("state file");
    assert!(
        !text.contains(SECRET),
        "a secret in the state file:\n{text}"
    );
    let file: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(file["fdk-emu-state"], 1);
    assert_eq!(file["iparams"], json!({"user": "ann", "plan": "free"}));
    assert_eq!(
        file["secure_iparams_from_env"],
        json!({"api_key": "FDK_EMU_IPARAM_API_KEY"})
    );
    assert_eq!(
        file["system_settings"]["endpoint_urls"]["support_ticket"],
        "https://acme.freshdesk.com"
    );
    let keys = file["db"].as_array().cloned().unwrap_or_default();
    assert_eq!(keys.len(), 1, "{text}");
    assert_eq!(
        (&keys[0]["key"], &keys[0]["value"]),
        (&json!("ticket:1"), &json!({"seen": true}))
    );

    // A fresh copy of the app, as on a CI machine: the state file and the secret from the
    // environment reproduce the installation, and a template call sees both.
    let (ci_tmp, second) = copy_app("invoke");
    let echoed = ci_tmp.path().join("echo.json");
    let call = r#"{"action":"invokeTemplate","templateName":"echo","data":{"context":{"id":1,"note":"ci"}}}"#;
    let fetched = ci_tmp.path().join("fetched.json");
    let fetch = r#"{"action":"fetch","dbKey":"ticket:1"}"#;
    let script = format!(
        "curl -fsS -X POST \"$FDK_EMU_URL/dprouter\" -H 'MKP-ROUTE: proxy' -H 'Content-Type: application/json' -d '{call}' > '{}' && curl -fsS -X POST \"$FDK_EMU_URL/dprouter\" -H 'MKP-ROUTE: db' -H 'Content-Type: application/json' -d '{fetch}' > '{}'",
        echoed.display(),
        fetched.display()
    );
    let up = format!("api.httpbin.test={}", httpbin.base);
    let (code, out, err) = exec(
        &second,
        &["--state", &state_s, "--upstream", &up],
        &script,
        &[("FDK_EMU_IPARAM_API_KEY", SECRET)],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        err.contains(&format!(
            "Loaded {state_s}: 3 iparams (api_key from $FDK_EMU_IPARAM_API_KEY), system settings, 1 db key"
        )),
        "{err}"
    );
    let value: Value =
        serde_json::from_str(&std::fs::read_to_string(&fetched).expect("fetched")).expect("JSON");
    assert_eq!(value, json!({"seen": true}), "the db key is back");
    let envelope: Value =
        serde_json::from_str(&std::fs::read_to_string(&echoed).expect("echo")).expect("JSON");
    assert_eq!(envelope["status"], 200, "{envelope}");
    let sent: Value =
        serde_json::from_str(envelope["response"].as_str().unwrap_or("")).expect("httpbin");
    assert_eq!(sent["headers"]["X-Api-Key"], SECRET);
    assert_eq!(sent["headers"]["X-Plan"], "free");
    // The store of the new copy holds the same installation, the secret sealed.
    let second_s = second.display().to_string();
    let (code, shown, _) = run(&["store", "show", "--app-dir", &second_s], &[]);
    assert_eq!(code, 0);
    assert!(
        shown.contains("user = \"ann\"") && shown.contains("plan = \"free\""),
        "{shown}"
    );
    assert!(
        shown.contains("api_key = ") && shown.contains("(secure, encrypted)"),
        "{shown}"
    );
    assert!(shown.contains("https://acme.freshdesk.com"), "{shown}");
    // Exporting the copy gives the same file back.
    let again = dir.path().join("again.json");
    let again_s = again.display().to_string();
    let (code, _, _) = run(
        &["store", "export", "--app-dir", &second_s, "-o", &again_s],
        &[],
    );
    assert_eq!(code, 0);
    assert_eq!(std::fs::read_to_string(&again).ok(), Some(text));

    // Without the secret in the environment nothing starts and nothing is written.
    let (third_tmp, third) = copy_app("invoke");
    let marker = third_tmp.path().join("ran");
    let (code, _, err) = exec(
        &third,
        &["--state", &state_s],
        &format!("touch '{}'", marker.display()),
        &[],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("the secure iparam 'api_key' comes from the environment variable FDK_EMU_IPARAM_API_KEY, which is not set"),
        "{err}"
    );
    assert!(!marker.exists(), "the command ran");
    let third_s = third.display().to_string();
    let (_, shown, _) = run(&["store", "show", "--app-dir", &third_s], &[]);
    assert!(shown.contains("(not installed yet)"), "{shown}");

    // A broken state file is named with what is wrong.
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, "{\"fdk-emu-state\": 1, \"iparam\": {}}").expect("write");
    let broken_s = broken.display().to_string();
    let (code, _, err) = exec(&third, &["--state", &broken_s], "true", &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("not a state file: unknown field `iparam`"),
        "{err}"
    );
    // A db value that client.db could not have stored is refused before anything is written.
    let bad_db = dir.path().join("bad-db.json");
    std::fs::write(
        &bad_db,
        r#"{"fdk-emu-state": 1, "iparams": {"user": "x"}, "db": [{"scope": "s", "key": "k", "value": 3}]}"#,
    )
    .expect("write");
    let bad_db_s = bad_db.display().to_string();
    let (code, _, err) = exec(&third, &["--state", &bad_db_s], "true", &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("db key 'k' (scope 's'): the value must be a JSON object"),
        "{err}"
    );
    let (_, shown, _) = run(&["store", "show", "--app-dir", &third_s], &[]);
    assert!(shown.contains("(not installed yet)"), "{shown}");
}

/// An app with `server/server.js`: its SMI functions answer the command, and the Node worker
/// does not outlive `exec`.
#[test]
fn exec_serves_server_js_and_leaves_no_node_behind() {
    let (tmp, app) = copy_app("serverless");
    let answer = tmp.path().join("answer.json");
    let children = tmp.path().join("children.txt");
    let call = r#"{"action":"invoke","methodName":"greet","methodParams":{"name":"ci"}}"#;
    // $PPID is fdk-emu: its children are the Node worker and this shell.
    let script = format!(
        "curl -fsS -X POST \"$FDK_EMU_URL/dprouter\" -H 'MKP-ROUTE: smi' -H 'Content-Type: application/json' -d '{call}' > '{}' && ps --ppid $PPID -o pid=,comm= > '{}'",
        answer.display(),
        children.display()
    );
    let (code, out, err) = exec(&app, &[], &script, &[]);
    assert_eq!(code, 0, "{out}\n{err}");
    let answer: Value =
        serde_json::from_str(&std::fs::read_to_string(&answer).expect("answer")).expect("JSON");
    assert_eq!(answer["response"]["message"], "Hello, ci!", "{answer}");
    let listed = std::fs::read_to_string(&children).expect("children");
    let node: Vec<u32> = listed
        .lines()
        .filter(|l| l.contains("node"))
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    assert!(!node.is_empty(), "no Node worker among {listed}");
    // Killed when exec ends: gone, or a zombie waiting for init to reap it (a SIGKILL takes
    // effect when the kernel next schedules the process, hence the short deadline).
    let gone = |pid: u32| {
        !Path::new(&format!("/proc/{pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| s.contains(") Z "))
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    for pid in node {
        while !gone(pid) {
            assert!(
                std::time::Instant::now() < deadline,
                "the Node worker {pid} outlived exec"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}
