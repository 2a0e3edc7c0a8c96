//! The state file: an installation (iparams, system settings, db keys) as JSON, written by
//! `fdk-emu store export` and loaded with `--state FILE` before the server starts, so that a
//! CI job starts from a known installation.
//!
//! No secret is written: a secure iparam is named with the environment variable its value
//! comes from when the file is loaded (`secure_iparams_from_env`), which is how CI systems
//! hand out secrets. A user may still put a value into `iparams` by hand; it is then sealed
//! in the store like any secure iparam.
//!
//! ```json
//! {
//!   "fdk-emu-state": 1,
//!   "system_settings": {"subscribed_modules": ["support_ticket"], "endpoint_urls": {…}},
//!   "iparams": {"domain": "acme", "plan": "pro"},
//!   "secure_iparams_from_env": {"api_key": "FDK_EMU_IPARAM_API_KEY"},
//!   "db": [{"scope": "…", "key": "ticket:1", "value": {"seen": true}}]
//! }
//! ```

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::app::App;
use crate::store::{KvRecord, Store, StoreError};

/// The format version this build reads and writes.
pub const VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateFile {
    /// The format version; a file without it is not a state file.
    #[serde(rename = "fdk-emu-state")]
    pub version: u32,
    /// Platform 3.x system settings; absent: what is stored stays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_settings: Option<Value>,
    /// The installation parameters; absent: what is stored stays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iparams: Option<Map<String, Value>>,
    /// Secure iparams: name → the environment variable that holds the value at load time.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub secure_iparams_from_env: IndexMap<String, String>,
    /// Keys of the app's key-value store (`client.db`, `$db`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub db: Vec<DbKey>,
}

/// One key of the key-value store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DbKey {
    pub scope: String,
    pub key: String,
    pub value: Value,
    /// Unix milliseconds; absent: the key does not expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

/// Why a state file cannot be read, loaded or written. Each says which file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("--state {}: cannot read it ({source})", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "--state {}: not a state file: {message}. Write one with `fdk-emu store export --output FILE`",
        path.display()
    )]
    Format { path: PathBuf, message: String },
    #[error(
        "--state {}: \"fdk-emu-state\" is {found}, and this fdk-emu reads version {VERSION}",
        path.display()
    )]
    Version { path: PathBuf, found: u32 },
    #[error(
        "--state {}: the secure iparam '{name}' comes from the environment variable {var}, which is not set. Set it (in CI: from a secret), or remove '{name}' from secure_iparams_from_env",
        path.display()
    )]
    MissingEnv {
        path: PathBuf,
        name: String,
        var: String,
    },
    #[error(
        "--state {}: the iparam '{name}' is both in iparams and in secure_iparams_from_env; keep one",
        path.display()
    )]
    Twice { path: PathBuf, name: String },
    #[error(
        "--state {}: db key '{key}' (scope '{scope}'): the value must be a JSON object, as client.db.set stores",
        path.display()
    )]
    DbValue {
        path: PathBuf,
        scope: String,
        key: String,
    },
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// What a load did, for the start-up banner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    pub iparams: Option<usize>,
    pub secure_from_env: Vec<(String, String)>,
    pub system_settings: bool,
    pub db_keys: usize,
    /// Iparams the app's config/iparams.json does not define (loaded anyway).
    pub unknown_iparams: Vec<String>,
}

impl StateFile {
    /// Reads and checks `path`.
    pub fn read(path: &Path) -> Result<StateFile, StateError> {
        let text = std::fs::read_to_string(path).map_err(|source| StateError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    fn parse(text: &str, path: &Path) -> Result<StateFile, StateError> {
        let format = |message: String| StateError::Format {
            path: path.to_path_buf(),
            message,
        };
        let v: Value = serde_json::from_str(text).map_err(|e| format(e.to_string()))?;
        match v.get("fdk-emu-state").map(|n| n.as_u64()) {
            None => return Err(format("it has no \"fdk-emu-state\": 1".into())),
            Some(Some(n)) if n == u64::from(VERSION) => {}
            Some(Some(n)) => {
                return Err(StateError::Version {
                    path: path.to_path_buf(),
                    found: u32::try_from(n).unwrap_or(u32::MAX),
                });
            }
            Some(None) => return Err(format("\"fdk-emu-state\" must be the number 1".into())),
        }
        let file: StateFile = serde_json::from_value(v).map_err(|e| format(e.to_string()))?;
        if let Some(iparams) = &file.iparams
            && let Some(name) = file
                .secure_iparams_from_env
                .keys()
                .find(|k| iparams.contains_key(*k))
        {
            return Err(StateError::Twice {
                path: path.to_path_buf(),
                name: name.clone(),
            });
        }
        Ok(file)
    }

    /// Loads the file into `store` for `app`: system settings and iparams replace what is
    /// stored (when the file has them); secure iparams are read from their environment
    /// variables, all of them before anything is written, so a missing one changes nothing.
    pub async fn load(
        &self,
        path: &Path,
        store: &Store,
        app: &App,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Loaded, StateError> {
        // Checked before anything is written, like the environment variables below.
        if let Some(k) = self.db.iter().find(|k| !k.value.is_object()) {
            return Err(StateError::DbValue {
                path: path.to_path_buf(),
                scope: crate::term::cut(&k.scope, 64).into_owned(),
                key: crate::term::cut(&k.key, 64).into_owned(),
            });
        }
        let mut secure = app.iparams.secure_names();
        let mut iparams = self.iparams.clone();
        let mut from_env = Vec::new();
        for (name, var) in &self.secure_iparams_from_env {
            let Some(value) = env(var) else {
                return Err(StateError::MissingEnv {
                    path: path.to_path_buf(),
                    name: name.clone(),
                    var: var.clone(),
                });
            };
            iparams
                .get_or_insert_with(Map::new)
                .insert(name.clone(), Value::String(value));
            if !secure.contains(name) {
                secure.push(name.clone());
            }
            from_env.push((name.clone(), var.clone()));
        }
        // Only iparams.json names its fields; an iparams.html page stores what it likes.
        let unknown_iparams = match (app.iparams.fields(), &iparams) {
            (Some(fields), Some(values)) => values
                .keys()
                .filter(|k| !fields.contains_key(*k))
                .cloned()
                .collect(),
            _ => Vec::new(),
        };
        if let Some(settings) = &self.system_settings {
            store.set_system_settings(settings.clone()).await?;
        }
        let count = iparams.as_ref().map(Map::len);
        if let Some(values) = iparams {
            store.set_iparams(values, &secure).await?;
        }
        if !self.db.is_empty() {
            let now = crate::store::now_ms();
            let records = self
                .db
                .iter()
                .map(|k| KvRecord {
                    scope: k.scope.clone(),
                    key: k.key.clone(),
                    value: k.value.to_string(),
                    created_at: now,
                    updated_at: now,
                    expires_at: k.expires_at,
                })
                .collect();
            store.kv_import(records).await?;
        }
        Ok(Loaded {
            iparams: count,
            secure_from_env: from_env,
            system_settings: self.system_settings.is_some(),
            db_keys: self.db.len(),
            unknown_iparams,
        })
    }

    /// The installation in `store`, without the values of secure iparams (by the store's
    /// flag, or by the app's config/iparams.json when `app` is given): each is named with
    /// the environment variable [`env_name`] suggests.
    pub async fn export(store: &Store, app: Option<&App>) -> Result<StateFile, StoreError> {
        let system_settings = store.system_settings().await?;
        let mut secure = store.secure_iparam_names().await?;
        if let Some(app) = app {
            for name in app.iparams.secure_names() {
                if !secure.contains(&name) {
                    secure.push(name);
                }
            }
        }
        let mut secure_iparams_from_env = IndexMap::new();
        let iparams = store.iparams().await?.map(|values| {
            values
                .into_iter()
                .filter(|(k, _)| {
                    let is_secure = secure.contains(k);
                    if is_secure {
                        secure_iparams_from_env.insert(k.clone(), env_name(k));
                    }
                    !is_secure
                })
                .collect()
        });
        let db = store
            .kv_list(crate::store::now_ms())
            .await?
            .into_iter()
            .map(|r| DbKey {
                // The store holds what the kv core checked; a value that does not parse
                // (written by hand into the SQLite file) is kept as its text.
                value: serde_json::from_str(&r.value).unwrap_or(Value::String(r.value)),
                scope: r.scope,
                key: r.key,
                expires_at: r.expires_at,
            })
            .collect();
        Ok(StateFile {
            version: VERSION,
            system_settings,
            iparams,
            secure_iparams_from_env,
            db,
        })
    }

    /// A state file that changes nothing (`store export` before anything is stored).
    pub fn empty() -> StateFile {
        StateFile {
            version: VERSION,
            system_settings: None,
            iparams: None,
            secure_iparams_from_env: IndexMap::new(),
            db: Vec::new(),
        }
    }
}

/// The environment variable suggested for a secure iparam: `FDK_EMU_IPARAM_` and the name in
/// upper case, anything but letters and digits as `_` (`api-key` → `FDK_EMU_IPARAM_API_KEY`).
pub fn env_name(iparam: &str) -> String {
    let mut out = String::from("FDK_EMU_IPARAM_");
    out.extend(iparam.chars().map(|c| {
        if c.is_ascii_alphanumeric() {
            c.to_ascii_uppercase()
        } else {
            '_'
        }
    }));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<StateFile, StateError> {
        StateFile::parse(text, Path::new("s.json"))
    }

    #[test]
    fn reads_a_file_and_says_what_is_wrong() {
        let f =
            parse(r#"{"fdk-emu-state":1,"iparams":{"a":"b"},"secure_iparams_from_env":{"k":"K"}}"#)
                .expect("valid");
        assert_eq!(f.iparams.map(|m| m.len()), Some(1));
        let msg = |t: &str| parse(t).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            msg("{").contains("s.json: not a state file"),
            "{}",
            msg("{")
        );
        assert!(msg("{}").contains("no \"fdk-emu-state\""));
        assert!(msg(r#"{"fdk-emu-state":2}"#).contains("reads version 1"));
        assert!(msg(r#"{"fdk-emu-state":1,"iparam":{}}"#).contains("unknown field `iparam`"));
        assert!(
            msg(r#"{"fdk-emu-state":1,"iparams":{"k":1},"secure_iparams_from_env":{"k":"K"}}"#)
                .contains("'k' is both")
        );
    }

    #[test]
    fn environment_names() {
        assert_eq!(env_name("api-key"), "FDK_EMU_IPARAM_API_KEY");
        assert_eq!(env_name("token2"), "FDK_EMU_IPARAM_TOKEN2");
    }
}
