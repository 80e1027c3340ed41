//! A short-lived cache in front of the user store, for the one lookup every protected request
//! makes (is the token's user still there and active?). Without it each request pays a database
//! round trip that costs more than the whole token check.
//!
//! Writes through this process (deactivation, password change) clear it at once. A change made
//! elsewhere (the `user` subcommand, another instance) is seen within [`CachedUserStore::ttl`].

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;

use super::{NewUser, User, UserError, UserStore};
use crate::clock::Clock;
use crate::storage::StoreError;

/// Past this many entries the cache starts over, so memory stays bounded.
const MAX_ENTRIES: usize = 100_000;

/// A [`UserStore`] that remembers lookups by id for a few seconds.
pub struct CachedUserStore {
    inner: Arc<dyn UserStore>,
    clock: Arc<dyn Clock>,
    ttl: i64,
    /// id -> (the user, or `None` for "no such user", and when it was read).
    entries: RwLock<HashMap<i64, (Option<User>, i64)>>,
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
            entries.clear();
        }
    }
}

#[async_trait]
impl UserStore for CachedUserStore {
    async fn find_by_id(&self, id: i64) -> Result<Option<User>, StoreError> {
        let now = self.clock.now();
        if let Ok(entries) = self.entries.read()
            && let Some((user, read_at)) = entries.get(&id)
            && now < read_at + self.ttl
        {
            return Ok(user.clone());
        }
        let user = self.inner.find_by_id(id).await?;
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(id, (user.clone(), now));
        }
        Ok(user)
    }

    async fn find_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        self.inner.find_by_username(username).await
    }

    async fn list(&self) -> Result<Vec<User>, StoreError> {
        self.inner.list().await
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
    }

    #[async_trait]
    impl UserStore for CountingStore {
        async fn find_by_id(&self, id: i64) -> Result<Option<User>, StoreError> {
            self.lookups.fetch_add(1, Ordering::SeqCst);
            Ok((id == 1).then(|| User {
                email: String::new(),
                email_verified: false,
                id: 1,
                username: "vitor".into(),
                password_hash: String::new(),
                is_active: self.active.load(Ordering::SeqCst),
                date_joined: 0,
            }))
        }
        async fn find_by_username(&self, _: &str) -> Result<Option<User>, StoreError> {
            Ok(None)
        }
        async fn list(&self) -> Result<Vec<User>, StoreError> {
            Ok(vec![])
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
    async fn a_deactivation_through_the_cache_is_seen_at_once() {
        let (_, _, cache) = cached();
        assert!(cache.find_by_id(1).await.unwrap().unwrap().is_active);
        cache.set_active("vitor", false).await.unwrap();
        assert!(!cache.find_by_id(1).await.unwrap().unwrap().is_active);
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
