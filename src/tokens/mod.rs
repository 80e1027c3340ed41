//! Tokens: what a token says ([`claims`]), the keys that sign it ([`crate::keys`]), and the service that
//! issues and strictly verifies tokens ([`service`]). Nothing here knows about HTTP or databases;
//! revocation lives behind [`TokenStore`].

pub mod claims;
pub mod payload;
pub mod purpose;
pub mod revocations;
pub mod service;

pub use crate::keys::{Key, KeyAlgorithm, KeyError, KeySet, LiveKeys};
pub use claims::{TokenPair, TokenType, VerifiedToken};
pub use payload::Payload;
pub use purpose::{Purpose, PurposeClaims, PurposeTokens, constant_time_eq};
pub use revocations::RevocationView;
pub use service::{
    JtiSource, RandomJti, SequentialJti, TokenService, TokenSettings, UserIdField, sign_with,
};

use async_trait::async_trait;

use crate::storage::StoreError;

/// Every way a token can be refused. The messages are simplejwt's, word for word, because
/// clients written for it show them to users and some match on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Malformed, badly signed, of another algorithm, wrongly typed claims, not yet valid, too long.
    #[error("Token is invalid")]
    Invalid,
    #[error("Token is expired")]
    Expired,
    #[error("Token has wrong type")]
    WrongType,
    #[error("Token has no 'exp' claim")]
    NoExp,
    #[error("Token has no id")]
    NoId,
    #[error("Token has no type")]
    NoType,
    #[error("Token is blacklisted")]
    Blacklisted,
    /// A sliding token without its refresh deadline.
    #[error("Token has no 'refresh_exp' claim")]
    NoRefreshExp,
    /// A sliding token past its refresh deadline: log in again.
    #[error("Token 'refresh_exp' claim has expired")]
    RefreshExpired,
}

/// One revoked refresh token, kept until the token would have expired anyway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlacklistEntry {
    pub jti: String,
    pub user_id: Option<String>,
    /// The token's own `exp`: after it the row can go, the signature check refuses the token.
    pub expires_at: i64,
    pub blacklisted_at: i64,
}

// ANCHOR: session
/// One login and every token rotated from it: a token family. Its id is the first half of each
/// of its tokens' `jti` ([`session_of`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    pub user_id: String,
    pub started_at: i64,
    /// The absolute cap: no token of the session lives past it, however often it is refreshed.
    pub expires_at: i64,
}

/// The session a token belongs to: the first 16 characters of its `jti`. A token simplejwt
/// issued has a random jti, so it is a session of its own.
pub fn session_of(jti: &str) -> &str {
    jti.get(..16).unwrap_or(jti)
}
// ANCHOR_END: session

/// Something every instance must stop accepting, published in order so that each instance can
/// keep all of them in memory ([`RevocationView`]) and check access tokens without a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revocation {
    /// Every token of one session: a logout, or a rotated-away refresh token used again.
    Session { id: String, expires_at: i64 },
    /// Every token of a user issued before `cutoff`: "log out everywhere", a new password.
    User {
        user_id: String,
        cutoff: i64,
        expires_at: i64,
    },
}

/// Where revocations are kept. Implementations must make [`TokenStore::blacklist`] atomic:
/// of two concurrent calls with the same `jti`, exactly one sees `true`.
#[async_trait]
pub trait TokenStore: Send + Sync + 'static {
    /// Revokes a token id, durably. `Ok(true)` if this call revoked it, `Ok(false)` if it already was.
    async fn blacklist(&self, entry: BlacklistEntry) -> Result<bool, StoreError>;
    /// Whether a token id has been revoked.
    async fn is_blacklisted(&self, jti: &str) -> Result<bool, StoreError>;
    /// Records a new session (a login).
    async fn start_session(&self, session: &Session) -> Result<(), StoreError>;
    /// A session, if it was recorded; with `true` when it has been revoked.
    async fn session(&self, id: &str) -> Result<Option<(Session, bool)>, StoreError>;
    /// What a refresh asks before it spends a token: whether the token id is revoked, and its
    /// session (as [`TokenStore::session`]). A store may answer both in one round trip.
    async fn refresh_state(
        &self,
        jti: &str,
        session: &str,
    ) -> Result<(bool, Option<(Session, bool)>), StoreError> {
        Ok((
            self.is_blacklisted(jti).await?,
            self.session(session).await?,
        ))
    }
    /// Revokes a session, or all of a user's live sessions and every older token of theirs,
    /// and publishes the revocation(s) for every instance.
    async fn revoke(&self, revocation: Revocation, now: i64) -> Result<(), StoreError>;
    /// A logout: revokes the refresh token's id (as [`TokenStore::blacklist`], whose answer it
    /// returns) and its session (as [`TokenStore::revoke`]). A store should do both in one
    /// transaction, so that a logout that failed left nothing behind; this default cannot.
    async fn log_out(
        &self,
        entry: BlacklistEntry,
        session: Revocation,
        now: i64,
    ) -> Result<bool, StoreError> {
        let revoked_now = self.blacklist(entry).await?;
        self.revoke(session, now).await?;
        Ok(revoked_now)
    }
    /// The revocations published after sequence number `after`, oldest first, with their
    /// sequence numbers.
    async fn revocations_since(&self, after: i64) -> Result<Vec<(i64, Revocation)>, StoreError>;
    /// Forgets revocations and sessions that expired before `now`; returns how many.
    async fn delete_expired(&self, now: i64) -> Result<u64, StoreError>;
    /// Whether the database answers at all.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Whether the database can write: rewrites one row (for `/readyz`).
    async fn heartbeat(&self, now: i64) -> Result<(), StoreError>;
}
