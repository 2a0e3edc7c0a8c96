//! A real httpbin (PyPI `httpbin` under gunicorn from `.test-peers/venv`) on a free port, as
//! the API that templates call. Killed on drop.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::free_port;

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
        let port = free_port();
        let child = Command::new(&gunicorn)
            .args(["-b", &format!("127.0.0.1:{port}")])
            .args(["-k", "gthread", "--threads", "16", "-w", "1"])
            .args(["--log-level", "warning"])
            .args(extra)
            .arg("httpbin:app")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start gunicorn httpbin");
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "httpbin did not listen on 127.0.0.1:{port} within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
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
