//! Step 7: a token that another service sends, checked with the public keys its issuer
//! publishes as a JWK Set (`GET /.well-known/jwks.json`).
//!
//! Fetching and caching the set is the caller's business (the book explains how); here the set
//! is already in hand, parsed into jsonwebtoken's [`JwkSet`]. What this module decides is which
//! key may check a token, and what else the token must say before it is believed.

use std::fmt;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

// ANCHOR: policy
/// What a service accepts, fixed in its own configuration: nothing here comes from a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The one algorithm accepted, whatever a token's header says.
    pub algorithm: Algorithm,
    /// The issuer whose tokens are accepted: its `iss`, exactly.
    pub issuer: String,
    /// This service's own name, which a token's `aud` must contain.
    pub audience: String,
}
// ANCHOR_END: policy

// ANCHOR: service_claims
/// The claims a service token must carry. Others (its `aud` among them, checked by then) are
/// ignored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ServiceClaims {
    pub iss: String,
    /// Who is calling: the client id of the service the token was issued to.
    pub sub: String,
    pub iat: i64,
    pub exp: i64,
}
// ANCHOR_END: service_claims

// ANCHOR: service_refused
/// Why a service token was refused, in the order the checks are made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceRefused {
    /// The header cannot be read (an algorithm jsonwebtoken does not know, `none` among them,
    /// counts as unreadable), or the claims are missing or of the wrong type.
    Malformed,
    /// The header's `alg` is not the policy's.
    WrongAlgorithm { found: Algorithm },
    /// The header names no key. With a key set, a verifier must be told which key to use.
    NoKid,
    /// No key in the set has this `kid`. (A caller refetches the set once, then gives up.)
    UnknownKid { kid: String },
    /// The key with this `kid` is not for this: its `alg` is missing or not the policy's, or its
    /// `use` is not `sig`.
    UnsuitableKey { kid: String },
    /// The signature does not verify with that key.
    BadSignature,
    /// `iss` is not the policy's issuer.
    WrongIssuer,
    /// `aud` does not name this service.
    WrongAudience,
    /// `now` is at or after `exp`.
    Expired { exp: i64 },
}
// ANCHOR_END: service_refused

// ANCHOR: verify_service_token
/// Step 7. Check a token another service sent, with the issuer's published keys, at `now`: its
/// claims, or the first [`ServiceRefused`] that applies, in its order. The key comes from the
/// set, chosen by the token's `kid` and by nothing else (the book's "Service to service:
/// verifying through the JWKS").
pub fn verify_service_token(
    keys: &JwkSet,
    policy: &Policy,
    token: &str,
    now: i64,
) -> Result<ServiceClaims, ServiceRefused> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| ServiceRefused::Malformed)?;
    if header.alg != policy.algorithm {
        return Err(ServiceRefused::WrongAlgorithm { found: header.alg });
    }
    let kid = header.kid.ok_or(ServiceRefused::NoKid)?;
    let Some(jwk) = keys.find(&kid) else {
        return Err(ServiceRefused::UnknownKid { kid });
    };
    let key_algorithm = jwk
        .common
        .key_algorithm
        .and_then(|algorithm| algorithm.to_string().parse::<Algorithm>().ok());
    let for_signatures = matches!(
        jwk.common.public_key_use,
        None | Some(PublicKeyUse::Signature)
    );
    if key_algorithm != Some(policy.algorithm) || !for_signatures {
        return Err(ServiceRefused::UnsuitableKey { kid });
    }
    let key = DecodingKey::from_jwk(jwk)
        .map_err(|_| ServiceRefused::UnsuitableKey { kid: kid.clone() })?;

    let mut validation = Validation::new(policy.algorithm);
    validation.validate_exp = false;
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.set_issuer(&[&policy.issuer]);
    validation.set_audience(&[&policy.audience]);
    let claims = jsonwebtoken::decode::<ServiceClaims>(token, &key, &validation)
        .map_err(|error| match error.kind() {
            ErrorKind::InvalidSignature => ServiceRefused::BadSignature,
            ErrorKind::InvalidIssuer => ServiceRefused::WrongIssuer,
            ErrorKind::InvalidAudience => ServiceRefused::WrongAudience,
            // The key does not fit the algorithm after all (an EC key on another curve, say).
            ErrorKind::InvalidAlgorithm
            | ErrorKind::InvalidKeyFormat
            | ErrorKind::InvalidEcdsaKey => ServiceRefused::UnsuitableKey { kid: kid.clone() },
            _ => ServiceRefused::Malformed,
        })?
        .claims;
    if now >= claims.exp {
        return Err(ServiceRefused::Expired { exp: claims.exp });
    }
    Ok(claims)
}
// ANCHOR_END: verify_service_token

impl fmt::Display for ServiceRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceRefused::Malformed => write!(f, "the token cannot be read"),
            ServiceRefused::WrongAlgorithm { found } => {
                write!(
                    f,
                    "the header says {found:?}, which this service does not accept"
                )
            }
            ServiceRefused::NoKid => write!(f, "the header names no key (no kid)"),
            ServiceRefused::UnknownKid { kid } => {
                write!(f, "no published key has the kid {kid:?}")
            }
            ServiceRefused::UnsuitableKey { kid } => {
                write!(f, "the key {kid:?} is not a signing key for this algorithm")
            }
            ServiceRefused::BadSignature => write!(f, "the signature does not verify"),
            ServiceRefused::WrongIssuer => write!(f, "the token comes from another issuer"),
            ServiceRefused::WrongAudience => write!(f, "the token is meant for another service"),
            ServiceRefused::Expired { exp } => {
                write!(f, "the token expired at {}", crate::utc(*exp))
            }
        }
    }
}

impl std::error::Error for ServiceRefused {}
