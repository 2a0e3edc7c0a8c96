//! A real httpbin (PyPI `httpbin` under gunicorn from `.test-peers/venv`) on a free port, as
//! the API that templates call. Killed on drop.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// `.test-peers` as installed by ./scripts/test.
pub fn peers_dir() -> PathBuf {
    let dir = std::env::var("FDK_EMU_TEST_PEERS").unwrap_or_else(|_| {
        panic!("FDK_EMU_TEST_PEERS is not set: run the tests with ./scripts/test, which installs httpbin into .test-peers and sets it")
    });
    PathBuf::from(dir)
}

pub struct Httpbin {
    child: Child,
    pub port: u16,
    pub base: String,
}

impl Httpbin {
    /// Plain HTTP.
    pub fn start() -> Httpbin {
        Self::start_with(&[])
    }

    /// HTTPS with the given certificate and key (PEM files).
    pub fn start_tls(cert: &std::path::Path, key: &std::path::Path) -> Httpbin {
        Self::start_with(&[
            "--certfile".as_ref(),
            cert.as_os_str(),
            "--keyfile".as_ref(),
            key.as_os_str(),
        ])
    }

    fn start_with(extra: &[&std::ffi::OsStr]) -> Httpbin {
        let gunicorn = peers_dir().join("venv/bin/gunicorn");
        assert!(
            gunicorn.exists(),
            "{} is missing: run ./scripts/test to install the test peers",
            gunicorn.display()
        );
        // Port 0, and the port read from gunicorn's "Listening at:" line: a port chosen here
        // and bound later could be taken in between by a peer of another test.
        let mut child = Command::new(&gunicorn)
            .args(["-b", "127.0.0.1:0"])
            .args(["-k", "gthread", "--threads", "16", "-w", "1"])
            .args(["--log-level", "info"])
            .args(extra)
            .arg("httpbin:app")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start gunicorn httpbin");
        let stderr = child.stderr.take().expect("gunicorn's stderr");
        let (tx, rx) = mpsc::channel();
        // Reads gunicorn's log to its end, so that it never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(at) = line.split("Listening at: ").nth(1) {
                    let _ = tx.send(at.to_string());
                }
            }
        });
        let listening = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| {
                let _ = child.kill();
                panic!("httpbin did not say where it listens within 30 s")
            });
        // "http://127.0.0.1:36253 (17627)"
        let port: u16 = listening
            .split_whitespace()
            .next()
            .and_then(|url| url.rsplit(':').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in gunicorn's line: {listening}"));
        let scheme = if extra.is_empty() { "http" } else { "https" };
        Httpbin {
            child,
            port,
            base: format!("{scheme}://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Httpbin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
