//! Password-reset and email-verification links: mailed to the outbox, single use (bound to the
//! state they change), of their own type, audience and key, and silent about who has an account.

use axum::http::StatusCode;
use jwt_workbook::mail::Outbox;
use serde_json::json;

use crate::helpers::{TestApp, TestResponse};

const SENT: &str = "If the account exists, a reset link has been sent.";
const REFUSED: &str = "This link is invalid, has expired or has already been used.";

pub(crate) async fn app_with_outbox() -> (TestApp, Outbox) {
    let app = TestApp::configured_in(|app, data| {
        app.mail_outbox = Some(data.join("outbox"));
        app.public_url = "https://api.example.com".into();
    })
    .await;
    let outbox = Outbox::at(app.data.path().join("outbox"));
    app.state
        .users
        .set_email(app.vitor.id, "vitor@example.com")
        .await
        .unwrap();
    (app, outbox)
}

/// The token in the newest message, and the message.
pub(crate) fn last_link(outbox: &Outbox) -> (String, String) {
    let newest = outbox.messages().unwrap().pop().expect("a message");
    let text = std::fs::read_to_string(newest).unwrap();
    let token = text
        .split("\"token\": \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a token in the message")
        .to_owned();
    (token, text)
}

async fn confirm(app: &TestApp, token: &str, password: &str) -> TestResponse {
    app.post_json(
        "/api/password/reset/confirm/",
        json!({"token": token, "new_password": password}),
    )
    .await
}

#[tokio::test]
async fn a_reset_link_sets_a_new_password_once_and_ends_every_session() {
    let (app, outbox) = app_with_outbox().await;
    let (refresh, access) = app.login().await;
    let asked = app
        .post_json("/api/password/reset/", json!({"username": "vitor"}))
        .await;
    assert_eq!(
        (asked.status, asked.json()),
        (StatusCode::OK, json!({"detail": SENT}))
    );
    let (token, message) = last_link(&outbox);
    assert!(message.starts_with("To: vitor@example.com\nSubject: Reset your password\n"));
    assert!(message.contains("https://api.example.com/api/password/reset/confirm/"));

    let reset = confirm(&app, &token, "n3w-password").await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.text());
    assert_eq!(
        app.obtain("vitor", "n3w-password").await.status,
        StatusCode::OK
    );
    assert_eq!(app.hello(&access).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.refresh(&refresh).await.status, StatusCode::UNAUTHORIZED);

    // The same link again: the password it was bound to is gone.
    let again = confirm(&app, &token, "an0ther").await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert_eq!(again.json(), json!({"token": [REFUSED]}));
}

#[tokio::test]
async fn an_older_link_dies_when_the_password_changes_another_way() {
    let (app, outbox) = app_with_outbox().await;
    app.post_json("/api/password/reset/", json!({"username": "vitor"}))
        .await;
    let (first, _) = last_link(&outbox);
    app.post_json("/api/password/reset/", json!({"username": "vitor"}))
        .await;
    let (second, _) = last_link(&outbox);
    assert_eq!(
        confirm(&app, &second, "n3w-password").await.status,
        StatusCode::OK
    );
    assert_eq!(
        confirm(&app, &first, "attacker").await.json(),
        json!({"token": [REFUSED]})
    );
    app.clock.advance(30 * 60);
    app.post_json("/api/password/reset/", json!({"username": "vitor"}))
        .await;
    let (late, _) = last_link(&outbox);
    app.clock.advance(30 * 60);
    assert_eq!(
        confirm(&app, &late, "too-late").await.json(),
        json!({"token": [REFUSED]})
    );
}

#[tokio::test]
async fn nobody_learns_who_has_an_account() {
    let (app, outbox) = app_with_outbox().await;
    for username in ["nobody", "inactive"] {
        let answer = app
            .post_json("/api/password/reset/", json!({"username": username}))
            .await;
        assert_eq!(
            (answer.status, answer.json()),
            (StatusCode::OK, json!({"detail": SENT}))
        );
    }
    assert!(
        outbox.messages().unwrap().is_empty(),
        "nothing mailed for them"
    );
    // And the endpoint cannot be used to flood a mailbox: five requests, then a pause.
    for _ in 0..5 {
        app.post_json("/api/password/reset/", json!({"username": "vitor"}))
            .await;
    }
    let flood = app
        .post_json("/api/password/reset/", json!({"username": "vitor"}))
        .await;
    assert_eq!(flood.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn link_tokens_and_access_tokens_never_pass_for_each_other() {
    let (app, outbox) = app_with_outbox().await;
    app.post_json("/api/password/reset/", json!({"username": "vitor"}))
        .await;
    let (reset, _) = last_link(&outbox);
    assert_eq!(app.hello(&reset).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.verify(&reset).await.status, StatusCode::UNAUTHORIZED);
    let (refresh, access) = app.login().await;
    for token in [&access, &refresh] {
        assert_eq!(
            confirm(&app, token, "pwned").await.json(),
            json!({"token": [REFUSED]})
        );
    }
    // A reset token is not a verification token either.
    let verify = app
        .post_json("/api/email/verify/", json!({"token": reset}))
        .await;
    assert_eq!(verify.json(), json!({"token": [REFUSED]}));
}

#[tokio::test]
async fn an_address_is_verified_once_by_the_link_sent_to_it() {
    let (app, outbox) = app_with_outbox().await;
    let (_, access) = app.login().await;
    let set = |email: &'static str| {
        let app = &app;
        let access = access.clone();
        async move {
            let request = axum::http::Request::builder()
                .method("POST")
                .uri("/api/email/")
                .header("authorization", format!("Bearer {access}"))
                .header("content-type", "application/json")
                .body(axum::body::Body::from(
                    json!({ "email": email }).to_string(),
                ))
                .unwrap();
            app.send(request).await
        }
    };
    assert_eq!(
        set("not an address").await.json(),
        json!({"email": ["Enter a valid email address."]})
    );
    assert_eq!(set("vitor@new.example").await.status, StatusCode::OK);
    let (token, message) = last_link(&outbox);
    assert!(message.starts_with("To: vitor@new.example\n"));
    let verified = app
        .post_json("/api/email/verify/", json!({"token": token}))
        .await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.text());
    let me = app.me(&access).await.json();
    assert_eq!(
        (me["email"].clone(), me["email_verified"].clone()),
        (json!("vitor@new.example"), json!(true))
    );
    let again = app
        .post_json("/api/email/verify/", json!({"token": token}))
        .await;
    assert_eq!(again.json(), json!({"token": [REFUSED]}));

    // A link for an address that has since been replaced is refused.
    set("first@example.com").await;
    let (old, _) = last_link(&outbox);
    set("second@example.com").await;
    let stale = app
        .post_json("/api/email/verify/", json!({"token": old}))
        .await;
    assert_eq!(stale.json(), json!({"token": [REFUSED]}));
}
