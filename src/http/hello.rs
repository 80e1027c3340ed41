//! Protected routes: `/hello/` (simplejwt tutorial's example view) and `/api/me/`.

use axum::Router;
use axum::http::Method;
use axum::response::Response;
use axum::routing::get;
use serde_json::json;

use super::SlashedRoutes;
use super::auth::AuthUser;
use super::endpoint;
use crate::app::AppState;
use crate::clock::iso8601_utc;
use crate::error::{ApiError, json_body};

pub fn router() -> Router<AppState> {
    Router::new()
        .slashed(
            "/hello/",
            endpoint(
                get(hello)
                    .options(options)
                    .fallback(authenticated_wrong_method),
                "GET, HEAD, OPTIONS",
            ),
        )
        .slashed(
            "/api/me/",
            endpoint(
                get(me)
                    .options(options)
                    .fallback(authenticated_wrong_method),
                "GET, HEAD, OPTIONS",
            ),
        )
}

// ANCHOR: hello
/// `GET /hello/`: answers only callers with a valid access token of an active user.
async fn hello(_user: AuthUser) -> Response {
    json_body(&json!({ "message": "Hello, World!" }))
}
// ANCHOR_END: hello

/// `GET /api/me/`: who the access token belongs to. `date_joined` is ISO 8601 in UTC, as a DRF
/// serializer renders Django's `User.date_joined`.
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
