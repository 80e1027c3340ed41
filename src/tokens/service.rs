//! Issuing and verifying tokens.
//!
//! Verification is strict (RFC 8725): the key is one of ours, found by the token's `kid`, and the
//! algorithm is that key's (never `none`, never another one the token asks for, never a key
//! carried in its header); a `crit` header is refused because we implement no extensions; and
//! every time claim is checked against our [`Clock`] with an explicit leeway. A token meant for
//! an audience is refused, since we are no audience (RFC 7519 §4.1.3; PyJWT does the same).
//! jsonwebtoken computes and compares the signature (in constant time) and nothing else: its
//! `decode` would check `exp` against the system clock with 60 s of leeway and skip `iat`,
//! `nbf`, `jti` and `token_type`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use super::{KeySet, Session, TokenError, TokenPair, TokenType, VerifiedToken, session_of};
use crate::clock::Clock;

/// The longest token we try to verify. simplejwt's are about 230 bytes; anything near this
/// limit is an attempt to make us spend memory and CPU.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Claims that a refresh hands to the new access token only after rewriting them.
const NOT_COPIED_TO_ACCESS: [&str; 4] = ["token_type", "exp", "iat", "jti"];

/// How long tokens live and how much clock skew we forgive, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
}

impl Default for TokenSettings {
    /// simplejwt's defaults (5 minutes, 1 day, no leeway), and sessions capped at 30 days.
    fn default() -> Self {
        Self {
            access_lifetime: 5 * 60,
            refresh_lifetime: 24 * 60 * 60,
            session_lifetime: 30 * 24 * 60 * 60,
            leeway: 0,
            sliding_lifetime: 5 * 60,
            sliding_refresh_lifetime: 24 * 60 * 60,
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
    keys: KeySet,
    settings: TokenSettings,
    clock: Arc<dyn Clock>,
    jti: Arc<dyn JtiSource>,
}

impl TokenService {
    pub fn new(
        keys: KeySet,
        settings: TokenSettings,
        clock: Arc<dyn Clock>,
        jti: Arc<dyn JtiSource>,
    ) -> Self {
        Self {
            keys,
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

    /// The keys this service signs and verifies with.
    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    pub fn settings(&self) -> TokenSettings {
        self.settings
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
        refresh.insert("user_id".into(), user_id.into());
        refresh.extend(extra.clone());
        let access_exp = (now + self.settings.access_lifetime).min(session.expires_at);
        let mut access = self.fresh_claims(TokenType::Access, now, &session.id, access_exp);
        access.insert("user_id".into(), user_id.into());
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
        claims.insert("user_id".into(), user_id.into());
        (self.sign(&claims), session)
    }

    /// The same sliding token with a new `exp` and `iat`, while its `refresh_exp` has not
    /// passed. Like simplejwt, it keeps its `jti` (and so its session) and its deadline.
    pub fn slide(&self, token: &VerifiedToken) -> Result<String, TokenError> {
        let now = self.clock.now();
        let refresh_exp =
            numeric_claim(&token.payload, "refresh_exp")?.ok_or(TokenError::NoRefreshExp)?;
        if refresh_exp <= now - self.settings.leeway {
            return Err(TokenError::RefreshExpired);
        }
        let mut claims = token.payload.clone();
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
        for (name, value) in &refresh.payload {
            if !NOT_COPIED_TO_ACCESS.contains(&name.as_str()) {
                access.insert(name.clone(), value.clone());
            }
        }
        // Re-inserting an existing key keeps its position, so the claim order stays simplejwt's.
        let mut renewed = refresh.payload.clone();
        let refresh_exp = (now + self.settings.refresh_lifetime).min(session_expires_at);
        renewed.insert("jti".into(), self.jti.next_jti(session).into());
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

        let now = self.clock.now();
        let leeway = self.settings.leeway;
        let issued_at = numeric_claim(&payload, "iat")?;
        if let Some(iat) = issued_at
            && iat > now + leeway
        {
            return Err(TokenError::Invalid);
        }
        if let Some(nbf) = numeric_claim(&payload, "nbf")?
            && nbf > now + leeway
        {
            return Err(TokenError::Invalid);
        }
        let exp = numeric_claim(&payload, "exp")?;
        if let Some(exp) = exp
            && exp <= now - leeway
        {
            return Err(TokenError::Expired);
        }
        let exp = exp.ok_or(TokenError::NoExp)?;
        // A token addressed to an audience is for that audience; we configure none, so it is
        // not for us, whoever signed it.
        if payload.contains_key("aud") {
            return Err(TokenError::Invalid);
        }

        let jti = match payload.get("jti") {
            None => return Err(TokenError::NoId),
            Some(Value::String(jti)) if !jti.is_empty() => jti.clone(),
            Some(_) => return Err(TokenError::Invalid),
        };
        let token_type = match payload.get("token_type") {
            None if expected.is_some() => return Err(TokenError::NoType),
            None => None,
            Some(Value::String(found)) => {
                if expected.is_some_and(|e| e.as_str() != found) {
                    return Err(TokenError::WrongType);
                }
                Some(found.clone())
            }
            Some(_) => return Err(TokenError::Invalid),
        };
        let user_id = match payload.get("user_id") {
            None => None,
            Some(Value::String(id)) => Some(id.clone()),
            Some(Value::Number(id)) if id.is_i64() || id.is_u64() => Some(id.to_string()),
            Some(_) => return Err(TokenError::Invalid),
        };
        Ok(VerifiedToken {
            token_type,
            exp,
            issued_at,
            jti,
            user_id,
            payload,
        })
    }
    // ANCHOR_END: verify

    // ANCHOR: check_signature
    /// Checks the header and the signature, then decodes the payload: each part is decoded and
    /// parsed once (`jsonwebtoken::decode` would parse both twice).
    fn check_signature(&self, token: &str) -> Result<Map<String, Value>, TokenError> {
        let (message, signature) = token.rsplit_once('.').ok_or(TokenError::Invalid)?;
        let (header, payload) = message.split_once('.').ok_or(TokenError::Invalid)?;
        let header: JoseHeader = decode_json_segment(header)?;
        // We understand no extension.
        if header.crit.is_some() {
            return Err(TokenError::Invalid);
        }
        // The key is one of ours, and the algorithm is the key's, never only the token's say.
        let key = self
            .keys
            .verifying_key(&header.alg, header.kid.as_deref())
            .ok_or(TokenError::Invalid)?;
        let genuine = jsonwebtoken::crypto::verify(
            signature,
            message.as_bytes(),
            key.decoding(),
            key.jsonwebtoken_algorithm(),
        );
        if !matches!(genuine, Ok(true)) {
            return Err(TokenError::Invalid);
        }
        decode_json_segment(payload)
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
        claims.insert("token_type".into(), token_type.as_str().into());
        claims.insert("exp".into(), exp.into());
        claims.insert("iat".into(), now.into());
        claims.insert("jti".into(), self.jti.next_jti(session).into());
        claims
    }

    /// Signs with the key that signs every new token of the API.
    fn sign(&self, claims: &Map<String, Value>) -> String {
        sign_with(self.keys.signing(), claims)
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
/// The JOSE header fields verification looks at. Other fields (`typ`, and `jwk`, `jku` or
/// `x5u`, which would hand us a key) are ignored: keys come from our configuration only.
#[derive(serde::Deserialize)]
struct JoseHeader {
    alg: String,
    /// Which of our keys signed the token; only ever compared with our own keys' ids.
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    crit: Option<Value>,
}

/// A base64url segment (no padding, canonical) holding JSON of the expected shape.
fn decode_json_segment<T: serde::de::DeserializeOwned>(segment: &str) -> Result<T, TokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| TokenError::Invalid)?;
    serde_json::from_slice(&bytes).map_err(|_| TokenError::Invalid)
}
// ANCHOR_END: decode_json_segment

// ANCHOR: numeric_claim
/// A NumericDate claim: absent is fine, a JSON number is floored to whole seconds, anything else
/// (a string, a bool, an object) makes the token invalid rather than skipping the check.
fn numeric_claim(payload: &Map<String, Value>, name: &str) -> Result<Option<i64>, TokenError> {
    match payload.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                Ok(Some(i))
            } else {
                match n.as_f64() {
                    Some(f) if f.is_finite() => Ok(Some(f.floor().clamp(-9e18, 9e18) as i64)),
                    _ => Err(TokenError::Invalid),
                }
            }
        }
        Some(_) => Err(TokenError::Invalid),
    }
}
// ANCHOR_END: numeric_claim
