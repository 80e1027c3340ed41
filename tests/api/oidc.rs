//! The OpenID Connect provider, driven as a browser and a relying party would: the login page
//! and its form, the code exchange with PKCE, the ID token checked against the published JWKS,
//! `/userinfo`, refresh with rotation, single sign-on for a second client, and every misuse the
//! specifications name, answered with their error codes.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::JwkSet};
use jwt_workbook::oidc::pkce::challenge_of;
use jwt_workbook::oidc::{Client, NewClient, register_client};
use jwt_workbook::tokens::{Key, KeyAlgorithm, KeySet};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::helpers::{KEY, NOW, TestApp, TestResponse};

const RS256_PEM: &str = include_str!("fixtures/rs256.pem");
const ISSUER: &str = "http://127.0.0.1:8000";
const REDIRECT: &str = "http://127.0.0.1:9001/callback";
/// RFC 7636 Appendix B's verifier.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/// The API keeps signing with HS256; the key pair beside it signs ID tokens.
async fn provider_app() -> TestApp {
    TestApp::configured(|settings| {
        let rs256 = Key::from_pem(KeyAlgorithm::RS256, RS256_PEM, None).unwrap();
        settings.keys = KeySet::new(vec![Key::hs256(KEY), rs256]).unwrap().into();
    })
    .await
}

async fn register(app: &TestApp, name: &str, redirect: &str) -> (Client, String) {
    let (client, secret) = register_client(
        &app.store,
        NewClient {
            name: name.into(),
            redirect_uris: vec![redirect.into()],
            ..NewClient::default()
        },
        NOW,
    )
    .await
    .unwrap();
    (client, secret.unwrap())
}

fn authorize_query(client_id: &str, redirect: &str, extra: &[(&str, &str)]) -> String {
    let challenge = challenge_of(VERIFIER);
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect),
        ("scope", "openid profile email"),
        ("state", "af0ifjsldkj"),
        ("nonce", "n-0S6_WzA2Mj"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ];
    pairs.retain(|(name, _)| !extra.iter().any(|(e, _)| e == name));
    pairs.extend(extra.iter().filter(|(_, value)| !value.is_empty()));
    serde_urlencoded::to_string(&pairs).unwrap()
}

/// A browser: the cookies it was given, sent back on every request.
#[derive(Default)]
struct Browser {
    cookies: Vec<(String, String)>,
}

impl Browser {
    fn keep(&mut self, response: &TestResponse) {
        for set in response.headers.get_all(header::SET_COOKIE) {
            let pair = set.to_str().unwrap().split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            self.cookies.retain(|(kept, _)| kept != name);
            if !value.is_empty() {
                self.cookies.push((name.into(), value.into()));
            }
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn get(&mut self, app: &TestApp, uri: &str) -> TestResponse {
        let request = Request::builder()
            .uri(uri)
            .header(header::COOKIE, self.cookie_header())
            .body(Body::empty())
            .unwrap();
        let response = app.send(request).await;
        self.keep(&response);
        response
    }

    async fn post_form(&mut self, app: &TestApp, uri: &str, form: &[(&str, &str)]) -> TestResponse {
        let request = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, self.cookie_header())
            .body(Body::from(serde_urlencoded::to_string(form).unwrap()))
            .unwrap();
        let response = app.send(request).await;
        self.keep(&response);
        response
    }
}

/// The hidden fields of the login page, by name.
fn hidden_fields(page: &str) -> Vec<(String, String)> {
    page.split("<input type=\"hidden\" ")
        .skip(1)
        .map(|input| {
            let name = input
                .split("name=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            let value = input
                .split("value=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            (
                name.to_owned(),
                value.replace("&amp;", "&").replace("&quot;", "\""),
            )
        })
        .collect()
}

/// Fills in the login page and posts it, as a person at the browser would.
async fn submit_login(
    browser: &mut Browser,
    app: &TestApp,
    page: &TestResponse,
    password: &str,
) -> TestResponse {
    let mut form = hidden_fields(&page.text());
    form.push(("username".into(), "vitor".into()));
    form.push(("password".into(), password.into()));
    let form: Vec<(&str, &str)> = form.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    browser.post_form(app, "/oidc/authorize", &form).await
}

/// The query parameters of a redirect's `Location`, after checking where it points.
fn redirected_to(response: &TestResponse, expected_base: &str) -> Vec<(String, String)> {
    assert_eq!(
        response.status,
        StatusCode::SEE_OTHER,
        "{}",
        response.text()
    );
    let location = response.header("location").unwrap();
    let (base, query) = location.split_once('?').unwrap();
    assert_eq!(base, expected_base);
    serde_urlencoded::from_str(query).unwrap()
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// Logs `vitor` in through the login page; returns the code.
async fn sign_in(browser: &mut Browser, app: &TestApp, client_id: &str) -> String {
    let page = browser
        .get(
            app,
            &format!(
                "/oidc/authorize?{}",
                authorize_query(client_id, REDIRECT, &[])
            ),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let answer = submit_login(browser, app, &page, "123").await;
    let params = redirected_to(&answer, REDIRECT);
    assert_eq!(param(&params, "state"), Some("af0ifjsldkj"));
    assert_eq!(param(&params, "iss"), Some(ISSUER));
    param(&params, "code").unwrap().to_owned()
}

async fn token_request(
    app: &TestApp,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> TestResponse {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri("/oidc/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some((id, secret)) = basic {
        let encoded = STANDARD.encode(format!("{id}:{secret}"));
        request = request.header(header::AUTHORIZATION, format!("Basic {encoded}"));
    }
    let request = request
        .body(Body::from(serde_urlencoded::to_string(form).unwrap()))
        .unwrap();
    app.send(request).await
}

async fn exchange(app: &TestApp, client: &Client, secret: &str, code: &str) -> TestResponse {
    token_request(
        app,
        Some((&client.id, secret)),
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
    .await
}

fn oauth_error(response: &TestResponse) -> (StatusCode, String) {
    (
        response.status,
        response.json()["error"].as_str().unwrap().to_owned(),
    )
}

/// The ID token checked as a relying party must (OpenID Connect Core §3.1.3.7), with the keys
/// from the server's JWKS: signature, `iss`, `aud`, `azp`, time, `nonce`, `at_hash`.
async fn verified_id_token(app: &TestApp, tokens: &Value, client_id: &str) -> Value {
    let jwks: JwkSet =
        serde_json::from_value(app.send(get("/.well-known/jwks.json")).await.json()).unwrap();
    let id_token = tokens["id_token"].as_str().unwrap();
    let header = jsonwebtoken::decode_header(id_token).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    let jwk = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("the kid is in the JWKS");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[client_id]);
    validation.set_issuer(&[ISSUER]);
    // Our clock is pinned; exp is checked against it below.
    validation.validate_exp = false;
    validation.set_required_spec_claims(&["iss", "aud", "exp", "sub"]);
    let claims: Value =
        jsonwebtoken::decode(id_token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
            .unwrap()
            .claims;
    assert!(claims["exp"].as_i64().unwrap() > NOW);
    assert_eq!(claims["azp"], client_id);
    assert_eq!(claims["nonce"], "n-0S6_WzA2Mj");
    let digest = Sha256::digest(tokens["access_token"].as_str().unwrap().as_bytes());
    assert_eq!(claims["at_hash"], URL_SAFE_NO_PAD.encode(&digest[..16]));
    claims
}

fn get(uri: &str) -> Request<Body> {
    Request::builder().uri(uri).body(Body::empty()).unwrap()
}

fn bearer(uri: &str, token: &str) -> Request<Body> {
    Request::builder()
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn discovery_names_the_endpoints_the_servers_jwks_and_pkce_s256_only() {
    let app = provider_app().await;
    let response = app.send(get("/.well-known/openid-configuration")).await;
    assert_eq!(response.status, StatusCode::OK);
    let discovery = response.json();
    assert_eq!(discovery["issuer"], ISSUER);
    assert_eq!(
        discovery["authorization_endpoint"],
        "http://127.0.0.1:8000/oidc/authorize"
    );
    assert_eq!(
        discovery["token_endpoint"],
        "http://127.0.0.1:8000/oidc/token"
    );
    assert_eq!(
        discovery["userinfo_endpoint"],
        "http://127.0.0.1:8000/oidc/userinfo"
    );
    assert_eq!(
        discovery["jwks_uri"],
        "http://127.0.0.1:8000/.well-known/jwks.json"
    );
    assert_eq!(
        discovery["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(
        discovery["response_types_supported"],
        serde_json::json!(["code"])
    );
    assert_eq!(
        discovery["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256"])
    );
}

#[tokio::test]
async fn without_a_key_pair_the_provider_is_off_and_says_why() {
    let app = TestApp::new().await;
    let response = app.send(get("/.well-known/openid-configuration")).await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert!(
        response.text().contains("RS256 or ES256"),
        "{}",
        response.text()
    );
}

#[tokio::test]
async fn the_code_flow_gives_a_verified_id_token_userinfo_and_a_rotating_refresh_token() {
    let app = provider_app().await;
    let (client, secret) = register(&app, "Notes", REDIRECT).await;
    let mut browser = Browser::default();

    let page = browser
        .get(
            &app,
            &format!(
                "/oidc/authorize?{}",
                authorize_query(&client.id, REDIRECT, &[])
            ),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let policy = page.header("content-security-policy").unwrap();
    assert!(policy.contains("default-src 'none'"), "{policy}");
    assert!(!policy.contains("script-src"), "{policy}");
    assert!(
        policy.contains("form-action 'self' http://127.0.0.1:9001;"),
        "{policy}"
    );
    assert!(page.text().contains("<strong>Notes</strong>"));
    assert!(!page.text().contains("<script"));
    let csrf = browser
        .cookies
        .iter()
        .find(|(name, _)| name == "oidc_csrf")
        .unwrap()
        .1
        .clone();
    assert!(
        page.text()
            .contains(&format!("name=\"csrf\" value=\"{csrf}\""))
    );

    let answer = submit_login(&mut browser, &app, &page, "123").await;
    let set_session = answer.header("set-cookie").unwrap();
    assert!(set_session.starts_with("oidc_session="), "{set_session}");
    assert!(set_session.contains("HttpOnly") && set_session.contains("SameSite=Lax"));
    let params = redirected_to(&answer, REDIRECT);
    let code = param(&params, "code").unwrap();

    let response = exchange(&app, &client, &secret, code).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let tokens = response.json();
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 300);
    assert_eq!(tokens["scope"], "openid profile email");
    let claims = verified_id_token(&app, &tokens, &client.id).await;
    assert_eq!(claims["sub"], app.vitor.id.to_string());
    assert_eq!(claims["auth_time"], NOW);
    assert!(claims["sid"].is_string());

    // The ID token is for the client, never a bearer token for the API.
    let id_token = tokens["id_token"].as_str().unwrap();
    assert_eq!(app.hello(id_token).await.status, StatusCode::UNAUTHORIZED);

    let access = tokens["access_token"].as_str().unwrap();
    let userinfo = app.send(bearer("/oidc/userinfo", access)).await;
    assert_eq!(userinfo.status, StatusCode::OK, "{}", userinfo.text());
    assert_eq!(userinfo.json()["sub"], app.vitor.id.to_string());
    assert_eq!(userinfo.json()["preferred_username"], "vitor");
    // The access token is the API's own: it opens protected routes too.
    assert_eq!(app.hello(access).await.status, StatusCode::OK);

    let refreshed = token_request(
        &app,
        Some((&client.id, &secret)),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.text());
    let new_refresh = refreshed.json()["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(new_refresh, tokens["refresh_token"].as_str().unwrap());

    // Replaying the rotated-away refresh token revokes the family, as on /api/token/refresh/.
    let replay = token_request(
        &app,
        Some((&client.id, &secret)),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(
        oauth_error(&replay),
        (StatusCode::BAD_REQUEST, "invalid_grant".into())
    );
    let after = token_request(
        &app,
        Some((&client.id, &secret)),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &new_refresh),
        ],
    )
    .await;
    assert_eq!(
        oauth_error(&after),
        (StatusCode::BAD_REQUEST, "invalid_grant".into())
    );
}

#[tokio::test]
async fn a_second_client_signs_in_without_a_password_through_the_providers_session() {
    let app = provider_app().await;
    let (first, _) = register(&app, "Notes", REDIRECT).await;
    let other_redirect = "http://127.0.0.1:9002/callback";
    let (second, second_secret) = register(&app, "Calendar", other_redirect).await;
    let mut browser = Browser::default();
    sign_in(&mut browser, &app, &first.id).await;

    let answer = browser
        .get(
            &app,
            &format!(
                "/oidc/authorize?{}",
                authorize_query(&second.id, other_redirect, &[])
            ),
        )
        .await;
    let params = redirected_to(&answer, other_redirect);
    let code = param(&params, "code").unwrap();
    let tokens = token_request(
        &app,
        None,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", other_redirect),
            ("code_verifier", VERIFIER),
            ("client_id", &second.id),
            ("client_secret", &second_secret),
        ],
    )
    .await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text());
    let claims = verified_id_token(&app, &tokens.json(), &second.id).await;
    // The login happened once, for the first client.
    assert_eq!(claims["auth_time"], NOW);

    // prompt=login asks again even so; a stranger's browser gets the page, prompt=none an error.
    let forced = browser
        .get(
            &app,
            &format!(
                "/oidc/authorize?{}",
                authorize_query(&second.id, other_redirect, &[("prompt", "login")])
            ),
        )
        .await;
    assert_eq!(forced.status, StatusCode::OK);
    let silent = Browser::default()
        .get(
            &app,
            &format!(
                "/oidc/authorize?{}",
                authorize_query(&second.id, other_redirect, &[("prompt", "none")])
            ),
        )
        .await;
    let params = redirected_to(&silent, other_redirect);
    assert_eq!(param(&params, "error"), Some("login_required"));
    assert_eq!(param(&params, "state"), Some("af0ifjsldkj"));
}

#[tokio::test]
async fn an_unregistered_redirect_uri_or_client_gets_our_error_page_and_never_a_redirect() {
    let app = provider_app().await;
    let (client, _) = register(&app, "Notes", REDIRECT).await;
    for query in [
        authorize_query(&client.id, "http://127.0.0.1:9001/callback/../evil", &[]),
        authorize_query(&client.id, "http://127.0.0.1:9001/callbackx", &[]),
        authorize_query(&client.id, "https://evil.example/callback", &[]),
        authorize_query("no-such-client", REDIRECT, &[]),
        authorize_query(&client.id, "", &[("redirect_uri", "")]),
    ] {
        let response = app.send(get(&format!("/oidc/authorize?{query}"))).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(response.header("location"), None, "{query}");
        assert!(
            response.text().contains("Sign-in error"),
            "{}",
            response.text()
        );
    }
}

#[tokio::test]
async fn a_bad_request_from_a_known_client_goes_back_to_it_with_the_error() {
    let app = provider_app().await;
    let (client, _) = register(&app, "Notes", REDIRECT).await;
    for (extra, error) in [
        (vec![("code_challenge_method", "plain")], "invalid_request"),
        (vec![("code_challenge", "")], "invalid_request"),
        (
            vec![("response_type", "token")],
            "unsupported_response_type",
        ),
        (vec![("scope", "profile")], "invalid_scope"),
    ] {
        let response = app
            .send(get(&format!(
                "/oidc/authorize?{}",
                authorize_query(&client.id, REDIRECT, &extra)
            )))
            .await;
        let params = redirected_to(&response, REDIRECT);
        assert_eq!(param(&params, "error"), Some(error), "{extra:?}");
        assert_eq!(param(&params, "state"), Some("af0ifjsldkj"));
    }
}

#[tokio::test]
async fn the_login_form_is_refused_without_its_csrf_token_and_a_wrong_password_shows_it_again() {
    let app = provider_app().await;
    let (client, _) = register(&app, "Notes", REDIRECT).await;
    let mut browser = Browser::default();
    let page = browser
        .get(
            &app,
            &format!(
                "/oidc/authorize?{}",
                authorize_query(&client.id, REDIRECT, &[])
            ),
        )
        .await;

    // A page elsewhere posting the same form has no way to send our cookie's value.
    let mut forged = Browser::default();
    let answer = submit_login(&mut forged, &app, &page, "123").await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(answer.header("location"), None);

    let answer = submit_login(&mut browser, &app, &page, "wrong").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(
        answer
            .text()
            .contains("Please enter a correct username and password.")
    );
    assert!(
        !browser
            .cookies
            .iter()
            .any(|(name, _)| name == "oidc_session")
    );
}

#[tokio::test]
async fn a_reused_code_is_refused_and_the_tokens_it_issued_are_revoked() {
    let app = provider_app().await;
    let (client, secret) = register(&app, "Notes", REDIRECT).await;
    let code = sign_in(&mut Browser::default(), &app, &client.id).await;
    let first = exchange(&app, &client, &secret, &code).await;
    assert_eq!(first.status, StatusCode::OK);
    let access = first.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app.hello(&access).await.status, StatusCode::OK);

    let again = exchange(&app, &client, &secret, &code).await;
    assert_eq!(
        oauth_error(&again),
        (StatusCode::BAD_REQUEST, "invalid_grant".into())
    );
    assert_eq!(app.hello(&access).await.status, StatusCode::UNAUTHORIZED);
    let refresh = first.json()["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(app.refresh(&refresh).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_missing_or_wrong_verifier_or_redirect_uri_is_refused() {
    let app = provider_app().await;
    let (client, secret) = register(&app, "Notes", REDIRECT).await;
    let wrong_verifier = "eBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    for (form, error) in [
        (vec![("redirect_uri", REDIRECT)], "invalid_request"),
        (
            vec![
                ("redirect_uri", REDIRECT),
                ("code_verifier", wrong_verifier),
            ],
            "invalid_grant",
        ),
        (vec![("code_verifier", VERIFIER)], "invalid_grant"),
        (
            vec![
                ("redirect_uri", "http://127.0.0.1:9001/other"),
                ("code_verifier", VERIFIER),
            ],
            "invalid_grant",
        ),
    ] {
        let code = sign_in(&mut Browser::default(), &app, &client.id).await;
        let mut request = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
        ];
        request.extend(form.iter().copied());
        let response = token_request(&app, Some((&client.id, &secret)), &request).await;
        assert_eq!(
            oauth_error(&response),
            (StatusCode::BAD_REQUEST, error.into()),
            "{form:?}"
        );
    }
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    let app = provider_app().await;
    let (client, secret) = register(&app, "Notes", REDIRECT).await;
    let code = sign_in(&mut Browser::default(), &app, &client.id).await;
    app.clock.advance(61);
    let response = exchange(&app, &client, &secret, &code).await;
    assert_eq!(
        oauth_error(&response),
        (StatusCode::BAD_REQUEST, "invalid_grant".into())
    );
}

#[tokio::test]
async fn an_unknown_client_a_wrong_secret_or_another_clients_code_is_refused() {
    let app = provider_app().await;
    let (client, secret) = register(&app, "Notes", REDIRECT).await;
    let (other, other_secret) = register(&app, "Other", REDIRECT).await;
    let code = sign_in(&mut Browser::default(), &app, &client.id).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let unknown = token_request(&app, Some(("nobody", "x")), &form).await;
    assert_eq!(
        oauth_error(&unknown),
        (StatusCode::UNAUTHORIZED, "invalid_client".into())
    );
    assert!(
        unknown
            .header("www-authenticate")
            .unwrap()
            .starts_with("Basic")
    );
    let wrong = token_request(&app, Some((&client.id, &other_secret)), &form).await;
    assert_eq!(
        oauth_error(&wrong),
        (StatusCode::UNAUTHORIZED, "invalid_client".into())
    );
    let mut without_secret = form.to_vec();
    without_secret.push(("client_id", &client.id));
    let no_secret = token_request(&app, None, &without_secret).await;
    assert_eq!(
        oauth_error(&no_secret),
        (StatusCode::UNAUTHORIZED, "invalid_client".into())
    );
    let stolen = token_request(&app, Some((&other.id, &other_secret)), &form).await;
    assert_eq!(
        oauth_error(&stolen),
        (StatusCode::BAD_REQUEST, "invalid_grant".into())
    );
    let unsupported = token_request(
        &app,
        Some((&client.id, &secret)),
        &[("grant_type", "password")],
    )
    .await;
    assert_eq!(
        oauth_error(&unsupported),
        (StatusCode::BAD_REQUEST, "unsupported_grant_type".into())
    );
}

#[tokio::test]
async fn api_tokens_are_unchanged_and_not_taken_for_the_providers() {
    let app = provider_app().await;
    let (client, secret) = register(&app, "Notes", REDIRECT).await;
    let (refresh, access) = app.login().await;
    // The API still signs with its HS256 key, without a kid, as simplejwt does.
    assert_eq!(
        jsonwebtoken::decode_header(&access).unwrap().alg,
        Algorithm::HS256
    );
    let userinfo = app.send(bearer("/oidc/userinfo", &access)).await;
    assert_eq!(userinfo.status, StatusCode::UNAUTHORIZED);
    assert!(
        userinfo
            .header("www-authenticate")
            .unwrap()
            .contains("invalid_token")
    );
    let response = token_request(
        &app,
        Some((&client.id, &secret)),
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(
        oauth_error(&response),
        (StatusCode::BAD_REQUEST, "invalid_grant".into())
    );
    let anonymous = app.send(get("/oidc/userinfo")).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

/// A client with a post-logout redirect URI and a front-channel logout page.
async fn register_for_logout(app: &TestApp, name: &str, port: u16) -> (Client, String) {
    let (client, secret) = register_client(
        &app.store,
        NewClient {
            name: name.into(),
            redirect_uris: vec![format!("http://127.0.0.1:{port}/callback")],
            post_logout_redirect_uris: vec![format!("http://127.0.0.1:{port}/")],
            frontchannel_logout_uri: Some(format!("http://127.0.0.1:{port}/frontchannel-logout")),
            public: false,
        },
        NOW,
    )
    .await
    .unwrap();
    (client, secret.unwrap())
}

/// Signs the browser in to a client and exchanges the code: the token response.
async fn signed_in_tokens(
    browser: &mut Browser,
    app: &TestApp,
    client: &Client,
    secret: &str,
) -> Value {
    let redirect = &client.redirect_uris[0];
    let mut answer = browser
        .get(
            app,
            &format!(
                "/oidc/authorize?{}",
                authorize_query(&client.id, redirect, &[])
            ),
        )
        .await;
    if answer.status == StatusCode::OK {
        answer = submit_login(browser, app, &answer, "123").await;
    }
    let params = redirected_to(&answer, redirect);
    let form = [
        ("grant_type", "authorization_code"),
        ("code", param(&params, "code").unwrap()),
        ("redirect_uri", redirect),
        ("code_verifier", VERIFIER),
    ];
    let response = token_request(app, Some((&client.id, secret)), &form).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.json()
}

#[tokio::test]
async fn logout_with_an_id_token_hint_ends_the_provider_session_every_app_session_and_their_tokens()
{
    let app = provider_app().await;
    let (notes, notes_secret) = register_for_logout(&app, "Notes", 9001).await;
    let (calendar, calendar_secret) = register_for_logout(&app, "Calendar", 9002).await;
    let mut browser = Browser::default();
    let first = signed_in_tokens(&mut browser, &app, &notes, &notes_secret).await;
    let second = signed_in_tokens(&mut browser, &app, &calendar, &calendar_secret).await;
    let sid = verified_id_token(&app, &second, &calendar.id).await["sid"]
        .as_str()
        .unwrap()
        .to_owned();

    let query = serde_urlencoded::to_string([
        ("id_token_hint", second["id_token"].as_str().unwrap()),
        ("post_logout_redirect_uri", "http://127.0.0.1:9002/"),
        ("state", "bye"),
    ])
    .unwrap();
    let page = browser.get(&app, &format!("/oidc/logout?{query}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let text = page.text();
    for port in [9001, 9002] {
        let frame = format!(
            "<iframe src=\"http://127.0.0.1:{port}/frontchannel-logout?iss=http%3A%2F%2F127.0.0.1%3A8000&amp;sid={}\"",
            sid
        );
        assert!(text.contains(&frame), "{frame} in {text}");
    }
    assert!(
        text.contains("content=\"1; url=http://127.0.0.1:9002/?state=bye\""),
        "{text}"
    );
    let policy = page.header("content-security-policy").unwrap();
    for origin in ["http://127.0.0.1:9001", "http://127.0.0.1:9002"] {
        assert!(policy.contains(origin), "{policy}");
    }
    assert!(policy.contains("frame-src http://"), "{policy}");
    assert!(
        !browser
            .cookies
            .iter()
            .any(|(name, _)| name == "oidc_session")
    );

    // Both apps' tokens are revoked, and the next sign-in asks for the password again.
    for tokens in [&first, &second] {
        let access = tokens["access_token"].as_str().unwrap();
        assert_eq!(app.hello(access).await.status, StatusCode::UNAUTHORIZED);
    }
    let again = browser
        .get(
            &app,
            &format!(
                "/oidc/authorize?{}",
                authorize_query(&notes.id, &notes.redirect_uris[0], &[])
            ),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert!(again.text().contains("Sign in"));
}

#[tokio::test]
async fn logout_without_a_hint_asks_first_and_a_foreign_redirect_is_refused() {
    let app = provider_app().await;
    let (notes, notes_secret) = register_for_logout(&app, "Notes", 9001).await;
    let mut browser = Browser::default();
    let tokens = signed_in_tokens(&mut browser, &app, &notes, &notes_secret).await;

    let foreign = serde_urlencoded::to_string([
        ("client_id", notes.id.as_str()),
        ("post_logout_redirect_uri", "https://evil.example/"),
    ])
    .unwrap();
    let refused = browser.get(&app, &format!("/oidc/logout?{foreign}")).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(refused.header("location"), None);

    // A bare link to the logout endpoint (from any page) only asks.
    let asked = browser.get(&app, "/oidc/logout").await;
    assert_eq!(asked.status, StatusCode::OK);
    assert!(asked.text().contains("Sign out?"));
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(app.hello(access).await.status, StatusCode::OK);
    let forged = Browser::default()
        .post_form(&app, "/oidc/logout", &[("csrf", "x")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    let fields = hidden_fields(&asked.text());
    let form: Vec<(&str, &str)> = fields
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let done = browser.post_form(&app, "/oidc/logout", &form).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());
    assert!(done.text().contains("You are signed out"));
    assert_eq!(app.hello(access).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_es256_key_signs_the_id_tokens_when_it_is_the_configured_key_pair() {
    const ES256_PEM: &str = include_str!("fixtures/es256.sec1.pem");
    let app = TestApp::configured(|settings| {
        let es256 = Key::from_pem(KeyAlgorithm::ES256, ES256_PEM, None).unwrap();
        settings.keys = KeySet::new(vec![Key::hs256(KEY), es256]).unwrap().into();
    })
    .await;
    let discovery = app
        .send(get("/.well-known/openid-configuration"))
        .await
        .json();
    assert_eq!(
        discovery["id_token_signing_alg_values_supported"],
        serde_json::json!(["ES256"])
    );
    let (client, secret) = register(&app, "Notes", REDIRECT).await;
    let code = sign_in(&mut Browser::default(), &app, &client.id).await;
    let tokens = exchange(&app, &client, &secret, &code).await.json();
    let id_token = tokens["id_token"].as_str().unwrap();
    let header = jsonwebtoken::decode_header(id_token).unwrap();
    assert_eq!(header.alg, Algorithm::ES256);
    let jwks: JwkSet =
        serde_json::from_value(app.send(get("/.well-known/jwks.json")).await.json()).unwrap();
    let jwk = jwks.find(header.kid.as_deref().unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_audience(&[&client.id]);
    validation.set_issuer(&[ISSUER]);
    validation.validate_exp = false;
    let claims: Value =
        jsonwebtoken::decode(id_token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
            .unwrap()
            .claims;
    assert_eq!(claims["sub"], app.vitor.id.to_string());
}

#[tokio::test]
async fn a_public_client_exchanges_its_code_with_its_id_and_the_verifier_alone() {
    let app = provider_app().await;
    let (client, none) = register_client(
        &app.store,
        NewClient {
            name: "SPA".into(),
            redirect_uris: vec![REDIRECT.into()],
            public: true,
            ..NewClient::default()
        },
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(none, None);
    let code = sign_in(&mut Browser::default(), &app, &client.id).await;
    let without_verifier = token_request(
        &app,
        None,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", &client.id),
        ],
    )
    .await;
    assert_eq!(
        oauth_error(&without_verifier),
        (StatusCode::BAD_REQUEST, "invalid_request".into())
    );
    let code = sign_in(&mut Browser::default(), &app, &client.id).await;
    let tokens = token_request(
        &app,
        None,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_id", &client.id),
        ],
    )
    .await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text());
    verified_id_token(&app, &tokens.json(), &client.id).await;
    // A public client has no secret to show: one sent anyway is refused.
    let code = sign_in(&mut Browser::default(), &app, &client.id).await;
    let with_secret = token_request(
        &app,
        Some((&client.id, "made-up")),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(
        oauth_error(&with_secret),
        (StatusCode::UNAUTHORIZED, "invalid_client".into())
    );
}

#[tokio::test]
async fn other_methods_get_a_405_and_malformed_requests_a_400_never_a_500() {
    let app = provider_app().await;
    let token = app.send(get("/oidc/token")).await;
    assert_eq!(token.status, StatusCode::METHOD_NOT_ALLOWED);
    let put = Request::builder()
        .method(Method::PUT)
        .uri("/oidc/authorize")
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.send(put).await.status, StatusCode::METHOD_NOT_ALLOWED);
    // A parameter given twice is not a request we can read (RFC 6749 §3.1).
    let twice = app
        .send(get("/oidc/authorize?client_id=a&client_id=b"))
        .await;
    assert_eq!(twice.status, StatusCode::BAD_REQUEST);
    let garbage = app
        .post_raw(
            "/oidc/token",
            "application/x-www-form-urlencoded",
            "%%%=&&==",
        )
        .await;
    assert_eq!(garbage.status.as_u16() / 100, 4, "{}", garbage.text());
    let basic = Request::builder()
        .method(Method::POST)
        .uri("/oidc/token")
        .header(header::AUTHORIZATION, "Basic !!!not-base64")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("grant_type=authorization_code&code=x"))
        .unwrap();
    assert_eq!(app.send(basic).await.status, StatusCode::UNAUTHORIZED);
    let hint = app.send(get("/oidc/logout?id_token_hint=a.b.c")).await;
    assert_eq!(hint.status, StatusCode::BAD_REQUEST);
}
