//! The one outgoing HTTP stack: the clients and their connection pools, the TLS
//! configuration, one attempt of a request (per-attempt timeout, redirects, the response size
//! limit), and the classification of transport failures (DNS, refused, TLS, timeout, reset).
//!
//! `invokeTemplate` (crate::invoke) and the OAuth token endpoint (crate::oauth::client) both
//! go out through here, so a failure is named the same way whichever of them met it, and the
//! trusted roots are the same for both.
//!
//! Two clients, one stack: the project's design names reqwest as the HTTP client, and the
//! OAuth token endpoint is called through it ([`token_client`]), a few times an hour, where
//! its conveniences cost nothing that shows. `invokeTemplate` keeps hyper-util's pooled
//! client ([`Client`]), which reqwest itself is built on: measured in one run against a
//! reqwest path with the same semantics (issue 10, 60 interleaved rounds of
//! `scripts/bench-net-ab` at commit b7d7d9b), reqwest added a median 26 us to the p50 of a
//! proxied call at 1 connection, kept 85 % of the requests/s at 16 connections, and cost
//! 17 us more CPU per call (78 against 64 us at 16 connections), past the bounds of
//! 10 us and 10 %.
//! reqwest also adds `Accept: */*` to every request that has none, which FDK does not.
//! Both clients share the TLS configuration and the error classifier below.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap};
use http::{Method, Uri};
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use indexmap::IndexMap;
use url::Url;

/// How many redirects a GET follows, as FDK's HTTP library (`request`, `maxRedirects: 10`).
const MAX_REDIRECTS: usize = 10;

/// How long an unused keep-alive connection stays in a pool.
const POOL_IDLE: Duration = Duration::from_secs(60);

/// The TLS configuration of every client: rustls with ring, TLS 1.2 and 1.3, the webpki
/// (Mozilla) roots. Built once per process; each client gets a copy, which shares the root
/// store and the certificate verifier.
fn tls_config() -> rustls::ClientConfig {
    static TLS: OnceLock<rustls::ClientConfig> = OnceLock::new();
    TLS.get_or_init(|| {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            // Fails only for a provider without any TLS version; ring has 1.2 and 1.3.
            .unwrap_or_else(|_| unreachable!("ring supports TLS 1.2 and 1.3"))
            .with_root_certificates(roots)
            .with_no_client_auth()
    })
    .clone()
}

/// The client for OAuth token endpoints: reqwest with the shared TLS configuration, no
/// redirects followed (a token endpoint that redirects is reported, not followed).
pub fn token_client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .use_preconfigured_tls(tls_config())
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

/// A keep-alive HTTP/1.1 client for `http` and `https`, for `invokeTemplate`.
///
/// A pooled connection is driven by a task on the runtime that opened it, so a server gives
/// each of its worker threads a client of its own (see `Invoker::for_worker`).
#[derive(Clone)]
pub struct Client(hyper_util::client::legacy::Client<HttpsConnector<HttpConnector>, Full<Bytes>>);

impl Client {
    pub fn new(connect_timeout: Duration) -> Client {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(connect_timeout));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls_config())
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(POOL_IDLE)
            .build(https);
        Client(client)
    }

    /// One attempt: connect, send, follow GET redirects, read the whole body, all within
    /// `timeout`. A body over `limit` bytes is [`NetError::TooLarge`].
    pub async fn send(
        &self,
        p: &Prepared,
        timeout: Duration,
        limit: Option<usize>,
    ) -> Result<Answer, NetError> {
        match tokio::time::timeout(timeout, self.exchange(p, limit)).await {
            Ok(r) => r,
            Err(_) => Err(NetError::Timeout),
        }
    }

    async fn exchange(&self, p: &Prepared, limit: Option<usize>) -> Result<Answer, NetError> {
        let mut uri = p.uri.clone();
        let mut headers = p.headers.clone();
        let mut redirects = 0;
        let resp = loop {
            let mut req = http::Request::new(Full::new(p.body.clone().unwrap_or_default()));
            *req.method_mut() = p.method.clone();
            *req.uri_mut() = uri.clone();
            *req.headers_mut() = headers.clone();
            let resp = self.0.request(req).await.map_err(|e| classify(&e))?;
            match redirect_target(&p.method, &uri, &resp) {
                Some(next) if redirects < MAX_REDIRECTS => {
                    redirects += 1;
                    // Host named the previous target; the client sets the new one.
                    headers.remove(header::HOST);
                    if !same_origin(&next, &uri) {
                        // Credentials meant for one origin are not handed to another: not
                        // to another host, and not to another port or scheme of the same
                        // host either (another server, or the same one in clear text).
                        // Once dropped they stay dropped, even if a later hop comes back.
                        headers.remove(header::AUTHORIZATION);
                        headers.remove(header::COOKIE);
                        headers.remove(header::PROXY_AUTHORIZATION);
                        for name in &p.secret_headers {
                            headers.remove(name);
                        }
                    }
                    uri = next;
                }
                _ => break resp,
            }
        };
        let status = resp.status().as_u16();
        let out_headers = joined_headers(resp.headers());
        let declared = declared_length(resp.headers());
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
    /// Headers whose value holds a secret (a secure iparam, an access token): dropped, like
    /// `Authorization`, when a redirect leads to another origin.
    pub secret_headers: Vec<http::HeaderName>,
    pub body: Option<Bytes>,
}

/// What the server answered.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    /// Names in lower case; the values of a repeated header joined with ", ".
    pub headers: IndexMap<String, String>,
    pub body: Vec<u8>,
}

/// The response headers as one value per name, repeated ones joined with ", ".
fn joined_headers(headers: &HeaderMap) -> IndexMap<String, String> {
    let mut out: IndexMap<String, String> = IndexMap::with_capacity(headers.len());
    for (k, v) in headers {
        let v = String::from_utf8_lossy(v.as_bytes());
        out.entry(k.as_str().to_string())
            .and_modify(|e| {
                e.push_str(", ");
                e.push_str(&v);
            })
            .or_insert_with(|| v.into_owned());
    }
    out
}

/// The Content-Length the server declared, if it did and it is a number.
fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
}

/// Whether two absolute URIs have the same origin: scheme, host and port (the default port
/// of the scheme when none is written).
fn same_origin(a: &Uri, b: &Uri) -> bool {
    let port = |u: &Uri| {
        u.port_u16().or(match u.scheme_str() {
            Some("http") => Some(80),
            Some("https") => Some(443),
            _ => None,
        })
    };
    a.scheme() == b.scheme()
        && a.host().map(str::to_ascii_lowercase) == b.host().map(str::to_ascii_lowercase)
        && port(a) == port(b)
}

/// Where a redirect answer points, for the methods FDK's HTTP library follows (GET, HEAD).
fn redirect_target<B>(method: &Method, current: &Uri, resp: &http::Response<B>) -> Option<Uri> {
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
    /// Whether trying again may help: every transport failure but an answer too large.
    pub fn retriable(&self) -> bool {
        !matches!(self, NetError::TooLarge)
    }
}

/// Tells apart DNS, refused, TLS and timeout failures by walking the error's causes.
pub fn classify(e: &(dyn std::error::Error + 'static)) -> NetError {
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
    use super::{NetError, classify, same_origin};

    #[test]
    fn an_origin_is_scheme_host_and_port() {
        let o = |a: &str, b: &str| {
            same_origin(
                &a.parse().unwrap_or_else(|_| unreachable!()),
                &b.parse().unwrap_or_else(|_| unreachable!()),
            )
        };
        assert!(o(
            "https://api.example.com/a",
            "https://API.example.com:443/b?c"
        ));
        assert!(o("http://127.0.0.1:8080/a", "http://127.0.0.1:8080/"));
        assert!(!o("http://127.0.0.1:8080/a", "http://127.0.0.1:8081/a"));
        assert!(!o("https://api.example.com/", "http://api.example.com/"));
        assert!(!o(
            "https://api.example.com/",
            "https://api.example.com:8443/"
        ));
        assert!(!o("https://api.example.com/", "https://other.example.com/"));
    }
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
