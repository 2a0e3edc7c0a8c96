//! Encryption of secret columns: XChaCha20-Poly1305 (the ChaCha20-Poly1305 AEAD with a
//! 192-bit nonce) from RustCrypto's `chacha20poly1305`.
//!
//! Why the X variant: every write draws a fresh random nonce, and 192 random bits never
//! collide in practice, where 96 bits would need a counter to be safe over a long life.
//! Each sealed value is bound to where it is stored (`aad`, e.g. `iparam:api_token`), so a
//! ciphertext copied into another row or column fails to open instead of leaking into the
//! wrong place.
//!
//! Layout of a sealed value: `version byte (1) ‖ nonce (24) ‖ ciphertext+tag`.

use std::io::Write;
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};

use super::StoreError;

const FORMAT: u8 = 1;
const NONCE_LEN: usize = 24;

/// Environment variable holding the key as 64 hex characters.
pub const KEY_ENV: &str = "FDK_EMU_KEY";

/// The 32-byte key and where it came from (for error messages; never the key itself).
#[derive(Clone)]
pub struct Cipher {
    aead: XChaCha20Poly1305,
    pub source: String,
}

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cipher")
            .field("source", &self.source)
            .finish()
    }
}

impl Cipher {
    pub fn new(key: [u8; 32], source: impl Into<String>) -> Cipher {
        Cipher {
            aead: XChaCha20Poly1305::new(&Key::from(key)),
            source: source.into(),
        }
    }

    /// Encrypts `plain` for the place named `aad`, with a fresh random nonce.
    pub fn seal(&self, aad: &str, plain: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::fill(&mut nonce[..]);
        let sealed = self
            .aead
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plain,
                    aad: aad.as_bytes(),
                },
            )
            // Encryption fails only for messages beyond 256 GiB.
            .unwrap_or_default();
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(FORMAT);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Decrypts what [`seal`](Self::seal) produced for the same `aad`; `None` when the key,
    /// the place or the bytes differ.
    pub fn open(&self, aad: &str, sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < 1 + NONCE_LEN || sealed[0] != FORMAT {
            return None;
        }
        let nonce: [u8; NONCE_LEN] = sealed[1..1 + NONCE_LEN].try_into().ok()?;
        self.aead
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: &sealed[1 + NONCE_LEN..],
                    aad: aad.as_bytes(),
                },
            )
            .ok()
    }
}

/// Parses 64 hex characters (surrounding whitespace allowed).
pub fn parse_hex_key(text: &str) -> Option<[u8; 32]> {
    let t = text.trim();
    if t.len() != 64 || !t.is_ascii() {
        return None;
    }
    let mut key = [0u8; 32];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&t[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(key)
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The default key file: `<config dir>/fdk-emu/key` (e.g. `~/.config/fdk-emu/key`), outside
/// every app folder so that it is never committed with the store.
pub fn default_key_file() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join("fdk-emu").join("key"))
}

/// The key from `FDK_EMU_KEY`, else from the key file (created on first use, mode 0600).
pub fn load_key() -> Result<Cipher, StoreError> {
    if let Ok(v) = std::env::var(KEY_ENV) {
        let key = parse_hex_key(&v).ok_or_else(|| {
            StoreError::Key(format!(
                "{KEY_ENV} must be 64 hex characters (32 bytes), e.g. the output of `openssl rand -hex 32`; unset it to use the key file"
            ))
        })?;
        return Ok(Cipher::new(
            key,
            format!("the {KEY_ENV} environment variable"),
        ));
    }
    let path = default_key_file().ok_or_else(|| {
        StoreError::Key(format!(
            "no user config folder is known on this system to keep the store key in; set {KEY_ENV} to 64 hex characters (e.g. `export {KEY_ENV}=$(openssl rand -hex 32)`)"
        ))
    })?;
    let key = load_or_create_key_file(&path)?;
    Ok(Cipher::new(key, format!("the key file {}", path.display())))
}

/// Reads the key file, or creates it with a fresh random key when it does not exist.
pub fn load_or_create_key_file(path: &Path) -> Result<[u8; 32], StoreError> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse_hex_key(&text).ok_or_else(|| {
            StoreError::Key(format!(
                "the key file {} does not hold 64 hex characters. If you still have the original key, put it back; otherwise move the file aside (fdk-emu creates a new key) and reset the store with `fdk-emu store reset --all`",
                path.display()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_key_file(path),
        Err(e) => Err(StoreError::Io {
            action: "read the key file",
            path: path.to_path_buf(),
            source: e,
        }),
    }
}

fn create_key_file(path: &Path) -> Result<[u8; 32], StoreError> {
    let io = |action, e| StoreError::Io {
        action,
        path: path.to_path_buf(),
        source: e,
    };
    if let Some(dir) = path.parent() {
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        b.create(dir)
            .map_err(|e| io("create the folder of the key file", e))?;
    }
    let mut key = [0u8; 32];
    rand::fill(&mut key[..]);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    match opts.open(path) {
        Ok(mut f) => {
            f.write_all(format!("{}\n", to_hex(&key)).as_bytes())
                .and_then(|_| f.sync_all())
                .map_err(|e| io("write the key file", e))?;
            Ok(key)
        }
        // Another fdk-emu created it a moment ago: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let text = std::fs::read_to_string(path).map_err(|e| io("read the key file", e))?;
            parse_hex_key(&text).ok_or_else(|| {
                StoreError::Key(format!(
                    "the key file {} is being written by another program; run again",
                    path.display()
                ))
            })
        }
        Err(e) => Err(io("create the key file", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_fresh_nonce() {
        let c = Cipher::new([7; 32], "test");
        let a = c.seal("iparam:x", b"hello");
        let b = c.seal("iparam:x", b"hello");
        assert_ne!(a, b, "each write draws a fresh nonce");
        assert_eq!(c.open("iparam:x", &a).as_deref(), Some(&b"hello"[..]));
        assert_eq!(c.open("iparam:y", &a), None, "bound to its place");
        assert_eq!(Cipher::new([8; 32], "other").open("iparam:x", &a), None);
        assert_eq!(c.open("iparam:x", &a[..10]), None);
    }

    #[test]
    fn hex_keys() {
        let hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        assert_eq!(
            parse_hex_key(hex).map(|k| to_hex(&k)),
            Some(hex.to_string())
        );
        assert_eq!(parse_hex_key(&hex[2..]), None);
        assert_eq!(parse_hex_key(&hex.replace('0', "g")), None);
    }

    #[test]
    fn key_file_is_created_once_with_mode_0600() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("cfg").join("key");
        let k1 = load_or_create_key_file(&path).expect("create");
        let k2 = load_or_create_key_file(&path).expect("read");
        assert_eq!(k1, k2);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
