//! Hides secrets (secure iparam values, access tokens) in what we print, record and return,
//! in the forms they take inside a URL: as is and percent-encoded. The terminal line of a
//! call and every inspector record of it are masked by the same [`Masker`].

use std::borrow::Cow;

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

/// What a secret is replaced with.
pub const MASK: &str = "****";

/// The secrets of one call. Values shorter than 3 characters are not masked: replacing every
/// `a` of a URL hides nothing and makes the line unreadable.
#[derive(Debug, Default, Clone)]
pub struct Masker {
    needles: Vec<String>,
}

impl Masker {
    /// The values of the app's secure iparams (as stored, or as config/iparams.json marks
    /// them): the secrets an SMI call, a `db` operation or an event can carry. Tokens and
    /// client secrets never reach the app's code, so they cannot be in those.
    pub fn secure_iparams(reads: &crate::store::Reads, app: &crate::app::App) -> Masker {
        let mut m = Masker::default();
        for name in reads
            .secure
            .iter()
            .cloned()
            .chain(app.iparams.secure_names())
        {
            if let Some(v) = reads.iparams.get(&name) {
                m.add(&crate::app::requests::value_text(v));
            }
        }
        m
    }

    pub fn add(&mut self, secret: &str) {
        if secret.chars().count() < 3 {
            return;
        }
        let mut push = |s: String| {
            if !self.needles.contains(&s) {
                self.needles.push(s);
            }
        };
        push(secret.to_string());
        push(url::form_urlencoded::byte_serialize(secret.as_bytes()).collect());
        push(utf8_percent_encode(secret, NON_ALPHANUMERIC).to_string());
        // Inside a JSON string (an API that echoes a request back) a quote or a backslash
        // is escaped.
        let json = serde_json::Value::from(secret).to_string();
        push(json[1..json.len() - 1].to_string());
        // Longest first, so a secret that contains another is masked whole.
        self.needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
    }

    /// Whether there is nothing to hide.
    pub fn is_empty(&self) -> bool {
        self.needles.is_empty()
    }

    pub fn mask(&self, text: &str) -> String {
        self.mask_cow(text).into_owned()
    }

    /// [`Masker::mask`] without a copy when the text holds no secret (the common case: the
    /// inspector masks every header and body of every call).
    pub fn mask_cow<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for n in &self.needles {
            if out.contains(n.as_str()) {
                out = Cow::Owned(out.replace(n.as_str(), MASK));
            }
        }
        out
    }

    /// `text` masked and cut to at most `max` bytes. A secret that the cut would split is
    /// removed whole: the first half of a token is as good as none to nobody but an attacker.
    /// Returns the text and whether anything was cut.
    pub fn mask_cut(&self, text: &str, max: usize) -> (String, bool) {
        if text.len() <= max {
            return (self.mask(text), false);
        }
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let mut kept = self.mask(&text[..end]);
        let tail = self.split_secret_at_end(&kept);
        kept.truncate(kept.len() - tail);
        (kept, true)
    }

    /// The length of the longest end of `text` that begins a secret (a secret cut in two).
    fn split_secret_at_end(&self, text: &str) -> usize {
        let mut longest = 0;
        for n in &self.needles {
            for k in (longest + 1..n.len().min(text.len() + 1)).rev() {
                if n.is_char_boundary(k) && text.ends_with(&n[..k]) {
                    longest = k;
                    break;
                }
            }
        }
        longest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_plain_and_encoded_forms() {
        let mut m = Masker::default();
        m.add("s3cr et/");
        m.add("ab");
        assert_eq!(
            m.mask("https://h.example.com/s3cr%20et%2F?k=s3cr+et%2F&x=ab"),
            "https://h.example.com/****?k=****&x=ab"
        );
        assert_eq!(m.mask("token s3cr et/"), "token ****");
        m.add("a\"b\\c");
        assert_eq!(m.mask(r#"{"echo":"a\"b\\c"}"#), r#"{"echo":"****"}"#);
        assert!(matches!(m.mask_cow("nothing here"), Cow::Borrowed(_)));
    }

    #[test]
    fn a_cut_never_leaves_part_of_a_secret() {
        let mut m = Masker::default();
        m.add("TOPSECRET");
        // The cut falls inside the secret: its first half goes too.
        let (text, cut) = m.mask_cut("abc TOPSECRET def", 8);
        assert_eq!((text.as_str(), cut), ("abc ", true));
        // Whole secrets before the cut are masked, the rest is kept up to the limit.
        let (text, cut) = m.mask_cut("TOPSECRET and TOPSECRET", 15);
        assert_eq!((text.as_str(), cut), ("**** and ", true));
        let (text, cut) = m.mask_cut("short TOPSECRET", 100);
        assert_eq!((text.as_str(), cut), ("short ****", false));
        // Never inside a UTF-8 character.
        let (text, _) = Masker::default().mask_cut("ééé", 3);
        assert_eq!(text, "é");
    }
}
