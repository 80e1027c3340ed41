//! The classroom endpoints (only in classroom mode): students submit their progress, the
//! instructor reads the class view. Both need a token; the view needs the instructor's.
//!
//! `/class/` is the view as a page for the instructor: static files compiled into the binary,
//! which log in and read `/api/class/` from the browser. Like the token inspector, it runs no
//! code from anywhere else (a strict Content-Security-Policy holds it to that) and keeps its
//! tokens in memory.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use serde_json::{Value, json};
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::ToSchema;
use utoipa_axum::routes;

use super::ProgressReport;
use crate::app::AppState;
use crate::error::{ApiError, json_body};
use crate::http::auth::AuthUser;
use crate::http::body::FormData;
use crate::http::schema::{BadRequest, Empty, ErrorDetail, StaticFile};
use crate::http::{ApiRouter, endpoint, method_not_allowed};

const INDEX: &str = include_str!("../../class/index.html");
const SCRIPT: &str = include_str!("../../class/class.js");
const STYLE: &str = include_str!("../../class/class.css");

/// Our own files only; the page may call our own API and nothing else.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'";

pub(crate) fn router() -> ApiRouter {
    let file = |body: &'static str, content_type: &'static str| {
        endpoint(
            get(move |State(state): State<AppState>| async move {
                page_file(&state, body, content_type)
            })
            .fallback(method_not_allowed),
            "GET, HEAD",
        )
    };
    let doc = |content_type, summary| StaticFile {
        content_type,
        summary,
        classroom_only: true,
    };
    const HTML: &str = "text/html; charset=utf-8";
    const JS: &str = "text/javascript; charset=utf-8";
    const CSS: &str = "text/css; charset=utf-8";
    let page = ApiRouter::new()
        .file(
            "/class/",
            doc(HTML, "The instructor's class view."),
            file(INDEX, HTML),
        )
        .file(
            "/class/class.js",
            doc(JS, "The class view's script."),
            file(SCRIPT, JS),
        )
        .file(
            "/class/class.css",
            doc(CSS, "The class view's style sheet."),
            file(STYLE, CSS),
        )
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ));
    ApiRouter::new()
        .slashed(routes!(class_view), |methods: MethodRouter<AppState>| {
            endpoint(methods.fallback(method_not_allowed), "GET, HEAD")
        })
        .slashed(routes!(submit), |methods: MethodRouter<AppState>| {
            endpoint(methods.fallback(method_not_allowed), "POST")
        })
        .merge(page)
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
}

/// `GET /api/class/`'s answer.
#[derive(ToSchema)]
#[allow(
    dead_code,
    reason = "the answer's documentation; the handler renders it"
)]
struct ClassView {
    students: Vec<crate::classroom::StudentView>,
}

/// One of the page's files; outside classroom mode there is no page.
fn page_file(state: &AppState, body: &'static str, content_type: &'static str) -> Response {
    if state.classroom.is_none() {
        return ApiError::NotFound.into_response();
    }
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// `POST /api/class/progress/`: a student's report, from `progress --submit`.
#[utoipa::path(
    post,
    path = "/api/class/progress/",
    operation_id = "class_progress_submit",
    tag = "classroom",
    request_body = ProgressReport,
    security(("jwtAuth" = [])),
    extensions(("x-refused-beyond-schema" = json!([400]))),
    responses(
        (status = 200, description = "Recorded.", body = Empty),
        (status = 400, description = "Not a progress report, or a chapter with more steps solved than it has.", body = BadRequest,
            example = json!({"detail": "not a progress report: missing field `chapters`"})),
        (status = 404, description = "Not in classroom mode.", body = ErrorDetail, example = json!({"detail": "Not found."})),
    ),
)]
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
#[utoipa::path(
    get,
    path = "/api/class/",
    operation_id = "class_retrieve",
    tag = "classroom",
    security(("jwtAuth" = [])),
    responses(
        (status = 200, description = "Every student's latest report.", body = ClassView),
        (status = 403, description = "Only the instructor may read the class view.", body = ErrorDetail,
            example = json!({"detail": "You do not have permission to perform this action."})),
        (status = 404, description = "Not in classroom mode.", body = ErrorDetail, example = json!({"detail": "Not found."})),
    ),
)]
async fn class_view(State(state): State<AppState>, user: AuthUser) -> Result<Response, ApiError> {
    let room = state.classroom.as_ref().ok_or(ApiError::NotFound)?;
    if !room.is_instructor(&user.user.username) {
        return Err(ApiError::Forbidden);
    }
    Ok(json_body(&json!({ "students": room.view().await? })))
}
// ANCHOR_END: class_view
