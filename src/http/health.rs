//! `GET /healthz` (liveness: the process answers) and `GET /readyz` (readiness: the database
//! can be written, now), for systemd watchdogs, container orchestrators and load balancers.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::{method_not_allowed, no_store_endpoint};
use crate::app::AppState;
use crate::error::json_body;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/healthz",
            no_store_endpoint(get(healthz).fallback(method_not_allowed), "GET, HEAD"),
        )
        .route(
            "/readyz",
            no_store_endpoint(get(readyz).fallback(method_not_allowed), "GET, HEAD"),
        )
}

async fn healthz() -> Response {
    json_body(&json!({ "status": "ok" }))
}

// ANCHOR: readyz
/// Ready when the database takes a write within the deadline: an instance that cannot reach
/// it, or whose disk is full, should get no traffic. A read would not do: a full disk still
/// answers `SELECT 1`. Nothing is remembered between calls, so readiness comes back by itself
/// with the first write that succeeds.
async fn readyz(State(state): State<AppState>) -> Response {
    match state.database.probe(state.tokens.now()).await {
        Ok(()) => json_body(&json!({ "status": "ok", "database": "ok" })),
        Err(error) => {
            tracing::warn!(%error, "not ready: the database cannot write");
            let database = if error.is_unavailable() {
                "unavailable"
            } else {
                "failing"
            };
            let body = json!({ "status": "unavailable", "database": database });
            let mut response = (StatusCode::SERVICE_UNAVAILABLE, json_body(&body)).into_response();
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                crate::error::RETRY_UNAVAILABLE_AFTER.into(),
            );
            response
        }
    }
}
// ANCHOR_END: readyz
