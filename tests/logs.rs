//! Logs never hold a token or a password, at any level. A binary of its own because a log
//! subscriber is process-wide: tests running beside it would race for it.

#[path = "api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, header};

use helpers::TestApp;
use jwt_workbook::logs::{self, LogFormat};
use tracing_subscriber::EnvFilter;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Everything logged at every level while a user logs in, uses, refreshes and logs out their
/// tokens, and pastes one into a URL: no token and no password appears, and the access lines
/// carry the request id.
#[tokio::test]
async fn logs_at_every_level_hold_no_token_and_no_password() {
    let captured = Captured::default();
    let writer = captured.clone();
    // The server's own subscriber, as `serve --log-json` installs it, at every level.
    let subscriber = logs::subscriber(LogFormat::Json, EnvFilter::new("trace"), false, move || {
        writer.clone()
    });
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let app = TestApp::new().await;
    let (refresh, access) = app.login().await;
    app.hello(&access).await;
    app.hello("not-a-token").await;
    let rotated = app.refresh(&refresh).await;
    app.obtain("vitor", "a-wrong-password").await;
    let pasted = Request::builder()
        .uri(format!("/hello/?token={access}"))
        .header("x-request-id", "trace-me")
        .body(Body::empty())
        .unwrap();
    app.send(pasted).await;
    let request = Request::builder()
        .uri("/api/me/")
        .header(
            header::AUTHORIZATION,
            format!("Bearer {}", rotated.field("access")),
        )
        .body(Body::empty())
        .unwrap();
    app.send(request).await;
    app.blacklist(&rotated.field("refresh")).await;

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    // The access line of the request with the pasted token: the request as the span it would
    // be, its path without the query.
    let access_line = logs
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .find(|line| line["target"] == "access" && line["span"]["request_id"] == "trace-me")
        .unwrap_or_else(|| panic!("no access line for trace-me:\n{logs}"));
    let span = serde_json::json!({
        "method": "GET", "path": "/hello/", "request_id": "trace-me", "name": "request",
    });
    assert_eq!(access_line["span"], span, "{access_line}");
    assert_eq!(
        access_line["spans"],
        serde_json::json!([span]),
        "{access_line}"
    );
    assert_eq!(
        access_line["fields"]["message"], "GET /hello/ 401",
        "{access_line}"
    );
    for secret in [
        refresh.as_str(),
        access.as_str(),
        &rotated.field("access"),
        &rotated.field("refresh"),
        "a-wrong-password",
        "\"123\"",
    ] {
        // Any one segment of a token would do: its payload or its signature.
        for piece in secret.split('.').filter(|p| p.len() > 8) {
            assert!(!logs.contains(piece), "{piece} was logged:\n{logs}");
        }
    }
}
