//! The two stores keep the same promises. Every check here runs against a SQLite file, always,
//! and against a real PostgreSQL when one is given (`.ci/run` starts one): the PostgreSQL runs
//! are `#[ignore]`d so that `cargo test` passes on a machine without it, and `.ci/run` runs
//! them with `--ignored` and `JWT_TEST_POSTGRES_URL` set (they fail loudly without it).

use std::collections::BTreeSet;
use std::sync::Arc;

#[path = "support/postgres.rs"]
mod support;

use jwt_workbook::classroom::{ChapterProgress, ProgressReport};
use jwt_workbook::oidc::{
    AuthorizationCode, BrowserSession, CODE_MEMORY, NewClient, Redemption, hash_of, register_client,
};
use jwt_workbook::store::{Database, PostgresStore, SqliteStore};
use jwt_workbook::tokens::Payload;
use jwt_workbook::tokens::{BlacklistEntry, Revocation, RevocationView, Session, VerifiedToken};
use jwt_workbook::users::import::{
    DjangoBlacklistedToken, DjangoSnapshot, DjangoUser, ImportError, plan,
};
use jwt_workbook::users::{NewUser, UserError};
use support::fresh_postgres_database;

const NOW: i64 = 1_795_358_767;

/// Session ids are the first 16 characters of a jti.
const S1: &str = "1111111111111111";
const S2: &str = "2222222222222222";
const S3: &str = "3333333333333333";

async fn sqlite() -> (tempfile::TempDir, Arc<dyn Database>) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("stores.sqlite3"))
        .await
        .unwrap();
    (dir, Arc::new(store))
}

/// A fresh, empty database on the server `JWT_TEST_POSTGRES_URL` names (its role needs
/// CREATEDB), so tests never see each other's rows.
async fn postgres() -> Arc<dyn Database> {
    Arc::new(
        PostgresStore::connect(&fresh_postgres_database().await)
            .await
            .unwrap(),
    )
}

fn user(name: &str) -> NewUser {
    NewUser {
        username: name.into(),
        password_hash: "$argon2id$fake".into(),
        is_active: true,
        date_joined: NOW,
    }
}

fn entry(jti: &str) -> BlacklistEntry {
    BlacklistEntry {
        jti: jti.into(),
        user_id: Some("1".into()),
        expires_at: NOW + 100,
        blacklisted_at: NOW,
    }
}

fn session(id: &str, user_id: &str) -> Session {
    Session {
        id: id.into(),
        user_id: user_id.into(),
        started_at: NOW,
        expires_at: NOW + 1000,
    }
}

fn token(jti: &str, user_id: &str, iat: i64) -> VerifiedToken {
    VerifiedToken {
        token_type: Some("access".into()),
        exp: NOW + 300,
        issued_at: Some(iat),
        jti: jti.into(),
        user_id: Some(user_id.into()),
        payload: Payload::default(),
    }
}

async fn users_are_unique_and_kept(store: Arc<dyn Database>) {
    let alice = store.create(user("alice")).await.unwrap();
    let bob = store.create(user("bob")).await.unwrap();
    assert_ne!(alice.id, bob.id);
    assert!(matches!(
        store.create(user("alice")).await,
        Err(UserError::AlreadyExists(name)) if name == "alice"
    ));
    assert!(
        store.find_by_username("Alice").await.unwrap().is_none(),
        "case-sensitive"
    );
    store.set_active("bob", false).await.unwrap();
    store
        .set_password_hash("alice", "$argon2id$new")
        .await
        .unwrap();
    let found = store.find_by_id(alice.id).await.unwrap().unwrap();
    assert_eq!(found.password_hash, "$argon2id$new");
    let listed: Vec<(String, bool)> = store
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|u| (u.username, u.is_active))
        .collect();
    assert_eq!(listed, [("alice".into(), true), ("bob".into(), false)]);
    assert!(matches!(
        store.set_active("nobody", true).await,
        Err(UserError::NotFound(_))
    ));
    store.ping().await.unwrap();
}

/// Of many concurrent revocations of one token id, exactly one wins.
async fn a_blacklist_race_has_one_winner(store: Arc<dyn Database>) {
    let attempts: Vec<_> = (0..24)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.blacklist(entry("contested")).await.unwrap() })
        })
        .collect();
    let mut winners = 0;
    for attempt in attempts {
        winners += usize::from(attempt.await.unwrap());
    }
    assert_eq!(winners, 1);
    assert!(store.is_blacklisted("contested").await.unwrap());
    assert!(!store.is_blacklisted("other").await.unwrap());
}

async fn sessions_and_revocations_are_published_in_order(store: Arc<dyn Database>) {
    store.start_session(&session(S1, "1")).await.unwrap();
    store.start_session(&session(S2, "1")).await.unwrap();
    store.start_session(&session(S3, "2")).await.unwrap();
    assert_eq!(
        store.session(S1).await.unwrap(),
        Some((session(S1, "1"), false))
    );
    assert_eq!(store.session("nope").await.unwrap(), None);

    let view = RevocationView::new(store.clone());
    let revocation = Revocation::Session {
        id: S3.into(),
        expires_at: NOW + 1000,
    };
    view.revoke(revocation, NOW).await.unwrap();
    let everything = Revocation::User {
        user_id: "1".into(),
        cutoff: NOW,
        expires_at: NOW + 2000,
    };
    view.revoke(everything, NOW).await.unwrap();
    assert!(
        store.session(S1).await.unwrap().unwrap().1,
        "revoked with its user"
    );
    assert!(store.session(S3).await.unwrap().unwrap().1);

    let feed = store.revocations_since(0).await.unwrap();
    let seqs: Vec<i64> = feed.iter().map(|(seq, _)| *seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert_eq!(
        feed.len(),
        4,
        "s3, then s1 and s2 by name, then the cutoff: {feed:?}"
    );
    assert!(view.is_revoked(&token(&format!("{S1}0000000000000001"), "1", NOW)));
    assert!(
        view.is_revoked(&token("99999999999999990000000000000001", "1", NOW - 1)),
        "older than the cutoff"
    );
    assert!(!view.is_revoked(&token("99999999999999990000000000000001", "1", NOW)));
    assert!(!view.is_revoked(&token("99999999999999990000000000000001", "2", NOW - 1)));

    store.blacklist(entry("old")).await.unwrap();
    let deleted = store.delete_expired(NOW + 5000).await.unwrap();
    assert_eq!(
        deleted,
        1 + 3 + 4,
        "the jti, three sessions, four revocations"
    );
    assert!(store.revocations_since(0).await.unwrap().is_empty());
}

fn report(solved: u32) -> ProgressReport {
    ProgressReport {
        chapters: vec![ChapterProgress {
            chapter: "01-anatomy".into(),
            solved,
            total: 6,
            next_step: (solved < 6).then_some(solved + 1),
            builds: true,
        }],
    }
}

/// A student's latest report is kept (the one before it replaced), by username.
async fn progress_reports_are_kept_latest_first(store: Arc<dyn Database>) {
    let zoe = store.create(user("zoe")).await.unwrap();
    let amy = store.create(user("amy")).await.unwrap();
    assert!(store.all_progress().await.unwrap().is_empty());
    store.save_progress(zoe.id, NOW, &report(2)).await.unwrap();
    store
        .save_progress(amy.id, NOW + 5, &report(6))
        .await
        .unwrap();
    store
        .save_progress(zoe.id, NOW + 60, &report(4))
        .await
        .unwrap();
    let kept: Vec<(String, i64, ProgressReport)> = store
        .all_progress()
        .await
        .unwrap()
        .into_iter()
        .map(|p| (p.username, p.submitted_at, p.report))
        .collect();
    assert_eq!(
        kept,
        [
            ("amy".into(), NOW + 5, report(6)),
            ("zoe".into(), NOW + 60, report(4)),
        ]
    );
}

/// Writers racing each other, and a reader syncing while they write: the reader still ends
/// up with every revocation. With PostgreSQL this needs the feed's lock; without it a later
/// sequence number can become visible first, and the reader would skip the earlier one for good.
async fn a_reader_misses_no_revocation_published_concurrently(stores: [Arc<dyn Database>; 2]) {
    let reader = RevocationView::new(stores[0].clone());
    let writers: Vec<_> = (0..40)
        .map(|i| {
            let store = stores[i % 2].clone();
            tokio::spawn(async move {
                let revocation = Revocation::Session {
                    id: format!("{i:016x}"),
                    expires_at: NOW + 1000,
                };
                store.revoke(revocation, NOW).await.unwrap();
            })
        })
        .collect();
    let syncing = {
        let reader = reader.clone();
        tokio::spawn(async move {
            for _ in 0..40 {
                reader.sync(NOW).await.unwrap();
                tokio::task::yield_now().await;
            }
        })
    };
    for writer in writers {
        writer.await.unwrap();
    }
    syncing.await.unwrap();
    reader.sync(NOW).await.unwrap();
    let missing: BTreeSet<usize> = (0..40)
        .filter(|i| !reader.is_revoked(&token(&format!("{i:016x}0000000000000001"), "9", NOW)))
        .collect();
    assert!(missing.is_empty(), "never learnt of sessions {missing:?}");
}

/// A refresh's one question, answered the same by every store: the token's revocation and its
/// session, in every combination.
async fn a_refresh_learns_the_token_and_its_session_at_once(store: Arc<dyn Database>) {
    assert_eq!(
        store.refresh_state("t1", S1).await.unwrap(),
        (false, None),
        "neither recorded: a simplejwt token"
    );
    store.start_session(&session(S1, "1")).await.unwrap();
    assert_eq!(
        store.refresh_state("t1", S1).await.unwrap(),
        (false, Some((session(S1, "1"), false)))
    );
    assert!(store.blacklist(entry("t1")).await.unwrap());
    assert_eq!(
        store.refresh_state("t1", S1).await.unwrap(),
        (true, Some((session(S1, "1"), false)))
    );
    let revocation = Revocation::Session {
        id: S1.into(),
        expires_at: NOW + 1000,
    };
    store.revoke(revocation, NOW).await.unwrap();
    assert_eq!(
        store.refresh_state("t2", S1).await.unwrap(),
        (false, Some((session(S1, "1"), true)))
    );
    assert_eq!(
        store.refresh_state("t1", "nope").await.unwrap(),
        (true, None)
    );
}

async fn a_logout_revokes_the_token_and_its_session_together(store: Arc<dyn Database>) {
    store.start_session(&session(S1, "1")).await.unwrap();
    let revocation = || Revocation::Session {
        id: S1.into(),
        expires_at: NOW + 1000,
    };
    assert!(store.log_out(entry("t1"), revocation(), NOW).await.unwrap());
    assert_eq!(
        store.refresh_state("t1", S1).await.unwrap(),
        (true, Some((session(S1, "1"), true)))
    );
    let published = store.revocations_since(0).await.unwrap();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].1, revocation());
    // Again: the token was already revoked, so this call did not revoke it.
    assert!(!store.log_out(entry("t1"), revocation(), NOW).await.unwrap());
}

/// A new password and the revocation of the user's tokens are one write: both, or neither when
/// there is no such user.
async fn a_password_change_and_its_revocation_are_one_write(store: Arc<dyn Database>) {
    let alice = store.create(user("alice")).await.unwrap();
    store
        .start_session(&session(S1, &alice.id.to_string()))
        .await
        .unwrap();
    let everything = Revocation::User {
        user_id: alice.id.to_string(),
        cutoff: NOW,
        expires_at: NOW + 1000,
    };
    store
        .set_password_and_revoke("alice", "$argon2id$new", &everything, NOW)
        .await
        .unwrap();
    let changed = store.find_by_username("alice").await.unwrap().unwrap();
    assert_eq!(changed.password_hash, "$argon2id$new");
    assert!(
        store.session(S1).await.unwrap().unwrap().1,
        "its session is revoked"
    );
    let published = store.revocations_since(0).await.unwrap();
    assert!(
        published.iter().any(|(_, r)| r == &everything),
        "{published:?}"
    );

    let before = store.revocations_since(0).await.unwrap().len();
    let nobody = Revocation::User {
        user_id: "999".into(),
        cutoff: NOW,
        expires_at: NOW + 1000,
    };
    assert!(matches!(
        store
            .set_password_and_revoke("nobody", "$argon2id$x", &nobody, NOW)
            .await,
        Err(UserError::NotFound(name)) if name == "nobody"
    ));
    assert_eq!(
        store.revocations_since(0).await.unwrap().len(),
        before,
        "nothing published for a user who is not there"
    );
}

/// The provider's clients come back as registered, and only a hash of the secret is kept.
async fn oidc_clients_are_kept_with_their_exact_uris(store: Arc<dyn Database>) {
    let new = NewClient {
        name: "Notes".into(),
        redirect_uris: vec![
            "http://127.0.0.1:9001/callback".into(),
            "https://notes.example/cb?x=1".into(),
        ],
        post_logout_redirect_uris: vec!["http://127.0.0.1:9001/".into()],
        frontchannel_logout_uri: Some("http://127.0.0.1:9001/logout/frontchannel".into()),
        public: false,
    };
    let (client, secret) = register_client(&*store, new, NOW).await.unwrap();
    let secret = secret.unwrap();
    assert_eq!(
        client.secret_hash.as_deref(),
        Some(hash_of(&secret).as_str())
    );
    assert_eq!(
        store.client(&client.id).await.unwrap(),
        Some(client.clone())
    );
    let (public, none) = register_client(
        &*store,
        NewClient {
            name: "SPA".into(),
            redirect_uris: vec!["http://localhost:5173/".into()],
            public: true,
            ..NewClient::default()
        },
        NOW + 1,
    )
    .await
    .unwrap();
    assert_eq!(none, None);
    assert!(store.client(&public.id).await.unwrap().unwrap().is_public());
    assert_eq!(store.clients().await.unwrap(), vec![client, public]);
    assert_eq!(store.client("nobody").await.unwrap(), None);
}

/// A code is redeemed once: of many concurrent redemptions one wins, and the others learn the
/// token family the winner started, to revoke it.
async fn an_authorization_code_is_redeemed_once(store: Arc<dyn Database>) {
    let alice = store.create(user("alice")).await.unwrap();
    let (client, _) = register_client(
        &*store,
        NewClient {
            name: "Notes".into(),
            redirect_uris: vec!["http://127.0.0.1:9001/cb".into()],
            ..NewClient::default()
        },
        NOW,
    )
    .await
    .unwrap();
    let code = AuthorizationCode {
        id: hash_of("the-code"),
        client_id: client.id.clone(),
        redirect_uri: "http://127.0.0.1:9001/cb".into(),
        user_id: alice.id,
        scope: "openid".into(),
        nonce: Some("n".into()),
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
        auth_time: NOW,
        browser_session: None,
        expires_at: NOW + 60,
    };
    store.save_code(&code).await.unwrap();
    let racers: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            let id = code.id.clone();
            tokio::spawn(async move { store.redeem_code(&id, NOW + 1).await.unwrap() })
        })
        .collect();
    let mut firsts = 0;
    for racer in racers {
        match racer.await.unwrap() {
            Redemption::First(redeemed) => {
                firsts += 1;
                assert_eq!(redeemed, code);
            }
            Redemption::Again { .. } => {}
            Redemption::Unknown => panic!("the code was saved"),
        }
    }
    assert_eq!(firsts, 1);
    store.record_issued_session(&code.id, S1).await.unwrap();
    assert_eq!(
        store.redeem_code(&code.id, NOW + 2).await.unwrap(),
        Redemption::Again {
            issued_session: Some(S1.into())
        }
    );
    assert_eq!(
        store.redeem_code(&hash_of("another"), NOW).await.unwrap(),
        Redemption::Unknown
    );
    // Remembered for a day after it expired, then forgotten.
    assert_eq!(store.delete_expired_oidc(NOW + 61).await.unwrap(), 0);
    assert_eq!(
        store
            .delete_expired_oidc(NOW + 61 + CODE_MEMORY)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store.redeem_code(&code.id, NOW + 3).await.unwrap(),
        Redemption::Unknown
    );
}

/// A browser session at the provider: found by its id, the clients it signed in to and the token
/// families its codes started listed (what its logout reaches), and ended once.
async fn a_browser_session_lists_its_clients_and_ends_once(store: Arc<dyn Database>) {
    let alice = store.create(user("alice")).await.unwrap();
    let register = |name: &'static str| NewClient {
        name: name.into(),
        redirect_uris: vec!["http://127.0.0.1:9001/cb".into()],
        ..NewClient::default()
    };
    let (notes, _) = register_client(&*store, register("Notes"), NOW)
        .await
        .unwrap();
    let (calendar, _) = register_client(&*store, register("Calendar"), NOW)
        .await
        .unwrap();
    let session = BrowserSession {
        id: hash_of("cookie"),
        user_id: alice.id,
        auth_time: NOW,
        expires_at: NOW + 100,
        ended_at: None,
    };
    store.start_browser_session(&session).await.unwrap();
    assert_eq!(
        store.browser_session(&session.id).await.unwrap(),
        Some(session.clone())
    );
    for client in [&notes, &calendar, &notes] {
        store
            .add_session_client(&session.id, &client.id)
            .await
            .unwrap();
    }
    let code = AuthorizationCode {
        id: hash_of("code-in-session"),
        client_id: notes.id.clone(),
        redirect_uri: "http://127.0.0.1:9001/cb".into(),
        user_id: alice.id,
        scope: "openid".into(),
        nonce: None,
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
        auth_time: NOW,
        browser_session: Some(session.id.clone()),
        expires_at: NOW + 60,
    };
    store.save_code(&code).await.unwrap();
    assert!(store.issued_sessions(&session.id).await.unwrap().is_empty());
    store.record_issued_session(&code.id, S2).await.unwrap();
    assert_eq!(
        store.issued_sessions(&session.id).await.unwrap(),
        vec![S2.to_owned()]
    );
    let mut expected = vec![notes.id.clone(), calendar.id.clone()];
    expected.sort();
    assert_eq!(store.session_clients(&session.id).await.unwrap(), expected);
    assert!(
        store
            .end_browser_session(&session.id, NOW + 5)
            .await
            .unwrap()
    );
    assert!(
        !store
            .end_browser_session(&session.id, NOW + 6)
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .browser_session(&session.id)
            .await
            .unwrap()
            .unwrap()
            .ended_at,
        Some(NOW + 5)
    );
    assert_eq!(store.delete_expired_oidc(NOW + 101).await.unwrap(), 1);
    assert_eq!(store.browser_session(&session.id).await.unwrap(), None);
    assert!(store.session_clients(&session.id).await.unwrap().is_empty());
}

/// Django 5.2's `PBKDF2PasswordHasher` (with `iterations = 1000`) made these two.
const DJANGO_HASH: &str =
    "pbkdf2_sha256$1000$abcdefghijklmnopqrstuv$z2/+JYqJwL9fihakRDN/fuurMnDwSnLq9uUgMTUETRc=";
const DJANGO_HASH_CHANGED: &str =
    "pbkdf2_sha1$1000$abcdefghijklmnopqrstuv$2qmQhLj39jEswse1qNpOBSoLC2s=";

fn django_user(id: i64, name: &str) -> DjangoUser {
    DjangoUser {
        id,
        username: name.into(),
        email: format!("{name}@example.com"),
        password: DJANGO_HASH.into(),
        is_active: true,
        date_joined: NOW - 86_400,
        last_login: Some(NOW - 60),
    }
}

fn django(users: Vec<DjangoUser>, highest_id: i64) -> DjangoSnapshot {
    DjangoSnapshot {
        users,
        highest_id,
        has_blacklist: true,
        ..DjangoSnapshot::default()
    }
}

/// Plans and applies an import, as `import-django` does.
async fn import(store: &Arc<dyn Database>, snapshot: &DjangoSnapshot) {
    let plan = plan(&**store, snapshot, NOW).await.unwrap();
    store.apply_import(&plan, NOW).await.unwrap();
}

async fn an_import_keeps_djangos_ids_and_new_ids_start_past_every_id_django_gave(
    store: Arc<dyn Database>,
) {
    // Django deleted #2, and #4 and #5 (its id sequence is at 5): none of those ids may be
    // given to anyone here, or a Django token naming them would authenticate as that person.
    let snapshot = django(vec![django_user(1, "alice"), django_user(3, "carol")], 5);
    import(&store, &snapshot).await;
    let alice = store.find_by_id(1).await.unwrap().unwrap();
    assert_eq!(alice.username, "alice");
    assert_eq!(alice.email, "alice@example.com");
    assert_eq!(alice.password_hash, DJANGO_HASH);
    assert_eq!(alice.date_joined, NOW - 86_400);
    assert_eq!(
        store.find_by_id(3).await.unwrap().unwrap().username,
        "carol"
    );
    assert!(store.find_by_id(2).await.unwrap().is_none());
    let records = store.import_records().await.unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].last_login, Some(NOW - 60));
    assert_eq!(store.next_user_id().await.unwrap(), 6);
    let newcomer = store.create(user("newcomer")).await.unwrap();
    assert_eq!(newcomer.id, 6);
}

async fn a_second_import_brings_what_changed_and_keeps_an_upgraded_hash(store: Arc<dyn Database>) {
    let first = django(
        vec![
            django_user(1, "alice"),
            django_user(2, "bob"),
            django_user(3, "carol"),
        ],
        3,
    );
    import(&store, &first).await;
    // alice logs in here: her hash becomes ours.
    assert!(
        store
            .upgrade_password_hash(1, DJANGO_HASH, "$argon2id$ours")
            .await
            .unwrap()
    );
    // Meanwhile at Django: alice's email changes, bob's password, carol is deleted, dave joins.
    let mut alice = django_user(1, "alice");
    alice.email = "alice@new.example.com".into();
    let mut bob = django_user(2, "bob");
    bob.password = DJANGO_HASH_CHANGED.into();
    let second = django(vec![alice, bob, django_user(4, "dave")], 4);
    let planned = plan(&*store, &second, NOW).await.unwrap();
    assert_eq!(planned.create.len(), 1);
    assert_eq!(planned.update.len(), 2);
    assert_eq!(planned.passwords_changed, 1);
    assert_eq!(planned.deactivate, [3]);
    store.apply_import(&planned, NOW).await.unwrap();
    let alice = store.find_by_id(1).await.unwrap().unwrap();
    assert_eq!(
        alice.password_hash, "$argon2id$ours",
        "the upgrade survives"
    );
    assert_eq!(alice.email, "alice@new.example.com");
    let bob = store.find_by_id(2).await.unwrap().unwrap();
    assert_eq!(
        bob.password_hash, DJANGO_HASH_CHANGED,
        "Django's new password wins"
    );
    assert!(!store.find_by_id(3).await.unwrap().unwrap().is_active);
    assert_eq!(store.find_by_id(4).await.unwrap().unwrap().username, "dave");
    // Nothing changed at Django since: nothing to do.
    let third = plan(&*store, &second, NOW).await.unwrap();
    assert!(third.is_empty(), "{third:?}");
    assert_eq!(third.unchanged, 3);
}

async fn an_import_never_gives_a_taken_id_or_username_to_someone_else(store: Arc<dyn Database>) {
    let vitor = store.create(user("vitor")).await.unwrap();
    assert_eq!(vitor.id, 1);
    let taken_id = plan(&*store, &django(vec![django_user(1, "alice")], 1), NOW).await;
    assert!(
        matches!(taken_id, Err(ImportError::IdTaken { id: 1, .. })),
        "{taken_id:?}"
    );
    let taken_name = plan(&*store, &django(vec![django_user(2, "vitor")], 2), NOW).await;
    assert!(
        matches!(
            taken_name,
            Err(ImportError::UsernameTaken {
                ours: 1,
                theirs: 2,
                ..
            })
        ),
        "{taken_name:?}"
    );
    assert!(store.find_by_id(2).await.unwrap().is_none());
}

async fn an_import_blacklists_djangos_revoked_tokens_once(store: Arc<dyn Database>) {
    let revoked = |jti: &str, expires_at| DjangoBlacklistedToken {
        jti: jti.into(),
        user_id: Some(1),
        expires_at,
        blacklisted_at: NOW - 5,
    };
    let mut snapshot = django(vec![django_user(1, "alice")], 1);
    snapshot.blacklisted = vec![
        revoked("live-but-logged-out", NOW + 600),
        revoked("expired", NOW - 1),
    ];
    let first = plan(&*store, &snapshot, NOW).await.unwrap();
    assert_eq!(first.blacklist.len(), 1);
    assert_eq!(first.blacklisted_expired, 1);
    store.apply_import(&first, NOW).await.unwrap();
    assert!(store.is_blacklisted("live-but-logged-out").await.unwrap());
    assert!(!store.is_blacklisted("expired").await.unwrap());
    let again = plan(&*store, &snapshot, NOW).await.unwrap();
    assert!(again.blacklist.is_empty());
    assert_eq!(again.blacklisted_already, 1);
}

async fn the_store_counts_our_hashes_and_hands_over_the_others(store: Arc<dyn Database>) {
    const OURS: &str = "$argon2id$v=19$m=19456,t=2,p=1$";
    for (name, hash) in [
        ("a", format!("{OURS}c2FsdA$aGFzaA")),
        ("b", format!("{OURS}c2FsdB$aGFzaB")),
        ("c", DJANGO_HASH.to_owned()),
        (
            "d",
            "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA".to_owned(),
        ),
    ] {
        let mut new = user(name);
        new.password_hash = hash;
        store.create(new).await.unwrap();
    }
    let (ours, mut others) = store.password_hashes_unlike(OURS).await.unwrap();
    others.sort();
    assert_eq!(ours, 2);
    assert_eq!(
        others,
        ["$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", DJANGO_HASH]
    );
}

async fn a_login_upgrade_never_undoes_a_password_change(store: Arc<dyn Database>) {
    let created = store.create(user("vitor")).await.unwrap();
    store
        .set_password_hash("vitor", "$argon2id$changed")
        .await
        .unwrap();
    let upgraded = store
        .upgrade_password_hash(created.id, "$argon2id$fake", "$argon2id$upgrade")
        .await
        .unwrap();
    assert!(!upgraded);
    let vitor = store.find_by_id(created.id).await.unwrap().unwrap();
    assert_eq!(vitor.password_hash, "$argon2id$changed");
}

macro_rules! both_stores {
    ($($check:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $check() {
                    let (_dir, store) = super::sqlite().await;
                    super::$check(store).await;
                }
            )*
        }
        mod on_postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                #[ignore = "needs PostgreSQL: set JWT_TEST_POSTGRES_URL and run with --ignored (.ci/run does)"]
                async fn $check() {
                    super::$check(super::postgres().await).await;
                }
            )*
        }
    };
}

both_stores!(
    users_are_unique_and_kept,
    a_blacklist_race_has_one_winner,
    sessions_and_revocations_are_published_in_order,
    progress_reports_are_kept_latest_first,
    a_refresh_learns_the_token_and_its_session_at_once,
    a_logout_revokes_the_token_and_its_session_together,
    a_password_change_and_its_revocation_are_one_write,
    oidc_clients_are_kept_with_their_exact_uris,
    an_authorization_code_is_redeemed_once,
    a_browser_session_lists_its_clients_and_ends_once,
    an_import_keeps_djangos_ids_and_new_ids_start_past_every_id_django_gave,
    a_second_import_brings_what_changed_and_keeps_an_upgraded_hash,
    an_import_never_gives_a_taken_id_or_username_to_someone_else,
    an_import_blacklists_djangos_revoked_tokens_once,
    a_login_upgrade_never_undoes_a_password_change,
    the_store_counts_our_hashes_and_hands_over_the_others,
);

/// What a restart of the server does to the store: nothing kept in memory, the file opened again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_sqlite_progress_reports_survive_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("restart.sqlite3");
    let before = SqliteStore::open(&path).await.unwrap();
    {
        let store: &dyn Database = &before;
        let zoe = store.create(user("zoe")).await.unwrap();
        store.save_progress(zoe.id, NOW, &report(3)).await.unwrap();
    }
    before.close().await;
    let after: Arc<dyn Database> = Arc::new(SqliteStore::open(&path).await.unwrap());
    let kept = after.all_progress().await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!((kept[0].submitted_at, &kept[0].report), (NOW, &report(3)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_sqlite_a_reader_misses_no_revocation_published_concurrently() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.sqlite3");
    let first: Arc<dyn Database> = Arc::new(SqliteStore::open(&path).await.unwrap());
    let second: Arc<dyn Database> = Arc::new(SqliteStore::open(&path).await.unwrap());
    a_reader_misses_no_revocation_published_concurrently([first, second]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: set JWT_TEST_POSTGRES_URL and run with --ignored (.ci/run does)"]
async fn on_postgres_a_reader_misses_no_revocation_published_concurrently() {
    let url = fresh_postgres_database().await;
    let first: Arc<dyn Database> = Arc::new(PostgresStore::connect(&url).await.unwrap());
    let second: Arc<dyn Database> = Arc::new(PostgresStore::connect(&url).await.unwrap());
    a_reader_misses_no_revocation_published_concurrently([first, second]).await;
}

/// How long the deadline tests let a store wait for a lock another connection holds.
const SHORT_DEADLINE: std::time::Duration = std::time::Duration::from_millis(300);

/// A revocation that waited past the deadline on a lock is refused as "unavailable", within a
/// bounded time, and leaves nothing behind: once the lock is gone the same token is revoked anew.
async fn a_write_past_the_deadline_is_unavailable_and_leaves_no_trace(
    store: Arc<dyn Database>,
    release: impl std::future::Future<Output = ()>,
) {
    let started = std::time::Instant::now();
    let error = store.blacklist(entry("held")).await.unwrap_err();
    let waited = started.elapsed();
    assert!(error.is_unavailable(), "{error}");
    assert!(waited < std::time::Duration::from_secs(5), "{waited:?}");
    let error = store.heartbeat(NOW).await.unwrap_err();
    assert!(error.is_unavailable(), "{error}");
    let revocation = Revocation::Session {
        id: S1.into(),
        expires_at: NOW + 1000,
    };
    let error = store
        .log_out(entry("logged-out"), revocation, NOW)
        .await
        .unwrap_err();
    assert!(error.is_unavailable(), "{error}");
    release.await;
    assert!(!store.is_blacklisted("held").await.unwrap(), "no trace");
    assert!(
        !store.is_blacklisted("logged-out").await.unwrap(),
        "no trace"
    );
    assert!(
        store.revocations_since(0).await.unwrap().is_empty(),
        "no trace"
    );
    assert!(store.blacklist(entry("held")).await.unwrap(), "revoked now");
    store.heartbeat(NOW).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_sqlite_a_write_past_the_deadline_is_unavailable_and_leaves_no_trace() {
    use sqlx::Connection;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("locked.sqlite3");
    let store = SqliteStore::open_with_deadline(&path, SHORT_DEADLINE)
        .await
        .unwrap();
    let mut holder = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut holder)
        .await
        .unwrap();
    let release = async move {
        sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();
    };
    a_write_past_the_deadline_is_unavailable_and_leaves_no_trace(Arc::new(store), release).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: set JWT_TEST_POSTGRES_URL and run with --ignored (.ci/run does)"]
async fn on_postgres_a_write_past_the_deadline_is_unavailable_and_leaves_no_trace() {
    use sqlx::Connection;
    let url = fresh_postgres_database().await;
    let store = PostgresStore::connect_with_deadline(&url, SHORT_DEADLINE)
        .await
        .unwrap();
    let mut holder = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut holder).await.unwrap();
    sqlx::query("LOCK TABLE token_blacklist, heartbeat, revocations IN ACCESS EXCLUSIVE MODE")
        .execute(&mut holder)
        .await
        .unwrap();
    let release = async move {
        sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();
    };
    a_write_past_the_deadline_is_unavailable_and_leaves_no_trace(Arc::new(store), release).await;
}

#[tokio::test]
async fn a_postgres_server_that_is_not_there_is_unavailable_within_the_deadline() {
    // A port nothing listens on.
    let store = PostgresStore::connect_with_deadline(
        "postgres://workbook:workbook@127.0.0.1:1/workbook",
        SHORT_DEADLINE,
    );
    let started = std::time::Instant::now();
    let error = store.await.err().expect("no server there");
    assert!(error.is_unavailable(), "{error}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}
