//! `MKP-ROUTE: smi`: server method invocation. `client.request.invoke(name, params)` posts
//! `{"action":"invoke","methodName":name,"methodParams":params}`; the Node worker runs
//! `exports[name](params + {iparams, isInstall})` of `server.js`, and the answer has FDK's
//! shapes (`event_handler/framework.js`, `api/smi.js` of FDK 6.9):
//!
//! | how the call ended | HTTP | body |
//! |---|---|---|
//! | `renderData(null, data)` | 200 | `{requestID, response: data}` (no `response` without data) |
//! | `renderData({status, message})` | `status` (default 500) | `{requestID, status, message, errorSource: "APP"}` |
//! | `renderData(x)`, x not such an object | 400 | `{requestID, status: 400, message: "The error should be a JSON Object with a message or a status parameter.", errorSource}` |
//! | an exception, or server.js cannot run | 200 | `{requestID, status: 500, message: "Error while executing App server script! - …", errorSource}` |
//! | no `renderData` within the time limit | 200 | `{requestID, status: 504, message: "Timeout error while processing the request.", errorSource}` |
//!
//! Apps compare the timeout message verbatim, so it is FDK's to the letter.

use std::time::Instant;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use serde_json::{Map, Value, json};

use super::Ctx;
use crate::app::Generation;
use crate::invoke::Sources;
use crate::serverless::{CallKind, CallResult, Outcome, limits};
use crate::sources::StoreSources;

/// The platform's limit on what the front end sends to `server.js`.
pub const PAYLOAD_LIMIT: usize = 100 * 1024;

const SCRIPT_ERROR: &str = "Error while executing App server script!";
const TIMEOUT: &str = "Timeout error while processing the request.";
const INVALID_ERROR: &str =
    "The error should be a JSON Object with a message or a status parameter.";

/// The body, read without building a map of its top level.
#[derive(serde::Deserialize)]
struct Wire {
    action: Option<Value>,
    #[serde(rename = "methodName")]
    method_name: Option<Value>,
    #[serde(rename = "methodParams")]
    method_params: Option<Value>,
}

pub(super) async fn call(ctx: &Ctx, body: &Bytes) -> HttpResponse {
    let started = Instant::now();
    if body.len() > PAYLOAD_LIMIT {
        return super::error(
            413,
            format!(
                "the SMI payload is {} KB; the platform accepts at most {} KB",
                body.len().div_ceil(1024),
                PAYLOAD_LIMIT / 1024
            ),
        );
    }
    let wire: Wire = match serde_json::from_slice(body) {
        Ok(w) => w,
        Err(e) => {
            return super::error(
                400,
                format!(
                    "the body of POST /dprouter is not an SMI call ({e}); send {{\"action\":\"invoke\",\"methodName\":\"…\",\"methodParams\":{{…}}}}"
                ),
            );
        }
    };
    match wire.action.as_ref().and_then(Value::as_str) {
        Some("invoke") => {}
        Some(other) => {
            return super::error(
                400,
                format!("action `{other}` is not supported on route smi; the only one is `invoke`"),
            );
        }
        None => {
            return super::error(
                400,
                "`action` is missing: send \"action\":\"invoke\"".into(),
            );
        }
    }
    let Some(name) = wire
        .method_name
        .as_ref()
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
    else {
        return super::error(
            400,
            "`methodName` is missing or not a string: name the function of server/server.js to run"
                .into(),
        );
    };
    let mut params = match wire.method_params {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m,
        Some(_) => {
            return super::error(
                400,
                "`methodParams` must be an object: it is the argument the function receives".into(),
            );
        }
    };
    let request_id = request_id();
    let app = ctx.shared.app();
    let function = app.manifest.functions.get(name);
    if function.is_none()
        && (app.manifest.generation == Generation::V3 || !app.manifest.functions.is_empty())
    {
        let place = match app.manifest.generation {
            Generation::V3 => "modules.common.functions",
            Generation::V2 => "product.<product>.functions",
        };
        let declared: Vec<&str> = app.manifest.functions.keys().map(String::as_str).collect();
        let message = format!(
            "Requested function not found or registered: {name} is not in {place} of manifest.json ({})",
            if declared.is_empty() {
                "it declares none".to_string()
            } else {
                format!("it declares {}", declared.join(", "))
            }
        );
        log(name, 404, &message, started);
        return HttpResponse::Ok().json(json!({
            "requestID": request_id, "status": 404, "message": message, "errorSource": "APP",
        }));
    }
    let sources = StoreSources::new(&ctx.store, &ctx.tokens);
    let iparams = match sources.iparams().await {
        Ok(i) => i.values,
        Err(e) => {
            return failed(
                &request_id,
                name,
                &format!("the installation parameters could not be read: {e}"),
                started,
            );
        }
    };
    let iparams: Map<String, Value> = iparams.into_iter().filter(|(k, _)| k != "__meta").collect();
    params.insert("iparams".into(), Value::Object(iparams));
    params.insert(
        "isInstall".into(),
        Value::Bool(sources.is_install(&app).await),
    );
    let limit = limits::smi_limit(function);
    let Some(runtime) = &ctx.serverless else {
        return failed(
            &request_id,
            name,
            "this server runs no Node worker",
            started,
        );
    };
    let outcome = runtime
        .call(CallKind::Smi, name, &Value::Object(params), limit)
        .await;
    match outcome {
        Outcome::Finished(CallResult::Data { data }) => {
            log(name, 200, "", started);
            HttpResponse::Ok().json(json!({"requestID": request_id, "response": data}))
        }
        Outcome::Finished(CallResult::Empty) => {
            log(name, 200, "no data", started);
            HttpResponse::Ok().json(json!({"requestID": request_id}))
        }
        Outcome::Finished(CallResult::Error { status, message }) => {
            let code = http_status(&status);
            log(
                name,
                code.as_u16(),
                &format!(
                    "renderData error: {}",
                    crate::serverless::terminal::escape(&message.to_string())
                ),
                started,
            );
            HttpResponse::build(code).json(json!({
                "requestID": request_id, "status": status, "message": message, "errorSource": "APP",
            }))
        }
        Outcome::Finished(CallResult::InvalidError) => {
            log(name, 400, INVALID_ERROR, started);
            HttpResponse::BadRequest().json(json!({
                "requestID": request_id, "status": 400, "message": INVALID_ERROR, "errorSource": "APP",
            }))
        }
        Outcome::Finished(CallResult::Exception { error }) => {
            let at = error
                .location()
                .map(|l| format!(" (at {l})"))
                .unwrap_or_default();
            failed(
                &request_id,
                name,
                &format!("{}{at}", error.headline()),
                started,
            )
        }
        Outcome::TimedOut { limit } => {
            log(
                name,
                504,
                &format!("no renderData within {} s", limit.as_secs()),
                started,
            );
            HttpResponse::Ok().json(json!({
                "requestID": request_id, "status": 504, "message": TIMEOUT, "errorSource": "APP",
            }))
        }
        Outcome::Unavailable(why) => failed(&request_id, name, &why, started),
    }
}

/// FDK's answer when the script fails: HTTP 200, status 500 in the body.
fn failed(request_id: &str, name: &str, why: &str, started: Instant) -> HttpResponse {
    log(name, 500, why, started);
    HttpResponse::Ok().json(json!({
        "requestID": request_id,
        "status": 500,
        "message": format!("{SCRIPT_ERROR} - {why}"),
        "errorSource": "APP",
    }))
}

/// The HTTP status of a `renderData` error: its `status` when that is one, else 500 (FDK
/// hands it to Express, which refuses what is not a status code).
fn http_status(status: &Value) -> StatusCode {
    let n = match status {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    n.and_then(|n| u16::try_from(n).ok())
        .filter(|n| (200..=599).contains(n))
        .and_then(|n| StatusCode::from_u16(n).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// One terminal line per call: `smi greet -> 200 (1.2 ms)`.
fn log(name: &str, status: u16, detail: &str, started: Instant) {
    let mut line = format!(
        "smi {} -> {status}",
        crate::serverless::terminal::escape(name)
    );
    if !detail.is_empty() {
        // The app's words (and the caller's): shown, not obeyed.
        line.push_str(": ");
        line.push_str(&crate::serverless::terminal::escape(detail));
    }
    line.push_str(&format!(
        " ({:.1} ms)\n",
        started.elapsed().as_secs_f64() * 1000.0
    ));
    let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), line.as_bytes());
}

/// A random UUID (version 4), FDK's `requestID`.
fn request_id() -> String {
    let mut b = [0u8; 16];
    rand::fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_v4_uuids() {
        let id = request_id();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"), "{id}");
        assert_ne!(id, request_id());
    }

    #[test]
    fn statuses_that_are_not_http_statuses_become_500() {
        assert_eq!(http_status(&json!(404)), StatusCode::NOT_FOUND);
        assert_eq!(http_status(&json!("422")), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(http_status(&json!(42)), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            http_status(&json!("teapot")),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(http_status(&json!(700)), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
