//! `GET /.well-known/jwks.json`: the public keys other services verify our tokens with, as a
//! JWK Set. Secrets are never in it; with HS256 alone the set is empty.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use utoipa_axum::routes;

use super::{ApiRouter, endpoint, method_not_allowed};
use crate::app::AppState;
use crate::error::json_body;

/// Where the set is published (the discovery document's `jwks_uri` points here).
pub const JWKS_PATH: &str = "/.well-known/jwks.json";

/// How long a verifier may cache the set. A key rotated in waits longer than this (plus the
/// key ring poll) before it signs, so no cache can be without it when a token names it.
pub const JWKS_MAX_AGE_SECONDS: u32 = 300;

pub fn router() -> ApiRouter {
    ApiRouter::new().exact(routes!(jwks), |methods| {
        endpoint(methods.fallback(method_not_allowed), "GET, HEAD")
    })
}

// ANCHOR: jwks
/// Verifiers may cache the set for a few minutes; a token with a `kid` they have not seen is
/// their cue to fetch it again, which is how a rotated-in key reaches them.
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    operation_id = "jwks",
    tag = "keys",
    responses((status = 200, description = "The public keys (RFC 7517); empty with HS256 alone. Cacheable for five minutes.",
        body = Object, example = json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": "2026-01", "use": "sig", "alg": "EdDSA"}]}))),
)]
async fn jwks(State(state): State<AppState>) -> Response {
    let mut response = json_body(&state.tokens.keys().jwks());
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_str(&format!("public, max-age={JWKS_MAX_AGE_SECONDS}"))
            .expect("digits are a valid header value"),
    );
    response
}
// ANCHOR_END: jwks

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::JWKS_MAX_AGE_SECONDS;
    use crate::cli::{Cli, Command, KeyCommand};

    /// The defaults keep the promise: a rotated-in key signs only after every instance has read
    /// the ring again and every cached JWK Set has expired.
    #[test]
    fn a_new_key_waits_longer_than_any_cache_of_the_set() {
        let serve = Cli::parse_from(["jwt-workbook"]).serve;
        let Some(Command::Key(KeyCommand::Rotate { activate_in, .. })) =
            Cli::parse_from(["jwt-workbook", "key", "rotate"]).command
        else {
            panic!("`key rotate` parses");
        };
        assert!(activate_in.0 > i64::from(JWKS_MAX_AGE_SECONDS) + serve.keyring_poll.0);
    }
}
