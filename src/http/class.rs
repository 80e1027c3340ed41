//! The classroom endpoints (only in classroom mode): students submit their progress, the
//! instructor reads the class view. Both need a token; the view needs the instructor's.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};
use tower_http::set_header::SetResponseHeaderLayer;

use super::auth::AuthUser;
use super::body::FormData;
use super::{endpoint, method_not_allowed};
use crate::app::AppState;
use crate::classroom::ProgressReport;
use crate::error::{ApiError, json_body};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/class/",
            endpoint(get(class_view).fallback(method_not_allowed), "GET, HEAD"),
        )
        .route(
            "/api/class/progress/",
            endpoint(post(submit).fallback(method_not_allowed), "POST"),
        )
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
}

/// `POST /api/class/progress/`: a student's report, from `progress --submit`.
async fn submit(
    State(state): State<AppState>,
    user: AuthUser,
    FormData(data): FormData,
) -> Result<Response, ApiError> {
    let room = state.classroom.as_ref().ok_or(ApiError::NotFound)?;
    let report: ProgressReport = serde_json::from_value(Value::Object(data))
        .map_err(|e| ApiError::Unreadable(format!("not a progress report: {e}")))?;
    if let Some(problem) = report.problem() {
        return Err(ApiError::Unreadable(format!(
            "not a progress report: {problem}"
        )));
    }
    room.submit(user.user.id, &report, state.tokens.now())
        .await?;
    Ok(json_body(&json!({})))
}

// ANCHOR: class_view
/// `GET /api/class/`: where every student stands. The instructor's token only.
async fn class_view(State(state): State<AppState>, user: AuthUser) -> Result<Response, ApiError> {
    let room = state.classroom.as_ref().ok_or(ApiError::NotFound)?;
    if !room.is_instructor(&user.user.username) {
        return Err(ApiError::Forbidden);
    }
    Ok(json_body(&json!({ "students": room.view().await? })))
}
// ANCHOR_END: class_view
