//! The vulnerable verifiers, **wrong on purpose**: one function per flaw, each the few lines a
//! developer really writes when they make that mistake. The book's attack-lab chapter shows them
//! one by one (anchored regions), next to the exploit and the fix. Nothing outside `lab`
//! calls them, and `serve` never routes to them.

use std::path::Path;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde_json::{Map, Value};
use sqlx::SqlitePool;

/// The claims of a token a vulnerable app let through.
pub type Claims = Map<String, Value>;

/// Why an app refused a token: shown to the attacker, as careless apps do.
pub type Refusal = String;

fn refuse(reason: impl std::fmt::Display) -> Refusal {
    reason.to_string()
}

// ANCHOR: unverified
/// "The gateway checks signatures, so here we only read the claims." It does not, and nothing
/// here does either: any payload with any signature is believed. The function's module is
/// called `dangerous` for a reason.
pub fn unverified(token: &str) -> Result<Claims, Refusal> {
    let data = jsonwebtoken::dangerous::insecure_decode::<Claims>(token).map_err(refuse)?;
    Ok(data.claims)
}
// ANCHOR_END: unverified

// ANCHOR: alg_none
/// A hand-written verifier that does what the token's header says, including "none".
pub fn alg_none(token: &str, secret: &[u8], now: i64) -> Result<Claims, Refusal> {
    let (message, signature) = token.rsplit_once('.').ok_or("not a JWT")?;
    let (header, payload) = message.split_once('.').ok_or("not a JWT")?;
    let header = json_segment(header)?;
    match header.get("alg").and_then(Value::as_str) {
        // "Unsecured JWTs are part of RFC 7519, so we support them."
        Some("none") => {}
        Some("HS256") => {
            let key = DecodingKey::from_secret(secret);
            let valid =
                jsonwebtoken::crypto::verify(signature, message.as_bytes(), &key, Algorithm::HS256)
                    .map_err(refuse)?;
            if !valid {
                return Err("bad signature".into());
            }
        }
        _ => return Err("unsupported algorithm".into()),
    }
    let claims = json_segment(payload)?;
    check_exp(&claims, now)?;
    Ok(claims)
}
// ANCHOR_END: alg_none

// ANCHOR: weak_secret
/// A textbook verifier: pinned algorithm, signature and `exp` checked. The flaw is the secret
/// it is given, a word from a list every attacker has.
pub fn weak_secret(token: &str, secret: &str) -> Result<Claims, Refusal> {
    let key = DecodingKey::from_secret(secret.as_bytes());
    let validation = Validation::new(Algorithm::HS256);
    Ok(decode::<Claims>(token, &key, &validation)
        .map_err(refuse)?
        .claims)
}
// ANCHOR_END: weak_secret

// ANCHOR: jwk_header
/// "The token brings its public key along, so any service can check it." Checked against the
/// key it brought, a token proves only that its author had a key.
pub fn jwk_header(token: &str) -> Result<Claims, Refusal> {
    let header = decode_header(token).map_err(refuse)?;
    let jwk = header.jwk.ok_or("the token carries no jwk")?;
    let key = DecodingKey::from_jwk(&jwk).map_err(refuse)?;
    Ok(decode::<Claims>(token, &key, &Validation::new(header.alg))
        .map_err(refuse)?
        .claims)
}
// ANCHOR_END: jwk_header

// ANCHOR: jku_header
/// "The token says where its key set is, so we can rotate keys without redeploying." Whoever
/// writes the token chooses the URL, and so the key.
pub async fn jku_header(token: &str) -> Result<Claims, Refusal> {
    let header = decode_header(token).map_err(refuse)?;
    let url = header.jku.ok_or("the token carries no jku")?;
    let keys: JwkSet = fetch_json(&url).await?;
    let jwk = match &header.kid {
        Some(kid) => keys.find(kid),
        None => keys.keys.first(),
    }
    .ok_or("no such key in the key set")?;
    let key = DecodingKey::from_jwk(jwk).map_err(refuse)?;
    Ok(decode::<Claims>(token, &key, &Validation::new(header.alg))
        .map_err(refuse)?
        .claims)
}
// ANCHOR_END: jku_header

// ANCHOR: kid_path
/// Keys live in files named after their `kid`: rotating is "drop a new file in keys/".
pub fn kid_path(token: &str, keys_dir: &Path) -> Result<Claims, Refusal> {
    let kid = decode_header(token).map_err(refuse)?.kid.ok_or("no kid")?;
    let secret = std::fs::read(keys_dir.join(&kid)).map_err(|_| "unknown key")?;
    let key = DecodingKey::from_secret(&secret);
    Ok(
        decode::<Claims>(token, &key, &Validation::new(Algorithm::HS256))
            .map_err(refuse)?
            .claims,
    )
}
// ANCHOR_END: kid_path

// ANCHOR: kid_sql
/// Keys live in a table, looked up by `kid`, the query built by hand. (sqlx 0.9 makes you write
/// `AssertSqlSafe` to run a string you built, a last chance to notice.)
pub async fn kid_sql(token: &str, db: &SqlitePool) -> Result<Claims, Refusal> {
    let kid = decode_header(token).map_err(refuse)?.kid.ok_or("no kid")?;
    let query = format!("SELECT secret FROM signing_keys WHERE kid = '{kid}'");
    let secret: String = sqlx::query_scalar(sqlx::AssertSqlSafe(query))
        .fetch_optional(db)
        .await
        .map_err(refuse)?
        .ok_or("unknown key")?;
    let key = DecodingKey::from_secret(secret.as_bytes());
    Ok(
        decode::<Claims>(token, &key, &Validation::new(Algorithm::HS256))
            .map_err(refuse)?
            .claims,
    )
}
// ANCHOR_END: kid_sql

// ANCHOR: alg_confusion
/// One key, "the" key, as PEM text, and the algorithm from the header: the API of many early
/// JWT libraries, `verify(token, key)`. For RS256 the PEM is a public key; for HS256 the same
/// text becomes an HMAC secret, and it is public.
pub fn alg_confusion(token: &str, public_pem: &str) -> Result<Claims, Refusal> {
    let header = decode_header(token).map_err(refuse)?;
    let key = match header.alg {
        Algorithm::HS256 => DecodingKey::from_secret(public_pem.as_bytes()),
        _ => rsa_public_key(public_pem)?,
    };
    Ok(decode::<Claims>(token, &key, &Validation::new(header.alg))
        .map_err(refuse)?
        .claims)
}
// ANCHOR_END: alg_confusion

// ANCHOR: expired
/// "Our servers' clocks drift and users got logged out, so we turned the expiry check off."
pub fn expired(token: &str, secret: &[u8]) -> Result<Claims, Refusal> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.validate_exp = false;
    let key = DecodingKey::from_secret(secret);
    Ok(decode::<Claims>(token, &key, &validation)
        .map_err(refuse)?
        .claims)
}
// ANCHOR_END: expired

// ANCHOR: audience
/// "jsonwebtoken refused the tokens of our single sign-on with InvalidAudience, so we switched
/// that check off." Production and staging share the signing key.
pub fn audience(token: &str, secret: &[u8]) -> Result<Claims, Refusal> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.validate_aud = false;
    let key = DecodingKey::from_secret(secret);
    Ok(decode::<Claims>(token, &key, &validation)
        .map_err(refuse)?
        .claims)
}
// ANCHOR_END: audience

// ANCHOR: refresh_as_access
/// Signature, algorithm and expiry checked; `token_type` never looked at. Refresh tokens are
/// signed with the same key, so they open everything an access token opens, for a day.
pub fn refresh_as_access(token: &str, secret: &[u8]) -> Result<Claims, Refusal> {
    let key = DecodingKey::from_secret(secret);
    Ok(
        decode::<Claims>(token, &key, &Validation::new(Algorithm::HS256))
            .map_err(refuse)?
            .claims,
    )
}
// ANCHOR_END: refresh_as_access

/// What the refresh-reuse app checks on its protected route: everything, correctly. Its flaw is
/// in its refresh endpoint ([`refresh_reuse`]).
pub fn access_token(token: &str, secret: &[u8]) -> Result<Claims, Refusal> {
    let claims = refresh_as_access(token, secret)?;
    if claims.get("token_type").and_then(Value::as_str) != Some("access") {
        return Err("not an access token".into());
    }
    Ok(claims)
}

// ANCHOR: refresh_reuse
/// Rotation done halfway: every refresh hands out a new refresh token, but the old one is never
/// written down as used, so it keeps working for the rest of its day.
pub fn refresh_reuse(token: &str, secret: &[u8]) -> Result<Claims, Refusal> {
    let key = DecodingKey::from_secret(secret);
    let claims = decode::<Claims>(token, &key, &Validation::new(Algorithm::HS256))
        .map_err(refuse)?
        .claims;
    if claims.get("token_type").and_then(Value::as_str) != Some("refresh") {
        return Err("not a refresh token".into());
    }
    Ok(claims)
}
// ANCHOR_END: refresh_reuse

/// An RSA public key from SPKI PEM text, for jsonwebtoken (built here without its PEM feature).
fn rsa_public_key(pem: &str) -> Result<DecodingKey, Refusal> {
    use rsa::pkcs8::DecodePublicKey;
    use rsa::traits::PublicKeyParts;
    let key = rsa::RsaPublicKey::from_public_key_pem(pem).map_err(refuse)?;
    Ok(DecodingKey::from_rsa_raw_components(
        &key.n().to_bytes_be(),
        &key.e().to_bytes_be(),
    ))
}

/// A base64url segment holding a JSON object.
fn json_segment(segment: &str) -> Result<Claims, Refusal> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(refuse)?;
    serde_json::from_slice(&bytes).map_err(refuse)
}

fn check_exp(claims: &Claims, now: i64) -> Result<(), Refusal> {
    match claims.get("exp").and_then(Value::as_i64) {
        Some(exp) if exp > now => Ok(()),
        Some(_) => Err("expired".into()),
        None => Err("no exp".into()),
    }
}

/// GETs a JSON document, from a loopback address only: the lab must never be made to send a
/// request anywhere else, whatever a token says. No redirects (one could leave loopback), a
/// short timeout and a small body.
async fn fetch_json<T: serde::de::DeserializeOwned + Send + 'static>(
    url: &str,
) -> Result<T, Refusal> {
    if !super::is_loopback_url(url) {
        return Err(format!(
            "the lab fetches key sets from loopback addresses only (http://127.0.0.1:…), not {url}"
        ));
    }
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || {
        let agent = ureq::Agent::config_builder()
            .max_redirects(0)
            .timeout_global(Some(std::time::Duration::from_secs(3)))
            .http_status_as_error(true)
            .build()
            .new_agent();
        let mut response = agent
            .get(&url)
            .call()
            .map_err(|e| format!("fetching {url}: {e}"))?;
        let body = response
            .body_mut()
            .with_config()
            .limit(64 * 1024)
            .read_to_string()
            .map_err(|e| format!("reading {url}: {e}"))?;
        serde_json::from_str(&body).map_err(|e| format!("{url} is not a key set: {e}"))
    })
    .await
    .map_err(refuse)?
}
