//! `GET /.well-known/jwks.json`: the public keys other services verify our tokens with, as a
//! JWK Set. Secrets are never in it; with HS256 alone the set is empty.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum::routing::get;

use super::{endpoint, method_not_allowed};
use crate::app::AppState;
use crate::error::json_body;

pub const JWKS_PATH: &str = "/.well-known/jwks.json";

pub fn router() -> Router<AppState> {
    Router::new().route(
        JWKS_PATH,
        endpoint(get(jwks).fallback(method_not_allowed), "GET, HEAD, OPTIONS"),
    )
}

// ANCHOR: jwks
/// Verifiers may cache the set for a few minutes; a token with a `kid` they have not seen is
/// their cue to fetch it again, which is how a rotated-in key reaches them.
async fn jwks(State(state): State<AppState>) -> Response {
    let mut response = json_body(&state.tokens.keys().jwks());
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}
// ANCHOR_END: jwks
