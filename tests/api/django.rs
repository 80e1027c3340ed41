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
    import(app, django_users(DJANGO_HASH), &[blacklisted_jti]).await;
}

fn django_users(alices_hash: &str) -> Vec<DjangoUser> {
    let user = |id, name: &str, hash: &str| DjangoUser {
        id,
        username: name.into(),
        email: format!("{name}@example.com"),
        password: hash.into(),
        is_active: true,
        date_joined: NOW - 86_400,
        last_login: None,
    };
    vec![
        user(10, "alice", alices_hash),
        user(12, "carol", DJANGO_HASH),
    ]
}

async fn import(app: &TestApp, users: Vec<DjangoUser>, blacklisted: &[&str]) {
    let snapshot = DjangoSnapshot {
        users,
        blacklisted: blacklisted
            .iter()
            .map(|jti| DjangoBlacklistedToken {
                jti: (*jti).into(),
                user_id: Some(10),
                expires_at: NOW + 3600,
                blacklisted_at: NOW - 60,
            })
            .collect(),
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
    moved_from_django(&app, &"0".repeat(32)).await;
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

/// `import-django` as an operator runs it, on a Django SQLite database with a custom user model
/// (`AUTH_USER_MODEL = "accounts.User"`) and without simplejwt's blacklist app; the tables are
/// laid out as Django 5.2's migrations make them.
#[tokio::test]
async fn the_command_imports_a_custom_user_table_and_says_what_it_did() {
    use sqlx::Connection;
    let dir = tempfile::tempdir().unwrap();
    let django = dir.path().join("django.sqlite3");
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&django)
        .create_if_missing(true);
    let mut db = sqlx::SqliteConnection::connect_with(&options)
        .await
        .unwrap();
    for statement in [
        r#"CREATE TABLE "accounts_user" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT,
           "password" varchar(128) NOT NULL, "last_login" datetime NULL,
           "is_superuser" bool NOT NULL, "username" varchar(150) NOT NULL UNIQUE,
           "first_name" varchar(150) NOT NULL, "last_name" varchar(150) NOT NULL,
           "email" varchar(254) NOT NULL, "is_staff" bool NOT NULL, "is_active" bool NOT NULL,
           "date_joined" datetime NOT NULL)"#,
        r#"INSERT INTO accounts_user VALUES
           (1, 'PASSWORD', '2026-12-04 09:30:00.250000', 0, 'alice', '', '', 'a@example.com',
            0, 1, '2026-11-30 08:00:00.000001'),
           (2, 'md5$seasalt$37da67e81000a61f0698842990646bdd', NULL, 0, 'bob', '', '', '',
            0, 1, '2026-11-30 08:00:00')"#,
        // Users #3 to #9 were deleted at Django.
        "UPDATE sqlite_sequence SET seq = 9 WHERE name = 'accounts_user'",
    ] {
        let statement = statement.replace("PASSWORD", DJANGO_HASH);
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
            .execute(&mut db)
            .await
            .unwrap();
    }
    db.close().await.unwrap();
    let ours = dir.path().join("ours");
    let from = format!("sqlite://{}", django.display());
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_jwt-workbook"))
            .arg("--data-dir")
            .arg(&ours)
            .arg("import-django")
            .args(args)
            .env_remove("DATABASE_URL")
            .output()
            .unwrap()
    };
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();

    let before = std::fs::read(&django).unwrap();
    let imported = run(&["--from", &from, "--user-table", "accounts_user"]);
    assert_eq!(
        std::fs::read(&django).unwrap(),
        before,
        "Django's file is left as it was"
    );
    let report = text(&imported.stdout);
    assert!(
        imported.status.success(),
        "{report}{}",
        text(&imported.stderr)
    );
    for line in [
        "Django: 2 user(s), highest id ever given 9; 0 blacklisted and 0 live refresh token(s)",
        "(no token_blacklist tables: simplejwt's blacklist app is not installed)",
        "users: 2 to create, 0 to update",
        r#"  #2 "bob": a "md5" hash, which this server does not check"#,
        "the next user created here gets id 10",
    ] {
        assert!(report.contains(line), "{line:?} missing from:\n{report}");
    }
    let store = jwt_workbook::store::SqliteStore::open(&ours.join("workbook.sqlite3"))
        .await
        .unwrap();
    let alice = store.find_by_id(1).await.unwrap().unwrap();
    assert_eq!(
        alice.date_joined, 1_796_025_600,
        "2026-11-30 08:00:00 UTC, to the second"
    );
    assert_eq!(alice.password_hash, DJANGO_HASH);
    let records = store.import_records().await.unwrap();
    assert_eq!(records[0].last_login, Some(1_796_376_600));
    let bob = store.find_by_id(2).await.unwrap().unwrap();
    assert_eq!(bob.password_hash, "!django-md5-not-imported");

    let missing = run(&["--from", "sqlite:///nowhere/db.sqlite3"]);
    assert!(!missing.status.success());
    assert!(
        text(&missing.stderr).contains("there is no SQLite file at /nowhere/db.sqlite3"),
        "{}",
        text(&missing.stderr)
    );
    let injected = run(&["--from", &from, "--user-table", "auth_user; DROP TABLE x"]);
    assert!(!injected.status.success());
    assert!(text(&injected.stderr).contains("use letters, digits and underscores"));
}

#[tokio::test]
async fn a_user_imported_without_a_usable_password_sets_one_with_a_reset_link() {
    let (app, outbox) = crate::links::app_with_outbox().await;
    import(
        &app,
        django_users("!V1fR7tFqKoJzuQ3vJbGoNUJUdO8aQv8Qh4zJkyfW"),
        &[],
    )
    .await;
    assert_eq!(
        app.obtain("alice", DJANGO_PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    app.post_json("/api/password/reset/", json!({"username": "alice"}))
        .await;
    let (token, message) = crate::links::last_link(&outbox);
    assert!(message.starts_with("To: alice@example.com\n"), "{message}");
    let reset = app
        .post_json(
            "/api/password/reset/confirm/",
            json!({"token": token, "new_password": "a-new-one"}),
        )
        .await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.text());
    assert_eq!(
        app.obtain("alice", "a-new-one").await.status,
        StatusCode::OK
    );
}

/// simplejwt does not revoke a user's tokens when the password changes at Django, and neither
/// does the import that brings the new password: they live on as they did there.
#[tokio::test]
async fn a_password_changed_at_django_arrives_and_leaves_the_tokens_as_django_did() {
    let app = TestApp::new().await;
    moved_from_django(&app, &"0".repeat(32)).await;
    let access = app.forge(&app.claims("access", json!(10)));
    let changed_at_django = "pbkdf2_sha1$1000$abcdefghijklmnopqrstuv$2qmQhLj39jEswse1qNpOBSoLC2s=";
    import(&app, django_users(changed_at_django), &[]).await;
    assert_eq!(
        app.store
            .find_by_id(10)
            .await
            .unwrap()
            .unwrap()
            .password_hash,
        changed_at_django
    );
    app.state.sessions.sync_revocations().await.unwrap();
    assert_eq!(app.me(&access).await.status, StatusCode::OK);
}
