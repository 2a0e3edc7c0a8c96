//! Validation of an app: JSON Schemas (`schemas/`) and cross-file rules, reported all at once.
//!
//! Every problem becomes a [`Diagnostic`] with a file, a position in that file's text, the
//! rule that found it and a hint; [`Report`] holds them in file order.

pub mod diagnostic;
pub mod render;

pub use diagnostic::{Diagnostic, Report, Severity};

use crate::app::Loaded;

/// What to check.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Check configuration files only: skip the checks that need the app's front-end files
    /// (`app/` folder, location urls and icons). The corpus holds configuration alone.
    pub config_only: bool,
}

/// Validates a loaded app and returns every problem found.
pub fn validate(loaded: &Loaded, _opts: &Options) -> Report {
    let mut report = Report::default();
    for (rel, failure) in &loaded.parse_failures {
        report.push(Diagnostic {
            severity: Severity::Error,
            file: rel.clone(),
            line: failure.line,
            column: failure.column,
            pointer: None,
            rule: "json-syntax".into(),
            message: format!("{rel} could not be parsed: {}", failure.message),
            hint: Some("fix the JSON syntax at this position (a missing comma, a trailing comma or an unquoted key are the usual causes)".into()),
        });
    }
    if loaded.app.manifest_file.is_none() {
        report.push(Diagnostic {
            severity: Severity::Error,
            file: crate::app::MANIFEST.into(),
            line: 1,
            column: 1,
            pointer: None,
            rule: "manifest-missing".into(),
            message: "Could not find the app manifest file in the current/specified directory."
                .into(),
            hint: Some(
                "run fdk-emu in the app folder (the one with manifest.json) or pass --app-dir"
                    .into(),
            ),
        });
    }
    report.sort();
    report
}
