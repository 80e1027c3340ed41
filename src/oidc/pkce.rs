//! Proof Key for Code Exchange (RFC 7636), `S256` only: the client keeps a random verifier,
//! sends its SHA-256 (the challenge) with the authorization request, and must show the
//! verifier itself to redeem the code. A code stolen on its way back (from a log, a referrer,
//! another app claiming the same redirect) is useless without it. `plain` is refused: it
//! protects nothing a stolen request does not already reveal.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::tokens::constant_time_eq;

/// The only challenge method we accept.
pub const S256: &str = "S256";

// ANCHOR: challenge
/// `BASE64URL(SHA256(ASCII(code_verifier)))`, RFC 7636 §4.2.
pub fn challenge_of(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A verifier is 43 to 128 characters of `[A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"`
/// (RFC 7636 §4.1): anything else was never a verifier.
pub fn is_well_formed_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Whether `verifier` is the one whose challenge the client sent, compared in constant time.
pub fn verifies(verifier: &str, challenge: &str) -> bool {
    is_well_formed_verifier(verifier)
        && constant_time_eq(challenge_of(verifier).as_bytes(), challenge.as_bytes())
}
// ANCHOR_END: challenge

/// A challenge is the base64url of 32 bytes: 43 characters of the URL-safe alphabet.
pub fn is_well_formed_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 Appendix B: the verifier and the challenge it must give.
    #[test]
    fn the_rfc_7636_appendix_b_verifier_gives_its_challenge() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert_eq!(challenge_of(verifier), challenge);
        assert!(verifies(verifier, challenge));
        assert!(is_well_formed_challenge(challenge));
    }

    #[test]
    fn a_wrong_short_or_strange_verifier_is_refused() {
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(!verifies(
            "eBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            challenge
        ));
        assert!(!verifies("short", &challenge_of("short")));
        let spaced = "dBjftJeZ4CVP mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert!(!verifies(spaced, &challenge_of(spaced)));
        assert!(!is_well_formed_challenge(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM"
        ));
    }
}
