//! The four simplejwt token endpoints: obtain a pair, refresh (with rotation), verify, and
//! blacklist (logout).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::MethodRouter;
use serde::Serialize;
use serde_json::{Map, Value, json};

use utoipa::ToSchema;
use utoipa_axum::routes;

use super::auth::AuthUser;
use super::body::{FormData, required_strings};
use super::client::ClientAddr;
use super::cookies::{REFRESH_COOKIE, check_csrf, clear_cookies, cookie, set_cookies};
use super::schema::{BadRequest, Empty, ErrorDetail, char_field};
use super::{ApiRouter, Endpoint, no_store_endpoint};
use crate::app::AppState;
use crate::error::{ApiError, json_body};

pub fn router() -> ApiRouter {
    ApiRouter::new()
        .slashed(routes!(obtain), |methods| {
            post_endpoint(
                methods,
                "Token Obtain Pair",
                "Takes a set of user credentials and returns an access and refresh JSON web\ntoken pair to prove the authentication of those credentials.",
                &["username", "password"],
            )
        })
        .slashed(routes!(refresh), |methods| {
            post_endpoint(
                methods,
                "Token Refresh",
                "Takes a refresh type JSON web token and returns an access type JSON web\ntoken if the refresh token is valid.",
                &["refresh"],
            )
        })
        .slashed(routes!(verify), |methods| {
            post_endpoint(
                methods,
                "Token Verify",
                "Takes a token and indicates if it is valid.  This view provides no\ninformation about a token's fitness for a particular use.",
                &["token"],
            )
        })
        .slashed(routes!(blacklist), |methods| {
            post_endpoint(
                methods,
                "Token Blacklist",
                "Takes a token and blacklists it. Must be used with the\n`rest_framework_simplejwt.token_blacklist` app installed.",
                &["refresh"],
            )
        })
        .slashed(routes!(obtain_sliding), |methods| {
            post_endpoint(
                methods,
                "Token Obtain Sliding",
                "Takes a set of user credentials and returns a sliding JSON web token to prove the\nauthentication of those credentials.",
                &["username", "password"],
            )
        })
        .slashed(routes!(refresh_sliding), |methods| {
            post_endpoint(
                methods,
                "Token Refresh Sliding",
                "Takes a sliding JSON web token and returns a new, refreshed version if the\ntoken's refresh period has not expired.",
                &["token"],
            )
        })
        .slashed(routes!(logout_all), |methods| {
            post_endpoint(
                methods,
                "Logout All",
                "Revokes every session and token of the user whose access token is given.",
                &[],
            )
        })
}

/// `POST /api/token/` and `/api/token/sliding/`: a user's credentials.
#[derive(ToSchema)]
#[allow(
    dead_code,
    reason = "the request's documentation; the handler reads FormData"
)]
pub(crate) struct TokenObtainPairRequest {
    #[schema(schema_with = char_field, example = "ada")]
    username: String,
    #[schema(schema_with = char_field, example = "correct horse battery staple")]
    password: String,
}

/// A refresh token to spend (refresh) or revoke (logout).
#[derive(ToSchema)]
#[allow(
    dead_code,
    reason = "the request's documentation; the handler reads FormData"
)]
pub(crate) struct TokenRefreshRequest {
    /// In cookie mode it may be left out: the `refresh_token` cookie is spent instead.
    #[schema(schema_with = char_field, example = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCJ9.c2lnbmF0dXJl")]
    refresh: String,
}

/// A token to check (verify) or to slide (sliding refresh).
#[derive(ToSchema)]
#[allow(
    dead_code,
    reason = "the request's documentation; the handler reads FormData"
)]
pub(crate) struct TokenRequest {
    #[schema(schema_with = char_field, example = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIn0.c2lnbmF0dXJl")]
    token: String,
}

/// A new pair. In cookie mode `refresh` is not in the body but in the HttpOnly
/// `refresh_token` cookie (with a readable `csrftoken` cookie beside it).
#[derive(ToSchema)]
#[allow(
    dead_code,
    reason = "the answer's documentation; the handler renders it"
)]
pub(crate) struct TokenPair {
    #[schema(
        example = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIn0.c2lnbmF0dXJl"
    )]
    access: String,
    #[schema(
        nullable = false,
        example = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCJ9.c2lnbmF0dXJl"
    )]
    refresh: Option<String>,
}

/// A sliding token.
#[derive(ToSchema)]
#[allow(
    dead_code,
    reason = "the answer's documentation; the handler renders it"
)]
pub(crate) struct SlidingToken {
    token: String,
}

/// A POST-only endpoint that also answers `OPTIONS` with its description, as DRF does.
pub(crate) fn post_endpoint(
    methods: MethodRouter<AppState>,
    name: &'static str,
    description: &'static str,
    fields: &'static [&'static str],
) -> Endpoint {
    // Token responses must not be kept by anything in between (RFC 6749 §5.1).
    no_store_endpoint(
        methods
            .options(move || async move { options(name, description, fields) })
            .fallback(super::method_not_allowed),
        "POST, OPTIONS",
    )
}

/// DRF's answer to `OPTIONS`: what the endpoint is and which fields it takes.
fn options(name: &str, description: &str, fields: &[&str]) -> Response {
    let actions: serde_json::Map<String, Value> = fields
        .iter()
        .map(|field| {
            let label = format!("{}{}", field[..1].to_uppercase(), &field[1..]);
            let spec =
                json!({"type": "string", "required": true, "read_only": false, "label": label});
            (field.to_string(), spec)
        })
        .collect();
    json_body(&json!({
        "name": name,
        "description": description,
        "renders": ["application/json", "text/html"],
        "parses": ["application/json", "application/x-www-form-urlencoded", "multipart/form-data"],
        "actions": {"POST": actions},
    }))
}

// ANCHOR: obtain
/// `POST /api/token/`: username + password → refresh + access. Too many failures for the user
/// or from the address, and the attempt is refused before any password is checked.
#[utoipa::path(
    post,
    path = "/api/token/",
    operation_id = "token_obtain_pair",
    tag = "token",
    request_body = TokenObtainPairRequest,
    responses(
        (status = 200, description = "The pair; in cookie mode the refresh token is set as a cookie instead.", body = TokenPair,
            headers(("Set-Cookie" = String, description = "Cookie mode: the `refresh_token` cookie (HttpOnly, Secure, SameSite=Strict, Path=/api/token/) and a fresh readable `csrftoken` cookie."))),
        (status = 401, description = "No active account has these credentials (the same answer whichever is wrong).", body = ErrorDetail,
            example = json!({"detail": "No active account found with the given credentials"})),
        (status = 429, description = "Too many failed logins for this username or from this address.", body = ErrorDetail,
            example = json!({"detail": "Request was throttled. Expected available in 60 seconds."})),
        (status = 503, description = "The database cannot be reached or cannot write just now.", body = ErrorDetail),
    ),
)]
async fn obtain(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    FormData(data): FormData,
) -> Result<Response, ApiError> {
    let [username, password] = required_strings(&data, ["username", "password"])?;
    let user = state.sessions.log_in(&username, &password, address).await?;
    let pair = state.sessions.start(&user).await?;
    Ok(pair_response(&state, &pair, &pair.access, &pair.refresh))
}
// ANCHOR_END: obtain

/// `POST /api/token/sliding/` (with sliding tokens on): username + password → `{"token"}`.
#[utoipa::path(
    post,
    path = "/api/token/sliding/",
    operation_id = "token_obtain_sliding",
    tag = "token",
    request_body = TokenObtainPairRequest,
    responses(
        (status = 200, description = "A sliding token.", body = SlidingToken),
        (status = 401, description = "No active account has these credentials.", body = ErrorDetail,
            example = json!({"detail": "No active account found with the given credentials"})),
        (status = 404, description = "Sliding tokens are off (`--sliding-tokens`).", body = ErrorDetail,
            example = json!({"detail": "Not found."})),
        (status = 429, description = "Too many failed logins for this username or from this address.", body = ErrorDetail),
        (status = 503, description = "The database cannot be reached or cannot write just now.", body = ErrorDetail),
    ),
)]
async fn obtain_sliding(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    FormData(data): FormData,
) -> Result<Response, ApiError> {
    if !state.sessions.sliding_tokens() {
        return Err(ApiError::NotFound);
    }
    let [username, password] = required_strings(&data, ["username", "password"])?;
    let user = state.sessions.log_in(&username, &password, address).await?;
    let token = state.sessions.start_sliding(&user).await?;
    Ok(json_body(&json!({ "token": token })))
}

/// `POST /api/token/sliding/refresh/`: a sliding token → the same token with a new `exp`.
#[utoipa::path(
    post,
    path = "/api/token/sliding/refresh/",
    operation_id = "token_refresh_sliding",
    tag = "token",
    request_body = TokenRequest,
    responses(
        (status = 200, description = "The token, refreshed.", body = SlidingToken),
        (status = 401, description = "The token is invalid, expired, revoked or past its refresh period.", body = ErrorDetail,
            example = json!({"detail": "Token is invalid", "code": "token_not_valid"})),
        (status = 404, description = "Sliding tokens are off (`--sliding-tokens`).", body = ErrorDetail,
            example = json!({"detail": "Not found."})),
        (status = 503, description = "The database cannot be reached or cannot write just now.", body = ErrorDetail),
    ),
)]
async fn refresh_sliding(
    State(state): State<AppState>,
    FormData(data): FormData,
) -> Result<Response, ApiError> {
    if !state.sessions.sliding_tokens() {
        return Err(ApiError::NotFound);
    }
    let [raw] = required_strings(&data, ["token"])?;
    let token = state.sessions.slide(&raw).await?;
    Ok(json_body(&json!({ "token": token })))
}

/// The refresh endpoint answers `access` first.
#[derive(Serialize)]
struct Refreshed<'a> {
    access: &'a str,
    refresh: &'a str,
}

// ANCHOR: refresh
/// `POST /api/token/refresh/`: a refresh token → a new access token and a new refresh token
/// (rotation and reuse detection: `Sessions::refresh`).
#[utoipa::path(
    post,
    path = "/api/token/refresh/",
    operation_id = "token_refresh",
    tag = "token",
    request_body = TokenRefreshRequest,
    security((), ("refreshCookie" = [], "csrfCookie" = [], "csrfHeader" = [])),
    responses(
        (status = 200, description = "The new tokens; in cookie mode the refresh token is set as a cookie instead.", body = TokenPair,
            headers(("Set-Cookie" = String, description = "Cookie mode: the `refresh_token` cookie (HttpOnly, Secure, SameSite=Strict, Path=/api/token/) and a fresh readable `csrftoken` cookie."))),
        (status = 400, description = "The field is missing or blank, or the token was revoked.", body = BadRequest,
            example = json!({"non_field_errors": ["Token is blacklisted"]})),
        (status = 401, description = "The token is invalid, expired, not a refresh token, or its user is gone or inactive. Spending a rotated token again revokes its whole family.", body = ErrorDetail,
            example = json!({"detail": "Token is invalid", "code": "token_not_valid"})),
        (status = 403, description = "Cookie mode: the cookie was spent without the CSRF header, or with a wrong one.", body = ErrorDetail,
            example = json!({"detail": "CSRF Failed: CSRF token missing."})),
        (status = 503, description = "The database cannot be reached or cannot write just now.", body = ErrorDetail),
    ),
)]
async fn refresh(
    State(state): State<AppState>,
    headers: HeaderMap,
    FormData(data): FormData,
) -> Result<Response, ApiError> {
    let raw = refresh_token_of(&state, &headers, &data)?;
    let pair = state.sessions.refresh(&raw).await?;
    let body = Refreshed {
        access: &pair.access,
        refresh: &pair.refresh,
    };
    Ok(pair_response(&state, &body, &pair.access, &pair.refresh))
}
// ANCHOR_END: refresh

/// `POST /api/token/verify/`: is this token (of any type) valid? A revoked one is a 400 here, not
/// a 401, exactly as simplejwt answers.
#[utoipa::path(
    post,
    path = "/api/token/verify/",
    operation_id = "token_verify",
    tag = "token",
    request_body = TokenRequest,
    responses(
        (status = 200, description = "The token is valid.", body = Empty),
        (status = 400, description = "The field is missing or blank, or the token was revoked.", body = BadRequest,
            example = json!({"non_field_errors": ["Token is blacklisted"]})),
        (status = 401, description = "The token is invalid or expired.", body = ErrorDetail,
            example = json!({"detail": "Token is invalid", "code": "token_not_valid"})),
        (status = 503, description = "The database cannot be reached or cannot write just now.", body = ErrorDetail),
    ),
)]
async fn verify(
    State(state): State<AppState>,
    FormData(data): FormData,
) -> Result<Response, ApiError> {
    let [raw] = required_strings(&data, ["token"])?;
    state.sessions.verify(&raw).await?;
    Ok(json_body(&json!({})))
}

// ANCHOR: blacklist
/// `POST /api/token/blacklist/`: logout. The refresh token and its whole session are revoked,
/// so the access tokens issued with it stop working now rather than when they expire.
#[utoipa::path(
    post,
    path = "/api/token/blacklist/",
    operation_id = "token_blacklist",
    tag = "token",
    request_body = TokenRefreshRequest,
    security((), ("refreshCookie" = [], "csrfCookie" = [], "csrfHeader" = [])),
    responses(
        (status = 200, description = "Logged out; in cookie mode the cookies are cleared.", body = Empty,
            headers(("Set-Cookie" = String, description = "Cookie mode: both cookies, cleared."))),
        (status = 400, description = "The field is missing or blank, or the token was already revoked.", body = BadRequest,
            example = json!({"non_field_errors": ["Token is blacklisted"]})),
        (status = 401, description = "The token is invalid, expired or not a refresh token.", body = ErrorDetail,
            example = json!({"detail": "Token has wrong type", "code": "token_not_valid"})),
        (status = 403, description = "Cookie mode: the cookie was spent without the CSRF header, or with a wrong one.", body = ErrorDetail,
            example = json!({"detail": "CSRF Failed: CSRF token missing."})),
        (status = 503, description = "The database cannot be reached or cannot write just now.", body = ErrorDetail),
    ),
)]
async fn blacklist(
    State(state): State<AppState>,
    headers: HeaderMap,
    FormData(data): FormData,
) -> Result<Response, ApiError> {
    let raw = refresh_token_of(&state, &headers, &data)?;
    state.sessions.log_out(&raw).await?;
    Ok(logged_out(&state))
}
// ANCHOR_END: blacklist

/// `POST /api/token/logout-all/` with an access token: logs the user out everywhere. Every
/// session of theirs is revoked, and every token issued to them until now.
#[utoipa::path(
    post,
    path = "/api/token/logout-all/",
    operation_id = "token_logout_all",
    tag = "token",
    security(("jwtAuth" = [])),
    responses(
        (status = 200, description = "Every token of the user is revoked, this one included; in cookie mode the cookies are cleared.", body = Empty,
            headers(("Set-Cookie" = String, description = "Cookie mode: both cookies, cleared."))),
    ),
)]
async fn logout_all(State(state): State<AppState>, user: AuthUser) -> Result<Response, ApiError> {
    state.sessions.log_out_everywhere(&user.user).await?;
    Ok(logged_out(&state))
}

// ANCHOR: cookie_mode
/// The refresh token a request spends: the body's `refresh` field; or, in cookie mode and when
/// the body has none, the cookie, which counts only with the CSRF proof.
fn refresh_token_of(
    state: &AppState,
    headers: &HeaderMap,
    data: &Map<String, Value>,
) -> Result<String, ApiError> {
    if state.cookie_mode.is_some()
        && !data.contains_key("refresh")
        && let Some(token) = cookie(headers, REFRESH_COOKIE).filter(|t| !t.is_empty())
    {
        check_csrf(headers)?;
        return Ok(token.to_owned());
    }
    let [raw] = required_strings(data, ["refresh"])?;
    Ok(raw)
}

/// A new pair for the client: both tokens in the body; or, in cookie mode, only the access
/// token, with the refresh token in its HttpOnly cookie where no script can read it.
pub(crate) fn pair_response(
    state: &AppState,
    body: &impl Serialize,
    access: &str,
    refresh: &str,
) -> Response {
    match state.cookie_mode {
        None => json_body(body),
        Some(mode) => {
            let mut response = json_body(&json!({ "access": access }));
            set_cookies(&mut response, mode, refresh);
            response
        }
    }
}

/// `{}`, and in cookie mode the cookies cleared.
fn logged_out(state: &AppState) -> Response {
    let mut response = json_body(&json!({}));
    if state.cookie_mode.is_some() {
        clear_cookies(&mut response);
    }
    response
}
// ANCHOR_END: cookie_mode
