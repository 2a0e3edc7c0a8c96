//! What the worker shows on the terminal (stderr, where fdk-emu's own lines go too).
//!
//! The app's lines are kept apart from fdk-emu's by a bracketed prefix: `[greet]` for
//! `console.*` during a call of `greet`, `[server.js]` for `console.*` outside any call and
//! for what the app or its packages write to stdout, `[server.js stderr]` for stderr. Their
//! text is the app's (and may hold what a caller sent), so control characters are shown
//! escaped: a stray escape sequence cannot repaint the terminal.

use std::fmt::Write as _;
use std::io::Write as _;

use super::protocol::ScriptError;
use crate::app::App;
use crate::validate::{Diagnostic, Severity, render};

/// Writes `text` with `prefix` before each of its lines, in one write (stderr is
/// unbuffered; lines of other tasks must not interleave with it).
pub fn lines(prefix: &str, text: &str) {
    let mut out = String::with_capacity(text.len() + prefix.len() + 2);
    let text = text.strip_suffix('\n').unwrap_or(text);
    for line in text.split('\n') {
        out.push_str(prefix);
        if !line.is_empty() {
            out.push(' ');
        }
        out.push_str(&crate::term::console(
            line.strip_suffix('\r').unwrap_or(line),
        ));
        out.push('\n');
    }
    let _ = std::io::stderr().lock().write_all(out.as_bytes());
}

/// A line of fdk-emu's own about the worker.
pub fn note(text: &str) {
    let mut line = String::with_capacity(text.len() + 13);
    line.push_str("serverless: ");
    line.push_str(text);
    line.push('\n');
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// Text as it may appear on a terminal: control characters other than tab escaped
/// ([`crate::term::console`], the one escaping of caller-given text).
pub fn escape(text: &str) -> String {
    crate::term::console(text).into_owned()
}

/// An error of the app's code as a diagnostic of `file:line:col`, so that it prints with an
/// excerpt and a caret like the problems `validate` finds. `None` when the error carries no
/// position in the app's files (it happened inside a package).
pub fn script_diagnostic(
    e: &ScriptError,
    rule: &str,
    message: String,
    hint: Option<String>,
) -> Option<Diagnostic> {
    Some(Diagnostic {
        severity: Severity::Error,
        file: e.file.clone()?,
        line: e.line.unwrap_or(1),
        column: e.column.unwrap_or(1),
        pointer: None,
        rule: rule.to_string(),
        message: escape(&message),
        hint,
    })
}

/// Prints an error of the app's code: the headline, the excerpt at its position and the
/// stack (the app's frames first, as Node prints them).
pub fn script_error(app: &App, headline: &str, e: &ScriptError, rule: &str) {
    let mut out = String::new();
    match script_diagnostic(e, rule, e.headline(), None) {
        Some(d) => {
            let _ = writeln!(out, "serverless: {}", escape(headline));
            out.push_str(&render::diagnostic(&d, Some(app), color()));
        }
        None => {
            let _ = writeln!(
                out,
                "serverless: {}: {}",
                escape(headline),
                escape(&e.headline())
            );
        }
    }
    let frames: Vec<&str> = e
        .stack
        .lines()
        .filter(|l| l.trim_start().starts_with("at "))
        .collect();
    for frame in frames.iter().take(12) {
        let _ = writeln!(out, "    {}", escape(frame.trim()));
    }
    let _ = std::io::stderr().lock().write_all(out.as_bytes());
}

fn color() -> bool {
    render::use_color(std::io::IsTerminal::is_terminal(&std::io::stderr()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_not_obeyed() {
        assert_eq!(escape("a\x1b[2Jb\tc"), "a\\u{1b}[2Jb\tc");
        assert_eq!(escape("plain"), "plain");
    }
}
