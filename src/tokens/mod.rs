//! Tokens: what a token says ([`claims`]), the keys that sign it ([`keys`]), and the service that
//! issues and strictly verifies tokens ([`service`]). Nothing here knows about HTTP or databases;
//! revocation lives behind [`TokenStore`].

pub mod claims;
pub mod keys;
pub mod service;

pub use claims::{TokenPair, TokenType, VerifiedToken};
pub use keys::{Key, KeyAlgorithm, KeyError, KeySet};
pub use service::{JtiSource, RandomJti, SequentialJti, TokenService, TokenSettings};

use async_trait::async_trait;

use crate::store::StoreError;

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

/// Where revoked token ids are kept. Implementations must make [`TokenStore::blacklist`] atomic:
/// of two concurrent calls with the same `jti`, exactly one sees `true`.
#[async_trait]
pub trait TokenStore: Send + Sync + 'static {
    /// Revokes a token id, durably. `Ok(true)` if this call revoked it, `Ok(false)` if it already was.
    async fn blacklist(&self, entry: BlacklistEntry) -> Result<bool, StoreError>;
    /// Whether a token id has been revoked.
    async fn is_blacklisted(&self, jti: &str) -> Result<bool, StoreError>;
    /// Forgets revocations of tokens that expired before `now`; returns how many.
    async fn delete_expired(&self, now: i64) -> Result<u64, StoreError>;
}
