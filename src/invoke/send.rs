//! FDK's retry rule for a prepared request: network failures, 429 and 5xx are tried again, up
//! to the template's `maxAttempts`, `retryDelay` apart. One attempt (the client, its timeout,
//! redirects, the response size limit) is `crate::net`'s.

use std::time::{Duration, Instant};

use crate::net::{Answer, Client, NetError, Prepared};

/// One attempt as the inspector shows it: when it started, how long it took, what came back.
#[derive(Debug, Clone)]
pub struct AttemptLog {
    pub started: Instant,
    pub took: Duration,
    pub result: Result<u16, NetError>,
}

/// Sends `p` up to `max_attempts` times, waiting `delay` between attempts, retrying network
/// errors, 429 and 5xx. Returns the last outcome and the number of attempts made; with `log`,
/// each attempt is added to it.
pub async fn send_with_retries(
    client: &Client,
    p: &Prepared,
    timeout: Duration,
    limit: Option<usize>,
    max_attempts: u32,
    delay: Duration,
    mut log: Option<&mut Vec<AttemptLog>>,
) -> (Result<Answer, NetError>, u32) {
    let max = max_attempts.max(1);
    let mut attempt = 1;
    loop {
        let started = log.is_some().then(Instant::now);
        let outcome = client.send(p, timeout, limit).await;
        if let (Some(log), Some(started)) = (log.as_mut(), started) {
            log.push(AttemptLog {
                started,
                took: started.elapsed(),
                result: outcome.as_ref().map(|a| a.status).map_err(Clone::clone),
            });
        }
        let retry = match &outcome {
            Ok(a) => a.status == 429 || a.status >= 500,
            Err(e) => e.retriable(),
        };
        if !retry || attempt >= max {
            return (outcome, attempt);
        }
        attempt += 1;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }
}
