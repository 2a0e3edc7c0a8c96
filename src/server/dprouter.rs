//! `POST /dprouter`: FDK's data pipe. The route is chosen by the `MKP-ROUTE` header
//! (case-insensitive): `proxy` runs `invokeTemplate` here; `oauth` lives in the OAuth module;
//! any other route gets FDK's 404 `{"message":"Route not allowed","status":404}`.
//!
//! Register in this order: the oauth resource, [`configure_proxy`], then
//! [`configure_fallback`] last, since actix tries resources of the same path in order and
//! the fallback matches every route.

use actix_web::{HttpResponse, guard, web};
use serde_json::json;

use super::Shared;
use super::body::{BodyError, read_limited};
use super::sources::ServerSources;
use crate::invoke::{InvokeRequest, Invoker};
use crate::store::Store;

/// Largest body accepted on `/dprouter`: the call's `body` travels in it.
pub const BODY_LIMIT: usize = 8 * 1024 * 1024;

/// A guard matching `MKP-ROUTE: <route>` in any letter case.
pub fn route_guard(route: &'static str) -> impl guard::Guard {
    guard::fn_guard(move |ctx| {
        ctx.head()
            .headers()
            .get("mkp-route")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case(route))
    })
}

pub fn configure_proxy(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/dprouter")
            .guard(guard::Post())
            .guard(route_guard("proxy"))
            .to(proxy),
    );
}

pub fn configure_fallback(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/dprouter").to(route_not_allowed));
}

/// The body is read (and dropped) so that the browser's keep-alive connection stays usable:
/// actix closes a connection whose request body was left unread.
async fn route_not_allowed(_body: web::Bytes) -> HttpResponse {
    HttpResponse::NotFound().json(json!({"message": "Route not allowed", "status": 404}))
}

fn bad_request(status: u16, message: String) -> HttpResponse {
    let code = actix_web::http::StatusCode::from_u16(status)
        .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST);
    HttpResponse::build(code).json(json!({"message": message, "status": status}))
}

async fn proxy(
    payload: web::Payload,
    shared: web::Data<Shared>,
    store: web::Data<Store>,
    invoker: web::Data<Invoker>,
    tokens: web::Data<crate::oauth::TokenManager>,
) -> HttpResponse {
    let body = match read_limited(payload, BODY_LIMIT).await {
        Ok(body) => body,
        Err(BodyError::Unreadable(e)) => {
            return bad_request(400, format!("the request body could not be read: {e}"));
        }
        Err(BodyError::TooLarge) => {
            return bad_request(
                413,
                format!(
                    "the body of POST /dprouter is larger than {} MB",
                    BODY_LIMIT / (1024 * 1024)
                ),
            );
        }
    };
    let call = match InvokeRequest::from_body(&body) {
        Ok(c) => c,
        Err(e) => return bad_request(400, e.to_string()),
    };
    let app = shared.app();
    let template = call.template.clone();
    let sources = ServerSources::new(&store, &tokens);
    let outcome = invoker.invoke(&app, call, &sources).await;
    // One write per line: stderr is unbuffered, and eprintln! would write the line and its
    // newline separately on every call.
    let mut line = outcome.log_line(&template);
    line.push('\n');
    let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), line.as_bytes());
    HttpResponse::Ok().json(&outcome.envelope)
}
