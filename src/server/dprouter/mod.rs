//! `POST /dprouter`: FDK's data pipe, one handler for every route. The route is chosen by the
//! `MKP-ROUTE` header (case-insensitive) and each has its own module, in the manner of
//! mini-redis's `cmd/`:
//!
//! * [`proxy`]: `invokeTemplate`, always 200 with FDK's envelope;
//! * [`oauth`]: `refresh` of an integration's tokens.
//!
//! Any other route, or another method, gets FDK's 404 `{"message":"Route not allowed",
//! "status":404}`. The body is read once here, with one limit and FDK's JSON error shape, so
//! no route answers an oversized body with actix's plain-text 413.

mod oauth;
mod proxy;

use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::Shared;
use super::body::{self, BodyError};
use crate::invoke::Invoker;
use crate::oauth::TokenManager;
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
}

impl Route {
    /// Every route this server answers, by FDK's name. The app client reads the list (through
    /// `/_fdk-emu/app/config.json`) to tell "not served yet" from FDK's "Route not allowed".
    pub const ALL: [Route; 2] = [Route::Proxy, Route::OAuth];

    pub fn name(self) -> &'static str {
        match self {
            Route::Proxy => "proxy",
            Route::OAuth => "oauth",
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

/// What every route may use; actix hands each handler its own clones of the `Data`.
struct Ctx {
    shared: web::Data<Shared>,
    store: web::Data<Store>,
    invoker: web::Data<Invoker>,
    tokens: web::Data<TokenManager>,
}

async fn dispatch(
    req: HttpRequest,
    payload: web::Payload,
    shared: web::Data<Shared>,
    store: web::Data<Store>,
    invoker: web::Data<Invoker>,
    tokens: web::Data<TokenManager>,
) -> HttpResponse {
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
    let ctx = Ctx {
        shared,
        store,
        invoker,
        tokens,
    };
    match route {
        Some(Route::Proxy) => proxy::call(&ctx, &body).await,
        Some(Route::OAuth) => oauth::call(&ctx, &req, &body).await,
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
