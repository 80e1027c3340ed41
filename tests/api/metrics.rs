//! `/metrics`: what operators scrape, on a router of its own (`--metrics-addr`), never on the
//! public one; counts by route and status with bounded labels, and the session events.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use jwt_workbook::app;
use serde_json::json;
use tower::ServiceExt;

use crate::helpers::TestApp;

async fn scrape(app: &TestApp) -> String {
    let request = Request::builder()
        .uri("/metrics")
        .body(Body::empty())
        .unwrap();
    let answer = app::metrics_router(app.state.clone())
        .oneshot(request)
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(
        answer.headers()["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    let body = axum::body::to_bytes(answer.into_body(), usize::MAX)
        .await
        .unwrap();
    String::from_utf8(body.to_vec()).unwrap()
}

fn count(text: &str, series: &str) -> u64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0)
}

/// What `--metrics-addr` turns on.
async fn counted_app() -> TestApp {
    TestApp::configured(|settings| settings.request_metrics = true).await
}

#[tokio::test]
async fn requests_logins_refreshes_and_reuse_are_counted() {
    let app = counted_app().await;
    let (refresh, access) = app.login().await;
    assert_eq!(
        app.obtain("vitor", "wrong").await.status,
        StatusCode::UNAUTHORIZED
    );
    let rotated = app.refresh(&refresh).await;
    assert_eq!(rotated.status, StatusCode::OK);
    // The rotated-away token again: a reuse, which revokes the family.
    assert_eq!(app.refresh(&refresh).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.hello(&access).await.status, StatusCode::UNAUTHORIZED);
    for n in 0..5 {
        let made_up = app
            .send(
                Request::builder()
                    .uri(format!("/api/nothing-{n}/"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(made_up.status, StatusCode::NOT_FOUND);
    }

    let text = scrape(&app).await;
    assert_eq!(
        count(
            &text,
            r#"http_requests_total{route="/api/token/",method="POST",status="200"}"#
        ),
        1,
        "{text}"
    );
    assert_eq!(
        count(
            &text,
            r#"http_requests_total{route="/api/token/",method="POST",status="401"}"#
        ),
        1
    );
    assert_eq!(
        count(
            &text,
            r#"http_requests_total{route="/api/token/refresh/",method="POST",status="401"}"#
        ),
        1
    );
    assert_eq!(count(&text, r#"logins_total{outcome="ok"}"#), 1);
    assert_eq!(count(&text, r#"logins_total{outcome="failed"}"#), 1);
    assert_eq!(count(&text, r#"token_refreshes_total{outcome="ok"}"#), 1);
    assert_eq!(
        count(&text, r#"token_refreshes_total{outcome="refused"}"#),
        1
    );
    assert_eq!(count(&text, r#"revocations_total{reason="reuse"}"#), 1);
    // Made-up paths share one label: a client cannot grow the series.
    assert_eq!(
        count(
            &text,
            r#"http_requests_total{route="unmatched",method="GET",status="404"}"#
        ),
        5
    );
    assert!(!text.contains("nothing-"), "{text}");
    assert!(
        count(
            &text,
            r#"http_request_duration_seconds_count{route="/hello/"}"#
        ) >= 1,
        "{text}"
    );
    assert!(text.contains("password_hashes_in_flight 0"), "{text}");
}

#[tokio::test]
async fn throttled_logins_logouts_and_password_changes_are_counted() {
    let app = TestApp::configured(|settings| {
        settings.request_metrics = true;
        settings.login_limits.per_user = "1/5m".parse().unwrap();
    })
    .await;
    assert_eq!(
        app.obtain("vitor", "wrong").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.obtain("vitor", "123").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    let text = scrape(&app).await;
    assert_eq!(
        count(&text, r#"logins_total{outcome="throttled"}"#),
        1,
        "{text}"
    );

    let app = counted_app().await;
    let (refresh, access) = app.login().await;
    assert_eq!(app.blacklist(&refresh).await.status, StatusCode::OK);
    let (_, access) = {
        let _ = access;
        app.login().await
    };
    let changed = app
        .send(
            Request::builder()
                .method("POST")
                .uri("/api/password/change/")
                .header("authorization", format!("Bearer {access}"))
                .header("content-type", "application/json")
                .body(Body::from(
                    json!({"old_password": "123", "new_password": "a-new-long-password-9"})
                        .to_string(),
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text());
    let text = scrape(&app).await;
    assert_eq!(
        count(&text, r#"revocations_total{reason="logout"}"#),
        1,
        "{text}"
    );
    assert_eq!(
        count(&text, r#"revocations_total{reason="password_change"}"#),
        1,
        "{text}"
    );
}

#[tokio::test]
async fn the_public_router_has_no_metrics() {
    let app = TestApp::new().await;
    let answer = app
        .send(
            Request::builder()
                .uri("/metrics")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    let answer = app
        .send(
            Request::builder()
                .uri("/metrics/")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
}

/// Without `--metrics-addr` no request is counted (the request layer skips it: the benchmark's
/// figures are those of a server without metrics); the session events, rare, still are.
#[tokio::test]
async fn without_a_metrics_address_requests_are_not_counted() {
    let app = TestApp::new().await;
    app.login().await;
    let text = scrape(&app).await;
    assert!(!text.contains("http_requests_total{"), "{text}");
    assert_eq!(count(&text, r#"logins_total{outcome="ok"}"#), 1, "{text}");
}
