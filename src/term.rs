//! Caller-given text made safe for the terminal and for any log file: the one place every
//! line that quotes a template name, a key, a path, a URL, an app's console output or an
//! error text about input goes through (the request inspector and the JSONL log use it too).
//!
//! Anything a browser, an app or a remote server sends can hold control characters: a newline
//! forges a whole log line (`invokeTemplate x -> 200` that never happened), ESC sequences clear
//! the screen, set the window title or hide text, a carriage return overwrites the line, and
//! bidirectional overrides reorder what the reader sees. Each of these is written visibly
//! instead (`\n`, `\u{1b}`, `\u{202e}`), so the line shows what was sent and stays one line. A
//! name of 100 000 characters is cut to its first [`MAX_CHARS`] with the count of what was
//! left out, so one call cannot flood the terminal.
//!
//! Written here rather than taken from a crate: `char::escape_debug` also escapes quotes and
//! backslashes (every Windows path and JSON snippet would double its backslashes), misses the
//! zero-width and bidirectional characters, and has no length cap; the function is short.

use std::borrow::Cow;
use std::fmt::Write as _;

/// How many characters of one caller-given value a log line shows ([`short`]).
pub const MAX_CHARS: usize = 200;

/// `text` with every control character escaped (`\n`, `\u{1b}`), not cut: for a whole line
/// whose length is already bounded.
pub fn safe(text: &str) -> Cow<'_, str> {
    escape(text, usize::MAX, false)
}

/// `text` with control characters escaped, at most [`MAX_CHARS`] characters: the default
/// for a caller-given value inside one of fdk-emu's lines.
pub fn short(text: &str) -> Cow<'_, str> {
    escape(text, MAX_CHARS, false)
}

/// `text` with control characters escaped, showing at most `max_chars` characters and then
/// `… (N more characters)`.
pub fn cut(text: &str, max_chars: usize) -> Cow<'_, str> {
    escape(text, max_chars, false)
}

/// A line of an app's own output (`console.log` of `server.js`): like [`safe`] but a tab
/// stays a tab, since apps indent with it and it moves nothing but the cursor on its line.
pub fn console(text: &str) -> Cow<'_, str> {
    escape(text, usize::MAX, true)
}

fn escape(text: &str, max_chars: usize, keep_tab: bool) -> Cow<'_, str> {
    // The common case, a short printable ASCII name, is returned as it is.
    if text.len() <= max_chars
        && text
            .bytes()
            .all(|b| (0x20..0x7f).contains(&b) || (keep_tab && b == b'\t'))
    {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len().min(max_chars.saturating_mul(2)) + 32);
    let mut chars = text.chars();
    for (shown, c) in chars.by_ref().enumerate() {
        if shown == max_chars {
            let rest = 1 + chars.count();
            let _ = write!(
                out,
                "… ({rest} more character{})",
                if rest == 1 { "" } else { "s" }
            );
            return Cow::Owned(out);
        }
        match c {
            '\t' if keep_tab => out.push('\t'),
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
        assert!(matches!(short("getTicket"), Cow::Borrowed("getTicket")));
        assert_eq!(
            short("Grüße, \"quoted\" \\path"),
            "Grüße, \"quoted\" \\path"
        );
    }

    #[test]
    fn control_characters_are_shown_not_obeyed() {
        assert_eq!(
            short("x -> 200\ninvokeTemplate fake GET https://a.test -> 200"),
            "x -> 200\\ninvokeTemplate fake GET https://a.test -> 200"
        );
        assert_eq!(
            safe("\u{1b}[2J\u{1b}]0;pwned\u{7}"),
            "\\u{1b}[2J\\u{1b}]0;pwned\\u{7}"
        );
        assert_eq!(safe("a\r\tb\u{7f}\u{9b}"), "a\\r\\tb\\u{7f}\\u{9b}");
        assert_eq!(safe("abc\u{202e}fdp.exe"), "abc\\u{202e}fdp.exe");
        assert!(!safe("\u{2028}\u{200b}\u{feff}").contains(['\u{2028}', '\u{200b}', '\u{feff}']));
        assert_eq!(console("a\u{1b}[2Jb\tc"), "a\\u{1b}[2Jb\tc");
        assert!(matches!(console("a\tb"), Cow::Borrowed("a\tb")));
    }

    #[test]
    fn long_text_is_cut_with_the_count_of_the_rest() {
        let long = "é".repeat(100_000);
        let shown = short(&long);
        assert!(shown.starts_with(&"é".repeat(MAX_CHARS)));
        assert!(
            shown.ends_with("… (99800 more characters)"),
            "{}",
            &shown[shown.len() - 40..]
        );
        assert_eq!(cut("abcd", 3), "abc… (1 more character)");
        assert_eq!(cut("abc", 3), "abc");
        assert_eq!(safe(&long).chars().count(), 100_000);
    }
}
