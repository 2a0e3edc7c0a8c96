//! Caller-given text on the terminal: keys and values an app stored, names it sent. Control
//! characters (escape sequences, C1 controls such as CSI, carriage returns that overwrite the
//! line) are written escaped, so that text cannot move the cursor, recolour or rewrite what
//! the developer reads.

/// `s` with every control character escaped as Rust does (`\n`, `\u{1b}`).
pub fn safe(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// [`safe`], cut to `max` characters with an ellipsis.
pub fn cut(s: &str, max: usize) -> String {
    let safe = safe(s);
    if safe.chars().count() <= max {
        return safe;
    }
    let mut short: String = safe.chars().take(max.saturating_sub(1)).collect();
    short.push('…');
    short
}

#[cfg(test)]
mod tests {
    #[test]
    fn controls_are_escaped_and_long_text_cut() {
        assert_eq!(
            super::safe("a\u{1b}[2Jb\r\u{9b}c"),
            "a\\u{1b}[2Jb\\r\\u{9b}c"
        );
        assert_eq!(super::cut("abcdef", 4), "abc…");
        assert_eq!(super::cut("abc", 4), "abc");
    }
}
