//! Refresh with rotation, the blacklist, and the race between two uses of one refresh token.

use std::sync::Arc;

use jwt_workbook::store::SqliteStore;
use jwt_workbook::tokens::TokenStore;
use serde_json::json;

use super::helpers::{DATABASE, NOW, TestApp, payload};

#[tokio::test]
async fn refresh_rotates_and_the_new_refresh_token_works() {
    let app = TestApp::new().await;
    let (refresh, _) = app.login().await;
    app.clock.advance(60);
    let rotated = app.refresh(&refresh).await;
    assert_eq!(rotated.status, 200, "{}", rotated.text());
    let new_refresh = rotated.field("refresh");
    insta::assert_json_snapshot!("rotated_refresh_claims", payload(&new_refresh));
    insta::assert_json_snapshot!("rotated_access_claims", payload(&rotated.field("access")));
    assert_eq!(app.hello(&rotated.field("access")).await.status, 200);
    assert_eq!(app.refresh(&new_refresh).await.status, 200);
}

#[tokio::test]
async fn refresh_with_a_rotated_away_token_is_rejected() {
    let app = TestApp::new().await;
    let (refresh, _) = app.login().await;
    assert_eq!(app.refresh(&refresh).await.status, 200);
    let reuse = app.refresh(&refresh).await;
    assert_eq!(reuse.status, 401);
    assert_eq!(
        reuse.text(),
        r#"{"detail":"Token is blacklisted","code":"token_not_valid"}"#
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refreshes_of_one_token_let_exactly_one_through() {
    let app = Arc::new(TestApp::new().await);
    let (refresh, _) = app.login().await;
    let attempts: Vec<_> = (0..32)
        .map(|_| {
            let (app, refresh) = (app.clone(), refresh.clone());
            tokio::spawn(async move { app.refresh(&refresh).await })
        })
        .collect();
    let mut statuses = Vec::new();
    for attempt in attempts {
        let answer = attempt.await.unwrap();
        if answer.status != 200 {
            assert_eq!(
                answer.text(),
                r#"{"detail":"Token is blacklisted","code":"token_not_valid"}"#
            );
        }
        statuses.push(answer.status.as_u16());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        31,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn a_refresh_token_expires_after_its_lifetime() {
    let app = TestApp::new().await;
    let (refresh, _) = app.login().await;
    app.clock.advance(86_399);
    assert_eq!(app.verify(&refresh).await.status, 200);
    app.clock.advance(1);
    let expired = app.refresh(&refresh).await;
    assert_eq!(
        expired.text(),
        r#"{"detail":"Token is expired","code":"token_not_valid"}"#
    );
}

#[tokio::test]
async fn custom_claims_of_the_refresh_token_reach_the_new_access_token() {
    let app = TestApp::new().await;
    let mut claims = app.claims("refresh", json!(app.vitor.id.to_string()));
    claims["role"] = json!("admin");
    let rotated = app.refresh(&app.forge(&claims)).await;
    assert_eq!(rotated.status, 200);
    assert_eq!(payload(&rotated.field("access"))["role"], "admin");
    assert_eq!(payload(&rotated.field("refresh"))["role"], "admin");
}

#[tokio::test]
async fn refresh_for_a_deactivated_user_is_refused_without_consuming_the_token() {
    let app = TestApp::new().await;
    let (refresh, _) = app.login().await;
    app.state.users.set_active("vitor", false).await.unwrap();
    let refused = app.refresh(&refresh).await;
    assert_eq!(
        refused.text(),
        r#"{"detail":"No active account found for the given token."}"#
    );
    app.state.users.set_active("vitor", true).await.unwrap();
    assert_eq!(app.refresh(&refresh).await.status, 200);
}

#[tokio::test]
async fn logout_is_durable_and_seen_by_a_second_process() {
    let app = TestApp::new().await;
    let (refresh, _) = app.login().await;
    assert_eq!(app.blacklist(&refresh).await.status, 200);
    // Another process opening the same file (another instance, or the server after a restart).
    let other = SqliteStore::open(&app.data.path().join(DATABASE))
        .await
        .unwrap();
    let jti = payload(&refresh)["jti"].as_str().unwrap().to_owned();
    assert!(other.is_blacklisted(&jti).await.unwrap());
}

#[tokio::test]
async fn expired_revocations_can_be_cleaned_up() {
    let app = TestApp::new().await;
    let (refresh, _) = app.login().await;
    assert_eq!(app.blacklist(&refresh).await.status, 200);
    let store = &app.store;
    assert_eq!(
        store.delete_expired(NOW + 86_400).await.unwrap(),
        0,
        "still needed at its exp"
    );
    assert_eq!(store.delete_expired(NOW + 86_401).await.unwrap(), 1);
    // Once expired, the token is refused for its exp even though its row is gone.
    app.clock.set(NOW + 86_401);
    assert_eq!(app.refresh(&refresh).await.status, 401);
}
