//! The body of `POST /dprouter` (route `proxy`) as the client sends it:
//! `{"action":"invokeTemplate","templateName":…,"data":{"context":…,"body":…,"query":…},"tokens":…}`.

use crate::json_kind::kind;
use serde_json::{Map, Value};

/// One `invokeTemplate` call.
#[derive(Debug, Clone, Default)]
pub struct InvokeRequest {
    pub template: String,
    /// `data.context`; `None` when the call passed none (or `null`).
    pub context: Option<Value>,
    /// `data.body`: a string is sent as is, anything else as its JSON text.
    pub body: Option<Value>,
    /// `data.query`: extra query parameters; the template's own win on a conflict.
    pub query: Map<String, Value>,
    /// Agent-level OAuth tokens kept by the browser, `{access_token, refresh_token}`.
    pub tokens: Option<Value>,
}

/// The body is not an invokeTemplate call. Answered with HTTP 400 and `{message, status}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadRequest {
    #[error(
        "the body of POST /dprouter is not JSON ({0}); send {{\"action\":\"invokeTemplate\",\"templateName\":\"…\",\"data\":{{…}}}}"
    )]
    NotJson(String),
    #[error(
        "the body of POST /dprouter must be a JSON object such as {{\"action\":\"invokeTemplate\",\"templateName\":\"…\",\"data\":{{…}}}}"
    )]
    NotObject,
    #[error(
        "action `{0}` is not supported on route proxy: fdk-emu answers `invokeTemplate` (client.request.invokeTemplate); the legacy request API (client.request.get/post/…, action `execute`) is not available for platform 2.3 and later"
    )]
    Action(String),
    #[error("`action` is missing: send \"action\":\"invokeTemplate\"")]
    NoAction,
    #[error(
        "`templateName` is missing or not a string: name the template of config/requests.json to call"
    )]
    NoTemplate,
    #[error("`data` must be an object ({{\"context\":…,\"body\":…,\"query\":…}}), not {0}")]
    Data(&'static str),
    #[error("`data.query` must be an object of query parameters, not {0}")]
    Query(&'static str),
    #[error("`data.context` must be an object, not {0}")]
    Context(&'static str),
}

/// The top level of the body, read without building a map of it (the body is parsed on
/// every call, and a map hashes each key).
#[derive(serde::Deserialize)]
struct Wire {
    action: Option<Value>,
    #[serde(rename = "templateName")]
    template_name: Option<Value>,
    data: Option<Value>,
    tokens: Option<Value>,
}

impl InvokeRequest {
    pub fn from_body(body: &[u8]) -> Result<InvokeRequest, BadRequest> {
        let is_object = body
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| *b == b'{');
        if !is_object {
            // Say whether it is JSON at all.
            return Err(match serde_json::from_slice::<Value>(body) {
                Ok(_) => BadRequest::NotObject,
                Err(e) => BadRequest::NotJson(e.to_string()),
            });
        }
        let wire: Wire =
            serde_json::from_slice(body).map_err(|e| BadRequest::NotJson(e.to_string()))?;
        match wire.action {
            None => return Err(BadRequest::NoAction),
            Some(Value::String(a)) if a == "invokeTemplate" => {}
            Some(Value::String(a)) => return Err(BadRequest::Action(a)),
            Some(other) => return Err(BadRequest::Action(other.to_string())),
        }
        let template = match wire.template_name {
            Some(Value::String(s)) if !s.is_empty() => s,
            _ => return Err(BadRequest::NoTemplate),
        };
        let mut call = InvokeRequest::from_data(template, wire.data)?;
        call.tokens = wire.tokens;
        Ok(call)
    }

    /// A call of `template` with the options object as the client (`data`) or `server.js`
    /// (the second argument of `$request.invokeTemplate`) passes it: `{context, body,
    /// query}`.
    pub fn from_data(template: String, data: Option<Value>) -> Result<InvokeRequest, BadRequest> {
        let mut data = match data {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m,
            Some(other) => return Err(BadRequest::Data(kind(&other))),
        };
        let context = match data.remove("context") {
            None | Some(Value::Null) => None,
            Some(v @ Value::Object(_)) => Some(v),
            Some(other) => return Err(BadRequest::Context(kind(&other))),
        };
        let query = match data.remove("query") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m,
            Some(other) => return Err(BadRequest::Query(kind(&other))),
        };
        let body = match data.remove("body") {
            None | Some(Value::Null) => None,
            Some(v) => Some(v),
        };
        Ok(InvokeRequest {
            template,
            context,
            body,
            query,
            tokens: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_full_call() {
        let r = InvokeRequest::from_body(
            br#"{"action":"invokeTemplate","templateName":"t","data":{"context":{"a":1},"body":"x","query":{"q":"1"}},"tokens":{"access_token":"k"}}"#,
        );
        let r = r.expect("valid");
        assert_eq!(r.template, "t");
        assert_eq!(r.context, Some(serde_json::json!({"a":1})));
        assert_eq!(r.body, Some(Value::String("x".into())));
        assert_eq!(r.query.get("q"), Some(&Value::String("1".into())));
        assert!(r.tokens.is_some());
    }

    #[test]
    fn explains_what_is_wrong() {
        let e = |b: &str| InvokeRequest::from_body(b.as_bytes()).err();
        assert!(matches!(e("nope"), Some(BadRequest::NotJson(_))));
        assert_eq!(e("[1]"), Some(BadRequest::NotObject));
        assert_eq!(e(" 3"), Some(BadRequest::NotObject));
        assert!(matches!(e("{\"action\":"), Some(BadRequest::NotJson(_))));
        assert_eq!(
            e(r#"{"action":null,"templateName":"t"}"#),
            Some(BadRequest::NoAction)
        );
        assert_eq!(e("{}"), Some(BadRequest::NoAction));
        assert!(matches!(
            e(r#"{"action":"execute"}"#),
            Some(BadRequest::Action(_))
        ));
        assert_eq!(
            e(r#"{"action":"invokeTemplate"}"#),
            Some(BadRequest::NoTemplate)
        );
        assert_eq!(
            e(r#"{"action":"invokeTemplate","templateName":"t","data":3}"#),
            Some(BadRequest::Data("a number"))
        );
        assert_eq!(
            e(r#"{"action":"invokeTemplate","templateName":"t","data":{"query":"a=b"}}"#),
            Some(BadRequest::Query("a string"))
        );
    }
}
