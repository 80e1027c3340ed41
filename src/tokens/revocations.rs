//! What every instance keeps in memory so that a protected route checks an access token without
//! a database query: the revoked sessions and the per-user cutoffs that are still in force.
//!
//! Revocations are published to the store in order. Each instance pulls the ones it has not seen
//! ([`RevocationView::sync`]): right after revoking something itself, and on a short timer for
//! what other instances revoke. Entries are forgotten once every token they could refuse has
//! expired anyway, so the view stays as small as the set of live revocations.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use super::{Revocation, TokenStore, VerifiedToken, session_of};
use crate::storage::StoreError;

#[derive(Debug, Default)]
struct Seen {
    /// The last sequence number applied.
    through: i64,
    /// Revoked session id → when its last token expires.
    sessions: HashMap<String, i64>,
    /// User id → (tokens issued before this second are revoked, when the rule can be dropped).
    cutoffs: HashMap<String, (i64, i64)>,
}

/// The revocations this instance knows of.
#[derive(Clone)]
pub struct RevocationView {
    store: Arc<dyn TokenStore>,
    seen: Arc<RwLock<Seen>>,
}

impl RevocationView {
    pub fn new(store: Arc<dyn TokenStore>) -> Self {
        Self {
            store,
            seen: Arc::default(),
        }
    }

    // ANCHOR: is_revoked
    /// Whether a verified token was revoked, from memory alone: its session was revoked, or
    /// its user revoked everything issued before a time it was issued before.
    pub fn is_revoked(&self, token: &VerifiedToken) -> bool {
        let seen = self.seen.read().unwrap_or_else(|e| e.into_inner());
        if seen.sessions.contains_key(session_of(&token.jti)) {
            return true;
        }
        match (&token.user_id, token.issued_at) {
            (Some(user_id), Some(iat)) => seen
                .cutoffs
                .get(user_id)
                .is_some_and(|(cutoff, _)| iat < *cutoff),
            // A token without `iat` cannot be shown to be newer than a cutoff.
            (Some(user_id), None) => seen.cutoffs.contains_key(user_id),
            (None, _) => false,
        }
    }
    // ANCHOR_END: is_revoked

    /// Publishes a revocation and applies it here at once, so that this instance refuses the
    /// tokens before it answers the request that revoked them.
    pub async fn revoke(&self, revocation: Revocation, now: i64) -> Result<(), StoreError> {
        self.store.revoke(revocation, now).await?;
        self.sync(now).await
    }

    /// Applies every revocation published since the last sync, and forgets the expired ones.
    pub async fn sync(&self, now: i64) -> Result<(), StoreError> {
        let through = self.seen.read().unwrap_or_else(|e| e.into_inner()).through;
        let news = self.store.revocations_since(through).await?;
        let mut seen = self.seen.write().unwrap_or_else(|e| e.into_inner());
        for (seq, revocation) in news {
            // Two syncs can race; whichever applies an entry first wins, the other skips it.
            if seq <= seen.through {
                continue;
            }
            seen.through = seq;
            match revocation {
                Revocation::Session { id, expires_at } => {
                    seen.sessions.insert(id, expires_at);
                }
                Revocation::User {
                    user_id,
                    cutoff,
                    expires_at,
                } => {
                    let entry = seen.cutoffs.entry(user_id).or_insert((cutoff, expires_at));
                    *entry = (entry.0.max(cutoff), entry.1.max(expires_at));
                }
            }
        }
        seen.sessions.retain(|_, expires_at| *expires_at >= now);
        seen.cutoffs.retain(|_, (_, expires_at)| *expires_at >= now);
        Ok(())
    }

    /// How many revocations are held in memory: (sessions, users).
    pub fn len(&self) -> (usize, usize) {
        let seen = self.seen.read().unwrap_or_else(|e| e.into_inner());
        (seen.sessions.len(), seen.cutoffs.len())
    }
}
