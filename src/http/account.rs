//! The account's own endpoints: change the password (signed in), reset a forgotten one through
//! a link, and set and verify an email address. Every password change revokes every token the
//! user held, on every instance. Links travel by mail (see [`crate::mail`]) and are single-use
//! purpose tokens (see [`crate::tokens::purpose`]).

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use serde_json::json;

use super::SlashedRoutes;
use super::auth::AuthUser;
use super::body::{FormData, required_strings};
use super::client::ClientAddr;
use super::tokens::pair_response;
use super::{method_not_allowed, no_store_endpoint};
use crate::app::AppState;
use crate::error::{ApiError, json_body};
use crate::tokens::Purpose;
use crate::users::UserError;

pub fn router() -> Router<AppState> {
    let post_only = |handler| no_store_endpoint(handler, "POST, OPTIONS");
    Router::new()
        .slashed(
            "/api/password/change/",
            post_only(post(change).fallback(method_not_allowed)),
        )
        .slashed(
            "/api/password/reset/",
            post_only(post(request_reset).fallback(method_not_allowed)),
        )
        .slashed(
            "/api/password/reset/confirm/",
            post_only(post(confirm_reset).fallback(method_not_allowed)),
        )
        .slashed(
            "/api/email/",
            post_only(post(set_email).fallback(method_not_allowed)),
        )
        .slashed(
            "/api/email/verify/",
            post_only(post(verify_email).fallback(method_not_allowed)),
        )
}

// ANCHOR: change
/// `POST /api/password/change/`, signed in: a new password, every older token of the user
/// revoked, and a new pair for the caller (see [`crate::sessions::Sessions::change_password`]).
async fn change(
    State(state): State<AppState>,
    user: AuthUser,
    FormData(data): FormData,
) -> Result<Response, ApiError> {
    let [old, new] = required_strings(&data, ["old_password", "new_password"])?;
    let pair = state
        .sessions
        .change_password(&user.user, &old, &new)
        .await?;
    Ok(pair_response(&state, &pair, &pair.access, &pair.refresh))
}
// ANCHOR_END: change

fn field_error(field: &str, message: &str) -> ApiError {
    ApiError::field(field, message)
}

/// The same answer whether or not the account exists, so the endpoint tells nobody who has one.
const RESET_SENT: &str = "If the account exists, a reset link has been sent.";
const LINK_REFUSED: &str = "This link is invalid, has expired or has already been used.";

// ANCHOR: request_reset
/// `POST /api/password/reset/` `{"username"}`: mails a reset link to an active account with an
/// address. Requests count against the login throttle, so nobody can flood a mailbox.
async fn request_reset(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    FormData(data): FormData,
) -> Result<Response, ApiError> {
    let [username] = required_strings(&data, ["username"])?;
    state
        .sessions
        .count_against_login_limits(&username, address)?;
    let now = state.tokens.now();
    if let Some(user) = state.users.find_by_username(&username).await?
        && user.is_active
        && !user.email.is_empty()
    {
        let token = state
            .links
            .issue(Purpose::PasswordReset, user.id, &user.password_hash, None);
        let body = format!(
            "Someone asked to reset the password of {username} at {url}.\n\n\
             To choose a new password within 30 minutes, send this token with it:\n\n\
             curl -X POST {url}/api/password/reset/confirm/ -H 'Content-Type: application/json' \\\n     \
             -d '{{\"token\": \"{token}\", \"new_password\": \"...\"}}'\n\n\
             The link works once. If you did not ask for it, ignore this message: your password\n\
             stays as it is.\n",
            url = state.public_url
        );
        send(&state, &user.email, "Reset your password", &body, now);
    }
    Ok(json_body(&json!({ "detail": RESET_SENT })))
}
// ANCHOR_END: request_reset

// ANCHOR: confirm_reset
/// `POST /api/password/reset/confirm/` `{"token", "new_password"}`: the token must be a reset
/// token for the password the account has now; setting the new one spends it, and revokes
/// every session of the user.
async fn confirm_reset(
    State(state): State<AppState>,
    FormData(data): FormData,
) -> Result<Response, ApiError> {
    let [token, new] = required_strings(&data, ["token", "new_password"])?;
    let claims = state
        .links
        .verify(&token, Purpose::PasswordReset)
        .map_err(|_| field_error("token", LINK_REFUSED))?;
    let user = state
        .users
        .find_by_id(claims.user_id)
        .await?
        .filter(|user| user.is_active)
        .filter(|user| {
            state
                .links
                .fingerprint_now(Purpose::PasswordReset, &claims, &user.password_hash)
        })
        .ok_or_else(|| field_error("token", LINK_REFUSED))?;
    state.sessions.set_password(&user, &new).await?;
    Ok(json_body(&json!({ "detail": "Password has been reset." })))
}
// ANCHOR_END: confirm_reset

/// `POST /api/email/` `{"email"}`, signed in: a new address, unverified until its link is used.
async fn set_email(
    State(state): State<AppState>,
    user: AuthUser,
    FormData(data): FormData,
) -> Result<Response, ApiError> {
    let [email] = required_strings(&data, ["email"])?;
    if !looks_like_an_address(&email) {
        return Err(field_error("email", "Enter a valid email address."));
    }
    state
        .users
        .set_email(user.user.id, &email)
        .await
        .map_err(user_error)?;
    let now = state.tokens.now();
    let token = state.links.issue(
        Purpose::EmailVerification,
        user.user.id,
        &email_state(&email, false),
        Some(&email),
    );
    let body = format!(
        "To confirm that {email} is yours, send this token within a day:\n\n\
         curl -X POST {url}/api/email/verify/ -H 'Content-Type: application/json' \\\n     \
         -d '{{\"token\": \"{token}\"}}'\n",
        url = state.public_url
    );
    send(&state, &email, "Confirm your email address", &body, now);
    Ok(json_body(
        &json!({ "detail": "A verification link has been sent." }),
    ))
}

/// `POST /api/email/verify/` `{"token"}`: marks the address verified, once.
async fn verify_email(
    State(state): State<AppState>,
    FormData(data): FormData,
) -> Result<Response, ApiError> {
    let [token] = required_strings(&data, ["token"])?;
    let claims = state
        .links
        .verify(&token, Purpose::EmailVerification)
        .map_err(|_| field_error("token", LINK_REFUSED))?;
    let email = claims.email.clone().unwrap_or_default();
    let bound = state.links.fingerprint_now(
        Purpose::EmailVerification,
        &claims,
        &email_state(&email, false),
    );
    if !bound || !state.users.verify_email(claims.user_id, &email).await? {
        return Err(field_error("token", LINK_REFUSED));
    }
    Ok(json_body(&json!({ "detail": "Email address verified." })))
}

/// What a verification link is bound to: the address, and that it was not verified yet.
fn email_state(email: &str, verified: bool) -> String {
    format!("{email}|{verified}")
}

/// One `@`, something on both sides, no spaces or controls, not too long: the rest is the
/// mail system's to judge, by delivering the link or not.
fn looks_like_an_address(email: &str) -> bool {
    email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.contains('@')
        })
}

/// Writes a message to the outbox; a failure is logged (without the message), never shown to
/// the client, whose answer must not depend on it.
fn send(state: &AppState, to: &str, subject: &str, body: &str, now: i64) {
    match &state.outbox {
        Some(outbox) => {
            if let Err(error) = outbox.send(to, subject, body, now) {
                tracing::error!(%error, dir = %outbox.dir().display(), "could not write a message");
            }
        }
        None => tracing::warn!(
            subject,
            "no mail outbox is configured: the link was not sent"
        ),
    }
}

fn user_error(error: UserError) -> ApiError {
    match error {
        UserError::Store(error) => error.into(),
        UserError::InvalidPassword(why) => field_error("new_password", why),
        other => ApiError::Internal(other.to_string()),
    }
}
