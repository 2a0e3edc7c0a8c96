//! The production rate limit: 50 template requests a minute per app (and account). Enforced
//! locally by default so an app that would be throttled in production is throttled here too.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const PER_MINUTE: usize = 50;
const WINDOW: Duration = Duration::from_secs(60);

/// A sliding window of the instants of the last requests. A std mutex: the critical section
/// is a few instructions and never awaits.
#[derive(Debug, Default)]
pub struct RateLimiter {
    sent: Mutex<VecDeque<Instant>>,
}

impl RateLimiter {
    /// Takes a slot, or says how long until one frees up.
    pub fn acquire(&self) -> Result<(), Duration> {
        self.acquire_at(Instant::now())
    }

    fn acquire_at(&self, now: Instant) -> Result<(), Duration> {
        let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        while sent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= WINDOW)
        {
            sent.pop_front();
        }
        if sent.len() >= PER_MINUTE {
            let oldest = sent.front().copied().unwrap_or(now);
            return Err(WINDOW.saturating_sub(now.duration_since(oldest)));
        }
        sent.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifty_a_minute_then_a_slot_frees() {
        let r = RateLimiter::default();
        let t0 = Instant::now();
        for i in 0..PER_MINUTE {
            assert!(r.acquire_at(t0 + Duration::from_millis(i as u64)).is_ok());
        }
        let wait = r.acquire_at(t0 + Duration::from_secs(1));
        assert!(matches!(wait, Err(d) if d > Duration::from_secs(58)));
        assert!(r.acquire_at(t0 + WINDOW).is_ok());
    }
}
