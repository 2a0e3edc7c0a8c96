//! What can go wrong with the store, worded for the person at the terminal: each message
//! names the file and says what to do. No message ever holds a secret.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "{path} is not an fdk-emu store or is damaged ({detail}). fdk-emu leaves it untouched: move it aside (e.g. `mv {path} {path}.broken`) or pass another file with --store, then run again"
    )]
    Damaged { path: PathBuf, detail: String },

    #[error(
        "{path} is locked by another program (another fdk-emu, or a SQLite browser with a write open). Close it and run again, or pass another file with --store"
    )]
    Locked { path: PathBuf },

    #[error(
        "{path} was written by a newer fdk-emu (store version {found}; this one knows up to {supported}). Upgrade fdk-emu, or pass another file with --store; the file is left untouched"
    )]
    NewerVersion {
        path: PathBuf,
        found: i64,
        supported: i64,
    },

    #[error(
        "the secrets in {path} were encrypted with another key than the one from {key_source}. Use the original key (FDK_EMU_KEY or the key file), or clear the store with `fdk-emu store reset --all --store {path}` after moving it aside"
    )]
    WrongKey { path: PathBuf, key_source: String },

    #[error(
        "a stored secret in {path} ({what}) cannot be decrypted: it was changed outside fdk-emu or written with another key. Enter it again on the setup pages, or run `fdk-emu store reset`"
    )]
    Undecryptable { path: PathBuf, what: String },

    #[error("{0}")]
    Key(String),

    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("SQLite error on {path}: {source}")]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },

    #[error(
        "a value in {path} ({what}) is not valid JSON: {detail}. Run `fdk-emu store reset` to clear it"
    )]
    BadValue {
        path: PathBuf,
        what: String,
        detail: String,
    },

    #[error(
        "{path} was deleted while fdk-emu was running and could not be written again ({detail}). This change was not saved; check that the folder can be written and restart fdk-emu"
    )]
    Deleted { path: PathBuf, detail: String },

    #[error(
        "{path} was replaced by another file while fdk-emu was running. This change was not saved, so that neither file is overwritten; restart fdk-emu to use the file now at that place"
    )]
    Replaced { path: PathBuf },

    #[error("the store worker for {path} has stopped (an earlier error ended it); restart fdk-emu")]
    Closed { path: PathBuf },
}

impl StoreError {
    /// Classifies a SQLite error the way a user needs to hear it.
    pub(crate) fn sqlite(path: &std::path::Path, e: rusqlite::Error) -> StoreError {
        use rusqlite::ffi::ErrorCode;
        let path = path.to_path_buf();
        match e.sqlite_error_code() {
            Some(ErrorCode::NotADatabase) | Some(ErrorCode::DatabaseCorrupt) => {
                StoreError::Damaged {
                    path,
                    detail: e.to_string(),
                }
            }
            Some(ErrorCode::DatabaseBusy) | Some(ErrorCode::DatabaseLocked) => {
                StoreError::Locked { path }
            }
            _ => StoreError::Sqlite { path, source: e },
        }
    }
}
