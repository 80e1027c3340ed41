//! Sessions (token families) beyond simplejwt: reuse of a rotated refresh token revokes the
//! family; logout ends the session's access tokens too; "log out everywhere" and a password
//! change revoke everything; sessions have an absolute cap; and another instance sharing the
//! database learns each revocation at its next sync.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use jwt_workbook::app::{self, Settings};
use jwt_workbook::store::SqliteStore;
use jwt_workbook::tokens::{Key, KeySet, SequentialJti, TokenSettings, TokenStore};
use jwt_workbook::users::PasswordCost;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::helpers::{DATABASE, KEY, NOW, TestApp, TestResponse, payload};

const BLACKLISTED: &str = r#"{"detail":"Token is blacklisted","code":"token_not_valid"}"#;

async fn post_with_token(app: &TestApp, path: &str, access: &str, body: Value) -> TestResponse {
    let request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {access}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    app.send(request).await
}

fn assert_access_revoked(response: &TestResponse) {
    assert_eq!(
        response.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        response.text()
    );
    assert_eq!(
        response.json()["messages"][0]["message"],
        "Token is blacklisted",
        "{}",
        response.text()
    );
}

#[tokio::test]
async fn every_token_of_a_session_shares_the_first_half_of_its_jti() {
    let app = TestApp::new().await;
    let (refresh, access) = app.login().await;
    let rotated = app.refresh(&refresh).await;
    let (second_refresh, _) = app.login().await;
    let jti = |token: &str| payload(token)["jti"].as_str().unwrap().to_owned();
    let session = &jti(&refresh)[..16];
    assert_eq!(&jti(&access)[..16], session);
    assert_eq!(&jti(&rotated.field("refresh"))[..16], session);
    assert_eq!(&jti(&rotated.field("access"))[..16], session);
    assert_ne!(&jti(&second_refresh)[..16], session);
    // Still simplejwt's shape: 32 lowercase hex digits.
    assert!(jti(&refresh).len() == 32 && jti(&refresh).bytes().all(|b| b.is_ascii_hexdigit()));
}

/// RFC 9700 §4.14.2: a rotated-away refresh token coming back means it was copied. Whoever
/// holds the newest one (the user or the thief) loses it too.
#[tokio::test]
async fn reusing_a_rotated_refresh_token_revokes_its_whole_family() {
    let app = TestApp::new().await;
    let (other_refresh, other_access) = app.login().await;
    let (stolen, _) = app.login().await;
    let rotated = app.refresh(&stolen).await;
    assert_eq!(rotated.status, StatusCode::OK);
    let (newest_refresh, newest_access) = (rotated.field("refresh"), rotated.field("access"));
    assert_eq!(app.hello(&newest_access).await.status, StatusCode::OK);

    let replay = app.refresh(&stolen).await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);
    assert_eq!(replay.text(), BLACKLISTED);

    assert_eq!(app.refresh(&newest_refresh).await.text(), BLACKLISTED);
    assert_access_revoked(&app.hello(&newest_access).await);
    assert_eq!(
        app.verify(&newest_access).await.json(),
        json!({"non_field_errors": ["Token is blacklisted"]})
    );
    // Another session of the same user is not touched.
    assert_eq!(app.hello(&other_access).await.status, StatusCode::OK);
    assert_eq!(app.refresh(&other_refresh).await.status, StatusCode::OK);
}

#[tokio::test]
async fn logout_ends_the_access_tokens_of_its_session_only() {
    let app = TestApp::new().await;
    let (refresh, access) = app.login().await;
    let (_, other_access) = app.login().await;
    assert_eq!(app.blacklist(&refresh).await.status, StatusCode::OK);
    assert_access_revoked(&app.hello(&access).await);
    assert_eq!(app.hello(&other_access).await.status, StatusCode::OK);
    // Logging out twice says so, as simplejwt does.
    assert_eq!(app.blacklist(&refresh).await.text(), BLACKLISTED);
}

#[tokio::test]
async fn logging_out_everywhere_revokes_every_session_but_not_the_next_login() {
    let app = TestApp::new().await;
    let (refresh_a, access_a) = app.login().await;
    let (refresh_b, access_b) = app.login().await;
    let answer = post_with_token(&app, "/api/token/logout-all/", &access_a, json!({})).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_eq!(answer.json(), json!({}));
    assert_eq!(answer.header("cache-control"), Some("no-store"));

    for access in [&access_a, &access_b] {
        assert_access_revoked(&app.hello(access).await);
    }
    for refresh in [&refresh_a, &refresh_b] {
        assert_eq!(app.refresh(refresh).await.text(), BLACKLISTED);
    }
    // A login in the very same second is a new session, after the revocation.
    let (refresh, access) = app.login().await;
    assert_eq!(app.hello(&access).await.status, StatusCode::OK);
    assert_eq!(app.refresh(&refresh).await.status, StatusCode::OK);

    let anonymous = app.post_json("/api/token/logout-all/", json!({})).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        anonymous.header("www-authenticate"),
        Some(r#"Bearer realm="api""#)
    );
}

#[tokio::test]
async fn changing_the_password_revokes_every_token_and_hands_out_a_new_pair() {
    let app = TestApp::new().await;
    let (old_refresh, old_access) = app.login().await;
    let (_, elsewhere) = app.login().await;
    let change = |old: &str, new: &str| json!({"old_password": old, "new_password": new});

    let wrong = post_with_token(
        &app,
        "/api/password/change/",
        &old_access,
        change("nope", "n3w"),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert_eq!(wrong.json(), json!({"old_password": ["Wrong password."]}));
    let missing = post_with_token(&app, "/api/password/change/", &old_access, json!({})).await;
    assert_eq!(
        missing.json(),
        json!({"old_password": ["This field is required."], "new_password": ["This field is required."]})
    );
    assert_eq!(
        app.hello(&old_access).await.status,
        StatusCode::OK,
        "a refused change revokes nothing"
    );

    let changed = post_with_token(
        &app,
        "/api/password/change/",
        &old_access,
        change("123", "n3w-pass"),
    )
    .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text());
    for access in [&old_access, &elsewhere] {
        assert_access_revoked(&app.hello(access).await);
    }
    assert_eq!(app.refresh(&old_refresh).await.text(), BLACKLISTED);
    assert_eq!(
        app.hello(&changed.field("access")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.obtain("vitor", "123").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.obtain("vitor", "n3w-pass").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_session_ends_at_its_absolute_cap_however_often_it_is_refreshed() {
    let settings = TokenSettings {
        refresh_lifetime: 1800,
        session_lifetime: 3600,
        ..TokenSettings::default()
    };
    let app = TestApp::with_settings(settings).await;
    let (mut refresh, _) = app.login().await;
    for _ in 0..2 {
        app.clock.advance(1500);
        let rotated = app.refresh(&refresh).await;
        assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text());
        refresh = rotated.field("refresh");
    }
    // Refreshed at NOW + 3000: a full lifetime would reach NOW + 4800, the cap stops it at 3600.
    assert_eq!(payload(&refresh)["exp"], NOW + 3600);
    // Near the cap, even the access token is cut short.
    app.clock.set(NOW + 3500);
    let last = app.refresh(&refresh).await;
    assert_eq!(payload(&last.field("access"))["exp"], NOW + 3600);
    refresh = last.field("refresh");
    app.clock.set(NOW + 3600);
    let expired = app.refresh(&refresh).await;
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
}

/// Two instances on one database: a logout on one reaches the other at its next sync (the
/// server runs one every `--revocation-poll`); no request of the other queries the database.
#[tokio::test]
async fn another_instance_learns_a_logout_at_its_next_sync() {
    let first = TestApp::new().await;
    let store = SqliteStore::open(&first.data.path().join(DATABASE))
        .await
        .unwrap();
    let clock = first.clock.clone();
    let mut settings = Settings::new(KeySet::single(Key::hs256(KEY)));
    settings.password_cost = PasswordCost::INSECURE_FOR_TESTS;
    let second = app::build(
        settings,
        Arc::new(store),
        Arc::new(clock.clone()),
        Arc::new(SequentialJti::default()),
    )
    .unwrap();
    let second_router = app::router(second.clone(), None);
    let hello_on_second = |access: String| {
        let router = second_router.clone();
        async move {
            let request = Request::builder()
                .uri("/hello/")
                .header(header::AUTHORIZATION, format!("Bearer {access}"))
                .body(Body::empty())
                .unwrap();
            router.oneshot(request).await.unwrap().status()
        }
    };

    let (refresh, access) = first.login().await;
    assert_eq!(hello_on_second(access.clone()).await, StatusCode::OK);
    assert_eq!(first.blacklist(&refresh).await.status, StatusCode::OK);
    assert_eq!(
        hello_on_second(access.clone()).await,
        StatusCode::OK,
        "not yet synced: the window --revocation-poll bounds"
    );
    second.sessions.sync_revocations().await.unwrap();
    assert_eq!(
        hello_on_second(access.clone()).await,
        StatusCode::UNAUTHORIZED
    );
    // The refresh token is refused by the other instance at once: that check reads the database.
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/token/refresh/")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({ "refresh": refresh }).to_string()))
        .unwrap();
    let answer = second_router.clone().oneshot(request).await.unwrap();
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn expired_revocations_are_forgotten_in_memory_and_on_disk() {
    let app = TestApp::new().await;
    let (refresh, _) = app.login().await;
    app.blacklist(&refresh).await;
    assert_eq!(app.state.sessions.revocations_in_memory(), (1, 0));
    let month = TokenSettings::default().session_lifetime;
    app.clock.set(NOW + month + 1);
    app.state.sessions.sync_revocations().await.unwrap();
    assert_eq!(app.state.sessions.revocations_in_memory(), (0, 0));
    let deleted = app.store.delete_expired(NOW + month + 1).await.unwrap();
    assert_eq!(
        deleted, 3,
        "the blacklisted jti, the session and its published revocation"
    );
}
