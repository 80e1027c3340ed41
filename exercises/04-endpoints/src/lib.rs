//! Chapter 4, "Token endpoints": the flow of Django REST framework + simplejwt (log in, present
//! the access token, verify a token) as axum handlers and an extractor.
//!
//! Your exercise: replace each `todo!()` below, step by step, until `cargo test -p
//! ch04-endpoints-exercise` passes. `cargo run -- check 4` says which step to work on next.
//!
//! Everything below the HTTP layer is the shared server's, ready to use. [`AppState`] holds the
//! token service (it issues and verifies tokens: chapters 2 and 3), the user store and the
//! password hasher; [`authenticate`] checks a username and a password; [`FormData`] reads a JSON,
//! form-encoded or multipart body into fields; [`required_strings`] validates those fields as
//! DRF's serializers do; [`ApiError`] renders every failure in DRF's shape and words. What this
//! crate adds is the flow: which check runs when, and which answer each failure gets.
//!
//! The steps: [`parse_authorization`], [`hello_sync`], [`user_for_access_token`],
//! [`bearer_token`], the [`CurrentUser`] extractor, [`obtain`], [`verify`], [`hello`] and [`me`],
//! the [`routes`] and the [`router`].

// Until each step is written, its arguments and imports go unused.
#![allow(unused_variables, unused_imports, dead_code)]

use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use serde_json::{Value, json};

use jwt_workbook::app::AppState;
use jwt_workbook::error::{ApiError, json_body};
use jwt_workbook::http::body::{FormData, required_strings};
use jwt_workbook::tokens::{TokenService, TokenType};
use jwt_workbook::users::{LoginError, User, authenticate};

// ANCHOR: warm_up
/// Step 0, a warm-up. The path Django would redirect `path` to: the same path ending with
/// one `/`, added only when it is missing (the book's "Side by side with Django REST framework").
pub fn with_trailing_slash(path: &str) -> String {
    // TODO: Step 0: add the slash only when it is missing.
    todo!()
}
// ANCHOR_END: warm_up

// ANCHOR: credentials
/// What an `Authorization` header says, read the way DRF + simplejwt read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credentials<'a> {
    /// No header, an empty one, or another scheme (`Token …`, `Basic …`, even `bearer …`): not
    /// meant for us. The request carries no user, and a protected route answers "not provided".
    Anonymous,
    /// `Bearer` with no token after it, or with more than one word: meant for us, but broken.
    Malformed,
    /// `Bearer <token>`: the token's bytes, not checked in any way yet.
    Bearer(&'a [u8]),
}
// ANCHOR_END: credentials

// ANCHOR: parse_authorization
/// Step 1. What an `Authorization` header value carries, read exactly as DRF + simplejwt
/// read it: the book's "The header", whose table of eighteen headers is the rule.
pub fn parse_authorization(header: Option<&[u8]>) -> Credentials<'_> {
    // TODO: Step 1: the kind of credentials this header carries, read as DRF reads it.
    todo!()
}
// ANCHOR_END: parse_authorization

// ANCHOR: hello_sync
/// Step 2. The `/hello/` endpoint as one plain function, before `async`, the shared state and
/// extractors come in: the `Authorization` header as it came, the token service and the users
/// are handed in, and the answer is the greeting's JSON or the refusal a protected route gives.
/// The checks, their order and each one's answer are the book's picture, "From the header to
/// a user". (A token that is not UTF-8 text cannot be one of ours: check it as an empty token,
/// which the token service refuses.)
pub fn hello_sync(
    header: Option<&[u8]>,
    tokens: &TokenService,
    users: &[User],
) -> Result<Value, ApiError> {
    // TODO: Step 2: step 1, then the four checks of the picture, then the greeting.
    todo!()
}
// ANCHOR_END: hello_sync

// ANCHOR: user_for_access_token
/// Step 3. The user an access token proves, from the shared state: the token checks of step 2,
/// now against the database, each failure with its own answer (the book's "From the header to
/// a user").
pub async fn user_for_access_token(state: &AppState, token: &str) -> Result<User, ApiError> {
    // TODO: Step 3: step 2's token checks, with the user looked up in the store.
    todo!()
}
// ANCHOR_END: user_for_access_token

// ANCHOR: bearer_token
/// Step 4. The token a request's `Authorization` header presents, as text, or the refusal a
/// protected route gives a request that presents none, or a broken one: the header's rungs of
/// "From the header to a user", read from the request's headers. Whatever bytes the header
/// holds, it is read as DRF reads it; a token that is not text cannot be one of ours, so it is
/// the empty token, which the token service refuses.
pub fn bearer_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    // TODO: Step 4: from the request's headers to the token, or the header's refusal.
    todo!()
}
// ANCHOR_END: bearer_token

// ANCHOR: current_user
/// The user whose access token came with the request. A handler that takes it as an argument
/// runs only for a valid access token of an active user; every other request gets the
/// extractor's rejection, a 401, and the handler never runs.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub User);
// ANCHOR_END: current_user

// ANCHOR: extractor
impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    /// Step 5. The user a request proves, or the refusal that is sent instead of running the
    /// handler: your steps 4 and 3, joined where axum wants them (the book's step 5).
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // TODO: Step 5: from the request to a user, or the right refusal.
        todo!()
    }
}
// ANCHOR_END: extractor

// ANCHOR: obtain
/// Step 6. `POST /api/token/`: a username and a password in, a refresh and an access token
/// out, with simplejwt's answers to missing fields and to bad credentials, whatever the body's
/// format (the book's "Logging in: `POST /api/token/`").
pub async fn obtain(
    State(state): State<AppState>,
    FormData(data): FormData,
) -> Result<Response, ApiError> {
    // TODO: Step 6: the fields, the credentials, then the pair, each refusal as simplejwt's.
    todo!()
}
// ANCHOR_END: obtain

// ANCHOR: verify
/// Step 7. `POST /api/token/verify/`: is this token valid? simplejwt's answer about the token
/// alone, whoever it names and whatever its type (the book's "Verify: `POST
/// /api/token/verify/`").
pub async fn verify(
    State(state): State<AppState>,
    FormData(data): FormData,
) -> Result<Response, ApiError> {
    // TODO: Step 7: is the token valid, and nothing more.
    todo!()
}
// ANCHOR_END: verify

// ANCHOR: hello
/// Step 8. `GET /hello/`: `{"message": "Hello, World!"}`, for authenticated callers only.
pub async fn hello(CurrentUser(user): CurrentUser) -> Response {
    // TODO: Step 8: the greeting, for a caller already proven.
    todo!()
}
// ANCHOR_END: hello

// ANCHOR: me
/// Step 8. `GET /api/me/`: who the access token belongs to: `id`, `username`, `is_active` and
/// `date_joined`, in that order.
pub async fn me(CurrentUser(user): CurrentUser) -> Response {
    // TODO: Step 8: the caller's fields, in the doc comment's order.
    todo!()
}
// ANCHOR_END: me

// ANCHOR: routes
/// Step 9. The four routes, each with its trailing slash as Django writes them: `POST` for
/// `/api/token/` and `/api/token/verify/`, `GET` for `/hello/` and `/api/me/`, and DRF's 405
/// for any other method, in DRF's order of checks (the book's "Which check comes first:
/// authentication or the method?"). The state is added by step 10, so this returns a router
/// that still needs it.
pub fn routes() -> Router<AppState> {
    // TODO: Step 9: the four routes, and what each answers to the methods it does not serve.
    todo!()
}
// ANCHOR_END: routes

// ANCHOR: router
/// Step 10. The whole router: the routes of step 9; each of their paths without its slash
/// redirected as Django's `APPEND_SLASH` does, whatever the method; any other path, DRF's 404,
/// `{"detail": "Not found."}`; and the shared state.
pub fn router(state: AppState) -> Router {
    // TODO: Step 10: your step 9, then the slashless paths, the other paths and the state.
    todo!()
}
// ANCHOR_END: router

// ANCHOR: helpers
/// DRF's 405, `{"detail": "Method \"PUT\" not allowed."}`, with the `Allow` header that HTTP
/// requires on every 405 (RFC 9110 §15.5.6): the methods the endpoint does serve.
pub fn method_not_allowed(method: Method, allow: &'static str) -> Response {
    ([(header::ALLOW, allow)], ApiError::MethodNotAllowed(method)).into_response()
}

/// Django's `APPEND_SLASH`: a path asked for without its trailing slash is sent, with a 301
/// and an empty body, to `location`, the same path with the slash.
pub fn moved_permanently(location: &'static str) -> Response {
    (
        StatusCode::MOVED_PERMANENTLY,
        [(header::LOCATION, location)],
    )
        .into_response()
}
// ANCHOR_END: helpers
