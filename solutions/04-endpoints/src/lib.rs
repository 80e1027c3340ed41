//! Chapter 4, "Token endpoints", solved: the flow of Django REST framework + simplejwt (log in,
//! present the access token, verify a token) as axum handlers and an extractor.
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
    if path.ends_with('/') {
        path.to_string()
    } else {
        format!("{path}/")
    }
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
    let Some(header) = header else {
        return Credentials::Anonymous;
    };
    let mut words = header
        .split(u8::is_ascii_whitespace)
        .filter(|word| !word.is_empty());
    match (words.next(), words.next(), words.next()) {
        (Some(b"Bearer"), Some(token), None) => Credentials::Bearer(token),
        (Some(b"Bearer"), _, _) => Credentials::Malformed,
        _ => Credentials::Anonymous,
    }
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
    let token = match parse_authorization(header) {
        Credentials::Anonymous => return Err(ApiError::NotAuthenticated),
        Credentials::Malformed => return Err(ApiError::BadAuthorizationHeader),
        Credentials::Bearer(token) => std::str::from_utf8(token).unwrap_or_default(),
    };
    let verified = tokens
        .verify(token, Some(TokenType::Access))
        .map_err(ApiError::AccessToken)?;
    let user_id = verified
        .user_id
        .as_deref()
        .ok_or(ApiError::NoUserIdentification)?;
    // The store looks users up by number, so "abc" names nobody and "01" names user 1.
    let user = user_id
        .parse::<i64>()
        .ok()
        .and_then(|id| users.iter().find(|user| user.id == id))
        .ok_or(ApiError::UserNotFound)?;
    if !user.is_active {
        return Err(ApiError::UserInactive);
    }
    Ok(json!({"message": "Hello, World!"}))
}
// ANCHOR_END: hello_sync

// ANCHOR: user_for_access_token
/// Step 3. The user an access token proves, from the shared state: the token checks of step 2,
/// now against the database, each failure with its own answer (the book's "From the header to
/// a user").
pub async fn user_for_access_token(state: &AppState, token: &str) -> Result<User, ApiError> {
    let verified = state
        .tokens
        .verify(token, Some(TokenType::Access))
        .map_err(ApiError::AccessToken)?;
    let user_id = verified
        .user_id
        .as_deref()
        .ok_or(ApiError::NoUserIdentification)?;
    let user = state
        .find_user(user_id)
        .await?
        .ok_or(ApiError::UserNotFound)?;
    if !user.is_active {
        return Err(ApiError::UserInactive);
    }
    Ok(user)
}
// ANCHOR_END: user_for_access_token

// ANCHOR: bearer_token
/// Step 4. The token a request's `Authorization` header presents, as text, or the refusal a
/// protected route gives a request that presents none, or a broken one: the header's rungs of
/// "From the header to a user", read from the request's headers. Whatever bytes the header
/// holds, it is read as DRF reads it; a token that is not text cannot be one of ours, so it is
/// the empty token, which the token service refuses.
pub fn bearer_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    let header = headers
        .get(header::AUTHORIZATION)
        .map(HeaderValue::as_bytes);
    match parse_authorization(header) {
        Credentials::Anonymous => Err(ApiError::NotAuthenticated),
        Credentials::Malformed => Err(ApiError::BadAuthorizationHeader),
        Credentials::Bearer(token) => Ok(std::str::from_utf8(token).unwrap_or_default()),
    }
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
        let token = bearer_token(&parts.headers)?;
        user_for_access_token(state, token).await.map(CurrentUser)
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
    let [username, password] = required_strings(&data, ["username", "password"])?;
    let user = authenticate(&*state.users, &state.passwords, &username, &password)
        .await
        .map_err(|error| match error {
            LoginError::NoActiveAccount => ApiError::NoActiveAccount,
            LoginError::Store(error) => error.into(),
        })?;
    Ok(json_body(&state.tokens.issue_pair(&user.id.to_string())))
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
    let [token] = required_strings(&data, ["token"])?;
    state.tokens.verify(&token, None).map_err(ApiError::Token)?;
    Ok(json_body(&json!({})))
}
// ANCHOR_END: verify

// ANCHOR: hello
/// Step 8. `GET /hello/`: `{"message": "Hello, World!"}`, for authenticated callers only.
pub async fn hello(CurrentUser(_user): CurrentUser) -> Response {
    json_body(&json!({ "message": "Hello, World!" }))
}
// ANCHOR_END: hello

// ANCHOR: me
/// Step 8. `GET /api/me/`: who the access token belongs to: `id`, `username`, `is_active` and
/// `date_joined`, in that order.
pub async fn me(CurrentUser(user): CurrentUser) -> Response {
    json_body(&json!({
        "id": user.id,
        "username": user.username,
        "is_active": user.is_active,
        "date_joined": user.date_joined,
    }))
}
// ANCHOR_END: me

// ANCHOR: routes
/// Step 9. The four routes, each with its trailing slash as Django writes them: `POST` for
/// `/api/token/` and `/api/token/verify/`, `GET` for `/hello/` and `/api/me/`, and DRF's 405
/// for any other method, in DRF's order of checks (the book's "Which check comes first:
/// authentication or the method?"). The state is added by step 10, so this returns a router
/// that still needs it.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/token/",
            post(obtain)
                .fallback(|method: Method| async move { method_not_allowed(method, "POST") }),
        )
        .route(
            "/api/token/verify/",
            post(verify)
                .fallback(|method: Method| async move { method_not_allowed(method, "POST") }),
        )
        .route("/hello/", get(hello).fallback(authenticated_wrong_method))
        .route("/api/me/", get(me).fallback(authenticated_wrong_method))
}

/// A protected route asked with a method it does not serve: the extractor runs first.
async fn authenticated_wrong_method(_user: CurrentUser, method: Method) -> Response {
    method_not_allowed(method, "GET, HEAD")
}
// ANCHOR_END: routes

// ANCHOR: router
/// Step 10. The whole router: the routes of step 9; each of their paths without its slash
/// redirected as Django's `APPEND_SLASH` does, whatever the method; any other path, DRF's 404,
/// `{"detail": "Not found."}`; and the shared state.
pub fn router(state: AppState) -> Router {
    let mut router = routes();
    for path in ["/api/token/", "/api/token/verify/", "/hello/", "/api/me/"] {
        let bare = path.trim_end_matches('/');
        router = router.route(bare, any(move || async move { moved_permanently(path) }));
    }
    router
        .fallback(|| async { ApiError::NotFound })
        .with_state(state)
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
