//! The app's serverless code, `server/server.js`, run by real Node.js.
//!
//! One long-lived Node process per app (the *worker*, [`worker`]) runs an embedded script
//! (`assets/serverless/worker.js`) that loads `server.js` once and then serves calls
//! concurrently, over a channel of JSON lines ([`protocol`]). The [`supervisor`] starts it
//! when the app has a `server.js`, installs the manifest's npm dependencies first ([`deps`]),
//! starts it again when anything under `server/` changes, and replaces a worker that
//! crashed or got stuck in a loop. What `server.js` asks of fdk-emu while it runs
//! (`$request.invokeTemplate`, later `$db` and `$schedule`) is served by the same cores as
//! the HTTP edge ([`callbacks`]).
//!
//! Why a process and not an embedded engine: apps `require` npm packages that need Node's
//! `http`, `crypto` and `stream`, the platform runs Node, and a process can be killed when
//! a handler loops, which no in-process timeout can do (`shared/spec/fdk-features.md` §4).
//! Why one long-lived process and not FDK 6.9's fresh `vm` context per call: loading
//! `server.js` and its packages once takes the cost off every call (the benchmark in
//! `scripts/bench-smi` measures both), and `AsyncLocalStorage` keeps each call's
//! `renderData`, `console` and `$request` apart inside the one context.
//!
//! Node is looked for only when `server/server.js` exists; other apps run without it.

pub mod callbacks;
pub mod deps;
pub mod events;
pub mod limits;
pub mod node;
pub mod payloads;
pub mod protocol;
pub mod schedule;
mod supervisor;
pub mod terminal;
pub mod worker;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};

pub use callbacks::Callbacks;
pub use limits::CallKind;
pub use protocol::{CallResult, ScriptError};

use crate::snapshot::Snapshot;
use crate::validate::serverless::{ScriptFailure, ServerFacts, ServerLoad};
use worker::Worker;

/// A line the app's code wrote with `console.*` during a call.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LogLine {
    /// `log`, `info`, `warn`, `error` or `debug`.
    pub level: String,
    pub text: String,
    /// Unix milliseconds.
    pub at_ms: i64,
}

/// How one call ended, and what it logged on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub outcome: Outcome,
    pub logs: Vec<LogLine>,
}

impl From<Outcome> for Answer {
    fn from(outcome: Outcome) -> Answer {
        Answer {
            outcome,
            logs: Vec::new(),
        }
    }
}

/// How one call ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The handler answered (or threw).
    Finished(CallResult),
    /// No answer within the limit.
    TimedOut { limit: Duration },
    /// `server.js` cannot run now; the message says why and what to do.
    Unavailable(String),
}

/// Where the worker is.
#[derive(Clone)]
enum State {
    /// The app has no `server/server.js`.
    NoServer,
    /// Installing dependencies or loading `server.js`; calls wait.
    Starting(&'static str),
    Ready(Arc<Worker>),
    /// `server.js` cannot run (no Node, a syntax error, …); calls answer with this.
    Down(Arc<str>),
}

/// The handle the server keeps: runs calls on the current worker.
#[derive(Clone)]
pub struct Runtime {
    state: watch::Receiver<State>,
}

impl Runtime {
    /// Starts the supervisor on the current Tokio runtime. It looks for Node (`node_flag`,
    /// else `PATH`) only once the app has a `server/server.js`.
    pub fn start(
        node_flag: Option<PathBuf>,
        snapshot: Arc<Snapshot>,
        callbacks: Callbacks,
    ) -> Runtime {
        let (state_tx, state) = watch::channel(State::Starting("starting"));
        let (events_tx, events) = mpsc::unbounded_channel();
        let supervisor = supervisor::Supervisor::new(
            node_flag,
            snapshot,
            Arc::new(callbacks),
            state_tx,
            events_tx,
            events,
        );
        tokio::spawn(supervisor.run());
        Runtime { state }
    }

    /// Runs `handler(payload)` in the worker, answered within `limit` (time spent waiting
    /// for the worker to start counts).
    pub async fn call(
        &self,
        kind: CallKind,
        handler: &str,
        payload: &Value,
        limit: Duration,
    ) -> Outcome {
        self.call_logged(kind, handler, payload, limit)
            .await
            .outcome
    }

    /// [`Runtime::call`], with the lines the handler logged (for the event simulator).
    pub async fn call_logged(
        &self,
        kind: CallKind,
        handler: &str,
        payload: &Value,
        limit: Duration,
    ) -> Answer {
        self.run(kind, handler, payload, limit).await
    }

    /// The worker once it has settled (started, or failed to): `None` while it starts for
    /// longer than `within`.
    async fn settled(&self, within: Duration) -> Option<State> {
        let mut state = self.state.clone();
        match tokio::time::timeout(within, state.wait_for(|s| !matches!(s, State::Starting(_))))
            .await
        {
            Ok(Ok(s)) => Some(s.clone()),
            Ok(Err(_)) => Some(State::Down("fdk-emu's Node worker has stopped".into())),
            Err(_) => None,
        }
    }

    /// `exports.events` of the running `server.js` (1.x/2.0 subscriptions), waiting up to
    /// `within` for the worker to load it.
    pub async fn legacy_events(&self, within: Duration) -> Vec<protocol::LegacyEvent> {
        match self.settled(within).await {
            Some(State::Ready(w)) => w.legacy_events().to_vec(),
            _ => Vec::new(),
        }
    }

    async fn run(&self, kind: CallKind, handler: &str, payload: &Value, limit: Duration) -> Answer {
        let deadline = Instant::now() + limit;
        let mut state = self.state.clone();
        // The watch guard is dropped before the call is awaited (the future stays Send, so
        // the schedule timer can spawn it).
        let current = {
            let settled = tokio::time::timeout_at(
                deadline.into(),
                state.wait_for(|s| !matches!(s, State::Starting(_))),
            )
            .await;
            match settled {
                Ok(Ok(s)) => s.clone(),
                Ok(Err(_)) => {
                    return Outcome::Unavailable("fdk-emu's Node worker has stopped".into()).into();
                }
                Err(_) => return Outcome::TimedOut { limit }.into(),
            }
        };
        match current {
            State::NoServer => Outcome::Unavailable(
                "this app has no server/server.js: create it and export the function".into(),
            )
            .into(),
            State::Starting(_) => Outcome::TimedOut { limit }.into(),
            State::Down(why) => Outcome::Unavailable(why.to_string()).into(),
            State::Ready(worker) => {
                if !worker.exports().iter().any(|e| e == handler) {
                    return Outcome::Unavailable(format!(
                        "server/server.js exports no function `{handler}` (it exports: {})",
                        list(worker.exports())
                    ))
                    .into();
                }
                worker.call(kind, handler, payload, deadline, limit).await
            }
        }
    }

    /// What `/api/status` shows about the worker.
    pub fn status(&self) -> Value {
        match &*self.state.borrow() {
            State::NoServer => json!({"state": "no server/server.js"}),
            State::Starting(what) => json!({"state": "starting", "step": what}),
            State::Ready(w) => json!({
                "state": "running",
                "exports": w.exports(),
                // How many workers this run has started (restarts after edits included).
                "starts": w.generation,
            }),
            State::Down(why) => json!({"state": "down", "reason": why.as_ref()}),
        }
    }
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "no functions".to_string()
    } else {
        names.join(", ")
    }
}

/// What `fdk-emu validate` learns from Node about `server.js`: whether Node is there (and
/// its version fits `engines.node`), and whether `server.js` loads and what it exports.
pub async fn facts(app: &crate::app::App, node_flag: Option<&std::path::Path>) -> ServerFacts {
    let flag = node_flag.map(std::path::Path::to_path_buf);
    let found = tokio::task::spawn_blocking(move || node::locate(flag.as_deref())).await;
    let node = match found {
        Ok(Ok(n)) => n,
        Ok(Err(e)) => return ServerFacts::NoNode(e.to_string()),
        Err(e) => return ServerFacts::NoNode(format!("looking for Node failed: {e}")),
    };
    let version_warning = node.version_warning(app.manifest.engines_node.as_deref());
    let load = match worker::describe(&node, &app.root, Duration::from_secs(10)).await {
        Ok(loaded) => ServerLoad::Exports(loaded.exports),
        Err(worker::StartError::Load(e)) => ServerLoad::Failed(ScriptFailure {
            name: e.name,
            message: e.message,
            file: e.file,
            line: e.line,
            column: e.column,
        }),
        Err(worker::StartError::Spawn(why)) => ServerLoad::Unknown(why),
    };
    ServerFacts::Ran {
        version_warning,
        load,
    }
}
