//! `MKP-ROUTE: proxy`: `client.request.invokeTemplate`. The template is rendered and sent by
//! the invoker; the answer is always 200 with FDK's envelope, and one line goes to the
//! terminal.

use actix_web::HttpResponse;
use actix_web::web::Bytes;

use super::Ctx;
use crate::invoke::InvokeRequest;
use crate::sources::StoreSources;

pub(super) async fn call(ctx: &Ctx, body: &Bytes) -> HttpResponse {
    let call = match InvokeRequest::from_body(body) {
        Ok(c) => c,
        Err(e) => return super::error(400, e.to_string()),
    };
    let app = ctx.shared.app();
    let template = call.template.clone();
    let sources = StoreSources::new(&ctx.store, &ctx.tokens);
    let outcome = ctx.invoker.invoke(&app, call, &sources).await;
    // One write per line: stderr is unbuffered, and eprintln! would write the line and its
    // newline separately on every call.
    let mut line = outcome.log_line(&template);
    line.push('\n');
    let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), line.as_bytes());
    HttpResponse::Ok().json(&outcome.envelope)
}
