//! `GET /`: the home page. The app's name, its validation state, the setup steps with links,
//! and each location of the manifest rendered in an iframe, so the app can be tried without
//! a product account.

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use super::Shared;
use super::pages::escape_html as esc;
use super::pages::progress::{StepState, encode as enc};
use super::pages::setup_progress;
use crate::store::Store;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home));
}

async fn home(shared: web::Data<Shared>, store: web::Data<Store>) -> HttpResponse {
    let app = shared.app();
    let report = shared.report();
    let errors = report.errors().count();
    let warnings = report.warnings().count();
    let mut h = String::with_capacity(4096);
    h.push_str("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">");
    h.push_str(&format!("<title>{} · fdk-emu</title>", esc(&app.name)));
    // The setup pages' stylesheet, so the home page looks like the rest of fdk-emu.
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
        <link rel=\"stylesheet\" href=\"/_fdk-emu/pages.css\">\
        <style>main{max-width:960px}section.card{margin:0 0 18px}section.card h2{font-size:18px;margin:0 0 8px}\
        .ok{color:var(--ok)}.bad{color:var(--bad)}.warn{color:#a05e00}li{margin:.2rem 0}\
        h3{font-size:15px;margin:16px 0 6px}h3 small{color:var(--muted);font-weight:400}\
        iframe{border:1px solid var(--line);border-radius:6px}</style></head><body>");
    h.push_str(&format!(
        "<header class=\"top\"><div class=\"brand\"><span class=\"logo\" aria-hidden=\"true\">◆</span> fdk-emu \
         <span class=\"app\">{}</span></div></header><main><h1>{}</h1>\
         <p class=\"intro\">Platform {} · served by fdk-emu</p>",
        esc(&app.name),
        esc(&app.name),
        esc(app.manifest.platform_version.as_deref().unwrap_or("?"))
    ));
    h.push_str("<section id=\"validation\" class=\"card\"><h2>Validation</h2>");
    if errors == 0 {
        h.push_str(&format!(
            "<p class=\"ok\">Valid{}.</p>",
            if warnings > 0 {
                format!(" with {warnings} warning(s)")
            } else {
                String::new()
            }
        ));
    } else {
        h.push_str(&format!(
            "<p class=\"bad\">{errors} error(s), {warnings} warning(s){}.</p>",
            if shared.is_stale() {
                " — the last good version of the app is being served"
            } else {
                ""
            }
        ));
    }
    if !report.diagnostics.is_empty() {
        h.push_str("<ul>");
        for d in report.diagnostics.iter().take(50) {
            h.push_str(&format!(
                "<li><code>{}:{}:{}</code> {}</li>",
                esc(&d.file),
                d.line,
                d.column,
                esc(&d.message)
            ));
        }
        h.push_str("</ul>");
    }
    h.push_str("<p>Details: <a href=\"/api/status\">/api/status</a></p></section>");

    h.push_str("<section id=\"setup\" class=\"card\"><h2>Setup</h2><ol>");
    match setup_progress(&app, &store).await {
        Ok(progress) => {
            for step in &progress.steps {
                let done = step.state == StepState::Done;
                h.push_str(&format!(
                    "<li class=\"{}\"><a href=\"{}\">{}</a>: {}{}</li>",
                    if done { "ok" } else { "warn" },
                    esc(&step.url),
                    esc(&step.title),
                    if done { "done" } else { "to do" },
                    step.note
                        .as_deref()
                        .map(|n| format!(" ({})", esc(n)))
                        .unwrap_or_default()
                ));
            }
            if progress.steps.is_empty() {
                h.push_str("<li>Nothing to set up.</li>");
            }
        }
        Err(e) => h.push_str(&format!(
            "<li class=\"bad\">The store cannot be read: {}</li>",
            esc(&e.to_string())
        )),
    }
    h.push_str("</ol></section>");
    h.push_str("<p id=\"data-viewer\"><a href=\"/_fdk-emu/db\">Data viewer</a>: the keys the app stored with <code>client.db</code> and <code>$db</code>, to view, edit or delete.</p>");

    h.push_str("<section id=\"locations\" class=\"card\"><h2>Locations</h2>");
    if app.manifest.locations.is_empty() {
        h.push_str("<p>The manifest declares no front-end location.</p>");
    }
    for loc in &app.manifest.locations {
        let url = loc.url.as_deref().unwrap_or("index.html");
        let src = format!(
            "/iframe/{}?location={}&module={}",
            url.trim_start_matches('/'),
            enc(&loc.placeholder),
            enc(&loc.owner)
        );
        h.push_str(&format!(
            "<h3>{} <small>({})</small></h3><iframe title=\"{}\" data-location=\"{}\" src=\"{}\"></iframe>",
            esc(&loc.placeholder),
            esc(&loc.owner),
            esc(&loc.placeholder),
            esc(&loc.placeholder),
            esc(&src)
        ));
    }
    h.push_str("</section></main>");
    h.push_str(super::live::RELOAD_HOOK);
    h.push_str("</body></html>");
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(h)
}
