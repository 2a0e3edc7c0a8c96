//! `fdk-emu trigger EVENT`: fire an event handler from the command line, as a CI job would,
//! and `store reset --iparams`'s `onAppUninstall`.
//!
//! With an fdk-emu serving the same app on `--port`, the event goes to it (`POST
//! /web/events/EVENT`), so it runs in the worker the developer watches and lands in the
//! page's history. Otherwise [`Standalone`] builds the serverless parts without the HTTP
//! server (the store, the cores `$request`/`$db`/`$schedule` use, the Node worker), fires,
//! and drops them, which stops the worker.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::cli::TriggerArgs;
use crate::config::{Config, Flags};
use crate::invoke::Invoker;
use crate::kv::Kv;
use crate::oauth::TokenManager;
use crate::serverless::events::{Events, Fired, Source};
use crate::serverless::schedule::Schedules;
use crate::serverless::{Callbacks, Runtime, terminal};
use crate::snapshot::{self, Snapshot};
use crate::store::Store;

/// The serverless parts of a run, without the HTTP server.
pub struct Standalone {
    pub events: Arc<Events>,
    pub store: Store,
}

impl Standalone {
    /// Loads and validates the app, opens its store and starts its worker. Must run inside
    /// a Tokio runtime.
    pub fn start(
        app_dir: &Path,
        store: Option<PathBuf>,
        node: Option<PathBuf>,
        port: u16,
    ) -> Result<Standalone, String> {
        let opts = crate::validate::Options::default();
        let (loaded, report) =
            snapshot::load_and_validate(app_dir, &opts).map_err(|e| e.to_string())?;
        if report.has_errors() {
            return Err(format!(
                "the app has {} error(s); `fdk-emu validate` lists them",
                report.errors().count()
            ));
        }
        let flags = Flags {
            app_dir: loaded.app.root.clone(),
            host: "127.0.0.1".into(),
            port,
            store,
            node,
            ..Flags::default()
        };
        let config = Config::resolve(&flags)?;
        let store = Store::open(&config.store_path).map_err(|e| e.to_string())?;
        let snapshot = Arc::new(Snapshot::new(loaded.app, report).validated_with(opts));
        let http = crate::net::token_client().map_err(|e| e.to_string())?;
        let tokens = Arc::new(TokenManager::new(store.clone(), config.clone(), http));
        let invoker = Invoker::new(&config);
        let kv = Arc::new(Kv::new(store.clone(), &config));
        let schedules = Arc::new(Schedules::new(store.clone()));
        let runtime = Runtime::start(
            config.node.clone(),
            snapshot.clone(),
            Callbacks::new(
                snapshot.clone(),
                store.clone(),
                tokens,
                invoker.for_worker(),
                kv,
                schedules,
                config.base_url(),
            ),
        );
        Ok(Standalone {
            events: Arc::new(Events::new(runtime, store.clone(), snapshot)),
            store,
        })
    }
}

pub fn trigger_cmd(args: &TriggerArgs) -> ExitCode {
    let payload = match &args.payload {
        Some(file) => match read_payload(file) {
            Ok(v) => Some(v),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
        None => None,
    };
    let rt = match multi_thread_runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let fired = rt.block_on(async {
        if !args.standalone
            && let Some(result) = via_server(args, payload.as_ref()).await
        {
            return result;
        }
        let standalone = Standalone::start(
            &args.app.app_dir,
            args.store.clone(),
            args.node.clone(),
            args.port,
        )?;
        Ok(standalone
            .events
            .fire(&args.event, payload, Source::Cli)
            .await)
    });
    rt.shutdown_timeout(Duration::from_secs(2));
    match fired {
        Ok(f) => {
            print_fired(&f, args.json);
            if f.ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn read_payload(file: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read the payload file {}: {e}", file.display()))?;
    match serde_json::from_str::<Value>(&text) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(format!(
            "{}: the payload must be a JSON object (the event's fields, with its data)",
            file.display()
        )),
        Err(e) => Err(format!("{}: not valid JSON: {e}", file.display())),
    }
}

/// Fires through the fdk-emu serving this app on `--port`; `None` when there is none.
async fn via_server(args: &TriggerArgs, payload: Option<&Value>) -> Option<Result<Fired, String>> {
    let name = crate::app::load(&args.app.app_dir).ok()?.app.name;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .ok()?;
    let base = format!("http://127.0.0.1:{}", args.port);
    let status: Value = client
        .get(format!("{base}/api/status"))
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    if status["app"].as_str() != Some(name.as_str()) {
        return None;
    }
    let mut req = client.post(format!(
        "{base}/web/events/{}?save=false",
        percent_encoding::utf8_percent_encode(&args.event, percent_encoding::NON_ALPHANUMERIC)
    ));
    if let Some(p) = payload {
        req = req.json(p);
    }
    let resp = match req.send().await {
        Ok(r) => r,
        Err(e) => {
            return Some(Err(format!(
                "the running fdk-emu at {base} did not answer: {e}"
            )));
        }
    };
    let ok = resp.status().is_success();
    let body: Value = match resp.json().await {
        Ok(b) => b,
        Err(e) => {
            return Some(Err(format!(
                "the running fdk-emu at {base} answered something else than JSON: {e}"
            )));
        }
    };
    if !ok {
        return Some(Err(body["message"]
            .as_str()
            .unwrap_or("refused")
            .to_string()));
    }
    Some(fired_from_json(body))
}

fn fired_from_json(body: Value) -> Result<Fired, String> {
    // The server's answer is the same struct, serialized; read back what the CLI prints.
    use crate::serverless::LogLine;
    use crate::serverless::events::FiredOutcome;
    let outcome = match body["outcome"]["status"].as_str() {
        Some("ok") => FiredOutcome::Ok {
            data: body["outcome"]
                .get("data")
                .cloned()
                .filter(|d| !d.is_null()),
        },
        _ => FiredOutcome::Failed {
            message: body["outcome"]["message"]
                .as_str()
                .unwrap_or("the handler failed")
                .to_string(),
            error_status: body["outcome"].get("error_status").cloned(),
        },
    };
    let logs = body["logs"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|l| LogLine {
                    level: l["level"].as_str().unwrap_or("log").to_string(),
                    text: l["text"].as_str().unwrap_or("").to_string(),
                    at_ms: l["at_ms"].as_i64().unwrap_or(0),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Fired {
        event: body["event"].as_str().unwrap_or("").to_string(),
        handler: body["handler"].as_str().map(str::to_string),
        kind: match body["kind"].as_str() {
            Some("app_event") => "app_event",
            Some("scheduled_event") => "scheduled_event",
            Some("external_event") => "external_event",
            _ => "product_event",
        },
        source: Source::Cli,
        at_ms: body["at_ms"].as_i64().unwrap_or(0),
        duration_ms: body["duration_ms"].as_u64().unwrap_or(0),
        outcome,
        logs,
    })
}

fn print_fired(f: &Fired, as_json: bool) {
    if as_json {
        println!("{}", serde_json::to_string_pretty(f).unwrap_or_default());
        return;
    }
    let handler = f.handler.as_deref().unwrap_or("(no handler)");
    for l in &f.logs {
        println!("  [{}] {}", l.level, terminal::escape(&l.text));
    }
    match f.error() {
        None => {
            println!(
                "{} → {handler}: ok in {} ms",
                terminal::escape(&f.event),
                f.duration_ms
            );
            if let crate::serverless::events::FiredOutcome::Ok { data: Some(d) } = &f.outcome {
                println!("{}", terminal::escape(&d.to_string()));
            }
        }
        Some(e) => eprintln!(
            "{} → {handler}: failed: {}",
            terminal::escape(&f.event),
            terminal::escape(e)
        ),
    }
}

/// The runtime of the commands that fire events without a server (`store reset --iparams`,
/// `trigger`): two workers, as the server has.
pub(crate) fn multi_thread_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}
