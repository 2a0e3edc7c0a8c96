//! The event simulator and the external events' door.
//!
//! * `GET /web/test` (FDK's path): the page (`assets/pages/events.hbs`, script `events.js`)
//!   listing the events the app subscribes to, a payload editor, Fire, the result with the
//!   handler's logs, the history of fired events, the schedules with "fire now".
//! * FDK's JSON routes, which tools and habits use: `GET /web/eventsList`
//!   (`{"events": [...]}`), `GET /web/events/{event}` (the payload of
//!   `server/test_data/<event>.json`), `POST /web/events/{event}` (save the body as the payload
//!   and fire the event; answers with the result), `POST /web/events/reset/{event}` (back to
//!   the default payload).
//! * `POST /event/hook/{product}[/…]`: what `generateTargetUrl()` points at; fires
//!   `onExternalEvent` with the request's body and headers.
//! * fdk-emu's own: `GET /_fdk-emu/events/api/state` (subscriptions, history, schedules),
//!   `POST /_fdk-emu/events/api/schedules/{name}/fire`, `POST /_fdk-emu/events/api/uninstall`
//!   (the home page's button).
//!
//! Firing is the serverless core's ([`crate::serverless::events`]); this file only turns
//! HTTP into calls of it.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use super::Shared;
use super::body::{self, BodyError};
use super::pages::render::{page, with};
use super::pages::{PageError, page_context};
use crate::serverless::events::{EXTERNAL, Events, Fired, Source};
use crate::serverless::schedule::Schedules;
use crate::store::{ResetScope, Store};

/// The largest payload accepted: the platform's 100 KB for serverless payloads.
const PAYLOAD_LIMIT: usize = 100 * 1024;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/web/test", web::get().to(simulator))
        .route("/web/eventsList", web::get().to(events_list))
        .route("/web/events/reset/{event}", web::post().to(reset))
        .route("/web/events/{event}", web::get().to(payload))
        .route("/web/events/{event}", web::post().to(fire))
        .route("/_fdk-emu/events/api/state", web::get().to(state))
        .route(
            "/_fdk-emu/events/api/schedules/{name}/fire",
            web::post().to(fire_schedule),
        )
        .route("/_fdk-emu/events/api/uninstall", web::post().to(uninstall))
        .route("/event/hook/{product}", web::post().to(hook))
        .route("/event/hook/{product}/{rest:.*}", web::post().to(hook))
        .route("/event/hook/{product}", web::get().to(hook_get))
        .route("/event/hook/{product}/{rest:.*}", web::get().to(hook_get));
}

fn error(status: StatusCode, message: String) -> HttpResponse {
    HttpResponse::build(status).json(json!({"status": status.as_u16(), "message": message}))
}

async fn simulator(
    shared: web::Data<Shared>,
    store: web::Data<Store>,
) -> Result<HttpResponse, PageError> {
    let app = shared.app();
    let ctx = page_context(&app, &store, "Event simulator", None).await?;
    let intro = if app.has_server_js {
        "Fire the events the app subscribes to, with the payloads of server/test_data/<event>.json (seeded with the product's defaults, yours to edit here or in the file). The same events fire from the command line: fdk-emu trigger EVENT."
    } else {
        "This app has no server/server.js, so it has no event handlers to fire."
    };
    page("events", &with(ctx, json!({"intro": intro})))
}

async fn events_list(events: web::Data<Events>) -> HttpResponse {
    let names: Vec<String> = events
        .subscriptions()
        .await
        .into_iter()
        .map(|s| s.event)
        .collect();
    HttpResponse::Ok().json(json!({"events": names}))
}

async fn payload(events: web::Data<Events>, event: web::Path<String>) -> HttpResponse {
    let sub = match events.subscription(&event).await {
        Ok(s) => s,
        Err(why) => return error(StatusCode::NOT_FOUND, why),
    };
    match events.test_data(&sub).await {
        Ok(v) => HttpResponse::Ok().json(v),
        Err(why) => error(StatusCode::UNPROCESSABLE_ENTITY, why),
    }
}

async fn reset(events: web::Data<Events>, event: web::Path<String>) -> HttpResponse {
    let sub = match events.subscription(&event).await {
        Ok(s) => s,
        Err(why) => return error(StatusCode::NOT_FOUND, why),
    };
    let value = events.default_payload(&sub).await;
    match events.save_test_data(&sub.event, &value).await {
        Ok(()) => HttpResponse::Ok().json(value),
        Err(why) => error(StatusCode::INTERNAL_SERVER_ERROR, why),
    }
}

async fn read_body(req: &HttpRequest, payload: web::Payload) -> Result<body::Body, HttpResponse> {
    body::read(req, payload, PAYLOAD_LIMIT)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge => error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the payload is larger than the platform's {PAYLOAD_LIMIT} bytes"),
            ),
            BodyError::TimedOut(_) => error(StatusCode::REQUEST_TIMEOUT, e.to_string()),
            BodyError::Busy => error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
            BodyError::Unreadable(e) => error(
                StatusCode::BAD_REQUEST,
                format!("the body could not be read: {e}"),
            ),
        })
}

/// Saves the body (when there is one) as the event's payload and fires the event.
async fn fire(
    events: web::Data<Events>,
    event: web::Path<String>,
    req: HttpRequest,
    body: web::Payload,
) -> HttpResponse {
    // `fdk-emu trigger --payload FILE` fires without replacing the test data.
    let save = !req.query_string().split('&').any(|p| p == "save=false");
    let bytes = match read_body(&req, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let given = if bytes.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(v @ Value::Object(_)) => Some(v),
            Ok(_) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "the payload must be a JSON object, e.g. {\"data\": {\"ticket\": {…}}}".into(),
                );
            }
            Err(e) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("the payload is not valid JSON: {e}"),
                );
            }
        }
    };
    if save
        && let Some(p) = &given
        && let Ok(sub) = events.subscription(&event).await
        && let Err(why) = events.save_test_data(&sub.event, p).await
    {
        return error(StatusCode::INTERNAL_SERVER_ERROR, why);
    }
    let fired = events.fire(&event, given, Source::Simulator).await;
    HttpResponse::Ok().json(fired)
}

async fn state(events: web::Data<Events>, schedules: web::Data<Schedules>) -> HttpResponse {
    let subs = events.subscriptions().await;
    let schedules = match schedules.list().await {
        Ok(s) => Value::Array(s),
        Err(e) => json!({"error": e}),
    };
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({
            "subscriptions": subs,
            "history": events.history(),
            "schedules": schedules,
            "serverless": events.runtime().status(),
        }))
}

async fn fire_schedule(
    events: web::Data<Events>,
    schedules: web::Data<Schedules>,
    name: web::Path<String>,
) -> HttpResponse {
    match schedules.fire_now(&events, &name).await {
        Ok(Some(fired)) => HttpResponse::Ok().json(fired),
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            format!("there is no schedule named '{name}'"),
        ),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

/// What the home page's Uninstall button does: `onAppUninstall` (when the app subscribes to
/// it), then the installation parameters are cleared. A handler that fails keeps the app
/// installed, as on the platform.
async fn uninstall(events: web::Data<Events>, store: web::Data<Store>) -> HttpResponse {
    let fired = events
        .fire_setup("onAppUninstall", Source::Uninstall, None)
        .await;
    if let Some(f) = &fired
        && let Some(e) = f.error()
    {
        return HttpResponse::Conflict().json(json!({
            "status": 409,
            "message": format!("onAppUninstall failed, the app stays installed: {e}"),
            "fired": f,
        }));
    }
    if let Err(e) = store.reset(ResetScope::Iparams).await {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the installation parameters could not be cleared: {e}"),
        );
    }
    HttpResponse::Ok().json(json!({
        "status": 200,
        "message": "Uninstalled: the installation parameters are cleared.",
        "fired": fired,
    }))
}

/// `onExternalEvent` with the request's body as `data` (parsed by its content type, as the
/// platform does: JSON, form fields, else the text) and its headers as `headers`.
async fn hook(events: web::Data<Events>, req: HttpRequest, body: web::Payload) -> HttpResponse {
    let bytes = match read_body(&req, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let data = if content_type.contains("json") {
        serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::String(text))
    } else if content_type.contains("x-www-form-urlencoded") {
        Value::Object(
            form_urlencoded::parse(&bytes)
                .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
                .collect(),
        )
    } else if text.is_empty() {
        json!({})
    } else {
        Value::String(text)
    };
    let headers: Map<String, Value> = req
        .headers()
        .iter()
        .filter(|(k, _)| k.as_str() != "cookie")
        .filter_map(|(k, v)| {
            v.to_str()
                .ok()
                .map(|v| (k.as_str().to_string(), Value::String(v.to_string())))
        })
        .collect();
    let fired: Fired = events
        .fire(
            EXTERNAL,
            Some(json!({"data": data, "headers": headers})),
            Source::Hook,
        )
        .await;
    let status = if fired.ok() {
        StatusCode::OK
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    HttpResponse::build(status).json(fired)
}

async fn hook_get() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body("fdk-emu: POST the webhook's body here to fire onExternalEvent.\n")
}
