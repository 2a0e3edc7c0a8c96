//! The local store: one SQLite file (`<app>/.fdk/localstore.sqlite` by default) holding system
//! settings, installation parameters, OAuth client credentials and oauth_iparams, tokens and
//! OAuth status, the key-value store of `client.db` and `$db`, and the schedules of
//! `$schedule`.
//!
//! [`Store`] is a handle to the thread that owns the connection (`worker`); the typed reads
//! and writes are split by what they hold: `settings`, `iparams`, `oauth` (client
//! credentials, oauth_iparams, tokens, status), `kv` (the key-value rows), `schedules`
//! (the rows of `$schedule`), `summary`,
//! `reset`, and [`reads`], the cached reading of invokeTemplate.

pub mod crypto;
mod error;
mod iparams;
mod kv;
mod oauth;
pub mod reads;
mod reset;
mod schedules;
mod schema;
mod settings;
mod summary;
mod types;
mod worker;

pub use crypto::Cipher;
pub use error::StoreError;
pub use kv::{KvFetch, KvRecord, KvWrite};
pub use reads::Reads;
pub use schedules::{
    Repeat, RepeatUnit, ScheduleLimits, ScheduleRecord, ScheduleRefusal, ScheduleWrite,
};
pub use summary::{IntegrationSummary, MASK, Summary};
pub use types::{ClientAuthMethod, Credentials, OAuthStatus, ResetScope, Tokens};
pub use worker::Store;

// The `aad` each kind of sealed value is bound to (see [`crypto`]).
fn iparam_aad(name: &str) -> String {
    format!("iparam:{name}")
}
fn secret_aad(integration: &str) -> String {
    format!("client_secret:{integration}")
}
fn oauth_iparams_aad(integration: &str) -> String {
    format!("oauth_iparams:{integration}")
}
fn tokens_aad(integration: &str) -> String {
    format!("tokens:{integration}")
}

/// Unix milliseconds now (the key-value store's times, as FDK keeps them).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Unix seconds now.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests;
