//! The command line: `fdk-emu run`, `fdk-emu validate`, `fdk-emu store`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// A fast, safe local dev server for Freshworks apps: a drop-in for `fdk run`.
///
/// Run it in the folder of a Freshworks app (the one with manifest.json). It checks the app's
/// configuration, serves the setup pages at http://localhost:10001/custom_configs, performs
/// the OAuth handshake, and answers the app's client.request.invokeTemplate calls.
#[derive(Debug, Parser)]
#[command(
    name = "fdk-emu",
    version,
    propagate_version = true,
    after_help = "Examples:\n  fdk-emu validate                 check the app in this folder\n  fdk-emu run                      serve it at http://localhost:10001\n  fdk-emu run --port 10002 --upstream api.example.com=http://127.0.0.1:8001\n  fdk-emu store show               what is stored for the app (secrets masked)\n  fdk-emu store import .fdk/localstore   keep the data of `fdk run`"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate the app, then serve it on localhost (like `fdk run`).
    ///
    /// Refuses to start while the app has errors (they are printed). Once running, edits to
    /// manifest.json, config/ and app/ are picked up without a restart.
    Run(RunArgs),
    /// Check the app's manifest and configuration files and report every problem at once.
    ///
    /// Exit code: 0 when there are no errors (warnings allowed), 1 when there are errors,
    /// 2 when the app folder cannot be read.
    Validate(ValidateArgs),
    /// Show, clear or import what fdk-emu has stored for the app (settings, iparams, OAuth
    /// tokens, the key-value store of client.db and $db).
    Store(StoreArgs),
    /// Fire an event handler of server/server.js, as CI would: onTicketCreate,
    /// onAppInstall, onScheduledEvent, onExternalEvent, …
    ///
    /// Sends the event to the fdk-emu running for this app on --port when there is one (its
    /// page's history shows it); otherwise starts the app's Node worker, fires, and stops.
    /// The payload is --payload FILE, else server/test_data/EVENT.json (seeded with the
    /// product's default the first time). Exit code: 0 when the handler succeeded, 1 when it
    /// failed (renderData error, exception, timeout), 2 when it could not be fired.
    Trigger(TriggerArgs),
}

#[derive(Debug, Clone, Args)]
pub struct TriggerArgs {
    /// The event, e.g. onTicketCreate.
    #[arg(value_name = "EVENT")]
    pub event: String,

    /// A JSON file with the payload (the event's fields and its `data`), instead of
    /// server/test_data/EVENT.json. It is not saved.
    #[arg(long, value_name = "FILE")]
    pub payload: Option<PathBuf>,

    #[command(flatten)]
    pub app: AppDirArg,

    /// The port of a running fdk-emu to send the event to.
    #[arg(short, long, default_value_t = 10001)]
    pub port: u16,

    /// Never use a running server: start the worker, fire, stop.
    #[arg(long)]
    pub standalone: bool,

    /// Print the result as JSON (event, handler, outcome, duration, logs).
    #[arg(long)]
    pub json: bool,

    /// SQLite file [default: <app>/.fdk/localstore.sqlite].
    #[arg(long, value_name = "PATH")]
    pub store: Option<PathBuf>,

    /// The Node.js that runs server/server.js [default: node on PATH].
    #[arg(long, value_name = "PATH")]
    pub node: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct AppDirArg {
    /// The app folder (the one that holds manifest.json).
    #[arg(short = 'd', long, value_name = "DIR", default_value = ".")]
    pub app_dir: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub app: AppDirArg,

    /// Port to listen on. The OAuth redirect URI follows it:
    /// http://localhost:PORT/auth/callback.
    #[arg(short, long, default_value_t = 10001, env = "FDK_EMU_PORT")]
    pub port: u16,

    /// Address to bind. The default accepts connections from this machine only.
    #[arg(long, default_value = "127.0.0.1", value_name = "ADDR")]
    pub host: String,

    /// SQLite file for settings, iparams and tokens [default: <app>/.fdk/localstore.sqlite].
    #[arg(long, value_name = "PATH")]
    pub store: Option<PathBuf>,

    /// Mount a built-in OAuth provider under /_demo/ to try the OAuth flow offline.
    #[arg(long)]
    pub demo_provider: bool,

    /// Send the requests of templates whose host is HOST to URL instead (repeatable), e.g.
    /// --upstream api.example.com=http://127.0.0.1:8001 to test against a local mock. The same
    /// map can live in the app folder's fdk-emu.json:
    /// {"upstreams": {"api.example.com": "http://127.0.0.1:8001"}} (the command line wins).
    #[arg(long = "upstream", value_name = "HOST=URL")]
    pub upstreams: Vec<String>,

    /// Timeout of one attempt of a template request, in milliseconds [default: 15000, or
    /// REQUEST_TIMEOUT, or request.timeout in .fdk/configs.json].
    #[arg(long, value_name = "MS")]
    pub request_timeout: Option<u64>,

    /// Do not enforce the production rate limits: 50 template requests and 50 key-value
    /// store requests (client.db, $db) a minute.
    #[arg(long)]
    pub no_rate_limit: bool,

    /// Do not enforce the production limit of 6 MB on a template response.
    #[arg(long)]
    pub no_response_limit: bool,

    /// Do not enforce the key-value store's production limits on keys and values (key of
    /// 60 characters, key and value of 40 KB, 32 levels of nesting).
    #[arg(long)]
    pub no_db_limits: bool,

    /// Refresh an OAuth access token this many seconds before it expires.
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    pub refresh_margin: u64,

    /// The Node.js that runs server/server.js [default: node on PATH]. Needed only by apps
    /// with a server/server.js.
    #[arg(long, value_name = "PATH", env = "FDK_EMU_NODE")]
    pub node: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people: grouped, with a source excerpt under each problem.
    Text,
    /// For editors and CI: one JSON document.
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub app: AppDirArg,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Check configuration files only (manifest.json and config/), not the app/ and server/
    /// folders.
    #[arg(long)]
    pub config_only: bool,

    /// The Node.js that loads server/server.js to check it [default: node on PATH]. Without
    /// one, validate says so and checks the rest.
    #[arg(long, value_name = "PATH", env = "FDK_EMU_NODE")]
    pub node: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    #[command(flatten)]
    pub app: AppDirArg,

    /// SQLite file [default: <app>/.fdk/localstore.sqlite].
    #[arg(long, value_name = "PATH", global = true)]
    pub store: Option<PathBuf>,

    #[command(subcommand)]
    pub action: StoreAction,
}

#[derive(Debug, Clone, Subcommand)]
pub enum StoreAction {
    /// Print what is stored, with secrets masked (key-value store values are shown, cut when
    /// long: they are not secrets).
    Show,
    /// Delete stored data for real.
    Reset {
        /// Only the installation parameters (fires onAppUninstall first, when the app
        /// subscribes to it; a failing handler keeps them).
        #[arg(long, conflicts_with_all = ["oauth", "db", "all"])]
        iparams: bool,
        /// Only OAuth data (client credentials, oauth_iparams, tokens).
        #[arg(long, conflicts_with_all = ["iparams", "db", "all"])]
        oauth: bool,
        /// Only the key-value store (what the app stored with client.db and $db).
        #[arg(long, conflicts_with_all = ["iparams", "oauth", "all"])]
        db: bool,
        /// Everything (the default).
        #[arg(long)]
        all: bool,
    },
    /// Bring over the data of `fdk run`: the $db keys and the installation parameters of an
    /// FDK `.fdk/localstore` file (secure parameters are encrypted on the way in).
    ///
    /// Keys and parameters of the same name are replaced; expired keys are left out; OAuth
    /// tokens are not copied (authorize again at /custom_configs).
    Import {
        /// The FDK localstore file, or the app folder (or its .fdk folder) that holds it.
        #[arg(value_name = "PATH")]
        path: PathBuf,
    },
}

impl RunArgs {
    /// The flags as the configuration resolves them ([`crate::config::Config::resolve`]).
    pub fn flags(&self) -> crate::config::Flags {
        crate::config::Flags {
            app_dir: self.app.app_dir.clone(),
            host: self.host.clone(),
            port: self.port,
            store: self.store.clone(),
            demo_provider: self.demo_provider,
            upstreams: self.upstreams.clone(),
            request_timeout_ms: self.request_timeout,
            no_rate_limit: self.no_rate_limit,
            no_response_limit: self.no_response_limit,
            no_db_limits: self.no_db_limits,
            refresh_margin_secs: self.refresh_margin,
            node: self.node.clone(),
        }
    }
}
