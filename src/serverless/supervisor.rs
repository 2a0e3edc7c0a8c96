//! The worker's life: start it when the app has a `server.js` (dependencies first), start
//! it again after an edit under `server/` or of the manifest's dependencies, replace it when
//! it crashes or a handler keeps it busy past its limit.
//!
//! One task owns this, so starts never overlap. Calls do not pass through it: they read the
//! current state from a `watch` channel and talk to the worker directly.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use indexmap::IndexMap;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::{broadcast, mpsc, watch};

use super::callbacks::Callbacks;
use super::deps::{self, Synced};
use super::limits::EXECUTION_TIME;
use super::node::{self, Node};
use super::worker::{Event, Loaded, StartError, Worker};
use super::{State, list, terminal};
use crate::app::App;
use crate::snapshot::{Change, Snapshot};
use crate::validate::render;
use crate::validate::serverless::{ServerFacts, ServerLoad, node_report};

/// How long `server.js` (and what it requires) may take to load.
const LOAD_LIMIT: Duration = Duration::from_secs(10);

/// How long a worker with an overdue call has to answer a ping before it is replaced.
const PING_WAIT: Duration = Duration::from_secs(1);

/// How long a replaced worker may go on answering the calls it has.
const DRAIN_LIMIT: Duration = Duration::from_secs(EXECUTION_TIME.as_secs() + 2);

/// A worker that exits this soon after loading has crashed "at once"; twice in a row and
/// fdk-emu waits for an edit instead of starting it a third time.
const QUICK_CRASH: Duration = Duration::from_secs(2);

pub(super) struct Supervisor {
    node_flag: Option<PathBuf>,
    node: Option<Node>,
    snapshot: Arc<Snapshot>,
    callbacks: Arc<Callbacks>,
    state: watch::Sender<State>,
    events_tx: mpsc::UnboundedSender<Event>,
    events: mpsc::UnboundedReceiver<Event>,
    changes: broadcast::Receiver<Change>,
    generation: u64,
    current: Option<Arc<Worker>>,
    ready_at: Instant,
    quick_crashes: u32,
    /// The dependencies as of the last start, to tell whether an edit of the manifest
    /// changed them.
    deps_seen: Option<IndexMap<String, String>>,
    /// The Node version warning last shown, so that a restart does not repeat it.
    warned: Option<String>,
}

impl Supervisor {
    pub(super) fn new(
        node_flag: Option<PathBuf>,
        snapshot: Arc<Snapshot>,
        callbacks: Arc<Callbacks>,
        state: watch::Sender<State>,
        events_tx: mpsc::UnboundedSender<Event>,
        events: mpsc::UnboundedReceiver<Event>,
    ) -> Supervisor {
        let changes = snapshot.subscribe();
        Supervisor {
            node_flag,
            node: None,
            snapshot,
            callbacks,
            state,
            events_tx,
            events,
            changes,
            generation: 0,
            current: None,
            ready_at: Instant::now(),
            quick_crashes: 0,
            deps_seen: None,
            warned: None,
        }
    }

    pub(super) async fn run(mut self) {
        self.start(None).await;
        loop {
            tokio::select! {
                change = self.changes.recv() => {
                    let mut files = Vec::new();
                    match change {
                        Ok(c) => files.push(c.file),
                        Err(RecvError::Lagged(_)) => files.push("server/".into()),
                        Err(RecvError::Closed) => break,
                    }
                    // One save often announces several files: one restart for all of them.
                    loop {
                        match self.changes.try_recv() {
                            Ok(c) => files.push(c.file),
                            Err(TryRecvError::Lagged(_)) => files.push("server/".into()),
                            Err(_) => break,
                        }
                    }
                    if let Some(why) = self.restart_reason(&files) {
                        self.start(Some(why)).await;
                    }
                }
                Some(event) = self.events.recv() => self.on_event(event).await,
            }
        }
        if let Some(w) = self.current.take() {
            w.stop("fdk-emu is stopping");
        }
    }

    /// Why the files that changed call for a new worker, if they do.
    fn restart_reason(&self, files: &[String]) -> Option<String> {
        if let Some(f) = files
            .iter()
            .find(|f| f.as_str() == "server" || f.starts_with("server/"))
        {
            return Some(format!(
                "a change to {}",
                if f == "server/" { "server/" } else { f }
            ));
        }
        let app = self.snapshot.app();
        if files.iter().any(|f| f == "manifest.json")
            && self.deps_seen.as_ref() != Some(&app.manifest.dependencies)
            && app.has_server_js
        {
            return Some("a change to the dependencies in manifest.json".into());
        }
        None
    }

    async fn on_event(&mut self, event: Event) {
        let current = self.current.as_ref().map(|w| w.generation);
        match event {
            Event::Exited { generation, status } if current == Some(generation) => {
                self.current = None;
                let quick = self.ready_at.elapsed() < QUICK_CRASH;
                self.quick_crashes = if quick { self.quick_crashes + 1 } else { 1 };
                if self.quick_crashes >= 2 {
                    let why = format!(
                        "Node keeps exiting right after loading server/server.js ({status}); save a file under server/ to start it again"
                    );
                    terminal::note(&why);
                    self.state.send_replace(State::Down(why.into()));
                } else {
                    terminal::note(&format!(
                        "the Node worker exited unexpectedly ({status}); the calls it was running failed; starting it again"
                    ));
                    self.start(None).await;
                }
            }
            Event::Overdue {
                generation,
                kind,
                handler,
                limit,
            } if current == Some(generation) => {
                let Some(worker) = self.current.clone() else {
                    return;
                };
                // New calls wait until it is known whether the worker is stuck: if it is,
                // they go to its replacement instead of being cut off with it.
                self.state
                    .send_replace(State::Starting("checking whether the worker is stuck"));
                let events = self.events_tx.clone();
                tokio::spawn(async move {
                    let event = if worker.responds(PING_WAIT).await {
                        Event::Responsive { generation }
                    } else {
                        Event::Unresponsive {
                            generation,
                            kind,
                            handler,
                            limit,
                        }
                    };
                    let _ = events.send(event);
                });
            }
            Event::Responsive { generation } if current == Some(generation) => {
                if let Some(worker) = self.current.clone()
                    && matches!(*self.state.borrow(), State::Starting(_))
                {
                    self.state.send_replace(State::Ready(worker));
                }
            }
            Event::Unresponsive {
                generation,
                kind,
                handler,
                limit,
            } if current == Some(generation) => {
                let why = format!(
                    "{handler} ({}) kept Node busy past its {} s limit (an endless loop?)",
                    kind.as_str(),
                    limit.as_secs()
                );
                self.state
                    .send_replace(State::Starting("replacing a stuck worker"));
                if let Some(w) = self.current.take() {
                    w.stop(&format!(
                        "fdk-emu restarted its Node worker: {why}; the calls running in it were cut off"
                    ));
                }
                self.quick_crashes = 0;
                self.start(Some(why)).await;
            }
            // A replaced worker's news, or news that is not news any more.
            _ => {}
        }
    }

    /// Starts a worker for the app as it is now, replacing the current one.
    async fn start(&mut self, why: Option<String>) {
        let app = self.snapshot.app();
        // New calls wait for the new worker from here on; the old one keeps its own.
        if app.has_server_js {
            self.state.send_replace(State::Starting("looking for Node"));
        }
        if let Some(old) = self.current.take() {
            retire(old);
        }
        if !app.has_server_js {
            if why.is_some() && !matches!(*self.state.borrow(), State::NoServer) {
                terminal::note("server/server.js is gone; SMI calls answer that the app has none");
            }
            self.state.send_replace(State::NoServer);
            return;
        }
        if let Some(why) = &why {
            terminal::note(&format!("starting the Node worker again after {why}"));
        }
        let node = match self.node().await {
            Ok(n) => n,
            Err(e) => {
                terminal::note(&e);
                self.state.send_replace(State::Down(e.into()));
                return;
            }
        };
        if let Some(w) = node.version_warning(app.manifest.engines_node.as_deref())
            && self.warned.as_ref() != Some(&w)
        {
            terminal::note(&format!("warning: {w}"));
            self.warned = Some(w);
        }
        let deps = app.manifest.dependencies.clone();
        if !deps.is_empty() && !deps::up_to_date(&app.server_dir(), &deps) {
            self.state
                .send_replace(State::Starting("installing dependencies"));
            match deps::sync(&node, &app.server_dir(), &deps).await {
                Ok(Synced::Installed { count, secs }) => terminal::note(&format!(
                    "installed {count} dependenc{} of manifest.json in {secs:.1} s",
                    if count == 1 { "y" } else { "ies" }
                )),
                Ok(_) => {}
                Err(e) => terminal::note(&format!("error: {e}")),
            }
        }
        self.deps_seen = Some(deps);
        self.state
            .send_replace(State::Starting("loading server/server.js"));
        self.generation += 1;
        let started = Worker::spawn(
            &node,
            &app.root,
            self.generation,
            self.snapshot.clone(),
            self.callbacks.clone(),
            self.events_tx.clone(),
            LOAD_LIMIT,
        )
        .await;
        match started {
            Ok((worker, loaded)) => {
                terminal::note(&format!(
                    "server/server.js loaded by Node {} in {:.0} ms; it exports {}",
                    loaded.node_version,
                    loaded.load_ms,
                    list(&loaded.exports)
                ));
                show_findings(&app, &loaded);
                self.ready_at = Instant::now();
                self.current = Some(worker.clone());
                self.state.send_replace(State::Ready(worker));
            }
            Err(StartError::Load(e)) => {
                terminal::script_error(
                    &app,
                    "server/server.js could not be loaded; calls answer with this error until it is fixed",
                    &e,
                    if e.name == "SyntaxError" {
                        "server-syntax"
                    } else {
                        "server-load"
                    },
                );
                let why = match e.location() {
                    Some(at) => format!("{} (at {at})", e.headline()),
                    None => e.headline(),
                };
                self.state.send_replace(State::Down(why.into()));
            }
            Err(StartError::Spawn(why)) => {
                terminal::note(&format!("error: {why}"));
                self.state.send_replace(State::Down(why.into()));
            }
        }
    }

    /// Node, found once (looked for again while it is missing, so that installing it and
    /// saving a file under `server/` is enough).
    async fn node(&mut self) -> Result<Node, String> {
        if let Some(n) = &self.node {
            return Ok(n.clone());
        }
        let flag = self.node_flag.clone();
        let found = tokio::task::spawn_blocking(move || node::locate(flag.as_deref()))
            .await
            .map_err(|e| format!("looking for Node failed: {e}"))?
            .map_err(|e| e.to_string())?;
        self.node = Some(found.clone());
        Ok(found)
    }
}

/// A replaced worker answers the calls it has, then exits; one that takes longer than any
/// call may is stopped.
fn retire(old: Arc<Worker>) {
    old.drain();
    tokio::spawn(async move {
        tokio::time::sleep(DRAIN_LIMIT).await;
        old.stop("fdk-emu restarted its Node worker after a change to server/, and this call was still running");
    });
}

/// What the manifest names that `server.js` does not export, shown as `validate` would.
fn show_findings(app: &App, loaded: &Loaded) {
    let facts = ServerFacts::Ran {
        version_warning: None,
        load: ServerLoad::Exports(loaded.exports.clone()),
    };
    let report = node_report(app, &facts);
    let color = render::use_color(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    for d in &report.diagnostics {
        eprint!("{}", render::diagnostic(d, Some(app), color));
    }
}
