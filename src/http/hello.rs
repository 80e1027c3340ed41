//! Protected routes: `/hello/` (simplejwt tutorial's example view) and `/api/me/`.

use axum::http::Method;
use axum::response::Response;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::routes;

use super::auth::AuthUser;
use super::{ApiRouter, endpoint};
use crate::app::AppState;
use crate::clock::iso8601_utc;
use crate::error::{ApiError, json_body};

pub fn router() -> ApiRouter {
    let serve = |methods: axum::routing::MethodRouter<AppState>| {
        endpoint(
            methods
                .options(options)
                .fallback(authenticated_wrong_method),
            "GET, HEAD, OPTIONS",
        )
    };
    ApiRouter::new()
        .slashed(routes!(hello), serve)
        .slashed(routes!(me), serve)
}

/// `/hello/`'s answer: documented and rendered from this type.
#[derive(Serialize, ToSchema)]
struct Hello {
    #[schema(example = "Hello, World!")]
    message: &'static str,
}

/// `/api/me/`'s answer: the user the token belongs to.
#[derive(ToSchema)]
#[allow(
    dead_code,
    reason = "the answer's documentation; the handler renders it"
)]
struct Me {
    #[schema(example = 1)]
    id: i64,
    #[schema(example = "ada")]
    username: String,
    is_active: bool,
    /// ISO 8601, UTC.
    #[schema(example = "2026-01-05T09:30:00Z")]
    date_joined: String,
    /// Empty when none is set.
    #[schema(example = "ada@example.com")]
    email: String,
    email_verified: bool,
}

// ANCHOR: hello
/// `GET /hello/`: answers only callers with a valid access token of an active user.
#[utoipa::path(
    get,
    path = "/hello/",
    operation_id = "hello_retrieve",
    tag = "protected",
    security(("jwtAuth" = [])),
    responses((status = 200, description = "The caller is signed in.", body = Hello)),
)]
async fn hello(_user: AuthUser) -> Response {
    json_body(&Hello {
        message: "Hello, World!",
    })
}
// ANCHOR_END: hello

/// `GET /api/me/`: who the access token belongs to. `date_joined` is ISO 8601 in UTC, as a DRF
/// serializer renders Django's `User.date_joined`.
#[utoipa::path(
    get,
    path = "/api/me/",
    operation_id = "me_retrieve",
    tag = "protected",
    security(("jwtAuth" = [])),
    responses((status = 200, description = "The caller's account.", body = Me)),
)]
async fn me(AuthUser { user, .. }: AuthUser) -> Response {
    json_body(&json!({
        "id": user.id,
        "username": user.username,
        "is_active": user.is_active,
        "date_joined": iso8601_utc(user.date_joined),
        "email": user.email,
        "email_verified": user.email_verified,
    }))
}

/// DRF authenticates before it looks at the method, so an anonymous `POST` is a 401 and only an
/// authenticated one learns that the method is wrong.
async fn authenticated_wrong_method(_user: AuthUser, method: Method) -> ApiError {
    ApiError::MethodNotAllowed(method)
}

async fn options(_user: AuthUser) -> Response {
    json_body(&json!({
        "name": "Hello",
        "description": "",
        "renders": ["application/json", "text/html"],
        "parses": ["application/json", "application/x-www-form-urlencoded", "multipart/form-data"],
    }))
}
