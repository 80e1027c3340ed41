//! The account's own endpoints: change the password (signed in), reset a forgotten one through
//! a link, and set and verify an email address. Every password change revokes every token the
//! user held, on every instance. Links travel by mail (see [`crate::mail`]) and are single-use
//! purpose tokens (see [`crate::tokens::purpose`]).

use axum::extract::State;
use axum::response::Response;
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::routes;

use super::ApiRouter;
use super::auth::AuthUser;
use super::body::{FormData, required_strings};
use super::client::ClientAddr;
use super::schema::{BadRequest, ErrorDetail, char_field};
use super::tokens::{TokenPair, pair_response, post_endpoint};
use crate::app::AppState;
use crate::error::{ApiError, json_body};
use crate::tokens::Purpose;
use crate::users::UserError;

pub fn router() -> ApiRouter {
    ApiRouter::new()
        .slashed(routes!(change), |methods| {
            post_endpoint(
                methods,
                "Password Change",
                "Sets a new password for the signed-in user and revokes every older token.",
                &["old_password", "new_password"],
            )
        })
        .slashed(routes!(request_reset), |methods| {
            post_endpoint(
                methods,
                "Password Reset",
                "Mails a single-use reset link to the account, if it exists and has an address.",
                &["username"],
            )
        })
        .slashed(routes!(confirm_reset), |methods| {
            post_endpoint(
                methods,
                "Password Reset Confirm",
                "Sets a new password with the token of a reset link.",
                &["token", "new_password"],
            )
        })
        .slashed(routes!(set_email), |methods| {
            post_endpoint(
                methods,
                "Email",
                "Sets the signed-in user's address and mails a verification link to it.",
                &["email"],
            )
        })
        .slashed(routes!(verify_email), |methods| {
            post_endpoint(
                methods,
                "Email Verify",
                "Marks the address verified with the token of its verification link.",
                &["token"],
            )
        })
}

/// The current password and the new one.
#[derive(ToSchema)]
#[allow(
    dead_code,
    reason = "the request's documentation; the handler reads FormData"
)]
struct PasswordChangeRequest {
    #[schema(schema_with = char_field, example = "correct horse battery staple")]
    old_password: String,
    /// Must differ from the old one.
    #[schema(schema_with = char_field, example = "a longer and newer passphrase")]
    new_password: String,
}

/// Whose password to reset.
#[derive(ToSchema)]
#[allow(
    dead_code,
    reason = "the request's documentation; the handler reads FormData"
)]
struct PasswordResetRequest {
    #[schema(schema_with = char_field, example = "ada")]
    username: String,
}

/// The token from the reset link, and the new password.
#[derive(ToSchema)]
#[allow(
    dead_code,
    reason = "the request's documentation; the handler reads FormData"
)]
struct PasswordResetConfirmRequest {
    #[schema(schema_with = char_field)]
    token: String,
    #[schema(schema_with = char_field, example = "a longer and newer passphrase")]
    new_password: String,
}

/// A new address for the signed-in user.
#[derive(ToSchema)]
#[allow(
    dead_code,
    reason = "the request's documentation; the handler reads FormData"
)]
struct EmailRequest {
    /// At most 254 characters, one `@` with something before it and a dot after it, no spaces
    /// or control characters; surrounding whitespace is trimmed.
    #[schema(schema_with = email_field, example = "ada@example.com")]
    email: String,
}

/// The token from the verification link.
#[derive(ToSchema)]
#[allow(
    dead_code,
    reason = "the request's documentation; the handler reads FormData"
)]
struct EmailVerifyRequest {
    #[schema(schema_with = char_field)]
    token: String,
}

/// What happened, in a sentence.
#[derive(ToSchema)]
#[allow(
    dead_code,
    reason = "the answer's documentation; the handler renders it"
)]
struct Done {
    #[schema(example = "Password has been reset.")]
    detail: String,
}

/// What [`looks_like_an_address`] takes, as a JSON Schema pattern.
fn email_field() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .max_length(Some(254))
        .pattern(Some(r"^\s*[^\s@\x00-\x1f\x7f-\x9f]+@[^\s@\x00-\x1f\x7f-\x9f]*\.[^\s@\x00-\x1f\x7f-\x9f]*\s*$"))
        .build()
}

// ANCHOR: change
/// `POST /api/password/change/`, signed in: a new password, every older token of the user
/// revoked, and a new pair for the caller (see `Sessions::change_password`).
#[utoipa::path(
    post,
    path = "/api/password/change/",
    operation_id = "password_change",
    tag = "account",
    request_body = PasswordChangeRequest,
    security(("jwtAuth" = [])),
    extensions(("x-refused-beyond-schema" = json!([400]))),
    responses(
        (status = 200, description = "Changed; every older token of the user is revoked and this is the caller's new pair (in cookie mode the refresh token is set as a cookie).", body = TokenPair,
            headers(("Set-Cookie" = String, description = "Cookie mode: the `refresh_token` cookie (HttpOnly, Secure, SameSite=Strict, Path=/api/token/) and a fresh readable `csrftoken` cookie."))),
        (status = 400, description = "A field is missing or blank, the old password is wrong, or the new one is the old one.", body = BadRequest,
            example = json!({"old_password": ["Wrong password."]})),
    ),
)]
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
#[utoipa::path(
    post,
    path = "/api/password/reset/",
    operation_id = "password_reset",
    tag = "account",
    request_body = PasswordResetRequest,
    responses(
        (status = 200, description = "The same answer whether or not the account exists: a link is mailed to an active account with an address.", body = Done,
            example = json!({"detail": RESET_SENT})),
        (status = 429, description = "Too many requests or failed logins for this username or from this address.", body = ErrorDetail),
    ),
)]
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
#[utoipa::path(
    post,
    path = "/api/password/reset/confirm/",
    operation_id = "password_reset_confirm",
    tag = "account",
    request_body = PasswordResetConfirmRequest,
    extensions(("x-refused-beyond-schema" = json!([400]))),
    responses(
        (status = 200, description = "The password is set and every session of the user revoked.", body = Done,
            example = json!({"detail": "Password has been reset."})),
        (status = 400, description = "A field is missing or blank, or the link is invalid, expired or used.", body = BadRequest,
            example = json!({"token": [LINK_REFUSED]})),
    ),
)]
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
#[utoipa::path(
    post,
    path = "/api/email/",
    operation_id = "email_set",
    tag = "account",
    request_body = EmailRequest,
    security(("jwtAuth" = [])),
    responses(
        (status = 200, description = "The address is set, unverified, and a verification link mailed to it.", body = Done,
            example = json!({"detail": "A verification link has been sent."})),
        (status = 400, description = "The field is missing or blank, or not an address.", body = BadRequest,
            example = json!({"email": ["Enter a valid email address."]})),
    ),
)]
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
#[utoipa::path(
    post,
    path = "/api/email/verify/",
    operation_id = "email_verify",
    tag = "account",
    request_body = EmailVerifyRequest,
    extensions(("x-refused-beyond-schema" = json!([400]))),
    responses(
        (status = 200, description = "The address is verified.", body = Done,
            example = json!({"detail": "Email address verified."})),
        (status = 400, description = "The field is missing or blank, or the link is invalid, expired or used.", body = BadRequest,
            example = json!({"token": [LINK_REFUSED]})),
    ),
)]
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
