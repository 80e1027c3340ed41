//! Steps 12 to 14: signing in with OpenID Connect, from the app's side (the relying party).
//!
//! The app makes a PKCE pair for each sign-in (step 12), sends the browser to the provider with
//! the challenge, and gets a code back; it trades the code, with the verifier, for tokens at the
//! provider's token endpoint (step 14), and believes the ID token only after checking it
//! (step 13). The tests run step 14 against the workbook's own provider, started for them.

use std::fmt;

use jsonwebtoken::Algorithm;
use jsonwebtoken::jwk::JwkSet;
use serde::Deserialize;

// What steps 12 to 14 need.
#[allow(unused_imports)]
use base64::Engine;
#[allow(unused_imports)]
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
#[allow(unused_imports)]
use jsonwebtoken::errors::ErrorKind;
#[allow(unused_imports)]
use jsonwebtoken::{DecodingKey, Validation};
#[allow(unused_imports)]
use sha2::{Digest, Sha256};

// ANCHOR: pkce
/// Step 12. The code verifier made from 32 random bytes: their base64url, without padding.
/// That is 43 characters, all of them among the ones RFC 7636 §4.1 allows.
pub fn code_verifier(random: &[u8; 32]) -> String {
    // TODO: Step 12: the 32 bytes in base64url, without padding.
    todo!()
}

/// Step 12. The `S256` challenge of a verifier: `BASE64URL(SHA256(ASCII(verifier)))`.
pub fn code_challenge(verifier: &str) -> String {
    // TODO: Step 12: SHA-256 of the verifier's ASCII, in base64url without padding.
    todo!()
}
// ANCHOR_END: pkce

// ANCHOR: sign_in
/// What the app knows about the sign-in it started: from its own configuration (the issuer, its
/// client id) and from its session (the nonce it generated for this very attempt).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignIn {
    pub issuer: String,
    pub client_id: String,
    pub nonce: String,
}

/// The ID token claims the app reads once the token is believed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct IdClaims {
    pub iss: String,
    pub sub: String,
    pub exp: i64,
    pub iat: i64,
    pub auth_time: Option<i64>,
    pub nonce: Option<String>,
    pub azp: Option<String>,
    pub at_hash: Option<String>,
}
// ANCHOR_END: sign_in

// ANCHOR: id_refused
/// Why an ID token was refused, in the order the checks are made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdTokenRefused {
    /// The header or the claims cannot be read, or a required claim is missing.
    Malformed,
    /// An algorithm other than RS256 or ES256 (`none` and `HS256` among them).
    WrongAlgorithm { found: Algorithm },
    /// The header names no key.
    NoKid,
    /// The provider publishes no key with this `kid`.
    UnknownKid { kid: String },
    /// The signature does not verify with that key.
    BadSignature,
    /// `iss` is not the provider the app signs in with.
    WrongIssuer,
    /// `aud` does not name this app.
    WrongAudience,
    /// `azp` names another party.
    WrongParty,
    /// `now` is at or after `exp`.
    Expired { exp: i64 },
    /// `nonce` is missing or not this sign-in's.
    WrongNonce,
    /// `at_hash` is missing or does not match the access token that came with the ID token.
    AtHashMismatch,
}
// ANCHOR_END: id_refused

// ANCHOR: validate_id_token
/// Step 13. Check an ID token (OpenID Connect Core §3.1.3.7) with the provider's published
/// keys, at `now`.
///
/// In this order: the header's `alg` is RS256 or ES256; its `kid` picks the key from the set;
/// jsonwebtoken checks the signature, `iss` and `aud` (told what to expect, and with `exp`,
/// `iss`, `aud` and `sub` required); then, yourself: `azp`, if present, is this client; `exp`
/// against `now` with no leeway; `nonce` is this sign-in's; `at_hash` is the left half of the
/// SHA-256 of `access_token`, in base64url.
pub fn validate_id_token(
    keys: &JwkSet,
    sign_in: &SignIn,
    id_token: &str,
    access_token: &str,
    now: i64,
) -> Result<IdClaims, IdTokenRefused> {
    // TODO: Step 13: every check of the doc comment, in its order.
    todo!()
}
// ANCHOR_END: validate_id_token

// ANCHOR: exchange
/// A confidential client's credentials, as `client create` printed them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub id: String,
    pub secret: String,
}

/// The token endpoint's answer to a code (RFC 6749 §5.1, OpenID Connect Core §3.1.3.3).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Tokens {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: i64,
    pub refresh_token: String,
    pub id_token: String,
    pub scope: String,
}

/// Why a code exchange failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExchangeError {
    /// The provider answered with an error (RFC 6749 §5.2): `invalid_grant`, `invalid_client`…
    Refused { error: String, description: String },
    /// No answer, or one that is neither tokens nor an error.
    Unreadable(String),
}

/// Step 14. Trade a code for tokens: `POST` to the token endpoint a form with
/// `grant_type=authorization_code`, the `code`, the same `redirect_uri` as the authorization
/// request and the PKCE `code_verifier`; the client authenticates with HTTP Basic
/// (`client_secret_basic`: `base64(id:secret)`). A 200 is the tokens; any other status with a
/// JSON `error` is [`ExchangeError::Refused`].
pub fn exchange_code(
    token_endpoint: &str,
    client: &Client,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
) -> Result<Tokens, ExchangeError> {
    // TODO: Step 14: the form, HTTP Basic for the client, and the answer read as tokens or as an error.
    todo!()
}
// ANCHOR_END: exchange

impl fmt::Display for IdTokenRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdTokenRefused::Malformed => write!(f, "the ID token cannot be read"),
            IdTokenRefused::WrongAlgorithm { found } => {
                write!(
                    f,
                    "the header says {found:?}; an ID token is RS256 or ES256"
                )
            }
            IdTokenRefused::NoKid => write!(f, "the header names no key (no kid)"),
            IdTokenRefused::UnknownKid { kid } => {
                write!(f, "the provider publishes no key with the kid {kid:?}")
            }
            IdTokenRefused::BadSignature => write!(f, "the signature does not verify"),
            IdTokenRefused::WrongIssuer => write!(f, "the ID token comes from another provider"),
            IdTokenRefused::WrongAudience => write!(f, "the ID token is for another app"),
            IdTokenRefused::WrongParty => write!(f, "the ID token was issued to another party"),
            IdTokenRefused::Expired { exp } => {
                write!(f, "the ID token expired at {}", crate::utc(*exp))
            }
            IdTokenRefused::WrongNonce => write!(f, "the nonce is not this sign-in's"),
            IdTokenRefused::AtHashMismatch => {
                write!(f, "at_hash does not match the access token")
            }
        }
    }
}

impl std::error::Error for IdTokenRefused {}
