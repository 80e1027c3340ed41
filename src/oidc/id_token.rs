//! The ID token: the provider's signed statement to one client that a user signed in — who
//! (`sub`), to whom (`aud`, `azp`), by whom (`iss`), when (`iat`, `auth_time`), in answer to
//! which request (`nonce`), and alongside which access token (`at_hash`). It is for the client
//! to read, never a bearer token for an API: its audience is the client.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::keys::{Key, KeyAlgorithm};

// ANCHOR: at_hash
/// `at_hash` (OpenID Connect Core §3.1.3.6): the left half of the hash of the access token's
/// ASCII, base64url-encoded, with the hash of the ID token's algorithm (SHA-256 for RS256 and
/// ES256). It binds the access token to the ID token: a client that checks it knows the
/// access token came in the same response.
pub fn at_hash(access_token: &str) -> String {
    let digest = Sha256::digest(access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}
// ANCHOR_END: at_hash

/// The key an ID token is signed with at `now`: the newest RS256 or ES256 key of the server's
/// set that is active (a key rotated in signs ID tokens only once it signs the API's tokens,
/// when every client's cached JWK Set has it), or else the newest one there is. OpenID Connect
/// requires RS256 support of every client; ES256 is used when it is the configured key pair.
/// An HS256 secret never signs one (the client would need our secret).
pub fn signing_key(keys: &[Key], now: i64) -> Option<&Key> {
    let pairs = || {
        keys.iter()
            .filter(|key| matches!(key.algorithm(), KeyAlgorithm::RS256 | KeyAlgorithm::ES256))
    };
    pairs()
        .find(|key| key.activates_at() <= now)
        .or_else(|| pairs().next())
}

/// The claims of an ID token this key signed, whatever its age: RP-initiated logout's
/// `id_token_hint` is often an expired one, and only says which client and user ask.
pub fn read_own(key: &Key, token: &str) -> Option<Map<String, Value>> {
    let (message, signature) = token.rsplit_once('.')?;
    let (header, payload) = message.split_once('.')?;
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
    if header["alg"] != key.algorithm().as_str() || header["kid"] != key.kid() {
        return None;
    }
    let genuine = jsonwebtoken::crypto::verify(
        signature,
        message.as_bytes(),
        key.decoding(),
        key.jsonwebtoken_algorithm(),
    );
    if !matches!(genuine, Ok(true)) {
        return None;
    }
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

/// What an ID token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdTokenClaims<'a> {
    pub issuer: &'a str,
    pub subject: String,
    pub client_id: &'a str,
    pub issued_at: i64,
    pub expires_at: i64,
    pub auth_time: i64,
    pub nonce: Option<&'a str>,
    pub access_token: &'a str,
    /// The browser session, for front-channel logout.
    pub session: Option<&'a str>,
}

// ANCHOR: claims
impl IdTokenClaims<'_> {
    /// The claims in the order OpenID Connect Core lists them.
    pub fn to_map(&self) -> Map<String, Value> {
        let mut claims = Map::new();
        claims.insert("iss".into(), self.issuer.into());
        claims.insert("sub".into(), self.subject.clone().into());
        claims.insert("aud".into(), self.client_id.into());
        claims.insert("exp".into(), self.expires_at.into());
        claims.insert("iat".into(), self.issued_at.into());
        claims.insert("auth_time".into(), self.auth_time.into());
        if let Some(nonce) = self.nonce {
            claims.insert("nonce".into(), nonce.into());
        }
        claims.insert("azp".into(), self.client_id.into());
        claims.insert("at_hash".into(), at_hash(self.access_token).into());
        if let Some(session) = self.session {
            claims.insert("sid".into(), session.into());
        }
        claims
    }
}
// ANCHOR_END: claims

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_is_the_left_half_of_the_sha256_in_base64url() {
        // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223 b00361a396177a9cb410ff61f20015ad
        let left_half = [
            0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae,
            0x22, 0x23,
        ];
        assert_eq!(at_hash("abc"), URL_SAFE_NO_PAD.encode(left_half));
        assert_eq!(at_hash("abc").len(), 22);
    }

    #[test]
    fn a_secret_never_signs_an_id_token() {
        let (es, _) = Key::generate(KeyAlgorithm::ES256).unwrap();
        let (ed, _) = Key::generate(KeyAlgorithm::EdDSA).unwrap();
        assert!(signing_key(&[Key::hs256("secret")], 0).is_none());
        assert!(signing_key(&[Key::hs256("secret"), ed.clone()], 0).is_none());
        let keys = [Key::hs256("secret"), ed, es.clone()];
        assert_eq!(signing_key(&keys, 0).unwrap().kid(), es.kid());
    }

    /// A key rotated into the ring signs ID tokens when it signs the API's tokens, not before:
    /// until then clients' cached JWK Sets may not have it.
    #[test]
    fn a_rotated_in_key_pair_signs_id_tokens_only_once_active() {
        let (old, _) = Key::generate(KeyAlgorithm::ES256).unwrap();
        let (new, _) = Key::generate(KeyAlgorithm::RS256).unwrap();
        let keys = [new.clone().activating_at(600), old.clone().activating_at(0)];
        assert_eq!(signing_key(&keys, 599).unwrap().kid(), old.kid());
        assert_eq!(signing_key(&keys, 600).unwrap().kid(), new.kid());
    }
}
