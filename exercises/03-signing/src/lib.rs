//! Chapter 3, "Signing and verifying": make signatures, check them, and refuse forgeries.
//!
//! Your exercise: replace each `todo!()` below, step by step, until `cargo test -p
//! ch03-signing-exercise` passes. `cargo run -- check 3` says which step to work on next.
//!
//! A signature is computed over the *signing input*, the ASCII text `header.payload` exactly as
//! it appears in the token. HS256 does that with a shared secret and HMAC-SHA256; RS256, ES256
//! and EdDSA with a private key, so that anyone holding the public key can check it. Checking a
//! signature is the easy part. A careful verifier also decides, before it reads the token, which
//! algorithm and which key it accepts, and refuses everything else.
//!
//! The steps, from easy to hard: [`hmac_sha256`], [`constant_time_eq`], [`signing_input`] with
//! [`sign_hs256`] and [`verify_hs256`], [`sign_compact`], [`verify_pinned`], [`KeyRing::verify`],
//! and [`recover_secret`] with [`hs256_key`]. Steps 1 to 3 build on each other; steps 4 to 7
//! each stand on their own.

// Until each step is written, its arguments go unused.
#![allow(unused_variables, dead_code)]

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use serde_json::{Map, Value};
// Used once you write steps 1 and 5.
#[allow(unused_imports)]
use jsonwebtoken::Validation;
#[allow(unused_imports)]
use sha2::{Digest, Sha256};

pub mod keys;
pub mod naive;

pub use keys::{EcJwk, OkpJwk, RsaJwk};
pub use naive::naive_verify;

/// SHA-256 works on blocks of 64 bytes; HMAC pads or hashes its key to exactly one block.
pub const BLOCK_BYTES: usize = 64;

// ANCHOR: hmac_sha256
/// Step 1. HMAC-SHA256 (RFC 2104), from SHA-256 alone.
///
/// The key becomes one 64-byte block: a key longer than a block is hashed first (its 32-byte
/// hash is used instead), and the block is filled up with zero bytes. Then
/// `HMAC(key, message) = SHA-256((block XOR opad) || SHA-256((block XOR ipad) || message))`,
/// where `ipad` is the byte `0x36` repeated and `opad` the byte `0x5c` repeated.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    // TODO: Build the 64-byte key block: copy the key in (hash it with `Sha256::digest`
    // first if it is longer than a block), the rest stays zero. Hash the block XOR 0x36
    // followed by the message; then hash the block XOR 0x5c followed by that first hash.
    // `[u8; 64]::map` and `Sha256::new().chain_update(…)` keep it short.
    todo!()
}
// ANCHOR_END: hmac_sha256

// ANCHOR: constant_time_eq
/// Step 2. Whether two byte strings are equal, taking the same time wherever they differ.
///
/// `==` on slices stops at the first byte that differs, so how long it takes tells an attacker
/// how many leading bytes of their guess were right. Here every byte is looked at, whatever
/// happened before. Slices of different lengths are simply unequal: the length of an HMAC is
/// no secret.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    // TODO: Different lengths: false. Otherwise combine every pair of bytes with XOR and
    // OR the results together, without ever returning early; equal means the total is 0.
    todo!()
}
// ANCHOR_END: constant_time_eq

// ANCHOR: signing_input
/// Step 3a. The JWS signing input: `BASE64URL(header) || '.' || BASE64URL(payload)`, the exact
/// text every JWS algorithm signs. `header` and `payload` are the bytes to encode, byte for
/// byte: a line break or a space in them is part of what gets signed.
pub fn signing_input(header: &[u8], payload: &[u8]) -> String {
    // TODO: `URL_SAFE_NO_PAD.encode` each part and join them with a dot.
    todo!()
}
// ANCHOR_END: signing_input

// ANCHOR: sign_hs256
/// Step 3b. A complete HS256 token: the signing input, a dot, and the base64url of
/// HMAC-SHA256(key, signing input).
pub fn sign_hs256(key: &[u8], header: &[u8], payload: &[u8]) -> String {
    // TODO: The signing input (step 3a), then a dot and the base64url of
    // `hmac_sha256(key, signing input)` (step 1).
    todo!()
}
// ANCHOR_END: sign_hs256

// ANCHOR: verify_hs256
/// Step 3c. Whether `token` carries a correct HS256 signature under `key`.
///
/// The token must have exactly three segments and a signature in strict base64url. The HMAC is
/// recomputed over the first two segments exactly as received and compared in constant time.
/// This checks the signature only; the header is step 6's business.
pub fn verify_hs256(key: &[u8], token: &str) -> bool {
    // TODO: Cut at the last dot (`rsplit_once`); what is left must hold exactly one dot.
    // Decode the signature strictly (a decoding error means false), recompute the HMAC
    // over the text before the last dot, and compare with `constant_time_eq` (step 2).
    todo!()
}
// ANCHOR_END: verify_hs256

// ANCHOR: sign_compact
/// Step 4. A complete token signed with any algorithm jsonwebtoken knows: the same signing input
/// as step 3, signed by `jsonwebtoken::crypto::sign` with `key` and `algorithm`.
///
/// The header is taken as given, so it is the caller's job to make its `alg` match `algorithm`.
pub fn sign_compact(
    header: &[u8],
    payload: &[u8],
    key: &EncodingKey,
    algorithm: Algorithm,
) -> Result<String, jsonwebtoken::errors::Error> {
    // TODO: Build the signing input as in step 3 (base64url of each part, a dot between),
    // then `jsonwebtoken::crypto::sign(input.as_bytes(), key, algorithm)?` returns the
    // signature already in base64url.
    todo!()
}
// ANCHOR_END: sign_compact

// ANCHOR: verify_pinned
/// Step 5. Verify a token with jsonwebtoken, accepting exactly one algorithm: the one the caller
/// chose, never the one the token names. Returns the claims.
///
/// Time claims are not checked here: jsonwebtoken would compare `exp` with the system clock, and
/// the RFC's examples expired in 2011. Chapter 2 checks time against a clock we control.
pub fn verify_pinned(
    token: &str,
    key: &DecodingKey,
    algorithm: Algorithm,
) -> Result<Map<String, Value>, jsonwebtoken::errors::Error> {
    // TODO: Build a `Validation` that allows `algorithm` and nothing else, switch off its
    // time checks (see above), and let `jsonwebtoken::decode` do the rest. Never build the
    // `Validation` from the token's own header.
    todo!()
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

// ANCHOR: verify
impl KeyRing {
    /// Step 6. Verify a token against the ring, refusing anything an attacker could have made.
    ///
    /// Check in this order, returning the first [`Refusal`] that applies:
    /// 1. three segments, a header that is a JSON object with a string `alg` (`Malformed`);
    /// 2. none of [`KEY_MEMBERS`] in the header (`KeyInHeader`);
    /// 3. no `crit` (`CriticalExtension`);
    /// 4. `alg` is not `none` (`Unsigned`);
    /// 5. the key: the one whose `kid` equals the header's `kid` (a string, or `Malformed`);
    ///    without a `kid`, the ring's only key if it has exactly one (`UnknownKey`);
    /// 6. `alg` is exactly that key's algorithm (`WrongAlgorithm`);
    /// 7. the signature is not empty (`MissingSignature`);
    /// 8. the signature verifies with that key and *its* algorithm (`BadSignature`, or
    ///    `Malformed` if it is not base64url);
    /// 9. only then, the payload is a JSON object (`Malformed`), which is returned.
    pub fn verify(&self, token: &str) -> Result<Map<String, Value>, Refusal> {
        // TODO: Follow the numbered list above, one `return Err(…)` per check.
        // `json_object` (at the bottom of this file) decodes a segment; `KEY_MEMBERS` lists the
        // members to refuse; `alg.parse::<Algorithm>()` reads an algorithm name. For the last
        // check, `jsonwebtoken::crypto::verify(signature, message, &key.key, key.algorithm)`,
        // where `message` is the token up to its last dot.
        todo!()
    }
}
// ANCHOR_END: verify

/// The fewest bytes an HS256 secret may have: as many as the hash is long (RFC 7518 §3.2).
pub const MIN_SECRET_BYTES: usize = 32;

// ANCHOR: recover_secret
/// Step 7a. Find which of `words` is the HS256 secret that signed `token`, the way an attacker
/// who got hold of one token would: offline, as fast as the machine can compute HMACs.
pub fn recover_secret<'w>(token: &str, words: &[&'w str]) -> Option<&'w str> {
    // TODO: Cut the token at its last dot. Try each word as the HMAC key until the
    // signature matches: `jsonwebtoken::crypto::verify` does the check (your
    // `hmac_sha256` from step 1 would too).
    todo!()
}
// ANCHOR_END: recover_secret

// ANCHOR: hs256_key
/// A secret too short to be trusted with HS256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeakSecret {
    pub length: usize,
}

/// Step 7b. An HS256 key for a [`KeyRing`], or [`WeakSecret`] when `secret` is shorter than
/// [`MIN_SECRET_BYTES`]. A careful server refuses to start with such a key.
pub fn hs256_key(kid: &str, secret: &[u8]) -> Result<TrustedKey, WeakSecret> {
    // TODO: Refuse a secret shorter than `MIN_SECRET_BYTES` with its length; otherwise
    // a `TrustedKey` for HS256 with `DecodingKey::from_secret(secret)`.
    todo!()
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
