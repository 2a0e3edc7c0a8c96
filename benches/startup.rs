//! Start-up and hot-reload latency of the real binary, with a baseline measured in the
//! same run. `cargo bench --bench startup` prints the figures.
//!
//! - start: process spawn → the port accepts a TCP connection (target < 100 ms). Baseline:
//!   spawn → exit of `fdk-emu --version` (what the OS charges for starting the binary at all).
//! - reload: a file change → `/api/status` serves the new snapshot (target < 300 ms).
//!   Baseline: one `/api/status` round trip (the polling resolution).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUNS: usize = 20;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_fdk-emu")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let t = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &t);
        } else {
            std::fs::copy(e.path(), t).unwrap();
        }
    }
}

fn get(port: u16, path: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

fn stats(name: &str, mut v: Vec<Duration>) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name:<44} median {:>8.2} ms   min {:>8.2} ms   max {:>8.2} ms   (n={})",
        ms(v[v.len() / 2]),
        ms(v[0]),
        ms(v[v.len() - 1]),
        v.len()
    );
}

fn main() {
    let tmp = std::env::temp_dir().join(format!("fdk-emu-bench-{}", std::process::id()));
    let app = tmp.join("demo");
    let _ = std::fs::remove_dir_all(&tmp);
    copy_dir(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/apps/demo"),
        &app,
    );

    let mut version = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        let st = Command::new(bin())
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success());
        version.push(t.elapsed());
    }

    let mut start = Vec::new();
    for _ in 0..RUNS {
        let port = free_port();
        let t = Instant::now();
        let mut child = Command::new(bin())
            .args(["run", "--app-dir"])
            .arg(&app)
            .args(["--port", &port.to_string()])
            .env(
                "FDK_EMU_KEY",
                "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = t + Duration::from_secs(10);
        loop {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            assert!(Instant::now() < deadline, "server did not start");
            std::thread::sleep(Duration::from_micros(200));
        }
        start.push(t.elapsed());
        let _ = child.kill();
        let _ = child.wait();
    }

    // Reload: one server, RUNS edits, each adding a template that /api/status then lists.
    let port = free_port();
    let mut child = Command::new(bin())
        .args(["run", "--app-dir"])
        .arg(&app)
        .args(["--port", &port.to_string()])
        .env(
            "FDK_EMU_KEY",
            "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        std::thread::sleep(Duration::from_millis(1));
    }
    // Wait for the banner's promise (watcher up) the robust way: a first edit must land.
    let requests = app.join("config/requests.json");
    let manifest = app.join("manifest.json");
    let base_req = std::fs::read_to_string(&requests).unwrap();
    let base_man = std::fs::read_to_string(&manifest).unwrap();
    let mut round_trip = Vec::new();
    let mut reload = Vec::new();
    for i in 0..=RUNS {
        let name = format!("benchTemplate{i}");
        let man = base_man.replacen(
            "\"getProfile\": {},",
            &format!("\"getProfile\": {{}},\n        \"{name}\": {{}},"),
            1,
        );
        let req = base_req.replacen("{\n", &format!("{{\n  \"{name}\": {{\"schema\": {{\"method\": \"GET\", \"host\": \"api.demo-provider.test\", \"path\": \"/x\"}}}},\n"), 1);
        let t0 = Instant::now();
        let _ = get(port, "/api/status");
        round_trip.push(t0.elapsed());
        // Write the manifest first; the snapshot only becomes valid once both are written.
        std::fs::write(&manifest, man).unwrap();
        let t = Instant::now();
        std::fs::write(&requests, req).unwrap();
        let deadline = t + Duration::from_secs(10);
        loop {
            if get(port, "/api/status").contains(&format!("\"{name}\"")) {
                break;
            }
            assert!(Instant::now() < deadline, "reload {i} not seen");
        }
        if i > 0 {
            reload.push(t.elapsed());
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&tmp);

    println!("fdk-emu start-up and reload ({} runs each)", RUNS);
    stats("baseline: spawn+exit of `fdk-emu --version`", version);
    stats("start: spawn -> port accepts", start);
    stats("baseline: one GET /api/status round trip", round_trip);
    stats("reload: file written -> new snapshot served", reload);
}
