//! Whatever a client sends, the answer is a 4xx with a JSON body: never a 500, a panic or a hang.

use axum::body::Body;
use axum::http::{Method, Request};
use serde_json::json;

use super::helpers::TestApp;

#[tokio::test]
async fn a_body_over_the_limit_is_refused_with_413() {
    let app = TestApp::new().await;
    let huge = json!({"username": "x".repeat(100_000), "password": "p"}).to_string();
    let answer = app.post_raw("/api/token/", "application/json", huge).await;
    assert_eq!(answer.status, 413);
    assert_eq!(answer.text(), r#"{"detail":"Request body is too large."}"#);
}

#[tokio::test]
async fn malformed_bodies_of_every_media_type_get_a_4xx_json_answer() {
    let app = TestApp::new().await;
    let bodies: [(&str, &[u8]); 12] = [
        ("application/json", b"\xff\xfe"),
        ("application/json", b"{\"refresh\": \"\xff\"}"),
        ("application/json", b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["),
        ("application/json", b"{\"refresh\": 1e999999}"),
        ("application/json", b"\"just a string\""),
        ("application/x-www-form-urlencoded", b"refresh=%ZZ%"),
        ("application/x-www-form-urlencoded", b"\xff=\xff"),
        ("multipart/form-data", b"--x\r\n"),
        ("multipart/form-data; boundary=x", b"garbage"),
        ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data; name=\"refresh\"\r\n\r\n"),
        ("application/json; charset=latin-1", b"{}"),
        ("text/html", b"<html>"),
    ];
    for path in [
        "/api/token/",
        "/api/token/refresh/",
        "/api/token/verify/",
        "/api/token/blacklist/",
    ] {
        for (content_type, body) in bodies {
            let answer = app.post_raw(path, content_type, body.to_vec()).await;
            let status = answer.status.as_u16();
            assert!(
                (400..500).contains(&status),
                "{path} {content_type} {body:?}: {status}"
            );
            assert!(
                answer.json().is_object(),
                "{path} {content_type}: {}",
                answer.text()
            );
        }
    }
}

#[tokio::test]
async fn hostile_authorization_headers_are_refused_cleanly() {
    let app = TestApp::new().await;
    let long = format!("Bearer {}", "a".repeat(60_000));
    let headers: [&[u8]; 7] = [
        b"Bearer \xff\xfe\xfd",
        b"Bearer ....",
        b"Bearer eyJ.eyJ.eyJ",
        b"Bearer a.b.c.d.e",
        b"Bearer \t tok",
        b"Bearer",
        long.as_bytes(),
    ];
    for header in headers {
        let request = Request::builder()
            .method(Method::GET)
            .uri("/hello/")
            .header("authorization", header)
            .body(Body::empty())
            .unwrap();
        let answer = app.send(request).await;
        assert_eq!(answer.status, 401, "{header:?}: {}", answer.text());
        assert!(answer.json().is_object());
    }
}

#[tokio::test]
async fn unknown_paths_and_query_strings_are_handled() {
    let app = TestApp::new().await;
    let request = |uri: &str| Request::builder().uri(uri).body(Body::empty()).unwrap();
    let answer = app.send(request("/api/token?next=/x")).await;
    assert_eq!(answer.status, 301);
    assert_eq!(answer.header("location"), Some("/api/token/?next=/x"));
    let answer = app.send(request("/api/../etc/passwd")).await;
    assert_eq!(answer.status, 404);
    assert_eq!(answer.text(), r#"{"detail":"Not found."}"#);
}
