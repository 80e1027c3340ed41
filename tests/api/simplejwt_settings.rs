//! simplejwt's token settings over HTTP: `ISSUER` and `AUDIENCE` written and required, the
//! claim names and `USER_ID_FIELD` followed by every endpoint, `AUTH_HEADER_TYPES` and its
//! challenge, and DRF's answer to several `Authorization` headers. (That the defaults issue the
//! same bytes as before is `tokens::service`'s unit test; that real simplejwt agrees is
//! `scripts/simplejwt-settings-interop.py`, run by `.ci/run`.)

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use jwt_workbook::http::auth::AuthHeaderTypes;
use jwt_workbook::tokens::{TokenSettings, UserIdField};
use serde_json::{Value, json};

use super::helpers::{NOW, TestApp, TestResponse, payload};

const ISSUER: &str = "https://auth.example.com";

/// A Django service's settings: an issuer, two audiences, its own claim names, users named by
/// username.
fn django_settings() -> TokenSettings {
    TokenSettings {
        issuer: Some(ISSUER.into()),
        audience: vec!["shop".into(), "admin".into()],
        user_id_field: UserIdField::Username,
        user_id_claim: "sub".into(),
        token_type_claim: "typ".into(),
        jti_claim: "token_id".into(),
        ..TokenSettings::default()
    }
}

async fn send_with(
    app: &TestApp,
    method: Method,
    path: &str,
    authorization: &[&str],
) -> TestResponse {
    let mut request = Request::builder().method(method).uri(path);
    for value in authorization {
        request = request.header(header::AUTHORIZATION, *value);
    }
    app.send(request.body(Body::empty()).unwrap()).await
}

/// The claims a configured server writes, for the contract's user.
fn configured_claims(token_type: &str) -> Value {
    json!({
        "typ": token_type,
        "exp": NOW + 300,
        "iat": NOW,
        "token_id": "f00dfeedf00dfeedf00dfeedf00dfeed",
        "sub": "vitor",
        "aud": ["shop", "admin"],
        "iss": ISSUER,
    })
}

#[tokio::test]
async fn a_configured_server_issues_simplejwts_claims_by_their_configured_names() {
    let app = TestApp::with_settings(django_settings()).await;
    let (refresh, access) = app.login().await;
    let names = |token: &str| -> Vec<String> {
        payload(token)
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    };
    let expected = ["typ", "exp", "iat", "token_id", "sub", "aud", "iss"];
    assert_eq!(names(&refresh), expected);
    assert_eq!(names(&access), expected);
    let claims = payload(&access);
    assert_eq!(claims["sub"], "vitor", "USER_ID_FIELD = username");
    assert_eq!(claims["aud"], json!(["shop", "admin"]));
    assert_eq!(claims["iss"], ISSUER);

    let me = app.me(&access).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text());
    assert_eq!(me.json()["username"], "vitor");
    assert_eq!(app.verify(&access).await.status, StatusCode::OK);
    let rotated = app.refresh(&refresh).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text());
    assert_eq!(names(&rotated.field("access")), expected);
    assert_eq!(names(&rotated.field("refresh")), expected);
    assert_eq!(
        app.blacklist(&rotated.field("refresh")).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_token_a_configured_simplejwt_issued_is_accepted() {
    let app = TestApp::with_settings(django_settings()).await;
    let access = app.forge(&configured_claims("access"));
    assert_eq!(app.hello(&access).await.status, StatusCode::OK);
    let mut one_audience = configured_claims("access");
    one_audience["aud"] = json!("admin");
    assert_eq!(
        app.hello(&app.forge(&one_audience)).await.status,
        StatusCode::OK
    );
    let refresh = app.forge(&configured_claims("refresh"));
    let rotated = app.refresh(&refresh).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text());
}

#[tokio::test]
async fn a_token_without_our_issuer_or_audience_is_refused_everywhere() {
    let app = TestApp::with_settings(django_settings()).await;
    let mut cases = Vec::new();
    for (claim, value) in [
        ("iss", None),
        ("iss", Some(json!("https://other.example.com"))),
        ("aud", None),
        ("aud", Some(json!("billing"))),
        ("aud", Some(json!(["billing", "mail"]))),
    ] {
        let mut claims = configured_claims("access");
        match value.clone() {
            Some(value) => claims[claim] = value,
            None => {
                claims.as_object_mut().unwrap().remove(claim);
            }
        }
        cases.push((format!("{claim} {value:?}"), claims));
    }
    for (case, claims) in cases {
        let access = app.forge(&claims);
        let hello = app.hello(&access).await;
        assert_eq!(hello.status, StatusCode::UNAUTHORIZED, "{case}");
        assert_eq!(
            hello.json()["messages"][0]["message"],
            "Token is invalid",
            "{case}"
        );
        assert_eq!(
            app.verify(&access).await.status,
            StatusCode::UNAUTHORIZED,
            "{case}"
        );
        let mut refresh = claims.clone();
        refresh["typ"] = json!("refresh");
        assert_eq!(
            app.refresh(&app.forge(&refresh)).await.json(),
            json!({"detail": "Token is invalid", "code": "token_not_valid"}),
            "{case}"
        );
    }
}

#[tokio::test]
async fn tokens_name_claims_by_the_configured_names_only() {
    let app = TestApp::with_settings(django_settings()).await;
    // simplejwt's default names mean nothing to a server configured with others.
    let mut claims = configured_claims("access");
    let object = claims.as_object_mut().unwrap();
    let typ = object.remove("typ").unwrap();
    object.insert("token_type".into(), typ);
    let hello = app.hello(&app.forge(&claims)).await;
    assert_eq!(hello.json()["messages"][0]["message"], "Token has no type");
    let mut claims = configured_claims("access");
    claims.as_object_mut().unwrap().remove("token_id");
    let hello = app.hello(&app.forge(&claims)).await;
    assert_eq!(hello.json()["messages"][0]["message"], "Token has no id");
    let mut claims = configured_claims("access");
    claims.as_object_mut().unwrap().remove("sub");
    assert_eq!(
        app.hello(&app.forge(&claims)).await.json(),
        json!({"detail": "Token contained no recognizable user identification", "code": "token_not_valid"})
    );
}

#[tokio::test]
async fn users_named_by_username_are_revoked_by_logout_everywhere_and_a_new_password() {
    let app = TestApp::with_settings(django_settings()).await;
    let (_, access) = app.login().await;
    let (_, other_device) = app.login().await;
    app.clock.advance(1);
    let out = send_with(
        &app,
        Method::POST,
        "/api/token/logout-all/",
        &[&format!("Bearer {access}")],
    )
    .await;
    assert_eq!(out.status, StatusCode::OK, "{}", out.text());
    assert_eq!(
        app.hello(&other_device).await.status,
        StatusCode::UNAUTHORIZED
    );

    let (_, before) = app.login().await;
    app.clock.advance(1);
    let change = Request::builder()
        .method(Method::POST)
        .uri("/api/password/change/")
        .header(header::AUTHORIZATION, format!("Bearer {before}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({"old_password": "123", "new_password": "a new one"}).to_string(),
        ))
        .unwrap();
    let changed = app.send(change).await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text());
    assert_eq!(app.hello(&before).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.hello(&changed.field("access")).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_username_claim_naming_nobody_is_user_not_found() {
    let app = TestApp::with_settings(django_settings()).await;
    let mut claims = configured_claims("access");
    claims["sub"] = json!("1");
    assert_eq!(
        app.hello(&app.forge(&claims)).await.json(),
        json!({"detail": "User not found", "code": "user_not_found"})
    );
}

#[tokio::test]
async fn every_configured_header_type_is_accepted_and_401s_challenge_with_the_first() {
    let app = TestApp::configured(|settings| {
        settings.auth_header_types =
            AuthHeaderTypes::new(vec!["JWT".into(), "Bearer".into()]).unwrap();
    })
    .await;
    let (_, access) = app.login().await;
    for scheme in ["JWT", "Bearer"] {
        let answer = send_with(
            &app,
            Method::GET,
            "/hello/",
            &[&format!("{scheme} {access}")],
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK, "{scheme}");
    }
    let refused = send_with(&app, Method::GET, "/hello/", &["Token abc"]).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        refused.header("www-authenticate"),
        Some(r#"JWT realm="api""#)
    );
    let bad_login = app.obtain("vitor", "wrong").await;
    assert_eq!(
        bad_login.header("www-authenticate"),
        Some(r#"JWT realm="api""#)
    );
    let default = TestApp::new().await;
    let refused = send_with(
        &default,
        Method::GET,
        "/hello/",
        &[&format!("JWT {access}")],
    )
    .await;
    assert_eq!(
        refused.header("www-authenticate"),
        Some(r#"Bearer realm="api""#)
    );
}

#[tokio::test]
async fn several_authorization_headers_are_refused_as_drf_refuses_them() {
    let app = TestApp::new().await;
    let (_, access) = app.login().await;
    let valid = format!("Bearer {access}");
    for headers in [
        [valid.as_str(), "Bearer forged"],
        ["Bearer forged", valid.as_str()],
        [valid.as_str(), valid.as_str()],
    ] {
        let answer = send_with(&app, Method::GET, "/hello/", &headers).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{headers:?}");
        assert_eq!(
            answer.json(),
            json!({
                "detail": "Authorization header must contain two space-delimited values",
                "code": "bad_authorization_header",
            })
        );
    }
    // Joined as Django joins them, a first header of another scheme leaves the request
    // anonymous: the valid token in the second is still not used.
    let answer = send_with(
        &app,
        Method::GET,
        "/hello/",
        &["Basic dml0b3I6MTIz", &valid],
    )
    .await;
    assert_eq!(
        answer.json(),
        json!({"detail": "Authentication credentials were not provided."})
    );
}
