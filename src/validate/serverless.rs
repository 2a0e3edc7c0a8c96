//! The serverless parts of an app: `server/server.js`, the SMI functions and event handlers
//! the manifest names, and the npm dependencies its code requires.
//!
//! Two kinds of checks. Those that read files run with the others in [`super::validate`]:
//! a declared function or event without a `server.js`, a `timeout` the platform refuses, a
//! package `require`d but not declared. Those that need Node (does `server.js` parse, what
//! does it export) cannot run here, in a module that starts no process: the caller runs
//! Node (`fdk-emu validate` asks it to load the file; `fdk-emu run` has its worker) and
//! hands over what it found as [`ServerFacts`]; [`node_report`] turns them into
//! diagnostics of the same kind.

use std::path::Path;

use serde_json::Value;

use super::position::Target;
use super::{Ctx, Diagnostic, Report, Severity};
use crate::app::{App, MANIFEST, SERVER_JS, SMI_TIMEOUTS};

/// What Node found when it loaded `server/server.js`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerFacts {
    /// Node could not be used; the message names what to install or pass.
    NoNode(String),
    /// Node ran: a warning about its version, if any, and how loading went.
    Ran {
        version_warning: Option<String>,
        load: ServerLoad,
    },
}

/// How loading `server.js` went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerLoad {
    /// The names of the functions it exports.
    Exports(Vec<String>),
    /// It threw: a syntax error, or an exception at the top level.
    Failed(ScriptFailure),
    /// Node ran but could not tell (it crashed, or loading never ended): why.
    Unknown(String),
}

/// An error of the app's code, with its place in the app's files when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptFailure {
    pub name: String,
    pub message: String,
    pub file: Option<String>,
    pub line: Option<usize>,
    pub column: Option<usize>,
}

/// Node's built-in modules (Node 18 to 24): `require`d without being dependencies.
const BUILTINS: &[&str] = &[
    "assert",
    "async_hooks",
    "buffer",
    "child_process",
    "cluster",
    "console",
    "constants",
    "crypto",
    "dgram",
    "diagnostics_channel",
    "dns",
    "domain",
    "events",
    "fs",
    "http",
    "http2",
    "https",
    "inspector",
    "module",
    "net",
    "os",
    "path",
    "perf_hooks",
    "process",
    "punycode",
    "querystring",
    "readline",
    "repl",
    "stream",
    "string_decoder",
    "sys",
    "timers",
    "tls",
    "trace_events",
    "tty",
    "url",
    "util",
    "v8",
    "vm",
    "wasi",
    "worker_threads",
    "zlib",
];

/// The checks that read files only.
pub(crate) fn check(ctx: &mut Ctx<'_>) {
    timeouts(ctx);
    if ctx.opts.config_only {
        return;
    }
    let app = ctx.app;
    if !app.has_server_js {
        missing_server(ctx);
        return;
    }
    undeclared_dependencies(ctx);
}

/// `functions.<name>.timeout` must be one of the values the platform allows.
fn timeouts(ctx: &mut Ctx<'_>) {
    let app = ctx.app;
    if !ctx.usable(MANIFEST) {
        return;
    }
    let Some(manifest) = app.manifest_file.as_ref().and_then(|f| f.value.as_ref()) else {
        return;
    };
    for f in app.manifest.functions.values() {
        let pointer = format!("{}/timeout", f.pointer);
        let Some(raw) = manifest.pointer(&pointer) else {
            continue;
        };
        let allowed = match raw {
            Value::Number(n) => n.as_u64().is_some_and(|t| SMI_TIMEOUTS.contains(&t)),
            Value::String(s) => s.trim().parse().is_ok_and(|t| SMI_TIMEOUTS.contains(&t)),
            _ => false,
        };
        if !allowed {
            ctx.push(
                Severity::Error,
                MANIFEST,
                &pointer,
                Target::Value,
                "function-timeout",
                format!(
                    "In function {}, /timeout must be equal to one of the allowed values: {} (seconds); found {raw}",
                    f.name,
                    allowed_list()
                ),
                Some("use 5, 10, 15 or 20; without a timeout the platform allows 20 seconds".into()),
            );
        }
    }
}

fn allowed_list() -> String {
    SMI_TIMEOUTS
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// SMI functions or events without a `server.js` to run them.
fn missing_server(ctx: &mut Ctx<'_>) {
    let app = ctx.app;
    let functions: Vec<&str> = app.manifest.functions.keys().map(String::as_str).collect();
    let events: Vec<&str> = app
        .manifest
        .events
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    let pointer = match (
        app.manifest.functions.values().next(),
        app.manifest.events.first(),
    ) {
        (Some(f), _) => f.pointer.clone(),
        (None, Some(e)) => e.pointer.clone(),
        (None, None) => return,
    };
    let mut what = Vec::new();
    if !functions.is_empty() {
        what.push(format!("SMI functions ({})", functions.join(", ")));
    }
    if !events.is_empty() {
        what.push(format!("events ({})", events.join(", ")));
    }
    ctx.push(
        Severity::Error,
        MANIFEST,
        &pointer,
        Target::Key,
        "server-js-missing",
        format!(
            "manifest.json declares {} but the app has no {SERVER_JS} to run them",
            what.join(" and ")
        ),
        Some(
            "create server/server.js exporting a function for each (exports = { name: function (args) { renderData(null, {}); } }), or remove the declarations"
                .into(),
        ),
    );
}

/// Packages `require`d by the code under `server/` that the manifest does not declare: the
/// platform installs only the manifest's `dependencies`.
fn undeclared_dependencies(ctx: &mut Ctx<'_>) {
    let app = ctx.app;
    let mut files = Vec::new();
    collect_js(&app.server_dir(), 0, &mut files);
    files.sort();
    let mut reported = std::collections::HashSet::new();
    for path in files {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let rel = path
            .strip_prefix(&app.root)
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_else(|_| path.to_string_lossy().into_owned());
        for req in requires(&text) {
            let Some(package) = package_of(&req.name) else {
                continue;
            };
            if app.manifest.dependencies.contains_key(package)
                || !reported.insert(package.to_string())
            {
                continue;
            }
            ctx.report.push(Diagnostic {
                severity: Severity::Warning,
                file: rel.clone(),
                line: req.line,
                column: req.column,
                pointer: None,
                rule: "dependency-undeclared".into(),
                message: format!(
                    "{rel} requires the package '{package}', which \"dependencies\" of manifest.json does not declare; the platform installs only declared packages"
                ),
                hint: Some(format!(
                    "add \"{package}\": \"<version>\" to \"dependencies\" in manifest.json"
                )),
            });
        }
    }
}

/// The `.js` files under `dir`, not following links and not entering `node_modules`.
fn collect_js(dir: &Path, depth: usize, out: &mut Vec<std::path::PathBuf>) {
    if depth > 16 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        if kind.is_dir() {
            if entry.file_name() != "node_modules" && entry.file_name() != "test_data" {
                collect_js(&path, depth + 1, out);
            }
        } else if kind.is_file() && path.extension().is_some_and(|e| e == "js") {
            out.push(path);
        }
    }
}

/// A `require('…')` call found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Require {
    name: String,
    line: usize,
    column: usize,
}

/// The package a `require` names: `None` for the app's own files and Node's modules;
/// `@scope/name` or `name` without a path inside the package.
fn package_of(request: &str) -> Option<&str> {
    if request.starts_with('.') || request.starts_with('/') || request.starts_with("node:") {
        return None;
    }
    let mut parts = request.splitn(3, '/');
    let first = parts.next()?;
    let package = if first.starts_with('@') {
        let second = parts.next()?;
        &request[..first.len() + 1 + second.len()]
    } else {
        first
    };
    (!BUILTINS.contains(&first) && !package.is_empty()).then_some(package)
}

/// The string literals passed to `require(…)` in JavaScript source, skipping comments and
/// the insides of strings and template literals. A regular-expression literal holding a
/// quote can mislead it; the rule it serves is a warning.
fn requires(text: &str) -> Vec<Require> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let (mut line, mut col) = (1usize, 1usize);
    let mut i = 0;
    // Positions of each char, advanced as we go.
    let advance = |c: char, line: &mut usize, col: &mut usize| {
        if c == '\n' {
            *line += 1;
            *col = 1;
        } else {
            *col += 1;
        }
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                advance(chars[i], &mut line, &mut col);
                i += 1;
            }
            continue;
        }
        if c == '/' && next == Some('*') {
            advance(c, &mut line, &mut col);
            advance('*', &mut line, &mut col);
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                advance(chars[i], &mut line, &mut col);
                i += 1;
            }
            i = (i + 2).min(chars.len());
            col += 2;
            continue;
        }
        if c == '\'' || c == '"' || c == '`' {
            advance(c, &mut line, &mut col);
            i += 1;
            while i < chars.len() && chars[i] != c {
                if chars[i] == '\\' {
                    advance(chars[i], &mut line, &mut col);
                    i += 1;
                }
                if i < chars.len() {
                    advance(chars[i], &mut line, &mut col);
                    i += 1;
                }
            }
            if i < chars.len() {
                advance(chars[i], &mut line, &mut col);
                i += 1;
            }
            continue;
        }
        let starts_word = i == 0 || !is_ident(chars[i - 1]) && chars[i - 1] != '.';
        if c == 'r' && starts_word && chars[i..].starts_with(&['r', 'e', 'q', 'u', 'i', 'r', 'e']) {
            let mut j = i + 7;
            if chars.get(j).is_some_and(|c| is_ident(*c)) {
                advance(c, &mut line, &mut col);
                i += 1;
                continue;
            }
            while chars.get(j).is_some_and(|c| c.is_whitespace()) {
                j += 1;
            }
            if chars.get(j) == Some(&'(') {
                j += 1;
                while chars.get(j).is_some_and(|c| c.is_whitespace()) {
                    j += 1;
                }
                if let Some(&q) = chars.get(j).filter(|q| matches!(q, '\'' | '"' | '`')) {
                    let start = j + 1;
                    let mut end = start;
                    while end < chars.len() && chars[end] != q && chars[end] != '\n' {
                        end += 1;
                    }
                    if chars.get(end) == Some(&q) {
                        let name: String = chars[start..end].iter().collect();
                        let (mut l, mut cc) = (line, col);
                        for ch in &chars[i..start] {
                            advance(*ch, &mut l, &mut cc);
                        }
                        if q != '`' || !name.contains("${") {
                            out.push(Require {
                                name,
                                line: l,
                                column: cc,
                            });
                        }
                    }
                }
            }
        }
        advance(c, &mut line, &mut col);
        i += 1;
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
}

/// The diagnostics of what Node found in `server.js`, positioned like the others.
pub fn node_report(app: &App, facts: &ServerFacts) -> Report {
    let mut ctx = Ctx::for_app(app);
    node_checks(&mut ctx, facts);
    let mut report = ctx.report;
    report.sort();
    report
}

fn node_checks(ctx: &mut Ctx<'_>, facts: &ServerFacts) {
    let app = ctx.app;
    let (version_warning, load) = match facts {
        ServerFacts::NoNode(why) => {
            ctx.push_file(
                Severity::Warning,
                SERVER_JS,
                1,
                "node-missing",
                format!("server/server.js was not checked: {why}"),
                Some("the other checks ran; with Node, validate also checks that server.js parses and exports the functions and handlers of the manifest".into()),
            );
            return;
        }
        ServerFacts::Ran {
            version_warning,
            load,
        } => (version_warning, load),
    };
    if let Some(w) = version_warning {
        let pointer = "/engines/node";
        ctx.push(
            Severity::Warning,
            MANIFEST,
            pointer,
            Target::Value,
            "node-version",
            w.clone(),
            None,
        );
    }
    let exports = match load {
        ServerLoad::Exports(e) => e,
        ServerLoad::Failed(f) => {
            let syntax = f.name == "SyntaxError";
            let (rule, message) = if syntax {
                ("server-syntax", format!("{}: {}", f.name, f.message))
            } else {
                (
                    "server-load",
                    format!(
                        "server/server.js throws while loading: {}: {}",
                        f.name, f.message
                    ),
                )
            };
            ctx.report.push(Diagnostic {
                severity: Severity::Error,
                file: f.file.clone().unwrap_or_else(|| SERVER_JS.to_string()),
                line: f.line.unwrap_or(1),
                column: f.column.unwrap_or(1),
                pointer: None,
                rule: rule.into(),
                message,
                hint: Some(if syntax {
                    "fix the syntax at this position; Node reads server.js as a function body (CommonJS), as the platform does".into()
                } else {
                    "the code at the top level of server.js and the modules it requires runs once when it loads; make it not throw".into()
                }),
            });
            return;
        }
        ServerLoad::Unknown(why) => {
            ctx.push_file(
                Severity::Warning,
                SERVER_JS,
                1,
                "server-unchecked",
                format!("server/server.js could not be checked: {why}"),
                None,
            );
            return;
        }
    };
    let listed = if exports.is_empty() {
        "no functions".to_string()
    } else {
        exports.join(", ")
    };
    for f in app.manifest.functions.values() {
        if !exports.contains(&f.name) {
            ctx.push(
                Severity::Error,
                MANIFEST,
                &f.pointer,
                Target::Key,
                "smi-function-missing",
                format!(
                    "the SMI function {} is declared in manifest.json but server/server.js does not export it (it exports {listed})",
                    f.name
                ),
                Some(format!(
                    "add {}: function (args) {{ … renderData(null, result); }} to the exports of server/server.js, or remove it from functions",
                    f.name
                )),
            );
        }
    }
    for e in &app.manifest.events {
        let Some(handler) = &e.handler else { continue };
        if !exports.contains(handler) {
            ctx.push(
                Severity::Error,
                MANIFEST,
                &format!("{}/handler", e.pointer),
                Target::Value,
                "event-handler-missing",
                format!(
                    "the event {} of {} names the handler {handler}, which server/server.js does not export (it exports {listed})",
                    e.name, e.owner
                ),
                Some(format!(
                    "export {handler}: function (payload) {{ … }} from server/server.js, or name an exported function"
                )),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<String> {
        requires(text).into_iter().map(|r| r.name).collect()
    }

    #[test]
    fn finds_requires_outside_comments_and_strings() {
        let src = r#"
const a = require('axios');
// const b = require('commented');
/* require("block") */
const s = "require('in-a-string')";
const t = `template ${require('inside-template-expr')}`;
const c = require( "@scope/pkg/sub" );
const d = obj.require('method-not-require');
const e = myrequire('not-require');
"#;
        assert_eq!(names(src), vec!["axios", "@scope/pkg/sub"]);
    }

    #[test]
    fn positions_point_at_the_module_name() {
        let r = requires("x;\n  const a = require('axios');");
        assert_eq!(
            r,
            vec![Require {
                name: "axios".into(),
                line: 2,
                column: 22
            }]
        );
    }

    #[test]
    fn packages_not_paths_or_builtins() {
        assert_eq!(package_of("axios"), Some("axios"));
        assert_eq!(package_of("lodash/get"), Some("lodash"));
        assert_eq!(package_of("@sendgrid/mail"), Some("@sendgrid/mail"));
        assert_eq!(package_of("@sendgrid/mail/x"), Some("@sendgrid/mail"));
        assert_eq!(package_of("./lib/util"), None);
        assert_eq!(package_of("crypto"), None);
        assert_eq!(package_of("fs/promises"), None);
        assert_eq!(package_of("node:fs"), None);
    }
}
