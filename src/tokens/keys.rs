//! The HMAC key that signs and verifies tokens, and the rules for accepting one.

use std::fmt;

use jsonwebtoken::{DecodingKey, EncodingKey};

/// Below this many bytes an HS256 key can be brute-forced offline from a single token
/// (RFC 7518 §3.2 asks for a key at least as long as the hash: 256 bits).
pub const MIN_KEY_BYTES: usize = 32;

/// An HS256 secret. Its bytes are used as they are, as Django uses `SECRET_KEY`'s UTF-8 bytes, so
/// a service moving from simplejwt keeps its key and its users stay logged in.
#[derive(Clone)]
pub struct SigningKey {
    bytes: Vec<u8>,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl SigningKey {
    /// A key from raw bytes. Strength is judged by [`SigningKey::weakness`], not here, so tests
    /// and development can still use short keys.
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Self {
        let bytes = bytes.into();
        Self {
            encoding: EncodingKey::from_secret(&bytes),
            decoding: DecodingKey::from_secret(&bytes),
            bytes,
        }
    }

    /// 256 random bits, written as 64 hex characters (the form the dev key file holds).
    pub fn generate_hex() -> String {
        let bytes: [u8; 32] = rand::random();
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Why this key must not sign production tokens, or `None` when it is acceptable.
    pub fn weakness(&self) -> Option<String> {
        let text = String::from_utf8_lossy(&self.bytes);
        if text.starts_with("django-insecure-") {
            return Some("it is Django's generated development key (\"django-insecure-…\")".into());
        }
        if self.bytes.len() < MIN_KEY_BYTES {
            return Some(format!(
                "it is {} bytes long; HS256 needs at least {MIN_KEY_BYTES} bytes (256 bits)",
                self.bytes.len()
            ));
        }
        let distinct = self
            .bytes
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

    pub(crate) fn encoding(&self) -> &EncodingKey {
        &self.encoding
    }

    pub(crate) fn decoding(&self) -> &DecodingKey {
        &self.decoding
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({} bytes, redacted)", self.bytes.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_keys_are_weak() {
        let weakness = SigningKey::from_bytes("secret").weakness().unwrap();
        assert!(weakness.contains("6 bytes"), "{weakness}");
    }

    #[test]
    fn django_insecure_keys_are_weak() {
        let key = SigningKey::from_bytes("django-insecure-0123456789abcdefghijklmnopqrstuvwxyz");
        assert!(key.weakness().unwrap().contains("django-insecure"));
    }

    #[test]
    fn repeated_bytes_are_weak_even_when_long() {
        assert!(SigningKey::from_bytes("a".repeat(64)).weakness().is_some());
    }

    #[test]
    fn generated_keys_are_strong_and_distinct() {
        let (a, b) = (SigningKey::generate_hex(), SigningKey::generate_hex());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(SigningKey::from_bytes(a).weakness(), None);
    }

    #[test]
    fn debug_output_never_shows_the_key() {
        let shown = format!("{:?}", SigningKey::from_bytes("super-secret-value"));
        assert!(!shown.contains("super-secret"), "{shown}");
    }
}
