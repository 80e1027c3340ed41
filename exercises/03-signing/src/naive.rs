//! A verifier that trusts the token, ready-made so that you can watch it fail. Do not copy it.
//!
//! Every line of it looks reasonable, and each one has shipped in real libraries: it obeys the
//! token's `alg`, it treats `none` as "nothing to check", it hands its one key (a PEM text) to
//! whatever algorithm the token names, and it takes a key from the token's header when there is
//! one. Step 9 runs the attack catalog through it and through your careful verifier, side by side.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::traits::PublicKeyParts;
use serde_json::{Map, Value};

// ANCHOR: naive_verify
/// Verifies `token` with the server's RSA public key, given as PEM text, the way a verifier that
/// believes the header would. Returns the claims, or a sentence saying why it refused.
pub fn naive_verify(token: &str, public_key_pem: &str) -> Result<Map<String, Value>, String> {
    let (message, signature) = token.rsplit_once('.').ok_or("not a JWT")?;
    let (header, payload) = message.split_once('.').ok_or("not a JWT")?;
    let header: Map<String, Value> = json_segment(header)?;
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");

    // "An unsecured token has no signature to check."
    if alg == "none" {
        return json_segment(payload);
    }
    // "The token says which algorithm it uses."
    let algorithm: Algorithm = alg.parse().map_err(|_| format!("unknown alg {alg:?}"))?;
    let key = if let Some(jwk) = header.get("jwk") {
        // "The token even brings its own key."
        let jwk: Jwk = serde_json::from_value(jwk.clone()).map_err(|e| e.to_string())?;
        DecodingKey::from_jwk(&jwk).map_err(|e| e.to_string())?
    } else if algorithm == Algorithm::HS256 {
        // "Our key is this PEM text; HS256 wants bytes, so here are its bytes."
        DecodingKey::from_secret(public_key_pem.as_bytes())
    } else {
        let public =
            rsa::RsaPublicKey::from_public_key_pem(public_key_pem).map_err(|e| e.to_string())?;
        DecodingKey::from_rsa_raw_components(&public.n().to_bytes_be(), &public.e().to_bytes_be())
    };
    match jsonwebtoken::crypto::verify(signature, message.as_bytes(), &key, algorithm) {
        Ok(true) => json_segment(payload),
        Ok(false) => Err("the signature does not match".into()),
        Err(error) => Err(format!("cannot check the signature: {error}")),
    }
}
// ANCHOR_END: naive_verify

fn json_segment(segment: &str) -> Result<Map<String, Value>, String> {
    let bytes = URL_SAFE_NO_PAD.decode(segment).map_err(|e| e.to_string())?;
    serde_json::from_slice(&bytes).map_err(|e| e.to_string())
}
