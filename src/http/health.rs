//! `GET /healthz` (liveness: the process answers) and `GET /readyz` (readiness: the database
//! answers too), for systemd watchdogs, container orchestrators and load balancers.

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
/// Ready when the database answers: an instance that cannot reach it should get no traffic.
async fn readyz(State(state): State<AppState>) -> Response {
    match state.sessions.ping().await {
        Ok(()) => json_body(&json!({ "status": "ok", "database": "ok" })),
        Err(error) => {
            tracing::warn!(%error, "not ready: the database does not answer");
            let body = json!({ "status": "unavailable", "database": "unreachable" });
            (StatusCode::SERVICE_UNAVAILABLE, json_body(&body)).into_response()
        }
    }
}
// ANCHOR_END: readyz
