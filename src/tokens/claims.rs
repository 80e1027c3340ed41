//! The claims of the tokens we issue, in simplejwt's names and order, and the typed view of a
//! token that passed verification.

use super::Payload;
use serde::Serialize;

// ANCHOR: token_type
/// The kinds of token the server issues. One must never pass for another: a refresh token
/// lives a day and must not open protected routes; an access token must not mint new tokens.
/// A sliding token (simplejwt's, off unless configured) is both, within its own limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenType {
    Access,
    Refresh,
    Sliding,
}

impl TokenType {
    /// The value of the `token_type` claim.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenType::Access => "access",
            TokenType::Refresh => "refresh",
            TokenType::Sliding => "sliding",
        }
    }

    /// simplejwt's class name for this type, as its error messages show it.
    pub fn class_name(self) -> &'static str {
        match self {
            TokenType::Access => "AccessToken",
            TokenType::Refresh => "RefreshToken",
            TokenType::Sliding => "SlidingToken",
        }
    }
}
// ANCHOR_END: token_type

/// What the login and refresh endpoints hand out. Field order is the JSON key order simplejwt uses
/// at login (`refresh` first); the refresh endpoint writes `access` first.
#[derive(Debug, Clone, Serialize)]
pub struct TokenPair {
    pub refresh: String,
    pub access: String,
}

/// A token whose signature, algorithm, time claims and required claims all checked out.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedToken {
    /// `None` only for tokens verified untyped (the verify endpoint accepts them, as simplejwt does).
    pub token_type: Option<String>,
    pub exp: i64,
    /// The `iat` claim, when the token has one.
    pub issued_at: Option<i64>,
    pub jti: String,
    /// The `user_id` claim, normalised to a string (simplejwt issues `"1"` but accepts `1`).
    pub user_id: Option<String>,
    /// Every claim, as the issuer wrote them; custom claims survive a refresh.
    pub payload: Payload,
}
