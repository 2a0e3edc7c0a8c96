//! The unit of a validation report, and the report itself.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One problem, located in a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Path relative to the app folder (`config/requests.json`).
    pub file: String,
    /// 1-based line and column in the file's text.
    pub line: usize,
    pub column: usize,
    /// JSON pointer of the offending value, when the problem is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
    /// Stable rule id (`template-undeclared`, `schema`, …) for editors and CI filters.
    pub rule: String,
    /// What is wrong, in FDK's wording where the reference records it.
    pub message: String,
    /// What would fix it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// Every problem found in one validation run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub diagnostics: Vec<Diagnostic>,
}

impl Report {
    pub fn push(&mut self, d: Diagnostic) {
        self.diagnostics.push(d);
    }

    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Warning)
    }

    pub fn has_errors(&self) -> bool {
        self.errors().next().is_some()
    }

    /// File order, then position, so the report reads top to bottom.
    pub fn sort(&mut self) {
        self.diagnostics.sort_by(|a, b| {
            (file_rank(&a.file), &a.file, a.line, a.column, a.severity).cmp(&(
                file_rank(&b.file),
                &b.file,
                b.line,
                b.column,
                b.severity,
            ))
        });
        self.diagnostics.dedup();
    }
}

fn file_rank(file: &str) -> u8 {
    match file {
        crate::app::MANIFEST => 0,
        crate::app::REQUESTS => 1,
        crate::app::OAUTH_CONFIG => 2,
        crate::app::IPARAMS_JSON | crate::app::IPARAMS_HTML => 3,
        _ => 4,
    }
}
