//! Caller-given text in records: names, URLs, header values and messages come from the app
//! or from an API. They are shown on a page, streamed and written to a file that people
//! `tail` in a terminal, so control characters (escape sequences, carriage returns that
//! rewrite a line) are written escaped and every such field has a length limit.
//!
//! The escaping is the terminal's ([`crate::term::cut`]); this module only adds the fast
//! path the request path needs: most names and values need no change and are not copied.

use std::borrow::Cow;

/// The longest short field (name, URL, header value, message), in characters.
pub const SHORT: usize = 2048;

/// `s` with control characters escaped, cut to `max` characters with an ellipsis.
pub fn clean(s: &str, max: usize) -> String {
    clean_cow(s, max).into_owned()
}

/// [`clean`] without a copy when `s` is fine as it is (most names and values are).
pub fn clean_cow(s: &str, max: usize) -> Cow<'_, str> {
    // `len` counts bytes, at least the characters: within `max` bytes it is within `max`
    // characters.
    let plain = s.len() <= max && !s.chars().any(char::is_control);
    if plain {
        Cow::Borrowed(s)
    } else {
        crate::term::cut(s, max)
    }
}

/// [`clean`] of an owned string, which is kept when it is fine as it is.
pub fn clean_owned(s: String, max: usize) -> String {
    match clean_cow(&s, max) {
        Cow::Borrowed(_) => s,
        Cow::Owned(o) => o,
    }
}

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn controls_are_escaped_and_long_text_cut() {
        assert_eq!(
            clean("a\u{1b}[2Jb\r\u{9b}c", 100),
            "a\\u{1b}[2Jb\\r\\u{9b}c"
        );
        assert_eq!(clean("abcdef", 4), "abcd… (2 more characters)");
        assert_eq!(clean("abc", 4), "abc");
    }
}
