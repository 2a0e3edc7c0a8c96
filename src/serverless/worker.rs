//! One Node process running `server.js`: spawning it with the embedded script, the channel
//! (see [`super::protocol`]), the calls in flight and their deadlines.
//!
//! Three tasks serve a worker: the *writer* sends queued lines, the *reader* dispatches what
//! Node sends (answers, console lines, requests for `$request`) and, when the channel ends,
//! reaps the process and fails what is still in flight; one more task per output stream
//! shows stdout and stderr on the terminal. Calls hold an `Arc<Worker>`, so a worker being
//! replaced after an edit keeps answering the calls it has until it exits.

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, oneshot, watch};

use super::callbacks::Callbacks;
use super::limits::CallKind;
use super::node::Node;
use super::protocol::{CallResult, FromNode, LegacyEvent, ScriptError, ToNode};
use super::{Answer, LogLine, Outcome, terminal};
use crate::snapshot::Snapshot;

/// The worker script, embedded in the binary.
pub const WORKER_JS: &str = include_str!("../../assets/serverless/worker.js");

/// The longest line accepted from the worker. A `renderData` answer is a line; the
/// platform's own limit on a response is 6 MB.
const MAX_LINE: u64 = 64 * 1024 * 1024;

/// What the worker does once `server.js` is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Serve calls until told to stop.
    Run,
    /// Report the exports and exit; packages that are not installed are stood in for.
    Describe,
}

impl Mode {
    fn as_str(self) -> &'static str {
        match self {
            Mode::Run => "run",
            Mode::Describe => "describe",
        }
    }
}

/// What a worker tells its supervisor.
#[derive(Debug)]
pub enum Event {
    /// The process is gone (`status` says how).
    Exited { generation: u64, status: String },
    /// A call ran past its limit: the worker may be stuck in a loop.
    Overdue {
        generation: u64,
        kind: CallKind,
        handler: String,
        limit: Duration,
    },
    /// After an overdue call, the worker answered a ping: it is not stuck, the handler
    /// just never answered.
    Responsive { generation: u64 },
    /// After an overdue call, the worker did not answer a ping: it is stuck.
    Unresponsive {
        generation: u64,
        kind: CallKind,
        handler: String,
        limit: Duration,
    },
}

/// `server.js` loaded: what the worker said in its first message.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub exports: Vec<String>,
    /// `exports.events` (the 1.x/2.0 subscriptions), empty when there is none.
    pub events: Vec<LegacyEvent>,
    pub node_version: String,
    pub load_ms: f64,
}

/// Why a worker did not become ready.
#[derive(Debug)]
pub enum StartError {
    /// `server.js` does not load.
    Load(ScriptError),
    /// Node could not be started, or went away before saying anything.
    Spawn(String),
}

/// The most console lines kept for one call (the terminal shows them all).
const MAX_CALL_LOGS: usize = 500;

/// A call in flight: which handler, what it logged so far, and where its answer goes.
struct Pending {
    handler: String,
    logs: Vec<LogLine>,
    tx: oneshot::Sender<Answer>,
}

/// A running Node process.
pub struct Worker {
    pub generation: u64,
    outbox: mpsc::UnboundedSender<String>,
    /// The calls in flight.
    pending: Mutex<HashMap<u64, Pending>>,
    next_id: AtomicU64,
    pongs: watch::Sender<u64>,
    kill: Mutex<Option<oneshot::Sender<()>>>,
    /// Why the calls still in flight fail when the process goes; set before fdk-emu ends
    /// it on purpose.
    farewell: Mutex<Option<String>>,
    exports: OnceLock<Vec<String>>,
    legacy_events: OnceLock<Vec<LegacyEvent>>,
    events: mpsc::UnboundedSender<Event>,
}

impl Worker {
    /// Starts Node on the app in `root` and waits (up to `load_limit`) for `server.js` to
    /// load.
    pub async fn spawn(
        node: &Node,
        root: &Path,
        generation: u64,
        snapshot: Arc<Snapshot>,
        callbacks: Arc<Callbacks>,
        events: mpsc::UnboundedSender<Event>,
        load_limit: Duration,
    ) -> Result<(Arc<Worker>, Loaded), StartError> {
        let (ours, theirs) = channel().map_err(StartError::Spawn)?;
        let mut cmd = command(node, root, Mode::Run);
        cmd.stdin(Stdio::from(OwnedFd::from(theirs)))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let spawned = cmd.spawn();
        // The command holds our copy of the worker's end: close it, or we would never read
        // end-of-file when the worker exits.
        drop(cmd);
        let mut child = spawned
            .map_err(|e| StartError::Spawn(format!("cannot start {}: {e}", node.path.display())))?;
        if let Some(out) = child.stdout.take() {
            tokio::spawn(show_stream(out, "[server.js]"));
        }
        if let Some(err) = child.stderr.take() {
            tokio::spawn(show_stream(err, "[server.js stderr]"));
        }
        let (reader, writer) = ours.into_split();
        let (outbox, outbox_rx) = mpsc::unbounded_channel();
        let (kill_tx, kill_rx) = oneshot::channel();
        let worker = Arc::new(Worker {
            generation,
            outbox,
            pending: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            pongs: watch::Sender::new(0),
            kill: Mutex::new(Some(kill_tx)),
            farewell: Mutex::new(None),
            exports: OnceLock::new(),
            legacy_events: OnceLock::new(),
            events,
        });
        tokio::spawn(write_lines(writer, outbox_rx));
        let (first_tx, first_rx) = oneshot::channel();
        tokio::spawn(read_lines(
            worker.clone(),
            reader,
            child,
            kill_rx,
            first_tx,
            snapshot,
            callbacks,
        ));
        match tokio::time::timeout(load_limit, first_rx).await {
            Ok(Ok(Ok(loaded))) => {
                let _ = worker.exports.set(loaded.exports.clone());
                let _ = worker.legacy_events.set(loaded.events.clone());
                Ok((worker, loaded))
            }
            Ok(Ok(Err(e))) => {
                worker.stop("server/server.js did not load");
                Err(StartError::Load(e))
            }
            Ok(Err(_)) => Err(StartError::Spawn(
                "Node exited before loading server/server.js (its output above says why)".into(),
            )),
            Err(_) => {
                worker.stop("server/server.js did not load in time");
                Err(StartError::Spawn(format!(
                    "server/server.js did not finish loading within {} s (an endless loop at the top level of a module?); Node was stopped",
                    load_limit.as_secs()
                )))
            }
        }
    }

    /// The functions `server.js` exports.
    pub fn exports(&self) -> &[String] {
        self.exports.get().map_or(&[], Vec::as_slice)
    }

    /// `exports.events` of `server.js` (1.x/2.0 subscriptions).
    pub fn legacy_events(&self) -> &[LegacyEvent] {
        self.legacy_events.get().map_or(&[], Vec::as_slice)
    }

    /// Runs `handler(payload)`, answered by `deadline`, with what it logged meanwhile.
    pub async fn call(
        &self,
        kind: CallKind,
        handler: &str,
        payload: &Value,
        deadline: Instant,
        limit: Duration,
    ) -> Answer {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        if let Ok(mut p) = self.pending.lock() {
            p.insert(
                id,
                Pending {
                    handler: handler.to_string(),
                    logs: Vec::new(),
                    tx,
                },
            );
        }
        let line = serde_json::to_string(&ToNode::Call {
            id,
            kind: kind.as_str(),
            handler,
            payload,
        });
        let sent = match line {
            Ok(line) => self.outbox.send(line).is_ok(),
            Err(_) => false,
        };
        if !sent {
            self.forget(id);
            return Answer::from(Outcome::Unavailable(
                "fdk-emu's Node worker has stopped".into(),
            ));
        }
        match tokio::time::timeout_at(deadline.into(), rx).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => Answer::from(Outcome::Unavailable(
                "fdk-emu's Node worker went away".into(),
            )),
            Err(_) => {
                let logs = self.forget(id).map(|p| p.logs).unwrap_or_default();
                self.send(&ToNode::Cancel { id });
                let _ = self.events.send(Event::Overdue {
                    generation: self.generation,
                    kind,
                    handler: handler.to_string(),
                    limit,
                });
                Answer {
                    outcome: Outcome::TimedOut { limit },
                    logs,
                }
            }
        }
    }

    /// Whether the worker answers a ping within `within` (it does not while a handler
    /// loops without end: Node runs one piece of JavaScript at a time).
    pub async fn responds(&self, within: Duration) -> bool {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut pongs = self.pongs.subscribe();
        self.send(&ToNode::Ping { id });
        tokio::time::timeout(within, pongs.wait_for(|seen| *seen >= id))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Asks the worker to exit once the calls in flight are answered.
    pub fn drain(&self) {
        self.send(&ToNode::Drain);
    }

    /// Ends the process now; the calls still in flight fail with `why`.
    pub fn stop(&self, why: &str) {
        if let Ok(mut f) = self.farewell.lock()
            && f.is_none()
        {
            *f = Some(why.to_string());
        }
        if let Some(kill) = self.kill.lock().ok().and_then(|mut k| k.take()) {
            let _ = kill.send(());
        }
    }

    fn send(&self, msg: &ToNode<'_>) {
        if let Ok(line) = serde_json::to_string(msg) {
            let _ = self.outbox.send(line);
        }
    }

    fn forget(&self, id: u64) -> Option<Pending> {
        self.pending.lock().ok().and_then(|mut p| p.remove(&id))
    }

    /// The handler of a call in flight.
    fn handler_of(&self, id: u64) -> Option<String> {
        self.pending
            .lock()
            .ok()
            .and_then(|p| p.get(&id).map(|c| c.handler.clone()))
    }

    /// Keeps a console line of a call in flight with the call (the terminal shows it too).
    fn keep_log(&self, id: u64, level: &str, text: &str) {
        if let Ok(mut p) = self.pending.lock()
            && let Some(call) = p.get_mut(&id)
            && call.logs.len() < MAX_CALL_LOGS
        {
            call.logs.push(LogLine {
                level: level.to_string(),
                text: text.to_string(),
                at_ms: crate::store::now_ms(),
            });
        }
    }

    fn answer(&self, id: u64, result: CallResult) {
        if let Some(call) = self.forget(id) {
            let _ = call.tx.send(Answer {
                outcome: Outcome::Finished(result),
                logs: call.logs,
            });
        }
    }

    /// Fails every call in flight: the process is gone.
    fn fail_all(&self, why: &str) {
        let pending: Vec<_> = match self.pending.lock() {
            Ok(mut p) => p.drain().collect(),
            Err(_) => Vec::new(),
        };
        for (_, call) in pending {
            let _ = call.tx.send(Answer {
                outcome: Outcome::Unavailable(why.to_string()),
                logs: call.logs,
            });
        }
    }
}

/// `node -e <worker.js>` in the app's `server/` folder (what `process.cwd()` is on the
/// platform), without fdk-emu's own environment variables: the store's key must not reach
/// the app's code.
pub fn command(node: &Node, root: &Path, mode: Mode) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(&node.path);
    cmd.arg("-e")
        .arg(WORKER_JS)
        .current_dir(root.join("server"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("FDK_EMU_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("FDK_EMU_APP_ROOT", root)
        .env("FDK_EMU_MODE", mode.as_str());
    cmd
}

async fn write_lines(
    mut writer: tokio::net::unix::OwnedWriteHalf,
    mut outbox: mpsc::UnboundedReceiver<String>,
) {
    let mut buf = Vec::with_capacity(4096);
    while let Some(line) = outbox.recv().await {
        buf.clear();
        buf.extend_from_slice(line.as_bytes());
        buf.push(b'\n');
        // Whatever else is queued goes out in the same write.
        while let Ok(more) = outbox.try_recv() {
            buf.extend_from_slice(more.as_bytes());
            buf.push(b'\n');
        }
        if writer.write_all(&buf).await.is_err() {
            break;
        }
    }
}

async fn show_stream(stream: impl tokio::io::AsyncRead + Unpin, prefix: &'static str) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        terminal::lines(prefix, &line);
    }
}

#[allow(clippy::too_many_arguments)]
async fn read_lines(
    worker: Arc<Worker>,
    reader: tokio::net::unix::OwnedReadHalf,
    mut child: tokio::process::Child,
    mut kill: oneshot::Receiver<()>,
    first: oneshot::Sender<Result<Loaded, ScriptError>>,
    snapshot: Arc<Snapshot>,
    callbacks: Arc<Callbacks>,
) {
    let mut first = Some(first);
    let mut reader = BufReader::new(reader);
    let mut line = Vec::with_capacity(1024);
    let mut killed = false;
    loop {
        line.clear();
        let mut limited = (&mut reader).take(MAX_LINE);
        let read = tokio::select! {
            r = limited.read_until(b'\n', &mut line) => r,
            _ = &mut kill => { killed = true; break; }
        };
        match read {
            Ok(0) | Err(_) => break,
            Ok(_) if !line.ends_with(b"\n") => {
                terminal::note(&format!(
                    "the Node worker sent a line longer than {} MB; it was stopped",
                    MAX_LINE / (1024 * 1024)
                ));
                worker.stop("the Node worker sent more than fdk-emu accepts in one answer");
                killed = true;
                break;
            }
            Ok(_) => {}
        }
        let msg = match serde_json::from_slice::<FromNode>(&line) {
            Ok(m) => m,
            Err(e) => {
                terminal::note(&format!(
                    "the Node worker sent a message fdk-emu does not understand ({e}); ignored"
                ));
                continue;
            }
        };
        match msg {
            FromNode::Ready {
                exports,
                events,
                node,
                load_ms,
            } => {
                if let Some(tx) = first.take() {
                    let _ = tx.send(Ok(Loaded {
                        exports,
                        events,
                        node_version: node,
                        load_ms,
                    }));
                }
            }
            FromNode::LoadError { error } => {
                if let Some(tx) = first.take() {
                    let _ = tx.send(Err(error));
                }
            }
            FromNode::Done { id, result } => {
                if let CallResult::Exception { error } = &result
                    && let Some(handler) = worker.handler_of(id)
                {
                    let app = snapshot.app();
                    terminal::script_error(
                        &app,
                        &format!("{handler} threw; its caller gets status 500"),
                        error,
                        "server-exception",
                    );
                }
                worker.answer(id, result);
            }
            FromNode::Log {
                id,
                handler,
                level,
                text,
            } => {
                if let Some(id) = id {
                    worker.keep_log(id, &level, &text);
                }
                let name = terminal::escape(handler.as_deref().unwrap_or("server.js"));
                let prefix = match level.as_str() {
                    "warn" => format!("[{name}] warning:"),
                    "error" => format!("[{name}] error:"),
                    _ => format!("[{name}]"),
                };
                terminal::lines(&prefix, &text);
            }
            FromNode::Callback {
                id,
                handler,
                kind,
                op,
                args,
                ..
            } => {
                let worker = worker.clone();
                let callbacks = callbacks.clone();
                tokio::spawn(async move {
                    let asker = super::callbacks::Asker {
                        handler: handler.as_deref(),
                        kind: kind.as_deref(),
                    };
                    let reply = callbacks.handle(asker, &op, args).await;
                    worker.send(&ToNode::Reply {
                        id,
                        ok: reply.ok,
                        value: reply.value,
                    });
                });
            }
            FromNode::Pong { id } => {
                worker.pongs.send_if_modified(|seen| {
                    let newer = id > *seen;
                    if newer {
                        *seen = id;
                    }
                    newer
                });
            }
            FromNode::Uncaught { handler, error, .. } => {
                let app = snapshot.app();
                let during = handler
                    .map(|h| format!(" in code started by {h} (after it had answered)"))
                    .unwrap_or_default();
                terminal::script_error(
                    &app,
                    &format!("an uncaught exception{during}; the worker goes on"),
                    &error,
                    "server-exception",
                );
            }
        }
    }
    // The channel ended or we stop the worker: make sure the process is gone.
    if killed {
        let _ = child.start_kill();
    }
    let status = match tokio::time::timeout(Duration::from_secs(2), child.wait()).await {
        Ok(Ok(s)) => s.to_string(),
        _ => {
            let _ = child.start_kill();
            let _ = child.wait().await;
            "stopped by fdk-emu".to_string()
        }
    };
    let why = worker
        .farewell
        .lock()
        .ok()
        .and_then(|f| f.clone())
        .unwrap_or_else(|| format!("fdk-emu's Node worker exited ({status})"));
    worker.fail_all(&why);
    let _ = worker.events.send(Event::Exited {
        generation: worker.generation,
        status,
    });
}

/// The worker's channel: our end for tokio, and the end Node gets as its fd 0.
fn channel() -> Result<(tokio::net::UnixStream, std::os::unix::net::UnixStream), String> {
    let (ours, theirs) = std::os::unix::net::UnixStream::pair()
        .map_err(|e| format!("cannot create the worker's channel: {e}"))?;
    ours.set_nonblocking(true)
        .map_err(|e| format!("cannot set up the worker's channel: {e}"))?;
    let ours = tokio::net::UnixStream::from_std(ours)
        .map_err(|e| format!("cannot set up the worker's channel: {e}"))?;
    Ok((ours, theirs))
}

/// Loads `server.js` in a worker of its own in [`Mode::Describe`] and returns what it
/// exports (or why it does not load), for `fdk-emu validate`. What the app prints while
/// loading is dropped; nothing it asks of fdk-emu is served.
pub async fn describe(node: &Node, root: &Path, limit: Duration) -> Result<Loaded, StartError> {
    let (ours, theirs) = channel().map_err(StartError::Spawn)?;
    let mut cmd = command(node, root, Mode::Describe);
    cmd.stdin(Stdio::from(OwnedFd::from(theirs)))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    let spawned = cmd.spawn();
    drop(cmd);
    let mut child = spawned
        .map_err(|e| StartError::Spawn(format!("cannot start {}: {e}", node.path.display())))?;
    let mut lines = BufReader::new(ours).lines();
    let first = async {
        while let Ok(Some(line)) = lines.next_line().await {
            match serde_json::from_str::<FromNode>(&line) {
                Ok(FromNode::Ready {
                    exports,
                    events,
                    node,
                    load_ms,
                }) => {
                    return Ok(Loaded {
                        exports,
                        events,
                        node_version: node,
                        load_ms,
                    });
                }
                Ok(FromNode::LoadError { error }) => return Err(StartError::Load(error)),
                _ => {}
            }
        }
        Err(StartError::Spawn(
            "Node exited before it loaded server/server.js".into(),
        ))
    };
    let result = match tokio::time::timeout(limit, first).await {
        Ok(r) => r,
        Err(_) => Err(StartError::Spawn(format!(
            "server/server.js did not finish loading within {} s (an endless loop at the top level of a module?)",
            limit.as_secs()
        ))),
    };
    let _ = child.start_kill();
    let _ = child.wait().await;
    result
}
