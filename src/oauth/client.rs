//! Talking to the provider's token endpoint: the code exchange and the refresh.
//!
//! FDK sends the client credentials in the form body and nothing else (reference §4.5). Some
//! providers only accept HTTP Basic (`client_secret_basic`; oidc-provider-mock does for
//! refreshes), so when the body method is refused with `invalid_client` or a 401 we try
//! Basic once and report which one worked, for the caller to remember per integration.
//!
//! Nothing here ever puts the client secret or a token into an error message.

use std::time::Duration;

use base64::Engine as _;
use serde_json::{Map, Value};

/// How the client authenticates to the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// `client_id` and `client_secret` in the form body (FDK's way).
    Body,
    /// `Authorization: Basic …`.
    Basic,
}

impl AuthMethod {
    fn other(self) -> AuthMethod {
        match self {
            AuthMethod::Body => AuthMethod::Basic,
            AuthMethod::Basic => AuthMethod::Body,
        }
    }
}

/// Everything needed to call one integration's token endpoint.
#[derive(Clone)]
pub struct Endpoint {
    pub integration: String,
    pub token_url: url::Url,
    pub client_id: String,
    pub client_secret: String,
    /// `options.customHeaders`.
    pub headers: Vec<(String, String)>,
    /// The `Host` to send when `token_url`'s host is routed to a local server by an
    /// override: the provider's own (see [`crate::config::host_header`]).
    pub host: Option<String>,
    pub timeout: Duration,
}

/// Debug without the secret.
impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("integration", &self.integration)
            .field("token_url", &self.token_url.as_str())
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// What to ask the token endpoint for.
pub enum Grant<'a> {
    AuthorizationCode {
        code: &'a str,
        redirect_uri: &'a str,
    },
    RefreshToken {
        refresh_token: &'a str,
    },
}

impl Grant<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Grant::AuthorizationCode { .. } => "code exchange",
            Grant::RefreshToken { .. } => "refresh",
        }
    }
}

/// A successful token response.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenResponse {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub token_type: Option<String>,
    pub scope: Option<String>,
    /// Seconds; `None` when the provider did not say.
    pub expires_in: Option<i64>,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"<masked>")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<masked>"),
            )
            .field("token_type", &self.token_type)
            .field("scope", &self.scope)
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// Why a token request failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EndpointError {
    /// The provider answered with an OAuth error (an error status, or a 2xx whose body has
    /// an `error` field, as GitHub does).
    #[error("{}", provider_message(*status, error.as_deref(), description.as_deref(), body))]
    Provider {
        status: u16,
        /// The raw body, for FDK's `/dprouter` refresh answer.
        body: String,
        error: Option<String>,
        description: Option<String>,
    },
    /// No answer: connection refused, DNS, TLS, reset.
    #[error("the token endpoint {url} could not be reached ({detail})")]
    Network { url: String, detail: String },
    #[error("the token endpoint {url} did not answer within {secs} s")]
    Timeout { url: String, secs: u64 },
    /// A 2xx answer that is not a token response.
    #[error("the token endpoint answered HTTP {status} but not with a token: {detail}")]
    BadResponse { status: u16, detail: String },
}

fn provider_message(
    status: u16,
    error: Option<&str>,
    description: Option<&str>,
    body: &str,
) -> String {
    match (error, description) {
        (Some(e), Some(d)) => format!("the provider answered HTTP {status} {e}: {d}"),
        (Some(e), None) => format!("the provider answered HTTP {status} {e}"),
        _ => format!("the provider answered HTTP {status}: {}", excerpt(body)),
    }
}

/// At most 300 characters of a body, on one line.
pub fn excerpt(body: &str) -> String {
    let one_line: String = body
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let trimmed = one_line.trim();
    if trimmed.is_empty() {
        return "(empty body)".into();
    }
    match trimmed.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &trimmed[..i]),
        None => trimmed.to_string(),
    }
}

/// OAuth error codes that mean the grant or the client is dead: retrying later will not help,
/// the developer must authorize again (or fix the client credentials).
const PERMANENT: [&str; 6] = [
    "invalid_grant",
    "invalid_client",
    "unauthorized_client",
    "access_denied",
    "invalid_scope",
    "unsupported_grant_type",
];

impl EndpointError {
    /// Permanent failures mark the integration "needs re-authorization"; the others (network,
    /// timeouts, 5xx, 429, nonsense answers) leave the tokens alone.
    pub fn is_permanent(&self) -> bool {
        match self {
            EndpointError::Provider { status, error, .. } => {
                if let Some(e) = error
                    && PERMANENT.contains(&e.as_str())
                {
                    return true;
                }
                (400..500).contains(status) && *status != 408 && *status != 429
            }
            _ => false,
        }
    }

    /// The provider refused how the client authenticated (not the grant).
    fn rejects_client_auth(&self) -> bool {
        matches!(self, EndpointError::Provider { status, error, .. }
            if *status == 401 || error.as_deref() == Some("invalid_client"))
    }
}

/// Requests tokens with `preferred` client authentication, and once more with the other
/// method when the provider refuses the client authentication. Returns the method that
/// worked along with the tokens.
pub async fn request_tokens(
    http: &reqwest::Client,
    endpoint: &Endpoint,
    grant: &Grant<'_>,
    preferred: AuthMethod,
) -> Result<(TokenResponse, AuthMethod), EndpointError> {
    match request_once(http, endpoint, grant, preferred).await {
        Ok(t) => Ok((t, preferred)),
        Err(e) if e.rejects_client_auth() => {
            let other = preferred.other();
            tracing::info!(
                integration = %endpoint.integration,
                "token endpoint refused client authentication in the {:?} style during the {}; retrying once with {:?}",
                preferred,
                grant.kind(),
                other
            );
            request_once(http, endpoint, grant, other)
                .await
                .map(|t| (t, other))
        }
        Err(e) => Err(e),
    }
}

async fn request_once(
    http: &reqwest::Client,
    endpoint: &Endpoint,
    grant: &Grant<'_>,
    method: AuthMethod,
) -> Result<TokenResponse, EndpointError> {
    // Built in a block: the serializer is not `Send` and must not live across an await.
    let body = {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        match grant {
            Grant::AuthorizationCode { code, redirect_uri } => {
                form.append_pair("grant_type", "authorization_code");
                form.append_pair("code", code);
                form.append_pair("redirect_uri", redirect_uri);
            }
            Grant::RefreshToken { refresh_token } => {
                form.append_pair("grant_type", "refresh_token");
                form.append_pair("refresh_token", refresh_token);
            }
        }
        if method == AuthMethod::Body {
            form.append_pair("client_id", &endpoint.client_id);
            form.append_pair("client_secret", &endpoint.client_secret);
        }
        form.finish()
    };
    let mut req = http
        .post(endpoint.token_url.clone())
        .timeout(endpoint.timeout)
        .header("Accept", "application/json")
        .header("User-Agent", concat!("fdk-emu/", env!("CARGO_PKG_VERSION")));
    for (k, v) in &endpoint.headers {
        // customHeaders cannot override the content type (as in FDK).
        if k.eq_ignore_ascii_case("content-type") {
            continue;
        }
        req = req.header(k.as_str(), v.as_str());
    }
    if let Some(host) = &endpoint.host {
        req = req.header("Host", host.as_str());
    }
    if method == AuthMethod::Basic {
        req = req.header(
            "Authorization",
            basic(&endpoint.client_id, &endpoint.client_secret),
        );
    }
    let req = req
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body);
    let url = endpoint.token_url.as_str();
    let resp = req
        .send()
        .await
        .map_err(|e| transport_error(url, endpoint, &e))?;
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let body = resp
        .text()
        .await
        .map_err(|e| transport_error(url, endpoint, &e))?;
    parse_response(status, &content_type, &body)
}

fn transport_error(url: &str, endpoint: &Endpoint, e: &reqwest::Error) -> EndpointError {
    if e.is_timeout() {
        EndpointError::Timeout {
            url: url.to_string(),
            secs: endpoint.timeout.as_secs().max(1),
        }
    } else {
        // Named as invokeTemplate names them: DNS, refused, TLS, or the whole chain.
        use crate::net::{NetError, classify};
        let detail = match classify(e) {
            NetError::Dns(d) => format!("its host name did not resolve: {d}"),
            NetError::Refused => "connection refused: nothing listens at that address".into(),
            NetError::Tls(d) => format!("TLS failure: {d}"),
            NetError::Timeout => "the connection timed out".into(),
            NetError::TooLarge => "the answer is too large".into(),
            NetError::Other(d) => d,
        };
        EndpointError::Network {
            url: url.to_string(),
            detail,
        }
    }
}

/// HTTP Basic per RFC 6749 §2.3.1: both parts form-urlencoded before base64.
fn basic(id: &str, secret: &str) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let raw = format!("{}:{}", enc(id), enc(secret));
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// Reads a token endpoint answer: JSON, or form-encoded (GitHub's default), whatever the
/// content type claims.
pub fn parse_response(
    status: u16,
    content_type: &str,
    body: &str,
) -> Result<TokenResponse, EndpointError> {
    let fields = parse_fields(content_type, body);
    let field = |k: &str| -> Option<String> {
        match fields.as_ref()?.get(k)? {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    };
    let ok = (200..300).contains(&status);
    if !ok || field("error").is_some() && field("access_token").is_none() {
        return Err(EndpointError::Provider {
            status,
            body: body.to_string(),
            error: field("error"),
            description: field("error_description"),
        });
    }
    let Some(fields_map) = fields.as_ref() else {
        return Err(EndpointError::BadResponse {
            status,
            detail: format!(
                "the body is neither JSON nor form data ({} bytes, Content-Type {content_type:?}){}",
                body.len(),
                // A successful answer may hold a token in a shape we could not parse: then its
                // text is not repeated into logs and pages.
                if ["access_token", "refresh_token", "id_token"]
                    .iter()
                    .any(|k| body.contains(k))
                {
                    String::new()
                } else {
                    format!(": {}", excerpt(body))
                }
            ),
        });
    };
    let Some(access_token) = field("access_token") else {
        let keys: Vec<&str> = fields_map.keys().map(String::as_str).collect();
        return Err(EndpointError::BadResponse {
            status,
            detail: format!(
                "it has no access_token (fields: {})",
                if keys.is_empty() {
                    "none".to_string()
                } else {
                    keys.join(", ")
                }
            ),
        });
    };
    let expires_in = match fields_map.get("expires_in") {
        Some(Value::Number(n)) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
        _ => None,
    }
    .filter(|s| *s > 0);
    Ok(TokenResponse {
        access_token,
        refresh_token: field("refresh_token"),
        token_type: field("token_type"),
        scope: field("scope"),
        expires_in,
    })
}

fn parse_fields(content_type: &str, body: &str) -> Option<Map<String, Value>> {
    if let Ok(Value::Object(m)) = serde_json::from_str::<Value>(body) {
        return Some(m);
    }
    if content_type.contains("json") {
        return None;
    }
    let looks_like_form = !body.trim().is_empty()
        && body.trim().split('&').all(|pair| {
            pair.contains('=') && !pair.contains(char::is_whitespace) && !pair.contains('<')
        });
    if !looks_like_form {
        return None;
    }
    Some(
        url::form_urlencoded::parse(body.trim().as_bytes())
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_token_response() {
        let t = parse_response(
            200,
            "application/json",
            r#"{"access_token":"A","refresh_token":"R","token_type":"Bearer","expires_in":3600,"scope":"x y"}"#,
        )
        .unwrap();
        assert_eq!(t.access_token, "A");
        assert_eq!(t.refresh_token.as_deref(), Some("R"));
        assert_eq!(t.expires_in, Some(3600));
        assert_eq!(t.scope.as_deref(), Some("x y"));
    }

    #[test]
    fn form_token_response_github_style() {
        let t = parse_response(
            200,
            "application/x-www-form-urlencoded; charset=utf-8",
            "access_token=gho_x&scope=repo%2Cgist&token_type=bearer",
        )
        .unwrap();
        assert_eq!(t.access_token, "gho_x");
        assert_eq!(t.scope.as_deref(), Some("repo,gist"));
        assert_eq!(t.expires_in, None);
    }

    #[test]
    fn expires_in_as_string_and_missing() {
        let t = parse_response(200, "", r#"{"access_token":"A","expires_in":"60"}"#).unwrap();
        assert_eq!(t.expires_in, Some(60));
        let t = parse_response(200, "", r#"{"access_token":"A"}"#).unwrap();
        assert_eq!(t.expires_in, None);
    }

    #[test]
    fn github_error_with_200_is_a_provider_error() {
        let e = parse_response(
            200,
            "application/x-www-form-urlencoded",
            "error=bad_verification_code&error_description=The+code+passed+is+incorrect",
        )
        .unwrap_err();
        assert!(
            matches!(&e, EndpointError::Provider { error: Some(c), .. } if c == "bad_verification_code")
        );
        assert!(e.to_string().contains("The code passed is incorrect"));
    }

    #[test]
    fn invalid_grant_is_permanent_server_errors_are_not() {
        let e =
            parse_response(400, "application/json", r#"{"error":"invalid_grant"}"#).unwrap_err();
        assert!(e.is_permanent());
        let e = parse_response(503, "text/html", "<h1>down</h1>").unwrap_err();
        assert!(!e.is_permanent());
        let e = parse_response(429, "", "slow down").unwrap_err();
        assert!(!e.is_permanent());
    }

    #[test]
    fn an_unparsable_success_is_shown_unless_it_may_hold_a_token() {
        let e = parse_response(200, "text/html", "<html>Sign in first</html>").unwrap_err();
        assert!(e.to_string().contains("Sign in first"), "{e}");
        let e =
            parse_response(200, "text/plain", "access_token: TOK-SECRET-9 (bearer)").unwrap_err();
        let text = e.to_string();
        assert!(!text.contains("TOK-SECRET-9"), "{text}");
        assert!(
            text.contains("neither JSON nor form data (35 bytes"),
            "{text}"
        );
    }

    #[test]
    fn garbage_is_a_bad_response_not_permanent() {
        for body in [
            "<html>oops</html>",
            "",
            "not a token",
            "[1,2]",
            "{\"token\":\"x\"}",
        ] {
            let e = parse_response(200, "text/html", body).unwrap_err();
            assert!(
                matches!(e, EndpointError::BadResponse { .. }),
                "{body}: {e:?}"
            );
            assert!(!e.is_permanent());
        }
    }

    #[test]
    fn basic_header_encodes_per_rfc() {
        assert_eq!(
            basic("a b", "s:c"),
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode("a+b:s%3Ac")
            )
        );
    }

    #[test]
    fn excerpt_is_bounded() {
        let long = "x".repeat(1000);
        assert_eq!(excerpt(&long).chars().count(), 301);
        assert_eq!(excerpt("  "), "(empty body)");
    }
}
