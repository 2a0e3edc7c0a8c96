//! The pages' own static files (CSS, scripts), embedded in the binary and served under
//! `/_fdk-emu/`, a prefix no FDK route uses.

use actix_web::{HttpResponse, get, web};

#[derive(rust_embed::RustEmbed)]
#[folder = "assets/pages/"]
pub struct PageAssets;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(static_file).service(favicon);
}

/// fdk-emu's icon (the ◆ of the pages' header, 32×32), for the browser tab; without it every
/// page load logged a 404.
#[get("/favicon.ico")]
async fn favicon() -> HttpResponse {
    match PageAssets::get("favicon.ico") {
        Some(f) => HttpResponse::Ok()
            .content_type("image/x-icon")
            .insert_header(("Cache-Control", "max-age=86400"))
            .body(f.data.into_owned()),
        None => HttpResponse::NotFound().body("not found"),
    }
}

/// The text of an embedded asset (templates and scripts).
pub fn text(name: &str) -> Option<String> {
    PageAssets::get(name).map(|f| String::from_utf8_lossy(&f.data).into_owned())
}

#[get("/_fdk-emu/{file}")]
async fn static_file(file: web::Path<String>) -> HttpResponse {
    let name = file.into_inner();
    let allowed = name.ends_with(".css") || name.ends_with(".js");
    match PageAssets::get(&name).filter(|_| allowed) {
        Some(f) => HttpResponse::Ok()
            .content_type(
                mime_guess::from_path(&name)
                    .first_or_octet_stream()
                    .as_ref(),
            )
            .insert_header(("Cache-Control", "no-cache"))
            .body(f.data.into_owned()),
        None => HttpResponse::NotFound().body("not found"),
    }
}
