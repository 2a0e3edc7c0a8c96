//! The inspector's record of an SMI call or a `db` operation made through `/dprouter`. The
//! routes stay as they are: the call is recorded from what came in and what went out, once,
//! here (the template route records itself: its record knows the upstream and the
//! substitutions, which the answer alone does not show).

use actix_web::HttpResponse;
use actix_web::web::Bytes;
use serde_json::Value;

use super::Ctx;
use crate::inspect::{Call, Kind, Masker, Started};

/// Records the call `route` answered with `response`, and hands the response on unchanged.
pub(super) async fn record(
    ctx: &Ctx,
    kind: Kind,
    caller: Option<&str>,
    request: &Bytes,
    started: Started,
    response: HttpResponse,
) -> HttpResponse {
    if !ctx.inspector.is_recording() {
        return response;
    }
    // Every answer of these routes is a buffered JSON body: reading it back is a copy.
    let (head, body) = response.into_parts();
    let bytes = actix_web::body::to_bytes(body).await.unwrap_or_default();
    let asked: Option<Value> = serde_json::from_slice(request).ok();
    let answered: Option<Value> = serde_json::from_slice(&bytes).ok();
    let field = |v: &Option<Value>, k: &str| -> Option<String> {
        match v.as_ref()?.get(k)? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    };
    let name = match kind {
        Kind::Smi => field(&asked, "methodName").unwrap_or_else(|| "(no methodName)".into()),
        _ => match (field(&asked, "action"), field(&asked, "dbKey")) {
            (Some(a), Some(k)) => format!("{a} {k}"),
            (Some(a), None) => a,
            _ => "(not a db call)".into(),
        },
    };
    // SMI answers an app's failure with HTTP 200 and the status in the body, as FDK does;
    // the inspector shows the status the app meant.
    let http = head.status().as_u16();
    let status = answered
        .as_ref()
        .and_then(|v| v.get("status"))
        .and_then(|s| match s {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        })
        .and_then(|n| u16::try_from(n).ok())
        .filter(|_| http < 400)
        .unwrap_or(http);
    let masker = masker(ctx).await;
    let url = format!("{}/dprouter", ctx.shared.config.base_url());
    let route = if kind == Kind::Smi { "smi" } else { "db" };
    ctx.inspector.call(
        Call {
            caller,
            request: Some(request),
            url: Some(&url),
            headers: &[("MKP-ROUTE", route), ("Content-Type", "application/json")],
            status,
            ok: status < 400,
            result: Some(&bytes),
            ..Call::new(kind, &name)
        }
        .started(started),
        &masker,
    );
    head.set_body(bytes).map_into_boxed_body()
}

/// The secure iparams' values ([`Masker::secure_iparams`]).
async fn masker(ctx: &Ctx) -> Masker {
    match ctx.store.reads().await {
        Ok(reads) => Masker::secure_iparams(&reads, &ctx.shared.app()),
        Err(_) => Masker::default(),
    }
}
