//! Shared helpers of the integration tests: copy a fixture app to a temporary folder, start
//! the real `fdk-emu` binary on a free port, and stop it when the test ends.
#![allow(dead_code)]

pub mod browser;
pub mod calls;
pub mod httpbin;
pub mod nginx;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The binary under test: this build's, or `FDK_EMU_TEST_BIN` (an older build, to check that
/// a test fails on the code before a fix).
pub fn bin() -> &'static str {
    static BIN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        std::env::var("FDK_EMU_TEST_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_fdk-emu").into())
    })
}

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

pub fn fixture_app(name: &str) -> PathBuf {
    fixtures().join("apps").join(name)
}

/// Copies a fixture app into a fresh temporary folder, so tests can edit it and its
/// `.fdk/` store never lands in the source tree.
pub fn copy_app(name: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dest = tmp.path().join(name);
    copy_dir(&fixture_app(name), &dest);
    (tmp, dest)
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read fixture dir") {
        let entry = entry.expect("dir entry");
        let path = entry.path();
        if path.file_name().is_some_and(|n| n == ".fdk") {
            continue;
        }
        let target = to.join(entry.file_name());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy file");
        }
    }
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A running `fdk-emu run`, killed on drop. Its output is collected for assertions.
pub struct Server {
    pub child: Child,
    pub port: u16,
    pub base: String,
    pub app_dir: PathBuf,
    lines: mpsc::Receiver<String>,
    pub output: Vec<String>,
}

impl Server {
    /// Starts `fdk-emu run` on a free port and returns once it printed its banner, which it
    /// does after the port is bound (the listener is bound before the banner).
    pub fn start(app_dir: &Path, extra: &[&str]) -> Server {
        Self::start_with_env(app_dir, extra, &[])
    }

    pub fn start_with_env(app_dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
        // Port 0: the server binds a free port itself and names it in its banner. A port
        // chosen here and bound later by the child could be taken in between by a peer of a
        // test running at the same time.
        let mut cmd = Command::new(bin());
        cmd.arg("run")
            .arg("--app-dir")
            .arg(app_dir)
            .arg("--port")
            .arg("0")
            .args(extra)
            .env("NO_COLOR", "1")
            .env("FDK_EMU_KEY", TEST_KEY)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn fdk-emu");
        let (tx, rx) = mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        let mut server = Server {
            child,
            port: 0,
            base: String::new(),
            app_dir: app_dir.to_path_buf(),
            lines: rx,
            output: Vec::new(),
        };
        let banner = server
            .wait_for_line(
                |l| l.starts_with("fdk-emu serving"),
                Duration::from_secs(30),
            )
            .unwrap_or_else(|| {
                panic!(
                    "fdk-emu did not start; output:\n{}",
                    server.output.join("\n")
                )
            });
        // "fdk-emu serving demo (platform 3.0) at http://localhost:PORT"
        server.port = banner
            .rsplit(':')
            .next()
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("no port in the banner: {banner}"));
        server.base = format!("http://127.0.0.1:{}", server.port);
        server
    }

    /// Waits until a line of output satisfies `pred` (or the deadline passes).
    pub fn wait_for_line(
        &mut self,
        pred: impl Fn(&str) -> bool,
        within: Duration,
    ) -> Option<String> {
        let deadline = std::time::Instant::now() + within;
        if let Some(l) = self.output.iter().find(|l| pred(l)) {
            return Some(l.clone());
        }
        loop {
            let left = deadline.checked_duration_since(std::time::Instant::now())?;
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.output.push(line.clone());
                    if pred(&line) {
                        return Some(line);
                    }
                }
                Err(_) => return None,
            }
        }
    }

    /// Waits for a line that satisfies `pred` among the lines after the first `seen` ones
    /// (for "the next time this happens": `seen` is `drain().len()` before the action).
    pub fn wait_for_line_after(
        &mut self,
        seen: usize,
        pred: impl Fn(&str) -> bool,
        within: Duration,
    ) -> Option<String> {
        let deadline = std::time::Instant::now() + within;
        if let Some(l) = self.output.iter().skip(seen).find(|l| pred(l)) {
            return Some(l.clone());
        }
        loop {
            let left = deadline.checked_duration_since(std::time::Instant::now())?;
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.output.push(line.clone());
                    if pred(&line) {
                        return Some(line);
                    }
                }
                Err(_) => return None,
            }
        }
    }

    /// Output seen so far (drains what is pending without waiting).
    pub fn drain(&mut self) -> &[String] {
        while let Ok(l) = self.lines.try_recv() {
            self.output.push(l);
        }
        &self.output
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fixed 32-byte key (hex) so tests never create a key file in the user's config folder.
pub const TEST_KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/// Runs `fdk-emu` with `args` and returns (exit code, stdout, stderr).
pub fn run_cli(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin())
        .args(args)
        .env("NO_COLOR", "1")
        .env("FDK_EMU_KEY", TEST_KEY)
        .output()
        .expect("run fdk-emu");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
