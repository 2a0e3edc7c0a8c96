//! The app on disk: loading `manifest.json`, `config/*.json` and the presence of
//! `config/iparams.html` into one immutable [`App`] snapshot.
//!
//! Loading never fails on content: a file that does not parse is kept as text (for the
//! report) and reported as a [`ParseFailure`]; typed models are read leniently, and every
//! problem of shape or meaning is left to [`crate::validate`]. Only an app folder that cannot
//! be read at all is an error.

pub mod iparams;
pub mod manifest;
pub mod oauth_config;
pub mod product;
pub mod requests;
pub mod source;

use std::path::{Path, PathBuf};

use indexmap::IndexMap;

pub use iparams::{IparamField, IparamType, IparamsPage};
pub use manifest::{Event, Function, Generation, Manifest, SMI_TIMEOUTS};
pub use oauth_config::{Integration, OAuthConfig, TokenType};
pub use product::Product;
pub use requests::RequestTemplate;
pub use source::{ParseFailure, SourceFile};

pub const MANIFEST: &str = "manifest.json";
pub const REQUESTS: &str = "config/requests.json";
pub const OAUTH_CONFIG: &str = "config/oauth_config.json";
pub const IPARAMS_JSON: &str = "config/iparams.json";
pub const IPARAMS_HTML: &str = "config/iparams.html";
pub const SERVER_JS: &str = "server/server.js";

/// The app folder cannot be read at all (exit code 2 of `validate`).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(
        "the app folder {0} does not exist; pass the folder that holds manifest.json with --app-dir"
    )]
    NotFound(PathBuf),
    #[error("{0} is not a folder; pass the folder that holds manifest.json with --app-dir")]
    NotADirectory(PathBuf),
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// One consistent reading of the app's files. Immutable; the watcher swaps in a new one.
#[derive(Debug, Clone)]
pub struct App {
    pub root: PathBuf,
    /// The app folder's name, as FDK shows it (`displayName`).
    pub name: String,
    pub manifest_file: Option<SourceFile>,
    pub requests_file: Option<SourceFile>,
    pub oauth_file: Option<SourceFile>,
    pub iparams_file: Option<SourceFile>,
    pub has_iparams_html: bool,
    /// Whether `server/server.js` exists: the app has serverless code, run by Node.
    pub has_server_js: bool,
    pub manifest: Manifest,
    pub templates: IndexMap<String, RequestTemplate>,
    pub oauth: Option<OAuthConfig>,
    pub iparams: IparamsPage,
}

/// An app and the files of it that are not valid JSON.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub app: App,
    pub parse_failures: Vec<(String, ParseFailure)>,
}

impl App {
    /// The configuration files that exist, in report order.
    pub fn files(&self) -> impl Iterator<Item = &SourceFile> {
        [
            &self.manifest_file,
            &self.requests_file,
            &self.oauth_file,
            &self.iparams_file,
        ]
        .into_iter()
        .flatten()
    }

    /// The file with this relative path, if the app has it.
    pub fn file(&self, rel_path: &str) -> Option<&SourceFile> {
        self.files().find(|f| f.rel_path == rel_path)
    }

    /// The app's front-end folder.
    pub fn app_dir(&self) -> PathBuf {
        self.root.join("app")
    }

    /// The app's serverless folder (`server.js`, its modules, `node_modules`).
    pub fn server_dir(&self) -> PathBuf {
        self.root.join("server")
    }
}

/// Reads the app in `root`.
pub fn load(root: &Path) -> Result<Loaded, LoadError> {
    let meta = std::fs::metadata(root).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => LoadError::NotFound(root.to_path_buf()),
        _ => LoadError::Io {
            path: root.to_path_buf(),
            source: e,
        },
    })?;
    if !meta.is_dir() {
        return Err(LoadError::NotADirectory(root.to_path_buf()));
    }
    let root = std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf());
    let mut parse_failures = Vec::new();
    let mut read = |rel: &str| -> Result<Option<SourceFile>, LoadError> {
        let path = root.join(rel);
        match std::fs::read(&path) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes).into_owned();
                let (file, failure) = SourceFile::parse(rel, text);
                if let Some(f) = failure {
                    parse_failures.push((rel.to_string(), f));
                }
                Ok(Some(file))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            // A folder where a file should be is the user's problem to see, not a crash.
            Err(e) if path.is_dir() => {
                parse_failures.push((
                    rel.to_string(),
                    ParseFailure {
                        message: format!("{rel} is a folder, not a file ({e})"),
                        line: 1,
                        column: 1,
                    },
                ));
                Ok(None)
            }
            Err(e) => Err(LoadError::Io { path, source: e }),
        }
    };
    let manifest_file = read(MANIFEST)?;
    let requests_file = read(REQUESTS)?;
    let oauth_file = read(OAUTH_CONFIG)?;
    let iparams_file = read(IPARAMS_JSON)?;
    let has_iparams_html = root.join(IPARAMS_HTML).is_file();
    let has_server_js = root.join(SERVER_JS).is_file();

    let manifest = Manifest::from_value(manifest_file.as_ref().and_then(|f| f.value.as_ref()));
    let templates =
        requests::templates_from_value(requests_file.as_ref().and_then(|f| f.value.as_ref()));
    let oauth = oauth_file
        .as_ref()
        .and_then(|f| f.value.as_ref())
        .and_then(OAuthConfig::from_value);
    let iparams = match (&iparams_file, has_iparams_html) {
        (Some(f), _) => {
            let mut fields = iparams::fields_from_value(f.value.as_ref());
            if manifest.generation == Generation::V2 {
                let products: Vec<String> =
                    manifest.modules.iter().map(|m| m.name.clone()).collect();
                iparams::resolve_current_product(&mut fields, &products);
            }
            IparamsPage::Json { fields }
        }
        (None, true) => IparamsPage::Html,
        (None, false) => IparamsPage::None,
    };
    let name = root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "app".to_string());
    Ok(Loaded {
        app: App {
            root,
            name,
            manifest_file,
            requests_file,
            oauth_file,
            iparams_file,
            has_iparams_html,
            has_server_js,
            manifest,
            templates,
            oauth,
            iparams,
        },
        parse_failures,
    })
}

/// Builds a JSON pointer from already-known tokens (escaping each).
pub fn pointer<S: AsRef<str>>(tokens: &[S]) -> String {
    let mut out = String::new();
    for t in tokens {
        out.push('/');
        out.push_str(&manifest::escape(t.as_ref()));
    }
    out
}
