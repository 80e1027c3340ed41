//! The chapter 7 checks, written once. `tests/beyond.rs` in the exercise crate and in the
//! solution crate both include this file, with `sut` ("system under test") naming their own
//! library, so the exercise and its solution can never be checked differently.
//!
//! Tests are named `stepN_…` after the step of the chapter they check: `cargo run -- check 7`
//! reports the first step that fails and `cargo run -- hint 7` gives hints for it.
//!
//! Ground truth: the HMAC-SHA256 test vectors of RFC 4231 (cases 1, 2 and 5, the last one
//! truncated to 128 bits), the example key set of RFC 7517 Appendix A.1, the ES256 key and
//! token of RFC 7515 Appendix A.3, and reset keys and fingerprints computed independently with
//! Python's `hmac` module. The password hashes are real argon2id hashes (the server's
//! parameters: m=19456, t=2, p=1) of the passwords named beside them, with fixed salts. Every
//! forged token is built here, by hand or with jsonwebtoken, from fixed keys at fixed instants.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256, Sha512};

use crate::sut::service::{Policy, ServiceClaims, verify_service_token};
use crate::sut::{
    Account, Accounts, Email, FINGERPRINT_BYTES, RESET_PAGE, RESET_REQUESTED, Refused,
    confirm_reset, decode_reset_token, derive_key, issue_access_token, issue_reset_token,
    password_fingerprint, request_reset, verify_access_token, verify_reset_token,
};

// --- Fixtures -----------------------------------------------------------------------------

// ANCHOR: fixtures
/// The server's secret in these tests: 32 bytes, fixed, and used nowhere else.
const SERVER_SECRET: &[u8] = b"ch07-fixed-secret-for-tests-only";

/// 2026-11-23 09:00:00 UTC, when the story starts.
const T0: i64 = 1_795_424_400;

/// alice's password, "tulip lantern orbit", as the server stores it.
const ALICE_0: &str = "$argon2id$v=19$m=19456,t=2,p=1$0tQ83nj58h49b0jxaVaJBQ$70Jh1gJFHSIltADF90q4QrmRLDBVXrbCj75Ho0LTz+8";
/// The password she chooses with a reset link, "quiet harbour 42".
const ALICE_1: &str = "$argon2id$v=19$m=19456,t=2,p=1$wlOoyUdKV2b78CZFUbQicw$ZBYECR2oOhd2Wexil3Hn2T4lALuLi456Vr0lW0u9Xz8";
/// The *same* password, "quiet harbour 42", set again later: a new salt, so a new hash.
const ALICE_2: &str = "$argon2id$v=19$m=19456,t=2,p=1$BoewOjDwGQDSpRfDyhiS3w$khDXV+v5nWRTbrDPRFXNlBqBryZuxyuS9x+CxSKTWPs";
// ANCHOR_END: fixtures

/// bob's password, "bob's first password", and the one he resets it to, "bob's second password".
const BOB_0: &str = "$argon2id$v=19$m=19456,t=2,p=1$g9aylEJaVKQ3qxaH1Yh4Tw$4C+ZmlXhwjcps/M5alWCTL/N1o6e8WzfkayzG0ZYuSQ";
const BOB_1: &str = "$argon2id$v=19$m=19456,t=2,p=1$PD2WjrD3F94xIOK0k30MCA$yy/DN9uIjI3OZl/7xIqF1xcSDdvY7uFi3KyYG16//QI";
/// carol's password, "carol is away"; her account is inactive.
const CAROL_0: &str = "$argon2id$v=19$m=19456,t=2,p=1$06qlxMyd95y/YbYun9xuDA$ubjZ3z1SYXdvWnAmkRm/0oBncEyxSklnskhvpw9fp+o";
/// mallory's password, "mallory means mischief": a real account, used to attack the others.
const MALLORY_0: &str = "$argon2id$v=19$m=19456,t=2,p=1$KRSFeNVGAaj2ysDwscSNLQ$H26lZDBxCTvDC1DX0o/clitg+h93gP5Hl81P3C7QrYM";

/// The reset key for `SERVER_SECRET`, HMAC-SHA256(secret, "password-reset"), from Python.
const RESET_KEY_HEX: &str = "f1f2bf6f32b0614da4ce8022057dd86408d0fb853b645bdbc652c838eb28379a";
/// The email-verification key, HMAC-SHA256(secret, "email-verification"), from Python.
const VERIFICATION_KEY_HEX: &str =
    "0e9ff3eb4a70a8037c202c28868cdbe62316afe361c2ed54eeebc36f65d75737";
/// alice's first fingerprint under the reset key, from Python.
const ALICE_0_FINGERPRINT: &str = "dr5H41D-qcdVGjBkFM5C8g";

fn account(id: u64, username: &str, email: &str, password_hash: &str, active: bool) -> Account {
    Account {
        id,
        username: username.to_string(),
        email: email.to_string(),
        password_hash: password_hash.to_string(),
        active,
    }
}

/// The server's accounts at the start of every test.
fn accounts() -> Accounts {
    Accounts::new(vec![
        account(1, "alice", "alice@example.com", ALICE_0, true),
        account(2, "bob", "bob@example.com", BOB_0, true),
        account(3, "carol", "carol@example.com", CAROL_0, false),
        account(4, "mallory", "mallory@example.net", MALLORY_0, true),
        account(5, "dave", "", ALICE_0, true),
    ])
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A compact JWS made by hand: whatever header and claims, signed with HMAC-SHA256 or
/// HMAC-SHA512 under `key`, or unsigned.
fn hand_made(header: &Value, claims: &Value, key: Option<&[u8]>) -> String {
    let message = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let signature = match (key, header["alg"].as_str()) {
        (Some(key), Some("HS512")) => {
            let mut mac = Hmac::<Sha512>::new_from_slice(key).unwrap();
            mac.update(message.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        (Some(key), _) => hmac_sha256(key, message.as_bytes()),
        (None, _) => Vec::new(),
    };
    format!("{message}.{}", b64(&signature))
}

/// The claims of a reset token as the server writes them, for account `sub` at `iat`.
fn reset_claims(sub: &str, fingerprint: &str, iat: i64) -> Value {
    json!({
        "token_type": "password_reset",
        "aud": "password-reset",
        "sub": sub,
        "iat": iat,
        "exp": iat + 1800,
        "pwd_fp": fingerprint,
    })
}

fn hs(alg: &str) -> Value {
    json!({"typ": "JWT", "alg": alg})
}

/// A segment's JSON.
fn segment_json(segment: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
}

/// `09:04:30` for an instant of the story's day.
fn clock(t: i64) -> String {
    let s = t.rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", s / 3600, s % 3600 / 60, s % 60)
}

/// An instant of the story's day.
fn at(hours: i64, minutes: i64, seconds: i64) -> i64 {
    T0 - 9 * 3600 + hours * 3600 + minutes * 60 + seconds
}

/// What went wrong in a key derivation, when the tests can tell.
fn derivation_mistake(derived: &[u8], secret: &[u8], label: &str) -> String {
    if derived == hmac_sha256(label.as_bytes(), secret).as_slice() {
        "the key and the message are swapped: the server's secret is the HMAC key, the label \
         the message"
            .to_string()
    } else if derived[..] == Sha256::digest([secret, label.as_bytes()].concat())[..] {
        "a plain SHA-256 of the secret and the label is not HMAC (and is open to length \
         extension)"
            .to_string()
    } else {
        "HMAC-SHA256 of the label, keyed with the secret".to_string()
    }
}

/// What went wrong in a fingerprint, when the tests can tell.
fn fingerprint_mistake(fingerprint: &str, key: &[u8], hash: &str) -> String {
    let mac = hmac_sha256(key, hash.as_bytes());
    if fingerprint == b64(&mac) {
        format!("the whole HMAC, 32 bytes: a fingerprint keeps its first {FINGERPRINT_BYTES}")
    } else if fingerprint.ends_with('=') || fingerprint.contains(['+', '/']) {
        "base64url without padding, the alphabet of tokens: no `+`, `/` or `=`".to_string()
    } else if fingerprint == b64(&hmac_sha256(hash.as_bytes(), key)[..16]) {
        "the key and the message are swapped: `key` is the HMAC key, the hash the message"
            .to_string()
    } else {
        format!(
            "the first {FINGERPRINT_BYTES} bytes of HMAC-SHA256 of the hash's text, keyed with \
             `key`, in base64url"
        )
    }
}

// --- Step 0: a warm-up ------------------------------------------------------------------------

#[test]
fn step0_a_compact_token_fits_in_a_url_as_it_is() {
    use crate::sut::fits_in_a_url;
    assert!(fits_in_a_url(
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    ));
    for refused in [
        "a+b.c.d",
        "a/b.c.d",
        "abc=.d.e",
        "a b.c.d",
        "a%2Bb.c.d",
        "é.a.b",
    ] {
        assert!(
            !fits_in_a_url(refused),
            "{refused:?} has a character outside base64url's alphabet and the dot, which a URL \
             would need percent-encoded"
        );
    }
    for byte in 0..=127u8 {
        let allowed = byte.is_ascii_alphanumeric() || b"-_.".contains(&byte);
        let token = format!("ab{}cd", byte as char);
        assert_eq!(
            fits_in_a_url(&token),
            allowed,
            "byte {byte} ({:?}): base64url is A-Z, a-z, 0-9, - and _, and tokens add the dot",
            byte as char
        );
    }
}

// --- Step 1: a key for each purpose ---------------------------------------------------------

#[test]
fn step1_derive_key_is_hmac_sha256_of_the_label() {
    // RFC 4231 test case 2: the key "Jefe", the message "what do ya want for nothing?".
    let derived = derive_key(b"Jefe", "what do ya want for nothing?").to_vec();
    assert_eq!(
        derived,
        hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        "{}",
        derivation_mistake(&derived, b"Jefe", "what do ya want for nothing?")
    );
    // RFC 4231 test case 1: twenty 0x0b bytes, "Hi There".
    let derived = derive_key(&[0x0b; 20], "Hi There").to_vec();
    assert_eq!(
        derived,
        hex("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        "{}",
        derivation_mistake(&derived, &[0x0b; 20], "Hi There")
    );
}

#[test]
fn step1_each_purpose_gets_its_own_key() {
    let reset = derive_key(SERVER_SECRET, "password-reset");
    let verification = derive_key(SERVER_SECRET, "email-verification");
    assert_eq!(
        reset.to_vec(),
        hex(RESET_KEY_HEX),
        "the reset key of the test secret: {}",
        derivation_mistake(&reset, SERVER_SECRET, "password-reset")
    );
    assert_eq!(
        verification.to_vec(),
        hex(VERIFICATION_KEY_HEX),
        "the verification key of the test secret: {}",
        derivation_mistake(&verification, SERVER_SECRET, "email-verification")
    );
    assert_ne!(reset, verification);
    assert_ne!(&reset[..], SERVER_SECRET, "never the secret itself");
}

// --- Step 2: the password fingerprint --------------------------------------------------------

#[test]
fn step2_a_fingerprint_is_a_truncated_hmac_in_base64url() {
    // RFC 4231 test case 5: twenty 0x0c bytes, "Test With Truncation", truncated to 128 bits:
    // a3b6167473100ee06e0c796c2955552b.
    let fingerprint = password_fingerprint(&[0x0c; 20], "Test With Truncation");
    assert_eq!(
        fingerprint,
        "o7YWdHMQDuBuDHlsKVVVKw",
        "{}",
        fingerprint_mistake(&fingerprint, &[0x0c; 20], "Test With Truncation")
    );
    assert_eq!(FINGERPRINT_BYTES, 16);
    let fingerprint = password_fingerprint(&hex(RESET_KEY_HEX), ALICE_0);
    assert_eq!(
        fingerprint,
        ALICE_0_FINGERPRINT,
        "alice's hash under the reset key: {}",
        fingerprint_mistake(&fingerprint, &hex(RESET_KEY_HEX), ALICE_0)
    );
}

#[test]
fn step2_the_fingerprint_follows_the_hash_and_the_key() {
    let key = hex(RESET_KEY_HEX);
    let first = password_fingerprint(&key, ALICE_0);
    assert_eq!(first.len(), 22, "16 bytes are 22 base64url characters");
    assert_eq!(first, password_fingerprint(&key, ALICE_0), "deterministic");
    assert_ne!(first, password_fingerprint(&key, ALICE_1), "a new password");
    assert_ne!(
        password_fingerprint(&key, ALICE_1),
        password_fingerprint(&key, ALICE_2),
        "the same password with a new salt"
    );
    assert_ne!(
        first,
        password_fingerprint(&hex(VERIFICATION_KEY_HEX), ALICE_0),
        "another key"
    );
    // Unkeyed, it would be a plain hash of the hash, which anyone holding the hash can match.
    let unkeyed = b64(&Sha256::digest(ALICE_0.as_bytes())[..16]);
    assert_ne!(
        first, unkeyed,
        "a plain SHA-256 of the hash: whoever holds the hashes can match links to accounts; the \
         fingerprint must depend on the key"
    );
}

// --- Step 3: issue a reset token ------------------------------------------------------------

#[test]
fn step3_a_reset_token_says_what_it_is_for() {
    let accounts = accounts();
    let token = issue_reset_token(SERVER_SECRET, accounts.get(1).unwrap(), T0);
    let segments: Vec<&str> = token.split('.').collect();
    assert_eq!(segments.len(), 3, "a compact JWS: {token}");
    assert_eq!(
        segment_json(segments[0]),
        hs("HS256"),
        "the header of an HS256 JWT, as jsonwebtoken writes it"
    );
    let claims = segment_json(segments[1]);
    let with_secret = password_fingerprint_by_hand(SERVER_SECRET, ALICE_0);
    assert_ne!(
        claims["pwd_fp"],
        json!(with_secret),
        "the fingerprint was made with the server's secret: like everything about a reset \
         token, it is made with the reset key"
    );
    assert_eq!(
        claims,
        reset_claims("1", ALICE_0_FINGERPRINT, T0),
        "alice's reset claims at T0: her id as a string, a 30-minute lifetime, her fingerprint"
    );
    let names: Vec<&str> = claims
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        names,
        ["token_type", "aud", "sub", "iat", "exp", "pwd_fp"],
        "the claims in the order of `ResetClaims`' fields, which serializing the struct keeps \
         (a map built by hand may not)"
    );
}

#[test]
fn step3_it_is_signed_with_the_reset_key_not_the_secret() {
    let accounts = accounts();
    let token = issue_reset_token(SERVER_SECRET, accounts.get(1).unwrap(), T0);
    let (message, signature) = token.rsplit_once('.').unwrap();
    let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    assert_ne!(
        signature,
        hmac_sha256(SERVER_SECRET, message.as_bytes()),
        "signed with the server's secret itself, as access tokens are: a reset token is signed \
         with the reset key, so that no other verifier can accept it"
    );
    assert_eq!(
        signature,
        hmac_sha256(&hex(RESET_KEY_HEX), message.as_bytes()),
        "HMAC-SHA256 with the reset key"
    );
}

#[test]
fn step3_the_reset_token_for_alice() {
    let accounts = accounts();
    let token = issue_reset_token(SERVER_SECRET, accounts.get(1).unwrap(), T0);
    let segments: Vec<&str> = token.split('.').collect();
    let report = format!(
        "{token}\n\nheader:  {}\nclaims:  {}\n",
        segment_json(segments[0]),
        segment_json(segments[1])
    );
    insta::assert_snapshot!("step3_reset_token", report);
}

// --- Step 4: what jsonwebtoken checks ----------------------------------------------------------

#[test]
fn step4_a_reset_token_decodes_to_its_claims_even_long_expired() {
    let key = hex(RESET_KEY_HEX);
    // Issued in 2011: jsonwebtoken must not look at the system clock; step 5 compares with `now`.
    for iat in [T0, 1_300_000_000, T0 + rand::random::<u32>() as i64] {
        let claims = reset_claims(&rand::random::<u16>().to_string(), ALICE_0_FINGERPRINT, iat);
        let token = hand_made(&hs("HS256"), &claims, Some(&key));
        let decoded = decode_reset_token(&key, &token).unwrap_or_else(|refused| {
            panic!(
                "{claims}, issued at {iat}, was refused as {refused:?}. Whatever its exp, this \
                 step judges no time (step 5 compares exp with `now`): jsonwebtoken compares exp \
                 with the system clock unless told not to"
            )
        });
        assert_eq!(
            (decoded.sub.as_str(), decoded.iat, decoded.exp),
            (claims["sub"].as_str().unwrap(), iat, iat + 1800),
            "the claims as the token has them"
        );
        assert_eq!(decoded.pwd_fp, ALICE_0_FINGERPRINT);
    }
}

#[test]
fn step4_the_library_refuses_what_it_can_judge() {
    let key = hex(RESET_KEY_HEX);
    let good = reset_claims("1", ALICE_0_FINGERPRINT, T0);
    let mut other_key = key.clone();
    other_key[0] ^= 1;
    let mut for_someone_else = good.clone();
    for_someone_else["aud"] = json!("email-verification");
    let mut without_sub = good.clone();
    without_sub.as_object_mut().unwrap().remove("sub");
    let cases = [
        (
            "another key",
            hand_made(&hs("HS256"), &good, Some(&other_key)),
            Refused::BadSignature,
            "the library's InvalidSignature",
        ),
        (
            "HS512 with the right key",
            hand_made(&hs("HS512"), &good, Some(&key)),
            Refused::BadSignature,
            "HS256 and nothing else: the library's InvalidAlgorithm is a bad signature too",
        ),
        (
            "another audience",
            hand_made(&hs("HS256"), &for_someone_else, Some(&key)),
            Refused::WrongAudience,
            "the reset audience is expected: the library's InvalidAudience",
        ),
        (
            "no sub",
            hand_made(&hs("HS256"), &without_sub, Some(&key)),
            Refused::Malformed,
            "sub is a required claim, which the library checks only when told to",
        ),
        (
            "not a JWT",
            "not.a.jwt".to_string(),
            Refused::Malformed,
            "whatever else the library refuses",
        ),
    ];
    for (what, token, expected, why) in cases {
        assert_eq!(
            decode_reset_token(&key, &token).map(|_| ()),
            Err(expected),
            "{what}: {why}"
        );
    }
}

// --- Step 5: verify a reset token ------------------------------------------------------------

#[test]
fn step5_a_fresh_link_names_its_account() {
    let key = hex(RESET_KEY_HEX);
    let token = hand_made(
        &hs("HS256"),
        &reset_claims("1", ALICE_0_FINGERPRINT, T0),
        Some(&key),
    );
    assert_eq!(
        verify_reset_token(SERVER_SECRET, &accounts(), &token, T0),
        Ok(1),
        "alice's fresh link, at the instant it was issued"
    );
    assert_eq!(
        verify_reset_token(SERVER_SECRET, &accounts(), &token, T0 + 1799),
        Ok(1),
        "the link's last second"
    );
    assert_eq!(
        verify_reset_token(SERVER_SECRET, &accounts(), &token, T0 + 1800),
        Err(Refused::Expired { exp: T0 + 1800 }),
        "at exp itself the link has expired, with no leeway: this server issued it and checks \
         it with the same clock"
    );
}

#[test]
fn step5_every_misuse_is_refused_with_its_reason() {
    let key = hex(RESET_KEY_HEX);
    let verification_key = hex(VERIFICATION_KEY_HEX);
    let fp = |hash: &str| password_fingerprint_by_hand(&key, hash);
    let alice = reset_claims("1", &fp(ALICE_0), T0);
    let good = hand_made(&hs("HS256"), &alice, Some(&key));

    let mut after_reset = accounts();
    after_reset.set_password_hash(1, ALICE_1);
    let mut same_password_again = accounts();
    same_password_again.set_password_hash(1, ALICE_2);
    let link_after_reset = hand_made(
        &hs("HS256"),
        &reset_claims("1", &fp(ALICE_1), T0),
        Some(&key),
    );

    let access = json!({"token_type": "access", "exp": T0 + 300, "iat": T0, "user_id": "1"});
    let mallory = hand_made(
        &hs("HS256"),
        &reset_claims("4", &fp(MALLORY_0), T0),
        Some(&key),
    );
    let edited = {
        let segments: Vec<&str> = mallory.split('.').collect();
        let claims = reset_claims("1", &fp(MALLORY_0), T0);
        format!(
            "{}.{}.{}",
            segments[0],
            b64(claims.to_string().as_bytes()),
            segments[2]
        )
    };
    let with = |name: &str, value: Value| {
        let mut claims = alice.clone();
        claims[name] = value;
        claims
    };
    let without = |name: &str| {
        let mut claims = alice.clone();
        claims.as_object_mut().unwrap().remove(name);
        claims
    };

    let start = accounts();
    let cases: Vec<(&str, String, &Accounts, i64)> = vec![
        (
            "a fresh link, a minute later",
            good.clone(),
            &start,
            T0 + 60,
        ),
        (
            "the same link in its last second",
            good.clone(),
            &start,
            T0 + 1799,
        ),
        (
            "the same link when it expires",
            good.clone(),
            &start,
            T0 + 1800,
        ),
        (
            "the link after alice reset her password with it",
            good.clone(),
            &after_reset,
            T0 + 60,
        ),
        (
            "a link sent after that reset, once she set the same password again",
            link_after_reset,
            &same_password_again,
            T0 + 60,
        ),
        (
            "carol's link (her account is inactive)",
            hand_made(
                &hs("HS256"),
                &reset_claims("3", &fp(CAROL_0), T0),
                Some(&key),
            ),
            &start,
            T0 + 60,
        ),
        (
            "a link for account 99, which does not exist",
            hand_made(
                &hs("HS256"),
                &reset_claims("99", &fp(ALICE_0), T0),
                Some(&key),
            ),
            &start,
            T0 + 60,
        ),
        (
            "sub is a username, not an id",
            hand_made(&hs("HS256"), &with("sub", json!("alice")), Some(&key)),
            &start,
            T0 + 60,
        ),
        (
            "alice's access token",
            hand_made(&hs("HS256"), &access, Some(SERVER_SECRET)),
            &start,
            T0 + 60,
        ),
        (
            "reset claims, signed with the server's secret itself",
            hand_made(&hs("HS256"), &alice, Some(SERVER_SECRET)),
            &start,
            T0 + 60,
        ),
        (
            "reset claims, signed with the email-verification key",
            hand_made(&hs("HS256"), &alice, Some(&verification_key)),
            &start,
            T0 + 60,
        ),
        (
            "mallory's own link, sub edited to alice's id",
            edited,
            &start,
            T0 + 60,
        ),
        (
            "alg none, no signature",
            hand_made(&json!({"alg": "none"}), &alice, None),
            &start,
            T0 + 60,
        ),
        (
            "HS512 with the reset key",
            hand_made(&hs("HS512"), &alice, Some(&key)),
            &start,
            T0 + 60,
        ),
        (
            "the reset key, but token_type access",
            hand_made(
                &hs("HS256"),
                &with("token_type", json!("access")),
                Some(&key),
            ),
            &start,
            T0 + 60,
        ),
        (
            "the reset key, but aud email-verification",
            hand_made(
                &hs("HS256"),
                &with("aud", json!("email-verification")),
                Some(&key),
            ),
            &start,
            T0 + 60,
        ),
        (
            "the reset key, but no pwd_fp",
            hand_made(&hs("HS256"), &without("pwd_fp"), Some(&key)),
            &start,
            T0 + 60,
        ),
        (
            "the reset key, but no token_type",
            hand_made(&hs("HS256"), &without("token_type"), Some(&key)),
            &start,
            T0 + 60,
        ),
        (
            "the reset key, but exp written as a string",
            hand_made(&hs("HS256"), &with("exp", json!("1795426200")), Some(&key)),
            &start,
            T0 + 60,
        ),
        (
            "not a JWT at all",
            "password-reset-please".to_string(),
            &start,
            T0 + 60,
        ),
    ];
    let mut report = String::new();
    for (what, token, accounts, now) in cases {
        let verdict = match verify_reset_token(SERVER_SECRET, accounts, &token, now) {
            Ok(id) => format!("accepted: account {id}"),
            Err(refused) => format!("{refused:?}\n    {refused}"),
        };
        report.push_str(&format!("{what} (at {}): {verdict}\n", clock(now)));
    }
    insta::assert_snapshot!("step5_refusals", report);
}

/// Step 2 by hand, so that step 5's tokens do not depend on the learner's step 2.
fn password_fingerprint_by_hand(key: &[u8], password_hash: &str) -> String {
    b64(&hmac_sha256(key, password_hash.as_bytes())[..16])
}

// --- Step 6: the whole flow ------------------------------------------------------------------

/// The token in a reset message's link.
fn token_in(message: &Email) -> String {
    let link = message
        .body
        .lines()
        .find(|line| line.starts_with("https://"))
        .expect("the message has a link");
    let (page, token) = link.split_once("#token=").unwrap_or_else(|| {
        panic!(
            "{link}: the token goes after `#token=`, in the fragment, which the browser never \
             sends to a server (nor to its logs)"
        )
    });
    assert_eq!(page, RESET_PAGE, "the link opens the reset page");
    token.to_string()
}

#[test]
fn step6_only_an_active_account_with_an_address_gets_a_message() {
    let accounts = accounts();
    let message = request_reset(SERVER_SECRET, &accounts, "alice", T0).expect("alice gets a link");
    assert_eq!(message.to, "alice@example.com");
    assert_eq!(
        token_in(&message),
        hand_made(
            &hs("HS256"),
            &reset_claims("1", ALICE_0_FINGERPRINT, T0),
            Some(&hex(RESET_KEY_HEX))
        )
    );
    for (nobody, why) in [
        ("nobody", "no such account"),
        ("carol", "her account is inactive"),
        ("dave", "he gave no email address"),
        ("Alice", "usernames are case-sensitive: this is not alice"),
        ("", "no such account"),
    ] {
        assert_eq!(
            request_reset(SERVER_SECRET, &accounts, nobody, T0),
            None,
            "no message for {nobody:?}: {why}"
        );
    }
}

#[test]
fn step6_the_link_puts_the_token_in_the_fragment() {
    let message = request_reset(SERVER_SECRET, &accounts(), "bob", T0).unwrap();
    let link = message
        .body
        .lines()
        .find(|line| line.starts_with("https://"))
        .unwrap();
    assert!(
        link.starts_with("https://app.example.com/reset-password#token=eyJ"),
        "{link}"
    );
    assert!(!link.contains('?'), "no query string: {link}");
}

#[test]
fn step6_a_link_works_once() {
    let mut accounts = accounts();
    let message = request_reset(SERVER_SECRET, &accounts, "alice", T0).unwrap();
    let token = token_in(&message);
    assert_eq!(
        confirm_reset(SERVER_SECRET, &mut accounts, &token, ALICE_1, T0 + 240),
        Ok(1),
        "alice's link, four minutes after it was sent"
    );
    assert_eq!(
        accounts.get(1).unwrap().password_hash,
        ALICE_1,
        "a confirmed reset stores the new password's hash"
    );
    assert_eq!(
        confirm_reset(SERVER_SECRET, &mut accounts, &token, ALICE_2, T0 + 270),
        Err(Refused::PasswordChanged),
        "the same link again: storing the new hash changed the fingerprint, which used the link up"
    );
    assert_eq!(
        accounts.get(1).unwrap().password_hash,
        ALICE_1,
        "a refused link changes nothing: verify before storing"
    );
}

/// The story's log: what each request got, as the server and the outbox saw it.
struct Story {
    accounts: Accounts,
    log: String,
    shown_a_message: bool,
}

impl Story {
    fn line(&mut self, now: i64, text: &str) {
        self.log.push_str(&format!("{}  {text}\n", clock(now)));
    }

    fn more(&mut self, text: &str) {
        self.log.push_str(&format!("          {text}\n"));
    }

    /// `POST /api/password/reset/`; returns the link's token, if a message was sent.
    fn request(&mut self, now: i64, username: &str, link: &str) -> Option<String> {
        self.line(
            now,
            &format!("POST /api/password/reset/ {{\"username\": {username:?}}}"),
        );
        self.more(&format!("200 {{\"detail\": {RESET_REQUESTED:?}}}"));
        match request_reset(SERVER_SECRET, &self.accounts, username, now) {
            None => {
                self.more("outbox: nothing");
                None
            }
            Some(message) => {
                self.more(&format!(
                    "outbox: a message to {}, with link {link}",
                    message.to
                ));
                if !self.shown_a_message {
                    self.shown_a_message = true;
                    for line in message.to_string().lines() {
                        self.log.push_str(&format!("            | {line}\n"));
                    }
                }
                Some(token_in(&message))
            }
        }
    }

    /// `POST /api/password/reset/confirm/`.
    fn confirm(&mut self, now: i64, who: &str, token: &str, what: &str, new_hash: &str) {
        self.line(
            now,
            &format!("{who}: POST /api/password/reset/confirm/ with {what}"),
        );
        match confirm_reset(SERVER_SECRET, &mut self.accounts, token, new_hash, now) {
            Ok(id) => self.more(&format!(
                "accepted: account {id} has a new password (and the server ends its sessions)"
            )),
            Err(refused) => self.more(&format!("refused, {refused:?}: {refused}")),
        }
    }
}

#[test]
fn step6_the_whole_story() {
    let mut story = Story {
        accounts: accounts(),
        log: String::new(),
        shown_a_message: false,
    };

    // alice forgot her password. Strangers ask for accounts that do not exist or cannot log in.
    let a = story.request(at(9, 0, 0), "alice", "A").unwrap();
    story.request(at(9, 0, 5), "nobody", "-");
    story.request(at(9, 0, 10), "carol", "-");
    // She uses the link, and a copy of it is tried again later.
    story.confirm(at(9, 4, 0), "alice", &a, "link A", ALICE_1);
    story.confirm(
        at(9, 4, 30),
        "someone with alice's mailbox",
        &a,
        "link A",
        MALLORY_0,
    );

    // bob asks twice, because the first message is slow, then uses the second one.
    let b = story.request(at(9, 20, 0), "bob", "B").unwrap();
    let c = story.request(at(9, 22, 0), "bob", "C").unwrap();
    story.confirm(at(9, 23, 0), "bob", &c, "link C", BOB_1);
    story.confirm(at(9, 25, 0), "bob", &b, "link B", BOB_0);

    // alice asks again, then remembers her password and changes it in her settings instead
    // (to the same password, which gets a new salt).
    let d = story.request(at(10, 0, 0), "alice", "D").unwrap();
    story.line(
        at(10, 5, 0),
        "alice changes her password in her settings (POST /api/password/change/)",
    );
    story.accounts.set_password_hash(1, ALICE_2);
    story.confirm(at(10, 6, 0), "alice", &d, "link D", ALICE_1);

    // A link that waited too long in an inbox.
    let e = story.request(at(11, 0, 0), "alice", "E").unwrap();
    story.confirm(at(11, 31, 0), "alice", &e, "link E", ALICE_1);

    // mallory has an account of her own, and tries her tokens where they do not belong.
    let access = issue_access_token(SERVER_SECRET, 4, at(12, 0, 0));
    story.line(at(12, 0, 0), "mallory logs in and gets an access token");
    story.confirm(
        at(12, 0, 10),
        "mallory",
        &access,
        "her access token",
        MALLORY_0,
    );
    let f = story.request(at(12, 1, 0), "mallory", "F").unwrap();
    let edited = {
        let segments: Vec<&str> = f.split('.').collect();
        let mut claims = segment_json(segments[1]);
        claims["sub"] = json!("1");
        format!(
            "{}.{}.{}",
            segments[0],
            b64(claims.to_string().as_bytes()),
            segments[2]
        )
    };
    story.confirm(
        at(12, 1, 30),
        "mallory",
        &edited,
        "link F, its sub edited to \"1\"",
        MALLORY_0,
    );
    story.line(
        at(12, 2, 0),
        "mallory: GET /api/me/ with Authorization: Bearer <link F's token>",
    );
    let verdict = match verify_access_token(SERVER_SECRET, &f, at(12, 2, 0)) {
        Ok(id) => format!("accepted as user {id}"),
        Err(refused) => format!("401, {refused:?}: {refused}"),
    };
    story.more(&verdict);

    assert_eq!(story.accounts.get(1).unwrap().password_hash, ALICE_2);
    assert_eq!(story.accounts.get(2).unwrap().password_hash, BOB_1);
    assert_eq!(story.accounts.get(4).unwrap().password_hash, MALLORY_0);
    insta::assert_snapshot!("step6_story", story.log);
}

// --- Step 7: a service token, checked through a JWK Set ------------------------------------

// ANCHOR: jwks
/// The auth server's published keys, `GET https://auth.example.com/.well-known/jwks.json`.
/// The first is RFC 7515 Appendix A.3's P-256 key, with its RFC 7638 thumbprint as `kid`: the
/// one that signs. The other two are RFC 7517 Appendix A.1's example set, verbatim: an RSA key
/// for RS256, and an EC key whose `use` is `enc`, for encryption.
const JWKS: &str = r#"{"keys":[
  {"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
   "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
   "kid":"oKIywvGUpTVTyxMQ3bwIIeQUudfr_CkLMjCE19ECD-U","alg":"ES256","use":"sig"},
  {"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
   "e":"AQAB","alg":"RS256","kid":"2011-04-29"},
  {"kty":"EC","crv":"P-256","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
   "y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM","use":"enc","kid":"1"}
]}"#;

/// What the billing service accepts.
fn billing_policy() -> Policy {
    Policy {
        algorithm: Algorithm::ES256,
        issuer: "https://auth.example.com".to_string(),
        audience: "billing".to_string(),
    }
}
// ANCHOR_END: jwks

/// The kid the auth server signs with.
const KID: &str = "oKIywvGUpTVTyxMQ3bwIIeQUudfr_CkLMjCE19ECD-U";

/// RFC 7515 Appendix A.3: a genuine ES256 token from the same key, with no `kid`.
const A3_TOKEN: &str = "eyJhbGciOiJFUzI1NiJ9\
    .eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ\
    .DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

/// The private half of RFC 7515 A.3's key, as PKCS#8 DER: the fixed 35-byte prefix that says
/// "an EC private key on P-256" followed by the 32 bytes of `d`.
fn auth_server_key() -> EncodingKey {
    let d = URL_SAFE_NO_PAD
        .decode("jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI")
        .unwrap();
    let mut der = hex("3041020100301306072a8648ce3d020106082a8648ce3d030107042730250201010420");
    der.extend_from_slice(&d);
    EncodingKey::from_ec_der(&der)
}

/// A service token for `reports` calling `billing`, issued at T0 for five minutes.
fn service_claims() -> Value {
    json!({
        "iss": "https://auth.example.com",
        "sub": "reports",
        "aud": "billing",
        "iat": T0,
        "exp": T0 + 300,
    })
}

/// ES256 with the auth server's key, under a header with this `kid` (and `jku`, if any).
fn service_token(kid: Option<&str>, jku: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = kid.map(str::to_string);
    header.jku = jku.map(str::to_string);
    jsonwebtoken::encode(&header, claims, &auth_server_key()).unwrap()
}

fn jwks() -> JwkSet {
    serde_json::from_str(JWKS).expect("the set parses")
}

#[test]
fn step7_a_token_signed_with_a_published_key_is_accepted() {
    let token = service_token(Some(KID), None, &service_claims());
    assert_eq!(
        verify_service_token(&jwks(), &billing_policy(), &token, T0 + 10),
        Ok(ServiceClaims {
            iss: "https://auth.example.com".to_string(),
            sub: "reports".to_string(),
            iat: T0,
            exp: T0 + 300,
        }),
        "a token signed with the published key the header's kid names, ten seconds after it \
         was issued"
    );
}

#[test]
fn step7_every_wrong_key_issuer_and_audience_is_refused() {
    let claims = service_claims();
    let with = |name: &str, value: Value| {
        let mut changed = claims.clone();
        changed[name] = value;
        changed
    };
    let good = service_token(Some(KID), None, &claims);
    let tampered = {
        let segments: Vec<&str> = good.split('.').collect();
        let payload = b64(with("sub", json!("admin")).to_string().as_bytes());
        format!("{}.{payload}.{}", segments[0], segments[2])
    };
    let confused = hand_made(
        &json!({"typ": "JWT", "alg": "HS256", "kid": KID}),
        &claims,
        Some(JWKS.as_bytes()),
    );
    let unsigned = hand_made(&json!({"alg": "none", "kid": KID}), &claims, None);
    let mut no_subject = claims.clone();
    no_subject.as_object_mut().unwrap().remove("sub");

    let cases: Vec<(&str, String, i64)> = vec![
        ("a token from the auth server", good.clone(), T0 + 10),
        ("the same token in its last second", good.clone(), T0 + 299),
        ("the same token when it expires", good, T0 + 300),
        (
            "aud lists two services, billing among them",
            service_token(Some(KID), None, &with("aud", json!(["ledger", "billing"]))),
            T0 + 10,
        ),
        (
            "a token meant for the reports service",
            service_token(Some(KID), None, &with("aud", json!("reports"))),
            T0 + 10,
        ),
        (
            "a token from the staging auth server, which shares the key",
            service_token(
                Some(KID),
                None,
                &with("iss", json!("https://auth.staging.example.com")),
            ),
            T0 + 10,
        ),
        (
            "RFC 7515 A.3's token: the right key, but no kid",
            A3_TOKEN.to_string(),
            T0,
        ),
        (
            "a kid the set does not have",
            service_token(Some("2026-11-rotated"), None, &claims),
            T0 + 10,
        ),
        (
            "a jku pointing at the attacker's own key set",
            service_token(
                Some("attacker-1"),
                Some("https://attacker.example/jwks.json"),
                &claims,
            ),
            T0 + 10,
        ),
        (
            "the kid of the RS256 key",
            service_token(Some("2011-04-29"), None, &claims),
            T0 + 10,
        ),
        (
            "the kid of the encryption key",
            service_token(Some("1"), None, &claims),
            T0 + 10,
        ),
        ("HS256 keyed with the published set", confused, T0 + 10),
        ("alg none", unsigned, T0 + 10),
        ("sub edited to admin after signing", tampered, T0 + 10),
        (
            "no sub",
            service_token(Some(KID), None, &no_subject),
            T0 + 10,
        ),
    ];
    let mut report = String::new();
    for (what, token, now) in cases {
        let verdict = match verify_service_token(&jwks(), &billing_policy(), &token, now) {
            Ok(claims) => format!("accepted: {:?} calling, from {}", claims.sub, claims.iss),
            Err(refused) => format!("{refused:?}\n    {refused}"),
        };
        report.push_str(&format!("{what} (at {}): {verdict}\n", clock(now)));
    }
    insta::assert_snapshot!("step7_refusals", report);
}

// --- Steps 7 to 10: encrypted tokens (JWE) --------------------------------------------------

mod jwe {
    use super::*;
    use crate::sut::jwe::{
        JweError, NESTED_HEADER, decrypt_a128kw_cbc_hs256, decrypt_rsa_oaep_a256gcm,
        encrypt_rsa_oaep_a256gcm, open, parts, seal,
    };
    use aes_gcm::aead::{Aead, KeyInit, Payload};
    use jsonwebtoken::DecodingKey;
    use rand::Rng;
    use rsa::{BigUint, Oaep, RsaPrivateKey, RsaPublicKey};

    // ANCHOR: rfc7516
    /// RFC 7516 Appendix A.3: `A128KW` with `A128CBC-HS256`, under this shared key.
    pub const A3_KEY: &str = "GawgguFyGrWKav7AX4VKUg";
    pub const A3_TOKEN: &str = "eyJhbGciOiJBMTI4S1ciLCJlbmMiOiJBMTI4Q0JDLUhTMjU2In0\
        .6KB707dM9YTIgHtLvtgWQ8mKwboJW3of9locizkDTHzBC2IlrT1oOQ\
        .AxY8DCtDaGlsbGljb3RoZQ\
        .KDlTtXchhZTGufMYmOYGS4HffxPSUrfmqCHXaI9wOGY\
        .U0m_YmjN04DJvceFICbCVQ";
    pub const A3_PLAINTEXT: &str = "Live long and prosper.";

    /// RFC 7516 Appendix A.1: `RSA-OAEP` with `A256GCM`, for this 2048-bit RSA key (`e` is
    /// 65537; the primes are recovered from `n`, `e` and `d`).
    pub const A1_N: &str = "oahUIoWw0K0usKNuOR6H4wkf4oBUXHTxRvgb48E-BVvxkeDNjbC4he8rUWcJoZmds2h7M70imEVhRU5djINXtqllXI4DFqcI1DgjT9LewND8MW2Krf3Spsk_ZkoFnilakGygTwpZ3uesH-PFABNIUYpOiN15dsQRkgr0vEhxN92i2asbOenSZeyaxziK72UwxrrKoExv6kc5twXTq4h-QChLOln0_mtUZwfsRaMStPs6mS6XrgxnxbWhojf663tuEQueGC-FCMfra36C9knDFGzKsNa7LZK2djYgyD3JR_MB_4NUJW_TqOQtwHYbxevoJArm-L5StowjzGy-_bq6Gw";
    pub const A1_D: &str = "kLdtIj6GbDks_ApCSTYQtelcNttlKiOyPzMrXHeI-yk1F7-kpDxY4-WY5NWV5KntaEeXS1j82E375xxhWMHXyvjYecPT9fpwR_M9gV8n9Hrh2anTpTD93Dt62ypW3yDsJzBnTnrYu1iwWRgBKrEYY46qAZIrA2xAwnm2X7uGR1hghkqDp0Vqj3kbSCz1XyfCs6_LehBwtxHIyh8Ripy40p24moOAbgxVw3rxT_vlt3UVe4WO3JkJOzlpUf-KTVI2Ptgm-dARxTEtE-id-4OJr0h-K-VFs3VSndVTIznSxfyrj8ILL6MG_Uv8YAu7VILSB3lOW085-4qE3DzgrTjgyQ";
    pub const A1_TOKEN: &str = "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ\
        .OKOawDo13gRp2ojaHV7LFpZcgV7T6DVZKTyKOMTYUmKoTCVJRgckCL9kiMT03JGeipsEdY3mx_etLbbWSrFr05kLzcSr4qKAq7YN7e9jwQRb23nfa6c9d-StnImGyFDbSv04uVuxIp5Zms1gNxKKK2Da14B8S4rzVRltdYwam_lDp5XnZAYpQdb76FdIKLaVmqgfwX7XWRxv2322i-vDxRfqNzo_tETKzpVLzfiwQyeyPGLBIO56YJ7eObdv0je81860ppamavo35UgoRdbYaBcoh9QcfylQr66oc6vFWXRcZ_ZT2LawVCWTIy3brGPi6UklfCpIMfIjf7iGdXKHzg\
        .48V1_ALb6US04U3b\
        .5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6jiSdiwkIr3ajwQzaBtQD_A\
        .XFBoMYUZodetZdvTiFvSkQ";
    pub const A1_PLAINTEXT: &str =
        "The true sign of intelligence is not knowledge but imagination.";
    // ANCHOR_END: rfc7516

    /// The sender's signing key for nested JWTs: RFC 7515 Appendix A.3's P-256 key.
    const SENDER_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
    const SENDER_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
    const SENDER_D: &str = "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI";

    fn unb64(text: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD
            .decode(text)
            .expect("test data is base64url")
    }

    pub fn a3_key() -> [u8; 16] {
        unb64(A3_KEY).try_into().expect("16 bytes")
    }

    pub fn recipient() -> RsaPrivateKey {
        RsaPrivateKey::from_components(
            BigUint::from_bytes_be(&unb64(A1_N)),
            BigUint::from(65_537u32),
            BigUint::from_bytes_be(&unb64(A1_D)),
            vec![],
        )
        .expect("RFC 7516 A.1's key")
    }

    pub fn sender() -> (EncodingKey, DecodingKey) {
        use p256::pkcs8::EncodePrivateKey;
        let secret = p256::SecretKey::from_slice(&unb64(SENDER_D)).expect("a P-256 key");
        let der = secret.to_pkcs8_der().expect("PKCS#8");
        (
            EncodingKey::from_ec_der(der.as_bytes()),
            DecodingKey::from_ec_components(SENDER_X, SENDER_Y).expect("the public key"),
        )
    }

    /// The token with one bit of segment `segment` (0 to 4) flipped.
    fn flipped(token: &str, segment: usize, rng: &mut impl Rng) -> String {
        let mut segments: Vec<String> = token.split('.').map(str::to_string).collect();
        let mut bytes = unb64(&segments[segment]);
        let bit = rng.gen_range(0..bytes.len() * 8);
        bytes[bit / 8] ^= 1 << (bit % 8);
        segments[segment] = URL_SAFE_NO_PAD.encode(bytes);
        segments.join(".")
    }

    #[test]
    fn step8_decrypts_rfc7516_a3_byte_for_byte() {
        let plaintext = decrypt_a128kw_cbc_hs256(A3_TOKEN, &a3_key())
            .unwrap_or_else(|error| panic!("RFC 7516 A.3 was refused: {error:?}"));
        assert_eq!(String::from_utf8_lossy(&plaintext), A3_PLAINTEXT);
    }

    #[test]
    fn step8_refuses_a_changed_token_and_the_wrong_key() {
        let mut rng = rand::thread_rng();
        for _ in 0..8 {
            assert_eq!(
                decrypt_a128kw_cbc_hs256(&flipped(A3_TOKEN, 1, &mut rng), &a3_key()),
                Err(JweError::KeyUnwrap),
                "a changed encrypted key does not unwrap (AES key wrap checks its own integrity)"
            );
            for (segment, what) in [(2, "IV"), (3, "ciphertext"), (4, "tag")] {
                assert_eq!(
                    decrypt_a128kw_cbc_hs256(&flipped(A3_TOKEN, segment, &mut rng), &a3_key()),
                    Err(JweError::Tampered),
                    "a changed {what} must fail the tag, before anything is decrypted"
                );
            }
            let mut other: [u8; 16] = rng.r#gen();
            other[0] ^= 0x80;
            assert_eq!(
                decrypt_a128kw_cbc_hs256(A3_TOKEN, &other),
                Err(JweError::KeyUnwrap),
                "another key"
            );
        }
        // The header is authenticated too: the same header JSON with a space is another AAD.
        let (_, rest) = A3_TOKEN.split_once('.').unwrap();
        let respaced = format!(
            "{}.{rest}",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"A128KW", "enc":"A128CBC-HS256"}"#)
        );
        assert_eq!(
            decrypt_a128kw_cbc_hs256(&respaced, &a3_key()),
            Err(JweError::Tampered),
            "the same header JSON with a space is another header: the tag covers the protected \
             header as received (its base64url text), not the JSON parsed and written again"
        );
        assert_eq!(
            decrypt_a128kw_cbc_hs256(A1_TOKEN, &a3_key()),
            Err(JweError::Unsupported {
                alg: "RSA-OAEP".into(),
                enc: "A256GCM".into()
            }),
            "RFC 7516 A.1 uses other algorithms: refused before any key is touched"
        );
    }

    #[test]
    fn step9_decrypts_rfc7516_a1_byte_for_byte() {
        let plaintext = decrypt_rsa_oaep_a256gcm(A1_TOKEN, &recipient())
            .unwrap_or_else(|error| panic!("RFC 7516 A.1 was refused: {error:?}"));
        assert_eq!(String::from_utf8_lossy(&plaintext), A1_PLAINTEXT);
    }

    #[test]
    fn step9_refuses_a_changed_token() {
        let mut rng = rand::thread_rng();
        let key = recipient();
        for _ in 0..4 {
            assert_eq!(
                decrypt_rsa_oaep_a256gcm(&flipped(A1_TOKEN, 1, &mut rng), &key),
                Err(JweError::KeyUnwrap),
                "a changed encrypted key fails OAEP's own check"
            );
            for (segment, what) in [(2, "IV"), (3, "ciphertext"), (4, "tag")] {
                assert_eq!(
                    decrypt_rsa_oaep_a256gcm(&flipped(A1_TOKEN, segment, &mut rng), &key),
                    Err(JweError::Tampered),
                    "a changed {what} must fail GCM's tag"
                );
            }
        }
        assert_eq!(
            decrypt_rsa_oaep_a256gcm(A3_TOKEN, &key),
            Err(JweError::Unsupported {
                alg: "A128KW".into(),
                enc: "A128CBC-HS256".into()
            }),
            "RFC 7516 A.3 uses other algorithms: refused before any key is touched"
        );
        assert_eq!(
            decrypt_rsa_oaep_a256gcm("a.b.c", &key),
            Err(JweError::Malformed),
            "a JWS is not a JWE"
        );
    }

    /// Decrypts a JWE of step 10 with the crates directly, independently of step 9.
    fn reference_decrypt(token: &str, key: &RsaPrivateKey) -> Vec<u8> {
        let segments: Vec<&str> = token.split('.').collect();
        assert_eq!(
            segments.len(),
            5,
            "a compact JWE has five segments: {token}"
        );
        let cek = key
            .decrypt(Oaep::new::<sha1::Sha1>(), &unb64(segments[1]))
            .expect("the content key is RSA-OAEP (SHA-1) encrypted for the recipient");
        let iv: [u8; 12] = unb64(segments[2]).try_into().expect("a 96-bit IV");
        let tag = unb64(segments[4]);
        assert_eq!(tag.len(), 16, "a 128-bit tag");
        aes_gcm::Aes256Gcm::new_from_slice(&cek)
            .expect("a 256-bit content key")
            .decrypt(
                &aes_gcm::Nonce::from(iv),
                Payload {
                    msg: &[unb64(segments[3]), tag].concat(),
                    aad: segments[0].as_bytes(),
                },
            )
            .expect("AES-256-GCM with the protected header as additional data")
    }

    #[test]
    fn step10_encrypts_plaintexts_drawn_at_random_for_the_recipient() {
        let mut rng = rand::thread_rng();
        let key = recipient();
        let public = RsaPublicKey::from(&key);
        let header = r#"{"alg":"RSA-OAEP","enc":"A256GCM"}"#;
        for _ in 0..6 {
            let len = rng.gen_range(0..300);
            let plaintext: Vec<u8> = (0..len).map(|_| rng.r#gen()).collect();
            let token = encrypt_rsa_oaep_a256gcm(header, &plaintext, &public);
            assert_eq!(
                token.split('.').next(),
                Some(URL_SAFE_NO_PAD.encode(header).as_str()),
                "the protected header, as given, is the first segment"
            );
            assert_eq!(
                reference_decrypt(&token, &key),
                plaintext,
                "the plaintext, as the crates themselves decrypt it"
            );
            let again = encrypt_rsa_oaep_a256gcm(header, &plaintext, &public);
            assert_ne!(
                token.split('.').nth(2),
                again.split('.').nth(2),
                "every token gets a fresh IV (and a fresh content key)"
            );
        }
    }

    #[test]
    fn step11_a_nested_jwt_opens_with_the_right_keys_only() {
        let key = recipient();
        let public = RsaPublicKey::from(&key);
        let (signer, verifier) = sender();
        let claims = json!({"sub": "alice", "scope": "payroll:read", "n": rand::random::<u32>()});
        let token = seal(&claims, &signer, Algorithm::ES256, &public).expect("seal");
        let parsed = parts(&token).expect("a compact JWE");
        assert_eq!(
            Value::Object(parsed.header.clone()),
            serde_json::from_str::<Value>(NESTED_HEADER).unwrap(),
            "the nested header"
        );
        let inner = String::from_utf8(reference_decrypt(&token, &key)).expect("text");
        assert_eq!(inner.split('.').count(), 3, "a JWS inside: {inner}");
        assert_eq!(
            open(&token, &key, &verifier, Algorithm::ES256).map(Value::Object),
            Ok(claims.clone()),
            "the claims sealed for the recipient, opened with the sender's key"
        );

        // Signed by someone else: decryption works (anyone can encrypt for alice), the
        // signature does not.
        use p256::pkcs8::EncodePrivateKey;
        let stranger = p256::SecretKey::from_slice(&[7; 32]).unwrap();
        let stranger = EncodingKey::from_ec_der(stranger.to_pkcs8_der().unwrap().as_bytes());
        let forged = seal(&claims, &stranger, Algorithm::ES256, &public).unwrap();
        assert_eq!(
            open(&forged, &key, &verifier, Algorithm::ES256),
            Err(JweError::BadSignature),
            "sealed by a stranger: anyone can encrypt for the recipient, so decrypting proves \
             nothing about the sender; only the inner signature does"
        );
        // Not marked as a nested JWT.
        let jws = jsonwebtoken::encode(&Header::new(Algorithm::ES256), &claims, &signer).unwrap();
        let unmarked = encrypt_rsa_oaep_a256gcm(
            r#"{"alg":"RSA-OAEP","enc":"A256GCM"}"#,
            jws.as_bytes(),
            &public,
        );
        assert_eq!(
            open(&unmarked, &key, &verifier, Algorithm::ES256),
            Err(JweError::NotNested),
            "a JWE whose header does not say `\"cty\":\"JWT\"` is not a nested JWT, whatever is \
             inside"
        );
        // The algorithm is the recipient's choice, not the token's.
        assert_eq!(
            open(&token, &key, &verifier, Algorithm::ES384),
            Err(JweError::BadSignature),
            "the recipient pinned ES384: the inner header's ES256 must not be trusted instead"
        );
    }

    /// Chapter 7's tokens against a JOSE library that is not ours: Python's jwcrypto.
    /// `scripts/jwe-interop.py` (run by `.ci/run`) writes jwcrypto's tokens into the folder
    /// named by `JWE_INTEROP_DIR`, runs this test, then opens the token this test writes there.
    #[test]
    #[ignore = "driven by scripts/jwe-interop.py, which needs Python and jwcrypto"]
    fn step11_interoperates_with_jwcrypto_both_ways() {
        let dir = std::path::PathBuf::from(
            std::env::var("JWE_INTEROP_DIR").expect("JWE_INTEROP_DIR names the exchange folder"),
        );
        let read = |name: &str| {
            std::fs::read_to_string(dir.join(name))
                .unwrap_or_else(|error| panic!("{name}: {error}"))
                .trim()
                .to_string()
        };
        let key = recipient();
        let (signer, verifier) = sender();

        // jwcrypto → us: a nested JWT, and an A128KW + A128CBC-HS256 token.
        let claims: Value = serde_json::from_str(&read("python-claims.json")).unwrap();
        assert_eq!(
            open(
                &read("python-nested.jwt"),
                &key,
                &verifier,
                Algorithm::ES256
            )
            .map(Value::Object),
            Ok(claims),
            "jwcrypto's nested JWT"
        );
        assert_eq!(
            decrypt_a128kw_cbc_hs256(&read("python-a128kw.jwe"), &a3_key())
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned()),
            Ok(read("python-a128kw.txt")),
            "jwcrypto's A128KW + A128CBC-HS256 token"
        );

        // us → jwcrypto: a nested JWT for the script to open.
        let ours = json!({"sub": "bob", "iss": "rust", "n": rand::random::<u32>()});
        let token = seal(&ours, &signer, Algorithm::ES256, &RsaPublicKey::from(&key)).unwrap();
        std::fs::write(dir.join("rust-nested.jwt"), token).unwrap();
        std::fs::write(dir.join("rust-claims.json"), ours.to_string()).unwrap();
    }
}

// --- Steps 12 to 14: signing in with OpenID Connect ---------------------------------------

mod oidc {
    use super::*;
    use crate::sut::oidc::{
        Client, ExchangeError, IdClaims, IdTokenRefused, SignIn, code_challenge, code_verifier,
        exchange_code, validate_id_token,
    };

    // ANCHOR: rfc7636
    /// RFC 7636 Appendix B: the 32 random octets, the verifier they make, and its challenge.
    const B_OCTETS: [u8; 32] = [
        116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37,
        77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121,
    ];
    const B_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const B_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    // ANCHOR_END: rfc7636

    #[test]
    fn step12_the_rfc_7636_appendix_b_octets_give_its_verifier_and_challenge() {
        assert_eq!(code_verifier(&B_OCTETS), B_VERIFIER);
        assert_eq!(code_challenge(B_VERIFIER), B_CHALLENGE);
    }

    #[test]
    fn step12_verifiers_of_random_bytes_are_43_unreserved_characters_and_their_sha256() {
        for _ in 0..64 {
            let octets: [u8; 32] = rand::random();
            let verifier = code_verifier(&octets);
            assert_eq!(verifier.len(), 43, "{verifier}");
            assert!(
                verifier
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')),
                "{verifier} has a character RFC 7636 §4.1 does not allow"
            );
            assert_eq!(
                unb64(&verifier),
                octets,
                "the verifier is the octets, encoded"
            );
            let expected = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
            assert_eq!(code_challenge(&verifier), expected, "for {verifier}");
        }
    }

    // ANCHOR: id_fixtures
    /// The provider the app signs in with (the same ES256 key as step 7's auth server, `KID`).
    const PROVIDER: &str = "https://auth.example.com";
    /// The app's client id at that provider.
    const CLIENT_ID: &str = "reports-web";
    /// The nonce the app generated for this sign-in and kept in its session.
    const NONCE: &str = "n-0S6_WzA2Mj";
    /// The access token that came in the same token response.
    const ACCESS: &str = "an-access-token-from-the-same-response";
    // ANCHOR_END: id_fixtures

    fn unb64(text: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(text).expect("base64url")
    }

    fn sign_in(nonce: &str) -> SignIn {
        SignIn {
            issuer: PROVIDER.to_string(),
            client_id: CLIENT_ID.to_string(),
            nonce: nonce.to_string(),
        }
    }

    /// OpenID Connect Core §3.1.3.6, computed here: the left half of SHA-256, base64url.
    fn at_hash(access: &str) -> String {
        URL_SAFE_NO_PAD.encode(&Sha256::digest(access.as_bytes())[..16])
    }

    /// An ID token's claims for `alice` at the provider, issued at T0 for ten minutes.
    fn id_claims(nonce: &str) -> Value {
        json!({
            "iss": PROVIDER,
            "sub": "7f2c9d1e4b",
            "aud": CLIENT_ID,
            "exp": T0 + 600,
            "iat": T0,
            "auth_time": T0 - 10,
            "nonce": nonce,
            "azp": CLIENT_ID,
            "at_hash": at_hash(ACCESS),
        })
    }

    fn alice(nonce: &str) -> IdClaims {
        IdClaims {
            iss: PROVIDER.to_string(),
            sub: "7f2c9d1e4b".to_string(),
            exp: T0 + 600,
            iat: T0,
            auth_time: Some(T0 - 10),
            nonce: Some(nonce.to_string()),
            azp: Some(CLIENT_ID.to_string()),
            at_hash: Some(at_hash(ACCESS)),
        }
    }

    #[test]
    fn step13_a_genuine_id_token_is_accepted() {
        let token = service_token(Some(KID), None, &id_claims(NONCE));
        assert_eq!(
            validate_id_token(&jwks(), &sign_in(NONCE), &token, ACCESS, T0 + 5),
            Ok(alice(NONCE))
        );
    }

    #[test]
    fn step13_an_id_token_answers_only_the_sign_in_whose_nonce_it_carries() {
        for _ in 0..16 {
            let nonce = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 12]>());
            let other = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 12]>());
            let token = service_token(Some(KID), None, &id_claims(&nonce));
            assert_eq!(
                validate_id_token(&jwks(), &sign_in(&nonce), &token, ACCESS, T0 + 5),
                Ok(alice(&nonce))
            );
            assert_eq!(
                validate_id_token(&jwks(), &sign_in(&other), &token, ACCESS, T0 + 5),
                Err(IdTokenRefused::WrongNonce)
            );
        }
    }

    #[test]
    fn step13_every_forgery_and_misuse_is_refused_with_its_reason() {
        let claims = id_claims(NONCE);
        let with = |name: &str, value: Value| {
            let mut changed = claims.clone();
            changed[name] = value;
            service_token(Some(KID), None, &changed)
        };
        let without = |name: &str| {
            let mut changed = claims.clone();
            changed.as_object_mut().unwrap().remove(name);
            service_token(Some(KID), None, &changed)
        };
        let genuine = service_token(Some(KID), None, &claims);
        let segments: Vec<&str> = genuine.split('.').collect();
        let admin = with("sub", json!("admin"));
        let edited = admin.split('.').nth(1).unwrap();
        let tampered = format!("{}.{}.{}", segments[0], edited, segments[2]);
        let unsigned = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD
                .encode(r#"{"alg":"none","kid":"oKIywvGUpTVTyxMQ3bwIIeQUudfr_CkLMjCE19ECD-U"}"#),
            segments[1]
        );
        let mut hs256 = Header::new(Algorithm::HS256);
        hs256.kid = Some(KID.to_string());
        let confused =
            jsonwebtoken::encode(&hs256, &claims, &EncodingKey::from_secret(JWKS.as_bytes()))
                .unwrap();
        let stranger = {
            use p256::pkcs8::EncodePrivateKey;
            let secret = p256::SecretKey::from_slice(&[7; 32]).expect("a P-256 key");
            EncodingKey::from_ec_der(secret.to_pkcs8_der().unwrap().as_bytes())
        };
        let mut es256 = Header::new(Algorithm::ES256);
        es256.kid = Some(KID.to_string());
        let forged = jsonwebtoken::encode(&es256, &claims, &stranger).unwrap();
        // A service token of step 7: signed by the same provider, but for an API.
        let for_an_api = service_token(Some(KID), None, &service_claims());
        let cases: Vec<(&str, String, &str, i64)> = vec![
            ("the genuine ID token", genuine.clone(), ACCESS, T0 + 5),
            (
                "the same in its last second",
                genuine.clone(),
                ACCESS,
                T0 + 599,
            ),
            (
                "the same when it expires",
                genuine.clone(),
                ACCESS,
                T0 + 600,
            ),
            (
                "with another access token",
                genuine.clone(),
                "another-access-token",
                T0 + 5,
            ),
            ("alg none", unsigned, ACCESS, T0 + 5),
            (
                "HS256 keyed with the published set",
                confused,
                ACCESS,
                T0 + 5,
            ),
            ("no kid", service_token(None, None, &claims), ACCESS, T0 + 5),
            (
                "a kid the provider does not publish",
                service_token(Some("rotated-away"), None, &claims),
                ACCESS,
                T0 + 5,
            ),
            (
                "signed by another key under the provider's kid",
                forged,
                ACCESS,
                T0 + 5,
            ),
            (
                "sub edited to admin after signing",
                tampered,
                ACCESS,
                T0 + 5,
            ),
            (
                "from another provider",
                with("iss", json!("https://login.example.net")),
                ACCESS,
                T0 + 5,
            ),
            (
                "for another app",
                with("aud", json!("payroll-web")),
                ACCESS,
                T0 + 5,
            ),
            ("no aud", without("aud"), ACCESS, T0 + 5),
            (
                "issued to another party (azp)",
                with("azp", json!("payroll-web")),
                ACCESS,
                T0 + 5,
            ),
            (
                "the nonce of another sign-in",
                with("nonce", json!("someone-elses")),
                ACCESS,
                T0 + 5,
            ),
            ("no nonce", without("nonce"), ACCESS, T0 + 5),
            ("no at_hash", without("at_hash"), ACCESS, T0 + 5),
            (
                "a service token for the billing API",
                for_an_api,
                ACCESS,
                T0 + 5,
            ),
        ];
        let mut report = String::new();
        for (what, token, access, now) in cases {
            let verdict = match validate_id_token(&jwks(), &sign_in(NONCE), &token, access, now) {
                Ok(claims) => format!("accepted: {:?} signed in at {}", claims.sub, claims.iss),
                Err(refused) => format!("{refused:?}\n    {refused}"),
            };
            report.push_str(&format!("{what} (at {}): {verdict}\n", clock(now)));
        }
        insta::assert_snapshot!("step13_refusals", report);
    }

    // ANCHOR: provider
    /// The workbook's own OpenID Connect provider, on a port of its own, with the user `alice`
    /// and one registered client; stopped when dropped.
    struct Provider {
        issuer: String,
        client: Client,
        stop: Option<tokio::sync::oneshot::Sender<()>>,
        thread: Option<std::thread::JoinHandle<()>>,
    }
    // ANCHOR_END: provider

    const REDIRECT: &str = "http://127.0.0.1:9/callback";

    impl Provider {
        fn start() -> Provider {
            use jwt_workbook::app::{self, ConnectionLimits, Settings};
            use jwt_workbook::clock::{Clock, SystemClock};
            use jwt_workbook::oidc::{NewClient, register_client};
            use jwt_workbook::store::SqliteStore;
            use jwt_workbook::tokens::{Key, KeyAlgorithm, KeySet, RandomJti};
            use jwt_workbook::users::{PasswordCost, Passwords, create_user};
            use std::sync::Arc;

            let (started, ready) = std::sync::mpsc::channel();
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let thread = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async move {
                    let data = tempfile::tempdir().unwrap();
                    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                    let issuer = format!("http://{}", listener.local_addr().unwrap());
                    let store = SqliteStore::open(&data.path().join("provider.sqlite3"))
                        .await
                        .unwrap();
                    let (key, _) = Key::generate(KeyAlgorithm::ES256).unwrap();
                    let mut settings = Settings::new(KeySet::single(key));
                    settings.password_cost = PasswordCost::INSECURE_FOR_TESTS;
                    settings.public_url = issuer.clone();
                    let now = SystemClock.now();
                    let passwords = Passwords::new(settings.password_cost).unwrap();
                    create_user(
                        &store,
                        &passwords,
                        "alice",
                        "tulip lantern orbit",
                        true,
                        now,
                    )
                    .await
                    .unwrap();
                    let new = NewClient {
                        name: "Reports".into(),
                        redirect_uris: vec![REDIRECT.into()],
                        ..NewClient::default()
                    };
                    let (client, secret) = register_client(&store, new, now).await.unwrap();
                    let state = app::build(
                        settings,
                        Arc::new(store),
                        Arc::new(SystemClock),
                        Arc::new(RandomJti),
                    )
                    .unwrap();
                    let client = Client {
                        id: client.id,
                        secret: secret.unwrap(),
                    };
                    started.send((issuer, client)).unwrap();
                    let shutdown = async {
                        let _ = stopped.await;
                    };
                    let router = app::router(state, None);
                    app::serve(listener, router, ConnectionLimits::default(), shutdown)
                        .await
                        .unwrap();
                });
            });
            let (issuer, client) = ready.recv().expect("the provider started");
            Provider {
                issuer,
                client,
                stop: Some(stop),
                thread: Some(thread),
            }
        }

        /// What a browser does: opens the authorization URL, signs `alice` in on the login
        /// page, and follows the redirect back as far as reading the code from it.
        fn code_for(&self, challenge: &str) -> String {
            let agent = ureq::Agent::config_builder()
                .max_redirects(0)
                .max_redirects_will_error(false)
                .http_status_as_error(false)
                .build()
                .new_agent();
            let query = [
                ("response_type", "code"),
                ("client_id", self.client.id.as_str()),
                ("redirect_uri", REDIRECT),
                ("scope", "openid profile"),
                ("state", "s"),
                ("nonce", NONCE),
                ("code_challenge", challenge),
                ("code_challenge_method", "S256"),
            ];
            let mut page = agent
                .get(&format!("{}/oidc/authorize", self.issuer))
                .query_pairs(query)
                .call()
                .unwrap();
            let cookie = page
                .headers()
                .get("set-cookie")
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.split(';').next())
                .expect("the login page sets its CSRF cookie")
                .to_string();
            let html = page.body_mut().read_to_string().unwrap();
            let mut form: Vec<(String, String)> = html
                .split("<input type=\"hidden\" ")
                .skip(1)
                .map(|input| {
                    let attribute = |name: &str| {
                        let value = input.split(&format!("{name}=\"")).nth(1).unwrap();
                        value.split('"').next().unwrap().replace("&amp;", "&")
                    };
                    (attribute("name"), attribute("value"))
                })
                .collect();
            form.push(("username".into(), "alice".into()));
            form.push(("password".into(), "tulip lantern orbit".into()));
            let answer = agent
                .post(&format!("{}/oidc/authorize", self.issuer))
                .header("Cookie", &cookie)
                .send_form(form.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .unwrap();
            assert_eq!(answer.status(), 303, "the login form redirects back");
            let location = answer.headers().get("location").unwrap().to_str().unwrap();
            let query = location.split_once('?').unwrap().1;
            query
                .split('&')
                .find_map(|pair| pair.strip_prefix("code="))
                .expect("the redirect carries a code")
                .to_string()
        }

        fn token_endpoint(&self) -> String {
            format!("{}/oidc/token", self.issuer)
        }
    }

    impl Drop for Provider {
        fn drop(&mut self) {
            if let Some(stop) = self.stop.take() {
                let _ = stop.send(());
            }
            if let Some(thread) = self.thread.take() {
                let _ = thread.join();
            }
        }
    }

    /// A verifier and its challenge, made here (independently of step 12).
    fn pkce_pair() -> (String, String) {
        let verifier = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        (verifier, challenge)
    }

    fn claims_of(token: &str) -> Value {
        serde_json::from_slice(&unb64(token.split('.').nth(1).unwrap())).unwrap()
    }

    #[test]
    fn step14_a_code_and_its_verifier_get_tokens_from_the_provider() {
        let provider = Provider::start();
        let (verifier, challenge) = pkce_pair();
        let code = provider.code_for(&challenge);
        let tokens = exchange_code(
            &provider.token_endpoint(),
            &provider.client,
            &code,
            REDIRECT,
            &verifier,
        )
        .expect("the provider gives tokens for the code");
        assert_eq!(tokens.token_type, "Bearer");
        assert_eq!(tokens.scope, "openid profile");
        assert!(tokens.expires_in > 0);
        let id = claims_of(&tokens.id_token);
        assert_eq!(id["iss"], provider.issuer.as_str());
        assert_eq!(id["aud"], provider.client.id.as_str());
        assert_eq!(id["nonce"], NONCE);
        assert_eq!(id["at_hash"], at_hash(&tokens.access_token).as_str());
        assert!(!tokens.refresh_token.is_empty());
    }

    #[test]
    fn step14_a_wrong_verifier_a_reused_code_and_a_wrong_secret_are_refused() {
        let provider = Provider::start();
        let refusal = |result: Result<_, ExchangeError>| match result {
            Err(ExchangeError::Refused { error, .. }) => error,
            other => panic!("expected the provider's refusal, got {other:?}"),
        };
        let endpoint = provider.token_endpoint();
        let (verifier, challenge) = pkce_pair();
        let (other_verifier, _) = pkce_pair();
        let code = provider.code_for(&challenge);
        let wrong = exchange_code(
            &endpoint,
            &provider.client,
            &code,
            REDIRECT,
            &other_verifier,
        );
        assert_eq!(refusal(wrong), "invalid_grant");

        let code = provider.code_for(&challenge);
        let first = exchange_code(&endpoint, &provider.client, &code, REDIRECT, &verifier);
        assert!(first.is_ok(), "{first:?}");
        let again = exchange_code(&endpoint, &provider.client, &code, REDIRECT, &verifier);
        assert_eq!(refusal(again), "invalid_grant");

        let code = provider.code_for(&challenge);
        let impostor = Client {
            id: provider.client.id.clone(),
            secret: "not-the-secret".to_string(),
        };
        let wrong_secret = exchange_code(&endpoint, &impostor, &code, REDIRECT, &verifier);
        assert_eq!(refusal(wrong_secret), "invalid_client");
    }
}
