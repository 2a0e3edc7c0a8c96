//! The HTTP server: shared state, route registration, start-up.
//!
//! Each feature keeps its routes in its own module and registers them in [`routes`]; errors
//! of lower layers are turned into HTTP answers at this edge only.

pub mod body;
pub mod cors;
pub mod dbview;
pub mod demo;
pub mod dprouter;
pub mod events;
pub mod guard;
pub mod handshake;
pub mod home;
pub mod iframe;
pub mod live;
pub mod origin;
pub mod pages;
pub mod render;
pub mod simulator;
pub mod state;
pub mod status;

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::{App as ActixApp, HttpServer, web};

pub use state::Shared;

use crate::config::Config;
use crate::invoke::Invoker;
use crate::kv::Kv;
use crate::oauth::TokenManager;
use crate::serverless::Runtime;
use crate::serverless::events::Events;
use crate::serverless::schedule::Schedules;
use crate::store::Store;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "port {port} on {host} is already in use (another fdk run or fdk-emu?). Stop the other server or choose another port with --port, e.g. --port {next}"
    )]
    PortInUse { host: String, port: u16, next: u16 },
    #[error("cannot listen on {host}:{port}: {source}")]
    Bind {
        host: String,
        port: u16,
        source: std::io::Error,
    },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Registers every route. Shared by the binary and by in-process tests.
pub fn routes(cfg: &mut web::ServiceConfig) {
    // /dprouter first: actix tries resources in registration order, and matching the
    // patterns of the pages before it cost more than parsing the call (callgrind).
    dprouter::configure(cfg);
    handshake::configure(cfg);
    status::configure(cfg);
    live::configure(cfg);
    // Before pages: `/_fdk-emu/db` must not be taken for the static file `/_fdk-emu/{file}`.
    dbview::configure(cfg);
    // iframe before pages: both serve under /_fdk-emu/, and the app client script
    // (/_fdk-emu/client.js) must not be shadowed by the setup pages' /_fdk-emu/{file}.
    iframe::configure(cfg);
    simulator::configure(cfg);
    events::configure(cfg);
    pages::configure(cfg);
    home::configure(cfg);
}

/// Binds the listener first, so that a busy port is reported before anything else starts.
pub fn bind(config: &Config) -> Result<TcpListener, ServeError> {
    TcpListener::bind((config.host.as_str(), config.port)).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AddrInUse {
            ServeError::PortInUse {
                host: config.host.clone(),
                port: config.port,
                next: config.port.wrapping_add(1).max(1024),
            }
        } else {
            ServeError::Bind {
                host: config.host.clone(),
                port: config.port,
                source: e,
            }
        }
    })
}

/// What the server's handlers use besides [`Shared`], built by the composition root
/// because the Node worker uses the same ones.
pub struct Services {
    pub store: Store,
    /// The token lifecycle: one refresh per integration for browser and `server.js` alike.
    pub tokens: Arc<TokenManager>,
    /// `invokeTemplate`: each server worker thread gets its own client from it, sharing the
    /// rate limit and the compiled templates with the Node worker's.
    pub invoker: Invoker,
    /// The key-value store of `client.db` and `$db`, with its rate limit.
    pub kv: Arc<Kv>,
    /// `server/server.js` in Node (SMI).
    pub serverless: Runtime,
    pub events: Arc<Events>,
    pub schedules: Arc<Schedules>,
}

/// Serves until Ctrl-C. `on_ready` runs once the listener serves, so whatever it prints (the
/// banner) is a promise that it does.
pub async fn serve(
    shared: Arc<Shared>,
    services: Services,
    listener: TcpListener,
    on_ready: impl FnOnce(),
) -> Result<(), ServeError> {
    let data = web::Data::from(shared.clone());
    let tokens = web::Data::from(services.tokens);
    let demo = shared
        .config
        .demo_provider
        .then(|| web::Data::new(demo::DemoProvider::new(&shared.config)));
    // One key-value store for the server and the Node worker, so that every way in shares
    // its rate limit.
    let kv = web::Data::from(services.kv);
    let store = web::Data::new(services.store);
    let invoker = services.invoker;
    let serverless = web::Data::new(services.serverless);
    let events = web::Data::from(services.events);
    let schedules = web::Data::from(services.schedules);
    // The factory runs once on each worker thread.
    let server = HttpServer::new(move || {
        ActixApp::new()
            .app_data(data.clone())
            .app_data(store.clone())
            .app_data(tokens.clone())
            .app_data(kv.clone())
            .app_data(web::Data::new(invoker.for_worker()))
            .app_data(serverless.clone())
            .app_data(events.clone())
            .app_data(schedules.clone())
            .configure(routes)
            .configure(|cfg| {
                if let Some(demo) = &demo {
                    cfg.app_data(demo.clone());
                    demo::configure(cfg);
                }
            })
            .wrap(actix_web::middleware::from_fn(guard::guard))
            // Outermost: CORS preflights are answered before any guard sees them.
            .wrap(actix_web::middleware::from_fn(cors::cors))
    })
    .listen(listener)?
    .shutdown_timeout(1)
    .run();
    on_ready();
    server.await?;
    Ok(())
}
