//! `GET /inspector/`: the token inspector, a page that takes a token apart in the browser. Its
//! files are compiled into the binary. The page runs no code from anywhere else and sends a
//! token nowhere (a strict Content-Security-Policy holds it to that), so pasting a real token
//! into it is safe.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::set_header::SetResponseHeaderLayer;

use super::schema::StaticFile;
use super::{ApiRouter, endpoint, method_not_allowed};

const INDEX: &str = include_str!("../../inspector/index.html");
const SCRIPT: &str = include_str!("../../inspector/inspector.js");
const STYLE: &str = include_str!("../../inspector/inspector.css");

/// Only our own files; the page may call our own API (to log in, or to ask whether a token was
/// revoked) and nothing else.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'";

pub fn router() -> ApiRouter {
    let page = |body: &'static str, content_type: &'static str| {
        endpoint(
            get(move || async move { file(body, content_type) }).fallback(method_not_allowed),
            "GET, HEAD",
        )
    };
    let file = |content_type, summary| StaticFile {
        content_type,
        summary,
        classroom_only: false,
    };
    const HTML: &str = "text/html; charset=utf-8";
    const JS: &str = "text/javascript; charset=utf-8";
    const CSS: &str = "text/css; charset=utf-8";
    ApiRouter::new()
        .file(
            "/inspector/",
            file(HTML, "The token inspector's page."),
            page(INDEX, HTML),
        )
        .file(
            "/inspector/inspector.js",
            file(JS, "The token inspector's script."),
            page(SCRIPT, JS),
        )
        .file(
            "/inspector/inspector.css",
            file(CSS, "The token inspector's style sheet."),
            page(STYLE, CSS),
        )
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
}

fn file(body: &'static str, content_type: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}
