//! The classroom endpoints (only in classroom mode): students submit their progress, the
//! instructor reads the class view. Both need a token; the view needs the instructor's.
//!
//! `/class/` is the view as a page for the instructor: static files compiled into the binary,
//! which log in and read `/api/class/` from the browser. Like the token inspector, it runs no
//! code from anywhere else (a strict Content-Security-Policy holds it to that) and keeps its
//! tokens in memory.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tower_http::set_header::SetResponseHeaderLayer;

use super::ProgressReport;
use crate::app::AppState;
use crate::error::{ApiError, json_body};
use crate::http::auth::AuthUser;
use crate::http::body::FormData;
use crate::http::{SlashedRoutes, endpoint, method_not_allowed};

const INDEX: &str = include_str!("../../class/index.html");
const SCRIPT: &str = include_str!("../../class/class.js");
const STYLE: &str = include_str!("../../class/class.css");

/// Our own files only; the page may call our own API and nothing else.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'";

pub fn router() -> Router<AppState> {
    let file = |body: &'static str, content_type: &'static str| {
        endpoint(
            get(move |State(state): State<AppState>| async move {
                page_file(&state, body, content_type)
            })
            .fallback(method_not_allowed),
            "GET, HEAD",
        )
    };
    let page = Router::new()
        .slashed("/class/", file(INDEX, "text/html; charset=utf-8"))
        .route(
            "/class/class.js",
            file(SCRIPT, "text/javascript; charset=utf-8"),
        )
        .route("/class/class.css", file(STYLE, "text/css; charset=utf-8"))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ));
    Router::new()
        .slashed(
            "/api/class/",
            endpoint(get(class_view).fallback(method_not_allowed), "GET, HEAD"),
        )
        .slashed(
            "/api/class/progress/",
            endpoint(post(submit).fallback(method_not_allowed), "POST"),
        )
        .merge(page)
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
}

/// One of the page's files; outside classroom mode there is no page.
fn page_file(state: &AppState, body: &'static str, content_type: &'static str) -> Response {
    if state.classroom.is_none() {
        return ApiError::NotFound.into_response();
    }
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
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
