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
//! weak secret) and the same history, is refused with 401. Step 16 runs every exploit again and
//! hands each forged token to your patched verifier.
//!
//! Steps 9, 15 and 16 are judged on tokens made here: a snapshot of fixed cases, and tokens,
//! keys and claims drawn at random on every run (`SUITE_SEED=<seed>` replays a run whose
//! failure printed that seed).

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use jsonwebtoken::Algorithm;
use jwt_workbook::lab::{self, Flaw, Lab, LabKey, Replay};
use jwt_workbook::tokens::{Key, KeyAlgorithm};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rsa::traits::{PrivateKeyParts, PublicKeyParts};
use rsa::{BigUint, RsaPrivateKey};
use serde_json::{Map, Value, json};
use tower::ServiceExt;

use crate::sut::toolkit::{b64, b64_decode, encode_segment, hs256_token, sign_hs256, split};
use crate::sut::{self, Error, Policy, Refused, Target, TokenType, TrustedKey};

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

// --- Inputs drawn at random, and keys that stay the same ------------------------------------

/// Inputs drawn at random for this run, so that no table of expected answers can pass, with the
/// seed that replays them: every failure prints it, and `SUITE_SEED=<seed> cargo test …` draws
/// the same inputs again.
fn generator() -> (u64, StdRng) {
    let seed = std::env::var("SUITE_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or_else(rand::random);
    (seed, StdRng::seed_from_u64(seed))
}

/// An RSA key made from `seed`: the same key every run for the same seed.
fn rsa_key(seed: u64, bits: usize, e: u32) -> RsaPrivateKey {
    RsaPrivateKey::new_with_exp(&mut StdRng::seed_from_u64(seed), bits, &BigUint::from(e))
        .expect("an RSA key")
}

/// The snapshots' two keys of public exponent 3, like the recovered-key app's: 2048 and 1024
/// bits, made once per test run.
fn fixed_keys() -> &'static [RsaPrivateKey; 2] {
    static KEYS: OnceLock<[RsaPrivateKey; 2]> = OnceLock::new();
    KEYS.get_or_init(|| [rsa_key(2048, 2048, 3), rsa_key(1024, 1024, 3)])
}

/// An RS256 token: PKCS#1 v1.5 with SHA-256, computed with the private exponent.
fn rs256_token(key: &RsaPrivateKey, header: &Value, claims: &Value) -> String {
    let input = format!("{}.{}", encode_segment(header), encode_segment(claims));
    let em = sut::pkcs1_encode(&input, key.size());
    let mut signature = em.modpow(key.d(), key.n()).to_bytes_be();
    while signature.len() < key.size() {
        signature.insert(0, 0);
    }
    format!("{input}.{}", b64(&signature))
}

/// Claims like those of a lab app's access token for the guest.
fn guest_claims(jti: &str, iat: i64) -> Value {
    json!({"token_type": "access", "exp": iat + 300, "iat": iat, "jti": jti, "user_id": "2"})
}

/// A JWT-like id: 32 hex digits.
fn random_jti(rng: &mut StdRng) -> String {
    (0..32)
        .map(|_| char::from_digit(rng.gen_range(0..16), 16).unwrap())
        .collect()
}

// --- Step 9: the modulus from signatures ----------------------------------------------------

/// The factor the tokens' multiples `s³ − EM` of `key`'s modulus share besides it.
fn shared_factor(key: &RsaPrivateKey, tokens: &[&str]) -> BigUint {
    let zero = BigUint::from(0u8);
    tokens.iter().fold(zero.clone(), |shared, token| {
        let [header, payload, signature] = split(token).expect("a token");
        let s = BigUint::from_bytes_be(&b64_decode(signature).expect("base64url"));
        let em = sut::pkcs1_encode(&format!("{header}.{payload}"), key.size());
        let k = (&s * &s * &s - em) / key.n();
        let (mut a, mut b) = (shared, k);
        while b != zero {
            let r = &a % &b;
            a = b;
            b = r;
        }
        a
    })
}

/// `factor` with every prime below 1000 divided out.
fn without_small_factors(mut factor: BigUint) -> BigUint {
    for small in 2u32..1000 {
        let small = BigUint::from(small);
        while factor > BigUint::from(1u8) && &factor % &small == BigUint::from(0u8) {
            factor /= &small;
        }
    }
    factor
}

fn modulus_verdict(key: &RsaPrivateKey, tokens: &[&str]) -> String {
    match sut::recover_modulus(tokens) {
        Ok(n) if &n == key.n() => format!("n: {} bits, the key's modulus", n.bits()),
        Ok(n) => format!("n: {} bits, not the key's modulus", n.bits()),
        Err(_) => "an error".to_owned(),
    }
}

#[test]
fn step9_moduli() {
    let [big, small] = fixed_keys();
    let header = json!({"alg": "RS256", "typ": "JWT"});
    let token = |key: &RsaPrivateKey, i: i64| {
        rs256_token(
            key,
            &header,
            &guest_claims(&format!("t{i}"), 1_800_000_000 + i),
        )
    };
    let a: Vec<String> = (0..3).map(|i| token(big, i)).collect();
    let b: Vec<String> = (0..2).map(|i| token(small, i)).collect();
    // Two tokens whose multiples of n also share 2 or 3, found the same way every run.
    let (shared, pair) = (3..)
        .map(|i| (token(big, i), token(big, i + 1)))
        .map(|(x, y)| (shared_factor(big, &[&x, &y]), [x, y]))
        .find(|(shared, _)| {
            *shared > BigUint::from(1u8)
                && without_small_factors(shared.clone()) == BigUint::from(1u8)
        })
        .expect("a pair sharing a small factor");
    let cases: [(String, &RsaPrivateKey, Vec<&str>); 8] = [
        (
            "two tokens of a 2048-bit key".into(),
            big,
            vec![&a[0], &a[1]],
        ),
        (
            "three tokens of that key".into(),
            big,
            vec![&a[0], &a[1], &a[2]],
        ),
        (
            "two tokens of a 1024-bit key".into(),
            small,
            vec![&b[0], &b[1]],
        ),
        (
            format!("two tokens whose multiples of n also share the factor {shared}"),
            big,
            vec![&pair[0], &pair[1]],
        ),
        ("the same token twice".into(), big, vec![&a[0], &a[0]]),
        ("one token".into(), big, vec![&a[0]]),
        ("no token".into(), big, vec![]),
        (
            "a token and two segments".into(),
            big,
            vec![&a[0], "eyJhbGciOiJSUzI1NiJ9.e30"],
        ),
    ];
    for (key, x, y) in [(big, &a[0], &a[1]), (small, &b[0], &b[1])] {
        assert_eq!(
            without_small_factors(shared_factor(key, &[x, y])),
            BigUint::from(1u8),
            "the snapshot's pairs share no large factor besides n"
        );
    }
    let mut report = String::new();
    for (what, key, tokens) in &cases {
        report.push_str(&format!("{what}\n  {}\n", modulus_verdict(key, tokens)));
    }
    insta::assert_snapshot!("step9_moduli", report);
}

#[test]
fn step9_moduli_of_keys_drawn_at_random() {
    let (seed, mut rng) = generator();
    let fresh = rsa_key(rng.r#gen(), 1024, 3);
    let [big, small] = fixed_keys();
    let mut checked = 0;
    for _ in 0..24 {
        let key = [&fresh, big, small][rng.gen_range(0..3)];
        let count = rng.gen_range(2..=4);
        let tokens: Vec<String> = (0..count)
            .map(|_| {
                let mut header = json!({"alg": "RS256", "typ": "JWT"});
                if rng.gen_bool(0.5) {
                    header["kid"] = random_jti(&mut rng).into();
                }
                let iat = rng.gen_range(1_700_000_000..2_000_000_000);
                rs256_token(key, &header, &guest_claims(&random_jti(&mut rng), iat))
            })
            .collect();
        let tokens: Vec<&str> = tokens.iter().map(String::as_str).collect();
        let shared = shared_factor(key, &tokens);
        if without_small_factors(shared.clone()) != BigUint::from(1u8) {
            // A large factor shared besides n (rare): no answer is the right one.
            continue;
        }
        checked += 1;
        let bits = key.n().bits();
        match sut::recover_modulus(&tokens) {
            Ok(n) if &n == key.n() => {}
            Ok(n) if &n % key.n() == BigUint::from(0u8) => panic!(
                "{count} tokens of a {bits}-bit key: your number has {} bits, n times {}: the \
                 multiples s³ − EM share small factors besides n (here {shared}); divide out \
                 every one below 1000 (seed {seed})",
                n.bits(),
                &n / key.n()
            ),
            Ok(n) => panic!(
                "{count} tokens of a {bits}-bit key: your number ({} bits) is no multiple of n. \
                 s is the signature's bytes as a big-endian number, EM is `pkcs1_encode` of \
                 `header.payload` as long as the signature, and e is 3 (seed {seed})",
                n.bits()
            ),
            Err(error) => panic!(
                "{count} tokens of a {bits}-bit key with e = 3 give its modulus{}, but your step \
                 9 answered: {error} (seed {seed})",
                if shared > BigUint::from(1u8) {
                    format!(" once the factor {shared} their multiples share is divided out")
                } else {
                    String::new()
                }
            ),
        }
    }
    assert!(checked >= 12, "only {checked} draws checked (seed {seed})");
    // A multiple of n is never n: the same signature twice must not pass for a modulus.
    let token = rs256_token(&fresh, &json!({"alg": "RS256"}), &guest_claims("again", 1));
    assert!(
        sut::recover_modulus(&[&token, &token]).is_err(),
        "the same token twice gives one multiple of n, about three times as long as n: a \
         number longer than the signatures is no modulus, so an error (seed {seed})"
    );
}

#[test]
fn step10_hs256_keyed_with_a_recovered_rsa_key_gets_the_flag_and_the_real_server_refuses_it() {
    check_exploit(Flaw::RecoveredKey, sut::recovered_key);
}

#[test]
fn step11_a_leaked_expired_token_gets_the_flag_and_the_real_server_refuses_it() {
    check_exploit(Flaw::Expired, sut::expired);
}

#[test]
fn step12_a_staging_token_gets_the_flag_in_production_and_the_real_server_refuses_it() {
    check_exploit(Flaw::Audience, sut::audience);
}

#[test]
fn step13_a_leaked_refresh_token_gets_the_flag_and_the_real_server_refuses_it() {
    check_exploit(Flaw::RefreshAsAccess, sut::refresh_as_access);
}

#[test]
fn step14_a_rotated_away_refresh_token_gets_the_flag_and_the_real_server_refuses_it() {
    check_exploit(Flaw::RefreshReuse, sut::refresh_reuse);
}

// --- Step 15: which key, and the signature --------------------------------------------------

/// The keys a verifier trusts in steps 15 and 16, and what it takes to sign with them.
struct Keys {
    hs_kid: String,
    hs: Vec<u8>,
    rsa_kid: String,
    rsa: &'static RsaPrivateKey,
    /// The key of tokens without a `kid`, if the verifier has one.
    plain: Option<Vec<u8>>,
}

impl Keys {
    /// The snapshots' keys.
    fn fixed() -> Self {
        Keys {
            hs_kid: "hs-1".into(),
            hs: b"the HMAC secret of the snapshots, 32 bytes or more".to_vec(),
            rsa_kid: "rsa-1".into(),
            rsa: &fixed_keys()[0],
            plain: Some(b"the secret of tokens without a kid, for the snapshots".to_vec()),
        }
    }

    fn drawn(rng: &mut StdRng) -> Self {
        let secret = |rng: &mut StdRng| (0..32).map(|_| rng.r#gen()).collect::<Vec<u8>>();
        Keys {
            // Prefixed, so that the two kids never collide.
            hs_kid: format!("h{}", &random_jti(rng)[..rng.gen_range(0..12)]),
            hs: secret(rng),
            rsa_kid: format!("r{}", &random_jti(rng)[..rng.gen_range(0..12)]),
            rsa: &fixed_keys()[rng.gen_range(0..2)],
            plain: rng.gen_bool(0.7).then(|| secret(rng)),
        }
    }

    fn rsa_pem(&self) -> String {
        sut::public_pem(self.rsa.n(), self.rsa.e()).expect("a PEM")
    }

    /// The verifier's policy, its keys in the order given.
    fn policy(&self, now: i64, used_refresh: &[&str]) -> Policy {
        let mut keys = vec![
            TrustedKey {
                kid: Some(self.hs_kid.clone()),
                algorithm: Algorithm::HS256,
                material: self.hs.clone(),
            },
            TrustedKey {
                kid: Some(self.rsa_kid.clone()),
                algorithm: Algorithm::RS256,
                material: self.rsa_pem().into_bytes(),
            },
        ];
        if let Some(plain) = &self.plain {
            keys.push(TrustedKey {
                kid: None,
                algorithm: Algorithm::HS256,
                material: plain.clone(),
            });
        }
        Policy {
            keys,
            now,
            used_refresh: used_refresh.iter().map(|jti| jti.to_string()).collect(),
        }
    }

    /// An HS256 token signed with our key named by `kid`.
    fn hs256(&self, claims: &Value) -> String {
        let header = json!({"alg": "HS256", "typ": "JWT", "kid": self.hs_kid});
        hs256_token(&header, claims, &self.hs)
    }
}

/// The header with `kid` set, or without one for `None`.
fn header_with(alg: &str, kid: Option<&str>) -> Value {
    let mut header = json!({"alg": alg, "typ": "JWT"});
    if let Some(kid) = kid {
        header["kid"] = kid.into();
    }
    header
}

/// The forged and genuine tokens steps 15 and 16 are judged on.
const SIGNATURE_CASES: usize = 18;

/// Case `case` of the tokens step 15 is judged on, with `keys` and `claims`: what it is, the
/// token, what a patched verifier answers, and why.
fn signature_case(
    case: usize,
    keys: &Keys,
    claims: &Value,
    own: &[u8],
) -> (&'static str, String, Result<(), Refused>, &'static str) {
    const KEY_BY_KID: &str = "only the verifier's own keys check a token, the one its kid names \
        (or the key for tokens without a kid); a kid none of them has names no key, never a \
        file, a query or a URL";
    const KEY_DECIDES: &str = "the key decides the algorithm: a token whose alg is not its \
        key's is refused before any signature is checked";
    const NO_TOKEN_KEY: &str = "a key the token brings (jwk, jku) is never used: the key its kid \
        names checks the signature, and fails";
    const GENUINE: &str = "a genuine token: the key its kid names verifies it, for that key's \
        algorithm; the claims are step 16's";
    const MALFORMED: &str = "not a signed JWT of a known algorithm with JSON claims";
    let plain_or = |found: Result<(), Refused>| {
        if keys.plain.is_some() {
            found
        } else {
            Err(Refused::UnknownKey)
        }
    };
    let admin = {
        let mut admin = claims.clone();
        admin["user_id"] = "1".into();
        admin
    };
    match case {
        0 => (
            "HS256, signed with the key its kid names",
            keys.hs256(claims),
            Ok(()),
            GENUINE,
        ),
        1 => (
            "RS256, signed with the key its kid names",
            rs256_token(keys.rsa, &header_with("RS256", Some(&keys.rsa_kid)), claims),
            Ok(()),
            GENUINE,
        ),
        2 => (
            "HS256 without a kid, signed with the key for tokens without one",
            hs256_token(
                &header_with("HS256", None),
                claims,
                keys.plain.as_deref().unwrap_or(own),
            ),
            plain_or(Ok(())),
            GENUINE,
        ),
        3 => (
            "HS256, the kid of our HMAC key, signed with another secret",
            hs256_token(&header_with("HS256", Some(&keys.hs_kid)), claims, own),
            Err(Refused::BadSignature),
            "the key its kid names does not verify the signature",
        ),
        4 => {
            let genuine = keys.hs256(claims);
            let [header, _, signature] = split(&genuine).expect("a token");
            (
                "HS256, user_id changed after signing",
                format!("{header}.{}.{signature}", encode_segment(&admin)),
                Err(Refused::BadSignature),
                "the signature covers the claims as they were signed",
            )
        }
        5 => (
            "alg: none, an empty signature",
            format!(
                "{}.{}.",
                encode_segment(&json!({"alg": "none", "typ": "JWT"})),
                encode_segment(&admin)
            ),
            Err(Refused::Malformed),
            MALFORMED,
        ),
        6 => (
            "three segments of nonsense",
            "not.a.token".to_owned(),
            Err(Refused::Malformed),
            MALFORMED,
        ),
        7 => {
            let input = format!(
                "{}.{}",
                encode_segment(&header_with("HS256", Some(&keys.hs_kid))),
                b64(b"user_id=1")
            );
            let signature = sign_hs256(&input, &keys.hs);
            (
                "HS256, signed with our key, claims that are not JSON",
                format!("{input}.{signature}"),
                Err(Refused::Malformed),
                MALFORMED,
            )
        }
        8 => (
            "a kid none of our keys has",
            hs256_token(&header_with("HS256", Some("nobody-knows-it")), &admin, own),
            Err(Refused::UnknownKey),
            KEY_BY_KID,
        ),
        9 => (
            "a kid that is a path to a public file",
            hs256_token(
                &header_with("HS256", Some("../static/lab.css")),
                &admin,
                own,
            ),
            Err(Refused::UnknownKey),
            KEY_BY_KID,
        ),
        10 => (
            "a kid written as SQL",
            hs256_token(
                &header_with("HS256", Some("x' UNION SELECT 'own' --")),
                &admin,
                b"own",
            ),
            Err(Refused::UnknownKey),
            KEY_BY_KID,
        ),
        11 => (
            "HS256 keyed with the PEM of our RSA key, that key's kid",
            hs256_token(
                &header_with("HS256", Some(&keys.rsa_kid)),
                &admin,
                keys.rsa_pem().as_bytes(),
            ),
            Err(Refused::WrongAlgorithm),
            KEY_DECIDES,
        ),
        12 => (
            "RS256, the kid of our HMAC key",
            rs256_token(keys.rsa, &header_with("RS256", Some(&keys.hs_kid)), claims),
            Err(Refused::WrongAlgorithm),
            KEY_DECIDES,
        ),
        13 => (
            "RS256 without a kid",
            rs256_token(keys.rsa, &header_with("RS256", None), claims),
            plain_or(Err(Refused::WrongAlgorithm)),
            KEY_DECIDES,
        ),
        14 => {
            let mut header = header_with("HS256", None);
            header["jwk"] = json!({"kty": "oct", "k": b64(own)});
            (
                "its own key in jwk, no kid",
                hs256_token(&header, &admin, own),
                plain_or(Err(Refused::BadSignature)),
                NO_TOKEN_KEY,
            )
        }
        15 => {
            let mut header = header_with("HS256", Some(&keys.hs_kid));
            header["jwk"] = json!({"kty": "oct", "k": b64(own)});
            (
                "its own key in jwk, the kid of our HMAC key",
                hs256_token(&header, &admin, own),
                Err(Refused::BadSignature),
                NO_TOKEN_KEY,
            )
        }
        16 => {
            let mut header = header_with("HS256", Some("mine"));
            header["jku"] = "http://127.0.0.1:8001/lab/jku-header/files/mine".into();
            (
                "a jku naming a key set of its own, and that set's kid",
                hs256_token(&header, &admin, own),
                Err(Refused::UnknownKey),
                KEY_BY_KID,
            )
        }
        _ => {
            let mut expired = claims.clone();
            expired["exp"] = 1.into();
            (
                "HS256, signed with the key its kid names, expired long ago",
                keys.hs256(&expired),
                Ok(()),
                GENUINE,
            )
        }
    }
}

fn verdict(result: &Result<Map<String, Value>, Refused>) -> String {
    match result {
        Ok(claims) => format!(
            "accepted: user_id {}",
            claims.get("user_id").unwrap_or(&Value::Null)
        ),
        Err(refused) => format!("refused: {refused:?}"),
    }
}

#[test]
fn step15_signature_verdicts() {
    let keys = Keys::fixed();
    let policy = keys.policy(1_800_000_000, &[]);
    let claims = guest_claims("snapshot", 1_800_000_000);
    let mut report = String::new();
    for case in 0..SIGNATURE_CASES {
        let (what, token, _, _) =
            signature_case(case, &keys, &claims, b"a key of the attacker's own");
        report.push_str(&format!(
            "{what}\n  {}\n",
            verdict(&sut::verify_signature(&token, &policy))
        ));
    }
    insta::assert_snapshot!("step15_signature_verdicts", report);
}

#[test]
fn step15_forged_and_genuine_tokens_drawn_at_random() {
    let (seed, mut rng) = generator();
    for _ in 0..150 {
        let keys = Keys::drawn(&mut rng);
        let mut policy = keys.policy(1_800_000_000, &[]);
        // The lab's apps took "our one key", the first: the order must not matter.
        let turn = rng.gen_range(0..policy.keys.len());
        policy.keys.rotate_left(turn);
        let claims = guest_claims(
            &random_jti(&mut rng),
            rng.gen_range(1_700_000_000..1_900_000_000),
        );
        let own: Vec<u8> = (0..rng.gen_range(1..40)).map(|_| rng.r#gen()).collect();
        let case = rng.gen_range(0..SIGNATURE_CASES);
        let (what, token, expected, why) = signature_case(case, &keys, &claims, &own);
        let got = sut::verify_signature(&token, &policy);
        match (&expected, &got) {
            (Ok(()), Ok(found)) => assert_eq!(
                found.get("jti"),
                claims.get("jti"),
                "{what}: the claims come back as they were signed (seed {seed})"
            ),
            _ => assert_eq!(
                got.clone().map(|_| ()),
                expected,
                "{what} (our keys: {:?} for HS256, {:?} for RS256, {} for tokens without a kid): \
                 {why}. The token: {token} (seed {seed})",
                keys.hs_kid,
                keys.rsa_kid,
                if keys.plain.is_some() { "one" } else { "none" },
            ),
        }
    }
}

// --- Step 16: the claims --------------------------------------------------------------------

/// The instant the verifier of step 16's tests lives at.
const NOW: i64 = 1_800_000_000;

#[test]
fn step16_claim_verdicts() {
    let keys = Keys::fixed();
    let policy = keys.policy(NOW, &["used-1"]);
    let claims = |token_type: &str, jti: &str, exp: Value| json!({"token_type": token_type, "exp": exp, "iat": NOW - 60, "jti": jti, "user_id": "2"});
    let with = |mut claims: Value, name: &str, value: Value| {
        claims[name] = value;
        claims
    };
    let without = |mut claims: Value, name: &str| {
        claims.as_object_mut().expect("claims").remove(name);
        claims
    };
    let access = claims("access", "a-1", (NOW + 300).into());
    let refresh = claims("refresh", "r-1", (NOW + 86_400).into());
    let used = claims("refresh", "used-1", (NOW + 86_400).into());
    let cases: [(&str, Value, TokenType); 17] = [
        (
            "an access token, five minutes left",
            access.clone(),
            TokenType::Access,
        ),
        (
            "its last second",
            with(access.clone(), "exp", (NOW + 1).into()),
            TokenType::Access,
        ),
        (
            "exp is now",
            with(access.clone(), "exp", NOW.into()),
            TokenType::Access,
        ),
        (
            "expired an hour ago",
            with(access.clone(), "exp", (NOW - 3600).into()),
            TokenType::Access,
        ),
        ("no exp", without(access.clone(), "exp"), TokenType::Access),
        (
            "exp as text",
            with(access.clone(), "exp", (NOW + 300).to_string().into()),
            TokenType::Access,
        ),
        (
            "aud: staging",
            with(access.clone(), "aud", "staging".into()),
            TokenType::Access,
        ),
        (
            "aud: [api]",
            with(access.clone(), "aud", json!(["api"])),
            TokenType::Access,
        ),
        (
            "aud: staging, expired",
            with(
                with(access.clone(), "aud", "staging".into()),
                "exp",
                NOW.into(),
            ),
            TokenType::Access,
        ),
        (
            "a refresh token where an access token goes",
            refresh.clone(),
            TokenType::Access,
        ),
        (
            "an access token where a refresh token goes",
            access.clone(),
            TokenType::Refresh,
        ),
        (
            "no token_type",
            without(access.clone(), "token_type"),
            TokenType::Access,
        ),
        (
            "a refresh token, not used",
            refresh.clone(),
            TokenType::Refresh,
        ),
        (
            "a refresh token already used",
            used.clone(),
            TokenType::Refresh,
        ),
        (
            "an access token whose jti a used refresh token had",
            with(access.clone(), "jti", "used-1".into()),
            TokenType::Access,
        ),
        (
            "a used refresh token, expired",
            with(used.clone(), "exp", (NOW - 1).into()),
            TokenType::Refresh,
        ),
        (
            "step 15 refuses first: good claims, a signature of another key",
            access.clone(),
            TokenType::Access,
        ),
    ];
    let mut report = String::new();
    for (i, (what, claims, route)) in cases.into_iter().enumerate() {
        let token = if i == 16 {
            hs256_token(
                &header_with("HS256", Some(&keys.hs_kid)),
                &claims,
                b"not our key",
            )
        } else {
            keys.hs256(&claims)
        };
        report.push_str(&format!(
            "{what}, for a route taking {} tokens\n  {}\n",
            route.as_str(),
            verdict(&sut::verify(&token, route, &policy))
        ));
    }
    insta::assert_snapshot!("step16_claim_verdicts", report);
}

/// `refused`, unless an earlier check already refused.
fn first_refusal(refused: Refused, expected: &mut Result<(), Refused>) {
    if expected.is_ok() {
        *expected = Err(refused);
    }
}

#[test]
fn step16_claims_drawn_at_random_get_the_first_refusal_that_applies() {
    let (seed, mut rng) = generator();
    let keys = Keys::drawn(&mut rng);
    for _ in 0..300 {
        let now = rng.gen_range(1_700_000_000..1_900_000_000i64);
        let jti = random_jti(&mut rng);
        let used = rng.gen_bool(0.3);
        let used_up: Vec<&str> = if used { vec![&jti] } else { vec![] };
        let policy = keys.policy(now, &used_up);
        let mut claims = json!({"iat": now - 60, "jti": jti, "user_id": "2"});
        let mut expected = Ok(());
        let mut why = Vec::new();
        match rng.gen_range(0..6) {
            0 => {
                first_refusal(Refused::Malformed, &mut expected);
                why.push("no exp: a token without an expiry is not one we issue (Malformed)");
            }
            1 => {
                claims["exp"] = (now + 300).to_string().into();
                first_refusal(Refused::Malformed, &mut expected);
                why.push("exp is text, not a number (Malformed)");
            }
            2 => {
                let ago = if rng.gen_bool(0.3) {
                    0
                } else {
                    rng.gen_range(1..100_000)
                };
                claims["exp"] = (now - ago).into();
                first_refusal(Refused::Expired, &mut expected);
                why.push("exp is not after now, and a token is expired from its exp on (Expired)");
            }
            _ => claims["exp"] = (now + rng.gen_range(1..100_000)).into(),
        }
        if rng.gen_bool(0.3) {
            claims["aud"] = ["staging", "api", "production"][rng.gen_range(0..3)].into();
            first_refusal(Refused::WrongAudience, &mut expected);
            why.push("an aud: we are nobody's audience (WrongAudience)");
        }
        let route = if rng.gen_bool(0.5) {
            TokenType::Access
        } else {
            TokenType::Refresh
        };
        match rng.gen_range(0..5) {
            0 => {
                first_refusal(Refused::WrongType, &mut expected);
                why.push("no token_type (WrongType)");
            }
            1 => {
                let other = match route {
                    TokenType::Access => "refresh",
                    TokenType::Refresh => "access",
                };
                claims["token_type"] = other.into();
                first_refusal(Refused::WrongType, &mut expected);
                why.push("the other token_type (WrongType)");
            }
            _ => claims["token_type"] = route.as_str().into(),
        }
        if used && route == TokenType::Refresh {
            first_refusal(Refused::AlreadyUsed, &mut expected);
            why.push("a refresh token already used (AlreadyUsed)");
        }
        let got = sut::verify(&keys.hs256(&claims), route, &policy);
        assert_eq!(
            got.clone().map(|_| ()),
            expected,
            "claims {claims} at now = {now}, for a route taking {} tokens{}: {}; the first \
             refusal in the order of Refused wins (seed {seed})",
            route.as_str(),
            if used { ", its jti used" } else { "" },
            if why.is_empty() {
                "nothing is wrong with them".to_owned()
            } else {
                why.join(", ")
            }
        );
    }
}

// --- Step 16: every exploit of the chapter against the patched verifier ---------------------

/// An exploit of steps 1 to 14: the target in, the flag out.
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
fn step16_the_patched_verifier_takes_genuine_tokens_and_refuses_every_exploit_of_the_chapter() {
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
                "step 16 runs your exploits of steps 1 to 14; {} failed: {error}",
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
