//! `GET /client/`: the browser client chapter 5 walks through, a single-page app with no build
//! step that keeps its access token in memory and its refresh token in the HttpOnly cookie of
//! cookie mode; and `GET /client/xss-demo/`, the page beside it showing what a script injected
//! into a page reads (a token in `localStorage`) and what it cannot (that cookie). Their files
//! are compiled into the binary and held to the same strict Content-Security-Policy as the
//! inspector: our own scripts and styles only, calls to our own API only.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::set_header::SetResponseHeaderLayer;

use super::schema::StaticFile;
use super::{ApiRouter, endpoint, method_not_allowed};

const INDEX: &str = include_str!("../../client/index.html");
const SCRIPT: &str = include_str!("../../client/client.js");
const STYLE: &str = include_str!("../../client/client.css");
const XSS_DEMO: &str = include_str!("../../client/xss-demo.html");
const XSS_DEMO_SCRIPT: &str = include_str!("../../client/xss-demo.js");

/// No inline script or style (so an injected `<script>` would not run), and no connection but
/// to our own origin (so a token read could not be sent away).
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'";

pub fn router() -> ApiRouter {
    let page = |body: &'static str, content_type: &'static str| {
        endpoint(
            get(move || async move { file(body, content_type) }).fallback(method_not_allowed),
            "GET, HEAD",
        )
    };
    const HTML: &str = "text/html; charset=utf-8";
    const JS: &str = "text/javascript; charset=utf-8";
    const CSS: &str = "text/css; charset=utf-8";
    let file = |content_type, summary| StaticFile {
        content_type,
        summary,
        classroom_only: false,
    };
    ApiRouter::new()
        .file(
            "/client/",
            file(HTML, "Chapter 5's browser client."),
            page(INDEX, HTML),
        )
        .file(
            "/client/client.js",
            file(JS, "The browser client's script."),
            page(SCRIPT, JS),
        )
        .file(
            "/client/client.css",
            file(CSS, "The browser client's style sheet."),
            page(STYLE, CSS),
        )
        .file(
            "/client/xss-demo/",
            file(
                HTML,
                "What an injected script can read, and what it cannot.",
            ),
            page(XSS_DEMO, HTML),
        )
        .file(
            "/client/xss-demo.js",
            file(JS, "The XSS demonstration's script."),
            page(XSS_DEMO_SCRIPT, JS),
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
