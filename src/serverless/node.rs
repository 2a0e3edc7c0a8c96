//! Finding Node.js and npm: `--node PATH`, else `node` on `PATH`. Needed only by apps with a
//! `server/server.js`; nothing else in fdk-emu runs JavaScript.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A Node.js that answered `--version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub path: PathBuf,
    /// As Node prints it, e.g. `v20.20.2`.
    pub version: String,
    pub major: Option<u32>,
}

/// What to install, or what to pass, when Node cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NodeError {
    #[error(
        "server/server.js runs in Node.js, and no `node` was found on PATH: install it (Debian/Ubuntu: sudo apt-get install nodejs npm; elsewhere: https://nodejs.org) or pass --node /path/to/node"
    )]
    NotOnPath,
    #[error(
        "--node {0}: no such file; pass the path of the node executable (e.g. --node /usr/bin/node)"
    )]
    Missing(PathBuf),
    #[error("{path} could not be run as Node.js ({reason}); pass another one with --node PATH")]
    NotRunnable { path: PathBuf, reason: String },
}

impl Node {
    /// npm of this Node: the one beside it (an nvm or tarball install keeps them together),
    /// else `npm` on `PATH`.
    pub fn npm(&self) -> PathBuf {
        let sibling = self.path.with_file_name("npm");
        if sibling.is_file() {
            sibling
        } else {
            find_on_path("npm").unwrap_or_else(|| PathBuf::from("npm"))
        }
    }

    /// A warning when the Node found is not the major version the app was built for
    /// (`engines.node` of the manifest), which the platform runs it on.
    pub fn version_warning(&self, engines_node: Option<&str>) -> Option<String> {
        let wanted = engines_node?;
        let want = major_of(wanted)?;
        let have = self.major?;
        (want != have).then(|| {
            format!(
                "manifest.json names Node {wanted} (engines.node), and the platform runs the app on Node {want}; fdk-emu found {} at {}. Code that works here may not work there: install Node {want} and pass --node PATH, or update engines.node",
                self.version,
                self.path.display()
            )
        })
    }
}

/// Finds Node: `flag` when given (a bare name is looked up on `PATH`), else `node` on
/// `PATH`; runs `node --version` to be sure it is one. Blocking (a few tens of ms).
pub fn locate(flag: Option<&Path>) -> Result<Node, NodeError> {
    let path = match flag {
        Some(p) if p.components().count() == 1 && !p.is_file() => {
            find_on_path(&p.to_string_lossy()).ok_or_else(|| NodeError::Missing(p.to_path_buf()))?
        }
        Some(p) if !p.exists() => return Err(NodeError::Missing(p.to_path_buf())),
        Some(p) => p.to_path_buf(),
        None => find_on_path("node").ok_or(NodeError::NotOnPath)?,
    };
    let out =
        Command::new(&path)
            .arg("--version")
            .output()
            .map_err(|e| NodeError::NotRunnable {
                path: path.clone(),
                reason: e.to_string(),
            })?;
    let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || !version.starts_with('v') {
        return Err(NodeError::NotRunnable {
            path,
            reason: format!(
                "`--version` answered {:?}",
                if version.is_empty() {
                    String::from_utf8_lossy(&out.stderr).trim().to_string()
                } else {
                    version
                }
            ),
        });
    }
    Ok(Node {
        major: major_of(&version),
        path,
        version,
    })
}

/// The major version in a version or range as manifests write it: `18.20.8`, `v20.1.0`,
/// `18.x`, `^18.0.0`, `>=18`.
pub fn major_of(version: &str) -> Option<u32> {
    let digits: String = version
        .trim()
        .trim_start_matches(|c: char| !c.is_ascii_digit())
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majors_of_what_manifests_write() {
        assert_eq!(major_of("18.20.8"), Some(18));
        assert_eq!(major_of("v20.20.2"), Some(20));
        assert_eq!(major_of("^18.0.0"), Some(18));
        assert_eq!(major_of(">=24"), Some(24));
        assert_eq!(major_of("18.x"), Some(18));
        assert_eq!(major_of("latest"), None);
    }

    #[test]
    fn warns_only_on_another_major() {
        let node = Node {
            path: "/usr/bin/node".into(),
            version: "v20.20.2".into(),
            major: Some(20),
        };
        assert!(node.version_warning(Some("20.1.0")).is_none());
        assert!(node.version_warning(None).is_none());
        let w = node.version_warning(Some("18.20.8")).expect("warning");
        assert!(w.contains("Node 18") && w.contains("v20.20.2"), "{w}");
    }

    #[test]
    fn a_missing_flag_path_is_named() {
        let e = locate(Some(Path::new("/nonexistent/node"))).expect_err("missing");
        assert!(e.to_string().contains("/nonexistent/node"), "{e}");
    }
}
