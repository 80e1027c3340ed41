//! A service moved from Django with `import-django`: its users log in with the hashes Django
//! made (which then become ours), its blacklisted refresh tokens stay refused, its live ones
//! rotate here, and no token of a deleted Django user names anyone. (`tests/django.rs` proves the
//! same against a real Django; this runs in every `cargo test`.)

use std::collections::HashSet;

use axum::http::StatusCode;
use jwt_workbook::users::hashes::{self, Work};
use jwt_workbook::users::import::ImportStore;
use jwt_workbook::users::import::{DjangoBlacklistedToken, DjangoSnapshot, DjangoUser, plan};
use jwt_workbook::users::{Passwords, UserStore, create_user};
use serde_json::json;

use crate::helpers::{NOW, TestApp};

/// Made by Django 5.2's `PBKDF2PasswordHasher` with `iterations = 1000`.
const DJANGO_HASH: &str =
    "pbkdf2_sha256$1000$abcdefghijklmnopqrstuv$z2/+JYqJwL9fihakRDN/fuurMnDwSnLq9uUgMTUETRc=";
const DJANGO_PASSWORD: &str = "correct horse battery staple ✓";

/// Django's users #10 (alice) and #12 (carol); #11 and #13 were deleted there. simplejwt
/// blacklisted one of alice's refresh tokens.
async fn moved_from_django(app: &TestApp, blacklisted_jti: &str) {
    let user = |id, name: &str| DjangoUser {
        id,
        username: name.into(),
        email: String::new(),
        password: DJANGO_HASH.into(),
        is_active: true,
        date_joined: NOW - 86_400,
        last_login: None,
    };
    let snapshot = DjangoSnapshot {
        users: vec![user(10, "alice"), user(12, "carol")],
        blacklisted: vec![DjangoBlacklistedToken {
            jti: blacklisted_jti.into(),
            user_id: Some(10),
            expires_at: NOW + 3600,
            blacklisted_at: NOW - 60,
        }],
        live_tokens: 1,
        highest_id: 13,
        has_blacklist: true,
    };
    let planned = plan(&app.store, &snapshot, NOW).await.unwrap();
    app.store.apply_import(&planned, NOW).await.unwrap();
}

async fn stored_hash(app: &TestApp) -> String {
    let alice = app.store.find_by_id(10).await.unwrap().unwrap();
    alice.password_hash
}

#[tokio::test]
async fn once_the_accounts_are_counted_a_missing_name_costs_what_one_of_them_costs() {
    let app = TestApp::new().await;
    moved_from_django(&app, &"0".repeat(32)).await;
    // Two accounts with our argon2id (vitor, inactive), two with Django's PBKDF2.
    let ours = hashes::read(&app.vitor.password_hash).work().unwrap();
    let django = hashes::read(DJANGO_HASH).work().unwrap();
    let passwords = &app.state.passwords;
    let names: Vec<String> = (0..64).map(|n| format!("nobody{n}")).collect();
    let drawn = |passwords: &Passwords| -> HashSet<Work> {
        names
            .iter()
            .map(|name| passwords.work_for_missing(name))
            .collect()
    };
    assert_eq!(
        drawn(passwords),
        HashSet::from([ours.clone()]),
        "before counting"
    );
    app.state.sessions.learn_password_mix().await.unwrap();
    assert_eq!(drawn(passwords), HashSet::from([ours, django]));
}

#[tokio::test]
async fn a_django_hash_logs_in_and_is_replaced_by_argon2id() {
    let app = TestApp::new().await;
    moved_from_django(&app, "0".repeat(32).as_str()).await;
    assert_eq!(
        app.obtain("alice", "wrong").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        stored_hash(&app).await,
        DJANGO_HASH,
        "a wrong password upgrades nothing"
    );
    let response = app.obtain("alice", DJANGO_PASSWORD).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert!(stored_hash(&app).await.starts_with("$argon2id$"));
    assert_eq!(
        app.obtain("alice", DJANGO_PASSWORD).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_refresh_token_simplejwt_blacklisted_stays_refused_and_a_live_one_rotates() {
    let app = TestApp::new().await;
    let mut logged_out = app.claims("refresh", json!(10));
    let mut live = app.claims("refresh", json!(10));
    logged_out["jti"] = json!("a".repeat(32));
    live["jti"] = json!("b".repeat(32));
    moved_from_django(&app, &"a".repeat(32)).await;
    let refused = app.refresh(&app.forge(&logged_out)).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused.json()["detail"], "Token is blacklisted");
    let rotated = app.refresh(&app.forge(&live)).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text());
    assert!(rotated.json()["refresh"].is_string());
    let again = app.refresh(&app.forge(&live)).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED, "rotated away here");
    // That reuse revoked the session its first refresh here started: the newer token too.
    let newer = rotated.json()["refresh"].as_str().unwrap().to_owned();
    assert_eq!(app.refresh(&newer).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn no_token_of_a_deleted_django_user_names_anyone_after_new_users_join() {
    let app = TestApp::new().await;
    moved_from_django(&app, &"0".repeat(32)).await;
    let newcomer = create_user(
        &app.store,
        &app.state.passwords,
        "newcomer",
        "password",
        true,
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(newcomer.id, 14, "past #13, the last id Django gave");
    for deleted in [11, 13] {
        let access = app.forge(&app.claims("access", json!(deleted)));
        assert_eq!(app.me(&access).await.status, StatusCode::UNAUTHORIZED);
    }
    let carol = app.forge(&app.claims("access", json!(12)));
    assert_eq!(app.me(&carol).await.json()["username"], "carol");
}
