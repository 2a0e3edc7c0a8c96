//! What `server.js` asks fdk-emu to do while it runs: `$request.invokeTemplate`, `$db` (the
//! `db` route's key-value store), `$schedule` ([`super::schedule`]) and `generateTargetUrl`
//! (the external events' URL on this server).
//!
//! Each is served by the same core the HTTP edge uses, with the same snapshot of the app,
//! the same store and the same token lifecycle: a template called from `server.js` is
//! rendered, sent, refreshed and limited exactly like one called from the browser (and the
//! production rate limit is shared by both, as on the platform).

use std::sync::Arc;

use serde_json::{Value, json};

use super::schedule::Schedules;
use super::terminal;
use crate::invoke::{InvokeRequest, Invoker};
use crate::kv::{Call, Kv, Scope};
use crate::oauth::TokenManager;
use crate::snapshot::Snapshot;
use crate::sources::StoreSources;
use crate::store::Store;

/// The answer to one request of the worker: resolve the app's promise with `value`, or
/// reject it with `value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub ok: bool,
    pub value: Value,
}

impl Reply {
    /// A refusal in the shape the platform's serverless APIs reject with.
    fn reject(status: u16, message: String) -> Reply {
        Reply {
            ok: false,
            value: json!({"status": status, "message": message, "errorSource": "APP"}),
        }
    }
}

/// Who asks: the handler running, and the kind of its call.
#[derive(Debug, Clone, Copy, Default)]
pub struct Asker<'a> {
    pub handler: Option<&'a str>,
    pub kind: Option<&'a str>,
}

/// The requests the worker sends, by `op`.
enum Op {
    /// `$request.invokeTemplate(name, {context, body, query})`.
    InvokeTemplate(Box<InvokeRequest>),
    /// `$db.set/get/delete/update`: the body the `db` route takes (`{action, dbKey, …}`).
    Db(Value),
    /// `$schedule.create/fetch/update/delete/pause/resume`: `{action, options}`.
    Schedule(Value),
    /// `generateTargetUrl()` for external events.
    TargetUrl,
}

impl Op {
    fn parse(op: &str, args: Value) -> Result<Op, String> {
        match op {
            "invokeTemplate" => {
                let name = args
                    .get("name")
                    .and_then(Value::as_str)
                    .filter(|n| !n.is_empty())
                    .ok_or("$request.invokeTemplate(name, options): name must be the name of a template of config/requests.json")?
                    .to_string();
                let options = args.get("options").cloned();
                InvokeRequest::from_data(name.clone(), options)
                    .map(|call| Op::InvokeTemplate(Box::new(call)))
                    .map_err(|e| {
                        format!(
                            "$request.invokeTemplate('{name}', options): the options are {{context, body, query}}; {e}"
                        )
                    })
            }
            "db" => Ok(Op::Db(args)),
            "schedule" => Ok(Op::Schedule(args)),
            "generateTargetUrl" => Ok(Op::TargetUrl),
            other => Err(format!(
                "fdk-emu does not know the request `{other}` of its Node worker"
            )),
        }
    }
}

/// Serves the worker's requests with the server's cores.
pub struct Callbacks {
    snapshot: Arc<Snapshot>,
    store: Store,
    tokens: Arc<TokenManager>,
    invoker: Invoker,
    kv: Arc<Kv>,
    schedules: Arc<Schedules>,
    /// `http://localhost:PORT`, where external events arrive.
    base_url: String,
}

impl Callbacks {
    /// `invoker` shares the rate limiter and compiled templates of the HTTP edge's, `kv` the
    /// key-value store and its rate limit.
    pub fn new(
        snapshot: Arc<Snapshot>,
        store: Store,
        tokens: Arc<TokenManager>,
        invoker: Invoker,
        kv: Arc<Kv>,
        schedules: Arc<Schedules>,
        base_url: String,
    ) -> Callbacks {
        Callbacks {
            snapshot,
            store,
            tokens,
            invoker,
            kv,
            schedules,
            base_url,
        }
    }

    /// Answers one request of the worker, made during a call of `asker.handler` (for the
    /// terminal line).
    pub async fn handle(&self, asker: Asker<'_>, op: &str, args: Value) -> Reply {
        let handler = asker.handler;
        match Op::parse(op, args) {
            Ok(Op::InvokeTemplate(call)) => self.invoke_template(handler, *call).await,
            Ok(Op::Db(body)) => self.db(body).await,
            Ok(Op::Schedule(args)) => {
                self.schedules
                    .handle(handler.unwrap_or("server.js"), &args)
                    .await
            }
            Ok(Op::TargetUrl) => Reply {
                ok: true,
                value: Value::String(target_url(&self.base_url, &self.snapshot.app())),
            },
            Err(message) => Reply::reject(400, message),
        }
    }

    /// `$db`: the same call as the `db` route's, on the app's first product's keys (the worker
    /// does not tell which product a call runs for). Resolves with what the route answers
    /// (`{"Created":true}`, the value, …), rejects with the route's error body.
    async fn db(&self, body: Value) -> Reply {
        let app = self.snapshot.app();
        let answer = match Scope::resolve(&app.manifest, None, None) {
            Ok(scope) => match Call::from_json(body) {
                Ok(call) => self.kv.call(&scope, call).await,
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        match answer {
            Ok(answer) => Reply {
                ok: true,
                value: serde_json::from_str(&answer.body_text()).unwrap_or(Value::Null),
            },
            Err(e) => Reply {
                ok: false,
                value: e.body(),
            },
        }
    }

    /// Resolves with FDK's envelope, rejects with it when its status is 400 or more (as the
    /// platform's `$request` does).
    async fn invoke_template(&self, handler: Option<&str>, call: InvokeRequest) -> Reply {
        let app = self.snapshot.app();
        let template = call.template.clone();
        let sources = StoreSources::new(&self.store, &self.tokens);
        let outcome = self.invoker.invoke(&app, call, &sources).await;
        let prefix = format!("[{}]", terminal::escape(handler.unwrap_or("server.js")));
        terminal::lines(&prefix, &outcome.log_line(&template));
        let ok = outcome.envelope.status < 400;
        let value = serde_json::to_value(&outcome.envelope).unwrap_or(Value::Null);
        Reply { ok, value }
    }
}

/// The URL `generateTargetUrl()` resolves with: FDK's `/event/hook/<product>` on this server.
pub fn target_url(base_url: &str, app: &crate::app::App) -> String {
    let product = app
        .manifest
        .modules
        .iter()
        .find_map(|m| crate::app::Product::of_module(&m.name))
        .map_or("freshdesk", crate::app::Product::key);
    format!("{}/event/hook/{product}", base_url.trim_end_matches('/'))
}
