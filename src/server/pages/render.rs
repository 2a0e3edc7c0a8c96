//! The context every setup page shares (the app name, the step navigation and the store
//! path) and their rendering with the one registry ([`crate::server::render`]).

use actix_web::HttpResponse;
use serde_json::{Value, json};

use super::PageError;
use super::progress::{SetupProgress, StepState};

/// The context shared by every page.
pub fn base_context(
    app_name: &str,
    store_path: &std::path::Path,
    title: &str,
    progress: &SetupProgress,
    current: Option<&str>,
) -> Value {
    let steps: Vec<Value> = progress
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let done = s.state == StepState::Done;
            json!({
                "number": i + 1,
                "title": s.title,
                "url": s.url,
                "done": done,
                "state": if done { "done" } else { "todo" },
                "state_label": if done { "done" } else { "to do" },
                "current": current == Some(s.id.as_str()),
            })
        })
        .collect();
    json!({
        "app_name": app_name,
        "title": title,
        "steps": steps,
        "store_path": store_path.display().to_string(),
    })
}

/// Renders a page template with `ctx` into a 200 HTML response.
pub fn page(template: &'static str, ctx: &Value) -> Result<HttpResponse, PageError> {
    page_with_status(template, ctx, actix_web::http::StatusCode::OK)
}

pub fn page_with_status(
    template: &'static str,
    ctx: &Value,
    status: actix_web::http::StatusCode,
) -> Result<HttpResponse, PageError> {
    let html = crate::server::render::render(template, ctx)
        .map_err(|e| PageError::Render(template, e.to_string()))?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .body(html))
}

/// Merges `extra` into the object `base`.
pub fn with(mut base: Value, extra: Value) -> Value {
    if let (Some(b), Value::Object(e)) = (base.as_object_mut(), extra) {
        b.extend(e);
    }
    base
}
