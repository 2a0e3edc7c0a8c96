//! Reading a request body, for every handler that reads one: up to a size limit, within a
//! time limit, and within a memory budget shared by all bodies being read. Each handler
//! answers a [`BodyError`] in its own format (FDK's `{message, status}` on `/dprouter`, the
//! iparams API's JSON errors, the error page of the setup forms), never with actix's
//! plain-text `payload reached size limit`.
//!
//! * **Time.** A body that stops arriving (a client that sends the headers and part of the
//!   body, then nothing) held its connection and buffer for ever. The whole body must
//!   arrive within `Config::body_timeout` (30 s), else the answer is 408.
//! * **Memory.** `/dprouter` accepts 8 MB, and 32 such bodies at once took the server to
//!   555 MB. Bodies up to [`FREE_BODY`] are read at once (the calls of an app, the setup
//!   forms); a larger one first takes its size from a budget of [`BUDGET`] bytes that all
//!   large bodies share, and gives it back when its handler is done with it. When the budget
//!   is spent, a large body waits for another to finish (the connection stays open, the
//!   bytes stay in the kernel), within the same time limit; after it, the answer is 503.

use std::sync::Arc;
use std::time::Duration;

use actix_web::HttpRequest;
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::web::{self, Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use super::Shared;

/// Bodies up to this size need nothing from the budget: the setup forms (100 KB) and the
/// calls of any app but one uploading files.
pub const FREE_BODY: usize = 128 * 1024;

/// The bytes that large bodies may take together while being read and handled: four
/// `/dprouter` bodies of the full 8 MB at a time. What a handler makes of a body (the parsed
/// JSON, the request it sends) comes on top, about as much again.
pub const BUDGET: usize = 32 * 1024 * 1024;

/// Why a body was not read.
#[derive(Debug)]
pub enum BodyError {
    /// The connection failed or the body was malformed (e.g. bad chunked encoding).
    Unreadable(String),
    /// More than the limit; the rest is not read.
    TooLarge,
    /// The body did not arrive within the time limit.
    TimedOut(Duration),
    /// Other large bodies held the memory budget for the whole time limit.
    Busy,
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BodyError::Unreadable(e) => write!(f, "the request body could not be read: {e}"),
            BodyError::TooLarge => write!(f, "the request body is too large"),
            BodyError::TimedOut(t) => write!(
                f,
                "the request body did not arrive within {} s (the client stopped sending it)",
                t.as_secs_f64()
            ),
            BodyError::Busy => write!(
                f,
                "fdk-emu is busy reading other large request bodies ({} MB at a time); send this one again in a moment",
                BUDGET / (1024 * 1024)
            ),
        }
    }
}

/// The memory budget of large bodies (see the module's doc). One per server.
#[derive(Clone)]
pub struct BodyBudget {
    bytes: Arc<Semaphore>,
    total: usize,
}

impl Default for BodyBudget {
    fn default() -> BodyBudget {
        BodyBudget::new(BUDGET)
    }
}

impl BodyBudget {
    pub fn new(total: usize) -> BodyBudget {
        BodyBudget {
            bytes: Arc::new(Semaphore::new(total)),
            total,
        }
    }

    /// Takes `n` bytes of the budget (at most all of it), waiting until `deadline`.
    async fn take(&self, n: usize, deadline: Instant) -> Result<OwnedSemaphorePermit, BodyError> {
        let n = u32::try_from(n.min(self.total)).unwrap_or(u32::MAX);
        match tokio::time::timeout_at(deadline, self.bytes.clone().acquire_many_owned(n)).await {
            Ok(Ok(permit)) => Ok(permit),
            // The semaphore is never closed.
            Ok(Err(_)) | Err(_) => Err(BodyError::Busy),
        }
    }
}

/// A body read whole. Its share of the budget, if it took one, is given back when it is
/// dropped: keep it until the handler is done with what it made of the bytes.
pub struct Body {
    bytes: Bytes,
    _budget: Option<OwnedSemaphorePermit>,
}

impl std::ops::Deref for Body {
    type Target = Bytes;
    fn deref(&self) -> &Bytes {
        &self.bytes
    }
}

/// Reads the body of `req` from `payload`: at most `limit` bytes, within the server's time
/// limit and memory budget.
pub async fn read(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<Body, BodyError> {
    let shared = req.app_data::<web::Data<Shared>>();
    let timeout = shared.map_or(crate::config::BODY_TIMEOUT, |s| s.config.body_timeout);
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<usize>().ok());
    read_from(payload, declared, limit, timeout, shared.map(|s| &s.bodies)).await
}

async fn read_from(
    mut payload: impl Stream<Item = Result<Bytes, PayloadError>> + Unpin,
    declared: Option<usize>,
    limit: usize,
    timeout: Duration,
    budget: Option<&BodyBudget>,
) -> Result<Body, BodyError> {
    let deadline = Instant::now() + timeout;
    if declared.is_some_and(|n| n > limit) {
        return Err(BodyError::TooLarge);
    }
    let mut held = None;
    if let (Some(n), Some(budget)) = (declared, budget)
        && n > FREE_BODY
    {
        held = Some(budget.take(n, deadline).await?);
    }
    let mut body = BytesMut::with_capacity(declared.unwrap_or(0).min(limit));
    loop {
        let chunk = match tokio::time::timeout_at(deadline, payload.next()).await {
            Err(_) => return Err(BodyError::TimedOut(timeout)),
            Ok(None) => break,
            Ok(Some(chunk)) => chunk.map_err(|e| BodyError::Unreadable(e.to_string()))?,
        };
        let len = body.len() + chunk.len();
        if len > limit {
            return Err(BodyError::TooLarge);
        }
        // A body of unknown length that grows large takes what it may still grow to.
        if len > FREE_BODY
            && held.is_none()
            && let Some(budget) = budget
        {
            held = Some(budget.take(limit, deadline).await?);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Body {
        bytes: body.freeze(),
        _budget: held,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(
        parts: Vec<&'static [u8]>,
    ) -> impl Stream<Item = Result<Bytes, PayloadError>> + Unpin {
        futures_util::stream::iter(parts.into_iter().map(|p| Ok(Bytes::from_static(p))))
    }

    #[tokio::test]
    async fn reads_whole_bodies_and_refuses_large_ones() {
        let t = Duration::from_secs(5);
        let body = read_from(chunks(vec![b"ab", b"cd"]), None, 10, t, None).await;
        assert_eq!(
            body.map(|b| b.bytes.clone()).ok(),
            Some(Bytes::from_static(b"abcd"))
        );
        let big = read_from(chunks(vec![b"abcdef", b"ghijkl"]), None, 10, t, None).await;
        assert!(matches!(big, Err(BodyError::TooLarge)));
        let declared = read_from(chunks(vec![]), Some(11), 10, t, None).await;
        assert!(matches!(declared, Err(BodyError::TooLarge)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_body_times_out() {
        let stalled = futures_util::stream::iter(vec![Ok(Bytes::from_static(b"{\"a\":"))])
            .chain(futures_util::stream::pending());
        let t = Duration::from_secs(30);
        let r = read_from(Box::pin(stalled), Some(100), 1000, t, None).await;
        assert!(matches!(r, Err(BodyError::TimedOut(d)) if d == t));
    }

    #[tokio::test(start_paused = true)]
    async fn large_bodies_share_the_budget_and_give_it_back() {
        let budget = BodyBudget::new(3 * FREE_BODY);
        let big = vec![0u8; 2 * FREE_BODY].leak();
        let t = Duration::from_secs(30);
        let first = read_from(
            chunks(vec![big]),
            Some(big.len()),
            4 * FREE_BODY,
            t,
            Some(&budget),
        )
        .await
        .unwrap_or_else(|_| panic!("the first fits"));
        // A second one does not fit while the first is held: it waits, then gives up.
        let second = read_from(
            chunks(vec![big]),
            Some(big.len()),
            4 * FREE_BODY,
            t,
            Some(&budget),
        )
        .await;
        assert!(matches!(second, Err(BodyError::Busy)));
        // Small bodies never wait.
        let small = read_from(chunks(vec![b"{}"]), Some(2), 10, t, Some(&budget)).await;
        assert!(small.is_ok());
        drop(first);
        let third = read_from(
            chunks(vec![big]),
            Some(big.len()),
            4 * FREE_BODY,
            t,
            Some(&budget),
        )
        .await;
        assert!(third.is_ok());
    }
}
