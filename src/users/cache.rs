//! A short-lived cache in front of the user store, for the one lookup every protected request
//! makes (is the token's user still there and active?), by id or by username as the token names
//! them. Without it each request pays a database round trip that costs more than the whole token
//! check. Logins (`find_by_username`) always ask the store.
//!
//! Writes through this process (deactivation, password change) clear it at once. A change made
//! elsewhere (the `user` subcommand, another instance) is seen within [`CachedUserStore::ttl`];
//! so is a user created elsewhere: "no such user" is remembered no longer than a user is.
//!
//! While the database is unavailable, an expired entry for a user is still used for up to
//! [`STALE_IF_UNAVAILABLE_SECONDS`], so that a protected route with a valid access token keeps
//! answering from memory. That is safe because nothing can change a user while the store cannot
//! be written — not this instance, not another on the same database, not the `user` command —
//! and revocations already seen are in memory. A user nobody had looked up yet, or one that was
//! not found, gets a 503.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;

use super::{NewUser, User, UserError, UserStore};
use crate::clock::Clock;
use crate::storage::StoreError;
use crate::tokens::{Revocation, UserIdField};

/// How long past its lifetime an entry still answers while the store is unavailable: one
/// default access token lifetime, the longest a token checked against it would live anyway.
pub const STALE_IF_UNAVAILABLE_SECONDS: i64 = 300;

/// Past this many entries the cache starts over, so memory stays bounded.
const MAX_ENTRIES: usize = 100_000;

/// A [`UserStore`] that remembers lookups by id, and by username for tokens, for a few seconds.
pub struct CachedUserStore {
    inner: Arc<dyn UserStore>,
    clock: Arc<dyn Clock>,
    ttl: i64,
    entries: RwLock<Entries>,
}

/// What was read, and when: the user, or `None` for "no such user".
type Entry = (Option<User>, i64);

#[derive(Default)]
struct Entries {
    by_id: HashMap<i64, Entry>,
    by_username: HashMap<String, Entry>,
}

impl Entries {
    fn len(&self) -> usize {
        self.by_id.len() + self.by_username.len()
    }
}

impl CachedUserStore {
    /// Caches `inner`'s lookups by id for `ttl` seconds of `clock` time.
    pub fn new(inner: Arc<dyn UserStore>, clock: Arc<dyn Clock>, ttl: i64) -> Self {
        Self {
            inner,
            clock,
            ttl,
            entries: RwLock::default(),
        }
    }

    /// How stale an answer may be, in seconds.
    pub fn ttl(&self) -> i64 {
        self.ttl
    }

    fn forget_all(&self) {
        if let Ok(mut entries) = self.entries.write() {
            *entries = Entries::default();
        }
    }

    /// The user with this id, through the cache.
    async fn by_id(&self, id: i64) -> Result<Option<User>, StoreError> {
        let cached = self
            .entries
            .read()
            .ok()
            .and_then(|entries| entries.by_id.get(&id).cloned());
        let ask_store = || self.inner.find_by_id(id);
        self.find_cached(cached, ask_store, |entries, entry| {
            entries.by_id.insert(id, entry);
        })
        .await
    }

    /// A fresh entry, or else the store's answer (remembered), or else, while the store is
    /// unavailable, a user remembered a little longer. Never a stale "no such user".
    async fn find_cached<Fut>(
        &self,
        cached: Option<Entry>,
        ask_store: impl FnOnce() -> Fut,
        remember: impl FnOnce(&mut Entries, Entry),
    ) -> Result<Option<User>, StoreError>
    where
        Fut: Future<Output = Result<Option<User>, StoreError>>,
    {
        let now = self.clock.now();
        // A fresh entry answers: the store is not asked, not even a future made for it.
        let cached = match cached {
            Some((user, read_at)) if now < read_at + self.ttl => return Ok(user),
            stale_or_none => stale_or_none,
        };
        let user = match ask_store().await {
            Ok(user) => user,
            Err(error) if error.is_unavailable() => match cached {
                Some((Some(user), read_at))
                    if now < read_at + self.ttl + STALE_IF_UNAVAILABLE_SECONDS =>
                {
                    tracing::debug!(%error, user.id, "the store is unavailable: a remembered user answers");
                    return Ok(Some(user));
                }
                _ => return Err(error),
            },
            Err(error) => return Err(error),
        };
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= MAX_ENTRIES {
                *entries = Entries::default();
            }
            remember(&mut entries, (user.clone(), now));
        }
        Ok(user)
    }
}

#[async_trait]
impl UserStore for CachedUserStore {
    async fn find_by_id(&self, id: i64) -> Result<Option<User>, StoreError> {
        self.by_id(id).await
    }

    async fn find_for_token(
        &self,
        field: UserIdField,
        claim: &str,
    ) -> Result<Option<User>, StoreError> {
        match field {
            // Not through `find_by_id`: a trait method's future is boxed.
            UserIdField::Id => match claim.parse::<i64>() {
                Ok(id) => self.by_id(id).await,
                Err(_) => Ok(None),
            },
            UserIdField::Username => {
                let cached = self
                    .entries
                    .read()
                    .ok()
                    .and_then(|entries| entries.by_username.get(claim).cloned());
                let remember = |entries: &mut Entries, entry| {
                    entries.by_username.insert(claim.to_owned(), entry);
                };
                let ask_store = || self.inner.find_by_username(claim);
                self.find_cached(cached, ask_store, remember).await
            }
        }
    }

    async fn find_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        self.inner.find_by_username(username).await
    }

    async fn list(&self) -> Result<Vec<User>, StoreError> {
        self.inner.list().await
    }

    async fn password_hashes_unlike(&self, prefix: &str) -> Result<(u64, Vec<String>), StoreError> {
        self.inner.password_hashes_unlike(prefix).await
    }

    async fn create(&self, user: NewUser) -> Result<User, UserError> {
        let created = self.inner.create(user).await;
        // A cached "no such user" for this id must not outlive the user's creation.
        self.forget_all();
        created
    }

    async fn set_active(&self, username: &str, active: bool) -> Result<(), UserError> {
        let result = self.inner.set_active(username, active).await;
        self.forget_all();
        result
    }

    async fn set_password_hash(&self, username: &str, hash: &str) -> Result<(), UserError> {
        let result = self.inner.set_password_hash(username, hash).await;
        self.forget_all();
        result
    }

    async fn upgrade_password_hash(
        &self,
        id: i64,
        old: &str,
        new: &str,
    ) -> Result<bool, StoreError> {
        let result = self.inner.upgrade_password_hash(id, old, new).await;
        self.forget_all();
        result
    }

    async fn set_password_and_revoke(
        &self,
        username: &str,
        hash: &str,
        revocation: &Revocation,
        now: i64,
    ) -> Result<(), UserError> {
        let result = self
            .inner
            .set_password_and_revoke(username, hash, revocation, now)
            .await;
        self.forget_all();
        result
    }

    async fn set_email(&self, id: i64, email: &str) -> Result<(), UserError> {
        let result = self.inner.set_email(id, email).await;
        self.forget_all();
        result
    }

    async fn verify_email(&self, id: i64, email: &str) -> Result<bool, StoreError> {
        let result = self.inner.verify_email(id, email).await;
        self.forget_all();
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// One active user, id 1, counting how often it is asked.
    #[derive(Default)]
    struct CountingStore {
        lookups: AtomicUsize,
        active: std::sync::atomic::AtomicBool,
        /// Every lookup fails as an unreachable database does.
        down: std::sync::atomic::AtomicBool,
        /// Whether user 2, `ana`, has been created (by another process).
        ana_created: std::sync::atomic::AtomicBool,
    }

    impl CountingStore {
        fn lookup(&self, id: i64) -> Result<Option<User>, StoreError> {
            self.lookups.fetch_add(1, Ordering::SeqCst);
            if self.down.load(Ordering::SeqCst) {
                return Err(sqlx::Error::PoolTimedOut.into());
            }
            let user = |id, username: &str| User {
                email: String::new(),
                email_verified: false,
                id,
                username: username.into(),
                password_hash: String::new(),
                is_active: self.active.load(Ordering::SeqCst),
                date_joined: 0,
            };
            Ok(match id {
                1 => Some(user(1, "vitor")),
                2 if self.ana_created.load(Ordering::SeqCst) => Some(user(2, "ana")),
                _ => None,
            })
        }
    }

    #[async_trait]
    impl UserStore for CountingStore {
        async fn find_by_id(&self, id: i64) -> Result<Option<User>, StoreError> {
            self.lookup(id)
        }
        async fn find_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
            match username {
                "vitor" => self.lookup(1),
                "ana" => self.lookup(2),
                _ => self.lookup(0),
            }
        }
        async fn list(&self) -> Result<Vec<User>, StoreError> {
            Ok(vec![])
        }
        async fn password_hashes_unlike(&self, _: &str) -> Result<(u64, Vec<String>), StoreError> {
            Ok((0, vec![]))
        }
        async fn create(&self, user: NewUser) -> Result<User, UserError> {
            Err(UserError::AlreadyExists(user.username))
        }
        async fn set_active(&self, _: &str, active: bool) -> Result<(), UserError> {
            self.active.store(active, Ordering::SeqCst);
            Ok(())
        }
        async fn set_password_hash(&self, _: &str, _: &str) -> Result<(), UserError> {
            Ok(())
        }
        async fn upgrade_password_hash(
            &self,
            _: i64,
            _: &str,
            _: &str,
        ) -> Result<bool, StoreError> {
            Ok(false)
        }
        async fn set_password_and_revoke(
            &self,
            _: &str,
            _: &str,
            _: &Revocation,
            _: i64,
        ) -> Result<(), UserError> {
            Ok(())
        }
        async fn set_email(&self, _: i64, _: &str) -> Result<(), UserError> {
            Ok(())
        }
        async fn verify_email(&self, _: i64, _: &str) -> Result<bool, StoreError> {
            Ok(false)
        }
    }

    fn cached() -> (Arc<CountingStore>, FixedClock, CachedUserStore) {
        let store = Arc::new(CountingStore::default());
        store.active.store(true, Ordering::SeqCst);
        let clock = FixedClock::at(1_000);
        let cache = CachedUserStore::new(store.clone(), Arc::new(clock.clone()), 5);
        (store, clock, cache)
    }

    #[tokio::test]
    async fn repeated_lookups_hit_the_store_once_per_ttl() {
        let (store, clock, cache) = cached();
        for _ in 0..3 {
            assert!(cache.find_by_id(1).await.unwrap().is_some());
            assert!(cache.find_by_id(2).await.unwrap().is_none());
        }
        assert_eq!(store.lookups.load(Ordering::SeqCst), 2);
        clock.advance(5);
        cache.find_by_id(1).await.unwrap();
        assert_eq!(
            store.lookups.load(Ordering::SeqCst),
            3,
            "expired after the ttl"
        );
    }

    #[tokio::test]
    async fn a_remembered_user_answers_while_the_store_is_unavailable_for_a_bounded_time() {
        let (store, clock, cache) = cached();
        assert!(cache.find_by_id(1).await.unwrap().is_some());
        store.down.store(true, Ordering::SeqCst);
        clock.advance(5 + STALE_IF_UNAVAILABLE_SECONDS - 1);
        assert!(cache.find_by_id(1).await.unwrap().unwrap().is_active);
        assert_eq!(
            store.lookups.load(Ordering::SeqCst),
            2,
            "the store was asked"
        );
        clock.advance(1);
        let error = cache.find_by_id(1).await.unwrap_err();
        assert!(error.is_unavailable(), "{error}");
    }

    #[tokio::test]
    async fn a_user_never_looked_up_is_unavailable_while_the_store_is() {
        let (store, _, cache) = cached();
        store.down.store(true, Ordering::SeqCst);
        assert!(cache.find_by_id(1).await.unwrap_err().is_unavailable());
    }

    #[tokio::test]
    async fn a_deactivation_through_the_cache_is_seen_at_once() {
        let (_, _, cache) = cached();
        assert!(cache.find_by_id(1).await.unwrap().unwrap().is_active);
        cache.set_active("vitor", false).await.unwrap();
        assert!(!cache.find_by_id(1).await.unwrap().unwrap().is_active);
    }

    #[tokio::test]
    async fn a_user_not_found_is_found_within_the_ttl_once_created_elsewhere() {
        for field in [UserIdField::Id, UserIdField::Username] {
            let (store, clock, cache) = cached();
            let claim = match field {
                UserIdField::Id => "2",
                UserIdField::Username => "ana",
            };
            assert_eq!(cache.find_for_token(field, claim).await.unwrap(), None);
            store.ana_created.store(true, Ordering::SeqCst);
            clock.advance(4);
            assert_eq!(
                cache.find_for_token(field, claim).await.unwrap(),
                None,
                "{field:?}: still remembered as missing"
            );
            clock.advance(1);
            let found = cache.find_for_token(field, claim).await.unwrap();
            assert_eq!(found.map(|user| user.id), Some(2), "{field:?}");
        }
    }

    #[tokio::test]
    async fn users_named_by_username_are_cached_as_those_named_by_id() {
        let (store, clock, cache) = cached();
        for _ in 0..3 {
            let user = cache.find_for_token(UserIdField::Username, "vitor").await;
            assert_eq!(user.unwrap().unwrap().id, 1);
        }
        assert_eq!(store.lookups.load(Ordering::SeqCst), 1);
        cache.find_by_username("vitor").await.unwrap();
        assert_eq!(
            store.lookups.load(Ordering::SeqCst),
            2,
            "a login's lookup is never cached"
        );
        clock.advance(5);
        cache
            .find_for_token(UserIdField::Username, "vitor")
            .await
            .unwrap();
        assert_eq!(store.lookups.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn no_such_user_is_never_answered_from_memory_while_the_store_is_unavailable() {
        let (store, clock, cache) = cached();
        assert_eq!(cache.find_by_id(2).await.unwrap(), None);
        store.down.store(true, Ordering::SeqCst);
        clock.advance(5);
        assert!(cache.find_by_id(2).await.unwrap_err().is_unavailable());
    }

    #[tokio::test]
    async fn a_change_made_elsewhere_is_seen_within_the_ttl() {
        let (store, clock, cache) = cached();
        assert!(cache.find_by_id(1).await.unwrap().unwrap().is_active);
        store.active.store(false, Ordering::SeqCst);
        clock.advance(4);
        assert!(
            cache.find_by_id(1).await.unwrap().unwrap().is_active,
            "still cached"
        );
        clock.advance(1);
        assert!(!cache.find_by_id(1).await.unwrap().unwrap().is_active);
    }
}
