//! Cookie mode (`--refresh-cookie`): the refresh token lives in an HttpOnly cookie scoped to
//! `/api/token/`, and spending it takes the CSRF cookie's value repeated in `X-CSRFToken`.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResponse};

async fn cookie_app() -> TestApp {
    TestApp::configured(|app| app.refresh_cookie = true).await
}

/// The `name=value` of each `Set-Cookie`, and the whole header lines.
fn set_cookies(response: &TestResponse) -> Vec<String> {
    response
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

fn cookie_value(response: &TestResponse, name: &str) -> String {
    set_cookies(response)
        .iter()
        .find_map(|line| line.strip_prefix(&format!("{name}=")))
        .and_then(|rest| rest.split(';').next())
        .unwrap_or_else(|| panic!("no {name} cookie in {:?}", set_cookies(response)))
        .to_owned()
}

async fn post_with_cookies(
    app: &TestApp,
    path: &str,
    cookies: &str,
    csrf_header: Option<&str>,
    body: Value,
) -> TestResponse {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::COOKIE, cookies);
    if let Some(csrf) = csrf_header {
        request = request.header("x-csrftoken", csrf);
    }
    app.send(request.body(Body::from(body.to_string())).unwrap())
        .await
}

#[tokio::test]
async fn login_puts_the_refresh_token_in_an_http_only_cookie_and_only_access_in_the_body() {
    let app = cookie_app().await;
    let login = app.obtain("vitor", "123").await;
    assert_eq!(login.status, StatusCode::OK);
    let body = login.json();
    assert!(body["access"].is_string());
    assert!(body.get("refresh").is_none(), "{body}");
    let lines = set_cookies(&login);
    let refresh_line = lines
        .iter()
        .find(|l| l.starts_with("refresh_token="))
        .unwrap();
    let refresh = cookie_value(&login, "refresh_token");
    assert_eq!(
        refresh_line,
        &format!(
            "refresh_token={refresh}; Max-Age=86400; Path=/api/token/; HttpOnly; Secure; SameSite=Strict"
        )
    );
    let csrf_line = lines.iter().find(|l| l.starts_with("csrftoken=")).unwrap();
    assert!(
        csrf_line.ends_with("; Max-Age=86400; Path=/; Secure; SameSite=Strict"),
        "{csrf_line}"
    );
    assert!(
        !csrf_line.contains("HttpOnly"),
        "the page must be able to read it"
    );
    assert_eq!(
        app.hello(body["access"].as_str().unwrap()).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_cookie_refreshes_only_with_the_csrf_token_repeated_in_the_header() {
    let app = cookie_app().await;
    let login = app.obtain("vitor", "123").await;
    let (refresh, csrf) = (
        cookie_value(&login, "refresh_token"),
        cookie_value(&login, "csrftoken"),
    );
    let cookies = format!("refresh_token={refresh}; csrftoken={csrf}");

    for (header, detail) in [
        (None, "CSRF Failed: CSRF token missing."),
        (Some("0000"), "CSRF Failed: CSRF token incorrect."),
    ] {
        let refused =
            post_with_cookies(&app, "/api/token/refresh/", &cookies, header, json!({})).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert_eq!(refused.json(), json!({ "detail": detail }));
    }
    // Another site can make the browser send the refresh cookie, but not set the CSRF one.
    let forged = post_with_cookies(
        &app,
        "/api/token/refresh/",
        &format!("refresh_token={refresh}"),
        Some(&csrf),
        json!({}),
    )
    .await;
    assert_eq!(
        forged.json(),
        json!({"detail": "CSRF Failed: CSRF cookie not set."})
    );

    let refreshed = post_with_cookies(
        &app,
        "/api/token/refresh/",
        &cookies,
        Some(&csrf),
        json!({}),
    )
    .await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.text());
    assert!(refreshed.json().get("refresh").is_none());
    let rotated = cookie_value(&refreshed, "refresh_token");
    assert_ne!(rotated, refresh);
    // The old cookie was rotated away: using it again is reuse.
    let replay = post_with_cookies(
        &app,
        "/api/token/refresh/",
        &cookies,
        Some(&csrf),
        json!({}),
    )
    .await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn logout_with_the_cookie_clears_both_cookies() {
    let app = cookie_app().await;
    let login = app.obtain("vitor", "123").await;
    let (refresh, csrf) = (
        cookie_value(&login, "refresh_token"),
        cookie_value(&login, "csrftoken"),
    );
    let cookies = format!("refresh_token={refresh}; csrftoken={csrf}");
    let out = post_with_cookies(
        &app,
        "/api/token/blacklist/",
        &cookies,
        Some(&csrf),
        json!({}),
    )
    .await;
    assert_eq!(out.status, StatusCode::OK, "{}", out.text());
    let lines = set_cookies(&out);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("refresh_token=; Max-Age=0; Path=/api/token/")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("csrftoken=; Max-Age=0; Path=/")),
        "{lines:?}"
    );
    assert_eq!(app.refresh(&refresh).await.status, StatusCode::UNAUTHORIZED);
}

/// A body token is not sent by the browser on its own, so it needs no CSRF proof; and without
/// either, the answer is simplejwt's usual field error.
#[tokio::test]
async fn a_refresh_token_in_the_body_still_works_and_none_at_all_is_a_field_error() {
    let app = cookie_app().await;
    let login = app.obtain("vitor", "123").await;
    let refresh = cookie_value(&login, "refresh_token");
    assert_eq!(app.refresh(&refresh).await.status, StatusCode::OK);
    let missing = app.post_json("/api/token/refresh/", json!({})).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        missing.json(),
        json!({"refresh": ["This field is required."]})
    );
}

#[tokio::test]
async fn without_cookie_mode_no_cookie_is_ever_set_or_read() {
    let app = TestApp::new().await;
    let login = app.obtain("vitor", "123").await;
    assert!(set_cookies(&login).is_empty());
    assert!(login.json()["refresh"].is_string());
    let refresh = login.field("refresh");
    let cookie_only = post_with_cookies(
        &app,
        "/api/token/refresh/",
        &format!("refresh_token={refresh}; csrftoken=x"),
        Some("x"),
        json!({}),
    )
    .await;
    assert_eq!(cookie_only.status, StatusCode::BAD_REQUEST);
}
