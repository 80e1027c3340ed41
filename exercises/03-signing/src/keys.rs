//! Keys from their JWK parameters, ready-made. Nothing to do here: this chapter is about signing
//! and verifying, not about ASN.1.
//!
//! A JWK (RFC 7517) writes each number of a key as base64url of its big-endian bytes: `n` and `e`
//! for an RSA public key, `x` and `y` for a point on an elliptic curve, `d` for a private value.
//! jsonwebtoken takes public keys in that form directly (`DecodingKey::from_rsa_components` and
//! friends), but wants private keys as DER, the binary encoding PEM files wrap in base64. The
//! RustCrypto crates it is built on do that conversion for us here.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{DecodingKey, EncodingKey};
use rsa::BigUint;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{EncodePublicKey, LineEnding};

// ANCHOR: jwks
/// An RSA key pair as a JWK writes it (RFC 7518 §6.3); `dp`, `dq` and `qi` are left out because
/// they follow from the others.
#[derive(Debug, Clone, Copy)]
pub struct RsaJwk {
    pub n: &'static str,
    pub e: &'static str,
    pub d: &'static str,
    pub p: &'static str,
    pub q: &'static str,
}

/// A P-256 key pair as a JWK writes it (RFC 7518 §6.2): the public point (`x`, `y`) and the
/// private scalar `d`.
#[derive(Debug, Clone, Copy)]
pub struct EcJwk {
    pub x: &'static str,
    pub y: &'static str,
    pub d: &'static str,
}

/// An Ed25519 key pair as a JWK writes it (RFC 8037 §2): the public key `x` and the private
/// seed `d`, 32 bytes each.
#[derive(Debug, Clone, Copy)]
pub struct OkpJwk {
    pub x: &'static str,
    pub d: &'static str,
}
// ANCHOR_END: jwks

/// The bytes of one base64url JWK member. The keys in this crate are fixed test keys, so a bad
/// one is a bug in the test, and panics.
pub fn jwk_bytes(member: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(member)
        .unwrap_or_else(|e| panic!("the JWK member {member:?} is not base64url: {e}"))
}

fn big(member: &str) -> BigUint {
    BigUint::from_bytes_be(&jwk_bytes(member))
}

impl RsaJwk {
    /// The private key, for signing RS256 (PKCS#1 DER inside).
    pub fn encoding_key(&self) -> EncodingKey {
        let key = rsa::RsaPrivateKey::from_components(
            big(self.n),
            big(self.e),
            big(self.d),
            vec![big(self.p), big(self.q)],
        )
        .expect("the RSA JWK is a consistent key");
        let der = key.to_pkcs1_der().expect("an RSA key encodes as PKCS#1");
        EncodingKey::from_rsa_der(der.as_bytes())
    }

    /// The public key, for verifying RS256.
    pub fn decoding_key(&self) -> DecodingKey {
        DecodingKey::from_rsa_components(self.n, self.e).expect("n and e are base64url")
    }

    /// The public key as a PEM file would hold it (`-----BEGIN PUBLIC KEY-----`), the form a
    /// server publishes it in, and the text an algorithm-confusion attacker uses as an HMAC key.
    pub fn public_key_pem(&self) -> String {
        rsa::RsaPublicKey::new(big(self.n), big(self.e))
            .expect("the RSA JWK is a consistent key")
            .to_public_key_pem(LineEnding::LF)
            .expect("an RSA public key encodes as PEM")
    }
}

impl EcJwk {
    /// The private key, for signing ES256 (PKCS#8 DER inside).
    pub fn encoding_key(&self) -> EncodingKey {
        use p256::pkcs8::EncodePrivateKey;
        let key = p256::SecretKey::from_slice(&jwk_bytes(self.d)).expect("d is a P-256 scalar");
        let der = key.to_pkcs8_der().expect("a P-256 key encodes as PKCS#8");
        EncodingKey::from_ec_der(der.as_bytes())
    }

    /// The public key, for verifying ES256.
    pub fn decoding_key(&self) -> DecodingKey {
        DecodingKey::from_ec_components(self.x, self.y).expect("x and y are base64url")
    }
}

impl OkpJwk {
    /// The private key, for signing EdDSA (PKCS#8 DER inside).
    pub fn encoding_key(&self) -> EncodingKey {
        use ed25519_dalek::pkcs8::EncodePrivateKey;
        let seed: [u8; 32] = jwk_bytes(self.d)
            .try_into()
            .expect("an Ed25519 seed is 32 bytes");
        let der = ed25519_dalek::SigningKey::from_bytes(&seed)
            .to_pkcs8_der()
            .expect("an Ed25519 key encodes as PKCS#8");
        EncodingKey::from_ed_der(der.as_bytes())
    }

    /// The public key, for verifying EdDSA.
    pub fn decoding_key(&self) -> DecodingKey {
        DecodingKey::from_ed_components(self.x).expect("x is base64url")
    }
}
