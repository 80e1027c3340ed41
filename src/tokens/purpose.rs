//! Single-purpose tokens for links sent by email: a password reset and an email verification.
//!
//! Each purpose has its own `token_type`, its own `aud` and its own key, derived from the
//! server's signing key with HMAC-SHA256 and the purpose's name: so a reset link can never pass
//! for an access token, nor an access token for a reset link, whoever reads the code.
//!
//! Each token is *bound* to the state it changes: a keyed fingerprint of the current password
//! hash, or of the address and its verified flag. Using the link changes that state, so the
//! same link is refused the second time, and every other outstanding link with it; no list of
//! used tokens is needed.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Map, Value};
use sha2::Sha256;

use super::{JtiSource, LiveKeys, TokenError};
use crate::clock::Clock;

/// What a link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    PasswordReset,
    EmailVerification,
}

impl Purpose {
    pub const ALL: [Purpose; 2] = [Purpose::PasswordReset, Purpose::EmailVerification];

    /// The longest any link lives: a key must outlive the links it signed too.
    pub fn longest_lifetime() -> i64 {
        Self::ALL
            .iter()
            .map(|purpose| purpose.lifetime())
            .max()
            .unwrap_or(0)
    }

    pub fn token_type(self) -> &'static str {
        match self {
            Purpose::PasswordReset => "password_reset",
            Purpose::EmailVerification => "email_verification",
        }
    }

    pub fn audience(self) -> &'static str {
        match self {
            Purpose::PasswordReset => "password-reset",
            Purpose::EmailVerification => "email-verification",
        }
    }

    /// Reset links die fast; verification links may wait in an inbox for a day.
    pub fn lifetime(self) -> i64 {
        match self {
            Purpose::PasswordReset => 30 * 60,
            Purpose::EmailVerification => 24 * 60 * 60,
        }
    }
}

/// What a verified purpose token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurposeClaims {
    pub user_id: i64,
    /// The fingerprint of the state the token was bound to, to compare with the state now.
    pub binding: String,
    /// For an email verification, the address the link was sent to.
    pub email: Option<String>,
}

/// Issues and checks purpose tokens with keys derived from the server's keys.
#[derive(Clone)]
pub struct PurposeTokens {
    keys: LiveKeys,
    clock: Arc<dyn Clock>,
    jti: Arc<dyn JtiSource>,
}

impl PurposeTokens {
    pub fn new(keys: impl Into<LiveKeys>, clock: Arc<dyn Clock>, jti: Arc<dyn JtiSource>) -> Self {
        Self {
            keys: keys.into(),
            clock,
            jti,
        }
    }

    // ANCHOR: issue
    /// A link's token for `user_id`, bound to `state` (a password hash, or `email|verified`).
    pub fn issue(
        &self,
        purpose: Purpose,
        user_id: i64,
        state: &str,
        email: Option<&str>,
    ) -> String {
        let now = self.clock.now();
        let key = derive(self.keys.current().signing(now).material(), purpose);
        let mut claims = Map::new();
        claims.insert("token_type".into(), purpose.token_type().into());
        claims.insert("aud".into(), purpose.audience().into());
        claims.insert("sub".into(), user_id.to_string().into());
        claims.insert("exp".into(), (now + purpose.lifetime()).into());
        claims.insert("iat".into(), now.into());
        let session = self.jti.new_session();
        claims.insert("jti".into(), self.jti.next_jti(&session).into());
        claims.insert("bnd".into(), fingerprint(&key, state).into());
        if let Some(email) = email {
            claims.insert("email".into(), email.into());
        }
        let header = jsonwebtoken::Header::new(Algorithm::HS256);
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&key))
            .expect("an HMAC key always signs")
    }
    // ANCHOR_END: issue

    /// Checks signature (with any of our keys' derived keys), type, audience and time. The
    /// binding is returned for the caller to compare with [`PurposeTokens::fingerprint_now`].
    pub fn verify(&self, token: &str, purpose: Purpose) -> Result<PurposeClaims, TokenError> {
        if token.len() > super::service::MAX_TOKEN_BYTES {
            return Err(TokenError::Invalid);
        }
        let mut validation = jsonwebtoken::Validation::new(Algorithm::HS256);
        validation.set_audience(&[purpose.audience()]);
        validation.set_required_spec_claims(&["exp", "aud", "sub"]);
        // Time is ours to check, against our clock.
        validation.validate_exp = false;
        let keys = self.keys.current();
        let claims = keys
            .keys()
            .iter()
            .find_map(|key| {
                let derived = derive(key.material(), purpose);
                let decoding = jsonwebtoken::DecodingKey::from_secret(&derived);
                jsonwebtoken::decode::<Map<String, Value>>(token, &decoding, &validation).ok()
            })
            .ok_or(TokenError::Invalid)?
            .claims;
        if claims.get("token_type").and_then(Value::as_str) != Some(purpose.token_type()) {
            return Err(TokenError::WrongType);
        }
        let exp = claims
            .get("exp")
            .and_then(Value::as_i64)
            .ok_or(TokenError::Invalid)?;
        if exp <= self.clock.now() {
            return Err(TokenError::Expired);
        }
        let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
        Ok(PurposeClaims {
            user_id: text("sub")
                .and_then(|sub| sub.parse().ok())
                .ok_or(TokenError::Invalid)?,
            binding: text("bnd").ok_or(TokenError::Invalid)?,
            email: text("email"),
        })
    }

    /// The fingerprint of `state` as a token issued now would carry it; a token whose binding
    /// differs was issued for another state (the link was used, or the password changed).
    pub fn fingerprint_now(&self, purpose: Purpose, claims: &PurposeClaims, state: &str) -> bool {
        self.keys.current().keys().iter().any(|key| {
            let derived = derive(key.material(), purpose);
            constant_time_eq(
                fingerprint(&derived, state).as_bytes(),
                claims.binding.as_bytes(),
            )
        })
    }
}

/// HMAC-SHA256(server key, purpose): a key for this purpose only.
fn derive(material: &[u8], purpose: Purpose) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(material).expect("HMAC takes any key length");
    mac.update(b"jwt-workbook purpose key: ");
    mac.update(purpose.token_type().as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// A keyed, shortened hash: it tells whether the state changed without revealing it (a
/// password hash in a token anyone can decode would be an offline-cracking gift).
fn fingerprint(key: &[u8], state: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(b"binding: ");
    mac.update(state.as_bytes());
    URL_SAFE_NO_PAD.encode(&mac.finalize().into_bytes()[..16])
}

/// Compares secrets without stopping at the first difference, so timing tells nothing of the
/// value. The one comparison for tokens, codes, CSRF values and fingerprints.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    subtle::ConstantTimeEq::ct_eq(a, b).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use crate::tokens::{Key, KeySet, SequentialJti, TokenService, TokenSettings, TokenType};

    fn service(clock: &FixedClock) -> (PurposeTokens, TokenService) {
        let keys = KeySet::single(Key::hs256("a-server-key-of-some-length-0123456789"));
        let jti = Arc::new(SequentialJti::default());
        (
            PurposeTokens::new(keys.clone(), Arc::new(clock.clone()), jti.clone()),
            TokenService::new(keys, TokenSettings::default(), Arc::new(clock.clone()), jti),
        )
    }

    #[test]
    fn a_reset_link_works_for_the_password_it_was_issued_for_only() {
        let clock = FixedClock::at(1_000);
        let (purpose, _) = service(&clock);
        let token = purpose.issue(Purpose::PasswordReset, 7, "$argon2id$old", None);
        let claims = purpose.verify(&token, Purpose::PasswordReset).unwrap();
        assert_eq!(claims.user_id, 7);
        assert!(purpose.fingerprint_now(Purpose::PasswordReset, &claims, "$argon2id$old"));
        assert!(!purpose.fingerprint_now(Purpose::PasswordReset, &claims, "$argon2id$new"));
        assert!(
            !token.contains("argon2id"),
            "the hash is never in the token"
        );
        clock.advance(30 * 60);
        assert_eq!(
            purpose.verify(&token, Purpose::PasswordReset),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn purposes_and_access_tokens_never_pass_for_each_other() {
        let clock = FixedClock::at(1_000);
        let (purpose, tokens) = service(&clock);
        let reset = purpose.issue(Purpose::PasswordReset, 7, "h", None);
        let verification = purpose.issue(Purpose::EmailVerification, 7, "a@b|false", Some("a@b"));
        assert!(
            purpose
                .verify(&verification, Purpose::PasswordReset)
                .is_err()
        );
        assert!(purpose.verify(&reset, Purpose::EmailVerification).is_err());
        // A reset token is no access token: another key, another type, an audience.
        assert!(tokens.verify(&reset, Some(TokenType::Access)).is_err());
        assert!(tokens.verify(&reset, None).is_err());
        // And an access token is no reset token.
        let access = tokens.issue_pair("7").access;
        assert!(purpose.verify(&access, Purpose::PasswordReset).is_err());
    }
}
