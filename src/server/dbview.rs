//! The data viewer at `GET /_fdk-emu/db`: every key the app stored with `client.db` or `$db`,
//! per product, to view, edit and delete, as Firebase's emulator UI shows its database.
//!
//! The page (`assets/pages/db.hbs`, script `db.js`) talks to a small JSON API under
//! `/_fdk-emu/db/api/`. Its writes go through the key-value core's checks and limits (an edit
//! is a `set` that keeps the key's expiry) but not its rate limit: the developer makes them,
//! not the app. Writes from other origins are refused by the CORS middleware like those of
//! the setup pages; values are not secret, so nothing is masked.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Shared;
use super::body::{self, BodyError};
use super::pages::render::{page, with};
use super::pages::{PageError, page_context};
use crate::kv::{Kv, KvError, Scope};
use crate::store::{KvRecord, Store};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/_fdk-emu/db", web::get().to(viewer))
        .route("/_fdk-emu/db/api/keys", web::get().to(list))
        .route("/_fdk-emu/db/api/key", web::put().to(edit))
        .route("/_fdk-emu/db/api/key", web::delete().to(remove));
}

async fn viewer(
    shared: web::Data<Shared>,
    store: web::Data<Store>,
) -> Result<HttpResponse, PageError> {
    let app = shared.app();
    let ctx = page_context(&app, &store, "Data viewer", None).await?;
    let ctx = with(
        ctx,
        json!({"intro": "The keys the app stored with client.db and $db, per product. Expired keys are gone from this list as they are for the app."}),
    );
    page("db", &ctx)
}

/// One key as the viewer shows it: the value parsed, the times as Unix milliseconds.
fn entry(r: &KvRecord) -> Value {
    json!({
        "scope": r.scope,
        "key": r.key,
        "value": serde_json::from_str::<Value>(&r.value).unwrap_or(Value::String(r.value.clone())),
        "created_at": r.created_at,
        "updated_at": r.updated_at,
        "expires_at": r.expires_at,
    })
}

fn error(e: &KvError) -> HttpResponse {
    HttpResponse::build(StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST))
        .json(e.body())
}

async fn list(kv: web::Data<Kv>) -> HttpResponse {
    match kv.list().await {
        Ok(rows) => HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .json(json!({"keys": rows.iter().map(entry).collect::<Vec<_>>()})),
        Err(e) => error(&e),
    }
}

#[derive(Debug, Deserialize)]
struct KeyQuery {
    scope: String,
    key: String,
}

/// Largest edited value accepted (the platform's limit is far below; this bounds the read).
const BODY_LIMIT: usize = 1024 * 1024;

async fn edit(
    req: HttpRequest,
    kv: web::Data<Kv>,
    q: web::Query<KeyQuery>,
    payload: web::Payload,
) -> HttpResponse {
    let body = match body::read(&req, payload, BODY_LIMIT).await {
        Ok(b) => b,
        Err(BodyError::TooLarge) => {
            return error(&KvError::BadRequest(format!(
                "the value is larger than {} KB",
                BODY_LIMIT / 1024
            )));
        }
        Err(e) => {
            return error(&KvError::BadRequest(format!(
                "the value could not be read: {e}"
            )));
        }
    };
    let value: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return error(&KvError::BadRequest(format!(
                "the value is not valid JSON: {e}"
            )));
        }
    };
    match kv.edit(&Scope::named(&q.scope), &q.key, value).await {
        Ok(()) => HttpResponse::Ok().json(json!({"Updated": true})),
        Err(e) => error(&e),
    }
}

async fn remove(kv: web::Data<Kv>, q: web::Query<KeyQuery>) -> HttpResponse {
    match kv.remove(&Scope::named(&q.scope), &q.key).await {
        Ok(true) => HttpResponse::Ok().json(json!({"Deleted": true})),
        Ok(false) => error(&KvError::NotFound {
            key: q.key.clone(),
            scope: q.scope.clone(),
            elsewhere: vec![],
        }),
        Err(e) => error(&e),
    }
}
