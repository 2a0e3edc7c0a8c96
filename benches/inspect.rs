//! What recording a call for the inspector adds to `invokeTemplate`, measured in one run
//! against the same calls with recording off. `cargo bench --bench inspect` prints the
//! figures.
//!
//! In process, so that the difference is not lost in the noise of a browser or wrk: the
//! invoker renders the bench template of `scripts/bench-proxy` (a header and a query from the
//! context) and sends it over loopback to a small keep-alive HTTP server on its own thread,
//! as the server's `/dprouter` does, and for "on" hands the record to an [`Inspector`]. The
//! three kinds of call alternate one by one (off, on, on with `--log-file`), so that a burst of
//! other work on the machine lands on all of them alike. Target: under 5 µs added at p50.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fdk_emu::app::App;
use fdk_emu::config::Config;
use fdk_emu::inspect::{Call, Inspector, Kind, Limits, LogFile, Masker, Started};
use fdk_emu::invoke::{InvokeRequest, Invoker, Iparams, Sources, TokenProblem, Upstreams};
use serde_json::{Map, Value, json};

/// The same allocator as the binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const WARM_UP: usize = 2_000;
const CALLS: usize = 20_000;

/// What the server's store would give: nothing but what the template needs.
struct Fake;

impl Sources for Fake {
    async fn iparams(&self) -> Result<Iparams, String> {
        Ok(Iparams::default())
    }
    async fn current_host(&self) -> Option<Value> {
        None
    }
    async fn oauth_iparams(&self, _: &str) -> Option<Map<String, Value>> {
        None
    }
    async fn access_token(&self, _: &Arc<App>, _: &str) -> Result<String, TokenProblem> {
        Err(TokenProblem::Unknown("no OAuth here".into()))
    }
    async fn refresh_after_unauthorized(
        &self,
        _: &Arc<App>,
        _: &str,
        _: &str,
    ) -> Result<String, TokenProblem> {
        Err(TokenProblem::Unknown("no OAuth here".into()))
    }
}

/// A keep-alive HTTP/1.1 server that answers every request with a small JSON body.
fn upstream() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let _ = stream.set_nodelay(true);
                let mut out = match stream.try_clone() {
                    Ok(s) => s,
                    Err(_) => return,
                };
                let mut reader = BufReader::new(stream);
                let mut line = String::new();
                loop {
                    // The request line and headers; the bench sends GETs without a body.
                    loop {
                        line.clear();
                        match reader.read_line(&mut line) {
                            Ok(0) | Err(_) => return,
                            Ok(_) if line == "\r\n" => break,
                            Ok(_) => {}
                        }
                    }
                    let body = r#"{"hello":"world"}"#;
                    let resp = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if out.write_all(resp.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

/// The app of `scripts/bench-proxy`.
fn bench_app(dir: &std::path::Path) -> Arc<App> {
    std::fs::create_dir_all(dir.join("config")).expect("dir");
    std::fs::create_dir_all(dir.join("app")).expect("dir");
    std::fs::write(
        dir.join("manifest.json"),
        json!({"platform-version": "3.0",
               "modules": {"common": {"requests": {"hello": {}},
                                      "location": {"full_page_app": {"url": "index.html", "icon": "icon.svg"}}},
                           "support_ticket": {}},
               "engines": {"node": "18.20.8", "fdk": "9.8.1"}})
        .to_string(),
    )
    .expect("manifest");
    std::fs::write(
        dir.join("config/requests.json"),
        json!({"hello": {"schema": {"method": "GET", "host": "api.bench.test", "path": "/hello",
               "headers": {"Accept": "application/json", "X-Trace": "<%= context.trace %>"},
               "query": {"from": "<%= context.from || 'bench' %>"}}}})
        .to_string(),
    )
    .expect("requests");
    std::fs::write(
        dir.join("app/index.html"),
        "<!DOCTYPE html><html><body>bench</body></html>",
    )
    .expect("index");
    std::fs::write(
        dir.join("app/icon.svg"),
        "<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
    )
    .expect("icon");
    Arc::new(fdk_emu::app::load(dir).expect("the bench app loads").app)
}

fn call() -> InvokeRequest {
    InvokeRequest {
        template: "hello".into(),
        context: Some(json!({"trace": "t-1"})),
        ..Default::default()
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e6
}

fn main() {
    let tmp = tempfile::tempdir().expect("tmp");
    let app = bench_app(&tmp.path().join("bench"));
    let port = upstream();
    let config = Config {
        rate_limit: false,
        ..Config::for_tests(0)
    };
    let upstreams = || {
        Upstreams::new([(
            "api.bench.test".to_string(),
            url::Url::parse(&format!("http://127.0.0.1:{port}")).expect("url"),
        )])
    };
    // One client (one pooled connection) for all three, so they differ by the recording only.
    let off = Invoker::with_upstreams(&config, upstreams());
    let on = off.clone().recording(true);
    let kept = Inspector::new(Limits::default(), None);
    let log = LogFile::open(&tmp.path().join("calls.jsonl")).expect("log file");
    let logged = Inspector::new(Limits::default(), Some(log));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");

    let mut times: [Vec<Duration>; 3] = Default::default();
    let mut record_only = Vec::with_capacity(CALLS);
    let kinds = [(&off, None), (&on, Some(&kept)), (&on, Some(&logged))];
    rt.block_on(async {
        for i in 0..WARM_UP + CALLS {
            // Each kind takes each place in the order in turn.
            for k in 0..3 {
                let kind = (i + k) % 3;
                let (invoker, inspector) = kinds[kind];
                let t = Instant::now();
                let mut out = invoker.invoke(&app, call(), &Fake).await;
                let recorded = Instant::now();
                if let (Some(ins), Some(r)) = (inspector, out.record.take()) {
                    ins.record(*r);
                }
                let record_time = recorded.elapsed();
                let done = t.elapsed();
                assert_eq!(out.envelope.status, 200, "{:?}", out.envelope);
                if i >= WARM_UP {
                    times[kind].push(done);
                    if kind == 1 {
                        record_only.push(record_time);
                    }
                }
            }
        }
    });
    logged.flush();
    let names = ["recording off", "recording on", "recording on + --log-file"];
    println!("invokeTemplate in process over loopback, {CALLS} calls each, interleaved");
    println!("{:<28}{:>10}{:>10}{:>10}", "", "p50", "p90", "p99");
    let mut p50 = [0.0; 3];
    for (k, v) in times.iter_mut().enumerate() {
        v.sort();
        p50[k] = percentile(v, 0.5);
        println!(
            "{:<28}{:>8.1}us{:>8.1}us{:>8.1}us",
            names[k],
            p50[k],
            percentile(v, 0.9),
            percentile(v, 0.99)
        );
    }
    record_only.sort();
    let ok = |d: f64| if d < 5.0 { "ok" } else { "MISSED" };
    println!(
        "recording adds p50 {:.2} us [{} < 5 us]; with --log-file {:.2} us [{}]",
        p50[1] - p50[0],
        ok(p50[1] - p50[0]),
        p50[2] - p50[0],
        ok(p50[2] - p50[0]),
    );
    println!(
        "of which Inspector::record (ring, stream, file hand-over): p50 {:.2} us, p99 {:.2} us",
        percentile(&record_only, 0.5),
        percentile(&record_only, 0.99)
    );
    let (count, bytes) = kept.usage();
    println!("kept {count} records in {:.1} KB", bytes as f64 / 1024.0);

    // What an SMI call or a db operation adds on its way out: the record of a small call
    // (the db route's wire call and answer), masked with one secure iparam, kept.
    let calls = Inspector::new(Limits::default(), None);
    let mut masker = Masker::default();
    masker.add("sk-bench-secret");
    let asked = br#"{"action":"store","dbKey":"ticket:1","data":{"seen":true,"by":"bench"}}"#;
    let answered = br#"{"Created":true}"#;
    let mut call_times = Vec::with_capacity(CALLS);
    for i in 0..WARM_UP + CALLS {
        let started = Started::now();
        let t = Instant::now();
        calls.call(
            Call {
                caller: Some("front end"),
                request: Some(asked),
                url: Some("http://localhost:10001/dprouter"),
                headers: &[("MKP-ROUTE", "db"), ("Content-Type", "application/json")],
                status: 201,
                ok: true,
                result: Some(answered),
                ..Call::new(Kind::Db, "store ticket:1")
            }
            .started(started),
            &masker,
        );
        if i >= WARM_UP {
            call_times.push(t.elapsed());
        }
    }
    call_times.sort();
    println!(
        "Inspector::call of a db operation (build, mask, keep): p50 {:.2} us, p99 {:.2} us",
        percentile(&call_times, 0.5),
        percentile(&call_times, 0.99)
    );
}
