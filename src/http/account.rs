//! `POST /api/password/change/`: a signed-in user changes their password. Every token issued to
//! them until now is revoked, on every instance, and a fresh pair for this client is returned.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum::routing::post;
use serde_json::{Map, Value};
use tower_http::set_header::SetResponseHeaderLayer;

use super::auth::AuthUser;
use super::body::{FormData, required_strings};
use super::tokens::pair_response;
use super::{endpoint, method_not_allowed};
use crate::app::AppState;
use crate::error::ApiError;
use crate::users::{UserError, authenticate, change_password};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/password/change/",
            endpoint(post(change).fallback(method_not_allowed), "POST, OPTIONS"),
        )
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
}

// ANCHOR: change
async fn change(
    State(state): State<AppState>,
    user: AuthUser,
    FormData(data): FormData,
) -> Result<Response, ApiError> {
    let [old, new] = required_strings(&data, ["old_password", "new_password"])?;
    let username = &user.user.username;
    // The same slow check as a login, so a stolen access token alone cannot change a password.
    if authenticate(&*state.users, &state.passwords, username, &old)
        .await
        .is_err()
    {
        return Err(field_error("old_password", "Wrong password."));
    }
    if new == old {
        return Err(field_error(
            "new_password",
            "The new password must differ from the old one.",
        ));
    }
    let now = state.tokens.now();
    let settings = state.tokens.settings();
    change_password(
        &*state.users,
        &*state.revocations,
        &state.passwords,
        username,
        &new,
        now,
        settings.session_lifetime.max(settings.refresh_lifetime),
    )
    .await
    .map_err(|error| match error {
        UserError::Store(error) => error.into(),
        UserError::InvalidPassword(why) => field_error("new_password", why),
        other => ApiError::Internal(other.to_string()),
    })?;
    state.revoked.sync(now).await?;
    let (pair, session) = state.tokens.start_session(&user.user.id.to_string());
    state.revocations.start_session(&session).await?;
    Ok(pair_response(
        &state,
        &pair,
        pair.access.clone(),
        &pair.refresh,
    ))
}
// ANCHOR_END: change

fn field_error(field: &str, message: &str) -> ApiError {
    let mut errors = Map::new();
    errors.insert(field.to_owned(), Value::from(vec![message]));
    ApiError::Fields(errors)
}
