//! simplejwt's sliding tokens (`--sliding-tokens`): one token that opens protected routes until
//! `exp` and slides forward on refresh until `refresh_exp`.

use axum::http::StatusCode;
use jwt_workbook::tokens::TokenSettings;
use serde_json::json;

use crate::helpers::{NOW, TestApp, payload};

async fn sliding_app(settings: TokenSettings) -> TestApp {
    TestApp::configured(|app| {
        app.tokens = settings;
        app.sliding_tokens = true;
    })
    .await
}

async fn obtain_sliding(app: &TestApp) -> String {
    let answer = app
        .post_json(
            "/api/token/sliding/",
            json!({"username": "vitor", "password": "123"}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    answer.field("token")
}

#[tokio::test]
async fn without_the_setting_the_sliding_endpoints_do_not_exist() {
    let app = TestApp::new().await;
    let answer = app
        .post_json(
            "/api/token/sliding/",
            json!({"username": "vitor", "password": "123"}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(answer.json(), json!({"detail": "Not found."}));
}

#[tokio::test]
async fn a_sliding_token_carries_simplejwts_claims_and_opens_protected_routes() {
    let app = sliding_app(TokenSettings::default()).await;
    let token = obtain_sliding(&app).await;
    let claims = payload(&token);
    let names: Vec<&str> = claims
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        names,
        ["token_type", "exp", "iat", "jti", "refresh_exp", "user_id"]
    );
    assert_eq!(claims["token_type"], "sliding");
    assert_eq!(claims["exp"], NOW + 300);
    assert_eq!(claims["refresh_exp"], NOW + 86_400);
    assert_eq!(app.hello(&token).await.status, StatusCode::OK);
    // Access tokens still work beside them.
    let (refresh, access) = app.login().await;
    assert_eq!(app.hello(&access).await.status, StatusCode::OK);
    // A refresh token is neither, and the refusal says so for each class tried, as simplejwt's does.
    let refused = app.hello(&refresh).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        refused.json()["messages"],
        json!([
            {"token_class": "AccessToken", "token_type": "access", "message": "Token has wrong type"},
            {"token_class": "SlidingToken", "token_type": "sliding", "message": "Token has wrong type"}
        ])
    );
}

#[tokio::test]
async fn refreshing_slides_exp_forward_but_never_past_refresh_exp() {
    let settings = TokenSettings {
        sliding_refresh_lifetime: 600,
        ..TokenSettings::default()
    };
    let app = sliding_app(settings).await;
    let token = obtain_sliding(&app).await;
    app.clock.advance(200);
    let slid = app
        .post_json("/api/token/sliding/refresh/", json!({ "token": token }))
        .await;
    assert_eq!(slid.status, StatusCode::OK, "{}", slid.text());
    let slid = slid.field("token");
    let (before, after) = (payload(&token), payload(&slid));
    assert_eq!(after["exp"], NOW + 500);
    assert_eq!(after["iat"], NOW + 200);
    assert_eq!(after["jti"], before["jti"]);
    assert_eq!(after["refresh_exp"], before["refresh_exp"]);

    app.clock.advance(250);
    let capped = app
        .post_json("/api/token/sliding/refresh/", json!({ "token": slid }))
        .await;
    assert_eq!(payload(&capped.field("token"))["exp"], NOW + 600);

    app.clock.set(NOW + 600);
    let late = app
        .post_json(
            "/api/token/sliding/refresh/",
            json!({ "token": capped.field("token") }),
        )
        .await;
    assert_eq!(late.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        late.json(),
        json!({"detail": "Token is expired", "code": "token_not_valid"})
    );
}

#[tokio::test]
async fn a_sliding_token_without_or_past_its_refresh_deadline_is_refused() {
    let app = sliding_app(TokenSettings::default()).await;
    let mut claims = app.claims("sliding", json!(app.vitor.id.to_string()));
    let missing = app.forge(&claims);
    claims["refresh_exp"] = json!(NOW - 1);
    let past = app.forge(&claims);
    for (token, detail) in [
        (missing, "Token has no 'refresh_exp' claim"),
        (past, "Token 'refresh_exp' claim has expired"),
    ] {
        let answer = app
            .post_json("/api/token/sliding/refresh/", json!({ "token": token }))
            .await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            answer.json(),
            json!({"detail": detail, "code": "token_not_valid"})
        );
    }
    // An access token is not a sliding token.
    let (_, access) = app.login().await;
    let answer = app
        .post_json("/api/token/sliding/refresh/", json!({ "token": access }))
        .await;
    assert_eq!(
        answer.json(),
        json!({"detail": "Token has wrong type", "code": "token_not_valid"})
    );
}

#[tokio::test]
async fn logging_out_everywhere_stops_sliding_tokens_too() {
    let app = sliding_app(TokenSettings::default()).await;
    let token = obtain_sliding(&app).await;
    let request = axum::http::Request::builder()
        .method("POST")
        .uri("/api/token/logout-all/")
        .header("authorization", format!("Bearer {token}"))
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(app.send(request).await.status, StatusCode::OK);
    assert_eq!(app.hello(&token).await.status, StatusCode::UNAUTHORIZED);
    let answer = app
        .post_json("/api/token/sliding/refresh/", json!({ "token": token }))
        .await;
    assert_eq!(
        answer.json(),
        json!({"detail": "Token is blacklisted", "code": "token_not_valid"})
    );
}
