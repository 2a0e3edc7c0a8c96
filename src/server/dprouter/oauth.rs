//! `MKP-ROUTE: oauth`: `{"action":"refresh"}` refreshes an integration's tokens now, in
//! FDK's answer shapes.

use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{Value, json};

use super::Ctx;
use crate::oauth::RefreshError;
use crate::oauth::client::EndpointError;
use crate::oauth::resolve;
use crate::server::handshake::query;

/// FDK's answer shape for the oauth route: `{status, headers, response}` with that status.
fn fdk_answer(status: u16, response: Value) -> HttpResponse {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    HttpResponse::build(code).json(json!({"status": status, "headers": {}, "response": response}))
}

const CANNOT_REFRESH: &str = "Access token cannot be refreshed";

/// `POST /dprouter` with `MKP-ROUTE: oauth`, body `{"action":"refresh"[, "integration":
/// NAME][, "tokens":{…}]}`. Account level: refresh now and answer 200 `{"success":true}`.
/// Agent level: refresh the tokens sent and answer them. 210 when there is no refresh token,
/// the provider's status and body when it refuses.
pub(super) async fn call(ctx: &Ctx, req: &HttpRequest, body: &Bytes) -> HttpResponse {
    let tm = &ctx.tokens;
    // Cross-site callers are refused by the server-wide guard (server/guard.rs).
    let body: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return HttpResponse::BadRequest().json(json!({
                "status": 400,
                "message": format!("the /dprouter body is not JSON ({e}); send {{\"action\":\"refresh\"}}"),
            }));
        }
    };
    let action = body.get("action").and_then(Value::as_str).unwrap_or("");
    if action != "refresh" {
        return HttpResponse::BadRequest().json(json!({
            "status": 400,
            "message": format!("unknown action \"{action}\" for the oauth route; the only one is \"refresh\""),
        }));
    }
    let q = query(req);
    let requested = body
        .get("integration")
        .or_else(|| body.get("oauth"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| q.get("integration").cloned());
    let app = ctx.shared.app();
    let name = match resolve::integration_name(&app, requested.as_deref()) {
        Ok(n) => n,
        Err(e) => return fdk_answer(400, Value::String(e.to_string())),
    };
    let agent = app
        .oauth
        .as_ref()
        .and_then(|o| o.integrations.get(&name))
        .is_some_and(|i| i.is_agent());
    if agent {
        let Some(rt) = body
            .get("tokens")
            .and_then(|t| t.get("refresh_token"))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        else {
            return fdk_answer(210, Value::String(CANNOT_REFRESH.into()));
        };
        return match tm.refresh_agent(&app, &name, rt).await {
            Ok(t) => HttpResponse::Ok().json(json!({
                "action": "refresh",
                "integration": name,
                "tokens": {
                    "access_token": t.access_token,
                    "refresh_token": t.refresh_token.as_deref().unwrap_or(rt),
                },
            })),
            Err(e) => refresh_error_answer(&e),
        };
    }
    match tm.refresh_now(&app, &name).await {
        Ok(()) => HttpResponse::Ok().json(json!({"success": true})),
        Err(e) => refresh_error_answer(&e),
    }
}

fn refresh_error_answer(e: &RefreshError) -> HttpResponse {
    match e {
        RefreshError::NoRefreshToken | RefreshError::NotAuthorized { .. } => {
            let mut r = fdk_answer(210, Value::String(CANNOT_REFRESH.into()));
            // FDK's shape, plus the reason for people reading the network tab.
            let reason = e.to_string();
            if let Ok(v) = reason.parse::<actix_web::http::header::HeaderValue>() {
                r.headers_mut().insert(
                    actix_web::http::header::HeaderName::from_static("x-fdk-emu-reason"),
                    v,
                );
            }
            r
        }
        RefreshError::Endpoint(EndpointError::Provider { status, body, .. }) => {
            fdk_answer(*status, Value::String(body.clone()))
        }
        RefreshError::Endpoint(other) => fdk_answer(502, Value::String(other.to_string())),
        RefreshError::Resolve(r) => fdk_answer(400, Value::String(r.to_string())),
        RefreshError::Store(m) => fdk_answer(500, Value::String(m.clone())),
    }
}
