//! Chapter 3, "Signing and verifying": make signatures, check them, and refuse forgeries.
//!
//! A signature is computed over the *signing input*, the ASCII text `header.payload` exactly as
//! it appears in the token. HS256 does that with a shared secret and HMAC-SHA256; RS256, ES256
//! and EdDSA with a private key, so that anyone holding the public key can check it. Checking a
//! signature is the easy part. A careful verifier also decides, before it reads the token, which
//! algorithm and which key it accepts, and refuses everything else.
//!
//! The steps, from easy to hard: [`key_block`] and [`hmac`], [`constant_time_eq`], [`signing_input`] with
//! [`sign_hs256`] and [`verify_hs256`], [`sign_compact`], [`verify_pinned`], [`screen`], [`KeyRing::select`],
//! [`KeyRing::verify`], and [`recover_secret`] with [`hs256_key`]. Steps 1 to 4 build on each
//! other, and so do steps 7 to 9; steps 5, 6 and 10 each stand on their own.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Validation};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

pub mod keys;
pub mod naive;

pub use keys::{EcJwk, OkpJwk, RsaJwk};
pub use naive::naive_verify;

/// SHA-256 works on blocks of 64 bytes; HMAC pads or hashes its key to exactly one block.
pub const BLOCK_BYTES: usize = 64;

// ANCHOR: warm_up
/// Step 0, a warm-up. Bytes as lowercase hexadecimal, two digits each: the way RFC 4231
/// writes its HMAC test vectors, and the way you will compare your MACs with them.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
// ANCHOR_END: warm_up

// ANCHOR: key_block
/// Step 1. The key as HMAC uses it: exactly one 64-byte block, made from a key of any length
/// with `hash` (the first move of the book's "HMAC-SHA256, by hand"). `hash` has SHA-256's
/// shape, as in step 2.
pub fn key_block(hash: impl Fn(&[&[u8]]) -> [u8; 32], key: &[u8]) -> [u8; BLOCK_BYTES] {
    let mut block = [0u8; BLOCK_BYTES];
    if key.len() > BLOCK_BYTES {
        block[..32].copy_from_slice(&hash(&[key]));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    block
}
// ANCHOR_END: key_block

// ANCHOR: hmac
/// Step 2. HMAC (RFC 2104) of `message` under `key`, for keys of any length, built from `hash`
/// and nothing else: `hash` has SHA-256's shape (it digests 64-byte blocks into 32 bytes) and
/// hashes the concatenation of the parts it is given. The construction is the book's
/// "HMAC-SHA256, by hand" (and its picture).
pub fn hmac(hash: impl Fn(&[&[u8]]) -> [u8; 32], key: &[u8], message: &[u8]) -> [u8; 32] {
    let block = key_block(&hash, key);
    let inner = hash(&[&block.map(|byte| byte ^ 0x36), message]);
    hash(&[&block.map(|byte| byte ^ 0x5c), &inner])
}
// ANCHOR_END: hmac

// ANCHOR: hmac_sha256
/// SHA-256 of the concatenation of `parts`: the hash HS256 gives to step 2.
pub fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// HMAC-SHA256, the MAC of HS256: your step 2 with SHA-256.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    hmac(sha256, key, message)
}
// ANCHOR_END: hmac_sha256

// ANCHOR: constant_time_eq
/// What step 3 may do with a byte of a MAC, and nothing more: combine two bytes with XOR, gather
/// two results with OR, start from zero, and ask whether a result is zero. `u8` is one; the
/// tests use a byte that keeps a record of what was done with it.
pub trait MacByte: Copy {
    fn xor(self, other: Self) -> Self;
    fn or(self, other: Self) -> Self;
    fn zero() -> Self;
    fn is_zero(self) -> bool;
}

impl MacByte for u8 {
    fn xor(self, other: Self) -> Self {
        self ^ other
    }
    fn or(self, other: Self) -> Self {
        self | other
    }
    fn zero() -> Self {
        0
    }
    fn is_zero(self) -> bool {
        // Keep the optimiser from turning a comparison loop back into an early exit.
        std::hint::black_box(self) == 0
    }
}

/// Step 3. Whether two MACs are equal, in a time that does not depend on where they differ.
/// Why `==` will not do, and what may still be compared quickly, is in the book's "Comparing
/// signatures: constant time". The tests watch what is done with every byte.
pub fn constant_time_eq<B: MacByte>(a: &[B], b: &[B]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter()
        .zip(b)
        .fold(B::zero(), |seen, (x, y)| seen.or(x.xor(*y)))
        .is_zero()
}
// ANCHOR_END: constant_time_eq

// ANCHOR: signing_input
/// Step 4a. The JWS signing input for these exact header and payload bytes: the text every JWS
/// algorithm signs (the book's "What a signature covers").
pub fn signing_input(header: &[u8], payload: &[u8]) -> String {
    let mut input = URL_SAFE_NO_PAD.encode(header);
    input.push('.');
    URL_SAFE_NO_PAD.encode_string(payload, &mut input);
    input
}
// ANCHOR_END: signing_input

// ANCHOR: sign_hs256
/// Step 4b. A complete HS256 token for these header and payload bytes, signed with `key`.
pub fn sign_hs256(key: &[u8], header: &[u8], payload: &[u8]) -> String {
    let mut token = signing_input(header, payload);
    let signature = hmac_sha256(key, token.as_bytes());
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut token);
    token
}
// ANCHOR_END: sign_hs256

// ANCHOR: verify_hs256
/// Step 4c. Whether `token` is a compact JWS whose HS256 signature is correct under `key`. Only
/// the signature is checked here (the header is the business of steps 7 to 9), with nothing an attacker
/// could learn from the time it takes.
pub fn verify_hs256(key: &[u8], token: &str) -> bool {
    let Some((message, signature)) = token.rsplit_once('.') else {
        return false;
    };
    if message.matches('.').count() != 1 {
        return false;
    }
    let Ok(signature) = URL_SAFE_NO_PAD.decode(signature) else {
        return false;
    };
    constant_time_eq(&hmac_sha256(key, message.as_bytes()), &signature)
}
// ANCHOR_END: verify_hs256

// ANCHOR: sign_compact
/// Step 5. A complete token for these header and payload bytes, signed with `key` and any
/// algorithm jsonwebtoken knows (its `crypto` module signs raw bytes). The header is taken as
/// given: making its `alg` match `algorithm` is the caller's job.
pub fn sign_compact(
    header: &[u8],
    payload: &[u8],
    key: &EncodingKey,
    algorithm: Algorithm,
) -> Result<String, jsonwebtoken::errors::Error> {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let signature = jsonwebtoken::crypto::sign(input.as_bytes(), key, algorithm)?;
    Ok(format!("{input}.{signature}"))
}
// ANCHOR_END: sign_compact

// ANCHOR: verify_pinned
/// Step 6. Verify a token with jsonwebtoken, accepting exactly one algorithm, the caller's, and
/// return its claims (the book's "Verifying with jsonwebtoken: pin the algorithm").
///
/// Time claims are not checked here: jsonwebtoken would compare `exp` with the system clock, and
/// the RFC's examples expired in 2011. Chapter 2 checks time against a clock we control.
pub fn verify_pinned(
    token: &str,
    key: &DecodingKey,
    algorithm: Algorithm,
) -> Result<Map<String, Value>, jsonwebtoken::errors::Error> {
    let mut validation = Validation::new(algorithm);
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    let data = jsonwebtoken::decode::<Map<String, Value>>(token, key, &validation)?;
    Ok(data.claims)
}
// ANCHOR_END: verify_pinned

// ANCHOR: trusted_key
/// A verification key we configured ourselves, with its id and the one algorithm it is for.
#[derive(Clone)]
pub struct TrustedKey {
    pub kid: String,
    pub algorithm: Algorithm,
    pub key: DecodingKey,
}

impl TrustedKey {
    pub fn new(kid: impl Into<String>, algorithm: Algorithm, key: DecodingKey) -> Self {
        Self {
            kid: kid.into(),
            algorithm,
            key,
        }
    }
}

/// Every key a verifier trusts. A token's `kid` can only *choose among* these.
#[derive(Clone, Default)]
pub struct KeyRing {
    keys: Vec<TrustedKey>,
}

impl KeyRing {
    pub fn new(keys: Vec<TrustedKey>) -> Self {
        Self { keys }
    }

    pub fn keys(&self) -> &[TrustedKey] {
        &self.keys
    }
}
// ANCHOR_END: trusted_key

// ANCHOR: refusal
/// Why a careful verifier refused a token. Listed in the order [`KeyRing::verify`] checks them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not three segments; a header or payload that is not base64url of a JSON object; an `alg`
    /// or a `kid` that is not a string; a signature that is not base64url.
    Malformed,
    /// The header carries a key or says where to fetch one (`member` is the first of
    /// [`KEY_MEMBERS`] found). Keys come from our configuration, never from the token.
    KeyInHeader { member: String },
    /// A `crit` header: the token demands extensions we do not implement.
    CriticalExtension,
    /// `"alg": "none"`, an unsecured token.
    Unsigned,
    /// The `kid` names no key of the ring, or there is no `kid` and the ring has several keys.
    UnknownKey { kid: Option<String> },
    /// The token's `alg` is not the algorithm of the key it selected.
    WrongAlgorithm { expected: Algorithm, found: String },
    /// The signature segment is empty: stripped.
    MissingSignature,
    /// The signature does not match the header and payload.
    BadSignature,
}
// ANCHOR_END: refusal

/// Header members that carry a key (`jwk`, `x5c`) or a URL to fetch one from (`jku`, `x5u`).
pub const KEY_MEMBERS: [&str; 4] = ["jwk", "jku", "x5u", "x5c"];

// ANCHOR: screen
/// Step 7. What a careful verifier refuses before it even looks for a key, with the first
/// [`Refusal`] that applies: anything that is not three segments with a header that is a JSON
/// object holding a string `alg` ([`Refusal::Malformed`]), then a header that carries or points
/// to a key ([`KEY_MEMBERS`]), one that demands extensions, and an unsigned token, in the order
/// of [`Refusal`]'s variants. Returns the header, for steps 8 and 9. The attacks are the book's
/// "The classic attacks".
pub fn screen(token: &str) -> Result<Map<String, Value>, Refusal> {
    let [header, _, _] = token.split('.').collect::<Vec<_>>()[..] else {
        return Err(Refusal::Malformed);
    };
    let header = json_object(header).ok_or(Refusal::Malformed)?;
    let Some(Value::String(alg)) = header.get("alg") else {
        return Err(Refusal::Malformed);
    };
    if let Some(member) = KEY_MEMBERS.iter().find(|m| header.contains_key(**m)) {
        return Err(Refusal::KeyInHeader {
            member: member.to_string(),
        });
    }
    if header.contains_key("crit") {
        return Err(Refusal::CriticalExtension);
    }
    if alg == "none" {
        return Err(Refusal::Unsigned);
    }
    Ok(header)
}
// ANCHOR_END: screen

// ANCHOR: select
impl KeyRing {
    /// Step 8. The one key of the ring that a header which passed step 7 may be verified with,
    /// or the [`Refusal`] that says why there is none: which key a token may use, and that its
    /// `alg` only has to agree with it, are the book's "Which key? `kid`, key sets and
    /// rotation" and "The classic attacks".
    pub fn select(&self, header: &Map<String, Value>) -> Result<&TrustedKey, Refusal> {
        let kid = match header.get("kid") {
            None => None,
            Some(Value::String(kid)) => Some(kid.as_str()),
            Some(_) => return Err(Refusal::Malformed),
        };
        let key = match kid {
            Some(kid) => self.keys.iter().find(|key| key.kid == kid),
            None if self.keys.len() == 1 => self.keys.first(),
            None => None,
        }
        .ok_or_else(|| Refusal::UnknownKey {
            kid: kid.map(str::to_string),
        })?;
        let Some(Value::String(alg)) = header.get("alg") else {
            return Err(Refusal::Malformed);
        };
        if alg.parse::<Algorithm>().ok() != Some(key.algorithm) {
            return Err(Refusal::WrongAlgorithm {
                expected: key.algorithm,
                found: alg.clone(),
            });
        }
        Ok(key)
    }
}
// ANCHOR_END: select

// ANCHOR: verify
impl KeyRing {
    /// Step 9. Verify a token against the ring and return its claims, refusing anything an
    /// attacker could have made, with the first [`Refusal`] that applies, in the order of the
    /// variants. Why the order matters is in the book's "The classic attacks" and step 9.
    pub fn verify(&self, token: &str) -> Result<Map<String, Value>, Refusal> {
        let header = screen(token)?;
        let key = self.select(&header)?;
        let [_, payload, signature] = token.split('.').collect::<Vec<_>>()[..] else {
            return Err(Refusal::Malformed);
        };
        if signature.is_empty() {
            return Err(Refusal::MissingSignature);
        }
        let message = &token[..token.len() - signature.len() - 1];
        match jsonwebtoken::crypto::verify(signature, message.as_bytes(), &key.key, key.algorithm) {
            Ok(true) => json_object(payload).ok_or(Refusal::Malformed),
            Ok(false) => Err(Refusal::BadSignature),
            Err(_) => Err(Refusal::Malformed),
        }
    }
}
// ANCHOR_END: verify

/// The fewest bytes an HS256 secret may have: as many as the hash is long (RFC 7518 §3.2).
pub const MIN_SECRET_BYTES: usize = 32;

// ANCHOR: recover_secret
/// Step 10a. Find which of `words` is the HS256 secret that signed `token`, the way an attacker
/// who got hold of one token would: offline, as fast as the machine can compute HMACs (the
/// book's "Weak secrets").
pub fn recover_secret<'w>(token: &str, words: &[&'w str]) -> Option<&'w str> {
    let (message, signature) = token.rsplit_once('.')?;
    words.iter().copied().find(|word| {
        let key = DecodingKey::from_secret(word.as_bytes());
        matches!(
            jsonwebtoken::crypto::verify(signature, message.as_bytes(), &key, Algorithm::HS256),
            Ok(true)
        )
    })
}
// ANCHOR_END: recover_secret

// ANCHOR: hs256_key
/// A secret too short to be trusted with HS256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeakSecret {
    pub length: usize,
}

/// Step 10b. An HS256 key for a [`KeyRing`], or [`WeakSecret`] for a secret too short to be
/// trusted (RFC 7518 §3.2, in the book's "Weak secrets"). A careful server refuses to start with
/// such a key.
pub fn hs256_key(kid: &str, secret: &[u8]) -> Result<TrustedKey, WeakSecret> {
    if secret.len() < MIN_SECRET_BYTES {
        return Err(WeakSecret {
            length: secret.len(),
        });
    }
    Ok(TrustedKey::new(
        kid,
        Algorithm::HS256,
        DecodingKey::from_secret(secret),
    ))
}
// ANCHOR_END: hs256_key

/// A base64url segment holding a JSON object, or `None`.
pub fn json_object(segment: &str) -> Option<Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(segment).ok()?;
    serde_json::from_slice(&bytes).ok()
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Malformed => write!(f, "the token is malformed"),
            Refusal::KeyInHeader { member } => write!(
                f,
                "the header carries a key ({member}); keys come only from our configuration"
            ),
            Refusal::CriticalExtension => {
                write!(f, "the token demands extensions (crit) we do not implement")
            }
            Refusal::Unsigned => write!(f, "the token is unsigned (alg none)"),
            Refusal::UnknownKey { kid: Some(kid) } => write!(f, "no key has the kid {kid:?}"),
            Refusal::UnknownKey { kid: None } => {
                write!(f, "the token names no kid and we hold several keys")
            }
            Refusal::WrongAlgorithm { expected, found } => write!(
                f,
                "the key is for {expected:?} but the token says {found:?}"
            ),
            Refusal::MissingSignature => write!(f, "the signature has been removed"),
            Refusal::BadSignature => write!(f, "the signature does not match"),
        }
    }
}

impl std::error::Error for Refusal {}

impl fmt::Display for WeakSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "an HS256 secret needs at least {MIN_SECRET_BYTES} random bytes; this one has {}",
            self.length
        )
    }
}

impl std::error::Error for WeakSecret {}
