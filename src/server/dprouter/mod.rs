//! `POST /dprouter`: FDK's data pipe, one handler for every route. The route is chosen by the
//! `MKP-ROUTE` header (case-insensitive) and each has its own module, in the manner of
//! mini-redis's `cmd/`:
//!
//! * [`proxy`]: `invokeTemplate`, always 200 with FDK's envelope;
//! * [`oauth`]: `refresh` of an integration's tokens;
//! * [`db`]: the key-value store (`client.db`; closed until the app is installed);
//! * [`smi`]: `invoke`, a function of `server/server.js` run by the Node worker.
//!
//! FDK allows `smi`, `proxy` and `oauth` also while the app is being installed (the
//! installation page calls them before anything is stored).
//!
//! Any other route, or another method, gets FDK's 404 `{"message":"Route not allowed",
//! "status":404}`. The body is read once here, with one limit and FDK's JSON error shape, so
//! no route answers an oversized body with actix's plain-text 413.

mod db;
mod oauth;
mod proxy;
mod recorded;
mod smi;

use actix_web::http::{Method, StatusCode};
use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use serde_json::json;

use super::Shared;
use super::body::{self, BodyError};
use crate::inspect::{Inspector, Kind, Started};
use crate::invoke::Invoker;
use crate::kv::Kv;
use crate::oauth::TokenManager;
use crate::serverless::Runtime;
use crate::store::Store;

/// Largest body accepted on `/dprouter`: the call's `body` travels in it.
pub const BODY_LIMIT: usize = 8 * 1024 * 1024;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/dprouter").to(dispatch));
}

/// The routes this server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Proxy,
    OAuth,
    Db,
    Smi,
}

impl Route {
    /// Every route this server answers, by FDK's name. The app client reads the list (through
    /// `/_fdk-emu/app/config.json`) to tell "not served yet" from FDK's "Route not allowed".
    pub const ALL: [Route; 4] = [Route::Proxy, Route::OAuth, Route::Db, Route::Smi];

    pub fn name(self) -> &'static str {
        match self {
            Route::Proxy => "proxy",
            Route::OAuth => "oauth",
            Route::Db => "db",
            Route::Smi => "smi",
        }
    }

    /// The route a call asks for; `None` for a route this server does not know, a missing
    /// header, or a method other than POST.
    fn of(req: &HttpRequest) -> Option<Route> {
        if req.method() != Method::POST {
            return None;
        }
        let name = req.headers().get("mkp-route")?.to_str().ok()?.trim();
        Route::ALL
            .into_iter()
            .find(|r| name.eq_ignore_ascii_case(r.name()))
    }
}

/// What every route may use: the server's shared state, taken from the app data as one
/// extractor so that a new route's needs are one more field, not one more handler argument.
struct Ctx {
    shared: web::Data<Shared>,
    store: web::Data<Store>,
    invoker: web::Data<Invoker>,
    tokens: web::Data<TokenManager>,
    kv: web::Data<Kv>,
    inspector: web::Data<Inspector>,
    serverless: Option<web::Data<Runtime>>,
}

impl FromRequest for Ctx {
    type Error = actix_web::Error;
    type Future = Ready<Result<Ctx, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        /// Registered by `server::serve` for every worker; missing only through a bug there.
        fn data<T: 'static>(req: &HttpRequest) -> Result<web::Data<T>, actix_web::Error> {
            req.app_data::<web::Data<T>>().cloned().ok_or_else(|| {
                actix_web::error::ErrorInternalServerError(format!(
                    "fdk-emu started without its {}",
                    std::any::type_name::<T>()
                ))
            })
        }
        ready((|| {
            Ok(Ctx {
                shared: data(req)?,
                store: data(req)?,
                invoker: data(req)?,
                tokens: data(req)?,
                kv: data(req)?,
                inspector: data(req)?,
                serverless: data(req).ok(),
            })
        })())
    }
}

/// Which of our pages made the call, from its `Referer`: the installation page lives under
/// `/custom_configs`, the app's own pages under `/iframe/` (on the home page or a product
/// page opened with `?dev=true`).
pub(super) fn caller(req: &HttpRequest) -> Option<&'static str> {
    let referer = req.headers().get("referer")?.to_str().ok()?;
    let path = url::Url::parse(referer).ok()?;
    let local = matches!(path.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    if !local {
        return Some("front end");
    }
    let p = path.path();
    if p.starts_with("/custom_configs") {
        Some("installation page")
    } else if p.starts_with("/iframe/") || p == "/" {
        Some("front end")
    } else {
        None
    }
}

async fn dispatch(req: HttpRequest, payload: web::Payload, ctx: Ctx) -> HttpResponse {
    let route = Route::of(&req);
    // Read even when the route is refused, so that the browser's keep-alive connection stays
    // usable: actix closes a connection whose request body was left unread. The body (and
    // its share of the memory budget) is held until the route has answered.
    let body = match body::read(&req, payload, BODY_LIMIT).await {
        Ok(body) => body,
        Err(e @ BodyError::Unreadable(_)) => return error(400, e.to_string()),
        Err(BodyError::TooLarge) => {
            return error(
                413,
                format!(
                    "the body of POST /dprouter is larger than {} MB",
                    BODY_LIMIT / (1024 * 1024)
                ),
            );
        }
        Err(e @ BodyError::TimedOut(_)) => return error(408, e.to_string()),
        Err(e @ BodyError::Busy) => return error(503, e.to_string()),
    };
    match route {
        Some(Route::Proxy) => proxy::call(&ctx, &req, &body).await,
        Some(Route::OAuth) => oauth::call(&ctx, &req, &body).await,
        Some(Route::Db) => {
            let started = Started::now();
            let answer = db::call(&ctx, &req, &body).await;
            recorded::record(&ctx, Kind::Db, caller(&req), &body, started, answer).await
        }
        Some(Route::Smi) => {
            let started = Started::now();
            let answer = smi::call(&ctx, &body).await;
            recorded::record(&ctx, Kind::Smi, caller(&req), &body, started, answer).await
        }
        None => {
            HttpResponse::NotFound().json(json!({"message": "Route not allowed", "status": 404}))
        }
    }
}

/// FDK's error shape on `/dprouter`: `{"message", "status"}` with that status.
fn error(status: u16, message: String) -> HttpResponse {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    HttpResponse::build(code).json(json!({"message": message, "status": status}))
}

#[cfg(test)]
mod caller_tests {
    use super::caller;
    use actix_web::test::TestRequest;

    #[test]
    fn the_caller_is_told_by_the_page_that_made_the_call() {
        let from = |referer: Option<&str>| {
            let mut r = TestRequest::post().uri("/dprouter");
            if let Some(v) = referer {
                r = r.insert_header(("Referer", v));
            }
            caller(&r.to_http_request())
        };
        assert_eq!(
            from(Some("http://localhost:10001/custom_configs/form")),
            Some("installation page")
        );
        assert_eq!(
            from(Some("http://127.0.0.1:9/iframe/index.html?x=1")),
            Some("front end")
        );
        assert_eq!(
            from(Some("https://acme.freshdesk.com/a/tickets/1?dev=true")),
            Some("front end")
        );
        assert_eq!(
            from(Some("http://localhost:10001/_fdk-emu/inspector")),
            None
        );
        assert_eq!(from(None), None, "curl and scripts send no Referer");
    }
}
