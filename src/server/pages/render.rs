//! The handlebars registry (built once from the embedded templates) and the context every
//! page shares: the app name, the step navigation and the store path.

use std::sync::OnceLock;

use actix_web::HttpResponse;
use handlebars::Handlebars;
use serde_json::{Value, json};

use super::progress::{SetupProgress, StepState};
use super::{PageError, assets};

/// Templates: `layout` and `field` are partials; the others are pages.
const TEMPLATES: [&str; 6] = [
    "layout",
    "field",
    "form_page",
    "authorize",
    "done",
    "iparams_html",
];

fn registry() -> &'static Handlebars<'static> {
    static REG: OnceLock<Handlebars<'static>> = OnceLock::new();
    REG.get_or_init(|| {
        let mut h = Handlebars::new();
        for name in TEMPLATES {
            let text = assets::text(&format!("{name}.hbs")).unwrap_or_default();
            let result = if name == "layout" || name == "field" {
                h.register_partial(name, text)
            } else {
                h.register_template_string(name, text)
            };
            // The templates are part of the binary (a unit test renders each); a broken one
            // shows when rendered.
            if let Err(e) = result {
                tracing::error!("embedded template {name}.hbs does not compile: {e}");
            }
        }
        h
    })
}

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
    let html = registry()
        .render(template, ctx)
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

#[cfg(test)]
mod tests {
    use super::TEMPLATES;

    /// A broken embedded template would only be logged at start-up and fail its page.
    #[test]
    fn every_embedded_template_compiles() {
        let mut h = handlebars::Handlebars::new();
        for name in TEMPLATES {
            let text = super::assets::text(&format!("{name}.hbs"))
                .unwrap_or_else(|| panic!("{name}.hbs is embedded"));
            h.register_template_string(name, text)
                .unwrap_or_else(|e| panic!("{name}.hbs: {e}"));
        }
    }
}
