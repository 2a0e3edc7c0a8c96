//! The result envelope `/dprouter` answers with, FDK's shape: `{status, headers, response,
//! attempts[, errorSource]}`. The HTTP answer is always 200; the app's client resolves or
//! rejects on the envelope's `status`.

use indexmap::IndexMap;
use serde::Serialize;

/// Who is at fault when the envelope carries an error: the app (its template, its call, or
/// the API it talks to answered with an error) or the platform (fdk-emu's limits, the
/// network, the token lifecycle).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ErrorSource {
    #[serde(rename = "APP")]
    App,
    #[serde(rename = "PLATFORM")]
    Platform,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Envelope {
    pub status: u16,
    /// Response headers with lower-case names; repeated headers joined with `, `.
    pub headers: IndexMap<String, String>,
    /// The response body as text, or for errors of our own, the message.
    pub response: String,
    /// How many times the request was sent (0 when it never was).
    pub attempts: u32,
    #[serde(rename = "errorSource", skip_serializing_if = "Option::is_none")]
    pub error_source: Option<ErrorSource>,
}

impl Envelope {
    /// An error of our own, before or instead of an answer from the API.
    pub fn error(status: u16, source: ErrorSource, message: String, attempts: u32) -> Envelope {
        Envelope {
            status,
            headers: IndexMap::new(),
            response: message,
            attempts,
            error_source: Some(source),
        }
    }

    /// The API's answer: a success below 400, else an error of the app (FDK's rule).
    pub fn answer(
        status: u16,
        headers: IndexMap<String, String>,
        body: String,
        attempts: u32,
    ) -> Envelope {
        Envelope {
            status,
            headers,
            response: body,
            attempts,
            error_source: (status >= 400).then_some(ErrorSource::App),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_has_no_error_source() {
        let e = Envelope::answer(200, IndexMap::new(), "{}".into(), 1);
        let v = serde_json::to_value(&e).unwrap_or_default();
        assert_eq!(
            v,
            serde_json::json!({"status":200,"headers":{},"response":"{}","attempts":1})
        );
    }

    #[test]
    fn api_errors_are_the_apps() {
        let e = Envelope::answer(404, IndexMap::new(), "nope".into(), 2);
        let v = serde_json::to_value(&e).unwrap_or_default();
        assert_eq!(v["errorSource"], "APP");
        assert_eq!(v["status"], 404);
    }
}
