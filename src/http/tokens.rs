//! The four simplejwt token endpoints: obtain a pair, refresh (with rotation), verify, and
//! blacklist (logout).

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use axum::routing::{MethodRouter, post};
use serde::Serialize;
use serde_json::{Map, Value, json};
use tower_http::set_header::SetResponseHeaderLayer;

use super::auth::AuthUser;
use super::body::{FormData, required_strings};
use super::client::ClientAddr;
use super::cookies::{REFRESH_COOKIE, check_csrf, clear_cookies, cookie, set_cookies};
use super::endpoint;
use crate::app::AppState;
use crate::error::{ApiError, json_body};
use crate::tokens::{
    BlacklistEntry, Revocation, Session, TokenError, TokenType, VerifiedToken, session_of,
};
use crate::users::{Attempt, LoginError, RetryAfter, User, authenticate};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/token/",
            post_endpoint(
                post(obtain),
                "Token Obtain Pair",
                "Takes a set of user credentials and returns an access and refresh JSON web\ntoken pair to prove the authentication of those credentials.",
                &["username", "password"],
            ),
        )
        .route(
            "/api/token/refresh/",
            post_endpoint(
                post(refresh),
                "Token Refresh",
                "Takes a refresh type JSON web token and returns an access type JSON web\ntoken if the refresh token is valid.",
                &["refresh"],
            ),
        )
        .route(
            "/api/token/verify/",
            post_endpoint(
                post(verify),
                "Token Verify",
                "Takes a token and indicates if it is valid.  This view provides no\ninformation about a token's fitness for a particular use.",
                &["token"],
            ),
        )
        .route(
            "/api/token/blacklist/",
            post_endpoint(
                post(blacklist),
                "Token Blacklist",
                "Takes a token and blacklists it. Must be used with the\n`rest_framework_simplejwt.token_blacklist` app installed.",
                &["refresh"],
            ),
        )
        .route(
            "/api/token/sliding/",
            post_endpoint(
                post(obtain_sliding),
                "Token Obtain Sliding",
                "Takes a set of user credentials and returns a sliding JSON web token to prove the\nauthentication of those credentials.",
                &["username", "password"],
            ),
        )
        .route(
            "/api/token/sliding/refresh/",
            post_endpoint(
                post(refresh_sliding),
                "Token Refresh Sliding",
                "Takes a sliding JSON web token and returns a new, refreshed version if the\ntoken's refresh period has not expired.",
                &["token"],
            ),
        )
        .route(
            "/api/token/logout-all/",
            post_endpoint(
                post(logout_all),
                "Logout All",
                "Revokes every session and token of the user whose access token is given.",
                &[],
            ),
        )
        // Token responses must not be cached by anything in between (RFC 6749 §5.1).
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
}

/// A POST-only endpoint that also answers `OPTIONS` with its description, as DRF does.
fn post_endpoint(
    methods: MethodRouter<AppState>,
    name: &'static str,
    description: &'static str,
    fields: &'static [&'static str],
) -> MethodRouter<AppState> {
    endpoint(
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
    let user = log_in(&state, address, &data).await?;
    new_session(&state, user.id).await
}
// ANCHOR_END: obtain

/// A new session for a user who just proved who they are, recorded, and its first pair.
pub(crate) async fn new_session(state: &AppState, user_id: i64) -> Result<Response, ApiError> {
    let (pair, session) = state.tokens.start_session(&user_id.to_string());
    state.revocations.start_session(&session).await?;
    Ok(pair_response(
        state,
        &pair,
        pair.access.clone(),
        &pair.refresh,
    ))
}

// ANCHOR: log_in
/// The user a username and password prove, unless throttled.
async fn log_in(
    state: &AppState,
    address: Option<std::net::IpAddr>,
    data: &Map<String, Value>,
) -> Result<User, ApiError> {
    let [username, password] = required_strings(data, ["username", "password"])?;
    let address = address.map(|ip| ip.to_string());
    let now = state.tokens.now();
    if let Err(RetryAfter(seconds)) = state.throttle.check(&username, address.as_deref(), now) {
        return Err(ApiError::Throttled(seconds));
    }
    let user = authenticate(&*state.users, &state.passwords, &username, &password)
        .await
        .map_err(|error| match error {
            LoginError::NoActiveAccount => {
                state.throttle.record_failure(
                    &username,
                    address.as_deref(),
                    now,
                    Attempt::Password(&password),
                );
                ApiError::NoActiveAccount
            }
            LoginError::Store(error) => error.into(),
        })?;
    state.throttle.record_success(&username);
    Ok(user)
}
// ANCHOR_END: log_in

/// `POST /api/token/sliding/` (with sliding tokens on): username + password → `{"token"}`.
async fn obtain_sliding(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    FormData(data): FormData,
) -> Result<Response, ApiError> {
    if !state.sliding_tokens {
        return Err(ApiError::NotFound);
    }
    let user = log_in(&state, address, &data).await?;
    let (token, session) = state.tokens.start_sliding_session(&user.id.to_string());
    state.revocations.start_session(&session).await?;
    Ok(json_body(&json!({ "token": token })))
}

/// `POST /api/token/sliding/refresh/`: a sliding token → the same token with a new `exp`, until
/// its `refresh_exp`. A revoked session's token slides no further.
async fn refresh_sliding(
    State(state): State<AppState>,
    FormData(data): FormData,
) -> Result<Response, ApiError> {
    if !state.sliding_tokens {
        return Err(ApiError::NotFound);
    }
    let [raw] = required_strings(&data, ["token"])?;
    let token = state
        .tokens
        .verify(&raw, Some(TokenType::Sliding))
        .map_err(ApiError::Token)?;
    if state.revoked.is_revoked(&token) || state.revocations.is_blacklisted(&token.jti).await? {
        return Err(ApiError::Token(TokenError::Blacklisted));
    }
    let user_id = token
        .user_id
        .as_deref()
        .ok_or(ApiError::NoUserIdentification)?;
    match state.find_user(user_id).await? {
        Some(user) if user.is_active => {}
        _ => return Err(ApiError::NoActiveAccountForToken),
    }
    let slid = state.tokens.slide(&token).map_err(ApiError::Token)?;
    Ok(json_body(&json!({ "token": slid })))
}

/// The refresh endpoint answers `access` first.
#[derive(Serialize)]
struct Refreshed {
    access: String,
    refresh: String,
}

// ANCHOR: refresh
/// `POST /api/token/refresh/`: a refresh token → a new access token and a new refresh token.
/// The old refresh token is revoked before anything is issued, and the revocation is the race's
/// referee: of two requests with the same token, only the one that revoked it gets new tokens.
///
/// A refresh token that was already rotated away and comes back has been copied: either the
/// thief or the user now holds a newer one, and we cannot tell which. So the whole session is
/// revoked, and both must log in again (RFC 9700 §4.14.2).
async fn refresh(
    State(state): State<AppState>,
    headers: HeaderMap,
    FormData(data): FormData,
) -> Result<Response, ApiError> {
    let raw = refresh_token_of(&state, &headers, &data)?;
    let token = state
        .tokens
        .verify(&raw, Some(TokenType::Refresh))
        .map_err(ApiError::Token)?;
    let now = state.tokens.now();
    if state.revocations.is_blacklisted(&token.jti).await? {
        revoke_session(&state, &token, now).await?;
        return Err(ApiError::Token(TokenError::Blacklisted));
    }
    let session = current_session(&state, &token, now).await?;
    let user_id = token
        .user_id
        .as_deref()
        .ok_or(ApiError::NoUserIdentification)?;
    match state.find_user(user_id).await? {
        Some(user) if user.is_active => {}
        // The token is not consumed: it works again if the user is reactivated.
        _ => return Err(ApiError::NoActiveAccountForToken),
    }
    if !state
        .revocations
        .blacklist(blacklist_entry(&state, &token))
        .await?
    {
        // Lost the race against a concurrent request with the same token: a reuse too.
        revoke_session(&state, &token, now).await?;
        return Err(ApiError::Token(TokenError::Blacklisted));
    }
    let pair = state.tokens.rotate(&token, session.expires_at);
    let body = Refreshed {
        access: pair.access.clone(),
        refresh: pair.refresh.clone(),
    };
    Ok(pair_response(&state, &body, pair.access, &pair.refresh))
}
// ANCHOR_END: refresh

/// `POST /api/token/verify/`: is this token (of any type) valid? A revoked one is a 400 here, not
/// a 401, exactly as simplejwt answers.
async fn verify(
    State(state): State<AppState>,
    FormData(data): FormData,
) -> Result<Response, ApiError> {
    let [raw] = required_strings(&data, ["token"])?;
    let token = state.tokens.verify(&raw, None).map_err(ApiError::Token)?;
    if state.revoked.is_revoked(&token) || state.revocations.is_blacklisted(&token.jti).await? {
        return Err(ApiError::NonField(TokenError::Blacklisted.to_string()));
    }
    Ok(json_body(&json!({})))
}

// ANCHOR: blacklist
/// `POST /api/token/blacklist/`: logout. Revokes the refresh token so it can never be used
/// again, and its whole session, so the access tokens issued with it stop working now rather
/// than when they expire.
async fn blacklist(
    State(state): State<AppState>,
    headers: HeaderMap,
    FormData(data): FormData,
) -> Result<Response, ApiError> {
    let raw = refresh_token_of(&state, &headers, &data)?;
    let token = state
        .tokens
        .verify(&raw, Some(TokenType::Refresh))
        .map_err(ApiError::Token)?;
    // No separate "already revoked?" read: the insert answers that, atomically.
    let revoked_now = state
        .revocations
        .blacklist(blacklist_entry(&state, &token))
        .await?;
    revoke_session(&state, &token, state.tokens.now()).await?;
    if !revoked_now {
        return Err(ApiError::Token(TokenError::Blacklisted));
    }
    Ok(logged_out(&state))
}
// ANCHOR_END: blacklist

/// `POST /api/token/logout-all/` with an access token: logs the user out everywhere. Every
/// session of theirs is revoked, and every token issued to them until now.
async fn logout_all(State(state): State<AppState>, user: AuthUser) -> Result<Response, ApiError> {
    let now = state.tokens.now();
    state
        .revoked
        .revoke(
            revoke_everything(&state, &user.user.id.to_string(), now),
            now,
        )
        .await?;
    Ok(logged_out(&state))
}

/// Everything a user holds now: their live sessions by name, and by the cutoff any other token
/// issued before this second (those of a simplejwt service we replaced, say).
pub fn revoke_everything(state: &AppState, user_id: &str, now: i64) -> Revocation {
    let settings = state.tokens.settings();
    Revocation::User {
        user_id: user_id.to_owned(),
        cutoff: now,
        expires_at: now + settings.refresh_lifetime.max(settings.access_lifetime),
    }
}

/// The session of a refresh token, from the store. A revoked one refuses the token. A token
/// with no recorded session (simplejwt issued it, before we took over) starts one now.
async fn current_session(
    state: &AppState,
    token: &VerifiedToken,
    now: i64,
) -> Result<Session, ApiError> {
    let id = session_of(&token.jti);
    if state.revoked.is_revoked(token) {
        return Err(ApiError::Token(TokenError::Blacklisted));
    }
    match state.revocations.session(id).await? {
        Some((_, true)) => Err(ApiError::Token(TokenError::Blacklisted)),
        Some((session, false)) => Ok(session),
        None => {
            let session = Session {
                id: id.to_owned(),
                user_id: token.user_id.clone().unwrap_or_default(),
                started_at: now,
                expires_at: now + state.tokens.settings().session_lifetime,
            };
            state.revocations.start_session(&session).await?;
            Ok(session)
        }
    }
}

/// Revokes a token's session everywhere. The revocation outlives every token the session can
/// still have: its recorded cap, or else the longest lifetime from now.
async fn revoke_session(state: &AppState, token: &VerifiedToken, now: i64) -> Result<(), ApiError> {
    let id = session_of(&token.jti);
    let settings = state.tokens.settings();
    let expires_at = match state.revocations.session(id).await? {
        Some((session, _)) => session.expires_at,
        None => now + settings.refresh_lifetime.max(settings.access_lifetime),
    };
    let revocation = Revocation::Session {
        id: id.to_owned(),
        expires_at,
    };
    Ok(state.revoked.revoke(revocation, now).await?)
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
fn pair_response(
    state: &AppState,
    body: &impl Serialize,
    access: String,
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

fn blacklist_entry(state: &AppState, token: &VerifiedToken) -> BlacklistEntry {
    BlacklistEntry {
        jti: token.jti.clone(),
        user_id: token.user_id.clone(),
        expires_at: token.exp,
        blacklisted_at: state.tokens.now(),
    }
}
