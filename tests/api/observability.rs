//! Health endpoints and request ids. (That logs never hold a token or a password is checked in
//! `tests/logs.rs`, a binary of its own: a log subscriber is process-wide.)

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::json;

use crate::helpers::TestApp;

async fn get(app: &TestApp, uri: &str, request_id: Option<&str>) -> crate::helpers::TestResponse {
    let mut request = Request::builder().uri(uri);
    if let Some(id) = request_id {
        request = request.header("x-request-id", id);
    }
    app.send(request.body(Body::empty()).unwrap()).await
}

#[tokio::test]
async fn healthz_answers_and_readyz_follows_the_database() {
    let app = TestApp::new().await;
    let live = get(&app, "/healthz", None).await;
    assert_eq!(
        (live.status, live.json()),
        (StatusCode::OK, json!({"status": "ok"}))
    );
    assert_eq!(live.header("cache-control"), Some("no-store"));
    let ready = get(&app, "/readyz", None).await;
    assert_eq!(ready.json(), json!({"status": "ok", "database": "ok"}));

    // The same app once its database has gone away.
    app.store.close().await;
    let gone = get(&app, "/readyz", None).await;
    assert_eq!(gone.status, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_a_sane_one_is_kept() {
    let app = TestApp::new().await;
    let given = get(&app, "/healthz", Some("req-42.a_b")).await;
    assert_eq!(given.header("x-request-id"), Some("req-42.a_b"));
    let made = get(&app, "/nope/", None).await;
    let id = made.header("x-request-id").unwrap();
    assert_eq!(id.len(), 32, "{id}");
    let replaced = get(&app, "/healthz", Some("a b; drop")).await;
    assert_ne!(replaced.header("x-request-id"), Some("a b; drop"));
}

/// The bench's ceiling, compiled in here for its handler (see `scripts/bench`).
#[path = "../../examples/bench_ceiling.rs"]
#[allow(dead_code)]
mod ceiling;

/// `scripts/bench` measures the bare-axum ceiling again sending the headers our `/healthz`
/// sends, to show what those bytes cost: they must be the same headers.
#[tokio::test]
async fn the_bench_ceiling_sends_the_headers_our_healthz_sends() {
    let names = |headers: &axum::http::HeaderMap| {
        let mut names: Vec<String> = headers
            .keys()
            .map(|name| name.as_str().to_owned())
            .filter(|name| !["date", "content-length"].contains(&name.as_str()))
            .collect();
        names.sort();
        names
    };
    let app = TestApp::new().await;
    let ours = get(&app, "/healthz", None).await;
    let ceiling = ceiling::healthz_with_headers().await;
    assert_eq!(names(ceiling.headers()), names(&ours.headers));
}
