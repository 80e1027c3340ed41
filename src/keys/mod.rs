//! The keys that sign and verify tokens: HS256 secrets and RS256, ES256 and EdDSA key pairs,
//! each with a `kid`; the [`KeySet`] in which the newest key signs and every key verifies; the
//! public keys as a JWK Set; and the rules for accepting a key. Also where the server's keys come
//! from ([`load`]: flags, environment, the key ring, development files), the key ring on disk
//! ([`ring`]) and the `key` subcommand ([`command`]): one room for everything about keys.

pub mod command;
pub mod live;
pub mod load;
pub mod ring;

pub use live::LiveKeys;
pub use load::{KeySources, LoadError, load_keys};
pub use ring::{Keyring, KeyringError};

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Below this many bytes an HS256 key can be brute-forced offline from a single token
/// (RFC 7518 §3.2 asks for a key at least as long as the hash: 256 bits).
pub const MIN_KEY_BYTES: usize = 32;

/// Below this an RSA modulus is refused (RFC 7518 §3.3 asks for 2048 bits or more).
pub const MIN_RSA_BITS: usize = 2048;

/// The size of the RSA keys we generate.
const GENERATED_RSA_BITS: usize = 2048;

/// The signature algorithms the server can sign and verify with. `none` is not one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyAlgorithm {
    /// HMAC-SHA256 with a shared secret: whoever can verify can also sign.
    HS256,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// Ed25519.
    EdDSA,
}

impl KeyAlgorithm {
    pub const ALL: [KeyAlgorithm; 4] = [Self::HS256, Self::RS256, Self::ES256, Self::EdDSA];

    /// The `alg` header value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HS256 => "HS256",
            Self::RS256 => "RS256",
            Self::ES256 => "ES256",
            Self::EdDSA => "EdDSA",
        }
    }

    /// Whether the verifying half can be published.
    pub fn is_asymmetric(self) -> bool {
        self != Self::HS256
    }

    fn jsonwebtoken(self) -> Algorithm {
        match self {
            Self::HS256 => Algorithm::HS256,
            Self::RS256 => Algorithm::RS256,
            Self::ES256 => Algorithm::ES256,
            Self::EdDSA => Algorithm::EdDSA,
        }
    }
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for KeyAlgorithm {
    type Err = KeyError;

    /// The exact `alg` names (as in a token's header), case-insensitively for a person typing.
    fn from_str(text: &str) -> Result<Self, KeyError> {
        Self::ALL
            .into_iter()
            .find(|alg| alg.as_str().eq_ignore_ascii_case(text))
            .ok_or_else(|| KeyError::UnknownAlgorithm(text.to_owned()))
    }
}

/// Why a key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("unknown algorithm {0:?}: choose HS256, RS256, ES256 or EdDSA")]
    UnknownAlgorithm(String),
    #[error("this is not a {algorithm} private key in PEM form: {reason}")]
    BadPem {
        algorithm: KeyAlgorithm,
        reason: String,
    },
    #[error("the RSA key has {bits} bits; at least {MIN_RSA_BITS} are needed")]
    WeakRsa { bits: usize },
    #[error("an HS256 secret has no PEM form; give its bytes instead")]
    SecretAsPem,
    #[error("could not generate a {0} key: {1}")]
    Generation(KeyAlgorithm, String),
}

/// One key: its `kid`, its algorithm, and what it takes to sign and to verify with it.
#[derive(Clone)]
pub struct Key {
    kid: String,
    algorithm: KeyAlgorithm,
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// The public key as a JWK, for the JWK Set; `None` for a secret.
    public_jwk: Option<Value>,
    /// The header every token this key signs starts with, already base64url-encoded.
    header_segment: String,
    /// A key configured the way simplejwt is (one HS256 secret): its tokens carry no `kid`, and
    /// tokens without one are checked with it.
    unnamed: bool,
    /// The secret's bytes, kept only to judge their strength.
    secret: Option<Arc<[u8]>>,
    /// From when it may sign (seconds since the epoch). Until then it is published and verifies,
    /// so that every instance and every cached JWK Set knows it before a token carries its `kid`.
    activates_at: i64,
}

impl Key {
    // ANCHOR: header_segment
    /// The simplejwt-compatible HS256 key: tokens start with `{"alg":"HS256","typ":"JWT"}`
    /// exactly, as simplejwt's do, so tokens already issued by a Django service still verify.
    /// Its bytes are used as they are, as Django uses `SECRET_KEY`'s UTF-8 bytes. Strength is
    /// judged by [`Key::weakness`], not here, so tests and development can use short keys.
    pub fn hs256(secret: impl Into<Vec<u8>>) -> Self {
        let mut key = Self::hs256_named("hs256", secret);
        key.unnamed = true;
        key.header_segment = segment(&json!({"alg": "HS256", "typ": "JWT"}));
        key
    }
    // ANCHOR_END: header_segment

    /// An HS256 key from a key ring: its tokens name it in their `kid`.
    pub fn hs256_named(kid: impl Into<String>, secret: impl Into<Vec<u8>>) -> Self {
        let secret: Arc<[u8]> = secret.into().into();
        let kid = kid.into();
        Self {
            header_segment: header_segment(KeyAlgorithm::HS256, &kid),
            encoding: EncodingKey::from_secret(&secret),
            decoding: DecodingKey::from_secret(&secret),
            kid,
            algorithm: KeyAlgorithm::HS256,
            public_jwk: None,
            unnamed: false,
            secret: Some(secret),
            activates_at: i64::MIN,
        }
    }

    /// An RS256, ES256 or EdDSA private key from PEM text (PKCS#8 `PRIVATE KEY`; for RSA also
    /// PKCS#1 `RSA PRIVATE KEY`, for P-256 also SEC1 `EC PRIVATE KEY`). Its `kid` is its
    /// RFC 7638 thumbprint unless one is given.
    pub fn from_pem(
        algorithm: KeyAlgorithm,
        pem: &str,
        kid: Option<&str>,
    ) -> Result<Self, KeyError> {
        let bad = |reason: String| KeyError::BadPem { algorithm, reason };
        let (encoding, public_jwk) = match algorithm {
            KeyAlgorithm::HS256 => return Err(KeyError::SecretAsPem),
            KeyAlgorithm::RS256 => {
                use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
                use rsa::pkcs8::DecodePrivateKey;
                use rsa::traits::PublicKeyParts;
                let key = rsa::RsaPrivateKey::from_pkcs8_pem(pem)
                    .or_else(|_| rsa::RsaPrivateKey::from_pkcs1_pem(pem))
                    .map_err(|e| bad(e.to_string()))?;
                let bits = key.size() * 8;
                if bits < MIN_RSA_BITS {
                    return Err(KeyError::WeakRsa { bits });
                }
                let der = key.to_pkcs1_der().map_err(|e| bad(e.to_string()))?;
                let jwk = json!({
                    "kty": "RSA",
                    "n": b64(&key.n().to_bytes_be()),
                    "e": b64(&key.e().to_bytes_be()),
                });
                (EncodingKey::from_rsa_der(der.as_bytes()), jwk)
            }
            KeyAlgorithm::ES256 => {
                use p256::elliptic_curve::sec1::ToEncodedPoint;
                use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey};
                let key = p256::SecretKey::from_pkcs8_pem(pem)
                    .or_else(|_| p256::SecretKey::from_sec1_pem(pem))
                    .map_err(|e| bad(e.to_string()))?;
                let der = key.to_pkcs8_der().map_err(|e| bad(e.to_string()))?;
                let point = key.public_key().to_encoded_point(false);
                let (Some(x), Some(y)) = (point.x(), point.y()) else {
                    return Err(bad("the public point is not on the curve".into()));
                };
                let jwk = json!({"kty": "EC", "crv": "P-256", "x": b64(x), "y": b64(y)});
                (EncodingKey::from_ec_der(der.as_bytes()), jwk)
            }
            KeyAlgorithm::EdDSA => {
                use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
                let key = ed25519_dalek::SigningKey::from_pkcs8_pem(pem)
                    .map_err(|e| bad(e.to_string()))?;
                let der = key.to_pkcs8_der().map_err(|e| bad(e.to_string()))?;
                let jwk = json!({
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "x": b64(key.verifying_key().as_bytes()),
                });
                (EncodingKey::from_ed_der(der.as_bytes()), jwk)
            }
        };
        let decoding = decoding_from_jwk(&public_jwk).map_err(bad)?;
        let kid = kid.map_or_else(|| thumbprint(&public_jwk), str::to_owned);
        let mut published = public_jwk;
        published["kid"] = kid.clone().into();
        published["alg"] = algorithm.as_str().into();
        published["use"] = "sig".into();
        let key = Self {
            header_segment: header_segment(algorithm, &kid),
            kid,
            algorithm,
            encoding,
            decoding,
            public_jwk: Some(published),
            unnamed: false,
            secret: None,
            activates_at: i64::MIN,
        };
        // Prove the key signs now, so that signing can never fail while serving.
        jsonwebtoken::crypto::sign(b"probe", &key.encoding, algorithm.jsonwebtoken()).map_err(
            |e| KeyError::BadPem {
                algorithm,
                reason: e.to_string(),
            },
        )?;
        Ok(key)
    }

    /// A new random key and the text to store it as: a PKCS#8 PEM for a key pair, 64 hex
    /// characters (256 bits) for an HS256 secret.
    pub fn generate(algorithm: KeyAlgorithm) -> Result<(Self, String), KeyError> {
        use rand::rngs::OsRng;
        let failed = |e: &dyn fmt::Display| KeyError::Generation(algorithm, e.to_string());
        let pem = match algorithm {
            KeyAlgorithm::HS256 => {
                let secret = generate_hex_secret();
                let kid = random_kid();
                return Ok((Self::hs256_named(kid, secret.as_bytes()), secret));
            }
            KeyAlgorithm::RS256 => {
                use rsa::pkcs8::EncodePrivateKey;
                rsa::RsaPrivateKey::new(&mut OsRng, GENERATED_RSA_BITS)
                    .map_err(|e| failed(&e))?
                    .to_pkcs8_pem(Default::default())
                    .map_err(|e| failed(&e))?
            }
            KeyAlgorithm::ES256 => {
                use p256::pkcs8::EncodePrivateKey;
                p256::SecretKey::random(&mut OsRng)
                    .to_pkcs8_pem(Default::default())
                    .map_err(|e| failed(&e))?
            }
            KeyAlgorithm::EdDSA => {
                use ed25519_dalek::pkcs8::EncodePrivateKey;
                ed25519_dalek::SigningKey::generate(&mut OsRng)
                    .to_pkcs8_pem(Default::default())
                    .map_err(|e| failed(&e))?
            }
        };
        let key = Self::from_pem(algorithm, &pem, None)?;
        Ok((key, pem.to_string()))
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The same key, signing only from `at` (seconds since the epoch); until then it only
    /// verifies and is published.
    pub fn activating_at(mut self, at: i64) -> Self {
        self.activates_at = at;
        self
    }

    /// From when the key may sign.
    pub fn activates_at(&self) -> i64 {
        self.activates_at
    }

    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// The public key as a JWK (with `kid`, `alg` and `use`), or `None` for a secret.
    pub fn public_jwk(&self) -> Option<&Value> {
        self.public_jwk.as_ref()
    }

    /// Why this key must not sign production tokens, or `None` when it is acceptable. Key pairs
    /// were judged when they were read (an RSA modulus too short is refused outright).
    pub fn weakness(&self) -> Option<String> {
        secret_weakness(self.secret.as_deref()?)
    }

    /// The key's own bytes (the secret, or the private key's DER), to derive other keys from.
    pub(crate) fn material(&self) -> &[u8] {
        self.encoding.as_bytes()
    }

    pub(crate) fn header_segment(&self) -> &str {
        &self.header_segment
    }

    pub(crate) fn encoding(&self) -> &EncodingKey {
        &self.encoding
    }

    pub(crate) fn decoding(&self) -> &DecodingKey {
        &self.decoding
    }

    pub(crate) fn jsonwebtoken_algorithm(&self) -> Algorithm {
        self.algorithm.jsonwebtoken()
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.secret {
            Some(secret) => write!(
                f,
                "Key({}, {} bytes, redacted)",
                self.algorithm,
                secret.len()
            ),
            None => write!(f, "Key({}, kid {})", self.algorithm, self.kid),
        }
    }
}

// ANCHOR: key_set
/// The keys a server holds, newest first: the newest key whose activation time has come signs
/// every new token, and every one of them verifies, so that after a rotation the tokens signed
/// with an older key stay valid until they expire, and a key rotated in is published (and
/// verifies) before it signs.
#[derive(Debug, Clone)]
pub struct KeySet {
    keys: Arc<[Key]>,
}

impl KeySet {
    /// `keys` newest first. Returns `None` for an empty list: a server needs a key to sign with.
    pub fn new(keys: Vec<Key>) -> Option<Self> {
        (!keys.is_empty()).then(|| Self { keys: keys.into() })
    }

    /// A set holding one key.
    pub fn single(key: Key) -> Self {
        Self {
            keys: Arc::from([key]),
        }
    }

    /// The key that signs at `now`: the newest one already active. (A ring always has one, as
    /// the first key of a ring is active at once and the signing key cannot be retired; the
    /// newest key stands in should a hand-edited ring have none.)
    pub fn signing(&self, now: i64) -> &Key {
        self.keys
            .iter()
            .find(|key| key.activates_at <= now)
            .unwrap_or(&self.keys[0])
    }

    pub fn keys(&self) -> &[Key] {
        &self.keys
    }

    /// The same keys with the same activation times, in the same order: nothing to reload.
    pub fn same_as(&self, other: &KeySet) -> bool {
        self.keys.len() == other.keys.len()
            && self.keys.iter().zip(other.keys.iter()).all(|(a, b)| {
                a.kid == b.kid
                    && a.algorithm == b.algorithm
                    && a.activates_at == b.activates_at
                    && a.encoding.as_bytes() == b.encoding.as_bytes()
            })
    }

    /// The key to check a token with, chosen from the token's header: by `kid` among our own
    /// keys only (a `kid` is compared as a string, never used as a path or a query), or, with no
    /// `kid`, the simplejwt-compatible key. Either way the key's algorithm must be the one the
    /// header names: an RSA public key can never be used as an HMAC secret, nor the reverse.
    pub fn verifying_key(&self, alg: &str, kid: Option<&str>) -> Option<&Key> {
        let key = match kid {
            Some(kid) => self.keys.iter().find(|key| key.kid == kid)?,
            None => self.keys.iter().find(|key| key.unnamed)?,
        };
        (key.algorithm.as_str() == alg).then_some(key)
    }

    /// The public keys as a JWK Set (RFC 7517 §5), for `/.well-known/jwks.json`. Secrets are
    /// never in it: with HS256 alone it is `{"keys":[]}`.
    pub fn jwks(&self) -> Value {
        let keys: Vec<&Value> = self.keys.iter().filter_map(Key::public_jwk).collect();
        json!({ "keys": keys })
    }
}
// ANCHOR_END: key_set

/// The public JWK's members that RFC 7638 hashes, in its canonical form, as a `kid`.
pub fn thumbprint(jwk: &Value) -> String {
    let members: &[&str] = match jwk["kty"].as_str() {
        Some("RSA") => &["e", "kty", "n"],
        Some("EC") => &["crv", "kty", "x", "y"],
        _ => &["crv", "kty", "x"],
    };
    // serde_json keeps insertion order here, and the members are listed sorted.
    let mut canonical = serde_json::Map::new();
    for member in members {
        canonical.insert((*member).into(), jwk[*member].clone());
    }
    b64(&Sha256::digest(
        Value::Object(canonical).to_string().as_bytes(),
    ))
}

/// 256 random bits, written as 64 hex characters.
pub fn generate_hex_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Why these bytes are not a production HS256 secret, or `None`.
pub fn secret_weakness(secret: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(secret);
    if text.starts_with("django-insecure-") {
        return Some("it is Django's generated development key (\"django-insecure-…\")".into());
    }
    if secret.len() < MIN_KEY_BYTES {
        return Some(format!(
            "it is {} bytes long; HS256 needs at least {MIN_KEY_BYTES} bytes (256 bits)",
            secret.len()
        ));
    }
    let distinct = secret
        .iter()
        .collect::<std::collections::HashSet<_>>()
        .len();
    if distinct < 8 {
        return Some(format!(
            "it uses only {distinct} distinct bytes; it is not random"
        ));
    }
    None
}

/// A `kid` for a key that has no public half to take a thumbprint of: 128 random bits.
fn random_kid() -> String {
    b64(&rand::random::<[u8; 16]>())
}

fn decoding_from_jwk(jwk: &Value) -> Result<DecodingKey, String> {
    let text = |member: &str| jwk[member].as_str().unwrap_or_default().to_owned();
    match jwk["kty"].as_str() {
        Some("RSA") => DecodingKey::from_rsa_components(&text("n"), &text("e")),
        Some("EC") => DecodingKey::from_ec_components(&text("x"), &text("y")),
        _ => DecodingKey::from_ed_components(&text("x")),
    }
    .map_err(|e| e.to_string())
}

/// `{"alg":…,"kid":…,"typ":"JWT"}`: members sorted, as PyJWT writes them.
fn header_segment(algorithm: KeyAlgorithm, kid: &str) -> String {
    segment(&json!({"alg": algorithm.as_str(), "kid": kid, "typ": "JWT"}))
}

fn segment(json: &Value) -> String {
    b64(json.to_string().as_bytes())
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_keys_are_weak() {
        let weakness = Key::hs256("secret").weakness().unwrap();
        assert!(weakness.contains("6 bytes"), "{weakness}");
    }

    #[test]
    fn django_insecure_keys_are_weak() {
        let key = Key::hs256("django-insecure-0123456789abcdefghijklmnopqrstuvwxyz");
        assert!(key.weakness().unwrap().contains("django-insecure"));
    }

    #[test]
    fn repeated_bytes_are_weak_even_when_long() {
        assert!(Key::hs256("a".repeat(64)).weakness().is_some());
    }

    #[test]
    fn generated_secrets_are_strong_and_distinct() {
        let (a, b) = (generate_hex_secret(), generate_hex_secret());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(Key::hs256(a).weakness(), None);
    }

    #[test]
    fn debug_output_never_shows_a_secret() {
        let shown = format!("{:?}", Key::hs256("super-secret-value"));
        assert!(!shown.contains("super-secret"), "{shown}");
    }

    #[test]
    fn the_simplejwt_compatible_key_writes_simplejwts_header() {
        // {"alg":"HS256","typ":"JWT"}
        assert_eq!(
            Key::hs256("k").header_segment(),
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
        );
    }

    /// RFC 8037 Appendix A.3: the thumbprint of the RFC's Ed25519 public key.
    #[test]
    fn thumbprints_follow_rfc_8037() {
        let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
        assert_eq!(
            thumbprint(&jwk),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }

    #[test]
    fn algorithms_parse_from_their_header_names() {
        assert_eq!("ES256".parse(), Ok(KeyAlgorithm::ES256));
        assert_eq!("eddsa".parse(), Ok(KeyAlgorithm::EdDSA));
        assert!("none".parse::<KeyAlgorithm>().is_err());
        assert!("HS512".parse::<KeyAlgorithm>().is_err());
    }

    #[test]
    fn a_key_of_one_algorithm_never_verifies_another() {
        let (es, _) = Key::generate(KeyAlgorithm::ES256).unwrap();
        let kid = es.kid().to_owned();
        let set = KeySet::new(vec![es, Key::hs256("a-secret")]).unwrap();
        assert!(set.verifying_key("ES256", Some(&kid)).is_some());
        assert!(set.verifying_key("HS256", Some(&kid)).is_none());
        assert!(set.verifying_key("HS256", None).is_some());
        assert!(set.verifying_key("ES256", None).is_none());
        assert!(
            set.verifying_key("ES256", Some("../../etc/passwd"))
                .is_none()
        );
    }

    #[test]
    fn the_jwks_publishes_key_pairs_and_never_secrets() {
        let (ed, _) = Key::generate(KeyAlgorithm::EdDSA).unwrap();
        let set = KeySet::new(vec![ed.clone(), Key::hs256("a-secret")]).unwrap();
        let jwks = set.jwks();
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
        let published = &jwks["keys"][0];
        assert_eq!(published["kid"], ed.kid());
        assert_eq!(published["alg"], "EdDSA");
        assert_eq!(published["use"], "sig");
        assert!(published.get("d").is_none());
        assert_eq!(thumbprint(published), ed.kid());
    }

    #[test]
    fn a_pem_of_the_wrong_kind_is_refused_with_a_reason() {
        let (_, ed_pem) = Key::generate(KeyAlgorithm::EdDSA).unwrap();
        let error = Key::from_pem(KeyAlgorithm::ES256, &ed_pem, None).unwrap_err();
        assert!(error.to_string().contains("ES256 private key"), "{error}");
        assert!(Key::from_pem(KeyAlgorithm::RS256, "not a pem", None).is_err());
    }
}
