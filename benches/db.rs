//! The key-value store through `/dprouter` against bare rusqlite, in the same run.
//! `cargo bench --bench db` prints the figures.
//!
//! - fetch: `POST /dprouter` `MKP-ROUTE: db` `{"action":"fetch"}` of one key over a
//!   keep-alive connection to the real binary (release build), answer read in full.
//!   Baseline: the same SELECT of the same row with plain rusqlite on the calling thread.
//! - store: `{"action":"store"}` of the same value (one transaction, WAL, synchronous=FULL,
//!   so one fsync per write). Baseline: the same upsert in an IMMEDIATE transaction with
//!   plain rusqlite, same pragmas, same folder.
//! - floor: a `/dprouter` call the router refuses at once (an unknown route): the HTTP round
//!   trip with no store work, to separate the HTTP cost from the store's.
//!
//! The three kinds run interleaved in rounds, so a busy machine slows them alike.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ROUNDS: usize = 10;
const READS_PER_ROUND: usize = 200;
const WRITES_PER_ROUND: usize = 30;
const VALUE: &str = r#"{"issue":15213,"tags":["jira","linked"],"note":"linked to JIRA-42","agent":{"id":7,"name":"Ann"}}"#;
const KEY_HEX: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read dir") {
        let e = e.expect("entry");
        let t = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &t);
        } else {
            std::fs::copy(e.path(), t).expect("copy");
        }
    }
}

/// A keep-alive HTTP/1.1 connection: one request at a time, `Content-Length` bodies.
struct Conn {
    port: u16,
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Conn {
    fn open(port: u16) -> Conn {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_nodelay(true).expect("nodelay");
        Conn {
            port,
            reader: BufReader::new(s.try_clone().expect("clone")),
            writer: s,
        }
    }

    fn post(&mut self, path: &str, headers: &str, body: &str) -> (u16, String) {
        write!(
            self.writer,
            "POST {path} HTTP/1.1\r\nHost: localhost:{}\r\nContent-Type: application/json\r\n{headers}Content-Length: {}\r\n\r\n{body}",
            self.port,
            body.len()
        )
        .expect("send");
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("status line");
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status");
        let mut len = 0usize;
        loop {
            line.clear();
            self.reader.read_line(&mut line).expect("header");
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                len = v.trim().parse().expect("length");
            }
        }
        let mut body = vec![0; len];
        self.reader.read_exact(&mut body).expect("body");
        (status, String::from_utf8_lossy(&body).into_owned())
    }
}

fn start(app: &Path, port: u16) -> Child {
    let child = Command::new(env!("CARGO_BIN_EXE_fdk-emu"))
        .args([
            "run",
            "--no-rate-limit",
            "--port",
            &port.to_string(),
            "--app-dir",
        ])
        .arg(app)
        .env("FDK_EMU_KEY", KEY_HEX)
        .env("FDK_EMU_LOG", "off")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn fdk-emu");
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "fdk-emu did not listen");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

fn stats(name: &str, mut d: Vec<Duration>) -> Duration {
    d.sort();
    let pct = |p: f64| d[((d.len() as f64 - 1.0) * p) as usize];
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "{name:<46} median {:>8.1} µs   p95 {:>8.1} µs   p99 {:>8.1} µs   (n={})",
        us(pct(0.5)),
        us(pct(0.95)),
        us(pct(0.99)),
        d.len()
    );
    pct(0.5)
}

fn main() {
    let tmp = tempfile::tempdir_in(
        std::env::var_os("FDK_EMU_BENCH_DIR").map_or_else(std::env::temp_dir, PathBuf::from),
    )
    .expect("tempdir");
    let app = tmp.path().join("kv");
    copy_dir(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/apps/kv"),
        &app,
    );
    // No settings to install: the db route is open at once.
    std::fs::remove_file(app.join("config/iparams.json")).expect("remove iparams");
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let mut server = start(&app, port);
    let mut conn = Conn::open(port);
    let route = "MKP-ROUTE: db\r\n";
    let store_body = format!(r#"{{"action":"store","dbKey":"ticket:101","data":{VALUE}}}"#);
    let fetch_body = r#"{"action":"fetch","dbKey":"ticket:101"}"#;
    let (status, _) = conn.post("/dprouter", route, &store_body);
    assert_eq!(status, 201, "store");
    let (status, body) = conn.post("/dprouter", route, fetch_body);
    assert_eq!((status, body.as_str()), (200, VALUE), "fetch");

    // Baseline: the same table, pragmas and row, in the same folder, with plain rusqlite.
    let mut base = rusqlite::Connection::open(tmp.path().join("baseline.sqlite")).expect("open");
    base.pragma_update(None, "journal_mode", "WAL")
        .expect("wal");
    base.pragma_update(None, "synchronous", "FULL")
        .expect("sync");
    base.execute_batch(
        "CREATE TABLE kv (scope TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
             created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, expires_at INTEGER,
             PRIMARY KEY (scope, key)) STRICT, WITHOUT ROWID;",
    )
    .expect("table");
    let upsert = |base: &mut rusqlite::Connection, now: i64| {
        let tx = base
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .expect("tx");
        tx.prepare_cached(
            "INSERT INTO kv (scope, key, value, created_at, updated_at, expires_at)
             VALUES ('freshdesk', 'ticket:101', ?1, ?2, ?2, NULL)
             ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value,
                 updated_at = excluded.updated_at, expires_at = excluded.expires_at",
        )
        .expect("prepare")
        .execute(rusqlite::params![VALUE, now])
        .expect("upsert");
        tx.commit().expect("commit");
    };
    upsert(&mut base, 1);

    let (mut route_fetch, mut base_fetch, mut floor) = (Vec::new(), Vec::new(), Vec::new());
    let (mut route_store, mut base_store) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        for _ in 0..READS_PER_ROUND {
            let t = Instant::now();
            let (status, body) = conn.post("/dprouter", route, fetch_body);
            route_fetch.push(t.elapsed());
            assert_eq!(status, 200);
            std::hint::black_box(body);

            let t = Instant::now();
            let v: String = base
                .prepare_cached(
                    "SELECT value FROM kv WHERE scope = 'freshdesk' AND key = 'ticket:101'
                     AND (expires_at IS NULL OR expires_at > ?1)",
                )
                .expect("prepare")
                .query_row([round as i64], |r| r.get(0))
                .expect("select");
            base_fetch.push(t.elapsed());
            std::hint::black_box(v);

            let t = Instant::now();
            let (status, _) = conn.post("/dprouter", "MKP-ROUTE: nothing\r\n", "{}");
            floor.push(t.elapsed());
            assert_eq!(status, 404);
        }
        for i in 0..WRITES_PER_ROUND {
            let t = Instant::now();
            let (status, _) = conn.post("/dprouter", route, &store_body);
            route_store.push(t.elapsed());
            assert_eq!(status, 201);

            let t = Instant::now();
            upsert(&mut base, (round * WRITES_PER_ROUND + i) as i64);
            base_store.push(t.elapsed());
        }
    }
    let _ = server.kill();
    let _ = server.wait();

    println!(
        "db route vs bare rusqlite ({ROUNDS} interleaved rounds; value of {} bytes)",
        VALUE.len()
    );
    let bf = stats("baseline: rusqlite SELECT of the row", base_fetch);
    let fl = stats("floor: /dprouter refused route (HTTP only)", floor);
    let rf = stats("db fetch through /dprouter", route_fetch);
    let bs = stats("baseline: rusqlite upsert (FULL, fsync)", base_store);
    let rs = stats("db store through /dprouter", route_store);
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "fetch adds {:.1} µs over the HTTP floor ({:.1} µs over bare rusqlite); store adds {:.1} µs over bare rusqlite",
        us(rf.saturating_sub(fl)),
        us(rf.saturating_sub(bf)),
        us(rs.saturating_sub(bs))
    );
}
