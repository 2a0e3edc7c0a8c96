//! What the inspector records of one `invokeTemplate` call, filled in as the call goes: the
//! variables substituted and where they came from, the rendered request, each attempt, the
//! upstream's answer, the envelope. Everything goes through the call's [`Masker`] (the
//! masking of the terminal line) before it is kept; a secure iparam or a token is shown as
//! `****` whatever its length.
//!
//! Built only when the server records calls, so a server without the inspector pays nothing.

use std::time::{Duration, Instant};

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::compile::{Compiled, Field};
use super::envelope::{Envelope, ErrorSource};
use super::send::AttemptLog;
use crate::inspect::text::{SHORT, clean, clean_owned};
use crate::inspect::{
    Attempt, Body, Headers, Kind, MASK, Masker, Message, Record, Refresh, Source, Substitution,
};
use crate::net::{NetError, Prepared};

/// The record of a call in the making.
pub(super) struct Trace {
    record: Record,
    pub(super) attempts: Vec<AttemptLog>,
}

/// Whether variable `path` of a template holds a secret: the access token, a secure iparam.
fn is_secret(path: &[String], secure: &[String]) -> bool {
    match path.first().map(String::as_str) {
        Some("access_token") => true,
        Some("iparam") => path.get(1).is_some_and(|k| secure.contains(k)),
        _ => false,
    }
}

/// Secrets in a form the masker cannot know: a header computed from a secret, such as
/// `Basic <%= encode(iparam.user + ':' + iparam.api_key) %>`, carries the secure iparam in
/// base64, and an API that echoes the request (httpbin does) sends it back. For each header
/// that uses a secret whose value it does not hold as is, the part of the value that the
/// template computed (the value without the template's literal start and end) is returned,
/// to be masked like the secret itself.
pub(super) fn derived_secrets(
    t: &Compiled,
    scope: &Map<String, Value>,
    secure: &[String],
) -> Vec<String> {
    let mut out = Vec::new();
    for (_, f) in &t.headers {
        let secrets: Vec<String> = f
            .variables
            .iter()
            .filter(|v| is_secret(&v.path, secure))
            .filter_map(|v| lookup(scope, &v.path))
            .map(crate::app::requests::value_text)
            .collect();
        if secrets.is_empty() {
            continue;
        }
        let Ok(value) = f.template.render(scope) else {
            continue;
        };
        if secrets.iter().all(|s| value.contains(s.as_str())) {
            continue;
        }
        let src = f.template.source();
        let start = src.find("<%").map_or("", |i| &src[..i]);
        let end = src.rfind("%>").map_or("", |i| &src[i + 2..]);
        let computed = value
            .strip_prefix(start)
            .and_then(|v| v.strip_suffix(end))
            .unwrap_or(&value);
        out.push(computed.to_string());
    }
    out
}

/// Unix milliseconds now.
fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Trace {
    pub fn new(template: &str) -> Trace {
        Trace {
            record: Record::new(Kind::InvokeTemplate, template, unix_ms()),
            attempts: Vec::new(),
        }
    }

    /// Which variables each field of `t` uses, with the value `scope` gives each.
    pub fn substitutions(
        &mut self,
        t: &Compiled,
        scope: &Map<String, Value>,
        secure: &[String],
        masker: &Masker,
    ) {
        let fields = [&t.host, &t.path]
            .into_iter()
            .chain(t.headers.iter().map(|(_, f)| f))
            .chain(t.query.iter().map(|(_, f)| f));
        for f in fields {
            self.field(f, scope, secure, masker);
        }
    }

    fn field(&mut self, f: &Field, scope: &Map<String, Value>, secure: &[String], masker: &Masker) {
        for v in &f.variables {
            let root = v.path.first().map_or("", String::as_str);
            let source = Source::of_root(root);
            let secret = is_secret(&v.path, secure);
            let value = lookup(scope, &v.path).map(|found| {
                if secret {
                    MASK.to_string()
                } else {
                    let text = crate::app::requests::value_text(found);
                    match masker.mask_cow(&text) {
                        Cow::Borrowed(_) => clean_owned(text, 512),
                        Cow::Owned(masked) => clean_owned(masked, 512),
                    }
                }
            });
            self.record.substitutions.push(Substitution {
                field: f.name.clone(),
                // Parsed from the app's own file: a path of names, no control characters.
                variable: v.text.clone(),
                source,
                secret,
                value,
            });
        }
    }

    /// The request as it goes out (the last one, after a refresh); `url` is already masked.
    pub fn request(&mut self, p: &Prepared, url: &str, masker: &Masker) {
        let mut headers = Headers::default();
        for (k, v) in &p.headers {
            headers.push(k.as_str(), &String::from_utf8_lossy(v.as_bytes()), masker);
        }
        self.record.request = Some(Message {
            method: Some(p.method.to_string()),
            url: Some(clean(url, SHORT)),
            status: None,
            headers,
            body: p.body.as_ref().map(|b| Body::capture(b, masker)),
        });
    }

    /// The upstream's answer.
    pub fn response(
        &mut self,
        status: u16,
        headers: &indexmap::IndexMap<String, String>,
        body: &[u8],
        masker: &Masker,
    ) {
        let mut recorded = Headers::default();
        for (k, v) in headers {
            recorded.push(k, v, masker);
        }
        self.record.response = Some(Message {
            method: None,
            url: None,
            status: Some(status),
            headers: recorded,
            body: Some(Body::capture(body, masker)),
        });
    }

    /// The finished record: outcome, attempts, refreshes. The envelope the app got is made
    /// of them when the record is written out ([`Record::returned`]).
    pub fn finish(
        self,
        envelope: &Envelope,
        started: Instant,
        elapsed: Duration,
        refreshes: Vec<Refresh>,
        masker: &Masker,
    ) -> Record {
        let Trace {
            mut record,
            attempts,
        } = self;
        record.duration_ms = ms(elapsed);
        record.status = envelope.status;
        record.ok = envelope.error_source.is_none();
        record.error_source = envelope.error_source.map(|s| match s {
            ErrorSource::App => "APP",
            ErrorSource::Platform => "PLATFORM",
        });
        // An error of our own carries no headers; its message is the response.
        if envelope.error_source.is_some() && envelope.headers.is_empty() {
            record.error = Some(clean(&masker.mask_cow(&envelope.response), 4096));
        }
        record.attempts = attempts
            .iter()
            .enumerate()
            .map(|(i, a)| Attempt {
                number: i as u32 + 1,
                start_ms: ms(a.started.saturating_duration_since(started)),
                duration_ms: ms(a.took),
                status: a.result.as_ref().ok().copied(),
                error: a
                    .result
                    .as_ref()
                    .err()
                    .map(|e| clean(&masker.mask_cow(&net_error(e)), 512)),
            })
            .collect();
        record.refreshes = refreshes;
        record.envelope_attempts = Some(envelope.attempts);
        record
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A network failure in a few words.
fn net_error(e: &NetError) -> String {
    match e {
        NetError::Dns(d) => format!("DNS failure: {d}"),
        NetError::Refused => "connection refused".into(),
        NetError::Tls(d) => format!("TLS failure: {d}"),
        NetError::Timeout => "timed out".into(),
        NetError::TooLarge => "response larger than the limit".into(),
        NetError::Other(d) => d.clone(),
    }
}

/// The value at `path` (root first) in the template scope.
fn lookup<'a>(scope: &'a Map<String, Value>, path: &[String]) -> Option<&'a Value> {
    let (root, rest) = path.split_first()?;
    let mut v = scope.get(root)?;
    for key in rest {
        v = match v {
            Value::Object(m) => m.get(key)?,
            Value::Array(a) => a.get(key.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_up_nested_values() {
        let scope: Map<String, Value> = serde_json::from_value(serde_json::json!({
            "context": {"a": {"b": [10, 20]}}, "iparam": {"k": "v"}
        }))
        .unwrap_or_default();
        let p = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            lookup(&scope, &p(&["context", "a", "b", "1"])),
            Some(&Value::from(20))
        );
        assert_eq!(
            lookup(&scope, &p(&["iparam", "k"])),
            Some(&Value::from("v"))
        );
        assert_eq!(lookup(&scope, &p(&["iparam", "nope"])), None);
        assert_eq!(lookup(&scope, &p(&["access_token"])), None);
    }
}
