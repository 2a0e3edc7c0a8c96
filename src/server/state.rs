//! What every request handler shares: the configuration, the current app snapshot and the
//! latest validation report.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::sync::broadcast;

use crate::app::App;
use crate::validate::Report;

/// Settings of one `fdk-emu run`, resolved from the command line and the environment.
#[derive(Debug, Clone)]
pub struct Config {
    pub app_dir: PathBuf,
    pub host: String,
    pub port: u16,
    pub store_path: PathBuf,
    pub demo_provider: bool,
    /// Host → base URL overrides (`--upstream`).
    pub upstreams: Vec<(String, url::Url)>,
    pub request_timeout: Duration,
    pub rate_limit: bool,
    pub response_limit: bool,
    pub refresh_margin: Duration,
}

impl Config {
    /// The origin the browser uses for us. `localhost`, not the bind address, because that
    /// is what FDK prints and what developers register as the OAuth redirect.
    pub fn base_url(&self) -> String {
        format!("http://localhost:{}", self.port)
    }

    /// The OAuth redirect URI, exactly as it must be registered with the provider.
    pub fn redirect_uri(&self) -> String {
        format!("{}/auth/callback", self.base_url())
    }

    pub fn with_addr(mut self, addr: SocketAddr) -> Self {
        self.port = addr.port();
        self
    }

    /// The command line's defaults on `port`, for unit tests.
    #[cfg(test)]
    pub fn for_tests(port: u16) -> Config {
        Config {
            app_dir: ".".into(),
            host: "127.0.0.1".into(),
            port,
            store_path: "x".into(),
            demo_provider: false,
            upstreams: vec![],
            request_timeout: Duration::from_secs(15),
            rate_limit: true,
            response_limit: true,
            refresh_margin: Duration::from_secs(60),
        }
    }
}

/// A change seen by the watcher, sent to live-reload clients as `{"file": …}` (FDK's shape).
#[derive(Debug, Clone)]
pub struct Change {
    /// Path relative to the app folder.
    pub file: String,
}

/// State shared by all handlers.
///
/// The app snapshot is immutable and swapped whole by the watcher (`ArcSwap`), so a request
/// takes one consistent snapshot with a single atomic load and never waits on a reload. The
/// report is swapped separately: when an edit breaks the app, the report shows the new
/// errors while the last good snapshot keeps serving.
pub struct Shared {
    pub config: Config,
    app: ArcSwap<App>,
    report: ArcSwap<Report>,
    pub changes: broadcast::Sender<Change>,
}

impl Shared {
    pub fn new(config: Config, app: App, report: Report) -> Shared {
        let (changes, _) = broadcast::channel(64);
        Shared {
            config,
            app: ArcSwap::from_pointee(app),
            report: ArcSwap::from_pointee(report),
            changes,
        }
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
}
