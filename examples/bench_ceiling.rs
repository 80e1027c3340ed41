//! The ceiling `scripts/bench` measures the server against: a bare axum server on the same
//! runtime that answers the same JSON with no middleware at all — no request id, no access log,
//! no timeouts, no security headers, no state, no database, no revocation check.
//!
//! - `GET /hello/` does the same HS256 check the server does for a Bearer token (signature,
//!   `exp` against the system clock, `token_type`), then answers `{"message":"Hello, World!"}`.
//! - `GET /healthz` answers `{"status":"ok"}`: the no-op route.
//! - `GET /healthz-with-headers` answers the same with the headers the server's `/healthz`
//!   sends besides (DRF's `Allow`, `Vary` and `Cache-Control`, the security headers, a request
//!   id), set as cheaply as axum can: what those bytes cost, apart from the work behind them.
//!
//! Run: `JWT_SIGNING_KEY=… cargo run --release --example bench_ceiling -- 127.0.0.1:9000`
//! (`scripts/bench` does it). A ratio to these figures, measured in the same run, is what the
//! server's overhead is judged by; absolute requests/s depend on the machine.

use axum::Router;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

#[derive(Deserialize)]
struct Claims {
    token_type: String,
}

#[tokio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9000".into());
    let Ok(secret) = std::env::var("JWT_SIGNING_KEY") else {
        eprintln!("bench_ceiling: set JWT_SIGNING_KEY to the server's HS256 key");
        std::process::exit(2);
    };
    let key = DecodingKey::from_secret(secret.as_bytes());
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 0;
    validation.set_required_spec_claims(&["exp"]);
    let hello = get(move |headers: HeaderMap| {
        let key = key.clone();
        let validation = validation.clone();
        async move {
            let token = headers
                .get(header::AUTHORIZATION)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.strip_prefix("Bearer "));
            let valid = token
                .and_then(|token| jsonwebtoken::decode::<Claims>(token, &key, &validation).ok())
                .is_some_and(|data| data.claims.token_type == "access");
            if valid {
                json(StatusCode::OK, r#"{"message":"Hello, World!"}"#)
            } else {
                json(
                    StatusCode::UNAUTHORIZED,
                    r#"{"detail":"Given token not valid"}"#,
                )
            }
        }
    });
    let router = Router::new()
        .route("/hello/", hello)
        .route(
            "/healthz",
            get(|| async { json(StatusCode::OK, r#"{"status":"ok"}"#) }),
        )
        .route("/healthz-with-headers", get(healthz_with_headers));
    let listener = match tokio::net::TcpListener::bind(&addr).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("bench_ceiling: cannot listen on {addr}: {error}");
            std::process::exit(1);
        }
    };
    if let Err(error) = axum::serve(listener, router).await {
        eprintln!("bench_ceiling: {error}");
        std::process::exit(1);
    }
}

fn json(status: StatusCode, body: &'static str) -> impl IntoResponse {
    (status, [(header::CONTENT_TYPE, "application/json")], body)
}

/// `/healthz`'s answer with the server's other headers: static values into a map sized once.
pub(crate) async fn healthz_with_headers() -> Response {
    let mut response = json(StatusCode::OK, r#"{"status":"ok"}"#).into_response();
    let headers = response.headers_mut();
    headers.reserve(SERVER_HEADERS.len());
    for (name, value) in SERVER_HEADERS {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    response
}

/// What the server's `/healthz` sends besides `content-type`, `content-length` and `date`
/// (`scripts/bench` checks the names against a real answer).
const SERVER_HEADERS: [(&str, &str); 8] = [
    ("allow", "GET, HEAD"),
    ("vary", "Accept"),
    ("cache-control", "no-store"),
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    ("cross-origin-opener-policy", "same-origin"),
    ("x-request-id", "17c4c9056602550a0000000000000000"),
];
