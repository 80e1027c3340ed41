//! The key ring on disk: a directory of keys and a `keyring.toml` that lists them newest first.
//! Every listed key verifies and is published; the newest key whose activation time has come
//! signs. Rotating adds a new newest key that signs only after a delay, once every instance and
//! every cached JWK Set has it; retiring removes an old one once no token it signed can still be
//! valid.
//!
//! ```text
//! keys/
//!   keyring.toml        [[key]] kid, algorithm, created_at, activates_at   (newest first)
//!   <kid>.pem           a key pair's private key (PKCS#8 PEM)
//!   <kid>.key           an HS256 secret (64 hex characters)
//! ```
//!
//! File names come from `kid`s, which must be made of base64url characters only: a `kid` can
//! never name a path outside the directory.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Key, KeyAlgorithm, KeyError};
use crate::files::write_private_file;

/// The manifest's file name inside the key ring directory.
pub const MANIFEST: &str = "keyring.toml";

/// One key of the ring, as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub kid: String,
    pub algorithm: String,
    /// When it was created (seconds since the epoch).
    pub created_at: i64,
    /// When it starts signing; until then it only verifies and is published. Absent in rings
    /// written before staged rotation: such a key signed from its creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activates_at: Option<i64>,
}

impl Entry {
    /// From when the key signs.
    pub fn activation(&self) -> i64 {
        self.activates_at.unwrap_or(self.created_at)
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Manifest {
    #[serde(default, rename = "key")]
    keys: Vec<Entry>,
}

/// What went wrong with the key ring. Each message says where and what to do.
#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a key ring manifest: {reason}")]
    Manifest { path: PathBuf, reason: String },
    #[error("the key ring lists {kid:?}, which is not a key id (only A-Z, a-z, 0-9, - and _)")]
    BadKid { kid: String },
    #[error("key {kid} ({path}): {source}")]
    Key {
        kid: String,
        path: PathBuf,
        source: KeyError,
    },
    #[error("the key ring {dir} has no key {kid:?}; `key list` shows the ones it has")]
    UnknownKid { dir: PathBuf, kid: String },
    #[error(
        "{kid} is the key that signs new tokens; rotate first (`key rotate`), then retire it \
         once the tokens it signed have expired"
    )]
    RetiringSigningKey { kid: String },
    #[error(
        "tokens {kid} signed can be valid until {} (it stopped signing at {}, and a token lives \
         up to {lifetime} s); retire it then, or now with --force if the key leaked: the tokens \
         it signed stop working at once and their users log in again",
        crate::clock::utc_date_time(*until),
        crate::clock::utc_date_time(*stopped),
    )]
    StillInUse {
        kid: String,
        stopped: i64,
        until: i64,
        lifetime: i64,
    },
    #[error(transparent)]
    Generation(#[from] KeyError),
}

/// A key ring directory.
#[derive(Debug, Clone)]
pub struct Keyring {
    dir: PathBuf,
}

impl Keyring {
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The keys as listed, newest first; empty when the ring does not exist yet.
    pub fn entries(&self) -> Result<Vec<Entry>, KeyringError> {
        let path = self.dir.join(MANIFEST);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(KeyringError::Io { path, source }),
        };
        let manifest: Manifest = toml::from_str(&text).map_err(|e| KeyringError::Manifest {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        for entry in &manifest.keys {
            check_kid(&entry.kid)?;
        }
        Ok(manifest.keys)
    }

    /// Every key of the ring, newest first, each with its activation time.
    pub fn load(&self) -> Result<Vec<Key>, KeyringError> {
        self.entries()?
            .iter()
            .map(|entry| Ok(self.load_entry(entry)?.activating_at(entry.activation())))
            .collect()
    }

    /// Adds a new key of `algorithm`, published at once and signing `delay` seconds from `now`
    /// (at once if the ring is empty: a ring's first key has nobody to wait for). The older
    /// keys stay, to verify.
    // ANCHOR: rotate
    pub fn rotate(
        &self,
        algorithm: KeyAlgorithm,
        now: i64,
        delay: i64,
    ) -> Result<Key, KeyringError> {
        let mut keys = self.entries()?;
        let activates_at = if keys.is_empty() {
            now
        } else {
            now + delay.max(0)
        };
        let (key, text) = Key::generate(algorithm)?;
        std::fs::create_dir_all(&self.dir).map_err(|source| KeyringError::Io {
            path: self.dir.clone(),
            source,
        })?;
        let path = self.key_path(key.kid(), algorithm);
        write_private_file(&path, &text).map_err(|source| KeyringError::Io { path, source })?;
        keys.insert(
            0,
            Entry {
                kid: key.kid().to_owned(),
                algorithm: algorithm.as_str().to_owned(),
                created_at: now,
                activates_at: Some(activates_at),
            },
        );
        self.write_manifest(keys)?;
        Ok(key.activating_at(activates_at))
    }
    // ANCHOR_END: rotate

    /// Removes a key: tokens it signed stop verifying. The key signing at `now` cannot be
    /// retired; a key that never signed can be at once; any other only once every token it
    /// signed has expired (`lifetime` seconds after a newer key took over), unless `force`
    /// (a leaked key must go at once, whatever it logs out).
    pub fn retire(
        &self,
        kid: &str,
        now: i64,
        lifetime: i64,
        force: bool,
    ) -> Result<Entry, KeyringError> {
        let mut keys = self.entries()?;
        let at = keys
            .iter()
            .position(|entry| entry.kid == kid)
            .ok_or_else(|| KeyringError::UnknownKid {
                dir: self.dir.clone(),
                kid: kid.to_owned(),
            })?;
        let signer = keys.iter().position(|entry| entry.activation() <= now);
        if signer == Some(at) {
            return Err(KeyringError::RetiringSigningKey {
                kid: kid.to_owned(),
            });
        }
        let signed = keys[at].activation() <= now;
        // It stopped signing when the first newer key became active.
        let stopped = keys[..at].iter().map(Entry::activation).min();
        if let (true, Some(stopped), false) = (signed, stopped, force) {
            let until = stopped.saturating_add(lifetime);
            if now < until {
                return Err(KeyringError::StillInUse {
                    kid: kid.to_owned(),
                    stopped,
                    until,
                    lifetime,
                });
            }
        }
        let entry = keys.remove(at);
        self.write_manifest(keys)?;
        if let Ok(algorithm) = entry.algorithm.parse() {
            let path = self.key_path(&entry.kid, algorithm);
            std::fs::remove_file(&path).map_err(|source| KeyringError::Io { path, source })?;
        }
        Ok(entry)
    }

    fn load_entry(&self, entry: &Entry) -> Result<Key, KeyringError> {
        let algorithm: KeyAlgorithm =
            entry
                .algorithm
                .parse()
                .map_err(|source| KeyringError::Key {
                    kid: entry.kid.clone(),
                    path: self.dir.join(MANIFEST),
                    source,
                })?;
        let path = self.key_path(&entry.kid, algorithm);
        let text = std::fs::read_to_string(&path).map_err(|source| KeyringError::Io {
            path: path.clone(),
            source,
        })?;
        if algorithm == KeyAlgorithm::HS256 {
            return Ok(Key::hs256_named(&entry.kid, text.trim_end().as_bytes()));
        }
        Key::from_pem(algorithm, &text, Some(&entry.kid)).map_err(|source| KeyringError::Key {
            kid: entry.kid.clone(),
            path,
            source,
        })
    }

    fn key_path(&self, kid: &str, algorithm: KeyAlgorithm) -> PathBuf {
        let extension = if algorithm.is_asymmetric() {
            "pem"
        } else {
            "key"
        };
        self.dir.join(format!("{kid}.{extension}"))
    }

    /// Written to a temporary file and renamed over the old one, so a reader (another instance
    /// starting) never sees half a manifest.
    fn write_manifest(&self, keys: Vec<Entry>) -> Result<(), KeyringError> {
        let path = self.dir.join(MANIFEST);
        let body = toml::to_string(&Manifest { keys }).map_err(|e| KeyringError::Manifest {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let text = format!(
            "# Written by `jwt-workbook key`. The first key signs new tokens; every key listed\n\
             # verifies them. Each key's file is <kid>.pem (a key pair) or <kid>.key (HS256).\n\n{body}"
        );
        let temporary = self.dir.join(format!("{MANIFEST}.tmp"));
        let io = |source| KeyringError::Io {
            path: path.clone(),
            source,
        };
        std::fs::write(&temporary, text).map_err(io)?;
        std::fs::rename(&temporary, &path).map_err(io)
    }
}

fn check_kid(kid: &str) -> Result<(), KeyringError> {
    let fine = !kid.is_empty()
        && kid.len() <= 128
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if fine {
        Ok(())
    } else {
        Err(KeyringError::BadKid {
            kid: kid.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_puts_the_new_key_first_and_keeps_the_old_ones() {
        let dir = tempfile::tempdir().unwrap();
        let ring = Keyring::at(dir.path().join("keys"));
        assert!(ring.load().unwrap().is_empty());
        let first = ring.rotate(KeyAlgorithm::ES256, 100, 600).unwrap();
        let second = ring.rotate(KeyAlgorithm::EdDSA, 200, 600).unwrap();
        let keys = ring.load().unwrap();
        let kids: Vec<&str> = keys.iter().map(Key::kid).collect();
        assert_eq!(kids, [second.kid(), first.kid()]);
        assert_eq!(keys[1].algorithm(), KeyAlgorithm::ES256);
        assert_eq!(ring.entries().unwrap()[1].created_at, 100);
    }

    #[cfg(unix)]
    #[test]
    fn key_files_are_readable_by_their_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let ring = Keyring::at(dir.path());
        let key = ring.rotate(KeyAlgorithm::HS256, 1, 0).unwrap();
        let mode = std::fs::metadata(dir.path().join(format!("{}.key", key.kid())))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_rotated_in_key_is_published_at_once_and_signs_after_its_delay() {
        let dir = tempfile::tempdir().unwrap();
        let ring = Keyring::at(dir.path());
        let first = ring.rotate(KeyAlgorithm::ES256, 100, 600).unwrap();
        assert_eq!(
            first.activates_at(),
            100,
            "a ring's first key signs at once"
        );
        let second = ring.rotate(KeyAlgorithm::ES256, 200, 600).unwrap();
        assert_eq!(second.activates_at(), 800);
        let keys = crate::keys::KeySet::new(ring.load().unwrap()).unwrap();
        assert_eq!(keys.signing(799).kid(), first.kid());
        assert_eq!(keys.signing(800).kid(), second.kid());
        assert!(keys.jwks()["keys"].as_array().unwrap().len() == 2);
    }

    #[test]
    fn a_ring_written_before_staging_keeps_its_newest_key_signing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(MANIFEST),
            "[[key]]\nkid = \"new\"\nalgorithm = \"HS256\"\ncreated_at = 20\n\n\
             [[key]]\nkid = \"old\"\nalgorithm = \"HS256\"\ncreated_at = 10\n",
        )
        .unwrap();
        for kid in ["new", "old"] {
            std::fs::write(dir.path().join(format!("{kid}.key")), "ab".repeat(32)).unwrap();
        }
        let keys = crate::keys::KeySet::new(Keyring::at(dir.path()).load().unwrap()).unwrap();
        assert_eq!(keys.signing(20).kid(), "new");
    }

    #[test]
    fn retiring_waits_until_no_token_the_key_signed_can_be_alive() {
        let dir = tempfile::tempdir().unwrap();
        let ring = Keyring::at(dir.path());
        let day = 86_400;
        let old = ring.rotate(KeyAlgorithm::HS256, 1_000, 600).unwrap();
        let new = ring.rotate(KeyAlgorithm::HS256, 2_000, 600).unwrap();
        // Before the new key activates, the old one still signs.
        let refused = ring.retire(old.kid(), 2_599, day, false).unwrap_err();
        assert!(refused.to_string().contains("rotate first"), "{refused}");
        // The new key took over at 2,600: the old key's last tokens live a day more.
        let early = ring
            .retire(old.kid(), 2_600 + day - 1, day, false)
            .unwrap_err();
        assert!(
            matches!(early, KeyringError::StillInUse { until, .. } if until == 2_600 + day),
            "{early}"
        );
        assert!(early.to_string().contains("--force"), "{early}");
        let refused = ring.retire(new.kid(), 2_600 + day, day, false).unwrap_err();
        assert!(refused.to_string().contains("rotate first"), "{refused}");
        ring.retire(old.kid(), 2_600 + day, day, false).unwrap();
        assert_eq!(ring.load().unwrap().len(), 1);
        assert!(!dir.path().join(format!("{}.key", old.kid())).exists());
        let unknown = ring.retire("nope", 0, day, false).unwrap_err();
        assert!(unknown.to_string().contains("no key \"nope\""), "{unknown}");
    }

    #[test]
    fn a_leaked_key_goes_at_once_with_force_and_a_key_that_never_signed_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let ring = Keyring::at(dir.path());
        let leaked = ring.rotate(KeyAlgorithm::HS256, 1_000, 0).unwrap();
        let next = ring.rotate(KeyAlgorithm::HS256, 2_000, 0).unwrap();
        ring.retire(leaked.kid(), 2_001, 86_400, true).unwrap();
        let pending = ring.rotate(KeyAlgorithm::HS256, 3_000, 600).unwrap();
        ring.retire(pending.kid(), 3_001, 86_400, false).unwrap();
        let kids: Vec<String> = ring.entries().unwrap().into_iter().map(|e| e.kid).collect();
        assert_eq!(kids, [next.kid()]);
    }

    #[test]
    fn a_kid_that_could_name_another_path_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(MANIFEST),
            "[[key]]\nkid = \"../../etc/passwd\"\nalgorithm = \"ES256\"\ncreated_at = 1\n",
        )
        .unwrap();
        let error = Keyring::at(dir.path()).load().unwrap_err();
        assert!(matches!(error, KeyringError::BadKid { .. }), "{error}");
    }

    #[test]
    fn a_broken_manifest_is_reported_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(MANIFEST), "[[key]]\nkid = 3\n").unwrap();
        let error = Keyring::at(dir.path()).load().unwrap_err();
        assert!(error.to_string().contains(MANIFEST), "{error}");
    }
}
