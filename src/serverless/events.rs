//! Firing the app's event handlers: product events, app set-up events, scheduled events and
//! external events, with `args` shaped as on the platform.
//!
//! Every way in (the simulator page, `fdk-emu trigger`, the installation page, the schedule
//! timer, the target URL) comes here, so a handler gets the same payload whichever way it
//! was fired: the event's `data`, the stored installation parameters as `iparams`, and the
//! account's fields (`account_id`, `domain`, `region`, `timestamp`, `event`, `currentHost`).
//! The result is a plain [`Fired`] (event, duration, outcome, logs) that the page's history
//! keeps and the inspector can record as is.
//!
//! Payloads of product events live in `server/test_data/<event>.json`, as FDK keeps them:
//! seeded with the product's default ([`super::payloads`]) the first time the event is
//! listed or fired, then the developer's to edit.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::limits::{CallKind, EXECUTION_TIME};
use super::protocol::CallResult;
use super::{LogLine, Outcome, Runtime, payloads, terminal};
use crate::app::{App, Generation, Product};
use crate::snapshot::Snapshot;
use crate::store::Store;

/// The app set-up events.
pub const APP_EVENTS: [&str; 3] = ["onAppInstall", "afterAppUpdate", "onAppUninstall"];
pub const SCHEDULED: &str = "onScheduledEvent";
pub const EXTERNAL: &str = "onExternalEvent";
/// Fired events the page's history keeps.
const HISTORY: usize = 100;

/// The kind of an event, from its name.
pub fn kind_of(event: &str) -> CallKind {
    if APP_EVENTS.contains(&event) {
        CallKind::AppEvent
    } else if event == SCHEDULED {
        CallKind::ScheduledEvent
    } else if event == EXTERNAL {
        CallKind::ExternalEvent
    } else {
        CallKind::ProductEvent
    }
}

/// An event the app subscribes to, and the function that handles it.
#[derive(Debug, Clone, Serialize)]
pub struct Subscription {
    pub event: String,
    pub handler: String,
    /// `product_event`, `app_event`, `scheduled_event`, `external_event`.
    pub kind: &'static str,
    /// The product whose payload a product event gets.
    pub product: Option<&'static str>,
    /// Where it is declared: a JSON pointer in manifest.json, or `server/server.js` for
    /// `exports.events`.
    pub declared_at: String,
}

/// Where a firing came from (shown in the history).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Simulator,
    Cli,
    Install,
    Uninstall,
    Schedule,
    Hook,
}

/// How a handler ended, for people and for scripts.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum FiredOutcome {
    /// The handler succeeded; `data` is what it passed to `renderData(null, data)`, if
    /// anything.
    Ok { data: Option<Value> },
    /// The handler failed: `renderData(error)`, an exception, a timeout, or it could not run.
    Failed {
        message: String,
        /// `error.status` of `renderData(error)`, when given.
        #[serde(skip_serializing_if = "Option::is_none")]
        error_status: Option<Value>,
    },
}

/// One firing of one event: what the history shows, `trigger` prints and the inspector
/// records.
#[derive(Debug, Clone, Serialize)]
pub struct Fired {
    pub event: String,
    pub handler: Option<String>,
    pub kind: &'static str,
    pub source: Source,
    /// Unix milliseconds.
    pub at_ms: i64,
    pub duration_ms: u64,
    pub outcome: FiredOutcome,
    pub logs: Vec<LogLine>,
}

impl Fired {
    pub fn ok(&self) -> bool {
        matches!(self.outcome, FiredOutcome::Ok { .. })
    }

    /// The failure's message, if it failed.
    pub fn error(&self) -> Option<&str> {
        match &self.outcome {
            FiredOutcome::Failed { message, .. } => Some(message),
            FiredOutcome::Ok { .. } => None,
        }
    }
}

/// Fires events and keeps their history.
pub struct Events {
    runtime: Runtime,
    store: Store,
    snapshot: Arc<Snapshot>,
    history: Mutex<VecDeque<Fired>>,
}

impl Events {
    pub fn new(runtime: Runtime, store: Store, snapshot: Arc<Snapshot>) -> Events {
        Events {
            runtime,
            store,
            snapshot,
            history: Mutex::new(VecDeque::new()),
        }
    }

    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// The events the app subscribes to: the manifest's `events` (3.x modules, 2.x products)
    /// and the 1.x/2.0 `exports.events` of `server.js`.
    pub async fn subscriptions(&self) -> Vec<Subscription> {
        let app = self.snapshot.app();
        let mut subs: Vec<Subscription> = Vec::new();
        for e in &app.manifest.events {
            let Some(handler) = &e.handler else { continue };
            if subs.iter().any(|s| s.event == e.name) {
                continue;
            }
            let kind = kind_of(&e.name);
            subs.push(Subscription {
                event: e.name.clone(),
                handler: handler.clone(),
                kind: kind.as_str(),
                product: product_of(&app, &e.owner, kind),
                declared_at: format!("manifest.json{}", e.pointer),
            });
        }
        if app.has_server_js {
            let first = app
                .manifest
                .modules
                .first()
                .and_then(|m| Product::of_module(&m.name));
            for e in self
                .runtime
                .legacy_events(std::time::Duration::from_secs(5))
                .await
            {
                if subs.iter().any(|s| s.event == e.event) {
                    continue;
                }
                let kind = kind_of(&e.event);
                subs.push(Subscription {
                    event: e.event.clone(),
                    handler: e.callback.clone(),
                    kind: kind.as_str(),
                    product: (kind == CallKind::ProductEvent)
                        .then(|| first.map(Product::key))
                        .flatten(),
                    declared_at: "server/server.js (exports.events)".into(),
                });
            }
        }
        subs
    }

    /// The subscription of `event`, or why there is none.
    pub async fn subscription(&self, event: &str) -> Result<Subscription, String> {
        let subs = self.subscriptions().await;
        if let Some(s) = subs.iter().find(|s| s.event == event) {
            return Ok(s.clone());
        }
        let app = self.snapshot.app();
        let place = match app.manifest.generation {
            Generation::V3 => {
                "modules.<module>.events (modules.common.events for app set-up, scheduled and external events)"
            }
            Generation::V2 => "product.<product>.events",
        };
        let names: Vec<&str> = subs.iter().map(|s| s.event.as_str()).collect();
        Err(format!(
            "the app does not subscribe to {event}: add \"{event}\": {{\"handler\": \"<function of server.js>\"}} to {place} in manifest.json (it subscribes to {})",
            if names.is_empty() {
                "no event".to_string()
            } else {
                names.join(", ")
            }
        ))
    }

    /// The path of `server/test_data/<event>.json`, when `event` is a safe file name.
    pub fn test_data_path(&self, event: &str) -> Option<PathBuf> {
        test_data_path(&self.snapshot.app().root, event)
    }

    /// The payload of `event` for the simulator: `server/test_data/<event>.json`, written
    /// with the default first when it does not exist. Errors say which file is wrong.
    pub async fn test_data(&self, sub: &Subscription) -> Result<Value, String> {
        let Some(path) = self.test_data_path(&sub.event) else {
            return Err(format!("{} is not a usable event name", sub.event));
        };
        match tokio::fs::read_to_string(&path).await {
            Ok(text) => serde_json::from_str::<Value>(&text)
                .map_err(|e| format!("server/test_data/{}.json is not valid JSON: {e}", sub.event))
                .and_then(|v| {
                    if v.is_object() {
                        Ok(v)
                    } else {
                        Err(format!(
                            "server/test_data/{}.json must hold a JSON object (the event's payload, with its data)",
                            sub.event
                        ))
                    }
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let value = self.default_payload(sub).await;
                self.save_test_data(&sub.event, &value).await?;
                Ok(value)
            }
            Err(e) => Err(format!(
                "server/test_data/{}.json cannot be read: {e}",
                sub.event
            )),
        }
    }

    /// Writes `server/test_data/<event>.json`.
    pub async fn save_test_data(&self, event: &str, value: &Value) -> Result<(), String> {
        let Some(path) = self.test_data_path(event) else {
            return Err(format!("{event} is not a usable event name"));
        };
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| format!("cannot create server/test_data: {e}"))?;
        }
        let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "{}".into());
        tokio::fs::write(&path, text + "\n")
            .await
            .map_err(|e| format!("cannot write server/test_data/{event}.json: {e}"))
    }

    /// The default payload of an event, without `iparams` (added when fired).
    pub async fn default_payload(&self, sub: &Subscription) -> Value {
        let product = sub.product.and_then(Product::from_key);
        let data = match kind_of(&sub.event) {
            CallKind::ProductEvent => payloads::product_event_data(&sub.event, product),
            CallKind::ExternalEvent => payloads::external_event_data(),
            CallKind::ScheduledEvent => payloads::scheduled_event_data(),
            _ => Value::Null,
        };
        let mut p = self.envelope(&sub.event, product).await;
        if !data.is_null() {
            p.insert("data".into(), data);
        }
        if kind_of(&sub.event) == CallKind::ExternalEvent {
            p.insert(
                "headers".into(),
                json!({"content-type": "application/json"}),
            );
        }
        Value::Object(p)
    }

    /// The fields every payload has: account, domain, region, time, event, host.
    async fn envelope(&self, event: &str, product: Option<Product>) -> Map<String, Value> {
        let app = self.snapshot.app();
        let settings = self.store.system_settings().await.ok().flatten();
        let current_host = host(&app, settings.as_ref(), product);
        let domain = current_host["endpoint_urls"]
            .as_object()
            .and_then(|m| m.values().next())
            .and_then(Value::as_str)
            .map(|u| {
                u.trim_start_matches("https://")
                    .trim_start_matches("http://")
                    .trim_end_matches('/')
                    .to_string()
            })
            .unwrap_or_else(|| "sample.freshdesk.com".into());
        let mut p = Map::new();
        p.insert("account_id".into(), json!("12345"));
        p.insert("domain".into(), json!(domain));
        p.insert("event".into(), json!(event));
        p.insert("region".into(), json!("US"));
        p.insert("timestamp".into(), json!(crate::store::now_ms()));
        p.insert("version".into(), json!("1.0.0"));
        p.insert("currentHost".into(), current_host);
        p
    }

    /// Fires `event` with `payload` (the test data when `None`): the handler gets it with
    /// `iparams` set from the store and `event` set to the event's name.
    pub async fn fire(&self, event: &str, payload: Option<Value>, source: Source) -> Fired {
        let started = Instant::now();
        let at_ms = crate::store::now_ms();
        let kind = kind_of(event);
        let failed = |handler: Option<String>, message: String| Fired {
            event: event.to_string(),
            handler,
            kind: kind.as_str(),
            source,
            at_ms,
            duration_ms: started.elapsed().as_millis() as u64,
            outcome: FiredOutcome::Failed {
                message,
                error_status: None,
            },
            logs: Vec::new(),
        };
        let sub = match self.subscription(event).await {
            Ok(s) => s,
            Err(why) => return self.keep(failed(None, why)),
        };
        let payload = match payload {
            Some(p) => p,
            None => match self.test_data(&sub).await {
                Ok(p) => p,
                Err(why) => return self.keep(failed(Some(sub.handler), why)),
            },
        };
        let Value::Object(mut args) = payload else {
            return self.keep(failed(
                Some(sub.handler),
                "the payload must be a JSON object (the event's fields, with its data)".into(),
            ));
        };
        // The account's fields the payload leaves out come from the envelope.
        let envelope = self
            .envelope(event, sub.product.and_then(Product::from_key))
            .await;
        for (k, v) in envelope {
            args.entry(k).or_insert(v);
        }
        args.insert("event".into(), json!(event));
        // A payload that brings its own iparams keeps them (the values being installed, or
        // a test's); the others get the stored ones.
        let given_iparams = args.get("iparams").is_some_and(Value::is_object);
        let iparams = match self.store.reads().await {
            Ok(r) => r
                .iparams
                .iter()
                .filter(|(k, _)| k.as_str() != "__meta")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<Map<String, Value>>(),
            Err(e) => {
                return self.keep(failed(
                    Some(sub.handler),
                    format!("the installation parameters could not be read: {e}"),
                ));
            }
        };
        if !given_iparams {
            args.insert("iparams".into(), Value::Object(iparams));
        }
        let answer = self
            .runtime
            .call_logged(kind, &sub.handler, &Value::Object(args), EXECUTION_TIME)
            .await;
        let outcome = match answer.outcome {
            Outcome::Finished(CallResult::Data { data }) => FiredOutcome::Ok { data: Some(data) },
            Outcome::Finished(CallResult::Empty) => FiredOutcome::Ok { data: None },
            Outcome::Finished(CallResult::Error { status, message }) => FiredOutcome::Failed {
                message: match message {
                    Value::String(s) => s,
                    Value::Null => "renderData was called with an error (no message)".into(),
                    other => other.to_string(),
                },
                error_status: Some(status),
            },
            Outcome::Finished(CallResult::InvalidError) => FiredOutcome::Failed {
                message: "renderData was called with an error that is not an object with a message or a status".into(),
                error_status: None,
            },
            Outcome::Finished(CallResult::Exception { error }) => FiredOutcome::Failed {
                message: match error.location() {
                    Some(l) => format!("{} (at {l})", error.headline()),
                    None => error.headline(),
                },
                error_status: None,
            },
            Outcome::TimedOut { limit } => FiredOutcome::Failed {
                message: format!(
                    "{} did not finish within {} s (the platform's limit)",
                    sub.handler,
                    limit.as_secs()
                ),
                error_status: None,
            },
            Outcome::Unavailable(why) => FiredOutcome::Failed {
                message: why,
                error_status: None,
            },
        };
        let fired = Fired {
            event: event.to_string(),
            handler: Some(sub.handler),
            kind: kind.as_str(),
            source,
            at_ms,
            duration_ms: started.elapsed().as_millis() as u64,
            outcome,
            logs: answer.logs,
        };
        self.keep(fired)
    }

    /// Keeps a firing in the history and says on the terminal how it went.
    fn keep(&self, fired: Fired) -> Fired {
        let head = format!(
            "[{}] {} ({:?})",
            terminal::escape(fired.handler.as_deref().unwrap_or("event")),
            terminal::escape(&fired.event),
            fired.source
        );
        match fired.error() {
            None => terminal::lines(&head, &format!("handled in {} ms", fired.duration_ms)),
            Some(e) => terminal::lines(&head, &format!("failed: {}", terminal::escape(e))),
        }
        if let Ok(mut h) = self.history.lock() {
            if h.len() >= HISTORY {
                h.pop_front();
            }
            h.push_back(fired.clone());
        }
        fired
    }

    /// The fired events, newest first.
    pub fn history(&self) -> Vec<Fired> {
        self.history
            .lock()
            .map(|h| h.iter().rev().cloned().collect())
            .unwrap_or_default()
    }

    /// Fires the app set-up event `event` if the app subscribes to it: `None` when it does
    /// not (nothing to run, nothing to block).
    ///
    /// `iparams` are the values being installed (`onAppInstall`, `afterAppUpdate` run before
    /// they are stored, and may refuse them); `None` takes the stored ones.
    pub async fn fire_setup(
        &self,
        event: &str,
        source: Source,
        iparams: Option<Map<String, Value>>,
    ) -> Option<Fired> {
        self.subscription(event).await.ok()?;
        let mut payload = self.envelope(event, None).await;
        if let Some(i) = iparams {
            payload.insert("iparams".into(), Value::Object(i));
        }
        Some(self.fire(event, Some(Value::Object(payload)), source).await)
    }
}

/// `server/test_data/<event>.json`, for an event name made of letters, digits and `_`.
pub fn test_data_path(root: &Path, event: &str) -> Option<PathBuf> {
    let safe = !event.is_empty()
        && event.len() <= 100
        && event.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    safe.then(|| {
        root.join("server")
            .join("test_data")
            .join(format!("{event}.json"))
    })
}

fn product_of(app: &App, owner: &str, kind: CallKind) -> Option<&'static str> {
    if kind != CallKind::ProductEvent {
        return None;
    }
    Product::of_owner(app, owner).map(Product::key)
}

/// `currentHost`: the modules the app is tested with and their account URLs, from the system
/// settings page when it was filled in.
fn host(app: &App, settings: Option<&Value>, product: Option<Product>) -> Value {
    if let Some(s) = settings
        && s.get("endpoint_urls").is_some_and(Value::is_object)
    {
        return json!({
            "subscribed_modules": s.get("subscribed_modules").cloned().unwrap_or(json!([])),
            "endpoint_urls": s["endpoint_urls"].clone(),
        });
    }
    let modules: Vec<&str> = app
        .manifest
        .modules
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    let product = product
        .or_else(|| modules.iter().find_map(|m| Product::of_module(m)))
        .unwrap_or(Product::Freshdesk);
    json!({
        "subscribed_modules": modules,
        "endpoint_urls": {product.key(): format!("https://sample.{}.com", product.key())},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_test_data_paths() {
        assert_eq!(kind_of("onAppInstall"), CallKind::AppEvent);
        assert_eq!(kind_of("onScheduledEvent"), CallKind::ScheduledEvent);
        assert_eq!(kind_of("onExternalEvent"), CallKind::ExternalEvent);
        assert_eq!(kind_of("onTicketCreate"), CallKind::ProductEvent);
        let root = Path::new("/app");
        assert_eq!(
            test_data_path(root, "onTicketCreate"),
            Some(PathBuf::from("/app/server/test_data/onTicketCreate.json"))
        );
        assert_eq!(test_data_path(root, "../x"), None);
        assert_eq!(test_data_path(root, ""), None);
    }
}
