//! The one call that records anything that is not a template: an SMI call, a `db`
//! operation, an event delivered to `server.js`. Whoever ends such a call knows what was
//! asked, how it ended and what the caller got; it hands that over as a [`Call`] with
//! [`super::Inspector::call`], and the inspector masks, escapes and cuts it into a
//! [`Record`] of the same shape as a template's (no substitutions, no upstream).
//!
//! ```ignore
//! let started = Started::now();
//! // … run the event …
//! inspector.call(
//!     Call {
//!         kind: Kind::Event,
//!         name: "onTicketCreate",
//!         caller: Some("/web/test"),
//!         request: Some(payload_json.as_bytes()),
//!         status: 200,
//!         ok: true,
//!         error: None,
//!         result: Some(answer_json.as_bytes()),
//!     }
//!     .started(started),
//!     &masker,
//! );
//! ```

use std::time::Instant;

use super::mask::Masker;
use super::record::{Body, Headers, Kind, Message, Record};
use super::text::clean;

/// When a call started: the wall clock for the record, a monotonic clock for its duration.
#[derive(Debug, Clone, Copy)]
pub struct Started {
    at: i64,
    instant: Instant,
}

impl Started {
    pub fn now() -> Started {
        let at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        Started {
            at,
            instant: Instant::now(),
        }
    }
}

/// A finished call of any kind but `invokeTemplate`, as its caller knows it. Texts are
/// caller-given: they are masked with the call's [`Masker`], escaped and cut when recorded.
#[derive(Debug, Clone)]
pub struct Call<'a> {
    pub kind: Kind,
    /// The server method, `store ticket:1` for a db operation, the event's name.
    pub name: &'a str,
    /// `front end`, `server.js`, `/web/test`, …
    pub caller: Option<&'a str>,
    /// What the caller sent (the SMI call, the db operation, the event's payload), as it came.
    pub request: Option<&'a [u8]>,
    /// Where it was sent, when the call came over HTTP (`POST …/dprouter`): the inspector's
    /// "copy as curl" repeats it.
    pub url: Option<&'a str>,
    /// The headers that matter to repeat it (`MKP-ROUTE: smi`).
    pub headers: &'a [(&'a str, &'a str)],
    /// The status the caller got (the body's `status` when the answer carries one).
    pub status: u16,
    pub ok: bool,
    /// fdk-emu's own message when the call failed before the app or the store answered.
    pub error: Option<&'a str>,
    /// What the caller got back.
    pub result: Option<&'a [u8]>,
    /// Set with [`Call::started`]; `None` records the call as taking no time.
    pub started: Option<Started>,
}

impl<'a> Call<'a> {
    /// A call of `kind` named `name` that has not said yet how it ended.
    pub fn new(kind: Kind, name: &'a str) -> Call<'a> {
        Call {
            kind,
            name,
            caller: None,
            request: None,
            url: None,
            headers: &[],
            status: 0,
            ok: false,
            error: None,
            result: None,
            started: None,
        }
    }

    pub fn started(mut self, started: Started) -> Call<'a> {
        self.started = Some(started);
        self
    }

    /// The record of this call, masked with `masker` (the secure iparams of the app).
    pub fn into_record(self, masker: &Masker) -> Record {
        let (at, duration_ms) = match self.started {
            Some(s) => (s.at, s.instant.elapsed().as_secs_f64() * 1e3),
            None => (Started::now().at, 0.0),
        };
        let mut r = Record::new(self.kind, &masker.mask_cow(self.name), at);
        if let Some(c) = self.caller {
            r = r.with_caller(c);
        }
        r.duration_ms = duration_ms;
        r.status = self.status;
        r.ok = self.ok;
        r.error = self.error.map(|e| clean(&masker.mask_cow(e), 2048));
        r.request = self.request.map(|b| {
            let mut headers = Headers::default();
            for (name, value) in self.headers {
                headers.push(name, value, masker);
            }
            Message {
                method: self.url.map(|_| "POST".to_string()),
                url: self.url.map(|u| clean(&masker.mask_cow(u), 2048)),
                headers,
                body: Some(Body::capture(b, masker)),
                ..Message::default()
            }
        });
        r.result = self.result.map(|b| Body::capture(b, masker));
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_is_masked_escaped_and_timed() {
        let mut m = Masker::default();
        m.add("sekrit-value");
        let started = Started::now();
        let r = Call {
            caller: Some("server.js\u{1b}[2J"),
            request: Some(br#"{"methodParams":{"k":"sekrit-value"}}"#),
            status: 500,
            error: Some("failed with sekrit-value"),
            result: Some(br#"{"status":500,"message":"sekrit-value"}"#),
            ..Call::new(Kind::Smi, "greet\nme")
        }
        .started(started)
        .into_record(&m);
        assert_eq!(r.kind, Kind::Smi);
        assert_eq!(r.name, "greet\\nme");
        assert_eq!(r.caller.as_deref(), Some("server.js\\u{1b}[2J"));
        assert_eq!(r.error.as_deref(), Some("failed with ****"));
        let text = serde_json::to_string(&r).unwrap_or_default();
        assert!(!text.contains("sekrit"), "{text}");
        assert!(
            r.result.as_ref().is_some_and(|b| b.text.contains("****")),
            "{:?}",
            r.result
        );
        assert!(r.at > 0 && r.duration_ms >= 0.0);
    }
}
