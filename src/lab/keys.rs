//! The lab's keys: what each app signs with, and the same key as the real server would hold
//! it, so that tests can compare the two.

use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::Value;

use super::LabError;
use crate::tokens::{Key, KeyAlgorithm};

/// A key an app signs with, and what it takes to configure the real server with the same key.
#[derive(Clone)]
pub enum LabKey {
    /// An HS256 secret; with a `kid`, tokens name it.
    Secret {
        kid: Option<String>,
        secret: Vec<u8>,
    },
    /// An RS256 or EdDSA key pair (PKCS#8 PEM), named by `kid`.
    Pair {
        algorithm: KeyAlgorithm,
        kid: String,
        private_pem: String,
        /// The public key as SPKI PEM (`-----BEGIN PUBLIC KEY-----`, LF line ends).
        public_pem: String,
        /// The public key as a JWK, with `kid`, `alg` and `use`.
        public_jwk: Value,
    },
}

impl LabKey {
    pub(super) fn secret(secret: impl Into<Vec<u8>>) -> Self {
        LabKey::Secret {
            kid: None,
            secret: secret.into(),
        }
    }

    pub(super) fn random_secret(kid: Option<&str>) -> Self {
        LabKey::Secret {
            kid: kid.map(str::to_owned),
            secret: crate::keys::generate_hex_secret().into_bytes(),
        }
    }

    pub(super) fn pair(algorithm: KeyAlgorithm, private_pem: String) -> Result<Self, LabError> {
        let key = Key::from_pem(algorithm, &private_pem, None)?;
        let public_jwk = key.public_jwk().cloned().unwrap_or_default();
        let public_pem = match algorithm {
            KeyAlgorithm::RS256 => {
                use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding};
                rsa::RsaPrivateKey::from_pkcs8_pem(&private_pem)
                    .map_err(|e| LabError::Key(e.to_string()))?
                    .to_public_key()
                    .to_public_key_pem(LineEnding::LF)
                    .map_err(|e| LabError::Key(e.to_string()))?
            }
            _ => {
                use ed25519_dalek::pkcs8::{
                    DecodePrivateKey, EncodePublicKey, spki::der::pem::LineEnding,
                };
                ed25519_dalek::SigningKey::from_pkcs8_pem(&private_pem)
                    .map_err(|e| LabError::Key(e.to_string()))?
                    .verifying_key()
                    .to_public_key_pem(LineEnding::LF)
                    .map_err(|e| LabError::Key(e.to_string()))?
            }
        };
        Ok(LabKey::Pair {
            algorithm,
            kid: key.kid().to_owned(),
            private_pem,
            public_pem,
            public_jwk,
        })
    }

    pub fn kid(&self) -> Option<&str> {
        match self {
            LabKey::Secret { kid, .. } => kid.as_deref(),
            LabKey::Pair { kid, .. } => Some(kid),
        }
    }

    pub fn algorithm(&self) -> KeyAlgorithm {
        match self {
            LabKey::Secret { .. } => KeyAlgorithm::HS256,
            LabKey::Pair { algorithm, .. } => *algorithm,
        }
    }

    /// The HS256 secret's bytes, or the public key's PEM text.
    pub fn verification_bytes(&self) -> &[u8] {
        match self {
            LabKey::Secret { secret, .. } => secret,
            LabKey::Pair { public_pem, .. } => public_pem.as_bytes(),
        }
    }

    /// The same key for the real server: [`Key::hs256`] for a secret without `kid` (as simplejwt
    /// signs), a named key otherwise.
    pub fn server_key(&self) -> Key {
        match self {
            LabKey::Secret { kid: None, secret } => Key::hs256(secret.clone()),
            LabKey::Secret {
                kid: Some(kid),
                secret,
            } => Key::hs256_named(kid.clone(), secret.clone()),
            LabKey::Pair {
                algorithm,
                kid,
                private_pem,
                ..
            } => Key::from_pem(*algorithm, private_pem, Some(kid))
                .expect("the lab's own key pair reads back"),
        }
    }

    pub(super) fn encoding_key(&self) -> EncodingKey {
        match self {
            LabKey::Secret { secret, .. } => EncodingKey::from_secret(secret),
            LabKey::Pair {
                algorithm: KeyAlgorithm::RS256,
                private_pem,
                ..
            } => {
                use rsa::pkcs1::EncodeRsaPrivateKey;
                use rsa::pkcs8::DecodePrivateKey;
                let key =
                    rsa::RsaPrivateKey::from_pkcs8_pem(private_pem).expect("the lab's RSA key");
                EncodingKey::from_rsa_der(key.to_pkcs1_der().expect("DER").as_bytes())
            }
            LabKey::Pair { private_pem, .. } => {
                use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
                let key = ed25519_dalek::SigningKey::from_pkcs8_pem(private_pem)
                    .expect("the lab's Ed25519 key");
                EncodingKey::from_ed_der(key.to_pkcs8_der().expect("DER").as_bytes())
            }
        }
    }

    pub(super) fn jwt_algorithm(&self) -> Algorithm {
        match self.algorithm() {
            KeyAlgorithm::HS256 => Algorithm::HS256,
            KeyAlgorithm::RS256 => Algorithm::RS256,
            KeyAlgorithm::ES256 => Algorithm::ES256,
            KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        }
    }
}

/// Makes a 2048-bit RSA key with public exponent 3 (PKCS#8 PEM). Real keys use 65537; with 3 the
/// recovery of the modulus from two signatures runs in a blink even in a debug build, with the
/// same mathematics (see the chapter).
pub(super) fn rsa_with_exponent_3() -> Result<String, LabError> {
    use rsa::pkcs8::EncodePrivateKey;
    let key =
        rsa::RsaPrivateKey::new_with_exp(&mut rand::rngs::OsRng, 2048, &rsa::BigUint::from(3u8))
            .map_err(|e| LabError::Key(e.to_string()))?;
    Ok(key
        .to_pkcs8_pem(Default::default())
        .map_err(|e| LabError::Key(e.to_string()))?
        .to_string())
}
