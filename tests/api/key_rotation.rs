//! Staged key rotation across a fleet: two instances on one key ring and one database, each
//! reading the ring on its own `--keyring-poll` schedule, a JWK Set consumer that caches the set
//! as `Cache-Control` allows, and traffic all along. With the default activation delay nobody
//! refuses anything; with none (what `key rotate` did before), the same run shows refusals.

use std::collections::HashSet;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use clap::Parser;
use jwt_workbook::app::{self, AppState, Settings};
use jwt_workbook::cli::{Cli, Command, KeyCommand};
use jwt_workbook::keys::{KeyAlgorithm, KeySources, Keyring, LiveKeys};
use jwt_workbook::store::SqliteStore;
use jwt_workbook::tokens::SequentialJti;
use jwt_workbook::users::PasswordCost;
use tower::ServiceExt;

use crate::helpers::{DATABASE, NOW, TestApp, TestResponse};

/// `serve`'s and `key rotate`'s defaults, as a user gets them.
fn defaults() -> (i64, i64) {
    let poll = Cli::parse_from(["jwt-workbook"]).serve.keyring_poll.0;
    let Some(Command::Key(KeyCommand::Rotate { activate_in, .. })) =
        Cli::parse_from(["jwt-workbook", "key", "rotate"]).command
    else {
        panic!("`key rotate` parses");
    };
    (poll, activate_in.0)
}

fn sources(ring: &std::path::Path) -> KeySources {
    KeySources {
        algorithm: KeyAlgorithm::ES256,
        signing_key: None,
        signing_key_file: None,
        private_key: None,
        private_key_file: None,
        keys_dir: Some(ring.to_owned()),
        data_dir: ring.to_owned(),
        development: false,
    }
}

/// A verifier in another service: it knows the kids of the JWK Set it last fetched, and fetches
/// again only when its copy is older than the `max-age` the server sent.
struct CachingJwksClient {
    kids: HashSet<String>,
    fresh_until: i64,
}

impl CachingJwksClient {
    async fn refresh_if_stale(&mut self, now: i64, from: &Router) {
        if now < self.fresh_until {
            return;
        }
        let answer = send(from, get("/.well-known/jwks.json")).await;
        let max_age: i64 = answer
            .header("cache-control")
            .and_then(|value| value.split("max-age=").nth(1))
            .and_then(|age| age.parse().ok())
            .expect("the JWKS says how long it may be cached");
        self.kids = answer.json()["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|jwk| jwk["kid"].as_str().unwrap().to_owned())
            .collect();
        self.fresh_until = now + max_age;
    }
}

fn get(path: &str) -> Request<Body> {
    Request::builder().uri(path).body(Body::empty()).unwrap()
}

async fn send(router: &Router, request: Request<Body>) -> TestResponse {
    let answer = router.clone().oneshot(request).await.unwrap();
    let status = answer.status();
    let headers = answer.headers().clone();
    let body = axum::body::to_bytes(answer.into_body(), usize::MAX)
        .await
        .unwrap();
    TestResponse {
        status,
        headers,
        body,
    }
}

fn post(path: &str, body: serde_json::Value) -> Request<Body> {
    Request::builder()
        .method("POST")
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn hello(access: &str) -> Request<Body> {
    Request::builder()
        .uri("/hello/")
        .header(header::AUTHORIZATION, format!("Bearer {access}"))
        .body(Body::empty())
        .unwrap()
}

fn kid_of(token: &str) -> String {
    use base64::Engine;
    let header = token.split('.').next().unwrap();
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .unwrap();
    let header: serde_json::Value = serde_json::from_slice(&header).unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

/// What went wrong during a run: requests refused, and tokens the JWKS consumer could not
/// check because their `kid` was not in its cached set.
#[derive(Debug, Default, PartialEq)]
struct Trouble {
    refused: Vec<String>,
    unknown_kids: usize,
}

/// Twenty minutes of a fleet's life around one `key rotate` with `delay`, one step every five
/// seconds: each instance reads the ring on its own schedule; at each step a user logs in on
/// one instance, uses the access token and the refresh token on the other, and the consumer
/// checks every token it sees.
async fn rotate_under_traffic(delay: i64) -> (Trouble, Vec<String>) {
    let (poll, _) = defaults();
    let ring_dir = tempfile::tempdir().unwrap();
    let ring = Keyring::at(ring_dir.path());
    let first_key = ring.rotate(KeyAlgorithm::ES256, NOW - 86_400, 0).unwrap();

    let first = TestApp::configured(|settings| {
        settings.keys = LiveKeys::load(sources(ring_dir.path())).unwrap();
    })
    .await;
    let second = second_instance(&first, ring_dir.path()).await;
    let instances: [(&AppState, Router, i64); 2] = [
        (&first.state, first.router.clone(), 0),
        // The other instance's poll runs out of step with the first one's.
        (&second, app::router(second.clone(), None), poll / 2 + 1),
    ];
    let mut consumer = CachingJwksClient {
        kids: HashSet::new(),
        fresh_until: i64::MIN,
    };
    let mut trouble = Trouble::default();
    let mut signing_kids = Vec::new();
    let mut rotated = false;
    for step in 0..240 {
        let now = NOW + step * 5;
        first.clock.set(now);
        if !rotated && now >= NOW + 97 {
            ring.rotate(KeyAlgorithm::ES256, now, delay).unwrap();
            rotated = true;
        }
        for (state, _, offset) in &instances {
            if (now - NOW + offset) % poll < 5 {
                state.tokens.live_keys().reload().unwrap();
            }
        }
        let (_, login_router, _) = &instances[step as usize % 2];
        let (_, other_router, _) = &instances[(step as usize + 1) % 2];
        consumer
            .refresh_if_stale(now, &instances[step as usize % 2].1)
            .await;

        let pair = send(
            login_router,
            post(
                "/api/token/",
                serde_json::json!({"username": "vitor", "password": "123"}),
            ),
        )
        .await;
        if pair.status != StatusCode::OK {
            trouble
                .refused
                .push(format!("login at +{}: {}", now - NOW, pair.status));
            continue;
        }
        let (access, refresh) = (pair.field("access"), pair.field("refresh"));
        let kid = kid_of(&access);
        if signing_kids.last() != Some(&kid) {
            signing_kids.push(kid.clone());
        }
        if !consumer.kids.contains(&kid) {
            trouble.unknown_kids += 1;
        }
        let used = send(other_router, hello(&access)).await;
        if used.status != StatusCode::OK {
            trouble
                .refused
                .push(format!("access at +{}: {}", now - NOW, used.status));
        }
        let rotated = send(
            other_router,
            post(
                "/api/token/refresh/",
                serde_json::json!({"refresh": refresh}),
            ),
        )
        .await;
        if rotated.status != StatusCode::OK {
            trouble
                .refused
                .push(format!("refresh at +{}: {}", now - NOW, rotated.status));
        }
    }
    assert_eq!(signing_kids.first(), Some(&first_key.kid().to_owned()));
    (trouble, signing_kids)
}

async fn second_instance(first: &TestApp, ring: &std::path::Path) -> AppState {
    let store = SqliteStore::open(&first.data.path().join(DATABASE))
        .await
        .unwrap();
    let mut settings = Settings::new(LiveKeys::load(sources(ring)).unwrap());
    settings.password_cost = PasswordCost::INSECURE_FOR_TESTS;
    app::build(
        settings,
        Arc::new(store),
        Arc::new(first.clock.clone()),
        Arc::new(SequentialJti::default()),
    )
    .unwrap()
}

#[tokio::test]
async fn with_the_default_delay_a_rotation_refuses_nothing_and_every_cache_knows_the_kid_first() {
    let (_, delay) = defaults();
    let (trouble, signing_kids) = rotate_under_traffic(delay).await;
    assert_eq!(trouble, Trouble::default());
    assert_eq!(
        signing_kids.len(),
        2,
        "the new key took over during the run"
    );
}

/// The control: the same run with a key that signs at once, as before staged rotation. An
/// instance that has not read the ring yet refuses the new tokens, and the consumer's cached
/// set does not have the new kid. (This is what the test above would catch.)
#[tokio::test]
async fn a_key_that_signs_at_once_is_refused_somewhere() {
    let (trouble, _) = rotate_under_traffic(0).await;
    assert!(!trouble.refused.is_empty(), "{trouble:?}");
    assert!(trouble.unknown_kids > 0, "{trouble:?}");
}

/// Retiring follows the ring too: once the old key's tokens have all expired, `key retire`
/// removes it, and each instance stops accepting it at its next read of the ring.
#[tokio::test]
async fn a_retired_key_stops_verifying_on_every_instance_at_their_next_read() {
    let ring_dir = tempfile::tempdir().unwrap();
    let ring = Keyring::at(ring_dir.path());
    let old = ring.rotate(KeyAlgorithm::ES256, NOW - 86_400, 0).unwrap();
    let first = TestApp::configured(|settings| {
        settings.keys = LiveKeys::load(sources(ring_dir.path())).unwrap();
    })
    .await;
    let second = second_instance(&first, ring_dir.path()).await;
    let second_router = app::router(second.clone(), None);
    let (_, old_access) = first.login().await;
    assert_eq!(kid_of(&old_access), old.kid());

    ring.rotate(KeyAlgorithm::ES256, NOW, 0).unwrap();
    ring.retire(old.kid(), NOW, 0, true).unwrap();
    assert_eq!(
        send(&second_router, hello(&old_access)).await.status,
        StatusCode::OK
    );
    second.tokens.live_keys().reload().unwrap();
    first.state.tokens.live_keys().reload().unwrap();
    assert_eq!(
        send(&second_router, hello(&old_access)).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        first.hello(&old_access).await.status,
        StatusCode::UNAUTHORIZED
    );
    let jwks = first.send(get("/.well-known/jwks.json")).await.json();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
}

/// What the README and chapter 3 promise, from where an operator stands: the real binary,
/// serving with a key ring, publishes a key `key rotate` adds at its next read of the ring (no
/// restart), and goes on signing with the old key until the new one's activation time.
#[test]
fn a_running_server_publishes_a_rotated_in_key_without_a_restart() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let binary = env!("CARGO_BIN_EXE_jwt-workbook");
    let data = tempfile::tempdir().unwrap();
    let ring = data.path().join("keys");
    let key = |args: &[&str]| {
        let out = Command::new(binary)
            .arg("--data-dir")
            .arg(data.path())
            .args(["key"])
            .args(args)
            .arg("--keys-dir")
            .arg(&ring)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    key(&["rotate", "--algorithm", "ES256"]);
    let mut server = Command::new(binary)
        .args([
            "--environment",
            "development",
            "--addr",
            "127.0.0.1:0",
            "--no-book",
        ])
        .arg("--data-dir")
        .arg(data.path())
        .arg("--keys-dir")
        .arg(&ring)
        .args(["--keyring-poll", "1s"])
        .env("RUST_LOG", "info")
        .env_remove("JWT_KEYS_DIR")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut banner = BufReader::new(server.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok);
    let base = banner
        .find_map(|line| Some(line.split("serving on ").nth(1)?.trim().to_owned()))
        .expect("the banner");
    // The rest of the banner is read too: a server writing to a closed pipe would stop.
    std::thread::spawn(move || banner.for_each(drop));
    // The server's log lines, as they come: the test waits for the one that says the ring was
    // read again, not for a fixed time.
    let (logs, logged) = std::sync::mpsc::channel();
    let stderr = server.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = logs.send(line);
        }
    });
    let kids = || -> Vec<String> {
        let jwks: serde_json::Value = ureq::get(&format!("{base}/.well-known/jwks.json"))
            .call()
            .unwrap()
            .body_mut()
            .read_json()
            .unwrap();
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|jwk| jwk["kid"].as_str().unwrap().to_owned())
            .collect()
    };
    let first = kids();
    assert_eq!(first.len(), 1);

    let rotated = key(&["rotate"]);
    assert!(
        rotated.contains("is published now and signs from"),
        "{rotated}"
    );
    let changed =
        std::iter::from_fn(|| logged.recv_timeout(std::time::Duration::from_secs(60)).ok())
            .find(|line| line.contains("the key ring changed"));
    assert!(changed.is_some(), "the server never read the ring again");
    let now = kids();
    assert_eq!(now.len(), 2, "{now:?}");
    assert!(now.contains(&first[0]));

    let pair: serde_json::Value = ureq::post(&format!("{base}/api/token/"))
        .send_json(serde_json::json!({"username": "demo", "password": "demo-password"}))
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    assert_eq!(
        kid_of(pair["access"].as_str().unwrap()),
        first[0],
        "the new key is only published: the old one still signs"
    );
    server.kill().unwrap();
    server.wait().unwrap();
}
