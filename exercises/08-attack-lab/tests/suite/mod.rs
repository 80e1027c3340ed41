//! The chapter 8 checks, written once. `tests/attack_lab.rs` in the exercise crate and in the
//! solution crate both include this file, with `sut` ("system under test") naming their own
//! library, so the exercise and its solution can never be checked differently.
//!
//! Tests are named `stepN_…` after the step of the chapter they check: `cargo run -- check 8`
//! reports the first step that fails and `cargo run -- hint 8` gives hints for it.
//!
//! The tests start the attack lab once, in this process, on a free loopback port, and give each
//! exploit the [`Target`] of its app. An exploit passes when it returns its app's flag, which is
//! random per run, so nothing but a working exploit can return it; and when the request that got
//! the flag, sent to the real server configured with the same key (a strong one in place of the
//! weak secret) and the same history, is refused with 401. Step 14 runs every exploit again and
//! hands each forged token to your patched verifier.

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use jsonwebtoken::Algorithm;
use jwt_workbook::lab::{self, Flaw, Lab, LabKey, Replay};
use jwt_workbook::tokens::{Key, KeyAlgorithm};
use serde_json::{Map, Value, json};
use tower::ServiceExt;

use crate::sut::{self, Error, Policy, Target, TokenType, TrustedKey};

/// The lab, started once for the whole test binary, and the runtime it runs on.
struct Running {
    lab: Lab,
    /// `http://127.0.0.1:<port>`.
    base: String,
    runtime: tokio::runtime::Runtime,
    _files: tempfile::TempDir,
}

fn running() -> &'static Running {
    static RUNNING: OnceLock<Running> = OnceLock::new();
    RUNNING.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime for the lab");
        let files = tempfile::tempdir().expect("a temporary directory");
        let (lab, base) = runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("a free loopback port");
            let base = format!("http://{}", listener.local_addr().expect("its address"));
            let lab = Lab::start(&files.path().join("lab"))
                .await
                .expect("the lab starts");
            tokio::spawn(lab::serve(listener, lab.clone(), std::future::pending()));
            (lab, base)
        });
        Running {
            lab,
            base,
            runtime,
            _files: files,
        }
    })
}

/// The client for `flaw`'s app.
fn target(flaw: Flaw) -> Target {
    Target::new(&format!("{}{}", running().base, flaw.base()))
}

// --- The real server ------------------------------------------------------------------------

/// The real server, wired the way the server's own tests wire it, verifying with `key`: users
/// `admin` (id 1) and `guest` (id 2) on a fresh SQLite file, the system clock, simplejwt's
/// settings. The one place that builds it for this chapter.
async fn real_server(key: Key) -> (axum::Router, tempfile::TempDir) {
    use jwt_workbook::app::{self, Settings};
    use jwt_workbook::clock::{Clock, SystemClock};
    use jwt_workbook::store::SqliteStore;
    use jwt_workbook::tokens::{KeySet, RandomJti};
    use jwt_workbook::users::{PasswordCost, Passwords, create_user};

    let data = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(&data.path().join("real-server.sqlite3"))
        .await
        .expect("open the store");
    let passwords = Passwords::new(PasswordCost::INSECURE_FOR_TESTS).expect("the hasher");
    let now = SystemClock.now();
    for (username, password) in [("admin", "not-the-labs-password"), ("guest", "guest")] {
        create_user(&store, &passwords, username, password, true, now)
            .await
            .expect("create a user");
    }
    // The server's own wiring (`app::build`, as `cargo run` uses it), with the lab's key.
    let mut settings = Settings::new(KeySet::single(key));
    settings.password_cost = PasswordCost::INSECURE_FOR_TESTS;
    let state = app::build(
        settings,
        Arc::new(store),
        Arc::new(SystemClock),
        Arc::new(RandomJti),
    )
    .expect("the server's state");
    (app::router(state, None), data)
}

/// The real server's equivalent of a lab request: a protected route for a bearer token, the
/// refresh endpoint for a refresh token.
async fn send(router: &axum::Router, replay: &Replay) -> StatusCode {
    let request = match replay {
        Replay::Bearer(token) => Request::get("/api/me/")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty()),
        Replay::Refresh(token) => Request::post("/api/token/refresh/")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(json!({ "refresh": token }).to_string())),
    }
    .expect("a request");
    router
        .clone()
        .oneshot(request)
        .await
        .expect("infallible")
        .status()
}

/// What the real server answers to `replay`, after the app's history (`prelude`), which it
/// must accept: the comparison is fair only if the real server saw what the app saw. First it
/// must take a genuine admin token of the app, signed with the same key: a real server that
/// refused everything would prove nothing.
fn real_server_answers(flaw: Flaw, replay: &Replay) -> StatusCode {
    let lab = &running().lab;
    let key = lab.honest_key(flaw).server_key();
    let prelude = lab.prelude(flaw);
    let genuine = Replay::Bearer(lab.honest_token(flaw, lab::ADMIN_ID, "access"));
    running().runtime.block_on(async {
        let (router, _data) = real_server(key).await;
        assert_eq!(
            send(&router, &genuine).await,
            StatusCode::OK,
            "the real server must take the app's genuine admin token, or its refusals prove nothing"
        );
        for earlier in &prelude {
            assert_eq!(
                send(&router, earlier).await,
                StatusCode::OK,
                "the real server refused the app's own history: {earlier:?}"
            );
        }
        send(&router, replay).await
    })
}

// --- The checks -----------------------------------------------------------------------------

/// Runs `exploit` against `flaw`'s app: it must return the app's flag, and every request that
/// got the flag through the flaw must be refused by the real server.
fn check_exploit(flaw: Flaw, exploit: impl FnOnce(&Target) -> Result<String, Error>) {
    let lab = &running().lab;
    let before = lab.exploits(flaw).len();
    let flag = exploit(&target(flaw))
        .unwrap_or_else(|error| panic!("the exploit of {} failed: {error}", flaw.base()));
    assert_eq!(
        flag,
        lab.flag(flaw),
        "that is not the flag of {}: each app has its own, new every run",
        flaw.base()
    );
    let exploits = lab.exploits(flaw);
    assert!(
        exploits.len() > before,
        "{} recorded no request that got the flag through its flaw",
        flaw.base()
    );
    for replay in &exploits[before..] {
        assert_eq!(
            real_server_answers(flaw, replay),
            StatusCode::UNAUTHORIZED,
            "the real server let the same request through: {replay:?}"
        );
    }
}

#[test]
fn step1_a_guest_token_made_admin_gets_the_flag_and_the_real_server_refuses_it() {
    check_exploit(Flaw::Unverified, sut::unverified);
}

#[test]
fn step2_an_unsigned_alg_none_token_gets_the_flag_and_the_real_server_refuses_it() {
    check_exploit(Flaw::AlgNone, sut::alg_none);
}

#[test]
fn step3_the_secret_found_in_the_word_list_gets_the_flag_and_the_real_server_refuses_it() {
    let words: Vec<&str> = lab::WORDLIST.lines().collect();
    check_exploit(Flaw::WeakSecret, |target| sut::weak_secret(target, &words));
    // And the real server would not even start with such a secret in production.
    let weak = running().lab.signing_key(Flaw::WeakSecret);
    assert!(jwt_workbook::keys::secret_weakness(weak.verification_bytes()).is_some());
}

#[test]
fn step4_a_token_carrying_its_own_jwk_gets_the_flag_and_the_real_server_refuses_it() {
    check_exploit(Flaw::JwkHeader, sut::jwk_header);
}

#[test]
fn step5_a_jku_pointing_at_your_key_set_gets_the_flag_and_the_real_server_refuses_it() {
    check_exploit(Flaw::JkuHeader, sut::jku_header);
}

#[test]
fn step6_a_kid_naming_a_public_file_gets_the_flag_and_the_real_server_refuses_it() {
    check_exploit(Flaw::KidPath, sut::kid_path);
}

#[test]
fn step7_a_kid_that_rewrites_the_query_gets_the_flag_and_the_real_server_refuses_it() {
    check_exploit(Flaw::KidSql, sut::kid_sql);
}

#[test]
fn step8_hs256_keyed_with_the_published_rsa_key_gets_the_flag_and_the_real_server_refuses_it() {
    check_exploit(Flaw::AlgConfusion, sut::alg_confusion);
}

#[test]
fn step9_hs256_keyed_with_a_recovered_rsa_key_gets_the_flag_and_the_real_server_refuses_it() {
    check_exploit(Flaw::RecoveredKey, sut::recovered_key);
}

#[test]
fn step10_a_leaked_expired_token_gets_the_flag_and_the_real_server_refuses_it() {
    check_exploit(Flaw::Expired, sut::expired);
}

#[test]
fn step11_a_staging_token_gets_the_flag_in_production_and_the_real_server_refuses_it() {
    check_exploit(Flaw::Audience, sut::audience);
}

#[test]
fn step12_a_leaked_refresh_token_gets_the_flag_and_the_real_server_refuses_it() {
    check_exploit(Flaw::RefreshAsAccess, sut::refresh_as_access);
}

#[test]
fn step13_a_rotated_away_refresh_token_gets_the_flag_and_the_real_server_refuses_it() {
    check_exploit(Flaw::RefreshReuse, sut::refresh_reuse);
}

// --- Step 14 --------------------------------------------------------------------------------

/// An exploit of steps 1 to 13: the target in, the flag out.
type Exploit<'a> = dyn Fn(&Target) -> Result<String, Error> + 'a;

/// The app's honest key as the patched verifier holds it.
fn trusted(key: &LabKey) -> TrustedKey {
    TrustedKey {
        kid: key.kid().map(str::to_owned),
        algorithm: match key.algorithm() {
            KeyAlgorithm::HS256 => Algorithm::HS256,
            KeyAlgorithm::RS256 => Algorithm::RS256,
            KeyAlgorithm::ES256 => Algorithm::ES256,
            KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        },
        material: key.verification_bytes().to_vec(),
    }
}

/// What a correct `flaw` app would verify with: its honest key, the time now, and the refresh
/// tokens its history used up.
fn policy(flaw: Flaw) -> Policy {
    let lab = &running().lab;
    let used_refresh = lab
        .prelude(flaw)
        .iter()
        .filter_map(|replay| match replay {
            Replay::Refresh(token) => Some(claim(token, "jti")),
            Replay::Bearer(_) => None,
        })
        .collect();
    Policy {
        keys: vec![trusted(lab.honest_key(flaw))],
        now: jsonwebtoken::get_current_timestamp() as i64,
        used_refresh,
    }
}

fn claim(token: &str, name: &str) -> String {
    jsonwebtoken::dangerous::insecure_decode::<Map<String, Value>>(token)
        .expect("a token the lab saw")
        .claims
        .get(name)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn step14_the_patched_verifier_takes_genuine_tokens_and_refuses_every_exploit_of_the_chapter() {
    // The weak-secret app's genuine tokens are signed with the weak word: the fix (a strong
    // secret) refuses them too, and should.
    for flaw in Flaw::ALL.into_iter().filter(|f| *f != Flaw::WeakSecret) {
        let pair = target(flaw).login().expect("the guest logs in");
        let policy = policy(flaw);
        for (token, kind) in [
            (&pair.access, TokenType::Access),
            (&pair.refresh, TokenType::Refresh),
        ] {
            if let Err(refused) = sut::verify(token, kind, &policy) {
                panic!(
                    "{}: a genuine {} token was refused ({refused:?}): {token}",
                    flaw.base(),
                    kind.as_str()
                );
            }
        }
    }

    let words: Vec<&str> = lab::WORDLIST.lines().collect();
    let exploits: [(Flaw, &Exploit); 13] = [
        (Flaw::Unverified, &sut::unverified),
        (Flaw::AlgNone, &sut::alg_none),
        (Flaw::WeakSecret, &|target| sut::weak_secret(target, &words)),
        (Flaw::JwkHeader, &sut::jwk_header),
        (Flaw::JkuHeader, &sut::jku_header),
        (Flaw::KidPath, &sut::kid_path),
        (Flaw::KidSql, &sut::kid_sql),
        (Flaw::AlgConfusion, &sut::alg_confusion),
        (Flaw::RecoveredKey, &sut::recovered_key),
        (Flaw::Expired, &sut::expired),
        (Flaw::Audience, &sut::audience),
        (Flaw::RefreshAsAccess, &sut::refresh_as_access),
        (Flaw::RefreshReuse, &sut::refresh_reuse),
    ];
    for (flaw, exploit) in exploits {
        exploit(&target(flaw)).unwrap_or_else(|error| {
            panic!(
                "step 14 runs your exploits of steps 1 to 13; {} failed: {error}",
                flaw.base()
            )
        });
        let policy = policy(flaw);
        let forged = running().lab.exploits(flaw);
        assert!(!forged.is_empty(), "{} recorded no exploit", flaw.base());
        for replay in forged {
            let (token, kind) = match &replay {
                Replay::Bearer(token) => (token, TokenType::Access),
                Replay::Refresh(token) => (token, TokenType::Refresh),
            };
            if let Ok(claims) = sut::verify(token, kind, &policy) {
                panic!(
                    "{}: the patched verifier took an exploit's {} token ({claims:?}): {token}",
                    flaw.base(),
                    kind.as_str()
                );
            }
        }
    }
}
