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
//! The steps: [`parse_authorization`], [`hello_sync`], [`user_for_access_token`], the [`CurrentUser`]
//! extractor, [`obtain`], [`verify`], [`hello`] and [`me`], the [`routes`] and the [`router`].

// Until each step is written, its arguments and imports go unused.
#![allow(unused_variables, unused_imports, dead_code)]

use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
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
/// Step 1. Read an `Authorization` header value as DRF does: split it into words at runs of
/// whitespace. No words at all, or a first word that is not exactly `Bearer` (the scheme is
/// case-sensitive), is [`Credentials::Anonymous`]. `Bearer` followed by exactly one word is
/// [`Credentials::Bearer`] with that word; `Bearer` followed by none, or by two or more, is
/// [`Credentials::Malformed`].
pub fn parse_authorization(header: Option<&[u8]>) -> Credentials<'_> {
    // TODO: Step 1: the kind of credentials this header carries, read as DRF reads it.
    todo!()
}
// ANCHOR_END: parse_authorization

// ANCHOR: hello_sync
/// Step 2. The `/hello/` endpoint as one plain function, before `async`, the shared state and
/// extractors come in: the `Authorization` header as it came, the token service and the users
/// are handed in, and the answer is the greeting's JSON or the refusal a protected route gives.
/// The checks and their order are the picture's, "From the header to a user" in the book: the
/// header as step 1 reads it, then a valid *access* token, a `user_id` claim, a user with that
/// id, and an active user. (A token that is not UTF-8 text cannot be one of ours: check it as
/// an empty token, which the token service refuses.)
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
/// Step 3. The user an access token proves, checked in simplejwt's order, each failure with
/// its own answer:
///
/// 1. the token verifies as an *access* token (`state.tokens.verify` with
///    `Some(TokenType::Access)`), else [`ApiError::AccessToken`] with the reason;
/// 2. it has a `user_id` claim, else [`ApiError::NoUserIdentification`];
/// 3. that user exists (`state.find_user`), else [`ApiError::UserNotFound`];
/// 4. and is active, else [`ApiError::UserInactive`].
pub async fn user_for_access_token(state: &AppState, token: &str) -> Result<User, ApiError> {
    // TODO: Step 3: the four checks of the doc comment, each with its own answer.
    todo!()
}
// ANCHOR_END: user_for_access_token

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

    /// Step 4. Read the `Authorization` header with [`parse_authorization`]. Anonymous is
    /// [`ApiError::NotAuthenticated`]; malformed is [`ApiError::BadAuthorizationHeader`]; a
    /// bearer token goes to [`user_for_access_token`]. (A token that is not UTF-8 text cannot
    /// be one of ours: treat it as an empty token, which the token service refuses.)
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // TODO: Step 4: from the request's header to a user, or the right refusal.
        todo!()
    }
}
// ANCHOR_END: extractor

// ANCHOR: obtain
/// Step 5. `POST /api/token/`: a username and a password in, a refresh and an access token
/// out. Both fields are required strings ([`required_strings`] answers the 400s); every kind
/// of bad credentials is one 401, [`ApiError::NoActiveAccount`]; the body on success is the
/// pair from `state.tokens.issue_pair`, for the user's id as a string.
pub async fn obtain(
    State(state): State<AppState>,
    FormData(data): FormData,
) -> Result<Response, ApiError> {
    // TODO: Step 5: the two fields, the credentials, and the pair.
    todo!()
}
// ANCHOR_END: obtain

// ANCHOR: verify
/// Step 6. `POST /api/token/verify/`: is this token valid? `{}` if it is. Any type of token
/// passes (`None` as the expected type), and no user is looked up: the answer is about the
/// token alone. A refusal is [`ApiError::Token`], the token endpoints' 401.
pub async fn verify(
    State(state): State<AppState>,
    FormData(data): FormData,
) -> Result<Response, ApiError> {
    // TODO: Step 6: one field, one verification, and simplejwt's answer.
    todo!()
}
// ANCHOR_END: verify

// ANCHOR: hello
/// Step 7. `GET /hello/`: `{"message": "Hello, World!"}`, for authenticated callers only.
pub async fn hello(CurrentUser(user): CurrentUser) -> Response {
    // TODO: Step 7: the greeting; the extractor in the arguments has done the checking.
    todo!()
}
// ANCHOR_END: hello

// ANCHOR: me
/// Step 7. `GET /api/me/`: who the access token belongs to: `id`, `username`, `is_active` and
/// `date_joined`, in that order.
pub async fn me(CurrentUser(user): CurrentUser) -> Response {
    // TODO: Step 7: the fields of the doc comment, in its order.
    todo!()
}
// ANCHOR_END: me

// ANCHOR: routes
/// Step 8. The four routes, each with its trailing slash as Django writes them, and what each
/// answers to a method it does not serve:
///
/// - `/api/token/` and `/api/token/verify/` take `POST`; any other method is a 405 with
///   `Allow: POST`;
/// - `/hello/` and `/api/me/` take `GET` (and so `HEAD`); any other method is a 405 with
///   `Allow: GET, HEAD`, but only for an authenticated caller: DRF authenticates first, so an
///   anonymous one gets the 401.
///
/// The state is added by step 9, so this returns a router that still needs it.
pub fn routes() -> Router<AppState> {
    // TODO: Step 8: the four routes of the doc comment, and what each answers to the rest.
    todo!()
}
// ANCHOR_END: routes

// ANCHOR: router
/// Step 9. The whole router: the routes of step 8; each of their paths without its slash, a
/// 301 to the path with it, whatever the method; any other path, DRF's 404,
/// `{"detail": "Not found."}`; and the shared state.
pub fn router(state: AppState) -> Router {
    // TODO: Step 9: your step 8, then the slashless paths, the other paths and the state.
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
