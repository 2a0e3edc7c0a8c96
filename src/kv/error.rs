//! What a key-value call can fail with, as the platform answers it.
//!
//! Each error has the platform's HTTP status and `message`, word for word where the platform
//! (or FDK, which answers for it locally) is known to say it: apps test them, e.g.
//! `error.message === "The setIf conditional request failed"`. What fdk-emu has to add (which
//! attribute, which limit, how to fix it) goes into a separate `detail`, so that an app
//! comparing the message behaves as it will in production.

use std::fmt;

use super::path::PathError;

/// The update types of `client.db.update` / `$db.update`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateKind {
    Set,
    Append,
    Increment,
    Remove,
}

impl UpdateKind {
    pub fn as_str(self) -> &'static str {
        match self {
            UpdateKind::Set => "set",
            UpdateKind::Append => "append",
            UpdateKind::Increment => "increment",
            UpdateKind::Remove => "remove",
        }
    }
}

impl fmt::Display for UpdateKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the numbers of the limits come from, for the messages.
pub const LIMITS_SOURCE: &str =
    "platform docs, Key-value storage; start fdk-emu with --no-db-limits to lift it locally";

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum KvError {
    /// The call itself is malformed (no `dbKey`, an unknown action, a `ttl` that is not a
    /// number…). The message says what and how to fix it.
    #[error("{0}")]
    BadRequest(String),

    #[error("Record not found")]
    NotFound {
        key: String,
        scope: String,
        /// Other products that hold a key of this name.
        elsewhere: Vec<String>,
    },

    #[error("The setIf conditional request failed")]
    ConditionFailed {
        key: String,
        /// `true` for `setIf: "exist"` (the key was missing), `false` for `"not_exist"`.
        wanted_existing: bool,
    },

    #[error("The key should not be blank and its length should not exceed {limit} characters")]
    BadKey { key: String, limit: usize },

    #[error("The value should be of type JSON and not blank or empty \"{{}}\"")]
    BadValue { found: String },

    #[error("Item size exceeded the maximum limit of {} KB", .limit / 1024)]
    TooLarge { bytes: usize, limit: usize },

    #[error("Nesting Levels have exceeded supported limits")]
    TooDeep { depth: usize, limit: usize },

    /// `increment` of something that is not a number, `append` to something that is not an
    /// array. FDK's message.
    #[error("Mandatory attributes missing")]
    WrongType {
        kind: UpdateKind,
        attribute: String,
        found: &'static str,
    },

    #[error("One or more paths in the attributes are invalid or overlapping with each other")]
    InvalidPath { kind: UpdateKind, error: PathError },

    #[error("The specified key for remove operation does not exist in the data store")]
    RemoveMissingKey { key: String },

    #[error("Rate limit exceeded")]
    RateLimited { limit: usize, wait_s: u64 },

    /// The store failed (locked, damaged, stopped); its message names the file.
    #[error("{0}")]
    Store(String),
}

impl KvError {
    /// The HTTP status the platform answers with.
    pub fn status(&self) -> u16 {
        match self {
            KvError::NotFound { .. } => 404,
            KvError::RateLimited { .. } => 429,
            KvError::Store(_) => 500,
            _ => 400,
        }
    }

    /// What fdk-emu adds to the platform's message: the specifics and the fix.
    pub fn detail(&self) -> Option<String> {
        let text = match self {
            KvError::BadRequest(_) | KvError::Store(_) => return None,
            KvError::NotFound {
                key,
                scope,
                elsewhere,
            } => {
                if elsewhere.is_empty() {
                    return None;
                }
                format!(
                    "the key {key:?} is stored for {} but this call reads the keys of {scope}: in production each product keeps its own keys, and a module of one product cannot read what a module of another product stored. Store it from {scope} too, or keep shared data outside the key-value store",
                    elsewhere.join(", ")
                )
            }
            KvError::ConditionFailed {
                key,
                wanted_existing,
            } => {
                if *wanted_existing {
                    format!("setIf \"exist\": the key {key:?} does not exist")
                } else {
                    format!("setIf \"not_exist\": the key {key:?} already exists")
                }
            }
            KvError::BadKey { key, limit } => {
                if key.trim().is_empty() {
                    "the key is blank".to_string()
                } else {
                    format!(
                        "the key has {} characters, {} more than the {limit} allowed ({LIMITS_SOURCE})",
                        key.chars().count(),
                        key.chars().count().saturating_sub(*limit)
                    )
                }
            }
            KvError::BadValue { found } => format!(
                "the value must be a JSON object with at least one attribute, e.g. {{\"ticketId\": 42}}; got {found}"
            ),
            KvError::TooLarge { bytes, limit } => format!(
                "the key and the value take {bytes} bytes (as JSON), more than the {limit} bytes allowed ({LIMITS_SOURCE})"
            ),
            KvError::TooDeep { depth, limit } => format!(
                "the value nests {depth} levels of objects and arrays, more than the {limit} allowed ({LIMITS_SOURCE})"
            ),
            KvError::WrongType {
                kind,
                attribute,
                found,
            } => match kind {
                UpdateKind::Increment => format!(
                    "increment: the attribute {attribute:?} holds {found}; increment adds to numbers only"
                ),
                _ => format!(
                    "append: the attribute {attribute:?} holds {found}; append adds to arrays only"
                ),
            },
            KvError::InvalidPath { kind, error } => {
                format!("{kind}: the path {:?}: {}", error.path, error.reason)
            }
            KvError::RemoveMissingKey { key } => {
                format!("remove: there is no key {key:?} to remove attributes from")
            }
            KvError::RateLimited { limit, wait_s } => format!(
                "more than {limit} key-value requests (client.db and $db together) in the last minute; the platform allows {limit} a minute per app. A slot frees up in {wait_s} s; start fdk-emu with --no-rate-limit to switch the limit off locally"
            ),
        };
        Some(text)
    }

    /// The answer body: `{"status", "message"[, "detail"]}`, FDK's error shape plus the detail.
    pub fn body(&self) -> serde_json::Value {
        let mut body = serde_json::json!({
            "status": self.status(),
            "message": self.to_string(),
        });
        if let (Some(d), Some(o)) = (self.detail(), body.as_object_mut()) {
            o.insert("detail".into(), d.into());
        }
        body
    }
}

impl From<crate::store::StoreError> for KvError {
    fn from(e: crate::store::StoreError) -> KvError {
        KvError::Store(e.to_string())
    }
}
