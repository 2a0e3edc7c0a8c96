//! The `state` parameter of the handshake: a one-time random value that ties the provider's
//! redirect back to the `/auth/index` request that started it.
//!
//! FDK stores one UUID per product, never clears it and accepts it again, so a callback URL can
//! be replayed and two handshakes overwrite each other. Here each handshake gets its own state:
//! 256 random bits, kept server-side with the integration and the page to return to, valid for
//! ten minutes and usable once. The pending states live in memory: they only have to survive
//! the minute a developer spends on the provider's consent page, and a restart simply asks
//! for a new handshake.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use rand::Rng as _;

use crate::config::OAUTH_STATE_TTL as STATE_TTL;

/// More pending handshakes than anyone starts by hand; beyond it one is dropped so a script
/// hammering `/auth/index` cannot grow memory without bound (see [`Started`] for which).
const MAX_PENDING: usize = 1000;

/// Who started a handshake, as far as the browser vouches for it.
///
/// Any page on the web can make the developer's browser open `/auth/index` (a link, an
/// image, a hidden frame), and a script can call it in a loop; each call issues a state.
/// When the store is full, the oldest state is dropped, and without this distinction 5 000
/// such calls dropped the developer's own pending handshake, whose callback then failed as
/// "not one this server issued". States started from our own pages or typed into the
/// address bar are dropped only when no other state is left to drop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Started {
    /// From one of our pages (`Sec-Fetch-Site: same-origin`) or by the developer directly
    /// (`none`: the address bar, a bookmark). Browsers set this header themselves; a page
    /// cannot forge it.
    ByDeveloper,
    /// Anything else: another site's page, or a client that sends no `Sec-Fetch-Site`.
    Unvouched,
}

/// What a state stands for, known only to the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub integration: String,
    /// Path (with query) on our server to send the browser to after success.
    pub return_to: String,
    /// Agent-level handshakes hand the tokens to the opener page instead of storing them.
    pub agent: bool,
}

/// Why a callback's state was refused. Each case gets its own page, so the developer knows
/// whether to retry or to look for a stale tab.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    #[error("the callback has no state parameter")]
    Missing,
    #[error("the state is not one this server issued (forged, or from before a restart)")]
    Unknown,
    #[error("the state has expired (a handshake must finish within 10 minutes)")]
    Expired,
    #[error("the state has already been used (the callback was opened twice)")]
    Reused,
}

#[derive(Debug)]
struct Entry {
    pending: Pending,
    issued: Instant,
    started: Started,
}

#[derive(Debug, Default)]
struct Inner {
    pending: HashMap<String, Entry>,
    /// States taken already, kept until they would have expired, to tell "reused" from
    /// "unknown".
    used: HashMap<String, Instant>,
}

/// The pending handshakes of this server process.
///
/// A `std` mutex: every operation is a few map lookups and never awaits.
#[derive(Debug)]
pub struct StateStore {
    inner: Mutex<Inner>,
    ttl: Duration,
}

impl Default for StateStore {
    fn default() -> StateStore {
        StateStore::with_ttl(STATE_TTL)
    }
}

impl StateStore {
    pub fn new() -> StateStore {
        StateStore::default()
    }

    /// A store whose states expire after `ttl` (tests use a short one).
    pub fn with_ttl(ttl: Duration) -> StateStore {
        StateStore {
            inner: Mutex::default(),
            ttl,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding this lock cannot leave the maps inconsistent (each operation
        // is a single insert or remove), so a poisoned lock is safe to keep using.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Issues a fresh state for a handshake.
    pub fn issue(&self, pending: Pending, started: Started) -> String {
        let state = random_state();
        let now = Instant::now();
        let ttl = self.ttl;
        let mut inner = self.lock();
        inner
            .pending
            .retain(|_, e| now.duration_since(e.issued) < ttl);
        inner.used.retain(|_, at| now.duration_since(*at) < ttl);
        if inner.pending.len() >= MAX_PENDING
            && let Some(victim) = inner
                .pending
                .iter()
                // Unvouched states first, then the oldest.
                .min_by_key(|(_, e)| (e.started == Started::ByDeveloper, e.issued))
                .map(|(k, _)| k.clone())
        {
            inner.pending.remove(&victim);
        }
        inner.pending.insert(
            state.clone(),
            Entry {
                pending,
                issued: now,
                started,
            },
        );
        state
    }

    /// Takes a state from a callback: valid once, within the time limit.
    pub fn take(&self, state: Option<&str>) -> Result<Pending, StateError> {
        self.take_at(state, Instant::now())
    }

    /// [`take`](Self::take) as if the clock showed `now` (lets tests expire a state without
    /// waiting ten minutes).
    fn take_at(&self, state: Option<&str>, now: Instant) -> Result<Pending, StateError> {
        let state = match state {
            Some(s) if !s.is_empty() => s,
            _ => return Err(StateError::Missing),
        };
        let ttl = self.ttl;
        let mut inner = self.lock();
        match inner.pending.remove(state) {
            Some(entry) => {
                inner.used.insert(state.to_string(), now);
                if now.duration_since(entry.issued) >= ttl {
                    Err(StateError::Expired)
                } else {
                    Ok(entry.pending)
                }
            }
            None if inner.used.contains_key(state) => Err(StateError::Reused),
            None => Err(StateError::Unknown),
        }
    }
}

/// 256 bits from the thread's CSPRNG, URL-safe base64 (43 characters).
fn random_state() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending() -> Pending {
        Pending {
            integration: "github".into(),
            return_to: "/custom_configs".into(),
            agent: false,
        }
    }

    #[test]
    fn a_state_is_valid_once() {
        let store = StateStore::new();
        let s = store.issue(pending(), Started::ByDeveloper);
        assert_eq!(store.take(Some(&s)), Ok(pending()));
        assert_eq!(store.take(Some(&s)), Err(StateError::Reused));
    }

    #[test]
    fn forged_and_missing_states_are_refused() {
        let store = StateStore::new();
        let _real = store.issue(pending(), Started::ByDeveloper);
        assert_eq!(store.take(Some("forged")), Err(StateError::Unknown));
        assert_eq!(store.take(Some("")), Err(StateError::Missing));
        assert_eq!(store.take(None), Err(StateError::Missing));
    }

    #[test]
    fn an_expired_state_is_refused_and_cannot_be_retried() {
        let store = StateStore::new();
        let s = store.issue(pending(), Started::ByDeveloper);
        let later = Instant::now() + STATE_TTL + Duration::from_secs(1);
        assert_eq!(store.take_at(Some(&s), later), Err(StateError::Expired));
        assert_eq!(store.take(Some(&s)), Err(StateError::Reused));
    }

    #[test]
    fn states_are_long_random_and_distinct() {
        let store = StateStore::new();
        let a = store.issue(pending(), Started::ByDeveloper);
        let b = store.issue(pending(), Started::ByDeveloper);
        assert_ne!(a, b);
        // 43 base64 characters carry 256 bits (≥ 128 asked for).
        assert_eq!(a.len(), 43);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
    }

    #[test]
    fn a_flood_of_unvouched_states_leaves_the_developers_handshake_alone() {
        let store = StateStore::new();
        let mine = store.issue(pending(), Started::ByDeveloper);
        let first_flood = store.issue(pending(), Started::Unvouched);
        for _ in 0..5 * MAX_PENDING {
            store.issue(pending(), Started::Unvouched);
        }
        assert_eq!(store.lock().pending.len(), MAX_PENDING, "still bounded");
        assert_eq!(store.take(Some(&first_flood)), Err(StateError::Unknown));
        assert_eq!(store.take(Some(&mine)), Ok(pending()));
    }

    #[test]
    fn when_only_the_developers_states_are_left_the_oldest_goes() {
        let store = StateStore::new();
        let oldest = store.issue(pending(), Started::ByDeveloper);
        for _ in 0..MAX_PENDING {
            store.issue(pending(), Started::ByDeveloper);
        }
        assert_eq!(store.lock().pending.len(), MAX_PENDING);
        assert_eq!(store.take(Some(&oldest)), Err(StateError::Unknown));
    }

    #[test]
    fn each_state_keeps_its_own_integration() {
        let store = StateStore::new();
        let a = store.issue(pending(), Started::ByDeveloper);
        let b = store.issue(
            Pending {
                integration: "asana".into(),
                return_to: "/custom_configs?x=1".into(),
                agent: true,
            },
            Started::Unvouched,
        );
        assert_eq!(
            store.take(Some(&b)).map(|p| p.integration),
            Ok("asana".into())
        );
        assert_eq!(
            store.take(Some(&a)).map(|p| p.integration),
            Ok("github".into())
        );
    }
}
