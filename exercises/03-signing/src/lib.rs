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
//! The steps, from easy to hard: [`key_block`] and [`hmac`], [`constant_time_eq`], [`signing_input`] with
//! [`sign_hs256`] and [`verify_hs256`], [`sign_compact`], [`verify_pinned`], [`screen`], [`KeyRing::select`],
//! [`KeyRing::verify`], and [`recover_secret`] with [`hs256_key`]. Steps 1 to 4 build on each
//! other, and so do steps 7 to 9; steps 5, 6 and 10 each stand on their own.

// Until each step is written, its arguments go unused.
#![allow(unused_variables, dead_code)]

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use serde_json::{Map, Value};
// Used once you write step 6.
#[allow(unused_imports)]
use jsonwebtoken::Validation;
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
    // TODO: Step 0: two lowercase hex digits per byte.
    todo!()
}
// ANCHOR_END: warm_up

// ANCHOR: key_block
/// Step 1. The key as HMAC uses it: exactly one 64-byte block, made from a key of any length
/// with `hash` (the first move of the book's "HMAC-SHA256, by hand"). `hash` has SHA-256's
/// shape, as in step 2.
pub fn key_block(hash: impl Fn(&[&[u8]]) -> [u8; 32], key: &[u8]) -> [u8; BLOCK_BYTES] {
    // TODO: Step 1: a short key as it is, a long one hashed first; the rest of the block zeros.
    todo!()
}
// ANCHOR_END: key_block

// ANCHOR: hmac
/// Step 2. HMAC (RFC 2104) of `message` under `key`, for keys of any length, built from `hash`
/// and nothing else: `hash` has SHA-256's shape (it digests 64-byte blocks into 32 bytes) and
/// hashes the concatenation of the parts it is given. The construction is the book's
/// "HMAC-SHA256, by hand" (and its picture).
pub fn hmac(hash: impl Fn(&[&[u8]]) -> [u8; 32], key: &[u8], message: &[u8]) -> [u8; 32] {
    // TODO: Step 2: your step 1's block, then the two hashes of HMAC, made with `hash`.
    todo!()
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
    // TODO: Step 3: look at every byte, whatever the bytes before it were.
    todo!()
}
// ANCHOR_END: constant_time_eq

// ANCHOR: signing_input
/// Step 4a. The JWS signing input for these exact header and payload bytes: the text every JWS
/// algorithm signs (the book's "What a signature covers").
pub fn signing_input(header: &[u8], payload: &[u8]) -> String {
    // TODO: Step 4a: the two encoded parts, as a JWS writes them.
    todo!()
}
// ANCHOR_END: signing_input

// ANCHOR: sign_hs256
/// Step 4b. A complete HS256 token for these header and payload bytes, signed with `key`.
pub fn sign_hs256(key: &[u8], header: &[u8], payload: &[u8]) -> String {
    // TODO: Step 4b: your steps 4a and 2.
    todo!()
}
// ANCHOR_END: sign_hs256

// ANCHOR: verify_hs256
/// Step 4c. Whether `token` is a compact JWS whose HS256 signature is correct under `key`. Only
/// the signature is checked here (the header is the business of steps 7 to 9), with nothing an attacker
/// could learn from the time it takes.
pub fn verify_hs256(key: &[u8], token: &str) -> bool {
    // TODO: Step 4c: refuse what is not a token, then recompute and compare (steps 2 and 3).
    todo!()
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
    // TODO: Step 5: the same signing input as step 4, another signature function.
    todo!()
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
    // TODO: Step 6: a `Validation` that the token cannot influence, and `jsonwebtoken::decode`.
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

// ANCHOR: screen
/// Step 7. What a careful verifier refuses before it even looks for a key, with the first
/// [`Refusal`] that applies: anything that is not three segments with a header that is a JSON
/// object holding a string `alg` ([`Refusal::Malformed`]), then a header that carries or points
/// to a key ([`KEY_MEMBERS`]), one that demands extensions, and an unsigned token, in the order
/// of [`Refusal`]'s variants. Returns the header, for steps 8 and 9. The attacks are the book's
/// "The classic attacks".
pub fn screen(token: &str) -> Result<Map<String, Value>, Refusal> {
    // TODO: Step 7: the checks that need no key, in the order of `Refusal`.
    todo!()
}
// ANCHOR_END: screen

// ANCHOR: select
impl KeyRing {
    /// Step 8. The one key of the ring that a header which passed step 7 may be verified with,
    /// or the [`Refusal`] that says why there is none: which key a token may use, and that its
    /// `alg` only has to agree with it, are the book's "Which key? `kid`, key sets and
    /// rotation" and "The classic attacks".
    pub fn select(&self, header: &Map<String, Value>) -> Result<&TrustedKey, Refusal> {
        // TODO: Step 8: the one key this header may use, or why there is none.
        todo!()
    }
}
// ANCHOR_END: select

// ANCHOR: verify
impl KeyRing {
    /// Step 9. Verify a token against the ring and return its claims, refusing anything an
    /// attacker could have made, with the first [`Refusal`] that applies, in the order of the
    /// variants. Why the order matters is in the book's "The classic attacks" and step 9.
    pub fn verify(&self, token: &str) -> Result<Map<String, Value>, Refusal> {
        // TODO: Step 9: your steps 7 and 8, then the signature, then the claims.
        // Helper: `json_object` (at the bottom of this file).
        todo!()
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
    // TODO: Step 10a: the attacker's loop.
    todo!()
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
    // TODO: Step 10b: the defence.
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
