//! `WS /notify-change`: live reload. Every change the watcher sees is sent to each open
//! socket as `{"file": "<path relative to the app folder>"}`, FDK's message shape, and the
//! hook added to the app's HTML pages reloads the page on any message.

use actix_web::{HttpRequest, HttpResponse, get, rt, web};
use tokio::sync::broadcast::error::RecvError;

use super::Shared;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(notify_change);
}

/// The script appended to HTML pages served under `/iframe/`. It reconnects quietly when
/// the server restarts, so a page left open picks up the new server.
pub const RELOAD_HOOK: &str = r#"<script>(function(){function c(){var w=new WebSocket((location.protocol==='https:'?'wss://':'ws://')+location.host+'/notify-change');w.onmessage=function(){location.reload();};w.onclose=function(){setTimeout(c,1000);};}c();})();</script>"#;

#[get("/notify-change")]
async fn notify_change(
    req: HttpRequest,
    body: web::Payload,
    shared: web::Data<Shared>,
) -> Result<HttpResponse, actix_web::Error> {
    let (response, mut session, mut incoming) = actix_ws::handle(&req, body)?;
    let mut changes = shared.snapshot.subscribe();
    rt::spawn(async move {
        loop {
            tokio::select! {
                change = changes.recv() => match change {
                    Ok(c) => {
                        let msg = serde_json::json!({ "file": c.file }).to_string();
                        if session.text(msg).await.is_err() {
                            break;
                        }
                    }
                    // A slow client missed some changes: one reload covers them all.
                    Err(RecvError::Lagged(_)) => {
                        if session.text(r#"{"file":""}"#).await.is_err() {
                            break;
                        }
                    }
                    Err(RecvError::Closed) => break,
                },
                msg = futures_util::StreamExt::next(&mut incoming) => match msg {
                    Some(Ok(actix_ws::Message::Ping(p))) if session.pong(&p).await.is_err() => break,
                    Some(Ok(actix_ws::Message::Close(_))) | None | Some(Err(_)) => break,
                    _ => {}
                },
            }
        }
        let _ = session.close(None).await;
    });
    Ok(response)
}
