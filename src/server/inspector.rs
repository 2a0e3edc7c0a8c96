//! The request inspector's page and API, over the recorder of [`crate::inspect`]:
//!
//! * `GET /_fdk-emu/inspector`: the page (`assets/pages/inspector.hbs` + `inspector.js`);
//! * `GET /_fdk-emu/inspector/records?kind=&name=&status=&limit=`: the kept calls, oldest
//!   first, as summaries (`full=1`: whole records);
//! * `GET /_fdk-emu/inspector/records/{id}`: one call in full, with its `curl` command;
//! * `GET /_fdk-emu/inspector/stream`: every new call, live, as server-sent events;
//! * `POST /_fdk-emu/inspector/clear`: forgets the kept calls.
//!
//! Server-sent events rather than a WebSocket: the stream goes one way, `EventSource` in the
//! browser reconnects by itself and sends the id of the last record it got
//! (`Last-Event-ID`), from which the stream resumes without a gap, and a test or a script can
//! read it with any HTTP client (`curl -N`).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use super::Shared;
use super::render;
use crate::inspect::{Entry, Filter, Inspector, Kind, StatusFilter, curl};

/// How often an idle stream sends a comment, so that a closed page is noticed and its task
/// ends.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/_fdk-emu/inspector", web::get().to(page))
        .route("/_fdk-emu/inspector/records", web::get().to(records))
        .route("/_fdk-emu/inspector/records/{id}", web::get().to(record))
        .route("/_fdk-emu/inspector/stream", web::get().to(stream))
        .route("/_fdk-emu/inspector/clear", web::post().to(clear));
}

async fn page(shared: web::Data<Shared>, inspector: web::Data<Inspector>) -> HttpResponse {
    let app = shared.app();
    let limits = inspector.limits();
    let html = render::render(
        "inspector",
        &json!({
            "app_name": app.name,
            "recording": inspector.is_recording(),
            "keeps": limits.records,
            "log_file": inspector.log_file().map(|p| p.display().to_string()),
            "templates": app.templates.keys().collect::<Vec<_>>(),
            "kinds": Kind::ALL.map(Kind::as_str),
        }),
    )
    .unwrap_or_else(|e| {
        tracing::error!("the inspector page cannot be rendered: {e}");
        format!(
            "<!doctype html><title>fdk-emu</title><p>fdk-emu could not render the inspector page: {}</p>",
            handlebars::html_escape(&e.to_string())
        )
    });
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(html)
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    kind: Option<String>,
    name: Option<String>,
    status: Option<String>,
    limit: Option<usize>,
    full: Option<String>,
}

/// A filter from the query, or what is wrong with it.
fn filter(q: &ListQuery) -> Result<Filter, String> {
    let kind = match q.kind.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(k) => Some(Kind::parse(k).ok_or_else(|| {
            format!(
                "kind `{}` is not one of {}",
                crate::inspect::text::clean(k, 64),
                Kind::ALL.map(Kind::as_str).join(", ")
            )
        })?),
    };
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(StatusFilter::parse(s).ok_or_else(|| {
            format!(
                "status `{}` is not ok, error, 2xx…5xx or a status code",
                crate::inspect::text::clean(s, 64)
            )
        })?),
    };
    Ok(Filter {
        kind,
        name: q.name.clone().filter(|s| !s.is_empty()),
        status,
    })
}

fn bad_request(message: String) -> HttpResponse {
    HttpResponse::BadRequest().json(json!({"status": 400, "message": message}))
}

async fn records(inspector: web::Data<Inspector>, q: web::Query<ListQuery>) -> HttpResponse {
    let f = match filter(&q) {
        Ok(f) => f,
        Err(m) => return bad_request(m),
    };
    let max = q.limit.unwrap_or(usize::MAX);
    let full = q.full.as_deref().is_some_and(|v| v == "1" || v == "true");
    let entries = inspector.list(&f, max);
    // Built by hand: full records are already JSON text, summaries borrow from the entries.
    let items: Vec<Value> = entries
        .iter()
        .map(|e| {
            if full {
                serde_json::from_str(e.json()).unwrap_or(Value::Null)
            } else {
                serde_json::to_value(e.summary()).unwrap_or(Value::Null)
            }
        })
        .collect();
    let (kept, bytes) = inspector.usage();
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({
            "recording": inspector.is_recording(),
            "kept": kept,
            "bytes": bytes,
            "limit": inspector.limits().records,
            "last_id": inspector.last_id(),
            "records": items,
        }))
}

async fn record(inspector: web::Data<Inspector>, id: web::Path<String>) -> HttpResponse {
    let found = id.parse::<u64>().ok().and_then(|id| inspector.get(id));
    let Some(entry) = found else {
        return HttpResponse::NotFound().json(json!({
            "status": 404,
            "message": format!(
                "no call {} is kept: the inspector keeps the last {} calls",
                crate::inspect::text::clean(&id, 32),
                inspector.limits().records
            ),
        }));
    };
    let mut v: Value = serde_json::from_str(entry.json()).unwrap_or(Value::Null);
    if let Some(obj) = v.as_object_mut() {
        let command = entry.record.request.as_ref().and_then(curl::command);
        obj.insert("curl".into(), command.map_or(Value::Null, Value::String));
    }
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(v)
}

async fn clear(inspector: web::Data<Inspector>) -> HttpResponse {
    inspector.clear();
    HttpResponse::NoContent().finish()
}

#[derive(Debug, Default, Deserialize)]
struct StreamQuery {
    /// Send the kept records after this id first (the page passes the last one it listed).
    after: Option<u64>,
}

/// What one open stream holds.
struct Stream {
    live: tokio::sync::broadcast::Receiver<Arc<Entry>>,
    backlog: VecDeque<Arc<Entry>>,
    /// The id of the last record sent; nothing at or before it is sent again.
    last: u64,
    inspector: Inspector,
    hello: bool,
}

async fn stream(
    req: HttpRequest,
    inspector: web::Data<Inspector>,
    q: web::Query<StreamQuery>,
) -> HttpResponse {
    let resume = req
        .headers()
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .or(q.after);
    // Subscribe first, then read what is kept: a record made in between is in both, and
    // `last` keeps it from being sent twice.
    let live = inspector.subscribe();
    let (last, backlog) = match resume {
        Some(after) => (after, inspector.after(after).into()),
        None => (inspector.last_id(), VecDeque::new()),
    };
    let state = Stream {
        live,
        backlog,
        last,
        inspector: inspector.get_ref().clone(),
        hello: true,
    };
    let body = futures_util::stream::unfold(state, |mut st| async move {
        let chunk = next_chunk(&mut st).await?;
        Some((Ok::<_, Infallible>(chunk), st))
    });
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/event-stream"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .streaming(body)
}

/// The next piece of the stream; `None` ends it (the server is stopping).
async fn next_chunk(st: &mut Stream) -> Option<Bytes> {
    if st.hello {
        st.hello = false;
        // Sent at once, so the browser sees the stream open; and how soon to reconnect.
        return Some(Bytes::from_static(b"retry: 1000\n: fdk-emu inspector\n\n"));
    }
    loop {
        while let Some(e) = st.backlog.pop_front() {
            if e.record.id > st.last {
                st.last = e.record.id;
                return Some(event(&e));
            }
        }
        tokio::select! {
            got = st.live.recv() => match got {
                Ok(e) if e.record.id > st.last => {
                    st.last = e.record.id;
                    return Some(event(&e));
                }
                Ok(_) => {}
                // Fell behind: what was missed is still kept (or was dropped by the bound).
                Err(RecvError::Lagged(_)) => st.backlog = st.inspector.after(st.last).into(),
                Err(RecvError::Closed) => return None,
            },
            () = tokio::time::sleep(KEEP_ALIVE) => return Some(Bytes::from_static(b": keep-alive\n\n")),
        }
    }
}

/// One record as an event. JSON text has no line breaks, so it fits one `data:` line.
fn event(e: &Entry) -> Bytes {
    let json = e.json();
    let mut out = String::with_capacity(json.len() + 40);
    out.push_str("id: ");
    out.push_str(&e.record.id.to_string());
    out.push_str("\nevent: record\ndata: ");
    out.push_str(json);
    out.push_str("\n\n");
    Bytes::from(out)
}
