//! What a relying party does with the provider's answers: the PKCE pair for a new sign-in, and
//! the checks an ID token must pass before the app believes it (OpenID Connect Core §3.1.3.7).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use crate::oidc::id_token::at_hash;
use crate::oidc::pkce::challenge_of;

/// Seconds of clock difference forgiven between the provider and the app.
const LEEWAY: u64 = 5;

/// A new sign-in's secrets: the PKCE verifier (kept), its challenge (sent), and the nonce.
pub struct PendingSignIn {
    pub verifier: String,
    pub challenge: String,
    pub nonce: String,
}

impl PendingSignIn {
    pub fn new() -> Self {
        let verifier = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
        Self {
            challenge: challenge_of(&verifier),
            verifier,
            nonce: URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>()),
        }
    }
}

impl Default for PendingSignIn {
    fn default() -> Self {
        Self::new()
    }
}

// ANCHOR: validate
/// The ID token's claims once every check passed: signed by a key of the provider's JWKS with
/// the algorithm that key is for, issued by `issuer`, for this client (`aud` and `azp`), not
/// expired, answering this sign-in (`nonce`), and issued with this access token (`at_hash`).
pub fn validate_id_token(
    id_token: &str,
    jwks: &JwkSet,
    issuer: &str,
    client_id: &str,
    nonce: &str,
    access_token: &str,
) -> Result<Map<String, Value>, String> {
    let header = jsonwebtoken::decode_header(id_token).map_err(|e| e.to_string())?;
    if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
        return Err(format!("{:?} is not an algorithm we accept", header.alg));
    }
    let kid = header.kid.ok_or("the ID token names no key")?;
    let jwk = jwks
        .find(&kid)
        .ok_or("the key is not in the provider's JWKS")?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[client_id]);
    validation.set_required_spec_claims(&["iss", "sub", "aud", "exp", "iat"]);
    validation.leeway = LEEWAY;
    let claims: Map<String, Value> = jsonwebtoken::decode(id_token, &key, &validation)
        .map_err(|e| e.to_string())?
        .claims;
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if text("azp").is_some_and(|azp| azp != client_id) {
        return Err("the ID token was issued to another party (azp)".into());
    }
    if text("nonce") != Some(nonce) {
        return Err("the nonce is not this sign-in's".into());
    }
    if text("at_hash") != Some(at_hash(access_token).as_str()) {
        return Err("at_hash does not match the access token".into());
    }
    Ok(claims)
}
// ANCHOR_END: validate

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, SystemClock};
    use crate::keys::{Key, KeyAlgorithm, KeySet};
    use crate::oidc::id_token::IdTokenClaims;
    use crate::tokens::sign_with;

    const ISSUER: &str = "http://127.0.0.1:8000";

    fn signed(key: &Key, client_id: &str, nonce: &str, access: &str) -> String {
        let now = SystemClock.now();
        let claims = IdTokenClaims {
            issuer: ISSUER,
            subject: "1".into(),
            client_id,
            issued_at: now,
            expires_at: now + 600,
            auth_time: now,
            nonce: Some(nonce),
            access_token: access,
            session: None,
        };
        sign_with(key, &claims.to_map())
    }

    #[test]
    fn an_id_token_passes_only_for_its_client_its_nonce_and_its_access_token() {
        let (key, _) = Key::generate(KeyAlgorithm::ES256).unwrap();
        let jwks: JwkSet = serde_json::from_value(KeySet::single(key.clone()).jwks()).unwrap();
        let token = signed(&key, "notes", "n1", "access-1");
        let check = |client: &str, nonce: &str, access: &str| {
            validate_id_token(&token, &jwks, ISSUER, client, nonce, access)
        };
        assert_eq!(check("notes", "n1", "access-1").unwrap()["sub"], "1");
        assert!(check("calendar", "n1", "access-1").is_err());
        assert!(
            check("notes", "n2", "access-1")
                .unwrap_err()
                .contains("nonce")
        );
        assert!(
            check("notes", "n1", "access-2")
                .unwrap_err()
                .contains("at_hash")
        );
        let (stranger, _) = Key::generate(KeyAlgorithm::ES256).unwrap();
        let forged = signed(&stranger, "notes", "n1", "access-1");
        let refused = validate_id_token(&forged, &jwks, ISSUER, "notes", "n1", "access-1");
        assert!(refused.is_err());
    }
}
