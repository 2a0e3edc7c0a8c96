//! Caller-given text made safe for a log line: the one function every line that quotes a
//! template name, a path, a URL or an error text about input goes through, on the terminal
//! and in any file log.
//!
//! Anything a browser, an app or a remote server sends can hold control characters: a newline
//! forges a whole log line (`invokeTemplate x -> 200` that never happened), ESC sequences clear
//! the screen, set the window title or hide text, and bidirectional overrides reorder what the
//! reader sees. Each of these is written visibly instead (`\n`, `\u{1b}`, `\u{202e}`), so the
//! line shows what was sent and stays one line. A name of 100 000 characters is cut to its
//! first [`MAX_CHARS`], with the count of what was left out, so one call cannot flood the
//! terminal.
//!
//! Written here rather than taken from a crate: `char::escape_debug` also escapes quotes and
//! backslashes (so every Windows path and JSON snippet would double its backslashes) and has
//! no length cap; the function is a dozen lines.

use std::borrow::Cow;
use std::fmt::Write as _;

/// How many characters of one caller-given value a log line shows by default.
pub const MAX_CHARS: usize = 200;

/// `text` for a log line: control characters escaped, at most [`MAX_CHARS`] characters.
pub fn escape(text: &str) -> Cow<'_, str> {
    escape_capped(text, MAX_CHARS)
}

/// `text` for a log line, showing at most `max_chars` characters and then
/// `… (N more characters)`.
pub fn escape_capped(text: &str, max_chars: usize) -> Cow<'_, str> {
    // The common case, a short printable ASCII name, is returned as it is.
    if text.len() <= max_chars && text.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len().min(max_chars * 2) + 32);
    let mut shown = 0;
    let mut chars = text.chars();
    for c in chars.by_ref() {
        if shown == max_chars {
            let rest = 1 + chars.count();
            let _ = write!(
                out,
                "… ({rest} more character{})",
                if rest == 1 { "" } else { "s" }
            );
            return Cow::Owned(out);
        }
        shown += 1;
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Characters a terminal acts on or that change how the rest of the line reads: C0 and C1
/// controls and DEL, the line and paragraph separators, zero-width characters and the
/// bidirectional embeddings, overrides and isolates.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2069}'
                | '\u{feff}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_untouched_and_borrowed() {
        assert!(matches!(escape("getTicket"), Cow::Borrowed("getTicket")));
        assert_eq!(
            escape("Grüße, \"quoted\" \\path"),
            "Grüße, \"quoted\" \\path"
        );
    }

    #[test]
    fn control_characters_are_shown_not_obeyed() {
        assert_eq!(
            escape("x -> 200\ninvokeTemplate fake GET https://a.test -> 200"),
            "x -> 200\\ninvokeTemplate fake GET https://a.test -> 200"
        );
        assert_eq!(
            escape("\u{1b}[2J\u{1b}]0;pwned\u{7}"),
            "\\u{1b}[2J\\u{1b}]0;pwned\\u{7}"
        );
        assert_eq!(escape("a\r\tb\u{7f}\u{9b}"), "a\\r\\tb\\u{7f}\\u{9b}");
        assert_eq!(escape("abc\u{202e}fdp.exe"), "abc\\u{202e}fdp.exe");
        assert!(!escape("\u{2028}\u{200b}\u{feff}").contains(['\u{2028}', '\u{200b}', '\u{feff}']));
    }

    #[test]
    fn long_text_is_cut_with_the_count_of_the_rest() {
        let long = "é".repeat(100_000);
        let shown = escape(&long);
        assert!(shown.starts_with(&"é".repeat(MAX_CHARS)));
        assert!(
            shown.ends_with("… (99800 more characters)"),
            "{}",
            &shown[shown.len() - 40..]
        );
        assert_eq!(escape_capped("abcd", 3), "abc… (1 more character)");
        assert_eq!(escape_capped("abc", 3), "abc");
    }
}
