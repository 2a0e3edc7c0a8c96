//! What every request handler shares: the run configuration and the app being served.

use std::sync::Arc;

use super::body::BodyBudget;
use crate::app::App;
use crate::config::Config;
use crate::snapshot::Snapshot;
use crate::validate::Report;

/// State shared by all handlers (`web::Data<Shared>`). The snapshot is the same `Arc` the
/// watcher swaps readings into.
pub struct Shared {
    pub config: Config,
    pub snapshot: Arc<Snapshot>,
    /// The memory that request bodies being read may take together.
    pub bodies: BodyBudget,
}

impl Shared {
    pub fn new(config: Config, snapshot: Arc<Snapshot>) -> Shared {
        Shared {
            config,
            snapshot,
            bodies: BodyBudget::default(),
        }
    }

    /// The app being served; one per request.
    pub fn app(&self) -> Arc<App> {
        self.snapshot.app()
    }

    /// The latest validation report.
    pub fn report(&self) -> Arc<Report> {
        self.snapshot.report()
    }

    /// Whether the last good snapshot is served because the files on disk have errors.
    pub fn is_stale(&self) -> bool {
        self.snapshot.is_stale()
    }
}
