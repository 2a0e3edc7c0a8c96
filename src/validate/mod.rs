//! Validation of an app: JSON Schemas (`schemas/`) and cross-file rules, reported all at once.
//!
//! Every problem becomes a [`Diagnostic`] with a file, a position in that file's text, the
//! rule that found it and a hint; [`Report`] holds them in file order.
//!
//! The checks follow FDK (6.9 source where it exists, FDK 9 logs and Freshworks' docs after
//! that; see `shared/spec/fdk-reference.md` §2). Where the sources disagree or FDK's behaviour
//! is unknown, a problem is a warning, not an error: an app written to the docs must start.
//! The rule ids (`template-not-defined`, `host-format`, …) are stable: editors and CI filter
//! on them, and `RULES` lists them all.

pub mod diagnostic;
mod expressions;
mod files;
mod icon;
mod iparams;
mod manifest;
mod oauth;
pub mod position;
pub mod render;
mod requests;
pub mod schema;
pub mod serverless;

use std::collections::HashSet;

pub use diagnostic::{Diagnostic, Report, Severity};

use crate::app::{App, Loaded};
use position::{FileIndex, Target};

/// What to check.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Check configuration files only: skip the checks that need the app's front-end files
    /// (`app/` folder, location urls and icons, `config/assets/iparams.js`). The corpus holds
    /// configuration alone.
    pub config_only: bool,
    /// The port `fdk-emu run` serves on, for the addresses hints name (default 10001).
    pub port: Option<u16>,
}

/// Every rule id this validator can report, with its severity, for documentation and tests.
pub const RULES: &[(&str, Severity)] = &[
    ("json-syntax", Severity::Error),
    ("manifest-missing", Severity::Error),
    ("manifest-schema", Severity::Error),
    ("requests-schema", Severity::Error),
    ("oauth-schema", Severity::Error),
    ("iparams-schema", Severity::Error),
    ("platform-version", Severity::Error),
    ("manifest-generation", Severity::Warning),
    ("manifest-no-product", Severity::Error),
    ("manifest-no-module", Severity::Error),
    ("manifest-unknown-product", Severity::Warning),
    ("location-empty", Severity::Error),
    ("location-url", Severity::Error),
    ("location-icon", Severity::Warning),
    ("location-file-missing", Severity::Error),
    ("location-icon-size", Severity::Error),
    ("app-dir-missing", Severity::Error),
    ("whitelisted-domains-deprecated", Severity::Error),
    ("whitelisted-domain", Severity::Warning),
    ("config-dir-entry", Severity::Warning),
    ("iparam-test-data-deprecated", Severity::Warning),
    ("template-not-defined", Severity::Error),
    ("template-undeclared", Severity::Warning),
    ("template-name", Severity::Error),
    ("template-limit", Severity::Error),
    ("templates-platform", Severity::Warning),
    ("host-format", Severity::Error),
    ("path-format", Severity::Error),
    ("path-query", Severity::Warning),
    ("protocol-http", Severity::Warning),
    ("query-value-type", Severity::Warning),
    ("option-range", Severity::Warning),
    ("oauth-integration-missing", Severity::Error),
    ("oauth-config-missing", Severity::Error),
    ("isoauth-with-integrations", Severity::Error),
    ("access-token-without-oauth", Severity::Error),
    ("expression-syntax", Severity::Error),
    ("expression-unknown-root", Severity::Error),
    ("iparam-undefined", Severity::Error),
    ("oauth-iparam-undefined", Severity::Warning),
    ("iparam-in-oauth-config", Severity::Warning),
    ("secure-iparam-placement", Severity::Warning),
    ("oauth-mandatory-keys", Severity::Error),
    ("oauth-credentials-empty", Severity::Warning),
    ("oauth-credentials-placeholder", Severity::Warning),
    ("oauth-integrations-platform", Severity::Warning),
    ("oauth-token-type", Severity::Error),
    ("oauth-iparams", Severity::Error),
    ("oauth-form-platform", Severity::Error),
    ("oauth-integration-limit", Severity::Error),
    ("iparams-both", Severity::Error),
    ("iparams-missing", Severity::Warning),
    ("iparams-html-methods", Severity::Error),
    ("iparams-html-validate", Severity::Warning),
    ("iparams-html-apply", Severity::Error),
    ("iparam-reserved-key", Severity::Error),
    ("iparam-keys", Severity::Error),
    ("iparam-type", Severity::Error),
    ("iparam-boolean", Severity::Error),
    ("iparam-options", Severity::Error),
    ("iparam-options-format", Severity::Warning),
    ("iparam-default", Severity::Error),
    ("iparam-regex", Severity::Error),
    ("iparam-regex-pattern", Severity::Warning),
    ("iparam-type-attributes", Severity::Error),
    ("iparam-type-attributes-product", Severity::Warning),
    ("iparam-data-bind", Severity::Error),
    ("iparam-events", Severity::Error),
    ("iparam-modules", Severity::Warning),
    ("iparam-secure-name", Severity::Warning),
    ("function-timeout", Severity::Error),
    ("server-js-missing", Severity::Error),
    ("dependency-undeclared", Severity::Warning),
    ("node-missing", Severity::Warning),
    ("node-version", Severity::Warning),
    ("server-syntax", Severity::Error),
    ("server-load", Severity::Error),
    ("server-unchecked", Severity::Warning),
    ("smi-function-missing", Severity::Error),
    ("event-handler-missing", Severity::Error),
];

/// State shared by the rules of one validation run: the app, a position index per file
/// and the report being built.
pub(crate) struct Ctx<'a> {
    pub app: &'a App,
    pub opts: Options,
    pub report: Report,
    indexes: Vec<(&'a str, FileIndex<'a>)>,
    /// Files that exist but are not valid JSON: rules about their content stay quiet.
    pub broken: HashSet<&'a str>,
    iparams_js: std::cell::OnceCell<String>,
}

impl<'a> Ctx<'a> {
    fn new(loaded: &'a Loaded, opts: Options) -> Ctx<'a> {
        let broken = loaded
            .parse_failures
            .iter()
            .map(|(rel, _)| rel.as_str())
            .collect();
        Ctx::with(&loaded.app, opts, broken)
    }

    /// For checks of an app already loaded and served (the Node worker's findings at run
    /// time): every file parsed, or the snapshot would not be served.
    pub(crate) fn for_app(app: &'a App) -> Ctx<'a> {
        Ctx::with(app, Options::default(), HashSet::new())
    }

    fn with(app: &'a App, opts: Options, broken: HashSet<&'a str>) -> Ctx<'a> {
        let indexes = app
            .files()
            .filter(|f| f.value.is_some())
            .map(|f| (f.rel_path.as_str(), FileIndex::new(&f.text)))
            .collect();
        Ctx {
            app,
            opts,
            report: Report::default(),
            indexes,
            broken,
            iparams_js: std::cell::OnceCell::new(),
        }
    }

    /// `config/assets/iparams.js`, read once per validation (a missing file reads as empty);
    /// `None` with `--config-only`, which leaves the front-end files alone.
    pub fn iparams_js(&self) -> Option<&str> {
        if self.opts.config_only {
            return None;
        }
        let js = self.iparams_js.get_or_init(|| {
            std::fs::read_to_string(self.app.root.join("config/assets/iparams.js"))
                .unwrap_or_default()
        });
        Some(js)
    }

    /// Where the setup pages are, for hints: `http://localhost:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://localhost:{}", self.opts.port.unwrap_or(10001))
    }

    fn index(&self, file: &str) -> Option<&FileIndex<'a>> {
        self.indexes
            .iter()
            .find(|(f, _)| *f == file)
            .map(|(_, ix)| ix)
    }

    /// Reports a problem about the JSON value (or key) at `pointer` of `file`.
    #[allow(clippy::too_many_arguments)]
    pub fn push(
        &mut self,
        severity: Severity,
        file: &str,
        pointer: &str,
        target: Target,
        rule: &str,
        message: String,
        hint: Option<String>,
    ) {
        let (line, column) = self
            .index(file)
            .map_or((1, 1), |ix| ix.position(pointer, target));
        self.report.push(Diagnostic {
            severity,
            file: file.to_string(),
            line,
            column,
            pointer: Some(pointer.to_string()),
            rule: rule.to_string(),
            message,
            hint,
        });
    }

    /// Reports a problem at byte `inner` of the string value at `pointer` (a `<%= %>` tag).
    #[allow(clippy::too_many_arguments)]
    pub fn push_in_string(
        &mut self,
        severity: Severity,
        file: &str,
        pointer: &str,
        inner: usize,
        rule: &str,
        message: String,
        hint: Option<String>,
    ) {
        let (line, column) = self
            .index(file)
            .map_or((1, 1), |ix| ix.line_col(ix.string_offset(pointer, inner)));
        self.report.push(Diagnostic {
            severity,
            file: file.to_string(),
            line,
            column,
            pointer: Some(pointer.to_string()),
            rule: rule.to_string(),
            message,
            hint,
        });
    }

    /// Reports a problem about a file as a whole (or one that is not JSON), at a line.
    pub fn push_file(
        &mut self,
        severity: Severity,
        file: &str,
        line: usize,
        rule: &str,
        message: String,
        hint: Option<String>,
    ) {
        self.report.push(Diagnostic {
            severity,
            file: file.to_string(),
            line,
            column: 1,
            pointer: None,
            rule: rule.to_string(),
            message,
            hint,
        });
    }

    /// Whether a file exists and parsed, so that rules comparing it with others can trust
    /// what the typed model says about it.
    pub fn usable(&self, file: &str) -> bool {
        self.app.file(file).is_some_and(|f| f.value.is_some())
    }
}

/// Validates a loaded app and returns every problem found.
pub fn validate(loaded: &Loaded, opts: &Options) -> Report {
    let mut ctx = Ctx::new(loaded, *opts);
    for (rel, failure) in &loaded.parse_failures {
        ctx.push_file(
            Severity::Error,
            rel,
            failure.line,
            "json-syntax",
            format!("{rel} could not be parsed: {}", failure.message),
            Some("fix the JSON syntax at this position (a missing comma, a trailing comma or an unquoted key are the usual causes)".into()),
        );
        if let Some(last) = ctx.report.diagnostics.last_mut() {
            last.column = failure.column;
        }
    }
    files::check(&mut ctx);
    manifest::check(&mut ctx);
    requests::check(&mut ctx);
    oauth::check(&mut ctx);
    iparams::check(&mut ctx);
    expressions::check(&mut ctx);
    serverless::check(&mut ctx);
    let mut report = ctx.report;
    report.sort();
    report
}
