//! The app being served: the current [`App`] and its validation [`Report`] behind `ArcSwap`,
//! and the file watcher ([`watch`]) that replaces them when the files change.
//!
//! The watcher only publishes: it offers new readings to the [`Snapshot`] and announces each
//! [`Change`] on a broadcast channel. Whoever cares (live-reload sockets, later the Node
//! worker) subscribes; nothing here calls up into the server.

pub mod watch;

use std::path::Path;
use std::sync::Arc;

use arc_swap::ArcSwap;
use tokio::sync::broadcast;

use crate::app::{self, App, LoadError, Loaded};
use crate::validate::{self, Report};

/// Loads the app in `root` and validates it with every check.
pub fn load_and_validate(
    root: &Path,
    opts: &validate::Options,
) -> Result<(Loaded, Report), LoadError> {
    let loaded = app::load(root)?;
    let report = validate::validate(&loaded, opts);
    Ok((loaded, report))
}

/// A change seen by the watcher, sent to live-reload clients as `{"file": …}` (FDK's shape).
#[derive(Debug, Clone)]
pub struct Change {
    /// Path relative to the app folder.
    pub file: String,
}

/// The current app and report.
///
/// The app snapshot is immutable and swapped whole by the watcher (`ArcSwap`), so a request
/// takes one consistent snapshot with a single atomic load and never waits on a reload. The
/// report is swapped separately: when an edit breaks the app, the report shows the new
/// errors while the last good snapshot keeps serving.
pub struct Snapshot {
    app: ArcSwap<App>,
    report: ArcSwap<Report>,
    changes: broadcast::Sender<Change>,
    /// How the watcher validates a new reading: as `run` validated the first one.
    opts: validate::Options,
}

impl Snapshot {
    pub fn new(app: App, report: Report) -> Snapshot {
        let (changes, _) = broadcast::channel(64);
        Snapshot {
            app: ArcSwap::from_pointee(app),
            report: ArcSwap::from_pointee(report),
            changes,
            opts: validate::Options::default(),
        }
    }

    /// The same snapshot, whose later readings are validated with `opts`.
    pub fn validated_with(self, opts: validate::Options) -> Snapshot {
        Snapshot { opts, ..self }
    }

    /// The options new readings are validated with.
    pub fn validate_options(&self) -> validate::Options {
        self.opts
    }

    /// The snapshot being served.
    pub fn app(&self) -> Arc<App> {
        self.app.load_full()
    }

    /// The latest validation report (of the files as they are now).
    pub fn report(&self) -> Arc<Report> {
        self.report.load_full()
    }

    /// Whether the files on disk have errors and an older snapshot is being served: `run`
    /// starts only from files without errors, and a reading with errors is never swapped in.
    pub fn is_stale(&self) -> bool {
        self.report.load().has_errors()
    }

    /// Records a new reading of the files: swapped in when it has no errors, else only its
    /// report is kept and the previous snapshot goes on serving.
    pub fn offer(&self, app: App, report: Report) -> bool {
        let good = !report.has_errors();
        if good {
            self.app.store(Arc::new(app));
        }
        self.report.store(Arc::new(report));
        good
    }

    /// The changes announced from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.changes.subscribe()
    }

    /// Announces a change to every subscriber (none listening is fine).
    pub fn announce(&self, change: Change) {
        let _ = self.changes.send(change);
    }
}
