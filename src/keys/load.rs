//! Where the server's keys come from: a key ring, a configured private key or HS256 secret,
//! or, in development, keys generated once into the data directory and kept. In production
//! every key must be strong, and the error says how to make one.

use std::path::{Path, PathBuf};

use super::{Key, KeyAlgorithm, KeyError, KeySet, Keyring, KeyringError};
use crate::files::write_private_file;

/// The name of the development HS256 key file inside the data directory.
pub const DEV_KEY_FILE: &str = "dev-signing-key";

/// The development key pair file for an algorithm, inside the data directory.
pub fn dev_private_key_file(algorithm: KeyAlgorithm) -> String {
    format!("dev-{}-key.pem", algorithm.as_str().to_ascii_lowercase())
}

/// Everything that can name a key, as the configuration gives it (paths already absolute).
#[derive(Debug, Clone)]
pub struct KeySources {
    /// The algorithm of a configured or generated private key.
    pub algorithm: KeyAlgorithm,
    pub signing_key: Option<String>,
    pub signing_key_file: Option<PathBuf>,
    pub private_key: Option<String>,
    pub private_key_file: Option<PathBuf>,
    pub keys_dir: Option<PathBuf>,
    /// Where development keys are kept.
    pub data_dir: PathBuf,
    /// Development creates missing keys and tolerates weak ones; production refuses both.
    pub development: bool,
}

/// Why no usable key could be loaded. Each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(
        "no signing key. In production set JWT_SIGNING_KEY, or JWT_SIGNING_KEY_FILE to a file holding \
         the key: at least 32 random bytes, e.g. the output of `openssl rand -hex 32`"
    )]
    MissingKey,
    #[error(
        "no {0} private key. In production set JWT_PRIVATE_KEY_FILE to a PEM file (make one with \
         `jwt-workbook key generate --algorithm {0}`), or JWT_PRIVATE_KEY to its text, or use a \
         key ring (JWT_KEYS_DIR)"
    )]
    MissingPrivateKey(KeyAlgorithm),
    #[error(
        "refusing to start in production with this signing key: {0}. Generate one with `openssl rand -hex 32`"
    )]
    WeakKey(String),
    #[error("the private key {}: {source}", path.as_ref().map_or("from JWT_PRIVATE_KEY".into(), |p| p.display().to_string()))]
    PrivateKey {
        path: Option<PathBuf>,
        source: KeyError,
    },
    #[error(
        "the key ring {0} has no keys: create the first with `jwt-workbook key rotate --keys-dir {0} --algorithm ES256`"
    )]
    EmptyKeyring(String),
    #[error(transparent)]
    Keyring(#[from] KeyringError),
    #[error("the signing key file {path} cannot be read: {source}")]
    KeyFile {
        path: PathBuf,
        source: std::io::Error,
    },
}

// ANCHOR: load_keys
/// The keys, from the first of these that is configured:
/// - a key ring (`--keys-dir`): its newest key signs, all verify;
/// - for RS256, ES256 or EdDSA, the private key from `JWT_PRIVATE_KEY(_FILE)`, or in
///   development a key pair generated once into the data directory;
/// - for HS256, the secret from `JWT_SIGNING_KEY(_FILE)`, or in development a random secret
///   kept in the data directory, so tokens survive a restart.
///
/// A configured HS256 secret that does not sign still verifies tokens without a `kid`, so
/// moving from simplejwt to key pairs logs nobody out. In production every secret must be strong.
pub fn load_keys(sources: &KeySources) -> Result<KeySet, LoadError> {
    let mut secret = configured_secret(sources)?;
    let mut keys = if let Some(dir) = &sources.keys_dir {
        let ring = Keyring::at(dir).load()?;
        if ring.is_empty() {
            return Err(LoadError::EmptyKeyring(dir.display().to_string()));
        }
        ring
    } else if sources.algorithm.is_asymmetric() {
        vec![private_key(sources)?]
    } else {
        match secret.take() {
            Some(secret) => vec![secret],
            None if sources.development => vec![dev_secret(&sources.data_dir)?],
            None => return Err(LoadError::MissingKey),
        }
    };
    keys.extend(secret);
    for key in &keys {
        match (sources.development, key.weakness()) {
            (false, Some(weakness)) => return Err(LoadError::WeakKey(weakness)),
            (true, Some(weakness)) => {
                tracing::warn!("the signing key would be refused in production: {weakness}");
            }
            (_, None) => {}
        }
    }
    Ok(KeySet::new(keys).expect("every branch above yields a key"))
}
// ANCHOR_END: load_keys

/// The simplejwt-compatible HS256 secret, if one is configured.
fn configured_secret(sources: &KeySources) -> Result<Option<Key>, LoadError> {
    if let Some(key) = &sources.signing_key {
        return Ok(Some(Key::hs256(key.as_bytes())));
    }
    sources
        .signing_key_file
        .as_deref()
        .map(read_secret_file)
        .transpose()
}

fn private_key(sources: &KeySources) -> Result<Key, LoadError> {
    let algorithm = sources.algorithm;
    let (pem, path) = if let Some(pem) = &sources.private_key {
        (pem.clone(), None)
    } else if let Some(path) = &sources.private_key_file {
        (read_file(path)?, Some(path.clone()))
    } else if sources.development {
        let path = sources.data_dir.join(dev_private_key_file(algorithm));
        if !path.exists() {
            let (_, pem) = Key::generate(algorithm).map_err(|source| LoadError::PrivateKey {
                path: Some(path.clone()),
                source,
            })?;
            write_private_file(&path, &pem).map_err(|source| LoadError::KeyFile {
                path: path.clone(),
                source,
            })?;
        }
        (read_file(&path)?, Some(path))
    } else {
        return Err(LoadError::MissingPrivateKey(algorithm));
    };
    Key::from_pem(algorithm, &pem, None).map_err(|source| LoadError::PrivateKey { path, source })
}

fn dev_secret(data_dir: &Path) -> Result<Key, LoadError> {
    let path = data_dir.join(DEV_KEY_FILE);
    if !path.exists() {
        write_private_file(&path, &super::generate_hex_secret()).map_err(|source| {
            LoadError::KeyFile {
                path: path.clone(),
                source,
            }
        })?;
    }
    read_secret_file(&path)
}

fn read_secret_file(path: &Path) -> Result<Key, LoadError> {
    // Editors and `echo` add a newline; it is never part of the key.
    Ok(Key::hs256(
        read_file(path)?.trim_end_matches(['\r', '\n']).as_bytes(),
    ))
}

fn read_file(path: &Path) -> Result<String, LoadError> {
    std::fs::read_to_string(path).map_err(|source| LoadError::KeyFile {
        path: path.to_owned(),
        source,
    })
}
