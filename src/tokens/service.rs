//! Issuing and verifying tokens.
//!
//! Verification is strict (RFC 8725): the key is one of ours, found by the token's `kid`, and the
//! algorithm is that key's (never `none`, never another one the token asks for, never a key
//! carried in its header); a `crit` header is refused because we implement no extensions; and
//! every time claim is checked against our [`Clock`] with an explicit leeway. `iss` and `aud` are
//! written and required exactly as simplejwt's `ISSUER` and `AUDIENCE` settings make PyJWT do it
//! ([`TokenSettings::issuer`], [`TokenSettings::audience`]). jsonwebtoken computes and compares the signature (in constant time) and nothing else: its
//! `decode` would check `exp` against the system clock with 60 s of leeway and skip `iat`,
//! `nbf`, `jti` and `token_type`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::borrow::Cow;

use serde::de::IgnoredAny;
use serde_json::{Map, Value};

use super::payload::{Claim, ClaimNames, Claims, Payload};
use super::{
    KeySet, LiveKeys, Session, TokenError, TokenPair, TokenType, VerifiedToken, session_of,
};
use crate::clock::Clock;

/// The longest token we try to verify. simplejwt's are about 230 bytes; anything near this
/// limit is an attempt to make us spend memory and CPU.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// How long tokens live, how much clock skew we forgive (in seconds), and simplejwt's settings
/// for what a token says: its claim names, its issuer and its audience.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSettings {
    pub access_lifetime: i64,
    pub refresh_lifetime: i64,
    /// The absolute cap on a session: however often its refresh token is rotated, no token of
    /// it outlives `login + session_lifetime`, and then the user must log in again.
    pub session_lifetime: i64,
    /// Seconds of grace for `exp`, `nbf` and `iat` (simplejwt's `LEEWAY`, default 0).
    pub leeway: i64,
    /// A sliding token's `exp` from its last refresh (simplejwt's `SLIDING_TOKEN_LIFETIME`).
    pub sliding_lifetime: i64,
    /// How long after login a sliding token can still be refreshed (`refresh_exp`).
    pub sliding_refresh_lifetime: i64,
    /// simplejwt's `ISSUER`: written as `iss` into every token we sign, and then required, equal,
    /// in every token we accept. `None` writes none and checks none.
    pub issuer: Option<String>,
    /// simplejwt's `AUDIENCE`: written as `aud` into every token we sign (a string for one, an
    /// array for several), and then required: a token is accepted when its `aud` names at least
    /// one of them. Empty writes none, and refuses every token that names an audience: it was
    /// meant for that audience, not for us (simplejwt would accept it: one of our differences).
    pub audience: Vec<String>,
    /// Which user attribute the user id claim holds (simplejwt's `USER_ID_FIELD`).
    pub user_id_field: UserIdField,
    /// The claim naming the user (`USER_ID_CLAIM`, default `user_id`).
    pub user_id_claim: String,
    /// The claim holding the token's type (`TOKEN_TYPE_CLAIM`, default `token_type`).
    pub token_type_claim: String,
    /// The claim holding the token's id (`JTI_CLAIM`, default `jti`).
    pub jti_claim: String,
}

impl Default for TokenSettings {
    /// simplejwt's defaults (5 minutes, 1 day, no leeway, its claim names, no issuer and no
    /// audience), and sessions capped at 30 days.
    fn default() -> Self {
        Self {
            access_lifetime: 5 * 60,
            refresh_lifetime: 24 * 60 * 60,
            session_lifetime: 30 * 24 * 60 * 60,
            leeway: 0,
            sliding_lifetime: 5 * 60,
            sliding_refresh_lifetime: 24 * 60 * 60,
            issuer: None,
            audience: Vec::new(),
            user_id_field: UserIdField::Id,
            user_id_claim: "user_id".into(),
            token_type_claim: "token_type".into(),
            jti_claim: "jti".into(),
        }
    }
}

/// The user attribute a token's user id claim holds, and by which its user is looked up
/// (simplejwt's `USER_ID_FIELD`). Either way the claim is a string, as simplejwt writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UserIdField {
    /// The numeric primary key: `"user_id": "1"`.
    #[default]
    Id,
    /// The username, unique and case-sensitive: `"user_id": "vitor"`.
    Username,
}

impl UserIdField {
    /// simplejwt's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            UserIdField::Id => "id",
            UserIdField::Username => "username",
        }
    }
}

impl std::str::FromStr for UserIdField {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        match name {
            "id" | "pk" => Ok(UserIdField::Id),
            "username" => Ok(UserIdField::Username),
            other => Err(format!(
                "{other:?} is not a user field a token can name: use id or username"
            )),
        }
    }
}

// ANCHOR: jti
/// Where token ids (`jti`) come from: random in production, predictable in tests.
///
/// A jti is 32 lowercase hex digits, the shape of simplejwt's `uuid4().hex`; ours are two
/// halves: the session's 16 digits, then the token's own 16. Every token of a session (the
/// first pair, and every pair rotated from it) shares the first half, so a token names its
/// session without a claim simplejwt would not know, and without a database lookup.
pub trait JtiSource: Send + Sync + 'static {
    /// A new session's id: 16 hex digits.
    fn new_session(&self) -> String;
    /// A new token id inside `session`.
    fn next_jti(&self, session: &str) -> String;
}
// ANCHOR_END: jti

/// 64 random bits for the session and 64 for the token.
#[derive(Debug, Default)]
pub struct RandomJti;

impl JtiSource for RandomJti {
    fn new_session(&self) -> String {
        format!("{:016x}", rand::random::<u64>())
    }

    fn next_jti(&self, session: &str) -> String {
        format!("{session}{:016x}", rand::random::<u64>())
    }
}

/// Sessions `0000000000000000`, `0000000000000001`, … and tokens `…0001`, `…0002`, … counted
/// across sessions: the same shape as random ids, but stable across test runs.
#[derive(Debug, Default)]
pub struct SequentialJti {
    sessions: AtomicU64,
    tokens: AtomicU64,
}

impl JtiSource for SequentialJti {
    fn new_session(&self) -> String {
        format!("{:016x}", self.sessions.fetch_add(1, Ordering::Relaxed))
    }

    fn next_jti(&self, session: &str) -> String {
        format!(
            "{session}{:016x}",
            self.tokens.fetch_add(1, Ordering::Relaxed) + 1
        )
    }
}

/// Issues and verifies the server's tokens.
#[derive(Clone)]
pub struct TokenService {
    keys: LiveKeys,
    settings: TokenSettings,
    clock: Arc<dyn Clock>,
    jti: Arc<dyn JtiSource>,
}

impl TokenService {
    pub fn new(
        keys: impl Into<LiveKeys>,
        settings: TokenSettings,
        clock: Arc<dyn Clock>,
        jti: Arc<dyn JtiSource>,
    ) -> Self {
        Self {
            keys: keys.into(),
            settings,
            clock,
            jti,
        }
    }

    /// Link tokens (password reset, email verification) with keys derived from this
    /// service's, on the same clock.
    pub fn purpose_tokens(&self) -> super::PurposeTokens {
        super::PurposeTokens::new(self.keys.clone(), self.clock.clone(), self.jti.clone())
    }

    /// The keys this service signs and verifies with, as they are now.
    pub fn keys(&self) -> Arc<KeySet> {
        self.keys.current()
    }

    /// The same keys, kept in step with the key ring by [`LiveKeys::reload`].
    pub fn live_keys(&self) -> &LiveKeys {
        &self.keys
    }

    pub fn settings(&self) -> &TokenSettings {
        &self.settings
    }

    /// The current time on the service's clock.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    // ANCHOR: issue_pair
    /// A fresh refresh + access pair for a user who just proved who they are.
    pub fn issue_pair(&self, user_id: &str) -> TokenPair {
        self.start_session(user_id).0
    }

    /// A login: a new session, and its first pair.
    pub fn start_session(&self, user_id: &str) -> (TokenPair, Session) {
        self.start_session_with(user_id, &Map::new())
    }

    /// A login whose tokens carry `extra` claims too (after simplejwt's); a refresh copies
    /// them into every pair rotated from this one.
    pub fn start_session_with(
        &self,
        user_id: &str,
        extra: &Map<String, Value>,
    ) -> (TokenPair, Session) {
        let now = self.clock.now();
        let session = Session {
            id: self.jti.new_session(),
            user_id: user_id.to_owned(),
            started_at: now,
            expires_at: now + self.settings.session_lifetime,
        };
        let refresh_exp = (now + self.settings.refresh_lifetime).min(session.expires_at);
        let mut refresh = self.fresh_claims(TokenType::Refresh, now, &session.id, refresh_exp);
        refresh.insert(self.settings.user_id_claim.clone(), user_id.into());
        refresh.extend(extra.clone());
        let access_exp = (now + self.settings.access_lifetime).min(session.expires_at);
        let mut access = self.fresh_claims(TokenType::Access, now, &session.id, access_exp);
        access.insert(self.settings.user_id_claim.clone(), user_id.into());
        access.extend(extra.clone());
        let pair = TokenPair {
            refresh: self.sign(&refresh),
            access: self.sign(&access),
        };
        (pair, session)
    }
    // ANCHOR_END: issue_pair

    // ANCHOR: sliding
    /// A login with a sliding token: one token that opens protected routes until `exp` and can
    /// be traded for a fresh one until `refresh_exp`, simplejwt's claims in its order.
    pub fn start_sliding_session(&self, user_id: &str) -> (String, Session) {
        let now = self.clock.now();
        let session = Session {
            id: self.jti.new_session(),
            user_id: user_id.to_owned(),
            started_at: now,
            expires_at: now + self.settings.session_lifetime,
        };
        let refresh_exp = (now + self.settings.sliding_refresh_lifetime).min(session.expires_at);
        let exp = (now + self.settings.sliding_lifetime).min(refresh_exp);
        let mut claims = self.fresh_claims(TokenType::Sliding, now, &session.id, exp);
        claims.insert("refresh_exp".into(), refresh_exp.into());
        claims.insert(self.settings.user_id_claim.clone(), user_id.into());
        (self.sign(&claims), session)
    }

    /// The same sliding token with a new `exp` and `iat`, while its `refresh_exp` has not
    /// passed. Like simplejwt, it keeps its `jti` (and so its session) and its deadline.
    pub fn slide(&self, token: &VerifiedToken) -> Result<String, TokenError> {
        let now = self.clock.now();
        let refresh_exp = numeric_claim(self.claims(token.payload.as_str())?.refresh_exp.as_ref())?
            .ok_or(TokenError::NoRefreshExp)?;
        if refresh_exp <= now - self.settings.leeway {
            return Err(TokenError::RefreshExpired);
        }
        let mut claims = token.payload.claims();
        let exp = (now + self.settings.sliding_lifetime).min(refresh_exp);
        claims.insert("exp".into(), exp.into());
        claims.insert("iat".into(), now.into());
        Ok(self.sign(&claims))
    }
    // ANCHOR_END: sliding

    // ANCHOR: rotate
    /// The pair that replaces a verified refresh token: a new access token carrying the refresh
    /// token's custom claims, and the same refresh payload with a new `jti`, `iat` and `exp`.
    /// Both stay in the refresh token's session, and neither lives past `session_expires_at`.
    pub fn rotate(&self, refresh: &VerifiedToken, session_expires_at: i64) -> TokenPair {
        let now = self.clock.now();
        let session = session_of(&refresh.jti);
        let access_exp = (now + self.settings.access_lifetime).min(session_expires_at);
        let mut access = self.fresh_claims(TokenType::Access, now, session, access_exp);
        // simplejwt's `no_copy_claims`: the type, the times and the id, by their configured
        // names and by their usual ones.
        let settings = &self.settings;
        let not_copied = [
            settings.token_type_claim.as_str(),
            "exp",
            settings.jti_claim.as_str(),
            "jti",
            "iat",
        ];
        let mut renewed = refresh.payload.claims();
        for (name, value) in &renewed {
            if !not_copied.contains(&name.as_str()) {
                access.insert(name.clone(), value.clone());
            }
        }
        // Re-inserting an existing key keeps its position, so the claim order stays simplejwt's.
        let refresh_exp = (now + self.settings.refresh_lifetime).min(session_expires_at);
        renewed.insert(
            self.settings.jti_claim.clone(),
            self.jti.next_jti(session).into(),
        );
        renewed.insert("exp".into(), refresh_exp.into());
        renewed.insert("iat".into(), now.into());
        TokenPair {
            refresh: self.sign(&renewed),
            access: self.sign(&access),
        }
    }
    // ANCHOR_END: rotate

    // ANCHOR: verify
    /// Checks everything about a token except whether it was revoked. With `expected` set, the
    /// `token_type` claim must match it; with `None` any type (or none) passes, like simplejwt's
    /// `UntypedToken`. The order of the checks follows simplejwt, so the first reason reported
    /// is the one its clients expect.
    pub fn verify(
        &self,
        token: &str,
        expected: Option<TokenType>,
    ) -> Result<VerifiedToken, TokenError> {
        if token.is_empty() || token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Invalid);
        }
        let payload = self.check_signature(token)?;
        let claims = self.claims(&payload)?;

        let now = self.clock.now();
        let leeway = self.settings.leeway;
        let issued_at = numeric_claim(claims.iat.as_ref())?;
        if let Some(iat) = issued_at
            && iat > now + leeway
        {
            return Err(TokenError::Invalid);
        }
        if let Some(nbf) = numeric_claim(claims.nbf.as_ref())?
            && nbf > now + leeway
        {
            return Err(TokenError::Invalid);
        }
        let exp = numeric_claim(claims.exp.as_ref())?;
        if let Some(exp) = exp
            && exp <= now - leeway
        {
            return Err(TokenError::Expired);
        }
        let exp = exp.ok_or(TokenError::NoExp)?;
        self.check_issuer_and_audience(&claims)?;

        let jti = match claims.jti {
            None => return Err(TokenError::NoId),
            Some(Claim::String(jti)) if !jti.is_empty() => jti.into_owned(),
            Some(_) => return Err(TokenError::Invalid),
        };
        let token_type = match claims.token_type {
            None if expected.is_some() => return Err(TokenError::NoType),
            None => None,
            Some(Claim::String(found)) => {
                if expected.is_some_and(|e| e.as_str() != found) {
                    return Err(TokenError::WrongType);
                }
                Some(found.into_owned())
            }
            Some(_) => return Err(TokenError::Invalid),
        };
        let user_id = match claims.user_id {
            None => None,
            Some(Claim::String(id)) => Some(id.into_owned()),
            Some(Claim::Integer(id)) => Some(id.to_string()),
            Some(Claim::Large(id)) => Some(id.to_string()),
            Some(_) => return Err(TokenError::Invalid),
        };
        Ok(VerifiedToken {
            token_type,
            exp,
            issued_at,
            jti,
            user_id,
            payload: Payload::verified(payload),
        })
    }
    // ANCHOR_END: verify

    // ANCHOR: issuer_and_audience
    /// PyJWT's checks, as simplejwt configures them: with an issuer, `iss` must be present and
    /// equal to it; with an audience, `aud` (a string, or an array of strings) must be present
    /// and name one of ours. Without an audience, a token that has an `aud` at all is refused
    /// (RFC 7519 §4.1.3), where simplejwt turns PyJWT's audience check off: simplejwt never
    /// writes an `aud` without `AUDIENCE`, so such a token was minted by someone else holding
    /// the key, for someone else. PyJWT also refuses a `sub` or a `jti` that is not a string,
    /// whatever claim simplejwt's `JTI_CLAIM` names.
    fn check_issuer_and_audience(&self, claims: &Claims<'_>) -> Result<(), TokenError> {
        let is_string = |claim: &Option<Claim<'_>>| matches!(claim, Some(Claim::String(_)));
        if let Some(issuer) = &self.settings.issuer
            && !matches!(&claims.iss, Some(Claim::String(iss)) if iss == issuer)
        {
            return Err(TokenError::Invalid);
        }
        let ours = &self.settings.audience;
        if ours.is_empty() {
            if claims.aud.is_some() {
                return Err(TokenError::Invalid);
            }
        } else {
            let named = |claimed: &str| ours.iter().any(|aud| aud == claimed);
            let for_us = match &claims.aud {
                Some(Claim::String(claimed)) => named(claimed),
                Some(Claim::Strings(claimed)) => claimed.iter().any(|aud| named(aud)),
                _ => false,
            };
            if !for_us {
                return Err(TokenError::Invalid);
            }
        }
        if [&claims.sub, &claims.registered_jti]
            .into_iter()
            .any(|claim| claim.is_some() && !is_string(claim))
        {
            return Err(TokenError::Invalid);
        }
        Ok(())
    }
    // ANCHOR_END: issuer_and_audience

    /// The claims `verify` checks, under the names this service is configured with.
    fn claims<'a>(&self, payload: &'a str) -> Result<Claims<'a>, TokenError> {
        let settings = &self.settings;
        let names = ClaimNames {
            jti: &settings.jti_claim,
            token_type: &settings.token_type_claim,
            user_id: &settings.user_id_claim,
        };
        Claims::read(payload, &names).map_err(|_| TokenError::Invalid)
    }

    // ANCHOR: check_signature
    /// Checks the header and the signature, then decodes the payload's base64url: its JSON is
    /// read only once the signature is known to be ours.
    fn check_signature(&self, token: &str) -> Result<String, TokenError> {
        let (message, signature) = token.rsplit_once('.').ok_or(TokenError::Invalid)?;
        let (header, payload) = message.split_once('.').ok_or(TokenError::Invalid)?;
        let header = decode_segment(header)?;
        let header: JoseHeader<'_> =
            serde_json::from_str(&header).map_err(|_| TokenError::Invalid)?;
        // We understand no extension.
        if header.crit.is_some() {
            return Err(TokenError::Invalid);
        }
        // The key is one of ours, and the algorithm is the key's, never only the token's say.
        let genuine = self.keys.with(|keys| {
            let key = keys.verifying_key(&header.alg, header.kid.as_deref())?;
            jsonwebtoken::crypto::verify(
                signature,
                message.as_bytes(),
                key.decoding(),
                key.jsonwebtoken_algorithm(),
            )
            .ok()
        });
        if genuine != Some(true) {
            return Err(TokenError::Invalid);
        }
        decode_segment(payload)
    }
    // ANCHOR_END: check_signature

    fn fresh_claims(
        &self,
        token_type: TokenType,
        now: i64,
        session: &str,
        exp: i64,
    ) -> Map<String, Value> {
        let mut claims = Map::new();
        claims.insert(
            self.settings.token_type_claim.clone(),
            token_type.as_str().into(),
        );
        claims.insert("exp".into(), exp.into());
        claims.insert("iat".into(), now.into());
        claims.insert(
            self.settings.jti_claim.clone(),
            self.jti.next_jti(session).into(),
        );
        claims
    }

    /// Signs with the key that signs every new token of the API now. Like simplejwt's
    /// `TokenBackend.encode`, the configured `aud` then `iss` are set last: after the other
    /// claims in a new token, in place in one carried over from a refresh.
    fn sign(&self, claims: &Map<String, Value>) -> String {
        let keys = self.keys.current();
        let key = keys.signing(self.clock.now());
        match self.audience_and_issuer() {
            None => sign_with(key, claims),
            Some((aud, iss)) => {
                let mut claims = claims.clone();
                if let Some(aud) = aud {
                    claims.insert("aud".into(), aud);
                }
                if let Some(iss) = iss {
                    claims.insert("iss".into(), iss.into());
                }
                sign_with(key, &claims)
            }
        }
    }

    /// The `aud` and `iss` every token we sign carries, if any is configured.
    fn audience_and_issuer(&self) -> Option<(Option<Value>, Option<&str>)> {
        let aud = match self.settings.audience.as_slice() {
            [] => None,
            [one] => Some(Value::from(one.as_str())),
            several => Some(Value::from(several.to_vec())),
        };
        let iss = self.settings.issuer.as_deref();
        (aud.is_some() || iss.is_some()).then_some((aud, iss))
    }
}

// ANCHOR: sign
/// The header is the key's, prepared once (for the simplejwt-compatible key it is
/// `{"alg":"HS256","typ":"JWT"}` byte for byte); then the payload and the signature. The
/// OpenID Connect provider signs its ID tokens here too, with the server's key pair.
pub fn sign_with(key: &crate::keys::Key, claims: &Map<String, Value>) -> String {
    let payload = serde_json::to_vec(claims).unwrap_or_default();
    let mut token = String::with_capacity(128 + payload.len() * 4 / 3 + 350);
    token.push_str(key.header_segment());
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(payload, &mut token);
    let signature = jsonwebtoken::crypto::sign(
        token.as_bytes(),
        key.encoding(),
        key.jsonwebtoken_algorithm(),
    )
    .expect("every key proved it can sign when it was loaded");
    token.push('.');
    token.push_str(&signature);
    token
}
// ANCHOR_END: sign

// ANCHOR: decode_json_segment
/// The JOSE header fields verification looks at, borrowed from the header's text. Other
/// fields (`typ`, and `jwk`, `jku` or `x5u`, which would hand us a key) are ignored: keys come
/// from our configuration only.
#[derive(serde::Deserialize)]
struct JoseHeader<'a> {
    #[serde(borrow)]
    alg: Cow<'a, str>,
    /// Which of our keys signed the token; only ever compared with our own keys' ids.
    #[serde(default, borrow)]
    kid: Option<Cow<'a, str>>,
    #[serde(default)]
    crit: Option<IgnoredAny>,
}

/// A base64url segment (no padding, canonical) holding UTF-8 text, as JSON must be.
fn decode_segment(segment: &str) -> Result<String, TokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| TokenError::Invalid)?;
    String::from_utf8(bytes).map_err(|_| TokenError::Invalid)
}
// ANCHOR_END: decode_json_segment

// ANCHOR: numeric_claim
/// A NumericDate claim: absent is fine, a JSON number is floored to whole seconds, anything else
/// (a string, a bool, an object) makes the token invalid rather than skipping the check.
fn numeric_claim(claim: Option<&Claim<'_>>) -> Result<Option<i64>, TokenError> {
    let seconds = match claim {
        None => return Ok(None),
        Some(Claim::Integer(i)) => return Ok(Some(*i)),
        Some(Claim::Large(u)) => *u as f64,
        Some(Claim::Float(f)) => *f,
        Some(_) => return Err(TokenError::Invalid),
    };
    match seconds {
        f if f.is_finite() => Ok(Some(f.floor().clamp(-9e18, 9e18) as i64)),
        _ => Err(TokenError::Invalid),
    }
}
// ANCHOR_END: numeric_claim

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use crate::tokens::Key;

    fn service(settings: TokenSettings) -> TokenService {
        TokenService::new(
            KeySet::single(Key::hs256("test-only-signing-key-0123456789abcdefghij")),
            settings,
            Arc::new(FixedClock::at(1_795_358_767)),
            Arc::new(SequentialJti::default()),
        )
    }

    /// Tokens the code issued before the claim settings existed (a fixed clock, sequential ids,
    /// default settings): a login's pair, that pair rotated, a sliding token and its slide.
    const BEFORE_THE_SETTINGS: [&str; 6] = [
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCIsImV4cCI6MTc5NTQ0NTE2NywiaWF0IjoxNzk1MzU4NzY3LCJqdGkiOiIwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMSIsInVzZXJfaWQiOiIxIn0.FTDPoY7PEMNyiHEhhDsiHWPj9sR05H4SAD1o1ZONVek",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjoxNzk1MzU5MDY3LCJpYXQiOjE3OTUzNTg3NjcsImp0aSI6IjAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAyIiwidXNlcl9pZCI6IjEifQ.uQgzcIxNG1lidXIpPNxpBr5KiRkxXdaaqYh1VewsW1Q",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCIsImV4cCI6MTc5NTQ0NTE2NywiaWF0IjoxNzk1MzU4NzY3LCJqdGkiOiIwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwNCIsInVzZXJfaWQiOiIxIn0.1MORW0kX5Koneb8cyLRPRWpBQjrx9yz3fpGI3V9Z8TA",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjoxNzk1MzU5MDY3LCJpYXQiOjE3OTUzNTg3NjcsImp0aSI6IjAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAzIiwidXNlcl9pZCI6IjEifQ.K-MnmccwAdPyre7hIin-IGB_e-gYbuCPgQGvXatiROk",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoic2xpZGluZyIsImV4cCI6MTc5NTM1OTA2NywiaWF0IjoxNzk1MzU4NzY3LCJqdGkiOiIwMDAwMDAwMDAwMDAwMDAxMDAwMDAwMDAwMDAwMDAwNSIsInJlZnJlc2hfZXhwIjoxNzk1NDQ1MTY3LCJ1c2VyX2lkIjoiMSJ9.G5O-QLvu4B59uypYzIwZOhhjZFCt9wM90qpCj18yi-4",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoic2xpZGluZyIsImV4cCI6MTc5NTM1OTA2NywiaWF0IjoxNzk1MzU4NzY3LCJqdGkiOiIwMDAwMDAwMDAwMDAwMDAxMDAwMDAwMDAwMDAwMDAwNSIsInJlZnJlc2hfZXhwIjoxNzk1NDQ1MTY3LCJ1c2VyX2lkIjoiMSJ9.G5O-QLvu4B59uypYzIwZOhhjZFCt9wM90qpCj18yi-4",
    ];

    /// The same six tokens, issued by `tokens`.
    fn six_tokens(tokens: &TokenService) -> [String; 6] {
        let pair = tokens.issue_pair("1");
        let refresh = tokens
            .verify(&pair.refresh, Some(TokenType::Refresh))
            .unwrap();
        let rotated = tokens.rotate(&refresh, i64::MAX);
        let (sliding, _) = tokens.start_sliding_session("1");
        let slid = tokens
            .slide(&tokens.verify(&sliding, Some(TokenType::Sliding)).unwrap())
            .unwrap();
        [
            pair.refresh,
            pair.access,
            rotated.refresh,
            rotated.access,
            sliding,
            slid,
        ]
    }

    fn payload(token: &str) -> Value {
        let payload = token.split('.').nth(1).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
    }

    fn claim_names(token: &str) -> Vec<String> {
        payload(token)
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    }

    #[test]
    fn with_no_setting_changed_tokens_are_byte_for_byte_those_of_before() {
        let tokens = service(TokenSettings::default());
        assert_eq!(six_tokens(&tokens), BEFORE_THE_SETTINGS);
    }

    fn configured() -> TokenSettings {
        TokenSettings {
            issuer: Some("https://auth.example.com".into()),
            audience: vec!["shop".into()],
            user_id_claim: "sub".into(),
            token_type_claim: "typ".into(),
            jti_claim: "token_id".into(),
            ..TokenSettings::default()
        }
    }

    #[test]
    fn configured_names_issuer_and_audience_are_written_in_simplejwts_order() {
        let tokens = service(configured());
        let [
            refresh,
            access,
            rotated_refresh,
            rotated_access,
            sliding,
            slid,
        ] = six_tokens(&tokens);
        let fresh = ["typ", "exp", "iat", "token_id", "sub", "aud", "iss"];
        assert_eq!(claim_names(&refresh), fresh);
        assert_eq!(claim_names(&access), fresh);
        assert_eq!(claim_names(&rotated_refresh), fresh);
        assert_eq!(claim_names(&rotated_access), fresh);
        let sliding_claims = [
            "typ",
            "exp",
            "iat",
            "token_id",
            "refresh_exp",
            "sub",
            "aud",
            "iss",
        ];
        assert_eq!(claim_names(&sliding), sliding_claims);
        assert_eq!(claim_names(&slid), sliding_claims);
        let claims = payload(&access);
        assert_eq!(claims["aud"], "shop");
        assert_eq!(claims["iss"], "https://auth.example.com");
        assert_eq!(claims["typ"], "access");
        assert_eq!(claims["sub"], "1");
        let verified = tokens.verify(&access, Some(TokenType::Access)).unwrap();
        assert_eq!(verified.user_id.as_deref(), Some("1"));
        assert_eq!(verified.jti, claims["token_id"]);
        assert_eq!(verified.token_type.as_deref(), Some("access"));
    }

    #[test]
    fn several_audiences_are_written_as_an_array() {
        let tokens = service(TokenSettings {
            audience: vec!["shop".into(), "admin".into()],
            ..TokenSettings::default()
        });
        assert_eq!(
            payload(&tokens.issue_pair("1").access)["aud"],
            serde_json::json!(["shop", "admin"])
        );
    }

    /// A token with these claims added to a valid access token's, signed with the test key
    /// and nothing else added.
    fn access_with(extra: Value) -> String {
        let plain = service(TokenSettings::default());
        let mut claims = payload(&plain.issue_pair("1").access)
            .as_object()
            .unwrap()
            .clone();
        claims.extend(extra.as_object().unwrap().clone());
        plain.sign(&claims)
    }

    #[test]
    fn issuer_and_audience_are_required_as_pyjwt_requires_them() {
        use serde_json::json;
        let strict = service(TokenSettings {
            issuer: Some("https://auth.example.com".into()),
            audience: vec!["shop".into(), "admin".into()],
            ..TokenSettings::default()
        });
        let iss = "https://auth.example.com";
        let accepted = [
            json!({"iss": iss, "aud": "shop"}),
            json!({"iss": iss, "aud": "admin"}),
            json!({"iss": iss, "aud": ["elsewhere", "admin"]}),
        ];
        for claims in accepted {
            let token = access_with(claims.clone());
            assert!(
                strict.verify(&token, Some(TokenType::Access)).is_ok(),
                "{claims}"
            );
        }
        let refused = [
            json!({"aud": "shop"}),
            json!({"iss": "https://auth.example.com/", "aud": "shop"}),
            json!({"iss": "auth.example.com", "aud": "shop"}),
            json!({"iss": 1, "aud": "shop"}),
            json!({"iss": iss}),
            json!({"iss": iss, "aud": "elsewhere"}),
            json!({"iss": iss, "aud": "Shop"}),
            json!({"iss": iss, "aud": ""}),
            json!({"iss": iss, "aud": []}),
            json!({"iss": iss, "aud": ["shop", 1]}),
            json!({"iss": iss, "aud": {"shop": true}}),
            json!({"iss": iss, "aud": "shop", "sub": 1}),
        ];
        for claims in refused {
            let token = access_with(claims.clone());
            assert_eq!(
                strict.verify(&token, Some(TokenType::Access)),
                Err(TokenError::Invalid),
                "{claims}"
            );
        }
    }

    #[test]
    fn without_an_audience_a_token_naming_any_is_refused_and_an_iss_is_not_looked_at() {
        let open = service(TokenSettings::default());
        for aud in [
            serde_json::json!("anyone"),
            serde_json::json!(["a", "b"]),
            serde_json::json!([]),
            serde_json::json!(""),
        ] {
            let token = access_with(serde_json::json!({ "aud": aud }));
            assert_eq!(
                open.verify(&token, Some(TokenType::Access)),
                Err(TokenError::Invalid),
                "{aud}"
            );
        }
        let token = access_with(serde_json::json!({ "iss": "whoever" }));
        assert!(open.verify(&token, Some(TokenType::Access)).is_ok());
    }

    #[test]
    fn a_refresh_keeps_custom_claims_but_not_the_configured_type_and_id() {
        let tokens = service(configured());
        let pair = tokens.issue_pair("1");
        let refresh = tokens
            .verify(&pair.refresh, Some(TokenType::Refresh))
            .unwrap();
        let rotated = tokens.rotate(&refresh, i64::MAX);
        let access = payload(&rotated.access);
        assert_eq!(access["typ"], "access");
        assert_ne!(access["token_id"], payload(&pair.refresh)["token_id"]);
        assert_ne!(
            payload(&rotated.refresh)["token_id"],
            payload(&pair.refresh)["token_id"]
        );
    }

    #[test]
    fn a_jti_that_is_not_a_string_is_refused_whatever_the_jti_claim_is_named() {
        let renamed = service(configured());
        let mut claims = payload(&renamed.issue_pair("1").access)
            .as_object()
            .unwrap()
            .clone();
        claims.insert("jti".into(), 7.into());
        let token = renamed.sign(&claims);
        assert_eq!(
            renamed.verify(&token, Some(TokenType::Access)),
            Err(TokenError::Invalid)
        );
        claims.insert("jti".into(), "a string".into());
        let token = renamed.sign(&claims);
        assert!(renamed.verify(&token, Some(TokenType::Access)).is_ok());
    }

    #[test]
    fn user_id_fields_are_read_by_simplejwts_names() {
        assert_eq!("id".parse(), Ok(UserIdField::Id));
        assert_eq!("username".parse(), Ok(UserIdField::Username));
        assert!(
            "email"
                .parse::<UserIdField>()
                .unwrap_err()
                .contains("use id or username")
        );
    }
}
