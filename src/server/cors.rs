//! CORS for the pages that may talk to us: our own (`http://localhost:PORT`) and Freshworks
//! product pages opened with `?dev=true` (`https://acme.freshdesk.com`), which fetch
//! `/iframe/api` and post to `/dprouter` from a public origin to localhost. Chrome asks
//! first with a private-network preflight, answered with
//! `Access-Control-Allow-Private-Network: true`.
//!
//! Other origins are refused: their preflights get 403, and their non-GET requests and
//! WebSocket upgrades too (a page elsewhere must not be able to fire the app's templates
//! with the developer's credentials, nor listen to the live-reload socket). Product pages
//! may change state only through `/dprouter`; requests without an `Origin` (curl, tests) are
//! not browsers' and pass. This middleware must wrap outside any guard that rejects unknown
//! requests, so that preflights are answered before such a guard sees them.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};

use super::Shared;
use super::guard::is_state_changing;
use super::origin::{OriginKind, classify};

const ALLOW_METHODS: &str = "GET, POST, PUT, PATCH, DELETE, OPTIONS";
const DEFAULT_ALLOW_HEADERS: &str =
    "Content-Type, MKP-ROUTE, MKP-EXTNID, MKP-VERSIONID, MKP-AUTH-TOKEN";

pub async fn cors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    // An Origin that is not ASCII (no browser sends one) is nobody we know.
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .map(|v| v.to_str().unwrap_or_default().to_string());
    let Some(origin) = origin else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let kind = match req.app_data::<web::Data<Shared>>() {
        Some(shared) => classify(&origin, &shared.config),
        None => OriginKind::Other,
    };
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if kind == OriginKind::Other {
        // A WebSocket is opened with a GET, but the browser applies no CORS to it: the
        // Origin checked here is the only thing that keeps another site's page from reading
        // the live-reload stream (the names of the app's changed files).
        if preflight || !matches!(*req.method(), Method::GET | Method::HEAD) || is_websocket(&req) {
            let resp = HttpResponse::Forbidden().json(serde_json::json!({
                "message": format!(
                    "origin {origin} may not call fdk-emu: only its own pages ({}) and Freshworks product pages over https (*.freshdesk.com, *.freshservice.com, *.freshworks.com, *.myfreshworks.com, *.freshsales.io, *.freshchat.com, *.freshcaller.com) can",
                    super::guard::own_url(&req)
                ),
                "status": 403,
            }));
            return Ok(req.into_response(resp));
        }
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    // Product pages may call /dprouter; the setup pages change state only from our own.
    if kind == OriginKind::Freshworks
        && !preflight
        && is_state_changing(req.method())
        && req.path() != "/dprouter"
    {
        let resp = HttpResponse::Forbidden().json(serde_json::json!({
            "error": "cross_site_request",
            "message": format!(
                "fdk-emu refused a {} to {} from the Freshworks page {origin:?}: product pages may only call /dprouter. Open the setup pages from {}/.",
                req.method(),
                req.path(),
                super::guard::own_url(&req)
            ),
        }));
        return Ok(req.into_response(resp));
    }
    let origin_value = HeaderValue::from_str(&origin).ok();
    if preflight {
        let mut resp = HttpResponse::build(StatusCode::NO_CONTENT);
        if let Some(o) = origin_value {
            resp.insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, o));
        }
        resp.insert_header((header::ACCESS_CONTROL_ALLOW_CREDENTIALS, "true"))
            .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, ALLOW_METHODS))
            .insert_header((header::ACCESS_CONTROL_MAX_AGE, "600"))
            .insert_header((
                header::VARY,
                "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
            ));
        let requested = req
            .headers()
            .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .cloned()
            .unwrap_or(HeaderValue::from_static(DEFAULT_ALLOW_HEADERS));
        resp.insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, requested));
        if req
            .headers()
            .get("access-control-request-private-network")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"))
        {
            resp.insert_header(("access-control-allow-private-network", "true"));
        }
        return Ok(req.into_response(resp.finish()));
    }
    let mut res = next.call(req).await?.map_into_boxed_body();
    let h = res.headers_mut();
    if let Some(o) = origin_value {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
        h.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
        h.append(header::VARY, HeaderValue::from_static("Origin"));
    }
    Ok(res)
}

/// Whether the request asks to become a WebSocket (`Upgrade: websocket`).
fn is_websocket(req: &ServiceRequest) -> bool {
    req.headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("websocket"))
}
