//! `POST /api/token/`: what a successful login issues, and that every failure looks the same.

use serde_json::json;

use super::helpers::{NOW, TestApp, payload};

#[tokio::test]
async fn login_issues_simplejwt_shaped_tokens() {
    let app = TestApp::new().await;
    let (refresh, access) = app.login().await;
    insta::assert_json_snapshot!("login_refresh_claims", payload(&refresh));
    insta::assert_json_snapshot!("login_access_claims", payload(&access));
    // The header is byte for byte PyJWT's.
    for token in [&refresh, &access] {
        assert!(token.starts_with("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."));
    }
}

#[tokio::test]
async fn login_tokens_share_iat_and_differ_in_jti() {
    let app = TestApp::new().await;
    let (refresh, access) = app.login().await;
    let (refresh, access) = (payload(&refresh), payload(&access));
    assert_eq!(refresh["iat"], NOW);
    assert_eq!(access["iat"], NOW);
    assert_eq!(access["exp"], NOW + 300);
    assert_eq!(refresh["exp"], NOW + 86_400);
    assert_ne!(refresh["jti"], access["jti"]);
}

#[tokio::test]
async fn every_kind_of_bad_credentials_gets_the_same_answer() {
    let app = TestApp::new().await;
    let answers: Vec<_> = [
        ("vitor", "nope"),
        ("nobody", "123"),
        ("VITOR", "123"),
        ("inactive", "123"),
    ]
    .into_iter()
    .map(|(u, p)| app.obtain(u, p))
    .collect();
    let mut seen = Vec::new();
    for answer in answers {
        let answer = answer.await;
        assert_eq!(answer.status, 401);
        seen.push(answer.text());
    }
    seen.dedup();
    assert_eq!(
        seen,
        [r#"{"detail":"No active account found with the given credentials"}"#]
    );
}

#[tokio::test]
async fn whitespace_around_fields_is_trimmed_like_drf() {
    let app = TestApp::new().await;
    let answer = app
        .post_json(
            "/api/token/",
            json!({"username": " vitor ", "password": "123 "}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
}

#[tokio::test]
async fn a_file_upload_is_not_a_password() {
    let app = TestApp::new().await;
    let body = "--B\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nvitor\r\n--B\r\n\
                Content-Disposition: form-data; name=\"password\"; filename=\"p.txt\"\r\n\r\n123\r\n--B--\r\n";
    let answer = app
        .post_raw("/api/token/", "multipart/form-data; boundary=B", body)
        .await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.text(), r#"{"password":["Not a valid string."]}"#);
}

#[tokio::test]
async fn token_responses_are_never_cached() {
    let app = TestApp::new().await;
    let answer = app.obtain("vitor", "123").await;
    assert_eq!(answer.header("cache-control"), Some("no-store"));
}
