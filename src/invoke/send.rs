//! Sending one prepared request: the client, the per-attempt timeout, retries, redirects, the
//! response size limit, and telling network failures apart.
//!
//! The client is hyper-util's pooled client with rustls, used directly rather than through
//! reqwest: reqwest parsed each request's URL twice more (once for its redirect policy) and
//! wrapped every call in layers this path does not use (cookies, decompression, proxies).
//! Together that was a quarter of the instructions of a proxied call (callgrind), and the
//! added latency of `invokeTemplate` is mostly CPU (`scripts/bench-proxy`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::web::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{self, HeaderMap};
use hyper::{Method, Request, Uri};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use indexmap::IndexMap;
use url::Url;

/// How many redirects a GET follows, as FDK's HTTP library (`request`, `maxRedirects: 10`).
const MAX_REDIRECTS: usize = 10;

/// A keep-alive HTTP/1.1 client for `http` and `https` (rustls, webpki roots).
#[derive(Clone)]
pub struct HttpClient(Client<HttpsConnector<HttpConnector>, Full<Bytes>>);

impl HttpClient {
    pub fn new(connect_timeout: Duration) -> HttpClient {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(connect_timeout));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        // Fails only for a provider without any TLS version; ring has 1.2 and 1.3.
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(provider)
            .unwrap_or_else(|_| unreachable!("ring supports TLS 1.2 and 1.3"))
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .build(https);
        HttpClient(client)
    }
}

/// A request ready to go out: everything rendered.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub method: Method,
    /// The URL as shown to the developer (masked before printing).
    pub url: String,
    /// The same URL in the form the client sends.
    pub uri: Uri,
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
    client: &HttpClient,
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
        let outcome = send_once(client, p, timeout, limit).await;
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

/// One attempt: connect, send, follow GET redirects, read the whole body, all within
/// `timeout`.
pub async fn send_once(
    client: &HttpClient,
    p: &Prepared,
    timeout: Duration,
    limit: Option<usize>,
) -> Result<Answer, NetError> {
    match tokio::time::timeout(timeout, exchange(client, p, limit)).await {
        Ok(r) => r,
        Err(_) => Err(NetError::Timeout),
    }
}

async fn exchange(
    client: &HttpClient,
    p: &Prepared,
    limit: Option<usize>,
) -> Result<Answer, NetError> {
    let mut uri = p.uri.clone();
    let mut headers = p.headers.clone();
    let mut redirects = 0;
    let resp = loop {
        let mut req = Request::new(Full::new(p.body.clone().unwrap_or_default()));
        *req.method_mut() = p.method.clone();
        *req.uri_mut() = uri.clone();
        *req.headers_mut() = headers.clone();
        let resp = client.0.request(req).await.map_err(|e| classify(&e))?;
        match redirect_target(&p.method, &uri, &resp) {
            Some(next) if redirects < MAX_REDIRECTS => {
                redirects += 1;
                // Host named the previous target; the client sets the new one.
                headers.remove(header::HOST);
                if next.host() != uri.host() {
                    // Credentials meant for one host are not handed to another.
                    headers.remove(header::AUTHORIZATION);
                    headers.remove(header::COOKIE);
                    headers.remove(header::PROXY_AUTHORIZATION);
                }
                uri = next;
            }
            _ => break resp,
        }
    };
    let status = resp.status().as_u16();
    let mut out_headers: IndexMap<String, String> = IndexMap::with_capacity(resp.headers().len());
    for (k, v) in resp.headers() {
        let v = String::from_utf8_lossy(v.as_bytes());
        out_headers
            .entry(k.as_str().to_string())
            .and_modify(|e| {
                e.push_str(", ");
                e.push_str(&v);
            })
            .or_insert_with(|| v.into_owned());
    }
    let declared = resp
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let (Some(limit), Some(len)) = (limit, declared)
        && len > limit as u64
    {
        return Err(NetError::TooLarge);
    }
    let mut body = Vec::with_capacity(declared.unwrap_or(0).min(1 << 20) as usize);
    let mut incoming = resp.into_body();
    while let Some(frame) = incoming.frame().await {
        let frame = frame.map_err(|e| classify(&e))?;
        if let Ok(chunk) = frame.into_data() {
            if limit.is_some_and(|l| body.len() + chunk.len() > l) {
                return Err(NetError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
    }
    Ok(Answer {
        status,
        headers: out_headers,
        body,
    })
}

/// Where a redirect answer points, for the methods FDK's HTTP library follows (GET, HEAD).
fn redirect_target<B>(method: &Method, current: &Uri, resp: &hyper::Response<B>) -> Option<Uri> {
    if !matches!(*method, Method::GET | Method::HEAD) || !resp.status().is_redirection() {
        return None;
    }
    let location = resp.headers().get(header::LOCATION)?.to_str().ok()?;
    let base = Url::parse(&current.to_string()).ok()?;
    let next = base.join(location).ok()?;
    if !matches!(next.scheme(), "http" | "https") {
        return None;
    }
    next.as_str().parse().ok()
}

/// Tells apart DNS, refused, TLS and timeout failures by walking the error's causes.
pub(crate) fn classify(e: &(dyn std::error::Error + 'static)) -> NetError {
    let mut innermost = e.to_string();
    let mut texts = vec![innermost.clone()];
    let mut source = e.source();
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return NetError::Refused,
                std::io::ErrorKind::TimedOut => return NetError::Timeout,
                // "Connection reset by peer" is not a TLS failure, whatever its words say.
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted => {
                    texts.push(s.to_string());
                    return NetError::Other(texts.join(": "));
                }
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
        || all.contains("peer certificate")
        || all.contains("peer misbehaved")
        || all.contains("peer is incompatible")
        || all.contains("invalidcontenttype")
        || all.contains("corrupt message")
    {
        return NetError::Tls(innermost);
    }
    if all.contains("connection refused") {
        return NetError::Refused;
    }
    if all.contains("timed out") {
        return NetError::Timeout;
    }
    NetError::Other(texts.join(": "))
}

#[cfg(test)]
mod tests {
    use super::{NetError, classify};
    use std::io::{Error, ErrorKind};

    /// An error caused by `0`, as the client's errors wrap the socket's.
    #[derive(Debug)]
    struct Wrapped(Error);
    impl std::fmt::Display for Wrapped {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "client error (SendRequest)")
        }
    }
    impl std::error::Error for Wrapped {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn a_reset_by_the_peer_is_not_called_a_tls_failure() {
        let reset = Wrapped(Error::new(
            ErrorKind::ConnectionReset,
            "Connection reset by peer",
        ));
        match classify(&reset) {
            NetError::Other(detail) => assert!(detail.contains("reset by peer"), "{detail}"),
            other => panic!("{other:?}"),
        }
        let refused = Wrapped(Error::from(ErrorKind::ConnectionRefused));
        assert_eq!(classify(&refused), NetError::Refused);
        let tls = Wrapped(Error::other("invalid peer certificate: UnknownIssuer"));
        assert!(matches!(classify(&tls), NetError::Tls(_)));
    }
}
