//! Store latency, in process, with a baseline measured in the same run.
//! `cargo bench --bench store` prints the figures.
//!
//! - write: `set_iparams` of 8 values, 2 of them sealed (one transaction, WAL,
//!   synchronous=FULL, through the store thread). Baseline: the same transaction written with
//!   plain rusqlite on the calling thread, no encryption (what SQLite and the disk cost).
//! - read: `iparams()` (decrypting the sealed values) and `tokens()`. Baseline: a plain
//!   rusqlite SELECT of the same rows.

use std::time::{Duration, Instant};

use fdk_emu::store::{Store, Tokens};
use serde_json::{Map, Value, json};

const RUNS: usize = 300;

fn stats(name: &str, mut d: Vec<Duration>) {
    d.sort();
    let pct = |p: f64| d[((d.len() as f64 - 1.0) * p) as usize];
    println!(
        "{name:<34} median {:>8.1} µs   p95 {:>8.1} µs",
        pct(0.5).as_secs_f64() * 1e6,
        pct(0.95).as_secs_f64() * 1e6
    );
}

fn values() -> Map<String, Value> {
    match json!({"company_name": "Acme", "support_email": "ops@acme.test", "api_token": "tok-123456",
                 "plan": "pro", "region": "eu", "channels": ["email", "chat"], "notify": true, "max": 10,
                 "secret2": "another-secret"})
    {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let store = Store::open_with_key(&dir.path().join("bench.sqlite"), [7; 32]).expect("open");
    let secure = vec!["api_token".to_string(), "secret2".to_string()];

    // Baseline: plain rusqlite, same pragmas, same rows, no crypto, no thread hop.
    let base = rusqlite::Connection::open(dir.path().join("baseline.sqlite")).expect("open");
    base.pragma_update(None, "journal_mode", "WAL")
        .expect("wal");
    base.pragma_update(None, "synchronous", "FULL")
        .expect("sync");
    base.execute_batch("CREATE TABLE t (name TEXT PRIMARY KEY, position INTEGER, value TEXT)")
        .expect("table");
    let mut base = base;
    let mut bw = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        let tx = base.transaction().expect("tx");
        tx.execute("DELETE FROM t", []).expect("delete");
        for (i, (k, v)) in values().iter().enumerate() {
            tx.execute(
                "INSERT INTO t VALUES (?1, ?2, ?3)",
                rusqlite::params![k, i as i64, v.to_string()],
            )
            .expect("insert");
        }
        tx.commit().expect("commit");
        bw.push(t.elapsed());
    }
    let mut br = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        let mut st = base
            .prepare_cached("SELECT name, value FROM t ORDER BY position")
            .expect("prep");
        let rows: Vec<(String, String)> = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        std::hint::black_box(rows);
        br.push(t.elapsed());
    }

    let (w, r, tr) = rt.block_on(async {
        let tokens = Tokens {
            access_token: "a".repeat(40),
            refresh_token: Some("r".repeat(40)),
            token_type: Some("Bearer".into()),
            scope: None,
            expires_at: Some(2_000_000_000),
            obtained_at: 1_900_000_000,
        };
        store.set_tokens("demo", &tokens).await.expect("tokens");
        let mut w = Vec::new();
        for _ in 0..RUNS {
            let t = Instant::now();
            store.set_iparams(values(), &secure).await.expect("write");
            w.push(t.elapsed());
        }
        let mut r = Vec::new();
        for _ in 0..RUNS {
            let t = Instant::now();
            std::hint::black_box(store.iparams().await.expect("read"));
            r.push(t.elapsed());
        }
        let mut tr = Vec::new();
        for _ in 0..RUNS {
            let t = Instant::now();
            std::hint::black_box(store.tokens("demo").await.expect("read"));
            tr.push(t.elapsed());
        }
        (w, r, tr)
    });
    println!("store ({RUNS} runs each)");
    stats("baseline: rusqlite write (FULL)", bw);
    stats("Store::set_iparams", w);
    stats("baseline: rusqlite read", br);
    stats("Store::iparams (2 decrypted)", r);
    stats("Store::tokens (decrypted)", tr);
}
