//! The one handlebars registry: every page template of `assets/pages/` (`*.hbs`), embedded in
//! the binary so the server needs no files besides the app's. Names starting with `_` are
//! partials (`_layout`, `_field`, `_style`); the others are pages.

use std::sync::LazyLock;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use handlebars::Handlebars;
use serde_json::Value;

use super::pages::assets::PageAssets;

static REGISTRY: LazyLock<Handlebars<'static>> = LazyLock::new(|| {
    let mut hb = Handlebars::new();
    for file in PageAssets::iter() {
        let Some(name) = file.strip_suffix(".hbs") else {
            continue;
        };
        let Some(asset) = PageAssets::get(&file) else {
            continue;
        };
        let text = String::from_utf8_lossy(&asset.data);
        let result = if name.starts_with('_') {
            hb.register_partial(name, text.as_ref())
        } else {
            hb.register_template_string(name, text.as_ref())
        };
        // The templates ship inside the binary and a unit test compiles each; a broken one
        // is logged and fails its page rather than taking the server down.
        if let Err(e) = result {
            tracing::error!("the embedded template assets/pages/{file} does not compile: {e}");
        }
    }
    hb
});

/// Renders the template `name` with `data`.
pub fn render(name: &str, data: &Value) -> Result<String, handlebars::RenderError> {
    REGISTRY.render(name, data)
}

/// Renders `name` into an HTML answer for the handshake and the demo provider. These pages may
/// carry an authorization code or tokens in their URL or body: they are never cached, never
/// framed, and send a referrer to this server only (`no-referrer` would make Chromium send
/// `Origin: null` on the demo consent form, which the cross-site guard rightly refuses).
pub fn sealed_page(status: StatusCode, name: &str, data: &Value) -> HttpResponse {
    let body = render(name, data).unwrap_or_else(|e| {
        tracing::error!("page {name} cannot be rendered: {e}");
        format!(
            "<!doctype html><title>fdk-emu</title><p>fdk-emu could not render its page {name}: {}</p>",
            handlebars::html_escape(&e.to_string())
        )
    });
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Referrer-Policy", "same-origin"))
        .insert_header(("X-Frame-Options", "DENY"))
        .body(body)
}

/// JSON text safe to place inside a `<script>` element: no `</script>`, no HTML comment
/// openers, no line separators that end a JavaScript string.
pub fn script_json(v: &Value) -> String {
    v.to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// The one error page: what went wrong, why, what to do, and a way on. Used by the setup
/// pages ([`super::pages::PageError`]), the handshake and the demo provider.
pub struct ErrorPage<'a> {
    pub status: StatusCode,
    pub title: &'a str,
    pub message: String,
    pub hint: Option<String>,
    pub retry_url: Option<String>,
    pub provider_error: Option<(String, Option<String>, Option<String>)>,
}

impl<'a> ErrorPage<'a> {
    /// A page with a title and a message only.
    pub fn new(status: StatusCode, title: &'a str, message: String) -> ErrorPage<'a> {
        ErrorPage {
            status,
            title,
            message,
            hint: None,
            retry_url: None,
            provider_error: None,
        }
    }

    pub fn render(self) -> HttpResponse {
        self.render_for_opener(None)
    }

    /// In an agent-level popup, also tells the opening page (on our origin only) that the
    /// handshake failed, so the app's `reAuthorize` promise rejects with the reason. The
    /// popup stays open so the developer can read the page.
    pub fn render_for_opener(self, opener_message: Option<&Value>) -> HttpResponse {
        let (provider_error, provider_description, provider_uri) = match self.provider_error {
            Some((e, d, u)) => (Some(e), d, u),
            None => (None, None, None),
        };
        sealed_page(
            self.status,
            "error",
            &serde_json::json!({
                "title": self.title,
                "message": self.message,
                "hint": self.hint,
                "retry_url": self.retry_url,
                "back_url": "/custom_configs",
                "provider_error": provider_error,
                "provider_description": provider_description,
                "provider_uri": provider_uri,
                "opener_message": opener_message.map(script_json),
            }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(r: HttpResponse) -> String {
        let b = actix_web::body::to_bytes(r.into_body());
        let bytes = futures_util::FutureExt::now_or_never(b)
            .expect("ready")
            .unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// A broken embedded template would only be logged at start-up and fail its page.
    #[test]
    fn every_embedded_template_compiles() {
        let mut names = 0;
        for file in PageAssets::iter().filter(|f| f.ends_with(".hbs")) {
            let text = String::from_utf8_lossy(&PageAssets::get(&file).expect("embedded").data)
                .into_owned();
            handlebars::Template::compile(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
            names += 1;
        }
        assert!(names >= 10, "only {names} templates embedded");
    }

    #[test]
    fn every_page_renders_and_escapes() {
        let r = ErrorPage {
            status: StatusCode::BAD_REQUEST,
            title: "State <b>",
            message: "m <script>".into(),
            hint: None,
            retry_url: Some("/auth/index?integration=a&b=<".into()),
            provider_error: Some(("access_denied".into(), Some("d".into()), None)),
        }
        .render();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let html = body(r);
        assert!(html.contains("State &lt;b&gt;"), "{html}");
        assert!(!html.contains("<script>"));
        assert!(html.contains("access_denied"));
        let html = body(sealed_page(
            StatusCode::OK,
            "agent_landing",
            &json!({"display_name": "X", "message_json": script_json(&json!({"a": "</script>"}))}),
        ));
        assert!(html.contains(r#"{"a":"\u003c/script\u003e"}"#), "{html}");
        let html = body(sealed_page(
            StatusCode::OK,
            "demo_authorize",
            &json!({"client_id": "c", "redirect_uri": "r", "state": "s", "scope": "p", "ttl": 120, "action": "/x"}),
        ));
        assert!(html.contains(r#"id="authorize""#));
    }
}
