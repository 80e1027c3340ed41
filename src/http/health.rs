//! `GET /healthz` (liveness: the process answers) and `GET /readyz` (readiness: the database
//! can be written, now), for systemd watchdogs, container orchestrators and load balancers.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::routes;

use super::{ApiRouter, method_not_allowed, no_store_endpoint};
use crate::app::AppState;
use crate::error::json_body;

pub fn router() -> ApiRouter {
    let serve = |methods: axum::routing::MethodRouter<AppState>| {
        no_store_endpoint(methods.fallback(method_not_allowed), "GET, HEAD")
    };
    ApiRouter::new()
        .exact(routes!(healthz), serve)
        .exact(routes!(readyz), serve)
}

/// Liveness, and readiness with the database's state: documented and rendered from this type.
#[derive(Serialize, ToSchema)]
struct Health {
    #[schema(example = "ok")]
    status: &'static str,
    /// `/readyz` only: `ok`, `unavailable` or `failing`.
    #[schema(nullable = false, example = "ok")]
    #[serde(skip_serializing_if = "Option::is_none")]
    database: Option<&'static str>,
}

/// Liveness: the process answers.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "operations",
    responses((status = 200, description = "The process answers.", body = Health)),
)]
async fn healthz() -> Response {
    json_body(&Health {
        status: "ok",
        database: None,
    })
}

// ANCHOR: readyz
/// Ready when the database takes a write within the deadline: an instance that cannot reach
/// it, or whose disk is full, should get no traffic. A read would not do: a full disk still
/// answers `SELECT 1`. Nothing is remembered between calls, so readiness comes back by itself
/// with the first write that succeeds.
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    tag = "operations",
    responses(
        (status = 200, description = "The database takes writes.", body = Health),
        (status = 503, description = "The database cannot be reached or cannot write: send no traffic here.", body = Health,
            example = json!({"status": "unavailable", "database": "unavailable"})),
    ),
)]
async fn readyz(State(state): State<AppState>) -> Response {
    match state.database.probe(state.tokens.now()).await {
        Ok(()) => json_body(&Health {
            status: "ok",
            database: Some("ok"),
        }),
        Err(error) => {
            tracing::warn!(%error, "not ready: the database cannot write");
            let database = if error.is_unavailable() {
                "unavailable"
            } else {
                "failing"
            };
            let body = Health {
                status: "unavailable",
                database: Some(database),
            };
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
