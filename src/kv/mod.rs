//! The platform's key-value store (`client.db` in the front end, `$db` in `server.js`): its
//! semantics, with no HTTP in them, on top of the store's rows ([`crate::store`]).
//!
//! One [`Kv`] serves the whole server. Both ways in call the same async API with the same
//! scope rules, and share one rate limiter, as production counts an app's requests:
//!
//! * the `db` route of `POST /dprouter` (`server/dprouter/db.rs`) parses FDK's body into a
//!   [`Call`] and runs [`Kv::call`];
//! * `$db` of the Node worker resolves the [`Scope`] of the event it runs for
//!   ([`Scope::resolve`] with the event's product or module) and calls [`Kv::store`],
//!   [`Kv::fetch`], [`Kv::update`], [`Kv::delete`] — or [`Kv::call`] with the same JSON.
//!
//! ```no_run
//! # async fn f(kv: &fdk_emu::kv::Kv, app: &fdk_emu::app::App) -> Result<(), fdk_emu::kv::KvError> {
//! use fdk_emu::kv::{Scope, SetOptions, Update, UpdateKind, UpdateOptions};
//! use serde_json::json;
//! let scope = Scope::resolve(&app.manifest, None, Some("support_ticket"))?;
//! kv.store(&scope, "ticket:101", json!({"issue": 15213}), SetOptions::default()).await?;
//! let update = Update::parse(UpdateKind::Increment, json!({"views": 1}))?;
//! kv.update(&scope, "ticket:101", update, UpdateOptions::default()).await?;
//! let record = kv.fetch(&scope, "ticket:101").await?; // record.value: the JSON text
//! # Ok(()) }
//! ```
//!
//! Every error is a [`KvError`] with the platform's status and message (and fdk-emu's
//! `detail`); the edge turns it into `{"status", "message", "detail"}`.
//!
//! Writes are atomic: each runs as one read-modify-write transaction on the store's thread
//! ([`Store::kv_modify`]), so concurrent increments of one key add up and a `setIf` decides
//! on the row it replaces.

pub mod call;
mod error;
pub mod path;
mod scope;
pub mod update;
pub mod value;

use serde_json::{Map, Value};

pub use call::{Answer, Call};
pub use error::{KvError, UpdateKind};
pub use scope::{Scope, product_of_module};
pub use update::Update;
pub use value::Limits;

use crate::config::Config;
use crate::rate::RateLimiter;
use crate::store::{KvFetch, KvRecord, KvWrite, Store, now_ms};

/// The platform's rate limit: key-value requests a minute per app (set, get, update and
/// delete each count as one; platform docs, "Key-value storage").
pub const REQUESTS_PER_MINUTE: usize = 50;

/// `setIf`: write only when the key exists, or only when it does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetIf {
    Exist,
    NotExist,
}

/// The options of `set` (`store`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SetOptions {
    pub set_if: Option<SetIf>,
    /// Seconds until the key expires (positive; `None` for never).
    pub ttl: Option<f64>,
}

/// The options of `update`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UpdateOptions {
    pub set_if: Option<SetIf>,
}

/// The key-value store of one app.
pub struct Kv {
    store: Store,
    limits: Option<Limits>,
    rate: Option<RateLimiter>,
}

impl std::fmt::Debug for Kv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kv")
            .field("store", &self.store)
            .field("limits", &self.limits)
            .field("rate_limited", &self.rate.is_some())
            .finish()
    }
}

fn check_condition(set_if: Option<SetIf>, exists: bool, key: &str) -> Result<(), KvError> {
    match set_if {
        Some(SetIf::Exist) if !exists => Err(KvError::ConditionFailed {
            key: key.to_string(),
            wanted_existing: true,
        }),
        Some(SetIf::NotExist) if exists => Err(KvError::ConditionFailed {
            key: key.to_string(),
            wanted_existing: false,
        }),
        _ => Ok(()),
    }
}

impl Kv {
    /// The store of a run: the platform's limits and rate limit unless the configuration
    /// switches them off (`--no-db-limits`, `--no-rate-limit`).
    pub fn new(store: Store, config: &Config) -> Kv {
        Kv::with(
            store,
            config.db_limits.then_some(Limits::PLATFORM),
            config
                .rate_limit
                .then(|| RateLimiter::per_minute(REQUESTS_PER_MINUTE)),
        )
    }

    pub fn with(store: Store, limits: Option<Limits>, rate: Option<RateLimiter>) -> Kv {
        Kv {
            store,
            limits,
            rate,
        }
    }

    /// Counts one request against the rate limit.
    fn admit(&self) -> Result<(), KvError> {
        if let Some(rate) = &self.rate
            && let Err(wait) = rate.acquire()
        {
            return Err(KvError::RateLimited {
                limit: rate.limit(),
                wait_s: wait.as_secs().max(1),
            });
        }
        Ok(())
    }

    fn key(&self, key: &str) -> Result<(), KvError> {
        value::check_key(key, self.limits.as_ref())
    }

    /// Runs a call of the wire format.
    pub async fn call(&self, scope: &Scope, call: Call) -> Result<Answer, KvError> {
        match call {
            Call::Store {
                key,
                value,
                options,
            } => self
                .store(scope, &key, value, options)
                .await
                .map(|()| Answer::Created),
            Call::Fetch { key } => self.fetch(scope, &key).await.map(Answer::Fetched),
            Call::Update {
                key,
                update,
                options,
            } => self
                .update(scope, &key, update, options)
                .await
                .map(|()| Answer::Updated),
            Call::Delete { key } => self.delete(scope, &key).await.map(|()| Answer::Deleted),
        }
    }

    /// `set`: stores `value` (a non-empty object) under `key`, replacing what was there and
    /// its expiry.
    pub async fn store(
        &self,
        scope: &Scope,
        key: &str,
        value: Value,
        options: SetOptions,
    ) -> Result<(), KvError> {
        self.admit()?;
        self.key(key)?;
        let map = value::object(value)?;
        let text = value::stored_text(key, &map, self.limits.as_ref())?;
        let now = now_ms();
        let expires_at = options
            .ttl
            .map(|t| now.saturating_add((t * 1000.0).round() as i64));
        let owned = key.to_string();
        self.store
            .kv_modify(scope.as_str(), key, now, move |current| {
                check_condition(options.set_if, current.is_some(), &owned)?;
                Ok((
                    KvWrite::Put {
                        value: text,
                        expires_at,
                    },
                    (),
                ))
            })
            .await?
    }

    /// `get`: the stored value (its JSON text in [`KvRecord::value`]), or 404
    /// "Record not found" — which says so when another product holds the key.
    pub async fn fetch(&self, scope: &Scope, key: &str) -> Result<KvRecord, KvError> {
        self.admit()?;
        self.key(key)?;
        match self.store.kv_fetch(scope.as_str(), key, now_ms()).await? {
            KvFetch::Found(r) => Ok(r),
            KvFetch::Missing { elsewhere } => Err(KvError::NotFound {
                key: key.to_string(),
                scope: scope.to_string(),
                elsewhere,
            }),
        }
    }

    /// `update`: applies `update` to the stored value in one transaction; the key keeps its
    /// expiry and its creation time.
    pub async fn update(
        &self,
        scope: &Scope,
        key: &str,
        update: Update,
        options: UpdateOptions,
    ) -> Result<(), KvError> {
        self.admit()?;
        self.key(key)?;
        let limits = self.limits;
        let owned = key.to_string();
        self.store
            .kv_modify(scope.as_str(), key, now_ms(), move |current| {
                check_condition(options.set_if, current.is_some(), &owned)?;
                let before = current.map(|r| stored_object(&r.value)).transpose()?;
                let after = update.apply(&owned, before)?;
                let text = value::stored_text(&owned, &after, limits.as_ref())?;
                Ok((
                    KvWrite::Put {
                        value: text,
                        expires_at: current.and_then(|r| r.expires_at),
                    },
                    (),
                ))
            })
            .await?
    }

    /// `delete`: removes the key; deleting a key that is not there succeeds, as in FDK.
    pub async fn delete(&self, scope: &Scope, key: &str) -> Result<(), KvError> {
        self.admit()?;
        self.key(key)?;
        self.store
            .kv_delete(scope.as_str(), key, now_ms())
            .await
            .map(|_| ())
            .map_err(KvError::from)
    }

    /// Every live key, for `store show` and the data viewer (not rate limited: the app does
    /// not make these calls).
    pub async fn list(&self) -> Result<Vec<KvRecord>, KvError> {
        Ok(self.store.kv_list(now_ms()).await?)
    }

    /// Replaces a key's value from the data viewer: the value checks and limits of `set`,
    /// the key's expiry kept, no rate limit.
    pub async fn edit(&self, scope: &Scope, key: &str, value: Value) -> Result<(), KvError> {
        self.key(key)?;
        let map = value::object(value)?;
        let text = value::stored_text(key, &map, self.limits.as_ref())?;
        self.store
            .kv_modify(scope.as_str(), key, now_ms(), move |current| {
                Ok::<_, KvError>((
                    KvWrite::Put {
                        value: text,
                        expires_at: current.and_then(|r| r.expires_at),
                    },
                    (),
                ))
            })
            .await?
    }

    /// Removes a key from the data viewer (no rate limit); whether it was there.
    pub async fn remove(&self, scope: &Scope, key: &str) -> Result<bool, KvError> {
        Ok(self.store.kv_delete(scope.as_str(), key, now_ms()).await?)
    }
}

/// A stored value read back as the object it was stored as.
fn stored_object(text: &str) -> Result<Map<String, Value>, KvError> {
    match serde_json::from_str(text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) | Err(_) => Err(KvError::Store(
            "a stored value is not a JSON object (was the database edited by hand?); delete the key in the data viewer or with `fdk-emu store reset --db`".into(),
        )),
    }
}
