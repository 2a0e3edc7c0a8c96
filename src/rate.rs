//! A sliding-window rate limiter for the platform's per-app limits: 50 template requests a
//! minute (`invokeTemplate`) and 50 key-value requests a minute (`client.db`, `$db`). Each
//! core holds its own, so the two limits count separately, as in production.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(60);

/// The instants of the last requests within a minute. A std mutex: the critical section is a
/// few instructions and never awaits.
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: usize,
    sent: Mutex<VecDeque<Instant>>,
}

impl RateLimiter {
    pub fn per_minute(per_minute: usize) -> RateLimiter {
        RateLimiter {
            per_minute,
            sent: Mutex::new(VecDeque::with_capacity(per_minute)),
        }
    }

    /// How many requests a minute this limiter lets through.
    pub fn limit(&self) -> usize {
        self.per_minute
    }

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
        if sent.len() >= self.per_minute {
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
        let r = RateLimiter::per_minute(50);
        let t0 = Instant::now();
        for i in 0..50 {
            assert!(r.acquire_at(t0 + Duration::from_millis(i as u64)).is_ok());
        }
        let wait = r.acquire_at(t0 + Duration::from_secs(1));
        assert!(matches!(wait, Err(d) if d > Duration::from_secs(58)));
        assert!(r.acquire_at(t0 + WINDOW).is_ok());
    }
}
