//! The manifest's npm `dependencies`, installed by fdk-emu with the machine's npm from the
//! real npm registry (registry.npmjs.org) into the app's `server/node_modules`: once, with
//! progress; not again while the list stays the same; a version that does not exist and an
//! unreachable registry are errors that name the package, and the app keeps running.

mod common;

use std::time::Duration;

use common::{Server, copy_app, free_port};
use serde_json::{Value, json};

/// npm may take a while on a slow network; fdk-emu shows its progress meanwhile.
const NPM: Duration = Duration::from_secs(180);

fn smi(server: &Server, name: &str, params: Value) -> (u16, Value) {
    server.dprouter(
        "smi",
        "",
        &json!({"action": "invoke", "methodName": name, "methodParams": params}),
    )
}

fn wait_after(server: &mut Server, seen: usize, needle: &str, within: Duration) -> String {
    server
        .wait_for_line_after(seen, |l| l.contains(needle), within)
        .unwrap_or_else(|| {
            panic!(
                "no line with {needle:?}; output:\n{}",
                server.output.join("\n")
            )
        })
}

#[test]
fn dependencies_are_installed_when_they_change_and_failures_name_the_package() {
    let (_tmp, dir) = copy_app("serverless-deps");
    let mut server = Server::start(&dir, &[]);
    wait_after(
        &mut server,
        0,
        "installing the dependencies of manifest.json into server/node_modules with npm: is-number@7.0.0",
        Duration::from_secs(30),
    );
    // npm's fetch lines are the progress.
    wait_after(&mut server, 0, "  npm |", NPM);
    wait_after(
        &mut server,
        0,
        "installed 1 dependency of manifest.json",
        NPM,
    );
    wait_after(
        &mut server,
        0,
        "server/server.js loaded by Node",
        Duration::from_secs(30),
    );
    let (code, body) = smi(&server, "check", json!({"value": "42"}));
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["response"], json!({"value": "42", "isNumber": true}));
    let (_, body) = smi(&server, "check", json!({"value": "forty-two"}));
    assert_eq!(body["response"]["isNumber"], false);
    assert!(
        dir.join("server/node_modules/is-number/package.json")
            .is_file()
    );
    // npm wrote nothing into the app's own files.
    assert!(!dir.join("server/package.json").exists());
    assert!(!dir.join("server/package-lock.json").exists());
    drop(server);

    // The same list at the next start: no npm.
    let mut server = Server::start(&dir, &[]);
    wait_after(
        &mut server,
        0,
        "server/server.js loaded by Node",
        Duration::from_secs(30),
    );
    assert!(
        !server
            .drain()
            .iter()
            .any(|l| l.contains("installing the dependencies")),
        "{:#?}",
        server.output
    );

    // A version that does not exist: the error names the package, the app goes on.
    let seen = server.drain().len();
    let manifest = dir.join("manifest.json");
    let text = std::fs::read_to_string(&manifest).expect("read");
    std::fs::write(&manifest, text.replace("\"7.0.0\"", "\"999.0.0\"")).expect("write");
    let line = wait_after(&mut server, seen, "could not install the dependencies", NPM);
    assert!(
        line.contains("is-number@999.0.0: no published version matches the version asked for")
            && line.contains("fix \"dependencies\" in manifest.json"),
        "{line}"
    );
    wait_after(
        &mut server,
        seen,
        "server/server.js loaded by Node",
        Duration::from_secs(30),
    );
    let status = reqwest::blocking::get(server.url("/api/status")).expect("status");
    assert_eq!(status.status(), 200);
    let home = reqwest::blocking::get(server.url("/")).expect("home");
    assert_eq!(home.status(), 200);
    drop(server);

    // No registry: the message says so and names the packages (none can be installed).
    std::fs::write(
        &manifest,
        text.replace(
            "\"is-number\": \"7.0.0\"",
            "\"is-number\": \"7.0.0\",\n    \"is-odd\": \"3.0.1\"",
        ),
    )
    .expect("write");
    let registry = format!("http://127.0.0.1:{}/", free_port());
    let mut server = Server::start_with_env(
        &dir,
        &[],
        &[
            ("npm_config_registry", registry.as_str()),
            ("npm_config_fetch_retries", "0"),
        ],
    );
    let line = wait_after(&mut server, 0, "could not install the dependencies", NPM);
    assert!(
        line.contains("is-number@7.0.0, is-odd@3.0.1: the npm registry could not be reached"),
        "{line}"
    );
    let home = reqwest::blocking::get(server.url("/")).expect("home");
    assert_eq!(home.status(), 200);
}
