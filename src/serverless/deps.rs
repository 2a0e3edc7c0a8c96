//! The npm `dependencies` of `manifest.json`, installed into `server/node_modules` with npm
//! when they changed (FDK installs them at every start; once is enough while the list
//! stays the same).
//!
//! What was installed last is recorded in `server/node_modules/.fdk-emu-dependencies.json`;
//! a start with the same list, or a later edit of `manifest.json` that leaves the list
//! alone, does not run npm. npm is told not to write `package.json` or a lock file into the
//! app's `server/` folder, so the app's files stay as they are. Its fetch lines (`--loglevel
//! http`) are shown as they come, as progress.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;

use indexmap::IndexMap;
use tokio::io::{AsyncBufReadExt, BufReader};

use super::node::Node;
use super::terminal;

/// The record of the last successful install, inside `node_modules`.
pub const RECORD: &str = ".fdk-emu-dependencies.json";

/// Why the dependencies could not be installed; the message names the package at fault
/// when npm's output does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DepsError {
    #[error(
        "npm was not found, and manifest.json declares dependencies for server.js ({list}): install it (Debian/Ubuntu: sudo apt-get install npm) and restart fdk-emu"
    )]
    NoNpm { list: String },
    #[error("could not install the dependencies of manifest.json: {detail}")]
    Failed { detail: String },
}

/// What [`sync`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Synced {
    /// The manifest declares no dependencies.
    None,
    /// `node_modules` already holds this list.
    UpToDate,
    /// npm installed them (how many packages, how long).
    Installed { count: usize, secs: f64 },
}

/// The dependencies as npm wants them on its command line: `name@version`.
fn specs(deps: &IndexMap<String, String>) -> Vec<String> {
    deps.iter().map(|(n, v)| format!("{n}@{v}")).collect()
}

fn record_path(server_dir: &Path) -> PathBuf {
    server_dir.join("node_modules").join(RECORD)
}

/// Whether `server/node_modules` holds exactly `deps`, as recorded by the last install.
pub fn up_to_date(server_dir: &Path, deps: &IndexMap<String, String>) -> bool {
    let Ok(text) = std::fs::read_to_string(record_path(server_dir)) else {
        return false;
    };
    let Ok(recorded) = serde_json::from_str::<IndexMap<String, String>>(&text) else {
        return false;
    };
    let mut a: Vec<_> = recorded.iter().collect();
    let mut b: Vec<_> = deps.iter().collect();
    a.sort();
    b.sort();
    a == b
        && deps
            .keys()
            .all(|name| server_dir.join("node_modules").join(name).is_dir())
}

/// Installs `deps` into `server_dir/node_modules` unless they are there already.
pub async fn sync(
    node: &Node,
    server_dir: &Path,
    deps: &IndexMap<String, String>,
) -> Result<Synced, DepsError> {
    if deps.is_empty() {
        return Ok(Synced::None);
    }
    if up_to_date(server_dir, deps) {
        return Ok(Synced::UpToDate);
    }
    let list = specs(deps).join(", ");
    let npm = node.npm();
    terminal::note(&format!(
        "installing the dependencies of manifest.json into server/node_modules with npm: {list}"
    ));
    let started = Instant::now();
    // npm is a Node script (`#!/usr/bin/env node`): run it with the Node fdk-emu uses.
    let mut path = std::ffi::OsString::new();
    if let Some(dir) = node.path.parent() {
        path.push(dir.as_os_str());
        path.push(":");
    }
    path.push(std::env::var_os("PATH").unwrap_or_default());
    let mut cmd = tokio::process::Command::new(&npm);
    cmd.args([
        "install",
        "--no-save",
        "--no-package-lock",
        "--no-audit",
        "--no-fund",
        "--no-update-notifier",
        "--loglevel=http",
        "--prefix",
    ])
    .arg(server_dir)
    .args(specs(deps))
    .current_dir(server_dir)
    .env("PATH", path)
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .kill_on_drop(true);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("FDK_EMU_") {
            cmd.env_remove(key);
        }
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(DepsError::NoNpm { list });
        }
        Err(e) => {
            return Err(DepsError::Failed {
                detail: format!("{} could not be started ({e})", npm.display()),
            });
        }
    };
    let mut errors: Vec<String> = Vec::new();
    let out = child.stdout.take();
    let err = child.stderr.take();
    let show_out = async {
        if let Some(out) = out {
            let mut lines = BufReader::new(out).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                terminal::lines("  npm |", &line);
            }
        }
    };
    let show_err = async {
        if let Some(err) = err {
            let mut lines = BufReader::new(err).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if line.starts_with("npm error") || line.starts_with("npm ERR!") {
                    errors.push(line.clone());
                }
                terminal::lines("  npm |", &line);
            }
        }
    };
    tokio::join!(show_out, show_err);
    let status = child.wait().await.map_err(|e| DepsError::Failed {
        detail: format!("npm did not finish ({e})"),
    })?;
    if !status.success() {
        return Err(DepsError::Failed {
            detail: explain(deps, &errors, &status.to_string()),
        });
    }
    let record = serde_json::to_string_pretty(deps).unwrap_or_default();
    if let Err(e) = std::fs::write(record_path(server_dir), record) {
        terminal::note(&format!(
            "installed, but could not record it in {} ({e}): npm runs again at the next start",
            record_path(server_dir).display()
        ));
    }
    Ok(Synced::Installed {
        count: deps.len(),
        secs: started.elapsed().as_secs_f64(),
    })
}

/// A sentence about npm's failure: the packages at fault, what kind of error it is, what
/// to do, and npm's own words.
fn explain(deps: &IndexMap<String, String>, errors: &[String], status: &str) -> String {
    let text = errors.join("\n");
    let code = errors
        .iter()
        .find_map(|l| l.split_once(" code ").map(|(_, c)| c.trim().to_string()))
        .unwrap_or_default();
    let named: Vec<String> = deps
        .iter()
        .filter(|(name, _)| mentions(&text, name))
        .map(|(n, v)| format!("{n}@{v}"))
        .collect();
    let all = specs(deps).join(", ");
    let offline = matches!(
        code.as_str(),
        "ENOTFOUND" | "EAI_AGAIN" | "ECONNREFUSED" | "ECONNRESET" | "ETIMEDOUT" | "ENETUNREACH"
    );
    let (who, what, fix) = if offline {
        // Nothing can be installed: every package is at fault.
        (
            all,
            "the npm registry could not be reached (offline?)".to_string(),
            "check the network or npm's registry setting; fdk-emu tries again at the next start or when the dependencies change",
        )
    } else {
        let what = match code.as_str() {
            "ETARGET" => "no published version matches the version asked for".to_string(),
            "E404" => "no such package in the registry".to_string(),
            "" => format!("npm failed ({status})"),
            other => format!("npm failed with {other}"),
        };
        let who = if named.is_empty() {
            all
        } else {
            named.join(", ")
        };
        (
            who,
            what,
            "fix \"dependencies\" in manifest.json (fdk-emu installs again when it changes)",
        )
    };
    let said: Vec<&str> = errors
        .iter()
        .filter_map(|l| {
            l.strip_prefix("npm error")
                .or_else(|| l.strip_prefix("npm ERR!"))
        })
        // npm's stack and error object are indented further.
        .filter(|r| r.starts_with(' ') && !r.starts_with("  "))
        .map(str::trim)
        .filter(|r| {
            !r.is_empty()
                && ![
                    "code ",
                    "syscall ",
                    "errno ",
                    "{",
                    "}",
                    "If you",
                    "A complete log",
                ]
                .iter()
                .any(|p| r.starts_with(p))
                && !r.contains("npm help")
        })
        .take(2)
        .collect();
    let mut out = format!("{who}: {what}; {fix}. server.js runs without them meanwhile");
    if !said.is_empty() {
        out.push_str(". npm said: ");
        out.push_str(&said.join(" / "));
    }
    out
}

/// Whether npm's text names the package: as a word of its own, in a spec or in a registry
/// URL (`is-number@9`, `'is-number'`, `/is-number`).
fn mentions(text: &str, name: &str) -> bool {
    text.match_indices(name).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + name.len()..].chars().next();
        let edge = |c: Option<char>| {
            c.is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
        };
        edge(before) && (edge(after) || after == Some('@'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deps(list: &[(&str, &str)]) -> IndexMap<String, String> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn names_the_package_npm_complains_about() {
        let d = deps(&[("is-number", "999.0.0"), ("is-odd", "3.0.1")]);
        let errors = vec![
            "npm error code ETARGET".to_string(),
            "npm error notarget No matching version found for is-number@999.0.0.".to_string(),
        ];
        let m = explain(&d, &errors, "exit status: 1");
        assert!(
            m.starts_with("is-number@999.0.0: no published version"),
            "{m}"
        );
        assert!(!m.contains("is-odd"), "{m}");
        assert!(
            m.ends_with("npm said: notarget No matching version found for is-number@999.0.0."),
            "{m}"
        );
        // Offline, nothing can be installed: every package is named.
        let offline = vec![
            "npm error code ECONNREFUSED".to_string(),
            "npm error syscall connect".to_string(),
            "npm error FetchError: request to http://127.0.0.1:9/is-odd failed".to_string(),
            "npm error     at ClientRequest.<anonymous> (x.js:1:1)".to_string(),
            "npm error   code: 'ECONNREFUSED',".to_string(),
            "npm error }".to_string(),
            "npm error If you are behind a proxy, please make sure".to_string(),
        ];
        let m = explain(&d, &offline, "exit status: 1");
        assert!(
            m.starts_with("is-number@999.0.0, is-odd@3.0.1: the npm registry could not be reached"),
            "{m}"
        );
        assert!(
            m.ends_with("npm said: FetchError: request to http://127.0.0.1:9/is-odd failed"),
            "{m}"
        );
    }

    #[test]
    fn a_name_inside_another_is_not_a_mention() {
        assert!(mentions("found for is-number@1", "is-number"));
        assert!(!mentions("found for is-number-x@1", "is-number"));
        assert!(mentions(
            "GET https://registry.npmjs.org/axios - Not found",
            "axios"
        ));
    }

    #[test]
    fn the_record_must_match_and_the_packages_be_there() {
        let dir = tempfile::tempdir().expect("tmp");
        let d = deps(&[("a", "1.0.0")]);
        assert!(!up_to_date(dir.path(), &d));
        std::fs::create_dir_all(dir.path().join("node_modules/a")).expect("mkdir");
        std::fs::write(
            dir.path().join("node_modules").join(RECORD),
            serde_json::to_string(&d).expect("json"),
        )
        .expect("write");
        assert!(up_to_date(dir.path(), &d));
        assert!(!up_to_date(dir.path(), &deps(&[("a", "2.0.0")])));
        std::fs::remove_dir_all(dir.path().join("node_modules/a")).expect("rm");
        assert!(!up_to_date(dir.path(), &d));
    }
}
