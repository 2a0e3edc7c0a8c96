//! A real nginx (Debian `nginx-light`, installed by ./scripts/test) on a free port, as a fast
//! API for load tests: every request is answered with `{"hello":"world"}`. Stopped on drop.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::free_port;

pub struct Nginx {
    child: Child,
    pub port: u16,
    pub base: String,
    _dir: tempfile::TempDir,
}

/// Where Debian puts the binary (`/usr/sbin`, not on every user's PATH).
fn binary() -> PathBuf {
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/sbin"] {
        let p = PathBuf::from(dir).join("nginx");
        if p.exists() {
            return p;
        }
    }
    panic!("nginx is missing: run ./scripts/test, which installs nginx-light");
}

impl Nginx {
    pub fn start() -> Nginx {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("logs")).expect("logs dir");
        let port = free_port();
        let conf = format!(
            "worker_processes 1;\n\
             error_log {root}/logs/error.log warn;\n\
             pid {root}/nginx.pid;\n\
             events {{ worker_connections 1024; }}\n\
             http {{\n\
               access_log off;\n\
               client_body_temp_path {root}/body;\n\
               proxy_temp_path {root}/proxy;\n\
               fastcgi_temp_path {root}/fastcgi;\n\
               uwsgi_temp_path {root}/uwsgi;\n\
               scgi_temp_path {root}/scgi;\n\
               keepalive_requests 1000000;\n\
               server {{\n\
                 listen 127.0.0.1:{port};\n\
                 location / {{ default_type application/json; return 200 '{{\"hello\":\"world\"}}'; }}\n\
               }}\n\
             }}\n",
            root = root.display()
        );
        let conf_path = root.join("nginx.conf");
        std::fs::write(&conf_path, conf).expect("nginx.conf");
        let child = Command::new(binary())
            .arg("-p")
            .arg(root)
            .arg("-c")
            .arg(&conf_path)
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nginx");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nginx did not listen on 127.0.0.1:{port} within 10 s: {}",
                std::fs::read_to_string(root.join("logs/error.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Nginx {
            child,
            port,
            base: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM to the master, which stops its worker; a SIGKILL would leave the worker
        // running, still listening.
        let stopped = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        if !stopped {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}
