//! `invokeTemplate`: render a template of `config/requests.json` for one call, send it, and
//! answer with FDK's envelope.
//!
//! The pieces: [`compile`] parses each template's strings once per app snapshot; [`target`]
//! applies FDK's host rules and the `--upstream` overrides; [`send`] is FDK's retry rule
//! around one attempt of [`crate::net`] (a keep-alive client per server worker, per-attempt
//! timeout, redirects, the response size limit); [`error`] names every failure and its
//! envelope status; [`mask`] hides secrets in what is printed; the production rate limit is a
//! [`RateLimiter`]; [`trace`] fills the inspector's record of a call when the server records
//! calls. What
//! the server knows and this module needs (stored iparams, system settings, OAuth tokens)
//! comes through the [`Sources`] trait, so the module is tested without a store.
//!
//! Substitution happens per string value (host, path, each header value, each query value)
//! and the rendered text is never parsed again, so a value holding quotes, backslashes or
//! `<%` cannot change the shape of the request (FDK renders the whole JSON as one text).

pub mod compile;
pub mod envelope;
pub mod error;
pub mod mask;
pub mod request;
pub mod send;
pub mod shape;
pub mod target;
mod trace;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{HeaderMap, HeaderValue};
use serde_json::{Map, Value};

use crate::app::{App, TokenType};
use crate::config::Config;
use crate::inspect::{Record, Refresh};
use crate::net::{self, NetError, Prepared};
use crate::rate::RateLimiter;
use crate::term;
use compile::{Cache, Compiled, OAuthUse};
pub use envelope::{Envelope, ErrorSource};
pub use error::{ALLOWED_CONTENT_TYPES, InvokeError};
use error::{allowed_content_type, token_error};
use mask::Masker;
pub use request::{BadRequest, InvokeRequest};
pub use target::Upstreams;
use trace::Trace;

/// The production limit on the size of a response.
pub const RESPONSE_LIMIT: usize = 6 * 1024 * 1024;

/// How much of a URL and of an error message the terminal line shows: enough for any real
/// API URL and for every message of [`InvokeError`] around a name of normal length.
const LOGGED_URL_CHARS: usize = 1000;
const LOGGED_MESSAGE_CHARS: usize = 1000;
/// The production rate limit: template requests a minute per app (and account).
pub const REQUESTS_PER_MINUTE: usize = 50;

/// Stored installation parameters: every value (secure ones decrypted) and which are secure.
#[derive(Debug, Clone, Default)]
pub struct Iparams {
    pub values: Map<String, Value>,
    pub secure: Vec<String>,
}

/// Why no access token could be had for an OAuth template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenProblem {
    /// Nobody authorized yet, or the grant is dead: the user must (re-)authorize. The
    /// message names the integration and where to do it.
    NeedsAuthorization(String),
    /// The provider could not be reached or failed; trying again may work.
    Transient(String),
    /// The integration is not configured.
    Unknown(String),
}

/// What a call needs from the rest of the server: the store and the token lifecycle.
pub trait Sources {
    /// All stored iparams.
    fn iparams(&self) -> impl Future<Output = Result<Iparams, String>>;
    /// `current_host` of platform 3.x (`{endpoint_urls, subscribed_modules, …}`), if set.
    fn current_host(&self) -> impl Future<Output = Option<Value>>;
    /// The stored `oauth_iparams` of an integration.
    fn oauth_iparams(&self, integration: &str) -> impl Future<Output = Option<Map<String, Value>>>;
    /// A valid account-level access token (refreshed first when about to expire).
    fn access_token(
        &self,
        app: &Arc<App>,
        integration: &str,
    ) -> impl Future<Output = Result<String, TokenProblem>>;
    /// The API answered 401 to `used`: refresh once and return the new token.
    fn refresh_after_unauthorized(
        &self,
        app: &Arc<App>,
        integration: &str,
        used: &str,
    ) -> impl Future<Output = Result<String, TokenProblem>>;
    /// The access token of an agent-level integration from the tokens the browser sent.
    fn agent_access_token(
        &self,
        integration: &str,
        tokens: &Value,
    ) -> Result<String, TokenProblem> {
        match tokens.get("access_token").and_then(Value::as_str) {
            Some(t) if !t.is_empty() => Ok(t.to_string()),
            _ => Err(TokenProblem::NeedsAuthorization(format!(
                "integration '{integration}' is agent-level and this browser holds no token for it: the app must call client.interface.trigger('reAuthorize') (which opens /auth/index?integration={integration}) before this request"
            ))),
        }
    }
    /// The token refreshes that [`Sources::access_token`] and
    /// [`Sources::refresh_after_unauthorized`] did for this call so far, for the inspector.
    /// Sources that do not report them record calls without refreshes.
    fn refreshes(&self) -> Vec<Refresh> {
        Vec::new()
    }
}

/// The outcome of one call, with what the terminal log line needs.
#[derive(Debug)]
pub struct Outcome {
    pub envelope: Envelope,
    pub method: Option<String>,
    /// The URL with secrets masked.
    pub url: Option<String>,
    pub elapsed: Duration,
    /// The inspector's record of the call, masked; `None` unless the invoker records
    /// ([`Invoker::recording`]). Whoever made the call adds who called and hands it over.
    pub record: Option<Box<Record>>,
}

/// What [`Invoker::run`] learns on the way, for the terminal line and the inspector.
struct CallLog {
    method: Option<String>,
    /// Masked.
    url: Option<String>,
    trace: Option<Box<Trace>>,
}

impl Outcome {
    /// The terminal line: template, method, URL (masked), status, attempts, time. The
    /// template name, the URL and our error message quote what the caller sent, so each goes
    /// through [`crate::term`]: one call is one line, whatever its name holds.
    pub fn log_line(&self, template: &str) -> String {
        use std::fmt::Write;
        let e = &self.envelope;
        let mut line = String::with_capacity(160);
        let _ = write!(line, "invokeTemplate {}", term::short(template));
        if let (Some(m), Some(u)) = (&self.method, &self.url) {
            let _ = write!(line, " {m} {}", term::cut(u, LOGGED_URL_CHARS));
        }
        let _ = write!(
            line,
            " -> {} ({} attempt{}, {:.1} ms)",
            e.status,
            e.attempts,
            if e.attempts == 1 { "" } else { "s" },
            self.elapsed.as_secs_f64() * 1000.0
        );
        if let Some(src) = e.error_source {
            let who = match src {
                ErrorSource::App => "APP",
                ErrorSource::Platform => "PLATFORM",
            };
            if e.headers.is_empty() {
                // Our own error: its message says what happened.
                let _ = write!(
                    line,
                    " {who}: {}",
                    term::cut(&e.response, LOGGED_MESSAGE_CHARS)
                );
            } else {
                let _ = write!(line, " {who} error from the API");
            }
        }
        line
    }
}

/// Executes `invokeTemplate` calls. The rate limiter and the compiled templates of the
/// current snapshot are shared by the whole server; the HTTP client belongs to one worker
/// thread (see [`Invoker::for_worker`]), so connections to an API are kept alive across
/// calls and each connection is driven by the thread whose calls use it.
#[derive(Clone)]
pub struct Invoker {
    client: net::Client,
    shared: Arc<InvokerShared>,
    /// Whether calls fill an inspector record.
    record: bool,
}

/// What every worker's [`Invoker`] shares.
struct InvokerShared {
    timeout: Duration,
    rate: Option<RateLimiter>,
    limit: Option<usize>,
    upstreams: Upstreams,
    cache: Cache,
}

impl Invoker {
    pub fn new(config: &Config) -> Invoker {
        let upstreams = Upstreams::new(config.upstreams.iter().cloned()).serving_on(config.port);
        Self::with_upstreams(config, upstreams)
    }

    pub fn with_upstreams(config: &Config, upstreams: Upstreams) -> Invoker {
        let shared = InvokerShared {
            timeout: config.request_timeout,
            rate: config
                .rate_limit
                .then(|| RateLimiter::per_minute(REQUESTS_PER_MINUTE)),
            limit: config.response_limit.then_some(RESPONSE_LIMIT),
            upstreams,
            cache: Cache::default(),
        };
        Invoker {
            client: net::Client::new(shared.timeout),
            shared: Arc::new(shared),
            record: false,
        }
    }

    /// Whether each call fills an inspector record ([`Outcome::record`]).
    pub fn recording(mut self, on: bool) -> Invoker {
        self.record = on;
        self
    }

    /// The invoker for one server worker thread: same limiter and templates, its own client.
    ///
    /// A pooled connection is driven by a task on the runtime that opened it. The server runs
    /// one single-threaded runtime per worker, so with one client for the whole server a call on
    /// worker A often went out through a connection driven by worker B: two thread wake-ups
    /// per call, which cost more than the rest of the proxying (`scripts/bench-proxy`).
    pub fn for_worker(&self) -> Invoker {
        Invoker {
            client: net::Client::new(self.shared.timeout),
            shared: self.shared.clone(),
            record: self.record,
        }
    }

    /// Runs one call against the snapshot `app`. Never fails: every problem is an envelope.
    pub async fn invoke<S: Sources>(
        &self,
        app: &Arc<App>,
        call: InvokeRequest,
        sources: &S,
    ) -> Outcome {
        let started = Instant::now();
        let mut masker = Masker::default();
        let mut log = CallLog {
            method: None,
            url: None,
            trace: self.record.then(|| Box::new(Trace::new(&call.template))),
        };
        let result = self.run(app, call, sources, &mut masker, &mut log).await;
        let envelope = match result {
            Ok(e) => e,
            Err((err, attempts)) => Envelope::error(
                err.status(),
                err.source(),
                masker.mask(&err.to_string()),
                attempts,
            ),
        };
        let elapsed = started.elapsed();
        let record = log
            .trace
            .map(|t| Box::new(t.finish(&envelope, started, elapsed, sources.refreshes(), &masker)));
        Outcome {
            envelope,
            method: log.method,
            url: log.url,
            elapsed,
            record,
        }
    }

    async fn run<S: Sources>(
        &self,
        app: &Arc<App>,
        call: InvokeRequest,
        sources: &S,
        masker: &mut Masker,
        log: &mut CallLog,
    ) -> Result<Envelope, (InvokeError, u32)> {
        let compiled = self.shared.cache.get(app);
        let t = lookup(app, &compiled, &call.template).map_err(|e| (e, 0))?;
        let mut iparams = sources
            .iparams()
            .await
            .map_err(|e| (InvokeError::Store(e), 0))?;
        // A field marked secure after its value was stored is masked and kept out of URLs too.
        for name in app.iparams.secure_names() {
            if !iparams.secure.contains(&name) {
                iparams.secure.push(name);
            }
        }
        for name in &iparams.secure {
            if let Some(v) = iparams.values.get(name) {
                masker.add(&crate::app::requests::value_text(v));
            }
        }
        if let Some((field, key)) = t.secure_in_url(&iparams.secure) {
            return Err((
                InvokeError::SecureInUrl {
                    template: t.name.clone(),
                    field: field.to_string(),
                    key: key.to_string(),
                },
                0,
            ));
        }
        let mut scope = Map::with_capacity(5);
        scope.insert("iparam".into(), Value::Object(iparams.values));
        if let Some(ctx) = call.context {
            scope.insert("context".into(), ctx);
        }
        if let Some(host) = sources.current_host().await {
            scope.insert("current_host".into(), host);
        }
        let token = match &t.oauth {
            None => None,
            Some(o) => {
                let token = self
                    .token(app, &t, o, call.tokens.as_ref(), sources)
                    .await?;
                masker.add(&token);
                if t.uses_oauth_iparams()
                    && let Some(oi) = sources.oauth_iparams(&o.integration).await
                {
                    scope.insert("oauth_iparams".into(), Value::Object(oi));
                }
                scope.insert("access_token".into(), Value::String(token.clone()));
                Some(token)
            }
        };
        let body = match call.body {
            None => None,
            Some(Value::String(s)) => Some(Bytes::from(s)),
            Some(v) => Some(Bytes::from(v.to_string())),
        };
        if let Some(trace) = log.trace.as_mut() {
            trace.substitutions(&t, &scope, &iparams.secure, masker);
            for derived in trace::derived_secrets(&t, &scope, &iparams.secure) {
                masker.add(&derived);
            }
        }
        let mut prepared = self
            .prepare(&t, &scope, &call.query, &iparams.secure, body.clone())
            .map_err(|e| (e, 0))?;
        log.method = Some(prepared.method.to_string());
        let url = masker.mask(&prepared.url);
        if let Some(trace) = log.trace.as_mut() {
            trace.request(&prepared, &url, masker);
        }
        log.url = Some(url);
        if let Some(rate) = &self.shared.rate
            && let Err(wait) = rate.acquire()
        {
            return Err((
                InvokeError::RateLimited {
                    limit: rate.limit(),
                    wait_s: wait.as_secs().max(1),
                },
                0,
            ));
        }
        let (mut outcome, mut attempts) = self.send(&t, &prepared, log).await;
        // Account-level OAuth: a 401 means the token died early; refresh once, resend once.
        if let (Some(o), Some(used), Ok(answer)) = (&t.oauth, &token, &outcome)
            && answer.status == 401
            && o.token_type == TokenType::Account
        {
            let fresh = sources
                .refresh_after_unauthorized(app, &o.integration, used)
                .await
                .map_err(|p| (token_error(&t.name, p), attempts))?;
            masker.add(&fresh);
            scope.insert("access_token".into(), Value::String(fresh));
            prepared = self
                .prepare(&t, &scope, &call.query, &iparams.secure, body)
                .map_err(|e| (e, attempts))?;
            if let Some(trace) = log.trace.as_mut() {
                for derived in trace::derived_secrets(&t, &scope, &iparams.secure) {
                    masker.add(&derived);
                }
                let url = masker.mask(&prepared.url);
                trace.request(&prepared, &url, masker);
            }
            let (again, more) = self.send(&t, &prepared, log).await;
            outcome = again;
            attempts += more;
        }
        if let (Some(trace), Ok(a)) = (log.trace.as_mut(), &outcome) {
            trace.response(a.status, &a.headers, &a.body, masker);
        }
        match outcome {
            Ok(a) if !allowed_content_type(&a.headers, &a.body) => Err((
                InvokeError::ContentType {
                    template: t.name.clone(),
                    api_status: a.status,
                    content_type: a.headers.get("content-type").cloned().unwrap_or_default(),
                },
                attempts,
            )),
            Ok(a) => Ok(Envelope::answer(
                a.status,
                a.headers,
                String::from_utf8(a.body)
                    .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
                attempts,
            )),
            Err(e) => Err((self.net_error(&t, &prepared, e), attempts)),
        }
    }

    async fn token<S: Sources>(
        &self,
        app: &Arc<App>,
        t: &Compiled,
        o: &OAuthUse,
        tokens: Option<&Value>,
        sources: &S,
    ) -> Result<String, (InvokeError, u32)> {
        let r = match o.token_type {
            TokenType::Account => sources.access_token(app, &o.integration).await,
            TokenType::Agent => {
                sources.agent_access_token(&o.integration, tokens.unwrap_or(&Value::Null))
            }
        };
        r.map_err(|p| (token_error(&t.name, p), 0))
    }

    async fn send(
        &self,
        t: &Compiled,
        p: &Prepared,
        log: &mut CallLog,
    ) -> (Result<net::Answer, NetError>, u32) {
        send::send_with_retries(
            &self.client,
            p,
            self.shared.timeout,
            self.shared.limit,
            t.max_attempts,
            Duration::from_millis(t.retry_delay_ms),
            log.trace.as_mut().map(|t| &mut t.attempts),
        )
        .await
    }

    /// Renders every field of the template and builds the request.
    fn prepare(
        &self,
        t: &Compiled,
        scope: &Map<String, Value>,
        call_query: &Map<String, Value>,
        secure: &[String],
        body: Option<Bytes>,
    ) -> Result<Prepared, InvokeError> {
        let render = |f: &compile::Field| {
            f.template
                .render(scope)
                .map_err(|error| InvokeError::Substitution {
                    template: t.name.clone(),
                    field: f.name.to_string(),
                    error: Box::new(error),
                })
        };
        let host = render(&t.host)?;
        let (path, values) =
            t.path
                .template
                .render_marked(scope)
                .map_err(|error| InvokeError::Substitution {
                    template: t.name.clone(),
                    field: t.path.name.to_string(),
                    error: Box::new(error),
                })?;
        let schema_key = |k: &str| t.query.iter().any(|(tk, _)| tk == k);
        let shaped =
            shape::shape(&path, &values, &schema_key).map_err(|e| InvokeError::PathEscape {
                template: t.name.clone(),
                field: t.path.name.to_string(),
                variable: e.variable,
            })?;
        let mut url = target::build_url(&t.protocol, &host, &shaped.path, &self.shared.upstreams)
            .map_err(|error| InvokeError::Url {
            template: t.name.clone(),
            error,
        })?;
        // A fragment never goes to the server (a `#` from a value was encoded by `shape`:
        // this is the template's own).
        if let Some(hash) = url.find('#') {
            url.truncate(hash);
        }
        if !t.query.is_empty() || !call_query.is_empty() {
            let mut rendered = Vec::with_capacity(t.query.len());
            for (k, f) in &t.query {
                rendered.push((k.as_str(), render(f)?));
            }
            let start = match url.find('?') {
                Some(q) => q + 1,
                None => {
                    url.push('?');
                    url.len()
                }
            };
            let mut pairs = form_urlencoded::Serializer::for_suffix(url, start);
            for (k, v) in &rendered {
                pairs.append_pair(k, v);
            }
            for (k, v) in call_query {
                if schema_key(k) || shaped.own_keys.contains(k) {
                    continue; // the template wins
                }
                match v {
                    Value::Null => {}
                    Value::String(s) => {
                        pairs.append_pair(k, s);
                    }
                    other => {
                        pairs.append_pair(k, &other.to_string());
                    }
                }
            }
            url = pairs.finish();
        }
        let mut headers = HeaderMap::with_capacity(t.headers.len());
        let mut secret_headers = Vec::new();
        for (name, f) in &t.headers {
            if f.carries_secret(secure) {
                secret_headers.push(name.clone());
            }
            let v = render(f)?;
            let v = HeaderValue::from_str(&v).map_err(|_| InvokeError::HeaderValue {
                template: t.name.clone(),
                header: f.name.trim_start_matches("headers.").to_string(),
            })?;
            headers.append(name.clone(), v);
        }
        let uri = http::Uri::try_from(url.as_str()).map_err(|e| InvokeError::Url {
            template: t.name.clone(),
            error: target::UrlError::Unparsable {
                url: url.clone(),
                reason: e.to_string(),
            },
        })?;
        // A host routed to a local server keeps the template's host (the template's own
        // Host header wins over both); otherwise the URL's, which the client would format
        // again on every call.
        let host_header = self
            .shared
            .upstreams
            .host_header(&host)
            .and_then(|h| HeaderValue::from_str(&h).ok());
        if let Some(h) = host_header {
            headers.entry(hyper::header::HOST).or_insert(h);
        } else if let Some(authority) = uri.authority().filter(|a| !a.as_str().contains('@'))
            && let Ok(host) = HeaderValue::from_str(authority.as_str())
        {
            headers.entry(http::header::HOST).or_insert(host);
        }
        Ok(Prepared {
            method: t.method.clone(),
            url,
            uri,
            headers,
            secret_headers,
            body,
        })
    }

    fn net_error(&self, t: &Compiled, p: &Prepared, e: NetError) -> InvokeError {
        let scheme = p.uri.scheme_str().unwrap_or("https");
        let host = p.uri.host().unwrap_or_default().to_string();
        let port = p
            .uri
            .port_u16()
            .unwrap_or(if scheme == "http" { 80 } else { 443 });
        let target = format!("{scheme}://{host}:{port}");
        match e {
            NetError::Dns(detail) => InvokeError::Dns {
                template: t.name.clone(),
                host,
                detail,
            },
            NetError::Refused => InvokeError::Refused { target },
            NetError::Tls(detail) => InvokeError::Tls { target, detail },
            NetError::Timeout => InvokeError::Timeout {
                target,
                timeout_ms: self.shared.timeout.as_millis(),
            },
            NetError::TooLarge => InvokeError::TooLarge {
                target,
                limit_mb: RESPONSE_LIMIT / (1024 * 1024),
            },
            NetError::Other(detail) => InvokeError::Connection { target, detail },
        }
    }
}

/// Finds a template that is both defined and declared, or says which part is missing.
fn lookup(
    app: &App,
    compiled: &compile::CompiledApp,
    name: &str,
) -> Result<Arc<Compiled>, InvokeError> {
    let declared = || {
        let names: Vec<&str> = app
            .manifest
            .declared_requests
            .keys()
            .map(String::as_str)
            .collect();
        if names.is_empty() {
            " (manifest.json declares no templates)".to_string()
        } else {
            format!(" (declared templates: {})", names.join(", "))
        }
    };
    let Some(entry) = compiled.templates.get(name) else {
        return Err(InvokeError::UnknownTemplate {
            name: name.to_string(),
            declared: declared(),
        });
    };
    if !app.manifest.declared_requests.contains_key(name) {
        let place = match app.manifest.generation {
            crate::app::Generation::V3 => "modules.common.requests",
            crate::app::Generation::V2 => "product.<product>.requests",
        };
        return Err(InvokeError::Undeclared {
            name: name.to_string(),
            place,
            declared: declared(),
        });
    }
    entry.clone().map_err(InvokeError::Compile)
}

#[cfg(test)]
mod tests;
