//! FDK's JSON API of the installation page (`GET /custom_configs/fetch`,
//! `POST /custom_configs/store`) and the pieces of an app's own `config/iparams.html` page:
//! the page itself (`/custom_configs/form`), its `config/assets/` and our client script.
//!
//! Unlike FDK, `store` validates against iparams.json (422 with per-field errors) and
//! `fetch` never returns a secure value: it returns [`MASK`] in its place, and storing the
//! mask back keeps the stored secret (so a page that round-trips its configs loses nothing).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, get, web};
use serde_json::{Map, Value, json};

use super::{BODY_LIMIT, assets, check};
use crate::app::IparamsPage;
use crate::server::Shared;
use crate::server::body::{self, BodyError};
use crate::serverless::events::Events;
use crate::store::{MASK, Store, StoreError};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(fetch)
        .service(web::resource("/custom_configs/store").route(web::post().to(store_iparams)))
        .service(form)
        .service(client_js)
        .service(config_asset);
}

/// A JSON error answer: `{"error": code, "message": …[, "fields": {name: message}]}`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("the body is larger than {BODY_LIMIT} bytes")]
    TooLarge,
    #[error("{0}")]
    TimedOut(String),
    #[error("{0}")]
    Busy(String),
    #[error("{} field(s) are not valid", .0.len())]
    Invalid(check::FieldErrors),
    #[error("{0}")]
    NotFound(String),
    /// `onAppInstall` or `afterAppUpdate` answered with an error: nothing is stored.
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Store(#[from] StoreError),
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TimedOut(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Refused(_) => StatusCode::BAD_REQUEST,
            ApiError::Store(StoreError::Locked { .. }) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let code = match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::TooLarge => "payload_too_large",
            ApiError::TimedOut(_) => "request_timeout",
            ApiError::Busy(_) => "busy",
            ApiError::Invalid(_) => "validation_failed",
            ApiError::NotFound(_) => "not_found",
            ApiError::Refused(_) => "setup_event_failed",
            ApiError::Store(_) => "store_error",
        };
        let mut body = json!({"error": code, "message": self.to_string()});
        if let ApiError::Invalid(fields) = self {
            body["fields"] = json!(fields);
        }
        HttpResponse::build(self.status_code()).json(body)
    }
}

/// Stored values with every secure one replaced by the mask.
pub fn masked(values: Map<String, Value>, secure: &[String]) -> Map<String, Value> {
    values
        .into_iter()
        .map(|(k, v)| {
            if secure.contains(&k) {
                (k, Value::String(MASK.into()))
            } else {
                (k, v)
            }
        })
        .collect()
}

#[get("/custom_configs/fetch")]
async fn fetch(
    shared: web::Data<Shared>,
    store: web::Data<Store>,
) -> Result<HttpResponse, ApiError> {
    let app = shared.app();
    let reads = store.reads().await?;
    // A field marked secure after its value was stored is secret too.
    let mut secure = reads.secure.clone();
    secure.extend(app.iparams.secure_names());
    let values = reads.iparams.clone();
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({
            "hasIParam": app.iparams.has_iparams(),
            "customIParams": masked(values, &secure),
        })))
}

async fn store_iparams(
    req: HttpRequest,
    shared: web::Data<Shared>,
    store: web::Data<Store>,
    events: Option<web::Data<Events>>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = body::read(&req, payload, BODY_LIMIT)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge => ApiError::TooLarge,
            e @ BodyError::Unreadable(_) => ApiError::BadRequest(e.to_string()),
            e @ BodyError::TimedOut(_) => ApiError::TimedOut(e.to_string()),
            e @ BodyError::Busy => ApiError::Busy(e.to_string()),
        })?;
    let value: Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::BadRequest(format!(
            "the body is not valid JSON ({e}); send the object returned by postConfigs()"
        ))
    })?;
    let Value::Object(input) = value else {
        return Err(ApiError::BadRequest(
            "the body must be a JSON object of installation parameters, e.g. {\"api_key\": \"…\"}"
                .into(),
        ));
    };
    let app = shared.app();
    let stored = store.iparams().await?;
    let (values, secure) = match &app.iparams {
        IparamsPage::Json { fields } => {
            let c =
                check::check_values(fields, &input, stored.as_ref()).map_err(ApiError::Invalid)?;
            (c.values, c.secure)
        }
        IparamsPage::Html => {
            let stored_secure = store.secure_iparam_names().await?;
            html_values(input, stored.as_ref(), &stored_secure)?
        }
        IparamsPage::None => {
            return Err(ApiError::NotFound(
                "this app has no installation page (no config/iparams.json or config/iparams.html)"
                    .into(),
            ));
        }
    };
    // The platform runs onAppInstall (first install) or afterAppUpdate (settings saved
    // again) with the new values before it keeps them; a renderData error refuses them.
    if let Some(refusal) = super::install::setup_event(
        events.as_ref().map(|e| e.get_ref()),
        stored.is_some(),
        &values,
    )
    .await
    {
        return Err(ApiError::Refused(refusal));
    }
    store.set_iparams(values, &secure).await?;
    // FDK answers 200 with an empty body.
    Ok(HttpResponse::Ok().finish())
}

/// What an iparams.html page stores: its object as given, minus `__meta`, whose `secure` list
/// (dotted paths allowed; the top-level key is encrypted) names what to encrypt.
///
/// A value sent back as the mask for a key that holds a secret (secure in this request's
/// `__meta`, or stored encrypted: `stored_secure`) keeps the stored secret, encrypted. The
/// page got the mask from `fetch` and may send it back without `__meta` (a `postConfigs()`
/// that returns what `getConfigs` was given): without this the literal mask replaced the
/// secret, in plain text.
fn html_values(
    mut input: Map<String, Value>,
    stored: Option<&Map<String, Value>>,
    stored_secure: &[String],
) -> Result<(Map<String, Value>, Vec<String>), ApiError> {
    let meta = input.remove("__meta");
    let mut secure = Vec::new();
    if let Some(list) = meta.as_ref().and_then(|m| m.get("secure")) {
        let Some(list) = list.as_array() else {
            return Err(ApiError::BadRequest(
                "__meta.secure must be a list of keys, e.g. [\"api_key\"]".into(),
            ));
        };
        for item in list {
            let Some(path) = item.as_str() else {
                return Err(ApiError::BadRequest(
                    "__meta.secure must hold key names (strings)".into(),
                ));
            };
            let top = path.split('.').next().unwrap_or(path).to_string();
            if input.contains_key(&top) && !secure.contains(&top) {
                secure.push(top);
            }
        }
    }
    for name in stored_secure {
        let masked = input.get(name).and_then(Value::as_str) == Some(MASK);
        if masked && !secure.contains(name) {
            secure.push(name.clone());
        }
    }
    for name in &secure {
        let masked = input.get(name).and_then(Value::as_str) == Some(MASK);
        if masked && let Some(old) = stored.and_then(|s| s.get(name)) {
            input.insert(name.clone(), old.clone());
        }
    }
    Ok((input, secure))
}

/// The URL that `{{{appclient}}}` becomes on the installation page.
pub const CLIENT_URL: &str = "/custom_configs/client.js";

/// The app's `config/iparams.html`, read fresh (hot reload), with `{{{appclient}}}` replaced
/// by our client script (added to `<head>` when the page does not reference it).
#[get("/custom_configs/form")]
async fn form(shared: web::Data<Shared>) -> HttpResponse {
    let app = shared.app();
    let path = app.root.join(crate::app::IPARAMS_HTML);
    let Ok(html) = tokio::fs::read_to_string(&path).await else {
        return HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("This app has no config/iparams.html.");
    };
    let html = if html.contains("{{{appclient}}}") {
        html.replace("{{{appclient}}}", CLIENT_URL)
    } else {
        let tag = format!("<script src=\"{CLIENT_URL}\"></script>");
        match html.find("<head>") {
            Some(i) => format!("{}{tag}{}", &html[..i + 6], &html[i + 6..]),
            None => format!("{tag}{html}"),
        }
    };
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .body(html)
}

#[get("/custom_configs/client.js")]
async fn client_js() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header(("Cache-Control", "no-cache"))
        .body(assets::text("client.js").unwrap_or_default())
}

/// `config/assets/<path>`, confined to that folder.
#[get("/custom_configs/assets/{path:.*}")]
async fn config_asset(shared: web::Data<Shared>, path: web::Path<String>) -> HttpResponse {
    let rel = path.into_inner();
    let not_found = || {
        HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("not found in config/assets")
    };
    let app = shared.app();
    let base = app.root.join("config").join("assets");
    // Hidden files (`.env`, say) are not assets: safe_join refuses them.
    let Some(file) = crate::server::iframe::safe_join(&base, &rel) else {
        return not_found();
    };
    // Symlinks out of the folder are refused too.
    let (Ok(real_base), Ok(real)) = (
        tokio::fs::canonicalize(&base).await,
        tokio::fs::canonicalize(&file).await,
    ) else {
        return not_found();
    };
    let is_file = tokio::fs::metadata(&real).await.is_ok_and(|m| m.is_file());
    if !crate::server::iframe::servable(&real_base, &real) || !is_file {
        return not_found();
    }
    match tokio::fs::read(&real).await {
        Ok(bytes) => HttpResponse::Ok()
            .content_type(
                mime_guess::from_path(&real)
                    .first_or_octet_stream()
                    .as_ref(),
            )
            .insert_header(("Cache-Control", "no-cache"))
            .body(bytes),
        Err(_) => not_found(),
    }
}
