//! Sending one prepared request: the shared client, the per-attempt timeout, retries, the
//! response size limit, and telling network failures apart.

use std::time::Duration;

use actix_web::web::Bytes;
use indexmap::IndexMap;
use reqwest::header::HeaderMap;
use reqwest::{Client, Method};
use url::Url;

/// A request ready to go out: everything rendered.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub method: Method,
    pub url: Url,
    pub headers: HeaderMap,
    pub body: Option<Bytes>,
}

/// What the API answered.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: IndexMap<String, String>,
    pub body: Vec<u8>,
}

/// Why an attempt got no answer. Each kind is named to the developer, instead of FDK's single
/// "Error in establishing connection".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetError {
    /// The host name did not resolve.
    Dns(String),
    /// Nothing listens at the address.
    Refused,
    /// The TLS handshake failed (certificate, protocol).
    Tls(String),
    /// No complete answer within the per-attempt timeout.
    Timeout,
    /// The body grew past the response limit (not retried).
    TooLarge,
    /// Any other transport failure (reset, closed early, bad HTTP).
    Other(String),
}

impl NetError {
    fn retriable(&self) -> bool {
        !matches!(self, NetError::TooLarge)
    }
}

/// Sends `p` up to `max_attempts` times, waiting `delay` between attempts, retrying network
/// errors, 429 and 5xx. Returns the last outcome and the number of attempts made.
pub async fn send_with_retries(
    client: &Client,
    p: &Prepared,
    timeout: Duration,
    limit: Option<usize>,
    max_attempts: u32,
    delay: Duration,
) -> (Result<Answer, NetError>, u32) {
    let max = max_attempts.max(1);
    let mut attempt = 1;
    loop {
        let outcome = send_once(client, p, timeout, limit).await;
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

/// One attempt: connect, send, read the whole body, all within `timeout`.
pub async fn send_once(
    client: &Client,
    p: &Prepared,
    timeout: Duration,
    limit: Option<usize>,
) -> Result<Answer, NetError> {
    let work = async {
        let mut rb = client
            .request(p.method.clone(), p.url.clone())
            .headers(p.headers.clone());
        if let Some(b) = &p.body {
            rb = rb.body(b.clone());
        }
        let mut resp = rb.send().await.map_err(classify)?;
        let status = resp.status().as_u16();
        let mut headers: IndexMap<String, String> = IndexMap::with_capacity(resp.headers().len());
        for (k, v) in resp.headers() {
            let v = String::from_utf8_lossy(v.as_bytes());
            headers
                .entry(k.as_str().to_string())
                .and_modify(|e| {
                    e.push_str(", ");
                    e.push_str(&v);
                })
                .or_insert_with(|| v.into_owned());
        }
        if let (Some(limit), Some(len)) = (limit, resp.content_length())
            && len > limit as u64
        {
            return Err(NetError::TooLarge);
        }
        let mut body = Vec::with_capacity(resp.content_length().unwrap_or(0).min(1 << 20) as usize);
        while let Some(chunk) = resp.chunk().await.map_err(classify)? {
            if limit.is_some_and(|l| body.len() + chunk.len() > l) {
                return Err(NetError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer {
            status,
            headers,
            body,
        })
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(r) => r,
        Err(_) => Err(NetError::Timeout),
    }
}

/// Tells apart DNS, refused, TLS and timeout failures by walking the error's causes.
fn classify(e: reqwest::Error) -> NetError {
    if e.is_timeout() {
        return NetError::Timeout;
    }
    let mut innermost = e.to_string();
    let mut texts = vec![innermost.clone()];
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return NetError::Refused,
                std::io::ErrorKind::TimedOut => return NetError::Timeout,
                _ => {}
            }
        }
        innermost = s.to_string();
        texts.push(innermost.clone());
        source = s.source();
    }
    let all = texts.join(": ").to_ascii_lowercase();
    if all.contains("dns error") || all.contains("failed to lookup address") {
        return NetError::Dns(innermost);
    }
    if all.contains("certificate")
        || all.contains("tls")
        || all.contains("handshake")
        || all.contains("peer")
        || all.contains("invalidcontenttype")
        || all.contains("corrupt message")
    {
        return NetError::Tls(innermost);
    }
    if all.contains("connection refused") {
        return NetError::Refused;
    }
    NetError::Other(texts.join(": "))
}
