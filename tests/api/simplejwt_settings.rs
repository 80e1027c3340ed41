//! simplejwt's token settings over HTTP: `ISSUER` and `AUDIENCE` written and required, the
//! claim names and `USER_ID_FIELD` followed by every endpoint, `AUTH_HEADER_TYPES` and its
//! challenge, and DRF's answer to several `Authorization` headers. (That the defaults issue the
//! same bytes as before is `tokens::service`'s unit test; that real simplejwt agrees is
//! `scripts/simplejwt-settings-interop.py`, run by `.ci/run`.)

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use jwt_workbook::http::auth::AuthHeader;
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
        settings.auth_header =
            AuthHeader::new("Authorization", vec!["JWT".into(), "Bearer".into()]).unwrap();
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
    // Joined as Django joins them (with ","), a first header of another scheme leaves the request
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

#[tokio::test]
async fn a_hash_password_claim_of_simplejwts_check_revoke_token_is_carried_not_checked() {
    let app = TestApp::new().await;
    let mut claims = app.claims("refresh", json!("1"));
    claims["hash_password"] = json!("5f4dcc3b5aa765d61d8327deb882cf99");
    let rotated = app.refresh(&app.forge(&claims)).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text());
    let access = rotated.field("access");
    assert_eq!(payload(&access)["hash_password"], claims["hash_password"]);
    assert_eq!(app.hello(&access).await.status, StatusCode::OK);
}

/// Every key of simplejwt 5.5.1's `DEFAULTS` (its `settings.py`), in its order.
const SIMPLE_JWT_KEYS: [&str; 34] = [
    "ACCESS_TOKEN_LIFETIME",
    "REFRESH_TOKEN_LIFETIME",
    "ROTATE_REFRESH_TOKENS",
    "BLACKLIST_AFTER_ROTATION",
    "UPDATE_LAST_LOGIN",
    "ALGORITHM",
    "SIGNING_KEY",
    "VERIFYING_KEY",
    "AUDIENCE",
    "ISSUER",
    "JSON_ENCODER",
    "JWK_URL",
    "LEEWAY",
    "AUTH_HEADER_TYPES",
    "AUTH_HEADER_NAME",
    "USER_ID_FIELD",
    "USER_ID_CLAIM",
    "USER_AUTHENTICATION_RULE",
    "AUTH_TOKEN_CLASSES",
    "TOKEN_TYPE_CLAIM",
    "JTI_CLAIM",
    "TOKEN_USER_CLASS",
    "SLIDING_TOKEN_REFRESH_EXP_CLAIM",
    "SLIDING_TOKEN_LIFETIME",
    "SLIDING_TOKEN_REFRESH_LIFETIME",
    "TOKEN_OBTAIN_SERIALIZER",
    "TOKEN_REFRESH_SERIALIZER",
    "TOKEN_VERIFY_SERIALIZER",
    "TOKEN_BLACKLIST_SERIALIZER",
    "SLIDING_TOKEN_OBTAIN_SERIALIZER",
    "SLIDING_TOKEN_REFRESH_SERIALIZER",
    "CHECK_REVOKE_TOKEN",
    "REVOKE_TOKEN_CLAIM",
    "CHECK_USER_IS_ACTIVE",
];

/// django-cors-headers' settings (its `conf.py`).
const CORS_SETTINGS: [&str; 10] = [
    "CORS_ALLOWED_ORIGINS",
    "CORS_ALLOW_ALL_ORIGINS",
    "CORS_ALLOWED_ORIGIN_REGEXES",
    "CORS_URLS_REGEX",
    "CORS_ALLOW_METHODS",
    "CORS_ALLOW_HEADERS",
    "CORS_EXPOSE_HEADERS",
    "CORS_PREFLIGHT_MAX_AGE",
    "CORS_ALLOW_CREDENTIALS",
    "CORS_ALLOW_PRIVATE_NETWORK",
];

fn repository_file(path: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

/// The rows of the markdown tables in `text`, as their cells (not the header rows).
fn table_rows(text: &str) -> Vec<Vec<String>> {
    let lines: Vec<&str> = text.lines().collect();
    lines
        .iter()
        .zip(lines.iter().skip(1).chain([&""]))
        .filter(|(line, next)| line.starts_with("| `") && !next.starts_with("|---"))
        .map(|(line, _)| {
            line.trim_matches('|')
                .split(" | ")
                .map(|cell| cell.trim().to_owned())
                .collect()
        })
        .collect()
}

/// The backticked words of a cell.
fn code_words(cell: &str) -> Vec<&str> {
    cell.split('`').skip(1).step_by(2).collect()
}

/// Each `--flag` of a row, with the environment variable the same row pairs it with, must be
/// a real flag of `serve` reading that very variable.
fn assert_flags_and_variables_are_real(document: &str, text: &str) {
    use clap::CommandFactory;
    let command = jwt_workbook::cli::Cli::command();
    let mut checked = 0;
    for row in table_rows(text) {
        // The README's rows are flag | variable | default | what; the page's are setting | here
        // | notes.
        let cells = if row[0].contains("`--") {
            &row[..2]
        } else {
            &row[1..2]
        };
        let words: Vec<&str> = cells.iter().flat_map(|cell| code_words(cell)).collect();
        let flags: Vec<&str> = words
            .iter()
            .copied()
            .filter(|w| w.starts_with("--"))
            .collect();
        let variables: Vec<&str> = words
            .iter()
            .copied()
            .filter(|w| w.starts_with("JWT_") || *w == "DATABASE_URL")
            .collect();
        assert_eq!(flags.len(), variables.len(), "{document}: {row:?}");
        for (flag, variable) in flags.iter().zip(&variables) {
            let argument = command
                .get_arguments()
                .find(|argument| argument.get_long() == Some(&flag[2..]))
                .unwrap_or_else(|| panic!("{document}: there is no {flag}"));
            assert_eq!(
                argument.get_env().and_then(|env| env.to_str()),
                Some(*variable),
                "{document}: {flag}"
            );
            checked += 1;
        }
    }
    assert!(checked > 10, "{document}: only {checked} flags found");
}

#[test]
fn the_settings_page_maps_every_simplejwt_and_cors_setting_to_real_flags() {
    let page = repository_file("book/src/simplejwt-settings.md");
    let keys: Vec<String> = table_rows(&page)
        .iter()
        .map(|row| code_words(&row[0])[0].to_owned())
        .collect();
    let mut expected: Vec<&str> = SIMPLE_JWT_KEYS.to_vec();
    expected.extend(CORS_SETTINGS);
    assert_eq!(
        keys, expected,
        "one row per setting, in simplejwt's and then django-cors-headers' order"
    );
    assert_flags_and_variables_are_real("the settings page", &page);
    assert!(repository_file("book/src/SUMMARY.md").contains("(simplejwt-settings.md)"));
}

#[test]
fn the_readme_configuration_table_names_real_flags_and_variables() {
    assert_flags_and_variables_are_real("README.md", &repository_file("README.md"));
}

#[test]
fn every_variable_the_environment_file_sets_or_suggests_is_read_by_the_server() {
    use clap::CommandFactory;
    let command = jwt_workbook::cli::Cli::command();
    let known: Vec<String> = command
        .get_arguments()
        .filter_map(|argument| argument.get_env()?.to_str().map(str::to_owned))
        .collect();
    let template = repository_file("deploy/templates/jwt-workbook.env.tera");
    let mut checked = 0;
    for line in template.lines() {
        let line = line.trim_start_matches('#');
        let Some((name, _)) = line.split_once('=') else {
            continue;
        };
        if name.starts_with("JWT_") && !name.contains(' ') {
            assert!(
                known.iter().any(|env| env == name),
                "{name} is read by nothing"
            );
            checked += 1;
        }
    }
    assert!(checked > 20, "only {checked} variables found");
}

#[tokio::test]
async fn a_configured_header_name_carries_the_token_and_authorization_is_then_ignored() {
    let app = TestApp::configured(|settings| {
        settings.auth_header =
            AuthHeader::new("HTTP_X_ACCESS_TOKEN", vec!["Bearer".into()]).unwrap();
    })
    .await;
    let (_, access) = app.login().await;
    let bearer = format!("Bearer {access}");
    let request = |name: &str| {
        Request::builder()
            .uri("/api/me/")
            .header(name, bearer.as_str())
            .body(Body::empty())
            .unwrap()
    };
    let me = app.send(request("X-Access-Token")).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text());
    let ignored = app.send(request("Authorization")).await;
    assert_eq!(
        ignored.json(),
        json!({"detail": "Authentication credentials were not provided."})
    );
    assert_eq!(
        ignored.header("www-authenticate"),
        Some(r#"Bearer realm="api""#)
    );
}
