//! Hides secrets (secure iparam values, access tokens) in what we print and return, in the
//! forms they take inside a URL: as is and percent-encoded.

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

const MASK: &str = "****";

/// The secrets of one call. Values shorter than 3 characters are not masked: replacing every
/// `a` of a URL hides nothing and makes the line unreadable.
#[derive(Debug, Default, Clone)]
pub struct Masker {
    needles: Vec<String>,
}

impl Masker {
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
        // Longest first, so a secret that contains another is masked whole.
        self.needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
    }

    pub fn mask(&self, text: &str) -> String {
        let mut out = text.to_string();
        for n in &self.needles {
            if out.contains(n.as_str()) {
                out = out.replace(n.as_str(), MASK);
            }
        }
        out
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
    }
}
