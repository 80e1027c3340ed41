//! The four simplejwt token endpoints: obtain a pair, refresh (with rotation), verify, and
//! blacklist (logout).

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{MethodRouter, post};
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::SlashedRoutes;
use super::auth::AuthUser;
use super::body::{FormData, required_strings};
use super::client::ClientAddr;
use super::cookies::{REFRESH_COOKIE, check_csrf, clear_cookies, cookie, set_cookies};
use super::no_store_endpoint;
use crate::app::AppState;
use crate::error::{ApiError, json_body};

pub fn router() -> Router<AppState> {
    Router::new()
        .slashed(
            "/api/token/",
            post_endpoint(
                post(obtain),
                "Token Obtain Pair",
                "Takes a set of user credentials and returns an access and refresh JSON web\ntoken pair to prove the authentication of those credentials.",
                &["username", "password"],
            ),
        )
        .slashed(
            "/api/token/refresh/",
            post_endpoint(
                post(refresh),
                "Token Refresh",
                "Takes a refresh type JSON web token and returns an access type JSON web\ntoken if the refresh token is valid.",
                &["refresh"],
            ),
        )
        .slashed(
            "/api/token/verify/",
            post_endpoint(
                post(verify),
                "Token Verify",
                "Takes a token and indicates if it is valid.  This view provides no\ninformation about a token's fitness for a particular use.",
                &["token"],
            ),
        )
        .slashed(
            "/api/token/blacklist/",
            post_endpoint(
                post(blacklist),
                "Token Blacklist",
                "Takes a token and blacklists it. Must be used with the\n`rest_framework_simplejwt.token_blacklist` app installed.",
                &["refresh"],
            ),
        )
        .slashed(
            "/api/token/sliding/",
            post_endpoint(
                post(obtain_sliding),
                "Token Obtain Sliding",
                "Takes a set of user credentials and returns a sliding JSON web token to prove the\nauthentication of those credentials.",
                &["username", "password"],
            ),
        )
        .slashed(
            "/api/token/sliding/refresh/",
            post_endpoint(
                post(refresh_sliding),
                "Token Refresh Sliding",
                "Takes a sliding JSON web token and returns a new, refreshed version if the\ntoken's refresh period has not expired.",
                &["token"],
            ),
        )
        .slashed(
            "/api/token/logout-all/",
            post_endpoint(
                post(logout_all),
                "Logout All",
                "Revokes every session and token of the user whose access token is given.",
                &[],
            ),
        )
}

/// A POST-only endpoint that also answers `OPTIONS` with its description, as DRF does.
fn post_endpoint(
    methods: MethodRouter<AppState>,
    name: &'static str,
    description: &'static str,
    fields: &'static [&'static str],
) -> MethodRouter<AppState> {
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
/// (rotation and reuse detection: [`crate::sessions::Sessions::refresh`]).
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
