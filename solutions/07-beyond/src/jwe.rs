//! Encrypted tokens: JWE (RFC 7516) in compact form, with the RustCrypto crates.
//!
//! A compact JWE has five base64url segments: the protected header (readable by anyone), the
//! encrypted content key, the initialisation vector, the ciphertext and the authentication tag.
//! `alg` in the header says how the content key reaches the recipient, `enc` how the payload is
//! encrypted with it. This module decrypts the two examples of RFC 7516's appendix byte for byte
//! (A.3: `A128KW` with `A128CBC-HS256`; A.1: `RSA-OAEP` with `A256GCM`), encrypts with the
//! second pair, and makes and opens a nested JWT: a JWS signed by the sender, encrypted for the
//! recipient.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use rsa::{Oaep, RsaPrivateKey, RsaPublicKey};
use serde_json::{Map, Value};
use sha2::Sha256;

// ANCHOR: jwe_error
/// Why an encrypted token was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JweError {
    /// Not five base64url segments, or a header that is not a JSON object with string `alg`
    /// and `enc`.
    Malformed,
    /// The header names another pair of algorithms than the one this function handles.
    Unsupported { alg: String, enc: String },
    /// The content key could not be recovered: the wrong key, or an encrypted key that was
    /// changed.
    KeyUnwrap,
    /// The authentication tag does not match: the header, IV, ciphertext or tag was changed, or
    /// the content key is wrong.
    Tampered,
    /// A nested JWT must say so with `"cty": "JWT"`, and hold a JWS.
    NotNested,
    /// The inner JWS does not verify with the sender's key.
    BadSignature,
}
// ANCHOR_END: jwe_error

// ANCHOR: jwe_parts
/// The five segments of a compact JWE, decoded. `protected` is kept as the text it was: it is
/// the additional authenticated data, exactly as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parts<'a> {
    pub protected: &'a str,
    pub header: Map<String, Value>,
    pub encrypted_key: Vec<u8>,
    pub iv: Vec<u8>,
    pub ciphertext: Vec<u8>,
    pub tag: Vec<u8>,
}

impl Parts<'_> {
    /// The header's `alg` and `enc`.
    pub fn algorithms(&self) -> (&str, &str) {
        let text = |name: &str| self.header.get(name).and_then(Value::as_str).unwrap_or("");
        (text("alg"), text("enc"))
    }

    /// [`JweError::Unsupported`] unless the header names exactly `alg` and `enc`.
    pub fn expect(&self, alg: &str, enc: &str) -> Result<(), JweError> {
        let (found_alg, found_enc) = self.algorithms();
        if (found_alg, found_enc) == (alg, enc) {
            Ok(())
        } else {
            Err(JweError::Unsupported {
                alg: found_alg.to_string(),
                enc: found_enc.to_string(),
            })
        }
    }
}

/// Cut a compact JWE into its five segments and decode them strictly.
pub fn parts(token: &str) -> Result<Parts<'_>, JweError> {
    let segments: Vec<&str> = token.split('.').collect();
    let [protected, key, iv, ciphertext, tag] = segments[..] else {
        return Err(JweError::Malformed);
    };
    let decode = |segment: &str| {
        URL_SAFE_NO_PAD
            .decode(segment)
            .map_err(|_| JweError::Malformed)
    };
    let header: Map<String, Value> =
        serde_json::from_slice(&decode(protected)?).map_err(|_| JweError::Malformed)?;
    if !header.get("alg").is_some_and(Value::is_string)
        || !header.get("enc").is_some_and(Value::is_string)
    {
        return Err(JweError::Malformed);
    }
    Ok(Parts {
        protected,
        header,
        encrypted_key: decode(key)?,
        iv: decode(iv)?,
        ciphertext: decode(ciphertext)?,
        tag: decode(tag)?,
    })
}
// ANCHOR_END: jwe_parts

/// The protected header of the JWEs this module makes: RSA-OAEP, AES-256-GCM, and a JWS inside.
pub const NESTED_HEADER: &str = r#"{"alg":"RSA-OAEP","enc":"A256GCM","cty":"JWT"}"#;

// ANCHOR: decrypt_a128kw
/// Step 8. Decrypt a compact JWE made with `A128KW` and `A128CBC-HS256` (RFC 7516 A.3) under the
/// 16-byte key both sides share, and return the plaintext. The content key is unwrapped with AES
/// key wrap (RFC 3394); its two halves are a MAC key and an encryption key; the tag is checked
/// before anything is decrypted (RFC 7518 §5.2.2.2, in the book's "Encrypted tokens").
pub fn decrypt_a128kw_cbc_hs256(token: &str, key: &[u8; 16]) -> Result<Vec<u8>, JweError> {
    let parts = parts(token)?;
    parts.expect("A128KW", "A128CBC-HS256")?;
    let kek = aes_kw::KekAes128::from(*key);
    let cek = kek
        .unwrap_vec(&parts.encrypted_key)
        .map_err(|_| JweError::KeyUnwrap)?;
    if cek.len() != 32 || parts.iv.len() != 16 {
        return Err(JweError::Tampered);
    }
    let (mac_key, enc_key) = cek.split_at(16);
    let aad = parts.protected.as_bytes();
    let al = (aad.len() as u64 * 8).to_be_bytes();
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(mac_key).expect("HMAC takes any key");
    for piece in [aad, &parts.iv, &parts.ciphertext, &al] {
        mac.update(piece);
    }
    // The tag is the first half of the HMAC, compared in constant time.
    if parts.tag.len() != 16 {
        return Err(JweError::Tampered);
    }
    mac.verify_truncated_left(&parts.tag)
        .map_err(|_| JweError::Tampered)?;
    use aes::cipher::{BlockDecryptMut, KeyIvInit, block_padding::Pkcs7};
    cbc::Decryptor::<aes::Aes128>::new_from_slices(enc_key, &parts.iv)
        .map_err(|_| JweError::Tampered)?
        .decrypt_padded_vec_mut::<Pkcs7>(&parts.ciphertext)
        .map_err(|_| JweError::Tampered)
}
// ANCHOR_END: decrypt_a128kw

// ANCHOR: decrypt_rsa_oaep
/// Step 9. Decrypt a compact JWE made with `RSA-OAEP` and `A256GCM` (RFC 7516 A.1) with the
/// recipient's private key, and return the plaintext. `RSA-OAEP` is OAEP with SHA-1, as RFC 7518
/// §4.3 defines it; the protected header, as received, is GCM's additional data.
pub fn decrypt_rsa_oaep_a256gcm(token: &str, key: &RsaPrivateKey) -> Result<Vec<u8>, JweError> {
    let parts = parts(token)?;
    parts.expect("RSA-OAEP", "A256GCM")?;
    let cek = key
        .decrypt(Oaep::new::<sha1::Sha1>(), &parts.encrypted_key)
        .map_err(|_| JweError::KeyUnwrap)?;
    let Ok(iv) = <[u8; 12]>::try_from(parts.iv.as_slice()) else {
        return Err(JweError::Tampered);
    };
    if parts.tag.len() != 16 {
        return Err(JweError::Tampered);
    }
    let cipher = aes_gcm::Aes256Gcm::new_from_slice(&cek).map_err(|_| JweError::KeyUnwrap)?;
    let sealed = [parts.ciphertext.as_slice(), &parts.tag].concat();
    cipher
        .decrypt(
            &aes_gcm::Nonce::from(iv),
            Payload {
                msg: &sealed,
                aad: parts.protected.as_bytes(),
            },
        )
        .map_err(|_| JweError::Tampered)
}
// ANCHOR_END: decrypt_rsa_oaep

// ANCHOR: encrypt_rsa_oaep
/// Step 10. Encrypt `plaintext` for the holder of `recipient`'s private key: the compact JWE of
/// step 9, under the protected header `protected` (JSON text, used as it is). A fresh random
/// content key and IV for every token.
pub fn encrypt_rsa_oaep_a256gcm(
    protected: &str,
    plaintext: &[u8],
    recipient: &RsaPublicKey,
) -> String {
    let cek: [u8; 32] = rand::random();
    let iv: [u8; 12] = rand::random();
    let encrypted_key = recipient
        .encrypt(&mut rand::thread_rng(), Oaep::new::<sha1::Sha1>(), &cek)
        .expect("a 32-byte key fits in any RSA key of 2048 bits");
    let protected = URL_SAFE_NO_PAD.encode(protected);
    let cipher = aes_gcm::Aes256Gcm::new_from_slice(&cek).expect("a 32-byte key");
    let sealed = cipher
        .encrypt(
            &aes_gcm::Nonce::from(iv),
            Payload {
                msg: plaintext,
                aad: protected.as_bytes(),
            },
        )
        .expect("AES-GCM encrypts any plaintext this size");
    let (ciphertext, tag) = sealed.split_at(sealed.len() - 16);
    [
        protected,
        URL_SAFE_NO_PAD.encode(encrypted_key),
        URL_SAFE_NO_PAD.encode(iv),
        URL_SAFE_NO_PAD.encode(ciphertext),
        URL_SAFE_NO_PAD.encode(tag),
    ]
    .join(".")
}
// ANCHOR_END: encrypt_rsa_oaep

// ANCHOR: nested
/// Step 11a. A nested JWT (RFC 7519 §5.2): `claims` signed by the sender with `signer` and
/// `alg`, then the JWS encrypted for `recipient` under [`NESTED_HEADER`]. Sign, then encrypt:
/// the book's "Encrypted tokens" says why in that order.
pub fn seal(
    claims: &Value,
    signer: &EncodingKey,
    alg: Algorithm,
    recipient: &RsaPublicKey,
) -> Result<String, jsonwebtoken::errors::Error> {
    let jws = jsonwebtoken::encode(&jsonwebtoken::Header::new(alg), claims, signer)?;
    Ok(encrypt_rsa_oaep_a256gcm(
        NESTED_HEADER,
        jws.as_bytes(),
        recipient,
    ))
}

/// Step 11b. Open a nested JWT: decrypt it (step 9), make sure it says it holds a JWT, and verify
/// the inner JWS with the sender's key and algorithm, pinned. Both must pass. Time claims are
/// not checked here (chapter 2 does that against a clock you control).
pub fn open(
    token: &str,
    recipient: &RsaPrivateKey,
    sender: &DecodingKey,
    alg: Algorithm,
) -> Result<Map<String, Value>, JweError> {
    let plaintext = decrypt_rsa_oaep_a256gcm(token, recipient)?;
    let parts = parts(token)?;
    if parts.header.get("cty").and_then(Value::as_str) != Some("JWT") {
        return Err(JweError::NotNested);
    }
    let jws = String::from_utf8(plaintext).map_err(|_| JweError::NotNested)?;
    let mut validation = jsonwebtoken::Validation::new(alg);
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<Map<String, Value>>(&jws, sender, &validation)
        .map(|data| data.claims)
        .map_err(|_| JweError::BadSignature)
}
// ANCHOR_END: nested
