//! The setup pages at `/custom_configs`: system settings, OAuth client credentials, OAuth
//! iparams, the authorization step and the installation page, plus FDK's JSON API for the
//! installation page.
//!
//! Pages are rendered on the server with handlebars from templates embedded in the binary
//! (`assets/pages/`), so an installed binary needs no files beside it. Every value shown is
//! escaped by handlebars; secrets are never put into a page (a stored secret shows as "set").

pub mod assets;
pub mod check;
pub mod install;
pub mod iparams_api;
pub mod oauth;
pub mod progress;
pub mod render;
pub mod setup;
pub mod system_settings;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError, web};

pub use progress::{SetupProgress, SetupStep, StepKind, setup_progress};

use crate::store::StoreError;

pub fn configure(cfg: &mut web::ServiceConfig) {
    assets::configure(cfg);
    setup::configure(cfg);
    system_settings::configure(cfg);
    oauth::configure(cfg);
    iparams_api::configure(cfg);
    install::configure(cfg);
}

/// Why a page could not be shown; rendered as a small HTML page with the reason.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    /// The form's body could not be read (too large, stalled, unreadable, or the server is
    /// busy with other large bodies), with the status to answer.
    #[error("{1}")]
    Body(StatusCode, String),
    #[error("the page template {0} could not be rendered; this is a bug in fdk-emu: {1}")]
    Render(&'static str, String),
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::BadRequest(_) => StatusCode::BAD_REQUEST,
            PageError::NotFound(_) => StatusCode::NOT_FOUND,
            PageError::Body(status, _) => *status,
            PageError::Store(StoreError::Locked { .. }) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        crate::server::render::ErrorPage::new(
            self.status_code(),
            "Something went wrong",
            self.to_string(),
        )
        .render()
    }
}

pub fn escape_html(s: &str) -> String {
    handlebars::html_escape(s)
}

/// The `integration` query parameter of the OAuth pages.
#[derive(Debug, serde::Deserialize)]
pub struct IntegrationQuery {
    pub integration: Option<String>,
}

/// 303 See Other: after a POST, the browser GETs the next page.
/// The HTML id of a form field: `f-` and the name with anything but ASCII letters and digits
/// turned into `-`.
pub fn field_id(name: &str) -> String {
    format!(
        "f-{}",
        name.replace(|c: char| !c.is_ascii_alphanumeric(), "-")
    )
}

pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", location))
        .finish()
}

/// Reads an `application/x-www-form-urlencoded` body into its pairs (repeated names kept,
/// which multiselect fields need).
pub fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// The first value of `name` in form pairs, trimmed.
pub fn form_value<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim())
}

/// Largest form or JSON body the setup pages accept (FDK's JSON parser limit).
pub const BODY_LIMIT: usize = 100 * 1024;

/// The body of a submitted setup form, or the error page that says why it was not read.
pub async fn read_form(
    req: &actix_web::HttpRequest,
    payload: web::Payload,
) -> Result<crate::server::body::Body, PageError> {
    use crate::server::body::BodyError;
    crate::server::body::read(req, payload, BODY_LIMIT)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge => PageError::Body(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "The form sent more than {} KB, more than any setup form holds. Nothing was saved.",
                    BODY_LIMIT / 1024
                ),
            ),
            e @ BodyError::TimedOut(_) => PageError::Body(
                StatusCode::REQUEST_TIMEOUT,
                format!("{e}. Nothing was saved; send the form again."),
            ),
            e @ BodyError::Busy => PageError::Body(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
            e @ BodyError::Unreadable(_) => PageError::Body(StatusCode::BAD_REQUEST, e.to_string()),
        })
}

/// The template context every page starts from, for the handler's own snapshot `app`: the
/// app name, the store path and the step navigation with `current` marked.
pub async fn page_context(
    app: &crate::app::App,
    store: &crate::store::Store,
    title: &str,
    current: Option<&str>,
) -> Result<serde_json::Value, PageError> {
    let progress = setup_progress(app, store).await?;
    Ok(render::base_context(
        &app.name,
        store.path(),
        title,
        &progress,
        current,
    ))
}
