//! Signing with HS256, RS256, ES256 and EdDSA; `kid`s and rotation; the published JWK Set; and
//! the tokens an attacker builds to make a verifier use the wrong key or the wrong algorithm.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use jwt_workbook::clock::FixedClock;
use jwt_workbook::tokens::{Key, KeyAlgorithm, KeySet, SequentialJti, TokenService, TokenSettings};
use serde_json::{Value, json};

use crate::helpers::{KEY, NOW, TestApp, TestResponse, forge_raw, payload};

const RS256_PEM: &str = include_str!("fixtures/rs256.pem");
const RS256_PUBLIC_PEM: &str = include_str!("fixtures/rs256.pub.pem");
const ES256_SEC1_PEM: &str = include_str!("fixtures/es256.sec1.pem");
const EDDSA_PEM: &str = include_str!("fixtures/eddsa.pem");
const RSA_1024_PEM: &str = include_str!("fixtures/rsa1024.pem");

fn rs256() -> Key {
    Key::from_pem(KeyAlgorithm::RS256, RS256_PEM, None).unwrap()
}

fn es256() -> Key {
    Key::from_pem(KeyAlgorithm::ES256, ES256_SEC1_PEM, None).unwrap()
}

fn eddsa() -> Key {
    Key::from_pem(KeyAlgorithm::EdDSA, EDDSA_PEM, None).unwrap()
}

async fn app_with(keys: Vec<Key>) -> TestApp {
    TestApp::with_keys(KeySet::new(keys).unwrap(), TokenSettings::default()).await
}

fn header_of(token: &str) -> Value {
    let segment = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
}

fn assert_refused(response: &TestResponse, what: &str) {
    assert_eq!(
        response.status,
        StatusCode::UNAUTHORIZED,
        "{what}: {}",
        response.text()
    );
    assert_eq!(response.json()["code"], "token_not_valid", "{what}");
}

async fn jwks(app: &TestApp) -> TestResponse {
    let request = Request::builder()
        .uri("/.well-known/jwks.json")
        .body(Body::empty())
        .unwrap();
    app.send(request).await
}

/// Every flow of the API works with every algorithm, and the tokens name their key.
#[tokio::test]
async fn every_algorithm_signs_and_verifies_the_whole_flow() {
    let ring_secret = Key::hs256_named("ring-hs256", KEY);
    for key in [rs256(), es256(), eddsa(), ring_secret] {
        let (algorithm, kid) = (key.algorithm(), key.kid().to_owned());
        let app = app_with(vec![key]).await;
        let (refresh, access) = app.login().await;
        assert_eq!(
            header_of(&access),
            json!({"alg": algorithm.as_str(), "kid": kid, "typ": "JWT"}),
        );
        assert_eq!(
            app.hello(&access).await.status,
            StatusCode::OK,
            "{algorithm}"
        );
        assert_eq!(
            app.verify(&access).await.status,
            StatusCode::OK,
            "{algorithm}"
        );
        let refreshed = app.refresh(&refresh).await;
        assert_eq!(
            refreshed.status,
            StatusCode::OK,
            "{algorithm}: {}",
            refreshed.text()
        );
        assert_eq!(header_of(&refreshed.field("access"))["kid"], kid.as_str());
        assert_eq!(
            app.blacklist(&refreshed.field("refresh")).await.status,
            StatusCode::OK
        );
    }
}

#[tokio::test]
async fn the_default_key_keeps_simplejwts_header_without_a_kid() {
    let app = TestApp::new().await;
    let (_, access) = app.login().await;
    assert_eq!(header_of(&access), json!({"alg": "HS256", "typ": "JWT"}));
}

/// Another service needs nothing but the published set to check our tokens.
#[tokio::test]
async fn another_service_verifies_our_tokens_with_the_published_jwks_alone() {
    let app = app_with(vec![es256(), rs256(), eddsa(), Key::hs256(KEY)]).await;
    let response = jwks(&app).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(
        response.header("cache-control"),
        Some("public, max-age=300")
    );
    let set: JwkSet = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(
        set.keys.len(),
        3,
        "three key pairs, and never the HMAC secret"
    );
    let text = response.text();
    for private_member in ["\"d\"", "\"k\"", "\"p\"", "\"q\"", KEY] {
        assert!(!text.contains(private_member), "{private_member} in {text}");
    }

    let (_, access) = app.login().await;
    let kid = header_of(&access)["kid"].as_str().unwrap().to_owned();
    let jwk = set.find(&kid).expect("the token's kid is in the set");
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_required_spec_claims(&["exp"]);
    validation.validate_exp = false; // our clock is pinned in the past
    let decoded =
        jsonwebtoken::decode::<Value>(&access, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
            .unwrap();
    assert_eq!(decoded.claims["user_id"], app.vitor.id.to_string());
}

#[tokio::test]
async fn with_hs256_alone_the_jwks_is_empty_and_only_readable() {
    let app = TestApp::new().await;
    let response = jwks(&app).await;
    assert_eq!(response.json(), json!({"keys": []}));
    let post = Request::builder()
        .method(Method::POST)
        .uri("/.well-known/jwks.json")
        .body(Body::empty())
        .unwrap();
    let response = app.send(post).await;
    assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        response.json(),
        json!({"detail": "Method \"POST\" not allowed."})
    );
}

/// After a rotation, new tokens carry the new kid and the old ones verify until their key is
/// retired.
#[tokio::test]
async fn rotation_keeps_old_tokens_valid_until_their_key_is_retired() {
    let (old, new) = (es256(), eddsa());
    let clock = FixedClock::at(NOW);
    let before_rotation = TokenService::new(
        KeySet::single(old.clone()),
        TokenSettings::default(),
        Arc::new(clock),
        Arc::new(SequentialJti::default()),
    );
    let app = app_with(vec![new.clone(), old.clone()]).await;
    let old_pair = before_rotation.issue_pair(&app.vitor.id.to_string());

    assert_eq!(app.hello(&old_pair.access).await.status, StatusCode::OK);
    let refreshed = app.refresh(&old_pair.refresh).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.text());
    assert_eq!(header_of(&refreshed.field("access"))["kid"], new.kid());
    let (_, access) = app.login().await;
    assert_eq!(header_of(&access)["kid"], new.kid());

    let retired = app_with(vec![new]).await;
    assert_refused(
        &retired.hello(&old_pair.access).await,
        "a retired key's token",
    );
    assert_eq!(retired.hello(&access).await.status, StatusCode::OK);
}

/// A Django service moving to key pairs: tokens simplejwt issued (no kid) keep working.
#[tokio::test]
async fn a_secret_kept_for_verifying_accepts_tokens_without_a_kid() {
    let legacy = TestApp::new().await;
    let (_, old_access) = legacy.login().await;
    let app = app_with(vec![rs256(), Key::hs256(KEY)]).await;
    assert_eq!(app.hello(&old_access).await.status, StatusCode::OK);
    let (_, access) = app.login().await;
    assert_eq!(header_of(&access)["alg"], "RS256");
}

/// `kid` is compared with our own keys' ids, nothing else: not a file name, not a query.
#[tokio::test]
async fn unknown_and_hostile_kids_are_refused() {
    let app = app_with(vec![Key::hs256_named("current", KEY)]).await;
    let claims = app.claims("access", json!(app.vitor.id.to_string()));
    let long = "k".repeat(5000);
    let kids = [
        json!("previous"),
        json!("../../../../etc/passwd"),
        json!("/dev/zero"),
        json!("' OR '1'='1"),
        json!("current\u{0000}"),
        json!("CURRENT"),
        json!(long),
        json!(7),
        json!(["current"]),
        json!(null),
    ];
    for kid in kids {
        let header = json!({"alg": "HS256", "kid": kid, "typ": "JWT"}).to_string();
        let token = forge_raw(&header, &claims, KEY.as_bytes());
        assert_refused(&app.hello(&token).await, &format!("kid {kid}"));
        assert_refused(&app.verify(&token).await, &format!("kid {kid}"));
    }
    let header = json!({"alg": "HS256", "kid": "current", "typ": "JWT"}).to_string();
    let genuine = forge_raw(&header, &claims, KEY.as_bytes());
    assert_eq!(app.hello(&genuine).await.status, StatusCode::OK);
}

/// Algorithm confusion: the RSA public key is public, so an attacker can HMAC with it. A
/// verifier that lets the header pick the algorithm would accept that token.
#[tokio::test]
async fn a_key_of_one_algorithm_never_verifies_a_token_of_another() {
    let rsa = rs256();
    let kid = rsa.kid().to_owned();
    let app = app_with(vec![rsa, es256()]).await;
    let claims = app.claims("access", json!(app.vitor.id.to_string()));
    let jwks = jwks(&app).await.text();

    let hmac_with = |secret: &[u8]| {
        let header = json!({"alg": "HS256", "kid": kid, "typ": "JWT"}).to_string();
        forge_raw(&header, &claims, secret)
    };
    for (what, token) in [
        (
            "HS256 keyed with the public PEM",
            hmac_with(RS256_PUBLIC_PEM.as_bytes()),
        ),
        ("HS256 keyed with the JWKS", hmac_with(jwks.as_bytes())),
        ("HS256 keyed with the kid", hmac_with(kid.as_bytes())),
    ] {
        assert_refused(&app.hello(&token).await, what);
    }

    // Signed with a genuine key pair of another algorithm, under our RSA key's kid.
    let (attacker, attacker_pem) = Key::generate(KeyAlgorithm::ES256).unwrap();
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(kid.clone());
    let other_alg = sign_with(&header, &claims, attacker.algorithm(), &attacker_pem);
    assert_refused(&app.hello(&other_alg).await, "ES256 under an RS256 kid");

    // The same attacker key, carried in the header and named by its own thumbprint.
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(attacker.kid().to_owned());
    header.jwk = Some(serde_json::from_value(attacker.public_jwk().unwrap().clone()).unwrap());
    let embedded = sign_with(&header, &claims, attacker.algorithm(), &attacker_pem);
    assert_refused(&app.hello(&embedded).await, "a key carried in the header");

    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "kid": kid}).to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    assert_refused(&app.hello(&none).await, "alg none under a real kid");
}

#[tokio::test]
async fn a_stripped_or_swapped_signature_is_refused() {
    let app = app_with(vec![eddsa(), es256()]).await;
    let (_, access) = app.login().await;
    let (message, _) = access.rsplit_once('.').unwrap();
    assert_refused(&app.hello(&format!("{message}.")).await, "stripped");
    let other = TokenService::new(
        KeySet::single(eddsa()),
        TokenSettings::default(),
        Arc::new(FixedClock::at(NOW)),
        Arc::new(SequentialJti::default()),
    );
    let mut claims = payload(&access);
    claims["user_id"] = json!("2");
    // A signature made with the very same key, but over another payload.
    let genuine_elsewhere = other.issue_pair("3").access;
    let (_, signature) = genuine_elsewhere.rsplit_once('.').unwrap();
    let swapped = format!(
        "{}.{}.{signature}",
        message.split('.').next().unwrap(),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    assert_refused(&app.hello(&swapped).await, "swapped");
}

#[test]
fn short_rsa_keys_are_refused() {
    let error = Key::from_pem(KeyAlgorithm::RS256, RSA_1024_PEM, None).unwrap_err();
    assert!(error.to_string().contains("1024 bits"), "{error}");
}

/// A token signed by an outside tool (jsonwebtoken here) with a key pair PEM that OpenSSL made.
fn sign_with(header: &Header, claims: &Value, algorithm: KeyAlgorithm, pem: &str) -> String {
    use p256::pkcs8::DecodePrivateKey;
    assert_eq!(algorithm, KeyAlgorithm::ES256);
    let key = p256::SecretKey::from_pkcs8_pem(pem).unwrap();
    let der = p256::pkcs8::EncodePrivateKey::to_pkcs8_der(&key).unwrap();
    jsonwebtoken::encode(header, claims, &EncodingKey::from_ec_der(der.as_bytes())).unwrap()
}
