//! Strict verification (RFC 8725): each classic attack and each malformed claim is refused with
//! a 401, never a 500; time claims follow the injected clock and the configured leeway.

use jsonwebtoken::Algorithm;
use jwt_workbook::tokens::TokenSettings;
use serde_json::{Value, json};

use super::helpers::{
    KEY, NOW, TestApp, forge_bytes, forge_raw, forge_with, forge_with_header, unsigned,
};

const INVALID: &str = r#"{"detail":"Token is invalid","code":"token_not_valid"}"#;
const EXPIRED: &str = r#"{"detail":"Token is expired","code":"token_not_valid"}"#;

/// A real token from PyJWT 2.10 (what simplejwt uses), signed with this Django `SECRET_KEY`.
const DJANGO_KEY: &str = "django-secret-key-for-the-workbook-fixture-0123456789";
const SIMPLEJWT_ACCESS: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjoxNzk1MzU5MDY3LCJpYXQiOjE3OTUzNTg3NjcsImp0aSI6IjMzZWE5NWNiMjc2MzQzZWM5NjQ0OTc5MTI1MTIyODE0IiwidXNlcl9pZCI6IjEifQ.ErIayq6970eAXaDxSS99kjAE90bNpNIEAoVJhyGHUo4";
const SIMPLEJWT_REFRESH: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCIsImV4cCI6MTc5NTQ0NTE2NywiaWF0IjoxNzk1MzU4NzY3LCJqdGkiOiJiOGEzODlhNzFkYzY0NzViYmViOTA1NDBmM2U0ZWU3YSIsInVzZXJfaWQiOiIxIn0.wGNZBKYPo610HF6Emk2JQJG5In6kgWoBoP_fvcagB88";

async fn verdict(app: &TestApp, token: &str) -> String {
    let answer = app.verify(token).await;
    assert!(answer.status.as_u16() < 500, "{}", answer.text());
    if answer.status == 200 {
        "ok".into()
    } else {
        answer.text()
    }
}

fn access_claims(app: &TestApp) -> Value {
    app.claims("access", json!(app.vitor.id.to_string()))
}

#[tokio::test]
async fn tokens_issued_by_simplejwt_with_the_same_key_are_accepted() {
    let app = TestApp::build(DJANGO_KEY, TokenSettings::default()).await;
    assert_eq!(app.vitor.id, 1);
    assert_eq!(app.hello(SIMPLEJWT_ACCESS).await.status, 200);
    let rotated = app.refresh(SIMPLEJWT_REFRESH).await;
    assert_eq!(rotated.status, 200, "{}", rotated.text());
    // Our encoder writes the same bytes PyJWT does for the same claims.
    let claims: Value = super::helpers::payload(SIMPLEJWT_ACCESS);
    let ours = forge_with_header(r#"{"alg":"HS256","typ":"JWT"}"#, &claims);
    assert_eq!(ours.split('.').nth(1), SIMPLEJWT_ACCESS.split('.').nth(1));
}

#[tokio::test]
async fn the_classic_attacks_are_refused() {
    let app = TestApp::new().await;
    let claims = access_claims(&app);
    let genuine = app.forge(&claims);
    let mut parts = genuine.split('.');
    let (header, body) = (parts.next().unwrap(), parts.next().unwrap());
    let attacks = [
        ("alg none", unsigned(&claims)),
        (
            "alg none, signature kept",
            format!(
                "{}{}",
                unsigned(&claims),
                genuine.rsplit('.').next().unwrap()
            ),
        ),
        ("stripped signature", format!("{header}.{body}.")),
        ("two segments", format!("{header}.{body}")),
        (
            "HS512 with the right key",
            forge_with(Algorithm::HS512, KEY.as_bytes(), &claims),
        ),
        (
            "HS384 with the right key",
            forge_with(Algorithm::HS384, KEY.as_bytes(), &claims),
        ),
        (
            "RS256 header over an HMAC signature (algorithm confusion)",
            forge_with_header(r#"{"alg":"RS256","typ":"JWT"}"#, &claims),
        ),
        (
            "signed with the attacker's key, carried in the header (jwk)",
            forge_raw(
                r#"{"alg":"HS256","jwk":{"kty":"oct","k":"YQ"}}"#,
                &claims,
                b"a",
            ),
        ),
        (
            "signed with the attacker's key, pointed at by the header (jku)",
            forge_raw(
                r#"{"alg":"HS256","jku":"https://evil.example/jwks.json"}"#,
                &claims,
                b"a",
            ),
        ),
        (
            "an unknown critical extension",
            forge_with_header(r#"{"alg":"HS256","crit":["exp-ext"],"exp-ext":1}"#, &claims),
        ),
        (
            "signed with a weak guessable key",
            forge_with(Algorithm::HS256, b"secret", &claims),
        ),
        (
            "padded base64",
            format!("{header}=.{body}.{}", genuine.rsplit('.').next().unwrap()),
        ),
        (
            "standard base64 alphabet",
            genuine.replace('-', "+").replace('_', "/") + "+/",
        ),
        ("a space inside", genuine.replacen('.', ". ", 1)),
        (
            "payload is JSON but not an object",
            forge_with_header(r#"{"alg":"HS256"}"#, &json!([1, 2])),
        ),
        (
            "alg named twice",
            forge_with_header(r#"{"alg":"HS256","alg":"none"}"#, &claims),
        ),
    ];
    // Signed with our key, each payload has one custom claim that no JSON map would read:
    // verification never looks at the claim, yet the token is refused.
    let text = claims.to_string();
    let with_extra = |extra: &[u8]| [br#"{"extra":"#, extra, b",", &text.as_bytes()[1..]].concat();
    let broken_payloads = [
        ("a string that is not UTF-8", with_extra(b"\"\xff\"")),
        ("a number no float holds", with_extra(b"1e400")),
        ("a lone surrogate escape", with_extra(br#""\ud800""#)),
        ("a trailing comma", with_extra(b"[1,]")),
    ]
    .map(|(name, payload)| {
        let token = forge_bytes(r#"{"alg":"HS256","typ":"JWT"}"#, &payload, KEY.as_bytes());
        (name, token)
    });
    let fine = forge_bytes(
        r#"{"alg":"HS256"}"#,
        &with_extra(b"[1e300]"),
        KEY.as_bytes(),
    );
    assert_eq!(
        verdict(&app, &fine).await,
        "ok",
        "the same shape, well formed"
    );
    for (name, token) in attacks.into_iter().chain(broken_payloads) {
        assert_eq!(verdict(&app, &token).await, INVALID, "{name}: {token}");
        assert_eq!(app.hello(&token).await.status, 401, "{name}");
    }
}

#[tokio::test]
async fn wrongly_typed_claims_make_a_token_invalid() {
    let app = TestApp::new().await;
    let cases: [(&str, Value); 10] = [
        ("exp", json!("1795359067")),
        ("exp", Value::Null),
        ("exp", json!(true)),
        ("iat", json!("now")),
        ("nbf", json!({"t": 1})),
        ("jti", json!(42)),
        ("jti", json!("")),
        ("token_type", json!(["access"])),
        ("user_id", json!({"id": 1})),
        ("user_id", json!(1.5)),
    ];
    for (claim, value) in cases {
        let mut claims = access_claims(&app);
        claims[claim] = value.clone();
        let token = app.forge(&claims);
        assert_eq!(verdict(&app, &token).await, INVALID, "{claim} = {value}");
        assert_eq!(app.hello(&token).await.status, 401, "{claim} = {value}");
    }
}

#[tokio::test]
async fn an_access_token_is_valid_until_the_second_of_its_exp() {
    let app = TestApp::new().await;
    let (_, access) = app.login().await;
    app.clock.advance(299);
    assert_eq!(verdict(&app, &access).await, "ok");
    app.clock.advance(1);
    assert_eq!(
        verdict(&app, &access).await,
        EXPIRED,
        "exp <= now is expired, as in PyJWT"
    );
}

#[tokio::test]
async fn leeway_forgives_skew_in_both_directions() {
    let app = TestApp::with_settings(TokenSettings {
        leeway: 30,
        ..TokenSettings::default()
    })
    .await;
    let mut from_the_future = access_claims(&app);
    from_the_future["iat"] = json!(NOW + 30);
    from_the_future["nbf"] = json!(NOW + 30);
    assert_eq!(verdict(&app, &app.forge(&from_the_future)).await, "ok");
    from_the_future["iat"] = json!(NOW + 31);
    assert_eq!(verdict(&app, &app.forge(&from_the_future)).await, INVALID);

    let (_, access) = app.login().await;
    app.clock.advance(300 + 29);
    assert_eq!(verdict(&app, &access).await, "ok");
    app.clock.advance(1);
    assert_eq!(verdict(&app, &access).await, EXPIRED);
}

#[tokio::test]
async fn without_leeway_a_token_from_one_second_ahead_is_refused() {
    let app = TestApp::new().await;
    let mut claims = access_claims(&app);
    claims["iat"] = json!(NOW + 1);
    assert_eq!(verdict(&app, &app.forge(&claims)).await, INVALID);
}

#[tokio::test]
async fn fractional_and_huge_numeric_dates_are_handled() {
    let app = TestApp::new().await;
    let mut claims = access_claims(&app);
    claims["exp"] = json!(NOW as f64 + 0.5);
    assert_eq!(
        verdict(&app, &app.forge(&claims)).await,
        EXPIRED,
        "floored to NOW"
    );
    claims["exp"] = json!(u64::MAX);
    assert_eq!(verdict(&app, &app.forge(&claims)).await, "ok");
    claims["exp"] = json!(-1e300);
    assert_eq!(verdict(&app, &app.forge(&claims)).await, EXPIRED);
}

#[tokio::test]
async fn one_kind_of_token_never_passes_for_the_other() {
    let app = TestApp::new().await;
    let (refresh, access) = app.login().await;
    let wrong_type = r#"{"detail":"Token has wrong type","code":"token_not_valid"}"#;
    assert_eq!(app.refresh(&access).await.text(), wrong_type);
    assert_eq!(app.blacklist(&access).await.text(), wrong_type);
    assert_eq!(app.hello(&refresh).await.status, 401);
}

#[tokio::test]
async fn an_oversized_token_is_invalid_not_an_error() {
    let app = TestApp::new().await;
    let mut claims = access_claims(&app);
    claims["padding"] = json!("x".repeat(10_000));
    assert_eq!(verdict(&app, &app.forge(&claims)).await, INVALID);
}

/// RFC 7519 §4.1.3: a token that names an audience is for that audience. We are none (without
/// `--audience`), so such a token is refused even though our key signed it: a token minted for
/// another service must not open ours. (simplejwt without `AUDIENCE` turns PyJWT's audience
/// check off and accepts it: a difference the README lists, checked against simplejwt itself
/// by `scripts/simplejwt-settings-interop.py`.)
#[tokio::test]
async fn a_token_for_an_audience_is_not_for_us() {
    let app = TestApp::new().await;
    for aud in [
        json!("billing"),
        json!(["billing", "api"]),
        json!([]),
        json!(""),
    ] {
        let mut claims = access_claims(&app);
        claims["aud"] = aud.clone();
        let token = app.forge(&claims);
        assert_eq!(verdict(&app, &token).await, INVALID, "aud {aud}");
        assert_eq!(app.hello(&token).await.status, 401, "aud {aud}");
    }
}
