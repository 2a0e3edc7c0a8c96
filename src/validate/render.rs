//! Printing a [`Report`]: text for a terminal, JSON for editors and CI.

use std::fmt::Write as _;

use serde_json::json;

use super::{Diagnostic, Report, Severity};
use crate::app::App;

/// Whether to colour terminal output: only on a terminal, and never when `NO_COLOR` is set
/// (https://no-color.org).
pub fn use_color(stream_is_tty: bool) -> bool {
    stream_is_tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

struct Style {
    on: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
}

/// The report as text, each problem followed by an excerpt of the file and its fix hint.
pub fn text(report: &Report, app: Option<&App>, color: bool) -> String {
    let st = Style { on: color };
    let mut out = String::new();
    for d in &report.diagnostics {
        out.push_str(&diagnostic(d, app, color));
        out.push('\n');
    }
    let errors = report.errors().count();
    let warnings = report.warnings().count();
    let summary = match (errors, warnings) {
        (0, 0) => st.paint("1;32", "Validation successful: no problems found."),
        (0, w) => st.paint(
            "1;32",
            &format!("Validation successful, with {w} warning{}.", plural(w)),
        ),
        (e, w) => st.paint(
            "1;31",
            &format!(
                "Validation failed: {e} error{}, {w} warning{}.",
                plural(e),
                plural(w)
            ),
        ),
    };
    out.push_str(&summary);
    out.push('\n');
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// One problem: its headline, where it is, an excerpt of the file with a caret under the
/// column, and the fix. Also how the Node worker shows an error of `server.js` at run time.
pub fn diagnostic(d: &Diagnostic, app: Option<&App>, color: bool) -> String {
    let st = Style { on: color };
    let mut out = String::new();
    let (label, code) = match d.severity {
        Severity::Error => ("error", "1;31"),
        Severity::Warning => ("warning", "1;33"),
    };
    let _ = writeln!(
        out,
        "{}{} {}",
        st.paint(code, label),
        st.paint("1", &format!("[{}]:", d.rule)),
        st.paint("1", &d.message)
    );
    let _ = writeln!(
        out,
        "  {} {}:{}:{}",
        st.paint("34", "-->"),
        d.file,
        d.line,
        d.column
    );
    if let Some(excerpt) = app.and_then(|a| excerpt(a, d)) {
        out.push_str(&excerpt);
    }
    if let Some(p) = d.pointer.as_ref().filter(|p| !p.is_empty()) {
        let _ = writeln!(out, "   {} at {}", st.paint("34", "="), p);
    }
    if let Some(h) = &d.hint {
        let _ = writeln!(out, "   {} {}", st.paint("36", "= fix:"), h);
    }
    out
}

/// The offending line with a caret under the column. Configuration files come from the
/// snapshot; the code of `server/` (serverless diagnostics) is read from disk.
fn excerpt(app: &App, d: &Diagnostic) -> Option<String> {
    let text = match app.file(&d.file) {
        Some(file) => std::borrow::Cow::Borrowed(file.text.as_str()),
        None if d.file.starts_with("server/") && !d.file.contains("..") => {
            std::borrow::Cow::Owned(std::fs::read_to_string(app.root.join(&d.file)).ok()?)
        }
        None => return None,
    };
    let line = text.lines().nth(d.line.checked_sub(1)?)?;
    let line = hide_client_secrets(app, line.trim_end_matches('\r'));
    // Long minified lines would flood the terminal: show a window around the column.
    let chars: Vec<char> = line.chars().collect();
    let col = d.column.saturating_sub(1).min(chars.len());
    let start = col.saturating_sub(60);
    let end = (col + 60).min(chars.len());
    let shown: String = chars[start..end].iter().collect();
    let lead = if start > 0 { "…" } else { "" };
    let num = d.line.to_string();
    let pad = " ".repeat(num.len());
    let caret_pad = " ".repeat(col - start + lead.chars().count());
    Some(format!(
        " {pad} |\n {num} | {lead}{shown}\n {pad} | {caret_pad}^\n"
    ))
}

/// The line with each literal client secret of `config/oauth_config.json` blotted out, one
/// dot per character so that the caret still points where it should: the terminal and CI
/// logs are no place for a secret, even one the file holds.
fn hide_client_secrets(app: &App, line: &str) -> String {
    let mut line = line.to_string();
    let secrets = app.oauth.iter().flat_map(|o| o.integrations.values());
    for secret in secrets.map(|i| i.client_secret.as_str()) {
        if secret.chars().count() >= 4 && !secret.contains("<%") {
            line = line.replace(secret, &"•".repeat(secret.chars().count()));
        }
    }
    line
}

/// The report as one JSON document.
pub fn json(report: &Report, app_dir: &str) -> String {
    let doc = json!({
        "app_dir": app_dir,
        "errors": report.errors().count(),
        "warnings": report.warnings().count(),
        "diagnostics": report.diagnostics,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".into())
}
