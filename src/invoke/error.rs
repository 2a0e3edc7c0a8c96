//! Why a call got no answer from the API, and the status and source FDK's envelope gives
//! each case. Every message says what happened, where, and what to do.

use std::sync::Arc;

use super::compile::CompileError;
use super::envelope::ErrorSource;
use super::{TokenProblem, target};

/// The media types of responses the platform hands to apps: the documented list, plus
/// `application/javascript`, which FDK's proxy accepts instead of `text/javascript`. Any
/// other answer becomes a 415 "Unsupported content type" envelope.
pub const ALLOWED_CONTENT_TYPES: &[&str] = &[
    "application/json",
    "application/xml",
    "text/html",
    "text/xml",
    "application/jsonp",
    "text/plain",
    "text/javascript",
    "application/javascript",
    "application/vnd.api+json",
];

/// Whether the platform would pass this answer to the app. An answer without a body or
/// without a Content-Type (a 204, a bare redirect) has nothing to judge and passes.
pub fn allowed_content_type(headers: &indexmap::IndexMap<String, String>, body: &[u8]) -> bool {
    let Some(value) = headers.get("content-type") else {
        return true;
    };
    if body.is_empty() {
        return true;
    }
    let media = value.split(';').next().unwrap_or_default().trim();
    ALLOWED_CONTENT_TYPES
        .iter()
        .any(|allowed| media.eq_ignore_ascii_case(allowed))
}

/// Why a call produced no answer from the API. Each becomes an envelope with a message
/// saying what happened, where, and what to do.
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    #[error(
        "Request template '{name}' not found in config/requests.json{declared}. Add it to config/requests.json and declare it in manifest.json"
    )]
    UnknownTemplate { name: String, declared: String },
    #[error(
        "Request template '{name}' is not declared in manifest.json: add \"{name}\": {{}} under {place}{declared}"
    )]
    Undeclared {
        name: String,
        place: &'static str,
        declared: String,
    },
    #[error("Error while substituting the templates: {0}")]
    Compile(Arc<CompileError>),
    #[error(
        "Error while substituting the templates: template '{template}', schema.{field}: {error}"
    )]
    Substitution {
        template: String,
        field: String,
        error: Box<crate::template::RenderError>,
    },
    #[error(
        "template '{template}', schema.{field}: the value of `{variable}` holds a `..` segment, which would leave the template's path (`..` and `%2e%2e` both climb a folder up). Check what the app passes as `{variable}`: an ID or a name, not a path with `..`"
    )]
    PathEscape {
        template: String,
        field: String,
        variable: String,
    },
    #[error("template '{template}': {error}")]
    Url {
        template: String,
        error: target::UrlError,
    },
    #[error(
        "template '{template}': the value of header `{header}` after substitution is not a valid HTTP header value (it contains a line break or another control character)"
    )]
    HeaderValue { template: String, header: String },
    #[error("could not read the stored installation parameters: {0}")]
    Store(String),
    #[error(
        "Rate limit exceeded: more than {limit} template requests in the last minute (the production limit is {limit} a minute per app and account). A slot frees up in {wait_s} s; start fdk-emu with --no-rate-limit to switch the limit off locally"
    )]
    RateLimited { limit: usize, wait_s: u64 },
    #[error("template '{template}' needs OAuth: {message}")]
    NeedsAuthorization { template: String, message: String },
    #[error("template '{template}': no access token: {message}")]
    TokenTransient { template: String, message: String },
    #[error("template '{template}': {message}")]
    TokenUnknown { template: String, message: String },
    #[error(
        "Error in establishing connection: DNS failure: the host `{host}` could not be resolved ({detail}). Check schema.host of template '{template}', or send its requests to a local server with --upstream {host}=http://127.0.0.1:PORT"
    )]
    Dns {
        template: String,
        host: String,
        detail: String,
    },
    #[error(
        "Error in establishing connection: connection refused by {target} (nothing listens there; is the server running?)"
    )]
    Refused { target: String },
    #[error("Error in establishing connection: TLS failure talking to {target}: {detail}")]
    Tls { target: String, detail: String },
    #[error("Error in establishing connection to {target}: {detail}")]
    Connection { target: String, detail: String },
    #[error(
        "Timeout error while processing the request: {target} did not answer within {timeout_ms} ms (per attempt). Raise the limit with --request-timeout MS (or REQUEST_TIMEOUT, or request.timeout in .fdk/configs.json)"
    )]
    Timeout { target: String, timeout_ms: u128 },
    #[error(
        "Invalid iparam substitution: template '{template}', schema.{field} uses the secure iparam '{key}', and secure iparams may only be used in header values (a URL ends up in the logs of servers and proxies). Send it in a header such as Authorization, or remove \"secure\" from '{key}' in config/iparams.json if it is not a secret"
    )]
    SecureInUrl {
        template: String,
        field: String,
        key: String,
    },
    #[error(
        "Unsupported content type: the API answered template '{template}' with status {api_status} and Content-Type `{content_type}`, and the platform passes only these response types to apps: {}. The body is not returned, as in production", ALLOWED_CONTENT_TYPES.join(", ")
    )]
    ContentType {
        template: String,
        api_status: u16,
        content_type: String,
    },
    #[error(
        "Response size exceeded: the answer of {target} is larger than the {limit_mb} MB limit of the platform (fdk-emu stopped reading there). Start fdk-emu with --no-response-limit to switch the limit off locally"
    )]
    TooLarge { target: String, limit_mb: usize },
}

impl InvokeError {
    pub fn status(&self) -> u16 {
        match self {
            InvokeError::UnknownTemplate { .. }
            | InvokeError::Undeclared { .. }
            | InvokeError::Compile(_)
            | InvokeError::Substitution { .. }
            | InvokeError::Url { .. }
            | InvokeError::PathEscape { .. }
            | InvokeError::HeaderValue { .. }
            | InvokeError::SecureInUrl { .. }
            | InvokeError::TokenUnknown { .. }
            | InvokeError::TooLarge { .. } => 400,
            InvokeError::RateLimited { .. } => 429,
            InvokeError::ContentType { .. } => 415,
            InvokeError::NeedsAuthorization { .. } => 401,
            InvokeError::Store(_) => 500,
            InvokeError::Dns { .. }
            | InvokeError::Refused { .. }
            | InvokeError::Tls { .. }
            | InvokeError::Connection { .. }
            | InvokeError::TokenTransient { .. } => 502,
            InvokeError::Timeout { .. } => 504,
        }
    }

    pub fn source(&self) -> ErrorSource {
        match self {
            InvokeError::UnknownTemplate { .. }
            | InvokeError::Undeclared { .. }
            | InvokeError::Compile(_)
            | InvokeError::Substitution { .. }
            | InvokeError::Url { .. }
            | InvokeError::PathEscape { .. }
            | InvokeError::HeaderValue { .. }
            | InvokeError::SecureInUrl { .. }
            | InvokeError::TokenUnknown { .. }
            | InvokeError::ContentType { .. } => ErrorSource::App,
            _ => ErrorSource::Platform,
        }
    }
}

pub fn token_error(template: &str, p: TokenProblem) -> InvokeError {
    let template = template.to_string();
    match p {
        TokenProblem::NeedsAuthorization(message) => {
            InvokeError::NeedsAuthorization { template, message }
        }
        TokenProblem::Transient(message) => InvokeError::TokenTransient { template, message },
        TokenProblem::Unknown(message) => InvokeError::TokenUnknown { template, message },
    }
}
