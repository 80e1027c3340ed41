//! Ready-made: an HTTP client for one lab app, and the few token helpers every exploit needs.
//! The chapter is about the flaws, not about HTTP plumbing or base64.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Value, json};
use sha2::Sha256;

/// What an exploit can fail with: a message saying what went wrong.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// The guest's credentials: every app's login page shows them.
pub const GUEST: &str = "guest";
pub const GUEST_PASSWORD: &str = "guest";

// ANCHOR: target
/// One lab app, at its base URL (`http://127.0.0.1:8001/lab/alg-none/`). Paths are relative to
/// it: `target.get("logs")` reads `…/lab/alg-none/logs`.
#[derive(Debug, Clone)]
pub struct Target {
    base: String,
    agent: ureq::Agent,
}

/// The two tokens a login answers.
#[derive(Debug, Clone)]
pub struct Pair {
    pub access: String,
    pub refresh: String,
}

impl Target {
    pub fn new(base: &str) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(std::time::Duration::from_secs(10)))
            .build()
            .new_agent();
        let base = if base.ends_with('/') {
            base.to_owned()
        } else {
            format!("{base}/")
        };
        Self { base, agent }
    }

    /// The full URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path.trim_start_matches('/'))
    }

    /// `POST api/token/` as the guest: the guest's access and refresh tokens.
    pub fn login(&self) -> Result<Pair, Error> {
        let body = self.post_json(
            "api/token/",
            &json!({"username": GUEST, "password": GUEST_PASSWORD}),
        )?;
        Ok(Pair {
            access: string_field(&body, "access")?,
            refresh: string_field(&body, "refresh")?,
        })
    }

    /// `GET api/admin/` with `Authorization: Bearer <token>`: the flag, or an error with the
    /// app's answer.
    pub fn admin(&self, token: &str) -> Result<String, Error> {
        let mut response = self
            .agent
            .get(&self.url("api/admin/"))
            .header("Authorization", &format!("Bearer {token}"))
            .call()?;
        let status = response.status();
        let body = response.body_mut().read_to_string()?;
        if status != 200 {
            return Err(format!("the admin resource answered {status}: {body}").into());
        }
        let body: Value = serde_json::from_str(&body)?;
        string_field(&body, "flag")
    }

    /// `GET path`: the body as text, or an error unless the answer is 200.
    pub fn get(&self, path: &str) -> Result<String, Error> {
        let mut response = self.agent.get(&self.url(path)).call()?;
        let status = response.status();
        let body = response.body_mut().read_to_string()?;
        if status != 200 {
            return Err(format!("GET {path} answered {status}: {body}").into());
        }
        Ok(body)
    }

    /// `POST path` with a JSON body: the JSON answer, or an error unless it is 2xx.
    pub fn post_json(&self, path: &str, body: &Value) -> Result<Value, Error> {
        self.post(path, "application/json", &body.to_string())
    }

    /// `POST path` with any text: the JSON answer, or an error unless it is 2xx.
    pub fn post_text(&self, path: &str, body: &str) -> Result<Value, Error> {
        self.post(path, "text/plain", body)
    }

    fn post(&self, path: &str, content_type: &str, body: &str) -> Result<Value, Error> {
        let mut response = self
            .agent
            .post(&self.url(path))
            .header("Content-Type", content_type)
            .send(body)?;
        let status = response.status();
        let text = response.body_mut().read_to_string()?;
        if !status.is_success() {
            return Err(format!("POST {path} answered {status}: {text}").into());
        }
        Ok(serde_json::from_str(&text)?)
    }
}
// ANCHOR_END: target

fn string_field(body: &Value, name: &str) -> Result<String, Error> {
    body.get(name)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| format!("no {name:?} in {body}").into())
}

// ANCHOR: helpers
/// The three segments of a compact JWT: header, payload, signature.
pub fn split(token: &str) -> Result<[&str; 3], Error> {
    let parts: Vec<&str> = token.split('.').collect();
    match parts[..] {
        [header, payload, signature] => Ok([header, payload, signature]),
        _ => Err(format!("not a JWT: {token}").into()),
    }
}

/// A base64url segment decoded and parsed as JSON.
pub fn decode_segment(segment: &str) -> Result<Value, Error> {
    Ok(serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment)?)?)
}

/// JSON written compactly and encoded as a base64url segment.
pub fn encode_segment(value: &Value) -> String {
    b64(value.to_string().as_bytes())
}

/// base64url without padding, as JWS writes everything.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// base64url without padding, decoded.
pub fn b64_decode(text: &str) -> Result<Vec<u8>, Error> {
    Ok(URL_SAFE_NO_PAD.decode(text)?)
}

/// The HS256 signature of `signing_input` (`header.payload`) with `key`, as base64url.
pub fn sign_hs256(signing_input: &str, key: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(signing_input.as_bytes());
    b64(&mac.finalize().into_bytes())
}

/// A complete HS256 token: `header` and `claims` encoded, signed with `key`.
pub fn hs256_token(header: &Value, claims: &Value, key: &[u8]) -> String {
    let input = format!("{}.{}", encode_segment(header), encode_segment(claims));
    let signature = sign_hs256(&input, key);
    format!("{input}.{signature}")
}
// ANCHOR_END: helpers

/// A jsonwebtoken key from what [`crate::TrustedKey`] holds: the HS256 secret, or the public
/// key's PEM text (SPKI) for RS256 and EdDSA.
pub fn decoding_key(algorithm: Algorithm, material: &[u8]) -> Result<DecodingKey, Error> {
    match algorithm {
        Algorithm::HS256 => Ok(DecodingKey::from_secret(material)),
        Algorithm::RS256 => {
            use rsa::pkcs8::DecodePublicKey;
            use rsa::traits::PublicKeyParts;
            let key = rsa::RsaPublicKey::from_public_key_pem(std::str::from_utf8(material)?)?;
            Ok(DecodingKey::from_rsa_raw_components(
                &key.n().to_bytes_be(),
                &key.e().to_bytes_be(),
            ))
        }
        Algorithm::EdDSA => {
            let pem = std::str::from_utf8(material)?;
            let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
            let der = base64::engine::general_purpose::STANDARD.decode(body)?;
            // An Ed25519 SPKI is 12 bytes of algorithm identifier, then the 32-byte key.
            let raw = der
                .get(12..)
                .filter(|raw| raw.len() == 32)
                .ok_or("not an Ed25519 key")?;
            Ok(DecodingKey::from_ed_components(&b64(raw))?)
        }
        other => Err(format!("the lab uses no {other:?} keys").into()),
    }
}
