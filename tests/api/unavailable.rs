//! A database that cannot write or cannot be reached: every answer that needs it is a
//! retryable 503 within the deadline, `/readyz` says so while it lasts, a write that failed left
//! nothing behind, and protected routes keep answering from memory. The faults are real: another
//! connection holding SQLite's write lock (as a backup or the `user` command would), and the
//! store's connections closed.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::json;
use sqlx::{Connection, SqliteConnection};

use crate::helpers::{DATABASE, TestApp, TestResponse};

/// Short, so the tests are quick; the default is seconds.
const DEADLINE: Duration = Duration::from_millis(300);

/// The longest any answer may take: the store's deadline, then the backstop's, with room for a
/// busy machine. Past it, a request "hangs".
const BOUND: Duration = Duration::from_secs(5);

async fn app() -> TestApp {
    TestApp::configured(|settings| settings.store_deadline = DEADLINE).await
}

/// Another connection to the same SQLite file, holding its write lock until released.
struct WriteLock(SqliteConnection);

impl WriteLock {
    async fn take(app: &TestApp) -> Self {
        let path = app.data.path().join(DATABASE);
        let mut connection = SqliteConnection::connect(&format!("sqlite://{}", path.display()))
            .await
            .expect("a second connection");
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut connection)
            .await
            .expect("the write lock");
        Self(connection)
    }

    async fn release(mut self) {
        sqlx::query("ROLLBACK")
            .execute(&mut self.0)
            .await
            .expect("release the lock");
    }
}

/// Sends and times a request that must not hang.
async fn timed(answer: impl std::future::Future<Output = TestResponse>) -> TestResponse {
    let started = Instant::now();
    let response = answer.await;
    assert!(
        started.elapsed() < BOUND,
        "answered after {:?}",
        started.elapsed()
    );
    response
}

fn assert_unavailable(response: &TestResponse) {
    assert_eq!(
        response.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        response.text()
    );
    assert_eq!(
        response.json(),
        json!({
            "detail": "Service temporarily unavailable, try again later.",
            "code": "service_unavailable",
        })
    );
    assert_eq!(response.header("retry-after"), Some("5"));
}

async fn get(app: &TestApp, uri: &str) -> TestResponse {
    app.send(Request::builder().uri(uri).body(Body::empty()).unwrap())
        .await
}

#[tokio::test]
async fn a_login_that_cannot_be_written_is_a_retryable_503_within_the_deadline() {
    let app = app().await;
    let lock = WriteLock::take(&app).await;
    assert_unavailable(&timed(app.obtain("vitor", "123")).await);
    lock.release().await;
    assert_eq!(app.obtain("vitor", "123").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_rotation_that_could_not_be_written_left_no_trace_and_the_token_still_works() {
    let app = app().await;
    let (refresh, _) = app.login().await;
    let lock = WriteLock::take(&app).await;
    assert_unavailable(&timed(app.refresh(&refresh)).await);
    lock.release().await;

    let rotated = app.refresh(&refresh).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text());
    // The rotation that answered 200 holds: the new token works, the old one is spent.
    let next = rotated.field("refresh");
    assert_eq!(app.verify(&next).await.status, StatusCode::OK);
    assert_eq!(app.verify(&refresh).await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_logout_that_could_not_be_written_left_the_token_working() {
    let app = app().await;
    let (refresh, _) = app.login().await;
    let lock = WriteLock::take(&app).await;
    assert_unavailable(&timed(app.blacklist(&refresh)).await);
    lock.release().await;
    assert_eq!(app.verify(&refresh).await.status, StatusCode::OK);
    assert_eq!(app.blacklist(&refresh).await.status, StatusCode::OK);
    // "Token is blacklisted", simplejwt's 400 from verify.
    assert_eq!(app.verify(&refresh).await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_password_change_that_could_not_be_written_left_the_old_password_working() {
    let app = app().await;
    let (_, access) = app.login().await;
    let lock = WriteLock::take(&app).await;
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/password/change/")
        .header(header::AUTHORIZATION, format!("Bearer {access}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({"old_password": "123", "new_password": "n3w"}).to_string(),
        ))
        .unwrap();
    assert_unavailable(&timed(app.send(request)).await);
    lock.release().await;
    assert_eq!(app.obtain("vitor", "123").await.status, StatusCode::OK);
    assert_eq!(
        app.obtain("vitor", "n3w").await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn readyz_says_not_ready_while_writes_fail_and_ready_again_once_they_succeed() {
    let app = app().await;
    assert_eq!(get(&app, "/readyz").await.status, StatusCode::OK);
    let lock = WriteLock::take(&app).await;

    let not_ready = timed(get(&app, "/readyz")).await;
    assert_eq!(not_ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        not_ready.json(),
        json!({"status": "unavailable", "database": "unavailable"})
    );
    assert_eq!(not_ready.header("retry-after"), Some("5"));
    // Liveness is about the process: restarting it would cure nothing.
    assert_eq!(get(&app, "/healthz").await.status, StatusCode::OK);

    lock.release().await;
    let ready = get(&app, "/readyz").await;
    assert_eq!(
        (ready.status, ready.json()),
        (StatusCode::OK, json!({"status": "ok", "database": "ok"}))
    );
}

#[tokio::test]
async fn a_valid_access_token_is_still_honoured_from_memory_while_the_database_is_gone() {
    let app = app().await;
    let (refresh, access) = app.login().await;
    assert_eq!(app.hello(&access).await.status, StatusCode::OK);

    app.store.close().await;
    // Past the user cache's lifetime: the store is asked, fails, and memory answers.
    app.clock.advance(jwt_workbook::app::USER_CACHE_SECONDS + 1);
    let hello = timed(app.hello(&access)).await;
    assert_eq!(hello.status, StatusCode::OK, "{}", hello.text());

    // What needs the database says so, retryably, and never with a 500.
    assert_unavailable(&timed(app.obtain("vitor", "123")).await);
    assert_unavailable(&timed(app.refresh(&refresh)).await);
    assert_unavailable(&timed(app.verify(&refresh)).await);
    let ready = timed(get(&app, "/readyz")).await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
}
