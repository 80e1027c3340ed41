//! The keys a running server holds, kept in step with its key ring: every request reads them
//! without a lock, and [`LiveKeys::reload`] (called every `--keyring-poll` by `serve`) swaps in
//! what `key rotate` and `key retire` changed, so no instance needs a restart to learn of a key.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use arc_swap::ArcSwap;

use super::{KeySet, KeySources, LoadError, load_keys, ring::MANIFEST};

/// The current [`KeySet`], shared by everything that signs or verifies, cheap to clone.
#[derive(Clone)]
pub struct LiveKeys(Arc<Inner>);

struct Inner {
    current: ArcSwap<KeySet>,
    /// Where the keys came from, when that is a key ring that can change under us.
    ring: Option<Ring>,
}

struct Ring {
    sources: KeySources,
    manifest: PathBuf,
    /// The manifest as last read: it is replaced (renamed over) on every change, so a new
    /// inode, length or modification time is the cue to read the ring again.
    seen: Mutex<Option<Seen>>,
}

type Seen = (u64, u64, SystemTime);

impl LiveKeys {
    /// Keys that never change (a configured key, development keys, a test's keys).
    pub fn fixed(keys: KeySet) -> Self {
        Self(Arc::new(Inner {
            current: ArcSwap::from_pointee(keys),
            ring: None,
        }))
    }

    /// The keys `sources` name, reloaded from its key ring (if it has one) on each
    /// [`reload`](Self::reload).
    pub fn load(sources: KeySources) -> Result<Self, LoadError> {
        let keys = load_keys(&sources)?;
        let ring = sources.keys_dir.clone().map(|dir| Ring {
            manifest: dir.join(MANIFEST),
            seen: Mutex::new(seen(&dir.join(MANIFEST))),
            sources,
        });
        Ok(Self(Arc::new(Inner {
            current: ArcSwap::from_pointee(keys),
            ring,
        })))
    }

    /// The keys as they are now.
    pub fn current(&self) -> Arc<KeySet> {
        self.0.current.load_full()
    }

    /// Runs `f` on the keys as they are now, without touching a reference count: the way for
    /// work done on every request.
    pub fn with<R>(&self, f: impl FnOnce(&KeySet) -> R) -> R {
        f(&self.0.current.load())
    }

    /// Whether there is a key ring to watch.
    pub fn reloads(&self) -> bool {
        self.0.ring.is_some()
    }

    /// Reads the key ring again if its manifest changed, and swaps the new keys in. Returns the
    /// new set when it differs. On an error (a key file half-copied by hand, a manifest made
    /// unreadable) the keys in use stay, and the next reload tries again.
    pub fn reload(&self) -> Result<Option<Arc<KeySet>>, LoadError> {
        let Some(ring) = &self.0.ring else {
            return Ok(None);
        };
        let now_seen = seen(&ring.manifest);
        let mut last = ring
            .seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if *last == now_seen {
            return Ok(None);
        }
        let fresh = load_keys(&ring.sources)?;
        *last = now_seen;
        if fresh.same_as(&self.current()) {
            return Ok(None);
        }
        let fresh = Arc::new(fresh);
        self.0.current.store(fresh.clone());
        Ok(Some(fresh))
    }
}

impl From<KeySet> for LiveKeys {
    fn from(keys: KeySet) -> Self {
        Self::fixed(keys)
    }
}

impl std::fmt::Debug for LiveKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveKeys")
            .field("current", &self.current())
            .field("reloads", &self.reloads())
            .finish()
    }
}

fn seen(manifest: &std::path::Path) -> Option<Seen> {
    use std::os::unix::fs::MetadataExt;
    let metadata = std::fs::metadata(manifest).ok()?;
    Some((metadata.ino(), metadata.len(), metadata.modified().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeyAlgorithm, Keyring};

    fn sources(dir: &std::path::Path) -> KeySources {
        KeySources {
            algorithm: KeyAlgorithm::ES256,
            signing_key: None,
            signing_key_file: None,
            private_key: None,
            private_key_file: None,
            keys_dir: Some(dir.to_owned()),
            data_dir: dir.to_owned(),
            development: false,
        }
    }

    #[test]
    fn a_rotation_reaches_a_running_server_at_its_next_reload() {
        let dir = tempfile::tempdir().unwrap();
        let ring = Keyring::at(dir.path());
        let first = ring.rotate(KeyAlgorithm::ES256, 1_000, 0).unwrap();
        let live = LiveKeys::load(sources(dir.path())).unwrap();
        assert!(live.reload().unwrap().is_none(), "nothing changed yet");

        let second = ring.rotate(KeyAlgorithm::ES256, 2_000, 600).unwrap();
        let fresh = live.reload().unwrap().expect("the new key is picked up");
        let kids: Vec<&str> = fresh.keys().iter().map(|k| k.kid()).collect();
        assert_eq!(kids, [second.kid(), first.kid()]);
        // Published at once, signing only from its activation time.
        assert_eq!(fresh.signing(2_599).kid(), first.kid());
        assert_eq!(fresh.signing(2_600).kid(), second.kid());
        assert!(live.reload().unwrap().is_none());
    }

    #[test]
    fn a_broken_ring_leaves_the_keys_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let ring = Keyring::at(dir.path());
        let key = ring.rotate(KeyAlgorithm::HS256, 1_000, 0).unwrap();
        let live = LiveKeys::load(sources(dir.path())).unwrap();
        std::fs::write(dir.path().join(MANIFEST), "[[key]]\nkid = 3\n").unwrap();
        assert!(live.reload().is_err());
        assert_eq!(live.current().signing(1_000).kid(), key.kid());
    }

    #[test]
    fn fixed_keys_never_reload() {
        let live = LiveKeys::fixed(KeySet::single(crate::keys::Key::hs256("k")));
        assert!(!live.reloads());
        assert!(live.reload().unwrap().is_none());
    }
}
