//! The one error type of the HTTP API. Every failure a client can cause becomes a 4xx with a
//! body shaped like Django REST framework's, so clients written for simplejwt read it unchanged.
//! A 500 says nothing about its cause; the cause is logged once, here. A database that cannot
//! be reached or cannot write just now is no bug: it is a 503 with `Retry-After`, which clients
//! and proxies know to retry (elsewhere, or later).

use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::sessions::SessionError;
use crate::storage::StoreError;
use crate::tokens::{TokenError, TokenType};

/// `WWW-Authenticate` on every 401, as DRF sends it for simplejwt's authentication class.
pub const WWW_AUTHENTICATE: &str = r#"Bearer realm="api""#;

#[derive(Debug)]
pub enum ApiError {
    /// 400, one list of messages per field: `{"password": ["This field is required."]}`.
    Fields(Map<String, Value>),
    /// 400 `{"non_field_errors": [message]}`.
    NonField(String),
    /// 400 `{"detail": "JSON parse error - …"}` and other unreadable bodies.
    Unreadable(String),
    /// 401: no usable `Authorization` header at all.
    NotAuthenticated,
    /// 401: `Bearer` with no token, or with more than one word after it.
    BadAuthorizationHeader,
    /// 401 from the token endpoints: `{"detail": message, "code": "token_not_valid"}`.
    Token(TokenError),
    /// 401 from protected routes, which also name the token class that was tried.
    AccessToken(TokenError),
    /// 401 from protected routes that accept several token classes (with sliding tokens on):
    /// one message per class tried, in order.
    AuthTokens(Vec<(TokenType, TokenError)>),
    /// 401: a valid token without a `user_id` claim.
    NoUserIdentification,
    UserNotFound,
    UserInactive,
    /// 401 from login, for every kind of bad credentials.
    NoActiveAccount,
    /// 401 from refresh, when the token's user is gone or inactive.
    NoActiveAccountForToken,
    NotFound,
    MethodNotAllowed(Method),
    NotAcceptable,
    UnsupportedMediaType(String),
    PayloadTooLarge,
    /// 429: too many failed logins; try again in this many seconds.
    Throttled(i64),
    /// 403: authenticated, but not allowed (DRF's `PermissionDenied`).
    Forbidden,
    /// 403: a request spending the refresh cookie without the CSRF proof (Django's words).
    Csrf(&'static str),
    /// 503 with `Retry-After`: the database cannot be reached or cannot write just now (DRF's
    /// `ServiceUnavailable`). The text is logged, never sent.
    Unavailable(String),
    /// Our fault. The text is logged, never sent.
    Internal(String),
}

/// What a 503 asks a client to wait before it tries again, in seconds.
pub const RETRY_UNAVAILABLE_AFTER: u64 = 5;

impl ApiError {
    /// 400 with one message for one field: `{"field": ["message"]}`.
    pub fn field(field: &str, message: &str) -> Self {
        let mut errors = Map::new();
        errors.insert(field.to_owned(), Value::from(vec![message]));
        ApiError::Fields(errors)
    }

    pub fn status(&self) -> StatusCode {
        use ApiError::*;
        match self {
            Fields(_) | NonField(_) | Unreadable(_) => StatusCode::BAD_REQUEST,
            NotAuthenticated
            | BadAuthorizationHeader
            | Token(_)
            | AccessToken(_)
            | AuthTokens(_)
            | NoUserIdentification
            | UserNotFound
            | UserInactive
            | NoActiveAccount
            | NoActiveAccountForToken => StatusCode::UNAUTHORIZED,
            NotFound => StatusCode::NOT_FOUND,
            MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            Csrf(_) | Forbidden => StatusCode::FORBIDDEN,
            Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The JSON body, in DRF's shape and simplejwt's words.
    pub fn body(&self) -> Value {
        use ApiError::*;
        let with_code = |detail: &str, code: &str| json!({ "detail": detail, "code": code });
        match self {
            Fields(errors) => Value::Object(errors.clone()),
            NonField(message) => json!({ "non_field_errors": [message] }),
            Unreadable(detail) => json!({ "detail": detail }),
            NotAuthenticated => {
                json!({ "detail": "Authentication credentials were not provided." })
            }
            BadAuthorizationHeader => with_code(
                "Authorization header must contain two space-delimited values",
                "bad_authorization_header",
            ),
            Token(error) => with_code(&error.to_string(), "token_not_valid"),
            AccessToken(error) => json!({
                "detail": "Given token not valid for any token type",
                "code": "token_not_valid",
                "messages": [{
                    "token_class": "AccessToken",
                    "token_type": "access",
                    "message": error.to_string(),
                }],
            }),
            AuthTokens(tried) => json!({
                "detail": "Given token not valid for any token type",
                "code": "token_not_valid",
                "messages": tried.iter().map(|(class, error)| json!({
                    "token_class": class.class_name(),
                    "token_type": class.as_str(),
                    "message": error.to_string(),
                })).collect::<Vec<_>>(),
            }),
            NoUserIdentification => with_code(
                "Token contained no recognizable user identification",
                "token_not_valid",
            ),
            UserNotFound => with_code("User not found", "user_not_found"),
            UserInactive => with_code("User is inactive", "user_inactive"),
            NoActiveAccount => {
                json!({ "detail": "No active account found with the given credentials" })
            }
            NoActiveAccountForToken => {
                json!({ "detail": "No active account found for the given token." })
            }
            NotFound => json!({ "detail": "Not found." }),
            MethodNotAllowed(method) => {
                json!({ "detail": format!("Method \"{method}\" not allowed.") })
            }
            NotAcceptable => json!({ "detail": "Could not satisfy the request Accept header." }),
            UnsupportedMediaType(media_type) => {
                json!({ "detail": format!("Unsupported media type \"{media_type}\" in request.") })
            }
            PayloadTooLarge => json!({ "detail": "Request body is too large." }),
            Throttled(1) => {
                json!({ "detail": "Request was throttled. Expected available in 1 second." })
            }
            Throttled(seconds) => json!({
                "detail": format!("Request was throttled. Expected available in {seconds} seconds.")
            }),
            Csrf(reason) => json!({ "detail": format!("CSRF Failed: {reason}") }),
            Forbidden => {
                json!({ "detail": "You do not have permission to perform this action." })
            }
            Unavailable(_) => with_code(
                "Service temporarily unavailable, try again later.",
                "service_unavailable",
            ),
            Internal(_) => json!({ "detail": "A server error occurred." }),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::Internal(cause) => tracing::error!(%cause, "internal error"),
            ApiError::Unavailable(cause) => tracing::warn!(%cause, "the database is unavailable"),
            _ => {}
        }
        let status = self.status();
        let mut response = (status, json_body(&self.body())).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(WWW_AUTHENTICATE),
            );
        }
        if let ApiError::Throttled(seconds) = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(RETRY_UNAVAILABLE_AFTER),
            );
        }
        response
    }
}

// ANCHOR: session_errors
/// Each refusal of a session rule as simplejwt answers it.
impl From<SessionError> for ApiError {
    fn from(error: SessionError) -> Self {
        match error {
            SessionError::Token(reason) => ApiError::Token(reason),
            SessionError::Revoked => ApiError::NonField(TokenError::Blacklisted.to_string()),
            SessionError::Bearer(refusals) => match refusals.as_slice() {
                [(TokenType::Access, reason)] => ApiError::AccessToken(*reason),
                _ => ApiError::AuthTokens(refusals),
            },
            SessionError::NoUserIdentification => ApiError::NoUserIdentification,
            SessionError::UserNotFound => ApiError::UserNotFound,
            SessionError::UserInactive => ApiError::UserInactive,
            SessionError::NoActiveAccount => ApiError::NoActiveAccount,
            SessionError::NoActiveAccountForToken => ApiError::NoActiveAccountForToken,
            SessionError::Throttled(seconds) => ApiError::Throttled(seconds),
            SessionError::WrongPassword => ApiError::field("old_password", "Wrong password."),
            SessionError::SamePassword => ApiError::field(
                "new_password",
                "The new password must differ from the old one.",
            ),
            SessionError::InvalidPassword(why) => ApiError::field("new_password", why),
            SessionError::Store(error) => error.into(),
            SessionError::Internal(cause) => ApiError::Internal(cause),
        }
    }
}
// ANCHOR_END: session_errors

// ANCHOR: store_errors
/// A database that cannot answer now is a retryable 503; anything else it says is our bug.
impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        if error.is_unavailable() {
            ApiError::Unavailable(error.to_string())
        } else {
            ApiError::Internal(error.to_string())
        }
    }
}
// ANCHOR_END: store_errors

/// Compact JSON with `Content-Type: application/json` and no charset, as DRF writes it.
pub fn json_body(value: &impl serde::Serialize) -> Response {
    let bytes = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = Response::new(axum::body::Body::from(bytes));
    let headers = response.headers_mut();
    // Room for what the layers add on the way out (DRF's and the security headers, the
    // request id), so the map is allocated once rather than grown twice.
    headers.reserve(RESPONSE_HEADERS);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// How many headers a JSON answer usually leaves with.
const RESPONSE_HEADERS: usize = 12;
