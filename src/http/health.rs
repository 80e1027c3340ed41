//! `GET /healthz` (liveness: the process answers) and `GET /readyz` (readiness: the database
//! answers too), for systemd watchdogs, container orchestrators and load balancers.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use tower_http::set_header::SetResponseHeaderLayer;

use super::{endpoint, method_not_allowed};
use crate::app::AppState;
use crate::error::json_body;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/healthz",
            endpoint(get(healthz).fallback(method_not_allowed), "GET, HEAD"),
        )
        .route(
            "/readyz",
            endpoint(get(readyz).fallback(method_not_allowed), "GET, HEAD"),
        )
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
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
