//! Protected routes: `/hello/` and `/api/me/`.

use axum::body::Body;
use axum::http::{Method, Request};

use super::helpers::TestApp;

#[tokio::test]
async fn me_tells_whose_token_it_is() {
    let app = TestApp::new().await;
    let (_, access) = app.login().await;
    let me = app.me(&access).await;
    assert_eq!(me.status, 200);
    insta::assert_json_snapshot!("me", me.json());
}

#[tokio::test]
async fn a_user_deactivated_after_login_is_locked_out_at_once() {
    let app = TestApp::new().await;
    let (_, access) = app.login().await;
    assert_eq!(app.hello(&access).await.status, 200);
    app.state.users.set_active("vitor", false).await.unwrap();
    let refused = app.me(&access).await;
    assert_eq!(refused.status, 401);
    assert_eq!(
        refused.text(),
        r#"{"detail":"User is inactive","code":"user_inactive"}"#
    );
    assert_eq!(
        refused.header("www-authenticate"),
        Some(r#"Bearer realm="api""#)
    );
}

#[tokio::test]
async fn head_answers_like_get_without_a_body() {
    let app = TestApp::new().await;
    let (_, access) = app.login().await;
    let request = Request::builder()
        .method(Method::HEAD)
        .uri("/hello/")
        .header("authorization", format!("Bearer {access}"))
        .body(Body::empty())
        .unwrap();
    let answer = app.send(request).await;
    assert_eq!(answer.status, 200);
    assert!(answer.body.is_empty());
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = TestApp::new().await;
    let answer = app.hello("not-a-token").await;
    for (name, value) in [
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "same-origin"),
        ("cross-origin-opener-policy", "same-origin"),
        ("vary", "Accept"),
    ] {
        assert_eq!(answer.header(name), Some(value), "{name}");
    }
}
