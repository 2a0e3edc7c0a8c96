//! What the inspector keeps of one call: one shape for every kind (an `invokeTemplate`, an
//! SMI call, a `db` operation, an event), so the page, the push stream and the JSON lines
//! treat them alike. A kind leaves empty what it does not have (a `db` operation has no
//! substitutions and no upstream).
//!
//! Everything in a record is already masked and cut by whoever built it ([`Body::capture`],
//! [`super::text::clean`]): the inspector stores, streams and writes records as they are.

use std::sync::Arc;

use serde::{Serialize, Serializer};

use super::mask::Masker;
use super::text::{SHORT, clean, clean_cow};

/// The largest body kept of a request, an answer or a result, in bytes. A body is cut there
/// (and said to be); 16 KiB shows a page of JSON and keeps 1 000 records within a few MB.
pub const BODY_CAP: usize = 16 * 1024;

/// What was called.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Kind {
    /// `client.request.invokeTemplate` (front end, installation page) and `$request` of
    /// `server.js`.
    #[serde(rename = "invokeTemplate")]
    InvokeTemplate,
    /// `client.request.invoke`: a server method of `server.js`.
    #[serde(rename = "smi")]
    Smi,
    /// `client.db` and `$db`: a key-value operation.
    #[serde(rename = "db")]
    Db,
    /// A product, app or scheduled event delivered to `server.js`.
    #[serde(rename = "event")]
    Event,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::InvokeTemplate, Kind::Smi, Kind::Db, Kind::Event];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::InvokeTemplate => "invokeTemplate",
            Kind::Smi => "smi",
            Kind::Db => "db",
            Kind::Event => "event",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s))
    }
}

/// One call, from start to the answer its caller got.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    /// Given by the inspector: increasing, never reused within a run.
    pub id: u64,
    pub kind: Kind,
    /// The template, the server method, `set ticket:1` for a db operation, the event's name.
    pub name: String,
    /// Who called: `front end`, `installation page`, `server.js`, or absent when unknown.
    pub caller: Option<String>,
    /// Unix milliseconds when the call started.
    pub at: i64,
    pub duration_ms: f64,
    /// The status the caller got (an envelope's `status` for invokeTemplate).
    pub status: u16,
    pub ok: bool,
    /// `APP` or `PLATFORM` when the call failed, FDK's `errorSource`.
    pub error_source: Option<&'static str>,
    /// The message of a failure that is fdk-emu's own (not an API's answer).
    pub error: Option<String>,
    /// What was sent: the rendered request of a template, the arguments of a server method.
    pub request: Option<Message>,
    /// Which variables went into the request, and from where.
    pub substitutions: Vec<Substitution>,
    /// Each time the request went out.
    pub attempts: Vec<Attempt>,
    /// Token refreshes the call caused or waited for.
    pub refreshes: Vec<Refresh>,
    /// The upstream's last answer.
    pub response: Option<Message>,
    /// What the caller got back. Written out as `result` by [`super::Entry::json`].
    #[serde(skip)]
    pub result: Option<Body>,
    /// For `invokeTemplate`: the envelope the app got is FDK's, made of `response` (or
    /// `error`), `status`, `error_source` and this many attempts, so it is put together
    /// when the record is written out rather than copied during the call.
    #[serde(skip)]
    pub envelope_attempts: Option<u32>,
}

impl Record {
    /// A record of `kind` named `name`, started at `at` (Unix ms); the rest is filled in by
    /// the caller.
    pub fn new(kind: Kind, name: &str, at: i64) -> Record {
        Record {
            id: 0,
            kind,
            name: clean(name, 256),
            caller: None,
            at,
            duration_ms: 0.0,
            status: 0,
            ok: false,
            error_source: None,
            error: None,
            request: None,
            substitutions: Vec::new(),
            attempts: Vec::new(),
            refreshes: Vec::new(),
            response: None,
            result: None,
            envelope_attempts: None,
        }
    }

    /// What the caller got: `result`, or the envelope of an `invokeTemplate` call.
    pub fn returned(&self) -> Option<Body> {
        if let Some(r) = &self.result {
            return Some(r.clone());
        }
        let attempts = self.envelope_attempts?;
        #[derive(Serialize)]
        struct Envelope<'a> {
            status: u16,
            #[serde(serialize_with = "as_map")]
            headers: Option<&'a Headers>,
            response: &'a str,
            attempts: u32,
            #[serde(rename = "errorSource", skip_serializing_if = "Option::is_none")]
            error_source: Option<&'static str>,
        }
        // FDK's rule: an answer of the API is passed on; an error of our own has no headers
        // and its message as the response.
        let (headers, body) = match (&self.error, &self.response) {
            (Some(e), _) => (None, (e.as_str(), e.len(), false)),
            (None, Some(m)) => (
                Some(&m.headers),
                m.body
                    .as_ref()
                    .map_or(("", 0, false), |b| (b.text.as_str(), b.size, b.truncated)),
            ),
            (None, None) => (None, ("", 0, false)),
        };
        let view = Envelope {
            status: self.status,
            headers,
            response: body.0,
            attempts,
            error_source: self.error_source,
        };
        let text = serde_json::to_string(&view).ok()?;
        Some(Body {
            size: text.len() - body.0.len() + body.1,
            text,
            truncated: body.2,
        })
    }

    /// Who called (escaped and cut like any caller-given text).
    pub fn with_caller(mut self, caller: &str) -> Record {
        self.caller = Some(clean(caller, 64));
        self
    }

    /// About how many bytes the record holds, for the inspector's memory bound.
    pub fn weight(&self) -> usize {
        let msg = |m: &Option<Message>| m.as_ref().map_or(0, Message::weight);
        let subs: usize = self
            .substitutions
            .iter()
            .map(|s| 48 + s.value.as_ref().map_or(0, String::len))
            .sum();
        let refreshes: usize = self
            .refreshes
            .iter()
            .map(|r| r.integration.len() + r.error.as_ref().map_or(0, String::len))
            .sum();
        256 + self.name.len()
            + self.error.as_ref().map_or(0, String::len)
            + msg(&self.request)
            + msg(&self.response)
            + subs
            + refreshes
            + self.attempts.len() * 64
            + self.result.as_ref().map_or(0, |b| b.text.len())
    }
}

/// A request or an answer: what of it applies.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Message {
    pub method: Option<String>,
    pub url: Option<String>,
    pub status: Option<u16>,
    pub headers: Headers,
    pub body: Option<Body>,
}

impl Message {
    fn weight(&self) -> usize {
        self.url.as_ref().map_or(0, String::len)
            + self.headers.text.len()
            + self.body.as_ref().map_or(0, |b| b.text.len())
    }
}

/// Headers in order, repeated names kept; written out as `[[name, value], …]`.
///
/// Kept as one text, name and value on lines of their own, so that recording the headers
/// of a call is one allocation rather than two per header. Names and values are cleaned
/// ([`clean`]), so neither holds a line break.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    text: String,
}

impl Headers {
    /// Adds a header, its value masked, both escaped and cut.
    pub fn push(&mut self, name: &str, value: &str, masker: &Masker) {
        self.text.push_str(&clean_cow(name, 256));
        self.text.push('\n');
        self.text
            .push_str(&clean_cow(&masker.mask_cow(value), SHORT));
        self.text.push('\n');
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        let mut lines = self.text.split('\n');
        std::iter::from_fn(move || Some((lines.next()?, lines.next()?)))
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// The value of the first header named `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
}

impl Serialize for Headers {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter().map(|(k, v)| [k, v]))
    }
}

/// Headers as a JSON object, the envelope's shape (a repeated name keeps its last value,
/// as the client's object would).
fn as_map<S: Serializer>(h: &Option<&Headers>, s: S) -> Result<S::Ok, S::Error> {
    match h {
        Some(h) => s.collect_map(h.iter()),
        None => s.collect_map(std::iter::empty::<(&str, &str)>()),
    }
}

/// A body as recorded: masked, cut at [`BODY_CAP`], with its real size.
#[derive(Debug, Clone, Serialize)]
pub struct Body {
    pub text: String,
    /// The size of the whole body, in bytes.
    pub size: usize,
    /// Whether `text` is only its beginning.
    pub truncated: bool,
}

impl Body {
    /// Keeps (the beginning of) `bytes`, masked. Not UTF-8 text is shown with replacement
    /// characters.
    pub fn capture(bytes: &[u8], masker: &Masker) -> Body {
        let head = &bytes[..bytes.len().min(BODY_CAP + 4)];
        let text = String::from_utf8_lossy(head);
        // `head` may end inside a character; that end is beyond the cut.
        let (text, cut) = masker.mask_cut(&text, BODY_CAP);
        Body {
            text,
            size: bytes.len(),
            truncated: cut || bytes.len() > head.len(),
        }
    }
}

/// Where a substituted variable came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// `iparam.…`: the installation parameters.
    Iparam,
    /// `context.…`: what the caller passed.
    Context,
    /// `oauth_iparams.…`: the OAuth parameters of the integration.
    OauthIparams,
    /// `access_token`: the integration's token.
    AccessToken,
    /// `current_host.…`: the system settings of platform 3.x.
    CurrentHost,
    /// Anything else the template names (undefined at run time).
    Other,
}

impl Source {
    pub fn of_root(root: &str) -> Source {
        match root {
            "iparam" => Source::Iparam,
            "context" => Source::Context,
            "oauth_iparams" => Source::OauthIparams,
            "access_token" => Source::AccessToken,
            "current_host" => Source::CurrentHost,
            _ => Source::Other,
        }
    }
}

/// One variable used by one field of a template.
#[derive(Debug, Clone, Serialize)]
pub struct Substitution {
    /// `host`, `path`, `headers.Authorization`, `query.page` (shared with the compiled
    /// template: recording it copies nothing).
    pub field: Arc<str>,
    /// As written in the template: `iparam.api_key`, `context.id`.
    pub variable: Arc<str>,
    pub source: Source,
    /// Whether the value is a secret (a secure iparam, a token): then `value` is the mask.
    pub secret: bool,
    /// The value used (masked when secret); absent when the variable was not defined.
    pub value: Option<String>,
}

/// One time the request went out.
#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    /// 1-based.
    pub number: u32,
    /// When it started, from the start of the call.
    pub start_ms: f64,
    pub duration_ms: f64,
    /// The status the upstream answered, or…
    pub status: Option<u16>,
    /// …why there was no answer (timeout, refused, DNS, TLS).
    pub error: Option<String>,
}

/// Why a token was refreshed during a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefreshTrigger {
    /// The token was about to expire (or was marked expired) before the call.
    Expiring,
    /// The API answered 401 to the token.
    Unauthorized,
}

/// A token refresh a call caused (or waited for, when another call had started it).
#[derive(Debug, Clone, Serialize)]
pub struct Refresh {
    pub integration: String,
    pub trigger: RefreshTrigger,
    pub ok: bool,
    /// Why it failed (never a token or a secret: the OAuth layer's messages hold none).
    pub error: Option<String>,
    pub duration_ms: f64,
    /// The refresh was started by another call; this one waited for its outcome.
    pub shared: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_masked_cut_and_sized() {
        let mut m = Masker::default();
        m.add("tok-123456");
        let mut big = b"{\"auth\":\"tok-123456\"}".to_vec();
        big.extend(std::iter::repeat_n(b'x', BODY_CAP * 2));
        let b = Body::capture(&big, &m);
        assert!(b.truncated);
        assert_eq!(b.size, big.len());
        assert!(b.text.len() <= BODY_CAP);
        assert!(
            b.text.starts_with("{\"auth\":\"****\"}"),
            "{}",
            &b.text[..40]
        );
        let small = Body::capture("é ok".as_bytes(), &m);
        assert_eq!((small.text.as_str(), small.truncated), ("é ok", false));
    }

    #[test]
    fn kinds_have_fdks_names() {
        for k in Kind::ALL {
            assert_eq!(Kind::parse(k.as_str()), Some(k));
            assert_eq!(
                serde_json::to_value(k).ok(),
                Some(serde_json::Value::String(k.as_str().into()))
            );
        }
        assert_eq!(Kind::parse("INVOKETEMPLATE"), Some(Kind::InvokeTemplate));
        assert_eq!(Kind::parse("nope"), None);
    }
}
