//! Hot reload: watch `manifest.json`, `config/`, `app/` and `server/`, reload and revalidate
//! on change, swap the new snapshot in only when it has no errors, and tell whoever
//! subscribed (live-reload clients, the Node worker, which starts again on a change under
//! `server/`).
//!
//! notify's raw events come in bursts (an editor's save is often write + rename + chmod), so
//! they are debounced for a short window before one reload runs. Loading and validating read
//! files and compile schemas, so that work runs on the blocking pool, off the executor.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use notify::{EventKind, RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, NoCache, new_debouncer_opt};

use super::{Change, Snapshot};
use crate::term;

/// Long enough to fold one save's burst of events into one reload, short enough that the
/// new snapshot serves well under 300 ms after the change.
const DEBOUNCE: Duration = Duration::from_millis(40);

/// Starts watching the app folder of `snapshot` on the current Tokio runtime. Failure to
/// watch is reported, not fatal: the server is still useful without hot reload.
pub fn spawn(snapshot: Arc<Snapshot>) {
    let root = snapshot.app().root.clone();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Vec<PathBuf>>();
    // Links inside the watched folders are not followed: `app/dirlink -> /elsewhere` would
    // reload the app on every change over there (a log file written there reloaded it in a
    // loop) and broadcast the names of files that are not the app's. No file-id cache
    // either: it walked every linked tree at start-up (a link to `/` walked the disk), and
    // telling renames apart is of no use here, where any change means one reload.
    let config = notify::Config::default().with_follow_symlinks(false);
    let handler = move |res: DebounceEventResult| {
        if let Ok(events) = res {
            // Reading a file is an inotify event too (our own reload reads them all):
            // only creations, modifications and removals are changes.
            let paths: Vec<PathBuf> = events
                .into_iter()
                .filter(|e| !matches!(e.event.kind, EventKind::Access(_) | EventKind::Other))
                .flat_map(|e| e.event.paths)
                .collect();
            if paths.is_empty() {
                return;
            }
            let _ = tx.send(paths);
        }
    };
    let debouncer =
        new_debouncer_opt::<_, RecommendedWatcher, _>(DEBOUNCE, None, handler, NoCache, config);
    let mut debouncer = match debouncer {
        Ok(d) => d,
        Err(e) => {
            say(&format!(
                "warning: cannot watch {} for changes ({e}); restart fdk-emu after editing files\n",
                term::short(&root.display().to_string())
            ));
            return;
        }
    };
    // The app folder itself non-recursively (manifest.json, and config/, app/, fdk-emu/ or
    // server/ appearing), config/, app/ and fdk-emu/ (the simulator's mock data)
    // recursively, server/ folder by folder. Not the whole tree: .fdk/ (our database) and
    // node_modules/ change constantly and are no concern of the app's configuration or code.
    let _ = debouncer.watch(&root, RecursiveMode::NonRecursive);
    for sub in WATCHED {
        let dir = root.join(sub);
        if dir.is_dir() {
            let _ = debouncer.watch(&dir, RecursiveMode::Recursive);
        }
    }
    for dir in server_dirs(&root) {
        let _ = debouncer.watch(&dir, RecursiveMode::NonRecursive);
    }
    tokio::spawn(async move {
        let _keep_alive = &mut debouncer;
        while let Some(mut paths) = rx.recv().await {
            // Fold whatever else arrived meanwhile into this reload.
            while let Ok(more) = rx.try_recv() {
                paths.extend(more);
            }
            let homes = real_homes(&root);
            let changed: Vec<String> = paths
                .iter()
                .filter_map(|p| relevant(&root, p))
                .filter(|rel| inside(&homes, &root.join(rel)))
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            if changed.is_empty() {
                continue;
            }
            for sub in WATCHED {
                if changed.iter().any(|c| c == sub) {
                    let _ = debouncer.watch(root.join(sub), RecursiveMode::Recursive);
                }
            }
            // A folder created under server/ gets its watch (watching one twice is harmless).
            if changed
                .iter()
                .any(|c| c == "server" || c.starts_with("server/"))
            {
                for dir in server_dirs(&root) {
                    let _ = debouncer.watch(&dir, RecursiveMode::NonRecursive);
                }
            }
            reload(&snapshot, &changed).await;
        }
    });
}

/// How many changed files a reload line names.
const SHOWN_FILES: usize = 10;

/// The folders watched recursively.
const WATCHED: [&str; 3] = ["config", "app", "fdk-emu"];

/// The path relative to the app folder when it is one the app's configuration depends on.
fn relevant(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    let rel = rel.to_string_lossy().replace('\\', "/");
    let name = rel.rsplit('/').next().unwrap_or(&rel);
    // Editors' swap and backup files are not the app's files.
    if name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || name.starts_with(".#")
        || name == "4913"
    {
        return None;
    }
    let in_node_modules = rel == "server/node_modules" || rel.starts_with("server/node_modules/");
    let keep = rel == "manifest.json"
        || rel == "server"
        || (rel.starts_with("server/") && !in_node_modules)
        || WATCHED
            .iter()
            .any(|w| rel == *w || rel.strip_prefix(w).is_some_and(|r| r.starts_with('/')));
    keep.then_some(rel)
}

/// Where the app's files really are: the app folder and each watched folder, links
/// resolved. A watched folder that is itself a link (`app -> ../web/dist`) is the
/// developer's layout and counts as the app's; a link further down does not.
fn real_homes(root: &Path) -> Vec<PathBuf> {
    std::iter::once(root.to_path_buf())
        .chain(WATCHED.iter().map(|w| root.join(w)))
        .filter_map(|p| std::fs::canonicalize(p).ok())
        .collect()
}

/// Whether `path` (a changed file under the app folder) really lies in one of `homes`
/// ([`real_homes`]): its folder, every link resolved, is inside one. notify follows no links
/// here, so this drops what a link may still let through (an event for a watch added before
/// a folder was replaced by a link). A file whose folder is gone (it was deleted) counts as
/// inside: its removal is a change of the app.
fn inside(homes: &[PathBuf], path: &Path) -> bool {
    let Some(parent) = path.parent() else {
        return true;
    };
    match std::fs::canonicalize(parent) {
        Ok(real) => homes.iter().any(|h| real.starts_with(h)),
        Err(_) => true,
    }
}

/// `server/` and the folders under it, except `node_modules` (npm writes thousands of files
/// there, and the app's code is not in it). Links are not followed: a link to a folder out
/// of the app must not make fdk-emu watch (or report) files that are not the app's.
fn server_dirs(root: &Path) -> Vec<PathBuf> {
    let server = root.join("server");
    let is_real_dir = |p: &Path| std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir());
    if !is_real_dir(&server) {
        return Vec::new();
    }
    let mut out = vec![server];
    let mut i = 0;
    while i < out.len() && out.len() < 1000 {
        if let Ok(entries) = std::fs::read_dir(&out[i]) {
            for entry in entries.flatten() {
                let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
                if is_dir && entry.file_name() != "node_modules" {
                    out.push(entry.path());
                }
            }
        }
        i += 1;
    }
    out
}

/// Loads and validates the app again, offers the result to the snapshot and announces the
/// changed files.
pub async fn reload(snapshot: &Arc<Snapshot>, changed: &[String]) {
    let started = Instant::now();
    let root = snapshot.app().root.clone();
    let opts = snapshot.validate_options();
    let result = tokio::task::spawn_blocking(move || super::load_and_validate(&root, &opts)).await;
    let (loaded, report) = match result {
        Ok(Ok(pair)) => pair,
        Ok(Err(e)) => {
            say(&format!(
                "reload failed: {}; still serving the previous version\n",
                term::cut(&e.to_string(), 1000)
            ));
            return;
        }
        Err(e) => {
            say(&format!(
                "reload failed: {e}; still serving the previous version\n"
            ));
            return;
        }
    };
    let text = crate::validate::render::text(
        &report,
        Some(&loaded.app),
        crate::validate::render::use_color(std::io::IsTerminal::is_terminal(&std::io::stderr())),
    );
    let swapped = snapshot.offer(loaded.app, report.clone());
    // File names are whatever was written into the folder: shown escaped, and a burst of
    // thousands of them (a build writing into app/) as its first few.
    let shown: Vec<_> = changed
        .iter()
        .take(SHOWN_FILES)
        .map(|f| term::short(f))
        .collect();
    let mut what = shown.join(", ");
    if changed.len() > SHOWN_FILES {
        what.push_str(&format!(" and {} more", changed.len() - SHOWN_FILES));
    }
    if swapped {
        say(&format!(
            "reloaded after a change to {what} ({} ms){}\n",
            started.elapsed().as_millis(),
            if report.warnings().next().is_some() {
                ":"
            } else {
                ""
            }
        ));
        if report.warnings().next().is_some() {
            say(&text);
        }
    } else {
        say(&format!(
            "the change to {what} has errors; still serving the previous version until they are fixed:\n"
        ));
        say(&text);
    }
    for file in changed {
        snapshot.announce(Change { file: file.clone() });
    }
}

/// Writes a line for the developer to stderr. A terminal or pipe that went away is no
/// reason to stop watching (`eprintln!` would panic and end the watcher).
fn say(text: &str) {
    let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), text.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_app_files_and_the_mock_data_are_relevant_and_nothing_else() {
        let root = Path::new("/a");
        for (path, want) in [
            ("/a/manifest.json", Some("manifest.json")),
            ("/a/app/index.html", Some("app/index.html")),
            ("/a/config/iparams.json", Some("config/iparams.json")),
            (
                "/a/fdk-emu/data/freshdesk.json",
                Some("fdk-emu/data/freshdesk.json"),
            ),
            ("/a/fdk-emu", Some("fdk-emu")),
            ("/a/fdk-emulator/x", None),
            ("/a/.fdk/localstore.sqlite", None),
            ("/a/app/.index.html.swp", None),
            ("/a/server/server.js", Some("server/server.js")),
        ] {
            assert_eq!(relevant(root, Path::new(path)).as_deref(), want, "{path}");
        }
    }

    #[test]
    fn server_code_is_relevant_and_its_packages_are_not() {
        let root = Path::new("/app");
        let rel = |p: &str| relevant(root, &root.join(p));
        assert_eq!(rel("server/server.js").as_deref(), Some("server/server.js"));
        assert_eq!(
            rel("server/lib/util.js").as_deref(),
            Some("server/lib/util.js")
        );
        assert_eq!(rel("server").as_deref(), Some("server"));
        assert_eq!(rel("server/node_modules"), None);
        assert_eq!(rel("server/node_modules/axios/index.js"), None);
        assert_eq!(rel("server/.server.js.swp"), None);
        assert_eq!(rel(".fdk/localstore.sqlite"), None);
    }

    #[test]
    fn server_folders_skip_packages_and_links() {
        let tmp = tempfile::tempdir().expect("tmp");
        let root = tmp.path().join("app");
        let outside = tmp.path().join("outside");
        std::fs::create_dir_all(root.join("server/lib/deep")).expect("mkdir");
        std::fs::create_dir_all(root.join("server/node_modules/pkg")).expect("mkdir");
        std::fs::create_dir_all(outside.join("secret")).expect("mkdir");
        std::os::unix::fs::symlink(&outside, root.join("server/linked")).expect("symlink");
        let mut dirs: Vec<String> = server_dirs(&root)
            .iter()
            .map(|d| {
                d.strip_prefix(&root)
                    .expect("under root")
                    .display()
                    .to_string()
            })
            .collect();
        dirs.sort();
        assert_eq!(dirs, vec!["server", "server/lib", "server/lib/deep"]);
    }
}
