//! `MKP-ROUTE: db`: `client.db.set/get/update/delete`, in FDK's wire format (see
//! [`crate::kv::call`]), run by the key-value core ([`crate::kv::Kv`]).
//!
//! The edge's part: the route's permission (closed while the app has settings and none are
//! saved, as FDK's "install" state), which product's keys the call sees (`?product=` or
//! `?module=` of the URL, else the app's first product), the answer in FDK's shape, and one
//! line on the terminal per call.

use std::time::Instant;

use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::json;

use super::Ctx;
use crate::kv::{Call, KvError, Scope};
use crate::server::handshake::query;

pub(super) async fn call(ctx: &Ctx, req: &HttpRequest, body: &Bytes) -> HttpResponse {
    let started = Instant::now();
    let app = ctx.shared.app();
    if app.iparams.has_iparams() {
        match ctx.store.reads().await {
            Ok(r) if r.installed => {}
            Ok(_) => {
                log(
                    "db → 404 Route not allowed: the app is not installed yet (save its settings at /custom_configs)",
                );
                return HttpResponse::NotFound().json(json!({
                    "message": "Route not allowed",
                    "status": 404,
                    "detail": format!(
                        "the db route opens once the app is installed: save its settings at {}/custom_configs first (FDK allows only smi, proxy and oauth before that)",
                        ctx.shared.config.base_url()
                    ),
                }));
            }
            Err(e) => return answer_error(&KvError::from(e)),
        }
    }
    let q = query(req);
    let outcome = async {
        let scope = Scope::resolve(
            &app.manifest,
            q.get("product").map(String::as_str),
            q.get("module").map(String::as_str),
        )?;
        let call = Call::from_slice(body)?;
        let what = (call.action(), call.key().to_string());
        let answer = ctx.kv.call(&scope, call).await;
        Ok::<_, KvError>((scope, what, answer))
    }
    .await;
    let (scope, (action, key), answer) = match outcome {
        Ok(parts) => parts,
        Err(e) => {
            log(&format!(
                "db ✗ {}",
                e.detail().unwrap_or_else(|| e.to_string())
            ));
            return answer_error(&e);
        }
    };
    let ms = started.elapsed().as_secs_f64() * 1e3;
    match answer {
        Ok(a) => {
            log(&format!(
                "db {action} \"{}\" ({scope}) → {} in {ms:.1} ms",
                crate::term::short(&key),
                a.status()
            ));
            HttpResponse::build(StatusCode::from_u16(a.status()).unwrap_or(StatusCode::OK))
                .content_type("application/json")
                .body(a.body_text())
        }
        Err(e) => {
            log(&format!(
                "db {action} \"{}\" ({scope}) → {} {}{}",
                crate::term::short(&key),
                e.status(),
                e,
                e.detail().map(|d| format!(": {d}")).unwrap_or_default()
            ));
            answer_error(&e)
        }
    }
}

/// The longest db line on the terminal: room for a cut key and any error of the kv core.
const LOGGED_LINE_CHARS: usize = 2000;

fn answer_error(e: &KvError) -> HttpResponse {
    let code = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
    HttpResponse::build(code).json(e.body())
}

/// One line to the terminal, written at once (stderr is unbuffered), caller text escaped
/// and the line bounded (the key in it is cut to [`crate::term::MAX_CHARS`] already).
fn log(line: &str) {
    let mut out = crate::term::cut(line, LOGGED_LINE_CHARS).into_owned();
    out.push('\n');
    let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), out.as_bytes());
}
